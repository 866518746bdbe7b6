// Kernel registration and launch: function attributes, occupancy, launches
// through <<<>>> and cudaLaunchKernel with every kind of parameter (none,
// scalars of each alignment, templates, structs by value, a 1 KiB struct),
// 3D grids, static and dynamic shared memory, invalid configurations.
//
// A device that cannot execute kernels may refuse launches with
// cudaErrorNoKernelImageForDevice; the program then checks that the refusal
// is not sticky and skips result checks (see LAUNCH_ACCEPTED in check.h).
// Everything that does not run a kernel is checked either way.
#include <cstring>
#include <vector>

#include "check.h"

__device__ int g_flag;
__device__ unsigned g_count;

__global__ void k_noparams() {
  if (blockIdx.x == 0 && threadIdx.x == 0) g_flag = 1234;
  atomicAdd(&g_count, 1u);
}

template <typename T>
__global__ void k_axpy(T a, const T* x, T* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

struct Params {
  char c;
  double d;
  int i;
  short s;
  float f[3];
  long long ll;
  int* out;
  unsigned char tail;
};

__global__ void k_struct(Params p) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  p.out[0] = p.c;
  p.out[1] = (int)p.d;
  p.out[2] = p.i;
  p.out[3] = p.s;
  p.out[4] = (int)(p.f[0] + p.f[1] + p.f[2]);
  p.out[5] = (int)(p.ll >> 32);
  p.out[6] = (int)(p.ll & 0xffffffff);
  p.out[7] = p.tail;
}

// Scalars of every size in an order that forces padding between them.
__global__ void k_mixed(char c, double d, short s, long long ll, float f, unsigned char u, int* out) {
  out[0] = c;
  out[1] = (int)(d * 4.0);
  out[2] = s;
  out[3] = (int)(ll / 1000000007LL);
  out[4] = (int)(f * 8.f);
  out[5] = u;
}

struct Big {
  int v[256];
};

__global__ void k_big_param(Big b, int* out) {
  int t = threadIdx.x;
  out[t] = b.v[t] * 2 + 1;
}

__global__ void k_static_smem(int* out) {
  __shared__ int buf[256];  // 1024 bytes
  int t = threadIdx.x;
  buf[t] = t * 5 + 1;
  __syncthreads();
  out[blockIdx.x * 256 + t] = buf[255 - t] + (int)blockIdx.x;
}

__global__ void k_dyn_smem(int* out, int n) {
  extern __shared__ int dyn[];
  int t = threadIdx.x;
  if (t < n) dyn[t] = t * 3;
  __syncthreads();
  if (t < n) out[t] = dyn[n - 1 - t];
}

__global__ void __launch_bounds__(256) k_bounded(int* out) {
  out[blockIdx.x * blockDim.x + threadIdx.x] = (int)threadIdx.x;
}

__global__ void k_index3d(int* out) {
  int bx = blockIdx.x, by = blockIdx.y, bz = blockIdx.z;
  int tx = threadIdx.x, ty = threadIdx.y, tz = threadIdx.z;
  int block = (bz * gridDim.y + by) * gridDim.x + bx;
  int thread = (tz * blockDim.y + ty) * blockDim.x + tx;
  int nthreads = blockDim.x * blockDim.y * blockDim.z;
  out[block * nthreads + thread] = (bx << 20) | (by << 16) | (bz << 12) | (tx << 8) | (ty << 4) | tz;
}

static void not_a_kernel() {}

static cudaDeviceProp g_prop;

static cudaFuncAttributes attrs_of(const void* f, const char* name) {
  cudaFuncAttributes a;
  std::memset(&a, 0xff, sizeof(a));
  cudaError_t e = cudaFuncGetAttributes(&a, f);
  EXPECT_MSG(e == cudaSuccess, "cudaFuncGetAttributes(%s) -> %s", name, cudaGetErrorName(e));
  EXPECT_MSG(a.numRegs >= 0 && a.numRegs <= 255, "%s: numRegs %d", name, a.numRegs);
  EXPECT_MSG(a.maxThreadsPerBlock > 0 && a.maxThreadsPerBlock <= g_prop.maxThreadsPerBlock,
             "%s: maxThreadsPerBlock %d", name, a.maxThreadsPerBlock);
  EXPECT_MSG(a.localSizeBytes < (1u << 24), "%s: localSizeBytes %zu", name, a.localSizeBytes);
  EXPECT_MSG(a.constSizeBytes < (1u << 16), "%s: constSizeBytes %zu", name, a.constSizeBytes);
  EXPECT_MSG(a.sharedSizeBytes <= g_prop.sharedMemPerBlock, "%s: sharedSizeBytes %zu", name,
             a.sharedSizeBytes);
  return a;
}

static void test_function_attributes() {
  cudaFuncAttributes a = attrs_of((const void*)k_noparams, "k_noparams");
  EXPECT_EQ(a.sharedSizeBytes, 0);
  attrs_of((const void*)k_axpy<float>, "k_axpy<float>");
  attrs_of((const void*)k_axpy<double>, "k_axpy<double>");
  attrs_of((const void*)k_axpy<int>, "k_axpy<int>");
  attrs_of((const void*)k_struct, "k_struct");
  attrs_of((const void*)k_mixed, "k_mixed");
  attrs_of((const void*)k_big_param, "k_big_param");
  attrs_of((const void*)k_index3d, "k_index3d");
  a = attrs_of((const void*)k_static_smem, "k_static_smem");
  EXPECT_EQ(a.sharedSizeBytes, 256 * sizeof(int));
  a = attrs_of((const void*)k_dyn_smem, "k_dyn_smem");
  EXPECT_EQ(a.sharedSizeBytes, 0);  // dynamic shared memory is not counted
  a = attrs_of((const void*)k_bounded, "k_bounded");
  EXPECT_MSG(a.maxThreadsPerBlock >= 32 && a.maxThreadsPerBlock <= 256,
             "__launch_bounds__(256) kernel reports maxThreadsPerBlock %d", a.maxThreadsPerBlock);
  // The C++ template overload.
  cudaFuncAttributes t;
  CHECK(cudaFuncGetAttributes(&t, k_static_smem));
  EXPECT_EQ(t.sharedSizeBytes, 256 * sizeof(int));

  // A host function is not a kernel. The reference documents only
  // cudaErrorInvalidDeviceFunction; since CUDA 12 the runtime forwards an
  // unknown pointer to the driver as a cudaKernel_t handle, whose
  // invalid-handle code can come back instead, so that is accepted too.
  EXPECT_ERR2(cudaFuncGetAttributes(&a, (const void*)not_a_kernel),
              cudaErrorInvalidDeviceFunction, cudaErrorInvalidResourceHandle);
  cudaGetLastError();

  // Opting in to more dynamic shared memory.
  const int optin = (int)g_prop.sharedMemPerBlockOptin;
  CHECK(cudaFuncSetAttribute((const void*)k_dyn_smem, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             optin));
  a = attrs_of((const void*)k_dyn_smem, "k_dyn_smem after opt-in");
  EXPECT_EQ(a.maxDynamicSharedSizeBytes, optin);
  EXPECT_ERR(cudaFuncSetAttribute((const void*)k_dyn_smem,
                                  cudaFuncAttributeMaxDynamicSharedMemorySize, optin + 4096),
             cudaErrorInvalidValue);
  cudaGetLastError();
}

static void test_occupancy() {
  int n0 = -1, n32 = -1, n48 = -1;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n0, k_dyn_smem, 128, 0));
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n32, k_dyn_smem, 128, 32 * 1024));
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n48, k_dyn_smem, 128, 48 * 1024));
  std::printf("occupancy k_dyn_smem/128 threads: %d (0 B), %d (32 KiB), %d (48 KiB) blocks/SM\n", n0,
              n32, n48);
  EXPECT(n0 > 0);
  EXPECT(n0 * 128 <= g_prop.maxThreadsPerMultiProcessor);
  EXPECT(n0 <= g_prop.maxBlocksPerMultiProcessor);
  EXPECT_MSG(n32 >= 1 && n32 < n0, "32 KiB of shared memory per block must lower occupancy");
  EXPECT(n48 >= 1 && n48 <= n32);
  EXPECT(n32 * 32 * 1024 <= (int)g_prop.sharedMemPerMultiprocessor);

  int nb = -1;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&nb, k_static_smem, 256, 0));
  EXPECT(nb > 0 && nb * 256 <= g_prop.maxThreadsPerMultiProcessor);

  int min_grid = -1, block = -1;
  CHECK(cudaOccupancyMaxPotentialBlockSize(&min_grid, &block, k_axpy<float>, 0, 0));
  std::printf("k_axpy<float>: block %d, min grid %d\n", block, min_grid);
  EXPECT(block > 0 && block <= g_prop.maxThreadsPerBlock && block % g_prop.warpSize == 0);
  EXPECT(min_grid >= g_prop.multiProcessorCount);
  CHECK(cudaOccupancyMaxPotentialBlockSize(&min_grid, &block, k_bounded, 0, 0));
  EXPECT(block > 0 && block <= 256);

  size_t avail = 0;
  CHECK(cudaOccupancyAvailableDynamicSMemPerBlock(&avail, k_dyn_smem, 1, 128));
  EXPECT(avail >= 48 * 1024);
}

static void test_noparams_and_templates() {
  unsigned zero = 0;
  CHECK(cudaMemcpyToSymbol(g_count, &zero, sizeof(zero)));
  k_noparams<<<3, 64>>>();
  if (LAUNCH_ACCEPTED(cudaGetLastError(), "k_noparams")) {
    CHECK(cudaDeviceSynchronize());
    int flag = 0;
    unsigned count = 0;
    CHECK(cudaMemcpyFromSymbol(&flag, g_flag, sizeof(flag)));
    CHECK(cudaMemcpyFromSymbol(&count, g_count, sizeof(count)));
    EXPECT_EQ(flag, 1234);
    EXPECT_EQ(count, 192);
  }

  const int n = 1000;
  std::vector<float> xf(n), yf(n);
  std::vector<double> xd(n), yd(n);
  std::vector<int> xi(n), yi(n);
  for (int i = 0; i < n; ++i) {
    xf[i] = i * 0.5f; yf[i] = 1.0f;
    xd[i] = i * 0.25; yd[i] = -2.0;
    xi[i] = i; yi[i] = 7;
  }
  float *dxf, *dyf;
  double *dxd, *dyd;
  int *dxi, *dyi;
  CHECK(cudaMalloc(&dxf, n * sizeof(float)));
  CHECK(cudaMalloc(&dyf, n * sizeof(float)));
  CHECK(cudaMalloc(&dxd, n * sizeof(double)));
  CHECK(cudaMalloc(&dyd, n * sizeof(double)));
  CHECK(cudaMalloc(&dxi, n * sizeof(int)));
  CHECK(cudaMalloc(&dyi, n * sizeof(int)));
  CHECK(cudaMemcpy(dxf, xf.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dyf, yf.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dxd, xd.data(), n * sizeof(double), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dyd, yd.data(), n * sizeof(double), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dxi, xi.data(), n * sizeof(int), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dyi, yi.data(), n * sizeof(int), cudaMemcpyHostToDevice));

  const int threads = 128, blocks = (n + threads - 1) / threads;
  k_axpy<float><<<blocks, threads>>>(2.0f, dxf, dyf, n);
  bool ran_f = LAUNCH_ACCEPTED(cudaGetLastError(), "k_axpy<float>");
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  k_axpy<double><<<blocks, threads, 0, s>>>(4.0, dxd, dyd, n);
  bool ran_d = LAUNCH_ACCEPTED(cudaGetLastError(), "k_axpy<double>");
  // cudaLaunchKernel directly, with the argument array.
  int a = -3;
  int nn = n;
  void* args[] = {&a, &dxi, &dyi, &nn};
  bool ran_i = LAUNCH_ACCEPTED(
      cudaLaunchKernel((const void*)k_axpy<int>, dim3(blocks), dim3(threads), args, 0, s),
      "cudaLaunchKernel(k_axpy<int>)");
  CHECK(cudaDeviceSynchronize());

  std::vector<float> rf(n);
  std::vector<double> rd(n);
  std::vector<int> ri(n);
  CHECK(cudaMemcpy(rf.data(), dyf, n * sizeof(float), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(rd.data(), dyd, n * sizeof(double), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(ri.data(), dyi, n * sizeof(int), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) {
    if (ran_f) EXPECT_MSG(rf[i] == 2.0f * xf[i] + 1.0f, "float y[%d] = %f", i, rf[i]);
    if (ran_d) EXPECT_MSG(rd[i] == 4.0 * xd[i] - 2.0, "double y[%d] = %f", i, rd[i]);
    if (ran_i) EXPECT_MSG(ri[i] == -3 * i + 7, "int y[%d] = %d", i, ri[i]);
    // A refused launch must not have touched its output.
    if (!ran_f) EXPECT(rf[i] == 1.0f);
    if (!ran_d) EXPECT(rd[i] == -2.0);
    if (!ran_i) EXPECT(ri[i] == 7);
  }
  CHECK(cudaStreamDestroy(s));
  for (void* p : {(void*)dxf, (void*)dyf, (void*)dxd, (void*)dyd, (void*)dxi, (void*)dyi})
    CHECK(cudaFree(p));
}

static void test_struct_params() {
  int* out = nullptr;
  CHECK(cudaMalloc(&out, 256 * sizeof(int)));
  CHECK(cudaMemset(out, 0, 256 * sizeof(int)));
  Params p;
  std::memset(&p, 0, sizeof(p));
  p.c = -5;
  p.d = 12345.75;
  p.i = -987654;
  p.s = 31000;
  p.f[0] = 1.5f; p.f[1] = 2.25f; p.f[2] = 3.25f;
  p.ll = (0x12345678LL << 32) | 0x0abcdef0LL;
  p.out = out;
  p.tail = 0xa5;
  k_struct<<<1, 32>>>(p);
  if (LAUNCH_ACCEPTED(cudaGetLastError(), "k_struct")) {
    CHECK(cudaDeviceSynchronize());
    int got[8];
    CHECK(cudaMemcpy(got, out, sizeof(got), cudaMemcpyDeviceToHost));
    const int want[8] = {-5, 12345, -987654, 31000, 7, 0x12345678, 0x0abcdef0, 0xa5};
    for (int k = 0; k < 8; ++k) EXPECT_MSG(got[k] == want[k], "k_struct out[%d] = %d, want %d", k, got[k], want[k]);
  }

  // The same struct through cudaLaunchKernel.
  CHECK(cudaMemset(out, 0, 256 * sizeof(int)));
  p.i = 424242;
  void* args[] = {&p};
  if (LAUNCH_ACCEPTED(cudaLaunchKernel((const void*)k_struct, dim3(1), dim3(1), args, 0, 0),
                      "cudaLaunchKernel(k_struct)")) {
    CHECK(cudaDeviceSynchronize());
    int got[8];
    CHECK(cudaMemcpy(got, out, sizeof(got), cudaMemcpyDeviceToHost));
    EXPECT_EQ(got[2], 424242);
    EXPECT_EQ(got[7], 0xa5);
  }

  CHECK(cudaMemset(out, 0, 256 * sizeof(int)));
  k_mixed<<<1, 1>>>((char)-100, 2.75, (short)-12345, 1000000007LL * 1234567, 0.625f,
                    (unsigned char)200, out);
  if (LAUNCH_ACCEPTED(cudaGetLastError(), "k_mixed")) {
    CHECK(cudaDeviceSynchronize());
    int got[6];
    CHECK(cudaMemcpy(got, out, sizeof(got), cudaMemcpyDeviceToHost));
    const int want[6] = {-100, 11, -12345, 1234567, 5, 200};
    for (int k = 0; k < 6; ++k) EXPECT_MSG(got[k] == want[k], "k_mixed out[%d] = %d, want %d", k, got[k], want[k]);
  }

  Big b;
  for (int k = 0; k < 256; ++k) b.v[k] = k * k - 100;
  k_big_param<<<1, 256>>>(b, out);
  if (LAUNCH_ACCEPTED(cudaGetLastError(), "k_big_param")) {
    CHECK(cudaDeviceSynchronize());
    int got[256];
    CHECK(cudaMemcpy(got, out, sizeof(got), cudaMemcpyDeviceToHost));
    for (int k = 0; k < 256; ++k) EXPECT_MSG(got[k] == b.v[k] * 2 + 1, "k_big_param out[%d] = %d", k, got[k]);
  }
  CHECK(cudaFree(out));
}

static void test_shared_memory_and_3d() {
  int* out = nullptr;
  const int max_elems = 4 * 256;
  CHECK(cudaMalloc(&out, max_elems * sizeof(int)));

  k_static_smem<<<4, 256>>>(out);
  if (LAUNCH_ACCEPTED(cudaGetLastError(), "k_static_smem")) {
    CHECK(cudaDeviceSynchronize());
    std::vector<int> got(4 * 256);
    CHECK(cudaMemcpy(got.data(), out, got.size() * sizeof(int), cudaMemcpyDeviceToHost));
    for (int b = 0; b < 4; ++b)
      for (int t = 0; t < 256; ++t)
        EXPECT_MSG(got[b * 256 + t] == (255 - t) * 5 + 1 + b, "k_static_smem[%d][%d]", b, t);
  }

  const int n = 200;
  k_dyn_smem<<<1, 256, n * sizeof(int)>>>(out, n);
  if (LAUNCH_ACCEPTED(cudaGetLastError(), "k_dyn_smem")) {
    CHECK(cudaDeviceSynchronize());
    std::vector<int> got(n);
    CHECK(cudaMemcpy(got.data(), out, n * sizeof(int), cudaMemcpyDeviceToHost));
    for (int t = 0; t < n; ++t) EXPECT_MSG(got[t] == (n - 1 - t) * 3, "k_dyn_smem[%d]", t);
  }

  k_bounded<<<2, 256>>>(out);
  if (LAUNCH_ACCEPTED(cudaGetLastError(), "k_bounded")) {
    CHECK(cudaDeviceSynchronize());
    std::vector<int> got(512);
    CHECK(cudaMemcpy(got.data(), out, 512 * sizeof(int), cudaMemcpyDeviceToHost));
    for (int i = 0; i < 512; ++i) EXPECT_EQ(got[i], i % 256);
  }

  const dim3 grid(2, 3, 2), block(4, 2, 3);
  const int total = 12 * 24;
  CHECK(cudaMemset(out, 0xff, total * sizeof(int)));
  k_index3d<<<grid, block>>>(out);
  if (LAUNCH_ACCEPTED(cudaGetLastError(), "k_index3d")) {
    CHECK(cudaDeviceSynchronize());
    std::vector<int> got(total);
    CHECK(cudaMemcpy(got.data(), out, total * sizeof(int), cudaMemcpyDeviceToHost));
    int i = 0;
    for (int bz = 0; bz < 2; ++bz)
      for (int by = 0; by < 3; ++by)
        for (int bx = 0; bx < 2; ++bx)
          for (int tz = 0; tz < 3; ++tz)
            for (int ty = 0; ty < 2; ++ty)
              for (int tx = 0; tx < 4; ++tx, ++i) {
                int want = (bx << 20) | (by << 16) | (bz << 12) | (tx << 8) | (ty << 4) | tz;
                EXPECT_MSG(got[i] == want, "k_index3d[%d] = %#x, want %#x", i, got[i], want);
              }
  }
  CHECK(cudaFree(out));
}

static void expect_invalid_config(cudaError_t got, const char* what) {
  EXPECT_MSG(got == cudaErrorInvalidConfiguration, "%s -> %s, expected cudaErrorInvalidConfiguration",
             what, cudaGetErrorName(got));
  cudaGetLastError();
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  CHECK(cudaDeviceSynchronize());  // not sticky
}

static void test_invalid_configurations() {
  cudaGetLastError();
  k_noparams<<<1, 2048>>>();
  expect_invalid_config(cudaGetLastError(), "<<<1, 2048>>>");
  k_noparams<<<0, 32>>>();
  expect_invalid_config(cudaGetLastError(), "<<<0, 32>>>");
  k_noparams<<<1, dim3(1, 1, 128)>>>();
  expect_invalid_config(cudaGetLastError(), "<<<1, (1, 1, 128)>>>");
  k_noparams<<<dim3(1, 65536), 1>>>();
  expect_invalid_config(cudaGetLastError(), "<<<(1, 65536), 1>>>");
  k_noparams<<<1, 0>>>();
  expect_invalid_config(cudaGetLastError(), "<<<1, 0>>>");
  expect_invalid_config(
      cudaLaunchKernel((const void*)k_noparams, dim3(1), dim3(2048), nullptr, 0, 0),
      "cudaLaunchKernel with 2048 threads");
  // A valid launch still behaves normally afterwards.
  k_noparams<<<1, 32>>>();
  if (LAUNCH_ACCEPTED(cudaGetLastError(), "k_noparams after invalid configs"))
    CHECK(cudaDeviceSynchronize());
}

int main() {
  CHECK(cudaSetDevice(0));
  CHECK(cudaGetDeviceProperties(&g_prop, 0));
  test_function_attributes();
  test_occupancy();
  test_noparams_and_templates();
  test_struct_params();
  test_shared_memory_and_3d();
  test_invalid_configurations();
  CHECK(cudaDeviceSynchronize());
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  std::printf("launch_registration: OK\n");
  return 0;
}
