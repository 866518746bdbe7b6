// Logs the connections a socket refuses at the ZeroMQ handshake: a plain
// peer at a Curve server (or the reverse), a peer that knows the wrong
// server key (ZAP refusals are logged by the ZAP handler). Runs on a thread
// of its own; at most one line per minute, with a count of those left out.
#pragma once
#include <spdlog/logger.h>
#include <zmq.hpp>

#include <atomic>
#include <string>
#include <thread>

namespace moai {

class HandshakeLog {
 public:
  // `socket` must outlive this object; `what` names it in the log ("moai-sched").
  HandshakeLog(zmq::context_t& context, zmq::socket_t& socket, std::string what, spdlog::logger& log);
  ~HandshakeLog();
  HandshakeLog(const HandshakeLog&) = delete;
  HandshakeLog& operator=(const HandshakeLog&) = delete;

  uint64_t failures() const { return failures_.load(); }

 private:
  void run();

  zmq::socket_t monitor_;
  std::string what_;
  spdlog::logger& log_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> failures_{0};
  std::thread thread_;
};

}  // namespace moai
