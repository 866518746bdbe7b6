// Lease tokens: the secret a client shows a worker to use a lease's devices.
#pragma once
#include <string>

namespace moai::sched {

// 32 bytes from the OS's random source, as 64 lower-case hex digits.
std::string newLeaseToken();

}  // namespace moai::sched
