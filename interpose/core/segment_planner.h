// SegmentPlanner: the client's use of the planner.
//
// Active when MOAI_RECORD or MOAI_PLAN_REPORT is set or the virtual device is
// a group of several devices. Every op a stream queues joins the current
// segment's graph (GraphRecorder); a synchronising call ends the segment,
// which is then planned for the devices this process has (a cost model from
// start-up measurements, device_calibration.h) through a PlanCache, so a
// repeated training step costs a hash. MOAI_RECORD=file writes each segment
// to `file` (planner/recorded_graph_file.h; the file is rewritten per
// process); MOAI_PLAN_REPORT=1 (or =path.json) prints one screen at exit and
// writes the JSON to the path (default moai-plan-<pid>.json).
//
// Plans drive the device group's GEMM splits ahead of time: ops run as they
// are submitted, before their segment is complete, so a segment follows the
// plan of the segment expected next (the one that followed the previous
// segment last time, else a planned one starting with the same op) for as
// long as its ops match that plan's graph. The group can run a GEMM whole or
// split by output columns (the planner's "split M" on the row-major twin)
// followed by an all-gather; every other op runs whole on every device. A
// plan choice the group cannot run (split N or K, split element-wise ops,
// ...) falls back to the group's own cost model (group_splits.cpp), and the
// report shows what ran beside what was planned and predicts the step as it
// ran. MOAI_SPLIT=always|never overrides plans as it overrides that model.
#pragma once
#include <cstdint>
#include <fstream>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "interpose/core/device_calibration.h"
#include "interpose/core/device_group.h"
#include "interpose/core/graph_recorder.h"
#include "interpose/core/plan_tag.h"
#include "interpose/core/recorded_op.h"
#include "modnn/backend.h"
#include "planner/plan_cache.h"

namespace moai {

// One segment as it runs: the decisions taken for its ops at submission and
// what the device ran (written by the stream executors).
struct SegmentRun {
  double start = 0;                 // first op submitted (steady clock, seconds)
  uint64_t moved_at_start = 0;      // the device group's member-to-member bytes then
  std::mutex mu;                    // guards executed
  std::vector<GroupSplit> decided;  // splits asked of the group (ways 0: the group decides)
  std::vector<std::string> decided_by;
  std::vector<bool> interleaved;    // a split of it gives each member interleaved pieces (a grid-stride kernel)
  std::vector<GroupSplit> executed;  // splits the group used (ways -1: not run yet, or no report from the device)
};

struct PlannerOptions {
  int devices = 1;
  bool report = false;          // print at exit
  std::string json_path;        // where the JSON goes (empty: no JSON)
  std::string record_path;      // MOAI_RECORD
  bool split_override = false;  // MOAI_SPLIT is set
};

class SegmentPlanner {
 public:
  // Null when nothing asks for planning. Calibrates `device` when it does.
  static std::unique_ptr<SegmentPlanner> fromEnvironment(const modnn_device& device, const modnn_device_props& props,
                                                         VirtualAddressSpace& vas);
  // `device`: the one the client runs on (a device group is asked which kernels it can split).
  SegmentPlanner(PlannerOptions options, Calibration calibration, const modnn_device_props& props,
                 modnn_device device = {});
  ~SegmentPlanner();

  // An op entering a stream's queue (the client's lock held).
  PlanTag record(const RecordedOp& op);
  // Runs a moDNN op as its tag says and notes what the device ran.
  modnn_status run(const modnn_device& device, const modnn_op& op, const PlanTag& tag);
  // Launches a kernel (the device group may split it, kernel_footprint.h) and notes the ways it ran.
  modnn_status launch(const modnn_device& device, const modnn_kernel_launch& launch, const PlanTag& tag);
  // A synchronising call is returning: the segment ends and is planned.
  void endSegment();
  // The report (text) and JSON of everything so far; finish() prints and writes them (once).
  void report(std::ostream& out);
  std::string json();
  void finish();

  const planner::PlanCache& cache() const { return cache_; }

 private:
  struct Entry;
  struct Step;
  struct AsRun;
  Entry* expectedFor(const planner::Op& first);
  void followDevices();
  void endSegmentLocked(bool synchronised);
  // Where split ops left tensors (by allocation, offset, bytes), carried from
  // one segment to the next: the device group pulls them when read.
  struct Shard {
    int ways = 0;  // 0 or 1: current on every member
    int layout = 0;  // how it was split: shares of one layout line up
  };
  using Placements = std::map<std::tuple<uint64_t, uint64_t, int64_t>, Shard>;
  // `carried`: the placement before the segment, updated to after it (null: start with everything current).
  AsRun asRun(const Entry& e, SegmentRun& run, Placements* carried) const;
  size_t heaviestEntry() const;

  PlannerOptions opt_;
  modnn_device device_;
  Calibration calibration_;
  planner::Cluster cluster_;
  planner::CostModel model_;
  planner::PlanCache cache_;
  std::mutex mu_;
  GraphRecorder recorder_;
  std::shared_ptr<SegmentRun> current_;
  Entry* expected_ = nullptr;
  bool diverged_ = false;             // the current segment left its expected plan
  std::vector<std::unique_ptr<Entry>> entries_;  // distinct graphs, first seen first
  std::map<uint64_t, Entry*> by_key_;
  std::map<uint64_t, uint64_t> successor_;       // segment key -> key of the segment that followed it
  uint64_t last_key_ = 0;
  std::vector<Step> steps_;
  Placements placements_;
  std::ofstream record_;
  int segments_ = 0;
  bool finished_ = false;
};

}  // namespace moai
