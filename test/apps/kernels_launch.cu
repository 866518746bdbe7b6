// Launch shapes and features: 2D/3D grids and blocks, cudaLaunchKernel called
// directly, dynamic shared memory (extern __shared__), device printf, and
// cooperative-groups tiled partitions.
#include <cooperative_groups.h>
#include <cooperative_groups/reduce.h>
#include <algorithm>
#include <vector>
#include "check.h"

namespace cg = cooperative_groups;

// Every thread of a 3D grid of 3D blocks records its coordinates.
__global__ void k_grid3d(unsigned* out, int nx, int ny, int nz) {
  int x = blockIdx.x * blockDim.x + threadIdx.x;
  int y = blockIdx.y * blockDim.y + threadIdx.y;
  int z = blockIdx.z * blockDim.z + threadIdx.z;
  if (x < nx && y < ny && z < nz) {
    unsigned code = (unsigned)x | ((unsigned)y << 10) | ((unsigned)z << 20);
    unsigned dims = gridDim.x * 1000000u + gridDim.y * 10000u + gridDim.z * 100u + blockDim.x * blockDim.y * blockDim.z;
    out[2 * ((size_t)(z * ny + y) * nx + x)] = code;
    out[2 * ((size_t)(z * ny + y) * nx + x) + 1] = dims;
  }
}

// 2D grid: out[y][x] = in[y][x] * 2 + y.
__global__ void k_grid2d(const int* in, int* out, int w, int h) {
  int x = blockIdx.x * blockDim.x + threadIdx.x;
  int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x < w && y < h) out[y * w + x] = in[y * w + x] * 2 + y;
}

// Dynamic shared memory: two arrays carved from one extern buffer; reverses
// each block's chunk and adds the block-sum.
__global__ void k_dynshared(const int* in, int* out, int n) {
  extern __shared__ int dyn[];
  int* vals = dyn;
  int* sums = dyn + blockDim.x;
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  vals[threadIdx.x] = i < n ? in[i] : 0;
  sums[threadIdx.x] = vals[threadIdx.x];
  __syncthreads();
  for (int off = blockDim.x / 2; off > 0; off >>= 1) {
    if (threadIdx.x < off) sums[threadIdx.x] += sums[threadIdx.x + off];
    __syncthreads();
  }
  int j = blockIdx.x * blockDim.x + (blockDim.x - 1 - threadIdx.x);
  if (j < n) out[j] = vals[threadIdx.x] + sums[0];
}

__global__ void k_axpb(float a, const float* x, float b, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + b;
}

__global__ void k_printf(int tag) {
  if (threadIdx.x < 3) printf("kernels_launch: block %d thread %d tag %d val %.2f\n", blockIdx.x, threadIdx.x, tag, 1.5f * threadIdx.x);
}

// Cooperative groups: tiles of 16, shfl within the tile, cg::reduce, and
// thread_block sync.
__global__ void k_cg(const int* in, int* tile_sums, int* tile_max, int* shfl_out, int* block_sums) {
  cg::thread_block block = cg::this_thread_block();
  cg::thread_block_tile<16> tile = cg::tiled_partition<16>(block);
  __shared__ int partial[256 / 16];
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int v = in[i];
  int s = cg::reduce(tile, v, cg::plus<int>());
  int m = cg::reduce(tile, v, cg::greater<int>());
  // Manual shuffle-down sum within the tile as well.
  int t = v;
  for (int off = tile.size() / 2; off > 0; off >>= 1) t += tile.shfl_down(t, off);
  int from = tile.shfl(v, (tile.thread_rank() + 5) % tile.size());
  shfl_out[i] = from;
  int tile_id = i / 16;
  if (tile.thread_rank() == 0) {
    tile_sums[tile_id] = (s == t) ? s : 0x7fffffff;
    tile_max[tile_id] = m;
    partial[block.thread_rank() / 16] = s;
  }
  block.sync();
  if (block.thread_rank() == 0) {
    int bs = 0;
    for (int k = 0; k < (int)(block.size() / 16); ++k) bs += partial[k];
    block_sums[blockIdx.x] = bs;
  }
}

// More tile sizes and tile votes: tiled_partition<4> and <32>, dynamic
// tiled_partition(block, 8), tile ballot/any/all, meta_group_rank.
__global__ void k_cg_tiles(const int* in, int* out) {
  cg::thread_block block = cg::this_thread_block();
  auto t4 = cg::tiled_partition<4>(block);
  auto t32 = cg::tiled_partition<32>(block);
  cg::thread_group t8 = cg::tiled_partition(block, 8);
  int v = in[threadIdx.x];
  int s4 = cg::reduce(t4, v, cg::plus<int>());
  unsigned b32 = t32.ballot(v > 0);
  int any4 = t4.any(v > 40);
  int all4 = t4.all(v > -40);
  int r8 = (int)t8.thread_rank();
  int x32 = t32.shfl_xor(v, 3);
  out[threadIdx.x * 6 + 0] = s4;
  out[threadIdx.x * 6 + 1] = (int)b32;
  out[threadIdx.x * 6 + 2] = any4 * 2 + all4;
  out[threadIdx.x * 6 + 3] = r8;
  out[threadIdx.x * 6 + 4] = x32;
  out[threadIdx.x * 6 + 5] = (int)(t4.meta_group_rank() * 1000 + t4.meta_group_size());
}

int main() {
  // 3D grid of 3D blocks; sizes not multiples of the block.
  const int nx = 37, ny = 21, nz = 9;
  dim3 b3(8, 4, 2), g3((nx + 7) / 8, (ny + 3) / 4, (nz + 1) / 2);
  size_t cells = (size_t)nx * ny * nz;
  unsigned* d3;
  CHECK(cudaMalloc(&d3, 2 * cells * sizeof(unsigned)));
  CHECK(cudaMemset(d3, 0xff, 2 * cells * sizeof(unsigned)));
  k_grid3d<<<g3, b3>>>(d3, nx, ny, nz);
  CHECK(cudaGetLastError());
  std::vector<unsigned> o3(2 * cells);
  CHECK(cudaMemcpy(o3.data(), d3, o3.size() * sizeof(unsigned), cudaMemcpyDeviceToHost));
  unsigned wdims = g3.x * 1000000u + g3.y * 10000u + g3.z * 100u + 64u;
  for (int z = 0; z < nz; ++z)
    for (int y = 0; y < ny; ++y)
      for (int x = 0; x < nx; ++x) {
        size_t c = (size_t)(z * ny + y) * nx + x;
        unsigned w = (unsigned)x | ((unsigned)y << 10) | ((unsigned)z << 20);
        EXPECT_MSG(o3[2 * c] == w, "grid3d (%d,%d,%d) = 0x%x, want 0x%x", x, y, z, o3[2 * c], w);
        EXPECT_MSG(o3[2 * c + 1] == wdims, "grid3d dims at (%d,%d,%d) = %u, want %u", x, y, z, o3[2 * c + 1], wdims);
      }

  // 2D grid.
  const int w = 100, h = 70;
  std::vector<int> in2(w * h), out2(w * h);
  for (int i = 0; i < w * h; ++i) in2[i] = i * 3 - 500;
  int *din2, *dout2;
  CHECK(cudaMalloc(&din2, w * h * sizeof(int)));
  CHECK(cudaMalloc(&dout2, w * h * sizeof(int)));
  CHECK(cudaMemcpy(din2, in2.data(), w * h * sizeof(int), cudaMemcpyHostToDevice));
  k_grid2d<<<dim3((w + 15) / 16, (h + 15) / 16), dim3(16, 16)>>>(din2, dout2, w, h);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(out2.data(), dout2, w * h * sizeof(int), cudaMemcpyDeviceToHost));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) EXPECT_EQ(out2[y * w + x], in2[y * w + x] * 2 + y);

  // cudaLaunchKernel directly, on the default stream and on a created stream.
  const int n = 5000;
  std::vector<float> hx(n), hy(n);
  for (int i = 0; i < n; ++i) hx[i] = (float)(i % 100) * 0.5f;
  float *dx, *dy;
  CHECK(cudaMalloc(&dx, n * sizeof(float)));
  CHECK(cudaMalloc(&dy, n * sizeof(float)));
  CHECK(cudaMemcpy(dx, hx.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  float a = 3.f, bb = -1.f;
  int nn = n;
  void* args[] = {&a, &dx, &bb, &dy, &nn};
  CHECK(cudaLaunchKernel((const void*)k_axpb, dim3((n + 127) / 128), dim3(128), args, 0, nullptr));
  CHECK(cudaMemcpy(hy.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) EXPECT_MSG(hy[i] == 3.f * hx[i] - 1.f, "cudaLaunchKernel y[%d] = %g", i, hy[i]);
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  a = 0.5f;
  bb = 2.f;
  CHECK(cudaLaunchKernel((const void*)k_axpb, dim3((n + 255) / 256), dim3(256), args, 0, s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaMemcpy(hy.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) EXPECT_MSG(hy[i] == 0.5f * hx[i] + 2.f, "cudaLaunchKernel(stream) y[%d] = %g", i, hy[i]);
  CHECK(cudaStreamDestroy(s));

  // Dynamic shared memory (2 * blockDim ints), also through cudaLaunchKernel.
  const int nd = 3000, bd = 128;
  std::vector<int> din(nd), dout(nd);
  for (int i = 0; i < nd; ++i) din[i] = (i * 37) % 101;
  int *ddi, *ddo;
  CHECK(cudaMalloc(&ddi, nd * sizeof(int)));
  CHECK(cudaMalloc(&ddo, nd * sizeof(int)));
  CHECK(cudaMemcpy(ddi, din.data(), nd * sizeof(int), cudaMemcpyHostToDevice));
  CHECK(cudaMemset(ddo, 0, nd * sizeof(int)));
  k_dynshared<<<(nd + bd - 1) / bd, bd, 2 * bd * sizeof(int)>>>(ddi, ddo, nd);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(dout.data(), ddo, nd * sizeof(int), cudaMemcpyDeviceToHost));
  auto check_dyn = [&](const char* how) {
    for (int b = 0; b * bd < nd; ++b) {
      int sum = 0;
      for (int t = 0; t < bd && b * bd + t < nd; ++t) sum += din[b * bd + t];
      for (int t = 0; t < bd; ++t) {
        int j = b * bd + (bd - 1 - t);
        int src = b * bd + t;
        if (j < nd) {
          int want = (src < nd ? din[src] : 0) + sum;
          EXPECT_MSG(dout[j] == want, "%s: dynshared out[%d] = %d, want %d", how, j, dout[j], want);
        }
      }
    }
  };
  check_dyn("<<<>>>");
  CHECK(cudaMemset(ddo, 0, nd * sizeof(int)));
  int ndv = nd;
  void* dargs[] = {&ddi, &ddo, &ndv};
  CHECK(cudaLaunchKernel((const void*)k_dynshared, dim3((nd + bd - 1) / bd), dim3(bd), dargs, 2 * bd * sizeof(int), nullptr));
  CHECK(cudaMemcpy(dout.data(), ddo, nd * sizeof(int), cudaMemcpyDeviceToHost));
  check_dyn("cudaLaunchKernel");

  // Device printf.
  k_printf<<<2, 32>>>(42);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  std::fflush(stdout);

  // Cooperative groups.
  const int cb = 256, cgrid = 4, nc = cb * cgrid;
  std::vector<int> cin(nc);
  for (int i = 0; i < nc; ++i) cin[i] = (i * 7919) % 1000 - 500;
  int *dci, *dts, *dtm, *dsh, *dbs;
  CHECK(cudaMalloc(&dci, nc * sizeof(int)));
  CHECK(cudaMalloc(&dts, nc / 16 * sizeof(int)));
  CHECK(cudaMalloc(&dtm, nc / 16 * sizeof(int)));
  CHECK(cudaMalloc(&dsh, nc * sizeof(int)));
  CHECK(cudaMalloc(&dbs, cgrid * sizeof(int)));
  CHECK(cudaMemcpy(dci, cin.data(), nc * sizeof(int), cudaMemcpyHostToDevice));
  k_cg<<<cgrid, cb>>>(dci, dts, dtm, dsh, dbs);
  CHECK(cudaGetLastError());
  std::vector<int> ts(nc / 16), tm(nc / 16), sh(nc), bs(cgrid);
  CHECK(cudaMemcpy(ts.data(), dts, ts.size() * sizeof(int), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(tm.data(), dtm, tm.size() * sizeof(int), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(sh.data(), dsh, sh.size() * sizeof(int), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(bs.data(), dbs, bs.size() * sizeof(int), cudaMemcpyDeviceToHost));
  for (int t = 0; t < nc / 16; ++t) {
    int sum = 0, mx = -1000000;
    for (int k = 0; k < 16; ++k) {
      sum += cin[t * 16 + k];
      mx = std::max(mx, cin[t * 16 + k]);
      EXPECT_MSG(sh[t * 16 + k] == cin[t * 16 + (k + 5) % 16], "tile shfl out[%d] = %d", t * 16 + k, sh[t * 16 + k]);
    }
    EXPECT_MSG(ts[t] == sum, "tile %d sum = %d, want %d (0x7fffffff: cg::reduce != shfl_down sum)", t, ts[t], sum);
    EXPECT_EQ(tm[t], mx);
  }
  for (int b = 0; b < cgrid; ++b) {
    int sum = 0;
    for (int k = 0; k < cb; ++k) sum += cin[b * cb + k];
    EXPECT_EQ(bs[b], sum);
  }

  {
    const int nt = 128;
    std::vector<int> tin(nt), tout(nt * 6);
    for (int i = 0; i < nt; ++i) tin[i] = (i * 29) % 97 - 45;
    int *dtin, *dtout;
    CHECK(cudaMalloc(&dtin, nt * sizeof(int)));
    CHECK(cudaMalloc(&dtout, nt * 6 * sizeof(int)));
    CHECK(cudaMemcpy(dtin, tin.data(), nt * sizeof(int), cudaMemcpyHostToDevice));
    k_cg_tiles<<<1, nt>>>(dtin, dtout);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpy(tout.data(), dtout, nt * 6 * sizeof(int), cudaMemcpyDeviceToHost));
    for (int t = 0; t < nt; ++t) {
      int g4 = t & ~3, s4 = 0, any4 = 0, all4 = 1;
      for (int k = 0; k < 4; ++k) {
        s4 += tin[g4 + k];
        any4 |= tin[g4 + k] > 40;
        all4 &= tin[g4 + k] > -40;
      }
      unsigned b32 = 0;
      for (int k = 0; k < 32; ++k)
        if (tin[(t & ~31) + k] > 0) b32 |= 1u << k;
      EXPECT_MSG(tout[t * 6 + 0] == s4, "tile<4> reduce thread %d = %d, want %d", t, tout[t * 6 + 0], s4);
      EXPECT_MSG((unsigned)tout[t * 6 + 1] == b32, "tile<32> ballot thread %d = 0x%08x, want 0x%08x", t,
                 (unsigned)tout[t * 6 + 1], b32);
      EXPECT_MSG(tout[t * 6 + 2] == any4 * 2 + all4, "tile<4> any/all thread %d = %d", t, tout[t * 6 + 2]);
      EXPECT_EQ(tout[t * 6 + 3], t % 8);
      EXPECT_EQ(tout[t * 6 + 4], tin[t ^ 3]);
      EXPECT_EQ(tout[t * 6 + 5], (t / 4) * 1000 + nt / 4);
    }
    CHECK(cudaFree(dtin));
    CHECK(cudaFree(dtout));
  }

  CHECK(cudaFree(d3));
  CHECK(cudaFree(din2));
  CHECK(cudaFree(dout2));
  CHECK(cudaFree(dx));
  CHECK(cudaFree(dy));
  CHECK(cudaFree(ddi));
  CHECK(cudaFree(ddo));
  CHECK(cudaFree(dci));
  CHECK(cudaFree(dts));
  CHECK(cudaFree(dtm));
  CHECK(cudaFree(dsh));
  CHECK(cudaFree(dbs));
  CHECK(cudaDeviceSynchronize());
  std::printf("kernels_launch: ok\n");
  return 0;
}
