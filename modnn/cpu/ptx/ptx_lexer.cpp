#include "modnn/cpu/ptx/ptx_lexer.h"

#include <cstdlib>
#include <cstring>

namespace modnn::ptx {
namespace {

bool isWordStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c == '%' || c == '.';
}
bool isWordChar(char c) { return isWordStart(c) || (c >= '0' && c <= '9'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool tokenize(std::string_view s, std::vector<Token>& out, std::string& error) {
  size_t i = 0, n = s.size();
  uint32_t line = 1;
  auto fail = [&](const std::string& what) {
    error = "line " + std::to_string(line) + ": " + what;
    return false;
  };
  while (i < n) {
    char c = s[i];
    if (c == '\n') { ++line; ++i; continue; }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') { ++i; continue; }
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      size_t e = s.find("*/", i + 2);
      if (e == std::string_view::npos) return fail("unterminated comment");
      for (size_t k = i; k < e; ++k) line += s[k] == '\n';
      i = e + 2;
      continue;
    }
    Token t;
    t.line = line;
    size_t start = i;
    if (c == '"') {
      ++i;
      while (i < n && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < n) ++i;
        if (s[i] == '\n') ++line;
        ++i;
      }
      if (i >= n) return fail("unterminated string");
      ++i;
      t.kind = TokKind::String;
      t.text = s.substr(start, i - start);
      out.push_back(t);
      continue;
    }
    if (isDigit(c)) {
      // 0f / 0d hexadecimal float literals.
      if (c == '0' && i + 1 < n && (s[i + 1] == 'f' || s[i + 1] == 'F' || s[i + 1] == 'd' || s[i + 1] == 'D')) {
        bool dbl = s[i + 1] == 'd' || s[i + 1] == 'D';
        size_t digits = dbl ? 16 : 8;
        if (i + 2 + digits > n) return fail("bad float literal");
        uint64_t bits = 0;
        for (size_t k = 0; k < digits; ++k) {
          int h = hexValue(s[i + 2 + k]);
          if (h < 0) return fail("bad float literal");
          bits = bits << 4 | uint64_t(h);
        }
        i += 2 + digits;
        t.kind = TokKind::Float;
        t.hexFloat = true;
        t.fbits = bits;
        t.fwidth = dbl ? 64 : 32;
        t.text = s.substr(start, i - start);
        out.push_back(t);
        continue;
      }
      size_t j = i;
      bool isFloat = false;
      if (c == '0' && j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X')) {
        j += 2;
        while (j < n && hexValue(s[j]) >= 0) ++j;
      } else if (c == '0' && j + 1 < n && (s[j + 1] == 'b' || s[j + 1] == 'B')) {
        j += 2;
        while (j < n && (s[j] == '0' || s[j] == '1')) ++j;
      } else {
        while (j < n && isDigit(s[j])) ++j;
        if (j < n && s[j] == '.' && j + 1 < n && isDigit(s[j + 1])) {
          isFloat = true;
          ++j;
          while (j < n && isDigit(s[j])) ++j;
        }
        if (j < n && (s[j] == 'e' || s[j] == 'E')) {
          size_t k = j + 1;
          if (k < n && (s[k] == '+' || s[k] == '-')) ++k;
          if (k < n && isDigit(s[k])) {
            isFloat = true;
            j = k;
            while (j < n && isDigit(s[j])) ++j;
          }
        }
      }
      std::string lit(s.substr(i, j - i));
      if (isFloat) {
        t.kind = TokKind::Float;
        t.fval = std::strtod(lit.c_str(), nullptr);
        t.fwidth = 64;
      } else {
        t.kind = TokKind::Int;
        uint64_t v = 0;
        if (lit.size() > 2 && (lit[1] == 'x' || lit[1] == 'X')) {
          for (size_t k = 2; k < lit.size(); ++k) v = v << 4 | uint64_t(hexValue(lit[k]));
        } else if (lit.size() > 2 && (lit[1] == 'b' || lit[1] == 'B')) {
          for (size_t k = 2; k < lit.size(); ++k) v = v << 1 | uint64_t(lit[k] - '0');
        } else if (lit.size() > 1 && lit[0] == '0') {
          for (size_t k = 1; k < lit.size(); ++k) {
            if (lit[k] > '7') return fail("bad octal literal " + lit);
            v = v << 3 | uint64_t(lit[k] - '0');
          }
        } else {
          for (char d : lit) v = v * 10 + uint64_t(d - '0');
        }
        t.ival = v;
        if (j < n && (s[j] == 'U' || s[j] == 'u')) ++j;
      }
      i = j;
      t.text = s.substr(start, i - start);
      out.push_back(t);
      continue;
    }
    if (isWordStart(c)) {
      // `::` joins qualifier parts, as in `ld.shared::cta` or `.L2::cache_hint`.
      while (i < n && (isWordChar(s[i]) || (s[i] == ':' && i + 2 < n && s[i + 1] == ':' && isWordChar(s[i + 2]))))
        i += s[i] == ':' ? 2 : 1;
      t.kind = TokKind::Word;
      t.text = s.substr(start, i - start);
      if (c == '.') {
        // Directives and qualifiers may be written together: `.reg.b16`.
        std::string_view w = t.text;
        size_t from = 0;
        for (size_t k = 1; k <= w.size(); ++k) {
          if (k == w.size() || w[k] == '.') {
            Token part = t;
            part.text = w.substr(from, k - from);
            out.push_back(part);
            from = k;
          }
        }
        continue;
      }
      out.push_back(t);
      continue;
    }
    if (std::strchr("{}()[],;:+-!@<>=|~*/&^", c)) {
      t.kind = TokKind::Punct;
      t.text = s.substr(i, 1);
      ++i;
      out.push_back(t);
      continue;
    }
    return fail(std::string("unexpected character '") + c + "'");
  }
  Token end;
  end.kind = TokKind::End;
  end.line = line;
  out.push_back(end);
  return true;
}

}  // namespace modnn::ptx
