// One request to moai-sched and its reply, for the `moai` CLI.
#pragma once
#include <chrono>
#include <optional>
#include <string>

#include "schemas/scheduler_messages.h"

namespace moai::cli {

// Sends `request` to `endpoint` and waits up to `timeout` for the reply;
// nullopt when none came (the scheduler cannot be reached). A reply that
// does not decode comes back as an ErrorMsg.
std::optional<wire::FromSchedulerMsg> call(const std::string& endpoint, const wire::ToSchedulerMsg& request,
                                           std::chrono::milliseconds timeout);

}  // namespace moai::cli
