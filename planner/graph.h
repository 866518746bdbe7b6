// The planner's graph IR: what one recorded segment of work looks like to the
// search. Tensors are regions of the client's allocations with a logical
// shape; ops name the tensors they read and write. Nothing here knows about
// devices or addresses beyond the (allocation id, offset) that identifies a
// region.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "modnn/ops.h"

namespace moai::planner {

struct Tensor {
  uint64_t alloc = 0;           // the client's allocation id (not part of the graph hash)
  uint64_t offset = 0;          // bytes into the allocation (not part of the hash either)
  modnn_dtype dtype = MODNN_F32;
  std::vector<int64_t> shape;   // row-major, outermost first; a matrix is [batch,] rows, cols as stored
  std::string name;             // for reports only

  int64_t elements() const;
  int64_t bytes() const;
};

enum class OpKind {
  Gemm,         // C = op(A) op(B) (+ C), possibly batched
  Elementwise,  // out[i] = f(in[i], ...); `coupled_dim` may not be split (softmax, layernorm rows)
  Reduction,    // out = reduce(in, along reduce_dim)
  Copy,         // device-device copy of equal shapes; no reads: host to device; no writes: device to host
  Memset,
  Opaque,       // a kernel whose access pattern is unknown: runs whole on one device
  Collective,   // a communication op already in the graph (treated as opaque by the search)
};
const char* opKindName(OpKind kind);

// D[m,n] = op(A) op(B), row-major; op(X) = X^T when trans is set, so A is
// stored m x k (k x m transposed). A column-major BLAS call is recorded as its
// row-major twin: C^T = op(B)^T op(A)^T (swap A and B, m and n).
struct GemmShape {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  bool trans_a = false, trans_b = false;
};

struct Op {
  OpKind kind = OpKind::Opaque;
  std::string name;             // kernel or library function, for reports
  GemmShape gemm;               // Gemm: reads = {A, B[, C]}, writes = {D}
  int coupled_dim = -1;         // Elementwise: output dimension whose elements interact
  int reduce_dim = -1;          // Reduction: dimension of reads[0] that is reduced
  double flops = 0;             // non-GEMM ops: floating-point work (GEMM: derived from gemm)
  std::vector<int> reads, writes;  // tensor ids

  double totalFlops() const;
};

struct Graph {
  std::vector<Tensor> tensors;
  std::vector<Op> ops;

  // The id of the tensor covering the region (alloc, offset, its bytes),
  // adding it when none does: the client names regions, not ids. A region
  // seen again with a higher-rank shape takes that shape.
  int tensorAt(uint64_t alloc, uint64_t offset, modnn_dtype dtype, std::vector<int64_t> shape,
               std::string name = {});
  int addTensor(modnn_dtype dtype, std::vector<int64_t> shape, std::string name = {});
  int addOp(Op op);

  // Bytes read and written by one op (its memory traffic in a roofline).
  int64_t opBytes(const Op& op) const;
  // Empty when the graph is well formed, else why not (ids, shapes, GEMM operand sizes).
  std::string validate() const;
};

// A hash of the graph's structure and shapes: op kinds and parameters, tensor
// dtypes and shapes, and which op touches which tensor, with tensors numbered
// by first use. Allocation ids, offsets and names are left out, so the same
// training step recorded at different addresses hashes the same.
uint64_t graphHash(const Graph& graph);

}  // namespace moai::planner
