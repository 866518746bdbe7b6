#include "modnn/worker/scheduler_link.h"

#include <algorithm>

#include "interpose/core/log.h"
#include "scheduler_messages.h"

namespace moai::worker {

SchedulerLink::SchedulerLink(zmq::context_t& ctx, const std::string& endpoint, std::string worker_id,
                             std::vector<std::string> endpoints, std::vector<modnn_device_props> devices,
                             double heartbeat_seconds)
    : sock_(ctx, zmq::socket_type::dealer),
      worker_id_(std::move(worker_id)),
      endpoints_(std::move(endpoints)),
      devices_(std::move(devices)),
      heartbeat_(heartbeat_seconds) {
  sock_.set(zmq::sockopt::linger, 0);
  sock_.connect(endpoint);
  sendRegister();
  next_heartbeat_ = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(heartbeat_);
}

void SchedulerLink::sendRegister() {
  auto bytes = wire::encodeToScheduler(wire::RegisterMsg{worker_id_, endpoints_, devices_});
  sock_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
}

std::vector<uint64_t> SchedulerLink::poll(bool readable) {
  std::vector<uint64_t> revoked;
  zmq::message_t frame;
  while (readable && sock_.recv(frame, zmq::recv_flags::dontwait)) {
    auto msg = wire::decodeFromScheduler(frame.data(), frame.size());
    if (!msg) {
      log().warn("bad message from the scheduler: {}", msg.error().message);
      continue;
    }
    if (auto* g = std::get_if<wire::GrantMsg>(&*msg)) {
      Grant grant{g->lease.job_id, {}};
      for (const auto& d : g->lease.devices)
        if (d.worker_id == worker_id_ && d.index < devices_.size()) grant.indices.push_back(d.index);
      std::sort(grant.indices.begin(), grant.indices.end());
      grants_[g->lease.token] = std::move(grant);
    } else if (auto* d = std::get_if<wire::DropDevicesMsg>(&*msg)) {
      // A shrunk lease that keeps other devices here: a new hello may no
      // longer open the dropped ones.
      for (auto& [token, grant] : grants_)
        if (grant.job_id == d->job_id)
          std::erase_if(grant.indices, [&](uint32_t i) { return std::count(d->indices.begin(), d->indices.end(), i) > 0; });
    } else if (auto* r = std::get_if<wire::RevokeMsg>(&*msg)) {
      std::erase_if(grants_, [&](const auto& kv) { return kv.second.job_id == r->job_id; });
      revoked.push_back(r->job_id);
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
    auto bytes = wire::encodeToScheduler(wire::HeartbeatMsg{worker_id_});
    sock_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    next_heartbeat_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(heartbeat_);
  }
  return revoked;
}

bool SchedulerLink::grant(const std::string& token, uint64_t job_id, std::vector<uint32_t>* indices) const {
  auto it = grants_.find(token);
  if (it == grants_.end() || it->second.job_id != job_id || it->second.indices.empty()) return false;
  *indices = it->second.indices;
  return true;
}

}  // namespace moai::worker
