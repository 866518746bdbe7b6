// SchedulerLink: the worker's side of the scheduler protocol: register the
// devices, heartbeat, and learn which job tokens to accept.
//
// A handshake the scheduler refuses (our key not allowed, or security that
// does not match) is logged and retried every few seconds: libzmq gives up
// after an authentication failure, and the key may be allowed later.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "modnn/backend.h"
#include "transport/curve_socket.h"

namespace moai::worker {

// Per device, in the worker's order.
struct DeviceUsage {
  std::vector<uint64_t> memory_used;  // bytes jobs hold allocated
  std::vector<double> busy_seconds;   // running jobs' commands, since the worker started
  double uptime_seconds = 0;          // since the worker started, on the same clock
  std::vector<std::pair<uint64_t, double>> job_busy;  // per open job: device-seconds its work ran here
};

// What a job's lease grants on this worker.
struct JobTerms {
  std::vector<uint32_t> indices;  // this worker's devices
  uint64_t memory_quota = 0;      // bytes per device; 0 = whole devices
  uint32_t share_weight = 1;
};

// What the scheduler said since the last poll, for the worker to act on.
struct SchedulerNews {
  std::vector<uint64_t> revoked;                          // jobs to end
  std::vector<std::pair<uint64_t, uint64_t>> quotas;      // (job, bytes per device): a quota grew
};

class SchedulerLink {
 public:
  // `curve`: reach the scheduler over CurveZMQ (null: plain); `data_key`:
  // the Curve public key of this worker's tcp:// data port ("" = plain),
  // registered so clients learn it with their lease.
  SchedulerLink(zmq::context_t& ctx, const std::string& endpoint, std::string worker_id,
                std::vector<std::string> endpoints, std::vector<modnn_device_props> devices,
                double heartbeat_seconds, const CurveClient* curve = nullptr, std::string data_key = "");

  // Called at each heartbeat for what it carries about the devices.
  void setUsageReport(std::function<DeviceUsage()> report) { usage_report_ = std::move(report); }

  zmq::socket_t& socket() { return sock_; }
  // Handles what arrived (when `readable`) and sends due heartbeats.
  SchedulerNews poll(bool readable);
  // What `token` was granted for `job_id`; nullopt if nothing here.
  std::optional<JobTerms> grant(const std::string& token, uint64_t job_id) const;

 private:
  void sendRegister();
  void watchHandshakes();

  zmq::socket_t sock_;
  zmq::socket_t monitor_;  // handshake failures of sock_
  std::string endpoint_;
  std::chrono::steady_clock::time_point reconnect_at_{};  // {} = none due
  std::chrono::steady_clock::time_point next_refusal_log_{};
  std::string worker_id_;
  std::vector<std::string> endpoints_;
  std::vector<modnn_device_props> devices_;
  std::string data_key_;
  std::function<DeviceUsage()> usage_report_;
  std::chrono::duration<double> heartbeat_;
  std::chrono::steady_clock::time_point next_heartbeat_;
  struct Grant {
    uint64_t job_id;
    JobTerms terms;
  };
  std::map<std::string, Grant> grants_;  // by token
};

}  // namespace moai::worker
