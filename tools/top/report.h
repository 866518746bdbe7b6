// `moai-top --once`: one snapshot for scripts, as JSON or as the plain text
// of the screen (no colours, no key hints).
#pragma once
#include <string>

#include "tools/top/cluster_source.h"
#include "tools/top/ui_state.h"

namespace moai::top {

// Missing values are null; "error" / "metrics_error" are null when that
// source answered.
std::string snapshotJson(const Fetch& fetch, const std::string& scheduler, const std::string& metrics_url);
std::string snapshotText(const Fetch& fetch, const UiState& ui, const std::string& scheduler,
                         const std::string& metrics_url, int width);

}  // namespace moai::top
