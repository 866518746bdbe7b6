// Reductions and scans: shared-memory block reduction with __syncthreads,
// warp-shuffle reductions, ballots, and a block-wide inclusive scan.
#include <algorithm>
#include <cstdint>
#include <vector>
#include "check.h"

constexpr int kBlock = 256;

__global__ void k_block_reduce(const int* in, long long* partial, int n) {
  __shared__ long long s[kBlock];
  long long v = 0;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += in[i];
  s[threadIdx.x] = v;
  __syncthreads();
  for (int off = blockDim.x / 2; off > 0; off >>= 1) {
    if (threadIdx.x < off) s[threadIdx.x] += s[threadIdx.x + off];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

__inline__ __device__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;
}
__inline__ __device__ int warp_max_xor(int v) {
  for (int off = 16; off > 0; off >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

// Block sum via warp shuffles, one atomicAdd per block.
__global__ void k_shfl_reduce(const float* in, float* block_sums, int* block_max, int n) {
  __shared__ float ws[32];
  __shared__ int wm[32];
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = i < n ? in[i] : 0.f;
  int m = i < n ? (int)(in[i] * 8.f) : -1000000;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  m = warp_max_xor(m);
  if (lane == 0) { ws[warp] = v; wm[warp] = m; }
  __syncthreads();
  if (warp == 0) {
    int nw = blockDim.x / 32;
    v = lane < nw ? ws[lane] : 0.f;
    m = lane < nw ? wm[lane] : -1000000;
    v = warp_sum(v);
    m = warp_max_xor(m);
    if (lane == 0) { block_sums[blockIdx.x] = v; block_max[blockIdx.x] = m; }
  }
}

// Ballot, popc, any/all, shfl (broadcast) and shfl_up.
__global__ void k_ballot(const int* in, unsigned* ballots, int* counts, int* anyall, int* bcast, int* up) {
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  int v = in[t];
  unsigned b = __ballot_sync(0xffffffffu, v > 0);
  int any = __any_sync(0xffffffffu, v > 50);
  int all = __all_sync(0xffffffffu, v > -1000);
  int src = __shfl_sync(0xffffffffu, v, 7);
  int u = __shfl_up_sync(0xffffffffu, v, 3);
  if ((threadIdx.x & 31) == 0) {
    int w = t / 32;
    ballots[w] = b;
    counts[w] = __popc(b);
    anyall[w] = (any ? 1 : 0) | (all ? 2 : 0);
  }
  bcast[t] = src;
  up[t] = u;
}

// Block-wide vote barriers, shuffles with a sub-warp width, __match_any_sync.
__global__ void k_votes(const int* in, int* out) {
  int v = in[threadIdx.x];
  int cnt = __syncthreads_count(v > 0);
  int all = __syncthreads_and(v > -100);
  int any = __syncthreads_or(v > 8);
  int w8 = __shfl_sync(0xffffffffu, v, 2, 8);       // lane 2 of each group of 8
  int x4 = __shfl_xor_sync(0xffffffffu, v, 1, 4);   // swap neighbours
  unsigned mm = __match_any_sync(0xffffffffu, v & 3);
  out[threadIdx.x * 4 + 0] = cnt * 4 + all * 2 + any;
  out[threadIdx.x * 4 + 1] = w8;
  out[threadIdx.x * 4 + 2] = x4;
  out[threadIdx.x * 4 + 3] = (int)mm;
}

// Hillis-Steele inclusive scan of each block (double-buffered in shared memory),
// then block totals.
__global__ void k_block_scan(const int* in, int* out, int* totals, int n) {
  __shared__ int buf[2][kBlock];
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int p = 0;
  buf[p][threadIdx.x] = i < n ? in[i] : 0;
  __syncthreads();
  for (int off = 1; off < blockDim.x; off <<= 1) {
    int v = buf[p][threadIdx.x];
    if (threadIdx.x >= off) v += buf[p][threadIdx.x - off];
    buf[1 - p][threadIdx.x] = v;
    p = 1 - p;
    __syncthreads();
  }
  if (i < n) out[i] = buf[p][threadIdx.x];
  if (threadIdx.x == blockDim.x - 1) totals[blockIdx.x] = buf[p][threadIdx.x];
}

// Adds the exclusive prefix of block totals (single block scans the totals).
__global__ void k_add_offsets(int* out, const int* totals, int n) {
  __shared__ int off;
  if (threadIdx.x == 0) {
    int s = 0;
    for (int b = 0; b < (int)blockIdx.x; ++b) s += totals[b];
    off = s;
  }
  __syncthreads();
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] += off;
}

int main() {
  // Block reduction.
  const int n = 1 << 20;
  std::vector<int> h(n);
  long long want = 0;
  for (int i = 0; i < n; ++i) { h[i] = (int)(((long long)i * 7919) % 2001) - 1000; want += h[i]; }
  int* din;
  CHECK(cudaMalloc(&din, n * sizeof(int)));
  CHECK(cudaMemcpy(din, h.data(), n * sizeof(int), cudaMemcpyHostToDevice));
  const int nb = 64;
  long long* dpart;
  CHECK(cudaMalloc(&dpart, nb * sizeof(long long)));
  k_block_reduce<<<nb, kBlock>>>(din, dpart, n);
  CHECK(cudaGetLastError());
  std::vector<long long> part(nb);
  CHECK(cudaMemcpy(part.data(), dpart, nb * sizeof(long long), cudaMemcpyDeviceToHost));
  long long got = 0;
  for (long long p : part) got += p;
  EXPECT_EQ(got, want);
  // Per-block check too.
  for (int b = 0; b < nb; ++b) {
    long long w = 0;
    for (int t = 0; t < kBlock; ++t)
      for (int i = b * kBlock + t; i < n; i += nb * kBlock) w += h[i];
    EXPECT_EQ(part[b], w);
  }

  // Warp-shuffle reduction (float values exactly representable: sums exact).
  const int nf = 100000;
  std::vector<float> f(nf);
  for (int i = 0; i < nf; ++i) f[i] = (float)((i * 31) % 64) * 0.125f - 3.0f;
  float* df;
  CHECK(cudaMalloc(&df, nf * sizeof(float)));
  CHECK(cudaMemcpy(df, f.data(), nf * sizeof(float), cudaMemcpyHostToDevice));
  const int nbf = (nf + kBlock - 1) / kBlock;
  float* dsums;
  int* dmax;
  CHECK(cudaMalloc(&dsums, nbf * sizeof(float)));
  CHECK(cudaMalloc(&dmax, nbf * sizeof(int)));
  k_shfl_reduce<<<nbf, kBlock>>>(df, dsums, dmax, nf);
  CHECK(cudaGetLastError());
  std::vector<float> sums(nbf);
  std::vector<int> maxes(nbf);
  CHECK(cudaMemcpy(sums.data(), dsums, nbf * sizeof(float), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(maxes.data(), dmax, nbf * sizeof(int), cudaMemcpyDeviceToHost));
  for (int b = 0; b < nbf; ++b) {
    double ws = 0;
    int wm = -1000000;
    for (int i = b * kBlock; i < (b + 1) * kBlock && i < nf; ++i) {
      ws += f[i];
      wm = std::max(wm, (int)(f[i] * 8.f));
    }
    EXPECT_MSG(sums[b] == (float)ws, "shfl sum block %d = %g, want %g", b, sums[b], ws);
    EXPECT_EQ(maxes[b], wm);
  }

  // Ballots and shuffles.
  const int nt = 256, nw = nt / 32;
  std::vector<int> bv(nt);
  for (int i = 0; i < nt; ++i) bv[i] = ((i * 13) % 11) - 3 + (i / 32 == 5 ? 100 : 0) - (i / 32 == 6 ? 50 : 0);
  int *dbv, *dcounts, *danyall, *dbcast, *dup;
  unsigned* dballots;
  CHECK(cudaMalloc(&dbv, nt * sizeof(int)));
  CHECK(cudaMalloc(&dballots, nw * sizeof(unsigned)));
  CHECK(cudaMalloc(&dcounts, nw * sizeof(int)));
  CHECK(cudaMalloc(&danyall, nw * sizeof(int)));
  CHECK(cudaMalloc(&dbcast, nt * sizeof(int)));
  CHECK(cudaMalloc(&dup, nt * sizeof(int)));
  CHECK(cudaMemcpy(dbv, bv.data(), nt * sizeof(int), cudaMemcpyHostToDevice));
  k_ballot<<<2, 128>>>(dbv, dballots, dcounts, danyall, dbcast, dup);
  CHECK(cudaGetLastError());
  std::vector<unsigned> ballots(nw);
  std::vector<int> counts(nw), anyall(nw), bcast(nt), up(nt);
  CHECK(cudaMemcpy(ballots.data(), dballots, nw * sizeof(unsigned), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(counts.data(), dcounts, nw * sizeof(int), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(anyall.data(), danyall, nw * sizeof(int), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(bcast.data(), dbcast, nt * sizeof(int), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(up.data(), dup, nt * sizeof(int), cudaMemcpyDeviceToHost));
  for (int w = 0; w < nw; ++w) {
    unsigned wb = 0;
    bool any = false, all = true;
    for (int l = 0; l < 32; ++l) {
      int v = bv[w * 32 + l];
      if (v > 0) wb |= 1u << l;
      any |= v > 50;
      all &= v > -1000;
    }
    EXPECT_MSG(ballots[w] == wb, "ballot warp %d = 0x%08x, want 0x%08x", w, ballots[w], wb);
    EXPECT_EQ(counts[w], __builtin_popcount(wb));
    EXPECT_EQ(anyall[w], (any ? 1 : 0) | (all ? 2 : 0));
    for (int l = 0; l < 32; ++l) {
      EXPECT_EQ(bcast[w * 32 + l], bv[w * 32 + 7]);
      EXPECT_EQ(up[w * 32 + l], bv[w * 32 + (l >= 3 ? l - 3 : l)]);
    }
  }

  // Vote barriers and sub-warp shuffles (one block of 128).
  {
    const int nv = 128;
    std::vector<int> vin(nv), vout(nv * 4);
    for (int i = 0; i < nv; ++i) vin[i] = (i * 5) % 13 - 3;
    int *dvin, *dvout;
    CHECK(cudaMalloc(&dvin, nv * sizeof(int)));
    CHECK(cudaMalloc(&dvout, nv * 4 * sizeof(int)));
    CHECK(cudaMemcpy(dvin, vin.data(), nv * sizeof(int), cudaMemcpyHostToDevice));
    k_votes<<<1, nv>>>(dvin, dvout);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpy(vout.data(), dvout, nv * 4 * sizeof(int), cudaMemcpyDeviceToHost));
    int cnt = 0, all = 1, any = 0;
    for (int v : vin) { cnt += v > 0; all &= v > -100; any |= v > 8; }
    for (int t = 0; t < nv; ++t) {
      EXPECT_EQ(vout[t * 4 + 0], cnt * 4 + all * 2 + any);
      EXPECT_EQ(vout[t * 4 + 1], vin[(t & ~7) + 2]);
      EXPECT_EQ(vout[t * 4 + 2], vin[t ^ 1]);
      unsigned mm = 0;
      for (int l = 0; l < 32; ++l)
        if ((vin[(t & ~31) + l] & 3) == (vin[t] & 3)) mm |= 1u << l;
      EXPECT_MSG((unsigned)vout[t * 4 + 3] == mm, "match_any lane %d = 0x%08x, want 0x%08x", t, (unsigned)vout[t * 4 + 3], mm);
    }
    CHECK(cudaFree(dvin));
    CHECK(cudaFree(dvout));
  }

  // Block scan + offsets = full inclusive scan (n not a multiple of the block).
  const int ns = 100001;
  std::vector<int> sv(ns), so(ns);
  for (int i = 0; i < ns; ++i) sv[i] = (i % 17) - 8;
  const int nbs = (ns + kBlock - 1) / kBlock;
  int *dsv, *dso, *dtot;
  CHECK(cudaMalloc(&dsv, ns * sizeof(int)));
  CHECK(cudaMalloc(&dso, ns * sizeof(int)));
  CHECK(cudaMalloc(&dtot, nbs * sizeof(int)));
  CHECK(cudaMemcpy(dsv, sv.data(), ns * sizeof(int), cudaMemcpyHostToDevice));
  k_block_scan<<<nbs, kBlock>>>(dsv, dso, dtot, ns);
  CHECK(cudaGetLastError());
  k_add_offsets<<<nbs, kBlock>>>(dso, dtot, ns);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(so.data(), dso, ns * sizeof(int), cudaMemcpyDeviceToHost));
  int run = 0;
  for (int i = 0; i < ns; ++i) {
    run += sv[i];
    EXPECT_MSG(so[i] == run, "scan[%d] = %d, want %d", i, so[i], run);
  }

  CHECK(cudaFree(din));
  CHECK(cudaFree(dpart));
  CHECK(cudaFree(df));
  CHECK(cudaFree(dsums));
  CHECK(cudaFree(dmax));
  CHECK(cudaFree(dbv));
  CHECK(cudaFree(dballots));
  CHECK(cudaFree(dcounts));
  CHECK(cudaFree(danyall));
  CHECK(cudaFree(dbcast));
  CHECK(cudaFree(dup));
  CHECK(cudaFree(dsv));
  CHECK(cudaFree(dso));
  CHECK(cudaFree(dtot));
  std::printf("kernels_reduce_scan: ok\n");
  return 0;
}
