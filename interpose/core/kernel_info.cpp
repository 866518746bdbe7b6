// Kernel and variable descriptions from cubins and PTX.
//
// Cubin facts used here, checked against ptxas of CUDA 13.0 for sm_75,
// sm_80, sm_90, sm_100 and sm_120:
// - ELF64 little-endian, e_machine EM_CUDA (190). The SASS arch is bits 8..15
//   of e_flags when EI_ABIVERSION >= 8 (0x6005a04 = sm_90), bits 0..7 before.
// - Kernels are STT_FUNC symbols with STO_CUDA_ENTRY (0x10) in st_other;
//   their code is in `.text.<name>`.
// - `.nv.info` (sh_type SHT_CUDA_INFO = 0x70000000) holds records
//   {u8 format, u8 attribute, u16 value-or-size, payload}: format 1 (NVAL)
//   has nothing, 2 (BVAL) and 3 (HVAL) carry the value in the u16, 4 (SVAL)
//   carries a payload of that many bytes. The global `.nv.info` has
//   EIATTR_REGCOUNT (0x2f) and EIATTR_FRAME_SIZE (0x11) as {u32 function
//   symbol index, u32 value}. `.nv.info.<kernel>` has, per parameter,
//   EIATTR_KPARAM_INFO (0x17): {u32 index, u16 ordinal, u16 offset,
//   u32 bits 0-7 pointee log2 align, 8-11 space, 12-16 cbank, 17 not-cbank,
//   18-31 size in bytes}, listed in reverse ordinal order; parameters too
//   large for 14 bits (struct of 20000 bytes) use EIATTR_KPARAM_INFO_V2
//   (0x45): {u32 index, u16 ordinal, u16 offset, u32 size}. The total is
//   EIATTR_CBANK_PARAM_SIZE (0x19, HVAL) and the high half of the second
//   word of EIATTR_PARAM_CBANK (0x0a); __launch_bounds__ gives
//   EIATTR_MAX_THREADS (0x05, three u32), __reqntid EIATTR_REQNTID (0x10).
// - Register count: EIATTR_REGCOUNT; before sm_90 also the top byte of the
//   `.text.<name>` sh_info. Per-thread local memory: EIATTR_FRAME_SIZE.
// - Static shared memory: size of `.nv.shared.<name>`. From sm_90 on, a
//   kernel touching shared memory gets the 1 KiB the system reserves per
//   block at the start of that section (a module with such kernels has
//   `.nv.shared.reserved.0`); it is subtracted, as the driver reports only
//   the user part.
// - Parameter alignment is not recorded; it is inferred from offset and
//   size (largest power of two <= 16 dividing both) and replaced by the
//   PTX's exact value in describeModule when both are present.
// - Module variables: OBJECT symbols in `.nv.global` (NOBITS),
//   `.nv.global.init` and the user constant bank `.nv.constant<N>`, N != 0.
//
// PTX is read with a tokenizer and a statement splitter, not a full
// grammar: enough for nvcc output and hand-written modules of the same
// shape. Static shared size from PTX is the sum of the kernel's `.shared`
// declarations (and of module-scope ones it names) with their alignment;
// ptxas may place them differently (it rounds the ELF section to 16
// bytes, for instance), so treat it as an estimate. Initialisers are
// literals (integer, 0f/0d hex floats, decimal floats) in possibly nested
// braces; address initialisers (`generic(sym)`, `sym+4`) and constant
// expressions are left as zero bytes.
#include "interpose/core/kernel_info.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <set>
#include <unordered_map>

namespace moai {
namespace {

// ---------------------------------------------------------------- helpers

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

Error badImage(std::string message) { return makeError(MODNN_ERR_INVALID_IMAGE, "cubin: " + std::move(message)); }
Error badPtx(std::string message) { return makeError(MODNN_ERR_INVALID_PTX, "ptx: " + std::move(message)); }

uint64_t alignUp(uint64_t v, uint64_t a) { return a <= 1 ? v : (v + a - 1) / a * a; }

// Largest power of two dividing `v`, capped at `cap` (`cap` for v == 0).
uint32_t pow2Dividing(uint64_t v, uint32_t cap) {
  if (v == 0) return cap;
  uint64_t low = v & (~v + 1);
  return low >= cap ? cap : uint32_t(low);
}

uint32_t inferredAlign(uint64_t offset, uint64_t size) {
  if (size == 0) return 1;
  return std::min(pow2Dividing(offset, 16), pow2Dividing(size, 16));
}

// Adds context after the "cubin: " / "ptx: " prefix of an error message.
Error within(Error e, const std::string& context) {
  size_t colon = e.message.find(": ");
  size_t at = colon == std::string::npos ? 0 : colon + 2;
  e.message.insert(at, context + ": ");
  return e;
}

template <class F>
auto guarded(modnn_status code, F parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const std::bad_alloc&) {
    return makeError(MODNN_ERR_OUT_OF_MEMORY, "out of memory while reading module");
  } catch (const std::exception& e) {
    return makeError(code, std::string("unexpected failure: ") + e.what());
  }
}

// ---------------------------------------------------------------- ELF

constexpr uint16_t kEmCuda = 190;
constexpr uint32_t kShtSymtab = 2;
constexpr uint32_t kShtNobits = 8;
constexpr uint32_t kShtCudaInfo = 0x70000000;
constexpr uint8_t kSttObject = 1;
constexpr uint8_t kSttFunc = 2;
constexpr uint8_t kStoCudaEntry = 0x10;

constexpr uint8_t kFmtNval = 1, kFmtBval = 2, kFmtHval = 3, kFmtSval = 4;
constexpr uint8_t kAttrMaxThreads = 0x05;
constexpr uint8_t kAttrParamCbank = 0x0a;
constexpr uint8_t kAttrReqntid = 0x10;
constexpr uint8_t kAttrFrameSize = 0x11;
constexpr uint8_t kAttrKparamInfo = 0x17;
constexpr uint8_t kAttrCbankParamSize = 0x19;
constexpr uint8_t kAttrRegcount = 0x2f;
constexpr uint8_t kAttrKparamInfoV2 = 0x45;

constexpr uint32_t kReservedSharedBytes = 1024;

struct Section {
  std::string_view name;
  uint32_t type = 0;
  uint64_t size = 0;
  uint64_t addralign = 0;
  uint32_t link = 0;
  uint32_t info = 0;
  const uint8_t* data = nullptr;  // null for NOBITS
};

struct Symbol {
  std::string_view name;
  uint8_t type = 0;
  uint8_t other = 0;
  uint16_t shndx = 0;
  uint64_t value = 0;
  uint64_t size = 0;
};

struct Cubin {
  unsigned arch = 0;
  std::vector<Section> sections;
  std::vector<Symbol> symbols;
  std::unordered_map<std::string_view, size_t> section_index;  // first section of each name

  const Section* find(std::string_view name) const {
    auto it = section_index.find(name);
    return it == section_index.end() ? nullptr : &sections[it->second];
  }
};

std::optional<std::string_view> stringAt(const Section& strtab, uint64_t offset) {
  if (strtab.data == nullptr || offset >= strtab.size) return std::nullopt;
  const char* p = reinterpret_cast<const char*>(strtab.data + offset);
  size_t len = strnlen(p, strtab.size - offset);
  if (len == strtab.size - offset) return std::nullopt;
  return std::string_view(p, len);
}

Result<Cubin> parseCubin(const uint8_t* elf, size_t size) {
  if (elf == nullptr || size < 64) return badImage("too small for an ELF header");
  if (std::memcmp(elf, "\x7f" "ELF", 4) != 0) return badImage("bad ELF magic");
  if (elf[4] != 2 || elf[5] != 1) return badImage("not a little-endian ELF64");
  if (load<uint16_t>(elf + 18) != kEmCuda) return badImage("e_machine is not EM_CUDA");

  Cubin cubin;
  uint32_t flags = load<uint32_t>(elf + 48);
  cubin.arch = elf[8] >= 8 ? (flags >> 8) & 0xff : flags & 0xff;

  uint64_t shoff = load<uint64_t>(elf + 40);
  uint16_t shentsize = load<uint16_t>(elf + 58);
  uint16_t shnum = load<uint16_t>(elf + 60);
  uint16_t shstrndx = load<uint16_t>(elf + 62);
  if (shnum == 0) return badImage("no section headers");
  if (shentsize != 64) return badImage("section header size " + std::to_string(shentsize) + ", expected 64");
  if (shoff > size || uint64_t(shnum) * 64 > size - shoff) return badImage("section headers run past the end");
  if (shstrndx >= shnum) return badImage("bad section name table index");

  std::vector<uint32_t> name_offsets(shnum);
  cubin.sections.resize(shnum);
  for (uint16_t i = 0; i < shnum; ++i) {
    const uint8_t* h = elf + shoff + uint64_t(i) * 64;
    Section& s = cubin.sections[i];
    name_offsets[i] = load<uint32_t>(h);
    s.type = load<uint32_t>(h + 4);
    uint64_t offset = load<uint64_t>(h + 24);
    s.size = load<uint64_t>(h + 32);
    s.link = load<uint32_t>(h + 40);
    s.info = load<uint32_t>(h + 44);
    s.addralign = load<uint64_t>(h + 48);
    if (s.type != kShtNobits && i != 0) {
      if (offset > size || s.size > size - offset)
        return badImage("section " + std::to_string(i) + " runs past the end");
      s.data = elf + offset;
    }
  }
  for (uint16_t i = 1; i < shnum; ++i) {
    auto name = stringAt(cubin.sections[shstrndx], name_offsets[i]);
    if (!name) return badImage("section " + std::to_string(i) + " has a bad name");
    cubin.sections[i].name = *name;
    cubin.section_index.emplace(*name, i);
  }

  for (const auto& s : cubin.sections) {
    if (s.type != kShtSymtab) continue;
    if (s.data == nullptr) return badImage("symbol table has no contents");
    if (s.link >= shnum) return badImage("symbol table links a bad string table");
    if (s.size % 24 != 0) return badImage("symbol table size is not a multiple of 24");
    const Section& strtab = cubin.sections[s.link];
    for (uint64_t off = 0; off < s.size; off += 24) {
      const uint8_t* e = s.data + off;
      Symbol sym;
      auto name = stringAt(strtab, load<uint32_t>(e));
      if (!name) return badImage("symbol " + std::to_string(off / 24) + " has a bad name");
      sym.name = *name;
      sym.type = e[4] & 0xf;
      sym.other = e[5];
      sym.shndx = load<uint16_t>(e + 6);
      sym.value = load<uint64_t>(e + 8);
      sym.size = load<uint64_t>(e + 16);
      cubin.symbols.push_back(sym);
    }
    break;
  }
  return cubin;
}

struct NvInfoRecord {
  uint8_t format = 0;
  uint8_t attribute = 0;
  uint16_t value = 0;             // NVAL/BVAL/HVAL value, SVAL payload size
  const uint8_t* data = nullptr;  // SVAL payload
};

Result<std::vector<NvInfoRecord>> parseNvInfo(const Section& s) {
  std::vector<NvInfoRecord> records;
  if (s.data == nullptr) return records;
  uint64_t off = 0;
  while (off < s.size) {
    if (s.size - off < 4) return badImage(std::string(s.name) + ": truncated attribute");
    NvInfoRecord r;
    r.format = s.data[off];
    r.attribute = s.data[off + 1];
    r.value = load<uint16_t>(s.data + off + 2);
    off += 4;
    if (r.format == kFmtSval) {
      if (r.value > s.size - off) return badImage(std::string(s.name) + ": attribute payload runs past the section");
      r.data = s.data + off;
      off += r.value;
    } else if (r.format != kFmtNval && r.format != kFmtBval && r.format != kFmtHval) {
      return badImage(std::string(s.name) + ": unknown attribute format " + std::to_string(r.format));
    }
    records.push_back(r);
  }
  return records;
}

struct OrderedParam {
  uint32_t ordinal;
  KernelParam param;
};

// Per-module facts the kernels share: from the global .nv.info, keyed by
// function symbol index, and the user constant bank size.
struct CubinModuleFacts {
  std::unordered_map<uint32_t, uint32_t> regcount, frame_size;
  uint32_t const_bytes = 0;
};

Result<KernelInfo> describeCubinKernel(const Cubin& cubin, const Symbol& sym, uint32_t sym_index,
                                       const CubinModuleFacts& facts) {
  KernelInfo k;
  k.name = std::string(sym.name);
  k.binary_version = cubin.arch;
  k.const_bytes = facts.const_bytes;

  std::vector<OrderedParam> params;
  uint64_t cbank_param_bytes = 0;
  bool have_param_bytes = false;
  if (const Section* info = cubin.find(".nv.info." + k.name)) {
    auto records = parseNvInfo(*info);
    if (!records) return records.error();
    for (const auto& r : *records) {
      if (r.attribute == kAttrKparamInfo || r.attribute == kAttrKparamInfoV2) {
        if (r.format != kFmtSval || r.value < 12) return badImage(k.name + ": short KPARAM_INFO");
        uint32_t ordinal = load<uint16_t>(r.data + 4);
        uint32_t offset = load<uint16_t>(r.data + 6);
        uint32_t packed = load<uint32_t>(r.data + 8);
        // V2 seems to hold the plain size; the mask keeps any flag bits out.
        uint32_t bytes = r.attribute == kAttrKparamInfo ? packed >> 18 : packed & 0xffff;
        params.push_back({ordinal, KernelParam{offset, bytes, inferredAlign(offset, bytes)}});
      } else if (r.attribute == kAttrCbankParamSize && r.format == kFmtHval) {
        cbank_param_bytes = r.value;
        have_param_bytes = true;
      } else if (r.attribute == kAttrParamCbank && r.format == kFmtSval && r.value >= 8 && !have_param_bytes) {
        cbank_param_bytes = load<uint32_t>(r.data + 4) >> 16;
        have_param_bytes = true;
      } else if ((r.attribute == kAttrMaxThreads || r.attribute == kAttrReqntid) && r.format == kFmtSval &&
                 r.value >= 12) {
        uint64_t threads = 1;
        for (int dim = 0; dim < 3; ++dim) threads *= std::min<uint32_t>(load<uint32_t>(r.data + 4 * dim), 1u << 16);
        if (threads != 0 && threads < k.max_threads_per_block) k.max_threads_per_block = uint32_t(threads);
      }
    }
  }
  std::sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.ordinal < b.ordinal; });
  uint64_t end = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].ordinal != i) return badImage(k.name + ": parameter ordinals are not 0.." + std::to_string(params.size() - 1));
    const KernelParam& p = params[i].param;
    end = std::max<uint64_t>(end, uint64_t(p.offset) + p.size);
    k.params.push_back(p);
  }
  if (have_param_bytes && cbank_param_bytes < end) return badImage(k.name + ": parameters overrun CBANK_PARAM_SIZE");
  k.param_bytes = uint32_t(have_param_bytes ? cbank_param_bytes : end);

  if (auto it = facts.regcount.find(sym_index); it != facts.regcount.end()) {
    k.num_regs = it->second;
  } else if (const Section* text = cubin.find(".text." + k.name); text && (text->info >> 24) != 0) {
    k.num_regs = text->info >> 24;
  }
  if (auto it = facts.frame_size.find(sym_index); it != facts.frame_size.end()) k.local_bytes = it->second;

  if (const Section* shared = cubin.find(".nv.shared." + k.name)) {
    uint64_t bytes = shared->size;
    if (cubin.arch >= 90 && cubin.find(".nv.shared.reserved.0") && bytes >= kReservedSharedBytes)
      bytes -= kReservedSharedBytes;
    if (bytes > std::numeric_limits<uint32_t>::max()) return badImage(k.name + ": shared size overflows");
    k.static_shared_bytes = uint32_t(bytes);
  }
  return k;
}

bool isUserConstantBank(std::string_view section) {
  return section.starts_with(".nv.constant") && !section.starts_with(".nv.constant0");
}

Result<std::vector<KernelInfo>> cubinKernels(const Cubin& cubin) {
  CubinModuleFacts facts;
  if (const Section* info = cubin.find(".nv.info"); info && info->type == kShtCudaInfo) {
    auto records = parseNvInfo(*info);
    if (!records) return records.error();
    for (const auto& r : *records) {
      if (r.format != kFmtSval || r.value < 8) continue;
      if (r.attribute == kAttrRegcount) facts.regcount[load<uint32_t>(r.data)] = load<uint32_t>(r.data + 4);
      if (r.attribute == kAttrFrameSize) facts.frame_size[load<uint32_t>(r.data)] = load<uint32_t>(r.data + 4);
    }
  }
  uint64_t const_bytes = 0;
  for (const auto& s : cubin.symbols)
    if (s.type == kSttObject && s.shndx != 0 && s.shndx < cubin.sections.size() &&
        isUserConstantBank(cubin.sections[s.shndx].name))
      const_bytes += s.size;
  facts.const_bytes = uint32_t(std::min<uint64_t>(const_bytes, std::numeric_limits<uint32_t>::max()));

  std::vector<KernelInfo> kernels;
  for (uint32_t i = 0; i < cubin.symbols.size(); ++i) {
    const Symbol& sym = cubin.symbols[i];
    if (sym.type != kSttFunc || !(sym.other & kStoCudaEntry) || sym.name.empty()) continue;
    auto k = describeCubinKernel(cubin, sym, i, facts);
    if (!k) return k.error();
    kernels.push_back(std::move(k).value());
  }
  return kernels;
}

Result<std::vector<GlobalVarInfo>> cubinVars(const Cubin& cubin) {
  std::vector<GlobalVarInfo> vars;
  for (const auto& s : cubin.symbols) {
    if (s.type != kSttObject || s.shndx == 0 || s.shndx >= cubin.sections.size()) continue;
    const Section& sec = cubin.sections[s.shndx];
    GlobalVarInfo v;
    if (sec.name == ".nv.global" || sec.name == ".nv.global.init") {
      v.space = VarSpace::Global;
    } else if (isUserConstantBank(sec.name)) {
      v.space = VarSpace::Const;
    } else {
      continue;
    }
    v.name = std::string(s.name);
    v.size = s.size;
    v.align = pow2Dividing(s.value, uint32_t(std::clamp<uint64_t>(sec.addralign, 1, 16)));
    if (sec.data != nullptr) {
      if (s.value > sec.size || s.size > sec.size - s.value) return badImage(v.name + ": lies outside its section");
      v.init.assign(sec.data + s.value, sec.data + s.value + s.size);
    }
    vars.push_back(std::move(v));
  }
  return vars;
}

// ---------------------------------------------------------------- PTX

bool isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
         c == '%' || c == '.';
}
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c == '%'; }

Result<std::vector<std::string_view>> tokenize(std::string_view src) {
  std::vector<std::string_view> toks;
  size_t i = 0, n = src.size();
  while (i < n) {
    char c = src[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\0') {
      ++i;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '/') {
      while (i < n && src[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '*') {
      size_t end = src.find("*/", i + 2);
      if (end == std::string_view::npos) return badPtx("unterminated comment");
      i = end + 2;
    } else if (c == '"') {
      size_t j = i + 1;
      while (j < n && src[j] != '"') j += src[j] == '\\' ? 2 : 1;
      if (j >= n) return badPtx("unterminated string");
      toks.push_back(src.substr(i, j + 1 - i));
      i = j + 1;
    } else if (isDigit(c)) {
      size_t j = i + 1;
      bool radix = c == '0' && j < n && std::strchr("xXbBfFdD", src[j]) != nullptr && src[j] != '\0';
      while (j < n) {
        if (isWordChar(src[j])) {
          ++j;
        } else if (!radix && (src[j] == '+' || src[j] == '-') && (src[j - 1] == 'e' || src[j - 1] == 'E') &&
                   j + 1 < n && isDigit(src[j + 1])) {
          ++j;
        } else {
          break;
        }
      }
      toks.push_back(src.substr(i, j - i));
      i = j;
    } else if (c == '.') {
      // Directives split at each further dot: `.global.u32` reads as two.
      size_t j = i + 1;
      while (j < n && isWordChar(src[j]) && src[j] != '.') ++j;
      toks.push_back(src.substr(i, j - i));
      i = j;
    } else if (isIdentStart(c)) {
      size_t j = i + 1;
      while (j < n && isWordChar(src[j])) ++j;
      toks.push_back(src.substr(i, j - i));
      i = j;
    } else {
      toks.push_back(src.substr(i, 1));
      ++i;
    }
  }
  return toks;
}

using Tokens = std::vector<std::string_view>;

// Index of the token closing the bracket opened at `open`, or npos.
size_t matching(const Tokens& t, size_t open, size_t end) {
  std::string_view o = t[open];
  std::string_view c = o == "{" ? "}" : o == "(" ? ")" : "]";
  int depth = 0;
  for (size_t i = open; i < end; ++i) {
    if (t[i] == o) ++depth;
    if (t[i] == c && --depth == 0) return i;
  }
  return std::string_view::npos;
}

std::optional<uint64_t> parseUnsigned(std::string_view s) {
  if (!s.empty() && (s.back() == 'U' || s.back() == 'u')) s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  uint64_t v = 0;
  for (char c : s) {
    int d = isDigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : 99;
    if (d >= base) return std::nullopt;
    if (v > (std::numeric_limits<uint64_t>::max() - uint64_t(d)) / uint64_t(base)) return std::nullopt;
    v = v * uint64_t(base) + uint64_t(d);
  }
  return v;
}

enum class ScalarKind : uint8_t { Int, Float, Opaque };

struct PtxType {
  uint32_t bytes = 0;
  ScalarKind kind = ScalarKind::Int;
};

std::optional<PtxType> ptxType(std::string_view t) {
  static const std::unordered_map<std::string_view, PtxType> types = {
      {".b8", {1, ScalarKind::Int}},       {".u8", {1, ScalarKind::Int}},       {".s8", {1, ScalarKind::Int}},
      {".b16", {2, ScalarKind::Int}},      {".u16", {2, ScalarKind::Int}},      {".s16", {2, ScalarKind::Int}},
      {".f16", {2, ScalarKind::Int}},      {".bf16", {2, ScalarKind::Int}},     {".b32", {4, ScalarKind::Int}},
      {".u32", {4, ScalarKind::Int}},      {".s32", {4, ScalarKind::Int}},      {".f16x2", {4, ScalarKind::Int}},
      {".bf16x2", {4, ScalarKind::Int}},   {".f32", {4, ScalarKind::Float}},    {".b64", {8, ScalarKind::Int}},
      {".u64", {8, ScalarKind::Int}},      {".s64", {8, ScalarKind::Int}},      {".f64", {8, ScalarKind::Float}},
      {".b128", {16, ScalarKind::Int}},    {".pred", {1, ScalarKind::Int}},     {".texref", {8, ScalarKind::Opaque}},
      {".samplerref", {8, ScalarKind::Opaque}}, {".surfref", {8, ScalarKind::Opaque}},
  };
  auto it = types.find(t);
  if (it == types.end()) return std::nullopt;
  return it->second;
}

bool isStateSpace(std::string_view t) {
  return t == ".global" || t == ".const" || t == ".shared" || t == ".local" || t == ".param" || t == ".reg" ||
         t == ".tex";
}

// One declaration: `[.space] [.align N] [.vN] .type name[dims] [= init]`.
struct Decl {
  std::string_view space;
  std::string_view name;
  PtxType type;
  uint32_t vec = 1;
  uint32_t explicit_align = 0;
  std::vector<uint64_t> dims;
  bool open_dim = false;  // `name[]`, sized by its initialiser
  bool is_extern = false;
  size_t init_begin = 0, init_end = 0;  // initialiser tokens, empty if none

  uint32_t align() const { return explicit_align ? explicit_align : type.bytes * vec; }
};

// Parses tokens [b, e) of one declaration statement.
Result<Decl> parseDecl(const Tokens& t, size_t b, size_t e) {
  Decl d;
  bool after_ptr = false, have_type = false;
  size_t i = b;
  for (; i < e; ++i) {
    std::string_view tok = t[i];
    if (tok == ".extern") {
      d.is_extern = true;
    } else if (tok == ".visible" || tok == ".weak" || tok == ".common") {
    } else if (isStateSpace(tok)) {
      if (!after_ptr && d.space.empty()) d.space = tok;
      if (tok == ".const" && i + 1 < e && t[i + 1] == "[") {  // .const[bank]
        size_t close = matching(t, i + 1, e);
        if (close == std::string_view::npos) return badPtx("unclosed .const bank");
        i = close;
      }
    } else if (tok == ".align") {
      if (i + 1 >= e) return badPtx("missing .align value");
      auto a = parseUnsigned(t[++i]);
      if (!a || *a == 0 || !std::has_single_bit(*a) || *a > (1u << 16)) return badPtx("bad alignment " + std::string(t[i]));
      if (!after_ptr) d.explicit_align = uint32_t(*a);
    } else if (tok == ".ptr") {
      after_ptr = true;
    } else if (tok == ".attribute") {
      if (i + 1 < e && t[i + 1] == "(") {
        size_t close = matching(t, i + 1, e);
        if (close == std::string_view::npos) return badPtx("unclosed .attribute");
        i = close;
      }
    } else if (tok == ".v2" || tok == ".v4" || tok == ".v8") {
      d.vec = uint32_t(tok[2] - '0');
    } else if (auto ty = ptxType(tok)) {
      d.type = *ty;
      have_type = true;
    } else if (tok.starts_with(".")) {
      return badPtx("unexpected " + std::string(tok) + " in declaration");
    } else {
      break;
    }
  }
  if (!have_type) return badPtx("declaration without a type");
  if (i >= e || !isIdentStart(t[i][0])) return badPtx("declaration without a name");
  d.name = t[i++];
  while (i < e && t[i] == "[") {
    if (i + 1 < e && t[i + 1] == "]") {
      if (d.open_dim || !d.dims.empty()) return badPtx(std::string(d.name) + ": only the first dimension may be open");
      d.open_dim = true;
      i += 2;
      continue;
    }
    if (i + 2 >= e || t[i + 2] != "]") return badPtx(std::string(d.name) + ": bad array dimension");
    auto n = parseUnsigned(t[i + 1]);
    if (!n) return badPtx(std::string(d.name) + ": bad array dimension " + std::string(t[i + 1]));
    d.dims.push_back(*n);
    i += 3;
  }
  if (i < e && t[i] == "<") {  // .reg %r<5>
    while (i < e && t[i] != ">") ++i;
    if (i < e) ++i;
  }
  if (i < e && t[i] == "=") {
    d.init_begin = i + 1;
    d.init_end = e;
  } else if (i < e) {
    return badPtx(std::string(d.name) + ": unexpected " + std::string(t[i]));
  }
  return d;
}

// Number of elements (scalars) for `d`, with `leaves` initialiser values.
Result<uint64_t> scalarCount(const Decl& d, uint64_t leaves) {
  uint64_t per = d.vec;
  for (uint64_t n : d.dims) {
    if (n != 0 && per > std::numeric_limits<uint64_t>::max() / n) return badPtx(std::string(d.name) + ": size overflows");
    per *= n;
  }
  if (!d.open_dim) return per;
  if (per == 0) return uint64_t{0};
  return alignUp(leaves, per);
}

Result<uint64_t> declBytes(const Decl& d, uint64_t leaves = 0) {
  auto count = scalarCount(d, leaves);
  if (!count) return count.error();
  if (*count > (uint64_t{1} << 48) / std::max<uint32_t>(d.type.bytes, 1)) return badPtx(std::string(d.name) + ": size overflows");
  return *count * d.type.bytes;
}

// Leaf expressions of an initialiser, braces flattened: [begin, end) pairs.
Result<std::vector<std::pair<size_t, size_t>>> initLeaves(const Tokens& t, size_t b, size_t e) {
  std::vector<std::pair<size_t, size_t>> leaves;
  size_t start = b;
  int depth = 0;
  for (size_t i = b; i <= e; ++i) {
    bool at_end = i == e;
    std::string_view tok = at_end ? std::string_view(",") : t[i];
    if (tok == "{") {
      ++depth;
      start = i + 1;
    } else if (tok == "}" || tok == ",") {
      if (start < i) leaves.emplace_back(start, i);
      if (tok == "}" && --depth < 0) return badPtx("unbalanced braces in initialiser");
      start = i + 1;
    } else if (tok == "(") {
      size_t close = matching(t, i, e);
      if (close == std::string_view::npos) return badPtx("unbalanced parentheses in initialiser");
      i = close;
    }
  }
  if (depth != 0) return badPtx("unbalanced braces in initialiser");
  return leaves;
}

uint64_t floatBits(double v, uint32_t bytes) {
  return bytes == 4 ? std::bit_cast<uint32_t>(float(v)) : std::bit_cast<uint64_t>(v);
}

// Writes the value of the literal in tokens [b, e) (optionally negated) into
// `out`, type.bytes bytes little-endian. Returns false, writing nothing, for
// expressions that are not literals (symbol addresses).
Result<bool> encodeLeaf(const Tokens& t, size_t b, size_t e, PtxType type, uint8_t* out) {
  bool negative = false;
  if (e - b == 2 && t[b] == "-") {
    negative = true;
    ++b;
  }
  if (e - b != 1 || !isDigit(t[b][0])) return false;
  std::string_view lit = t[b];
  const bool is_float = type.kind == ScalarKind::Float && (type.bytes == 4 || type.bytes == 8);
  const char radix = lit.size() > 1 && lit[0] == '0' ? lit[1] : 0;
  uint64_t raw = 0;
  if ((radix == 'f' || radix == 'F') && lit.size() == 10) {
    auto v = parseUnsigned("0x" + std::string(lit.substr(2)));
    if (!v) return badPtx("bad literal " + std::string(lit));
    uint32_t bits = uint32_t(*v) ^ (negative ? 0x80000000u : 0u);
    raw = is_float && type.bytes == 8 ? floatBits(std::bit_cast<float>(bits), 8) : bits;
  } else if ((radix == 'd' || radix == 'D') && lit.size() == 18) {
    auto v = parseUnsigned("0x" + std::string(lit.substr(2)));
    if (!v) return badPtx("bad literal " + std::string(lit));
    uint64_t bits = *v ^ (negative ? uint64_t{1} << 63 : 0);
    raw = is_float && type.bytes == 4 ? floatBits(std::bit_cast<double>(bits), 4) : bits;
  } else if (radix != 'x' && radix != 'X' && lit.find_first_of(".eE") != std::string_view::npos) {
    if (!is_float) return badPtx("float literal " + std::string(lit) + " for an integer variable");
    std::string copy(lit);
    char* end = nullptr;
    double v = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size()) return badPtx("bad literal " + copy);
    raw = floatBits(negative ? -v : v, type.bytes);
  } else {
    auto v = parseUnsigned(lit);
    if (!v) return badPtx("bad literal " + std::string(lit));
    if (is_float) {
      double d = double(*v);
      raw = floatBits(negative ? -d : d, type.bytes);
    } else {
      raw = negative ? ~*v + 1 : *v;
    }
  }
  for (uint32_t i = 0; i < type.bytes && i < 8; ++i) out[i] = uint8_t(raw >> (8 * i));
  return true;
}

Result<GlobalVarInfo> describeVar(const Tokens& t, const Decl& d) {
  GlobalVarInfo v;
  v.name = std::string(d.name);
  v.space = d.space == ".const" ? VarSpace::Const : VarSpace::Global;
  v.align = d.align();
  if (d.init_begin == d.init_end) {
    auto bytes = declBytes(d);
    if (!bytes) return bytes.error();
    v.size = *bytes;
    return v;
  }
  auto leaves = initLeaves(t, d.init_begin, d.init_end);
  if (!leaves) return leaves.error();
  auto bytes = declBytes(d, leaves->size());
  if (!bytes) return bytes.error();
  v.size = *bytes;
  if (leaves->size() * d.type.bytes > v.size) return badPtx(v.name + ": more initialisers than elements");
  if (v.size > (uint64_t{1} << 31)) return badPtx(v.name + ": initialised variable too large");
  v.init.assign(v.size, 0);
  for (size_t i = 0; i < leaves->size(); ++i) {
    auto ok = encodeLeaf(t, (*leaves)[i].first, (*leaves)[i].second, d.type, v.init.data() + i * d.type.bytes);
    if (!ok) return ok.error();
  }
  return v;
}

struct PtxEntry {
  size_t header_begin = 0, header_end = 0;  // `.visible .entry name (...) directives`
  size_t body_begin = 0, body_end = 0;      // inside the braces
};

struct PtxModule {
  uint32_t version = 0;
  std::vector<PtxEntry> entries;
  std::vector<Decl> vars;    // module-scope .global/.const, not .extern
  std::vector<Decl> shared;  // module-scope .shared, not .extern
};

bool contains(const Tokens& t, size_t b, size_t e, std::string_view what) {
  return std::find(t.begin() + b, t.begin() + e, what) != t.begin() + e;
}

Result<PtxModule> scanModule(const Tokens& t) {
  PtxModule m;
  size_t i = 0, n = t.size();
  while (i < n) {
    std::string_view first = t[i];
    if (first == ".version") {
      if (i + 1 >= n) return badPtx("missing .version number");
      std::string_view v = t[i + 1];
      size_t dot = v.find('.');
      auto major = parseUnsigned(v.substr(0, dot));
      auto minor = dot == std::string_view::npos ? std::optional<uint64_t>(0) : parseUnsigned(v.substr(dot + 1));
      if (!major || !minor || *minor > 9 || *major > 1000) return badPtx("bad .version " + std::string(v));
      m.version = uint32_t(*major * 10 + *minor);
      i += 2;
      continue;
    }
    if (first == ".target" || first == ".file") {
      // Neither ends with ';': a comma-separated list of single tokens.
      i += 2;
      if (first == ".file" && i < n && t[i].starts_with("\"")) ++i;
      while (i + 1 < n && t[i] == ",") i += 2;
      continue;
    }
    if (first == ".address_size") {
      i += 2;
      continue;
    }
    if (first == ".section") {
      size_t open = i + 2;
      if (open >= n || t[open] != "{") return badPtx(".section without a body");
      size_t close = matching(t, open, n);
      if (close == std::string_view::npos) return badPtx("unclosed .section");
      i = close + 1;
      continue;
    }
    // An ordinary statement: up to ';' or a function body.
    bool has_init = false;
    size_t j = i;
    size_t body_open = std::string_view::npos;
    for (; j < n; ++j) {
      if (t[j] == ";") break;
      if (t[j] == "=") has_init = true;
      if (t[j] == "(" || (t[j] == "{" && has_init)) {
        size_t close = matching(t, j, n);
        if (close == std::string_view::npos) return badPtx("unbalanced bracket");
        j = close;
        continue;
      }
      if (t[j] == "{") {
        body_open = j;
        break;
      }
    }
    if (body_open != std::string_view::npos) {
      size_t close = matching(t, body_open, n);
      if (close == std::string_view::npos) return badPtx("unclosed function body");
      if (contains(t, i, body_open, ".entry")) m.entries.push_back({i, body_open, body_open + 1, close});
      i = close + 1;
      continue;
    }
    size_t end = j;  // statement is [i, end)
    if (!contains(t, i, end, ".entry") && !contains(t, i, end, ".func") && !contains(t, i, end, ".pragma") &&
        !contains(t, i, end, ".alias")) {
      bool global = contains(t, i, end, ".global"), constant = contains(t, i, end, ".const"),
           shared = contains(t, i, end, ".shared");
      bool opaque = contains(t, i, end, ".texref") || contains(t, i, end, ".samplerref") ||
                    contains(t, i, end, ".surfref");
      if ((global || constant || shared) && !opaque) {
        auto d = parseDecl(t, i, end);
        if (!d) return d.error();
        if (!d->is_extern) (shared ? m.shared : m.vars).push_back(std::move(d).value());
      }
    }
    i = end + 1;
  }
  return m;
}

Result<KernelInfo> describePtxEntry(const Tokens& t, const PtxModule& m, const PtxEntry& e) {
  KernelInfo k;
  k.ptx_version = m.version;
  size_t i = e.header_begin;
  while (i < e.header_end && t[i] != ".entry") ++i;
  if (i + 1 >= e.header_end) return badPtx(".entry without a name");
  k.name = std::string(t[++i]);
  ++i;
  uint64_t offset = 0;
  if (i < e.header_end && t[i] == "(") {
    size_t close = matching(t, i, e.header_end);
    if (close == std::string_view::npos) return badPtx(k.name + ": unclosed parameter list");
    size_t start = i + 1;
    for (size_t j = start; j <= close; ++j) {
      if (j != close && t[j] != ",") continue;
      if (j > start) {
        auto d = parseDecl(t, start, j);
        if (!d) return within(d.error(), k.name);
        if (d->space != ".param") return badPtx(k.name + ": parameter " + std::string(d->name) + " is not .param");
        auto bytes = declBytes(*d);
        if (!bytes) return bytes.error();
        uint32_t align = d->align();
        offset = alignUp(offset, align);
        if (offset + *bytes > std::numeric_limits<uint32_t>::max()) return badPtx(k.name + ": parameters too large");
        k.params.push_back(KernelParam{uint32_t(offset), uint32_t(*bytes), align});
        offset += *bytes;
      }
      start = j + 1;
    }
    i = close + 1;
  }
  k.param_bytes = uint32_t(offset);
  for (; i < e.header_end; ++i) {
    if (t[i] != ".maxntid" && t[i] != ".reqntid") continue;
    uint64_t threads = 1;
    size_t j = i + 1;
    for (; j < e.header_end; j += 2) {
      auto v = parseUnsigned(t[j]);
      if (!v || *v > 1u << 16) return badPtx(k.name + ": bad " + std::string(t[i]));
      threads *= *v;
      if (j + 1 >= e.header_end || t[j + 1] != ",") break;
    }
    if (threads != 0 && threads < k.max_threads_per_block) k.max_threads_per_block = uint32_t(threads);
    i = j;
  }

  uint64_t shared = 0, local = 0;
  std::set<std::string_view> names;
  for (size_t j = e.body_begin; j < e.body_end; ++j) {
    std::string_view tok = t[j];
    if (isIdentStart(tok[0])) names.insert(tok);
    if (tok != ".shared" && tok != ".local") continue;
    std::string_view prev = j > e.body_begin ? t[j - 1] : "{";
    if (prev != ";" && prev != "{" && prev != "}") continue;
    size_t end = j;
    while (end < e.body_end && t[end] != ";") ++end;
    auto d = parseDecl(t, j, end);
    if (!d) return d.error();
    auto bytes = declBytes(*d);
    if (!bytes) return bytes.error();
    uint64_t& total = tok == ".shared" ? shared : local;
    total = alignUp(total, d->align()) + *bytes;
    j = end;
  }
  for (const Decl& d : m.shared) {
    if (!names.count(d.name)) continue;
    auto bytes = declBytes(d);
    if (!bytes) return bytes.error();
    shared = alignUp(shared, d.align()) + *bytes;
  }
  k.static_shared_bytes = uint32_t(std::min<uint64_t>(shared, std::numeric_limits<uint32_t>::max()));
  k.local_bytes = uint32_t(std::min<uint64_t>(local, std::numeric_limits<uint32_t>::max()));
  return k;
}

struct ParsedPtx {
  Tokens tokens;
  PtxModule module;
};

Result<ParsedPtx> parsePtx(std::string_view ptx) {
  auto tokens = tokenize(ptx);
  if (!tokens) return tokens.error();
  ParsedPtx p;
  p.tokens = std::move(tokens).value();
  auto m = scanModule(p.tokens);
  if (!m) return m.error();
  p.module = std::move(m).value();
  return p;
}

Result<std::vector<KernelInfo>> ptxKernels(const ParsedPtx& p) {
  uint64_t const_bytes = 0;
  for (const Decl& d : p.module.vars) {
    if (d.space != ".const") continue;
    auto v = describeVar(p.tokens, d);
    if (!v) return v.error();
    const_bytes += v->size;
  }
  std::vector<KernelInfo> kernels;
  for (const PtxEntry& e : p.module.entries) {
    auto k = describePtxEntry(p.tokens, p.module, e);
    if (!k) return k.error();
    k->const_bytes = uint32_t(std::min<uint64_t>(const_bytes, std::numeric_limits<uint32_t>::max()));
    kernels.push_back(std::move(k).value());
  }
  return kernels;
}

Result<std::vector<GlobalVarInfo>> ptxVars(const ParsedPtx& p) {
  std::vector<GlobalVarInfo> vars;
  for (const Decl& d : p.module.vars) {
    auto v = describeVar(p.tokens, d);
    if (!v) return v.error();
    vars.push_back(std::move(v).value());
  }
  return vars;
}

// Takes the exact alignment from the PTX where both describe the same layout.
void adoptPtxAlignment(KernelInfo& elf, const KernelInfo& ptx) {
  if (elf.params.size() != ptx.params.size()) return;
  for (size_t i = 0; i < elf.params.size(); ++i)
    if (elf.params[i].offset != ptx.params[i].offset || elf.params[i].size != ptx.params[i].size) return;
  for (size_t i = 0; i < elf.params.size(); ++i) elf.params[i].align = ptx.params[i].align;
}

Result<ModuleInfo> describe(const Fatbin& fatbin, unsigned max_arch) {
  ModuleInfo info;
  const FatbinEntry* elf = nullptr;
  const FatbinEntry* lowest_elf = nullptr;
  for (const auto& e : fatbin.entries) {
    if (e.kind != FatbinEntryKind::Elf) continue;
    info.elf_archs.push_back(e.arch);
    if (e.arch <= max_arch && (!elf || e.arch > elf->arch)) elf = &e;
    if (!lowest_elf || e.arch < lowest_elf->arch) lowest_elf = &e;
  }
  std::sort(info.elf_archs.begin(), info.elf_archs.end());
  info.elf_archs.erase(std::unique(info.elf_archs.begin(), info.elf_archs.end()), info.elf_archs.end());

  const FatbinEntry* ptx = fatbin.bestPtx(max_arch);
  if (ptx) {
    info.ptx.assign(ptx->payload.begin(), ptx->payload.end());
    info.ptx_arch = ptx->arch;
  }
  // Without a runnable image the layout still comes from any ELF: the
  // parameter layout does not depend on the architecture.
  if (!elf && !ptx) elf = lowest_elf;
  if (!elf && !ptx) return makeError(MODNN_ERR_NO_KERNEL_IMAGE, "fatbin has neither ELF nor PTX entries");

  std::optional<ParsedPtx> parsed;
  if (ptx) {
    auto p = parsePtx(info.ptx);
    if (!p && !elf) return p.error();
    if (p) parsed = std::move(p).value();
  }
  std::vector<KernelInfo> ptx_kernels;
  if (parsed) {
    auto ks = ptxKernels(*parsed);
    if (!ks && !elf) return ks.error();
    if (ks) ptx_kernels = std::move(ks).value();
  }

  std::optional<Cubin> cubin;
  if (elf) {
    auto c = parseCubin(elf->payload.data(), elf->payload.size());
    if (!c) return c.error();
    cubin = std::move(c).value();
    auto ks = cubinKernels(*cubin);
    if (!ks) return ks.error();
    for (auto& k : *ks) {
      auto match = std::find_if(ptx_kernels.begin(), ptx_kernels.end(), [&](const auto& p) { return p.name == k.name; });
      if (match != ptx_kernels.end()) {
        adoptPtxAlignment(k, *match);
        k.ptx_version = match->ptx_version;
        if (k.params.empty() && !match->params.empty() && k.param_bytes == match->param_bytes) k.params = match->params;
      }
      std::string name = k.name;
      info.kernels.emplace(std::move(name), std::move(k));
    }
  } else {
    for (auto& k : ptx_kernels) {
      std::string name = k.name;
      info.kernels.emplace(std::move(name), std::move(k));
    }
  }

  std::optional<std::vector<GlobalVarInfo>> vars;
  if (parsed) {
    auto v = ptxVars(*parsed);
    if (v) vars = std::move(v).value();
    else if (!cubin) return v.error();
  }
  if (!vars && cubin) {
    auto v = cubinVars(*cubin);
    if (!v) return v.error();
    vars = std::move(v).value();
  }
  if (vars)
    for (auto& v : *vars) {
      std::string name = v.name;
      info.vars.emplace(std::move(name), std::move(v));
    }
  return info;
}

}  // namespace

Result<ModuleInfo> describeModule(const Fatbin& fatbin, unsigned max_arch) {
  return guarded(MODNN_ERR_INVALID_IMAGE, [&] { return describe(fatbin, max_arch); });
}

Result<std::vector<KernelInfo>> kernelsFromCubin(const uint8_t* elf, size_t size) {
  return guarded(MODNN_ERR_INVALID_IMAGE, [&]() -> Result<std::vector<KernelInfo>> {
    auto cubin = parseCubin(elf, size);
    if (!cubin) return cubin.error();
    return cubinKernels(*cubin);
  });
}

Result<std::vector<KernelInfo>> kernelsFromPtx(std::string_view ptx) {
  return guarded(MODNN_ERR_INVALID_PTX, [&]() -> Result<std::vector<KernelInfo>> {
    auto parsed = parsePtx(ptx);
    if (!parsed) return parsed.error();
    return ptxKernels(*parsed);
  });
}

Result<std::vector<GlobalVarInfo>> varsFromPtx(std::string_view ptx) {
  return guarded(MODNN_ERR_INVALID_PTX, [&]() -> Result<std::vector<GlobalVarInfo>> {
    auto parsed = parsePtx(ptx);
    if (!parsed) return parsed.error();
    return ptxVars(*parsed);
  });
}

}  // namespace moai
