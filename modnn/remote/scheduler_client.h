// The client's side of the scheduler protocol: ask for a lease, keep it
// alive, release it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "interpose/core/result.h"
#include "modnn/remote/lease.h"

namespace moai::remote {

// Asks `scheduler` for `devices` devices; starts the lease's keepalive thread.
Result<std::shared_ptr<Lease>> requestLease(const std::string& scheduler, uint32_t devices);
void releaseLease(const std::string& scheduler, uint64_t job_id);

}  // namespace moai::remote
