// ModuleStore: modules uploaded to this worker, by content hash. A module is
// uploaded once per worker, whatever number of jobs use it.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace moai::worker {

struct StoredModule {
  uint64_t hash = 0;
  std::vector<uint8_t> fatbin;
  std::string ptx;
};

class ModuleStore {
 public:
  void put(uint64_t hash, std::span<const uint8_t> fatbin, std::string ptx);
  std::shared_ptr<const StoredModule> get(uint64_t hash) const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<const StoredModule>> modules_;
};

}  // namespace moai::worker
