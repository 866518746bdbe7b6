// Memory management: device allocations, page-locked host memory, pointer
// attributes.
#include "interpose/core/client.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

constexpr size_t kPitchAlignment = 512;

}  // namespace

cudaError_t cudaMalloc(void** devPtr, size_t size) { return done(Client::get().malloc(size, devPtr)); }

cudaError_t cudaFree(void* devPtr) { return done(Client::get().free(devPtr)); }

cudaError_t cudaMallocPitch(void** devPtr, size_t* pitch, size_t width, size_t height) {
  if (!devPtr || !pitch) return done(MODNN_ERR_INVALID_VALUE);
  size_t p = (width + kPitchAlignment - 1) / kPitchAlignment * kPitchAlignment;
  size_t bytes;
  if (p < width || __builtin_mul_overflow(p, height, &bytes)) return done(MODNN_ERR_OUT_OF_MEMORY);
  *pitch = p;
  return done(Client::get().malloc(bytes, devPtr));
}

cudaError_t cudaMalloc3D(cudaPitchedPtr* pitchedDevPtr, cudaExtent extent) {
  if (!pitchedDevPtr) return done(MODNN_ERR_INVALID_VALUE);
  size_t pitch = 0;
  void* p = nullptr;
  size_t rows;
  if (__builtin_mul_overflow(extent.height, extent.depth, &rows)) return done(MODNN_ERR_OUT_OF_MEMORY);
  cudaError_t e = cudart::cudaMallocPitch(&p, &pitch, extent.width, rows);
  if (e != cudaSuccess) return e;
  *pitchedDevPtr = make_cudaPitchedPtr(p, pitch, extent.width, extent.height);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) { return done(Client::get().memGetInfo(free, total)); }

cudaError_t cudaMallocHost(void** ptr, size_t size) { return done(Client::get().hostAlloc(size, 0, ptr)); }

cudaError_t cudaHostAlloc(void** pHost, size_t size, unsigned int flags) {
  constexpr unsigned kValid = cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined;
  if (flags & ~kValid) return done(MODNN_ERR_INVALID_VALUE);
  return done(Client::get().hostAlloc(size, flags, pHost));
}

cudaError_t cudaFreeHost(void* ptr) { return done(Client::get().hostFree(ptr)); }

cudaError_t cudaHostRegister(void* ptr, size_t size, unsigned int flags) {
  constexpr unsigned kValid = cudaHostRegisterPortable | cudaHostRegisterMapped | cudaHostRegisterIoMemory |
                              cudaHostRegisterReadOnly;
  if (flags & ~kValid) return done(MODNN_ERR_INVALID_VALUE);
  return done(Client::get().hostRegister(ptr, size, flags));
}

cudaError_t cudaHostUnregister(void* ptr) { return done(Client::get().hostUnregister(ptr)); }

cudaError_t cudaHostGetFlags(unsigned int* pFlags, void* pHost) {
  if (!pFlags) return done(MODNN_ERR_INVALID_VALUE);
  return done(Client::get().hostFlags(pHost, pFlags));
}

cudaError_t cudaHostGetDevicePointer(void** pDevice, void* pHost, unsigned int flags) {
  if (!pDevice || flags != 0) return done(MODNN_ERR_INVALID_VALUE);
  PointerInfo info = Client::get().pointerInfo(pHost);
  if (info.kind != PointerKind::Host) return done(MODNN_ERR_INVALID_VALUE);
  *pDevice = pHost;  // unified addressing: the device sees it at the same address
  return cudaSuccess;
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr) {
  if (!attributes) return done(MODNN_ERR_INVALID_VALUE);
  PointerInfo info = Client::get().pointerInfo(ptr);
  switch (info.kind) {
    case PointerKind::Device: attributes->type = cudaMemoryTypeDevice; break;
    case PointerKind::Host: attributes->type = cudaMemoryTypeHost; break;
    case PointerKind::Unregistered: attributes->type = cudaMemoryTypeUnregistered; break;
  }
  attributes->device = info.kind == PointerKind::Unregistered ? -2 : info.device;
  attributes->devicePointer = info.device_pointer;
  attributes->hostPointer = info.host_pointer;
  return cudaSuccess;
}

}  // namespace moai::cudart
