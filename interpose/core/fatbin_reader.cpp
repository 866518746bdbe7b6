// Fatbin wrapper and container parsing.
//
// Layout, checked against nvcc/fatbinary of CUDA 13.0 (single and multiple
// -gencode, default compression, -Xfatbin -compress-all, --no-compress,
// -compress-mode=size|speed|balance|none, -G, -lineinfo, -rdc=true); all
// fields little-endian:
//
// Wrapper (fatbinary_section.h, __fatBinC_Wrapper_t), 24 bytes:
//   0 u32 magic 0x466243B1   4 u32 version   8 ptr data   16 ptr filename_or_fatbins
//   Version 2 is what crt/link.stub builds for the device-linked image: `data`
//   is the nvlink output (ELF only, no PTX) and the last field points to
//   `__cudaPrelinkedFatbins`, a static (.bss, so all zero in the file) array
//   of `void*` that each translation unit's __cudaRegisterLinkedBinary_<id>
//   fills at start-up with the `data` of its own version-1 wrapper (a
//   relocatable fatbin in section __nv_relfatbin, ELF + PTX), NULL-terminated
//   before __cudaRegisterFatBinary is called. Note: nvcc 13 runs this device
//   link step even without -rdc, so every CUDA 13 executable registers one
//   version-2 wrapper (with an empty list) besides its per-file version-1
//   wrappers. With -rdc, nvlink leaves out of the linked image the kernels
//   that host code never names, although their files still register them.
//
// Fatbin header, 16 bytes:
//   0 u32 magic 0xBA55ED50   4 u16 version (1)   6 u16 header size (16)
//   8 u64 size of the entries that follow the header
//
// Entry header, `header size` bytes (64, 72, 80, 96, 112, 128 seen); the
// payload follows it directly and the next entry follows the payload:
//   0 u16 kind (1 PTX, 2 ELF)          2 u16 entry format version (0x0101)
//   4 u32 header size                  8 u64 payload size (padded to 8)
//  16 u32 compressed size (0 if not)  20 u32 offset, within this header, of
//                                        {u32 offset, u32 size} of the ptxas
//                                        option string (PTX entries only)
//  24 u16 minor, 26 u16 major: ISA version for PTX (9.0), ELF format (1.8)
//  28 u32 arch (75 = sm_75/compute_75)
//  32 u32 identifier offset within this header, 36 u32 identifier size
//        (the source file name; present with -G / -lineinfo)
//  40 u64 flags: 0x1 64-bit, 0x2 debug, 0x10 Linux host,
//        0x2000 LZ4 block compressed (-compress-mode=speed),
//        0x8000 zstd frame compressed (default, size, balance)
//  48 u64 zero                       56 u64 uncompressed size (0 if not)
// By default nvcc compresses PTX and debug ELFs only. PTX payloads are
// NUL-padded text with comments and indentation removed; ELF payloads are
// the cubin as `nvcc -cubin` writes it, possibly followed by padding.
#include "interpose/core/fatbin_reader.h"

#include <lz4.h>
#include <zstd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <new>

namespace moai {
namespace {

constexpr uint32_t kWrapperMagic = 0x466243B1u;
constexpr uint32_t kFatbinMagic = 0xBA55ED50u;
constexpr size_t kFatbinHeaderBytes = 16;
constexpr size_t kEntryHeaderBytes = 64;
constexpr size_t kWrapperBytes = 24;

constexpr uint16_t kKindPtx = 1;
constexpr uint16_t kKindElf = 2;
constexpr uint64_t kFlagLz4 = 0x2000;
constexpr uint64_t kFlagZstd = 0x8000;

// Sanity limits: far above anything nvcc produces, low enough that a corrupt
// size field cannot make us allocate or walk absurd amounts.
constexpr uint64_t kMaxFatbinBytes = uint64_t{1} << 36;
constexpr uint64_t kMaxEntryBytes = uint64_t{1} << 32;
constexpr uint32_t kMaxHeaderBytes = 1u << 16;
constexpr size_t kMaxPrelinked = 1u << 16;
// LZ4 block format cannot expand a compressed byte into more than 255 bytes.
constexpr uint64_t kLz4MaxRatio = 255;

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

Error invalid(std::string message) { return makeError(MODNN_ERR_INVALID_IMAGE, std::move(message)); }

// Runs a parser, prefixes its error message and turns exceptions into errors.
template <class F>
auto guarded(const char* prefix, F parse) -> decltype(parse()) {
  try {
    auto r = parse();
    if (r) return r;
    return makeError(r.error().code, prefix + r.error().message);
  } catch (const std::bad_alloc&) {
    return makeError(MODNN_ERR_OUT_OF_MEMORY, std::string(prefix) + "out of memory");
  } catch (const std::exception& e) {
    return makeError(MODNN_ERR_INVALID_IMAGE, std::string(prefix) + "unexpected failure: " + e.what());
  }
}

struct RawEntry {
  uint16_t kind;
  uint32_t header_bytes;
  uint64_t payload_bytes;
  uint32_t compressed_bytes;
  uint32_t arch;
  uint32_t ident_offset;
  uint32_t ident_bytes;
  uint64_t flags;
  uint64_t uncompressed_bytes;
};

RawEntry loadEntryHeader(const uint8_t* p) {
  RawEntry e;
  e.kind = load<uint16_t>(p + 0);
  e.header_bytes = load<uint32_t>(p + 4);
  e.payload_bytes = load<uint64_t>(p + 8);
  e.compressed_bytes = load<uint32_t>(p + 16);
  e.arch = load<uint32_t>(p + 28);
  e.ident_offset = load<uint32_t>(p + 32);
  e.ident_bytes = load<uint32_t>(p + 36);
  e.flags = load<uint64_t>(p + 40);
  e.uncompressed_bytes = load<uint64_t>(p + 56);
  return e;
}

Result<std::vector<uint8_t>> decompressLz4(const uint8_t* src, uint32_t src_bytes, uint64_t out_bytes) {
  if (out_bytes > uint64_t(src_bytes) * kLz4MaxRatio + 16 || out_bytes > uint64_t(INT_MAX) || src_bytes > uint32_t(INT_MAX))
    return invalid("LZ4 entry claims " + std::to_string(out_bytes) + " bytes from " + std::to_string(src_bytes));
  std::vector<uint8_t> out(out_bytes);
  int got = LZ4_decompress_safe(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(out.data()),
                                int(src_bytes), int(out_bytes));
  if (got < 0) return invalid("LZ4 payload is corrupt");
  if (uint64_t(got) != out_bytes)
    return invalid("LZ4 payload decompressed to " + std::to_string(got) + " bytes, header says " +
                   std::to_string(out_bytes));
  return out;
}

Result<std::vector<uint8_t>> decompressZstd(const uint8_t* src, uint32_t src_bytes, uint64_t out_bytes) {
  // fatbinary writes one frame with its content size; checking it first
  // keeps a corrupt size field from sizing the allocation.
  unsigned long long content = ZSTD_getFrameContentSize(src, src_bytes);
  if (content == ZSTD_CONTENTSIZE_ERROR) return invalid("zstd payload is not a valid frame");
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != out_bytes)
    return invalid("zstd frame holds " + std::to_string(content) + " bytes, header says " + std::to_string(out_bytes));
  std::vector<uint8_t> out(out_bytes);
  size_t got = ZSTD_decompress(out.data(), out.size(), src, src_bytes);
  if (ZSTD_isError(got)) return invalid(std::string("zstd payload is corrupt: ") + ZSTD_getErrorName(got));
  if (got != out_bytes)
    return invalid("zstd payload decompressed to " + std::to_string(got) + " bytes, header says " +
                   std::to_string(out_bytes));
  return out;
}

// One entry whose header lies at `p`, with `avail` bytes from `p` to the end
// of the fatbin. Sets `consumed` to header + payload bytes. Unknown kinds
// yield an entry with `skip` set.
Result<FatbinEntry> readEntry(const uint8_t* p, uint64_t avail, uint64_t& consumed, bool& skip, size_t index) {
  const std::string where = "entry " + std::to_string(index) + ": ";
  if (avail < kEntryHeaderBytes) return invalid(where + "truncated header");
  RawEntry raw = loadEntryHeader(p);
  if (raw.header_bytes < kEntryHeaderBytes || raw.header_bytes > kMaxHeaderBytes || raw.header_bytes > avail)
    return invalid(where + "bad header size " + std::to_string(raw.header_bytes));
  if (raw.payload_bytes > avail - raw.header_bytes)
    return invalid(where + "payload of " + std::to_string(raw.payload_bytes) + " bytes runs past the fatbin");
  consumed = raw.header_bytes + raw.payload_bytes;
  skip = raw.kind != kKindPtx && raw.kind != kKindElf;
  FatbinEntry entry;
  if (skip) return entry;

  entry.kind = raw.kind == kKindPtx ? FatbinEntryKind::Ptx : FatbinEntryKind::Elf;
  entry.arch = raw.arch;
  if (raw.ident_bytes != 0) {
    if (raw.ident_offset < kEntryHeaderBytes || raw.ident_offset > raw.header_bytes ||
        raw.ident_bytes > raw.header_bytes - raw.ident_offset)
      return invalid(where + "identifier lies outside the entry header");
    const char* ident = reinterpret_cast<const char*>(p + raw.ident_offset);
    entry.identifier.assign(ident, strnlen(ident, raw.ident_bytes));
  }

  const uint8_t* payload = p + raw.header_bytes;
  const bool lz4 = raw.flags & kFlagLz4, zstd = raw.flags & kFlagZstd;
  if (lz4 && zstd) return invalid(where + "flags claim both LZ4 and zstd compression");
  entry.compressed = lz4 || zstd;
  if (entry.compressed) {
    if (raw.compressed_bytes == 0 || raw.compressed_bytes > raw.payload_bytes)
      return invalid(where + "compressed size " + std::to_string(raw.compressed_bytes) + " does not fit payload of " +
                     std::to_string(raw.payload_bytes));
    if (raw.uncompressed_bytes == 0 || raw.uncompressed_bytes > kMaxEntryBytes)
      return invalid(where + "bad uncompressed size " + std::to_string(raw.uncompressed_bytes));
    auto out = lz4 ? decompressLz4(payload, raw.compressed_bytes, raw.uncompressed_bytes)
                   : decompressZstd(payload, raw.compressed_bytes, raw.uncompressed_bytes);
    if (!out) return invalid(where + out.error().message);
    entry.payload = std::move(out).value();
  } else {
    entry.payload.assign(payload, payload + raw.payload_bytes);
  }
  if (entry.kind == FatbinEntryKind::Ptx)
    while (!entry.payload.empty() && entry.payload.back() == 0) entry.payload.pop_back();
  return entry;
}

Result<size_t> checkHeader(const void* data) {
  if (data == nullptr) return invalid("null fatbin pointer");
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t magic = load<uint32_t>(p);
  if (magic != kFatbinMagic) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", magic);
    return invalid(std::string("bad magic 0x") + hex + ", expected 0xba55ed50");
  }
  uint16_t version = load<uint16_t>(p + 4);
  if (version != 1) return invalid("unsupported container version " + std::to_string(version));
  uint16_t header_bytes = load<uint16_t>(p + 6);
  if (header_bytes < kFatbinHeaderBytes) return invalid("header size " + std::to_string(header_bytes) + " below 16");
  uint64_t body = load<uint64_t>(p + 8);
  if (body > kMaxFatbinBytes) return invalid("implausible size " + std::to_string(body));
  return size_t(header_bytes + body);
}

Result<Fatbin> parseFatbin(const uint8_t* data, size_t size) {
  if (data == nullptr) return invalid("null data");
  if (size < kFatbinHeaderBytes) return invalid("only " + std::to_string(size) + " bytes, header needs 16");
  auto total = checkHeader(data);
  if (!total) return total.error();
  if (*total > size)
    return invalid("header says " + std::to_string(*total) + " bytes, only " + std::to_string(size) + " given");

  Fatbin fatbin;
  uint64_t offset = load<uint16_t>(data + 6);
  const uint64_t end = *total;
  while (offset < end) {
    uint64_t consumed = 0;
    bool skip = false;
    auto entry = readEntry(data + offset, end - offset, consumed, skip, fatbin.entries.size());
    if (!entry) return entry.error();
    if (!skip) fatbin.entries.push_back(std::move(entry).value());
    offset += consumed;
  }
  return fatbin;
}

Result<FatbinWrapper> readWrapper(const void* wrapper) {
  if (wrapper == nullptr) return invalid("null wrapper");
  const auto* p = static_cast<const uint8_t*>(wrapper);
  uint32_t magic = load<uint32_t>(p);
  if (magic != kWrapperMagic) return invalid("bad wrapper magic, expected 0x466243b1");
  FatbinWrapper w;
  w.version = load<int32_t>(p + 4);
  if (w.version != 1 && w.version != 2) return invalid("unsupported wrapper version " + std::to_string(w.version));
  w.fatbin = load<const uint8_t*>(p + 8);
  auto size = checkHeader(w.fatbin);
  if (!size) return size.error();
  w.fatbin_size = *size;
  static_assert(kWrapperBytes == 8 + 2 * sizeof(void*));
  if (w.version == 2) {
    const auto* list = load<const uint8_t* const*>(p + 16);
    for (size_t i = 0; list != nullptr && list[i] != nullptr; ++i) {
      if (i == kMaxPrelinked) return invalid("prelinked fatbin list is not NULL-terminated");
      auto s = checkHeader(list[i]);
      if (!s) return invalid("prelinked fatbin " + std::to_string(i) + ": " + s.error().message);
      w.prelinked.push_back(list[i]);
    }
  }
  return w;
}

}  // namespace

const FatbinEntry* Fatbin::bestPtx(unsigned max_arch) const {
  const FatbinEntry* best = nullptr;
  for (const auto& e : entries)
    if (e.kind == FatbinEntryKind::Ptx && e.arch <= max_arch && (!best || e.arch > best->arch)) best = &e;
  return best;
}

Result<size_t> fatbinSize(const void* data) {
  return guarded("fatbin: ", [&] { return checkHeader(data); });
}

Result<FatbinWrapper> readFatbinWrapper(const void* wrapper) {
  return guarded("fatbin wrapper: ", [&] { return readWrapper(wrapper); });
}

Result<Fatbin> readFatbin(const void* data, size_t size) {
  return guarded("fatbin: ", [&] { return parseFatbin(static_cast<const uint8_t*>(data), size); });
}

}  // namespace moai
