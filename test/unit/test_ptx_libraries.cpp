// Kernels built from CUDA's own device libraries (CUB block/warp
// primitives, cooperative groups, libcu++ atomic_ref), SIMD video
// intrinsics, cp.async pipelines and vector/half atomics, compiled with
// $NVCC and run through the PTX engine against CPU references.
#include <cstring>
#include <numeric>

#include "test_ptx_harness.h"

using namespace ptxtest;

namespace {

const char* kSource = R"CUDA(
#include <cub/cub.cuh>
#include <cooperative_groups.h>
#include <cooperative_groups/reduce.h>
#include <cuda/atomic>
#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <cuda/barrier>
namespace cg = cooperative_groups;

extern "C" __global__ void block_barrier(const float* g, float* out) {
  __shared__ cuda::barrier<cuda::thread_scope_block> bar;
  __shared__ float s[256];
  auto block = cg::this_thread_block();
  if (block.thread_rank() == 0) init(&bar, block.size());
  block.sync();
  cuda::memcpy_async(block, s, g, sizeof(float) * 256, bar);
  bar.arrive_and_wait();
  float v = s[(threadIdx.x * 3) & 255];
  // A second phase: every thread adds after all have read.
  auto token = bar.arrive();
  bar.wait(std::move(token));
  out[threadIdx.x] = v + 1.0f;
}

extern "C" __global__ void cub_block(const int* in, int* scan, int* sum, float* wsum) {
  typedef cub::BlockReduce<int, 128> BR;
  typedef cub::BlockScan<int, 128> BS;
  typedef cub::WarpReduce<float> WR;
  __shared__ typename BR::TempStorage t1;
  __shared__ typename BS::TempStorage t2;
  __shared__ typename WR::TempStorage t3[4];
  int v = in[threadIdx.x];
  int s = BR(t1).Sum(v);
  int p;
  BS(t2).ExclusiveSum(v, p);
  scan[threadIdx.x] = p;
  if (threadIdx.x == 0) *sum = s;
  float f = WR(t3[threadIdx.x / 32]).Sum((float)v);
  if ((threadIdx.x & 31) == 0) wsum[threadIdx.x / 32] = f;
}

extern "C" __global__ void coop(const int* in, int* out) {
  auto block = cg::this_thread_block();
  auto tile = cg::tiled_partition<16>(block);
  int v = in[block.thread_rank()];
  int r = cg::reduce(tile, v, cg::plus<int>());
  block.sync();
  auto t4 = cg::tiled_partition<4>(block);
  int s = t4.shfl_down(v, 1);
  int extra = 0;
  if (v & 1) {
    auto c = cg::coalesced_threads();
    extra = c.size() * 1000 + c.thread_rank();
  }
  out[block.thread_rank()] = r * 100000 + s * 10 + extra;
}

extern "C" __global__ void libcu_atomics(int* p, float* q) {
  cuda::atomic_ref<int, cuda::thread_scope_device> a(p[0]);
  a.fetch_add(1, cuda::memory_order_relaxed);
  cuda::atomic_ref<int, cuda::thread_scope_device> b(p[1]);
  b.fetch_max((int)threadIdx.x);
  cuda::atomic_ref<float, cuda::thread_scope_block> f(*q);
  f.fetch_add(0.5f);
  __nanosleep(10);
}

extern "C" __global__ void simd(const unsigned* a, unsigned* o) {
  unsigned x = a[threadIdx.x], y = a[threadIdx.x + 64];
  o[threadIdx.x * 4 + 0] = __vabsdiffu4(x, y);
  o[threadIdx.x * 4 + 1] = __vadd2(x, y);
  o[threadIdx.x * 4 + 2] = __vmaxs2(x, y);
  o[threadIdx.x * 4 + 3] = __fns(x, threadIdx.x & 31, 3);
}

extern "C" __global__ void pipeline(const float* g, float* out) {
  __shared__ float s[256];
  __pipeline_memcpy_async(&s[threadIdx.x * 4], &g[threadIdx.x * 4], 16);
  __pipeline_commit();
  __pipeline_wait_prior(0);
  __syncthreads();
  out[threadIdx.x] = s[(threadIdx.x * 5) & 255];
}

extern "C" __global__ void vec_atomics(float2* f2, __half2* h2, long long* ll, unsigned short* us) {
#if __CUDA_ARCH__ >= 900
  atomicAdd(f2, make_float2(1.0f, 2.0f));
#else
  atomicAdd(&f2->x, 1.0f);
  atomicAdd(&f2->y, 2.0f);
#endif
  atomicAdd(h2, __floats2half2_rn(1.0f, 0.5f));
  atomicMin(ll, -(long long)threadIdx.x);
  atomicMax(ll + 1, (long long)threadIdx.x * 3);
  if (threadIdx.x == 7) atomicCAS(us, (unsigned short)11, (unsigned short)22);
}
)CUDA";

const char* kArchs[] = {"compute_80", "compute_90"};

struct Fixture {
  Device d;
  modnn_module* m = nullptr;
  explicit Fixture(const char* arch) {
    std::string ptx = compileCu(kSource, arch, "-std=c++17");
    REQUIRE(!ptx.empty());
    m = d.loadOk(ptx);
  }
};

}  // namespace

TEST_CASE("CUB block reduce, block scan and warp reduce", "[ptx][libraries]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    std::vector<int> in(128);
    for (int i = 0; i < 128; ++i) in[i] = (i * 31) % 17 - 8;
    uint64_t din = f.d.upload(in), dscan = f.d.alloc(128 * 4), dsum = f.d.alloc(4), dw = f.d.alloc(16);
    Params p;
    p.add(din).add(dscan).add(dsum).add(dw);
    REQUIRE(f.d.launch(f.m, "cub_block", {1}, {128}, p) == MODNN_OK);
    auto scan = f.d.download<int>(dscan, 128);
    int acc = 0;
    for (int i = 0; i < 128; ++i) {
      REQUIRE(scan[i] == acc);
      acc += in[i];
    }
    REQUIRE(f.d.download<int>(dsum, 1)[0] == acc);
    auto w = f.d.download<float>(dw, 4);
    for (int k = 0; k < 4; ++k) REQUIRE(w[k] == float(std::accumulate(in.begin() + 32 * k, in.begin() + 32 * k + 32, 0)));
  }
}

TEST_CASE("cooperative groups tiles, reduce and coalesced groups", "[ptx][libraries]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    std::vector<int> in(64);
    for (int i = 0; i < 64; ++i) in[i] = (i * 7) % 11;
    uint64_t din = f.d.upload(in), dout = f.d.alloc(64 * 4);
    Params p;
    p.add(din).add(dout);
    REQUIRE(f.d.launch(f.m, "coop", {1}, {64}, p) == MODNN_OK);
    auto out = f.d.download<int>(dout, 64);
    for (int i = 0; i < 64; ++i) {
      int tileBase = i & ~15, r = 0;
      for (int k = 0; k < 16; ++k) r += in[tileBase + k];
      int s = (i & 3) < 3 ? in[i + 1] : in[i];
      int extra = 0;
      if (in[i] & 1) {
        int warp = i & ~31, size = 0, rank = 0;
        for (int k = 0; k < 32; ++k)
          if (in[warp + k] & 1) {
            if (warp + k < i) ++rank;
            ++size;
          }
        extra = size * 1000 + rank;
      }
      INFO("i " << i);
      REQUIRE(out[i] == r * 100000 + s * 10 + extra);
    }
  }
}

TEST_CASE("libcu++ atomic_ref and nanosleep", "[ptx][libraries]") {
  REQUIRE_NVCC();
  Fixture f("compute_80");
  uint64_t dp = f.d.upload(std::vector<int>{0, -1}), dq = f.d.upload(std::vector<float>{0});
  Params p;
  p.add(dp).add(dq);
  REQUIRE(f.d.launch(f.m, "libcu_atomics", {4}, {96}, p) == MODNN_OK);
  auto v = f.d.download<int>(dp, 2);
  REQUIRE(v[0] == 384);
  REQUIRE(v[1] == 95);
  REQUIRE(f.d.download<float>(dq, 1)[0] == 192.0f);
}

TEST_CASE("SIMD video intrinsics and __fns", "[ptx][libraries]") {
  REQUIRE_NVCC();
  Fixture f("compute_80");
  std::vector<unsigned> a(128);
  for (unsigned i = 0; i < 128; ++i) a[i] = 0x9e3779b9u * (i + 3) ^ (i << 7);
  uint64_t da = f.d.upload(a), dout = f.d.alloc(64 * 16);
  Params p;
  p.add(da).add(dout);
  REQUIRE(f.d.launch(f.m, "simd", {1}, {64}, p) == MODNN_OK);
  auto o = f.d.download<unsigned>(dout, 64 * 4);
  for (unsigned t = 0; t < 64; ++t) {
    unsigned x = a[t], y = a[t + 64], ad = 0, add = 0, mx = 0;
    for (int k = 0; k < 4; ++k) {
      int xb = (x >> (8 * k)) & 0xff, yb = (y >> (8 * k)) & 0xff;
      ad |= unsigned(std::abs(xb - yb)) << (8 * k);
    }
    for (int k = 0; k < 2; ++k) {
      unsigned xh = (x >> (16 * k)) & 0xffff, yh = (y >> (16 * k)) & 0xffff;
      add |= ((xh + yh) & 0xffff) << (16 * k);
      mx |= unsigned(uint16_t(std::max(int16_t(xh), int16_t(yh)))) << (16 * k);
    }
    unsigned fns = 0xffffffffu, count = 2;
    for (unsigned pos = t & 31; pos < 32; ++pos)
      if (x >> pos & 1) {
        if (count == 0) {
          fns = pos;
          break;
        }
        --count;
      }
    INFO("t " << t);
    REQUIRE(o[t * 4 + 0] == ad);
    REQUIRE(o[t * 4 + 1] == add);
    REQUIRE(o[t * 4 + 2] == mx);
    REQUIRE(o[t * 4 + 3] == fns);
  }
}

TEST_CASE("cp.async pipelines", "[ptx][libraries]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    std::vector<float> g(256);
    for (int i = 0; i < 256; ++i) g[i] = float(i) * 1.5f;
    uint64_t dg = f.d.upload(g), dout = f.d.alloc(64 * 4);
    Params p;
    p.add(dg).add(dout);
    REQUIRE(f.d.launch(f.m, "pipeline", {1}, {64}, p) == MODNN_OK);
    auto out = f.d.download<float>(dout, 64);
    for (int t = 0; t < 64; ++t) REQUIRE(out[t] == g[(t * 5) & 255]);
  }
}

TEST_CASE("vector, half2, 64-bit and 16-bit atomics", "[ptx][libraries]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    uint64_t df = f.d.upload(std::vector<float>{0, 0}), dh = f.d.upload(std::vector<uint16_t>{0, 0}),
             dl = f.d.upload(std::vector<long long>{0, 0}), du = f.d.upload(std::vector<uint16_t>{11, 0});
    Params p;
    p.add(df).add(dh).add(dl).add(du);
    REQUIRE(f.d.launch(f.m, "vec_atomics", {2}, {64}, p) == MODNN_OK);
    auto fv = f.d.download<float>(df, 2);
    REQUIRE(fv[0] == 128.0f);
    REQUIRE(fv[1] == 256.0f);
    auto hv = f.d.download<uint16_t>(dh, 2);
    REQUIRE(hv[0] == 0x5800);  // 128.0 in half
    REQUIRE(hv[1] == 0x5400);  // 64.0
    auto lv = f.d.download<long long>(dl, 2);
    REQUIRE(lv[0] == -63);
    REQUIRE(lv[1] == 189);
    REQUIRE(f.d.download<uint16_t>(du, 1)[0] == 22);
  }
}

TEST_CASE("cuda::barrier with memcpy_async (mbarrier phases)", "[ptx][libraries]") {
  REQUIRE_NVCC();
  for (const char* arch : kArchs) {
    INFO(arch);
    Fixture f(arch);
    REQUIRE(f.d.supports(f.m, "block_barrier"));
    std::vector<float> g(256);
    for (int i = 0; i < 256; ++i) g[i] = float(i) * 0.5f;
    uint64_t dg = f.d.upload(g), dout = f.d.alloc(128 * 4);
    Params p;
    p.add(dg).add(dout);
    REQUIRE(f.d.launch(f.m, "block_barrier", {2}, {128}, p) == MODNN_OK);
    auto out = f.d.download<float>(dout, 128);
    for (int t = 0; t < 128; ++t) REQUIRE(out[t] == g[(t * 3) & 255] + 1.0f);
  }
}
