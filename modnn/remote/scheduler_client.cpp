#include "modnn/remote/scheduler_client.h"

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
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

constexpr auto kKeepaliveInterval = std::chrono::milliseconds(1000);  // in ms: a tenth of it must not round to 0

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

// An integer from the environment; `fallback` when unset.
Result<int64_t> envInteger(const char* name, int64_t fallback, int64_t min, int64_t max) {
  const char* s = std::getenv(name);
  if (!s || !*s) return fallback;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s, &end, 10);
  if (errno || *end || v < min || v > max)
    return makeError(MODNN_ERR_INVALID_VALUE, std::string(name) + "=" + s + ": expected an integer from " +
                                                  std::to_string(min) + " to " + std::to_string(max));
  return int64_t(v);
}

Result<wire::LeaseRequestMsg> leaseRequest(uint32_t devices, uint64_t predicted_memory) {
  wire::LeaseRequestMsg req;
  req.devices = devices;
  req.predicted_memory = predicted_memory;
  if (const char* user = std::getenv("USER")) req.user = user;
  if (const char* kind = std::getenv("MOAI_DEVICE_KIND")) req.kind = kind;
  auto priority = envInteger("MOAI_PRIORITY", 0, INT32_MIN, INT32_MAX);
  auto limit = envInteger("MOAI_TIME_LIMIT", 0, 0, UINT32_MAX);
  auto memory = envInteger("MOAI_MIN_MEMORY", 0, 0, INT64_MAX);
  auto shareable = envInteger("MOAI_SHAREABLE", 0, 0, 1);
  auto weight = envInteger("MOAI_SHARE_WEIGHT", 1, 1, 1000);
  for (auto* r : {&priority, &limit, &memory, &shareable, &weight})
    if (!*r) return r->error();
  req.share_weight = uint32_t(*weight);
  req.priority = int32_t(*priority);
  req.time_limit_s = uint32_t(*limit);
  req.min_memory_per_device = uint64_t(*memory);
  req.shareable = *shareable == 1;
  return req;
}

std::vector<LeasedDevice> devicesOf(const wire::LeaseEntry& lease) {
  std::vector<LeasedDevice> out;
  for (const auto& d : lease.devices) out.push_back(LeasedDevice{d.worker_id, d.endpoints, d.index, d.curve_key});
  return out;
}

// The keepalive thread: pings every second, takes in lease changes, and
// sends `resized` when the client confirms one. Its socket is the one the
// scheduler writes to about this job (a keepalive moves the job there).
void keepAlive(Lease* lease, std::string scheduler) {
  auto connected = connect(context(), scheduler);
  if (!connected) return;  // cannot happen: the same settings just worked
  zmq::socket_t k = std::move(*connected);
  k.set(zmq::sockopt::linger, 0);
  auto ping = wire::encodeToScheduler(wire::KeepaliveMsg{lease->job_id});
  auto resized = wire::encodeToScheduler(wire::ResizedMsg{lease->job_id});
  wire::MemoryReportMsg reported{lease->job_id, 0, 0};
  auto next_ping = std::chrono::steady_clock::now();
  zmq::pollitem_t item{k.handle(), 0, ZMQ_POLLIN, 0};
  while (!lease->stop.load()) {
    if (std::chrono::steady_clock::now() >= next_ping) {
      k.send(zmq::buffer(ping), zmq::send_flags::dontwait);
      next_ping = std::chrono::steady_clock::now() + kKeepaliveInterval;
    }
    // The forecast, when it moved by a MiB or more since the last report.
    wire::MemoryReportMsg now{lease->job_id, lease->predicted_peak.load(), lease->peak_allocated.load()};
    auto moved = [](uint64_t a, uint64_t b) { return (a > b ? a - b : b - a) >= (1u << 20); };
    if (moved(now.predicted_peak, reported.predicted_peak) || moved(now.peak_allocated, reported.peak_allocated)) {
      auto report = wire::encodeToScheduler(now);
      if (k.send(zmq::buffer(report), zmq::send_flags::dontwait)) reported = now;
    }
    // A send refused for now (the connection is being set up again) is
    // tried again at the next tick: a lost confirmation would leave the
    // dropped devices held.
    if (lease->confirm.exchange(false) && !k.send(zmq::buffer(resized), zmq::send_flags::dontwait))
      lease->confirm = true;
    // Wait a tick for what the scheduler says, and read all of it, so a
    // lease change is seen at once and the scheduler's queue to us never fills.
    zmq::poll(&item, 1, kKeepaliveInterval / 10);
    for (zmq::message_t reply; k.recv(reply, zmq::recv_flags::dontwait);) {
      auto msg = wire::decodeFromScheduler(reply.data(), reply.size());
      if (!msg) continue;
      if (std::holds_alternative<wire::RevokeMsg>(*msg)) {
        log().error("the scheduler revoked job {}'s lease", lease->job_id);
      } else if (auto* c = std::get_if<wire::LeaseChangedMsg>(&*msg); c && c->lease.job_id == lease->job_id) {
        log().info("job {}'s lease now has {} device(s)", lease->job_id, c->lease.devices.size());
        std::lock_guard<std::mutex> lock(lease->change_mu);
        lease->changed = devicesOf(c->lease);
      } else if (auto* q = std::get_if<wire::QuotaMsg>(&*msg); q && q->job_id == lease->job_id) {
        log().info("job {}'s memory quota grew to {} MiB per device", lease->job_id, q->bytes >> 20);
        lease->memory_quota = q->bytes;
      }
    }
  }
}

}  // namespace

Result<std::shared_ptr<Lease>> requestLease(const std::string& scheduler, uint32_t devices, uint64_t predicted_memory) {
  auto req = leaseRequest(devices, predicted_memory);
  if (!req) return req.error();
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
  auto bytes = wire::encodeToScheduler(*req);
  s.send(zmq::buffer(bytes), zmq::send_flags::none);
  zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}, {monitor.handle(), 0, ZMQ_POLLIN, 0}};
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(leaseTimeoutSeconds());
  uint64_t queued_job = 0;  // while waiting in the scheduler's queue
  auto next_keepalive = std::chrono::steady_clock::now();
  Error last{MODNN_ERR_DEVICE_UNAVAILABLE, "no answer from the scheduler at " + scheduler};
  while (std::chrono::steady_clock::now() < until) {
    if (queued_job && std::chrono::steady_clock::now() >= next_keepalive) {
      auto ping = wire::encodeToScheduler(wire::KeepaliveMsg{queued_job});
      s.send(zmq::buffer(ping), zmq::send_flags::dontwait);
      next_keepalive = std::chrono::steady_clock::now() + kKeepaliveInterval;
    }
    if (zmq::poll(items, 2, std::chrono::milliseconds(200)) == 0) continue;
    if (items[1].revents & ZMQ_POLLIN) {
      std::string why = handshakeFailure(monitor);
      if (!why.empty()) return makeError(MODNN_ERR_NOT_PERMITTED, why + " at " + scheduler);
    }
    zmq::message_t frame;
    if (!s.recv(frame, zmq::recv_flags::dontwait)) continue;
    auto msg = wire::decodeFromScheduler(frame.data(), frame.size());
    if (!msg) return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, "bad reply from the scheduler: " + msg.error().message);
    if (auto* e = std::get_if<wire::ErrorMsg>(&*msg))
      return Error{modnn_status(e->code), "the scheduler refused the lease: " + e->message};
    if (auto* q = std::get_if<wire::QueuedMsg>(&*msg)) {
      queued_job = q->job_id;
      next_keepalive = std::chrono::steady_clock::now() + kKeepaliveInterval;
      log().info("queued as job {} at position {}: {}", q->job_id, q->position, q->reason);
      last = Error{MODNN_ERR_DEVICE_UNAVAILABLE, "job " + std::to_string(q->job_id) + " still queued after " +
                                                     std::to_string(leaseTimeoutSeconds()) +
                                                     " s (MOAI_LEASE_TIMEOUT): " + q->reason};
      continue;
    }
    if (auto* r = std::get_if<wire::RevokeMsg>(&*msg); r && r->job_id == queued_job)
      return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, "job " + std::to_string(queued_job) + " was cancelled while queued");
    auto* l = std::get_if<wire::LeaseMsg>(&*msg);
    if (!l) continue;
    auto lease = std::make_shared<Lease>();
    lease->job_id = l->lease.job_id;
    lease->token = l->lease.token;
    lease->scheduler = scheduler;
    lease->devices = devicesOf(l->lease);
    lease->memory_quota = l->lease.memory_quota;
    lease->keepalive = std::thread(keepAlive, lease.get(), scheduler);
    track(lease);
    if (l->lease.memory_quota)
      log().info("leased {} shared device(s) as job {}, with a quota of {} MiB each", lease->devices.size(),
                 lease->job_id, l->lease.memory_quota >> 20);
    else
      log().info("leased {} device(s) as job {}", lease->devices.size(), lease->job_id);
    return lease;
  }
  if (queued_job) releaseLease(scheduler, queued_job);  // stop waiting: leave the queue
  return last;
}

std::optional<std::vector<LeasedDevice>> takeLeaseChange(Lease& lease) {
  std::lock_guard<std::mutex> lock(lease.change_mu);
  auto out = std::move(lease.changed);
  lease.changed.reset();
  return out;
}

void confirmResize(Lease& lease) { lease.confirm = true; }

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
