// How each op may be split over a group of n devices. A strategy names the
// placement every operand must have before the op runs and the placement its
// outputs have after; the search picks one strategy per op and pays for the
// reshards between them.
//
//   GEMM          whole | split M | split N | split K (output partial sums) |
//                 split batch (batched GEMM; stride-0 operands replicated)
//   element-wise  whole | split any dimension but `coupled_dim` (inputs follow
//                 the output's split; broadcast inputs replicated) | replicate
//   reduction     whole | split a kept dimension | split the reduced one (partial)
//   copy, memset  whole | split dimension 0 (follow their tensors)
//   opaque        whole on device 0 after its inputs are gathered there
#pragma once
#include <string>
#include <vector>

#include "planner/graph.h"
#include "planner/placement.h"

namespace moai::planner {

struct Strategy {
  std::string name;                 // "whole", "split M", "split dim 1", ...
  int ways = 1;                     // devices that share the work (1: device 0 alone)
  double work_share = 1;            // fraction of the op's FLOPs the busiest device does
  std::vector<Placement> reads;     // required placement of each tensor in op.reads
  std::vector<Placement> writes;    // placement of each tensor in op.writes afterwards
  double host_bytes = 0;            // per device, streamed over its host link (host copies)
};

std::vector<Strategy> shardingRules(const Graph& graph, const Op& op, int devices);

// Bytes one device touches under a strategy (its shards, or whole tensors).
double bytesPerDevice(const Graph& graph, const Op& op, const Strategy& s, int devices);

}  // namespace moai::planner
