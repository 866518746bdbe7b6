// Element-wise kernels: grid-stride loops, 64-bit indexing and arithmetic,
// math functions, checked against a CPU reference.
#include <cmath>
#include <cstdint>
#include <vector>
#include "check.h"

__global__ void k_saxpy(float a, const float* x, float* y, size_t n) {
  size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = a * x[i] + y[i];
}

// 64-bit index math: values derived from the index overflow 32 bits.
__global__ void k_index64(long long* out, long long n, long long base) {
  long long stride = (long long)gridDim.x * blockDim.x;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    long long g = base + i * 4099LL;
    out[i] = (g * 3LL) ^ (g >> 7) ^ ((unsigned long long)g % 1000003ULL);
  }
}

__global__ void k_math(const float* x, float* out, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    float v = x[i];
    out[i] = sqrtf(fabsf(v)) + expf(-v * v) + sinf(v) * cosf(v) + fmaxf(v, 0.25f) +
             (v > 0.f ? logf(1.f + v) : -v);
  }
}

__global__ void k_int_ops(const unsigned* a, unsigned* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    unsigned v = a[i];
    out[i] = __popc(v) + (__clz(v | 1u) << 8) + ((v >> 3) * 7u) + (v % 13u) + __brev(v) +
             min(v, 12345u) + ((int)v < 0 ? 1u : 0u);
  }
}

// Writes bytes at offsets past 2^31 and 2^32 of one allocation: the offset
// must be computed in 64 bits (a 32-bit index would wrap).
__global__ void k_far_write(unsigned char* buf, size_t base, int count) {
  size_t i = base + (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if ((size_t)blockIdx.x * blockDim.x + threadIdx.x < (size_t)count) buf[i] = (unsigned char)(i * 31 + (i >> 32) * 7);
}

static unsigned brev32(unsigned v) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((v >> i) & 1u) << (31 - i);
  return r;
}
static int clz32(unsigned v) {
  int c = 0;
  for (int i = 31; i >= 0 && !((v >> i) & 1u); --i) ++c;
  return c;
}

int main() {
  const size_t n = 1 << 20;
  std::vector<float> x(n), y(n), out(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = (float)((i * 37) % 1000) * 0.01f - 5.0f;
    y[i] = (float)(i % 97) * 0.5f;
  }
  float *dx, *dy, *dout;
  CHECK(cudaMalloc(&dx, n * sizeof(float)));
  CHECK(cudaMalloc(&dy, n * sizeof(float)));
  CHECK(cudaMalloc(&dout, n * sizeof(float)));
  CHECK(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dy, y.data(), n * sizeof(float), cudaMemcpyHostToDevice));

  // Grid much smaller than n: every thread loops.
  k_saxpy<<<120, 256>>>(2.5f, dx, dy, n);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(out.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (size_t i = 0; i < n; ++i) {
    float want = 2.5f * x[i] + y[i];
    EXPECT_MSG(std::fabs(out[i] - want) <= 1e-5f * (1.f + std::fabs(want)),
               "saxpy[%zu] = %g, want %g", i, out[i], want);
  }

  // 64-bit indexing.
  const long long m = 200000;
  const long long base = 5000000000LL;
  long long* d64;
  CHECK(cudaMalloc(&d64, m * sizeof(long long)));
  k_index64<<<64, 128>>>(d64, m, base);
  CHECK(cudaGetLastError());
  std::vector<long long> o64(m);
  CHECK(cudaMemcpy(o64.data(), d64, m * sizeof(long long), cudaMemcpyDeviceToHost));
  for (long long i = 0; i < m; ++i) {
    long long g = base + i * 4099LL;
    long long want = (g * 3LL) ^ (g >> 7) ^ (long long)((unsigned long long)g % 1000003ULL);
    EXPECT_MSG(o64[i] == want, "index64[%lld] = %lld, want %lld", i, o64[i], want);
  }

  // Real 64-bit offsets: a 4.25 GiB allocation, written in windows across the
  // 2^31 and 2^32 byte boundaries.
  {
    const size_t big = (4ull << 30) + (256ull << 20);
    unsigned char* dbig = nullptr;
    CHECK(cudaMalloc(&dbig, big));
    const int count = 8192;
    const size_t bases[] = {(1ull << 31) - count / 2, (1ull << 32) - count / 2, big - count};
    for (size_t base : bases) {
      CHECK(cudaMemset(dbig + base, 0, count));
      k_far_write<<<count / 256, 256>>>(dbig, base, count);
      CHECK(cudaGetLastError());
      std::vector<unsigned char> h(count);
      CHECK(cudaMemcpy(h.data(), dbig + base, count, cudaMemcpyDeviceToHost));
      for (int k = 0; k < count; ++k) {
        size_t i = base + k;
        unsigned char want = (unsigned char)(i * 31 + (i >> 32) * 7);
        EXPECT_MSG(h[k] == want, "far write at byte %zu = %u, want %u", i, h[k], want);
      }
    }
    CHECK(cudaFree(dbig));
  }

  // Math functions (fast-math not enabled: compare with a tolerance).
  const int nm = 100000;
  k_math<<<100, 128>>>(dx, dout, nm);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(out.data(), dout, nm * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < nm; ++i) {
    float v = x[i];
    double want = std::sqrt(std::fabs((double)v)) + std::exp(-(double)v * v) +
                  std::sin((double)v) * std::cos((double)v) + std::fmax(v, 0.25f) +
                  (v > 0.f ? std::log(1.0 + v) : -(double)v);
    EXPECT_MSG(std::fabs(out[i] - want) <= 1e-4 * (1.0 + std::fabs(want)), "math[%d] (x=%g) = %g, want %g",
               i, v, out[i], want);
  }

  // Integer intrinsics, bounds-checked (n not a multiple of the block).
  const int ni = 100003;
  std::vector<unsigned> a(ni), io(ni);
  for (int i = 0; i < ni; ++i) a[i] = (unsigned)(i * 2654435761u) ^ (unsigned)(i << 5);
  unsigned *da, *dio;
  CHECK(cudaMalloc(&da, ni * sizeof(unsigned)));
  CHECK(cudaMalloc(&dio, ni * sizeof(unsigned)));
  CHECK(cudaMemcpy(da, a.data(), ni * sizeof(unsigned), cudaMemcpyHostToDevice));
  k_int_ops<<<(ni + 255) / 256, 256>>>(da, dio, ni);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(io.data(), dio, ni * sizeof(unsigned), cudaMemcpyDeviceToHost));
  for (int i = 0; i < ni; ++i) {
    unsigned v = a[i];
    unsigned want = (unsigned)__builtin_popcount(v) + ((unsigned)clz32(v | 1u) << 8) +
                    ((v >> 3) * 7u) + (v % 13u) + brev32(v) + (v < 12345u ? v : 12345u) +
                    ((int)v < 0 ? 1u : 0u);
    EXPECT_MSG(io[i] == want, "int_ops[%d] (a=0x%08x) = %u, want %u", i, v, io[i], want);
  }

  CHECK(cudaFree(dx));
  CHECK(cudaFree(dy));
  CHECK(cudaFree(dout));
  CHECK(cudaFree(d64));
  CHECK(cudaFree(da));
  CHECK(cudaFree(dio));
  CHECK(cudaDeviceSynchronize());
  std::printf("kernels_elementwise: ok\n");
  return 0;
}
