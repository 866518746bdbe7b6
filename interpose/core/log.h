// Logging for the client runtime: spdlog to stderr, level from MOAI_LOG
// (debug|info|warn|error, default warn).
#pragma once
#include <spdlog/spdlog.h>

namespace moai {

spdlog::logger& log();

// Logs "NAME is not supported by MoAI yet" once per name, for the export
// layers' fallbacks. Thread-safe; cheap after the first call per name.
void logNotSupportedOnce(const char* api_name);

}  // namespace moai
