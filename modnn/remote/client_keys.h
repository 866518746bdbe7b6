// The client's CurveZMQ settings, from the environment (read once):
//   MOAI_SCHEDULER_KEY  the scheduler's public key file: talk Curve to it
//   MOAI_KEY            this client's secret key file; without it, a key
//                       pair made for this process (only a scheduler
//                       without --allow-keys accepts such a client)
#pragma once
#include <string>

#include "interpose/core/result.h"
#include "transport/curve_keys.h"

namespace moai::remote {

// The scheduler's public key, "" when MOAI_SCHEDULER_KEY is unset (plain tcp).
Result<std::string> schedulerCurveKey();
// This client's key pair, for the scheduler and for workers' Curve data ports.
Result<CurveKeyPair> clientCurveKeyPair();

}  // namespace moai::remote
