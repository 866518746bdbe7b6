// AllocationTable: the live device allocations and registered host ranges,
// answering "which allocation holds this pointer, and does [p, p+n) fit?".
#pragma once
#include <cstdint>
#include <map>
#include <memory>

#include "modnn/backend.h"

namespace moai {

class Residency;

// One device allocation. Recorded ops hold it by shared_ptr, so a buffer
// outlives a cudaFree that races with queued work using it.
struct Allocation {
  uint64_t base = 0;
  uint64_t size = 0;
  modnn_device* device = nullptr;
  modnn_buffer* buffer = nullptr;
  bool module_variable = false;  // storage of a __device__/__constant__ variable: cudaFree refuses it
  // With offload (MOAI_OFFLOAD=1): what tracks where its bytes are; `buffer`
  // is null while they are in host memory. Null without offload.
  Residency* residency = nullptr;
  ~Allocation();
};

// Page-locked or registered host memory (cudaMallocHost, cudaHostRegister).
struct HostRegion {
  uintptr_t base = 0;
  size_t size = 0;
  unsigned flags = 0;
  bool owned = false;  // allocated by us (cudaMallocHost/HostAlloc), else registered
};

class AllocationTable {
 public:
  void insert(std::shared_ptr<Allocation> a);
  std::shared_ptr<Allocation> erase(uint64_t base);  // exact base only
  // Allocation containing `p`, or null.
  const std::shared_ptr<Allocation>* find(uint64_t p) const;
  // Allocation containing all of [p, p+n) (n may be 0), or null.
  const std::shared_ptr<Allocation>* findRange(uint64_t p, uint64_t n) const;
  template <class F> void forEach(F f) const { for (auto& [b, a] : device_) f(*a); }
  void clear() {
    device_.clear();
    in_use_ = 0;
  }
  uint64_t bytesInUse() const { return in_use_; }

  bool insertHost(const HostRegion& r);  // false if it overlaps a registered range
  bool eraseHost(uintptr_t base, HostRegion* out);
  const HostRegion* findHost(uintptr_t p) const;

 private:
  std::map<uint64_t, std::shared_ptr<Allocation>> device_;
  std::map<uintptr_t, HostRegion> host_;
  uint64_t in_use_ = 0;
};

}  // namespace moai
