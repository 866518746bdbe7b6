// The PTX engine against the same computations as plain C++ loops (nvcc's
// host compiler at -O2), in one run: SAXPY over 16M floats and a 512^3
// shared-memory tiled matrix multiply. Set MOAI_PTX_STATS=1 to have the
// engine report thread-instructions (bench_ptx.py does, and prints the rate).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../apps/check.h"

constexpr int kTile = 16;

__global__ void saxpy(int n, float a, const float* x, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

__global__ void matmulTiled(int n, const float* a, const float* b, float* c) {
  __shared__ float ta[kTile][kTile];
  __shared__ float tb[kTile][kTile];
  int row = blockIdx.y * kTile + threadIdx.y, col = blockIdx.x * kTile + threadIdx.x;
  float acc = 0;
  for (int t = 0; t < n; t += kTile) {
    ta[threadIdx.y][threadIdx.x] = a[row * n + t + threadIdx.x];
    tb[threadIdx.y][threadIdx.x] = b[(t + threadIdx.y) * n + col];
    __syncthreads();
    for (int k = 0; k < kTile; ++k) acc += ta[threadIdx.y][k] * tb[k][threadIdx.x];
    __syncthreads();
  }
  c[row * n + col] = acc;
}

static double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  int n = quick ? (1 << 20) : (16 << 20);
  int m = quick ? 128 : 512;
  std::vector<float> x(n), y(n), ref(n);
  for (int i = 0; i < n; ++i) {
    x[i] = float(i % 1000) * 0.001f;
    y[i] = float(i % 7);
  }
  float *dx, *dy;
  CHECK(cudaMalloc(&dx, n * sizeof(float)));
  CHECK(cudaMalloc(&dy, n * sizeof(float)));
  CHECK(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dy, y.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  auto t0 = std::chrono::steady_clock::now();
  saxpy<<<(n + 255) / 256, 256>>>(n, 2.0f, dx, dy);
  CHECK(cudaDeviceSynchronize());
  double engine_saxpy = since(t0);
  CHECK(cudaMemcpy(ref.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost));
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) y[i] = 2.0f * x[i] + y[i];
  double loop_saxpy = since(t0);
  EXPECT(std::memcmp(ref.data(), y.data(), n * sizeof(float)) == 0);

  std::vector<float> a(m * m), b(m * m), c(m * m), cref(m * m, 0);
  for (int i = 0; i < m * m; ++i) {
    a[i] = float((i * 7) % 13) * 0.1f;
    b[i] = float((i * 5) % 11) * 0.1f;
  }
  float *da, *db, *dc;
  CHECK(cudaMalloc(&da, m * m * sizeof(float)));
  CHECK(cudaMalloc(&db, m * m * sizeof(float)));
  CHECK(cudaMalloc(&dc, m * m * sizeof(float)));
  CHECK(cudaMemcpy(da, a.data(), m * m * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), m * m * sizeof(float), cudaMemcpyHostToDevice));
  t0 = std::chrono::steady_clock::now();
  matmulTiled<<<dim3(m / kTile, m / kTile), dim3(kTile, kTile)>>>(m, da, db, dc);
  CHECK(cudaDeviceSynchronize());
  double engine_mm = since(t0);
  CHECK(cudaMemcpy(c.data(), dc, m * m * sizeof(float), cudaMemcpyDeviceToHost));
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < m; ++i)
    for (int k = 0; k < m; ++k) {
      float aik = a[i * m + k];
      for (int j = 0; j < m; ++j) cref[i * m + j] += aik * b[k * m + j];
    }
  double loop_mm = since(t0);
  for (int i = 0; i < m * m; ++i) EXPECT(std::fabs(c[i] - cref[i]) <= 1e-3f * std::fabs(cref[i]) + 1e-3f);

  std::printf("%-34s %10s %10s %8s %6s\n", "", "engine s", "C++ -O2 s", "ratio", "goal");
  double r1 = engine_saxpy / loop_saxpy, r2 = engine_mm / loop_mm;
  std::printf("%-34s %10.4f %10.4f %8.1f %6s %s\n", quick ? "SAXPY 1M floats" : "SAXPY 16M floats", engine_saxpy,
              loop_saxpy, r1, "30x", r1 <= 30 ? "PASS" : "MISS");
  std::printf("%-34s %10.4f %10.4f %8.1f %6s %s\n", quick ? "tiled matmul 128^3" : "tiled matmul 512^3", engine_mm,
              loop_mm, r2, "50x", r2 <= 50 ? "PASS" : "MISS");
  std::printf("RESULT saxpy_ratio=%.2f\nRESULT matmul_ratio=%.2f\n", r1, r2);
  return 0;
}
