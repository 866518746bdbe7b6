// moai-worker: exposes this host's devices to MoAI jobs.
#include <csignal>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include "interpose/core/log.h"
#include "modnn/worker/worker_server.h"

namespace {

std::atomic<bool> g_stop{false};

void onSignal(int) { g_stop = true; }

uint64_t parseBytes(const std::string& s) {
  if (s.empty()) return 0;
  size_t end = 0;
  double v = std::stod(s, &end);
  switch (end < s.size() ? (s[end] | 0x20) : 0) {
    case 'k': v *= 1024.0; break;
    case 'm': v *= 1024.0 * 1024; break;
    case 'g': v *= 1024.0 * 1024 * 1024; break;
    case 't': v *= 1024.0 * 1024 * 1024 * 1024; break;
    default: break;
  }
  return uint64_t(v);
}

}  // namespace

int main(int argc, char** argv) {
  moai::worker::WorkerConfig c;
  std::string config_file, memory, log_level = "info";
  CLI::App app{"moai-worker: serves MoAI jobs on this host's devices"};
  app.add_option("--config", config_file, "TOML file; flags override it");
  app.add_option("--listen", c.listen_tcp, "tcp endpoint to bind (port * = any free port)");
  app.add_option("--ipc-dir", c.ipc_dir, "directory of the ipc:// socket (made private to this user)");
  app.add_option("--scheduler", c.scheduler, "moai-sched endpoint (tcp://host:port)");
  app.add_option("--token", c.standalone_token, "accept jobs presenting this token without a scheduler");
  app.add_option("--id", c.worker_id, "worker id (default: its tcp address)");
  app.add_option("--endpoint-file", c.endpoint_file, "write the bound endpoints to this file");
  app.add_option("--backend", c.backend, "cpu, cuda, or auto (cuda where a GPU is, else cpu)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--cpu-devices", c.cpu_devices, "CPU devices to expose")->check(CLI::Range(1, 64));
  app.add_option("--cpu-memory", memory, "memory per CPU device, e.g. 4G (default: half the RAM split evenly)");
  app.add_option("--cpu-threads", c.cpu_threads, "threads per CPU device (default: all cores)");
  app.add_option("--heartbeat", c.heartbeat_seconds, "seconds between heartbeats");
  // No $MOAI_KEY fallback: in a shell set up for clients it would name a user's key.
  app.add_option("--key", c.key, "CurveZMQ secret key file of this worker (moai keygen)");
  app.add_option("--scheduler-key", c.scheduler_key, "the scheduler's public key file: use CurveZMQ")
      ->envname("MOAI_SCHEDULER_KEY");
  app.add_option("--log-level", log_level, "debug, info, warn, error");
  CLI11_PARSE(app, argc, argv);

  if (!config_file.empty()) {
    try {
      toml::table t = toml::parse_file(config_file);
      // The file fills only what no flag set.
      auto fill = [&](const char* key, auto& field, const char* flag) {
        using T = std::decay_t<decltype(field)>;
        if (app.count(flag)) return;
        if (auto v = t[key].value<T>()) field = *v;
      };
      fill("listen", c.listen_tcp, "--listen");
      fill("ipc_dir", c.ipc_dir, "--ipc-dir");
      fill("scheduler", c.scheduler, "--scheduler");
      fill("id", c.worker_id, "--id");
      fill("backend", c.backend, "--backend");
      fill("cpu_devices", c.cpu_devices, "--cpu-devices");
      fill("cpu_threads", c.cpu_threads, "--cpu-threads");
      fill("cpu_memory", memory, "--cpu-memory");
      fill("heartbeat", c.heartbeat_seconds, "--heartbeat");
      fill("key", c.key, "--key");
      fill("scheduler_key", c.scheduler_key, "--scheduler-key");
      fill("log_level", log_level, "--log-level");
    } catch (const toml::parse_error& e) {
      std::fprintf(stderr, "moai-worker: %s: %s\n", config_file.c_str(), e.what());
      return 2;
    }
  }
  try {
    c.cpu_memory = parseBytes(memory);
  } catch (const std::exception&) {
    std::fprintf(stderr, "moai-worker: bad --cpu-memory '%s'\n", memory.c_str());
    return 2;
  }
  if (c.scheduler.empty() && c.standalone_token.empty()) {
    std::fprintf(stderr, "moai-worker: give --scheduler, or --token for standalone use\n");
    return 2;
  }
  moai::log().set_level(spdlog::level::from_str(log_level));
  std::signal(SIGTERM, onSignal);
  std::signal(SIGINT, onSignal);
  auto r = moai::worker::runWorker(c, g_stop);
  if (!r) {
    std::fprintf(stderr, "moai-worker: %s\n", r.error().message.c_str());
    return 1;
  }
  moai::log().info("moai-worker stopped");
  return 0;
}
