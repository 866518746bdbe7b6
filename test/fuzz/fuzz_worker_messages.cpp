// Fuzz target: the decoders of the data-plane protocol (client -> worker
// and worker -> client), with and without an attached bulk frame. Any input
// must decode cleanly or fail with an error; whatever decodes must re-encode
// into a frame that decodes to the same encoding again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "schemas/worker_messages.h"

using namespace moai::wire;

namespace {

std::vector<uint8_t> encodeClient(const ClientMsg& m) {
  if (auto* h = std::get_if<HelloMsg>(&m.body)) return encodeHello(*h);
  if (auto* c = std::get_if<std::vector<Command>>(&m.body)) {
    // Attached bytes re-encode inline: the same command, another framing.
    auto cmds = *c;
    for (auto& cmd : cmds)
      if (auto* w = std::get_if<WriteCmd>(&cmd.body)) w->attached = false;
    return encodeCommands(cmds);
  }
  if (auto* r = std::get_if<RequestMsg>(&m.body)) return encodeRequest(*r);
  if (auto* p = std::get_if<PeerBytesMsg>(&m.body)) {
    // Without its attached frame, a copy's bytes re-encode as a failed one.
    PeerBytesMsg q = *p;
    if (!q.failed && !q.in_shm) {
      q.why = "attached";
      q.failed = true;
    }
    return encodePeerBytes(q);
  }
  return encodeBye();
}

std::vector<uint8_t> encodeWorker(const WorkerMsg& m) { return encodeWorkerMessage(m.id, m.body); }

template <class Decode, class Encode>
void roundTrip(const uint8_t* data, size_t size, std::span<const uint8_t> attachment, Decode decode, Encode encode) {
  auto first = decode(data, size, nullptr, attachment);
  if (!first) return;
  auto bytes = encode(*first);
  auto second = decode(bytes.data(), bytes.size(), nullptr, {});
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
  // The first byte, when present, splits the input: that many 8-byte words
  // form the message, the rest is an attached frame.
  std::span<const uint8_t> attachment;
  size_t message = size;
  if (size > 0 && data[0] != 0) {
    size_t words = data[0];
    if (1 + words * 8 <= size) {
      message = words * 8;
      attachment = {data + 1 + message, size - 1 - message};
      data += 1;
    }
  }
  roundTrip(data, message, attachment, decodeClientMessage, encodeClient);
  roundTrip(data, message, attachment, decodeWorkerMessage, encodeWorker);
  return 0;
}
