// Real CUDA kernels compiled with $NVCC to PTX (compute_75 and compute_90,
// -O3) and run through the CPU backend's PTX engine; results are compared
// with a CPU reference.
#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "test_ptx_harness.h"

using namespace ptxtest;

namespace {

const char* kArchs[] = {"compute_75", "compute_90"};

// All kernels of this file, compiled once per architecture.
const char* kSource = R"CUDA(
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cstdio>
#include <cassert>

extern "C" __global__ void saxpy(int n, float a, const float* x, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

#define TILE 16
extern "C" __global__ void matmul(const float* A, const float* B, float* C, int N) {
  __shared__ float As[TILE][TILE], Bs[TILE][TILE];
  int tx = threadIdx.x, ty = threadIdx.y;
  int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
  float s = 0;
  for (int t = 0; t < N / TILE; ++t) {
    As[ty][tx] = A[row * N + t * TILE + tx];
    Bs[ty][tx] = B[(t * TILE + ty) * N + col];
    __syncthreads();
    for (int k = 0; k < TILE; ++k) s += As[ty][k] * Bs[k][tx];
    __syncthreads();
  }
  C[row * N + col] = s;
}

// Block reduction: shared-memory tree, then warp shuffles, then one atomic per block.
extern "C" __global__ void reduce(const int* in, int n, long long* total, int* perBlock) {
  extern __shared__ int sdata[];
  int tid = threadIdx.x;
  int i = blockIdx.x * blockDim.x * 2 + tid;
  int v = 0;
  if (i < n) v = in[i];
  if (i + blockDim.x < n) v += in[i + blockDim.x];
  sdata[tid] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 32; s >>= 1) {
    if (tid < s) sdata[tid] += sdata[tid + s];
    __syncthreads();
  }
  if (tid < 32) {
    v = sdata[tid] + (blockDim.x > 32 ? sdata[tid + 32] : 0);
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffff, v, off);
    if (tid == 0) {
      perBlock[blockIdx.x] = v;
      atomicAdd((unsigned long long*)total, (unsigned long long)(long long)v);
    }
  }
}

// Per-lane trip counts, early return and a reconverging shuffle afterwards.
extern "C" __global__ void collatz(const unsigned* start, int n, int* steps, int* neighbour) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int count = 0;
  if (i < n) {
    unsigned long long x = start[i];
    while (x != 1) {
      x = (x & 1) ? 3 * x + 1 : x / 2;
      ++count;
      if (count > 100000) break;
    }
  }
  int other = __shfl_xor_sync(0xffffffff, count, 1);
  if (i >= n) return;
  steps[i] = count;
  neighbour[i] = other;
}

extern "C" __global__ void warp_ops(const int* in, int* out) {
  int lane = threadIdx.x & 31;
  int v = in[threadIdx.x];
  int* o = out + (threadIdx.x >> 5) * 32 * 16 + lane;
  o[0 * 32] = __shfl_sync(0xffffffff, v, (lane * 7) & 31);
  o[1 * 32] = __shfl_up_sync(0xffffffff, v, 3);
  o[2 * 32] = __shfl_down_sync(0xffffffff, v, 5);
  o[3 * 32] = __shfl_xor_sync(0xffffffff, v, 6);
  o[4 * 32] = __shfl_sync(0xffffffff, v, 2, 8);
  o[5 * 32] = __shfl_down_sync(0xffffffff, v, 1, 16);
  o[6 * 32] = __ballot_sync(0xffffffff, v & 1);
  o[7 * 32] = __all_sync(0xffffffff, v >= 0);
  o[8 * 32] = __any_sync(0xffffffff, v == 17);
  o[9 * 32] = __match_any_sync(0xffffffff, v % 5);
  int pred;
  o[10 * 32] = __match_all_sync(0xffffffff, v / 1000, &pred);
  o[11 * 32] = pred;
#if __CUDA_ARCH__ >= 800
  o[12 * 32] = __reduce_add_sync(0xffffffff, v);
  o[13 * 32] = __reduce_min_sync(0xffffffff, v);
  o[14 * 32] = __reduce_max_sync(0xffffffff, (unsigned)v);
#else
  int rs = v, rmn = v, rmx = v;
  for (int off = 16; off > 0; off >>= 1) {
    rs += __shfl_xor_sync(0xffffffff, rs, off);
    rmn = min(rmn, __shfl_xor_sync(0xffffffff, rmn, off));
    rmx = max(rmx, __shfl_xor_sync(0xffffffff, rmx, off));
  }
  o[12 * 32] = rs;
  o[13 * 32] = rmn;
  o[14 * 32] = rmx;
#endif
  unsigned active = 0;
  if (lane % 3 == 0) active = __activemask();
  __syncwarp();
  o[15 * 32] = active;
}

extern "C" __global__ void atomics(int* gi, unsigned* gu, float* gf, double* gd, unsigned long long* gl, int* result) {
  __shared__ int si[4];
  __shared__ float sf;
  int t = threadIdx.x + blockIdx.x * blockDim.x;
  if (threadIdx.x < 4) si[threadIdx.x] = 0;
  if (threadIdx.x == 0) sf = 0;
  __syncthreads();
  atomicAdd(&gi[0], 1);
  atomicSub(&gi[1], 2);
  atomicMin(&gi[2], -t);
  atomicMax(&gi[3], t);
  atomicAnd(&gu[0], ~(1u << (t & 31)));
  atomicOr(&gu[1], 1u << (t & 31));
  atomicXor(&gu[2], (unsigned)t);
  atomicInc(&gu[3], 9u);
  atomicDec(&gu[4], 7u);
  atomicExch(&gu[5], 42u);
  int seen = gi[4], assumed;
  do {
    assumed = seen;
    seen = atomicCAS(&gi[4], assumed, assumed + 1);
  } while (seen != assumed);
  atomicAdd(&gf[0], 0.5f);
  atomicAdd(&gd[0], 0.25);
  atomicAdd(&gl[0], 1000000000000ull);
  atomicMax(&gl[1], (unsigned long long)t * 3);
  atomicAdd(&si[t & 3], 1);
  atomicAdd(&sf, 1.0f);
  __syncthreads();
  if (threadIdx.x < 4) atomicAdd(&result[threadIdx.x], si[threadIdx.x]);
  if (threadIdx.x == 0) atomicAdd(&gf[1], sf);
}

extern "C" __global__ void halfs(const __half* a, const __half* b, __half* out, const __nv_bfloat16* c,
                                 __nv_bfloat16* outb, float* outf) {
  int i = threadIdx.x;
  __half x = a[i], y = b[i];
  out[4 * i + 0] = __hadd(x, y);
  out[4 * i + 1] = __hmul(x, y);
  out[4 * i + 2] = __hfma(x, y, x);
  __half2 p = __halves2half2(x, y);
  __half2 q = __hmul2(p, p);
  out[4 * i + 3] = __hsub(__low2half(q), __high2half(q));
  __nv_bfloat16 z = c[i];
  outb[2 * i] = __hmul(z, z);
  outb[2 * i + 1] = __float2bfloat16(__bfloat162float(z) + 1.0f);
  outf[3 * i] = __half2float(x) * 2.0f;
  outf[3 * i + 1] = __hlt(x, y) ? 1.0f : 0.0f;
  outf[3 * i + 2] = __half2float(__float2half_rz(__half2float(x) / 3.0f));
}

extern "C" __global__ void math_f32(const float* x, float* out) {
  int i = threadIdx.x;
  float v = x[i];
  float* o = out + i * 16;
  o[0] = sinf(v); o[1] = cosf(v); o[2] = expf(v); o[3] = logf(fabsf(v) + 1e-3f);
  o[4] = sqrtf(fabsf(v)); o[5] = rsqrtf(fabsf(v) + 1.0f); o[6] = tanhf(v); o[7] = powf(fabsf(v), 1.5f);
  o[8] = __sinf(v); o[9] = __expf(v); o[10] = __fdividef(v, 3.0f); o[11] = erff(v);
  o[12] = fminf(v, 0.5f); o[13] = fmaxf(v, -0.5f); o[14] = floorf(v * 3.3f); o[15] = atan2f(v, 0.7f);
}

extern "C" __global__ void math_f64(const double* x, double* out) {
  int i = threadIdx.x;
  double v = x[i];
  double* o = out + i * 8;
  o[0] = sin(v); o[1] = exp(v); o[2] = log(fabs(v) + 1e-3); o[3] = sqrt(fabs(v));
  o[4] = v / 7.0; o[5] = pow(fabs(v), 0.3); o[6] = fma(v, v, 1.0); o[7] = rint(v * 10.0);
}

extern "C" __global__ void int_ops(const unsigned* a, const unsigned* b, unsigned* out, long long* out64) {
  int i = threadIdx.x;
  unsigned x = a[i], y = b[i];
  int sx = (int)x, sy = (int)y;
  unsigned* o = out + i * 16;
  o[0] = __popc(x); o[1] = __clz(x); o[2] = __brev(x); o[3] = __ffs(sx);
  o[4] = __byte_perm(x, y, 0x5173); o[5] = __funnelshift_l(x, y, y & 63); o[6] = __funnelshift_r(x, y, y);
  o[7] = __umulhi(x, y); o[8] = (unsigned)__mulhi(sx, sy); o[9] = __sad(sx, sy, 7u);
  o[10] = (unsigned)__dp4a(sx, sy, 5); o[11] = y ? x / y : 0; o[12] = y ? x % y : 0;
  o[13] = sy ? (unsigned)(sx / sy) : 0; o[14] = sy ? (unsigned)(sx % sy) : 0; o[15] = (x << (y & 31)) ^ (x >> 3);
  long long lx = (long long)x * 77777 - (long long)y * 99999;
  long long ly = (long long)y + 3;
  out64[i * 4 + 0] = lx / ly;
  out64[i * 4 + 1] = lx % ly;
  out64[i * 4 + 2] = (long long)__umul64hi((unsigned long long)lx, 0x9E3779B97F4A7C15ull);
  out64[i * 4 + 3] = __popcll((unsigned long long)lx) + __clzll(lx) * 100;
}

extern "C" __global__ void conversions(const float* f, const double* d, int* oi, float* of, unsigned* ou) {
  int i = threadIdx.x;
  float v = f[i];
  double w = d[i];
  oi[i * 8 + 0] = __float2int_rn(v); oi[i * 8 + 1] = __float2int_rz(v);
  oi[i * 8 + 2] = __float2int_ru(v); oi[i * 8 + 3] = __float2int_rd(v);
  oi[i * 8 + 4] = (int)__float2uint_rn(v); oi[i * 8 + 5] = (int)(signed char)(int)v;
  oi[i * 8 + 6] = __double2int_rz(w); oi[i * 8 + 7] = (int)__float2ll_rn(v * 1e10f);
  of[i * 8 + 0] = __int2float_rz(i * 16777217); of[i * 8 + 1] = __int2float_ru(i * 16777217);
  of[i * 8 + 2] = __double2float_rz(w); of[i * 8 + 3] = __double2float_ru(w);
  of[i * 8 + 4] = __double2float_rd(w); of[i * 8 + 5] = __saturatef(v);
  of[i * 8 + 6] = __uint2float_rn(0xffffffffu - i); of[i * 8 + 7] = __fadd_rz(v, 1e-8f);
  ou[i] = __float_as_uint(__fmul_ru(v, 1.1f));
}

__device__ __noinline__ float scale(float x, int k) { return x * k + 0.5f; }
struct Pair { int a; float b; };
__device__ __noinline__ Pair makePair(int v) { Pair p; p.a = v * 3; p.b = v * 0.25f; return p; }
__device__ __noinline__ int depthSum(int v) { return v > 4 ? v + 1 : v - 1; }
__device__ __noinline__ void store(float* p, float v) { *p = v; }

extern "C" __global__ void calls(float* out, int* iout) {
  __shared__ float sh[64];
  int i = threadIdx.x;
  Pair p = makePair(i);
  float v = scale(p.b, p.a);
  if (i & 1) v = scale(v, 2);
  iout[i] = depthSum(i);
  store(&sh[i], v);
  __syncthreads();
  store(&out[i], sh[63 - i]);
}

extern "C" __global__ void local_array(const int* idx, int* out) {
  int a[32];
  int t = threadIdx.x;
  for (int k = 0; k < 32; ++k) a[k] = k * t;
  int s = 0;
  for (int k = 0; k < 8; ++k) s += a[idx[(t + k) & 63] & 31];
  out[t] = s;
}

__device__ int table[8] = {3, 1, 4, 1, 5, 9, 2, 6};
__device__ float counterVar;
__constant__ int cscale[2] = {10, 100};
extern "C" __global__ void globals_kernel(int* out) {
  int t = threadIdx.x;
  out[t] = table[t & 7] * cscale[t & 1];
  if (t == 0) counterVar += 1.5f;
}

extern "C" __global__ void indexing3d(int* out) {
  int bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  int tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  int threads = blockDim.x * blockDim.y * blockDim.z;
  out[bx * threads + tx] = (blockIdx.z << 24) | (blockIdx.y << 16) | (blockIdx.x << 8) |
                           (threadIdx.z << 6) | (threadIdx.y << 3) | threadIdx.x;
}

extern "C" __global__ void sync_reductions(const int* in, int* out) {
  int v = in[threadIdx.x + blockIdx.x * blockDim.x];
  int c = __syncthreads_count(v > 10);
  int a = __syncthreads_and(v >= 0);
  int o = __syncthreads_or(v == 77);
  if (threadIdx.x == 0) {
    out[blockIdx.x * 3] = c;
    out[blockIdx.x * 3 + 1] = a;
    out[blockIdx.x * 3 + 2] = o;
  }
}

extern "C" __global__ void printer(int n) {
  int t = threadIdx.x;
  if (t < n) printf("block %d thread %d value %5.2f hex %x str %s char %c long %lld\n", blockIdx.x, t, t * 1.5, t * 255,
                    "ok", 'A' + t, 1234567890123ll * t);
}

extern "C" __global__ void asserter(int limit) {
  assert(threadIdx.x < limit);
}

extern "C" __global__ void trapper(int* flag) {
  if (threadIdx.x == 5) __trap();
  flag[threadIdx.x] = 1;
}

extern "C" __global__ void oob(int* p, long long offset) {
  p[threadIdx.x + offset] = 1;
}

extern "C" __global__ void heap(int* out) {
  int* mem = (int*)malloc(4 * sizeof(int));
  if (!mem) { out[threadIdx.x] = -1; return; }
  for (int k = 0; k < 4; ++k) mem[k] = threadIdx.x * k;
  out[threadIdx.x] = mem[0] + mem[1] + mem[2] + mem[3];
  free(mem);
}

extern "C" __global__ void clocks(long long* out) {
  long long a = clock64();
  long long g0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(g0));
  float x = 0;
  for (int k = 0; k < 1000; ++k) x += sinf(k);
  long long b = clock64();
  out[0] = b - a;
  out[1] = g0;
  out[2] = (long long)x;
}

extern "C" __global__ void spinlock(int* lock, int* counter) {
  // Every lane takes the lock in turn: needs independent thread scheduling.
  bool done = false;
  while (!done) {
    if (atomicCAS(lock, 0, 1) == 0) {
      *(volatile int*)counter = *(volatile int*)counter + 1;
      __threadfence();
      atomicExch(lock, 0);
      done = true;
    }
  }
}

struct Shape {
  __device__ virtual float area(float x) const = 0;
};
struct Square : Shape {
  __device__ float area(float x) const override { return x * x; }
};
struct Circle : Shape {
  __device__ float area(float x) const override { return 3.0f * x * x; }
};
typedef float (*unary_t)(float);
__device__ float twice(float x) { return 2 * x; }
__device__ float thrice(float x) { return 3 * x; }
__device__ unary_t fntable[2] = {twice, thrice};
extern "C" __global__ void virtual_calls(float* out) {
  Square s;
  Circle c;
  Shape* p = (threadIdx.x & 1) ? (Shape*)&s : (Shape*)&c;
  out[threadIdx.x] = p->area(threadIdx.x) + fntable[(threadIdx.x >> 1) & 1](threadIdx.x);
}

extern "C" __global__ void generic_shared(float* out) {
  __shared__ float s[32];
  float* p = (threadIdx.x & 1) ? &s[threadIdx.x] : &out[32 + threadIdx.x];
  *p = threadIdx.x * 2.0f;
  __syncthreads();
  out[threadIdx.x] = (threadIdx.x & 1) ? s[threadIdx.x] : out[32 + threadIdx.x];
  out[64 + threadIdx.x] = __isShared(p) ? 1.0f : 0.0f;
}
)CUDA";

std::string ptxFor(const char* arch) { return compileCu(kSource, arch); }

struct Fixture {
  Device d;
  modnn_module* m = nullptr;
  explicit Fixture(const char* arch) {
    std::string ptx = ptxFor(arch);
    REQUIRE(!ptx.empty());
    m = d.loadOk(ptx);
  }
};

float ulpDiff(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if ((ia < 0) != (ib < 0)) return a == b ? 0 : 1e9f;
  return float(std::abs(int64_t(ia) - int64_t(ib)));
}

}  // namespace

TEST_CASE("saxpy", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    REQUIRE(f.d.supports(f.m, "saxpy"));
    const int n = 10007;
    std::vector<float> x(n), y(n);
    for (int i = 0; i < n; ++i) {
      x[i] = float(i) * 0.5f;
      y[i] = float(n - i);
    }
    uint64_t dx = f.d.upload(x), dy = f.d.upload(y);
    Params p;
    p.add(n).add(2.5f).add(dx).add(dy);
    REQUIRE(f.d.launch(f.m, "saxpy", {uint32_t((n + 255) / 256)}, {256}, p) == MODNN_OK);
    auto out = f.d.download<float>(dy, n);
    for (int i = 0; i < n; ++i) REQUIRE(out[i] == std::fma(2.5f, x[i], y[i]));
  }
}

TEST_CASE("shared-memory tiled matmul", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    const int N = 64;
    std::vector<float> A(N * N), B(N * N);
    for (int i = 0; i < N * N; ++i) {
      A[i] = float((i * 7) % 13) - 6;
      B[i] = float((i * 5) % 11) - 5;
    }
    uint64_t dA = f.d.upload(A), dB = f.d.upload(B), dC = f.d.alloc(N * N * 4);
    Params p;
    p.add(dA).add(dB).add(dC).add(N);
    REQUIRE(f.d.launch(f.m, "matmul", {N / 16, N / 16}, {16, 16}, p) == MODNN_OK);
    auto C = f.d.download<float>(dC, N * N);
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) {
        float s = 0;
        for (int k = 0; k < N; ++k) s += A[i * N + k] * B[k * N + j];
        REQUIRE(C[i * N + j] == s);
      }
  }
}

TEST_CASE("reduction with shared memory, shuffles and 64-bit atomics", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    const int n = 100000, threads = 256, blocks = (n + threads * 2 - 1) / (threads * 2);
    std::vector<int> in(n);
    std::mt19937 rng(7);
    for (int& v : in) v = int(rng() % 2001) - 1000;
    uint64_t din = f.d.upload(in), dtotal = f.d.upload(std::vector<long long>{0}), dper = f.d.alloc(blocks * 4);
    Params p;
    p.add(din).add(n).add(dtotal).add(dper);
    REQUIRE(f.d.launch(f.m, "reduce", {uint32_t(blocks)}, {threads}, p, threads * 4) == MODNN_OK);
    long long expect = std::accumulate(in.begin(), in.end(), 0ll);
    REQUIRE(f.d.download<long long>(dtotal, 1)[0] == expect);
    auto per = f.d.download<int>(dper, blocks);
    for (int b = 0; b < blocks; ++b) {
      int s = 0;
      for (int k = b * threads * 2; k < std::min(n, (b + 1) * threads * 2); ++k) s += in[k];
      REQUIRE(per[b] == s);
    }
  }
}

TEST_CASE("divergent loops, early return and reconvergence", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    const int n = 1000;
    std::vector<unsigned> start(n);
    for (int i = 0; i < n; ++i) start[i] = unsigned(i + 1);
    uint64_t ds = f.d.upload(start), dsteps = f.d.alloc(n * 4), dnb = f.d.alloc(n * 4);
    Params p;
    p.add(ds).add(n).add(dsteps).add(dnb);
    REQUIRE(f.d.launch(f.m, "collatz", {(n + 127) / 128}, {128}, p) == MODNN_OK);
    auto steps = f.d.download<int>(dsteps, n);
    auto nb = f.d.download<int>(dnb, n);
    auto ref = [&](int i) {
      if (i >= n) return 0;
      unsigned long long x = start[i];
      int c = 0;
      while (x != 1) {
        x = (x & 1) ? 3 * x + 1 : x / 2;
        ++c;
      }
      return c;
    };
    for (int i = 0; i < n; ++i) {
      REQUIRE(steps[i] == ref(i));
      REQUIRE(nb[i] == ref(i ^ 1));
    }
  }
}

TEST_CASE("warp shuffles, votes, match, redux and activemask", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    const int threads = 64;
    std::vector<int> in(threads);
    for (int i = 0; i < threads; ++i) in[i] = (i * 37 + 11) % 97 + (i == 40 ? 17 - ((40 * 37 + 11) % 97) : 0);
    uint64_t din = f.d.upload(in), dout = f.d.alloc(threads * 16 * 4);
    Params p;
    p.add(din).add(dout);
    REQUIRE(f.d.launch(f.m, "warp_ops", {1}, {threads}, p) == MODNN_OK);
    auto out = f.d.download<int>(dout, threads * 16);
    for (int w = 0; w < 2; ++w) {
      const int* v = in.data() + 32 * w;
      auto at = [&](int k, int lane) { return out[w * 32 * 16 + k * 32 + lane]; };
      unsigned ballot = 0;
      int sum = 0, mn = v[0], mx = v[0];
      bool any17 = false;
      for (int l = 0; l < 32; ++l) {
        ballot |= unsigned(v[l] & 1) << l;
        sum += v[l];
        mn = std::min(mn, v[l]);
        mx = std::max(mx, v[l]);
        any17 |= v[l] == 17;
      }
      for (int l = 0; l < 32; ++l) {
        INFO("warp " << w << " lane " << l);
        REQUIRE(at(0, l) == v[(l * 7) & 31]);
        REQUIRE(at(1, l) == (l >= 3 ? v[l - 3] : v[l]));
        REQUIRE(at(2, l) == (l + 5 < 32 ? v[l + 5] : v[l]));
        REQUIRE(at(3, l) == v[l ^ 6]);
        REQUIRE(at(4, l) == v[(l & ~7) + 2]);
        REQUIRE(at(5, l) == ((l & 15) + 1 < 16 ? v[l + 1] : v[l]));
        REQUIRE(unsigned(at(6, l)) == ballot);
        REQUIRE(at(7, l) == 1);
        REQUIRE(at(8, l) == (any17 ? 1 : 0));
        unsigned match = 0;
        for (int k = 0; k < 32; ++k) match |= unsigned(v[k] % 5 == v[l] % 5) << k;
        REQUIRE(unsigned(at(9, l)) == match);
        bool allSame = true;
        for (int k = 0; k < 32; ++k) allSame &= v[k] / 1000 == v[0] / 1000;
        REQUIRE(unsigned(at(10, l)) == (allSame ? 0xffffffffu : 0u));
        REQUIRE(at(11, l) == (allSame ? 1 : 0));
        REQUIRE(at(12, l) == sum);
        REQUIRE(at(13, l) == mn);
        REQUIRE(at(14, l) == mx);
        unsigned expectActive = 0;
        for (int k = 0; k < 32; k += 3) expectActive |= 1u << k;
        REQUIRE(unsigned(at(15, l)) == (l % 3 == 0 ? expectActive : 0u));
      }
    }
  }
}

TEST_CASE("atomics on global and shared memory", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    const int blocks = 8, threads = 128, total = blocks * threads;
    uint64_t gi = f.d.upload(std::vector<int>{0, 0, 0, 0, 0});
    uint64_t gu = f.d.upload(std::vector<unsigned>{0xffffffffu, 0, 0, 0, 0, 0});
    uint64_t gf = f.d.upload(std::vector<float>{0, 0});
    uint64_t gd = f.d.upload(std::vector<double>{0});
    uint64_t gl = f.d.upload(std::vector<unsigned long long>{0, 0});
    uint64_t res = f.d.upload(std::vector<int>{0, 0, 0, 0});
    Params p;
    p.add(gi).add(gu).add(gf).add(gd).add(gl).add(res);
    REQUIRE(f.d.launch(f.m, "atomics", {blocks}, {threads}, p) == MODNN_OK);
    auto vi = f.d.download<int>(gi, 5);
    auto vu = f.d.download<unsigned>(gu, 6);
    auto vf = f.d.download<float>(gf, 2);
    auto vd = f.d.download<double>(gd, 1);
    auto vl = f.d.download<unsigned long long>(gl, 2);
    auto vr = f.d.download<int>(res, 4);
    REQUIRE(vi[0] == total);
    REQUIRE(vi[1] == -2 * total);
    REQUIRE(vi[2] == -(total - 1));
    REQUIRE(vi[3] == total - 1);
    REQUIRE(vu[0] == 0u);
    REQUIRE(vu[1] == 0xffffffffu);
    unsigned x = 0;
    for (int t = 0; t < total; ++t) x ^= unsigned(t);
    REQUIRE(vu[2] == x);
    REQUIRE(vu[3] == unsigned(total % 10));
    unsigned dec = 0;
    for (int t = 0; t < total; ++t) dec = (dec == 0 || dec > 7) ? 7 : dec - 1;
    REQUIRE(vu[4] == dec);
    REQUIRE(vu[5] == 42u);
    REQUIRE(vi[4] == total);  // one CAS-loop increment per thread
    REQUIRE(vf[0] == 0.5f * total);
    REQUIRE(vf[1] == float(total));
    REQUIRE(vd[0] == 0.25 * total);
    REQUIRE(vl[0] == 1000000000000ull * total);
    REQUIRE(vl[1] == 3ull * (total - 1));
    for (int k = 0; k < 4; ++k) REQUIRE(vr[k] == total / 4);
  }
}

namespace {
uint16_t h(float v) {
  // host float -> half (round to nearest even) for inputs
  uint32_t b;
  std::memcpy(&b, &v, 4);
  uint32_t sign = (b >> 16) & 0x8000;
  int exp = int((b >> 23) & 0xff) - 127 + 15;
  uint32_t man = b & 0x7fffff;
  if (exp <= 0) return uint16_t(sign);
  uint32_t r = sign | (uint32_t(exp) << 10) | (man >> 13);
  uint32_t rest = man & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (r & 1))) ++r;
  return uint16_t(r);
}
float hf(uint16_t x) {
  uint32_t sign = uint32_t(x & 0x8000) << 16, exp = (x >> 10) & 0x1f, man = x & 0x3ff;
  if (exp == 0) return (sign ? -1.f : 1.f) * std::ldexp(float(man), -24);
  uint32_t b = sign | ((exp + 112) << 23) | (man << 13);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
}  // namespace

TEST_CASE("half and bfloat16 arithmetic", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    const int n = 32;
    std::vector<uint16_t> a(n), b(n), c(n);
    for (int i = 0; i < n; ++i) {
      a[i] = h(0.37f * float(i) - 3.1f);
      b[i] = h(1.25f - 0.11f * float(i));
      float cv = 1.5f + 0.3f * float(i);
      uint32_t bits;
      std::memcpy(&bits, &cv, 4);
      c[i] = uint16_t(bits >> 16);
    }
    uint64_t da = f.d.upload(a), db = f.d.upload(b), dout = f.d.alloc(n * 8), dc = f.d.upload(c),
             doutb = f.d.alloc(n * 4), doutf = f.d.alloc(n * 12);
    Params p;
    p.add(da).add(db).add(dout).add(dc).add(doutb).add(doutf);
    REQUIRE(f.d.launch(f.m, "halfs", {1}, {n}, p) == MODNN_OK);
    auto out = f.d.download<uint16_t>(dout, n * 4);
    auto outb = f.d.download<uint16_t>(doutb, n * 2);
    auto outf = f.d.download<float>(doutf, n * 3);
    for (int i = 0; i < n; ++i) {
      INFO("i " << i);
      float x = hf(a[i]), y = hf(b[i]);
      REQUIRE(out[4 * i + 0] == h(x + y));
      REQUIRE(out[4 * i + 1] == h(x * y));
      REQUIRE(out[4 * i + 2] == h(float(double(x) * y + x)));
      REQUIRE(out[4 * i + 3] == h(hf(h(x * x)) - hf(h(y * y))));
      uint32_t zb = uint32_t(c[i]) << 16;
      float z;
      std::memcpy(&z, &zb, 4);
      auto toBf = [](float v) {
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        uint32_t r = bits >> 16, rest = bits & 0xffff;
        if (rest > 0x8000 || (rest == 0x8000 && (r & 1))) ++r;
        return uint16_t(r);
      };
      REQUIRE(outb[2 * i] == toBf(z * z));
      REQUIRE(outb[2 * i + 1] == toBf(z + 1.0f));
      REQUIRE(outf[3 * i] == x * 2.0f);
      REQUIRE(outf[3 * i + 1] == (x < y ? 1.0f : 0.0f));
      float third = x / 3.0f;
      float rz = hf(h(third));
      if (std::fabs(rz) > std::fabs(third)) rz = hf(uint16_t(h(third) - 1));
      REQUIRE(outf[3 * i + 2] == rz);
    }
  }
}

TEST_CASE("single- and double-precision math within tolerance", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    const int n = 64;
    std::vector<float> x(n);
    std::vector<double> xd(n);
    for (int i = 0; i < n; ++i) {
      x[i] = -3.0f + 0.1f * float(i);
      xd[i] = -3.0 + 0.1 * i;
    }
    uint64_t dx = f.d.upload(x), dout = f.d.alloc(n * 16 * 4), dxd = f.d.upload(xd), doutd = f.d.alloc(n * 8 * 8);
    Params p;
    p.add(dx).add(dout);
    REQUIRE(f.d.launch(f.m, "math_f32", {1}, {n}, p) == MODNN_OK);
    Params pd;
    pd.add(dxd).add(doutd);
    REQUIRE(f.d.launch(f.m, "math_f64", {1}, {n}, pd) == MODNN_OK);
    auto o = f.d.download<float>(dout, n * 16);
    auto od = f.d.download<double>(doutd, n * 8);
    for (int i = 0; i < n; ++i) {
      float v = x[i];
      INFO("v " << v);
      float ref[16] = {std::sin(v), std::cos(v), std::exp(v), std::log(std::fabs(v) + 1e-3f),
                       std::sqrt(std::fabs(v)), 1 / std::sqrt(std::fabs(v) + 1), std::tanh(v),
                       std::pow(std::fabs(v), 1.5f), std::sin(v), std::exp(v), v / 3.0f, std::erf(v),
                       std::fmin(v, 0.5f), std::fmax(v, -0.5f), std::floor(v * 3.3f), std::atan2(v, 0.7f)};
      for (int k = 0; k < 16; ++k) {
        INFO("k " << k << " got " << o[i * 16 + k] << " want " << ref[k]);
        if (k == 8 || k == 9)
          REQUIRE(std::fabs(o[i * 16 + k] - ref[k]) <= 1e-5f * std::max(1.0f, std::fabs(ref[k])) * 16);
        else
          REQUIRE(ulpDiff(o[i * 16 + k], ref[k]) <= 4);
      }
      double w = xd[i];
      double refd[8] = {std::sin(w), std::exp(w), std::log(std::fabs(w) + 1e-3), std::sqrt(std::fabs(w)),
                        w / 7.0, std::pow(std::fabs(w), 0.3), std::fma(w, w, 1.0), std::rint(w * 10.0)};
      for (int k = 0; k < 8; ++k) {
        INFO("f64 k " << k);
        REQUIRE(std::fabs(od[i * 8 + k] - refd[k]) <= 1e-15 * std::max(1.0, std::fabs(refd[k])) * 4);
      }
    }
  }
}

TEST_CASE("integer intrinsics, division and 64-bit arithmetic", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    const int n = 64;
    std::vector<unsigned> a(n), b(n);
    std::mt19937 rng(3);
    for (int i = 0; i < n; ++i) {
      a[i] = rng();
      b[i] = i % 7 == 0 ? 0 : (i % 5 == 0 ? 0xffffffffu : rng() >> (i % 20));
    }
    a[1] = 0x80000000u;
    b[1] = 0xffffffffu;
    uint64_t da = f.d.upload(a), db = f.d.upload(b), dout = f.d.alloc(n * 64), d64 = f.d.alloc(n * 32);
    Params p;
    p.add(da).add(db).add(dout).add(d64);
    REQUIRE(f.d.launch(f.m, "int_ops", {1}, {n}, p) == MODNN_OK);
    auto o = f.d.download<unsigned>(dout, n * 16);
    auto o64 = f.d.download<long long>(d64, n * 4);
    for (int i = 0; i < n; ++i) {
      unsigned x = a[i], y = b[i];
      int sx = int(x), sy = int(y);
      INFO("i " << i << " x " << x << " y " << y);
      unsigned brev = 0;
      for (int k = 0; k < 32; ++k) brev |= ((x >> k) & 1) << (31 - k);
      auto perm = [&](unsigned s) {
        uint64_t t = uint64_t(x) | uint64_t(y) << 32;
        unsigned r = 0;
        for (int k = 0; k < 4; ++k) r |= unsigned((t >> (8 * ((s >> (4 * k)) & 7))) & 0xff) << (8 * k);
        return r;
      };
      uint64_t fun = uint64_t(x) | uint64_t(y) << 32;
      unsigned fl = unsigned((fun << (y & 31)) >> 32);
      unsigned fr = unsigned(fun >> (y & 31));
      int dp = 5;
      for (int k = 0; k < 4; ++k) dp += int(int8_t(x >> (8 * k))) * int(int8_t(y >> (8 * k)));
      unsigned ref[16] = {unsigned(__builtin_popcount(x)), x ? unsigned(__builtin_clz(x)) : 32u, brev,
                          sx ? unsigned(__builtin_ffs(sx)) : 0u, perm(0x5173), fl, fr,
                          unsigned((uint64_t(x) * y) >> 32), unsigned(uint32_t((int64_t(sx) * sy) >> 32)),
                          unsigned(std::abs(int64_t(sx) - sy)) + 7u, unsigned(dp), y ? x / y : 0, y ? x % y : 0,
                          sy ? (sx == INT32_MIN && sy == -1 ? unsigned(INT32_MIN) : unsigned(sx / sy)) : 0,
                          sy ? (sy == -1 ? 0u : unsigned(sx % sy)) : 0, (x << (y & 31)) ^ (x >> 3)};
      for (int k = 0; k < 16; ++k) {
        INFO("k " << k);
        REQUIRE(o[i * 16 + k] == ref[k]);
      }
      long long lx = (long long)x * 77777 - (long long)y * 99999, ly = (long long)y + 3;
      REQUIRE(o64[i * 4 + 0] == lx / ly);
      REQUIRE(o64[i * 4 + 1] == lx % ly);
      REQUIRE(uint64_t(o64[i * 4 + 2]) == uint64_t((unsigned __int128)uint64_t(lx) * 0x9E3779B97F4A7C15ull >> 64));
      REQUIRE(o64[i * 4 + 3] == __builtin_popcountll(uint64_t(lx)) + (lx ? __builtin_clzll(uint64_t(lx)) : 64) * 100);
    }
  }
}

TEST_CASE("conversions with rounding modes and saturation", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    std::vector<float> fv = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.7f, 3.2f, 1e10f, -1e10f, NAN, 0.99f, 1.01f,
                             -0.0f, 7.5f, 255.6f, -129.4f};
    std::vector<double> dv = {1.0 / 3, -1.0 / 3, 1e40, 0.1, 3.4028235677973366e38, 1e-50, -2.5, 2.5,
                              1.0000001, 2.0 / 3, 1e300, -1e300, 123.456, 5e-324, 0, -7.77};
    const int n = int(fv.size());
    uint64_t df = f.d.upload(fv), dd = f.d.upload(dv), doi = f.d.alloc(n * 32), dof = f.d.alloc(n * 32),
             dou = f.d.alloc(n * 4);
    Params p;
    p.add(df).add(dd).add(doi).add(dof).add(dou);
    REQUIRE(f.d.launch(f.m, "conversions", {1}, {uint32_t(n)}, p) == MODNN_OK);
    auto oi = f.d.download<int>(doi, n * 8);
    auto of = f.d.download<float>(dof, n * 8);
    auto ou = f.d.download<unsigned>(dou, n);
    auto sat = [](double v, double lo, double hi) { return std::isnan(v) ? 0.0 : std::min(std::max(v, lo), hi); };
    for (int i = 0; i < n; ++i) {
      float v = fv[i];
      double w = dv[i];
      INFO("i " << i << " v " << v << " w " << w);
      REQUIRE(oi[i * 8 + 0] == int(sat(std::nearbyint(v), INT32_MIN, INT32_MAX)));
      REQUIRE(oi[i * 8 + 1] == int(sat(std::trunc(v), INT32_MIN, INT32_MAX)));
      REQUIRE(oi[i * 8 + 2] == int(sat(std::ceil(v), INT32_MIN, INT32_MAX)));
      REQUIRE(oi[i * 8 + 3] == int(sat(std::floor(v), INT32_MIN, INT32_MAX)));
      REQUIRE(unsigned(oi[i * 8 + 4]) == unsigned(sat(std::nearbyint(v), 0, 4294967295.0)));
      REQUIRE(oi[i * 8 + 6] == int(sat(std::trunc(w), INT32_MIN, INT32_MAX)));
      REQUIRE(oi[i * 8 + 7] == int(int64_t(sat(std::nearbyint(double(v * 1e10f)), -9.2233720368547758e18,
                                                9.2233720368547758e18))));
      int iv = i * 16777217;
      // Reference directed rounding through the host FPU.
      auto rounded = [](int mode, auto fn) {
        std::fesetround(mode);
        volatile auto r = fn();
        std::fesetround(FE_TONEAREST);
        return r;
      };
      volatile int viv = iv;
      volatile double vw = w;
      REQUIRE(of[i * 8 + 0] == rounded(FE_TOWARDZERO, [&] { return float(viv); }));
      REQUIRE(of[i * 8 + 1] == rounded(FE_UPWARD, [&] { return float(viv); }));
      REQUIRE(ulpDiff(of[i * 8 + 2], rounded(FE_TOWARDZERO, [&] { return float(vw); })) == 0);
      REQUIRE(ulpDiff(of[i * 8 + 3], rounded(FE_UPWARD, [&] { return float(vw); })) == 0);
      REQUIRE(ulpDiff(of[i * 8 + 4], rounded(FE_DOWNWARD, [&] { return float(vw); })) == 0);
      REQUIRE(ulpDiff(of[i * 8 + 5], float(sat(v, 0, 1))) == 0);
      REQUIRE(of[i * 8 + 6] == float(0xffffffffu - unsigned(i)));
      volatile float vv = v;
      REQUIRE(ulpDiff(of[i * 8 + 7], rounded(FE_TOWARDZERO, [&] { return vv + 1e-8f; })) == 0);
      float mu = rounded(FE_UPWARD, [&] { return vv * 1.1f; });
      uint32_t mub;
      std::memcpy(&mub, &mu, 4);
      if (!std::isnan(mu)) REQUIRE(ou[i] == mub);
    }
  }
}

TEST_CASE("non-inlined device functions, struct returns and generic pointers", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    REQUIRE(f.d.supports(f.m, "calls"));
    uint64_t dout = f.d.alloc(64 * 4), diout = f.d.alloc(64 * 4);
    Params p;
    p.add(dout).add(diout);
    REQUIRE(f.d.launch(f.m, "calls", {1}, {64}, p) == MODNN_OK);
    auto out = f.d.download<float>(dout, 64);
    auto iout = f.d.download<int>(diout, 64);
    auto val = [](int i) {
      float v = float(i) * 0.25f * float(i * 3) + 0.5f;
      if (i & 1) v = v * 2 + 0.5f;
      return v;
    };
    for (int i = 0; i < 64; ++i) {
      REQUIRE(iout[i] == (i > 4 ? i + 1 : i - 1));
      REQUIRE(out[i] == val(63 - i));
    }
  }
}

TEST_CASE("local arrays with dynamic indexing", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    std::vector<int> idx(64);
    for (int i = 0; i < 64; ++i) idx[i] = (i * 13 + 5) % 41;
    uint64_t didx = f.d.upload(idx), dout = f.d.alloc(96 * 4);
    Params p;
    p.add(didx).add(dout);
    REQUIRE(f.d.launch(f.m, "local_array", {1}, {96}, p) == MODNN_OK);
    auto out = f.d.download<int>(dout, 96);
    for (int t = 0; t < 96; ++t) {
      int s = 0;
      for (int k = 0; k < 8; ++k) s += (idx[(t + k) & 63] & 31) * t;
      REQUIRE(out[t] == s);
    }
  }
}

TEST_CASE("module variables: private storage and client-allocated symbols", "[ptx][kernel]") {
  REQUIRE_NVCC();
  std::string ptx = ptxFor("compute_75");
  REQUIRE(!ptx.empty());
  SECTION("without symbols the engine keeps the initialisers itself") {
    Device d;
    modnn_module* m = d.loadOk(ptx);
    uint64_t dout = d.alloc(16 * 4);
    Params p;
    p.add(dout);
    REQUIRE(d.launch(m, "globals_kernel", {1}, {16}, p) == MODNN_OK);
    auto out = d.download<int>(dout, 16);
    int table[8] = {3, 1, 4, 1, 5, 9, 2, 6};
    for (int t = 0; t < 16; ++t) REQUIRE(out[t] == table[t & 7] * (t & 1 ? 100 : 10));
  }
  SECTION("client-allocated variables are used at their addresses") {
    Device d;
    std::vector<int> table = {1, 2, 3, 4, 5, 6, 7, 8};
    uint64_t vt = d.upload(table), vc = d.upload(std::vector<float>{10.0f}), vs = d.upload(std::vector<int>{2, 3});
    std::vector<modnn_module_symbol> syms = {{"table", vt, 32}, {"counterVar", vc, 4}, {"cscale", vs, 8}};
    modnn_module* m = d.loadOk(ptx, syms);
    uint64_t dout = d.alloc(16 * 4);
    Params p;
    p.add(dout);
    REQUIRE(d.launch(m, "globals_kernel", {1}, {16}, p) == MODNN_OK);
    auto out = d.download<int>(dout, 16);
    for (int t = 0; t < 16; ++t) REQUIRE(out[t] == table[t & 7] * (t & 1 ? 3 : 2));
    REQUIRE(d.download<float>(vc, 1)[0] == 11.5f);
  }
}

TEST_CASE("3D grids and blocks", "[ptx][kernel]") {
  REQUIRE_NVCC();
  Fixture f("compute_90");
  Dim grid{3, 2, 2}, block{4, 3, 2};
  int threads = 24, blocks = 12;
  uint64_t dout = f.d.alloc(threads * blocks * 4);
  Params p;
  p.add(dout);
  REQUIRE(f.d.launch(f.m, "indexing3d", grid, block, p) == MODNN_OK);
  auto out = f.d.download<int>(dout, threads * blocks);
  for (uint32_t bz = 0; bz < 2; ++bz)
    for (uint32_t by = 0; by < 2; ++by)
      for (uint32_t bx = 0; bx < 3; ++bx)
        for (uint32_t tz = 0; tz < 2; ++tz)
          for (uint32_t ty = 0; ty < 3; ++ty)
            for (uint32_t tx = 0; tx < 4; ++tx) {
              int b = int(bx + 3 * (by + 2 * bz)), t = int(tx + 4 * (ty + 3 * tz));
              REQUIRE(out[b * threads + t] == int((bz << 24) | (by << 16) | (bx << 8) | (tz << 6) | (ty << 3) | tx));
            }
}

TEST_CASE("__syncthreads_count/and/or", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    std::vector<int> in(3 * 96);
    for (int i = 0; i < int(in.size()); ++i) in[i] = (i * 7) % 23 - (i == 100 ? 50 : 0);
    in[200] = 77;
    uint64_t din = f.d.upload(in), dout = f.d.alloc(9 * 4);
    Params p;
    p.add(din).add(dout);
    REQUIRE(f.d.launch(f.m, "sync_reductions", {3}, {96}, p) == MODNN_OK);
    auto out = f.d.download<int>(dout, 9);
    for (int b = 0; b < 3; ++b) {
      int c = 0, a = 1, o = 0;
      for (int t = 0; t < 96; ++t) {
        int v = in[b * 96 + t];
        c += v > 10;
        a &= v >= 0;
        o |= v == 77;
      }
      REQUIRE(out[b * 3] == c);
      REQUIRE((out[b * 3 + 1] != 0) == (a != 0));
      REQUIRE((out[b * 3 + 2] != 0) == (o != 0));
    }
  }
}

TEST_CASE("device printf reaches stdout in block order at the end of the launch", "[ptx][kernel]") {
  REQUIRE_NVCC();
  Fixture f("compute_75");
  Params p;
  p.add(3);
  modnn_status st = MODNN_OK;
  std::string out = captureStdout([&] { st = f.d.launch(f.m, "printer", {2}, {8}, p); });
  REQUIRE(st == MODNN_OK);
  std::string expect;
  char line[256];
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t) {
      std::snprintf(line, sizeof line, "block %d thread %d value %5.2f hex %x str %s char %c long %lld\n", b, t,
                    t * 1.5, t * 255, "ok", 'A' + t, 1234567890123ll * t);
      expect += line;
    }
  REQUIRE(out == expect);
}

TEST_CASE("assert, trap and illegal addresses fail the launch, not the process", "[ptx][kernel]") {
  REQUIRE_NVCC();
  Fixture f("compute_75");
  SECTION("assert") {
    Params ok;
    ok.add(64);
    REQUIRE(f.d.launch(f.m, "asserter", {1}, {32}, ok) == MODNN_OK);
    Params bad;
    bad.add(30);
    modnn_status st = MODNN_OK;
    std::string err = captureStderr([&] { st = f.d.launch(f.m, "asserter", {2}, {32}, bad); });
    REQUIRE(st == MODNN_ERR_ASSERT);
    REQUIRE(err.find("block: [0,0,0], thread: [30,0,0] Assertion `threadIdx.x < limit` failed.") != std::string::npos);
  }
  SECTION("trap") {
    uint64_t flags = f.d.alloc(64 * 4);
    Params p;
    p.add(flags);
    REQUIRE(f.d.launch(f.m, "trapper", {1}, {64}, p) == MODNN_ERR_LAUNCH_FAILURE);
  }
  SECTION("out of bounds") {
    uint64_t buf = f.d.alloc(64 * 4);
    Params inb;
    inb.add(buf).add(0ll);
    REQUIRE(f.d.launch(f.m, "oob", {1}, {64}, inb) == MODNN_OK);
    Params past;
    past.add(buf).add(1ll);  // the last thread writes one element past the end
    REQUIRE(f.d.launch(f.m, "oob", {1}, {64}, past) == MODNN_ERR_ILLEGAL_ADDRESS);
    Params wild;
    wild.add(buf).add(-(1ll << 40));
    REQUIRE(f.d.launch(f.m, "oob", {1}, {64}, wild) == MODNN_ERR_ILLEGAL_ADDRESS);
    Params null;
    null.add(uint64_t(0)).add(0ll);
    REQUIRE(f.d.launch(f.m, "oob", {1}, {64}, null) == MODNN_ERR_ILLEGAL_ADDRESS);
    // The device keeps working.
    REQUIRE(f.d.launch(f.m, "oob", {1}, {64}, inb) == MODNN_OK);
  }
}

TEST_CASE("device malloc and free", "[ptx][kernel]") {
  REQUIRE_NVCC();
  Fixture f("compute_75");
  uint64_t dout = f.d.alloc(128 * 4);
  Params p;
  p.add(dout);
  REQUIRE(f.d.launch(f.m, "heap", {1}, {128}, p) == MODNN_OK);
  auto out = f.d.download<int>(dout, 128);
  for (int t = 0; t < 128; ++t) REQUIRE(out[t] == 6 * t);
}

TEST_CASE("clock64 and globaltimer advance", "[ptx][kernel]") {
  REQUIRE_NVCC();
  Fixture f("compute_75");
  uint64_t dout = f.d.alloc(3 * 8);
  Params p;
  p.add(dout);
  REQUIRE(f.d.launch(f.m, "clocks", {1}, {1}, p) == MODNN_OK);
  auto out = f.d.download<long long>(dout, 3);
  REQUIRE(out[0] > 0);
  REQUIRE(out[1] > 0);
}

TEST_CASE("lanes of one warp take a spin lock in turn", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    uint64_t lock = f.d.upload(std::vector<int>{0}), counter = f.d.upload(std::vector<int>{0});
    Params p;
    p.add(lock).add(counter);
    REQUIRE(f.d.launch(f.m, "spinlock", {4}, {64}, p) == MODNN_OK);
    REQUIRE(f.d.download<int>(counter, 1)[0] == 256);
  }
}

TEST_CASE("generic pointers into shared memory", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    uint64_t dout = f.d.alloc(96 * 4);
    Params p;
    p.add(dout);
    REQUIRE(f.d.launch(f.m, "generic_shared", {1}, {32}, p) == MODNN_OK);
    auto out = f.d.download<float>(dout, 96);
    for (int t = 0; t < 32; ++t) {
      REQUIRE(out[t] == t * 2.0f);
      REQUIRE(out[64 + t] == ((t & 1) ? 1.0f : 0.0f));
    }
  }
}

TEST_CASE("virtual functions and function-pointer tables", "[ptx][kernel]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    REQUIRE(f.d.supports(f.m, "virtual_calls"));
    uint64_t dout = f.d.alloc(64 * 4);
    Params p;
    p.add(dout);
    REQUIRE(f.d.launch(f.m, "virtual_calls", {1}, {64}, p) == MODNN_OK);
    auto out = f.d.download<float>(dout, 64);
    for (int t = 0; t < 64; ++t) {
      float x = float(t);
      float area = (t & 1) ? x * x : 3.0f * x * x;
      float fn = ((t >> 1) & 1) ? 3 * x : 2 * x;
      REQUIRE(out[t] == area + fn);
    }
  }
}
