#include "scheduler_call.h"

#include <zmq.hpp>

#include "modnn/remote/client_keys.h"
#include "transport/curve_socket.h"

namespace moai::cli {

std::optional<wire::FromSchedulerMsg> call(const std::string& endpoint, const wire::ToSchedulerMsg& request,
                                           std::chrono::milliseconds timeout) {
  CurveSettings curve;
  auto server = remote::schedulerCurveKey();
  if (!server) return wire::ErrorMsg{uint32_t(server.error().code), server.error().message};
  if (!server->empty()) {
    auto own = remote::clientCurveKeyPair();
    if (!own) return wire::ErrorMsg{uint32_t(own.error().code), own.error().message};
    curve = CurveSettings{*own, *server};
  }
  return call(endpoint, request, timeout, curve);
}

std::optional<wire::FromSchedulerMsg> call(const std::string& endpoint, const wire::ToSchedulerMsg& request,
                                           std::chrono::milliseconds timeout, const CurveSettings& curve) {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  if (!curve.server_public.empty()) makeCurveClient(s, curve.own, curve.server_public);
  try {
    s.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return wire::ErrorMsg{MODNN_ERR_INVALID_VALUE, "bad scheduler endpoint " + endpoint + ": " + e.what()};
  }
  auto bytes = wire::encodeToScheduler(request);
  if (!s.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) return std::nullopt;
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
  zmq::message_t frame;
  if (!s.recv(frame, zmq::recv_flags::dontwait)) return std::nullopt;
  auto reply = wire::decodeFromScheduler(frame.data(), frame.size());
  if (!reply) return wire::ErrorMsg{MODNN_ERR_INVALID_VALUE, "bad reply from the scheduler: " + reply.error().message};
  return std::move(*reply);
}

}  // namespace moai::cli
