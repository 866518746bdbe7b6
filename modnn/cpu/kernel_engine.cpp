#include "modnn/cpu/kernel_engine.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "modnn/cpu/cpu_log.h"
#include "modnn/cpu/ptx/ptx_interpreter.h"

namespace modnn::cpu {
namespace {

constexpr uint64_t kHeapBytes = 8ull << 20;       // cudaLimitMallocHeapSize default
constexpr uint32_t kMaxSharedBytes = 227 * 1024;  // per block, static + dynamic

struct KernelBinding {
  const ptx::Program* prog = nullptr;
  std::vector<uint64_t> symbolVa;
  std::string unsupported;
};

struct PrivateVar {
  uint64_t va;
  std::unique_ptr<uint8_t[]> storage;
};

// What a modnn_module* points to.
struct LoadedModule {
  std::shared_ptr<const ptx::DecodedModule> decoded;
  std::map<std::string, uint64_t, std::less<>> varVa;
  std::vector<PrivateVar> privates;
  std::map<std::string, KernelBinding, std::less<>> kernels;
};

LoadedModule* loaded(modnn_module* m) { return reinterpret_cast<LoadedModule*>(m); }

}  // namespace

// ---------------------------------------------------------------- heap

DeviceHeap::~DeviceHeap() {
  if (base_) table_.remove(base_);
}

void DeviceHeap::ensure() {
  std::lock_guard<std::mutex> lock(mu_);
  if (base_) return;
  storage_.reset(new (std::nothrow) uint8_t[bytes_]());
  if (!storage_) return;
  base_ = table_.reservePrivate(bytes_);
  table_.add(base_, bytes_, storage_.get());
  free_[0] = bytes_;
}

uint64_t DeviceHeap::allocate(uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!base_ || size == 0) return 0;
  size = (size + 15) & ~uint64_t(15);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < size) continue;
    uint64_t off = it->first, rest = it->second - size;
    free_.erase(it);
    if (rest) free_[off + size] = rest;
    used_[off] = size;
    return base_ + off;
  }
  return 0;
}

void DeviceHeap::release(uint64_t va) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!base_ || va < base_) return;
  auto it = used_.find(va - base_);
  if (it == used_.end()) return;
  uint64_t off = it->first, len = it->second;
  used_.erase(it);
  auto next = free_.lower_bound(off);
  if (next != free_.end() && off + len == next->first) {
    len += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == off) {
      prev->second += len;
      return;
    }
  }
  free_[off] = len;
}

// ---------------------------------------------------------------- engine

KernelEngine::KernelEngine(BufferTable& table, int threads)
    : table_(table), pool_(std::max(threads, 1)), heap_(table, kHeapBytes) {
  for (int i = 0; i < pool_.size(); ++i) workers_.push_back(std::make_unique<ptx::Worker>());
}

KernelEngine::~KernelEngine() = default;

modnn_status KernelEngine::load(const modnn_module_image* image, modnn_module** out) {
  if (!image || !out) return MODNN_ERR_INVALID_VALUE;
  if (!image->ptx || image->ptx_size == 0) {
    log(LogLevel::Info, "module has no PTX; the CPU device cannot run its kernels");
    return MODNN_ERR_NO_KERNEL_IMAGE;
  }
  modnn_status st;
  std::string error;
  auto decoded = ptx::decodeModule(image->ptx, image->ptx_size, st, error);
  if (!decoded) {
    log(LogLevel::Error, "cannot load module: %s", error.c_str());
    return st;
  }
  auto mod = std::make_unique<LoadedModule>();
  mod->decoded = decoded;
  for (size_t i = 0; i < image->symbol_count; ++i)
    if (image->symbols[i].name) mod->varVa[image->symbols[i].name] = image->symbols[i].va;

  // Module variables the client did not allocate (printf strings, internal
  // tables) get private storage with their initial bytes.
  std::map<std::string, uint8_t*, std::less<>> hostOf;
  for (const ptx::VarDecl& v : decoded->ast.globals) {
    if (v.space != ptx::Space::Global && v.space != ptx::Space::Const) continue;
    auto known = mod->varVa.find(v.name);
    if (known != mod->varVa.end()) {
      hostOf[v.name] = table_.find(known->second, v.size);
      continue;
    }
    if (v.isExtern && !v.hasInit) continue;  // defined elsewhere; kernels naming it cannot run
    uint64_t size = std::max<uint64_t>(v.size, 1);
    PrivateVar pv;
    pv.storage.reset(new (std::nothrow) uint8_t[size]());
    if (!pv.storage) return MODNN_ERR_OUT_OF_MEMORY;
    if (v.hasInit) std::memcpy(pv.storage.get(), v.init.data(), std::min<uint64_t>(v.init.size(), v.size));
    pv.va = table_.reservePrivate(size);
    table_.add(pv.va, size, pv.storage.get());
    mod->varVa[v.name] = pv.va;
    hostOf[v.name] = pv.storage.get();
    mod->privates.push_back(std::move(pv));
  }
  // Address initialisers: `.u64 p = generic(x)` and friends.
  for (const ptx::VarDecl& v : decoded->ast.globals) {
    auto host = hostOf.find(v.name);
    if (host == hostOf.end() || !host->second) continue;
    for (const ptx::InitReloc& r : v.relocs) {
      uint64_t base = 0;
      auto target = mod->varVa.find(r.symbol);
      if (target != mod->varVa.end()) {
        base = target->second;
      } else if (!ptx::functionAddress(decoded->ast, r.symbol, base)) {
        log(LogLevel::Warn, "initialiser of %s names unknown symbol %s", v.name.c_str(), r.symbol.c_str());
        continue;
      }
      if (r.offset + r.width > v.size) continue;
      uint64_t value = base + uint64_t(r.addend);
      std::memcpy(host->second + r.offset, &value, r.width);
    }
  }
  for (const auto& [name, prog] : decoded->kernels) {
    KernelBinding kb;
    kb.prog = prog.get();
    kb.unsupported = prog->unsupported;
    for (const std::string& sym : prog->symbols) {
      auto it = mod->varVa.find(sym);
      if (it == mod->varVa.end()) {
        if (kb.unsupported.empty()) kb.unsupported = "variable " + sym + " has no storage (extern without definition)";
        kb.symbolVa.push_back(0);
      } else {
        kb.symbolVa.push_back(it->second);
      }
    }
    mod->kernels.emplace(name, std::move(kb));
  }
  *out = reinterpret_cast<modnn_module*>(mod.release());
  return MODNN_OK;
}

void KernelEngine::unload(modnn_module* module) {
  LoadedModule* mod = loaded(module);
  if (!mod) return;
  std::lock_guard<std::mutex> lock(launchMu_);
  for (const PrivateVar& pv : mod->privates) table_.remove(pv.va);
  delete mod;
}

bool KernelEngine::supports(modnn_module* module, const char* kernel) {
  LoadedModule* mod = loaded(module);
  if (!mod || !kernel) return false;
  auto it = mod->kernels.find(kernel);
  return it != mod->kernels.end() && it->second.unsupported.empty();
}

modnn_status KernelEngine::launch(const modnn_kernel_launch* l) {
  if (!l || !l->module || !l->kernel_name) return MODNN_ERR_INVALID_VALUE;
  LoadedModule* mod = loaded(l->module);
  auto it = mod->kernels.find(l->kernel_name);
  if (it == mod->kernels.end()) return MODNN_ERR_INVALID_FUNCTION;
  const KernelBinding& kb = it->second;
  if (!kb.unsupported.empty()) {
    log(LogLevel::Error, "kernel %s cannot run on the CPU: %s", l->kernel_name, kb.unsupported.c_str());
    return MODNN_ERR_INVALID_PTX;
  }
  const ptx::Program& prog = *kb.prog;
  uint64_t threads = uint64_t(l->block[0]) * l->block[1] * l->block[2];
  uint64_t blocks = uint64_t(l->grid[0]) * l->grid[1] * l->grid[2];
  if (threads == 0 || threads > 1024 || blocks == 0) return MODNN_ERR_INVALID_CONFIGURATION;
  uint64_t first = 0, end = blocks;
  if (MODNN_STRUCT_HAS(l, modnn_kernel_launch, block_end) && l->block_end) {
    if (l->block_begin >= l->block_end || l->block_end > blocks) return MODNN_ERR_INVALID_CONFIGURATION;
    first = l->block_begin, end = l->block_end;
  }
  bool quiet = MODNN_STRUCT_HAS(l, modnn_kernel_launch, quiet) && l->quiet;
  if (prog.reqntid[0] && (prog.reqntid[0] != l->block[0] || std::max(prog.reqntid[1], 1u) != l->block[1] ||
                          std::max(prog.reqntid[2], 1u) != l->block[2]))
    return MODNN_ERR_INVALID_CONFIGURATION;
  if (l->param_bytes < prog.paramBytes || (prog.paramBytes && !l->params)) return MODNN_ERR_INVALID_VALUE;
  uint64_t shared = uint64_t(prog.staticShared) + l->dynamic_shared_bytes;
  if (shared > kMaxSharedBytes) return MODNN_ERR_INVALID_CONFIGURATION;

  std::lock_guard<std::mutex> lock(launchMu_);
  if (prog.usesMalloc) heap_.ensure();
  ptx::LaunchShared L;
  L.prog = &prog;
  L.symbolVa = kb.symbolVa;
  L.buffers = table_.snapshot();
  L.params = static_cast<const uint8_t*>(l->params);
  L.paramBytes = l->param_bytes;
  std::copy(l->grid, l->grid + 3, L.grid);
  std::copy(l->block, l->block + 3, L.block);
  L.threadsPerBlock = uint32_t(threads);
  L.warpsPerBlock = uint32_t((threads + ptx::kLanes - 1) / ptx::kLanes);
  L.dynShared = l->dynamic_shared_bytes;
  L.sharedBytes = uint32_t(shared);
  L.totalBlocks = end;
  L.nextBlock.store(first, std::memory_order_relaxed);
  L.quiet = quiet;
  L.heap = &heap_;
  modnn_status st = ptx::runLaunch(L, workers_, pool_);
  if (st != MODNN_OK) {
    std::lock_guard<std::mutex> out(L.outMu);
    LogLevel lv = st == MODNN_ERR_ASSERT ? LogLevel::Info : LogLevel::Warn;
    log(lv, "kernel %s failed: %s: %s", l->kernel_name, modnn_status_string(st), L.faultMessage.c_str());
  }
  return st;
}

}  // namespace modnn::cpu
