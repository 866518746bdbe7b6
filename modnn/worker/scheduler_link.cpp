#include "modnn/worker/scheduler_link.h"

#include <algorithm>
#include <cstring>

#include "interpose/core/log.h"
#include "scheduler_messages.h"

namespace moai::worker {
namespace {

constexpr auto kRetryRefused = std::chrono::seconds(2);
constexpr auto kRefusalLogInterval = std::chrono::seconds(60);

}  // namespace

SchedulerLink::SchedulerLink(zmq::context_t& ctx, const std::string& endpoint, std::string worker_id,
                             std::vector<std::string> endpoints, std::vector<modnn_device_props> devices,
                             double heartbeat_seconds, const CurveClient* curve, std::string data_key)
    : sock_(ctx, zmq::socket_type::dealer),
      monitor_(ctx, zmq::socket_type::pair),
      endpoint_(endpoint),
      worker_id_(std::move(worker_id)),
      endpoints_(std::move(endpoints)),
      devices_(std::move(devices)),
      data_key_(std::move(data_key)),
      heartbeat_(heartbeat_seconds) {
  sock_.set(zmq::sockopt::linger, 0);
  if (curve) makeCurveClient(sock_, curve->own, curve->server_public);
  std::string monitor = "inproc://moai-worker-scheduler-link-" + std::to_string(reinterpret_cast<uintptr_t>(this));
  zmq_socket_monitor(sock_.handle(), monitor.c_str(),
                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(monitor);
  sock_.connect(endpoint);
  sendRegister();
  next_heartbeat_ = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(heartbeat_);
}

void SchedulerLink::sendRegister() {
  auto bytes = wire::encodeToScheduler(wire::RegisterMsg{worker_id_, endpoints_, devices_, data_key_});
  sock_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
}

void SchedulerLink::watchHandshakes() {
  auto now = std::chrono::steady_clock::now();
  for (zmq::message_t event; monitor_.recv(event, zmq::recv_flags::dontwait);) {
    uint16_t what = 0;
    if (event.size() >= 2) std::memcpy(&what, event.data(), 2);
    while (event.more() && monitor_.recv(event, zmq::recv_flags::dontwait)) {
    }
    if (now >= next_refusal_log_) {
      next_refusal_log_ = now + kRefusalLogInterval;
      log().warn("the scheduler at {} refused this worker: {}; retrying every {} s", endpoint_,
                 what == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "its key is not allowed"
                                                         : "the handshake failed (security settings or key mismatch)",
                 std::chrono::seconds(kRetryRefused).count());
    }
    if (reconnect_at_ == std::chrono::steady_clock::time_point{}) reconnect_at_ = now + kRetryRefused;
  }
  if (reconnect_at_ != std::chrono::steady_clock::time_point{} && now >= reconnect_at_) {
    reconnect_at_ = {};
    try {
      sock_.disconnect(endpoint_);
    } catch (const zmq::error_t&) {
    }
    sock_.connect(endpoint_);
    sendRegister();  // what was queued went with the old connection
  }
}

SchedulerNews SchedulerLink::poll(bool readable) {
  watchHandshakes();
  SchedulerNews news;
  zmq::message_t frame;
  while (readable && sock_.recv(frame, zmq::recv_flags::dontwait)) {
    auto msg = wire::decodeFromScheduler(frame.data(), frame.size());
    if (!msg) {
      log().warn("bad message from the scheduler: {}", msg.error().message);
      continue;
    }
    if (auto* g = std::get_if<wire::GrantMsg>(&*msg)) {
      Grant grant{g->lease.job_id, {{}, g->lease.memory_quota, g->lease.share_weight}};
      for (const auto& d : g->lease.devices)
        if (d.worker_id == worker_id_ && d.index < devices_.size()) grant.terms.indices.push_back(d.index);
      std::sort(grant.terms.indices.begin(), grant.terms.indices.end());
      grants_[g->lease.token] = std::move(grant);
    } else if (auto* q = std::get_if<wire::QuotaMsg>(&*msg)) {
      for (auto& [token, grant] : grants_)
        if (grant.job_id == q->job_id && grant.terms.memory_quota) grant.terms.memory_quota = q->bytes;
      news.quotas.emplace_back(q->job_id, q->bytes);
    } else if (auto* d = std::get_if<wire::DropDevicesMsg>(&*msg)) {
      // A shrunk lease that keeps other devices here: a new hello may no
      // longer open the dropped ones.
      for (auto& [token, grant] : grants_)
        if (grant.job_id == d->job_id)
          std::erase_if(grant.terms.indices, [&](uint32_t i) { return std::count(d->indices.begin(), d->indices.end(), i) > 0; });
    } else if (auto* r = std::get_if<wire::RevokeMsg>(&*msg)) {
      std::erase_if(grants_, [&](const auto& kv) { return kv.second.job_id == r->job_id; });
      news.revoked.push_back(r->job_id);
    } else if (std::holds_alternative<wire::RegisteredMsg>(*msg)) {
      log().info("registered with the scheduler as {}", worker_id_);
    } else if (auto* e = std::get_if<wire::ErrorMsg>(&*msg)) {
      if (e->code == MODNN_ERR_NOT_REGISTERED) {
        // The scheduler declared us dead (or restarted): our grants are void;
        // register again so new leases can come.
        log().warn("the scheduler no longer knows this worker: registering again");
        grants_.clear();
        sendRegister();
      } else {
        log().warn("scheduler: {}", e->message);
      }
    }
  }
  auto now = std::chrono::steady_clock::now();
  if (now >= next_heartbeat_) {
    wire::HeartbeatMsg heartbeat{worker_id_, {}, {}, 0};
    if (usage_report_) {
      DeviceUsage usage = usage_report_();
      heartbeat.memory_used = std::move(usage.memory_used);
      heartbeat.busy_seconds = std::move(usage.busy_seconds);
      heartbeat.uptime_seconds = usage.uptime_seconds;
      heartbeat.job_busy = std::move(usage.job_busy);
    }
    auto bytes = wire::encodeToScheduler(heartbeat);
    sock_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    next_heartbeat_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(heartbeat_);
  }
  return news;
}

std::optional<JobTerms> SchedulerLink::grant(const std::string& token, uint64_t job_id) const {
  auto it = grants_.find(token);
  if (it == grants_.end() || it->second.job_id != job_id || it->second.terms.indices.empty()) return std::nullopt;
  return it->second.terms;
}

}  // namespace moai::worker
