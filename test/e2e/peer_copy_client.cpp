// Worker -> worker copies: leases two devices on two workers through the
// remote backend, writes a pattern on the first, has the first worker send it
// straight to the second, and reads it back there. Also: the peer's earlier
// one-way commands run before the bytes land, a copy into memory the job
// does not own on the peer fails, and a copy inside one worker still works.
#include <algorithm>
#include <chrono>
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

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// One-way copies (buffer_send_to_peer): queued on both workers' streams,
// complete by the peer's next synchronize. `src` on a, `dst` on b, `n` bytes each.
void oneWay(const modnn_device& a, const modnn_device& b, modnn_buffer* src, modnn_buffer* dst, uint64_t n) {
  if (!MODNN_HAS_ENTRY(a.iface, buffer_send_to_peer)) {
    expect(false, "the remote backend has one-way worker->worker copies");
    return;
  }
  std::vector<uint8_t> pa(n), pb(n), back(n);
  for (uint64_t i = 0; i < n; ++i) pa[i] = uint8_t(i * 7 + 1), pb[i] = uint8_t(i * 13 + 5);
  a.iface->buffer_write(a.ctx, src, 0, pa.data(), n);
  b.iface->buffer_write(b.ctx, dst, 0, pb.data(), n);
  // Both directions at once, each behind the other's write: neither worker
  // may wait for the other, and each must read its source after its write.
  const uint64_t half = n / 2;
  expect(a.iface->buffer_send_to_peer(a.ctx, src, 0, &b, dst, 0, half) == MODNN_OK &&
             b.iface->buffer_send_to_peer(b.ctx, dst, half, &a, src, half, n - half) == MODNN_OK,
         "one-way copies both ways are queued");
  // Queued on b after the copy: lands after it.
  b.iface->buffer_fill(b.ctx, dst, 0, 16, 0xAB, 1);
  expect(b.iface->synchronize(b.ctx) == MODNN_OK && a.iface->synchronize(a.ctx) == MODNN_OK,
         "both complete by the next synchronize");
  std::vector<uint8_t> want_b = pb, want_a = pa;
  std::memcpy(want_b.data(), pa.data(), half);
  std::memset(want_b.data(), 0xAB, 16);
  std::memcpy(want_a.data() + half, pb.data() + half, n - half);
  expect(b.iface->buffer_read(b.ctx, dst, 0, back.data(), n) == MODNN_OK && back == want_b,
         "b holds a's half, under its own later fill");
  expect(a.iface->buffer_read(a.ctx, src, 0, back.data(), n) == MODNN_OK && back == want_a, "a holds b's half");

  // A source the job does not own on a: the error reaches both devices'
  // next synchronize at once (b does not wait out its timeout); both go on.
  double t0 = now();
  expect(a.iface->buffer_send_to_peer(a.ctx, src, n - 100, &b, dst, 0, 4096) == MODNN_OK, "a bad copy is queued");
  modnn_status sb = b.iface->synchronize(b.ctx), sa = a.iface->synchronize(a.ctx);
  expect(sb != MODNN_OK && sa != MODNN_OK && now() - t0 < 5, "a bad range fails both devices' synchronize, quickly");
  expect(b.iface->synchronize(b.ctx) == MODNN_OK && a.iface->synchronize(a.ctx) == MODNN_OK,
         "reported once; both devices work on");

  // The link as a one-way copy sees it: 4 KiB and n-byte copies, a to b,
  // each timed to the peer's synchronize.
  auto timed = [&](uint64_t bytes, int reps, bool one_way = true) {
    double best = 1e9;
    for (int r = 0; r < reps; ++r) {
      double t = now();
      if (one_way) {
        a.iface->buffer_send_to_peer(a.ctx, src, 0, &b, dst, 0, bytes);
        b.iface->synchronize(b.ctx);
      } else {
        a.iface->buffer_copy_to_peer(a.ctx, src, 0, &b, dst, 0, bytes);
      }
      best = std::min(best, now() - t);
    }
    return best;
  };
  double sync_only = 1e9;
  for (int r = 0; r < 20; ++r) {
    double t = now();
    b.iface->synchronize(b.ctx);
    sync_only = std::min(sync_only, now() - t);
  }
  double small = timed(4096, 20), big = timed(n, 6);
  std::printf("LINK one-way copy: 4 KiB %.0f us (a bare synchronize %.0f us), %llu MiB %.1f ms = %.2f GB/s\n",
              small * 1e6, sync_only * 1e6, (unsigned long long)(n >> 20), big * 1e3, double(n) / big / 1e9);
  // The timed copies outgrow a same-host ring (32 MiB): the rest goes through the socket.
  expect(b.iface->buffer_read(b.ctx, dst, 0, back.data(), n) == MODNN_OK && back == want_a,
         "one-way copies larger than the shared ring arrive whole");
  small = timed(4096, 20, false), big = timed(n, 6, false);
  std::printf("LINK synchronous copy: 4 KiB %.0f us, %llu MiB %.1f ms = %.2f GB/s\n", small * 1e6,
              (unsigned long long)(n >> 20), big * 1e3, double(n) / big / 1e9);
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

  oneWay(a, b, src, dst, kBytes);

  a.iface->buffer_free(a.ctx, src);
  b.iface->buffer_free(b.ctx, dst);
  a.iface->destroy(a.ctx);
  b.iface->destroy(b.ctx);
  std::printf("%s\n", failures ? "worker->worker copies FAILED" : "worker->worker copies OK");
  return failures ? 1 : 0;
}
