#include "interpose/core/device_group.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
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

struct GroupModule {
  std::vector<modnn_module*> parts;
};

struct Group {
  std::vector<modnn_device> devs;
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
  return eachInTurn(group(ctx), [&](int i, const modnn_device& d) {
    return d.iface->buffer_write(d.ctx, gbuf(dst)->parts[size_t(i)], off, src, n);
  });
}

modnn_status bufferRead(void* ctx, modnn_buffer* src, uint64_t off, void* dst, uint64_t n) {
  const modnn_device& d = group(ctx)->devs[0];
  return d.iface->buffer_read(d.ctx, gbuf(src)->parts[0], off, dst, n);
}

modnn_status bufferCopy(void* ctx, modnn_buffer* dst, uint64_t doff, modnn_buffer* src, uint64_t soff, uint64_t n) {
  return eachInTurn(group(ctx), [&](int i, const modnn_device& d) {
    return d.iface->buffer_copy(d.ctx, gbuf(dst)->parts[size_t(i)], doff, gbuf(src)->parts[size_t(i)], soff, n);
  });
}

modnn_status bufferFill(void* ctx, modnn_buffer* dst, uint64_t off, uint64_t count, uint32_t value, uint32_t elem) {
  return eachInTurn(group(ctx), [&](int i, const modnn_device& d) {
    return d.iface->buffer_fill(d.ctx, gbuf(dst)->parts[size_t(i)], off, count, value, elem);
  });
}

modnn_status synchronize(void* ctx) {
  return eachInTurn(group(ctx), [](int, const modnn_device& d) { return d.iface->synchronize(d.ctx); });
}

uint64_t timestampNs(void* ctx) {
  synchronize(ctx);
  const modnn_device& d = group(ctx)->devs[0];
  return d.iface->timestamp_ns(d.ctx);
}

void flush(void* ctx) {
  for (auto& d : group(ctx)->devs)
    if (d.iface->flush) d.iface->flush(d.ctx);
}

modnn_status moduleLoad(void* ctx, const modnn_module_image* image, modnn_module** out) {
  Group* g = group(ctx);
  if (!g->devs[0].iface->module_load) return MODNN_ERR_NOT_SUPPORTED;
  auto* m = new GroupModule{std::vector<modnn_module*>(g->devs.size(), nullptr)};
  for (size_t i = 0; i < g->devs.size(); ++i) {
    modnn_status st = g->devs[i].iface->module_load(g->devs[i].ctx, image, &m->parts[i]);
    if (st != MODNN_OK) {
      for (size_t j = 0; j < i; ++j)
        if (g->devs[j].iface->module_unload) g->devs[j].iface->module_unload(g->devs[j].ctx, m->parts[j]);
      delete m;
      return st;
    }
  }
  *out = reinterpret_cast<modnn_module*>(m);
  return MODNN_OK;
}

void moduleUnload(void* ctx, modnn_module* module) {
  Group* g = group(ctx);
  auto* m = reinterpret_cast<GroupModule*>(module);
  for (size_t i = 0; i < g->devs.size(); ++i)
    if (g->devs[i].iface->module_unload) g->devs[i].iface->module_unload(g->devs[i].ctx, m->parts[i]);
  delete m;
}

bool supportsKernel(void* ctx, modnn_module* module, const char* name) {
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
  auto* m = reinterpret_cast<GroupModule*>(l->module);
  return onAll(group(ctx), [&](int i, const modnn_device& d) {
    modnn_kernel_launch mine = *l;
    mine.module = m->parts[size_t(i)];
    return d.iface->launch_kernel(d.ctx, &mine);
  });
}

bool supportsOp(void* ctx, const modnn_op* op) {
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

// Copies [va, va + size) from device `from` to device `to`.
modnn_status copyAcross(Group* g, int from, int to, uint64_t va, uint64_t size) {
  uint64_t off = 0;
  GroupBuffer* b = findBuffer(g, va, size, &off);
  if (!b) return MODNN_ERR_ILLEGAL_ADDRESS;
  const modnn_device& src = g->devs[size_t(from)];
  const modnn_device& dst = g->devs[size_t(to)];
  modnn_buffer* s = b->parts[size_t(from)];
  modnn_buffer* d = b->parts[size_t(to)];
  void* sp = src.iface->buffer_host_pointer ? src.iface->buffer_host_pointer(src.ctx, s) : nullptr;
  void* dp = dst.iface->buffer_host_pointer ? dst.iface->buffer_host_pointer(dst.ctx, d) : nullptr;
  if (sp && dp) {
    std::memcpy(static_cast<uint8_t*>(dp) + off, static_cast<const uint8_t*>(sp) + off, size);
    return MODNN_OK;
  }
  if (MODNN_HAS_ENTRY(src.iface, buffer_copy_to_peer)) {
    modnn_status st = src.iface->buffer_copy_to_peer(src.ctx, s, off, &dst, d, off, size);
    if (st != MODNN_ERR_NOT_SUPPORTED) return st;
  }
  std::vector<uint8_t> staging(size);
  modnn_status st = src.iface->buffer_read(src.ctx, s, off, staging.data(), size);
  return st != MODNN_OK ? st : dst.iface->buffer_write(dst.ctx, d, off, staging.data(), size);
}

struct Slice {
  int64_t j0, j1;
};

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
  return onAll(g, [&](int i, const modnn_device&) {
    if (i >= ways) return MODNN_OK;
    for (auto [va, size] : writtenBy(gemm, slices[size_t(i)]))
      for (int to = 0; to < int(g->devs.size()); ++to)
        if (to != i)
          if (modnn_status s = copyAcross(g, i, to, va, size); s != MODNN_OK) return s;
    return MODNN_OK;
  });
}

modnn_status runOp(void* ctx, const modnn_op* op) {
  Group* g = group(ctx);
  if (op->kind == MODNN_OP_GEMM) {
    int ways = gemmSplitWays(op->u.gemm, g->props, int(g->devs.size()));
    if (ways > 1) return runSplitGemm(g, op->u.gemm, ways);
  }
  return onAll(g, [&](int, const modnn_device& d) { return d.iface->run_op(d.ctx, op); });
}

modnn_status reserveAddressRange(void* ctx, uint64_t size, uint64_t hint, uint64_t* out_base, bool* out_host_held) {
  Group* g = group(ctx);
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
  return MODNN_OK;
}

void destroy(void* ctx) {
  Group* g = group(ctx);
  g->crew.reset();
  for (auto& d : g->devs) d.iface->destroy(d.ctx);
  delete g;
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
    .event_record = nullptr,
    .event_query = nullptr,
};

}  // namespace

int gemmSplitWays(const modnn_gemm& g, const modnn_device_props& props, int n) {
  // Column slices of a batched GEMM are not contiguous per device, and a
  // bias gradient over D's rows would need a reduction: run those whole.
  if (n < 2 || g.pointer_arrays || g.batch != 1 || g.epilogue == MODNN_EPILOGUE_DGELU_BGRAD) return 1;
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

modnn_device makeDeviceGroup(std::vector<modnn_device> devices) {
  auto* g = new Group();
  g->devs = std::move(devices);
  g->props.struct_size = sizeof g->props;
  g->devs[0].iface->get_props(g->devs[0].ctx, &g->props);
  g->crew = std::make_unique<Crew>(int(g->devs.size()));
  return modnn_device{&kGroup, g};
}

}  // namespace moai
