// moai-sched's network side: one ZeroMQ ROUTER socket that workers and
// clients reach with DEALER sockets, a poll loop that also runs the
// timeouts, and the translation between frames and Inventory calls.
//
// Every frame is [routing id][one Cap'n Proto message]. A frame that does
// not decode gets an `error` reply and a log line; nothing a peer sends
// stops the loop.
#pragma once
#include <zmq.hpp>

#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "inventory.h"
#include "metrics_http.h"
#include "transport/curve_keys.h"
#include "transport/handshake_log.h"
#include "transport/zap_handler.h"
#include "state_store.h"

namespace moai::sched {

class Server {
 public:
  // `store`, if given, receives every state change before any message
  // about it leaves.
  explicit Server(InventoryConfig config, std::unique_ptr<StateStore> store = nullptr);

  // Takes the store's state in (a restarted scheduler). Returns a summary.
  Result<std::string> restore();

  // Binds `endpoint` (a tcp:// port of 0 picks a free one) and returns the
  // endpoint actually bound.
  Result<std::string> bind(const std::string& endpoint);
  // Before bind: every peer must use CurveZMQ with this server key, and
  // only `allowed` public keys get in (nullopt: any Curve key).
  // `allowed_path`, if set, is watched for changes (ZapHandler::watch).
  void secure(const CurveKeyPair& key, std::optional<std::set<std::string>> allowed,
              const std::string& allowed_path = "");
  // Publishes snapshots to `metrics` when it asks; it must outlive run().
  void setMetrics(MetricsHttp* metrics) { metrics_ = metrics; }
  // Serves until `stop` becomes non-zero (a signal handler sets it).
  void run(const volatile std::sig_atomic_t& stop);

 private:
  bool receiveOne();
  void handle(const std::string& route, const void* data, size_t size);
  void on(const std::string& route, wire::RegisterMsg& m);
  void on(const std::string& route, wire::HeartbeatMsg& m);
  void on(const std::string& route, wire::LeaseRequestMsg& m);
  void on(const std::string& route, wire::KeepaliveMsg& m);
  void on(const std::string& route, wire::ReleaseMsg& m);
  void on(const std::string& route, wire::StatusRequestMsg& m);
  void on(const std::string& route, wire::CancelMsg& m);
  void on(const std::string& route, wire::DrainMsg& m);
  void on(const std::string& route, wire::ResizeMsg& m);
  void on(const std::string& route, wire::ResizedMsg& m);
  void on(const std::string& route, wire::UsageRequestMsg& m);
  void on(const std::string& route, wire::MemoryReportMsg& m);
  // Logs, then sends: an admin command's reply (`ok` with `done`, or the
  // error) goes to `route` after the effects' own messages.
  void apply(Effects effects);
  void reply(const std::string& route, Result<Effects> effects, const std::string& done);
  // Writes what the inventory changed to the state store, if there is one,
  // before any message about it leaves.
  void persist();
  void send(const std::string& route, const wire::FromSchedulerMsg& message);
  void sendError(const std::string& route, const Error& error);

  Inventory inventory_;
  std::unique_ptr<StateStore> store_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::map<std::string, uint64_t> dropped_;  // messages dropped per peer route
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<HandshakeLog> handshakes_;
  MetricsHttp* metrics_ = nullptr;
};

}  // namespace moai::sched
