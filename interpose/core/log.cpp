#include "interpose/core/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

namespace moai {

spdlog::logger& log() {
  static spdlog::logger* logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto* l = new spdlog::logger("moai", sink);  // leaked: used until the last atexit handler
    l->set_pattern("[moai %l] %v");
    const char* env = std::getenv("MOAI_LOG");
    l->set_level(env ? spdlog::level::from_str(env) : spdlog::level::warn);
    if (env && std::string(env) == "off") l->set_level(spdlog::level::off);
    return l;
  }();
  return *logger;
}

void logNotSupportedOnce(const char* api_name) {
  static std::mutex mu;
  static auto* seen = new std::set<std::string>;
  std::lock_guard<std::mutex> lock(mu);
  if (seen->insert(api_name).second) log().warn("{} is not supported by MoAI yet", api_name);
}

}  // namespace moai
