// The client's side of the scheduler protocol: ask for a lease (waiting in
// the scheduler's queue if need be), keep it alive, follow its resizes,
// release it.
//
// Environment: MOAI_LEASE_TIMEOUT (s, default 30: the longest wait for a
// lease, queue included), MOAI_DEVICE_KIND ("h100|a100": any of),
// MOAI_MIN_MEMORY (bytes per device), MOAI_PRIORITY (integer, higher first),
// MOAI_TIME_LIMIT (s, 0 = none), MOAI_SHAREABLE (1 = may share devices),
// MOAI_SHARE_WEIGHT (its share of a shared device's time, default 1).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interpose/core/result.h"
#include "modnn/remote/lease.h"

namespace moai::remote {

// Asks `scheduler` for `devices` devices, each predicted to need
// `predicted_memory` bytes at the job's peak (0 = unknown); starts the
// lease's keepalive thread, which also reports the client's memory forecast.
Result<std::shared_ptr<Lease>> requestLease(const std::string& scheduler, uint32_t devices,
                                            uint64_t predicted_memory = 0);
void releaseLease(const std::string& scheduler, uint64_t job_id);

// The lease's whole new device list if the scheduler resized it since the
// last call (devices it kept come first, in their old order; new ones
// follow). Thread-safe; call it at a flush. Devices the new list lacks stay
// usable until confirmResize().
std::optional<std::vector<LeasedDevice>> takeLeaseChange(Lease& lease);
// Tells the scheduler the client's data is off the devices the last change
// dropped, so they can go to other jobs. Thread-safe, returns at once.
void confirmResize(Lease& lease);

}  // namespace moai::remote
