#include "modnn/worker/peer_ring.h"

namespace moai::worker {

std::shared_ptr<const void> PeerRing::hold(uint64_t pos, uint64_t size, std::span<const uint8_t>* out) {
  const uint64_t ring = shm_->ringBytes();
  std::lock_guard<std::mutex> lock(mu_);
  // Positions only grow (one sender, one connection, in order).
  if (size > ring || pos % ring + size > ring || pos < end_ || pos + size < pos) return nullptr;
  held_.insert(pos);
  end_ = pos + size;
  *out = {shm_->ring() + pos % ring, size};
  auto self = shared_from_this();
  return std::shared_ptr<const void>(out->data(), [self, pos](const void*) { self->release(pos); });
}

// The sender may reuse everything before the oldest bytes still held (all
// of it when none are), gaps it skipped to avoid wrapping included.
void PeerRing::release(uint64_t pos) {
  std::lock_guard<std::mutex> lock(mu_);
  held_.erase(pos);
  uint64_t free_to = held_.empty() ? end_ : *held_.begin();
  shm_->ringConsumed().store(free_to, std::memory_order_release);
}

}  // namespace moai::worker
