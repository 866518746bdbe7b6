// Plans by graph hash: a training loop records the same segment every step,
// so after the first step planning is a lookup. The key covers the graph's
// structure and shapes and the devices it was planned for, never addresses.
#pragma once
#include <cstdint>
#include <list>
#include <unordered_map>

#include "planner/cost_model.h"
#include "planner/graph.h"
#include "planner/plan.h"
#include "planner/search.h"

namespace moai::planner {

class PlanCache {
 public:
  explicit PlanCache(size_t capacity = 64) : capacity_(capacity) {}

  static uint64_t key(const Graph& graph, const CostModel& model);

  // The cached plan, or null; counts hits and misses.
  const Plan* find(uint64_t key);
  const Plan& insert(uint64_t key, Plan plan);
  // find, or plan and insert.
  const Plan& plan(const Graph& graph, const CostModel& model, const SearchOptions& options = {},
                   bool* out_hit = nullptr);

  size_t size() const { return map_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  size_t capacity_;
  std::list<std::pair<uint64_t, Plan>> lru_;  // most recent first
  std::unordered_map<uint64_t, std::list<std::pair<uint64_t, Plan>>::iterator> map_;
  uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace moai::planner
