// Atomics: histogram with per-block shared-memory bins merged by global
// atomics, plus global atomicAdd/Min/Max/CAS/Exch/Inc and float atomicAdd.
#include <algorithm>
#include <cmath>
#include <vector>
#include "check.h"

constexpr int kBins = 64;

__global__ void k_hist_shared(const unsigned char* data, unsigned* hist, int n) {
  __shared__ unsigned local[kBins];
  for (int b = threadIdx.x; b < kBins; b += blockDim.x) local[b] = 0;
  __syncthreads();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    atomicAdd(&local[data[i] % kBins], 1u);
  __syncthreads();
  for (int b = threadIdx.x; b < kBins; b += blockDim.x)
    if (local[b]) atomicAdd(&hist[b], local[b]);
}

__global__ void k_hist_global(const unsigned char* data, unsigned* hist, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    atomicAdd(&hist[data[i] % kBins], 1u);
}

struct Stats {
  int sum, mn, mx, cas_count;
  unsigned inc;
  unsigned long long sum64;
  float fsum;
  int exch_seen;
};

__global__ void k_misc_atomics(const int* v, Stats* s, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int x = v[i];
  atomicAdd(&s->sum, x);
  atomicMin(&s->mn, x);
  atomicMax(&s->mx, x);
  atomicInc(&s->inc, 1000u);  // wraps to 0 after reaching 1000
  atomicAdd(&s->sum64, (unsigned long long)(x + 1000) << 20);
  atomicAdd(&s->fsum, 0.5f);  // exact: n * 0.5 is representable
  // CAS loop: increment through compare-and-swap.
  int old = s->cas_count, assumed;
  do {
    assumed = old;
    old = atomicCAS(&s->cas_count, assumed, assumed + 1);
  } while (old != assumed);
  // Exactly one thread sees the initial value 0 from atomicExch.
  if (atomicExch(&s->exch_seen, 1) == 0) atomicAdd(&s->sum, 0);
}

__global__ void k_bit_atomics(unsigned* bits, double* dsum, float* block_f, int n) {
  __shared__ float sf;
  if (threadIdx.x == 0) sf = 0.f;
  __syncthreads();
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    atomicOr(&bits[0], 1u << (i % 32));
    atomicAnd(&bits[1], ~(1u << (i % 29)));
    atomicXor(&bits[2], (unsigned)i * 2654435761u);
    atomicAdd(dsum, (double)i * 0.25);
    atomicAdd(&sf, 1.0f);
  }
  __syncthreads();
  if (threadIdx.x == 0) block_f[blockIdx.x] = sf;
}

int main() {
  const int n = 1 << 20;
  std::vector<unsigned char> data(n);
  for (int i = 0; i < n; ++i) data[i] = (unsigned char)(((unsigned)i * 2654435761u) >> 24) ^ (unsigned char)(i & 3);
  unsigned want[kBins] = {};
  for (int i = 0; i < n; ++i) want[data[i] % kBins]++;
  unsigned char* dd;
  unsigned* dh;
  CHECK(cudaMalloc(&dd, n));
  CHECK(cudaMalloc(&dh, kBins * sizeof(unsigned)));
  CHECK(cudaMemcpy(dd, data.data(), n, cudaMemcpyHostToDevice));

  CHECK(cudaMemset(dh, 0, kBins * sizeof(unsigned)));
  k_hist_shared<<<48, 256>>>(dd, dh, n);
  CHECK(cudaGetLastError());
  unsigned got[kBins];
  CHECK(cudaMemcpy(got, dh, sizeof(got), cudaMemcpyDeviceToHost));
  for (int b = 0; b < kBins; ++b) EXPECT_MSG(got[b] == want[b], "shared hist bin %d = %u, want %u", b, got[b], want[b]);

  CHECK(cudaMemset(dh, 0, kBins * sizeof(unsigned)));
  k_hist_global<<<32, 128>>>(dd, dh, n / 4);
  CHECK(cudaGetLastError());
  unsigned want4[kBins] = {};
  for (int i = 0; i < n / 4; ++i) want4[data[i] % kBins]++;
  CHECK(cudaMemcpy(got, dh, sizeof(got), cudaMemcpyDeviceToHost));
  for (int b = 0; b < kBins; ++b) EXPECT_MSG(got[b] == want4[b], "global hist bin %d = %u, want %u", b, got[b], want4[b]);

  const int m = 10000;
  std::vector<int> v(m);
  for (int i = 0; i < m; ++i) v[i] = (i * 7919) % 1999 - 999;
  int* dv;
  Stats* ds;
  CHECK(cudaMalloc(&dv, m * sizeof(int)));
  CHECK(cudaMalloc(&ds, sizeof(Stats)));
  CHECK(cudaMemcpy(dv, v.data(), m * sizeof(int), cudaMemcpyHostToDevice));
  Stats init{0, 1 << 30, -(1 << 30), 0, 0u, 0ull, 0.f, 0};
  CHECK(cudaMemcpy(ds, &init, sizeof(Stats), cudaMemcpyHostToDevice));
  k_misc_atomics<<<(m + 255) / 256, 256>>>(dv, ds, m);
  CHECK(cudaGetLastError());
  Stats s;
  CHECK(cudaMemcpy(&s, ds, sizeof(Stats), cudaMemcpyDeviceToHost));
  int wsum = 0, wmn = 1 << 30, wmx = -(1 << 30);
  unsigned long long w64 = 0;
  for (int x : v) {
    wsum += x;
    wmn = x < wmn ? x : wmn;
    wmx = x > wmx ? x : wmx;
    w64 += (unsigned long long)(x + 1000) << 20;
  }
  EXPECT_EQ(s.sum, wsum);
  EXPECT_EQ(s.mn, wmn);
  EXPECT_EQ(s.mx, wmx);
  EXPECT_EQ(s.cas_count, m);
  EXPECT_EQ(s.inc, m % 1001);
  EXPECT_EQ(s.sum64, w64);
  EXPECT_MSG(s.fsum == m * 0.5f, "float atomicAdd sum = %g, want %g", s.fsum, m * 0.5);
  EXPECT_EQ(s.exch_seen, 1);

  {
    const int nbits = 3000, bthreads = 128, bblocks = (nbits + bthreads - 1) / bthreads;
    unsigned init_bits[3] = {0u, 0xffffffffu, 0x12345678u};
    unsigned* dbits;
    double* dsum;
    float* dbf;
    CHECK(cudaMalloc(&dbits, sizeof(init_bits)));
    CHECK(cudaMalloc(&dsum, sizeof(double)));
    CHECK(cudaMalloc(&dbf, bblocks * sizeof(float)));
    CHECK(cudaMemcpy(dbits, init_bits, sizeof(init_bits), cudaMemcpyHostToDevice));
    CHECK(cudaMemset(dsum, 0, sizeof(double)));
    k_bit_atomics<<<bblocks, bthreads>>>(dbits, dsum, dbf, nbits);
    CHECK(cudaGetLastError());
    unsigned bits[3];
    double dsv = 0;
    std::vector<float> bf(bblocks);
    CHECK(cudaMemcpy(bits, dbits, sizeof(bits), cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(&dsv, dsum, sizeof(double), cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(bf.data(), dbf, bblocks * sizeof(float), cudaMemcpyDeviceToHost));
    unsigned wb[3] = {init_bits[0], init_bits[1], init_bits[2]};
    double wsumd = 0;
    for (int i = 0; i < nbits; ++i) {
      wb[0] |= 1u << (i % 32);
      wb[1] &= ~(1u << (i % 29));
      wb[2] ^= (unsigned)i * 2654435761u;
      wsumd += (double)i * 0.25;
    }
    for (int k = 0; k < 3; ++k) EXPECT_MSG(bits[k] == wb[k], "bit atomic %d = 0x%08x, want 0x%08x", k, bits[k], wb[k]);
    EXPECT_MSG(dsv == wsumd, "double atomicAdd = %.17g, want %.17g", dsv, wsumd);
    for (int b = 0; b < bblocks; ++b) {
      int cnt = std::min(bthreads, nbits - b * bthreads);
      EXPECT_MSG(bf[b] == (float)cnt, "shared float atomicAdd block %d = %g, want %d", b, bf[b], cnt);
    }
    CHECK(cudaFree(dbits));
    CHECK(cudaFree(dsum));
    CHECK(cudaFree(dbf));
  }

  CHECK(cudaFree(dd));
  CHECK(cudaFree(dh));
  CHECK(cudaFree(dv));
  CHECK(cudaFree(ds));
  std::printf("kernels_atomics: ok\n");
  return 0;
}
