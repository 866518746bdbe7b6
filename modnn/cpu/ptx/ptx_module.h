// A decoded PTX module: the parsed declarations plus one executable
// Program per kernel entry. Decoding depends only on the PTX text, so
// decoded modules are shared through a process-wide cache keyed by a hash
// of that text; a module loaded twice is parsed once.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "modnn/cpu/ptx/ptx_ast.h"
#include "modnn/cpu/ptx/ptx_ir.h"

namespace modnn::ptx {

constexpr uint32_t kMaxPtxVersion = 90;  // ISA 9.0 (CUDA 13.0)

struct DecodedModule {
  std::string text;
  uint64_t hash = 0;
  Module ast;
  std::map<std::string, std::unique_ptr<Program>, std::less<>> kernels;
};

// Parses and decodes `ptx` (or returns the cached result). On failure
// returns nullptr with `status` (MODNN_ERR_INVALID_PTX or
// MODNN_ERR_UNSUPPORTED_PTX_VERSION) and `error` set.
std::shared_ptr<const DecodedModule> decodeModule(const char* ptx, size_t size, modnn_status& status,
                                                  std::string& error);

uint64_t hashText(const char* data, size_t size);

// The address a kernel sees for .func `name` (function pointers, vtables).
bool functionAddress(const Module& m, const std::string& name, uint64_t& out);

}  // namespace modnn::ptx
