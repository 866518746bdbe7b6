// Client: allocations, host memory, copies and fills.
#include <sys/mman.h>

#include <cstring>

#include "interpose/core/client.h"
#include "interpose/core/log.h"

namespace moai {
namespace {

bool mulOverflows(size_t a, size_t b, size_t* out) { return __builtin_mul_overflow(a, b, out); }

// Extent in bytes that a pitched region touches: (height-1)*pitch + width.
bool pitchedExtent(size_t width, size_t height, size_t pitch, size_t* out) {
  if (height == 0 || width == 0) {
    *out = 0;
    return true;
  }
  size_t rows;
  if (mulOverflows(height - 1, pitch, &rows)) return false;
  return !__builtin_add_overflow(rows, width, out);
}

}  // namespace

modnn_status Client::malloc(uint64_t size, void** out) {
  if (!out) return MODNN_ERR_INVALID_VALUE;
  *out = nullptr;
  if (init_error_ != MODNN_OK) return init_error_;
  std::lock_guard<std::mutex> lock(mu_);
  if (sticky_ != MODNN_OK) return sticky_;
  if (size > props_.total_memory) return MODNN_ERR_OUT_OF_MEMORY;
  auto va = vas_->reserve(size);
  if (!va) return MODNN_ERR_OUT_OF_MEMORY;
  auto a = std::make_shared<Allocation>();
  a->base = *va;
  a->size = size;
  // With offload the allocation may start in host memory (offload.h).
  modnn_status st =
      residency_ ? residency_->allocate(*a) : device_.iface->buffer_alloc(device_.ctx, *va, size, &a->buffer);
  if (st != MODNN_OK) {
    vas_->release(*va);
    return st;
  }
  a->device = &device_;
  allocs_.insert(std::move(a));
  forecast_.allocated(allocs_.bytesInUse());
  forecastChangedLocked();
  *out = reinterpret_cast<void*>(*va);
  return MODNN_OK;
}

modnn_status Client::free(void* ptr) {
  if (!ptr) return MODNN_OK;
  if (init_error_ != MODNN_OK) return init_error_;
  // cudaFree waits for the device, as in CUDA.
  if (!inHostCallback()) waitIdle();
  std::lock_guard<std::mutex> lock(mu_);
  if (sticky_ != MODNN_OK) return sticky_;
  uint64_t p = reinterpret_cast<uint64_t>(ptr);
  auto* live = allocs_.find(p);
  if (!live || (*live)->base != p || (*live)->module_variable) return MODNN_ERR_INVALID_VALUE;
  allocs_.erase(p);
  vas_->release(p);
  return MODNN_OK;
}

modnn_status Client::memGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (init_error_ != MODNN_OK) return init_error_;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t used = allocs_.bytesInUse(), total = props_.total_memory;
  // A job sharing its device sees its quota as the device, as under MPS.
  if (MODNN_HAS_ENTRY(device_.iface, memory_quota))
    if (uint64_t quota = device_.iface->memory_quota(device_.ctx); quota && quota < total) total = quota;
  if (free_bytes) *free_bytes = used >= total ? 0 : total - used;
  if (total_bytes) *total_bytes = total;
  return MODNN_OK;
}

modnn_status Client::hostAlloc(size_t size, unsigned flags, void** out) {
  if (!out) return MODNN_ERR_INVALID_VALUE;
  *out = nullptr;
  size_t len = size ? size : 1;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return MODNN_ERR_OUT_OF_MEMORY;
  std::lock_guard<std::mutex> lock(mu_);
  allocs_.insertHost(HostRegion{reinterpret_cast<uintptr_t>(p), len, flags, true});
  *out = p;
  return MODNN_OK;
}

modnn_status Client::hostFree(void* ptr) {
  if (!ptr) return MODNN_OK;
  if (!inHostCallback()) waitIdle();
  std::lock_guard<std::mutex> lock(mu_);
  const HostRegion* r = allocs_.findHost(reinterpret_cast<uintptr_t>(ptr));
  if (!r || r->base != reinterpret_cast<uintptr_t>(ptr) || !r->owned) return MODNN_ERR_INVALID_VALUE;
  HostRegion region;
  allocs_.eraseHost(r->base, &region);
  munmap(reinterpret_cast<void*>(region.base), region.size);
  return MODNN_OK;
}

modnn_status Client::hostRegister(void* ptr, size_t size, unsigned flags) {
  if (!ptr || size == 0) return MODNN_ERR_INVALID_VALUE;
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  if (vas_ && vas_->contains(p)) return MODNN_ERR_INVALID_VALUE;
  std::lock_guard<std::mutex> lock(mu_);
  if (!allocs_.insertHost(HostRegion{p, size, flags, false})) return MODNN_ERR_ALREADY_REGISTERED;
  return MODNN_OK;
}

modnn_status Client::hostUnregister(void* ptr) {
  if (!ptr) return MODNN_ERR_INVALID_VALUE;
  if (!inHostCallback()) waitIdle();
  std::lock_guard<std::mutex> lock(mu_);
  const HostRegion* r = allocs_.findHost(reinterpret_cast<uintptr_t>(ptr));
  if (!r || r->owned || r->base != reinterpret_cast<uintptr_t>(ptr)) return MODNN_ERR_NOT_REGISTERED;
  allocs_.eraseHost(r->base, nullptr);
  return MODNN_OK;
}

modnn_status Client::hostFlags(const void* ptr, unsigned* out) {
  std::lock_guard<std::mutex> lock(mu_);
  const HostRegion* r = allocs_.findHost(reinterpret_cast<uintptr_t>(ptr));
  if (!r) return MODNN_ERR_INVALID_VALUE;
  if (out) *out = r->flags;
  return MODNN_OK;
}

PointerInfo Client::pointerInfo(const void* ptr) {
  PointerInfo info;
  uint64_t p = reinterpret_cast<uint64_t>(ptr);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto* a = allocs_.find(p)) {
    info.kind = PointerKind::Device;
    info.device = 0;
    info.device_pointer = const_cast<void*>(ptr);
    info.base = (*a)->base;
    info.size = (*a)->size;
  } else if (const HostRegion* r = allocs_.findHost(p)) {
    info.kind = PointerKind::Host;
    info.device = 0;
    info.device_pointer = const_cast<void*>(ptr);  // unified addressing: same address
    info.host_pointer = const_cast<void*>(ptr);
    info.base = r->base;
    info.size = r->size;
  } else {
    info.host_pointer = const_cast<void*>(ptr);
  }
  return info;
}

// Resolves one side of a copy or fill. `device` says which side of the
// copy kind the pointer is on; a pointer in the device address space is
// never treated as host memory (it is PROT_NONE to the host).
modnn_status Client::endpointLocked(const void* p, uint64_t extent, bool device, Endpoint* out) {
  uint64_t a = reinterpret_cast<uint64_t>(p);
  if (!p) return MODNN_ERR_INVALID_VALUE;
  if (!device) {
    if (vas_->contains(a)) return MODNN_ERR_INVALID_VALUE;
    out->host = const_cast<uint8_t*>(static_cast<const uint8_t*>(p));
    return MODNN_OK;
  }
  if (!vas_->contains(a)) return MODNN_ERR_INVALID_VALUE;
  auto* alloc = allocs_.findRange(a, extent);
  if (!alloc) return MODNN_ERR_INVALID_VALUE;
  out->alloc = *alloc;
  out->offset = a - (*alloc)->base;
  return MODNN_OK;
}

CopyKind Client::inferKind(const void* dst, const void* src) const {
  bool d = vas_->contains(reinterpret_cast<uint64_t>(dst));
  bool s = vas_->contains(reinterpret_cast<uint64_t>(src));
  return d ? (s ? CopyKind::DeviceToDevice : CopyKind::HostToDevice)
           : (s ? CopyKind::DeviceToHost : CopyKind::HostToHost);
}

modnn_status Client::copy(const CopyRequest& req, Stream* stream, bool async) {
  if (init_error_ != MODNN_OK) return init_error_;
  if (unsigned(req.kind) > unsigned(CopyKind::Default)) return MODNN_ERR_INVALID_DIRECTION;
  if (req.height > 1 && (req.width > req.dpitch || req.width > req.spitch)) return MODNN_ERR_INVALID_VALUE;
  size_t dext, sext;
  size_t dpitch = req.height > 1 ? req.dpitch : req.width, spitch = req.height > 1 ? req.spitch : req.width;
  if (!pitchedExtent(req.width, req.height, dpitch, &dext) || !pitchedExtent(req.width, req.height, spitch, &sext))
    return MODNN_ERR_INVALID_VALUE;
  CopyOp op;
  op.width = req.width;
  op.height = req.height;
  op.dpitch = dpitch;
  op.spitch = spitch;
  bool wait = !async;
  StreamPos pos;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stream* s = nullptr;
    modnn_status st = resolveStreamLocked(stream, &s);
    if (st != MODNN_OK) return st;
    if ((st = health()) != MODNN_OK) return st;
    if (dext == 0) return MODNN_OK;
    CopyKind kind = req.kind == CopyKind::Default ? inferKind(req.dst, req.src) : req.kind;
    bool dst_dev = kind == CopyKind::HostToDevice || kind == CopyKind::DeviceToDevice;
    bool src_dev = kind == CopyKind::DeviceToHost || kind == CopyKind::DeviceToDevice;
    if ((st = endpointLocked(req.dst, dext, dst_dev, &op.dst)) != MODNN_OK) return st;
    if ((st = endpointLocked(req.src, sext, src_dev, &op.src)) != MODNN_OK) return st;
    bool src_pageable = !src_dev && !allocs_.findHost(reinterpret_cast<uintptr_t>(req.src));
    bool dst_pageable = !dst_dev && !allocs_.findHost(reinterpret_cast<uintptr_t>(req.dst));
    // CUDA's rules for pageable memory: an async copy *from* it returns once
    // the bytes are captured; one *to* it completes before returning.
    if (async && src_pageable && !dst_pageable) {
      op.staged.reset(new (std::nothrow) uint8_t[sext]);
      if (!op.staged) return MODNN_ERR_OUT_OF_MEMORY;
      std::memcpy(op.staged.get(), req.src, sext);
      op.src.host = op.staged.get();
    }
    wait = wait || dst_pageable;
    pos = submitLocked(s, std::move(op));
  }
  if (!wait) return MODNN_OK;
  if (inHostCallback()) return MODNN_ERR_NOT_PERMITTED;
  waitFor(pos);
  return async ? stickyError() : finishSync();
}

modnn_status Client::executeCopy(CopyOp& op) {
  const modnn_device_i& d = *device_.iface;
  void* ctx = device_.ctx;
  // With offload, a side whose allocation is in host memory uses it there.
  Endpoint dst = op.dst, src = op.src;
  Residency::Pins pins;
  if (residency_)
    for (auto [e, write] : {std::pair{&dst, true}, std::pair{&src, false}})
      if (modnn_status st = residency_->resolve(*e, write, &pins); st != MODNN_OK) return st;
  for (size_t row = 0; row < op.height; ++row) {
    uint64_t doff = dst.offset + row * op.dpitch, soff = src.offset + row * op.spitch;
    modnn_status st = MODNN_OK;
    if (dst.alloc && src.alloc)
      st = d.buffer_copy(ctx, dst.alloc->buffer, doff, src.alloc->buffer, soff, op.width);
    else if (dst.alloc)
      st = d.buffer_write(ctx, dst.alloc->buffer, doff, src.host + row * op.spitch, op.width);
    else if (src.alloc)
      st = d.buffer_read(ctx, src.alloc->buffer, soff, dst.host + row * op.dpitch, op.width);
    else
      std::memmove(dst.host + row * op.dpitch, src.host + row * op.spitch, op.width);
    if (st != MODNN_OK) return st;
  }
  return MODNN_OK;
}

modnn_status Client::fill(const FillRequest& req, Stream* stream, bool async) {
  if (init_error_ != MODNN_OK) return init_error_;
  if (req.elem_size != 1 && req.elem_size != 2 && req.elem_size != 4) return MODNN_ERR_INVALID_VALUE;
  size_t row_bytes, ext;
  if (mulOverflows(req.width, req.elem_size, &row_bytes)) return MODNN_ERR_INVALID_VALUE;
  size_t pitch = req.height > 1 ? req.pitch : row_bytes;
  if (req.height > 1 && row_bytes > pitch) return MODNN_ERR_INVALID_VALUE;
  if (!pitchedExtent(row_bytes, req.height, pitch, &ext)) return MODNN_ERR_INVALID_VALUE;
  StreamPos pos;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stream* s = nullptr;
    modnn_status st = resolveStreamLocked(stream, &s);
    if (st != MODNN_OK) return st;
    if ((st = health()) != MODNN_OK) return st;
    if (ext == 0) return MODNN_OK;
    FillOp op;
    uint64_t a = reinterpret_cast<uint64_t>(req.dst);
    if (!req.dst || !vas_->contains(a)) {
      // Page-locked host memory is device-accessible in CUDA; plain host memory is not.
      const HostRegion* r = req.dst ? allocs_.findHost(a) : nullptr;
      if (!r || a + ext > r->base + r->size) return MODNN_ERR_INVALID_VALUE;
      op.dst.host = static_cast<uint8_t*>(req.dst);
    } else if ((st = endpointLocked(req.dst, ext, true, &op.dst)) != MODNN_OK) {
      return st;
    }
    op.width = req.width;
    op.height = req.height;
    op.pitch = pitch;
    op.value = req.value;
    op.elem_size = req.elem_size;
    pos = submitLocked(s, std::move(op));
  }
  if (async) return MODNN_OK;
  if (inHostCallback()) return MODNN_ERR_NOT_PERMITTED;
  waitFor(pos);
  return finishSync();
}

modnn_status Client::executeFill(FillOp& op) {
  Endpoint dst = op.dst;
  Residency::Pins pins;
  if (residency_)
    if (modnn_status st = residency_->resolve(dst, true, &pins); st != MODNN_OK) return st;
  for (size_t row = 0; row < op.height; ++row) {
    uint64_t off = dst.offset + row * op.pitch;
    if (!dst.alloc) {
      uint8_t* p = dst.host + row * op.pitch;
      for (size_t i = 0; i < op.width; ++i) std::memcpy(p + i * op.elem_size, &op.value, op.elem_size);
      continue;
    }
    modnn_status st =
        device_.iface->buffer_fill(device_.ctx, dst.alloc->buffer, off, op.width, op.value, op.elem_size);
    if (st != MODNN_OK) return st;
  }
  return MODNN_OK;
}

}  // namespace moai
