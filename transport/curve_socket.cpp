#include "transport/curve_socket.h"

namespace moai {

void makeCurveServer(zmq::socket_t& socket, const CurveKeyPair& own, const std::string& zap_domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
  socket.set(zmq::sockopt::zap_domain, zap_domain);
}

void makeCurveClient(zmq::socket_t& socket, const CurveKeyPair& own, const std::string& server_public) {
  socket.set(zmq::sockopt::curve_serverkey, server_public);
  socket.set(zmq::sockopt::curve_publickey, own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
}

void makePlain(zmq::socket_t& socket) {
  // libzmq: also selects the NULL mechanism. The ZAP domain stays (libzmq
  // refuses an empty one), so the ZAP handler hears of these NULL
  // handshakes too and lets them in (zap_handler.h).
  socket.set(zmq::sockopt::curve_server, 0);
}

}  // namespace moai
