// What `moai status|workers|jobs|usage` show. Each listing is built once as
// JSON (what --json prints) and the text tables are drawn from that JSON, so
// both always say the same.
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "schemas/scheduler_messages.h"

namespace moai::cli {

using nlohmann::json;

// "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", as nvidia-smi names devices.
std::string uuidText(const std::array<uint8_t, 16>& uuid);

json summaryListing(const wire::StatusMsg& status);
json workersListing(const wire::StatusMsg& status);
json jobsListing(const wire::StatusMsg& status, double now);
json usageListing(const wire::UsageMsg& usage, double now);
// The per-minute usage records, of one job (job != 0) or all.
json minutesListing(const wire::UsageMsg& usage, uint64_t job);

std::string summaryText(const json& listing);
std::string workersText(const json& listing);
std::string jobsText(const json& listing);
std::string usageText(const json& listing);
std::string minutesText(const json& listing);

}  // namespace moai::cli
