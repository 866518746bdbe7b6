// cuBLAS GEMMs against a double-precision CPU reference: cublas<t>gemm for
// S, D, H, C and Z (plain, pointer-array batched, strided batched), and
// cublasGemmEx / GemmBatchedEx / GemmStridedBatchedEx over f32, f16, bf16,
// f64 and complex types with every compute type cuBLAS documents for them.
// Every transpose combination, padded leading dimensions, beta = 0 over
// NaN (C must not be read), k = 0, and device pointer mode.
#include <cstdint>

#include "blas_check.h"

namespace {

struct Shape {
  int m, n, k;
};
const Shape kShapes[] = {{7, 5, 3}, {33, 17, 64}, {1, 9, 1}, {16, 4, 0}};

template <class T>
std::vector<cublasOperation_t> ops() {
  if constexpr (isComplex<T>()) return {CUBLAS_OP_N, CUBLAS_OP_T, CUBLAS_OP_C};
  return {CUBLAS_OP_N, CUBLAS_OP_T};
}

// One GEMM problem of `batch` entries in host memory, with its reference.
template <class TA, class TC>
struct Problem {
  cublasOperation_t ta, tb;
  int m, n, k, lda, ldb, ldc, batch;
  int64_t sa, sb, sc;  // elements between entries
  cdouble alpha, beta;
  std::vector<TA> a, b;
  std::vector<TC> c;

  Problem(cublasOperation_t ta_, cublasOperation_t tb_, Shape s, int batch_, cdouble alpha_, cdouble beta_,
          unsigned seed)
      : ta(ta_), tb(tb_), m(s.m), n(s.n), k(s.k), batch(batch_), alpha(alpha_), beta(beta_) {
    int ra = ta == CUBLAS_OP_N ? m : k, ca = ta == CUBLAS_OP_N ? k : m;
    int rb = tb == CUBLAS_OP_N ? k : n, cb = tb == CUBLAS_OP_N ? n : k;
    lda = ra + 3;
    ldb = rb + 2;
    ldc = m + 1;
    sa = int64_t(lda) * ca + 5;
    sb = int64_t(ldb) * cb + 1;
    sc = int64_t(ldc) * n + 7;
    a = pattern<TA>(size_t(sa * batch), seed);
    b = pattern<TA>(size_t(sb * batch), seed + 1);
    c = pattern<TC>(size_t(sc * batch), seed + 2);
    if (beta == cdouble(0))
      for (auto& e : c) e = fromDouble<TC>(cdouble(NAN, NAN));
  }

  // Checks entry i of the result `got` (laid out like c).
  void check(const std::vector<TC>& got, double tol, const char* what) const {
    for (int i = 0; i < batch; ++i) {
      std::vector<double> mag;
      auto want = refGemm(ta, tb, m, n, k, alpha, &a[size_t(sa * i)], lda, &b[size_t(sb * i)], ldb, beta,
                          &c[size_t(sc * i)], ldc, &mag);
      std::vector<TC> entry(got.begin() + sc * i, got.begin() + sc * i + int64_t(ldc) * n);
      std::vector<TC> before(c.begin() + sc * i, c.begin() + sc * i + int64_t(ldc) * n);
      char label[160];
      std::snprintf(label, sizeof label, "%s %s%s m=%d n=%d k=%d entry %d", what, opName(ta), opName(tb), m, n, k, i);
      expectNear(entry, ldc, want, mag, m, n, tol * std::sqrt(double(k) + 1), label);
      expectPaddingKept(entry, before, ldc, m, n, label);
    }
  }
};

// Device arrays of `batch` pointers, `stride` elements apart from base.
template <class T>
DeviceBuffer<T*> pointerArray(T* base, int batch, int64_t stride) {
  std::vector<T*> ptrs(static_cast<size_t>(batch));
  for (int i = 0; i < batch; ++i) ptrs[size_t(i)] = base + stride * i;
  return DeviceBuffer<T*>(ptrs);
}

template <class T>
struct Classic {
  using Gemm = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const T*,
                                  const T*, int, const T*, int, const T*, T*, int);
  using Batched = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                     const T*, const T* const[], int, const T* const[], int, const T*, T* const[],
                                     int, int);
  using Strided = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                     const T*, const T*, int, long long, const T*, int, long long, const T*, T*,
                                     int, long long, int);
  const char* name;
  Gemm gemm;
  Batched batched;
  Strided strided;
};

template <class T>
void testClassic(cublasHandle_t h, const Classic<T>& fns) {
  unsigned seed = 1;
  cdouble alpha = isComplex<T>() ? cdouble(0.5, -0.25) : cdouble(0.5);
  for (const Shape& s : kShapes) {
    for (cublasOperation_t ta : ops<T>()) {
      for (cublasOperation_t tb : ops<T>()) {
        for (cdouble beta : {cdouble(-0.75), cdouble(0)}) {
          Problem<T, T> p(ta, tb, s, 3, alpha, beta, seed++);
          T al = fromDouble<T>(p.alpha), be = fromDouble<T>(p.beta);
          DeviceBuffer<T> a(p.a), b(p.b), c(p.c);
          // Plain: entry 0 only, then both batched forms over all entries.
          CUBLAS_CHECK(fns.gemm(h, ta, tb, p.m, p.n, p.k, &al, a.p, p.lda, b.p, p.ldb, &be, c.p, p.ldc));
          Problem<T, T> first = p;
          first.batch = 1;
          first.check(c.download(), tolerance<T>(), fns.name);
          c.upload(p.c);
          CUBLAS_CHECK(fns.strided(h, ta, tb, p.m, p.n, p.k, &al, a.p, p.lda, p.sa, b.p, p.ldb, p.sb, &be, c.p,
                                   p.ldc, p.sc, p.batch));
          p.check(c.download(), tolerance<T>(), "strided batched");
          c.upload(p.c);
          auto pa = pointerArray(a.p, p.batch, p.sa), pb = pointerArray(b.p, p.batch, p.sb);
          auto pc = pointerArray(c.p, p.batch, p.sc);
          CUBLAS_CHECK(fns.batched(h, ta, tb, p.m, p.n, p.k, &al, pa.p, p.lda, pb.p, p.ldb, &be, pc.p, p.ldc,
                                   p.batch));
          p.check(c.download(), tolerance<T>(), "batched");
        }
      }
    }
  }
  std::printf("%s: ok\n", fns.name);
}

// cudaDataType of a test element type.
template <class T>
cudaDataType typeOf() {
  if constexpr (std::is_same_v<T, float>) return CUDA_R_32F;
  if constexpr (std::is_same_v<T, double>) return CUDA_R_64F;
  if constexpr (std::is_same_v<T, __half>) return CUDA_R_16F;
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return CUDA_R_16BF;
  if constexpr (std::is_same_v<T, cuComplex>) return CUDA_C_32F;
  return CUDA_C_64F;
}

// cublasGemmEx family with inputs TA, output TC, scalars TS.
template <class TA, class TC, class TS>
void testEx(cublasHandle_t h, cublasComputeType_t compute, const char* what) {
  unsigned seed = 100;
  // Low-precision outputs are compared at their own rounding.
  double tol = std::max(tolerance<TA>(), tolerance<TC>());
  if (compute == CUBLAS_COMPUTE_32F_FAST_16F) tol = tolerance<__half>();
  if (compute == CUBLAS_COMPUTE_32F_FAST_16BF) tol = tolerance<__nv_bfloat16>();
  for (const Shape& s : {kShapes[0], kShapes[1]}) {
    for (cublasOperation_t ta : ops<TA>()) {
      for (cublasOperation_t tb : ops<TA>()) {
        Problem<TA, TC> p(ta, tb, s, 2, cdouble(1.5), cdouble(0.5), seed++);
        TS al = fromDouble<TS>(p.alpha), be = fromDouble<TS>(p.beta);
        DeviceBuffer<TA> a(p.a), b(p.b);
        DeviceBuffer<TC> c(p.c);
        cudaDataType at = typeOf<TA>(), ct = typeOf<TC>();
        CUBLAS_CHECK(cublasGemmEx(h, ta, tb, p.m, p.n, p.k, &al, a.p, at, p.lda, b.p, at, p.ldb, &be, c.p, ct, p.ldc,
                                  compute, CUBLAS_GEMM_DEFAULT));
        Problem<TA, TC> first = p;
        first.batch = 1;
        first.check(c.download(), tol, what);
        c.upload(p.c);
        CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, ta, tb, p.m, p.n, p.k, &al, a.p, at, p.lda, p.sa, b.p, at, p.ldb,
                                                p.sb, &be, c.p, ct, p.ldc, p.sc, p.batch, compute,
                                                CUBLAS_GEMM_DEFAULT));
        p.check(c.download(), tol, what);
        c.upload(p.c);
        auto pa = pointerArray(a.p, p.batch, p.sa), pb = pointerArray(b.p, p.batch, p.sb);
        auto pc = pointerArray(c.p, p.batch, p.sc);
        CUBLAS_CHECK(cublasGemmBatchedEx(h, ta, tb, p.m, p.n, p.k, &al, (const void* const*)pa.p, at, p.lda,
                                         (const void* const*)pb.p, at, p.ldb, &be, (void* const*)pc.p, ct, p.ldc,
                                         p.batch, compute, CUBLAS_GEMM_DEFAULT));
        p.check(c.download(), tol, what);
      }
    }
  }
  std::printf("%s: ok\n", what);
}

void testDevicePointerMode(cublasHandle_t h) {
  Problem<float, float> p(CUBLAS_OP_T, CUBLAS_OP_N, kShapes[1], 1, cdouble(2), cdouble(-1), 7);
  DeviceBuffer<float> a(p.a), b(p.b), c(p.c), scalars(std::vector<float>{2.0f, -1.0f});
  CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE));
  CUBLAS_CHECK(cublasSgemm(h, p.ta, p.tb, p.m, p.n, p.k, scalars.p, a.p, p.lda, b.p, p.ldb, scalars.p + 1, c.p,
                           p.ldc));
  CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
  p.check(c.download(), tolerance<float>(), "device pointer mode");
  std::printf("device pointer mode: ok\n");
}

// The 64-bit-index API takes the same path with int64_t arguments.
void test64BitApi(cublasHandle_t h) {
  Problem<float, float> p(CUBLAS_OP_N, CUBLAS_OP_T, kShapes[1], 2, cdouble(0.5), cdouble(0.25), 9);
  float al = 0.5f, be = 0.25f;
  DeviceBuffer<float> a(p.a), b(p.b), c(p.c);
  CUBLAS_CHECK(cublasSgemm_64(h, p.ta, p.tb, p.m, p.n, p.k, &al, a.p, p.lda, b.p, p.ldb, &be, c.p, p.ldc));
  Problem<float, float> first = p;
  first.batch = 1;
  first.check(c.download(), tolerance<float>(), "sgemm_64");
  c.upload(p.c);
  CUBLAS_CHECK(cublasGemmStridedBatchedEx_64(h, p.ta, p.tb, p.m, p.n, p.k, &al, a.p, CUDA_R_32F, p.lda, p.sa, b.p,
                                             CUDA_R_32F, p.ldb, p.sb, &be, c.p, CUDA_R_32F, p.ldc, p.sc, p.batch,
                                             CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  p.check(c.download(), tolerance<float>(), "GemmStridedBatchedEx_64");
  std::printf("64-bit API: ok\n");
}

void testRejected(cublasHandle_t h) {
  DeviceBuffer<float> a(64), b(64), c(64);
  float one = 1;
  auto sgemm = [&](cublasHandle_t hh, cublasOperation_t ta, int m, int n, int k, int lda, int ldb, int ldc) {
    return cublasSgemm(hh, ta, CUBLAS_OP_N, m, n, k, &one, a.p, lda, b.p, ldb, &one, c.p, ldc);
  };
  EXPECT_STATUS(sgemm(nullptr, CUBLAS_OP_N, 4, 4, 4, 4, 4, 4), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_STATUS(sgemm(h, CUBLAS_OP_N, -1, 4, 4, 4, 4, 4), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(sgemm(h, CUBLAS_OP_N, 4, -1, 4, 4, 4, 4), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(sgemm(h, CUBLAS_OP_N, 4, 4, -1, 4, 4, 4), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(sgemm(h, CUBLAS_OP_N, 4, 4, 4, 3, 4, 4), CUBLAS_STATUS_INVALID_VALUE);   // lda < m
  EXPECT_STATUS(sgemm(h, CUBLAS_OP_T, 4, 4, 6, 4, 6, 4), CUBLAS_STATUS_INVALID_VALUE);   // lda < k
  EXPECT_STATUS(sgemm(h, CUBLAS_OP_N, 4, 4, 4, 4, 3, 4), CUBLAS_STATUS_INVALID_VALUE);   // ldb < k
  EXPECT_STATUS(sgemm(h, CUBLAS_OP_N, 4, 4, 4, 4, 4, 3), CUBLAS_STATUS_INVALID_VALUE);   // ldc < m
  EXPECT_STATUS(sgemm(h, cublasOperation_t(7), 4, 4, 4, 4, 4, 4), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.p, 2, 4, b.p, 2, 4, &one,
                                          c.p, 2, 4, -1),
                CUBLAS_STATUS_INVALID_VALUE);
  // Type combinations cublasGemmEx does not document.
  EXPECT_STATUS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.p, CUDA_R_16F, 2, b.p, CUDA_R_16F, 2, &one,
                             c.p, CUDA_R_64F, 2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_STATUS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.p, CUDA_R_32F, 2, b.p, CUDA_R_16F, 2, &one,
                             c.p, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_STATUS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.p, CUDA_R_32F, 2, b.p, CUDA_R_32F, 2, &one,
                             c.p, CUDA_R_32F, 2, CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT),
                CUBLAS_STATUS_NOT_SUPPORTED);
  // Zero sizes succeed without touching anything.
  CUBLAS_CHECK(sgemm(h, CUBLAS_OP_N, 0, 4, 4, 1, 4, 1));
  CUBLAS_CHECK(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.p, 2, 4, b.p, 2, 4, &one,
                                         c.p, 2, 4, 0));
  // The handle still works after the rejections.
  CUBLAS_CHECK(sgemm(h, CUBLAS_OP_N, 4, 4, 4, 4, 4, 4));
  CHECK(cudaDeviceSynchronize());
  std::printf("rejected arguments: ok\n");
}

}  // namespace

int main() {
  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  CUBLAS_CHECK(cublasSetStream(h, stream));
  testClassic<float>(h, {"sgemm", cublasSgemm, cublasSgemmBatched, cublasSgemmStridedBatched});
  testClassic<double>(h, {"dgemm", cublasDgemm, cublasDgemmBatched, cublasDgemmStridedBatched});
  testClassic<__half>(h, {"hgemm", cublasHgemm, cublasHgemmBatched, cublasHgemmStridedBatched});
  testClassic<cuComplex>(h, {"cgemm", cublasCgemm, cublasCgemmBatched, cublasCgemmStridedBatched});
  testClassic<cuDoubleComplex>(h, {"zgemm", cublasZgemm, cublasZgemmBatched, cublasZgemmStridedBatched});
  testEx<float, float, float>(h, CUBLAS_COMPUTE_32F, "GemmEx f32");
  testEx<float, float, float>(h, CUBLAS_COMPUTE_32F_FAST_TF32, "GemmEx f32 fast tf32");
  testEx<float, float, float>(h, CUBLAS_COMPUTE_32F_FAST_16F, "GemmEx f32 fast f16");
  testEx<float, float, float>(h, CUBLAS_COMPUTE_32F_FAST_16BF, "GemmEx f32 fast bf16");
  testEx<float, float, float>(h, CUBLAS_COMPUTE_32F_PEDANTIC, "GemmEx f32 pedantic");
  testEx<__half, __half, float>(h, CUBLAS_COMPUTE_32F, "GemmEx f16 -> f16, 32F");
  testEx<__half, float, float>(h, CUBLAS_COMPUTE_32F, "GemmEx f16 -> f32, 32F");
  testEx<__half, __half, __half>(h, CUBLAS_COMPUTE_16F, "GemmEx f16, 16F");
  testEx<__nv_bfloat16, __nv_bfloat16, float>(h, CUBLAS_COMPUTE_32F, "GemmEx bf16 -> bf16, 32F");
  testEx<__nv_bfloat16, float, float>(h, CUBLAS_COMPUTE_32F, "GemmEx bf16 -> f32, 32F");
  testEx<double, double, double>(h, CUBLAS_COMPUTE_64F, "GemmEx f64, 64F");
  testEx<cuComplex, cuComplex, cuComplex>(h, CUBLAS_COMPUTE_32F, "GemmEx c32, 32F");
  testDevicePointerMode(h);
  test64BitApi(h);
  testRejected(h);
  CUBLAS_CHECK(cublasDestroy(h));
  CHECK(cudaStreamDestroy(stream));
  return 0;
}
