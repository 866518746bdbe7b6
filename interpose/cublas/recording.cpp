// Recording cuBLAS calls: scalars, the ranges each op touches, submission.
#include "interpose/cublas/recording.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "interpose/core/client.h"

namespace moai::cublas {
namespace {

uint64_t matrixBytes(int64_t rows, int64_t cols, int64_t ld, size_t elem) {
  if (rows <= 0 || cols <= 0) return 0;
  return uint64_t((cols - 1) * ld + rows) * elem;
}

// Collects the device ranges of one op.
class Ranges {
 public:
  // A rows x cols matrix at `p`, `batch` times, `stride` elements apart.
  void matrix(uint64_t p, int64_t rows, int64_t cols, int64_t ld, modnn_dtype t, int64_t batch = 1,
              int64_t stride = 0) {
    size_t elem = modnn_dtype_size(t);
    uint64_t bytes = matrixBytes(rows, cols, ld, elem);
    if (!p || bytes == 0 || batch <= 0) return;
    int64_t last = (batch - 1) * stride;
    int64_t lo = std::min<int64_t>(0, last) * int64_t(elem), hi = std::max<int64_t>(0, last) * int64_t(elem);
    out_.push_back({p + uint64_t(lo), uint64_t(hi - lo) + bytes});
  }
  // n elements spaced |inc| apart.
  void vector(uint64_t p, int64_t n, int64_t inc, modnn_dtype t) {
    matrix(p, 1, n, std::max<int64_t>(1, inc < 0 ? -inc : inc), t);
  }
  void scalar(uint64_t p, modnn_dtype t) { matrix(p, 1, 1, 1, t); }
  const std::vector<DeviceRange>& list() const { return out_; }

 private:
  std::vector<DeviceRange> out_;
};

// Entries of the bias (or bias gradient) vector, 0 when none.
int64_t biasEntries(const modnn_gemm& g) {
  if (!modnn_epilogue_uses_bias(g.epilogue)) return 0;
  return g.epilogue == MODNN_EPILOGUE_BGRADB ? g.n : g.m;
}

void gemmRanges(const modnn_gemm& g, Ranges& r) {
  int64_t batch = g.batch;
  auto operand = [&](uint64_t p, bool trans, int64_t rows, int64_t cols, int64_t ld, modnn_dtype t, int64_t stride) {
    if (g.pointer_arrays) {
      r.matrix(p, 1, batch, 1, MODNN_I64);  // the array; matrices are checked when the op runs
    } else {
      r.matrix(p, trans ? cols : rows, trans ? rows : cols, ld, t, batch, stride);
    }
  };
  if (g.k > 0 && !isZero(g.alpha, g.alpha_ptr)) {
    operand(g.a, g.trans_a, g.m, g.k, g.lda, g.a_type, g.stride_a);
    operand(g.b, g.trans_b, g.k, g.n, g.ldb, g.b_type, g.stride_b);
  }
  if (!isZero(g.beta, g.beta_ptr)) operand(g.c, false, g.m, g.n, g.ldc, g.c_type, g.stride_c);
  operand(g.d, false, g.m, g.n, g.ldd, g.d_type, g.stride_d);
  if (int64_t entries = biasEntries(g)) r.matrix(g.bias, entries, 1, entries, g.bias_type, batch, g.stride_bias);
  if (modnn_epilogue_uses_aux(g.epilogue)) r.matrix(g.aux, g.m, g.n, g.ld_aux, g.aux_type, batch, g.stride_aux);
  r.scalar(g.alpha_ptr, g.scale_type);
  r.scalar(g.beta_ptr, g.scale_type);
}

void blasRanges(const modnn_blas& b, Ranges& r) {
  modnn_dtype t = b.type;
  switch (b.fn) {
    case MODNN_BLAS_AXPY:
    case MODNN_BLAS_DOT:
    case MODNN_BLAS_COPY:
    case MODNN_BLAS_SWAP: r.vector(b.y, b.n, b.incy, t); [[fallthrough]];
    case MODNN_BLAS_SCAL:
    case MODNN_BLAS_NRM2:
    case MODNN_BLAS_ASUM:
    case MODNN_BLAS_IAMAX:
    case MODNN_BLAS_IAMIN: r.vector(b.x, b.n, b.incx, t); break;
    case MODNN_BLAS_GEMV:
      r.matrix(b.a, b.m, b.n, b.lda, t);
      r.vector(b.x, b.trans_a ? b.m : b.n, b.incx, t);
      r.vector(b.y, b.trans_a ? b.n : b.m, b.incy, t);
      break;
    case MODNN_BLAS_GER:
      r.vector(b.x, b.m, b.incx, t);
      r.vector(b.y, b.n, b.incy, t);
      r.matrix(b.a, b.m, b.n, b.lda, t);
      break;
    case MODNN_BLAS_GEAM:
      if (!isZero(b.alpha, b.alpha_ptr)) r.matrix(b.a, b.trans_a ? b.n : b.m, b.trans_a ? b.m : b.n, b.lda, t);
      if (!isZero(b.beta, b.beta_ptr)) r.matrix(b.b, b.trans_b ? b.n : b.m, b.trans_b ? b.m : b.n, b.ldb, t);
      r.matrix(b.c, b.m, b.n, b.ldc, t);
      break;
    case MODNN_BLAS_DGMM:
      r.matrix(b.a, b.m, b.n, b.lda, t);
      r.vector(b.x, b.right ? b.n : b.m, b.incx, t);
      r.matrix(b.c, b.m, b.n, b.ldc, t);
      break;
    case MODNN_BLAS_TRSM:
      r.matrix(b.a, b.right ? b.n : b.m, b.right ? b.n : b.m, b.lda, t);
      r.matrix(b.b, b.m, b.n, b.ldb, t);
      break;
    case MODNN_BLAS_SYRK:
      r.matrix(b.a, b.trans_a ? b.k : b.n, b.trans_a ? b.n : b.k, b.lda, t);
      r.matrix(b.c, b.n, b.n, b.ldc, t);
      break;
  }
  r.scalar(b.result, b.result_type);
  r.scalar(b.alpha_ptr, t);
  r.scalar(b.beta_ptr, t);
}

std::vector<DeviceRange> rangesOf(const modnn_op& op) {
  Ranges r;
  if (op.kind == MODNN_OP_GEMM) gemmRanges(op.u.gemm, r);
  if (op.kind == MODNN_OP_BLAS) blasRanges(op.u.blas, r);
  return r.list();
}

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
  return toCublas(Client::get().submitOp(op, rangesOf(op), streamOf(stream)));
}

cublasStatus_t recordBlas(const cublasContext& h, modnn_op& op, const void* alpha, const void* beta) {
  modnn_blas& b = op.u.blas;
  bool device = h.pointer_mode == CUBLAS_POINTER_MODE_DEVICE;
  readScalar(device, alpha, b.type, b.alpha, &b.alpha_ptr);
  readScalar(device, beta, b.type, b.beta, &b.beta_ptr);
  return record(op, h.stream);
}

cublasStatus_t runSync(const modnn_op& op, cudaStream_t stream) {
  return toCublas(Client::get().runOpSync(op, rangesOf(op), streamOf(stream)));
}

}  // namespace moai::cublas
