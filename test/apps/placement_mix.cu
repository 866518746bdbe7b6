// A long, deterministic mix of operations over a few shared buffers, each
// checked against a host model of the same buffers: GEMMs (transposes,
// leading dimensions wider than the matrix, beta 0 and 1), SAXPY and SSCAL on
// slices, element-wise kernels (bounds-checked, grid-stride, per-block
// results, a stencil reading neighbours, a loop over each block's row), an opaque kernel (reads through a
// pointer table), device-to-device copies, memsets, host writes and reads of
// ranges. On a virtual device of several devices with MOAI_SPLIT=always,
// every op that can be split is, and its outputs stay where they were
// computed until a consumer pulls them: any byte a member used without
// holding its current value shows up as a mismatch here. Usage:
// placement_mix [STEPS]
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "blas_check.h"
#include "check.h"

namespace {

__global__ void axpby(float* y, const float* x, float a, float b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + b * y[i];
}

__global__ void scaleStride(float* y, float s, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] *= s;
}

__global__ void blockSums(const float* x, float* out, int n) {
  __shared__ float part[128];
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  part[threadIdx.x] = i < n ? x[i] : 0.f;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}

__global__ void stencil(float* y, const float* x, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = x[i] + 0.5f * ((i > 0 ? x[i - 1] : 0.f) + (i + 1 < n ? x[i + 1] : 0.f));
}

// One block per row and a loop over the row (more columns than threads),
// as softmax and layer norm do: the row's sum in shared memory, then each
// element scaled by it.
__global__ void rowNormalize(float* y, const float* x, int cols) {
  __shared__ float part[64];
  const float* r = x + size_t(blockIdx.x) * cols;
  float acc = 0;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) acc += fabsf(r[j]);
  part[threadIdx.x] = acc;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  float scale = float(cols) / (1.f + part[0]);
  for (int j = threadIdx.x; j < cols; j += blockDim.x) y[size_t(blockIdx.x) * cols + j] = r[j] * scale;
}

// Opaque to the analysis: the source comes from a table in device memory.
__global__ void viaTable(float* y, const float* const* table, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] += table[0][i];
}

constexpr int kBuffers = 4;
constexpr int kElems = 64 * 64 * 2;  // floats per buffer

struct Rng {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(s >> 33);
  }
  int below(int n) { return int(next() % uint32_t(n)); }
};

std::vector<float> host[kBuffers];
float* dev[kBuffers];
int failures = 0;

void compare(int b, int off, int n, const char* after, int step) {
  std::vector<float> got(static_cast<size_t>(n));
  CHECK(cudaMemcpy(got.data(), dev[b] + off, size_t(n) * 4, cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) {
    float want = host[b][size_t(off + i)];
    if (std::fabs(got[size_t(i)] - want) > 1e-3f * std::max(1.f, std::fabs(want))) {
      std::fprintf(stderr, "step %d, after %s: buffer %d [%d] = %g, want %g\n", step, after, b, off + i,
                   got[size_t(i)], want);
      if (++failures > 10) std::exit(1);
      return;
    }
  }
}

// Values stay bounded: every op keeps magnitudes near 1.
void renormalise(int b) {
  for (float& v : host[b]) v = std::fmod(v, 4.f);
  CHECK(cudaMemcpy(dev[b], host[b].data(), host[b].size() * 4, cudaMemcpyHostToDevice));
}

}  // namespace

int main(int argc, char** argv) {
  int steps = argc > 1 ? std::atoi(argv[1]) : 300;
  Rng rng{42};
  for (int b = 0; b < kBuffers; ++b) {
    host[b].resize(kElems);
    for (float& v : host[b]) v = float(rng.below(2001) - 1000) / 1000.f;
    CHECK(cudaMalloc(&dev[b], kElems * 4));
    CHECK(cudaMemcpy(dev[b], host[b].data(), kElems * 4, cudaMemcpyHostToDevice));
  }
  float** table;
  CHECK(cudaMalloc(&table, sizeof(float*)));
  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  const char* names[] = {"gemm", "saxpy", "sscal", "axpby", "scaleStride", "blockSums", "stencil",
                         "viaTable", "memcpyDtoD", "memset", "host write", "host read", "batched gemm",
                         "rowNormalize"};
  for (int step = 0; step < steps; ++step) {
    int kind = rng.below(14);
    int b = rng.below(kBuffers), s = (b + 1 + rng.below(kBuffers - 1)) % kBuffers;  // s != b
    int n = 64 + rng.below(kElems / 2), off = rng.below(kElems - n);
    switch (kind) {
      case 0: {  // C (m x n, ldc) = A op B / k + beta C: A and B read from buffer s, C in buffer b
        int m = 8 + rng.below(56), nn = 8 + rng.below(56), k = 8 + rng.below(56);
        bool ta = rng.below(2), tb = rng.below(2);
        int lda = (ta ? k : m) + rng.below(4), ldb = (tb ? nn : k) + rng.below(4), ldc = m + rng.below(4);
        float alpha = 1.f / float(k), beta = rng.below(2) ? 1.f : 0.f;
        constexpr int kB = 3000;  // B's offset in buffer s
        const float* A = host[s].data();
        const float* B = host[s].data() + kB;
        std::vector<float> C(host[b].begin(), host[b].end());
        for (int j = 0; j < nn; ++j)
          for (int i = 0; i < m; ++i) {
            double acc = 0;
            for (int p = 0; p < k; ++p) acc += double(ta ? A[p + i * lda] : A[i + p * lda]) * (tb ? B[j + p * ldb] : B[p + j * ldb]);
            C[size_t(i + j * ldc)] = float(alpha * acc + beta * C[size_t(i + j * ldc)]);
          }
        host[b] = C;
        CUBLAS_CHECK(cublasSgemm(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, nn, k, &alpha,
                                 dev[s], lda, dev[s] + kB, ldb, &beta, dev[b], ldc));
        break;
      }
      case 12: {  // strided batched: 3 entries, C entries apart in buffer b, A and B shared reads from s
        int m = 8 + rng.below(24), nn = 8 + rng.below(24), k = 8 + rng.below(24), batch = 3;
        int lda = m, ldb = k, ldc = m + rng.below(3);
        long long sa = m * k / 2, sb = 0, sc = (long long)ldc * nn + rng.below(8);  // A entries overlap: reads only
        float alpha = 1.f / float(k), beta = 1.f;
        std::vector<float> C(host[b]);
        for (int e = 0; e < batch; ++e)
          for (int j = 0; j < nn; ++j)
            for (int i = 0; i < m; ++i) {
              double acc = 0;
              for (int p = 0; p < k; ++p) acc += double(host[s][size_t(e * sa + i + p * lda)]) * host[s][size_t(4000 + e * sb + p + j * ldb)];
              float& c = C[size_t(e * sc + i + j * ldc)];
              c = float(alpha * acc + beta * c);
            }
        host[b] = C;
        CUBLAS_CHECK(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, m, nn, k, &alpha, dev[s], lda, sa,
                                               dev[s] + 4000, ldb, sb, &beta, dev[b], ldc, sc, batch));
        break;
      }
      case 1: {
        float a = 0.25f;
        for (int i = 0; i < n; ++i) host[b][size_t(off + i)] += a * host[s][size_t(off + i)];
        CUBLAS_CHECK(cublasSaxpy(h, n, &a, dev[s] + off, 1, dev[b] + off, 1));
        break;
      }
      case 2: {
        float a = -0.75f;
        for (int i = 0; i < n; ++i) host[b][size_t(off + i)] *= a;
        CUBLAS_CHECK(cublasSscal(h, n, &a, dev[b] + off, 1));
        break;
      }
      case 3:
        for (int i = 0; i < n; ++i) host[b][size_t(off + i)] = 0.5f * host[s][size_t(off + i)] + 0.5f * host[b][size_t(off + i)];
        axpby<<<(n + 127) / 128, 128>>>(dev[b] + off, dev[s] + off, 0.5f, 0.5f, n);
        break;
      case 4:
        for (int i = 0; i < n; ++i) host[b][size_t(off + i)] *= 0.9f;
        scaleStride<<<4, 64>>>(dev[b] + off, 0.9f, n);
        break;
      case 5: {
        int blocks = (n + 127) / 128;
        std::vector<float> sums(size_t(blocks), 0.f);
        for (int i = 0; i < n; ++i) sums[size_t(i / 128)] += host[s][size_t(off + i)];
        for (int i = 0; i < blocks; ++i) host[b][size_t(i)] = sums[size_t(i)] / 128;
        blockSums<<<blocks, 128>>>(dev[s] + off, dev[b], n);
        // The kernel wrote raw sums; bring them to the model's scale.
        float inv = 1.f / 128;
        CUBLAS_CHECK(cublasSscal(h, blocks, &inv, dev[b], 1));
        break;
      }
      case 6: {
        std::vector<float> y(host[b]);
        for (int i = 0; i < n; ++i)
          y[size_t(off + i)] = host[s][size_t(off + i)] +
                               0.5f * ((i > 0 ? host[s][size_t(off + i - 1)] : 0.f) + (i + 1 < n ? host[s][size_t(off + i + 1)] : 0.f));
        host[b] = y;
        stencil<<<(n + 127) / 128, 128>>>(dev[b] + off, dev[s] + off, n);
        break;
      }
      case 7: {
        const float* src = dev[s] + off;
        CHECK(cudaMemcpy(table, &src, sizeof src, cudaMemcpyHostToDevice));
        for (int i = 0; i < n; ++i) host[b][size_t(off + i)] += host[s][size_t(off + i)];
        viaTable<<<(n + 127) / 128, 128>>>(dev[b] + off, table, n);
        break;
      }
      case 8: {
        int to = rng.below(kElems - n);
        std::copy(host[s].begin() + off, host[s].begin() + off + n, host[b].begin() + to);
        CHECK(cudaMemcpy(dev[b] + to, dev[s] + off, size_t(n) * 4, cudaMemcpyDeviceToDevice));
        break;
      }
      case 9:
        std::fill(host[b].begin() + off, host[b].begin() + off + n, 0.f);
        CHECK(cudaMemset(dev[b] + off, 0, size_t(n) * 4));
        break;
      case 10:
        for (int i = 0; i < n; ++i) host[b][size_t(off + i)] = float(rng.below(2001) - 1000) / 1000.f;
        CHECK(cudaMemcpy(dev[b] + off, host[b].data() + off, size_t(n) * 4, cudaMemcpyHostToDevice));
        break;
      case 11:
        compare(b, off, n, names[kind], step);
        break;
      case 13: {
        int cols = 80 + rng.below(100), rows = n / cols;
        for (int r = 0; r < rows; ++r) {
          const float* x = host[s].data() + off + r * cols;
          double sum = 0;
          for (int j = 0; j < cols; ++j) sum += std::fabs(x[j]);
          float scale = float(cols) / float(1 + sum);
          for (int j = 0; j < cols; ++j) host[b][size_t(off + r * cols + j)] = x[j] * scale;
        }
        rowNormalize<<<rows, 64>>>(dev[b] + off, dev[s] + off, cols);
        break;
      }
    }
    CHECK(cudaGetLastError());
    if (step % 25 == 24)
      for (int i = 0; i < kBuffers; ++i) {
        compare(i, 0, kElems, names[kind], step);
        renormalise(i);
      }
  }
  for (int i = 0; i < kBuffers; ++i) compare(i, 0, kElems, "the last step", steps);
  CUBLAS_CHECK(cublasDestroy(h));
  if (failures) return 1;
  std::printf("placement_mix: %d steps OK\n", steps);
  return 0;
}
