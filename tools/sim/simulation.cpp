#include "simulation.h"

#include <algorithm>
#include <tuple>

namespace moai::sim {
namespace {

using namespace sched::coloc;

// splitmix64: a seeded generator whose sequence is the same on every
// platform (std::shuffle and the std distributions are not).
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

// The cluster under one policy, with its GPU allocation: the GPU share
// the placed tasks asked for (a share placed on a whole GPU by the
// exclusive policy counts as its share: the rest of that GPU is idle).
class Cluster {
 public:
  Cluster(std::vector<Node> nodes, Policy policy, const Workload& workload, double resolution)
      : nodes_(std::move(nodes)), policy_(policy), workload_(workload), resolution_(resolution) {}
  std::optional<Choice> place(const Task& task) {
    auto c = choose(nodes_, task, policy_, workload_, resolution_);
    if (c) {
      sched::coloc::place(nodes_[c->node], task, *c);
      allocated_ += gpuRequestMilli(task);
    }
    return c;
  }
  void release(const Task& task, const Choice& c) {
    sched::coloc::release(nodes_[c.node], task, c);
    allocated_ -= gpuRequestMilli(task);
  }
  uint64_t allocated() const { return allocated_; }

 private:
  std::vector<Node> nodes_;
  Policy policy_;
  const Workload& workload_;
  double resolution_;
  uint64_t allocated_ = 0;
};

}  // namespace

uint64_t gpuCapacityMilli(const std::vector<Node>& nodes) {
  uint64_t total = 0;
  for (const Node& n : nodes) total += n.gpuFreeMilli.size() * uint64_t{kWholeGpu};
  return total;
}

uint64_t gpuRequestMilli(const Task& task) { return uint64_t{task.gpuMilli} * task.gpuCount; }

std::vector<uint32_t> inflatedArrivals(const std::vector<TraceTask>& tasks, uint64_t capacityMilli, double ratio,
                                       uint64_t seed) {
  std::vector<uint32_t> order(tasks.size());
  uint64_t requested = 0;
  for (uint32_t i = 0; i < tasks.size(); ++i) {
    order[i] = i;
    requested += gpuRequestMilli(tasks[i].task);
  }
  Rng rng{seed};
  const double target = ratio * static_cast<double>(capacityMilli);
  // Draws stop at the first that would pass the target; a trace that asks
  // for no GPU at all would never get there, so it is not inflated.
  while (requested > 0) {
    uint32_t pick = static_cast<uint32_t>(rng.below(tasks.size()));
    uint64_t more = gpuRequestMilli(tasks[pick].task);
    if (static_cast<double>(requested + more) > target) break;
    requested += more;
    order.push_back(pick);
  }
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

RunResult runArrivals(std::vector<Node> nodes, const std::vector<TraceTask>& tasks,
                      const std::vector<uint32_t>& order, Policy policy, const Workload& workload,
                      double fgdResolutionMilli) {
  RunResult r;
  r.policy = policy;
  r.capacityMilli = gpuCapacityMilli(nodes);
  Cluster cluster(std::move(nodes), policy, workload, fgdResolutionMilli);
  uint64_t arrivedMilli = 0;
  for (uint32_t index : order) {
    const Task& task = tasks[index].task;
    ++r.arrived;
    arrivedMilli += gpuRequestMilli(task);
    if (cluster.place(task)) {
      ++r.placed;
    } else if (!r.firstFailure) {
      r.firstFailure = FirstFailure{r.arrived, 100.0 * arrivedMilli / r.capacityMilli, cluster.allocated()};
    }
    while (r.allocatedAtPercent.size() * r.capacityMilli <= arrivedMilli * 100)
      r.allocatedAtPercent.push_back(cluster.allocated());
  }
  r.allocatedMilli = r.peakAllocatedMilli = cluster.allocated();
  return r;
}

RunResult runReplay(std::vector<Node> nodes, const std::vector<TraceTask>& tasks, Policy policy,
                    const Workload& workload, double fgdResolutionMilli) {
  RunResult r;
  r.policy = policy;
  r.capacityMilli = gpuCapacityMilli(nodes);
  Cluster cluster(std::move(nodes), policy, workload, fgdResolutionMilli);
  // (time, 0 = departure / 1 = arrival, task): departures first at a tie.
  std::vector<std::tuple<int64_t, int, uint32_t>> events;
  for (uint32_t i = 0; i < tasks.size(); ++i) events.emplace_back(tasks[i].creation, 1, i);
  std::sort(events.begin(), events.end());
  std::vector<std::optional<Choice>> where(tasks.size());
  uint64_t arrivedMilli = 0;
  // Departures join the queue as tasks are placed; a sorted merge keeps the
  // order (time, kind, task) without a second full sort per event.
  std::vector<std::tuple<int64_t, int, uint32_t>> departures;
  size_t nextArrival = 0;
  auto later = [](auto& a, auto& b) { return a > b; };
  while (nextArrival < events.size() || !departures.empty()) {
    bool depart = !departures.empty() && (nextArrival == events.size() || departures.front() < events[nextArrival]);
    if (depart) {
      std::pop_heap(departures.begin(), departures.end(), later);
      uint32_t i = std::get<2>(departures.back());
      departures.pop_back();
      cluster.release(tasks[i].task, *where[i]);
      continue;
    }
    uint32_t i = std::get<2>(events[nextArrival++]);
    const Task& task = tasks[i].task;
    ++r.arrived;
    arrivedMilli += gpuRequestMilli(task);
    where[i] = cluster.place(task);
    if (where[i]) {
      ++r.placed;
      departures.emplace_back(std::max(tasks[i].deletion, tasks[i].creation), 0, i);
      std::push_heap(departures.begin(), departures.end(), later);
      r.peakAllocatedMilli = std::max(r.peakAllocatedMilli, cluster.allocated());
    } else if (!r.firstFailure) {
      r.firstFailure = FirstFailure{r.arrived, 100.0 * arrivedMilli / r.capacityMilli, cluster.allocated()};
    }
  }
  r.allocatedMilli = cluster.allocated();
  return r;
}

}  // namespace moai::sim
