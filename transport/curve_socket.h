// Turning a ZeroMQ socket's tcp:// links into CurveZMQ ones.
//
// Options apply to the endpoints a socket binds or connects *after* they
// are set, so a socket can serve tcp:// with Curve and ipc:// without it
// (bind tcp, then makePlain, then bind ipc). ipc:// is guarded by its
// directory's permissions instead.
#pragma once
#include <zmq.hpp>

#include <string>

#include "transport/curve_keys.h"

namespace moai {

// A client's Curve settings for one server.
struct CurveClient {
  CurveKeyPair own;
  std::string server_public;  // Z85
};

// Server side: peers must speak Curve and know `own.public_key`; a ZAP
// handler in the same context (zap_handler.h), if any, vets their keys
// under `zap_domain`.
void makeCurveServer(zmq::socket_t& socket, const CurveKeyPair& own, const std::string& zap_domain);
// Client side: encrypts to, and authenticates, the server holding `server_public`.
void makeCurveClient(zmq::socket_t& socket, const CurveKeyPair& own, const std::string& server_public);
// Back to the NULL mechanism for endpoints bound after this.
void makePlain(zmq::socket_t& socket);

}  // namespace moai
