// A working set larger than any one device behind the virtual device: three
// vectors of 28% of the device's reported memory each (at most 48 MiB), then
// cuBLAS AXPY and GEMM, an element-wise kernel, a memset, a device copy, and
// every byte read back and checked against the same work on the host. On a
// virtual device of N devices that reports their summed memory, the vectors
// only fit sharded across them. Asking for more than the reported memory
// must fail cleanly, and the program goes on.
#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "check.h"

#define CUBLAS(call)                                                                           \
  do {                                                                                         \
    cublasStatus_t s_ = (call);                                                                \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                         \
      std::fprintf(stderr, "%s:%d: %s -> cuBLAS status %d\n", __FILE__, __LINE__, #call, int(s_)); \
      std::exit(1);                                                                            \
    }                                                                                          \
  } while (0)

__global__ void multiply(float* z, const float* x, const float* y, size_t n) {
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) z[i] = x[i] * y[i];
}

int main() {
  size_t free_bytes = 0, total = 0;
  CHECK(cudaMemGetInfo(&free_bytes, &total));
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  EXPECT(prop.totalGlobalMem == total);
  const size_t k = 1024;  // the GEMM's inner dimension: y is a k x cols matrix
  size_t bytes = std::min<size_t>(total / 100 * 28, 48u << 20);
  const size_t n = bytes / 4 / (2 * k) * (2 * k);
  const size_t cols = n / k, m = 64;
  std::printf("memory_aggregate: %zu MiB reported; 3 vectors of %zu MiB\n", total >> 20, (n * 4) >> 20);

  std::vector<float> x(n), y(n), z(n), a(m * k), c(m * cols);
  for (size_t i = 0; i < n; ++i) x[i] = float(i % 97) * 0.5f, y[i] = float(int(i % 13) - 6);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i % 7) - 3) * 0.25f;
  float *dx, *dy, *dz, *da, *dc;
  CHECK(cudaMalloc(&dx, n * 4));
  CHECK(cudaMalloc(&dy, n * 4));
  CHECK(cudaMalloc(&dz, n * 4));
  CHECK(cudaMalloc(&da, a.size() * 4));
  CHECK(cudaMalloc(&dc, c.size() * 4));
  size_t free_after = 0;
  CHECK(cudaMemGetInfo(&free_after, &total));
  EXPECT(free_after + 3 * n * 4 <= free_bytes);
  CHECK(cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dy, y.data(), n * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(da, a.data(), a.size() * 4, cudaMemcpyHostToDevice));

  cublasHandle_t h;
  CUBLAS(cublasCreate(&h));
  const float two = 2, one = 1, zero = 0;
  CUBLAS(cublasSaxpy(h, int(n), &two, dx, 1, dy, 1));  // y = 2x + y
  for (size_t i = 0; i < n; ++i) y[i] = 2 * x[i] + y[i];
  multiply<<<unsigned((n + 255) / 256), 256>>>(dz, dx, dy, n);  // z = x * y
  CHECK(cudaGetLastError());
  for (size_t i = 0; i < n; ++i) z[i] = x[i] * y[i];
  CHECK(cudaMemset(dx + n / 2, 0, n / 4 * 4));  // a quarter of x, from its middle
  std::fill(x.begin() + n / 2, x.begin() + n / 2 + n / 4, 0.f);
  CHECK(cudaMemcpy(dy, dz + n / 4, n / 2 * 4, cudaMemcpyDeviceToDevice));  // y's first half from z's middle
  std::copy(z.begin() + n / 4, z.begin() + n / 4 + n / 2, y.begin());
  // C (m x cols) = A (m x k) * Y (k x cols), column-major.
  CUBLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, int(m), int(cols), int(k), &one, da, int(m), dy, int(k), &zero, dc,
                     int(m)));
  for (size_t j = 0; j < cols; ++j)
    for (size_t i = 0; i < m; ++i) {
      double s = 0;
      for (size_t l = 0; l < k; ++l) s += double(a[i + l * m]) * y[l + j * k];
      c[i + j * m] = float(s);
    }

  std::vector<float> got(n);
  auto same = [&](const float* d, const std::vector<float>& want, const char* name, double tol) {
    got.resize(want.size());
    CHECK(cudaMemcpy(got.data(), d, want.size() * 4, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < want.size(); ++i)
      if (std::fabs(double(got[i]) - want[i]) > tol * (1 + std::fabs(double(want[i])))) {
        std::fprintf(stderr, "%s[%zu] = %g, expected %g\n", name, i, got[i], want[i]);
        std::exit(1);
      }
  };
  same(dx, x, "x", 0);
  same(dy, y, "y", 0);
  same(dz, z, "z", 0);
  same(dc, c, "c", 1e-4);

  // More than the device has: an error, not a crash, and the program goes on.
  void* huge = nullptr;
  EXPECT_ERR(cudaMalloc(&huge, total + (1u << 20)), cudaErrorMemoryAllocation);
  (void)cudaGetLastError();
  CHECK(cudaGetLastError());
  CUBLAS(cublasDestroy(h));
  for (float* p : {dx, dy, dz, da, dc}) CHECK(cudaFree(p));
  std::printf("memory_aggregate: OK\n");
  return 0;
}
