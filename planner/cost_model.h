// Predicted seconds for compute (roofline) and communication (alpha-beta per
// link) on a group made of the first n devices of a cluster.
//
//   compute   t = overhead + max(flops / (peak[dtype] * eff), bytes / (bw * mem_eff))
//   ring all-reduce         2(n-1) alpha + 2(n-1)/n * B / beta
//   reduce-scatter, all-gather (n-1) alpha +  (n-1)/n * B / beta
//   all-to-all              (n-1) alpha + (n-1)/n * (B/n) / beta
//   broadcast (pipelined)   (n-1) alpha + B / beta
//   point-to-point          alpha + B / beta
// A group that spans k nodes with g > 1 devices in each runs collectives
// hierarchically (NCCL's tree/ring over NVLink then the network): e.g.
// all-reduce = reduce-scatter in the node, all-reduce of B/g across nodes on
// each device's share of the node's network bandwidth, all-gather in the node.
#pragma once
#include <string>

#include "planner/cluster.h"
#include "planner/graph.h"
#include "planner/placement.h"

namespace moai::planner {

// The flat formulas on one link (B in bytes, n ranks).
double ringAllReduceSeconds(double bytes, int n, const Link& link);
double reduceScatterSeconds(double bytes, int n, const Link& link);
double allGatherSeconds(double bytes, int n, const Link& link);
double allToAllSeconds(double bytes, int n, const Link& link);
double broadcastSeconds(double bytes, int n, const Link& link);
double pointToPointSeconds(double bytes, const Link& link);

class CostModel {
 public:
  // The group is devices 0, stride, 2*stride, ... (n of them): a data-parallel
  // group of a tensor-parallel job has stride tp, so fewer members share a node.
  CostModel(const Cluster& cluster, int devices, int stride = 1);

  int devices() const { return n_; }
  const Cluster& cluster() const { return cluster_; }
  // The slowest kind among the group's devices: even splits wait for it.
  const DeviceKind& slowestKind() const { return slowest_; }
  double memoryPerDevice() const { return slowest_.memory_bytes; }

  // One device's share of an op: `flops` of work touching `bytes` of memory.
  double computeSeconds(const Op& op, modnn_dtype dtype, double flops, double bytes) const;

  // Collectives over the whole group (hierarchical across nodes).
  double allReduce(double bytes) const;
  double reduceScatter(double bytes) const;
  double allGather(double bytes) const;
  double allToAll(double bytes) const;
  double broadcast(double bytes) const;
  double gather(double bytes) const;  // sharded -> whole on one device
  // Streaming `bytes` between host memory and every device (each its own link).
  double hostTransfer(double bytes) const;

  // Moving a tensor of `bytes` from one placement to another; the collective
  // used is written to out_collective ("" when nothing moves).
  double reshardSeconds(double bytes, const Placement& from, const Placement& to, std::string* out_collective) const;

 private:
  // The link a flat ring over the group uses, and the hierarchical split.
  Link ringLink() const;
  Cluster cluster_;
  int n_;
  int per_node_;  // group devices per node
  int nodes_;     // nodes the group spans
  DeviceKind slowest_;  // a copy: a model stays valid when copied or moved
};

}  // namespace moai::planner
