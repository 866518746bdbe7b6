#include "modnn/remote/scheduler_client.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "interpose/core/log.h"
#include "modnn/remote/client_keys.h"
#include "scheduler_messages.h"
#include "transport/curve_socket.h"

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

// Curve when MOAI_SCHEDULER_KEY names the scheduler's key (client_keys.h).
Result<bool> secure(zmq::socket_t& s) {
  auto server = schedulerCurveKey();
  if (!server) return server.error();
  if (server->empty()) return false;
  auto own = clientCurveKeyPair();
  if (!own) return own.error();
  makeCurveClient(s, *own, *server);
  return true;
}

Result<zmq::socket_t> connect(zmq::context_t& ctx, const std::string& endpoint) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 1000);
  auto curve = secure(s);
  if (!curve) return curve.error();
  s.connect(endpoint);
  return s;
}

// Why a handshake with the scheduler failed, from a socket monitor event.
std::string handshakeFailure(zmq::socket_t& monitor) {
  zmq::message_t header, address;
  if (!monitor.recv(header, zmq::recv_flags::dontwait)) return "";
  if (header.more()) (void)monitor.recv(address);
  uint16_t event = 0;
  if (header.size() >= 2) std::memcpy(&event, header.data(), 2);
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) return "the scheduler refused this client's key (set MOAI_KEY to an allowed key)";
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
    return "the scheduler speaks other security (set MOAI_SCHEDULER_KEY for a Curve scheduler, unset it for a plain one)";
  auto server = schedulerCurveKey();
  if (server && server->empty())
    return "the handshake with the scheduler failed (it may require CurveZMQ: set MOAI_SCHEDULER_KEY)";
  return "the handshake with the scheduler failed (is MOAI_SCHEDULER_KEY the scheduler's public key?)";
}

}  // namespace

Result<std::shared_ptr<Lease>> requestLease(const std::string& scheduler, uint32_t devices) {
  auto connected = connect(context(), scheduler);
  if (!connected) return makeError(MODNN_ERR_NOT_PERMITTED, connected.error().message);
  zmq::socket_t s = std::move(*connected);
  // A refused handshake otherwise looks like a silent scheduler until the timeout.
  static std::atomic<int> monitors{0};
  std::string monitor_endpoint = "inproc://moai-sched-handshake-" + std::to_string(monitors++);
  zmq_socket_monitor(s.handle(), monitor_endpoint.c_str(),
                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  zmq::socket_t monitor(context(), zmq::socket_type::pair);
  monitor.set(zmq::sockopt::linger, 0);
  monitor.connect(monitor_endpoint);
  wire::LeaseRequestMsg req;
  req.devices = devices;
  if (const char* user = std::getenv("USER")) req.user = user;
  if (const char* kind = std::getenv("MOAI_DEVICE_KIND")) req.kind = kind;
  auto bytes = wire::encodeToScheduler(req);
  s.send(zmq::buffer(bytes), zmq::send_flags::none);
  zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}, {monitor.handle(), 0, ZMQ_POLLIN, 0}};
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(leaseTimeoutSeconds());
  Error last{MODNN_ERR_DEVICE_UNAVAILABLE, "no answer from the scheduler at " + scheduler};
  while (std::chrono::steady_clock::now() < until) {
    if (zmq::poll(items, 2, std::chrono::milliseconds(200)) == 0) continue;
    if (items[1].revents & ZMQ_POLLIN) {
      std::string why = handshakeFailure(monitor);
      if (!why.empty()) return makeError(MODNN_ERR_NOT_PERMITTED, why + " at " + scheduler);
    }
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
    for (const auto& d : l->lease.devices) lease->devices.push_back(LeasedDevice{d.worker_id, d.endpoints, d.index, d.curve_key});
    Lease* raw = lease.get();
    lease->keepalive = std::thread([raw, scheduler] {
      auto connected = connect(context(), scheduler);
      if (!connected) return;  // cannot happen: the same settings just worked
      zmq::socket_t k = std::move(*connected);
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
  auto connected = connect(ctx, scheduler);
  if (!connected) return;
  zmq::socket_t s = std::move(*connected);
  auto bytes = wire::encodeToScheduler(wire::ReleaseMsg{job_id});
  s.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  s.close();
  ctx.close();
}

}  // namespace moai::remote
