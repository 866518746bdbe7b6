#include "modnn/cpu/cpu_log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace modnn::cpu {
namespace {

LogLevel threshold() {
  static const LogLevel level = [] {
    const char* env = std::getenv("MOAI_LOG");
    if (!env) return LogLevel::Warn;
    if (!std::strcmp(env, "debug") || !std::strcmp(env, "trace")) return LogLevel::Debug;
    if (!std::strcmp(env, "info")) return LogLevel::Info;
    if (!std::strcmp(env, "error") || !std::strcmp(env, "critical")) return LogLevel::Error;
    if (!std::strcmp(env, "off")) return LogLevel(4);
    return LogLevel::Warn;
  }();
  return level;
}

const char* name(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warning";
    default: return "error";
  }
}

}  // namespace

bool logEnabled(LogLevel level) { return int(level) >= int(threshold()); }

void log(LogLevel level, const char* fmt, ...) {
  if (!logEnabled(level)) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "[moai] [cpu] %s: %s\n", name(level), buf);
}

}  // namespace modnn::cpu
