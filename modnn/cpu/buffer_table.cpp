#include "modnn/cpu/buffer_table.h"

#include <algorithm>

namespace modnn::cpu {

BufferTable::BufferTable() : snap_(std::make_shared<const std::vector<ptx::BufferEntry>>()) {}

void BufferTable::add(uint64_t va, uint64_t size, uint8_t* host) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<std::vector<ptx::BufferEntry>>(*snap_);
  auto it = std::lower_bound(next->begin(), next->end(), va,
                             [](const ptx::BufferEntry& e, uint64_t v) { return e.va < v; });
  next->insert(it, ptx::BufferEntry{va, size, host});
  snap_ = std::move(next);
}

void BufferTable::remove(uint64_t va) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<std::vector<ptx::BufferEntry>>(*snap_);
  next->erase(std::remove_if(next->begin(), next->end(), [va](const ptx::BufferEntry& e) { return e.va == va; }),
              next->end());
  snap_ = std::move(next);
}

ptx::BufferSnapshot BufferTable::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snap_;
}

uint8_t* BufferTable::find(uint64_t va, uint64_t size) const {
  ptx::BufferSnapshot s = snapshot();
  auto it = std::upper_bound(s->begin(), s->end(), va, [](uint64_t v, const ptx::BufferEntry& e) { return v < e.va; });
  if (it == s->begin()) return nullptr;
  const ptx::BufferEntry& e = *(it - 1);
  if (va - e.va > e.size || e.size - (va - e.va) < size) return nullptr;
  return e.host + (va - e.va);
}

uint64_t BufferTable::reservePrivate(uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t va = nextPrivate_;
  nextPrivate_ += (size + 0xffff) & ~uint64_t(0xffff);
  nextPrivate_ += 0x10000;  // a gap, so overruns fault
  return va;
}

}  // namespace modnn::cpu
