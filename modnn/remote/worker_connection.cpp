#include "modnn/remote/worker_connection.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "interpose/core/log.h"
#include "modnn/remote/client_keys.h"
#include "transport/curve_socket.h"

namespace moai::remote {
namespace {

constexpr size_t kBatchBytes = 4u << 20;   // flush a batch past this much inline data
constexpr size_t kBatchCommands = 4096;
constexpr uint64_t kChunkBytes = 8u << 20; // largest single write/read message
constexpr size_t kShmBytes = 64u << 20;
constexpr const char* kMonitorEndpoint = "inproc://moai-worker-monitor";

double requestTimeoutSeconds() {
  const char* s = std::getenv("MOAI_REQUEST_TIMEOUT");
  return s ? std::atof(s) : 600.0;  // a kernel may run for minutes; loss is caught by disconnects
}

// Prefer ipc:// (shared memory) when the worker's socket file exists here.
std::string pickEndpoint(const std::vector<std::string>& endpoints) {
  if (!std::getenv("MOAI_NO_IPC"))
    for (const auto& e : endpoints)
      if (e.rfind("ipc://", 0) == 0 && access(e.c_str() + 6, W_OK) == 0) return e;
  for (const auto& e : endpoints)
    if (e.rfind("tcp://", 0) == 0) return e;
  return endpoints.empty() ? std::string() : endpoints.front();
}

}  // namespace

Result<std::unique_ptr<WorkerConnection>> WorkerConnection::open(const std::vector<std::string>& endpoints,
                                                                 uint64_t job_id, const std::string& token,
                                                                 const std::string& worker_key, bool peer) {
  auto c = std::unique_ptr<WorkerConnection>(new WorkerConnection);
  c->endpoint_ = pickEndpoint(endpoints);
  if (c->endpoint_.empty()) return makeError(MODNN_ERR_INVALID_VALUE, "the lease names no worker endpoint");
  c->sock_ = zmq::socket_t(c->ctx_, zmq::socket_type::dealer);
  c->sock_.set(zmq::sockopt::linger, 0);
  c->sock_.set(zmq::sockopt::heartbeat_ivl, 1000);
  c->sock_.set(zmq::sockopt::heartbeat_timeout, 5000);
  // A lost worker must fail the job, not be waited for: no reconnects.
  c->sock_.set(zmq::sockopt::reconnect_ivl, -1);
  std::string monitor = std::string(kMonitorEndpoint) + "-" + std::to_string(reinterpret_cast<uintptr_t>(c.get()));
  zmq_socket_monitor(c->sock_.handle(), monitor.c_str(),
                     ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  if (c->endpoint_.rfind("tcp://", 0) == 0 && !worker_key.empty()) {
    auto own = clientCurveKeyPair();
    if (!own) return own.error();
    makeCurveClient(c->sock_, *own, worker_key);
  }
  c->monitor_ = zmq::socket_t(c->ctx_, zmq::socket_type::pair);
  c->monitor_.connect(monitor);
  c->sock_.connect(c->endpoint_);

  wire::HelloMsg hello;
  hello.protocol_version = schema::PROTOCOL_VERSION;
  hello.job_id = job_id;
  hello.token = token;
  if (c->endpoint_.rfind("ipc://", 0) == 0) {
    auto shm = ShmSegment::create(kShmBytes);
    if (!shm) return shm.error();
    hello.shm_name = (*shm)->name();
    hello.shm_size = (*shm)->size();
    (peer ? c->peer_ring_ : c->shm_) = std::move(shm).value();
  }
  std::lock_guard<std::mutex> lock(c->mu_);
  // The scheduler tells the worker about a lease just before the client
  // hears of it: retry briefly if the worker has not seen the grant yet.
  for (int attempt = 0;; ++attempt) {
    if (modnn_status st = c->sendLocked(wire::encodeHello(hello)); st != MODNN_OK)
      return makeError(st, "cannot reach worker " + c->endpoint_);
    auto reply = c->awaitLocked(0);
    if (!reply) return makeError(reply.error().code, "worker " + c->endpoint_ + ": " + reply.error().message);
    if (auto* ok = std::get_if<wire::HelloOkMsg>(&reply->body)) {
      c->devices_ = ok->devices;
      break;
    }
    auto* err = std::get_if<wire::ErrorMsg>(&reply->body);
    if (!err || err->code != MODNN_ERR_NOT_PERMITTED || attempt >= 20)
      return makeError(err ? modnn_status(err->code) : MODNN_ERR_UNKNOWN,
                       "worker " + c->endpoint_ + " refused the job: " + (err ? err->message : "unexpected reply"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto* seg : {c->shm_.get(), c->peer_ring_.get()})
    if (seg) seg->unlinkName();  // mapped on both sides: nobody else needs the name
  return c;
}

WorkerConnection::~WorkerConnection() { bye(); }

void WorkerConnection::bye() {
  std::lock_guard<std::mutex> lock(mu_);
  if (lost_ || !sock_) return;
  flushLocked();
  sendLocked(wire::encodeBye());
  lost_ = true;  // nothing may follow a bye
}

// A DEALER whose peer is gone (and not yet noticed) blocks a send forever:
// wait for room, and give up once the monitor reports the loss (a dead
// worker's connection drops, at the latest by the ZeroMQ heartbeat).
bool WorkerConnection::writableLocked() {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(requestTimeoutSeconds());
  while (!lost_) {
    zmq::pollitem_t items[] = {{sock_.handle(), 0, ZMQ_POLLOUT, 0}, {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds(100));
    if (items[1].revents & ZMQ_POLLIN) {
      log().error("lost the connection to worker {}", endpoint_);
      lost_ = true;
    } else if (items[0].revents & ZMQ_POLLOUT) {
      return true;
    } else if (std::chrono::steady_clock::now() > until) {
      lost_ = true;
    }
  }
  return false;
}

modnn_status WorkerConnection::sendLocked(const std::vector<uint8_t>& frame) {
  try {
    // Usually taken at once; only a refused send waits (and polls).
    while (!lost_) {
      if (sock_.send(zmq::buffer(frame), zmq::send_flags::dontwait)) return MODNN_OK;
      if (!writableLocked()) break;
    }
  } catch (const zmq::error_t&) {
    lost_ = true;
  }
  return MODNN_ERR_DEVICE_UNAVAILABLE;
}

modnn_status WorkerConnection::flushLocked() {
  if (batch_.empty()) return lost_ ? MODNN_ERR_DEVICE_UNAVAILABLE : MODNN_OK;
  modnn_status st = sendLocked(wire::encodeCommands(batch_));
  batch_.clear();
  owned_.clear();
  batch_bytes_ = 0;
  return st;
}

void WorkerConnection::flush() {
  std::lock_guard<std::mutex> lock(mu_);
  flushLocked();
}

void WorkerConnection::command(wire::Command c) {
  std::lock_guard<std::mutex> lock(mu_);
  // Spans in the command must outlive the batch: keep our own copy.
  if (auto* l = std::get_if<wire::LaunchCmd>(&c.body)) {
    owned_.emplace_back(l->params.begin(), l->params.end());
    l->params = owned_.back();
    batch_bytes_ += l->params.size();
  } else if (auto* u = std::get_if<wire::ModuleUploadCmd>(&c.body)) {
    owned_.emplace_back(u->fatbin.begin(), u->fatbin.end());
    u->fatbin = owned_.back();
    batch_bytes_ += u->fatbin.size() + u->ptx.size();
  }
  batch_.push_back(std::move(c));
  if (batch_.size() >= kBatchCommands || batch_bytes_ >= kBatchBytes) flushLocked();
}

modnn_status WorkerConnection::sendPeerBytes(const wire::PeerBytesMsg& m, std::vector<uint8_t> bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (modnn_status st = flushLocked(); st != MODNN_OK) return st;
  wire::PeerBytesMsg head = m;
  head.bytes = bytes;  // its size goes in the message
  auto frame = wire::encodePeerBytes(head);
  if (m.failed) return sendLocked(frame);
  try {
    bool sent = false;
    while (!sent && !lost_) {
      sent = bool(sock_.send(zmq::buffer(frame), zmq::send_flags::sndmore | zmq::send_flags::dontwait));
      if (!sent && !writableLocked()) break;
    }
    if (!sent) return MODNN_ERR_DEVICE_UNAVAILABLE;
    // Once the first part is taken, the rest is too; ZeroMQ frees the bytes.
    auto* held = new std::vector<uint8_t>(std::move(bytes));
    zmq::message_t bulk(held->data(), held->size(),
                        [](void*, void* hint) { delete static_cast<std::vector<uint8_t>*>(hint); }, held);
    sock_.send(bulk, zmq::send_flags::none);
  } catch (const zmq::error_t&) {
    lost_ = true;
  }
  return lost_ ? MODNN_ERR_DEVICE_UNAVAILABLE : MODNN_OK;
}

uint8_t* WorkerConnection::peerRingSpace(uint64_t n, uint64_t* pos) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!peer_ring_ || lost_) return nullptr;
  const uint64_t ring = peer_ring_->ringBytes();
  if (n == 0 || n > ring / 2) return nullptr;  // a few copies in flight at once, never one alone
  uint64_t at = peer_produced_;
  if (at % ring + n > ring) at += ring - at % ring;  // never wrap a copy
  if (at + n - peer_ring_->ringConsumed().load(std::memory_order_acquire) > ring) return nullptr;
  *pos = at;
  return peer_ring_->ring() + at % ring;
}

modnn_status WorkerConnection::sendPeerBytesInRing(wire::PeerBytesMsg m, uint64_t pos, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!peer_ring_) return MODNN_ERR_INVALID_VALUE;
  peer_produced_ = pos + n;
  m.in_shm = true;
  m.shm_offset = pos;
  m.shm_size = n;
  if (modnn_status st = flushLocked(); st != MODNN_OK) return st;
  return sendLocked(wire::encodePeerBytes(m));
}

bool WorkerConnection::alive() {
  std::lock_guard<std::mutex> lock(mu_);
  if (lost_) return false;
  zmq::pollitem_t item{monitor_.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, std::chrono::milliseconds(0)) > 0) {
    log().error("lost the connection to worker {}", endpoint_);
    lost_ = true;
  }
  return !lost_;
}

modnn_status WorkerConnection::writeShmLocked(uint32_t device, uint64_t va, const uint8_t* src, uint64_t n) {
  const uint64_t ring = shm_->ringBytes();
  const uint64_t chunk_max = std::min<uint64_t>(kChunkBytes, ring / 4);
  while (n) {
    uint64_t chunk = std::min(n, chunk_max);
    uint64_t pos = produced_;
    if (pos % ring + chunk > ring) pos += ring - pos % ring;  // never wrap a chunk
    // Wait until the worker has drained enough of the ring; it can only do
    // so for commands it has received.
    if (pos + chunk - shm_->ringConsumed().load(std::memory_order_acquire) > ring) {
      if (modnn_status st = flushLocked(); st != MODNN_OK) return st;
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(requestTimeoutSeconds());
      while (pos + chunk - shm_->ringConsumed().load(std::memory_order_acquire) > ring) {
        if (lost_ || std::chrono::steady_clock::now() > until) return MODNN_ERR_DEVICE_UNAVAILABLE;
        zmq::pollitem_t item{monitor_.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, std::chrono::milliseconds(0)) > 0) lost_ = true;
        std::this_thread::yield();
      }
    }
    std::memcpy(shm_->ring() + pos % ring, src, chunk);
    wire::Command c;
    c.device = device;
    wire::WriteCmd w;
    w.va = va;
    w.in_shm = true;
    w.shm_offset = pos;
    w.shm_size = chunk;
    c.body = w;
    batch_.push_back(std::move(c));
    produced_ = pos + chunk;
    if (batch_.size() >= kBatchCommands) flushLocked();
    src += chunk;
    va += chunk;
    n -= chunk;
  }
  return lost_ ? MODNN_ERR_DEVICE_UNAVAILABLE : MODNN_OK;
}

modnn_status WorkerConnection::write(uint32_t device, uint64_t va, const void* src, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (lost_) return MODNN_ERR_DEVICE_UNAVAILABLE;
  auto* p = static_cast<const uint8_t*>(src);
  if (shm_) return writeShmLocked(device, va, p, n);
  while (n) {
    uint64_t chunk = std::min(n, kChunkBytes);
    wire::Command c;
    c.device = device;
    wire::WriteCmd w;
    w.va = va;
    if (chunk >= kBatchBytes) {
      // Large: the bytes go as their own frame after a one-command message,
      // copied once, straight from the caller's memory.
      if (modnn_status st = flushLocked(); st != MODNN_OK) return st;
      w.bytes = {p, chunk};
      w.attached = true;
      c.body = w;
      std::vector<wire::Command> one;
      one.push_back(std::move(c));
      auto frame = wire::encodeCommands(one);
      try {
        // Once the first part is taken, the rest of the message is too.
        bool sent = false;
        while (!sent && !lost_) {
          sent = bool(sock_.send(zmq::buffer(frame), zmq::send_flags::sndmore | zmq::send_flags::dontwait));
          if (!sent && !writableLocked()) break;
        }
        if (sent) sock_.send(zmq::buffer(p, chunk), zmq::send_flags::none);
      } catch (const zmq::error_t&) {
        lost_ = true;
      }
    } else {
      owned_.emplace_back(p, p + chunk);
      w.bytes = owned_.back();
      c.body = w;
      batch_.push_back(std::move(c));
      batch_bytes_ += chunk;
      if (batch_bytes_ >= kBatchBytes || batch_.size() >= kBatchCommands) flushLocked();
    }
    p += chunk;
    va += chunk;
    n -= chunk;
  }
  return lost_ ? MODNN_ERR_DEVICE_UNAVAILABLE : MODNN_OK;
}

Result<wire::WorkerMsg> WorkerConnection::awaitLocked(uint64_t id) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(requestTimeoutSeconds());
  zmq::pollitem_t items[] = {{sock_.handle(), 0, ZMQ_POLLIN, 0}, {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    if (lost_) return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, "worker " + endpoint_ + " is gone");
    zmq::poll(items, 2, std::chrono::milliseconds(200));
    if (items[0].revents & ZMQ_POLLIN) {
      // [message] or [message][attached bulk bytes]
      struct Frames {
        zmq::message_t message, attachment;
      };
      auto frames = std::make_shared<Frames>();
      if (!sock_.recv(frames->message, zmq::recv_flags::dontwait)) continue;
      std::span<const uint8_t> attachment;
      bool attached = frames->message.more();
      if (attached) {
        (void)sock_.recv(frames->attachment);
        attachment = {static_cast<const uint8_t*>(frames->attachment.data()), frames->attachment.size()};
        if (frames->attachment.more()) {
          lost_ = true;
          return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, "worker sent more frames than the protocol has");
        }
      }
      auto msg = wire::decodeWorkerMessage(frames->message.data(), frames->message.size(), frames, attachment);
      if (!msg) {
        lost_ = true;  // a worker that speaks garbage cannot be trusted with the job
        return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, "bad reply from worker: " + msg.error().message);
      }
      if (msg->id == id) return msg;
      if (auto* e = std::get_if<wire::ErrorMsg>(&msg->body); e && msg->id == 0) {
        // The worker could not read one of our messages: what it dropped is
        // unknown, so nothing it says from here on can be trusted.
        lost_ = true;
        return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, "worker " + endpoint_ + " rejected a message: " + e->message);
      }
      log().warn("dropping a reply to request {} (waiting for {})", msg->id, id);
      continue;
    }
    if (items[1].revents & ZMQ_POLLIN) {
      lost_ = true;
      log().error("lost the connection to worker {}", endpoint_);
      continue;
    }
    if (std::chrono::steady_clock::now() > until) {
      lost_ = true;
      return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, "worker " + endpoint_ + " did not answer in time");
    }
  }
}

Result<wire::WorkerMsg> WorkerConnection::request(wire::RequestMsg r) {
  std::lock_guard<std::mutex> lock(mu_);
  r.id = next_id_++;
  if (modnn_status st = flushLocked(); st != MODNN_OK) return makeError(st, "worker " + endpoint_ + " is gone");
  if (modnn_status st = sendLocked(wire::encodeRequest(r)); st != MODNN_OK)
    return makeError(st, "worker " + endpoint_ + " is gone");
  auto reply = awaitLocked(r.id);
  if (!reply) return reply;
  if (auto* e = std::get_if<wire::ErrorMsg>(&reply->body))
    return makeError(modnn_status(e->code), e->message);
  return reply;
}

modnn_status WorkerConnection::read(uint32_t device, uint64_t va, void* dst, uint64_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  uint64_t chunk_max = shm_ ? std::min<uint64_t>(kChunkBytes * 2, shm_->readAreaBytes()) : kChunkBytes;
  while (n) {
    uint64_t chunk = std::min(n, chunk_max);
    wire::RequestMsg r;
    r.device = device;
    r.body = wire::ReadReq{va, chunk};
    std::lock_guard<std::mutex> lock(mu_);  // also keeps the shm read area ours until copied
    r.id = next_id_++;
    if (modnn_status st = flushLocked(); st != MODNN_OK) return st;
    if (modnn_status st = sendLocked(wire::encodeRequest(r)); st != MODNN_OK) return st;
    auto reply = awaitLocked(r.id);
    if (!reply) return reply.error().code;
    if (auto* e = std::get_if<wire::ErrorMsg>(&reply->body)) return modnn_status(e->code);
    if (auto* d = std::get_if<wire::DataMsg>(&reply->body)) {
      if (d->bytes.size() != chunk) return MODNN_ERR_DEVICE_UNAVAILABLE;
      std::memcpy(out, d->bytes.data(), chunk);
    } else if (auto* s = std::get_if<wire::ShmDataMsg>(&reply->body)) {
      if (!shm_ || s->size != chunk || s->offset > shm_->readAreaBytes() - chunk) return MODNN_ERR_DEVICE_UNAVAILABLE;
      std::memcpy(out, shm_->readArea() + s->offset, chunk);
    } else {
      return MODNN_ERR_DEVICE_UNAVAILABLE;
    }
    out += chunk;
    va += chunk;
    n -= chunk;
  }
  return MODNN_OK;
}

}  // namespace moai::remote
