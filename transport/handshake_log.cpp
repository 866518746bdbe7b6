#include "transport/handshake_log.h"

#include <atomic>
#include <chrono>
#include <cstring>

namespace moai {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr auto kLogInterval = std::chrono::seconds(60);

std::string reason(uint16_t event, uint32_t value) {
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
    return "it does not use the same security (plain tcp against CurveZMQ, or the reverse)";
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) return "protocol error " + std::to_string(value);
  // libzmq 4.3 reports a plain peer at a Curve server this way too.
  return "handshake failed (a plain tcp:// peer, or one that uses a wrong server key)";
}

}  // namespace

HandshakeLog::HandshakeLog(zmq::context_t& context, zmq::socket_t& socket, std::string what, spdlog::logger& log)
    : monitor_(context, zmq::socket_type::pair), what_(std::move(what)), log_(log) {
  static std::atomic<int> counter{0};
  std::string endpoint = "inproc://moai-handshake-log-" + std::to_string(counter++);
  // ZAP refusals are the ZAP handler's to log (it knows the key).
  int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
  if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), events) != 0) throw zmq::error_t();
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(endpoint);
  thread_ = std::thread([this] { run(); });
}

HandshakeLog::~HandshakeLog() {
  stop_ = true;
  thread_.join();
}

void HandshakeLog::run() {
  auto last_logged = std::chrono::steady_clock::now() - kLogInterval;
  uint64_t unlogged = 0;
  while (!stop_.load()) {
    zmq::pollitem_t item{monitor_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, kPollInterval) == 0) continue;
    zmq::message_t header, address;
    if (!monitor_.recv(header, zmq::recv_flags::dontwait)) continue;
    if (header.more()) (void)monitor_.recv(address);
    if (header.size() < 6) continue;
    uint16_t event;
    uint32_t value;
    std::memcpy(&event, header.data(), 2);
    std::memcpy(&value, static_cast<const char*>(header.data()) + 2, 4);
    ++failures_;
    auto now = std::chrono::steady_clock::now();
    if (now - last_logged < kLogInterval) {
      ++unlogged;
      continue;
    }
    last_logged = now;
    log_.warn("{}: refused a connection on {}: {}{}", what_, address.to_string(), reason(event, value),
              unlogged ? " (and " + std::to_string(unlogged) + " more since the last such line)" : "");
    unlogged = 0;
  }
}

}  // namespace moai
