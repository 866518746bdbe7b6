// __device__ and __constant__ variables: initial values (readable before
// any kernel runs), sizes, addresses, copies to / from symbols with offsets
// and on streams, invalid symbols and ranges, and a kernel that reads them.
#include <cstring>
#include <vector>

#include "check.h"

__device__ int d_scalar = 42;
__device__ float d_arr[16] = {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f,
                              8.5f, 9.5f, 10.5f, 11.5f, 12.5f, 13.5f, 14.5f, 15.5f};
__device__ int d_uninit;                  // zero-initialised like any static object
__device__ double d_uninit_arr[32];
__device__ long long d_big[16 * 1024];    // 128 KiB
__device__ short d_partial[8] = {1, 2, 3};  // remaining elements are zero
__constant__ int c_scalar = -7;
__constant__ float c_arr[64];
__constant__ char c_text[13] = "hello world!";
__constant__ double c_pi = 3.141592653589793;

int host_global = 5;  // an ordinary host variable: not a symbol

__global__ void k_read_symbols(int* out) {
  out[0] = c_scalar;
  out[1] = d_scalar;
  out[2] = (int)(c_arr[3] * 10.f);
  out[3] = (int)(d_arr[2] * 10.f);
  out[4] = c_text[4];
  out[5] = (int)(c_pi * 1000.0);
  d_uninit = 99;
}

static void test_initial_values() {
  int i = 0;
  CHECK(cudaMemcpyFromSymbol(&i, d_scalar, sizeof(i)));
  EXPECT_EQ(i, 42);
  float f[16];
  CHECK(cudaMemcpyFromSymbol(f, d_arr, sizeof(f)));
  for (int k = 0; k < 16; ++k) EXPECT_MSG(f[k] == k + 0.5f, "d_arr[%d] = %f", k, f[k]);
  CHECK(cudaMemcpyFromSymbol(&i, d_uninit, sizeof(i)));
  EXPECT_EQ(i, 0);
  double dz[32];
  CHECK(cudaMemcpyFromSymbol(dz, d_uninit_arr, sizeof(dz)));
  for (int k = 0; k < 32; ++k) EXPECT(dz[k] == 0.0);
  std::vector<long long> big(16 * 1024, -1);
  CHECK(cudaMemcpyFromSymbol(big.data(), d_big, big.size() * sizeof(long long)));
  for (long long v : big) EXPECT_EQ(v, 0);
  short s[8];
  CHECK(cudaMemcpyFromSymbol(s, d_partial, sizeof(s)));
  const short want_s[8] = {1, 2, 3, 0, 0, 0, 0, 0};
  EXPECT_BYTES_EQ(s, want_s, sizeof(s));

  CHECK(cudaMemcpyFromSymbol(&i, c_scalar, sizeof(i)));
  EXPECT_EQ(i, -7);
  float cf[64];
  CHECK(cudaMemcpyFromSymbol(cf, c_arr, sizeof(cf)));
  for (int k = 0; k < 64; ++k) EXPECT(cf[k] == 0.f);
  char text[13];
  CHECK(cudaMemcpyFromSymbol(text, c_text, sizeof(text)));
  EXPECT(std::memcmp(text, "hello world!", 13) == 0);
  double pi = 0;
  CHECK(cudaMemcpyFromSymbol(&pi, c_pi, sizeof(pi)));
  EXPECT(pi == 3.141592653589793);
}

static void test_sizes_and_addresses() {
  struct Sym { const void* sym; size_t size; const char* name; };
  const Sym syms[] = {
      {&d_scalar, sizeof(int), "d_scalar"},       {&d_arr, sizeof(d_arr), "d_arr"},
      {&d_uninit, sizeof(int), "d_uninit"},       {&d_uninit_arr, sizeof(d_uninit_arr), "d_uninit_arr"},
      {&d_big, sizeof(d_big), "d_big"},           {&d_partial, sizeof(d_partial), "d_partial"},
      {&c_scalar, sizeof(int), "c_scalar"},       {&c_arr, sizeof(c_arr), "c_arr"},
      {&c_text, sizeof(c_text), "c_text"},        {&c_pi, sizeof(double), "c_pi"},
  };
  std::vector<std::pair<char*, size_t>> ranges;
  for (const Sym& s : syms) {
    size_t size = 0;
    CHECK(cudaGetSymbolSize(&size, s.sym));
    EXPECT_MSG(size == s.size, "cudaGetSymbolSize(%s) = %zu, expected %zu", s.name, size, s.size);
    void* p = nullptr;
    CHECK(cudaGetSymbolAddress(&p, s.sym));
    EXPECT_MSG(p != nullptr, "%s has a null address", s.name);
    void* p2 = nullptr;
    CHECK(cudaGetSymbolAddress(&p2, s.sym));
    EXPECT_MSG(p == p2, "%s address is not stable", s.name);
    cudaPointerAttributes a;
    CHECK(cudaPointerGetAttributes(&a, p));
    EXPECT_MSG(a.type == cudaMemoryTypeDevice, "%s: pointer type %d", s.name, (int)a.type);
    ranges.push_back({(char*)p, s.size});
  }
  // Symbols do not overlap each other.
  for (size_t i = 0; i < ranges.size(); ++i)
    for (size_t j = i + 1; j < ranges.size(); ++j) {
      char *a = ranges[i].first, *b = ranges[j].first;
      EXPECT_MSG(a + ranges[i].second <= b || b + ranges[j].second <= a, "%s overlaps %s",
                 syms[i].name, syms[j].name);
    }

  // Plain cudaMemcpy through the symbol's address.
  void* p = nullptr;
  CHECK(cudaGetSymbolAddress(&p, d_uninit_arr));
  double vals[4] = {1.25, -2.5, 1e300, 7.0};
  CHECK(cudaMemcpy((double*)p + 10, vals, sizeof(vals), cudaMemcpyHostToDevice));
  double back[32];
  CHECK(cudaMemcpyFromSymbol(back, d_uninit_arr, sizeof(back)));
  for (int k = 0; k < 32; ++k) {
    double want = (k >= 10 && k < 14) ? vals[k - 10] : 0.0;
    EXPECT_MSG(back[k] == want, "d_uninit_arr[%d] = %g, expected %g", k, back[k], want);
  }
  CHECK(cudaGetSymbolAddress(&p, c_arr));
  float one = 1.0f;
  CHECK(cudaMemcpy((float*)p + 63, &one, sizeof(one), cudaMemcpyHostToDevice));
  float last = 0;
  CHECK(cudaMemcpyFromSymbol(&last, c_arr, sizeof(float), 63 * sizeof(float)));
  EXPECT(last == 1.0f);
  // And the other way: cudaMemcpy out of a symbol's address.
  CHECK(cudaGetSymbolAddress(&p, c_text));
  char text[6] = {0};
  CHECK(cudaMemcpy(text, (char*)p + 6, 5, cudaMemcpyDeviceToHost));
  EXPECT(std::memcmp(text, "world", 5) == 0);
}

static void test_copies_with_offsets() {
  // Write elements 5..8 of d_arr; the rest keep their initial values.
  float w[4] = {-1.f, -2.f, -3.f, -4.f};
  CHECK(cudaMemcpyToSymbol(d_arr, w, sizeof(w), 5 * sizeof(float)));
  float f[16];
  CHECK(cudaMemcpyFromSymbol(f, d_arr, sizeof(f)));
  for (int k = 0; k < 16; ++k) {
    float want = (k >= 5 && k < 9) ? w[k - 5] : k + 0.5f;
    EXPECT_MSG(f[k] == want, "d_arr[%d] = %f, expected %f", k, f[k], want);
  }
  float mid[3];
  CHECK(cudaMemcpyFromSymbol(mid, d_arr, sizeof(mid), 4 * sizeof(float), cudaMemcpyDeviceToHost));
  EXPECT(mid[0] == 4.5f && mid[1] == -1.f && mid[2] == -2.f);

  // Unaligned byte offsets into a constant array.
  CHECK(cudaMemcpyToSymbol(c_text, "HELLO", 5, 0, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpyToSymbol(c_text, "W", 1, 6, cudaMemcpyDefault));
  char text[13];
  CHECK(cudaMemcpyFromSymbol(text, c_text, sizeof(text), 0, cudaMemcpyDefault));
  EXPECT(std::memcmp(text, "HELLO World!", 13) == 0);

  int v = 1234;
  CHECK(cudaMemcpyToSymbol(c_scalar, &v, sizeof(v)));
  int got = 0;
  CHECK(cudaMemcpyFromSymbol(&got, c_scalar, sizeof(got)));
  EXPECT_EQ(got, 1234);

  // Device-to-device in both directions.
  std::vector<float> src(64);
  for (int k = 0; k < 64; ++k) src[k] = k * 0.25f;
  float* dbuf = nullptr;
  CHECK(cudaMalloc(&dbuf, 2 * 64 * sizeof(float)));
  CHECK(cudaMemcpy(dbuf, src.data(), 64 * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpyToSymbol(c_arr, dbuf, 32 * sizeof(float), 16 * sizeof(float),
                           cudaMemcpyDeviceToDevice));
  CHECK(cudaMemset(dbuf + 64, 0, 64 * sizeof(float)));
  CHECK(cudaMemcpyFromSymbol(dbuf + 64, c_arr, 64 * sizeof(float), 0, cudaMemcpyDeviceToDevice));
  std::vector<float> back(64);
  CHECK(cudaMemcpy(back.data(), dbuf + 64, 64 * sizeof(float), cudaMemcpyDeviceToHost));
  for (int k = 0; k < 64; ++k) {
    float want = (k >= 16 && k < 48) ? src[k - 16] : (k == 63 ? 1.0f : 0.f);
    EXPECT_MSG(back[k] == want, "c_arr[%d] = %f, expected %f", k, back[k], want);
  }
  CHECK(cudaFree(dbuf));
}

static void test_async_copies() {
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  long long* h = nullptr;
  CHECK(cudaMallocHost((void**)&h, 2 * 1024 * sizeof(long long)));
  for (int k = 0; k < 1024; ++k) h[k] = (long long)k * 1000003;
  std::memset(h + 1024, 0, 1024 * sizeof(long long));
  const size_t off = 5000 * sizeof(long long);
  CHECK(cudaMemcpyToSymbolAsync(d_big, h, 1024 * sizeof(long long), off, cudaMemcpyHostToDevice, s));
  CHECK(cudaMemcpyFromSymbolAsync(h + 1024, d_big, 1024 * sizeof(long long), off,
                                  cudaMemcpyDeviceToHost, s));
  CHECK(cudaStreamSynchronize(s));
  EXPECT_BYTES_EQ(h + 1024, h, 1024 * sizeof(long long));
  // Neighbours of the written range are untouched.
  long long edge[2] = {-1, -1};
  CHECK(cudaMemcpyFromSymbolAsync(&edge[0], d_big, sizeof(long long), off - sizeof(long long),
                                  cudaMemcpyDeviceToHost, s));
  CHECK(cudaMemcpyFromSymbolAsync(&edge[1], d_big, sizeof(long long),
                                  off + 1024 * sizeof(long long), cudaMemcpyDeviceToHost, s));
  CHECK(cudaStreamSynchronize(s));
  EXPECT_EQ(edge[0], 0);
  EXPECT_EQ(edge[1], 0);
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFreeHost(h));
}

static void test_invalid() {
  int v = 0;
  void* p = (void*)&v;
  size_t size = 123;
  EXPECT_ERR(cudaMemcpyToSymbol(host_global, &v, sizeof(v)), cudaErrorInvalidSymbol);
  EXPECT_ERR(cudaMemcpyFromSymbol(&v, host_global, sizeof(v)), cudaErrorInvalidSymbol);
  EXPECT_ERR(cudaGetSymbolAddress(&p, host_global), cudaErrorInvalidSymbol);
  EXPECT(p == (void*)&v);  // "*devPtr is unchanged"
  EXPECT_ERR(cudaGetSymbolSize(&size, host_global), cudaErrorInvalidSymbol);
  EXPECT_ERR(cudaMemcpyToSymbolAsync(host_global, &v, sizeof(v), 0, cudaMemcpyHostToDevice, 0),
             cudaErrorInvalidSymbol);
  cudaGetLastError();

  // Ranges beyond the symbol.
  float f[4] = {0};
  EXPECT_ERR(cudaMemcpyToSymbol(d_arr, f, sizeof(f), 14 * sizeof(float)), cudaErrorInvalidValue);
  EXPECT_ERR(cudaMemcpyFromSymbol(f, d_arr, sizeof(f), 13 * sizeof(float) + 1),
             cudaErrorInvalidValue);
  EXPECT_ERR(cudaMemcpyToSymbol(c_scalar, f, 8), cudaErrorInvalidValue);
  cudaGetLastError();
  // The refused copies wrote nothing.
  float arr[16];
  CHECK(cudaMemcpyFromSymbol(arr, d_arr, sizeof(arr)));
  EXPECT(arr[14] == 14.5f && arr[15] == 15.5f);

  // Directions that make no sense for a symbol.
  EXPECT_ERR(cudaMemcpyToSymbol(d_scalar, &v, sizeof(v), 0, cudaMemcpyHostToHost),
             cudaErrorInvalidMemcpyDirection);
  EXPECT_ERR(cudaMemcpyToSymbol(d_scalar, &v, sizeof(v), 0, cudaMemcpyDeviceToHost),
             cudaErrorInvalidMemcpyDirection);
  EXPECT_ERR(cudaMemcpyFromSymbol(&v, d_scalar, sizeof(v), 0, cudaMemcpyHostToDevice),
             cudaErrorInvalidMemcpyDirection);
  cudaGetLastError();
  CHECK(cudaMemcpyFromSymbol(&v, d_scalar, sizeof(v)));
  EXPECT_EQ(v, 42);
}

static void test_kernel_reads_symbols() {
  int* out = nullptr;
  CHECK(cudaMalloc(&out, 8 * sizeof(int)));
  CHECK(cudaMemset(out, 0, 8 * sizeof(int)));
  float three = 0.75f;
  CHECK(cudaMemcpyToSymbol(c_arr, &three, sizeof(float), 3 * sizeof(float)));
  int zero = 0;
  CHECK(cudaMemcpyToSymbol(d_uninit, &zero, sizeof(int)));
  k_read_symbols<<<1, 1>>>(out);
  if (!LAUNCH_ACCEPTED(cudaGetLastError(), "k_read_symbols")) {
    CHECK(cudaFree(out));
    return;
  }
  CHECK(cudaDeviceSynchronize());
  int got[8];
  CHECK(cudaMemcpy(got, out, sizeof(got), cudaMemcpyDeviceToHost));
  // Values as left by the earlier tests.
  EXPECT_EQ(got[0], 1234);
  EXPECT_EQ(got[1], 42);
  EXPECT_EQ(got[2], 7);
  EXPECT_EQ(got[3], 25);
  EXPECT_EQ(got[4], 'O');
  EXPECT_EQ(got[5], 3141);
  int u = 0;
  CHECK(cudaMemcpyFromSymbol(&u, d_uninit, sizeof(u)));
  EXPECT_EQ(u, 99);
  CHECK(cudaFree(out));
}

int main() {
  CHECK(cudaSetDevice(0));
  test_initial_values();  // first: nothing has touched the symbols yet
  test_sizes_and_addresses();
  test_copies_with_offsets();
  test_async_copies();
  test_invalid();
  test_kernel_reads_symbols();
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  std::printf("symbols: OK\n");
  return 0;
}
