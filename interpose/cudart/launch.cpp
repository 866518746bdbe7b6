// Execution control: kernel launches, function attributes, occupancy.
#include <algorithm>
#include <map>
#include <mutex>

#include "interpose/core/client.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

Dim3 toDim3(dim3 d) { return Dim3{d.x, d.y, d.z}; }

cudaError_t launch(const void* func, dim3 grid, dim3 block, void** args, size_t shared, cudaStream_t stream) {
  LaunchRequest r;
  r.host_function = func;
  r.grid = toDim3(grid);
  r.block = toDim3(block);
  r.args = args;
  r.dynamic_shared = shared;
  r.stream = reinterpret_cast<Stream*>(stream);
  return done(Client::get().launch(r));
}

// Attributes a program set with cudaFuncSetAttribute, per kernel.
struct FuncSettings {
  int max_dynamic_shared = -1;
  int preferred_carveout = -1;
};
std::mutex g_settings_mu;
std::map<const void*, FuncSettings> g_settings;

int roundUp(int v, int to) { return (v + to - 1) / to * to; }

}  // namespace

cudaError_t cudaLaunchKernel(const void* func, dim3 gridDim, dim3 blockDim, void** args, size_t sharedMem,
                             cudaStream_t stream) {
  return launch(func, gridDim, blockDim, args, sharedMem, stream);
}

// nvcc 13's launch stubs name the kernel by the handle __cudaGetKernel gave
// them, which is the host stub's address.
cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void** args, size_t sharedMem,
                               cudaStream_t stream) {
  return launch(reinterpret_cast<const void*>(kernel), gridDim, blockDim, args, sharedMem, stream);
}

cudaError_t __cudaGetKernel(cudaKernel_t* kernel, const void* func) {
  if (!kernel) return done(MODNN_ERR_INVALID_VALUE);
  if (!Client::get().isFunction(func)) return done(MODNN_ERR_INVALID_FUNCTION);
  *kernel = reinterpret_cast<cudaKernel_t>(const_cast<void*>(func));
  return cudaSuccess;
}

cudaError_t cudaGetKernel(cudaKernel_t* kernelPtr, const void* entryFuncAddr) {
  return cudart::__cudaGetKernel(kernelPtr, entryFuncAddr);
}

cudaError_t cudaLaunchKernelExC(const cudaLaunchConfig_t* config, const void* func, void** args) {
  if (!config) return done(MODNN_ERR_INVALID_VALUE);
  for (unsigned i = 0; i < config->numAttrs; ++i) {
    const cudaLaunchAttribute& a = config->attrs[i];
    // Attributes that change what a launch means, rather than how fast it
    // runs, are refused rather than ignored.
    if ((a.id == cudaLaunchAttributeCooperative && a.val.cooperative) ||
        (a.id == cudaLaunchAttributeClusterDimension &&
         a.val.clusterDim.x * a.val.clusterDim.y * a.val.clusterDim.z > 1))
      return done(MODNN_ERR_NOT_SUPPORTED);
  }
  return launch(func, config->gridDim, config->blockDim, args, config->dynamicSmemBytes, config->stream);
}

cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, const void* func) {
  if (!attr) return done(MODNN_ERR_INVALID_VALUE);
  KernelInfo k;
  modnn_status st = Client::get().kernelInfo(func, &k);
  if (st != MODNN_OK) return done(st);
  const modnn_device_props& p = Client::get().props();
  *attr = cudaFuncAttributes{};
  attr->sharedSizeBytes = k.static_shared_bytes;
  attr->constSizeBytes = k.const_bytes;
  attr->localSizeBytes = k.local_bytes;
  attr->maxThreadsPerBlock = int(std::min<uint32_t>(k.max_threads_per_block, uint32_t(p.max_threads_per_block)));
  attr->numRegs = int(k.num_regs);
  attr->ptxVersion = int(k.ptx_version);
  attr->binaryVersion = int(k.binary_version ? k.binary_version : k.ptx_version);
  attr->cacheModeCA = 0;
  int optin = int(p.shared_memory_per_block_optin) - int(k.static_shared_bytes);
  int deflt = int(p.shared_memory_per_block) - int(k.static_shared_bytes);
  {
    std::lock_guard<std::mutex> lock(g_settings_mu);
    auto it = g_settings.find(func);
    attr->maxDynamicSharedSizeBytes =
        it != g_settings.end() && it->second.max_dynamic_shared >= 0 ? it->second.max_dynamic_shared : deflt;
    attr->preferredShmemCarveout = it != g_settings.end() ? it->second.preferred_carveout : -1;
  }
  attr->maxDynamicSharedSizeBytes = std::min(attr->maxDynamicSharedSizeBytes, optin);
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (!Client::get().isFunction(func)) return done(MODNN_ERR_INVALID_FUNCTION);
  const modnn_device_props& p = Client::get().props();
  std::lock_guard<std::mutex> lock(g_settings_mu);
  switch (attr) {
    case cudaFuncAttributeMaxDynamicSharedMemorySize:
      if (value < 0 || uint64_t(value) > p.shared_memory_per_block_optin) return done(MODNN_ERR_INVALID_VALUE);
      g_settings[func].max_dynamic_shared = value;
      return cudaSuccess;
    case cudaFuncAttributePreferredSharedMemoryCarveout:
      if (value < -1 || value > 100) return done(MODNN_ERR_INVALID_VALUE);
      g_settings[func].preferred_carveout = value;
      return cudaSuccess;
    default: return cudaSuccess;  // scheduling hints with no effect on results
  }
}

cudaError_t cudaFuncSetCacheConfig(const void* func, cudaFuncCache cacheConfig) {
  return Client::get().isFunction(func) ? cudaSuccess : done(MODNN_ERR_INVALID_FUNCTION);
}

// The occupancy calculator: resident blocks per SM limited by threads,
// blocks, registers and shared memory, with CUDA's allocation granularities.
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* numBlocks, const void* func,
                                                                   int blockSize, size_t dynamicSMemSize,
                                                                   unsigned int flags) {
  if (!numBlocks || blockSize <= 0) return done(MODNN_ERR_INVALID_VALUE);
  KernelInfo k;
  if (modnn_status st = Client::get().kernelInfo(func, &k); st != MODNN_OK) return done(st);
  const modnn_device_props& p = Client::get().props();
  if (blockSize > int(std::min<uint32_t>(k.max_threads_per_block, uint32_t(p.max_threads_per_block)))) {
    *numBlocks = 0;
    return cudaSuccess;
  }
  int warps = (blockSize + 31) / 32;
  int by_threads = p.max_threads_per_multiprocessor / (warps * 32);
  int by_blocks = p.max_blocks_per_multiprocessor;
  int regs_per_warp = roundUp(int(std::max<uint32_t>(k.num_regs, 1)) * 32, 256);
  int by_regs = (p.regs_per_multiprocessor / regs_per_warp) / warps;
  int by_shared = by_blocks;
  uint64_t shared = uint64_t(k.static_shared_bytes) + dynamicSMemSize;
  if (shared > p.shared_memory_per_block_optin) {
    *numBlocks = 0;
    return cudaSuccess;
  }
  if (shared > 0) {
    uint64_t per_block = (shared + 1024 /* reserved per block */ + 127) / 128 * 128;
    by_shared = int(p.shared_memory_per_multiprocessor / per_block);
  }
  *numBlocks = std::max(0, std::min({by_threads, by_blocks, by_regs, by_shared}));
  return cudaSuccess;
}

cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* numBlocks, const void* func, int blockSize,
                                                          size_t dynamicSMemSize) {
  return cudart::cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(numBlocks, func, blockSize, dynamicSMemSize,
                                                                cudaOccupancyDefault);
}

cudaError_t cudaOccupancyAvailableDynamicSMemPerBlock(size_t* dynamicSmemSize, const void* func, int numBlocks,
                                                      int blockSize) {
  if (!dynamicSmemSize || numBlocks <= 0 || blockSize <= 0) return done(MODNN_ERR_INVALID_VALUE);
  KernelInfo k;
  if (modnn_status st = Client::get().kernelInfo(func, &k); st != MODNN_OK) return done(st);
  const modnn_device_props& p = Client::get().props();
  uint64_t per_block = p.shared_memory_per_multiprocessor / uint64_t(numBlocks);
  per_block = per_block / 128 * 128;
  uint64_t overhead = 1024 + k.static_shared_bytes;
  uint64_t avail = per_block > overhead ? per_block - overhead : 0;
  *dynamicSmemSize = std::min<uint64_t>(avail, p.shared_memory_per_block_optin - k.static_shared_bytes);
  return cudaSuccess;
}

}  // namespace moai::cudart
