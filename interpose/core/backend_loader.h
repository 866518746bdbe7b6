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
//
// `isolated`: load it into a link-map namespace of its own (dlmopen), where
// the names the shim exports (cuBLAS, cudart, ...) are not visible. Inside
// the shim, a backend that loads NVIDIA's libraries needs this: NVIDIA's
// cuBLAS would otherwise bind its cuBLASLt calls to the shim. Falls back to
// the common namespace if the loader refuses.
Result<std::vector<modnn_device>> openBackend(const std::string& name, const modnn_backend_config& config,
                                              bool isolated = false);

}  // namespace moai
