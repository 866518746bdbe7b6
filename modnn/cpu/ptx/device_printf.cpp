// vprintf arguments follow the C varargs promotions, each aligned to its
// size in the buffer: int/unsigned/char/short as 4 bytes, long, long long,
// pointers and double (float promoted) as 8.
#include "modnn/cpu/ptx/device_printf.h"

#include <cstdio>
#include <cstring>

namespace modnn::ptx {

bool readGeneric(Warp& w, uint32_t lane, uint64_t a, void* dst, size_t n) {
  MemCache c;
  auto* out = static_cast<uint8_t*>(dst);
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = translate(w, a + i, 1, c, lane, false, AccessKind::Read);
    if (!p) return false;
    out[i] = *p;
  }
  return true;
}

bool readString(Warp& w, uint32_t lane, uint64_t a, std::string& out, size_t cap) {
  MemCache c;
  out.clear();
  for (size_t i = 0; i < cap; ++i) {
    uint8_t* p = translate(w, a + i, 1, c, lane, false, AccessKind::Read);
    if (!p) return false;
    if (*p == 0) return true;
    out.push_back(char(*p));
  }
  return true;
}

namespace {

struct ArgReader {
  Warp& w;
  uint32_t lane;
  uint64_t base;
  uint64_t off = 0;
  bool ok = true;

  template <class T>
  T next() {
    T v{};
    if (!base) return v;
    off = (off + sizeof(T) - 1) / sizeof(T) * sizeof(T);
    if (!readGeneric(w, lane, base + off, &v, sizeof v)) ok = false;
    off += sizeof(T);
    return v;
  }
};

}  // namespace

int formatDevicePrintf(Warp& w, uint32_t lane, uint64_t fmtAddr, uint64_t args, std::string& out) {
  std::string fmt;
  if (!readString(w, lane, fmtAddr, fmt)) return -1;
  ArgReader ar{w, lane, args};
  int consumed = 0;
  char buf[512];
  for (size_t i = 0; i < fmt.size();) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i++]);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '%') {
      out.push_back('%');
      i += 2;
      continue;
    }
    // %[flags][width][.precision][length]conv
    size_t j = i + 1;
    while (j < fmt.size() && std::strchr("-+ #0", fmt[j])) ++j;
    while (j < fmt.size() && (std::isdigit(uint8_t(fmt[j])) || fmt[j] == '*')) ++j;
    if (j < fmt.size() && fmt[j] == '.') {
      ++j;
      while (j < fmt.size() && (std::isdigit(uint8_t(fmt[j])) || fmt[j] == '*')) ++j;
    }
    size_t lenStart = j;
    while (j < fmt.size() && std::strchr("hlLqjzt", fmt[j])) ++j;
    if (j >= fmt.size()) {
      out.append(fmt, i, std::string::npos);
      break;
    }
    char conv = fmt[j];
    std::string length = fmt.substr(lenStart, j - lenStart);
    std::string spec = fmt.substr(i, lenStart - i);  // without length modifier
    if (spec.find('*') != std::string::npos) {
      // Width/precision from arguments: substitute them as numbers.
      std::string fixed;
      for (char ch : spec) {
        if (ch == '*') {
          fixed += std::to_string(ar.next<int32_t>());
          ++consumed;
        } else {
          fixed.push_back(ch);
        }
      }
      spec = fixed;
    }
    bool wide = length == "l" || length == "ll" || length == "q" || length == "j" || length == "z" ||
                length == "t" || length == "L";
    int n = 0;
    switch (conv) {
      case 'd': case 'i': {
        long long v = wide ? ar.next<int64_t>() : ar.next<int32_t>();
        if (length == "h") v = int16_t(v);
        if (length == "hh") v = int8_t(v);
        n = std::snprintf(buf, sizeof buf, (spec + "lld").c_str(), v);
        break;
      }
      case 'u': case 'x': case 'X': case 'o': {
        unsigned long long v = wide ? ar.next<uint64_t>() : ar.next<uint32_t>();
        if (length == "h") v = uint16_t(v);
        if (length == "hh") v = uint8_t(v);
        n = std::snprintf(buf, sizeof buf, (spec + "ll" + conv).c_str(), v);
        break;
      }
      case 'c': {
        int v = ar.next<int32_t>();
        n = std::snprintf(buf, sizeof buf, (spec + "c").c_str(), v);
        break;
      }
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A': {
        double v = ar.next<double>();
        n = std::snprintf(buf, sizeof buf, (spec + conv).c_str(), v);
        break;
      }
      case 'p': {
        uint64_t v = ar.next<uint64_t>();
        n = std::snprintf(buf, sizeof buf, (spec + "p").c_str(), reinterpret_cast<void*>(v));
        break;
      }
      case 's': {
        uint64_t p = ar.next<uint64_t>();
        std::string s;
        if (p == 0) {
          s = "(null)";
        } else if (!readString(w, lane, p, s)) {
          return -1;
        }
        n = std::snprintf(buf, sizeof buf, (spec + "s").c_str(), s.c_str());
        if (n >= int(sizeof buf)) {
          out += s;  // long strings: no padding, just the text
          n = 0;
        }
        break;
      }
      default:
        out.append(fmt, i, j + 1 - i);
        i = j + 1;
        continue;
    }
    ++consumed;
    if (!ar.ok) return -1;
    if (n > 0) out.append(buf, std::min<size_t>(size_t(n), sizeof buf - 1));
    i = j + 1;
  }
  return consumed;
}

}  // namespace modnn::ptx
