// Device management: count, properties, attributes (consistent with the
// properties), current device, flags, versions, reset.
#include <cstdlib>
#include <cstring>

#include "check.h"

static int g_count = 0;

static void test_count_and_current() {
  CHECK(cudaGetDeviceCount(&g_count));
  EXPECT(g_count >= 1);
  CHECK(cudaSetDevice(0));
  int dev = -1;
  CHECK(cudaGetDevice(&dev));
  EXPECT_EQ(dev, 0);
  for (int d = 0; d < g_count; ++d) {
    CHECK(cudaSetDevice(d));
    CHECK(cudaGetDevice(&dev));
    EXPECT_EQ(dev, d);
  }
  CHECK(cudaSetDevice(0));

  // Invalid ordinals: the current device must stay unchanged.
  EXPECT_ERR(cudaSetDevice(g_count), cudaErrorInvalidDevice);
  EXPECT_ERR(cudaSetDevice(-1), cudaErrorInvalidDevice);
  cudaGetLastError();
  CHECK(cudaGetDevice(&dev));
  EXPECT_EQ(dev, 0);
  cudaDeviceProp p;
  EXPECT_ERR(cudaGetDeviceProperties(&p, g_count), cudaErrorInvalidDevice);
  int v = 0;
  EXPECT_ERR(cudaDeviceGetAttribute(&v, cudaDevAttrWarpSize, g_count), cudaErrorInvalidDevice);
  EXPECT_ERR(cudaDeviceGetAttribute(&v, cudaDevAttrWarpSize, -1), cudaErrorInvalidDevice);
  // An attribute number that does not exist.
  EXPECT_ERR(cudaDeviceGetAttribute(&v, (cudaDeviceAttr)100000, 0), cudaErrorInvalidValue);
  cudaGetLastError();
}

static void test_properties(int dev) {
  cudaDeviceProp p;
  std::memset(&p, 0, sizeof(p));
  CHECK(cudaGetDeviceProperties(&p, dev));
  std::printf("device %d: %s, cc %d.%d, %d SMs, %.1f GiB\n", dev, p.name, p.major, p.minor,
              p.multiProcessorCount, p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
  EXPECT(p.name[0] != '\0');
  // The test harness may name the device it means to run on (a GPU backend
  // must not fall back to the CPU without anyone noticing).
  if (const char* want = std::getenv("MOAI_EXPECT_DEVICE"))
    EXPECT_MSG(std::strstr(p.name, want) != nullptr, "device is '%s', expected '%s'", p.name, want);
  EXPECT(std::strlen(p.name) < sizeof(p.name));
  EXPECT(p.totalGlobalMem > 0);
  EXPECT(p.major >= 7);  // CUDA 13 supports compute capability 7.5 and newer
  EXPECT(p.minor >= 0 && p.minor <= 9);
  EXPECT_EQ(p.warpSize, 32);
  EXPECT(p.maxThreadsPerBlock >= 1024);
  EXPECT(p.multiProcessorCount > 0);
  // Limits that are the same on every compute capability >= 3.0
  // (CUDA C++ Programming Guide, "Technical Specifications").
  EXPECT_EQ(p.maxThreadsDim[0], 1024);
  EXPECT_EQ(p.maxThreadsDim[1], 1024);
  EXPECT_EQ(p.maxThreadsDim[2], 64);
  EXPECT_EQ(p.maxGridSize[0], 2147483647);
  EXPECT_EQ(p.maxGridSize[1], 65535);
  EXPECT_EQ(p.maxGridSize[2], 65535);
  EXPECT_EQ(p.sharedMemPerBlock, 48 * 1024);
  EXPECT_EQ(p.totalConstMem, 64 * 1024);
  EXPECT(p.sharedMemPerBlockOptin >= p.sharedMemPerBlock);
  EXPECT(p.sharedMemPerMultiprocessor >= p.sharedMemPerBlockOptin);
  EXPECT(p.regsPerBlock > 0 && p.regsPerMultiprocessor >= p.regsPerBlock);
  EXPECT(p.maxThreadsPerMultiProcessor >= p.maxThreadsPerBlock);
  EXPECT(p.maxBlocksPerMultiProcessor > 0);
  EXPECT(p.memPitch > 0);
  EXPECT(p.textureAlignment > 0 && (p.textureAlignment & (p.textureAlignment - 1)) == 0);
  EXPECT(p.texturePitchAlignment > 0 &&
         (p.texturePitchAlignment & (p.texturePitchAlignment - 1)) == 0);
  EXPECT(p.l2CacheSize > 0);
  EXPECT(p.asyncEngineCount >= 0);
  EXPECT_EQ(p.unifiedAddressing, 1);  // always on 64-bit Linux
  EXPECT_EQ(p.canMapHostMemory, 1);
  EXPECT(p.pciBusID >= 0 && p.pciDeviceID >= 0 && p.pciDomainID >= 0);
}

struct AttrCase {
  cudaDeviceAttr attr;
  const char* name;
  long long expected;  // from cudaDeviceProp
};

static void test_attributes(int dev) {
  cudaDeviceProp p;
  CHECK(cudaGetDeviceProperties(&p, dev));
  const AttrCase cases[] = {
      {cudaDevAttrMaxThreadsPerBlock, "MaxThreadsPerBlock", p.maxThreadsPerBlock},
      {cudaDevAttrMaxBlockDimX, "MaxBlockDimX", p.maxThreadsDim[0]},
      {cudaDevAttrMaxBlockDimY, "MaxBlockDimY", p.maxThreadsDim[1]},
      {cudaDevAttrMaxBlockDimZ, "MaxBlockDimZ", p.maxThreadsDim[2]},
      {cudaDevAttrMaxGridDimX, "MaxGridDimX", p.maxGridSize[0]},
      {cudaDevAttrMaxGridDimY, "MaxGridDimY", p.maxGridSize[1]},
      {cudaDevAttrMaxGridDimZ, "MaxGridDimZ", p.maxGridSize[2]},
      {cudaDevAttrMaxSharedMemoryPerBlock, "MaxSharedMemoryPerBlock", (long long)p.sharedMemPerBlock},
      {cudaDevAttrTotalConstantMemory, "TotalConstantMemory", (long long)p.totalConstMem},
      {cudaDevAttrWarpSize, "WarpSize", p.warpSize},
      {cudaDevAttrMaxPitch, "MaxPitch", (long long)p.memPitch},
      {cudaDevAttrMaxRegistersPerBlock, "MaxRegistersPerBlock", p.regsPerBlock},
      {cudaDevAttrTextureAlignment, "TextureAlignment", (long long)p.textureAlignment},
      {cudaDevAttrMultiProcessorCount, "MultiProcessorCount", p.multiProcessorCount},
      {cudaDevAttrIntegrated, "Integrated", p.integrated},
      {cudaDevAttrCanMapHostMemory, "CanMapHostMemory", p.canMapHostMemory},
      {cudaDevAttrConcurrentKernels, "ConcurrentKernels", p.concurrentKernels},
      {cudaDevAttrEccEnabled, "EccEnabled", p.ECCEnabled},
      {cudaDevAttrPciBusId, "PciBusId", p.pciBusID},
      {cudaDevAttrPciDeviceId, "PciDeviceId", p.pciDeviceID},
      {cudaDevAttrPciDomainId, "PciDomainId", p.pciDomainID},
      {cudaDevAttrTccDriver, "TccDriver", p.tccDriver},
      {cudaDevAttrGlobalMemoryBusWidth, "GlobalMemoryBusWidth", p.memoryBusWidth},
      {cudaDevAttrL2CacheSize, "L2CacheSize", p.l2CacheSize},
      {cudaDevAttrMaxThreadsPerMultiProcessor, "MaxThreadsPerMultiProcessor", p.maxThreadsPerMultiProcessor},
      {cudaDevAttrAsyncEngineCount, "AsyncEngineCount", p.asyncEngineCount},
      {cudaDevAttrUnifiedAddressing, "UnifiedAddressing", p.unifiedAddressing},
      {cudaDevAttrTexturePitchAlignment, "TexturePitchAlignment", (long long)p.texturePitchAlignment},
      {cudaDevAttrComputeCapabilityMajor, "ComputeCapabilityMajor", p.major},
      {cudaDevAttrComputeCapabilityMinor, "ComputeCapabilityMinor", p.minor},
      {cudaDevAttrStreamPrioritiesSupported, "StreamPrioritiesSupported", p.streamPrioritiesSupported},
      {cudaDevAttrGlobalL1CacheSupported, "GlobalL1CacheSupported", p.globalL1CacheSupported},
      {cudaDevAttrLocalL1CacheSupported, "LocalL1CacheSupported", p.localL1CacheSupported},
      {cudaDevAttrMaxSharedMemoryPerMultiprocessor, "MaxSharedMemoryPerMultiprocessor", (long long)p.sharedMemPerMultiprocessor},
      {cudaDevAttrMaxRegistersPerMultiprocessor, "MaxRegistersPerMultiprocessor", p.regsPerMultiprocessor},
      {cudaDevAttrManagedMemory, "ManagedMemory", p.managedMemory},
      {cudaDevAttrIsMultiGpuBoard, "IsMultiGpuBoard", p.isMultiGpuBoard},
      {cudaDevAttrMultiGpuBoardGroupID, "MultiGpuBoardGroupID", p.multiGpuBoardGroupID},
      {cudaDevAttrHostNativeAtomicSupported, "HostNativeAtomicSupported", p.hostNativeAtomicSupported},
      {cudaDevAttrPageableMemoryAccess, "PageableMemoryAccess", p.pageableMemoryAccess},
      {cudaDevAttrConcurrentManagedAccess, "ConcurrentManagedAccess", p.concurrentManagedAccess},
      {cudaDevAttrComputePreemptionSupported, "ComputePreemptionSupported", p.computePreemptionSupported},
      {cudaDevAttrCanUseHostPointerForRegisteredMem, "CanUseHostPointerForRegisteredMem", p.canUseHostPointerForRegisteredMem},
      {cudaDevAttrCooperativeLaunch, "CooperativeLaunch", p.cooperativeLaunch},
      {cudaDevAttrMaxSharedMemoryPerBlockOptin, "MaxSharedMemoryPerBlockOptin", (long long)p.sharedMemPerBlockOptin},
      {cudaDevAttrPageableMemoryAccessUsesHostPageTables, "PageableMemoryAccessUsesHostPageTables", p.pageableMemoryAccessUsesHostPageTables},
      {cudaDevAttrDirectManagedMemAccessFromHost, "DirectManagedMemAccessFromHost", p.directManagedMemAccessFromHost},
      {cudaDevAttrMaxBlocksPerMultiprocessor, "MaxBlocksPerMultiprocessor", p.maxBlocksPerMultiProcessor},
      {cudaDevAttrMaxPersistingL2CacheSize, "MaxPersistingL2CacheSize", p.persistingL2CacheMaxSize},
      {cudaDevAttrMaxAccessPolicyWindowSize, "MaxAccessPolicyWindowSize", p.accessPolicyMaxWindowSize},
      {cudaDevAttrReservedSharedMemoryPerBlock, "ReservedSharedMemoryPerBlock", (long long)p.reservedSharedMemPerBlock},
      {cudaDevAttrHostRegisterSupported, "HostRegisterSupported", p.hostRegisterSupported},
      {cudaDevAttrMemoryPoolsSupported, "MemoryPoolsSupported", p.memoryPoolsSupported},
      {cudaDevAttrClusterLaunch, "ClusterLaunch", p.clusterLaunch},
  };
  for (const AttrCase& c : cases) {
    int v = -12345;
    cudaError_t err = cudaDeviceGetAttribute(&v, c.attr, dev);
    EXPECT_MSG(err == cudaSuccess, "cudaDeviceGetAttribute(%s) -> %s", c.name,
               cudaGetErrorName(err));
    EXPECT_MSG(v == c.expected, "attribute %s = %d but cudaDeviceProp says %lld", c.name, v,
               c.expected);
  }
  // Boolean attributes must be 0 or 1.
  const cudaDeviceAttr bools[] = {cudaDevAttrIntegrated, cudaDevAttrCanMapHostMemory,
                                  cudaDevAttrConcurrentKernels, cudaDevAttrUnifiedAddressing,
                                  cudaDevAttrManagedMemory, cudaDevAttrPageableMemoryAccess,
                                  cudaDevAttrCooperativeLaunch};
  for (cudaDeviceAttr a : bools) {
    int v = -1;
    CHECK(cudaDeviceGetAttribute(&v, a, dev));
    EXPECT_MSG(v == 0 || v == 1, "boolean attribute %d has value %d", (int)a, v);
  }
  // Still-defined attributes that cudaDeviceProp no longer carries in CUDA 13.
  int clock = 0;
  CHECK(cudaDeviceGetAttribute(&clock, cudaDevAttrClockRate, dev));
  EXPECT(clock >= 0);
}

static void test_pci_bus_id(int dev) {
  char bus[64] = {0};
  CHECK(cudaDeviceGetPCIBusId(bus, sizeof(bus), dev));
  EXPECT(bus[0] != '\0');
  int back = -1;
  CHECK(cudaDeviceGetByPCIBusId(&back, bus));
  EXPECT_EQ(back, dev);
}

static void test_flags() {
  CHECK(cudaSetDevice(0));
  CHECK(cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync));
  unsigned int flags = 0;
  CHECK(cudaGetDeviceFlags(&flags));
  // cudaDeviceMapHost may be reported too: it is implicit for the runtime.
  EXPECT_EQ(flags & cudaDeviceScheduleMask, cudaDeviceScheduleBlockingSync);
  CHECK(cudaSetDeviceFlags(cudaDeviceScheduleSpin));
  CHECK(cudaGetDeviceFlags(&flags));
  EXPECT_EQ(flags & cudaDeviceScheduleMask, cudaDeviceScheduleSpin);
  // Bits outside the documented set are rejected.
  EXPECT_ERR(cudaSetDeviceFlags(0x80000000u), cudaErrorInvalidValue);
  cudaGetLastError();
  CHECK(cudaSetDeviceFlags(cudaDeviceScheduleAuto));
  CHECK(cudaGetDeviceFlags(&flags));
  EXPECT_EQ(flags & cudaDeviceScheduleMask, cudaDeviceScheduleAuto);
}

static void test_versions() {
  int drv = 0, rt = 0;
  CHECK(cudaDriverGetVersion(&drv));
  CHECK(cudaRuntimeGetVersion(&rt));
  std::printf("driver %d, runtime %d\n", drv, rt);
  EXPECT(drv >= 12000);
  EXPECT(rt >= 12000);
  // Within a major version the driver may be older (minor version
  // compatibility), but never of an older major version.
  EXPECT(drv / 1000 >= rt / 1000);
}

static void test_choose_device() {
  cudaDeviceProp want;
  std::memset(&want, 0, sizeof(want));
  want.major = 7;
  want.minor = 5;
  int dev = -1;
  CHECK(cudaChooseDevice(&dev, &want));
  EXPECT(dev >= 0 && dev < g_count);
}

static void test_synchronize_and_reset() {
  CHECK(cudaSetDevice(0));
  CHECK(cudaDeviceSynchronize());

  const size_t big = 256u << 20;
  size_t free0 = 0, total = 0;
  CHECK(cudaMemGetInfo(&free0, &total));
  EXPECT(free0 > 0 && free0 <= total);
  void* p = nullptr;
  CHECK(cudaMalloc(&p, big));
  CHECK(cudaMemset(p, 0x5a, big));
  CHECK(cudaDeviceSynchronize());
  size_t free1 = 0;
  CHECK(cudaMemGetInfo(&free1, &total));
  EXPECT_MSG(free1 + big / 2 <= free0, "free went %zu -> %zu after a %zu-byte cudaMalloc", free0,
             free1, big);

  // cudaDeviceReset destroys all allocations (using `p` afterwards is
  // undefined behaviour, so we only observe the memory coming back).
  CHECK(cudaDeviceReset());
  size_t free2 = 0;
  CHECK(cudaMemGetInfo(&free2, &total));  // re-initialises the device
  EXPECT_MSG(free2 >= free1 + big / 2, "free went %zu -> %zu after cudaDeviceReset", free1, free2);

  // The device is usable again after the reset.
  void* q = nullptr;
  CHECK(cudaMalloc(&q, 4096));
  unsigned char in[4096], out[4096];
  fill_pattern(in, sizeof(in), 3);
  CHECK(cudaMemcpy(q, in, sizeof(in), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(out, q, sizeof(out), cudaMemcpyDeviceToHost));
  EXPECT_BYTES_EQ(out, in, sizeof(in));
  CHECK(cudaFree(q));
  int dev = -1;
  CHECK(cudaGetDevice(&dev));
  EXPECT_EQ(dev, 0);
  CHECK(cudaDeviceSynchronize());
}

int main() {
  test_count_and_current();
  for (int d = 0; d < g_count; ++d) {
    test_properties(d);
    test_attributes(d);
    test_pci_bus_id(d);
  }
  test_flags();
  test_versions();
  test_choose_device();
  test_synchronize_and_reset();
  EXPECT_ERR(cudaGetLastError(), cudaSuccess);
  std::printf("device_query: OK\n");
  return 0;
}
