// The CPU device's kernel side: loads modules (decoded PTX shared through
// the module cache, plus this load's module-private storage), answers
// supports_kernel, and runs launches on the device's persistent thread
// pool with address translation through the device's buffer table.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "modnn/backend.h"
#include "modnn/cpu/buffer_table.h"
#include "modnn/cpu/ptx/ptx_exec.h"
#include "modnn/cpu/ptx/ptx_module.h"
#include "modnn/cpu/thread_pool.h"

namespace modnn::cpu {

// Device malloc/free: first-fit over one region in the private window.
class DeviceHeap final : public ptx::DeviceHeap {
 public:
  DeviceHeap(BufferTable& table, uint64_t bytes) : table_(table), bytes_(bytes) {}
  ~DeviceHeap() override;
  // Creates the region (once); must happen before a launch snapshots the table.
  void ensure();
  uint64_t allocate(uint64_t size) override;
  void release(uint64_t va) override;

 private:
  BufferTable& table_;
  uint64_t bytes_;
  std::mutex mu_;
  std::unique_ptr<uint8_t[]> storage_;
  uint64_t base_ = 0;
  std::map<uint64_t, uint64_t> free_;  // offset -> size
  std::map<uint64_t, uint64_t> used_;  // offset -> size
};

class KernelEngine {
 public:
  KernelEngine(BufferTable& table, int threads);
  ~KernelEngine();

  modnn_status load(const modnn_module_image* image, modnn_module** out);
  void unload(modnn_module* module);
  bool supports(modnn_module* module, const char* kernel);
  modnn_status launch(const modnn_kernel_launch* launch);

 private:
  BufferTable& table_;
  ThreadPool pool_;
  std::vector<std::unique_ptr<ptx::Worker>> workers_;
  std::mutex launchMu_;
  DeviceHeap heap_;
};

}  // namespace modnn::cpu
