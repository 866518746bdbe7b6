// A GEMM-heavy MLP training step (cuBLAS GEMMs, element-wise kernels, SGD):
// prints the mean step time and a checksum of the loss, so that the same
// program on a virtual device of 1 and of N devices can be compared (see
// bench_devices.py). Usage: bench_mlp [WIDTH BATCH LAYERS STEPS]
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "blas_check.h"
#include "check.h"

__global__ void relu(float* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    y[i] = y[i] > 0 ? y[i] : 0;
}

__global__ void reluGrad(float* dy, const float* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    if (y[i] <= 0) dy[i] = 0;
}

int main(int argc, char** argv) {
  int width = argc > 1 ? std::atoi(argv[1]) : 2048;
  int batch = argc > 2 ? std::atoi(argv[2]) : 512;
  int layers = argc > 3 ? std::atoi(argv[3]) : 2;
  int steps = argc > 4 ? std::atoi(argv[4]) : 3;
  size_t wn = size_t(width) * width, an = size_t(width) * batch;
  std::vector<float*> w(layers), act(layers + 1), grad(layers + 1), dw(layers);
  std::vector<float> init(wn);
  srand(1);
  for (auto& v : init) v = (float(rand()) / RAND_MAX - 0.5f) * 0.05f;
  for (int l = 0; l < layers; ++l) {
    CHECK(cudaMalloc(&w[l], wn * 4));
    CHECK(cudaMalloc(&dw[l], wn * 4));
    CHECK(cudaMemcpy(w[l], init.data(), wn * 4, cudaMemcpyHostToDevice));
  }
  std::vector<float> x(an);
  for (auto& v : x) v = float(rand()) / RAND_MAX;
  for (int l = 0; l <= layers; ++l) {
    CHECK(cudaMalloc(&act[l], an * 4));
    CHECK(cudaMalloc(&grad[l], an * 4));
  }
  CHECK(cudaMemcpy(act[0], x.data(), an * 4, cudaMemcpyHostToDevice));
  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  const float one = 1, zero = 0, lr = -1e-4f;
  double total_ms = 0, checksum = 0;
  for (int s = 0; s <= steps; ++s) {  // step 0 warms up
    auto t0 = std::chrono::steady_clock::now();
    // Forward: act[l+1] = relu(W[l] act[l]), column-major width x batch.
    for (int l = 0; l < layers; ++l) {
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, width, batch, width, &one, w[l], width, act[l], width, &zero,
                        act[l + 1], width));
      relu<<<64, 256>>>(act[l + 1], an);
    }
    // Loss gradient: the output itself (loss = |y|^2 / 2), then backward.
    CHECK(cudaMemcpy(grad[layers], act[layers], an * 4, cudaMemcpyDeviceToDevice));
    for (int l = layers - 1; l >= 0; --l) {
      reluGrad<<<64, 256>>>(grad[l + 1], act[l + 1], an);
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, width, width, batch, &one, grad[l + 1], width, act[l], width,
                        &zero, dw[l], width));
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, width, batch, width, &one, w[l], width, grad[l + 1], width,
                        &zero, grad[l], width));
      CUBLAS_CHECK(cublasSaxpy(h, int(wn), &lr, dw[l], 1, w[l], 1));
    }
    float probe[4];
    CHECK(cudaMemcpy(probe, act[layers], sizeof probe, cudaMemcpyDeviceToHost));  // synchronises
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0) total_ms += ms;
    for (float p : probe) checksum += p;
  }
  std::printf("RESULT step_ms=%.1f checksum=%.6e\n", total_ms / steps, checksum);
  return 0;
}
