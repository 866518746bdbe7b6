// Finds and opens moDNN backend modules (libmodnn_<name>.so) at start-up.
#pragma once
#include <string>
#include <vector>

#include "interpose/core/result.h"
#include "modnn/backend.h"

namespace moai {

// Opens backend `name` ("cpu", "cuda", ...) and returns its devices.
// Searched in: $MOAI_BACKEND_DIR, next to the shim, the shim's moai/
// subfolder (installed layout), then the build tree.
Result<std::vector<modnn_device>> openBackend(const std::string& name, const modnn_backend_config& config);

}  // namespace moai
