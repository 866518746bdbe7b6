// Drives the scheduler's placement code (scheduler/colocation.h) through a
// trace, one policy per call, and measures how much GPU capacity it gets
// allocated before tasks stop fitting.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "openb_trace.h"
#include "scheduler/colocation.h"

namespace moai::sim {

// The arrival order of the paper's workload-inflation experiment: every task
// of the trace, plus tasks drawn from it at random (with replacement) until
// their GPU requests add up to `ratio` times the cluster's GPU capacity, all
// shuffled. Indices into `tasks`; the same seed gives the same order.
std::vector<uint32_t> inflatedArrivals(const std::vector<TraceTask>& tasks, uint64_t capacityMilli, double ratio,
                                       uint64_t seed);

struct FirstFailure {
  uint32_t arrivals = 0;          // tasks that had arrived, the failing one included
  double arrivedPercent = 0;      // their GPU requests, % of capacity
  uint64_t allocatedMilli = 0;    // GPU capacity allocated at that moment
};

struct RunResult {
  sched::coloc::Policy policy{};
  uint64_t capacityMilli = 0;
  uint32_t arrived = 0;
  uint32_t placed = 0;
  std::optional<FirstFailure> firstFailure;
  // allocatedAtPercent[p]: GPU capacity allocated (milli) once the tasks
  // that arrived asked for p% of capacity; up to the last percent reached.
  std::vector<uint64_t> allocatedAtPercent;
  uint64_t allocatedMilli = 0;  // at the end
  uint64_t peakAllocatedMilli = 0;
};

uint64_t gpuCapacityMilli(const std::vector<sched::coloc::Node>& nodes);
uint64_t gpuRequestMilli(const sched::coloc::Task& task);

// Places the tasks in `order` one after another, nothing ever ends (the
// inflation experiment); a task that fits nowhere is dropped and the next
// one comes. `nodes` is copied.
RunResult runArrivals(std::vector<sched::coloc::Node> nodes, const std::vector<TraceTask>& tasks,
                      const std::vector<uint32_t>& order, sched::coloc::Policy policy,
                      const sched::coloc::Workload& workload,
                      double fgdResolutionMilli = sched::coloc::kFgdResolutionMilli);

// Replays the trace in simulated time: each task arrives at its creation
// time and, if it was placed, leaves at its deletion time (departures
// before arrivals at the same second). allocatedAtPercent stays empty.
RunResult runReplay(std::vector<sched::coloc::Node> nodes, const std::vector<TraceTask>& tasks,
                    sched::coloc::Policy policy, const sched::coloc::Workload& workload,
                    double fgdResolutionMilli = sched::coloc::kFgdResolutionMilli);

}  // namespace moai::sim
