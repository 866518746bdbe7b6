// A hostile client: leases a device of its own from the scheduler, then
// names another job's device address in every kind of command. Each attempt
// must fail (or, for an allocation at the same address, see only its own
// zeroed memory); exits 0 when isolation held.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "modnn/remote/scheduler_client.h"
#include "modnn/remote/worker_connection.h"

using namespace moai;

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "BREACH", what);
  failures += !ok;
}

bool syncFails(remote::WorkerConnection& c) {
  wire::RequestMsg r;
  r.body = wire::SyncReq{};
  return !c.request(r).ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: forge_client SCHEDULER VA SIZE\n");
    return 2;
  }
  std::string sched = argv[1];
  uint64_t va = std::strtoull(argv[2], nullptr, 10), size = std::strtoull(argv[3], nullptr, 10);
  auto lease = remote::requestLease(sched, 1);
  if (!lease) {
    std::fprintf(stderr, "lease: %s\n", lease.error().message.c_str());
    return 2;
  }
  const auto& dev = (*lease)->devices.at(0);
  auto conn = remote::WorkerConnection::open(dev.endpoints, (*lease)->job_id, (*lease)->token);
  if (!conn) {
    std::fprintf(stderr, "connect: %s\n", conn.error().message.c_str());
    return 2;
  }
  auto& c = **conn;
  std::vector<uint8_t> buf(size, 0);

  expect(c.read(0, va, buf.data(), size) != MODNN_OK, "read of the other job's address is refused");
  expect(c.write(0, va, buf.data(), size) == MODNN_OK && syncFails(c), "write to it fails at the next sync");

  wire::Command fill;
  fill.body = wire::FillCmd{va, size, 0, 1};
  c.command(fill);
  expect(syncFails(c), "memset of it fails");

  // An allocation of our own elsewhere, then a copy out of the other job's address.
  uint64_t mine = va + (1ull << 30);
  wire::Command alloc;
  alloc.body = wire::AllocCmd{mine, size};
  c.command(alloc);
  expect(!syncFails(c), "own allocation works");
  wire::Command copy;
  copy.body = wire::CopyCmd{mine, va, size};
  c.command(copy);
  expect(syncFails(c), "copy from the other job's address fails");

  // The same address in our own job is our own memory: zeros, not the secret.
  wire::Command same;
  same.body = wire::AllocCmd{va, size};
  c.command(same);
  expect(!syncFails(c), "allocating the same address in this job works");
  std::fill(buf.begin(), buf.end(), 0xff);
  bool read_ok = c.read(0, va, buf.data(), size) == MODNN_OK;
  bool zeros = read_ok && std::all_of(buf.begin(), buf.end(), [](uint8_t b) { return b == 0; });
  expect(zeros, "reading it returns this job's zeroed memory, not the other job's bytes");

  c.bye();
  return failures ? 1 : 0;
}
