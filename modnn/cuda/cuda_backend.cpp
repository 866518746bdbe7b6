// CUDA backend of moDNN: NVIDIA GPUs through the real driver, cuBLAS and
// cuBLASLt. Device pointers are the client's own virtual addresses: the
// backend reserves the client's range in the GPU's address space and maps
// physical memory where buffers are, so a kernel dereferences exactly the
// pointers the program passed, with no translation.
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "modnn/cuda/cuda_device.h"

namespace modnn::cuda {

CudaDevice* device(void* ctx) { return static_cast<CudaDevice*>(ctx); }

void makeCurrent(CudaDevice* d) { d->cu->cuCtxSetCurrent(d->context); }

modnn_status check(CudaDevice* d, CUresult r, const char* what) {
  switch (r) {
    case CUDA_SUCCESS: return MODNN_OK;
    case CUDA_ERROR_OUT_OF_MEMORY: return MODNN_ERR_OUT_OF_MEMORY;
    case CUDA_ERROR_ILLEGAL_ADDRESS: return MODNN_ERR_ILLEGAL_ADDRESS;
    case CUDA_ERROR_ASSERT: return MODNN_ERR_ASSERT;
    case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_LAUNCH_TIMEOUT: return MODNN_ERR_LAUNCH_FAILURE;
    case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: return MODNN_ERR_INVALID_CONFIGURATION;
    case CUDA_ERROR_NOT_FOUND: return MODNN_ERR_INVALID_FUNCTION;
    case CUDA_ERROR_NO_BINARY_FOR_GPU: return MODNN_ERR_NO_KERNEL_IMAGE;
    case CUDA_ERROR_INVALID_IMAGE: return MODNN_ERR_INVALID_IMAGE;
    case CUDA_ERROR_INVALID_PTX: return MODNN_ERR_INVALID_PTX;
    case CUDA_ERROR_UNSUPPORTED_PTX_VERSION: return MODNN_ERR_UNSUPPORTED_PTX_VERSION;
    case CUDA_ERROR_NOT_SUPPORTED: return MODNN_ERR_NOT_SUPPORTED;
    case CUDA_ERROR_INVALID_VALUE: return MODNN_ERR_INVALID_VALUE;
    default:
      std::fprintf(stderr, "moai cuda: %s failed: %s\n", what, errorName(*d->cu, r).c_str());
      return MODNN_ERR_UNKNOWN;
  }
}

modnn_status checkBlas(cublasStatus_t s, const char* what) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return MODNN_OK;
    case CUBLAS_STATUS_ALLOC_FAILED: return MODNN_ERR_OUT_OF_MEMORY;
    case CUBLAS_STATUS_INVALID_VALUE: return MODNN_ERR_INVALID_VALUE;
    case CUBLAS_STATUS_NOT_SUPPORTED:
    case CUBLAS_STATUS_ARCH_MISMATCH: return MODNN_ERR_NOT_SUPPORTED;
    case CUBLAS_STATUS_EXECUTION_FAILED: return MODNN_ERR_LAUNCH_FAILURE;
    default:
      std::fprintf(stderr, "moai cuda: %s failed: cublasStatus %d\n", what, int(s));
      return MODNN_ERR_UNKNOWN;
  }
}

namespace {

CudaBuffer* cudaBuffer(modnn_buffer* b) { return reinterpret_cast<CudaBuffer*>(b); }

int attribute(CudaDevice* d, CUdevice_attribute a) {
  int v = 0;
  d->cu->cuDeviceGetAttribute(&v, a, d->device);
  return v;
}

// "NVIDIA H100 80GB HBM3" -> "h100": the scheduler's device kind.
std::string kindFromName(const std::string& name, int major, int minor) {
  for (const char* family : {"H200", "H100", "H20", "GH200", "B200", "B100", "A100", "A800", "H800", "A40", "A30",
                             "A10", "L40S", "L40", "L4", "V100", "T4"}) {
    size_t at = name.find(family);
    if (at == std::string::npos) continue;
    size_t end = at + std::strlen(family);
    if (end < name.size() && std::isalnum(static_cast<unsigned char>(name[end]))) continue;
    std::string kind(family);
    for (auto& c : kind) c = char(std::tolower(static_cast<unsigned char>(c)));
    return kind;
  }
  return "cuda-sm" + std::to_string(major) + std::to_string(minor);
}

// FP32 lanes per SM by architecture (CUDA programming guide, arithmetic throughput).
int fp32LanesPerSm(int major, int minor) {
  if (major == 8 && minor == 0) return 64;
  if (major >= 8) return 128;
  if (major == 7) return 64;
  return 128;
}

void getProps(void* ctx, modnn_device_props* out) {
  CudaDevice* d = device(ctx);
  size_t sz = out->struct_size;
  std::memset(out, 0, sz);
  out->struct_size = sz;
  d->cu->cuDeviceGetName(out->name, int(sizeof out->name), d->device);
  out->cc_major = attribute(d, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  out->cc_minor = attribute(d, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  std::snprintf(out->kind, sizeof out->kind, "%s", kindFromName(out->name, out->cc_major, out->cc_minor).c_str());
  CUuuid uuid{};
  if (d->cu->cuDeviceGetUuid(&uuid, d->device) == CUDA_SUCCESS) std::memcpy(out->uuid, uuid.bytes, 16);
  out->total_memory = d->total_memory;
  out->multiprocessor_count = attribute(d, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  out->max_threads_per_block = attribute(d, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  out->max_threads_per_multiprocessor = attribute(d, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR);
  out->max_blocks_per_multiprocessor = attribute(d, CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR);
  out->regs_per_multiprocessor = attribute(d, CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR);
  out->shared_memory_per_block = uint64_t(attribute(d, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK));
  out->shared_memory_per_block_optin = uint64_t(attribute(d, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN));
  out->shared_memory_per_multiprocessor =
      uint64_t(attribute(d, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR));
  out->clock_khz = attribute(d, CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
  out->memory_clock_khz = attribute(d, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
  out->memory_bus_width = attribute(d, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
  out->l2_cache_bytes = uint64_t(attribute(d, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE));
  out->peak_flops_fp32 = 2.0 * out->multiprocessor_count * fp32LanesPerSm(out->cc_major, out->cc_minor) *
                         double(out->clock_khz) * 1e3;
  out->memory_bandwidth = 2.0 * double(out->memory_clock_khz) * 1e3 * out->memory_bus_width / 8.0;
  out->integrated = attribute(d, CU_DEVICE_ATTRIBUTE_INTEGRATED) != 0;
}

modnn_status reserveAddressRange(void* ctx, uint64_t size, uint64_t hint, uint64_t* out_base, bool* out_host_held) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  std::lock_guard<std::mutex> lock(d->mu);
  if (d->range_base) {
    // The client may move its range until it allocates (its own process
    // may hold the addresses we got).
    if (d->chunks->chunkCount()) return MODNN_ERR_ALREADY_REGISTERED;
    d->cu->cuMemAddressFree(d->range_base, d->range_size);
    d->range_base = d->range_size = 0;
  }
  size = (size + d->granularity - 1) / d->granularity * d->granularity;
  CUdeviceptr base = 0;
  modnn_status st = check(d, d->cu->cuMemAddressReserve(&base, size, d->granularity, CUdeviceptr(hint), 0),
                          "cuMemAddressReserve");
  if (st != MODNN_OK) return st;
  if (hint && base != hint) {
    // The driver treats the address as a hint; anything else would give
    // the program's kernels pointers that are not its own.
    d->cu->cuMemAddressFree(base, size);
    return MODNN_ERR_OUT_OF_MEMORY;
  }
  d->range_base = base;
  d->range_size = size;
  *out_base = base;
  // Unified addressing: the driver holds the same range in this process.
  *out_host_held = true;
  return MODNN_OK;
}

modnn_status mapChunk(CudaDevice* d, ChunkMap::Chunk* c) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = d->device;
  CUmemGenericAllocationHandle handle = 0;
  modnn_status st = check(d, d->cu->cuMemCreate(&handle, c->size, &prop, 0), "cuMemCreate");
  if (st != MODNN_OK) return st;
  st = check(d, d->cu->cuMemMap(c->start, c->size, 0, handle, 0), "cuMemMap");
  if (st == MODNN_OK) {
    CUmemAccessDesc access{};
    access.location = prop.location;
    access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    st = check(d, d->cu->cuMemSetAccess(c->start, c->size, &access, 1), "cuMemSetAccess");
    if (st != MODNN_OK) d->cu->cuMemUnmap(c->start, c->size);
  }
  if (st != MODNN_OK) {
    d->cu->cuMemRelease(handle);
    return st;
  }
  c->handle = handle;
  return MODNN_OK;
}

void unmapChunk(CudaDevice* d, const ChunkMap::Chunk& c) {
  d->cu->cuMemUnmap(c.start, c.size);
  d->cu->cuMemRelease(CUmemGenericAllocationHandle(c.handle));
}

modnn_status bufferAlloc(void* ctx, uint64_t va, uint64_t size, modnn_buffer** out) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  std::lock_guard<std::mutex> lock(d->mu);
  if (!d->range_base) return MODNN_ERR_NOT_INITIALIZED;  // the client reserves its range first
  if (va < d->range_base || va - d->range_base > d->range_size || size > d->range_base + d->range_size - va)
    return MODNN_ERR_INVALID_VALUE;
  if (size > d->total_memory - std::min(d->used, d->total_memory)) return MODNN_ERR_OUT_OF_MEMORY;
  auto* b = new (std::nothrow) CudaBuffer{va, size};
  if (!b) return MODNN_ERR_OUT_OF_MEMORY;
  std::vector<ChunkMap::Chunk> mapped;
  for (auto gap : d->chunks->gaps(va, size)) {
    modnn_status st = mapChunk(d, &gap);
    if (st != MODNN_OK) {
      for (auto& c : mapped) unmapChunk(d, c);
      delete b;
      return st;
    }
    mapped.push_back(gap);
  }
  for (auto& c : mapped) d->chunks->add(c);
  d->chunks->retain(va, size);
  d->used += size;
  *out = reinterpret_cast<modnn_buffer*>(b);
  return MODNN_OK;
}

void bufferFree(void* ctx, modnn_buffer* buf) {
  CudaDevice* d = device(ctx);
  CudaBuffer* b = cudaBuffer(buf);
  makeCurrent(d);
  // Pending work was finished by the client, but the stream may still hold
  // it on the GPU: unmapping under a running kernel would fault it.
  d->cu->cuStreamSynchronize(d->stream);
  std::lock_guard<std::mutex> lock(d->mu);
  for (auto& c : d->chunks->release(b->va, b->size)) unmapChunk(d, c);
  d->used -= b->size;
  delete b;
}

modnn_status bufferWrite(void* ctx, modnn_buffer* dst, uint64_t off, const void* src, uint64_t n) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  // From pageable memory the driver stages the bytes before it returns, so
  // the caller may reuse `src` at once.
  return check(d, d->cu->cuMemcpyHtoDAsync(cudaBuffer(dst)->va + off, src, n, d->stream), "cuMemcpyHtoDAsync");
}

modnn_status bufferRead(void* ctx, modnn_buffer* src, uint64_t off, void* dst, uint64_t n) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  modnn_status st =
      check(d, d->cu->cuMemcpyDtoHAsync(dst, cudaBuffer(src)->va + off, n, d->stream), "cuMemcpyDtoHAsync");
  if (st != MODNN_OK) return st;
  return check(d, d->cu->cuStreamSynchronize(d->stream), "cuStreamSynchronize");
}

modnn_status bufferCopy(void* ctx, modnn_buffer* dst, uint64_t dst_off, modnn_buffer* src, uint64_t src_off,
                        uint64_t n) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  return check(d, d->cu->cuMemcpyDtoDAsync(cudaBuffer(dst)->va + dst_off, cudaBuffer(src)->va + src_off, n, d->stream),
               "cuMemcpyDtoDAsync");
}

modnn_status bufferFill(void* ctx, modnn_buffer* dst, uint64_t off, uint64_t count, uint32_t value, uint32_t elem) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  CUdeviceptr p = cudaBuffer(dst)->va + off;
  switch (elem) {
    case 1: return check(d, d->cu->cuMemsetD8Async(p, uint8_t(value), count, d->stream), "cuMemsetD8Async");
    case 2: return check(d, d->cu->cuMemsetD16Async(p, uint16_t(value), count, d->stream), "cuMemsetD16Async");
    case 4: return check(d, d->cu->cuMemsetD32Async(p, value, count, d->stream), "cuMemsetD32Async");
    default: return MODNN_ERR_INVALID_VALUE;
  }
}

modnn_status synchronize(void* ctx) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  return check(d, d->cu->cuStreamSynchronize(d->stream), "cuStreamSynchronize");
}

uint64_t timestampNs(void* ctx) {
  synchronize(ctx);
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

void destroy(void* ctx) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  d->cu->cuStreamSynchronize(d->stream);
  destroyBlas(d);
  // Buffers still alive are the client's leak; their chunks go with the range.
  if (d->chunks) {
    for (auto& c : d->chunks->release(d->range_base, d->range_size)) unmapChunk(d, c);
  }
  if (d->range_base) d->cu->cuMemAddressFree(d->range_base, d->range_size);
  d->cu->cuStreamDestroy(d->stream);
  d->cu->cuDevicePrimaryCtxRelease(d->device);
  delete d;
}

const modnn_device_i kInterface = {
    .struct_size = sizeof(modnn_device_i),
    .get_props = getProps,
    .buffer_alloc = bufferAlloc,
    .buffer_free = bufferFree,
    .buffer_write = bufferWrite,
    .buffer_read = bufferRead,
    .buffer_copy = bufferCopy,
    .buffer_fill = bufferFill,
    .buffer_host_pointer = nullptr,
    .synchronize = synchronize,
    .timestamp_ns = timestampNs,
    .flush = nullptr,
    .module_load = moduleLoad,
    .module_unload = moduleUnload,
    .supports_kernel = supportsKernel,
    .launch_kernel = launchKernel,
    .supports_op = supportsOp,
    .run_op = runOp,
    .destroy = destroy,
    .reserve_address_range = reserveAddressRange,
};

modnn_status openDevice(const CudaLibraries* cu, int index, modnn_device* out) {
  auto* d = new (std::nothrow) CudaDevice();
  if (!d) return MODNN_ERR_OUT_OF_MEMORY;
  d->cu = cu;
  d->index = index;
  modnn_status st = check(d, cu->cuDeviceGet(&d->device, index), "cuDeviceGet");
  if (st == MODNN_OK && !attribute(d, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED))
    st = MODNN_ERR_NOT_SUPPORTED;  // the program's pointers could not be the GPU's
  if (st == MODNN_OK) st = check(d, cu->cuDevicePrimaryCtxRetain(&d->context, d->device), "cuDevicePrimaryCtxRetain");
  if (st != MODNN_OK) {
    delete d;
    return st;
  }
  makeCurrent(d);
  size_t total = 0;
  cu->cuDeviceTotalMem(&total, d->device);
  d->total_memory = total;
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = d->device;
  size_t granularity = 0;
  st = check(d, cu->cuMemGetAllocationGranularity(&granularity, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
             "cuMemGetAllocationGranularity");
  if (st == MODNN_OK) st = check(d, cu->cuStreamCreate(&d->stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  if (st != MODNN_OK) {
    cu->cuDevicePrimaryCtxRelease(d->device);
    delete d;
    return st;
  }
  d->granularity = granularity;
  d->chunks = std::make_unique<ChunkMap>(granularity);
  out->iface = &kInterface;
  out->ctx = d;
  return MODNN_OK;
}

}  // namespace
}  // namespace modnn::cuda

extern "C" __attribute__((visibility("default"))) modnn_status modnn_backend_open(const modnn_backend_config* config,
                                                                                  modnn_device* out_devices,
                                                                                  int capacity, int* out_count) {
  using namespace modnn::cuda;
  *out_count = 0;
  if (!config || config->abi_version != MODNN_BACKEND_ABI_VERSION) return MODNN_ERR_NOT_SUPPORTED;
  std::string why;
  const CudaLibraries* cu = loadCudaLibraries(&why);
  if (!cu) {
    // Most machines have no GPU: say why only to someone who asked for it.
    const char* log = std::getenv("MOAI_LOG");
    const char* chosen = std::getenv("MOAI_BACKEND");
    if ((log && std::strcmp(log, "debug") == 0) || (chosen && std::strcmp(chosen, "cuda") == 0))
      std::fprintf(stderr, "moai cuda: %s\n", why.c_str());
    return MODNN_ERR_NOT_SUPPORTED;
  }
  if (cu->cuInit(0) != CUDA_SUCCESS) return MODNN_ERR_NOT_SUPPORTED;
  int count = 0;
  if (cu->cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0) return MODNN_ERR_NOT_SUPPORTED;
  for (int i = 0; i < count && *out_count < capacity; ++i) {
    modnn_status st = openDevice(cu, i, &out_devices[*out_count]);
    if (st != MODNN_OK) {
      for (int j = 0; j < *out_count; ++j) out_devices[j].iface->destroy(out_devices[j].ctx);
      *out_count = 0;
      return st;
    }
    ++*out_count;
  }
  return MODNN_OK;
}
