#include "interpose/core/virtual_address_space.h"

#include <sys/mman.h>

namespace moai {

VirtualAddressSpace::VirtualAddressSpace(uint64_t bytes) {
  bytes = (bytes + 0xfffff) & ~uint64_t(0xfffff);
  void* p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return;
  mapped_ = true;
  init(reinterpret_cast<uint64_t>(p), bytes);
}

VirtualAddressSpace::VirtualAddressSpace(uint64_t base, uint64_t bytes, bool host_held) {
  if (!host_held) {
    void* want = reinterpret_cast<void*>(base);
    void* p = mmap(want, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return;
    if (p != want) {  // a kernel without MAP_FIXED_NOREPLACE treats it as a hint
      munmap(p, bytes);
      return;
    }
    mapped_ = true;
  }
  init(base, bytes);
}

void VirtualAddressSpace::init(uint64_t base, uint64_t bytes) {
  base_ = base;
  size_ = bytes;
  // Offset 0 is never handed out: base_ itself stays an invalid pointer.
  free_.emplace(kAlignment, size_ - kAlignment);
}

VirtualAddressSpace::~VirtualAddressSpace() {
  if (base_ && mapped_) munmap(reinterpret_cast<void*>(base_), size_);
}

Result<uint64_t> VirtualAddressSpace::reserve(uint64_t bytes) {
  if (bytes > size_) return makeError(MODNN_ERR_OUT_OF_MEMORY, "larger than the virtual address space");
  uint64_t len = bytes == 0 ? kAlignment : (bytes + kAlignment - 1) & ~(kAlignment - 1);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < len) continue;
    uint64_t off = it->first;
    uint64_t rest = it->second - len;
    free_.erase(it);
    if (rest) free_.emplace(off + len, rest);
    used_.emplace(off, len);
    return base_ + off;
  }
  return makeError(MODNN_ERR_OUT_OF_MEMORY, "virtual address space exhausted");
}

bool VirtualAddressSpace::release(uint64_t address) {
  if (!contains(address)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = used_.find(address - base_);
  if (it == used_.end()) return false;
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
      return true;
    }
  }
  free_.emplace(off, len);
  return true;
}

}  // namespace moai
