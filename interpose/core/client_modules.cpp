// Client: registered modules, kernel launches and device symbols.
#include <algorithm>
#include <cstring>

#include "interpose/core/client.h"
#include "interpose/core/log.h"

namespace moai {

void** Client::registerFatbin(const void* wrapper) {
  std::lock_guard<std::mutex> lock(mu_);
  return modules_.add(wrapper);
}

void Client::unregisterFatbin(void** handle) {
  std::lock_guard<std::mutex> lock(mu_);
  ModuleRecord* m = modules_.module(handle);
  if (!m) return;
  for (VarRecord* v : modules_.varsOf(m))
    if (v->storage && vas_) {
      allocs_.erase(v->storage->base);
      vas_->release(v->storage->base);
    }
  if (m->loaded && device_.iface && device_.iface->module_unload)
    device_.iface->module_unload(device_.ctx, m->loaded);
  modules_.remove(handle);
}

void Client::registerFunction(void** handle, const void* host_fn, const char* device_name) {
  std::lock_guard<std::mutex> lock(mu_);
  modules_.addFunction(handle, host_fn, device_name);
}

void Client::registerVar(void** handle, const void* host_var, const char* device_name, uint64_t size,
                         bool constant) {
  std::lock_guard<std::mutex> lock(mu_);
  modules_.addVar(handle, host_var, device_name, size, constant);
}

bool Client::isFunction(const void* host_fn) {
  std::lock_guard<std::mutex> lock(mu_);
  return modules_.function(host_fn) != nullptr;
}

// First use of a module: parse it, give its variables device storage with
// their initial bytes, and hand the image to the device if it runs kernels.
modnn_status Client::ensureModuleLoadedLocked(ModuleRecord* m) {
  if (init_error_ != MODNN_OK) return init_error_;
  auto info = modules_.describe(m, unsigned(props_.cc_major * 10 + props_.cc_minor));
  if (!info) {
    log().warn("cannot read a registered module: {}", info.error().message);
    return info.error().code;
  }
  for (VarRecord* v : modules_.varsOf(m)) {
    if (v->storage) continue;
    auto va = vas_->reserve(v->size);
    if (!va) return MODNN_ERR_OUT_OF_MEMORY;
    auto a = std::make_shared<Allocation>();
    a->base = *va;
    a->size = v->size;
    // Kernels reach variables by name, not through parameters: with offload
    // they stay resident, and room is made for them.
    modnn_status st = residency_ ? residency_->allocateFixed(*va, v->size, &a->buffer)
                                 : device_.iface->buffer_alloc(device_.ctx, *va, v->size, &a->buffer);
    if (st != MODNN_OK) {
      vas_->release(*va);
      return st;
    }
    a->device = &device_;
    auto it = (*info)->vars.find(v->device_name);
    if (it != (*info)->vars.end() && !it->second.init.empty()) {
      uint64_t n = std::min<uint64_t>(it->second.init.size(), v->size);
      st = device_.iface->buffer_write(device_.ctx, a->buffer, 0, it->second.init.data(), n);
      if (st != MODNN_OK) return st;
    }
    a->module_variable = true;
    allocs_.insert(a);
    v->storage = std::move(a);
  }
  if (!m->load_attempted) {
    m->load_attempted = true;
    if (device_.iface->module_load) {
      std::vector<modnn_module_symbol> symbols;
      for (VarRecord* v : modules_.varsOf(m))
        symbols.push_back(modnn_module_symbol{v->device_name.c_str(), v->storage->base, v->size});
      modnn_module_image image{};
      image.struct_size = sizeof image;
      image.data = m->image.data();
      image.size = m->image.size();
      image.content_hash = m->content_hash;
      image.ptx = m->info->ptx.empty() ? nullptr : m->info->ptx.c_str();
      image.ptx_size = m->info->ptx.size();
      image.symbols = symbols.data();
      image.symbol_count = symbols.size();
      modnn_status st = device_.iface->module_load(device_.ctx, &image, &m->loaded);
      if (st != MODNN_OK) log().warn("device could not load a module: {}", modnn_status_string(st));
    }
  }
  return MODNN_OK;
}

modnn_status Client::kernelInfo(const void* host_fn, KernelInfo* out) {
  std::lock_guard<std::mutex> lock(mu_);
  FunctionRecord* f = modules_.function(host_fn);
  if (!f) return MODNN_ERR_INVALID_FUNCTION;
  modnn_status st = ensureModuleLoadedLocked(f->module);
  if (st != MODNN_OK) return st;
  auto it = f->module->info->kernels.find(f->device_name);
  if (it == f->module->info->kernels.end()) return MODNN_ERR_NO_KERNEL_IMAGE;
  *out = it->second;
  return MODNN_OK;
}

modnn_status Client::symbolAddress(const void* symbol, void** address, size_t* size) {
  std::lock_guard<std::mutex> lock(mu_);
  VarRecord* v = modules_.var(symbol);
  if (!v) return MODNN_ERR_INVALID_SYMBOL;
  modnn_status st = ensureModuleLoadedLocked(v->module);
  if (st != MODNN_OK) return st;
  if (address) *address = reinterpret_cast<void*>(v->storage->base);
  if (size) *size = v->size;
  return MODNN_OK;
}

modnn_status Client::launch(const LaunchRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  Stream* s = nullptr;
  modnn_status st = resolveStreamLocked(req.stream, &s);
  if (st != MODNN_OK) return st;
  if ((st = health()) != MODNN_OK) return st;
  FunctionRecord* f = modules_.function(req.host_function);
  if (!f) return MODNN_ERR_INVALID_FUNCTION;
  const Dim3& g = req.grid;
  const Dim3& b = req.block;
  uint64_t threads = uint64_t(b.x) * b.y * b.z;
  if (!g.x || !g.y || !g.z || !b.x || !b.y || !b.z || g.y > 65535 || g.z > 65535 || g.x > 0x7fffffffu ||
      b.x > 1024 || b.y > 1024 || b.z > 64 || threads > uint64_t(props_.max_threads_per_block))
    return MODNN_ERR_INVALID_CONFIGURATION;
  if (req.dynamic_shared > props_.shared_memory_per_block_optin) return MODNN_ERR_INVALID_CONFIGURATION;
  if ((st = ensureModuleLoadedLocked(f->module)) != MODNN_OK) return st;
  auto kit = f->module->info->kernels.find(f->device_name);
  if (kit == f->module->info->kernels.end()) return MODNN_ERR_INVALID_FUNCTION;
  const KernelInfo& k = kit->second;
  if (threads > k.max_threads_per_block) return MODNN_ERR_INVALID_CONFIGURATION;
  const modnn_device_i& d = *device_.iface;
  if (!f->module->loaded || !d.supports_kernel || !d.launch_kernel ||
      !d.supports_kernel(device_.ctx, f->module->loaded, f->device_name.c_str()))
    return MODNN_ERR_NO_KERNEL_IMAGE;

  LaunchOp op;
  op.module = f->module;
  op.kernel = f->device_name;
  op.grid = g;
  op.block = b;
  op.dynamic_shared = uint32_t(req.dynamic_shared);
  op.params.assign(k.param_bytes, 0);
  if (!k.params.empty() && !req.args) return MODNN_ERR_INVALID_VALUE;
  for (size_t i = 0; i < k.params.size(); ++i) {
    const KernelParam& p = k.params[i];
    if (!req.args[i]) return MODNN_ERR_INVALID_VALUE;
    std::memcpy(op.params.data() + p.offset, req.args[i], p.size);
  }
  // Keep every allocation a pointer parameter (or a pointer inside a struct
  // parameter) points into alive until the kernel ran; with offload these are
  // also what must be resident. Pointers are 8-byte aligned in the buffer; a
  // pointer just past an allocation's end counts too (an end iterator).
  for (size_t off = 0; off + 8 <= op.params.size(); off += 8) {
    uint64_t v;
    std::memcpy(&v, op.params.data() + off, 8);
    if (!vas_->contains(v) && !vas_->contains(v - 1)) continue;
    auto* a = allocs_.find(v);
    if (!a) a = allocs_.find(v - 1);
    if (a && std::find(op.keep_alive.begin(), op.keep_alive.end(), *a) == op.keep_alive.end())
      op.keep_alive.push_back(*a);
  }
  submitLocked(s, std::move(op));
  return MODNN_OK;
}

modnn_status Client::executeLaunch(LaunchOp& op, const PlanTag& tag) {
  modnn_kernel_launch l = launchOf(op);
  SegmentPlanner* p = planner();
  return p ? p->launch(device_, l, tag) : device_.iface->launch_kernel(device_.ctx, &l);
}

}  // namespace moai
