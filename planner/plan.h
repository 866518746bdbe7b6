// A plan: one strategy per op, the transfers and collectives to insert between
// them, and what the cost model predicts. Printable in one screen and
// serialisable to JSON (MOAI_PLAN_REPORT).
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "planner/graph.h"
#include "planner/placement.h"

namespace moai::planner {

struct Transfer {
  int tensor = -1;
  int before_op = -1;      // runs before this op; -1: at the end of the step (state the next step reads)
  std::string collective;  // all-reduce, reduce-scatter, all-gather, all-to-all, broadcast, scatter,
                           // gather, reduce, copy, host->device, device->host
  Placement from, to;
  int64_t bytes = 0;       // the tensor's size
  double seconds = 0;
};

struct OpAssignment {
  int op = -1;
  std::string strategy;    // from shardingRules
  int ways = 1;            // runs on devices 0..ways-1 (1: device 0 alone)
  double compute_seconds = 0;
  double comm_seconds = 0; // transfers inserted before it
};

struct Plan {
  uint64_t graph_hash = 0;
  int devices = 1;
  std::vector<OpAssignment> ops;
  std::vector<Transfer> transfers;
  std::vector<int> offloaded;        // tensors kept in host memory, streamed in when used
  double compute_seconds = 0, comm_seconds = 0, offload_seconds = 0;
  double step_seconds = 0;           // sum of the above: no overlap assumed (an upper bound)
  double single_device_seconds = 0;  // every op whole on device 0, for the speedup line
  int64_t bytes_moved = 0;           // over links between devices and to/from host
  double peak_bytes_per_device = 0;
  double memory_per_device = 0;      // the limit the plan was made for
  bool fits = true;                  // peak <= limit (offload included)
  double planning_seconds = 0;
};

// At most `max_op_lines` op lines (runs of ops with the same strategy fold
// into one), then totals.
void printPlan(const Plan& plan, const Graph& graph, std::ostream& out, int max_op_lines = 20);
// "12.3 ms", "4.0 us", "1.500 s"; "-" for a negative (unknown) time.
std::string formatSeconds(double s);
// "512 B", "1.50 MiB".
std::string formatBytes(double b);
std::string planToJson(const Plan& plan, const Graph& graph);

}  // namespace moai::planner
