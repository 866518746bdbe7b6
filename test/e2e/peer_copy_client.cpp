// Worker -> worker copies: leases two devices on two workers through the
// remote backend, writes a pattern on the first, has the first worker send it
// straight to the second, and reads it back there. Also: the peer's earlier
// one-way commands run before the bytes land, a copy into memory the job
// does not own on the peer fails, and a copy inside one worker still works.
#include <cstdio>
#include <cstring>
#include <vector>

#include "interpose/core/backend_loader.h"

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  failures += !ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: peer_copy_client SCHEDULER\n");
    return 2;
  }
  modnn_backend_config cfg{};
  cfg.struct_size = sizeof cfg;
  cfg.abi_version = MODNN_BACKEND_ABI_VERSION;
  cfg.device_count = 2;
  cfg.scheduler = argv[1];
  auto devices = moai::openBackend("remote", cfg);
  if (!devices || devices->size() != 2) {
    std::fprintf(stderr, "lease of 2 devices: %s\n", devices ? "wrong count" : devices.error().message.c_str());
    return 2;
  }
  modnn_device a = (*devices)[0], b = (*devices)[1];
  if (!MODNN_HAS_ENTRY(a.iface, buffer_copy_to_peer)) {
    std::fprintf(stderr, "the remote backend has no worker->worker copy\n");
    return 1;
  }
  constexpr uint64_t kVa = 0x100000000000ull, kBytes = 40u << 20;  // several staging chunks
  modnn_buffer *src = nullptr, *dst = nullptr;
  if (a.iface->buffer_alloc(a.ctx, kVa, kBytes, &src) != MODNN_OK ||
      b.iface->buffer_alloc(b.ctx, kVa + kBytes, kBytes, &dst) != MODNN_OK) {
    std::fprintf(stderr, "alloc failed\n");
    return 2;
  }
  std::vector<uint8_t> pattern(kBytes), back(kBytes);
  for (uint64_t i = 0; i < kBytes; ++i) pattern[i] = uint8_t(i * 131 + (i >> 20));
  a.iface->buffer_write(a.ctx, src, 0, pattern.data(), kBytes);
  // Queued on the peer before the copy: must not land after it.
  b.iface->buffer_fill(b.ctx, dst, 0, kBytes, 0xEE, 1);
  expect(a.iface->buffer_copy_to_peer(a.ctx, src, 0, &b, dst, 0, kBytes) == MODNN_OK, "copy to the peer worker");
  expect(b.iface->buffer_read(b.ctx, dst, 0, back.data(), kBytes) == MODNN_OK && back == pattern,
         "the peer holds the bytes, after its earlier fill");

  // Offsets inside both buffers.
  expect(a.iface->buffer_copy_to_peer(a.ctx, src, 1000, &b, dst, 5, 4096) == MODNN_OK, "copy with offsets");
  std::vector<uint8_t> part(4096);
  expect(b.iface->buffer_read(b.ctx, dst, 5, part.data(), part.size()) == MODNN_OK &&
             std::memcmp(part.data(), pattern.data() + 1000, part.size()) == 0,
         "offsets are honoured");

  // Past the end of the peer's buffer: the peer checks every range against
  // the job's own allocations and refuses it; the job goes on afterwards.
  expect(a.iface->buffer_copy_to_peer(a.ctx, src, 0, &b, dst, kBytes - 100, 4096) != MODNN_OK,
         "a copy past the end of the peer's buffer fails");
  expect(b.iface->synchronize(b.ctx) == MODNN_OK && a.iface->synchronize(a.ctx) == MODNN_OK,
         "the error was reported once; both devices work on");

  // Back the other way, into the first worker.
  std::vector<uint8_t> zeros(kBytes, 0);
  a.iface->buffer_write(a.ctx, src, 0, zeros.data(), kBytes);
  expect(b.iface->buffer_copy_to_peer(b.ctx, dst, 0, &a, src, 0, kBytes) == MODNN_OK, "copy back to the first worker");
  std::vector<uint8_t> round(kBytes);
  a.iface->buffer_read(a.ctx, src, 0, round.data(), kBytes);
  std::vector<uint8_t> expected = pattern;  // what dst held after the offset copy
  std::memcpy(expected.data() + 5, pattern.data() + 1000, 4096);
  expect(round == expected, "the round trip brings the same bytes back");

  a.iface->buffer_free(a.ctx, src);
  b.iface->buffer_free(b.ctx, dst);
  a.iface->destroy(a.ctx);
  b.iface->destroy(b.ctx);
  std::printf("%s\n", failures ? "worker->worker copies FAILED" : "worker->worker copies OK");
  return failures ? 1 : 0;
}
