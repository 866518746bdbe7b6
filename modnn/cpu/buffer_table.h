// The device's va -> host table: every buffer a kernel may touch (client
// allocations and module-private storage), kept as an immutable sorted
// snapshot that launches hold while buffers come and go.
#pragma once
#include <cstdint>
#include <mutex>

#include "modnn/cpu/ptx/ptx_exec.h"

namespace modnn::cpu {

class BufferTable {
 public:
  BufferTable();
  void add(uint64_t va, uint64_t size, uint8_t* host);
  void remove(uint64_t va);
  ptx::BufferSnapshot snapshot() const;
  // Host pointer for [va, va + size), or nullptr.
  uint8_t* find(uint64_t va, uint64_t size) const;
  // A fresh address range in the module-private window.
  uint64_t reservePrivate(uint64_t size);

 private:
  mutable std::mutex mu_;
  ptx::BufferSnapshot snap_;
  uint64_t nextPrivate_ = ptx::kPrivateGlobalWindow + 0x10000;
};

}  // namespace modnn::cpu
