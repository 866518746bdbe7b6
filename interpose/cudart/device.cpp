// Device management: the one virtual device and its properties.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "interpose/core/client.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

thread_local int t_device = 0;
unsigned g_device_flags = 0;

void fillProps(const modnn_device_props& p, cudaDeviceProp* out) {
  std::memset(out, 0, sizeof *out);
  // A group's name already counts its devices ("2x CPU 0 ...").
  bool counted = p.name[0] >= '1' && p.name[0] <= '9' && std::strstr(p.name, "x ") != nullptr;
  std::snprintf(out->name, sizeof out->name, "MoAI virtual device: %s%.200s", counted ? "" : "1x ", p.name);
  std::memcpy(out->uuid.bytes, p.uuid, sizeof out->uuid.bytes);
  out->totalGlobalMem = p.total_memory;
  out->sharedMemPerBlock = p.shared_memory_per_block;
  out->regsPerBlock = 65536;
  out->warpSize = 32;
  out->memPitch = 2147483647;
  out->maxThreadsPerBlock = p.max_threads_per_block;
  out->maxThreadsDim[0] = 1024;
  out->maxThreadsDim[1] = 1024;
  out->maxThreadsDim[2] = 64;
  out->maxGridSize[0] = 2147483647;
  out->maxGridSize[1] = 65535;
  out->maxGridSize[2] = 65535;
  out->totalConstMem = 65536;
  out->major = p.cc_major;
  out->minor = p.cc_minor;
  out->textureAlignment = 512;
  out->texturePitchAlignment = 32;
  out->multiProcessorCount = p.multiprocessor_count;
  out->integrated = p.integrated;
  out->canMapHostMemory = 1;
  out->surfaceAlignment = 512;
  out->concurrentKernels = 1;
  out->asyncEngineCount = 2;
  out->unifiedAddressing = 1;
  out->memoryBusWidth = p.memory_bus_width;
  out->l2CacheSize = int(std::min<uint64_t>(p.l2_cache_bytes, 1u << 30));
  out->maxThreadsPerMultiProcessor = p.max_threads_per_multiprocessor;
  out->streamPrioritiesSupported = 1;
  out->globalL1CacheSupported = 1;
  out->localL1CacheSupported = 1;
  out->sharedMemPerMultiprocessor = p.shared_memory_per_multiprocessor;
  out->regsPerMultiprocessor = p.regs_per_multiprocessor;
  out->managedMemory = 0;
  out->computePreemptionSupported = 1;
  out->canUseHostPointerForRegisteredMem = 1;
  out->cooperativeLaunch = 0;
  out->sharedMemPerBlockOptin = p.shared_memory_per_block_optin;
  out->maxBlocksPerMultiProcessor = p.max_blocks_per_multiprocessor;
  out->reservedSharedMemPerBlock = 1024;
  out->hostRegisterSupported = 1;
  out->hostRegisterReadOnlySupported = 1;
  out->deviceNumaId = -1;
  out->hostNumaId = -1;
}

}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return done(MODNN_ERR_INVALID_VALUE);
  Client& c = Client::get();
  *count = c.checkDevice(0) == MODNN_OK ? c.deviceCount() : 0;
  return *count ? cudaSuccess : setLastError(cudaErrorNoDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return done(MODNN_ERR_INVALID_VALUE);
  Client& c = Client::get();
  if (modnn_status st = c.checkDevice(device); st != MODNN_OK) return done(st);
  fillProps(c.props(), prop);
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!value) return done(MODNN_ERR_INVALID_VALUE);
  Client& c = Client::get();
  if (modnn_status st = c.checkDevice(device); st != MODNN_OK) return done(st);
  cudaDeviceProp p;
  fillProps(c.props(), &p);
  const modnn_device_props& d = c.props();
  int v = 0;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: v = p.maxThreadsPerBlock; break;
    case cudaDevAttrMaxBlockDimX: v = p.maxThreadsDim[0]; break;
    case cudaDevAttrMaxBlockDimY: v = p.maxThreadsDim[1]; break;
    case cudaDevAttrMaxBlockDimZ: v = p.maxThreadsDim[2]; break;
    case cudaDevAttrMaxGridDimX: v = p.maxGridSize[0]; break;
    case cudaDevAttrMaxGridDimY: v = p.maxGridSize[1]; break;
    case cudaDevAttrMaxGridDimZ: v = p.maxGridSize[2]; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: v = int(p.sharedMemPerBlock); break;
    case cudaDevAttrTotalConstantMemory: v = int(p.totalConstMem); break;
    case cudaDevAttrWarpSize: v = p.warpSize; break;
    case cudaDevAttrMaxPitch: v = int(p.memPitch); break;
    case cudaDevAttrMaxRegistersPerBlock: v = p.regsPerBlock; break;
    case cudaDevAttrClockRate: v = d.clock_khz; break;
    case cudaDevAttrTextureAlignment: v = int(p.textureAlignment); break;
    case cudaDevAttrGpuOverlap: v = 1; break;
    case cudaDevAttrMultiProcessorCount: v = p.multiProcessorCount; break;
    case cudaDevAttrIntegrated: v = p.integrated; break;
    case cudaDevAttrCanMapHostMemory: v = p.canMapHostMemory; break;
    case cudaDevAttrComputeMode: v = cudaComputeModeDefault; break;
    case cudaDevAttrSurfaceAlignment: v = int(p.surfaceAlignment); break;
    case cudaDevAttrConcurrentKernels: v = p.concurrentKernels; break;
    case cudaDevAttrMemoryClockRate: v = d.memory_clock_khz; break;
    case cudaDevAttrGlobalMemoryBusWidth: v = p.memoryBusWidth; break;
    case cudaDevAttrL2CacheSize: v = p.l2CacheSize; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: v = p.maxThreadsPerMultiProcessor; break;
    case cudaDevAttrAsyncEngineCount: v = p.asyncEngineCount; break;
    case cudaDevAttrUnifiedAddressing: v = p.unifiedAddressing; break;
    case cudaDevAttrTexturePitchAlignment: v = int(p.texturePitchAlignment); break;
    case cudaDevAttrComputeCapabilityMajor: v = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: v = p.minor; break;
    case cudaDevAttrStreamPrioritiesSupported: v = p.streamPrioritiesSupported; break;
    case cudaDevAttrGlobalL1CacheSupported: v = p.globalL1CacheSupported; break;
    case cudaDevAttrLocalL1CacheSupported: v = p.localL1CacheSupported; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: v = int(p.sharedMemPerMultiprocessor); break;
    case cudaDevAttrMaxRegistersPerMultiprocessor: v = p.regsPerMultiprocessor; break;
    case cudaDevAttrManagedMemory: v = p.managedMemory; break;
    case cudaDevAttrSingleToDoublePrecisionPerfRatio: v = 2; break;
    case cudaDevAttrComputePreemptionSupported: v = p.computePreemptionSupported; break;
    case cudaDevAttrCanUseHostPointerForRegisteredMem: v = p.canUseHostPointerForRegisteredMem; break;
    case cudaDevAttrCooperativeLaunch: v = p.cooperativeLaunch; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: v = int(p.sharedMemPerBlockOptin); break;
    case cudaDevAttrHostRegisterSupported: v = p.hostRegisterSupported; break;
    case cudaDevAttrMaxBlocksPerMultiprocessor: v = p.maxBlocksPerMultiProcessor; break;
    case cudaDevAttrReservedSharedMemoryPerBlock: v = int(p.reservedSharedMemPerBlock); break;
    case cudaDevAttrHostRegisterReadOnlySupported: v = p.hostRegisterReadOnlySupported; break;
    case cudaDevAttrNumaId: v = p.deviceNumaId; break;
    case cudaDevAttrHostNumaId: v = p.hostNumaId; break;
    default:
      // Known attributes of features the virtual device lacks (textures,
      // surfaces, ECC, PCI, ...) read 0; out-of-range values are an error.
      if (int(attr) <= 0 || int(attr) > 160) return done(MODNN_ERR_INVALID_VALUE);
      break;
  }
  *value = v;
  return cudaSuccess;
}

cudaError_t cudaChooseDevice(int* device, const cudaDeviceProp* prop) {
  if (!device || !prop) return done(MODNN_ERR_INVALID_VALUE);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return done(Client::get().checkDevice(device)); }

cudaError_t cudaGetDevice(int* device) {
  if (!device) return done(MODNN_ERR_INVALID_VALUE);
  *device = t_device;
  return cudaSuccess;
}

cudaError_t cudaInitDevice(int device, unsigned int deviceFlags, unsigned int flags) {
  return done(Client::get().checkDevice(device));
}

cudaError_t cudaSetValidDevices(int* device_arr, int len) {
  if (len < 0 || (len > 0 && !device_arr)) return done(MODNN_ERR_INVALID_VALUE);
  for (int i = 0; i < len; ++i)
    if (Client::get().checkDevice(device_arr[i]) != MODNN_OK) return done(MODNN_ERR_INVALID_DEVICE);
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return done(Client::get().deviceSynchronize()); }

cudaError_t cudaDeviceReset() { return done(Client::get().deviceReset()); }

cudaError_t cudaSetDeviceFlags(unsigned int flags) {
  constexpr unsigned kValid = cudaDeviceScheduleMask | cudaDeviceMapHost | cudaDeviceLmemResizeToMax |
                              cudaDeviceSyncMemops;
  if (flags & ~kValid) return done(MODNN_ERR_INVALID_VALUE);
  g_device_flags = flags;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceFlags(unsigned int* flags) {
  if (!flags) return done(MODNN_ERR_INVALID_VALUE);
  // The runtime always reports cudaDeviceMapHost: mapping is always on.
  *flags = g_device_flags | cudaDeviceMapHost;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* driverVersion) {
  if (!driverVersion) return done(MODNN_ERR_INVALID_VALUE);
  *driverVersion = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* runtimeVersion) {
  if (!runtimeVersion) return done(MODNN_ERR_INVALID_VALUE);
  *runtimeVersion = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetStreamPriorityRange(int* leastPriority, int* greatestPriority) {
  if (leastPriority) *leastPriority = 0;
  if (greatestPriority) *greatestPriority = -5;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetLimit(size_t* pValue, cudaLimit limit) {
  if (!pValue) return done(MODNN_ERR_INVALID_VALUE);
  switch (limit) {
    case cudaLimitStackSize: *pValue = 1024; return cudaSuccess;
    case cudaLimitPrintfFifoSize: *pValue = 1 << 20; return cudaSuccess;
    case cudaLimitMallocHeapSize: *pValue = 8 << 20; return cudaSuccess;
    default: *pValue = 0; return done(MODNN_ERR_NOT_SUPPORTED);
  }
}

cudaError_t cudaDeviceSetLimit(cudaLimit limit, size_t value) {
  switch (limit) {
    case cudaLimitStackSize:
    case cudaLimitPrintfFifoSize:
    case cudaLimitMallocHeapSize: return cudaSuccess;  // the CPU engine has no fixed limits
    default: return done(MODNN_ERR_NOT_SUPPORTED);
  }
}

cudaError_t cudaDeviceGetCacheConfig(cudaFuncCache* pCacheConfig) {
  if (!pCacheConfig) return done(MODNN_ERR_INVALID_VALUE);
  *pCacheConfig = cudaFuncCachePreferNone;
  return cudaSuccess;
}

cudaError_t cudaDeviceSetCacheConfig(cudaFuncCache cacheConfig) { return cudaSuccess; }

cudaError_t cudaDeviceGetPCIBusId(char* pciBusId, int len, int device) {
  if (!pciBusId || len <= 0) return done(MODNN_ERR_INVALID_VALUE);
  if (modnn_status st = Client::get().checkDevice(device); st != MODNN_OK) return done(st);
  std::snprintf(pciBusId, size_t(len), "0000:00:00.0");
  return cudaSuccess;
}

cudaError_t cudaDeviceGetByPCIBusId(int* device, const char* pciBusId) {
  if (!device || !pciBusId) return done(MODNN_ERR_INVALID_VALUE);
  unsigned domain = 0, bus = 0, dev = 0, fn = 0;
  // Accepted forms, as CUDA documents: [domain]:[bus]:[device].[function] or [bus]:[device].[function].
  bool parsed = std::sscanf(pciBusId, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) == 4 ||
                std::sscanf(pciBusId, "%x:%x.%x", &bus, &dev, &fn) == 3;
  if (!parsed) return done(MODNN_ERR_INVALID_VALUE);
  if (domain || bus || dev || fn) return done(MODNN_ERR_INVALID_DEVICE);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceCanAccessPeer(int* canAccessPeer, int device, int peerDevice) {
  if (!canAccessPeer) return done(MODNN_ERR_INVALID_VALUE);
  Client& c = Client::get();
  if (c.checkDevice(device) != MODNN_OK || c.checkDevice(peerDevice) != MODNN_OK)
    return done(MODNN_ERR_INVALID_DEVICE);
  *canAccessPeer = 0;  // a device is not its own peer
  return cudaSuccess;
}

cudaError_t cudaProfilerStart() { return cudaSuccess; }
cudaError_t cudaProfilerStop() { return cudaSuccess; }

}  // namespace moai::cudart
