// ShmSegment: the shared-memory staging area of an ipc:// connection.
//
// On the same host, bulk bytes do not go through the socket: the client
// copies them into its segment and the message names (offset, size). The
// first 64 bytes hold counters; then a ring the client writes and the worker
// drains (client -> worker), then an area the worker fills for one read at a
// time (worker -> client).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "interpose/core/result.h"

namespace moai {

class ShmSegment {
 public:
  static constexpr size_t kHeaderBytes = 64;

  // Client: a new segment with a random name, readable only by this user.
  static Result<std::unique_ptr<ShmSegment>> create(size_t size);
  // Worker: maps the client's segment (same size the client announced).
  static Result<std::unique_ptr<ShmSegment>> open(const std::string& name, size_t size);
  ~ShmSegment();

  const std::string& name() const { return name_; }
  size_t size() const { return size_; }
  // Removes the name; the mapping stays valid (client, once the worker mapped it).
  void unlinkName();

  // Total bytes of the ring the worker has consumed, ever (monotonic).
  std::atomic<uint64_t>& ringConsumed() { return *reinterpret_cast<std::atomic<uint64_t>*>(base_); }
  uint8_t* ring() { return base_ + kHeaderBytes; }
  size_t ringBytes() const { return (size_ - kHeaderBytes) / 2; }
  uint8_t* readArea() { return ring() + ringBytes(); }
  size_t readAreaBytes() const { return size_ - kHeaderBytes - ringBytes(); }

 private:
  ShmSegment() = default;
  std::string name_;
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  bool owner_ = false;
  bool linked_ = false;
};

}  // namespace moai
