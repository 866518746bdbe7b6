// Data types: double precision, half precision (cuda_fp16.h), by-value struct
// parameters, __constant__ and __device__ variables with
// cudaMemcpyToSymbol / cudaMemcpyFromSymbol.
#include <cuda_fp16.h>
#include <cmath>
#include <vector>
#include "check.h"

// ---- double precision
__global__ void k_double(const double* x, double* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    double v = x[i];
    y[i] = fma(v, 1.0000000001, 1e-12) + sqrt(fabs(v)) * exp(-v * 1e-3) + (double)(long long)(v * 1e6) * 1e-9;
  }
}

__global__ void k_double_dot(const double* x, double* out, int n) {
  __shared__ double s[256];
  double v = 0;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += x[i] * x[i];
  s[threadIdx.x] = v;
  __syncthreads();
  for (int off = 128; off > 0; off >>= 1) {
    if (threadIdx.x < off) s[threadIdx.x] += s[threadIdx.x + off];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

// ---- half precision
__global__ void k_half(const __half* a, const __half* b, __half* out, float* fout, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    __half s = __hadd(a[i], b[i]);
    __half p = __hmul(a[i], b[i]);
    out[i] = __hfma(s, __float2half(0.5f), p);
    fout[i] = __half2float(a[i]) * 2.0f + __half2float(b[i]);
  }
}

__global__ void k_half2(const __half2* a, __half2* out, int n2) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n2) out[i] = __hmul2(__hadd2(a[i], a[i]), __float2half2_rn(0.25f));
}

// Half comparisons, conversions with rounding modes, and half math.
__global__ void k_half_misc(const __half* a, int* flags, float* f, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    __half x = a[i], one = __float2half(1.0f);
    flags[i] = (__hlt(x, one) ? 1 : 0) | (__hge(x, one) ? 2 : 0) | (__heq(x, one) ? 4 : 0) | (__hisnan(x) ? 8 : 0);
    f[2 * i] = __half2float(__hneg(x)) + (float)__half2int_rz(x);
    f[2 * i + 1] = __half2float(__float2half_rz(__half2float(x) + 0.0001f));
  }
}

// ---- by-value structs
struct Params {
  float scale;
  int offset;
  double bias;
  char tag;
  int coeffs[5];
};
struct alignas(16) Vec4 {
  float x, y, z, w;
};

__global__ void k_struct(Params p, Vec4 v, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = p.scale * (i + p.offset) + (float)p.bias + p.tag + p.coeffs[i % 5] + v.x + 2 * v.y + 3 * v.z + 4 * v.w;
}

// ---- __constant__ and __device__ variables
__constant__ float c_weights[16];
__constant__ int c_n;
__device__ int d_counter;
__device__ float d_table[32];

__global__ void k_symbols(const float* x, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < c_n) {
    y[i] = x[i] * c_weights[i % 16] + d_table[i % 32];
    atomicAdd(&d_counter, 1);
  }
  if (i < 32) d_table[i] = d_table[i] * 2.f;  // read-modify-write: only thread i touches entry i
}

int main() {
  // double
  const int n = 100000;
  std::vector<double> x(n), y(n);
  for (int i = 0; i < n; ++i) x[i] = (i - n / 2) * 1.2345678901234e-2;
  double *dx, *dy;
  CHECK(cudaMalloc(&dx, n * sizeof(double)));
  CHECK(cudaMalloc(&dy, n * sizeof(double)));
  CHECK(cudaMemcpy(dx, x.data(), n * sizeof(double), cudaMemcpyHostToDevice));
  k_double<<<(n + 255) / 256, 256>>>(dx, dy, n);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(y.data(), dy, n * sizeof(double), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) {
    double v = x[i];
    double w = std::fma(v, 1.0000000001, 1e-12) + std::sqrt(std::fabs(v)) * std::exp(-v * 1e-3) +
               (double)(long long)(v * 1e6) * 1e-9;
    EXPECT_MSG(std::fabs(y[i] - w) <= 1e-13 * (1.0 + std::fabs(w)), "double[%d] = %.17g, want %.17g", i, y[i], w);
  }
  const int nb = 32;
  double* dpart;
  CHECK(cudaMalloc(&dpart, nb * sizeof(double)));
  k_double_dot<<<nb, 256>>>(dx, dpart, n);
  CHECK(cudaGetLastError());
  double part[nb], got = 0, want = 0;
  CHECK(cudaMemcpy(part, dpart, sizeof(part), cudaMemcpyDeviceToHost));
  for (double p : part) got += p;
  for (double v : x) want += v * v;
  EXPECT_MSG(std::fabs(got - want) <= 1e-12 * want, "double dot = %.17g, want %.17g", got, want);

  // half
  const int nh = 4096;
  std::vector<__half> ha(nh), hb(nh), ho(nh);
  std::vector<float> fo(nh);
  for (int i = 0; i < nh; ++i) {
    ha[i] = __float2half((float)(i % 64) * 0.25f - 8.f);
    hb[i] = __float2half((float)(i % 37) * 0.125f);
  }
  __half *dha, *dhb, *dho;
  float* dfo;
  CHECK(cudaMalloc(&dha, nh * sizeof(__half)));
  CHECK(cudaMalloc(&dhb, nh * sizeof(__half)));
  CHECK(cudaMalloc(&dho, nh * sizeof(__half)));
  CHECK(cudaMalloc(&dfo, nh * sizeof(float)));
  CHECK(cudaMemcpy(dha, ha.data(), nh * sizeof(__half), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dhb, hb.data(), nh * sizeof(__half), cudaMemcpyHostToDevice));
  k_half<<<nh / 128, 128>>>(dha, dhb, dho, dfo, nh);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(ho.data(), dho, nh * sizeof(__half), cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(fo.data(), dfo, nh * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < nh; ++i) {
    float a = __half2float(ha[i]), b = __half2float(hb[i]);
    float w = (a + b) * 0.5f + a * b;
    float g = __half2float(ho[i]);
    EXPECT_MSG(std::fabs(g - w) <= 2e-3f * (1.f + std::fabs(w)), "half[%d] = %g, want %g (a=%g b=%g)", i, g, w, a, b);
    EXPECT_MSG(fo[i] == a * 2.f + b, "half->float[%d] = %g, want %g", i, fo[i], a * 2.f + b);
  }
  k_half2<<<(nh / 2 + 127) / 128, 128>>>(reinterpret_cast<__half2*>(dha), reinterpret_cast<__half2*>(dho), nh / 2);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(ho.data(), dho, nh * sizeof(__half), cudaMemcpyDeviceToHost));
  for (int i = 0; i < nh; ++i) {
    float a = __half2float(ha[i]);
    float g = __half2float(ho[i]);
    EXPECT_MSG(g == a * 0.5f, "half2[%d] = %g, want %g", i, g, a * 0.5f);  // exact in half
  }

  {
    int* dflags;
    float* dff;
    CHECK(cudaMalloc(&dflags, nh * sizeof(int)));
    CHECK(cudaMalloc(&dff, 2 * nh * sizeof(float)));
    k_half_misc<<<nh / 128, 128>>>(dha, dflags, dff, nh);
    CHECK(cudaGetLastError());
    std::vector<int> flags(nh);
    std::vector<float> ff(2 * nh);
    CHECK(cudaMemcpy(flags.data(), dflags, nh * sizeof(int), cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(ff.data(), dff, 2 * nh * sizeof(float), cudaMemcpyDeviceToHost));
    for (int i = 0; i < nh; ++i) {
      float a = __half2float(ha[i]);
      int wf = (a < 1.f ? 1 : 0) | (a >= 1.f ? 2 : 0) | (a == 1.f ? 4 : 0);
      EXPECT_MSG(flags[i] == wf, "half compare flags[%d] (a=%g) = %d, want %d", i, a, flags[i], wf);
      float w0 = -a + (float)(int)a;  // truncation toward zero
      EXPECT_MSG(ff[2 * i] == w0, "hneg/half2int_rz[%d] (a=%g) = %g, want %g", i, a, ff[2 * i], w0);
      // Reference: the host implementation of the same round-toward-zero conversion.
      float g1 = ff[2 * i + 1];
      float w1 = __half2float(__float2half_rz(a + 0.0001f));
      EXPECT_MSG(g1 == w1, "float2half_rz[%d] (a=%g) = %g, want %g", i, a, g1, w1);
    }
    CHECK(cudaFree(dflags));
    CHECK(cudaFree(dff));
  }

  // structs by value
  Params p{};
  p.scale = 0.5f;
  p.offset = 7;
  p.bias = 100.25;
  p.tag = 3;
  for (int k = 0; k < 5; ++k) p.coeffs[k] = k * k * 10;
  Vec4 v{1.f, 2.f, 3.f, 4.f};
  const int ns = 1000;
  float* dso;
  CHECK(cudaMalloc(&dso, ns * sizeof(float)));
  k_struct<<<(ns + 127) / 128, 128>>>(p, v, dso, ns);
  CHECK(cudaGetLastError());
  std::vector<float> so(ns);
  CHECK(cudaMemcpy(so.data(), dso, ns * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < ns; ++i) {
    float w = p.scale * (i + p.offset) + (float)p.bias + p.tag + p.coeffs[i % 5] + v.x + 2 * v.y + 3 * v.z + 4 * v.w;
    EXPECT_MSG(so[i] == w, "struct[%d] = %g, want %g", i, so[i], w);
  }

  // __constant__ / __device__ symbols
  float w16[16], table[32];
  for (int k = 0; k < 16; ++k) w16[k] = 0.5f * k - 2.f;
  for (int k = 0; k < 32; ++k) table[k] = (float)(k * 3);
  const int nsym = 1000;
  int zero = 0;
  CHECK(cudaMemcpyToSymbol(c_weights, w16, sizeof(w16)));
  CHECK(cudaMemcpyToSymbol(c_n, &nsym, sizeof(int)));
  CHECK(cudaMemcpyToSymbol(d_counter, &zero, sizeof(int)));
  CHECK(cudaMemcpyToSymbol(d_table, table, sizeof(table)));
  // Partial write with an offset: entries 8..11 become 1000.
  float thousand[4] = {1000.f, 1000.f, 1000.f, 1000.f};
  CHECK(cudaMemcpyToSymbol(d_table, thousand, sizeof(thousand), 8 * sizeof(float)));
  for (int k = 8; k < 12; ++k) table[k] = 1000.f;
  std::vector<float> sx(nsym), sy(nsym);
  for (int i = 0; i < nsym; ++i) sx[i] = (float)(i % 10);
  float *dsx, *dsy;
  CHECK(cudaMalloc(&dsx, nsym * sizeof(float)));
  CHECK(cudaMalloc(&dsy, nsym * sizeof(float)));
  CHECK(cudaMemcpy(dsx, sx.data(), nsym * sizeof(float), cudaMemcpyHostToDevice));
  // One block of 1024 threads. Threads < 32 read d_table[i] before doubling it;
  // other threads read d_table[i%32] unordered with that write, so they may
  // see either value.
  k_symbols<<<1, 1024>>>(dsx, dsy);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(sy.data(), dsy, nsym * sizeof(float), cudaMemcpyDeviceToHost));
  int counter = -1;
  float table_out[32];
  CHECK(cudaMemcpyFromSymbol(&counter, d_counter, sizeof(int)));
  CHECK(cudaMemcpyFromSymbol(table_out, d_table, sizeof(table_out)));
  EXPECT_EQ(counter, nsym);
  for (int k = 0; k < 32; ++k) EXPECT_MSG(table_out[k] == 2.f * table[k], "d_table[%d] = %g, want %g", k, table_out[k], 2.f * table[k]);
  // Only threads < 32 are guaranteed to see the pre-doubling value (their own
  // entry, read before they write it); check those exactly.
  for (int i = 0; i < 32; ++i) {
    float w = sx[i] * w16[i % 16] + table[i];
    EXPECT_MSG(sy[i] == w, "symbols y[%d] = %g, want %g", i, sy[i], w);
  }
  for (int i = 32; i < nsym; ++i) {
    float w1 = sx[i] * w16[i % 16] + table[i % 32];
    float w2 = sx[i] * w16[i % 16] + 2.f * table[i % 32];
    EXPECT_MSG(sy[i] == w1 || sy[i] == w2, "symbols y[%d] = %g, want %g or %g", i, sy[i], w1, w2);
  }
  // Symbol address and size queries.
  void* addr = nullptr;
  size_t sz = 0;
  CHECK(cudaGetSymbolAddress(&addr, d_table));
  CHECK(cudaGetSymbolSize(&sz, d_table));
  EXPECT(addr != nullptr);
  EXPECT_EQ(sz, sizeof(table));
  float first = -1;
  CHECK(cudaMemcpy(&first, addr, sizeof(float), cudaMemcpyDeviceToHost));
  EXPECT(first == 2.f * table[0]);

  CHECK(cudaFree(dx));
  CHECK(cudaFree(dy));
  CHECK(cudaFree(dpart));
  CHECK(cudaFree(dha));
  CHECK(cudaFree(dhb));
  CHECK(cudaFree(dho));
  CHECK(cudaFree(dfo));
  CHECK(cudaFree(dso));
  CHECK(cudaFree(dsx));
  CHECK(cudaFree(dsy));
  std::printf("kernels_types: ok\n");
  return 0;
}
