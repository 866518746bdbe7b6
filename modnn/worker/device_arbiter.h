// DeviceArbiter: weighted time-slicing of one device between the jobs that
// share it, at command boundaries.
//
// Each job on the device has a virtual time that grows by the device time
// its commands take divided by its weight (stride scheduling). When several
// jobs want the device, the one with the least virtual time runs its next
// command; a job that was idle rejoins at the virtual time of the device, so
// idleness earns it no credit to starve the others with later. A busy job
// thus gets its weighted share and a light one waits at most for the
// command running when it arrives.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>

namespace moai::worker {

class DeviceArbiter {
 public:
  // Blocks until `job` may run a command on the device (true), or until the
  // job is forgotten meanwhile (false: it ended; run nothing).
  bool enter(uint64_t job, uint32_t weight);
  // The command `enter` admitted ran for `busy_ns`. `again`: the job's next
  // command for this device is already here and it will enter at once; it
  // keeps the device if its turn is not over (another job waiting woken in
  // between would otherwise take the device from a job with less virtual time).
  void leave(uint64_t job, uint64_t busy_ns, bool again = false);
  // The job is gone from the device; a wait of its in enter() ends.
  void forget(uint64_t job);

  // For tests and status: the job's virtual time (ns of device time / weight).
  double virtualTime(uint64_t job) const;

 private:
  struct Share {
    double vtime = 0;
    uint32_t weight = 1;
    bool waiting = false;
  };
  bool mayRun(uint64_t job) const;  // under mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Share> jobs_;
  uint64_t running_ = 0;   // the job running a command now, 0 = none
  double clock_ = 0;       // the virtual time of the command that last started
};

}  // namespace moai::worker
