#include "interpose/core/allocation_table.h"

#include "interpose/core/offload.h"

namespace moai {

Allocation::~Allocation() {
  if (residency)
    residency->forget(*this);
  else if (device && buffer)
    device->iface->buffer_free(device->ctx, buffer);
}

void AllocationTable::insert(std::shared_ptr<Allocation> a) {
  in_use_ += a->size;
  uint64_t base = a->base;
  device_.emplace(base, std::move(a));
}

std::shared_ptr<Allocation> AllocationTable::erase(uint64_t base) {
  auto it = device_.find(base);
  if (it == device_.end()) return nullptr;
  auto a = std::move(it->second);
  device_.erase(it);
  in_use_ -= a->size;
  return a;
}

const std::shared_ptr<Allocation>* AllocationTable::find(uint64_t p) const {
  auto it = device_.upper_bound(p);
  if (it == device_.begin()) return nullptr;
  --it;
  const Allocation& a = *it->second;
  // A zero-size allocation still owns its base address.
  if (p - a.base < a.size || p == a.base) return &it->second;
  return nullptr;
}

const std::shared_ptr<Allocation>* AllocationTable::findRange(uint64_t p, uint64_t n) const {
  auto* a = find(p);
  if (!a) return nullptr;
  uint64_t off = p - (*a)->base;
  if (n > (*a)->size || off > (*a)->size - n) return nullptr;
  return a;
}

bool AllocationTable::insertHost(const HostRegion& r) {
  auto next = host_.lower_bound(r.base);
  if (next != host_.end() && next->first < r.base + r.size) return false;
  if (next != host_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.size > r.base) return false;
  }
  host_.emplace(r.base, r);
  return true;
}

bool AllocationTable::eraseHost(uintptr_t base, HostRegion* out) {
  auto it = host_.find(base);
  if (it == host_.end()) return false;
  if (out) *out = it->second;
  host_.erase(it);
  return true;
}

const HostRegion* AllocationTable::findHost(uintptr_t p) const {
  auto it = host_.upper_bound(p);
  if (it == host_.begin()) return nullptr;
  --it;
  return p - it->first < it->second.size ? &it->second : nullptr;
}

}  // namespace moai
