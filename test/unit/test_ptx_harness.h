// Harness for PTX engine tests: opens the CPU backend, gives buffers
// test-chosen virtual addresses, compiles CUDA sources to PTX with $NVCC
// at test time, and launches kernels directly through the device
// interface (module_load / launch_kernel), with no client runtime between.
#pragma once
#include <catch2/catch.hpp>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "interpose/core/backend_loader.h"
#include "test/unit/nvcc_build.h"
#include "modnn/backend.h"

namespace ptxtest {

namespace fs = std::filesystem;
using moai::test::nvccPath;

// The shared scratch directory; PTX tests tolerate its absence (tests then skip).
inline const fs::path& tempDir() { return moai::test::workDir(); }

inline std::string readText(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// PTX of `source` for `arch` ("compute_75", "compute_90") at -O3; compiled
// once per (source, arch) per process. Empty without NVCC or on failure.
inline std::string compileCu(const std::string& source, const std::string& arch,
                             const std::string& extra = "") {
  static std::map<std::string, std::string> cache;
  std::string key = arch + "\n" + extra + "\n" + source;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (nvccPath().empty() || tempDir().empty()) return "";
  static int counter = 0;
  fs::path cu = tempDir() / ("k" + std::to_string(counter) + ".cu");
  fs::path ptx = tempDir() / ("k" + std::to_string(counter) + ".ptx");
  ++counter;
  {
    std::ofstream f(cu);
    f << source;
  }
  std::string cmd = "env -u LD_PRELOAD " + nvccPath() + " -ptx -O3 -arch=" + arch + " " + extra + " -o " + ptx.string() + " " +
                    cu.string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  int rc = p ? pclose(p) : -1;
  if (rc != 0) {
    UNSCOPED_INFO("nvcc failed: " << out);
    return "";
  }
  std::string text = readText(ptx);
  cache[key] = text;
  return text;
}

// A packed kernel parameter buffer; each value aligned to its size.
struct Params {
  std::vector<uint8_t> bytes;
  template <class T>
  Params& add(const T& v, size_t align = alignof(T)) {
    size_t off = (bytes.size() + align - 1) / align * align;
    bytes.resize(off + sizeof(T));
    std::memcpy(bytes.data() + off, &v, sizeof(T));
    return *this;
  }
};

struct Dim {
  uint32_t x = 1, y = 1, z = 1;
};

class Device {
 public:
  explicit Device(int threads = 2) {
    modnn_backend_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.abi_version = MODNN_BACKEND_ABI_VERSION;
    cfg.device_count = 1;
    cfg.memory_per_device = 4ull << 30;
    cfg.threads_per_device = threads;
    auto r = moai::openBackend("cpu", cfg);
    REQUIRE(r.ok());
    REQUIRE(!r->empty());
    dev_ = (*r)[0];
  }
  ~Device() {
    for (modnn_module* m : modules_) dev_.iface->module_unload(dev_.ctx, m);
    for (auto& [va, b] : buffers_) dev_.iface->buffer_free(dev_.ctx, b.buf);
    dev_.iface->destroy(dev_.ctx);
  }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const modnn_device_i& iface() const { return *dev_.iface; }
  void* ctx() const { return dev_.ctx; }

  uint64_t alloc(size_t bytes) {
    uint64_t va = next_;
    next_ += (bytes + 0xffff) / 0x10000 * 0x10000 + 0x10000;
    modnn_buffer* b = nullptr;
    REQUIRE(dev_.iface->buffer_alloc(dev_.ctx, va, bytes, &b) == MODNN_OK);
    buffers_[va] = {b, bytes};
    return va;
  }
  void write(uint64_t va, const void* src, size_t n) {
    auto& b = buffers_.at(va);
    REQUIRE(dev_.iface->buffer_write(dev_.ctx, b.buf, 0, src, n) == MODNN_OK);
  }
  void read(uint64_t va, void* dst, size_t n) {
    auto& b = buffers_.at(va);
    REQUIRE(dev_.iface->buffer_read(dev_.ctx, b.buf, 0, dst, n) == MODNN_OK);
  }
  template <class T>
  uint64_t upload(const std::vector<T>& v) {
    uint64_t va = alloc(std::max<size_t>(v.size() * sizeof(T), 1));
    if (!v.empty()) write(va, v.data(), v.size() * sizeof(T));
    return va;
  }
  template <class T>
  std::vector<T> download(uint64_t va, size_t count) {
    std::vector<T> v(count);
    read(va, v.data(), count * sizeof(T));
    return v;
  }

  modnn_status load(const std::string& ptx, modnn_module** out, const std::vector<modnn_module_symbol>& syms = {}) {
    modnn_module_image img{};
    img.struct_size = sizeof img;
    img.ptx = ptx.c_str();
    img.ptx_size = ptx.size();
    img.content_hash = std::hash<std::string>()(ptx);
    img.symbols = syms.data();
    img.symbol_count = syms.size();
    modnn_status st = dev_.iface->module_load(dev_.ctx, &img, out);
    if (st == MODNN_OK) modules_.push_back(*out);
    return st;
  }
  modnn_module* loadOk(const std::string& ptx, const std::vector<modnn_module_symbol>& syms = {}) {
    modnn_module* m = nullptr;
    REQUIRE(load(ptx, &m, syms) == MODNN_OK);
    return m;
  }
  bool supports(modnn_module* m, const std::string& name) { return dev_.iface->supports_kernel(dev_.ctx, m, name.c_str()); }

  modnn_status launch(modnn_module* m, const std::string& name, Dim grid, Dim block, const Params& p,
                      uint32_t shared = 0, uint64_t block_begin = 0, uint64_t block_end = 0) {
    modnn_kernel_launch l{};
    l.struct_size = sizeof l;
    l.module = m;
    l.kernel_name = name.c_str();
    l.grid[0] = grid.x;
    l.grid[1] = grid.y;
    l.grid[2] = grid.z;
    l.block[0] = block.x;
    l.block[1] = block.y;
    l.block[2] = block.z;
    l.dynamic_shared_bytes = shared;
    l.params = p.bytes.data();
    l.param_bytes = uint32_t(p.bytes.size());
    l.block_begin = block_begin;
    l.block_end = block_end;
    return dev_.iface->launch_kernel(dev_.ctx, &l);
  }

 private:
  struct Buf {
    modnn_buffer* buf;
    size_t size;
  };
  modnn_device dev_{};
  std::map<uint64_t, Buf> buffers_;
  std::vector<modnn_module*> modules_;
  uint64_t next_ = 0x100000000ull;
};

// Runs `body` with stdout captured into the returned string.
template <class F>
std::string captureStdout(F&& body) {
  fflush(stdout);
  fs::path file = tempDir() / "stdout.txt";
  int saved = dup(1);
  FILE* f = fopen(file.c_str(), "w");
  dup2(fileno(f), 1);
  body();
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  fclose(f);
  return readText(file);
}

// Same for stderr.
template <class F>
std::string captureStderr(F&& body) {
  fflush(stderr);
  fs::path file = tempDir() / "stderr.txt";
  int saved = dup(2);
  FILE* f = fopen(file.c_str(), "w");
  dup2(fileno(f), 2);
  body();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  fclose(f);
  return readText(file);
}

}  // namespace ptxtest
