#include "wire.h"

#include <kj/exception.h>

#include <cstring>

namespace moai::wire {

Result<std::unique_ptr<IncomingMessage>> readMessage(const void* data, size_t size, std::shared_ptr<void> owner) {
  if (!data || size < sizeof(capnp::word) || size % sizeof(capnp::word) != 0)
    return makeError(MODNN_ERR_INVALID_VALUE, "message size " + std::to_string(size) + " is not a whole number of words");
  if (size / sizeof(capnp::word) > kTraversalLimitWords)
    return makeError(MODNN_ERR_INVALID_VALUE, "message larger than the traversal limit");
  auto msg = std::unique_ptr<IncomingMessage>(new IncomingMessage);
  kj::ArrayPtr<const capnp::word> words;
  bool aligned = reinterpret_cast<uintptr_t>(data) % alignof(capnp::word) == 0;
  msg->owner_ = std::move(owner);  // also keeps any attached frame alive
  if (msg->owner_ && aligned) {
    words = kj::arrayPtr(static_cast<const capnp::word*>(data), size / sizeof(capnp::word));
  } else {
    msg->words_ = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
    std::memcpy(msg->words_.begin(), data, size);
    words = msg->words_.asPtr();
  }
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kTraversalLimitWords;
  options.nestingLimit = kNestingLimit;
  // The constructor checks the segment table against the buffer; it throws
  // on a malformed table, which we turn into an error.
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&] {
    msg->reader_ = std::make_unique<capnp::FlatArrayMessageReader>(words, options);
  });
  KJ_IF_MAYBE(e, failure) {
    return makeError(MODNN_ERR_INVALID_VALUE, std::string("malformed message: ") + e->getDescription().cStr());
  }
  return msg;
}

std::vector<uint8_t> writeMessage(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace moai::wire
