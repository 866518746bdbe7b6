// The main job: an ordinary CUDA program, built with `nvcc -cudart shared`
// and run unchanged under libmoai_cuda.so.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(call)                                                                  \
  do {                                                                               \
    cudaError_t e = (call);                                                          \
    if (e != cudaSuccess) {                                                          \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(e));        \
      return 1;                                                                      \
    }                                                                                \
  } while (0)

__global__ void vectorAdd(const float* a, const float* b, float* c, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) c[i] = a[i] + b[i];
}

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 1 << 20;
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %zu MiB\n", prop.name, prop.totalGlobalMem >> 20);

  std::vector<float> a(n), b(n), c(n);
  for (int i = 0; i < n; ++i) {
    a[i] = std::sin(float(i));
    b[i] = std::cos(float(i));
  }
  float *da, *db, *dc;
  size_t bytes = size_t(n) * sizeof(float);
  CHECK(cudaMalloc(&da, bytes));
  CHECK(cudaMalloc(&db, bytes));
  CHECK(cudaMalloc(&dc, bytes));
  CHECK(cudaMemcpy(da, a.data(), bytes, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), bytes, cudaMemcpyHostToDevice));

  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  CHECK(cudaEventRecord(start));
  vectorAdd<<<256, 256>>>(da, db, dc, n);
  CHECK(cudaGetLastError());
  CHECK(cudaEventRecord(stop));
  CHECK(cudaMemcpy(c.data(), dc, bytes, cudaMemcpyDeviceToHost));
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, start, stop));

  int wrong = 0;
  for (int i = 0; i < n; ++i) wrong += std::fabs(c[i] - (a[i] + b[i])) > 1e-6f;
  std::printf("vectorAdd of %d floats: %s (%d wrong), kernel %.3f ms, c[12345 %% n] = %f\n", n,
              wrong ? "FAILED" : "PASSED", wrong, ms, c[12345 % n]);
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFree(dc));
  return wrong ? 1 : 0;
}
