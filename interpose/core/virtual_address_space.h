// VirtualAddressSpace: where device pointers come from.
//
// The client reserves one large PROT_NONE range and mints every device
// pointer inside it, so a device pointer never aliases host memory, pointer
// arithmetic on it just works, and "is this a device pointer?" is a range
// check. Reserving costs address space only, no memory.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>

#include "interpose/core/result.h"

namespace moai {

class VirtualAddressSpace {
 public:
  static constexpr uint64_t kAlignment = 256;  // what cudaMalloc guarantees

  // Reserves `bytes` of address space (rounded to pages).
  explicit VirtualAddressSpace(uint64_t bytes);
  // Mints inside [base, base + bytes), a range a device chose (a GPU whose
  // kernels dereference these pointers). `host_held`: something in this
  // process (an in-process driver) already holds the host range; otherwise
  // it is reserved here, and valid() is false if it is not free.
  VirtualAddressSpace(uint64_t base, uint64_t bytes, bool host_held);
  ~VirtualAddressSpace();
  VirtualAddressSpace(const VirtualAddressSpace&) = delete;
  VirtualAddressSpace& operator=(const VirtualAddressSpace&) = delete;

  bool valid() const { return base_ != 0; }
  bool contains(uint64_t address) const { return address - base_ < size_; }
  uint64_t base() const { return base_; }
  uint64_t size() const { return size_; }

  // First-fit range of at least `bytes` (size 0 gets a minimal range so the
  // pointer is unique), aligned to kAlignment.
  Result<uint64_t> reserve(uint64_t bytes);
  // Returns a range minted by reserve(); false if `address` is not one.
  bool release(uint64_t address);

 private:
  void init(uint64_t base, uint64_t bytes);

  uint64_t base_ = 0;
  uint64_t size_ = 0;
  bool mapped_ = false;  // we hold the host range and unmap it
  std::mutex mu_;
  std::map<uint64_t, uint64_t> free_;  // offset -> length, coalesced
  std::map<uint64_t, uint64_t> used_;  // offset -> length
};

}  // namespace moai
