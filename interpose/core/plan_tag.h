// What the client's planning (segment_planner.h) attaches to a recorded op:
// where it sits in its segment and the plan's decision for it.
#pragma once
#include <memory>

namespace moai {

struct SegmentRun;       // segment_planner.h
struct KernelFootprint;  // kernel_footprint.h

struct PlanTag {
  std::shared_ptr<SegmentRun> segment;  // null: no planning in this process
  int op = -1;                          // index in the segment's graph; -1: not a graph op
  int ways = 0;  // split the plan chose (GEMM columns, element-wise ranges); 0: the device group decides
  bool by_k = false;  // a GEMM's split is by K (partial sums, reduce-scattered)
  // A launch the device group analysed when it was recorded (null: it
  // cannot be split), so it is not analysed again when it runs.
  bool analysed = false;
  std::shared_ptr<const KernelFootprint> footprint;
};

}  // namespace moai
