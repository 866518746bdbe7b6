// FatbinReader: the container nvcc embeds in every CUDA binary.
//
// A host binary hands __cudaRegisterFatBinary a *wrapper* (magic 0x466243b1,
// version 1 or 2) whose data pointer leads to a fatbin (magic 0xBA55ED50):
// a sequence of entries, each a PTX text or an ELF cubin for one
// architecture, optionally LZ4- or zstd-compressed (nvcc 13 compresses by
// default). Version 2 wrappers (-rdc=true) also carry the list of prelinked
// fatbins that the device linker combined.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "interpose/core/result.h"

namespace moai {

enum class FatbinEntryKind : uint8_t { Ptx, Elf };

struct FatbinEntry {
  FatbinEntryKind kind = FatbinEntryKind::Ptx;
  unsigned arch = 0;            // 75 for sm_75 / compute_75
  bool compressed = false;      // was compressed in the container
  std::string identifier;       // source file name nvcc stored, may be empty
  std::vector<uint8_t> payload; // decompressed bytes (PTX text without trailing NULs, or ELF)
};

struct Fatbin {
  std::vector<FatbinEntry> entries;
  const FatbinEntry* bestPtx(unsigned max_arch) const;  // highest PTX arch <= max_arch
};

struct FatbinWrapper {
  int version = 0;                       // 1 or 2
  const uint8_t* fatbin = nullptr;       // start of the fatbin header
  size_t fatbin_size = 0;                // header + entries
  std::vector<const uint8_t*> prelinked; // version 2: prelinked fatbins (-rdc)
};

// Size in bytes of the fatbin at `data` (header plus entries), read from its
// header; error if the magic or header is wrong.
Result<size_t> fatbinSize(const void* data);

// Reads a registration wrapper without trusting it further than its header.
Result<FatbinWrapper> readFatbinWrapper(const void* wrapper);

// Parses a whole fatbin of `size` bytes (bounds-checked against `size`),
// decompressing every entry.
Result<Fatbin> readFatbin(const void* data, size_t size);

}  // namespace moai
