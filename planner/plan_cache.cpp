#include "planner/plan_cache.h"

namespace moai::planner {

uint64_t PlanCache::key(const Graph& graph, const CostModel& model) {
  // The same graph on other devices needs another plan.
  uint64_t k = graphHash(graph);
  auto mix = [&](uint64_t v) { k = (k ^ v) * 1099511628211ull; };
  mix(static_cast<uint64_t>(model.devices()));
  mix(static_cast<uint64_t>(model.cluster().devicesPerNode()));
  for (char c : model.slowestKind().name) mix(static_cast<unsigned char>(c));
  mix(static_cast<uint64_t>(model.memoryPerDevice()));
  return k;
}

const Plan* PlanCache::find(uint64_t key) {
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->second;
}

const Plan& PlanCache::insert(uint64_t key, Plan plan) {
  auto it = map_.find(key);
  if (it != map_.end()) {
    it->second->second = std::move(plan);
    lru_.splice(lru_.begin(), lru_, it->second);
    return lru_.front().second;
  }
  lru_.emplace_front(key, std::move(plan));
  map_[key] = lru_.begin();
  if (map_.size() > capacity_) {
    map_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return lru_.front().second;
}

const Plan& PlanCache::plan(const Graph& graph, const CostModel& model, const SearchOptions& options, bool* out_hit) {
  uint64_t k = key(graph, model);
  if (const Plan* p = find(k)) {
    if (out_hit) *out_hit = true;
    return *p;
  }
  if (out_hit) *out_hit = false;
  return insert(k, planGraph(graph, model, options));
}

}  // namespace moai::planner
