// A client that only leases: asks the scheduler for DEVICES devices
// (waiting in its queue; MOAI_PRIORITY, MOAI_TIME_LIMIT, MOAI_DEVICE_KIND
// and MOAI_LEASE_TIMEOUT apply), prints "leased JOB N", holds the lease for
// SECONDS while following resizes ("changed JOB N", then it confirms), and
// releases it. Exits 1 when no lease came, printing why.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "modnn/remote/scheduler_client.h"

using namespace moai;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: lease_client SCHEDULER DEVICES SECONDS\n");
    return 2;
  }
  auto lease = remote::requestLease(argv[1], uint32_t(std::atoi(argv[2])));
  if (!lease) {
    std::printf("no lease: %s\n", lease.error().message.c_str());
    return 1;
  }
  std::printf("leased %llu %zu\n", (unsigned long long)(*lease)->job_id, (*lease)->devices.size());
  std::fflush(stdout);
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(std::atof(argv[3]));
  while (std::chrono::steady_clock::now() < until) {
    if (auto devices = remote::takeLeaseChange(**lease)) {
      std::printf("changed %llu %zu", (unsigned long long)(*lease)->job_id, devices->size());
      for (auto& d : *devices) std::printf(" %s:%u", d.worker_id.c_str(), d.index);
      std::printf("\n");
      std::fflush(stdout);
      remote::confirmResize(**lease);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::printf("done %llu\n", (unsigned long long)(*lease)->job_id);
  return 0;
}
