// What a launch writes, from PTX that nvcc builds at test time ($NVCC):
// element-wise kernels (bounds-checked, grid-stride, several outputs, vector
// and struct stores) qualify with exact ranges per block range; kernels
// whose writes are not a function of the global thread index do not.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "interpose/core/kernel_footprint.h"
#include "modnn/cpu/ptx/ptx_ast.h"
#include "test/unit/nvcc_build.h"

using namespace moai;

namespace {

const char* kKernels = R"(
extern "C" __global__ void add(const float* a, const float* b, float* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}
extern "C" __global__ void relu(float* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    y[i] = y[i] > 0 ? y[i] : 0;
}
extern "C" __global__ void relu_grad(float* dy, const float* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    if (y[i] <= 0) dy[i] = 0;
}
// PyTorch's vectorised element-wise kernels: 4 items per thread, strided by
// the block size inside the block's slab.
extern "C" __global__ void unrolled(float* y, const float* x, int n) {
  int base = blockIdx.x * blockDim.x * 4 + threadIdx.x;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    int i = base + j * blockDim.x;
    if (i < n) y[i] = 2 * x[i];
  }
}
// A block reduction's partial sums: one result per block.
extern "C" __global__ void partial_sums(const float* x, float* partial, int n) {
  __shared__ float s[256];
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  s[threadIdx.x] = i < n ? x[i] : 0;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}
extern "C" __global__ void stencil(const float* x, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i > 0 && i + 1 < n) y[i] = x[i - 1] + x[i + 1] + *x;
}
extern "C" __global__ void gather_rows(const float* const* rows, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = rows[i][0];
}
extern "C" __global__ void two_outputs(const float* x, float* y, double* z, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) { y[i] = 2 * x[i]; z[i] = x[i]; }
}
extern "C" __global__ void pairs(float2* y, const float2* x, float a, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) { y[i].x += a * x[i].x; y[i].y += a * x[i].y; }
}
struct Rgb { unsigned char r, g, b; };
extern "C" __global__ void rgb(Rgb* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) { p[i].r = 1; p[i].g = 2; p[i].b = 3; }
}
extern "C" __global__ void sum(const float* x, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) atomicAdd(out, x[i]);
}
extern "C" __global__ void scatter(const int* idx, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[idx[i]] = 1;
}
extern "C" __global__ void first(float* out) {
  if (blockIdx.x == 0 && threadIdx.x == 0) out[0] = 1;
}
extern "C" __global__ void transpose(const float* in, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n * n) out[(i % n) * n + i / n] = in[i];
}
extern "C" __global__ void shift(float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i + 1 < n) { out[i] = 0; out[i + 1] = 1; }
}
extern "C" __global__ void either(float* a, float* b, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  float* p = (i & 1) ? a : b;
  if (i < n) p[i] = 1;
}
extern "C" __global__ void rows(float* m, int cols) {
  for (int j = threadIdx.x; j < cols; j += blockDim.x) m[blockIdx.x * cols + j] = 0;
}
// A row per block, walked by a loop over the row: softmax, layer norm, a
// bias per row. The loop's branch bounds it inside the row.
extern "C" __global__ void rowscale(float* out, const float* in, const float* scale, int cols) {
  const float* r = in + size_t(blockIdx.x) * cols;
  float* o = out + size_t(blockIdx.x) * cols;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) o[j] = r[j] * scale[blockIdx.x];
}
// The same loop, one element too far: rows overlap.
extern "C" __global__ void rows_past(float* m, int cols) {
  for (int j = threadIdx.x; j <= cols; j += blockDim.x) m[blockIdx.x * cols + j] = 0;
}
// A bound that is not the row's: each block writes two rows' worth.
extern "C" __global__ void rows_wide(float* m, int cols) {
  for (int j = threadIdx.x; j < 2 * cols; j += blockDim.x) m[blockIdx.x * cols + j] = 0;
}
// A 2-D grid of 2-D tiles over a row-major matrix: a row of blocks writes a
// band of whole matrix rows.
extern "C" __global__ void tile2d(float* out, const float* in, int w, int h) {
  int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x < w && y < h) out[y * w + x] = 2 * in[y * w + x];
}
// Tiles written column-major: a row of blocks writes a band of columns,
// interleaved with every other row's.
extern "C" __global__ void tile2d_t(float* out, int w, int h) {
  int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x < w && y < h) out[x * h + y] = 1;
}
// A tiled matrix product, neither side a multiple of the tile: its bounds
// checks (row < M && col < N) keep each row of blocks in its band of C.
extern "C" __global__ void tiled_matmul(const float* A, const float* B, float* C, int M, int N, int K) {
  __shared__ float As[16][16], Bs[16][16];
  int row = blockIdx.y * 16 + threadIdx.y, col = blockIdx.x * 16 + threadIdx.x;
  float acc = 0.f;
  for (int t = 0; t < (K + 15) / 16; ++t) {
    int ak = t * 16 + threadIdx.x, bk = t * 16 + threadIdx.y;
    As[threadIdx.y][threadIdx.x] = (row < M && ak < K) ? A[row * K + ak] : 0.f;
    Bs[threadIdx.y][threadIdx.x] = (bk < K && col < N) ? B[bk * N + col] : 0.f;
    __syncthreads();
    for (int k = 0; k < 16; ++k) acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
    __syncthreads();
  }
  if (row < M && col < N) C[row * N + col] = acc;
}
// An optional output, skipped when its pointer is null.
extern "C" __global__ void maybe(float* y, float* extra, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  y[i] = 1;
  if (extra) extra[i] = 2;
}
extern "C" __global__ void down(float* y, int n) {
  for (int i = n - 1 - int(blockIdx.x * blockDim.x + threadIdx.x); i >= 0; i -= gridDim.x * blockDim.x) y[i] = 0;
}
)";

const modnn::ptx::Module& module() {
  static modnn::ptx::Module m;
  static bool built = false;
  if (built) return m;
  const auto& dir = test::workDir();
  {
    std::ofstream f(dir / "footprint.cu");
    f << kKernels;
  }
  std::string cmd = "cd '" + dir.string() + "' && '" + test::nvccPath() +
                    "' -ptx -arch=sm_75 -o footprint.ptx footprint.cu > nvcc.log 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto bytes = test::readFile(dir / "footprint.ptx");
  std::string ptx(bytes.begin(), bytes.end());
  std::string error;
  REQUIRE(modnn::ptx::parseModule(ptx, m, error));
  built = true;
  return m;
}

// Allocations of the test: [base, base + size) each.
struct Memory {
  std::vector<std::pair<uint64_t, uint64_t>> allocs;
  uint64_t end(uint64_t va) const {
    for (auto [b, s] : allocs)
      if (va >= b && va < b + s) return b + s;
    return 0;
  }
};

struct Params {
  std::vector<uint8_t> bytes;
  template <typename T>
  Params& add(T v) {
    size_t align = sizeof(T);
    bytes.resize((bytes.size() + align - 1) / align * align);
    size_t at = bytes.size();
    bytes.resize(at + sizeof v);
    std::memcpy(bytes.data() + at, &v, sizeof v);
    return *this;
  }
};

KernelFootprint analyzeIn(const modnn::ptx::Module& m, const char* kernel, uint32_t grid, uint32_t block,
                          const Params& p, const Memory& mem, uint32_t grid_y = 1, uint32_t block_y = 1) {
  LaunchShape s;
  s.kernel = kernel;
  s.grid[0] = grid, s.grid[1] = grid_y;
  s.block[0] = block, s.block[1] = block_y;
  s.params = p.bytes.data();
  s.param_bytes = p.bytes.size();
  s.allocation_end = [&mem](uint64_t va) { return mem.end(va); };
  KernelFootprint f = analyzeLaunch(m, s);
  INFO(kernel << ": " << f.why);
  return f;
}

KernelFootprint analyze(const char* kernel, uint32_t grid, uint32_t block, const Params& p, const Memory& mem,
                        uint32_t grid_y = 1, uint32_t block_y = 1) {
  return analyzeIn(module(), kernel, grid, block, p, mem, grid_y, block_y);
}

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

constexpr uint64_t A = 0x10000000, B = 0x20000000, C = 0x30000000;

// A hand-written kernel taking one pointer (to a 4 KiB allocation at A),
// launched as 4 blocks of 256 threads.
KernelFootprint analyzeHandWritten(const char* ptx, const char* kernel) {
  modnn::ptx::Module m;
  std::string error;
  REQUIRE(modnn::ptx::parseModule(ptx, m, error));
  Params p;
  p.add(A);
  return analyzeIn(m, kernel, 4, 256, p, Memory{{{A, 4096}}});
}

}  // namespace

TEST_CASE("a bounds-checked element-wise kernel writes one range per block range", "[footprint]") {
  REQUIRE_NVCC();
  const int n = 1000;
  Memory mem{{{A, n * 4}, {B, n * 4}, {C, n * 4}}};
  KernelFootprint f = analyze("add", 4, 256, Params().add(A).add(B).add(C).add(n), mem);
  REQUIRE(f.splittable);
  REQUIRE(f.streams.size() == 1);  // c only: a and b are read
  CHECK(f.streams[0].base == C);
  CHECK(f.streams[0].per_block == 256 * 4);
  CHECK(f.streams[0].stride == 0);
  CHECK(rangesWritten(f, 0, 2) == Ranges{{C, 2 * 256 * 4}});
  // The last block runs past n: clipped to the allocation.
  CHECK(rangesWritten(f, 2, 4) == Ranges{{C + 512 * 4, (n - 512) * 4}});
}

TEST_CASE("a grid-stride loop writes one range per pass of the grid", "[footprint]") {
  REQUIRE_NVCC();
  const uint64_t n = 64 * 1024;
  Memory mem{{{A, n * 4}}};
  KernelFootprint f = analyze("relu", 16, 256, Params().add(A).add(n), mem);
  REQUIRE(f.splittable);
  REQUIRE(f.streams.size() == 1);
  CHECK(f.streams[0].stride == 16 * 256 * 4);
  Ranges first = rangesWritten(f, 0, 8), second = rangesWritten(f, 8, 16);
  REQUIRE(first.size() == 16);  // n / (grid threads) passes
  REQUIRE(second.size() == 16);
  uint64_t covered = 0;
  for (size_t k = 0; k < 16; ++k) {
    CHECK(first[k] == std::make_pair(A + k * 16384, uint64_t(2048 * 4)));
    CHECK(second[k] == std::make_pair(A + k * 16384 + 2048 * 4, uint64_t(2048 * 4)));
    covered += first[k].second + second[k].second;
  }
  CHECK(covered == n * 4);
  // A store on some iterations only (a branch inside the loop).
  Memory two{{{A, n * 4}, {B, n * 4}}};
  KernelFootprint g = analyze("relu_grad", 16, 256, Params().add(A).add(B).add(n), two);
  REQUIRE(g.splittable);
  CHECK(rangesWritten(g, 8, 16) == second);
}

TEST_CASE("several outputs, vector and struct stores", "[footprint]") {
  REQUIRE_NVCC();
  const int n = 512;
  Memory mem{{{A, n * 4}, {B, n * 4}, {C, n * 8}}};
  KernelFootprint two = analyze("two_outputs", 2, 256, Params().add(A).add(B).add(C).add(n), mem);
  REQUIRE(two.splittable);
  CHECK(rangesWritten(two, 1, 2) == Ranges{{B + 256 * 4, 256 * 4}, {C + 256 * 8, 256 * 8}});

  Memory pmem{{{A, n * 8}, {B, n * 8}}};
  KernelFootprint pairs = analyze("pairs", 2, 256, Params().add(A).add(B).add(2.0f).add(n), pmem);
  REQUIRE(pairs.splittable);
  CHECK(rangesWritten(pairs, 0, 1) == Ranges{{A, 256 * 8}});

  Memory rmem{{{A, n * 3}}};
  KernelFootprint rgb = analyze("rgb", 2, 256, Params().add(A).add(n), rmem);
  REQUIRE(rgb.splittable);
  CHECK(rgb.streams.size() == 1);
  CHECK(rgb.streams[0].per_block == 256 * 3);
  CHECK(rangesWritten(rgb, 1, 2) == Ranges{{A + 256 * 3, 256 * 3}});
}

TEST_CASE("blocks that write slabs of their own: unrolled items, per-block results", "[footprint]") {
  REQUIRE_NVCC();
  const int n = 4 * 1024;
  Memory mem{{{A, n * 4}, {B, n * 4}, {C, 16 * 4}}};
  KernelFootprint u = analyze("unrolled", 4, 256, Params().add(A).add(B).add(n), mem);
  REQUIRE(u.splittable);
  CHECK(u.streams.size() == 1);
  CHECK(u.streams[0].per_block == 4 * 256 * 4);
  CHECK(rangesWritten(u, 1, 3) == Ranges{{A + 4096, 8192}});
  KernelFootprint p = analyze("partial_sums", 16, 256, Params().add(B).add(C).add(n), mem);
  REQUIRE(p.splittable);
  CHECK(rangesWritten(p, 0, 8) == Ranges{{C, 8 * 4}});
  CHECK(rangesWritten(p, 8, 16) == Ranges{{C + 8 * 4, 8 * 4}});
}

TEST_CASE("what a block range reads", "[footprint]") {
  REQUIRE_NVCC();
  const int n = 1024;
  Memory mem{{{A, n * 4}, {B, n * 4}, {C, n * 4}}};
  KernelFootprint add = analyze("add", 4, 256, Params().add(A).add(B).add(C).add(n), mem);
  REQUIRE(add.reads_known);
  Ranges r = rangesRead(add, 1, 3);
  std::sort(r.begin(), r.end());
  CHECK(r == Ranges{{A + 1024, 2048}, {B + 1024, 2048}});
  // Neighbours and the first element: the ranges reach one element past the share on each side.
  KernelFootprint st = analyze("stencil", 4, 256, Params().add(A).add(B).add(n), mem);
  REQUIRE(st.splittable);
  REQUIRE(st.reads_known);
  r = rangesRead(st, 2, 3);
  std::sort(r.begin(), r.end());
  CHECK(r == Ranges{{A, 4}, {A + 511 * 4, 256 * 4}, {A + 513 * 4, 256 * 4}});  // *x, x[i - 1], x[i + 1]
  // A read through a pointer loaded from memory: splittable, reads unknown.
  KernelFootprint g = analyze("gather_rows", 4, 256, Params().add(A).add(B).add(n), mem);
  REQUIRE(g.splittable);
  CHECK_FALSE(g.reads_known);
  CHECK(g.reads_why.find("not affine") != std::string::npos);
}

TEST_CASE("kernels whose writes do not follow the thread index run whole", "[footprint]") {
  REQUIRE_NVCC();
  const int n = 1024;
  Memory mem{{{A, n * 4}, {B, n * 4}, {C, 4}}};
  auto whole = [&](const char* kernel, const Params& p, const char* why, uint32_t grid_y = 1) {
    KernelFootprint f = analyze(kernel, 4, 256, p, mem, grid_y);
    INFO(kernel << ": " << f.why);
    CHECK_FALSE(f.splittable);
    CHECK(f.why.find(why) != std::string::npos);
  };
  whole("sum", Params().add(A).add(C).add(n), "atomic");
  whole("scatter", Params().add(A).add(B).add(n), "not affine");
  whole("first", Params().add(A), "same address");
  whole("transpose", Params().add(A).add(B).add(32), "not affine");
  whole("shift", Params().add(A).add(n), "interleave");  // out[i + 1] of a block's last thread is the next block's
  whole("either", Params().add(A).add(B).add(n), "not affine");
  whole("rows_past", Params().add(A).add(300), "step by less");  // the loop's bound does not keep it in its row
  whole("rows_wide", Params().add(A).add(300), "step by less");
  whole("down", Params().add(A).add(n), "not affine");  // a decreasing loop
  whole("add", Params().add(A).add(A).add(B).add(n), "not indexed by the block index", 2);  // both rows write the same
  // Pointers that are not in any allocation: nothing to follow.
  whole("add", Params().add(A).add(A).add(uint64_t(0x90000000)).add(n), "outside");
}

TEST_CASE("a loop over its block's own row, bounded by its branch", "[footprint]") {
  REQUIRE_NVCC();
  const int cols = 300, rows = 4;  // more columns than threads: each thread loops
  Memory mem{{{A, rows * cols * 4}, {B, rows * cols * 4}, {C, rows * 4}}};
  KernelFootprint f = analyze("rows", rows, 256, Params().add(A).add(cols), mem);
  REQUIRE(f.splittable);
  CHECK(rangesWritten(f, 1, 3) == Ranges{{A + cols * 4, 2 * cols * 4}});
  // Fewer columns than threads: the branch bounds the row the same way.
  KernelFootprint narrow = analyze("rows", rows, 256, Params().add(A).add(100), mem);
  REQUIRE(narrow.splittable);
  CHECK(rangesWritten(narrow, 3, 4) == Ranges{{A + 3 * 100 * 4, 100 * 4}});
  KernelFootprint s = analyze("rowscale", rows, 128, Params().add(A).add(B).add(C).add(cols), mem);
  REQUIRE(s.splittable);
  CHECK(rangesWritten(s, 2, 4) == Ranges{{A + 2 * cols * 4, 2 * cols * 4}});
  REQUIRE(s.reads_known);
  Ranges r = rangesRead(s, 2, 4);
  std::sort(r.begin(), r.end());
  CHECK(r == Ranges{{B + 2 * cols * 4, 2 * cols * 4}, {C + 2 * 4, 2 * 4}});
}

TEST_CASE("a 2-D grid splits by rows of blocks", "[footprint]") {
  REQUIRE_NVCC();
  const int w = 64, h = 32;
  Memory mem{{{A, w * h * 4}, {B, w * h * 4}}};
  KernelFootprint f = analyze("tile2d", w / 16, 16, Params().add(A).add(B).add(w).add(h), mem, h / 16, 16);
  REQUIRE(f.splittable);
  CHECK(f.blocks == 2);  // rows of blocks
  CHECK(f.unit == 4);    // blocks in a row
  CHECK(rangesWritten(f, 1, 2) == Ranges{{A + 16 * w * 4, 16 * w * 4}});
  REQUIRE(f.reads_known);
  CHECK(rangesRead(f, 0, 1) == Ranges{{B, 16 * w * 4}});
  CHECK_FALSE(analyze("tile2d_t", w / 16, 16, Params().add(A).add(w).add(h), mem, h / 16, 16).splittable);

  const int M = 150, N = 130, K = 200;
  Memory mm{{{A, M * K * 4}, {B, K * N * 4}, {C, M * N * 4}}};
  KernelFootprint g = analyze("tiled_matmul", (N + 15) / 16, 16, Params().add(A).add(B).add(C).add(M).add(N).add(K),
                              mm, (M + 15) / 16, 16);
  REQUIRE(g.splittable);
  CHECK(rangesWritten(g, 2, 4) == Ranges{{C + 2 * 16 * N * 4, 2 * 16 * N * 4}});
}

TEST_CASE("a branch on arguments alone goes one way", "[footprint]") {
  REQUIRE_NVCC();
  const int n = 1024;
  Memory mem{{{A, n * 4}, {B, n * 4}}};
  KernelFootprint none = analyze("maybe", 4, 256, Params().add(A).add(uint64_t(0)).add(n), mem);
  REQUIRE(none.splittable);  // the store through the null pointer is never made
  CHECK(rangesWritten(none, 0, 1) == Ranges{{A, 1024}});
  KernelFootprint both = analyze("maybe", 4, 256, Params().add(A).add(B).add(n), mem);
  REQUIRE(both.splittable);
  Ranges w = rangesWritten(both, 0, 1);
  std::sort(w.begin(), w.end());
  CHECK(w == Ranges{{A, 1024}, {B, 1024}});
}

TEST_CASE("a store behind a branch that changes no register is seen", "[footprint]") {
  // The first block only branches: the block it reaches starts with the
  // same (empty) registers, and must still be analysed.
  const char* ptx = R"(
.version 8.0
.target sm_75
.address_size 64
.visible .entry late(.param .u64 y) {
  .reg .b32 %r<4>; .reg .b64 %rd<4>;
  bra.uni $L1;
$L1:
  ld.param.u64 %rd1, [y];
  mov.u32 %r1, %ctaid.x; mov.u32 %r2, %ntid.x; mov.u32 %r3, %tid.x;
  mad.lo.s32 %r1, %r1, %r2, %r3;
  mul.wide.s32 %rd2, %r1, 4; add.s64 %rd3, %rd1, %rd2;
  st.global.u32 [%rd3], %r1;
  ret;
})";
  KernelFootprint f = analyzeHandWritten(ptx, "late");
  INFO(f.why);
  REQUIRE(f.splittable);
  CHECK(rangesWritten(f, 1, 2) == Ranges{{A + 1024, 1024}});
}

TEST_CASE("a kernel that calls a function runs whole", "[footprint]") {
  // nvcc inlines small device functions; this call is written by hand.
  const char* ptx = R"(
.version 8.0
.target sm_75
.address_size 64
.func (.param .b32 r) twice(.param .b32 v) { .reg .b32 %a; ld.param.b32 %a, [v]; add.s32 %a, %a, %a; st.param.b32 [r], %a; ret; }
.visible .entry calls(.param .u64 y) {
  .reg .b32 %r<4>; .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [y];
  mov.u32 %r1, %ctaid.x; mov.u32 %r2, %ntid.x; mov.u32 %r3, %tid.x;
  mad.lo.s32 %r1, %r1, %r2, %r3;
  { .param .b32 pv; .param .b32 pr; st.param.b32 [pv], %r1; call (pr), twice, (pv); ld.param.b32 %r2, [pr]; }
  mul.wide.s32 %rd2, %r1, 4; add.s64 %rd3, %rd1, %rd2;
  st.global.u32 [%rd3], %r2;
  ret;
})";
  KernelFootprint f = analyzeHandWritten(ptx, "calls");
  CHECK_FALSE(f.splittable);
  CHECK(f.why.find("call") != std::string::npos);
}
