// Reading and writing Cap'n Proto messages at a process boundary.
//
// Every reader in MoAI goes through readMessage(): it copies the bytes into
// word-aligned storage (ZeroMQ frames carry no alignment guarantee) and sets
// fixed traversal and nesting limits, so a hostile or truncated message fails
// with an error instead of exhausting memory or recursing without bound.
#pragma once
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "interpose/core/result.h"

namespace moai::wire {

constexpr uint64_t kTraversalLimitWords = 1ull << 26;  // 512 MiB: the largest upload we accept
constexpr int kNestingLimit = 16;                       // our schemas nest at most 4 deep

// A parsed message and the storage it points into.
class IncomingMessage {
 public:
  template <class T>
  typename T::Reader root() { return reader_->getRoot<T>(); }
  capnp::MessageReader& reader() { return *reader_; }

 private:
  friend Result<std::unique_ptr<IncomingMessage>> readMessage(const void* data, size_t size,
                                                               std::shared_ptr<void> owner);
  kj::Array<capnp::word> words_;  // a copy, when the frame was not word-aligned
  std::shared_ptr<void> owner_;   // keeps the frame (and what travelled with it) alive
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

// Parses one serialized message (the whole frame, nothing else). `owner`, if
// given, is held as long as the message: a word-aligned frame it keeps alive
// is read in place.
Result<std::unique_ptr<IncomingMessage>> readMessage(const void* data, size_t size,
                                                     std::shared_ptr<void> owner = nullptr);

// Serializes a message into one contiguous buffer.
std::vector<uint8_t> writeMessage(capnp::MessageBuilder& message);

}  // namespace moai::wire
