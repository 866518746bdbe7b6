// The search: the plan of least predicted time that fits the devices' memory.
//
//  1. candidates: shardingRules per op, each with its compute cost;
//  2. edges: producer -> consumer of each tensor, costing the reshard between
//     the producer's output placement and the placement the consumer needs;
//     state written by the step and read by the next one is an edge from its
//     last writer to its first reader (the steady state of a training loop);
//  3. dynamic programming (Viterbi) over the ops in order, exact for chains,
//     with non-adjacent producers read off the best path so far;
//  4. iterated conditional modes until no op changes: every edge counted;
//  5. memory: if the peak per device is over the limit, a Lagrange weight on
//     per-device bytes is raised until the plan fits;
//  6. offload: if nothing fits, the largest tensors stay in host memory and
//     are streamed over the host link when used.
#pragma once
#include <functional>

#include "planner/cost_model.h"
#include "planner/graph.h"
#include "planner/plan.h"
#include "planner/sharding_rules.h"

namespace moai::planner {

struct SearchOptions {
  double memory_limit = 0;  // bytes per device; 0: the slowest device kind's memory
  bool allow_offload = true;
  // The strategies the runtime can execute (null: all). "whole" always
  // stays. The plan cache's key does not cover it: one filter per cache.
  std::function<bool(const Op&, const Strategy&)> runnable;
};

Plan planGraph(const Graph& graph, const CostModel& model, const SearchOptions& options = {});

// The plan that runs every op on device 0 (the baseline a plan is compared to).
Plan singleDevicePlan(const Graph& graph, const CostModel& model);

}  // namespace moai::planner
