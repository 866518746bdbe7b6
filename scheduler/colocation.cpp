#include "colocation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <array>
#include <map>
#include <tuple>

namespace moai::sched::coloc {
namespace {

bool isShare(const Task& t) { return t.gpuCount == 1 && t.gpuMilli > 0 && t.gpuMilli < kWholeGpu; }

bool modelAllowed(const std::string& model, const std::vector<std::string>& models) {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

// The node's GPUs, free shares sorted ascending, with prefix sums: the
// fragmentation of one class is then a binary search. Nodes have a handful
// of GPUs, so the buffers live on the stack up to 16.
class SortedGpus {
 public:
  explicit SortedGpus(std::span<const uint32_t> free) : n_(free.size()) {
    if (n_ > kInline) {
      heapFree_.assign(free.begin(), free.end());
      heapPrefix_.resize(n_ + 1);
    } else {
      std::copy(free.begin(), free.end(), inlineFree_.begin());
    }
    uint32_t* f = data();
    std::sort(f, f + n_);
    uint64_t* p = prefix();
    p[0] = 0;
    for (size_t i = 0; i < n_; ++i) p[i + 1] = p[i] + f[i];
  }
  uint64_t total() const { return prefix()[n_]; }
  // How many GPUs have at least `milli` free, and the free share of the others.
  std::pair<size_t, uint64_t> split(uint32_t milli) const {
    const uint32_t* f = data();
    size_t below = std::lower_bound(f, f + n_, milli) - f;
    return {n_ - below, prefix()[below]};
  }

 private:
  static constexpr size_t kInline = 16;
  uint32_t* data() { return n_ > kInline ? heapFree_.data() : inlineFree_.data(); }
  const uint32_t* data() const { return n_ > kInline ? heapFree_.data() : inlineFree_.data(); }
  uint64_t* prefix() { return n_ > kInline ? heapPrefix_.data() : inlinePrefix_.data(); }
  const uint64_t* prefix() const { return n_ > kInline ? heapPrefix_.data() : inlinePrefix_.data(); }

  size_t n_;
  std::array<uint32_t, kInline> inlineFree_{};
  std::array<uint64_t, kInline + 1> inlinePrefix_{};
  std::vector<uint32_t> heapFree_;
  std::vector<uint64_t> heapPrefix_;
};

// What one workload class could not use of a node's free GPU share, in
// milli-GPUs (the terms of fragmentation()).
uint64_t classFragmentation(const Task& t, uint32_t cpuFree, uint64_t memFree, const std::string& model,
                            const SortedGpus& gpus) {
  if (t.gpuCount == 0 || t.cpuMilli > cpuFree || t.memoryMib > memFree || !modelAllowed(model, t.models))
    return gpus.total();
  auto [enough, belowSum] = gpus.split(t.gpuMilli);
  return enough >= t.gpuCount ? belowSum : gpus.total();
}

// How much a placement changes a node's fragmentation. Each class's change
// is an exact integer, so two candidates with equal changes score exactly
// equal (no rounding noise decides between them).
double fragmentationGrowth(const Node& n, const Task& task, std::span<const uint32_t> gpusAfter,
                           const Workload& workload) {
  SortedGpus before(n.gpuFreeMilli), after(gpusAfter);
  const uint32_t cpuAfter = n.cpuFreeMilli - task.cpuMilli;
  const uint64_t memAfter = n.memoryFreeMib - task.memoryMib;
  double growth = 0;
  for (const WorkloadClass& c : workload) {
    const auto b = static_cast<int64_t>(classFragmentation(c.shape, n.cpuFreeMilli, n.memoryFreeMib, n.model, before));
    const auto a = static_cast<int64_t>(classFragmentation(c.shape, cpuAfter, memAfter, n.model, after));
    if (a != b) growth += c.weight * static_cast<double>(a - b);
  }
  return growth;
}

// The GPUs a task takes on a node: for a share, the one `pickShare` prefers
// among those with room; for whole GPUs, the first idle ones.
template <class Better>
std::vector<uint32_t> pickGpus(const Node& node, uint32_t milli, uint32_t count, Better better) {
  std::vector<uint32_t> out;
  if (count == 0) return out;
  if (count == 1) {
    std::optional<uint32_t> best;
    for (uint32_t g = 0; g < node.gpuFreeMilli.size(); ++g)
      if (node.gpuFreeMilli[g] >= milli && (!best || better(node.gpuFreeMilli[g], node.gpuFreeMilli[*best])))
        best = g;
    if (best) out.push_back(*best);
    return out;
  }
  for (uint32_t g = 0; g < node.gpuFreeMilli.size() && out.size() < count; ++g)
    if (node.gpuFreeMilli[g] >= milli) out.push_back(g);
  return out;
}

constexpr auto kTightest = [](uint32_t a, uint32_t b) { return a < b; };
constexpr auto kFirst = [](uint32_t, uint32_t) { return false; };

std::optional<Choice> chooseFgd(std::span<const Node> nodes, const Task& task, const Workload& workload,
                                double resolution) {
  std::optional<Choice> best;
  double bestSteps = 0;
  std::vector<uint32_t> after;
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (!fits(n, task)) continue;
    auto consider = [&](std::vector<uint32_t> gpus) {
      after = n.gpuFreeMilli;
      for (uint32_t g : gpus) after[g] -= task.gpuMilli;
      const double growth = fragmentationGrowth(n, task, after, workload);
      const double steps = resolution > 0 ? std::round(growth / resolution) : growth;
      if (!best || steps < bestSteps) {
        bestSteps = steps;
        best = Choice{i, std::move(gpus), task.gpuMilli};
      }
    };
    if (isShare(task)) {
      // Every GPU with room is a candidate; GPUs with equal free shares
      // give equal results, so only the first of each is scored.
      for (uint32_t g = 0; g < n.gpuFreeMilli.size(); ++g) {
        const uint32_t f = n.gpuFreeMilli[g];
        if (f < task.gpuMilli) continue;
        bool seen = false;
        for (uint32_t h = 0; h < g && !seen; ++h) seen = n.gpuFreeMilli[h] == f;
        if (!seen) consider({g});
      }
    } else {
      consider(pickGpus(n, task.gpuMilli, task.gpuCount, kFirst));
    }
  }
  return best;
}

std::optional<Choice> chooseBestFit(std::span<const Node> nodes, const Task& task) {
  // Free CPU and GPU left after placing, each normalised by the largest
  // node of the cluster and weighted equally, as the paper's baseline does.
  double maxCpu = 1, maxGpu = 1;
  for (const Node& n : nodes) {
    maxCpu = std::max(maxCpu, static_cast<double>(n.cpuMilli));
    maxGpu = std::max(maxGpu, static_cast<double>(n.gpuFreeMilli.size()) * kWholeGpu);
  }
  const double gpuReq = static_cast<double>(task.gpuMilli) * task.gpuCount;
  std::optional<Choice> best;
  double bestScore = 0;
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (!fits(n, task)) continue;
    double gpuFree = 0;
    for (uint32_t f : n.gpuFreeMilli) gpuFree += f;
    const double score = 0.5 * (n.cpuFreeMilli - task.cpuMilli) / maxCpu + 0.5 * (gpuFree - gpuReq) / maxGpu;
    if (!best || score < bestScore) {
      bestScore = score;
      best = Choice{i, pickGpus(n, task.gpuMilli, task.gpuCount, kTightest), task.gpuMilli};
    }
  }
  return best;
}

std::optional<Choice> chooseFirstFit(std::span<const Node> nodes, const Task& task) {
  for (uint32_t i = 0; i < nodes.size(); ++i)
    if (fits(nodes[i], task)) return Choice{i, pickGpus(nodes[i], task.gpuMilli, task.gpuCount, kFirst), task.gpuMilli};
  return std::nullopt;
}

}  // namespace

Workload workloadFromTasks(std::span<const Task> tasks, double coverage) {
  using Key = std::tuple<uint32_t, uint64_t, uint32_t, uint32_t, std::vector<std::string>>;
  std::map<Key, size_t> counts;
  for (const Task& t : tasks) ++counts[{t.cpuMilli, t.memoryMib, t.gpuMilli, t.gpuCount, t.models}];
  std::vector<std::pair<Key, size_t>> byCount(counts.begin(), counts.end());
  // Most frequent first; the map order breaks ties, so the result is stable.
  std::stable_sort(byCount.begin(), byCount.end(), [](auto& a, auto& b) { return a.second > b.second; });
  Workload out;
  size_t covered = 0;
  for (auto& [key, count] : byCount) {
    if (!out.empty() && static_cast<double>(covered) >= coverage * static_cast<double>(tasks.size())) break;
    auto& [cpu, mem, milli, gpus, models] = key;
    out.push_back({Task{cpu, mem, milli, gpus, models}, static_cast<double>(count)});
    covered += count;
  }
  for (WorkloadClass& c : out) c.weight /= static_cast<double>(covered);
  return out;
}

const char* policyName(Policy p) {
  switch (p) {
    case Policy::Fgd: return "fgd";
    case Policy::BestFit: return "best-fit";
    case Policy::FirstFit: return "first-fit";
    case Policy::Exclusive: return "exclusive";
  }
  return "?";
}

std::optional<Policy> policyFromName(std::string_view name) {
  for (Policy p : {Policy::Fgd, Policy::BestFit, Policy::FirstFit, Policy::Exclusive})
    if (name == policyName(p)) return p;
  return std::nullopt;
}

bool fits(const Node& node, const Task& task) {
  if (task.cpuMilli > node.cpuFreeMilli || task.memoryMib > node.memoryFreeMib) return false;
  if (task.gpuCount == 0) return true;
  if (!modelAllowed(node.model, task.models)) return false;
  uint32_t enough = 0;
  for (uint32_t f : node.gpuFreeMilli) enough += f >= task.gpuMilli;
  return enough >= task.gpuCount;
}

double fragmentation(const Node& node, const Workload& workload) {
  SortedGpus gpus(node.gpuFreeMilli);
  double frag = 0;
  for (const WorkloadClass& c : workload)
    frag += c.weight * static_cast<double>(
                           classFragmentation(c.shape, node.cpuFreeMilli, node.memoryFreeMib, node.model, gpus));
  return frag;
}

std::optional<Choice> choose(std::span<const Node> nodes, const Task& task, Policy policy, const Workload& workload,
                             double fgdResolutionMilli) {
  switch (policy) {
    case Policy::Fgd: return chooseFgd(nodes, task, workload, fgdResolutionMilli);
    case Policy::BestFit: return chooseBestFit(nodes, task);
    case Policy::FirstFit: return chooseFirstFit(nodes, task);
    case Policy::Exclusive: {
      Task whole = task;
      if (isShare(task)) whole.gpuMilli = kWholeGpu;
      return chooseBestFit(nodes, whole);
    }
  }
  return std::nullopt;
}

void place(Node& node, const Task& task, const Choice& choice) {
  node.cpuFreeMilli -= task.cpuMilli;
  node.memoryFreeMib -= task.memoryMib;
  for (uint32_t g : choice.gpus) node.gpuFreeMilli[g] -= choice.milliPerGpu;
}

void release(Node& node, const Task& task, const Choice& choice) {
  node.cpuFreeMilli += task.cpuMilli;
  node.memoryFreeMib += task.memoryMib;
  for (uint32_t g : choice.gpus) node.gpuFreeMilli[g] += choice.milliPerGpu;
}

uint64_t memoryReservation(uint64_t predictedPeakBytes, double headroom, uint64_t granularity) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const double want = static_cast<double>(predictedPeakBytes) * (1.0 + std::max(0.0, headroom));
  // A prediction too large to reserve asks for everything: no device fits.
  if (!(want < 0x1p63)) return kMax;
  const uint64_t bytes = static_cast<uint64_t>(want);
  if (granularity == 0) return bytes;
  return (bytes + granularity - 1) / granularity * granularity;
}

double memoryFragmentation(const MemoryDevice& device, std::span<const MemoryClass> workload) {
  if (!device.shareable || device.totalBytes == 0 || device.reservedBytes >= device.totalBytes) return 0;
  const uint64_t free = device.totalBytes - device.reservedBytes;
  const double share = static_cast<double>(free) / static_cast<double>(device.totalBytes);
  double frag = 0;
  for (const MemoryClass& c : workload)
    if (c.bytes > free) frag += c.weight * share;
  return frag;
}

std::optional<size_t> chooseMemoryDevice(std::span<const MemoryDevice> devices, uint64_t bytes,
                                         std::span<const MemoryClass> workload) {
  const MemoryClass self[] = {{bytes, 1.0}};
  if (workload.empty()) workload = self;
  // Devices already in use come first: colocation fills them before it
  // opens a fresh device, whatever the fragmentation says.
  for (bool inUse : {true, false}) {
    std::optional<size_t> best;
    double bestDelta = 0;
    for (size_t i = 0; i < devices.size(); ++i) {
      const MemoryDevice& d = devices[i];
      if (!d.shareable || (d.reservedBytes > 0) != inUse) continue;
      if (d.reservedBytes > d.totalBytes || d.totalBytes - d.reservedBytes < bytes) continue;
      MemoryDevice after = d;
      after.reservedBytes += bytes;
      const double delta = memoryFragmentation(after, workload) - memoryFragmentation(d, workload);
      if (!best || delta < bestDelta) {
        bestDelta = delta;
        best = i;
      }
    }
    if (best) return best;
  }
  return std::nullopt;
}

}  // namespace moai::sched::coloc
