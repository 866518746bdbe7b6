// WorkerServer: the network side of moai-worker.
//
// One I/O thread owns every socket: a ROUTER that clients reach over tcp://
// and ipc://, a DEALER to the scheduler (registration, heartbeats, lease
// grants and revocations) and a PULL where job threads leave their replies.
// Each job runs on its own thread, so a long kernel of one job never delays
// another job's messages or the heartbeats.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "interpose/core/result.h"

namespace moai::worker {

struct WorkerConfig {
  std::string listen_tcp = "tcp://127.0.0.1:*";  // "*" port: pick a free one
  std::string ipc_dir;                           // "" = $XDG_RUNTIME_DIR or /tmp/moai-$UID
  std::string scheduler;                         // "" = standalone (tests, benchmarks)
  std::string standalone_token;                  // accepted without a scheduler grant
  std::string worker_id;                         // "" = host:port
  std::string endpoint_file;                     // write the bound endpoints here
  std::string backend = "auto";                  // cpu, cuda, or auto: cuda where a GPU is, else cpu
  int cpu_devices = 1;
  uint64_t cpu_memory = 0;                       // per device, 0 = backend default
  int cpu_threads = 0;                           // per device, 0 = all cores
  double heartbeat_seconds = 1.0;
  // CurveZMQ (README "Security"): with `scheduler_key` (the scheduler's
  // public key file) the link to the scheduler and the tcp:// data port use
  // Curve, with the key pair in `key` (a secret key file) or, without one,
  // a pair made for this run. Without `scheduler_key`: plain tcp.
  std::string key;
  std::string scheduler_key;
};

// Serves until `stop` becomes true. Returns an error if it cannot start.
Result<int> runWorker(const WorkerConfig& config, const std::atomic<bool>& stop);

}  // namespace moai::worker
