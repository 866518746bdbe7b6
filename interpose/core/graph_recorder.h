// GraphRecorder: the ops a program submits, as the planner's graph (one
// segment: the ops between two synchronising calls), following the
// conventions in planner/README.md:
//  - cuBLAS GEMMs (column-major) as their row-major twin: A and B, m and n
//    swapped, transpose flags kept; batched operands with stride 0 lose the
//    batch dimension; pointer-array GEMMs are opaque (their operands sit in
//    device memory the client does not read);
//  - AXPY, SCAL, SWAP on contiguous vectors are element-wise, COPY a copy,
//    DOT/NRM2/ASUM/IAMAX/IAMIN reductions, other BLAS routines opaque;
//  - a kernel launch whose PTX shows it element-wise (kernel_footprint.h) is
//    element-wise, writing the regions its store streams reach; other
//    kernels are opaque. Either reads (opaque: and writes) every device
//    allocation a pointer argument points into, from that address to the
//    allocation's end. A kernel's FLOPs are its elements at the device's
//    measured kernel rate (setKernelCost), not a count of its instructions;
//  - copies and memsets of device memory, with no reads for host->device and
//    no writes for device->host;
//  - a tensor is a region (allocation base address, offset) with a flat shape
//    until an op with more structure (a GEMM) names it.
// GEMM epilogue operands (bias, aux) are not in the graph: the planner's GEMM
// reads A, B and C and writes D only.
#pragma once
#include <map>
#include <tuple>

#include "interpose/core/kernel_footprint.h"
#include "interpose/core/recorded_op.h"
#include "planner/graph.h"

namespace moai {

class GraphRecorder {
 public:
  // Adds the graph op an entry of a stream's queue stands for; its index in
  // the segment, or -1 when it is none (events, waits, host functions,
  // host-to-host copies).
  // `footprint`: what a launch writes, when the caller knows.
  int add(const RecordedOp& op, const KernelFootprint* footprint = nullptr);
  // A kernel's cost: FLOPs per element it walks (the device's vector FLOP/s
  // over its measured kernel rate), so the planner's roofline times it as
  // measured. 0: kernels carry no FLOPs.
  void setKernelCost(double flops_per_element) { kernel_flops_per_element_ = flops_per_element; }

  const planner::Graph& graph() const { return graph_; }
  bool empty() const { return graph_.ops.empty(); }
  // Ends the segment: returns it and starts an empty one.
  planner::Graph take();

 private:
  int addModnn(const ModnnOp& m);
  int addLaunch(const LaunchOp& l, const KernelFootprint* footprint);
  int addCopy(const CopyOp& c);
  int addFill(const FillOp& f);

  // Graph::tensorAt scans every tensor; a segment of thousands of ops needs
  // the region -> tensor lookup indexed.
  int tensorAt(uint64_t alloc, uint64_t offset, modnn_dtype dtype, std::vector<int64_t> shape);
  int flat(uint64_t alloc, uint64_t offset, uint64_t bytes);  // a region without structure

  planner::Graph graph_;
  std::map<std::tuple<uint64_t, uint64_t, int64_t>, int> regions_;  // (alloc, offset, bytes) -> tensor
  double kernel_flops_per_element_ = 0;
};

}  // namespace moai
