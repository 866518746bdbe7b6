#include "interpose/core/offload.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "interpose/core/log.h"

namespace moai {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

bool isBgrad(modnn_gemm_epilogue e) {
  return e == MODNN_EPILOGUE_DGELU_BGRAD || e == MODNN_EPILOGUE_BGRADA || e == MODNN_EPILOGUE_BGRADB;
}

// Addresses the op may write; `all` when it cannot say.
std::vector<uint64_t> writtenBy(const modnn_op& op, bool* all) {
  *all = false;
  if (op.kind == MODNN_OP_GEMM) {
    const modnn_gemm& g = op.u.gemm;
    std::vector<uint64_t> w{g.d};
    if (isBgrad(g.epilogue)) w.push_back(g.bias);
    if (g.epilogue == MODNN_EPILOGUE_GELU_AUX || g.epilogue == MODNN_EPILOGUE_GELU_AUX_BIAS) w.push_back(g.aux);
    return w;
  }
  if (op.kind == MODNN_OP_BLAS) {
    const modnn_blas& b = op.u.blas;
    switch (b.fn) {
      case MODNN_BLAS_SCAL: return {b.x};
      case MODNN_BLAS_SWAP: return {b.x, b.y};
      case MODNN_BLAS_AXPY:
      case MODNN_BLAS_COPY:
      case MODNN_BLAS_GEMV: return {b.y};
      case MODNN_BLAS_DOT:
      case MODNN_BLAS_NRM2:
      case MODNN_BLAS_ASUM:
      case MODNN_BLAS_IAMAX:
      case MODNN_BLAS_IAMIN: return {b.result};
      case MODNN_BLAS_GER: return {b.a};
      case MODNN_BLAS_GEAM:
      case MODNN_BLAS_DGMM:
      case MODNN_BLAS_SYRK: return {b.c};
      case MODNN_BLAS_TRSM: return {b.b};
    }
  }
  *all = true;
  return {};
}

bool contains(const Allocation& a, uint64_t p) { return p - a.base < a.size || p == a.base; }

}  // namespace

bool offloadRequested() {
  const char* v = std::getenv("MOAI_OFFLOAD");
  return v && *v && std::strcmp(v, "0") != 0;
}

Residency::Pins::~Pins() {
  if (owner_) owner_->release(bases_);
}

Residency::Residency(modnn_device* device) : device_(device) {}

Residency::~Residency() {
  for (auto& [base, e] : entries_) {
    if (e.host) munmap(e.host, std::max<uint64_t>(e.alloc->size, 1));
    e.alloc->residency = nullptr;  // the allocation frees its own device buffer
  }
}

Residency::Entry* Residency::entryLocked(uint64_t base) {
  auto it = entries_.find(base);
  return it == entries_.end() ? nullptr : &it->second;
}

uint8_t* Residency::hostCopyLocked(Entry& e) {
  if (!e.host) {
    // Anonymous pages: zero until written, committed only where touched.
    void* p = mmap(nullptr, std::max<uint64_t>(e.alloc->size, 1), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      log().error("offload: no host memory for a {:.1f} MiB allocation", double(e.alloc->size) / kMiB);
      return nullptr;
    }
    e.host = static_cast<uint8_t*>(p);
  }
  return e.host;
}

void Residency::touchLocked(Entry& e) {
  if (e.in_lru) lru_.splice(lru_.end(), lru_, e.lru);
}

modnn_status Residency::evictLocked(Entry& e) {
  Allocation& a = *e.alloc;
  const modnn_device_i& d = *device_->iface;
  if (e.dirty) {
    uint8_t* host = hostCopyLocked(e);
    if (!host) return MODNN_ERR_OUT_OF_MEMORY;
    // Ordered after every op already handed to the device, so it reads
    // what they wrote.
    if (modnn_status st = d.buffer_read(device_->ctx, a.buffer, 0, host, a.size); st != MODNN_OK) return st;
    stats_.bytes_out += a.size;
  }
  d.buffer_free(device_->ctx, a.buffer);
  a.buffer = nullptr;
  e.dirty = false;
  lru_.erase(e.lru);
  e.in_lru = false;
  ++stats_.evictions;
  log().debug("offload: evicted {:#x} ({:.1f} MiB)", a.base, double(a.size) / kMiB);
  return MODNN_OK;
}

modnn_status Residency::allocWithEvictionLocked(uint64_t va, uint64_t size, const std::vector<uint64_t>& keep,
                                                modnn_buffer** out) {
  const modnn_device_i& d = *device_->iface;
  for (;;) {
    modnn_status st = d.buffer_alloc(device_->ctx, va, size, out);
    if (st != MODNN_ERR_OUT_OF_MEMORY) return st;
    Entry* victim = nullptr;
    for (uint64_t base : lru_) {
      Entry& e = entries_.at(base);
      if (e.pins == 0 && !std::binary_search(keep.begin(), keep.end(), base)) {
        victim = &e;
        break;
      }
    }
    if (!victim) return MODNN_ERR_OUT_OF_MEMORY;
    if (modnn_status ev = evictLocked(*victim); ev != MODNN_OK) return ev;
  }
}

modnn_status Residency::makeResidentLocked(Entry& e, const std::vector<uint64_t>& keep) {
  Allocation& a = *e.alloc;
  modnn_buffer* buf = nullptr;
  if (modnn_status st = allocWithEvictionLocked(a.base, a.size, keep, &buf); st != MODNN_OK) return st;
  if (e.host) {
    modnn_status st = device_->iface->buffer_write(device_->ctx, buf, 0, e.host, a.size);
    if (st != MODNN_OK) {
      device_->iface->buffer_free(device_->ctx, buf);
      return st;
    }
    stats_.bytes_in += a.size;
  }
  a.buffer = buf;
  e.dirty = false;
  e.lru = lru_.insert(lru_.end(), a.base);
  e.in_lru = true;
  return MODNN_OK;
}

modnn_status Residency::allocate(Allocation& a) {
  std::lock_guard<std::mutex> lock(mu_);
  modnn_buffer* buf = nullptr;
  modnn_status st = device_->iface->buffer_alloc(device_->ctx, a.base, a.size, &buf);
  if (st != MODNN_OK && st != MODNN_ERR_OUT_OF_MEMORY) return st;
  a.device = device_;
  a.residency = this;
  Entry& e = entries_[a.base];
  e.alloc = &a;
  if (st == MODNN_OK) {
    a.buffer = buf;
    e.lru = lru_.insert(lru_.end(), a.base);
    e.in_lru = true;
  } else {
    // No eviction here: the allocation comes in when an op first needs it.
    a.buffer = nullptr;
    if (!told_host_only_) {
      told_host_only_ = true;
      log().info("offload: the device is full; allocations go to host memory and stream in when used");
    }
  }
  return MODNN_OK;
}

modnn_status Residency::allocateFixed(uint64_t va, uint64_t size, modnn_buffer** out) {
  std::lock_guard<std::mutex> lock(mu_);
  return allocWithEvictionLocked(va, size, {}, out);
}

void Residency::forget(Allocation& a) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(a.base);
  if (it != entries_.end() && it->second.alloc == &a) {
    Entry& e = it->second;
    if (e.pins > 0) --pinned_entries_;
    if (e.in_lru) lru_.erase(e.lru);
    if (e.host) munmap(e.host, std::max<uint64_t>(a.size, 1));
    entries_.erase(it);
  }
  if (a.buffer) device_->iface->buffer_free(device_->ctx, a.buffer);
  a.buffer = nullptr;
  a.residency = nullptr;
  unpinned_.notify_all();
}

void Residency::release(const std::vector<uint64_t>& bases) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t base : bases) {
      Entry* e = entryLocked(base);
      if (e && e->pins > 0 && --e->pins == 0) --pinned_entries_;
    }
  }
  unpinned_.notify_all();
}

modnn_status Residency::acquire(const std::vector<Need>& needs, Pins* out) {
  std::unique_lock<std::mutex> lock(mu_);
  return acquireLocked(needs, out, lock);
}

modnn_status Residency::acquire(const ModnnOp& op, Pins* out) {
  std::vector<Need> needs = needsOf(op);
  std::unique_lock<std::mutex> lock(mu_);
  if (op.op.kind == MODNN_OP_GEMM && op.op.u.gemm.pointer_arrays)
    if (modnn_status st = addPointeesLocked(op, &needs); st != MODNN_OK) return st;
  return acquireLocked(needs, out, lock);
}

modnn_status Residency::acquire(const LaunchOp& op, Pins* out) { return acquire(needsOf(op), out); }

Residency::Entry* Residency::containingLocked(uint64_t p) {
  auto it = entries_.upper_bound(p);
  if (it == entries_.begin()) return nullptr;
  --it;
  return contains(*it->second.alloc, p) ? &it->second : nullptr;
}

// A batched GEMM with pointer arrays reads and writes wherever the arrays
// point; they are read as the GEMM will see them (after earlier work).
modnn_status Residency::addPointeesLocked(const ModnnOp& op, std::vector<Need>* needs) {
  const modnn_gemm& g = op.op.u.gemm;
  if (g.batch <= 0) return MODNN_OK;
  uint64_t bytes = uint64_t(g.batch) * sizeof(uint64_t);
  std::vector<uint64_t> ptrs(size_t(g.batch));
  const std::pair<uint64_t, bool> arrays[] = {{g.a, false}, {g.b, false}, {g.c, false}, {g.d, true}};
  for (auto [array, write] : arrays) {
    if (!array) continue;
    Allocation* holder = nullptr;
    for (const auto& a : op.keep_alive)
      if (array >= a->base && array - a->base <= a->size && a->size - (array - a->base) >= bytes) holder = a.get();
    if (!holder) continue;  // not device memory: the device rejects the op itself
    uint64_t off = array - holder->base;
    Entry* e = holder->residency == this ? entryLocked(holder->base) : nullptr;
    if (holder->buffer) {
      modnn_status st = device_->iface->buffer_read(device_->ctx, holder->buffer, off, ptrs.data(), bytes);
      if (st != MODNN_OK) return st;
    } else if (e && e->host) {
      std::memcpy(ptrs.data(), e->host + off, bytes);
    } else {
      continue;  // never written: points nowhere yet
    }
    for (uint64_t p : ptrs)
      if (Entry* t = p ? containingLocked(p) : nullptr) needs->push_back({t->alloc, write});
  }
  return MODNN_OK;
}

modnn_status Residency::acquireLocked(const std::vector<Need>& needs, Pins* out, std::unique_lock<std::mutex>& lock) {
  std::map<uint64_t, bool> want;  // base -> may write
  for (const Need& n : needs)
    if (n.alloc && n.alloc->residency == this) want[n.alloc->base] |= n.write;
  if (want.empty()) return MODNN_OK;
  std::vector<uint64_t> keep;
  for (auto& [base, w] : want) keep.push_back(base);
  for (;;) {
    modnn_status st = MODNN_OK;
    bool busy = false;  // something in the way is pinned by a running op
    for (uint64_t base : keep) {
      Entry* e = entryLocked(base);
      if (!e || e->alloc->buffer) continue;
      if (e->pins > 0) {  // a host-side copy is using it
        busy = true;
        break;
      }
      if ((st = makeResidentLocked(*e, keep)) != MODNN_OK) break;
    }
    if (!busy && st == MODNN_ERR_OUT_OF_MEMORY && pinned_entries_ > 0) busy = true;
    if (busy) {
      // Other ops' pins go when they finish; then there may be room.
      unpinned_.wait(lock);
      continue;
    }
    if (st != MODNN_OK) {
      if (st == MODNN_ERR_OUT_OF_MEMORY) {
        uint64_t bytes = 0;
        for (uint64_t base : keep)
          if (Entry* e = entryLocked(base)) bytes += e->alloc->size;
        modnn_device_props props{};
        props.struct_size = sizeof props;
        device_->iface->get_props(device_->ctx, &props);
        log().error(
            "offload: an operation needs {} allocation(s), {:.1f} MiB, on the device at once; the device "
            "({:.1f} MiB) cannot hold them",
            keep.size(), double(bytes) / kMiB, double(props.total_memory) / kMiB);
      }
      return st;
    }
    break;
  }
  out->owner_ = this;
  for (auto& [base, w] : want) {
    Entry* e = entryLocked(base);
    if (!e) continue;
    if (e->pins++ == 0) ++pinned_entries_;
    e->dirty = e->dirty || w;
    touchLocked(*e);
    out->bases_.push_back(base);
  }
  return MODNN_OK;
}

modnn_status Residency::resolve(Endpoint& ep, bool write, Pins* pins) {
  if (!ep.alloc || ep.alloc->residency != this) return MODNN_OK;
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = entryLocked(ep.alloc->base);
  if (!e) return MODNN_OK;
  if (ep.alloc->buffer) {
    e->dirty = e->dirty || write;
    touchLocked(*e);
  } else {
    uint8_t* host = hostCopyLocked(*e);
    if (!host) return MODNN_ERR_OUT_OF_MEMORY;
    ep.host = host + ep.offset;
    ep.alloc = nullptr;
    ep.offset = 0;
  }
  pins->owner_ = this;
  if (e->pins++ == 0) ++pinned_entries_;
  pins->bases_.push_back(e->alloc->base);
  return MODNN_OK;
}

void Residency::logStatsAtExit() {
  // The client lives until the process ends, and so does this object.
  static Residency* logged = nullptr;
  if (logged) return;
  logged = this;
  std::atexit([] {
    Stats s = logged->stats();
    log().info("offload: {} evictions, {:.1f} MiB in and {:.1f} MiB out; at exit {:.1f} MiB resident, {:.1f} MiB in "
               "host memory",
               s.evictions, double(s.bytes_in) / kMiB, double(s.bytes_out) / kMiB, double(s.resident_bytes) / kMiB,
               double(s.host_only_bytes) / kMiB);
  });
}

Residency::Stats Residency::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  for (auto& [base, e] : entries_) (e.alloc->buffer ? s.resident_bytes : s.host_only_bytes) += e.alloc->size;
  return s;
}

std::vector<Residency::Need> Residency::needsOf(const ModnnOp& op) {
  bool all = false;
  std::vector<uint64_t> written = writtenBy(op.op, &all);
  std::vector<Need> needs;
  for (const auto& a : op.keep_alive) {
    bool w = all;
    for (uint64_t p : written) w = w || (p && contains(*a, p));
    needs.push_back({a.get(), w});
  }
  return needs;
}

std::vector<Residency::Need> Residency::needsOf(const LaunchOp& op) {
  std::vector<Need> needs;
  for (const auto& a : op.keep_alive) needs.push_back({a.get(), true});
  return needs;
}

}  // namespace moai
