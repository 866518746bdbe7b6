#include "server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>

#include "transport/curve_socket.h"

namespace moai::sched {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);  // also the timeout-check period
constexpr int64_t kMaxFrameBytes = 4 << 20;  // a registration of 64 devices is ~20 KiB
constexpr int kLingerMs = 200;               // revokes still queued at shutdown
constexpr int kMaxBatch = 1000;              // frames per wake-up before timeouts run again

std::string hex(const std::string& route) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : route) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

}  // namespace

Server::Server(InventoryConfig config, std::unique_ptr<StateStore> store)
    : inventory_(config), store_(std::move(store)), socket_(context_, zmq::socket_type::router) {
  socket_.set(zmq::sockopt::router_mandatory, 1);  // an unreachable peer is an error, not a silent drop
  socket_.set(zmq::sockopt::maxmsgsize, kMaxFrameBytes);
  socket_.set(zmq::sockopt::linger, kLingerMs);
}

void Server::secure(const CurveKeyPair& key, std::optional<std::set<std::string>> allowed,
                    const std::string& allowed_path) {
  zap_ = std::make_unique<ZapHandler>(context_, std::move(allowed), *spdlog::default_logger());
  if (!allowed_path.empty()) zap_->watch(allowed_path);
  handshakes_ = std::make_unique<HandshakeLog>(context_, socket_, "moai-sched", *spdlog::default_logger());
  makeCurveServer(socket_, key, "moai-sched");
}

Result<std::string> Server::bind(const std::string& endpoint) {
  std::string address = endpoint;
  if (address.starts_with("tcp://") && address.ends_with(":0")) address.replace(address.size() - 1, 1, "*");
  try {
    socket_.bind(address);
  } catch (const zmq::error_t& e) {
    return makeError(MODNN_ERR_INVALID_VALUE, "cannot bind " + endpoint + ": " + e.what());
  }
  return socket_.get(zmq::sockopt::last_endpoint);
}

void Server::run(const volatile std::sig_atomic_t& stop) {
  while (!stop) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, kPollInterval);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
    for (int i = 0; i < kMaxBatch && receiveOne(); ++i) {
    }
    apply(inventory_.expire());
    if (metrics_ && metrics_->wanted()) {
      MetricsSnapshot snapshot = inventory_.snapshot();
      snapshot.refused_peers = (zap_ ? zap_->refused() : 0) + (handshakes_ ? handshakes_->failures() : 0);
      metrics_->publish(std::move(snapshot));
    }
  }
}

bool Server::receiveOne() {
  // [routing id][payload]; any further parts are read and dropped.
  std::array<zmq::message_t, 2> frames;
  size_t parts = 0;
  zmq::message_t part;
  do {
    if (!socket_.recv(part, zmq::recv_flags::dontwait)) return parts > 0;  // parts of one message arrive together
    if (parts < frames.size()) frames[parts] = std::move(part);
    ++parts;
  } while (socket_.get(zmq::sockopt::rcvmore));

  std::string route = frames[0].to_string();
  if (parts != 2) {
    spdlog::warn("peer {}: {} frames, expected one", hex(route), parts - 1);
    sendError(route, makeError(MODNN_ERR_INVALID_VALUE, "expected exactly one frame per message"));
    return true;
  }
  handle(route, frames[1].data(), frames[1].size());
  return true;
}

void Server::handle(const std::string& route, const void* data, size_t size) {
  auto message = wire::decodeToScheduler(data, size);
  if (!message) {
    spdlog::warn("peer {}: {}", hex(route), message.error().message);
    sendError(route, message.error());
    return;
  }
  std::visit([&](auto& m) { on(route, m); }, *message);
}

void Server::on(const std::string& route, wire::RegisterMsg& m) {
  std::string id = m.worker_id;
  size_t devices = m.devices.size();
  std::string first_endpoint = m.endpoints.front();
  auto effects = inventory_.registerWorker(std::move(m), route);
  if (!effects) {
    spdlog::warn("worker {} refused: {}", id, effects.error().message);
    sendError(route, effects.error());
    return;
  }
  spdlog::info("worker {} registered: {} devices at {}", id, devices, first_endpoint);
  effects->messages.insert(effects->messages.begin(), Outgoing{route, wire::RegisteredMsg{}});
  apply(std::move(*effects));
}

void Server::on(const std::string& route, wire::HeartbeatMsg& m) {
  if (inventory_.heartbeat(m.worker_id, route)) {
    if (!m.memory_used.empty() || !m.busy_seconds.empty()) inventory_.reportUsage(m);
    if (!m.job_busy.empty()) {
      inventory_.reportJobBusy(m);
      persist();
    }
    return;
  }
  spdlog::info("heartbeat from unregistered worker {}", m.worker_id);
  sendError(route, makeError(MODNN_ERR_NOT_REGISTERED, "worker " + m.worker_id + " is not registered: register again"));
}

void Server::on(const std::string& route, wire::LeaseRequestMsg& m) {
  auto effects = inventory_.requestLease(m, route);
  if (!effects) {
    spdlog::info("lease for user '{}' refused: {}", m.user, effects.error().message);
    sendError(route, effects.error());
    return;
  }
  apply(std::move(*effects));
}

void Server::on(const std::string& route, wire::KeepaliveMsg& m) {
  if (auto effects = inventory_.keepalive(m.job_id, route)) {
    if (!effects->messages.empty()) apply(std::move(*effects));
    return;
  }
  sendError(route, makeError(MODNN_ERR_INVALID_HANDLE, "job " + std::to_string(m.job_id) + " holds no lease"));
}

void Server::on(const std::string& route, wire::ReleaseMsg& m) {
  auto effects = inventory_.release(m.job_id, route);
  if (!effects) {
    sendError(route, makeError(MODNN_ERR_INVALID_HANDLE, "job " + std::to_string(m.job_id) + " holds no lease"));
    return;
  }
  apply(std::move(*effects));
}

void Server::on(const std::string& route, wire::StatusRequestMsg&) { send(route, inventory_.status()); }

void Server::on(const std::string& route, wire::CancelMsg& m) {
  reply(route, inventory_.cancel(m.job_id), "job " + std::to_string(m.job_id) + " cancelled");
}

void Server::on(const std::string& route, wire::DrainMsg& m) {
  reply(route, inventory_.drain(m.worker_id, m.drain),
        "worker " + m.worker_id + (m.drain ? " draining: no new leases, running ones finish" : " takes leases again"));
}

void Server::on(const std::string& route, wire::ResizeMsg& m) {
  reply(route, inventory_.resize(m.job_id, m.devices),
        "job " + std::to_string(m.job_id) + " resized to " + std::to_string(m.devices) + " devices");
}

void Server::on(const std::string& route, wire::ResizedMsg& m) {
  auto effects = inventory_.resized(m.job_id);
  if (!effects) {
    sendError(route, effects.error());
    return;
  }
  apply(std::move(*effects));
}

void Server::on(const std::string& route, wire::UsageRequestMsg&) { send(route, inventory_.usage()); }

void Server::on(const std::string& route, wire::MemoryReportMsg& m) {
  if (auto effects = inventory_.memoryReport(m, route)) {
    apply(std::move(*effects));  // also persists a changed prediction
    return;
  }
  sendError(route, makeError(MODNN_ERR_INVALID_HANDLE, "job " + std::to_string(m.job_id) + " holds no lease of this client"));
}

void Server::reply(const std::string& route, Result<Effects> effects, const std::string& done) {
  if (!effects) {
    spdlog::info("refused: {}", effects.error().message);
    sendError(route, effects.error());
    return;
  }
  effects->messages.push_back({route, wire::OkMsg{done}});
  apply(std::move(*effects));
}

void Server::apply(Effects effects) {
  for (auto& e : effects.events) spdlog::info("{}", e);
  persist();
  for (auto& m : effects.messages)
    if (!m.route.empty()) send(m.route, m.message);  // "" = a peer not heard from since a restart
}

Result<std::string> Server::restore() {
  if (!store_) return std::string("no state file: starting empty");
  auto snapshot = store_->load();
  if (!snapshot) return snapshot.error();
  size_t workers = snapshot->workers.size(), jobs = snapshot->jobs.size(), usage = snapshot->usage.size();
  uint64_t next = snapshot->next_job_id;
  inventory_.restore(std::move(*snapshot));
  persist();
  return "restored " + std::to_string(workers) + " workers, " + std::to_string(jobs) + " jobs, " +
         std::to_string(usage) + " usage records; next job id " + std::to_string(next);
}

void Server::persist() {
  Changes changes = inventory_.takeChanges();
  if (!store_ || changes.empty()) return;
  auto written = store_->apply(changes);
  // The daemon goes on from memory: a full disk must not stop the cluster.
  if (!written) spdlog::error("state not saved: {}", written.error().message);
}

void Server::sendError(const std::string& route, const Error& error) {
  send(route, wire::ErrorMsg{uint32_t(error.code), error.message.substr(0, wire::kMaxNameBytes)});
}

void Server::send(const std::string& route, const wire::FromSchedulerMsg& message) {
  std::vector<uint8_t> bytes = wire::encodeFromScheduler(message);
  try {
    // Once the routing frame is accepted the payload is too; a full queue
    // (slow peer) refuses the routing frame and the message is dropped.
    if (socket_.send(zmq::buffer(route), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    else if (dropped_[route]++ == 0)  // once per peer: a gone peer would flood the log
      spdlog::warn("peer {}: send queue full, messages dropped from now on", hex(route));
  } catch (const zmq::error_t& e) {
    spdlog::debug("peer {} unreachable: {}", hex(route), e.what());
  }
}

}  // namespace moai::sched
