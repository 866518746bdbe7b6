// Logging for the CPU backend: one line per message on stderr, filtered by
// MOAI_LOG (debug|info|warn|error, default warn) like the rest of MoAI.
#pragma once

namespace modnn::cpu {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

bool logEnabled(LogLevel level);
void log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace modnn::cpu
