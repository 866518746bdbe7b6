#include "modnn/worker/module_store.h"

namespace moai::worker {

void ModuleStore::put(uint64_t hash, std::span<const uint8_t> fatbin, std::string ptx) {
  auto m = std::make_shared<StoredModule>();
  m->hash = hash;
  m->fatbin.assign(fatbin.begin(), fatbin.end());
  m->ptx = std::move(ptx);
  std::lock_guard<std::mutex> lock(mu_);
  modules_.try_emplace(hash, std::move(m));
}

std::shared_ptr<const StoredModule> ModuleStore::get(uint64_t hash) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = modules_.find(hash);
  return it == modules_.end() ? nullptr : it->second;
}

}  // namespace moai::worker
