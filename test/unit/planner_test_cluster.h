// Small hand-made clusters for planner tests: round numbers so that expected
// times can be worked out by hand.
#pragma once
#include <string>

#include "planner/cluster.h"

namespace moai::planner::test {

// `per_node` devices a node; 1 TFLOP/s f32 matmul and vector, 100 GB/s memory,
// no efficiency loss, no kernel overhead; links 10 GB/s in a node and 1 GB/s
// between nodes, 1 us latency; 1 GB/s host link.
inline Cluster roundCluster(int devices, int per_node, double memory_bytes = 1e12) {
  Cluster c;
  c.name = "round";
  DeviceKind k;
  k.name = "round";
  k.memory_bytes = memory_bytes;
  k.memory_bandwidth = 100e9;
  k.matmul_flops.fill(1e12);
  k.vector_flops = 1e12;
  k.host_link = {1e9, 1e-6};
  c.kinds = {k};
  c.groups = {NodeGroup{0, per_node, (devices + per_node - 1) / per_node}};
  c.intra_node = {10e9, 1e-6};
  c.inter_node = {1e9 * per_node, 1e-6};  // 1 GB/s per device
  return c;
}

}  // namespace moai::planner::test
