// A ZAP 1.0 handler (RFC 27): decides which Curve public keys may connect
// to the Curve server sockets of its ZeroMQ context.
//
// libzmq asks the handler bound at inproc://zeromq.zap.01 about every Curve
// handshake; one handler serves one context. It runs on a thread of its own,
// so a slow decision never blocks the sockets' owner. Refusals are logged
// (once per key and address per minute at most, so a retrying peer cannot
// flood the log).
//
// A NULL-mechanism request is let in: libzmq sends one only for an endpoint
// its owner left plain on purpose (a Curve server refuses a plain peer
// before ZAP is asked), such as a worker's ipc:// socket.
#pragma once
#include <spdlog/logger.h>
#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace moai {

class ZapHandler {
 public:
  // `allowed`: the public keys (Z85) let in; nullopt = any Curve key (the
  // handshake still proves the peer holds the key's secret half).
  // Throws zmq::error_t if the context already has a handler.
  ZapHandler(zmq::context_t& context, std::optional<std::set<std::string>> allowed, spdlog::logger& log);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  uint64_t refused() const { return refused_.load(); }
  // Re-reads the allow-list at `path` (curve_keys.h) whenever its
  // modification time changes (a directory's changes when a key file is
  // added, removed or renamed into it), so keys can be added without a
  // restart. A list that no longer reads keeps the previous one, with an
  // error in the log.
  void watch(const std::string& path);

 private:
  void run();
  void reloadIfChanged();

  zmq::socket_t socket_;
  std::optional<std::set<std::string>> allowed_;  // the handler thread's alone
  spdlog::logger& log_;
  std::mutex watch_mu_;
  std::string watched_;
  std::filesystem::file_time_type watched_mtime_;
  std::chrono::steady_clock::time_point next_check_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_{0};
  std::thread thread_;
};

}  // namespace moai
