// Dispatch of moDNN ops to their CPU implementations. An op struct from an
// older client may be shorter than ours; the fields it lacks read as zero.
#include "modnn/cpu/ops/cpu_ops.h"

#include <algorithm>
#include <cstring>

#include "modnn/cpu/ops/blas_threads.h"
#include "modnn/cpu/ops/op_kinds.h"
#include "modnn/cpu/ops/op_memory.h"

namespace modnn::cpu {
namespace {

template <class T>
T widen(const T& in) {
  T out{};
  std::memcpy(&out, &in, std::min(in.struct_size, sizeof(T)));
  return out;
}

}  // namespace

bool supportsOp(const modnn_op& op) {
  switch (op.kind) {
    case MODNN_OP_GEMM: return supportsGemm(widen(op.u.gemm));
    case MODNN_OP_BLAS: return supportsBlas(widen(op.u.blas));
    default: return false;
  }
}

modnn_status runOp(const OpDevice& dev, const modnn_op& op) {
  if (!supportsOp(op)) return MODNN_ERR_NOT_SUPPORTED;
  BlasThreads threads(dev.threads);
  switch (op.kind) {
    case MODNN_OP_GEMM: return runGemm(dev, widen(op.u.gemm));
    case MODNN_OP_BLAS: return runBlas(dev, widen(op.u.blas));
    default: return MODNN_ERR_NOT_SUPPORTED;
  }
}

}  // namespace modnn::cpu
