// Fractional-GPU placement: which node and which GPUs a task that may share
// a GPU goes to. Pure functions over plain structs, no I/O; the simulator
// (tools/sim/) and the live scheduler call the same code.
//
// MoAI's policy is Fragmentation Gradient Descent (FGD, Weng et al., USENIX
// ATC 2023): a node's fragmentation is measured against the target workload
// (the distribution of task shapes the cluster sees), and a task goes where
// that fragmentation grows least. GPU shares are integers in thousandths of
// a GPU ("milli"), so every result is exact and deterministic.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moai::sched::coloc {

constexpr uint32_t kWholeGpu = 1000;  // milli-GPUs in one GPU

// A node as the placement sees it: what is still free.
struct Node {
  uint32_t cpuMilli = 0;                // capacity, thousandths of a core
  uint32_t cpuFreeMilli = 0;
  uint64_t memoryFreeMib = 0;
  std::vector<uint32_t> gpuFreeMilli;   // one entry per GPU, 0..1000
  std::string model;                    // GPU model, e.g. "V100M16"
};

// What a task asks for. gpuCount == 0: CPU only. gpuCount == 1 and
// gpuMilli < 1000: a share of one GPU that other tasks may use too.
// Otherwise gpuMilli == 1000 and the task takes gpuCount whole GPUs.
struct Task {
  uint32_t cpuMilli = 0;
  uint64_t memoryMib = 0;
  uint32_t gpuMilli = 0;                // per GPU
  uint32_t gpuCount = 0;
  std::vector<std::string> models;      // allowed GPU models; empty = any
};

// The target workload: task shapes and how often each arrives (weights sum
// to 1). FGD measures fragmentation against it.
struct WorkloadClass {
  Task shape;
  double weight = 0;
};
using Workload = std::vector<WorkloadClass>;

// The most frequent shapes of `tasks` that together cover `coverage` of
// them, renormalised (the paper's "typical pods", 95% by default). Unlike
// the paper, whose simulator ignores memory, a shape includes the memory
// request: a node whose memory is spent is fragmented for it.
Workload workloadFromTasks(std::span<const Task> tasks, double coverage = 0.95);

enum class Policy {
  Fgd,        // least growth of fragmentation against the workload
  BestFit,    // least free CPU and GPU left on the node (normalised), tightest GPU
  FirstFit,   // first node in order that fits, first GPU that fits
  Exclusive,  // a share takes a whole GPU; then best fit (no colocation)
};
const char* policyName(Policy p);
std::optional<Policy> policyFromName(std::string_view name);

// Where a task goes: the node, the GPUs on it, and how much of each GPU it
// takes (its share, or 1000 when the policy gives it whole GPUs).
struct Choice {
  uint32_t node = 0;
  std::vector<uint32_t> gpus;
  uint32_t milliPerGpu = 0;
};

// Whether `task` fits on `node` as it is now (CPU, memory, model, GPUs).
bool fits(const Node& node, const Task& task);

// F_n(M) of the paper, in milli-GPUs: for each workload class, the free GPU
// share of `node` that class could not use, weighted by the class's weight.
// A class that cannot run on the node at all (CPU, memory, model, too few
// GPUs with enough free) finds all its free GPU share unusable; a class that
// can run loses only the GPUs whose free share is below its request; a
// CPU-only class uses no GPU, so all free GPU share counts.
double fragmentation(const Node& node, const Workload& workload);

// FGD compares fragmentation growth rounded to this resolution (1/20 of a
// GPU): smaller differences are ties, and ties go to the lower node index,
// so near-equal candidates pack onto the same nodes instead of spreading
// over the cluster on differences too small to matter.
constexpr double kFgdResolutionMilli = 50;

// The placement for `task`, or nullopt when no node fits. Ties go to the
// lower node index, then the lower GPU index. `workload` and the
// resolution (0 = compare exactly) are used by Fgd only.
std::optional<Choice> choose(std::span<const Node> nodes, const Task& task, Policy policy,
                             const Workload& workload, double fgdResolutionMilli = kFgdResolutionMilli);

// Takes (place) or gives back (release) what `choice` holds on its node.
void place(Node& node, const Task& task, const Choice& choice);
void release(Node& node, const Task& task, const Choice& choice);

// Colocation by memory, for the live scheduler: a device has total memory
// and the reservations of the jobs already on it; a shareable job asks for
// its predicted peak plus headroom. FGD's scoring with "share" = memory:
// a device's fragmentation against the workload (job reservations in bytes)
// is the free fraction of it that a job class could not use, and the job
// goes to the device where that grows least. Devices already in use come
// first; a device nobody uses is chosen only when no used one has room.
struct MemoryDevice {
  uint64_t totalBytes = 0;
  uint64_t reservedBytes = 0;  // sum of the reservations of its jobs
  bool shareable = true;       // false: held whole by an exclusive lease
};
struct MemoryClass {
  uint64_t bytes = 0;
  double weight = 0;
};

// The reservation for a job: predicted peak plus `headroom` of it (0.1 =
// 10%), rounded up to `granularity` bytes (so nearby sizes form one class).
uint64_t memoryReservation(uint64_t predictedPeakBytes, double headroom, uint64_t granularity = 1 << 20);

// Fragmentation of one device, in device fractions (0..1 per device).
double memoryFragmentation(const MemoryDevice& device, std::span<const MemoryClass> workload);

// The device for a job reserving `bytes`, or nullopt when none has room
// (the caller then falls back to an exclusive whole device, or queues).
// With an empty workload the job's own size is the only class.
std::optional<size_t> chooseMemoryDevice(std::span<const MemoryDevice> devices, uint64_t bytes,
                                         std::span<const MemoryClass> workload);

}  // namespace moai::sched::coloc
