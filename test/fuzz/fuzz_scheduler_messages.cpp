// Fuzz target: the decoders of the control-plane protocol. Any input must
// decode cleanly or fail with an error; whatever decodes must re-encode
// into a frame that decodes again and re-encodes to the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "schemas/scheduler_messages.h"

namespace {

template <class Decode, class Encode>
void roundTrip(const uint8_t* data, size_t size, Decode decode, Encode encode) {
  auto first = decode(data, size);
  if (!first) return;
  auto bytes = encode(*first);
  auto second = decode(bytes.data(), bytes.size());
  if (!second) {
    std::fprintf(stderr, "a re-encoded message does not decode: %s\n", second.error().message.c_str());
    std::abort();
  }
  if (encode(*second) != bytes) {
    std::fprintf(stderr, "re-encoding a decoded message is not stable\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  roundTrip(data, size, moai::wire::decodeToScheduler, moai::wire::encodeToScheduler);
  roundTrip(data, size, moai::wire::decodeFromScheduler, moai::wire::encodeFromScheduler);
  return 0;
}
