#include "interpose/core/module_registry.h"

#include <algorithm>

#include "interpose/core/fatbin_reader.h"

namespace moai {
namespace {

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// With -rdc the device-linked image carries only SASS; kernel layouts and
// variables (and the PTX) live in the per-file fatbins it was linked from.
void mergePrelinked(const FatbinWrapper& wrapper, unsigned max_arch, ModuleInfo& info) {
  for (const uint8_t* p : wrapper.prelinked) {
    auto size = fatbinSize(p);
    if (!size) continue;
    auto fatbin = readFatbin(p, *size);
    if (!fatbin) continue;
    auto part = describeModule(*fatbin, max_arch);
    if (!part) continue;
    for (auto& [name, k] : part->kernels) info.kernels.try_emplace(name, k);
    for (auto& [name, v] : part->vars) info.vars.try_emplace(name, v);
    if (info.ptx.empty()) {
      info.ptx = part->ptx;
      info.ptx_arch = part->ptx_arch;
    }
  }
}

// A program built only for newer architectures (say -arch=sm_90) still
// carries PTX: offer its oldest PTX rather than no image at all. A device
// that meets an instruction it lacks refuses that kernel by name.
void useLowestPtxAbove(const Fatbin& fatbin, unsigned max_arch, ModuleInfo& info) {
  const FatbinEntry* best = nullptr;
  for (const auto& e : fatbin.entries)
    if (e.kind == FatbinEntryKind::Ptx && e.arch > max_arch && (!best || e.arch < best->arch)) best = &e;
  if (!best) return;
  info.ptx.assign(best->payload.begin(), best->payload.end());
  info.ptx_arch = best->arch;
}

}  // namespace

void** ModuleRegistry::add(const void* wrapper) {
  auto m = std::make_unique<ModuleRecord>();
  m->wrapper = wrapper;
  modules_.push_back(std::move(m));
  return reinterpret_cast<void**>(modules_.back().get());
}

ModuleRecord* ModuleRegistry::module(void** handle) {
  auto* m = reinterpret_cast<ModuleRecord*>(handle);
  for (auto& r : modules_)
    if (r.get() == m) return m;
  return nullptr;
}

void ModuleRegistry::remove(void** handle) {
  ModuleRecord* m = module(handle);
  if (!m) return;
  std::erase_if(functions_, [m](const auto& kv) { return kv.second.module == m; });
  std::erase_if(vars_, [m](const auto& kv) { return kv.second.module == m; });
  std::erase_if(modules_, [m](const auto& r) { return r.get() == m; });
}

void ModuleRegistry::addFunction(void** handle, const void* host_fn, const char* device_name) {
  ModuleRecord* m = module(handle);
  if (!m || !host_fn || !device_name) return;
  functions_[host_fn] = FunctionRecord{m, device_name};
}

void ModuleRegistry::addVar(void** handle, const void* host_var, const char* device_name, uint64_t size,
                            bool constant) {
  ModuleRecord* m = module(handle);
  if (!m || !host_var || !device_name) return;
  VarRecord v;
  v.module = m;
  v.device_name = device_name;
  v.size = size;
  v.constant = constant;
  vars_[host_var] = std::move(v);
}

FunctionRecord* ModuleRegistry::function(const void* host_fn) {
  auto it = functions_.find(host_fn);
  return it == functions_.end() ? nullptr : &it->second;
}

VarRecord* ModuleRegistry::var(const void* host_var) {
  auto it = vars_.find(host_var);
  return it == vars_.end() ? nullptr : &it->second;
}

std::vector<VarRecord*> ModuleRegistry::varsOf(const ModuleRecord* m) {
  std::vector<VarRecord*> out;
  for (auto& [k, v] : vars_)
    if (v.module == m) out.push_back(&v);
  return out;
}

Result<const ModuleInfo*> ModuleRegistry::describe(ModuleRecord* m, unsigned max_arch) {
  if (!m->parsed) {
    m->parsed = true;
    auto wrapper = readFatbinWrapper(m->wrapper);
    if (!wrapper) {
      m->parse_error = wrapper.error();
    } else {
      m->image.assign(wrapper->fatbin, wrapper->fatbin + wrapper->fatbin_size);
      m->content_hash = fnv1a(m->image.data(), m->image.size());
      auto fatbin = readFatbin(m->image.data(), m->image.size());
      if (!fatbin) {
        m->parse_error = fatbin.error();
      } else {
        auto info = describeModule(*fatbin, max_arch);
        if (info) {
          m->info = std::make_unique<ModuleInfo>(std::move(info).value());
          mergePrelinked(*wrapper, max_arch, *m->info);
          if (m->info->ptx.empty()) useLowestPtxAbove(*fatbin, max_arch, *m->info);
        } else {
          m->parse_error = info.error();
        }
      }
    }
  }
  if (!m->info) return m->parse_error;
  return static_cast<const ModuleInfo*>(m->info.get());
}

}  // namespace moai
