// Which bytes of each buffer a member of a device group holds (group_state.h).
//
// A buffer is copied on every member while each has room: ops then run
// wherever the plan says with no allocation on the way. When a member has no
// room left, a new buffer is sharded instead: each member holds a window of
// its 1/N share of the bytes, so the virtual device holds the sum of its
// members' memory. A window grows when an op needs more of the buffer on
// that member (a GEMM split by columns reads all of A); it never shrinks
// while the buffer lives. Members address their parts at the client's
// addresses (va + window start), so ops need no translation.
#include <algorithm>

#include "interpose/core/group_state.h"
#include "interpose/core/log.h"

namespace moai::group_impl {

namespace {

constexpr uint64_t kWindowAlignment = 4096;

void markSharded(Group* g, GroupBuffer* b) {
  if (!b->sharded) ++g->sharded_buffers;
  b->sharded = true;
}

// Member i's 1/N share of a buffer of `size` bytes.
Window share(uint64_t size, size_t i, size_t n) {
  uint64_t lo = size * i / n / kWindowAlignment * kWindowAlignment;
  uint64_t hi = i + 1 == n ? size : size * (i + 1) / n / kWindowAlignment * kWindowAlignment;
  return Window{lo, hi};
}

// Member i's part of `b` becomes window `w`, keeping the bytes of its old
// window that fall inside `w`. Through host memory, old part first: a
// device keys its buffers by address and the new part may start where the
// old one does, and the member may have no room for both. If the new part
// cannot be had, the old one comes back where it was (its room was just freed).
modnn_status repart(Group* g, GroupBuffer* b, size_t i, Window w) {
  const modnn_device& d = g->devs[i];
  modnn_buffer* was = b->parts[i];
  Window old = b->windows[i];
  Window keep = was ? Window{std::max(old.lo, w.lo), std::min(old.hi, w.hi)} : Window{};
  std::vector<uint8_t> kept(keep.hi > keep.lo ? keep.hi - keep.lo : 0);
  if (!kept.empty())
    if (modnn_status st = d.iface->buffer_read(d.ctx, was, keep.lo - old.lo, kept.data(), kept.size()); st != MODNN_OK)
      return st;
  if (was) {
    d.iface->buffer_free(d.ctx, was);
    g->held[i] -= old.hi - old.lo;
  }
  b->parts[i] = nullptr;
  b->windows[i] = w;
  modnn_status st = MODNN_OK;
  if (w.lo < w.hi) {
    st = d.iface->buffer_alloc(d.ctx, b->va + w.lo, w.hi - w.lo, &b->parts[i]);
    if (st == MODNN_OK && !kept.empty())
      st = d.iface->buffer_write(d.ctx, b->parts[i], keep.lo - w.lo, kept.data(), kept.size());
    if (st == MODNN_OK) g->held[i] += w.hi - w.lo;
  }
  if (st == MODNN_OK) return MODNN_OK;
  if (b->parts[i]) d.iface->buffer_free(d.ctx, b->parts[i]);
  b->parts[i] = nullptr;
  b->windows[i] = Window{};
  if (was && kept.size() == old.hi - old.lo && d.iface->buffer_alloc(d.ctx, b->va + old.lo, kept.size(), &b->parts[i]) == MODNN_OK) {
    d.iface->buffer_write(d.ctx, b->parts[i], 0, kept.data(), kept.size());
    b->windows[i] = old;
    g->held[i] += kept.size();
  } else if (was) {
    log().error("device {} of the virtual device lost its part of a buffer: {}", i, modnn_status_string(st));
  }
  return st;
}

// Each member keeps only its share of replicated `b`, after making sure it
// holds the current bytes of it; the rest of its copy is freed.
modnn_status shard(Group* g, GroupBuffer* b) {
  size_t n = g->devs.size();
  for (size_t i = 0; i < n; ++i) {
    Window w = share(b->size, i, n);
    if (w.lo < w.hi)
      if (modnn_status st = pullTo(g, int(i), {{b->va + w.lo, w.hi - w.lo}}); st != MODNN_OK) return st;
  }
  for (size_t i = 0; i < n; ++i)
    if (modnn_status st = repart(g, b, i, share(b->size, i, n)); st != MODNN_OK) return st;
  markSharded(g, b);
  markHeld(g, b, 0, b->size);
  log().debug("buffer of {} bytes sharded across {} devices to make room", b->size, n);
  return MODNN_OK;
}

ValidityMap::Mask holders(const Group* g, const GroupBuffer* b, uint64_t lo, uint64_t hi) {
  ValidityMap::Mask m = 0;
  for (size_t i = 0; i < g->devs.size(); ++i)
    if (holds(b, int(i), lo, hi)) m |= ValidityMap::Mask(1) << i;
  return m;
}

}  // namespace

modnn_status allocateParts(Group* g, GroupBuffer* b) {
  size_t n = g->devs.size();
  b->parts.assign(n, nullptr);
  b->windows.assign(n, Window{0, b->size});
  b->sharded = false;
  bool room = true;
  for (size_t i = 0; i < n; ++i) room = room && g->held[i] + b->size <= g->capacity[i];
  if (room) {
    size_t i = 0;
    modnn_status st = MODNN_OK;
    for (; i < n && st == MODNN_OK; ++i) st = g->devs[i].iface->buffer_alloc(g->devs[i].ctx, b->va, b->size, &b->parts[i]);
    if (st == MODNN_OK) {
      for (size_t j = 0; j < n; ++j) g->held[j] += b->size;
      return MODNN_OK;
    }
    for (size_t j = 0; j + 1 < i; ++j) g->devs[j].iface->buffer_free(g->devs[j].ctx, b->parts[j]);
    b->parts.assign(n, nullptr);
    if (st != MODNN_ERR_OUT_OF_MEMORY || n < 2 || !g->shard_memory) return st;
  }
  if (n < 2 || !g->shard_memory) return MODNN_ERR_OUT_OF_MEMORY;
  // Room for its shares, made by sharding copies that exist, largest first.
  auto fits = [&] {
    for (size_t i = 0; i < n; ++i) {
      Window w = share(b->size, i, n);
      if (g->held[i] + (w.hi - w.lo) > g->capacity[i]) return false;
    }
    return true;
  };
  while (!fits()) {
    GroupBuffer* largest = nullptr;
    {
      std::lock_guard<std::mutex> lock(g->mu);
      for (auto& [va, other] : g->buffers)
        if (!other->sharded && (!largest || other->size > largest->size)) largest = other;
    }
    if (!largest) return MODNN_ERR_OUT_OF_MEMORY;
    if (modnn_status st = shard(g, largest); st != MODNN_OK) return st;
  }
  markSharded(g, b);
  for (size_t i = 0; i < n; ++i) {
    auto [lo, hi] = share(b->size, i, n);
    b->windows[i] = Window{lo, hi};
    if (lo == hi) continue;
    modnn_status st = g->held[i] + (hi - lo) > g->capacity[i]
                          ? MODNN_ERR_OUT_OF_MEMORY
                          : g->devs[i].iface->buffer_alloc(g->devs[i].ctx, b->va + lo, hi - lo, &b->parts[i]);
    if (st != MODNN_OK) {
      freeParts(g, b);
      return st;
    }
    g->held[i] += hi - lo;
  }
  markHeld(g, b, 0, b->size);
  log().debug("buffer of {} bytes sharded across {} devices: no device has room for a copy", b->size, n);
  return MODNN_OK;
}

void freeParts(Group* g, GroupBuffer* b) {
  for (size_t i = 0; i < b->parts.size() && i < g->devs.size(); ++i) {
    if (!b->parts[i]) continue;
    g->devs[i].iface->buffer_free(g->devs[i].ctx, b->parts[i]);
    g->held[i] -= b->windows[i].hi - b->windows[i].lo;
    b->parts[i] = nullptr;
  }
  if (b->sharded) --g->sharded_buffers;
  b->sharded = false;
}

modnn_status hold(Group* g, GroupBuffer* b, int i, uint64_t lo, uint64_t hi) {
  if (holds(b, i, lo, hi) || lo >= hi) return MODNN_OK;
  Window old = b->windows[size_t(i)];
  modnn_buffer* was = b->parts[size_t(i)];
  Window w{lo / kWindowAlignment * kWindowAlignment, std::min(b->size, (hi + kWindowAlignment - 1) / kWindowAlignment * kWindowAlignment)};
  if (was) w = Window{std::min(w.lo, old.lo), std::max(w.hi, old.hi)};
  uint64_t more = (w.hi - w.lo) - (was ? old.hi - old.lo : 0);
  if (g->held[size_t(i)] + more > g->capacity[size_t(i)]) {
    log().error("device {} of the virtual device has no room for {} more bytes of a sharded buffer", i, more);
    return MODNN_ERR_OUT_OF_MEMORY;
  }
  if (modnn_status st = repart(g, b, size_t(i), w); st != MODNN_OK) return MODNN_ERR_OUT_OF_MEMORY;
  // The bytes it gained are not current there: by construction no member
  // is marked current on bytes it does not hold.
  return MODNN_OK;
}

void markHeld(Group* g, GroupBuffer* b, uint64_t lo, uint64_t hi) {
  if (!b->sharded) {
    b->current.setAll(lo, hi);
    if (b->current.empty()) g->stale.erase(b);
    return;
  }
  // Where the members' windows begin and end, the set of holders changes.
  std::vector<uint64_t> cuts{lo, hi};
  for (const Window& w : b->windows)
    for (uint64_t c : {w.lo, w.hi})
      if (c > lo && c < hi) cuts.push_back(c);
  std::sort(cuts.begin(), cuts.end());
  ValidityMap::Mask all = everyone(g);
  for (size_t k = 0; k + 1 < cuts.size(); ++k)
    if (cuts[k] < cuts[k + 1]) b->current.setOnly(cuts[k], cuts[k + 1], holders(g, b, cuts[k], cuts[k + 1]), all);
  if (b->current.empty())
    g->stale.erase(b);
  else
    g->stale.insert(b);
}

bool fitsOn(Group* g, int i, const Ranges& ranges) {
  if (!anySharded(g)) return true;  // copies hold everything
  uint64_t more = 0;
  for (auto [va, size] : ranges)
    eachBuffer(g, va, size, [&](GroupBuffer* b, uint64_t lo, uint64_t hi) {
      if (!b->sharded || holds(b, i, lo, hi)) return;
      const Window& w = b->windows[size_t(i)];
      more += b->parts[size_t(i)] ? (std::max(hi, w.hi) - std::min(lo, w.lo)) - (w.hi - w.lo) : hi - lo;
    });
  return g->held[size_t(i)] + more <= g->capacity[size_t(i)];
}


}  // namespace moai::group_impl
