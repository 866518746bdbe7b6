// Recording cuBLAS calls: scalars, submission with the ranges each op
// touches (op_ranges.h).
#include "interpose/cublas/recording.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "interpose/core/client.h"

namespace moai::cublas {
namespace {

Stream* streamOf(cudaStream_t s) { return reinterpret_cast<Stream*>(s); }

}  // namespace

bool toDtype(cudaDataType t, modnn_dtype* out) {
  switch (t) {
    case CUDA_R_32F: *out = MODNN_F32; return true;
    case CUDA_R_64F: *out = MODNN_F64; return true;
    case CUDA_R_16F: *out = MODNN_F16; return true;
    case CUDA_R_16BF: *out = MODNN_BF16; return true;
    case CUDA_C_32F: *out = MODNN_C32; return true;
    case CUDA_C_64F: *out = MODNN_C64; return true;
    case CUDA_R_8I: *out = MODNN_I8; return true;
    case CUDA_R_32I: *out = MODNN_I32; return true;
    default: return false;
  }
}

void readScalar(bool device, const void* p, modnn_dtype type, double v[2], uint64_t* ptr) {
  v[0] = v[1] = 0;
  *ptr = 0;
  if (!p) return;
  if (device) {
    *ptr = va(p);
    return;
  }
  switch (type) {
    case MODNN_F32: v[0] = *static_cast<const float*>(p); break;
    case MODNN_F64: v[0] = *static_cast<const double*>(p); break;
    case MODNN_F16: v[0] = __half2float(*static_cast<const __half*>(p)); break;
    case MODNN_BF16: v[0] = __bfloat162float(*static_cast<const __nv_bfloat16*>(p)); break;
    case MODNN_C32: {
      const auto* c = static_cast<const cuComplex*>(p);
      v[0] = c->x;
      v[1] = c->y;
      break;
    }
    case MODNN_C64: {
      const auto* c = static_cast<const cuDoubleComplex*>(p);
      v[0] = c->x;
      v[1] = c->y;
      break;
    }
    case MODNN_I32: v[0] = *static_cast<const int32_t*>(p); break;
    default: break;
  }
}

modnn_op gemmOp() {
  modnn_op op{};
  op.struct_size = sizeof op;
  op.kind = MODNN_OP_GEMM;
  op.u.gemm.struct_size = sizeof op.u.gemm;
  op.u.gemm.batch = 1;
  op.u.gemm.epilogue = MODNN_EPILOGUE_DEFAULT;
  return op;
}

modnn_op blasOp(modnn_blas_fn fn, modnn_dtype type) {
  modnn_op op{};
  op.struct_size = sizeof op;
  op.kind = MODNN_OP_BLAS;
  op.u.blas.struct_size = sizeof op.u.blas;
  op.u.blas.fn = fn;
  op.u.blas.type = type;
  op.u.blas.result_type = type;
  return op;
}

cublasStatus_t record(const modnn_op& op, cudaStream_t stream) {
  return toCublas(Client::get().submitOp(op, opRanges(op), streamOf(stream)));
}

cublasStatus_t recordBlas(const cublasContext& h, modnn_op& op, const void* alpha, const void* beta) {
  modnn_blas& b = op.u.blas;
  bool device = h.pointer_mode == CUBLAS_POINTER_MODE_DEVICE;
  readScalar(device, alpha, b.type, b.alpha, &b.alpha_ptr);
  readScalar(device, beta, b.type, b.beta, &b.beta_ptr);
  return record(op, h.stream);
}

cublasStatus_t runSync(const modnn_op& op, cudaStream_t stream) {
  return toCublas(Client::get().runOpSync(op, opRanges(op), streamOf(stream)));
}

}  // namespace moai::cublas
