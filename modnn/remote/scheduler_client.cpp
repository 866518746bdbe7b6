#include "modnn/remote/scheduler_client.h"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "interpose/core/log.h"
#include "scheduler_messages.h"

namespace moai::remote {
namespace {

constexpr auto kKeepaliveInterval = std::chrono::seconds(1);

double leaseTimeoutSeconds() {
  const char* s = std::getenv("MOAI_LEASE_TIMEOUT");
  return s ? std::atof(s) : 30.0;
}

// Leases still held at exit are released then: the client runtime itself is
// never destroyed (programs call CUDA from their own exit handlers).
std::mutex g_mu;
std::vector<std::weak_ptr<Lease>>* g_live = nullptr;

void releaseAtExit() {
  std::vector<std::shared_ptr<Lease>> live;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (auto& w : *g_live)
      if (auto l = w.lock()) live.push_back(std::move(l));
    g_live->clear();
  }
  for (auto& l : live) {
    l->stop = true;
    if (l->keepalive.joinable()) l->keepalive.join();
    if (!l->scheduler.empty()) releaseLease(l->scheduler, l->job_id);
    l->scheduler.clear();  // released: the destructor must not do it again
  }
}

void track(const std::shared_ptr<Lease>& lease) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_live) {
    g_live = new std::vector<std::weak_ptr<Lease>>;
    std::atexit(releaseAtExit);
  }
  g_live->push_back(lease);
}

zmq::context_t& context() {
  static auto* ctx = new zmq::context_t;  // outlives every exit handler
  return *ctx;
}

zmq::socket_t connect(const std::string& endpoint) {
  zmq::socket_t s(context(), zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 1000);
  s.connect(endpoint);
  return s;
}

}  // namespace

Result<std::shared_ptr<Lease>> requestLease(const std::string& scheduler, uint32_t devices) {
  zmq::socket_t s = connect(scheduler);
  wire::LeaseRequestMsg req;
  req.devices = devices;
  if (const char* user = std::getenv("USER")) req.user = user;
  if (const char* kind = std::getenv("MOAI_DEVICE_KIND")) req.kind = kind;
  auto bytes = wire::encodeToScheduler(req);
  s.send(zmq::buffer(bytes), zmq::send_flags::none);
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(leaseTimeoutSeconds());
  Error last{MODNN_ERR_DEVICE_UNAVAILABLE, "no answer from the scheduler at " + scheduler};
  while (std::chrono::steady_clock::now() < until) {
    if (zmq::poll(&item, 1, std::chrono::milliseconds(200)) == 0) continue;
    zmq::message_t frame;
    if (!s.recv(frame, zmq::recv_flags::dontwait)) continue;
    auto msg = wire::decodeFromScheduler(frame.data(), frame.size());
    if (!msg) return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, "bad reply from the scheduler: " + msg.error().message);
    if (auto* e = std::get_if<wire::ErrorMsg>(&*msg)) {
      // Not enough free devices yet: ask again until the lease timeout (the
      // scheduler has no queue of its own yet).
      last = Error{modnn_status(e->code), "the scheduler refused the lease: " + e->message};
      if (e->code != MODNN_ERR_OUT_OF_MEMORY) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      s.send(zmq::buffer(bytes), zmq::send_flags::none);
      continue;
    }
    auto* l = std::get_if<wire::LeaseMsg>(&*msg);
    if (!l) continue;
    auto lease = std::make_shared<Lease>();
    lease->job_id = l->lease.job_id;
    lease->token = l->lease.token;
    lease->scheduler = scheduler;
    for (const auto& d : l->lease.devices) lease->devices.push_back(LeasedDevice{d.worker_id, d.endpoints, d.index});
    Lease* raw = lease.get();
    lease->keepalive = std::thread([raw, scheduler] {
      zmq::socket_t k = connect(scheduler);
      k.set(zmq::sockopt::linger, 0);
      auto ping = wire::encodeToScheduler(wire::KeepaliveMsg{raw->job_id});
      while (!raw->stop.load()) {
        k.send(zmq::buffer(ping), zmq::send_flags::dontwait);
        // Read what the scheduler says back, so its queue to us never fills.
        for (zmq::message_t reply; k.recv(reply, zmq::recv_flags::dontwait);) {
          auto msg = wire::decodeFromScheduler(reply.data(), reply.size());
          if (msg && std::holds_alternative<wire::RevokeMsg>(*msg))
            log().error("the scheduler revoked job {}'s lease", raw->job_id);
        }
        for (int i = 0; i < 10 && !raw->stop.load(); ++i)
          std::this_thread::sleep_for(kKeepaliveInterval / 10);
      }
    });
    track(lease);
    log().info("leased {} device(s) as job {}", lease->devices.size(), lease->job_id);
    return lease;
  }
  return last;
}

void releaseLease(const std::string& scheduler, uint64_t job_id) {
  // A context of its own: terminating it waits (up to the linger) until the
  // release is on the wire, even when this runs at process exit.
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 1000);
  s.connect(scheduler);
  auto bytes = wire::encodeToScheduler(wire::ReleaseMsg{job_id});
  s.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  s.close();
  ctx.close();
}

}  // namespace moai::remote
