#include "interpose/core/device_group.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "interpose/core/group_state.h"
#include "interpose/core/log.h"

namespace moai {
namespace {

using namespace group_impl;

// Each member's memory, and what the group's buffers (all replicated here) take of it.
void measureMemory(Group* g) {
  g->capacity.assign(g->devs.size(), 0);
  g->held.assign(g->devs.size(), 0);
  for (size_t i = 0; i < g->devs.size(); ++i) {
    modnn_device_props p{};
    p.struct_size = sizeof p;
    g->devs[i].iface->get_props(g->devs[i].ctx, &p);
    g->capacity[i] = p.total_memory;
    for (auto& [va, b] : g->buffers) g->held[i] += b->size;
  }
}

void getProps(void* ctx, modnn_device_props* out) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  Group* g = group(ctx);
  size_t sz = out->struct_size;
  *out = g->props;
  out->struct_size = sz;
  int n = int(g->devs.size());
  std::snprintf(out->name, sizeof out->name, "%dx %.200s", n, g->props.name);
  // Compute adds up, and so does memory where buffers are sharded once
  // members run out of room for copies (group_memory.cpp).
  out->multiprocessor_count = g->props.multiprocessor_count * n;
  out->peak_flops_fp32 = g->props.peak_flops_fp32 * n;
  out->total_memory = 0;
  for (auto& d : g->devs) {
    modnn_device_props p{};
    p.struct_size = sizeof p;
    d.iface->get_props(d.ctx, &p);
    out->total_memory = !g->shard_memory && out->total_memory ? std::min(out->total_memory, p.total_memory)
                                                               : out->total_memory + p.total_memory;
  }
}

modnn_status bufferAlloc(void* ctx, uint64_t va, uint64_t size, modnn_buffer** out) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  Group* g = group(ctx);
  auto* b = new (std::nothrow) GroupBuffer{va, size, {}, {}, {}, false};
  if (!b) return MODNN_ERR_OUT_OF_MEMORY;
  std::lock_guard<std::mutex> exec(g->exec_mu);
  if (modnn_status st = allocateParts(g, b); st != MODNN_OK) {
    delete b;
    return st;
  }
  std::lock_guard<std::mutex> lock(g->mu);
  g->buffers[va] = b;
  *out = reinterpret_cast<modnn_buffer*>(b);
  return MODNN_OK;
}

void bufferFree(void* ctx, modnn_buffer* buf) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  Group* g = group(ctx);
  GroupBuffer* b = gbuf(buf);
  std::lock_guard<std::mutex> exec(g->exec_mu);
  g->stale.erase(b);
  {
    std::lock_guard<std::mutex> lock(g->mu);
    g->buffers.erase(b->va);
  }
  freeParts(g, b);
  delete b;
}

// Host writes and fills reach every member that holds the bytes (all of
// them, but for a sharded buffer): the bytes are current there.
modnn_status bufferWrite(void* ctx, modnn_buffer* dst, uint64_t off, const void* src, uint64_t n) {
  Group* g = group(ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  std::lock_guard<std::mutex> exec(g->exec_mu);
  GroupBuffer* b = gbuf(dst);
  modnn_status st = eachHolder(g, b, off, off + n, [&](int i, uint64_t lo, uint64_t hi) {
    const modnn_device& d = g->devs[size_t(i)];
    return d.iface->buffer_write(d.ctx, b->parts[size_t(i)], partOffset(b, i, lo),
                                 static_cast<const uint8_t*>(src) + (lo - off), hi - lo);
  });
  if (st == MODNN_OK) markHeld(g, b, off, off + n);
  return st;
}

modnn_status bufferFill(void* ctx, modnn_buffer* dst, uint64_t off, uint64_t count, uint32_t value, uint32_t elem) {
  Group* g = group(ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  std::lock_guard<std::mutex> exec(g->exec_mu);
  GroupBuffer* b = gbuf(dst);
  // A member's part of a sharded buffer starts on an element (windows are page-aligned).
  modnn_status st = eachHolder(g, b, off, off + count * elem, [&](int i, uint64_t lo, uint64_t hi) {
    const modnn_device& d = g->devs[size_t(i)];
    return d.iface->buffer_fill(d.ctx, b->parts[size_t(i)], partOffset(b, i, lo), (hi - lo) / elem, value, elem);
  });
  if (st == MODNN_OK) markHeld(g, b, off, off + count * elem);
  return st;
}

// Each piece from a member that holds its current bytes: nothing moves between members.
modnn_status bufferRead(void* ctx, modnn_buffer* src, uint64_t off, void* dst, uint64_t n) {
  Group* g = group(ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  std::lock_guard<std::mutex> exec(g->exec_mu);
  GroupBuffer* b = gbuf(src);
  auto read = [&](int i, uint64_t lo, uint64_t hi) {
    const modnn_device& d = g->devs[size_t(i)];
    return d.iface->buffer_read(d.ctx, b->parts[size_t(i)], partOffset(b, i, lo), static_cast<uint8_t*>(dst) + (lo - off),
                                hi - lo);
  };
  uint64_t at = off;
  for (const ValidityMap::Piece& p : b->current.stale(off, off + n)) {
    if (at < p.lo)
      if (modnn_status st = read(0, at, p.lo); st != MODNN_OK) return st;  // current everywhere
    if (modnn_status st = read(__builtin_ctzll(p.current), p.lo, p.hi); st != MODNN_OK) return st;
    at = p.hi;
  }
  return at < off + n ? read(0, at, off + n) : MODNN_OK;
}

// Every member copies the bytes it holds current (of the source) where it
// also holds the destination: the copy is current where the source was.
// Bytes whose holders of the source hold none of the destination (sharded
// buffers) go from one of them to a member that does.
modnn_status bufferCopy(void* ctx, modnn_buffer* dst, uint64_t doff, modnn_buffer* src, uint64_t soff, uint64_t n) {
  Group* g = group(ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  std::lock_guard<std::mutex> exec(g->exec_mu);
  GroupBuffer *d = gbuf(dst), *s = gbuf(src);
  const ValidityMap::Mask all = everyone(g);
  const std::vector<ValidityMap::Piece> pieces = s->current.stale(soff, soff + n);  // before the copy: dst may be src
  // Cut where the source's placement or the destination's holders change.
  std::vector<uint64_t> cuts{soff, soff + n};
  for (const ValidityMap::Piece& p : pieces) cuts.insert(cuts.end(), {p.lo, p.hi});
  for (const Window& w : d->windows)
    for (uint64_t c : {w.lo, w.hi})
      if (c > doff && c < doff + n) cuts.push_back(c - doff + soff);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  struct Copied {
    uint64_t lo, hi;  // in dst
    ValidityMap::Mask on;
  };
  std::vector<Copied> copied;
  size_t next = 0;
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    uint64_t lo = cuts[k], hi = cuts[k + 1], dlo = doff + (lo - soff), dhi = doff + (hi - soff);
    while (next < pieces.size() && pieces[next].hi <= lo) ++next;
    ValidityMap::Mask current = next < pieces.size() && pieces[next].lo <= lo ? pieces[next].current : all;
    ValidityMap::Mask holding = 0;
    for (size_t i = 0; i < g->devs.size(); ++i)
      if (holds(d, int(i), dlo, dhi)) holding |= ValidityMap::Mask(1) << i;
    ValidityMap::Mask on = current & holding;
    modnn_status st = MODNN_OK;
    for (size_t i = 0; i < g->devs.size() && st == MODNN_OK; ++i) {
      if (!(on >> i & 1)) continue;
      const modnn_device& dev = g->devs[i];
      st = dev.iface->buffer_copy(dev.ctx, d->parts[i], partOffset(d, int(i), dlo), s->parts[i],
                                  partOffset(s, int(i), lo), hi - lo);
    }
    if (!on && st == MODNN_OK) {
      int from = __builtin_ctzll(current), to = holding ? __builtin_ctzll(holding) : from;
      if (!holding) st = hold(g, d, to, dlo, dhi);
      g->bytes_moved += hi - lo;
      if (st == MODNN_OK)
        st = copyBuffer(g->devs[size_t(from)], s->parts[size_t(from)], partOffset(s, from, lo), g->devs[size_t(to)],
                        d->parts[size_t(to)], partOffset(d, to, dlo), hi - lo, true);
      on = ValidityMap::Mask(1) << to;
    }
    if (st != MODNN_OK) return st;
    copied.push_back({dlo, dhi, on});
  }
  for (const Copied& c : copied)
    if (c.on == all)
      d->current.setAll(c.lo, c.hi);
    else
      d->current.setOnly(c.lo, c.hi, c.on, all);
  if (d->current.empty())
    g->stale.erase(d);
  else
    g->stale.insert(d);
  return MODNN_OK;
}

modnn_status synchronize(void* ctx) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  return eachInTurn(group(ctx), [](int, const modnn_device& d) { return d.iface->synchronize(d.ctx); });
}

uint64_t timestampNs(void* ctx) {
  synchronize(ctx);
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  const modnn_device& d = group(ctx)->devs[0];
  return d.iface->timestamp_ns(d.ctx);
}

void followLease(Group* g);

// Placement keeps one bit per member (validity_map.h).
constexpr size_t kMaxMembers = 64;

// A larger set is cut (the extra devices are released), with a log line.
void keepAtMost(std::vector<modnn_device>* devs, size_t most) {
  if (devs->size() <= most) return;
  log().error("a virtual device uses at most {} devices; {} of {} are left unused", most, devs->size() - most,
              devs->size());
  for (size_t i = most; i < devs->size(); ++i) (*devs)[i].iface->destroy((*devs)[i].ctx);
  devs->resize(most);
}

bool devicesTimeEvents(const Group* g) {
  for (auto& d : g->devs)
    if (!MODNN_HAS_ENTRY(d.iface, event_record) || !MODNN_HAS_ENTRY(d.iface, event_query)) return false;
  return true;
}

// An event is complete when every device has reached it; its time is the
// last of them. (A group of devices that cannot time events has no such
// entries: makeDeviceGroup.)
void eventRecord(void* ctx, uint64_t event) {
  Group* g = group(ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  for (auto& d : g->devs) d.iface->event_record(d.ctx, event);
}

modnn_status eventQuery(void* ctx, uint64_t event, bool wait, uint64_t* out_ns) {
  Group* g = group(ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  uint64_t last = 0;
  for (auto& d : g->devs) {
    uint64_t t = 0;
    if (modnn_status st = d.iface->event_query(d.ctx, event, wait, &t); st != MODNN_OK) return st;
    last = std::max(last, t);
  }
  *out_ns = last;
  return MODNN_OK;
}

void flush(void* ctx) {
  Group* g = group(ctx);
  {
    std::shared_lock<std::shared_mutex> members(g->members);
    for (auto& d : g->devs)
      if (d.iface->flush) d.iface->flush(d.ctx);
  }
  followLease(g);
}

void keepImage(GroupModule* m, const modnn_module_image& image) {
  auto* bytes = static_cast<const uint8_t*>(image.data);
  m->fatbin.assign(bytes, bytes + image.size);
  if (image.ptx) m->ptx.assign(image.ptx, image.ptx_size);
  for (size_t i = 0; i < image.symbol_count; ++i) m->names.emplace_back(image.symbols[i].name);
  for (size_t i = 0; i < image.symbol_count; ++i)
    m->symbols.push_back({m->names[i].c_str(), image.symbols[i].va, image.symbols[i].size});
  m->image = image;
  m->image.data = m->fatbin.data();
  m->image.ptx = image.ptx ? m->ptx.c_str() : nullptr;
  m->image.symbols = m->symbols.data();
}

modnn_status moduleLoad(void* ctx, const modnn_module_image* image, modnn_module** out) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  Group* g = group(ctx);
  if (!g->devs[0].iface->module_load) return MODNN_ERR_NOT_SUPPORTED;
  auto* m = new GroupModule{std::vector<modnn_module*>(g->devs.size(), nullptr)};
  keepImage(m, *image);
  for (size_t i = 0; i < g->devs.size(); ++i) {
    modnn_status st = g->devs[i].iface->module_load(g->devs[i].ctx, &m->image, &m->parts[i]);
    if (st != MODNN_OK) {
      for (size_t j = 0; j < i; ++j)
        if (g->devs[j].iface->module_unload) g->devs[j].iface->module_unload(g->devs[j].ctx, m->parts[j]);
      delete m;
      return st;
    }
  }
  g->modules.insert(m);
  *out = reinterpret_cast<modnn_module*>(m);
  return MODNN_OK;
}

void moduleUnload(void* ctx, modnn_module* module) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  Group* g = group(ctx);
  auto* m = reinterpret_cast<GroupModule*>(module);
  for (size_t i = 0; i < g->devs.size(); ++i)
    if (g->devs[i].iface->module_unload) g->devs[i].iface->module_unload(g->devs[i].ctx, m->parts[i]);
  g->modules.erase(m);
  delete m;
}

bool supportsKernel(void* ctx, modnn_module* module, const char* name) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  Group* g = group(ctx);
  auto* m = reinterpret_cast<GroupModule*>(module);
  for (size_t i = 0; i < g->devs.size(); ++i)
    if (!g->devs[i].iface->supports_kernel || !g->devs[i].iface->supports_kernel(g->devs[i].ctx, m->parts[i], name))
      return false;
  return true;
}

bool supportsOp(void* ctx, const modnn_op* op) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  for (auto& d : group(ctx)->devs)
    if (!d.iface->supports_op || !d.iface->supports_op(d.ctx, op)) return false;
  return true;
}

modnn_status launchKernel(void* ctx, const modnn_kernel_launch* l) {
  return launchWays(group(ctx), *l, 0, nullptr, nullptr);
}

modnn_status runOp(void* ctx, const modnn_op* op) { return runOpWays(group(ctx), op, GroupSplit{}, nullptr); }

modnn_status reserveAddressRange(void* ctx, uint64_t size, uint64_t hint, uint64_t* out_base, bool* out_host_held) {
  Group* g = group(ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  *out_base = 0;
  *out_host_held = false;
  for (auto& d : g->devs) {
    if (!MODNN_HAS_ENTRY(d.iface, reserve_address_range)) continue;
    uint64_t base = 0;
    bool held = false;
    modnn_status st =
        d.iface->reserve_address_range(d.ctx, size + kScratchSpan, *out_base ? *out_base : hint, &base, &held);
    if (st != MODNN_OK) return st;
    if (base && *out_base && base != *out_base) return MODNN_ERR_OUT_OF_MEMORY;
    if (base) *out_base = base;
    *out_host_held = *out_host_held || held;
  }
  g->range_base = *out_base;
  g->range_size = size + kScratchSpan;
  if (g->range_base) {
    std::lock_guard<std::mutex> exec(g->exec_mu);
    releaseScratch(g, true);
    g->scratch.va = g->range_base + size;
  }
  return MODNN_OK;
}

// ---- resize ----------------------------------------------------------------

// A device joining: the address range, every buffer with its bytes (from
// `source`, a member), every module. Returns the parts in `buffers` and
// `modules` order, or an error (the device is then left to the caller).
modnn_status join(Group* g, const modnn_device& d, size_t source, std::vector<modnn_buffer*>* parts,
                  std::vector<modnn_module*>* mods) {
  if (g->range_base && MODNN_HAS_ENTRY(d.iface, reserve_address_range)) {
    uint64_t base = 0;
    bool held = false;
    modnn_status st = d.iface->reserve_address_range(d.ctx, g->range_size, g->range_base, &base, &held);
    if (st != MODNN_OK) return st;
    if (base && base != g->range_base) return MODNN_ERR_OUT_OF_MEMORY;
  }
  const modnn_device& src = g->devs[source];
  for (auto& [va, b] : g->buffers) {
    modnn_buffer* mine = nullptr;
    modnn_status st = d.iface->buffer_alloc(d.ctx, b->va, b->size, &mine);
    if (st == MODNN_OK) parts->push_back(mine);
    if (st == MODNN_OK) st = copyBuffer(src, b->parts[source], 0, d, mine, 0, b->size);
    if (st != MODNN_OK) return st;
  }
  for (GroupModule* m : g->modules) {
    modnn_module* mine = nullptr;
    if (!d.iface->module_load) return MODNN_ERR_NOT_SUPPORTED;
    modnn_status st = d.iface->module_load(d.ctx, &m->image, &mine);
    if (st != MODNN_OK) return st;
    mods->push_back(mine);
  }
  return d.iface->synchronize(d.ctx);
}

void leave(Group* g, size_t i) {
  const modnn_device& d = g->devs[i];
  for (auto& [va, b] : g->buffers)
    if (b->parts[i]) d.iface->buffer_free(d.ctx, b->parts[i]);
  for (GroupModule* m : g->modules)
    if (d.iface->module_unload) d.iface->module_unload(d.ctx, m->parts[i]);
}

// A lease resized by the scheduler: new devices get a copy of everything
// (the state is replicated, so a shrink moves nothing), then the scheduler
// hears that the dropped devices are free.
void followLease(Group* g) {
  // Asked at every flush: a shared lock, so other streams' work goes on;
  // the exclusive one only for an actual change.
  std::vector<modnn_device> next;
  {
    std::shared_lock<std::shared_mutex> members(g->members);
    const modnn_device& first = g->devs[0];
    if (!MODNN_HAS_ENTRY(first.iface, lease_devices) || !MODNN_HAS_ENTRY(first.iface, lease_confirm)) return;
    modnn_device set[256];
    int n = first.iface->lease_devices(first.ctx, set, 256);
    if (n <= 0) return;
    // Devices held now stay; new ones join while there is room.
    size_t room = kMaxMembers;
    for (int i = 0; i < n; ++i)
      for (auto& d : g->devs) room -= d.ctx == set[i].ctx ? 1 : 0;
    for (int i = 0; i < n; ++i) {
      bool held = false;
      for (auto& d : g->devs) held = held || d.ctx == set[i].ctx;
      if (held || room > 0) {
        next.push_back(set[i]);
        room -= held ? 0 : 1;
      } else {
        log().error("a virtual device uses at most {} devices; a device the lease added is left unused", kMaxMembers);
        set[i].iface->destroy(set[i].ctx);
      }
    }
  }
  std::unique_lock<std::shared_mutex> members(g->members);
  std::vector<int> was(next.size(), -1);  // index in devs of each kept device
  size_t source = SIZE_MAX;
  for (size_t j = 0; j < next.size(); ++j)
    for (size_t i = 0; i < g->devs.size(); ++i)
      if (g->devs[i].ctx == next[j].ctx) {
        was[j] = int(i);
        if (source == SIZE_MAX) source = i;
      }
  std::lock_guard<std::mutex> exec(g->exec_mu);
  if (anySharded(g)) {
    // A joining member would need a copy of everything, and a leaving one
    // may hold the only copy of its share, on members without room for it.
    log().error("the virtual device's memory is sharded across its devices: it keeps its {} device(s)", g->devs.size());
    return;
  }
  // Sharded bytes first become current everywhere: a new member copies one
  // member's memory, and a leaving member may hold the only current copy.
  if (modnn_status st = pullAll(g); st != MODNN_OK) {
    log().error("a resize cannot gather the program's memory: {}", modnn_status_string(st));
    return;
  }
  for (auto& d : g->devs) d.iface->synchronize(d.ctx);
  releaseScratch(g);
  // 1. New devices join; one that cannot is left out (the program goes on).
  std::vector<modnn_device> members_next;
  std::vector<std::vector<modnn_buffer*>> buffer_parts(g->buffers.size());
  std::vector<std::vector<modnn_module*>> module_parts(g->modules.size());
  for (size_t j = 0; j < next.size(); ++j) {
    std::vector<modnn_buffer*> parts;
    std::vector<modnn_module*> mods;
    if (was[j] < 0) {
      modnn_status st = source == SIZE_MAX ? MODNN_ERR_DEVICE_UNAVAILABLE : join(g, next[j], source, &parts, &mods);
      if (st != MODNN_OK) {
        log().error("a device added by a resize cannot join: {}", modnn_status_string(st));
        next[j].iface->destroy(next[j].ctx);
        continue;
      }
    } else {
      for (auto& [va, b] : g->buffers) parts.push_back(b->parts[size_t(was[j])]);
      for (GroupModule* m : g->modules) mods.push_back(m->parts[size_t(was[j])]);
    }
    members_next.push_back(next[j]);
    for (size_t k = 0; k < parts.size(); ++k) buffer_parts[k].push_back(parts[k]);
    for (size_t k = 0; k < mods.size(); ++k) module_parts[k].push_back(mods[k]);
  }
  if (members_next.empty()) return;  // nothing usable: keep what we have, do not confirm
  // 2. Devices no longer in the lease leave.
  for (size_t i = 0; i < g->devs.size(); ++i) {
    bool kept = false;
    for (auto& d : members_next) kept = kept || d.ctx == g->devs[i].ctx;
    if (!kept) {
      leave(g, i);
      g->devs[i].iface->destroy(g->devs[i].ctx);
    }
  }
  size_t k = 0;
  for (auto& [va, b] : g->buffers) {
    b->parts = std::move(buffer_parts[k++]);
    b->windows.assign(b->parts.size(), Window{0, b->size});
  }
  k = 0;
  for (GroupModule* m : g->modules) m->parts = std::move(module_parts[k++]);
  g->devs = std::move(members_next);
  measureMemory(g);
  g->reduces[0] = g->reduces[1] = -1;  // new members: ask again
  g->crew = std::make_unique<Crew>(int(g->devs.size()));
  g->block_ranges = membersRunBlockRanges(g->devs);
  g->devs[0].iface->lease_confirm(g->devs[0].ctx);
  log().info("the virtual device now has {} device(s)", g->devs.size());
}

void destroy(void* ctx) {
  Group* g = group(ctx);
  releaseScratch(g, true);
  g->crew.reset();
  for (auto& d : g->devs) d.iface->destroy(d.ctx);
  delete g;
}

// Every device holds every allocation: each has the whole forecast.
void memoryForecast(void* ctx, uint64_t predicted_peak, uint64_t peak_allocated) {
  for (auto& d : group(ctx)->devs)
    if (MODNN_HAS_ENTRY(d.iface, memory_forecast)) d.iface->memory_forecast(d.ctx, predicted_peak, peak_allocated);
}

// Every device holds every allocation: the smallest quota binds.
uint64_t memoryQuota(void* ctx) {
  uint64_t least = 0;
  for (auto& d : group(ctx)->devs)
    if (MODNN_HAS_ENTRY(d.iface, memory_quota))
      if (uint64_t q = d.iface->memory_quota(d.ctx); q && (!least || q < least)) least = q;
  return least;
}

const modnn_device_i kGroup = {
    .struct_size = sizeof(modnn_device_i),
    .get_props = getProps,
    .buffer_alloc = bufferAlloc,
    .buffer_free = bufferFree,
    .buffer_write = bufferWrite,
    .buffer_read = bufferRead,
    .buffer_copy = bufferCopy,
    .buffer_fill = bufferFill,
    .buffer_host_pointer = nullptr,  // a direct write would reach one replica only
    .synchronize = synchronize,
    .timestamp_ns = timestampNs,
    .flush = flush,
    .module_load = moduleLoad,
    .module_unload = moduleUnload,
    .supports_kernel = supportsKernel,
    .launch_kernel = launchKernel,
    .supports_op = supportsOp,
    .run_op = runOp,
    .destroy = destroy,
    .reserve_address_range = reserveAddressRange,
    .buffer_copy_to_peer = nullptr,
    .event_record = eventRecord,
    .event_query = eventQuery,
    .lease_devices = nullptr,
    .lease_confirm = nullptr,
    .memory_forecast = memoryForecast,
    .memory_quota = memoryQuota,
};

// Members that cannot time events (CPU devices run each op before
// returning) leave it to the client, which stamps an event when its stream
// reaches it: a group answering for them could only stamp the query.
const modnn_device_i kGroupUntimed = [] {
  modnn_device_i t = kGroup;
  t.event_record = nullptr;
  t.event_query = nullptr;
  return t;
}();

bool isGroup(const modnn_device& d) { return d.iface == &kGroup || d.iface == &kGroupUntimed; }

}  // namespace

void setGroupCosts(const modnn_device& device, const GroupCosts& costs) {
  if (!isGroup(device)) return;
  std::unique_lock<std::shared_mutex> members(group(device.ctx)->members);
  group(device.ctx)->costs = costs;
}

modnn_status launchOnGroup(const modnn_device& device, const modnn_kernel_launch& launch, int ways,
                           const std::shared_ptr<const KernelFootprint>* analysed, int* out_ways) {
  if (!isGroup(device)) return MODNN_ERR_INVALID_VALUE;
  return launchWays(group(device.ctx), launch, ways, analysed, out_ways);
}

std::shared_ptr<const KernelFootprint> launchFootprint(const modnn_device& device, const modnn_kernel_launch& launch) {
  if (!isGroup(device)) return nullptr;
  std::shared_lock<std::shared_mutex> members(group(device.ctx)->members);
  return splittableFootprint(group(device.ctx), launch);
}

uint64_t groupBytesMoved(const modnn_device& device) {
  return isGroup(device) ? group(device.ctx)->bytes_moved.load() : 0;
}

uint64_t groupMemberMemory(const modnn_device& device) {
  if (!isGroup(device)) return 0;
  Group* g = group(device.ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  std::lock_guard<std::mutex> exec(g->exec_mu);
  return *std::min_element(g->capacity.begin(), g->capacity.end());
}

int groupSize(const modnn_device& device) {
  if (!isGroup(device)) return 0;
  std::shared_lock<std::shared_mutex> members(group(device.ctx)->members);
  return int(group(device.ctx)->devs.size());
}

modnn_status runOnGroup(const modnn_device& device, const modnn_op& op, GroupSplit split, GroupSplit* used) {
  if (!isGroup(device)) return MODNN_ERR_INVALID_VALUE;
  return runOpWays(group(device.ctx), &op, split, used);
}

bool groupSplitsK(const modnn_device& device) {
  if (!isGroup(device)) return false;
  std::shared_lock<std::shared_mutex> members(group(device.ctx)->members);
  return canReduce(group(device.ctx), MODNN_F32);
}

modnn_status copyBetweenMembers(const modnn_device& device, int from, int to, uint64_t va, uint64_t size) {
  if (!isGroup(device)) return MODNN_ERR_INVALID_VALUE;
  Group* g = group(device.ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  int n = int(g->devs.size());
  if (from < 0 || to < 0 || from >= n || to >= n) return MODNN_ERR_INVALID_VALUE;
  // The way an all-gather copies, complete at the receiver's synchronize.
  modnn_status st = copyAcross(g, from, to, va, size, true);
  return st != MODNN_OK ? st : g->devs[size_t(to)].iface->synchronize(g->devs[size_t(to)].ctx);
}

modnn_device makeDeviceGroup(std::vector<modnn_device> devices, bool shard_memory) {
  auto* g = new Group();
  g->shard_memory = shard_memory;
  keepAtMost(&devices, kMaxMembers);
  g->devs = std::move(devices);
  g->props.struct_size = sizeof g->props;
  g->devs[0].iface->get_props(g->devs[0].ctx, &g->props);
  measureMemory(g);
  g->crew = std::make_unique<Crew>(int(g->devs.size()));
  g->block_ranges = membersRunBlockRanges(g->devs);
  return modnn_device{devicesTimeEvents(g) ? &kGroup : &kGroupUntimed, g};
}

}  // namespace moai
