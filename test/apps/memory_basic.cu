// Allocation APIs: device memory, pinned / mapped / registered host memory,
// pointer attributes, pitched and 3D allocations, cudaMemGetInfo.
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"

static cudaDeviceProp g_prop;
static bool g_host_ptr_is_device_ptr = false;  // all devices: CanUseHostPointerForRegisteredMem

static bool aligned(const void* p, size_t a) { return (reinterpret_cast<uintptr_t>(p) % a) == 0; }

// Write a pattern through `dev` and read it back.
static void round_trip(void* dev, size_t n, unsigned seed) {
  std::vector<unsigned char> in(n), out(n, 0);
  fill_pattern(in.data(), n, seed);
  CHECK(cudaMemcpy(dev, in.data(), n, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(out.data(), dev, n, cudaMemcpyDeviceToHost));
  EXPECT_BYTES_EQ(out.data(), in.data(), n);
}

static void test_malloc_free() {
  // Size 0 succeeds; the returned pointer (NULL on current drivers, left
  // unchanged by some older ones) may be passed to cudaFree.
  void* z = nullptr;
  CHECK(cudaMalloc(&z, 0));
  CHECK(cudaFree(z));
  CHECK(cudaFree(nullptr));  // documented no-op

  // Every allocation is aligned to at least 256 bytes (Programming Guide,
  // "Device Memory Accesses"), whatever its size.
  const size_t sizes[] = {1, 3, 255, 256, 257, 4096, 65537, 1u << 20, (3u << 20) + 5};
  std::vector<void*> ptrs;
  for (size_t s : sizes) {
    void* p = nullptr;
    CHECK(cudaMalloc(&p, s));
    EXPECT(p != nullptr);
    EXPECT_MSG(aligned(p, 256), "cudaMalloc(%zu) returned %p", s, p);
    ptrs.push_back(p);
  }
  // Distinct, non-overlapping allocations.
  for (size_t i = 0; i < ptrs.size(); ++i)
    for (size_t j = 0; j < ptrs.size(); ++j) {
      if (i == j) continue;
      uintptr_t a = (uintptr_t)ptrs[i], b = (uintptr_t)ptrs[j];
      EXPECT_MSG(a + sizes[i] <= b || b + sizes[j] <= a, "allocations %zu and %zu overlap", i, j);
    }
  for (size_t i = 0; i < ptrs.size(); ++i) round_trip(ptrs[i], sizes[i], (unsigned)i);
  for (void* p : ptrs) CHECK(cudaFree(p));

  // Many small allocations, freed in a different order than allocated.
  std::vector<void*> many(200);
  for (size_t i = 0; i < many.size(); ++i) CHECK(cudaMalloc(&many[i], 16 + i * 8));
  for (size_t i = 0; i < many.size(); i += 2) CHECK(cudaFree(many[i]));
  for (size_t i = 1; i < many.size(); i += 2) CHECK(cudaFree(many[i]));
}

static void test_mem_get_info() {
  size_t free0 = 0, total = 0;
  CHECK(cudaMemGetInfo(&free0, &total));
  EXPECT(total > 0 && free0 > 0 && free0 <= total);
  EXPECT(total <= g_prop.totalGlobalMem);

  const size_t big = 512u << 20;
  void* p = nullptr;
  CHECK(cudaMalloc(&p, big));
  size_t free1 = 0;
  CHECK(cudaMemGetInfo(&free1, &total));
  EXPECT_MSG(free1 + big / 2 <= free0, "free %zu -> %zu after cudaMalloc(%zu)", free0, free1, big);
  CHECK(cudaFree(p));
  size_t free2 = 0;
  CHECK(cudaMemGetInfo(&free2, &total));
  EXPECT_MSG(free2 >= free1 + big / 2, "free %zu -> %zu after cudaFree(%zu)", free1, free2, big);
}

static void test_malloc_host() {
  void* h = nullptr;
  const size_t n = (1u << 20) + 17;
  CHECK(cudaMallocHost(&h, n));
  EXPECT(h != nullptr);
  std::memset(h, 0xab, n);  // host-accessible
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  CHECK(cudaMemcpy(d, h, n, cudaMemcpyHostToDevice));
  fill_pattern(h, n, 9);
  CHECK(cudaMemcpy(h, d, n, cudaMemcpyDeviceToHost));
  EXPECT_FILL(h, 0xab, n);
  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(h));
  CHECK(cudaFreeHost(nullptr));  // documented no-op
}

static void test_host_alloc() {
  const unsigned flag_sets[] = {cudaHostAllocDefault, cudaHostAllocPortable, cudaHostAllocMapped,
                                cudaHostAllocPortable | cudaHostAllocMapped};
  const size_t n = 64 * 1024 + 3;
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  for (unsigned flags : flag_sets) {
    void* h = nullptr;
    CHECK(cudaHostAlloc(&h, n, flags));
    EXPECT(h != nullptr);
    unsigned got = 0;
    CHECK(cudaHostGetFlags(&got, h));
    // The driver may add implicit bits (under UVA all pinned memory is
    // portable and mapped) but never drops the requested ones.
    EXPECT_MSG((got & flags) == flags, "flags %#x requested, cudaHostGetFlags says %#x", flags, got);
    // Also for an interior pointer.
    CHECK(cudaHostGetFlags(&got, (char*)h + 100));
    EXPECT((got & flags) == flags);

    void* dp = nullptr;
    CHECK(cudaHostGetDevicePointer(&dp, h, 0));
    EXPECT(dp != nullptr);
    if (g_host_ptr_is_device_ptr) EXPECT(dp == h);
    void* dp_inner = nullptr;
    CHECK(cudaHostGetDevicePointer(&dp_inner, (char*)h + 1000, 0));
    EXPECT(dp_inner == (char*)dp + 1000);
    EXPECT_ERR(cudaHostGetDevicePointer(&dp, h, 1), cudaErrorInvalidValue);  // flags must be 0
    cudaGetLastError();

    // The device-side alias reaches the same bytes: device buffer -> mapped
    // host memory through the device pointer.
    fill_pattern(h, n, flags);
    std::vector<unsigned char> want(n);
    std::memcpy(want.data(), h, n);
    CHECK(cudaMemcpy(d, dp, n, cudaMemcpyDefault));
    std::memset(h, 0, n);
    CHECK(cudaMemcpy(dp, d, n, cudaMemcpyDefault));
    CHECK(cudaDeviceSynchronize());
    EXPECT_BYTES_EQ(h, want.data(), n);
    CHECK(cudaFreeHost(h));
  }
  CHECK(cudaFree(d));

  // Plain malloc memory is not pinned.
  std::vector<char> plain(64);
  unsigned got = 0;
  EXPECT_ERR(cudaHostGetFlags(&got, plain.data()), cudaErrorInvalidValue);
  cudaGetLastError();
}

static void test_host_register() {
  int supported = 0;
  CHECK(cudaDeviceGetAttribute(&supported, cudaDevAttrHostRegisterSupported, 0));
  if (!supported) {
    std::printf("cudaHostRegister not supported on this device: skipping\n");
    return;
  }
  const size_t n = 1u << 20;
  void* h = std::aligned_alloc(4096, n);
  EXPECT(h != nullptr);
  fill_pattern(h, n, 21);
  CHECK(cudaHostRegister(h, n, cudaHostRegisterDefault));
  // Registering the same range again is refused with a dedicated code.
  EXPECT_ERR(cudaHostRegister(h, n, cudaHostRegisterDefault), cudaErrorHostMemoryAlreadyRegistered);
  cudaGetLastError();

  cudaPointerAttributes a;
  CHECK(cudaPointerGetAttributes(&a, h));
  EXPECT_EQ(a.type, cudaMemoryTypeHost);
  EXPECT(a.hostPointer == h);
  EXPECT(a.devicePointer != nullptr);
  if (g_host_ptr_is_device_ptr) EXPECT(a.devicePointer == h);

  // On a UVA system the default registration is mapped: a device alias exists.
  void* dp = nullptr;
  CHECK(cudaHostGetDevicePointer(&dp, h, 0));
  EXPECT(dp == a.devicePointer);

  // Copies from and to registered memory.
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  CHECK(cudaMemcpy(d, h, n, cudaMemcpyHostToDevice));
  std::vector<unsigned char> want(n);
  std::memcpy(want.data(), h, n);
  std::memset(h, 0, n);
  CHECK(cudaMemcpy(h, d, n, cudaMemcpyDeviceToHost));
  EXPECT_BYTES_EQ(h, want.data(), n);
  CHECK(cudaFree(d));

  CHECK(cudaHostUnregister(h));
  EXPECT_ERR(cudaHostUnregister(h), cudaErrorHostMemoryNotRegistered);
  cudaGetLastError();
  CHECK(cudaPointerGetAttributes(&a, h));
  EXPECT_EQ(a.type, cudaMemoryTypeUnregistered);
  std::free(h);
}

static void test_pointer_attributes() {
  const size_t n = 1u << 20;
  void* d = nullptr;
  CHECK(cudaMalloc(&d, n));
  cudaPointerAttributes a;
  std::memset(&a, 0xff, sizeof(a));
  CHECK(cudaPointerGetAttributes(&a, d));
  EXPECT_EQ(a.type, cudaMemoryTypeDevice);
  EXPECT_EQ(a.device, 0);
  EXPECT(a.devicePointer == d);
  EXPECT(a.hostPointer == nullptr);
  // Interior pointer and last byte.
  CHECK(cudaPointerGetAttributes(&a, (char*)d + 12345));
  EXPECT_EQ(a.type, cudaMemoryTypeDevice);
  EXPECT(a.devicePointer == (char*)d + 12345);
  CHECK(cudaPointerGetAttributes(&a, (char*)d + n - 1));
  EXPECT_EQ(a.type, cudaMemoryTypeDevice);
  EXPECT(a.devicePointer == (char*)d + n - 1);

  void* h = nullptr;
  CHECK(cudaMallocHost(&h, n));
  CHECK(cudaPointerGetAttributes(&a, h));
  EXPECT_EQ(a.type, cudaMemoryTypeHost);
  EXPECT_EQ(a.device, 0);
  EXPECT(a.hostPointer == h);
  EXPECT(a.devicePointer != nullptr);
  if (g_host_ptr_is_device_ptr) EXPECT(a.devicePointer == h);
  void* dev_alias = a.devicePointer;
  CHECK(cudaPointerGetAttributes(&a, (char*)h + 777));
  EXPECT_EQ(a.type, cudaMemoryTypeHost);
  EXPECT(a.hostPointer == (char*)h + 777);
  EXPECT(a.devicePointer == (char*)dev_alias + 777);

  // Plain host memory: success with type Unregistered since CUDA 11.
  std::vector<char> plain(4096);
  CHECK(cudaPointerGetAttributes(&a, plain.data()));
  EXPECT_EQ(a.type, cudaMemoryTypeUnregistered);
  int on_stack = 0;
  CHECK(cudaPointerGetAttributes(&a, &on_stack));
  EXPECT_EQ(a.type, cudaMemoryTypeUnregistered);

  CHECK(cudaFree(d));
  CHECK(cudaFreeHost(h));
}

static void test_malloc_pitch() {
  struct Case { size_t w, h; };
  const Case cases[] = {{1, 1}, {100, 7}, {1000, 17}, {4096, 3}, {5000, 33}};
  for (const Case& c : cases) {
    void* p = nullptr;
    size_t pitch = 0;
    CHECK(cudaMallocPitch(&p, &pitch, c.w, c.h));
    EXPECT(p != nullptr);
    EXPECT(aligned(p, 256));
    EXPECT_MSG(pitch >= c.w, "pitch %zu < width %zu", pitch, c.w);
    // Every row start stays aligned for texture binding / coalescing.
    EXPECT_MSG(pitch % g_prop.texturePitchAlignment == 0, "pitch %zu not a multiple of %zu",
               pitch, g_prop.texturePitchAlignment);
    // The whole pitch * height range belongs to the allocation.
    CHECK(cudaMemset(p, 0x11, pitch * c.h));
    round_trip(p, pitch * c.h, (unsigned)c.w);
    CHECK(cudaFree(p));
  }
}

static void test_malloc_3d() {
  cudaExtent e = make_cudaExtent(300, 20, 5);  // width in bytes
  cudaPitchedPtr pp;
  std::memset(&pp, 0, sizeof(pp));
  CHECK(cudaMalloc3D(&pp, e));
  EXPECT(pp.ptr != nullptr);
  EXPECT(aligned(pp.ptr, 256));
  EXPECT(pp.pitch >= e.width);
  EXPECT_EQ(pp.xsize, e.width);
  EXPECT_EQ(pp.ysize, e.height);
  EXPECT(pp.pitch % g_prop.texturePitchAlignment == 0);
  round_trip(pp.ptr, pp.pitch * e.height * e.depth, 33);
  cudaPointerAttributes a;
  CHECK(cudaPointerGetAttributes(&a, pp.ptr));
  EXPECT_EQ(a.type, cudaMemoryTypeDevice);
  CHECK(cudaFree(pp.ptr));
}

int main() {
  CHECK(cudaSetDevice(0));
  CHECK(cudaGetDeviceProperties(&g_prop, 0));
  int ndev = 0;
  CHECK(cudaGetDeviceCount(&ndev));
  g_host_ptr_is_device_ptr = true;
  for (int i = 0; i < ndev; ++i) {
    int v = 0;
    CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrCanUseHostPointerForRegisteredMem, i));
    g_host_ptr_is_device_ptr = g_host_ptr_is_device_ptr && v != 0;
  }

  test_malloc_free();
  test_mem_get_info();
  test_malloc_host();
  test_host_alloc();
  test_host_register();
  test_pointer_attributes();
  test_malloc_pitch();
  test_malloc_3d();
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  std::printf("memory_basic: OK\n");
  return 0;
}
