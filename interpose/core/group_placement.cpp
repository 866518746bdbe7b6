// Which member of a device group holds the current bytes of what, and the
// copies that bring them where an op runs (group_state.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "interpose/core/group_state.h"

namespace moai::group_impl {

GroupBuffer* findBuffer(Group* g, uint64_t va, uint64_t size, uint64_t* off) {
  std::lock_guard<std::mutex> lock(g->mu);
  auto it = g->buffers.upper_bound(va);
  if (it == g->buffers.begin()) return nullptr;
  --it;
  GroupBuffer* b = it->second;
  if (va - b->va > b->size || size > b->size - (va - b->va)) return nullptr;
  *off = va - b->va;
  return b;
}

// Bytes from one device's buffer to another's: memcpy between host-memory
// devices, a worker->worker copy between remote ones, else through here.
modnn_status copyBuffer(const modnn_device& src, modnn_buffer* s, uint64_t soff, const modnn_device& dst,
                        modnn_buffer* d, uint64_t doff, uint64_t size, bool queued) {
  void* sp = src.iface->buffer_host_pointer ? src.iface->buffer_host_pointer(src.ctx, s) : nullptr;
  void* dp = dst.iface->buffer_host_pointer ? dst.iface->buffer_host_pointer(dst.ctx, d) : nullptr;
  if (sp && dp) {
    std::memcpy(static_cast<uint8_t*>(dp) + doff, static_cast<const uint8_t*>(sp) + soff, size);
    return MODNN_OK;
  }
  if (queued && MODNN_HAS_ENTRY(src.iface, buffer_send_to_peer)) {
    modnn_status st = src.iface->buffer_send_to_peer(src.ctx, s, soff, &dst, d, doff, size);
    if (st != MODNN_ERR_NOT_SUPPORTED) return st;
  }
  if (MODNN_HAS_ENTRY(src.iface, buffer_copy_to_peer)) {
    modnn_status st = src.iface->buffer_copy_to_peer(src.ctx, s, soff, &dst, d, doff, size);
    if (st != MODNN_ERR_NOT_SUPPORTED) return st;
  }
  std::vector<uint8_t> staging(size);
  modnn_status st = src.iface->buffer_read(src.ctx, s, soff, staging.data(), size);
  return st != MODNN_OK ? st : dst.iface->buffer_write(dst.ctx, d, doff, staging.data(), size);
}

modnn_status copyAcross(Group* g, int from, int to, uint64_t va, uint64_t size, bool queued) {
  uint64_t off = 0;
  GroupBuffer* b = findBuffer(g, va, size, &off);
  if (!b) return MODNN_ERR_ILLEGAL_ADDRESS;
  if (!holds(b, from, off, off + size) || !holds(b, to, off, off + size)) return MODNN_ERR_ILLEGAL_ADDRESS;
  return copyBuffer(g->devs[size_t(from)], b->parts[size_t(from)], partOffset(b, from, off), g->devs[size_t(to)],
                    b->parts[size_t(to)], partOffset(b, to, off), size, queued);
}

ValidityMap::Mask everyone(const Group* g) {
  size_t n = g->devs.size();
  return n >= 64 ? ~ValidityMap::Mask(0) : (ValidityMap::Mask(1) << n) - 1;
}

namespace {

struct Pull {
  GroupBuffer* buffer;
  uint64_t lo, hi;
  int from, to;
};

// What member `to` lacks of `ranges`, taken from the lowest member that has
// it, after giving `to` room for them (`grow`; else it gets only what it
// has room for already).
modnn_status plan(Group* g, int to, const Ranges& ranges, std::vector<Pull>* out, bool grow = true) {
  modnn_status st = MODNN_OK;
  for (auto [va, size] : ranges)
    eachBuffer(g, va, size, [&](GroupBuffer* b, uint64_t lo, uint64_t hi) {
      if (st != MODNN_OK) return;
      if (grow) st = hold(g, b, to, lo, hi);
      if (st != MODNN_OK || !holds(b, to, lo, hi)) return;
      for (const ValidityMap::Piece& p : b->current.stale(lo, hi))
        if (!(p.current >> to & 1)) out->push_back({b, p.lo, p.hi, __builtin_ctzll(p.current), to});
    });
  return st;
}

// Is [lo, hi) of `b` current on member `m`?
bool currentOn(const GroupBuffer* b, uint64_t lo, uint64_t hi, int m) {
  for (const ValidityMap::Piece& p : b->current.stale(lo, hi))
    if (!(p.current >> m & 1)) return false;
  return true;
}

// Runs the pulls, then records where the bytes now are. Pulls from one
// member into one buffer merge (overlapping ranges plan a piece twice), and
// so do pulls a short gap apart when the gap is current on the source too: a
// grid-stride kernel's shares are many small pieces, and a copy costs its
// latency. The gap is then current on the receiver as well.
modnn_status run(Group* g, std::vector<Pull> pulls) {
  if (pulls.empty()) return MODNN_OK;
  std::sort(pulls.begin(), pulls.end(), [](const Pull& a, const Pull& b) {
    return std::tie(a.to, a.buffer, a.from, a.lo) < std::tie(b.to, b.buffer, b.from, b.lo);
  });
  // A gap is worth copying when moving it takes less than another copy's latency.
  const uint64_t max_gap = uint64_t(g->costs.link_latency * g->costs.link_bandwidth);
  std::vector<Pull> merged;
  for (const Pull& p : pulls) {
    Pull* last = merged.empty() ? nullptr : &merged.back();
    bool same = last && last->to == p.to && last->buffer == p.buffer && last->from == p.from;
    bool gap_ok = same && p.lo - last->hi <= max_gap && currentOn(p.buffer, last->hi, p.lo, p.from) &&
                  holds(p.buffer, p.to, last->hi, p.lo);
    if (same && (p.lo <= last->hi || gap_ok))
      last->hi = std::max(last->hi, p.hi);
    else
      merged.push_back(p);
  }
  // Queued where the devices can: a pull is ordered before the op that
  // needs it on the receiver's stream, and nobody waits here.
  auto copy = [&](const Pull& p) {
    g->bytes_moved += p.hi - p.lo;
    return copyBuffer(g->devs[size_t(p.from)], p.buffer->parts[size_t(p.from)], partOffset(p.buffer, p.from, p.lo),
                      g->devs[size_t(p.to)], p.buffer->parts[size_t(p.to)], partOffset(p.buffer, p.to, p.lo),
                      p.hi - p.lo, true);
  };
  bool host_memory = true;
  for (auto& d : g->devs) host_memory = host_memory && d.iface->buffer_host_pointer;
  modnn_status st = MODNN_OK;
  if (host_memory) {
    // Each member copies what it lacks from the others' memory, all at once.
    st = onAll(g, [&](int i, const modnn_device&) {
      for (const Pull& p : merged)
        if (p.to == i)
          if (modnn_status s = copy(p); s != MODNN_OK) return s;
      return MODNN_OK;
    });
  } else {
    // Between workers from here, one after another: one-way sends only queue
    // (buffer_send_to_peer); a synchronous copy waits for the peer, and two
    // workers sending to each other at once would wait for each other.
    for (const Pull& p : merged)
      if (st == MODNN_OK) st = copy(p);
  }
  if (st != MODNN_OK) return st;
  ValidityMap::Mask all = everyone(g);
  for (const Pull& p : merged) {
    p.buffer->current.add(p.lo, p.hi, ValidityMap::Mask(1) << p.to, all);
    if (p.buffer->current.empty()) g->stale.erase(p.buffer);
  }
  return MODNN_OK;
}

}  // namespace

modnn_status pullTo(Group* g, int to, const Ranges& ranges) {
  if (g->stale.empty()) return MODNN_OK;
  std::vector<Pull> pulls;
  if (modnn_status st = plan(g, to, ranges, &pulls); st != MODNN_OK) return st;
  return run(g, std::move(pulls));
}

modnn_status pullEverywhere(Group* g, const Ranges& ranges, bool grow) {
  if (g->stale.empty()) return MODNN_OK;
  std::vector<Pull> pulls;
  for (int i = 0; i < int(g->devs.size()); ++i)
    if (modnn_status st = plan(g, i, ranges, &pulls, grow); st != MODNN_OK) return st;
  return run(g, std::move(pulls));
}

modnn_status pullAll(Group* g) {
  if (g->stale.empty()) return MODNN_OK;
  Ranges everything;
  for (GroupBuffer* b : g->stale) everything.emplace_back(b->va, b->size);
  return pullEverywhere(g, everything);
}

// Shares written in more pieces than this are gathered at once (runShares).
constexpr size_t kMaxPiecesKept = 4;

namespace {

// The op's commands on every member, then sent: remote devices batch
// one-way commands until a stream runs out of work, so an op the client has
// split or replicated would otherwise wait there while the client prepares
// the next one (two workers ran a step 25% slower).
modnn_status runOnMembers(Group* g, const std::function<modnn_status(int, const modnn_device&)>& fn) {
  modnn_status st = onAll(g, fn);
  if (st == MODNN_OK)
    for (auto& d : g->devs)
      if (d.iface->flush) d.iface->flush(d.ctx);
  return st;
}

}  // namespace

modnn_status runEverywhere(Group* g, const std::optional<Ranges>& touched,
                           const std::function<modnn_status(int, const modnn_device&)>& fn) {
  // With sharded memory, every member holding all an op touches could run
  // out of room: the op runs on member 0 alone, what it touched (unknown:
  // everything) current there.
  bool sharded = anySharded(g);
  if (sharded && touched) {
    sharded = false;
    for (auto [va, size] : *touched)
      eachBuffer(g, va, size, [&](GroupBuffer* b, uint64_t, uint64_t) { sharded = sharded || b->sharded; });
  }
  if (sharded) {
    std::vector<Share> alone(1);
    if (touched) {
      alone[0].touches = *touched;
    } else {
      std::lock_guard<std::mutex> lock(g->mu);
      for (auto& [va, b] : g->buffers) alone[0].touches.emplace_back(va, b->size);
    }
    alone[0].writes = alone[0].touches;
    return runShares(g, alone, fn);
  }
  modnn_status st = touched ? pullEverywhere(g, *touched) : pullAll(g);
  return st != MODNN_OK ? st : runOnMembers(g, fn);
}

modnn_status runShares(Group* g, const std::vector<Share>& shares,
                       const std::function<modnn_status(int, const modnn_device&)>& fn,
                       const std::function<modnn_status()>& combine) {
  std::vector<Pull> pulls;
  for (size_t i = 0; i < shares.size(); ++i) {
    for (const Ranges* r : {&shares[i].writes, &shares[i].holds})
      for (auto [va, size] : *r) {
        modnn_status st = MODNN_OK;
        eachBuffer(g, va, size, [&](GroupBuffer* b, uint64_t lo, uint64_t hi) {
          if (st == MODNN_OK) st = hold(g, b, int(i), lo, hi);
        });
        if (st != MODNN_OK) return st;
      }
    if (!g->stale.empty())
      if (modnn_status st = plan(g, int(i), shares[i].touches, &pulls); st != MODNN_OK) return st;
  }
  if (modnn_status st = run(g, std::move(pulls)); st != MODNN_OK) return st;
  modnn_status st = runOnMembers(g, [&](int i, const modnn_device& d) {
    return size_t(i) < shares.size() ? fn(i, d) : MODNN_OK;
  });
  if (st == MODNN_OK && combine) st = combine();
  if (st != MODNN_OK) return st;
  ValidityMap::Mask all = everyone(g);
  Ranges written;
  bool fragmented = false;
  for (size_t i = 0; i < shares.size(); ++i) {
    fragmented = fragmented || shares[i].writes.size() > kMaxPiecesKept;
    for (auto [va, size] : shares[i].writes) {
      eachBuffer(g, va, size, [&](GroupBuffer* b, uint64_t lo, uint64_t hi) {
        b->current.setOnly(lo, hi, ValidityMap::Mask(1) << i, all);
        if (!b->current.empty()) g->stale.insert(b);
      });
      written.emplace_back(va, size);
    }
  }
  // A share in many pieces (a grid-stride kernel's passes) lines up with no
  // other split, so every consumer would pull it piece by piece, paying a
  // copy's latency each: it is all-gathered once, now. $MOAI_GATHER=eager
  // does that for every split op (the group's behaviour before it kept
  // placement; for comparison).
  static const bool eager = [] {
    const char* e = std::getenv("MOAI_GATHER");
    return e && std::strcmp(e, "eager") == 0;
  }();
  // Only to members with room for them already: gathering must not unshard memory.
  return eager || fragmented ? pullEverywhere(g, written, false) : MODNN_OK;
}

}  // namespace moai::group_impl
