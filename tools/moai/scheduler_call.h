// One request to moai-sched and its reply, for the `moai` CLI and moai-top.
#pragma once
#include <chrono>
#include <optional>
#include <string>

#include "schemas/scheduler_messages.h"
#include "transport/curve_keys.h"

namespace moai::cli {

// Sends `request` to `endpoint` and waits up to `timeout` for the reply;
// nullopt when none came (the scheduler cannot be reached). A reply that
// does not decode comes back as an ErrorMsg.
// CurveZMQ from the environment, as programs do (MOAI_SCHEDULER_KEY, MOAI_KEY).
std::optional<wire::FromSchedulerMsg> call(const std::string& endpoint, const wire::ToSchedulerMsg& request,
                                           std::chrono::milliseconds timeout);

// With explicit Curve settings; `server_public` "" = plain tcp.
struct CurveSettings {
  CurveKeyPair own;
  std::string server_public;
};
std::optional<wire::FromSchedulerMsg> call(const std::string& endpoint, const wire::ToSchedulerMsg& request,
                                           std::chrono::milliseconds timeout, const CurveSettings& curve);

}  // namespace moai::cli
