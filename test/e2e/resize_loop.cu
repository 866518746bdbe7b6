// A program that keeps computing, and checking, while its virtual device is
// resized under it: each iteration a GEMM (cuBLAS) and a kernel update the
// same device arrays, and the result is compared with the host's.
// Usage: resize_loop SECONDS
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "blas_check.h"
#include "check.h"

__global__ void addOne(float* x, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = x[i] * 0.5f + 1.0f;
}

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 8;
  const int n = 64;
  std::vector<float> a(n * n), x(n * n);
  for (int i = 0; i < n * n; ++i) {
    a[i] = float((i * 7) % 13) / 64.0f;
    x[i] = float(i % 5);
  }
  float *da, *dx, *dy;
  CHECK(cudaMalloc(&da, n * n * 4));
  CHECK(cudaMalloc(&dx, n * n * 4));
  CHECK(cudaMalloc(&dy, n * n * 4));
  CHECK(cudaMemcpy(da, a.data(), n * n * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dx, x.data(), n * n * 4, cudaMemcpyHostToDevice));
  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  const float one = 1, zero = 0;
  std::vector<float> y(n * n), got(n * n);
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int it = 0;
  while (std::chrono::steady_clock::now() < end) {
    // y = a x (column-major), then x = y / 2 + 1, on the device and here.
    CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, da, n, dx, n, &zero, dy, n));
    addOne<<<(n * n + 255) / 256, 256>>>(dy, n * n);
    CHECK(cudaMemcpy(dx, dy, n * n * 4, cudaMemcpyDeviceToDevice));
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i) {
        float s = 0;
        for (int k = 0; k < n; ++k) s += a[i + k * n] * x[k + j * n];
        y[i + j * n] = s * 0.5f + 1.0f;
      }
    x = y;
    CHECK(cudaMemcpy(got.data(), dx, n * n * 4, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n * n; ++i)
      if (std::fabs(got[i] - x[i]) > 1e-3f * std::max(1.0f, std::fabs(x[i]))) {
        std::fprintf(stderr, "iteration %d: element %d is %g, expected %g\n", it, i, got[i], x[i]);
        return 1;
      }
    ++it;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("resize_loop: OK after %d iterations\n", it);
  return 0;
}
