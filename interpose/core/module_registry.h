// ModuleRegistry: what __cudaRegisterFatBinary/Function/Var recorded.
//
// Registration runs in the program's static constructors, so it only
// records pointers (no parsing, no device work). A module is parsed the first
// time one of its kernels or variables is used.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "interpose/core/allocation_table.h"
#include "interpose/core/kernel_info.h"
#include "interpose/core/result.h"

namespace moai {

struct ModuleRecord {
  const void* wrapper = nullptr;  // the program's __fatbinwrap, lives as long as the program
  bool parsed = false;
  Error parse_error;              // valid when parsed and info is empty
  std::unique_ptr<ModuleInfo> info;
  std::vector<uint8_t> image;     // the fatbin bytes, for backends
  uint64_t content_hash = 0;
  modnn_module* loaded = nullptr; // backend's module, when the device runs kernels
  bool load_attempted = false;
};

struct FunctionRecord {
  ModuleRecord* module = nullptr;
  std::string device_name;
};

struct VarRecord {
  ModuleRecord* module = nullptr;
  std::string device_name;
  uint64_t size = 0;
  bool constant = false;
  std::shared_ptr<Allocation> storage;  // allocated when the module is first used
};

class ModuleRegistry {
 public:
  // Returns the handle the program passes back to the other hooks.
  void** add(const void* wrapper);
  ModuleRecord* module(void** handle);
  void remove(void** handle);
  void addFunction(void** handle, const void* host_fn, const char* device_name);
  void addVar(void** handle, const void* host_var, const char* device_name, uint64_t size, bool constant);

  FunctionRecord* function(const void* host_fn);
  VarRecord* var(const void* host_var);
  // Every variable of `m`, in registration order.
  std::vector<VarRecord*> varsOf(const ModuleRecord* m);
  template <class F> void forEachVar(F f) { for (auto& [k, v] : vars_) f(v); }
  template <class F> void forEachModule(F f) { for (auto& m : modules_) f(*m); }

  // Parses the module's fatbin once; later calls return the cached outcome.
  Result<const ModuleInfo*> describe(ModuleRecord* m, unsigned max_arch);

 private:
  std::vector<std::unique_ptr<ModuleRecord>> modules_;
  std::map<const void*, FunctionRecord> functions_;
  std::map<const void*, VarRecord> vars_;
};

}  // namespace moai
