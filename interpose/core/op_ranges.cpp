#include "interpose/core/op_ranges.h"

#include <algorithm>

namespace moai {
namespace {

bool isZero(const double v[2], uint64_t ptr) { return ptr == 0 && v[0] == 0 && v[1] == 0; }

// Collects the device ranges of one op.
class Ranges {
 public:
  // A rows x cols matrix at `p`, `batch` times, `stride` elements apart.
  void matrix(uint64_t p, int64_t rows, int64_t cols, int64_t ld, modnn_dtype t, int64_t batch = 1,
              int64_t stride = 0) {
    size_t elem = modnn_dtype_size(t);
    uint64_t bytes = modnn_matrix_bytes(rows, cols, ld, elem);
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

}  // namespace

std::vector<DeviceRange> opRanges(const modnn_op& op) {
  Ranges r;
  if (op.kind == MODNN_OP_GEMM) gemmRanges(op.u.gemm, r);
  if (op.kind == MODNN_OP_BLAS) blasRanges(op.u.blas, r);
  return r.list();
}

}  // namespace moai
