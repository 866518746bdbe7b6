// A client that presents tokens the scheduler did not issue for the job it
// names: a forged token, another lease's token, its own token under another
// job id. The worker must refuse each, and still open the genuine pairs.
// Exits 0 when every check held. Leases two devices' worth as two jobs, so
// both grants sit on the worker the forgeries are tried against.
#include <cstdio>
#include <string>

#include "modnn/remote/scheduler_client.h"
#include "modnn/remote/worker_connection.h"

using namespace moai;

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  std::fflush(stdout);
  failures += !ok;
}

bool opens(const remote::Lease& lease, uint64_t job_id, const std::string& token, bool curve = true) {
  const auto& d = lease.devices.at(0);
  auto c = remote::WorkerConnection::open(d.endpoints, job_id, token, curve ? d.curve_key : "");
  if (!c) {
    std::printf("  refused: %s\n", c.error().message.c_str());
    return false;
  }
  (*c)->bye();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: token_forger SCHEDULER\n");
    return 2;
  }
  auto a = remote::requestLease(argv[1], 1);
  auto b = remote::requestLease(argv[1], 1);
  if (!a || !b) {
    std::fprintf(stderr, "lease: %s\n", (a ? b : a).error().message.c_str());
    return 2;
  }
  const remote::Lease& la = **a;
  const remote::Lease& lb = **b;
  if (la.devices.at(0).worker_id != lb.devices.at(0).worker_id) {
    std::fprintf(stderr, "the two leases should share one worker\n");
    return 2;
  }
  expect(!la.devices[0].curve_key.empty(), "the lease carries the worker's Curve key");
  expect(!opens(la, la.job_id, la.token, false), "a plain tcp:// client is refused by the Curve data port");
  std::string forged = la.token;
  forged[0] = forged[0] == '0' ? '1' : '0';
  expect(!opens(la, la.job_id, forged), "a forged token is refused");
  expect(!opens(la, la.job_id, std::string(64, '0')), "an all-zero token is refused");
  expect(!opens(la, la.job_id, lb.token), "another lease's token is refused");
  expect(!opens(la, la.job_id + 1000, la.token), "the token under another job id is refused");
  expect(!opens(la, lb.job_id, la.token), "the token under the other lease's job id is refused");
  expect(opens(la, la.job_id, la.token), "the issued token opens its own job");
  expect(opens(lb, lb.job_id, lb.token), "the other issued token opens its job");
  return failures ? 1 : 0;
}
