#include "interpose/core/device_group.h"

#include "interpose/core/log.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <new>
#include <thread>

namespace moai {
namespace {

// Runs fn(0..n-1) at once: fn(0) on the caller, the rest on one thread per
// device, kept for the group's life (ops are too frequent to start threads).
class Crew {
 public:
  explicit Crew(int n) {
    for (int i = 1; i < n; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~Crew() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void run(const std::function<void(int)>& fn) {
    std::unique_lock<std::mutex> lock(run_mu_);  // one batch at a time (several client streams call in)
    {
      std::lock_guard<std::mutex> l(mu_);
      fn_ = &fn;
      pending_ = int(threads_.size());
      ++generation_;
    }
    cv_.notify_all();
    fn(0);
    std::unique_lock<std::mutex> l(mu_);
    done_cv_.wait(l, [this] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  void loop(int i) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* fn;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        fn = fn_;
      }
      (*fn)(i);
      std::lock_guard<std::mutex> l(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex run_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int)>* fn_ = nullptr;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

struct GroupBuffer {
  uint64_t va, size;
  std::vector<modnn_buffer*> parts;  // one per device
};

// The module's image is kept (copied), for devices that join later.
struct GroupModule {
  std::vector<modnn_module*> parts;
  std::vector<uint8_t> fatbin;
  std::string ptx;
  std::vector<std::string> names;
  std::vector<modnn_module_symbol> symbols;
  modnn_module_image image{};
};

struct Group {
  // Every entry point holds `members` shared; a resize holds it alone.
  std::shared_mutex members;
  std::vector<modnn_device> devs;
  uint64_t range_base = 0, range_size = 0;  // the reserved address range, for devices that join
  std::set<GroupModule*> modules;
  modnn_device_props props{};  // of the first device: the one each share runs on
  std::unique_ptr<Crew> crew;
  std::mutex mu;
  std::map<uint64_t, GroupBuffer*> buffers;  // by va, to find a GEMM's output buffers
};

Group* group(void* ctx) { return static_cast<Group*>(ctx); }
GroupBuffer* gbuf(modnn_buffer* b) { return reinterpret_cast<GroupBuffer*>(b); }
size_t count(void* ctx) { return group(ctx)->devs.size(); }

modnn_status firstError(const std::vector<modnn_status>& st) {
  for (modnn_status s : st)
    if (s != MODNN_OK) return s;
  return MODNN_OK;
}

// Runs fn on every device at once; the first error wins.
template <typename Fn>
modnn_status onAll(Group* g, Fn&& fn) {
  std::vector<modnn_status> st(g->devs.size(), MODNN_OK);
  g->crew->run([&](int i) { st[size_t(i)] = fn(i, g->devs[size_t(i)]); });
  return firstError(st);
}

// One after another: cheap calls (writes, fills) are not worth the hand-off.
template <typename Fn>
modnn_status eachInTurn(Group* g, Fn&& fn) {
  modnn_status first = MODNN_OK;
  for (size_t i = 0; i < g->devs.size(); ++i) {
    modnn_status s = fn(int(i), g->devs[i]);
    if (first == MODNN_OK) first = s;
  }
  return first;
}

void getProps(void* ctx, modnn_device_props* out) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  Group* g = group(ctx);
  size_t sz = out->struct_size;
  *out = g->props;
  out->struct_size = sz;
  int n = int(g->devs.size());
  std::snprintf(out->name, sizeof out->name, "%dx %.200s", n, g->props.name);
  // Compute adds up; memory does not while every allocation is replicated.
  out->multiprocessor_count = g->props.multiprocessor_count * n;
  out->peak_flops_fp32 = g->props.peak_flops_fp32 * n;
  for (auto& d : g->devs) {
    modnn_device_props p{};
    p.struct_size = sizeof p;
    d.iface->get_props(d.ctx, &p);
    out->total_memory = std::min(out->total_memory, p.total_memory);
  }
}

modnn_status bufferAlloc(void* ctx, uint64_t va, uint64_t size, modnn_buffer** out) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  Group* g = group(ctx);
  auto* b = new (std::nothrow) GroupBuffer{va, size, std::vector<modnn_buffer*>(g->devs.size(), nullptr)};
  if (!b) return MODNN_ERR_OUT_OF_MEMORY;
  for (size_t i = 0; i < g->devs.size(); ++i) {
    modnn_status st = g->devs[i].iface->buffer_alloc(g->devs[i].ctx, va, size, &b->parts[i]);
    if (st != MODNN_OK) {
      for (size_t j = 0; j < i; ++j) g->devs[j].iface->buffer_free(g->devs[j].ctx, b->parts[j]);
      delete b;
      return st;
    }
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
  {
    std::lock_guard<std::mutex> lock(g->mu);
    g->buffers.erase(b->va);
  }
  for (size_t i = 0; i < g->devs.size(); ++i) g->devs[i].iface->buffer_free(g->devs[i].ctx, b->parts[i]);
  delete b;
}

modnn_status bufferWrite(void* ctx, modnn_buffer* dst, uint64_t off, const void* src, uint64_t n) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  return eachInTurn(group(ctx), [&](int i, const modnn_device& d) {
    return d.iface->buffer_write(d.ctx, gbuf(dst)->parts[size_t(i)], off, src, n);
  });
}

modnn_status bufferRead(void* ctx, modnn_buffer* src, uint64_t off, void* dst, uint64_t n) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  const modnn_device& d = group(ctx)->devs[0];
  return d.iface->buffer_read(d.ctx, gbuf(src)->parts[0], off, dst, n);
}

modnn_status bufferCopy(void* ctx, modnn_buffer* dst, uint64_t doff, modnn_buffer* src, uint64_t soff, uint64_t n) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  return eachInTurn(group(ctx), [&](int i, const modnn_device& d) {
    return d.iface->buffer_copy(d.ctx, gbuf(dst)->parts[size_t(i)], doff, gbuf(src)->parts[size_t(i)], soff, n);
  });
}

modnn_status bufferFill(void* ctx, modnn_buffer* dst, uint64_t off, uint64_t count, uint32_t value, uint32_t elem) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  return eachInTurn(group(ctx), [&](int i, const modnn_device& d) {
    return d.iface->buffer_fill(d.ctx, gbuf(dst)->parts[size_t(i)], off, count, value, elem);
  });
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

// A kernel runs whole on every device: whatever it writes stays identical
// everywhere, without knowing what that is.
modnn_status launchKernel(void* ctx, const modnn_kernel_launch* l) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  auto* m = reinterpret_cast<GroupModule*>(l->module);
  return onAll(group(ctx), [&](int i, const modnn_device& d) {
    modnn_kernel_launch mine = *l;
    mine.module = m->parts[size_t(i)];
    return d.iface->launch_kernel(d.ctx, &mine);
  });
}

bool supportsOp(void* ctx, const modnn_op* op) {
  std::shared_lock<std::shared_mutex> members(group(ctx)->members);
  for (auto& d : group(ctx)->devs)
    if (!d.iface->supports_op || !d.iface->supports_op(d.ctx, op)) return false;
  return true;
}

// ---- GEMMs split by output columns ----------------------------------------

// Where [va, va + size) lives, on every device.
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
// `queued`: the copy may finish later, in order on both devices' streams
// (buffer_send_to_peer), where the devices can do that.
modnn_status copyBuffer(const modnn_device& src, modnn_buffer* s, const modnn_device& dst, modnn_buffer* d,
                        uint64_t off, uint64_t size, bool queued = false) {
  void* sp = src.iface->buffer_host_pointer ? src.iface->buffer_host_pointer(src.ctx, s) : nullptr;
  void* dp = dst.iface->buffer_host_pointer ? dst.iface->buffer_host_pointer(dst.ctx, d) : nullptr;
  if (sp && dp) {
    std::memcpy(static_cast<uint8_t*>(dp) + off, static_cast<const uint8_t*>(sp) + off, size);
    return MODNN_OK;
  }
  if (queued && MODNN_HAS_ENTRY(src.iface, buffer_send_to_peer)) {
    modnn_status st = src.iface->buffer_send_to_peer(src.ctx, s, off, &dst, d, off, size);
    if (st != MODNN_ERR_NOT_SUPPORTED) return st;
  }
  if (MODNN_HAS_ENTRY(src.iface, buffer_copy_to_peer)) {
    modnn_status st = src.iface->buffer_copy_to_peer(src.ctx, s, off, &dst, d, off, size);
    if (st != MODNN_ERR_NOT_SUPPORTED) return st;
  }
  std::vector<uint8_t> staging(size);
  modnn_status st = src.iface->buffer_read(src.ctx, s, off, staging.data(), size);
  return st != MODNN_OK ? st : dst.iface->buffer_write(dst.ctx, d, off, staging.data(), size);
}

// Copies [va, va + size) from device `from` to device `to`.
modnn_status copyAcross(Group* g, int from, int to, uint64_t va, uint64_t size, bool queued = false) {
  uint64_t off = 0;
  GroupBuffer* b = findBuffer(g, va, size, &off);
  if (!b) return MODNN_ERR_ILLEGAL_ADDRESS;
  return copyBuffer(g->devs[size_t(from)], b->parts[size_t(from)], g->devs[size_t(to)], b->parts[size_t(to)], off,
                    size, queued);
}

struct Slice {
  int64_t j0, j1;
};

// Column slices of a batched GEMM are not contiguous per device, and a bias
// gradient over D's rows would need a reduction: those run whole.
bool gemmColumnSplittable(const modnn_gemm& g) {
  return !g.pointer_arrays && g.batch == 1 && g.epilogue != MODNN_EPILOGUE_DGELU_BGRAD;
}

modnn_gemm sliceOf(const modnn_gemm& g, Slice s) {
  modnn_gemm p = g;
  p.n = s.j1 - s.j0;
  auto at = [](uint64_t base, int64_t elems, modnn_dtype t) {
    return base ? base + uint64_t(elems) * modnn_dtype_size(t) : 0;
  };
  p.b = at(g.b, g.trans_b ? s.j0 : s.j0 * g.ldb, g.b_type);
  p.c = at(g.c, s.j0 * g.ldc, g.c_type);
  p.d = at(g.d, s.j0 * g.ldd, g.d_type);
  if (modnn_epilogue_uses_aux(g.epilogue)) p.aux = at(g.aux, s.j0 * g.ld_aux, g.aux_type);
  if (g.epilogue == MODNN_EPILOGUE_BGRADB) p.bias = at(g.bias, s.j0, g.bias_type);
  return p;
}

// What a share wrote, as contiguous ranges: its columns of D (the rows
// between ld and m inside the span are the same on every device, so copying
// them is harmless), of the GELU auxiliary output, and its bias entries.
std::vector<std::pair<uint64_t, uint64_t>> writtenBy(const modnn_gemm& g, Slice s) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  int64_t cols = s.j1 - s.j0;
  auto span = [&](uint64_t base, int64_t ld, modnn_dtype t) {
    size_t es = modnn_dtype_size(t);
    out.emplace_back(base + uint64_t(s.j0 * ld) * es, uint64_t((cols - 1) * ld + g.m) * es);
  };
  span(g.d, g.ldd, g.d_type);
  if (g.epilogue == MODNN_EPILOGUE_GELU_AUX || g.epilogue == MODNN_EPILOGUE_GELU_AUX_BIAS)
    span(g.aux, g.ld_aux, g.aux_type);
  if (g.epilogue == MODNN_EPILOGUE_BGRADB) {
    size_t es = modnn_dtype_size(g.bias_type);
    out.emplace_back(g.bias + uint64_t(s.j0) * es, uint64_t(cols) * es);
  }
  return out;
}

modnn_status runSplitGemm(Group* g, const modnn_gemm& gemm, int ways) {
  std::vector<Slice> slices;
  for (int i = 0; i < ways; ++i) slices.push_back({gemm.n * i / ways, gemm.n * (i + 1) / ways});
  // 1. each device computes its columns; devices beyond `ways` idle.
  modnn_status st = onAll(g, [&](int i, const modnn_device& d) {
    if (i >= ways) return MODNN_OK;
    modnn_op op{};
    op.struct_size = sizeof op;
    op.kind = MODNN_OP_GEMM;
    op.u.gemm = sliceOf(gemm, slices[size_t(i)]);
    return d.iface->run_op(d.ctx, &op);
  });
  if (st != MODNN_OK) return st;
  // 2. all-gather: each device sends its columns to every other device.
  auto send = [&](int i, const modnn_device&) {
    if (i >= ways) return MODNN_OK;
    for (auto [va, size] : writtenBy(gemm, slices[size_t(i)]))
      for (int to = 0; to < int(g->devs.size()); ++to)
        if (to != i)
          if (modnn_status s = copyAcross(g, i, to, va, size, true); s != MODNN_OK) return s;
    return MODNN_OK;
  };
  bool host_memory = true;
  for (auto& d : g->devs) host_memory = host_memory && d.iface->buffer_host_pointer;
  if (host_memory) return onAll(g, send);
  // Between workers one at a time. Where they send one-way, that only queues
  // the gather behind each one's share (nobody waits here); otherwise a
  // worker sending to a peer waits for it, and two workers sending to each
  // other at once would wait for each other.
  return eachInTurn(g, send);
}

// `ways` 0: the group's own cost model decides a GEMM's split.
modnn_status runOpWays(Group* g, const modnn_op* op, int ways, int* out_ways) {
  std::shared_lock<std::shared_mutex> members(g->members);
  int n = int(g->devs.size());
  if (op->kind == MODNN_OP_GEMM) {
    int most = gemmColumnSplittable(op->u.gemm) ? int(std::min<int64_t>(n, op->u.gemm.n)) : 1;
    ways = ways > 0 ? std::min(ways, most) : gemmSplitWays(op->u.gemm, g->props, n);
    if (out_ways) *out_ways = std::max(ways, 1);
    if (ways > 1) return runSplitGemm(g, op->u.gemm, ways);
  } else if (out_ways) {
    *out_ways = 1;
  }
  return onAll(g, [&](int, const modnn_device& d) { return d.iface->run_op(d.ctx, op); });
}

modnn_status runOp(void* ctx, const modnn_op* op) { return runOpWays(group(ctx), op, 0, nullptr); }

modnn_status reserveAddressRange(void* ctx, uint64_t size, uint64_t hint, uint64_t* out_base, bool* out_host_held) {
  Group* g = group(ctx);
  std::shared_lock<std::shared_mutex> members(g->members);
  *out_base = 0;
  *out_host_held = false;
  for (auto& d : g->devs) {
    if (!MODNN_HAS_ENTRY(d.iface, reserve_address_range)) continue;
    uint64_t base = 0;
    bool held = false;
    modnn_status st = d.iface->reserve_address_range(d.ctx, size, *out_base ? *out_base : hint, &base, &held);
    if (st != MODNN_OK) return st;
    if (base && *out_base && base != *out_base) return MODNN_ERR_OUT_OF_MEMORY;
    if (base) *out_base = base;
    *out_host_held = *out_host_held || held;
  }
  g->range_base = *out_base;
  g->range_size = size;
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
    if (st == MODNN_OK) st = copyBuffer(src, b->parts[source], d, mine, 0, b->size);
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
  for (auto& [va, b] : g->buffers) d.iface->buffer_free(d.ctx, b->parts[i]);
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
    next.assign(set, set + n);
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
  for (auto& d : g->devs) d.iface->synchronize(d.ctx);
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
  for (auto& [va, b] : g->buffers) b->parts = std::move(buffer_parts[k++]);
  k = 0;
  for (GroupModule* m : g->modules) m->parts = std::move(module_parts[k++]);
  g->devs = std::move(members_next);
  g->crew = std::make_unique<Crew>(int(g->devs.size()));
  g->devs[0].iface->lease_confirm(g->devs[0].ctx);
  log().info("the virtual device now has {} device(s)", g->devs.size());
}

void destroy(void* ctx) {
  Group* g = group(ctx);
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

int gemmSplitWays(const modnn_gemm& g, const modnn_device_props& props, int n) {
  if (n < 2 || !gemmColumnSplittable(g)) return 1;
  int ways = int(std::min<int64_t>(n, g.n));
  if (ways < 2) return 1;
  // $MOAI_SPLIT: always / never override the cost model (tests, diagnosis).
  static const char* policy = std::getenv("MOAI_SPLIT");
  if (policy && std::strcmp(policy, "always") == 0) return ways;
  if (policy && std::strcmp(policy, "never") == 0) return 1;
  // Roofline: the product on one device against 1/ways of it plus the
  // all-gather of everyone else's columns, and a fixed cost per hand-off.
  double flops = 2.0 * double(g.m) * double(g.n) * double(g.k);
  if (g.a_type == MODNN_C32 || g.a_type == MODNN_C64) flops *= 4;
  double peak = props.peak_flops_fp32 > 0 ? props.peak_flops_fp32 : 1e10;
  double bandwidth = props.memory_bandwidth > 0 ? props.memory_bandwidth : 1e10;
  double out_bytes = double(g.m) * double(g.n) * double(modnn_dtype_size(g.d_type));
  constexpr double kHandOff = 50e-6;  // waking the crew, a copy per peer
  double whole = flops / peak;
  double split = flops / (peak * ways) + out_bytes * (ways - 1) / bandwidth + kHandOff * ways;
  return split < whole ? ways : 1;
}

int groupSize(const modnn_device& device) {
  if (!isGroup(device)) return 0;
  std::shared_lock<std::shared_mutex> members(group(device.ctx)->members);
  return int(group(device.ctx)->devs.size());
}

modnn_status runOnGroup(const modnn_device& device, const modnn_op& op, int ways, int* out_ways) {
  if (!isGroup(device)) return MODNN_ERR_INVALID_VALUE;
  return runOpWays(group(device.ctx), &op, ways, out_ways);
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

modnn_device makeDeviceGroup(std::vector<modnn_device> devices) {
  auto* g = new Group();
  g->devs = std::move(devices);
  g->props.struct_size = sizeof g->props;
  g->devs[0].iface->get_props(g->devs[0].ctx, &g->props);
  g->crew = std::make_unique<Crew>(int(g->devs.size()));
  return modnn_device{devicesTimeEvents(g) ? &kGroup : &kGroupUntimed, g};
}

}  // namespace moai
