// What the runtime must know about a module's kernels and variables before
// it can launch them or copy to its symbols: parameter layout, resource use
// and global/constant variables with their initial bytes.
//
// Read from the ELF cubin's .nv.info sections (EIATTR_KPARAM_INFO, register
// count, shared/local sizes, max threads) where one is present, else from
// the PTX (.entry signature, .global/.const/.shared declarations).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "interpose/core/fatbin_reader.h"
#include "interpose/core/result.h"

namespace moai {

struct KernelParam {
  uint32_t offset = 0;  // byte offset in the packed parameter buffer
  uint32_t size = 0;    // bytes
  uint32_t align = 1;   // bytes
};

struct KernelInfo {
  std::string name;                // mangled name as in the module
  std::vector<KernelParam> params; // in declaration order
  uint32_t param_bytes = 0;        // size of the packed parameter buffer
  uint32_t num_regs = 32;          // per thread; 32 when unknown
  uint32_t static_shared_bytes = 0;
  uint32_t local_bytes = 0;
  uint32_t const_bytes = 0;
  uint32_t max_threads_per_block = 1024;  // from .maxntid / EIATTR_MAX_THREADS
  uint32_t ptx_version = 0;        // e.g. 90 for ISA 9.0 (major*10+minor)
  uint32_t binary_version = 0;     // SASS arch of the ELF, e.g. 75; 0 if PTX only
};

enum class VarSpace : uint8_t { Global, Const };

struct GlobalVarInfo {
  std::string name;
  VarSpace space = VarSpace::Global;
  uint64_t size = 0;
  uint32_t align = 1;
  std::vector<uint8_t> init;  // initial bytes, empty = zero-filled
};

struct ModuleInfo {
  std::map<std::string, KernelInfo, std::less<>> kernels;
  std::map<std::string, GlobalVarInfo, std::less<>> vars;
  std::string ptx;            // the PTX chosen for execution, may be empty
  unsigned ptx_arch = 0;      // its compute_XX
  std::vector<unsigned> elf_archs;  // SASS architectures present
};

// Describes a fatbin: kernels and variables from the ELF entry of the
// highest arch <= max_arch (else from PTX), and the best PTX <= max_arch.
Result<ModuleInfo> describeModule(const Fatbin& fatbin, unsigned max_arch);

// Lower-level pieces, exposed for tests and for the PTX engine.
Result<std::vector<KernelInfo>> kernelsFromCubin(const uint8_t* elf, size_t size);
Result<std::vector<KernelInfo>> kernelsFromPtx(std::string_view ptx);
Result<std::vector<GlobalVarInfo>> varsFromPtx(std::string_view ptx);

}  // namespace moai
