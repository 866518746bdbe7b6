// moai-top's saved preferences: $XDG_CONFIG_HOME/moai/top.toml (or
// ~/.config/moai/top.toml).
//
//   interval = 1.0          # seconds between refreshes (-d overrides)
//   panel = "devices"       # focused panel: devices, jobs, workers
//   tree = false
//   [sort.devices]          # also [sort.jobs], [sort.workers]
//   column = "util"         # a name from tables.h's sortColumns()
//   descending = true
#pragma once
#include <string>

#include "interpose/core/result.h"
#include "tools/top/ui_state.h"

namespace moai::top {

// "" when neither XDG_CONFIG_HOME nor HOME is set.
std::string preferencesPath();
// A missing file leaves `ui` as it is; a malformed one is an error naming it.
Result<bool> loadPreferences(const std::string& path, UiState& ui);
// Writes atomically (a temporary file renamed over the old one).
Result<bool> savePreferences(const std::string& path, const UiState& ui);

}  // namespace moai::top
