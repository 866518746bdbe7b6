// cuBLAS level 1 (axpy, scal, copy, swap, dot, nrm2, asum, iamax, iamin),
// level 2 (gemv, ger) and the level-3 routines other than GEMM (geam, dgmm,
// trsm, syrk) for S and D, against double-precision CPU references, in host
// and device pointer mode, with strided vectors and padded leading
// dimensions; then the arguments cuBLAS rejects.
#include <algorithm>
#include <cstdint>

#include "blas_check.h"

namespace {

template <class T>
struct Blas {
  const char* name;
  cublasStatus_t (*axpy)(cublasHandle_t, int, const T*, const T*, int, T*, int);
  cublasStatus_t (*scal)(cublasHandle_t, int, const T*, T*, int);
  cublasStatus_t (*copy)(cublasHandle_t, int, const T*, int, T*, int);
  cublasStatus_t (*swap)(cublasHandle_t, int, T*, int, T*, int);
  cublasStatus_t (*dot)(cublasHandle_t, int, const T*, int, const T*, int, T*);
  cublasStatus_t (*nrm2)(cublasHandle_t, int, const T*, int, T*);
  cublasStatus_t (*asum)(cublasHandle_t, int, const T*, int, T*);
  cublasStatus_t (*iamax)(cublasHandle_t, int, const T*, int, int*);
  cublasStatus_t (*iamin)(cublasHandle_t, int, const T*, int, int*);
  cublasStatus_t (*gemv)(cublasHandle_t, cublasOperation_t, int, int, const T*, const T*, int, const T*, int,
                         const T*, T*, int);
  cublasStatus_t (*ger)(cublasHandle_t, int, int, const T*, const T*, int, const T*, int, T*, int);
  cublasStatus_t (*geam)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, const T*, const T*, int,
                         const T*, const T*, int, T*, int);
  cublasStatus_t (*dgmm)(cublasHandle_t, cublasSideMode_t, int, int, const T*, int, const T*, int, T*, int);
  cublasStatus_t (*trsm)(cublasHandle_t, cublasSideMode_t, cublasFillMode_t, cublasOperation_t, cublasDiagType_t,
                         int, int, const T*, const T*, int, T*, int);
  cublasStatus_t (*syrk)(cublasHandle_t, cublasFillMode_t, cublasOperation_t, int, int, const T*, const T*, int,
                         const T*, T*, int);
};

const Blas<float> kS = {"S", cublasSaxpy, cublasSscal, cublasScopy, cublasSswap, cublasSdot, cublasSnrm2,
                        cublasSasum, cublasIsamax, cublasIsamin, cublasSgemv, cublasSger, cublasSgeam,
                        cublasSdgmm, cublasStrsm, cublasSsyrk};
const Blas<double> kD = {"D", cublasDaxpy, cublasDscal, cublasDcopy, cublasDswap, cublasDdot, cublasDnrm2,
                         cublasDasum, cublasIdamax, cublasIdamin, cublasDgemv, cublasDger, cublasDgeam,
                         cublasDdgmm, cublasDtrsm, cublasDsyrk};

template <class T>
void expectClose(double got, double want, double magnitude, const char* what) {
  double bound = tolerance<T>() * 8 * (magnitude + std::abs(want)) + 1e-30;
  if (!(std::abs(got - want) <= bound)) {
    std::fprintf(stderr, "%s: %.9g, expected %.9g +- %g\n", what, got, want, bound);
    std::exit(1);
  }
}

// Every element of `got` matches `want` (which holds the untouched
// elements too), within a tolerance relative to `scale`.
template <class T>
void expectVector(const std::vector<T>& got, const std::vector<double>& want, double scale, const char* what) {
  for (size_t i = 0; i < want.size(); ++i) {
    char label[96];
    std::snprintf(label, sizeof label, "%s element %zu", what, i);
    expectClose<T>(toDouble(got[i]), want[i], scale, label);
  }
}

template <class T>
std::vector<double> asDouble(const std::vector<T>& v) {
  std::vector<double> out;
  for (const T& e : v) out.push_back(toDouble(e));
  return out;
}

// A scalar argument in the handle's pointer mode: host value or device copy.
template <class T>
struct Scalar {
  T host;
  DeviceBuffer<T> device;
  bool on_device;
  Scalar(double v, bool dev) : host(T(v)), device(std::vector<T>{T(v)}), on_device(dev) {}
  const T* get() const { return on_device ? device.p : &host; }
};

// A reduction's result, read the way its pointer mode delivers it.
template <class R>
struct Result {
  R host{};
  DeviceBuffer<R> device{1};
  bool on_device;
  explicit Result(bool dev) : on_device(dev) {}
  R* get() { return on_device ? device.p : &host; }
  R value() {
    if (on_device) return device.download()[0];
    return host;
  }
};

template <class T>
void testLevel1(cublasHandle_t h, const Blas<T>& f, bool device_mode) {
  const int n = 37, incx = 2, incy = 3;
  auto xs = pattern<T>(size_t(n * incx), 11), ys = pattern<T>(size_t(n * incy), 12);
  xs[size_t(17 * incx)] = T(3);  // a unique largest |x|
  xs[size_t(23 * incx)] = T(-3);
  xs[size_t(5 * incx)] = T(0);   // the first smallest
  xs[size_t(9 * incx)] = T(0);
  DeviceBuffer<T> x(xs), y(ys);
  CUBLAS_CHECK(cublasSetPointerMode(h, device_mode ? CUBLAS_POINTER_MODE_DEVICE : CUBLAS_POINTER_MODE_HOST));
  Scalar<T> alpha(-1.25, device_mode);

  double dot = 0, dmag = 0, sq = 0, asum = 0;
  for (int i = 0; i < n; ++i) {
    double xi = xs[size_t(i * incx)], yi = ys[size_t(i * incy)];
    dot += xi * yi;
    dmag += std::abs(xi * yi);
    sq += xi * xi;
    asum += std::abs(xi);
  }
  Result<T> r(device_mode);
  CUBLAS_CHECK(f.dot(h, n, x.p, incx, y.p, incy, r.get()));
  expectClose<T>(r.value(), dot, dmag, "dot");
  CUBLAS_CHECK(f.nrm2(h, n, x.p, incx, r.get()));
  expectClose<T>(r.value(), std::sqrt(sq), std::sqrt(sq), "nrm2");
  CUBLAS_CHECK(f.asum(h, n, x.p, incx, r.get()));
  expectClose<T>(r.value(), asum, asum, "asum");
  Result<int> idx(device_mode);
  CUBLAS_CHECK(f.iamax(h, n, x.p, incx, idx.get()));
  EXPECT_EQ(idx.value(), 18);  // 1-based, the first of the two |3|
  CUBLAS_CHECK(f.iamin(h, n, x.p, incx, idx.get()));
  EXPECT_EQ(idx.value(), 6);
  // Reductions of nothing are zero.
  CUBLAS_CHECK(f.dot(h, 0, x.p, incx, y.p, incy, r.get()));
  EXPECT_EQ(r.value(), 0);
  CUBLAS_CHECK(f.iamax(h, 0, x.p, incx, idx.get()));
  EXPECT_EQ(idx.value(), 0);

  std::vector<double> want = asDouble(ys);
  for (int i = 0; i < n; ++i) want[size_t(i * incy)] += -1.25 * double(xs[size_t(i * incx)]);
  CUBLAS_CHECK(f.axpy(h, n, alpha.get(), x.p, incx, y.p, incy));
  expectVector(y.download(), want, 4, "axpy");

  want = asDouble(xs);
  for (int i = 0; i < n; ++i) want[size_t(i * incx)] *= -1.25;
  CUBLAS_CHECK(f.scal(h, n, alpha.get(), x.p, incx));
  expectVector(x.download(), want, 4, "scal");

  x.upload(xs);
  y.upload(ys);
  want = asDouble(ys);
  for (int i = 0; i < n; ++i) want[size_t(i * incy)] = xs[size_t(i * incx)];
  CUBLAS_CHECK(f.copy(h, n, x.p, incx, y.p, incy));
  expectVector(y.download(), want, 0, "copy");

  y.upload(ys);
  std::vector<double> want_x = asDouble(xs), want_y = asDouble(ys);
  for (int i = 0; i < n; ++i) std::swap(want_x[size_t(i * incx)], want_y[size_t(i * incy)]);
  CUBLAS_CHECK(f.swap(h, n, x.p, incx, y.p, incy));
  expectVector(x.download(), want_x, 0, "swap x");
  expectVector(y.download(), want_y, 0, "swap y");
  CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
}

template <class T>
void testLevel2(cublasHandle_t h, const Blas<T>& f, bool device_mode) {
  const int m = 9, n = 6, lda = 11, incx = 2, incy = 3;
  CUBLAS_CHECK(cublasSetPointerMode(h, device_mode ? CUBLAS_POINTER_MODE_DEVICE : CUBLAS_POINTER_MODE_HOST));
  Scalar<T> alpha(0.75, device_mode), beta(-0.5, device_mode);
  auto as = pattern<T>(size_t(lda * n), 21);
  for (cublasOperation_t op : {CUBLAS_OP_N, CUBLAS_OP_T}) {
    int lx = op == CUBLAS_OP_N ? n : m, ly = op == CUBLAS_OP_N ? m : n;
    auto xs = pattern<T>(size_t(lx * incx), 22), ys = pattern<T>(size_t(ly * incy), 23);
    DeviceBuffer<T> a(as), x(xs), y(ys);
    std::vector<double> want = asDouble(ys);
    for (int i = 0; i < ly; ++i) {
      double s = 0;
      for (int j = 0; j < lx; ++j) s += opAt(as.data(), lda, op, i, j).real() * double(xs[size_t(j * incx)]);
      want[size_t(i * incy)] = 0.75 * s - 0.5 * double(ys[size_t(i * incy)]);
    }
    CUBLAS_CHECK(f.gemv(h, op, m, n, alpha.get(), a.p, lda, x.p, incx, beta.get(), y.p, incy));
    expectVector(y.download(), want, 8, op == CUBLAS_OP_N ? "gemv N" : "gemv T");
  }
  auto xs = pattern<T>(size_t(m * incx), 24), ys = pattern<T>(size_t(n * incy), 25);
  DeviceBuffer<T> a(as), x(xs), y(ys);
  std::vector<double> want = asDouble(as);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i)
      want[size_t(i + j * lda)] += 0.75 * double(xs[size_t(i * incx)]) * double(ys[size_t(j * incy)]);
  CUBLAS_CHECK(f.ger(h, m, n, alpha.get(), x.p, incx, y.p, incy, a.p, lda));
  expectVector(a.download(), want, 2, "ger");
  CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
}

template <class T>
void testGeamDgmm(cublasHandle_t h, const Blas<T>& f) {
  const int m = 7, n = 5, ldc = 9;
  T alpha = T(1.5), beta = T(-0.25);
  for (cublasOperation_t ta : {CUBLAS_OP_N, CUBLAS_OP_T}) {
    for (cublasOperation_t tb : {CUBLAS_OP_N, CUBLAS_OP_T}) {
      int lda = (ta == CUBLAS_OP_N ? m : n) + 2, ldb = (tb == CUBLAS_OP_N ? m : n) + 1;
      auto as = pattern<T>(size_t(lda * (ta == CUBLAS_OP_N ? n : m)), 31);
      auto bs = pattern<T>(size_t(ldb * (tb == CUBLAS_OP_N ? n : m)), 32);
      auto cs = pattern<T>(size_t(ldc * n), 33);
      DeviceBuffer<T> a(as), b(bs), c(cs);
      std::vector<double> want = asDouble(cs);
      for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i)
          want[size_t(i + j * ldc)] =
              1.5 * opAt(as.data(), lda, ta, i, j).real() - 0.25 * opAt(bs.data(), ldb, tb, i, j).real();
      CUBLAS_CHECK(f.geam(h, ta, tb, m, n, &alpha, a.p, lda, &beta, b.p, ldb, c.p, ldc));
      expectVector(c.download(), want, 2, "geam");
    }
  }
  // In place: C = A with the same leading dimension.
  auto as = pattern<T>(size_t(ldc * n), 34), bs = pattern<T>(size_t(ldc * n), 35);
  DeviceBuffer<T> a(as), b(bs);
  std::vector<double> want = asDouble(as);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i)
      want[size_t(i + j * ldc)] = 1.5 * double(as[size_t(i + j * ldc)]) - 0.25 * double(bs[size_t(i + j * ldc)]);
  CUBLAS_CHECK(f.geam(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, &alpha, a.p, ldc, &beta, b.p, ldc, a.p, ldc));
  expectVector(a.download(), want, 2, "geam in place");

  for (cublasSideMode_t side : {CUBLAS_SIDE_LEFT, CUBLAS_SIDE_RIGHT}) {
    for (int incx : {1, 2}) {
      int len = side == CUBLAS_SIDE_LEFT ? m : n;
      auto xs = pattern<T>(size_t(len * incx), 36), cs = pattern<T>(size_t(ldc * n), 37);
      DeviceBuffer<T> a2(as), x(xs), c(cs);
      std::vector<double> want2 = asDouble(cs);
      for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i)
          want2[size_t(i + j * ldc)] =
              double(as[size_t(i + j * ldc)]) * double(xs[size_t((side == CUBLAS_SIDE_LEFT ? i : j) * incx)]);
      CUBLAS_CHECK(f.dgmm(h, side, m, n, a2.p, ldc, x.p, incx, c.p, ldc));
      expectVector(c.download(), want2, 1, "dgmm");
    }
  }
}

template <class T>
void testTrsmSyrk(cublasHandle_t h, const Blas<T>& f) {
  const int m = 8, n = 5, ldb = 10;
  T alpha = T(2);
  for (cublasSideMode_t side : {CUBLAS_SIDE_LEFT, CUBLAS_SIDE_RIGHT}) {
    for (cublasFillMode_t uplo : {CUBLAS_FILL_MODE_LOWER, CUBLAS_FILL_MODE_UPPER}) {
      for (cublasOperation_t op : {CUBLAS_OP_N, CUBLAS_OP_T}) {
        for (cublasDiagType_t diag : {CUBLAS_DIAG_NON_UNIT, CUBLAS_DIAG_UNIT}) {
          int an = side == CUBLAS_SIDE_LEFT ? m : n, lda = an + 3;
          // Diagonally dominant, so the solve is well conditioned.
          auto as = pattern<T>(size_t(lda * an), 41);
          for (int i = 0; i < an; ++i) as[size_t(i + i * lda)] = T(4 + (i % 3));
          auto bs = pattern<T>(size_t(ldb * n), 42);
          DeviceBuffer<T> a(as), b(bs);
          CUBLAS_CHECK(f.trsm(h, side, uplo, op, diag, m, n, &alpha, a.p, lda, b.p, ldb));
          auto xs = b.download();
          // The triangle op(A) as cuBLAS reads it.
          auto tri = [&](int i, int j) -> double {
            int r = op == CUBLAS_OP_N ? i : j, c = op == CUBLAS_OP_N ? j : i;
            if (r == c) return diag == CUBLAS_DIAG_UNIT ? 1.0 : double(as[size_t(r + c * lda)]);
            bool stored = uplo == CUBLAS_FILL_MODE_LOWER ? r > c : r < c;
            return stored ? double(as[size_t(r + c * lda)]) : 0.0;
          };
          // Residual: op(A) X (or X op(A)) must equal alpha B.
          for (int j = 0; j < n; ++j) {
            for (int i = 0; i < m; ++i) {
              double s = 0, mag = 0;
              for (int l = 0; l < an; ++l) {
                double t = side == CUBLAS_SIDE_LEFT ? tri(i, l) * double(xs[size_t(l + j * ldb)])
                                                    : double(xs[size_t(i + l * ldb)]) * tri(l, j);
                s += t;
                mag += std::abs(t);
              }
              expectClose<T>(s, 2.0 * double(bs[size_t(i + j * ldb)]), mag, "trsm residual");
            }
          }
          for (int j = 0; j < n; ++j)
            for (int i = m; i < ldb; ++i)
              EXPECT(std::memcmp(&xs[size_t(i + j * ldb)], &bs[size_t(i + j * ldb)], sizeof(T)) == 0);
        }
      }
    }
  }
  const int sn = 6, k = 4, ldc = 8;
  T sa = T(0.5), sb = T(1.5);
  for (cublasFillMode_t uplo : {CUBLAS_FILL_MODE_LOWER, CUBLAS_FILL_MODE_UPPER}) {
    for (cublasOperation_t op : {CUBLAS_OP_N, CUBLAS_OP_T}) {
      int lda = (op == CUBLAS_OP_N ? sn : k) + 1;
      auto as = pattern<T>(size_t(lda * (op == CUBLAS_OP_N ? k : sn)), 43), cs = pattern<T>(size_t(ldc * sn), 44);
      DeviceBuffer<T> a(as), c(cs);
      std::vector<double> want = asDouble(cs);
      for (int j = 0; j < sn; ++j) {
        for (int i = 0; i < sn; ++i) {
          if (uplo == CUBLAS_FILL_MODE_LOWER ? i < j : i > j) continue;  // the other triangle stays
          double s = 0;
          for (int l = 0; l < k; ++l)
            s += opAt(as.data(), lda, op, i, l).real() * opAt(as.data(), lda, op, j, l).real();
          want[size_t(i + j * ldc)] = 0.5 * s + 1.5 * double(cs[size_t(i + j * ldc)]);
        }
      }
      CUBLAS_CHECK(f.syrk(h, uplo, op, sn, k, &sa, a.p, lda, &sb, c.p, ldc));
      expectVector(c.download(), want, 4, "syrk");
    }
  }
}

// The 64-bit-index API: int64_t sizes and indices.
void test64BitApi(cublasHandle_t h) {
  const int64_t n = 21, inc = 2;
  auto xs = pattern<float>(size_t(n * inc), 71), ys = pattern<float>(size_t(n * inc), 72);
  xs[size_t(13 * inc)] = 4.0f;
  DeviceBuffer<float> x(xs), y(ys);
  float dot = 0;
  double want = 0, mag = 0;
  for (int64_t i = 0; i < n; ++i) {
    want += double(xs[size_t(i * inc)]) * ys[size_t(i * inc)];
    mag += std::abs(double(xs[size_t(i * inc)]) * ys[size_t(i * inc)]);
  }
  CUBLAS_CHECK(cublasSdot_64(h, n, x.p, inc, y.p, inc, &dot));
  expectClose<float>(dot, want, mag, "sdot_64");
  int64_t idx = 0;
  CUBLAS_CHECK(cublasIsamax_64(h, n, x.p, inc, &idx));
  EXPECT_EQ(idx, 14);
  std::printf("64-bit API: ok\n");
}

void testRejected(cublasHandle_t h) {
  DeviceBuffer<float> a(256), x(64), y(64);
  float one = 1, r = 0;
  int idx = 0;
  EXPECT_STATUS(cublasSaxpy(nullptr, 4, &one, x.p, 1, y.p, 1), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_STATUS(cublasSdot(nullptr, 4, x.p, 1, y.p, 1, &r), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_STATUS(cublasIsamax(nullptr, 4, x.p, 1, &idx), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_STATUS(cublasSgemv(nullptr, CUBLAS_OP_N, 4, 4, &one, a.p, 4, x.p, 1, &one, y.p, 1),
                CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_STATUS(cublasSgemv(h, CUBLAS_OP_N, -1, 4, &one, a.p, 4, x.p, 1, &one, y.p, 1), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSgemv(h, CUBLAS_OP_N, 4, 4, &one, a.p, 3, x.p, 1, &one, y.p, 1), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSgemv(h, CUBLAS_OP_N, 4, 4, &one, a.p, 4, x.p, 0, &one, y.p, 1), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSgemv(h, cublasOperation_t(9), 4, 4, &one, a.p, 4, x.p, 1, &one, y.p, 1),
                CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSger(h, 4, -4, &one, x.p, 1, y.p, 1, a.p, 4), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSger(h, 4, 4, &one, x.p, 1, y.p, 0, a.p, 4), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSger(h, 4, 4, &one, x.p, 1, y.p, 1, a.p, 2), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSgeam(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, &one, a.p, 3, &one, a.p, 4, y.p, 4),
                CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSgeam(h, CUBLAS_OP_T, CUBLAS_OP_N, 4, 4, &one, a.p, 4, &one, x.p, 4, a.p, 4),
                CUBLAS_STATUS_INVALID_VALUE);  // in place needs op(A) = A
  EXPECT_STATUS(cublasSdgmm(h, cublasSideMode_t(5), 4, 4, a.p, 4, x.p, 1, a.p, 4), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSdgmm(h, CUBLAS_SIDE_LEFT, 4, 4, a.p, 4, x.p, 1, y.p, 2), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasStrsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_FULL, CUBLAS_OP_N, CUBLAS_DIAG_UNIT, 4, 4, &one,
                            a.p, 4, y.p, 4),
                CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasStrsm(h, CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, CUBLAS_DIAG_UNIT, 4, 6, &one,
                            a.p, 4, y.p, 4),
                CUBLAS_STATUS_INVALID_VALUE);  // lda < n on the right
  EXPECT_STATUS(cublasSsyrk(h, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, -2, 4, &one, a.p, 4, &one, y.p, 4),
                CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSsyrk(h, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, 4, 6, &one, a.p, 4, &one, y.p, 4),
                CUBLAS_STATUS_INVALID_VALUE);  // lda < k
  // Still working afterwards.
  CUBLAS_CHECK(cublasSdot(h, 4, x.p, 1, y.p, 1, &r));
  std::printf("rejected arguments: ok\n");
}

template <class T>
void testAll(cublasHandle_t h, const Blas<T>& f) {
  for (bool device_mode : {false, true}) {
    testLevel1(h, f, device_mode);
    testLevel2(h, f, device_mode);
  }
  testGeamDgmm(h, f);
  testTrsmSyrk(h, f);
  std::printf("%s level 1, 2, geam, dgmm, trsm, syrk: ok\n", f.name);
}

}  // namespace

int main() {
  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  testAll(h, kS);
  testAll(h, kD);
  test64BitApi(h);
  testRejected(h);
  CUBLAS_CHECK(cublasDestroy(h));
  return 0;
}
