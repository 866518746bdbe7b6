// PeerRing: the receiving end of a shared-memory ring another worker of the
// same job, on this host, sends one-way copies' bytes through.
//
// The sender writes each copy's bytes at increasing stream positions (never
// wrapping one) and names the position in its peerBytes message; the bytes
// stay in the ring until the receiving job's awaitPeer has written them to
// its device, which may happen in another order than they came. The space
// goes back to the sender up to the oldest bytes still held.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <span>

#include "transport/shm_segment.h"

namespace moai::worker {

class PeerRing : public std::enable_shared_from_this<PeerRing> {
 public:
  explicit PeerRing(std::unique_ptr<ShmSegment> shm) : shm_(std::move(shm)) {}

  // The `size` bytes at stream position `pos`, held until the returned
  // owner is dropped; nullptr when the range is not one the sender may
  // have written (outside the ring, wrapping, or behind what was given back).
  std::shared_ptr<const void> hold(uint64_t pos, uint64_t size, std::span<const uint8_t>* out);

 private:
  void release(uint64_t pos);

  std::unique_ptr<ShmSegment> shm_;
  std::mutex mu_;
  std::set<uint64_t> held_;  // positions of bytes not yet written to a device
  uint64_t end_ = 0;         // the end of the latest bytes
};

}  // namespace moai::worker
