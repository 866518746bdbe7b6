// CPU backend of moDNN: the device's memory is host memory; kernels run on
// the PTX engine (modnn/cpu/ptx) through kernel_engine.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>
#include <memory>
#include <string>

#include "modnn/backend.h"
#include "modnn/cpu/buffer_table.h"
#include "modnn/cpu/kernel_engine.h"
#include "modnn/cpu/ops/cpu_ops.h"

namespace {

constexpr uint64_t kPage = 4096;

struct CpuBuffer {
  uint64_t va;
  uint64_t size;
  uint8_t* host;
  uint64_t mapped;  // bytes mmap'd (size rounded to pages)
};

struct CpuDevice {
  int index = 0;
  uint64_t total_memory = 0;
  int threads = 1;
  std::string cpu_model;
  std::string uuid_namespace;  // the worker's id: devices of two workers on one host differ
  std::mutex mu;
  uint64_t used = 0;
  // Every buffer by the virtual address the program sees, for kernels.
  modnn::cpu::BufferTable table;
  std::unique_ptr<modnn::cpu::KernelEngine> kernels;
};

std::string cpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "host CPU";
}

CpuDevice* dev(void* ctx) { return static_cast<CpuDevice*>(ctx); }
CpuBuffer* buf(modnn_buffer* b) { return reinterpret_cast<CpuBuffer*>(b); }

void getProps(void* ctx, modnn_device_props* out) {
  CpuDevice* d = dev(ctx);
  size_t sz = out->struct_size;
  std::memset(out, 0, sz);
  out->struct_size = sz;
  std::snprintf(out->name, sizeof out->name, "CPU %d (%s, %d threads)", d->index, d->cpu_model.c_str(),
                d->threads);
  std::snprintf(out->kind, sizeof out->kind, "cpu");
  // Stable per host and index: derived from the machine id.
  std::ifstream mid("/etc/machine-id");
  std::string id;
  mid >> id;
  uint64_t h = 1469598103934665603ull;
  for (char c : id) h = (h ^ uint8_t(c)) * 1099511628211ull;
  for (char c : d->uuid_namespace) h = (h ^ uint8_t(c)) * 1099511628211ull;
  h ^= uint64_t(d->index) * 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 16; ++i) out->uuid[i] = uint8_t(h >> ((i % 8) * 8)) ^ uint8_t(i * 37);
  out->total_memory = d->total_memory;
  out->multiprocessor_count = d->threads;
  // The PTX engine targets compute_80 semantics (bf16, cp.async absent is fine).
  out->cc_major = 8;
  out->cc_minor = 0;
  out->max_threads_per_block = 1024;
  out->max_threads_per_multiprocessor = 2048;
  out->max_blocks_per_multiprocessor = 32;
  out->regs_per_multiprocessor = 65536;
  out->shared_memory_per_block = 48 * 1024;
  out->shared_memory_per_block_optin = 163 * 1024;
  out->shared_memory_per_multiprocessor = 164 * 1024;
  out->clock_khz = 2000000;
  out->memory_clock_khz = 3200000;
  out->memory_bus_width = 128;
  out->l2_cache_bytes = 32ull << 20;
  out->peak_flops_fp32 = 32e9 * d->threads;
  out->memory_bandwidth = 10e9;
  out->integrated = true;
  out->block_ranges = true;
}

modnn_status bufferAlloc(void* ctx, uint64_t va, uint64_t size, modnn_buffer** out) {
  CpuDevice* d = dev(ctx);
  uint64_t mapped = std::max<uint64_t>(kPage, (size + kPage - 1) / kPage * kPage);
  {
    std::lock_guard<std::mutex> lock(d->mu);
    if (size > d->total_memory || d->used + size > d->total_memory) return MODNN_ERR_OUT_OF_MEMORY;
    d->used += size;
  }
  // Anonymous pages: zero-filled, committed on first touch, returned on free.
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  auto* b = p == MAP_FAILED ? nullptr : new (std::nothrow) CpuBuffer{va, size, static_cast<uint8_t*>(p), mapped};
  if (!b) {
    if (p != MAP_FAILED) munmap(p, mapped);
    std::lock_guard<std::mutex> lock(d->mu);
    d->used -= size;
    return MODNN_ERR_OUT_OF_MEMORY;
  }
  d->table.add(va, size, b->host);
  *out = reinterpret_cast<modnn_buffer*>(b);
  return MODNN_OK;
}

void bufferFree(void* ctx, modnn_buffer* b) {
  CpuDevice* d = dev(ctx);
  CpuBuffer* cb = buf(b);
  d->table.remove(cb->va);
  munmap(cb->host, cb->mapped);
  {
    std::lock_guard<std::mutex> lock(d->mu);
    d->used -= cb->size;
  }
  delete cb;
}

modnn_status bufferWrite(void*, modnn_buffer* dst, uint64_t off, const void* src, uint64_t n) {
  std::memcpy(buf(dst)->host + off, src, n);
  return MODNN_OK;
}

modnn_status bufferRead(void*, modnn_buffer* src, uint64_t off, void* dst, uint64_t n) {
  std::memcpy(dst, buf(src)->host + off, n);
  return MODNN_OK;
}

modnn_status bufferCopy(void*, modnn_buffer* dst, uint64_t doff, modnn_buffer* src, uint64_t soff, uint64_t n) {
  std::memmove(buf(dst)->host + doff, buf(src)->host + soff, n);
  return MODNN_OK;
}

modnn_status bufferFill(void*, modnn_buffer* dst, uint64_t off, uint64_t count, uint32_t value, uint32_t elem) {
  uint8_t* p = buf(dst)->host + off;
  switch (elem) {
    case 1: std::memset(p, int(value & 0xff), count); return MODNN_OK;
    case 2: {
      auto v = uint16_t(value);
      for (uint64_t i = 0; i < count; ++i) std::memcpy(p + 2 * i, &v, 2);
      return MODNN_OK;
    }
    case 4:
      for (uint64_t i = 0; i < count; ++i) std::memcpy(p + 4 * i, &value, 4);
      return MODNN_OK;
    default: return MODNN_ERR_INVALID_VALUE;
  }
}

void* bufferHostPointer(void*, modnn_buffer* b) { return buf(b)->host; }

modnn_status synchronize(void*) { return MODNN_OK; }  // every call above completes before returning

uint64_t timestampNs(void*) {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

modnn_status moduleLoad(void* ctx, const modnn_module_image* image, modnn_module** out) {
  return dev(ctx)->kernels->load(image, out);
}

void moduleUnload(void* ctx, modnn_module* m) { dev(ctx)->kernels->unload(m); }

bool supportsKernel(void* ctx, modnn_module* m, const char* name) { return dev(ctx)->kernels->supports(m, name); }

modnn_status launchKernel(void* ctx, const modnn_kernel_launch* launch) {
  return dev(ctx)->kernels->launch(launch);
}

bool supportsOp(void*, const modnn_op* op) { return modnn::cpu::supportsOp(*op); }

modnn_status runOp(void* ctx, const modnn_op* op) {
  return modnn::cpu::runOp(modnn::cpu::OpDevice{dev(ctx)->table, dev(ctx)->threads}, *op);
}

void destroy(void* ctx) { delete dev(ctx); }

const modnn_device_i kCpuDevice = {
    .struct_size = sizeof(modnn_device_i),
    .get_props = getProps,
    .buffer_alloc = bufferAlloc,
    .buffer_free = bufferFree,
    .buffer_write = bufferWrite,
    .buffer_read = bufferRead,
    .buffer_copy = bufferCopy,
    .buffer_fill = bufferFill,
    .buffer_host_pointer = bufferHostPointer,
    .synchronize = synchronize,
    .timestamp_ns = timestampNs,
    .flush = nullptr,
    .module_load = moduleLoad,
    .module_unload = moduleUnload,
    .supports_kernel = supportsKernel,
    .launch_kernel = launchKernel,
    .supports_op = supportsOp,
    .run_op = runOp,
    .destroy = destroy,
};

uint64_t defaultMemory() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGESIZE);
  uint64_t ram = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : (8ull << 30);
  return ram / 2;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) modnn_status modnn_backend_open(
    const modnn_backend_config* config, modnn_device* out, int capacity, int* out_count) {
  if (!config || config->struct_size < sizeof(modnn_backend_config) || !out || !out_count)
    return MODNN_ERR_INVALID_VALUE;
  if (config->abi_version != MODNN_BACKEND_ABI_VERSION) return MODNN_ERR_NOT_SUPPORTED;
  int n = std::min(std::max(config->device_count, 1), capacity);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  std::string model = cpuModelName();
  for (int i = 0; i < n; ++i) {
    auto* d = new (std::nothrow) CpuDevice;
    if (!d) return MODNN_ERR_OUT_OF_MEMORY;
    d->index = i;
    d->total_memory = config->memory_per_device ? config->memory_per_device : defaultMemory() / uint64_t(n);
    d->threads = config->threads_per_device > 0 ? config->threads_per_device : int(std::max(1L, cores));
    d->cpu_model = model;
    if (config->device_namespace) d->uuid_namespace = config->device_namespace;
    d->kernels.reset(new (std::nothrow) modnn::cpu::KernelEngine(d->table, d->threads));
    if (!d->kernels) return MODNN_ERR_OUT_OF_MEMORY;
    out[i] = modnn_device{&kCpuDevice, d};
  }
  *out_count = n;
  return MODNN_OK;
}
