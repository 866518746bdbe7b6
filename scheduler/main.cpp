// moai-sched: the control plane daemon (DESIGN.md §1). Prints
// "moai-sched listening on ENDPOINT" on stdout once bound, serves until
// SIGTERM or SIGINT, and then exits 0.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config.h"
#include "metrics_http.h"
#include "server.h"
#include "transport/curve_keys.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void onSignal(int) { g_stop = 1; }

// Written whole under a temporary name, so a reader never sees half a line.
bool writeEndpointFile(const std::string& path, const std::string& endpoint) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!(out << endpoint << "\n")) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

// CurveZMQ from --key and --allow-keys, or plain tcp with a warning.
bool secure(const moai::sched::SchedulerConfig& config, moai::sched::Server& server) {
  if (config.key.empty()) {
    spdlog::warn("no --key: links to workers and clients are neither authenticated nor encrypted");
    return true;
  }
  auto key = moai::readCurveSecretKeyFile(config.key);
  if (!key) {
    spdlog::error("{}", key.error().message);
    return false;
  }
  std::optional<std::set<std::string>> allowed;
  if (!config.allow_keys.empty()) {
    auto list = moai::loadCurveAllowList(config.allow_keys);
    if (!list) {
      spdlog::error("{}", list.error().message);
      return false;
    }
    allowed = std::move(*list);
    spdlog::info("CurveZMQ on, public key {}; {} peer keys allowed", key->public_key, allowed->size());
  } else {
    spdlog::warn("CurveZMQ on, public key {}; no --allow-keys: any peer that knows this key may connect",
                 key->public_key);
  }
  server.secure(*key, std::move(allowed), config.allow_keys);
  return true;
}

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = moai::sched::parseConfig(argc, argv);
  if (auto* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  auto& config = std::get<moai::sched::SchedulerConfig>(parsed);

  spdlog::set_default_logger(spdlog::stderr_color_mt("moai-sched"));  // stdout carries the endpoint line
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  struct sigaction action {};
  action.sa_handler = onSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  moai::sched::InventoryConfig inventory;
  inventory.heartbeat_timeout = seconds(config.heartbeat_timeout_s);
  inventory.client_timeout = seconds(config.client_timeout_s);
  inventory.placement = config.placement;
  inventory.share_headroom = config.share_headroom;
  inventory.prices = config.prices;
  for (auto& [kind, price] : config.prices.per_kind) spdlog::info("price of a busy {} device-minute: {}", kind, price);
  spdlog::info("price of a busy device-minute of other kinds: {}", config.prices.default_price);
  std::unique_ptr<moai::sched::StateStore> store;
  if (!config.state.empty()) {
    auto opened = moai::sched::StateStore::open(config.state);
    if (!opened) {
      spdlog::error("{}", opened.error().message);
      return 1;
    }
    store = std::move(*opened);
  }
  moai::sched::Server server(inventory, std::move(store));
  if (!secure(config, server)) return 1;
  auto restored = server.restore();
  if (!restored) {
    spdlog::error("cannot load the state from {}: {}", config.state, restored.error().message);
    return 1;
  }
  spdlog::info("{}", *restored);
  std::unique_ptr<moai::sched::MetricsHttp> metrics;
  if (!config.metrics_listen.empty()) {
    auto started = moai::sched::MetricsHttp::start(config.metrics_listen);
    if (!started) {
      spdlog::error("{}", started.error().message);
      return 1;
    }
    metrics = std::move(*started);
    server.setMetrics(metrics.get());
    spdlog::info("metrics at {}/metrics", metrics->address());
    if (!config.metrics_endpoint_file.empty() && !writeEndpointFile(config.metrics_endpoint_file, metrics->address())) {
      spdlog::error("cannot write {}", config.metrics_endpoint_file);
      return 1;
    }
  }
  auto endpoint = server.bind(config.listen);
  if (!endpoint) {
    spdlog::error("{}", endpoint.error().message);
    return 1;
  }
  std::printf("moai-sched listening on %s\n", endpoint->c_str());
  std::fflush(stdout);
  if (!config.endpoint_file.empty() && !writeEndpointFile(config.endpoint_file, *endpoint)) {
    spdlog::error("cannot write {}", config.endpoint_file);
    return 1;
  }
  spdlog::info("listening on {}; heartbeat timeout {} s, client timeout {} s", *endpoint, config.heartbeat_timeout_s,
               config.client_timeout_s);
  server.run(g_stop);
  spdlog::info("shutting down");
  return 0;
}
