#include "planner/cost_model.h"

#include <algorithm>

namespace moai::planner {

std::string Placement::str() const {
  switch (kind) {
    case Whole: return "whole@" + std::to_string(device);
    case Replicated: return "replicated";
    case Sharded: return "shard(" + std::to_string(dim) + ")";
    case Partial: return "partial";
  }
  return "?";
}

double ringAllReduceSeconds(double bytes, int n, const Link& link) {
  if (n <= 1) return 0;
  return 2.0 * (n - 1) * link.latency + 2.0 * (n - 1) / n * bytes / link.bandwidth;
}

double reduceScatterSeconds(double bytes, int n, const Link& link) {
  if (n <= 1) return 0;
  return (n - 1) * link.latency + double(n - 1) / n * bytes / link.bandwidth;
}

double allGatherSeconds(double bytes, int n, const Link& link) { return reduceScatterSeconds(bytes, n, link); }

double allToAllSeconds(double bytes, int n, const Link& link) {
  if (n <= 1) return 0;
  return (n - 1) * link.latency + double(n - 1) / n * (bytes / n) / link.bandwidth;
}

double broadcastSeconds(double bytes, int n, const Link& link) {
  if (n <= 1) return 0;
  return (n - 1) * link.latency + bytes / link.bandwidth;
}

double pointToPointSeconds(double bytes, const Link& link) { return link.latency + bytes / link.bandwidth; }

CostModel::CostModel(const Cluster& cluster, int devices, int stride)
    : cluster_(cluster), n_(std::max(devices, 1)) {
  per_node_ = std::clamp(cluster_.devicesPerNode() / std::max(stride, 1), 1, n_);
  nodes_ = (n_ + per_node_ - 1) / per_node_;
  slowest_ = cluster_.kindOf(0);
  for (int d = 1; d < n_ && d < cluster_.deviceCount(); ++d) {
    const DeviceKind& k = cluster_.kindOf(d);
    if (k.matmul_flops[MODNN_F32] * k.matmul_efficiency < slowest_.matmul_flops[MODNN_F32] * slowest_.matmul_efficiency)
      slowest_ = k;
  }
}

double CostModel::computeSeconds(const Op& op, modnn_dtype dtype, double flops, double bytes) const {
  const DeviceKind& k = slowest_;
  double peak = op.kind == OpKind::Gemm ? k.matmul_flops[dtype] * k.matmul_efficiency : k.vector_flops;
  double t_flops = peak > 0 ? flops / peak : 0;
  double t_bytes = bytes / (k.memory_bandwidth * k.memory_efficiency);
  return k.kernel_overhead + std::max(t_flops, t_bytes);
}

Link CostModel::ringLink() const {
  // Within a node: the device's own link. Across nodes one device per node:
  // its share of the node's network (every device of the node is busy alike).
  if (nodes_ == 1) return cluster_.intra_node;
  Link l = cluster_.inter_node;
  l.bandwidth /= cluster_.devicesPerNode();
  return l;
}

double CostModel::allReduce(double bytes) const {
  if (nodes_ == 1 || per_node_ == 1) return ringAllReduceSeconds(bytes, n_, ringLink());
  return reduceScatterSeconds(bytes, per_node_, cluster_.intra_node) +
         ringAllReduceSeconds(bytes / per_node_, nodes_, ringLink()) +
         allGatherSeconds(bytes, per_node_, cluster_.intra_node);
}

double CostModel::reduceScatter(double bytes) const {
  if (nodes_ == 1 || per_node_ == 1) return reduceScatterSeconds(bytes, n_, ringLink());
  return reduceScatterSeconds(bytes, per_node_, cluster_.intra_node) +
         reduceScatterSeconds(bytes / per_node_, nodes_, ringLink());
}

double CostModel::allGather(double bytes) const {
  if (nodes_ == 1 || per_node_ == 1) return allGatherSeconds(bytes, n_, ringLink());
  return allGatherSeconds(bytes / per_node_, nodes_, ringLink()) + allGatherSeconds(bytes, per_node_, cluster_.intra_node);
}

double CostModel::allToAll(double bytes) const {
  // Across nodes the network carries the share that leaves the node.
  if (nodes_ == 1) return allToAllSeconds(bytes, n_, cluster_.intra_node);
  return allToAllSeconds(bytes, n_, ringLink());
}

double CostModel::broadcast(double bytes) const {
  if (nodes_ == 1 || per_node_ == 1) return broadcastSeconds(bytes, n_, ringLink());
  return broadcastSeconds(bytes, nodes_, ringLink()) + broadcastSeconds(bytes, per_node_, cluster_.intra_node);
}

double CostModel::gather(double bytes) const {
  // Everything arrives through the root's one link.
  if (n_ <= 1) return 0;
  Link root = nodes_ == 1 ? cluster_.intra_node : ringLink();
  return (n_ - 1) * root.latency + double(n_ - 1) / n_ * bytes / root.bandwidth;
}

double CostModel::hostTransfer(double bytes) const {
  return pointToPointSeconds(bytes, slowest_.host_link);
}

double CostModel::reshardSeconds(double bytes, const Placement& from, const Placement& to,
                                 std::string* out_collective) const {
  std::string dummy;
  std::string& name = out_collective ? *out_collective : dummy;
  name.clear();
  if (from == to || n_ == 1) return 0;
  using K = Placement::Kind;
  switch (from.kind) {
    case K::Replicated:  // every device already has all of it
      return 0;
    case K::Whole:
      switch (to.kind) {
        case K::Whole:
          name = "copy";
          return pointToPointSeconds(bytes, nodes_ == 1 ? cluster_.intra_node : ringLink());
        case K::Replicated: name = "broadcast"; return broadcast(bytes);
        case K::Sharded: name = "scatter"; return gather(bytes);
        case K::Partial: return 0;  // the other devices hold zeros: a valid partial sum
      }
      break;
    case K::Sharded:
      switch (to.kind) {
        case K::Whole: name = "gather"; return gather(bytes);
        case K::Replicated: name = "all-gather"; return allGather(bytes);
        case K::Sharded: name = "all-to-all"; return allToAll(bytes);
        case K::Partial: return 0;  // each device pads its slice with zeros: the slices sum to the whole
      }
      break;
    case K::Partial:
      switch (to.kind) {
        case K::Whole: name = "reduce"; return reduceScatter(bytes) + gather(bytes);
        case K::Replicated: name = "all-reduce"; return allReduce(bytes);
        case K::Sharded: name = "reduce-scatter"; return reduceScatter(bytes);
        case K::Partial: return 0;
      }
      break;
  }
  return 0;
}

}  // namespace moai::planner
