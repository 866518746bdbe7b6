// Copies and fills: the cudaMemcpy*, cudaMemset* and symbol families.
#include <cstdint>

#include "interpose/core/client.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

Stream* stream(cudaStream_t s) { return reinterpret_cast<Stream*>(s); }

cudaError_t copy1d(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t s, bool async) {
  CopyRequest r;
  r.dst = dst;
  r.src = src;
  r.width = count;
  r.kind = CopyKind(kind);
  return done(Client::get().copy(r, stream(s), async));
}

cudaError_t copy2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                   cudaMemcpyKind kind, cudaStream_t s, bool async) {
  CopyRequest r;
  r.dst = dst;
  r.dpitch = dpitch;
  r.src = src;
  r.spitch = spitch;
  r.width = width;
  r.height = height;
  r.kind = CopyKind(kind);
  if (height > 1 && (width > dpitch || width > spitch)) return done(MODNN_ERR_INVALID_VALUE);
  return done(Client::get().copy(r, stream(s), async));
}

// A 3D copy between pitched pointers is one 2D copy per slice, or a single
// 2D copy when both sides' slices are contiguous rows of the same pitch.
cudaError_t copy3d(const cudaMemcpy3DParms* p, cudaStream_t s, bool async) {
  if (!p || p->srcArray || p->dstArray) return done(p ? MODNN_ERR_NOT_SUPPORTED : MODNN_ERR_INVALID_VALUE);
  const cudaPitchedPtr& sp = p->srcPtr;
  const cudaPitchedPtr& dp = p->dstPtr;
  size_t sslice = sp.pitch * sp.ysize, dslice = dp.pitch * dp.ysize;
  for (size_t z = 0; z < p->extent.depth; ++z) {
    auto* d = static_cast<uint8_t*>(dp.ptr) + (p->dstPos.z + z) * dslice + p->dstPos.y * dp.pitch + p->dstPos.x;
    auto* src = static_cast<const uint8_t*>(sp.ptr) + (p->srcPos.z + z) * sslice + p->srcPos.y * sp.pitch +
                p->srcPos.x;
    cudaError_t e = copy2d(d, dp.pitch, src, sp.pitch, p->extent.width, p->extent.height, p->kind, s, async);
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

cudaError_t fill(void* dst, size_t pitch, int value, size_t width, size_t height, cudaStream_t s, bool async) {
  FillRequest r;
  r.dst = dst;
  r.pitch = pitch;
  r.value = uint32_t(value) & 0xffu;
  r.elem_size = 1;
  r.width = width;
  r.height = height;
  return done(Client::get().fill(r, stream(s), async));
}

cudaError_t fill3d(cudaPitchedPtr p, int value, cudaExtent e, cudaStream_t s, bool async) {
  size_t slice = p.pitch * p.ysize;
  for (size_t z = 0; z < e.depth; ++z) {
    cudaError_t err = fill(static_cast<uint8_t*>(p.ptr) + z * slice, p.pitch, value, e.width, e.height, s, async);
    if (err != cudaSuccess) return err;
  }
  return cudaSuccess;
}

// Resolves symbol + offset + count to a device address inside the symbol.
cudaError_t symbolRange(const void* symbol, size_t offset, size_t count, void** out) {
  void* base = nullptr;
  size_t size = 0;
  modnn_status st = Client::get().symbolAddress(symbol, &base, &size);
  if (st != MODNN_OK) return done(st);
  if (offset > size || count > size - offset) return done(MODNN_ERR_INVALID_VALUE);
  *out = static_cast<uint8_t*>(base) + offset;
  return cudaSuccess;
}

}  // namespace

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  return copy1d(dst, src, count, kind, nullptr, false);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t s) {
  return copy1d(dst, src, count, kind, s, true);
}

cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                         cudaMemcpyKind kind) {
  return copy2d(dst, dpitch, src, spitch, width, height, kind, nullptr, false);
}

cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                              size_t height, cudaMemcpyKind kind, cudaStream_t s) {
  return copy2d(dst, dpitch, src, spitch, width, height, kind, s, true);
}

cudaError_t cudaMemcpy3D(const cudaMemcpy3DParms* p) { return copy3d(p, nullptr, false); }

cudaError_t cudaMemcpy3DAsync(const cudaMemcpy3DParms* p, cudaStream_t s) { return copy3d(p, s, true); }

cudaError_t cudaMemcpyPeer(void* dst, int dstDevice, const void* src, int srcDevice, size_t count) {
  Client& c = Client::get();
  if (c.checkDevice(dstDevice) != MODNN_OK || c.checkDevice(srcDevice) != MODNN_OK)
    return done(MODNN_ERR_INVALID_DEVICE);
  return copy1d(dst, src, count, cudaMemcpyDeviceToDevice, nullptr, false);
}

cudaError_t cudaMemcpyPeerAsync(void* dst, int dstDevice, const void* src, int srcDevice, size_t count,
                                cudaStream_t s) {
  Client& c = Client::get();
  if (c.checkDevice(dstDevice) != MODNN_OK || c.checkDevice(srcDevice) != MODNN_OK)
    return done(MODNN_ERR_INVALID_DEVICE);
  return copy1d(dst, src, count, cudaMemcpyDeviceToDevice, s, true);
}

cudaError_t cudaMemcpyToSymbol(const void* symbol, const void* src, size_t count, size_t offset,
                               cudaMemcpyKind kind) {
  if (kind != cudaMemcpyHostToDevice && kind != cudaMemcpyDeviceToDevice && kind != cudaMemcpyDefault)
    return done(MODNN_ERR_INVALID_DIRECTION);
  void* dst = nullptr;
  if (cudaError_t e = symbolRange(symbol, offset, count, &dst); e != cudaSuccess) return e;
  return copy1d(dst, src, count, kind, nullptr, false);
}

cudaError_t cudaMemcpyToSymbolAsync(const void* symbol, const void* src, size_t count, size_t offset,
                                    cudaMemcpyKind kind, cudaStream_t s) {
  if (kind != cudaMemcpyHostToDevice && kind != cudaMemcpyDeviceToDevice && kind != cudaMemcpyDefault)
    return done(MODNN_ERR_INVALID_DIRECTION);
  void* dst = nullptr;
  if (cudaError_t e = symbolRange(symbol, offset, count, &dst); e != cudaSuccess) return e;
  return copy1d(dst, src, count, kind, s, true);
}

cudaError_t cudaMemcpyFromSymbol(void* dst, const void* symbol, size_t count, size_t offset,
                                 cudaMemcpyKind kind) {
  if (kind != cudaMemcpyDeviceToHost && kind != cudaMemcpyDeviceToDevice && kind != cudaMemcpyDefault)
    return done(MODNN_ERR_INVALID_DIRECTION);
  void* src = nullptr;
  if (cudaError_t e = symbolRange(symbol, offset, count, &src); e != cudaSuccess) return e;
  return copy1d(dst, src, count, kind, nullptr, false);
}

cudaError_t cudaMemcpyFromSymbolAsync(void* dst, const void* symbol, size_t count, size_t offset,
                                      cudaMemcpyKind kind, cudaStream_t s) {
  if (kind != cudaMemcpyDeviceToHost && kind != cudaMemcpyDeviceToDevice && kind != cudaMemcpyDefault)
    return done(MODNN_ERR_INVALID_DIRECTION);
  void* src = nullptr;
  if (cudaError_t e = symbolRange(symbol, offset, count, &src); e != cudaSuccess) return e;
  return copy1d(dst, src, count, kind, s, true);
}

cudaError_t cudaGetSymbolAddress(void** devPtr, const void* symbol) {
  if (!devPtr) return done(MODNN_ERR_INVALID_VALUE);
  return done(Client::get().symbolAddress(symbol, devPtr, nullptr));
}

cudaError_t cudaGetSymbolSize(size_t* size, const void* symbol) {
  if (!size) return done(MODNN_ERR_INVALID_VALUE);
  return done(Client::get().symbolAddress(symbol, nullptr, size));
}

cudaError_t cudaMemset(void* devPtr, int value, size_t count) {
  return fill(devPtr, 0, value, count, 1, nullptr, false);
}

cudaError_t cudaMemsetAsync(void* devPtr, int value, size_t count, cudaStream_t s) {
  return fill(devPtr, 0, value, count, 1, s, true);
}

cudaError_t cudaMemset2D(void* devPtr, size_t pitch, int value, size_t width, size_t height) {
  return fill(devPtr, pitch, value, width, height, nullptr, false);
}

cudaError_t cudaMemset2DAsync(void* devPtr, size_t pitch, int value, size_t width, size_t height,
                              cudaStream_t s) {
  return fill(devPtr, pitch, value, width, height, s, true);
}

cudaError_t cudaMemset3D(cudaPitchedPtr p, int value, cudaExtent extent) {
  return fill3d(p, value, extent, nullptr, false);
}

cudaError_t cudaMemset3DAsync(cudaPitchedPtr p, int value, cudaExtent extent, cudaStream_t s) {
  return fill3d(p, value, extent, s, true);
}

}  // namespace moai::cudart
