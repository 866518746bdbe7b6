// GEMM on the CPU: f32, f64 and complex through OpenBLAS; f16 and bf16
// inputs through oneDNN where it has a fast kernel, else converted to f32
// for OpenBLAS. Epilogues run on the f32 (f64) result before it is stored.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <complex>
#include <cstring>
#include <memory>

#include "modnn/cpu/ops/convert.h"
#include "modnn/cpu/ops/gemm_dnnl.h"
#include "modnn/cpu/ops/gemm_epilogue.h"
#include "modnn/cpu/ops/op_kinds.h"
#include "modnn/cpu/ops/op_memory.h"

namespace modnn::cpu {
namespace {

bool fits(int64_t v) { return v >= 0 && v <= INT_MAX; }
bool isNative(modnn_dtype t) { return t == MODNN_F32 || t == MODNN_F64 || t == MODNN_C32 || t == MODNN_C64; }
bool isComplex(modnn_dtype t) { return t == MODNN_C32 || t == MODNN_C64; }
bool isHalf(modnn_dtype t) { return t == MODNN_F16 || t == MODNN_BF16; }
bool isFloatish(modnn_dtype t) { return t == MODNN_F32 || isHalf(t); }

bool supportsEpilogue(const modnn_gemm& g) {
  if (g.epilogue == MODNN_EPILOGUE_DEFAULT) return true;
  if (g.epilogue < MODNN_EPILOGUE_RELU || g.epilogue > MODNN_EPILOGUE_BGRADB || isComplex(g.d_type)) return false;
  // The epilogue runs in double for f64 GEMMs, in float for the others.
  auto ok = [&](modnn_dtype t) { return g.d_type == MODNN_F64 ? t == MODNN_F64 : isFloatish(t); };
  return (!modnn_epilogue_uses_bias(g.epilogue) || ok(g.bias_type)) &&
         (!modnn_epilogue_uses_aux(g.epilogue) || ok(g.aux_type));
}

CBLAS_TRANSPOSE blasTrans(bool trans, bool conj) { return !trans ? CblasNoTrans : conj ? CblasConjTrans : CblasTrans; }

// D = beta D (zero when beta is zero, whatever D held), for the entries
// without a product.
template <class T>
void scaleMatrix(void* d, int64_t ld, int64_t m, int64_t n, const double beta[2]) {
  T b;
  if constexpr (std::is_arithmetic_v<T>) {
    b = T(beta[0]);
  } else {
    b = T(beta[0], beta[1]);
  }
  for (int64_t j = 0; j < n; ++j) {
    T* col = static_cast<T*>(d) + j * ld;
    for (int64_t i = 0; i < m; ++i) col[i] = b == T(0) ? T(0) : col[i] * b;
  }
}

void scaleMatrix(modnn_dtype t, void* d, int64_t ld, int64_t m, int64_t n, const double beta[2]) {
  switch (t) {
    case MODNN_F32: return scaleMatrix<float>(d, ld, m, n, beta);
    case MODNN_F64: return scaleMatrix<double>(d, ld, m, n, beta);
    case MODNN_C32: return scaleMatrix<std::complex<float>>(d, ld, m, n, beta);
    default: return scaleMatrix<std::complex<double>>(d, ld, m, n, beta);
  }
}

void copyMatrix(const uint8_t* src, int64_t ld_src, uint8_t* dst, int64_t ld_dst, int64_t m, int64_t n,
                size_t elem) {
  for (int64_t j = 0; j < n; ++j)
    std::memmove(dst + size_t(j * ld_dst) * elem, src + size_t(j * ld_src) * elem, size_t(m) * elem);
}

class GemmRun {
 public:
  GemmRun(const OpDevice& dev, const modnn_gemm& g) : dev_(dev), g_(g) {
    loadScalar(dev, g.alpha, g.alpha_ptr, g.scale_type, alpha_);
    loadScalar(dev, g.beta, g.beta_ptr, g.scale_type, beta_);
    product_ = g.k > 0 && (alpha_[0] != 0 || alpha_[1] != 0);
    read_c_ = beta_[0] != 0 || beta_[1] != 0;
  }

  modnn_status run() {
    if (isHalf(g_.a_type) && wholeBatchDnnl()) return MODNN_OK;
    std::atomic<int> first_error{MODNN_OK};
    const int threads = entryThreads();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 8) if (threads > 1)
    for (int64_t i = 0; i < g_.batch; ++i) {
      GemmEntry e;
      if (modnn_status st = entry(i, &e); st != MODNN_OK) {
        int none = MODNN_OK;
        first_error.compare_exchange_strong(none, st);
      } else if (isHalf(g_.a_type)) {
        halfEntry(e);
      } else {
        nativeEntry(e);
      }
    }
    return modnn_status(first_error.load());
  }

 private:
  // OpenBLAS runs GEMMs this small on one thread; a batch of them runs its
  // entries on all the device's threads instead (half-precision entries
  // share scratch buffers and stay sequential).
  int entryThreads() const {
    constexpr int64_t kSmall = int64_t(1) << 18;  // m n k, OpenBLAS's own threshold
    if (isHalf(g_.a_type) || g_.batch < 2 || g_.m * g_.n * std::max<int64_t>(g_.k, 1) > kSmall) return 1;
    return int(std::min<int64_t>(dev_.threads, g_.batch));
  }

  size_t elem(modnn_dtype t) const { return modnn_dtype_size(t); }
  int64_t rowsA() const { return g_.trans_a ? g_.k : g_.m; }
  int64_t colsA() const { return g_.trans_a ? g_.m : g_.k; }
  int64_t rowsB() const { return g_.trans_b ? g_.n : g_.k; }
  int64_t colsB() const { return g_.trans_b ? g_.k : g_.n; }

  // Host address of entry i of a batched operand: strided, or read from a
  // pointer array (whose entries no one has checked yet).
  uint8_t* locate(uint64_t base, int64_t i, int64_t stride, modnn_dtype t, uint64_t bytes) const {
    if (!g_.pointer_arrays) return operand(dev_, base + uint64_t(i * stride * int64_t(elem(t))), bytes);
    const auto* array = reinterpret_cast<const uint64_t*>(operand(dev_, base, uint64_t(g_.batch) * 8));
    return unchecked(dev_, array[i], bytes);
  }

  modnn_status entry(int64_t i, GemmEntry* e) const {
    const modnn_gemm& g = g_;
    if (product_) {
      e->a = locate(g.a, i, g.stride_a, g.a_type, matrixBytes(rowsA(), colsA(), g.lda, elem(g.a_type)));
      e->b = locate(g.b, i, g.stride_b, g.b_type, matrixBytes(rowsB(), colsB(), g.ldb, elem(g.b_type)));
      if (!e->a || !e->b) return MODNN_ERR_ILLEGAL_ADDRESS;
    }
    if (read_c_ && !(e->c = locate(g.c, i, g.stride_c, g.c_type, matrixBytes(g.m, g.n, g.ldc, elem(g.c_type)))))
      return MODNN_ERR_ILLEGAL_ADDRESS;
    if (!(e->d = locate(g.d, i, g.stride_d, g.d_type, matrixBytes(g.m, g.n, g.ldd, elem(g.d_type)))))
      return MODNN_ERR_ILLEGAL_ADDRESS;
    // Bias and aux vectors are strided even in pointer-array batches.
    if (modnn_epilogue_uses_bias(g.epilogue)) {
      int64_t entries = g.epilogue == MODNN_EPILOGUE_BGRADB ? g.n : g.m;
      e->bias = operand(dev_, g.bias + uint64_t(i * g.stride_bias * int64_t(elem(g.bias_type))),
                        uint64_t(entries) * elem(g.bias_type));
    }
    if (modnn_epilogue_uses_aux(g.epilogue))
      e->aux = operand(dev_, g.aux + uint64_t(i * g.stride_aux * int64_t(elem(g.aux_type))),
                       matrixBytes(g.m, g.n, g.ld_aux, elem(g.aux_type)));
    return MODNN_OK;
  }

  void nativeEntry(const GemmEntry& e) const {
    const modnn_gemm& g = g_;
    size_t es = elem(g.d_type);
    if (read_c_ && (e.c != e.d || g.ldc != g.ldd)) copyMatrix(e.c, g.ldc, e.d, g.ldd, g.m, g.n, es);
    if (!product_) {
      scaleMatrix(g.d_type, e.d, g.ldd, g.m, g.n, read_c_ ? beta_ : kZero);
    } else {
      blasGemm(e.a, e.b, e.d, g.ldd, read_c_ ? beta_ : kZero);
    }
    if (g.d_type == MODNN_F32) applyEpilogue(g, e, reinterpret_cast<float*>(e.d), g.ldd);
    if (g.d_type == MODNN_F64) applyEpilogue(g, e, reinterpret_cast<double*>(e.d), g.ldd);
  }

  void blasGemm(const void* a, const void* b, void* d, int64_t ldd, const double beta[2]) const {
    const modnn_gemm& g = g_;
    CBLAS_TRANSPOSE ta = blasTrans(g.trans_a, g.conj_a), tb = blasTrans(g.trans_b, g.conj_b);
    int m = int(g.m), n = int(g.n), k = int(g.k), lda = int(g.lda), ldb = int(g.ldb), ld = int(ldd);
    switch (g.d_type) {
      case MODNN_F32:
        cblas_sgemm(CblasColMajor, ta, tb, m, n, k, float(alpha_[0]), static_cast<const float*>(a), lda,
                    static_cast<const float*>(b), ldb, float(beta[0]), static_cast<float*>(d), ld);
        break;
      case MODNN_F64:
        cblas_dgemm(CblasColMajor, ta, tb, m, n, k, alpha_[0], static_cast<const double*>(a), lda,
                    static_cast<const double*>(b), ldb, beta[0], static_cast<double*>(d), ld);
        break;
      case MODNN_C32: {
        std::complex<float> al{float(alpha_[0]), float(alpha_[1])}, be{float(beta[0]), float(beta[1])};
        cblas_cgemm(CblasColMajor, ta, tb, m, n, k, &al, a, lda, b, ldb, &be, d, ld);
        break;
      }
      default: {
        std::complex<double> al{alpha_[0], alpha_[1]}, be{beta[0], beta[1]};
        cblas_zgemm(CblasColMajor, ta, tb, m, n, k, &al, a, lda, b, ldb, &be, d, ld);
        break;
      }
    }
  }

  // f16/bf16 inputs: the result is built in f32, in D itself when D is f32.
  void halfEntry(const GemmEntry& e) {
    const modnn_gemm& g = g_;
    float* work = reinterpret_cast<float*>(e.d);
    int64_t ldw = g.ldd;
    if (g.d_type == MODNN_F32) {
      if (read_c_ && (e.c != e.d || g.ldc != g.ldd)) copyMatrix(e.c, g.ldc, e.d, g.ldd, g.m, g.n, 4);
    } else {
      work = scratch(work_, size_t(g.m * g.n));
      ldw = g.m;
      if (read_c_) matrixToFloat(e.c, g.c_type, g.m, g.n, g.ldc, work, ldw);
    }
    if (!product_) {
      scaleMatrix(MODNN_F32, work, ldw, g.m, g.n, read_c_ ? beta_ : kZero);
    } else {
      halfProduct(e, work, ldw);
    }
    applyEpilogue(g, e, work, ldw);
    if (g.d_type != MODNN_F32) matrixFromFloat(work, ldw, g.d_type, g.m, g.n, e.d, g.ldd);
  }

  // work = alpha op(A) op(B) + beta work.
  void halfProduct(const GemmEntry& e, float* work, int64_t ldw) {
    const modnn_gemm& g = g_;
    HostGemm h = hostGemm(e.a, e.b, work, ldw, MODNN_F32);
    if (dnnlGemm(h, dev_.threads)) return;
    float* a = scratch(a32_, size_t(rowsA() * colsA()));
    float* b = scratch(b32_, size_t(rowsB() * colsB()));
    matrixToFloat(e.a, g.a_type, rowsA(), colsA(), g.lda, a, rowsA());
    matrixToFloat(e.b, g.b_type, rowsB(), colsB(), g.ldb, b, rowsB());
    cblas_sgemm(CblasColMajor, blasTrans(g.trans_a, false), blasTrans(g.trans_b, false), int(g.m), int(g.n),
                int(g.k), h.alpha, a, int(rowsA()), b, int(rowsB()), h.beta, work, int(ldw));
  }

  HostGemm hostGemm(const void* a, const void* b, void* out, int64_t ldo, modnn_dtype out_type) const {
    HostGemm h;
    h.trans_a = g_.trans_a;
    h.trans_b = g_.trans_b;
    h.m = g_.m;
    h.n = g_.n;
    h.k = g_.k;
    h.a = a;
    h.lda = g_.lda;
    h.b = b;
    h.ldb = g_.ldb;
    h.out = out;
    h.ldo = ldo;
    h.in_type = g_.a_type;
    h.out_type = out_type;
    h.alpha = float(alpha_[0]);
    h.beta = read_c_ ? float(beta_[0]) : 0.0f;
    return h;
  }

  // A strided half-precision batch with no epilogue, whose output is D
  // itself, in one oneDNN call.
  bool wholeBatchDnnl() {
    const modnn_gemm& g = g_;
    bool in_place = !read_c_ || (g.c == g.d && g.ldc == g.ldd && g.stride_c == g.stride_d);
    if (g.pointer_arrays || g.epilogue != MODNN_EPILOGUE_DEFAULT || !product_ || !in_place || g.stride_a < 0 ||
        g.stride_b < 0 || g.stride_d < 0)
      return false;
    GemmEntry first;
    if (entry(0, &first) != MODNN_OK) return false;
    HostGemm h = hostGemm(first.a, first.b, first.d, g.ldd, g.d_type);
    h.batch = g.batch;
    h.stride_a = g.stride_a;
    h.stride_b = g.stride_b;
    h.stride_out = g.stride_d;
    // The whole span of each operand must be host memory, as entry 0 is.
    GemmEntry last;
    if (entry(g.batch - 1, &last) != MODNN_OK) return false;
    if (last.a - first.a != g.stride_a * (g.batch - 1) * int64_t(elem(g.a_type)) ||
        last.b - first.b != g.stride_b * (g.batch - 1) * int64_t(elem(g.b_type)) ||
        last.d - first.d != g.stride_d * (g.batch - 1) * int64_t(elem(g.d_type)))
      return false;
    return dnnlGemm(h, dev_.threads);
  }

  static float* scratch(std::unique_ptr<float[]>& buf, size_t n) {
    if (!buf) buf.reset(new float[n]);
    return buf.get();
  }

  static constexpr double kZero[2] = {0, 0};

  const OpDevice& dev_;
  const modnn_gemm& g_;
  double alpha_[2], beta_[2];
  bool product_, read_c_;
  std::unique_ptr<float[]> work_, a32_, b32_;  // per op, sized for one entry
};

}  // namespace

bool supportsGemm(const modnn_gemm& g) {
  if (!fits(g.m) || !fits(g.n) || !fits(g.k) || g.batch < 1 || !fits(g.lda) || !fits(g.ldb) || !fits(g.ldc) ||
      !fits(g.ldd))
    return false;
  bool same_ab = g.a_type == g.b_type, same_cd = g.c_type == g.d_type;
  if (!same_ab || !same_cd) return false;
  modnn_dtype real = g.a_type == MODNN_C32 ? MODNN_F32 : g.a_type == MODNN_C64 ? MODNN_F64 : g.a_type;
  bool native = isNative(g.a_type) && g.c_type == g.a_type && g.scale_type == g.a_type && g.compute_type == real;
  bool half16 = g.compute_type == MODNN_F16 && g.a_type == MODNN_F16 && g.c_type == MODNN_F16 &&
                (g.scale_type == MODNN_F16 || g.scale_type == MODNN_F32);
  bool half32 = g.compute_type == MODNN_F32 && isHalf(g.a_type) && (g.c_type == g.a_type || g.c_type == MODNN_F32) &&
                g.scale_type == MODNN_F32;
  if (!native && !half16 && !half32) return false;
  // Conjugation is a complex transpose (op = X^H), never alone.
  if ((g.conj_a && (!g.trans_a || !isComplex(g.a_type))) || (g.conj_b && (!g.trans_b || !isComplex(g.b_type))))
    return false;
  return supportsEpilogue(g);
}

modnn_status runGemm(const OpDevice& dev, const modnn_gemm& g) {
  if (g.m == 0 || g.n == 0) return MODNN_OK;
  return GemmRun(dev, g).run();
}

}  // namespace modnn::cpu
