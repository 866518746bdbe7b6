// WorkerConnection: the client's end of one worker, for one job.
//
// Commands are one-way and batched: they leave when a request needs an
// answer, when the batch grows large, or when the client runs out of work
// (flush). Bulk bytes go through a shared-memory segment over ipc://, inline
// over tcp://. A lost worker (its socket disconnects, or a request outlives
// the timeout) turns every later call into MODNN_ERR_DEVICE_UNAVAILABLE.
// Thread-safe: every stream executor of the client may call it.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "interpose/core/result.h"
#include "transport/shm_segment.h"
#include "worker_messages.h"

namespace moai::remote {

class WorkerConnection {
 public:
  // Connects (ipc:// preferred when the worker offers it on this host, unless
  // $MOAI_NO_IPC), says hello with the job's token, and learns the leased
  // devices. Over tcp:// with a `worker_key` (from the lease) the link uses
  // CurveZMQ. Over ipc:// bulk bytes go through a shared segment: the
  // client's staging segment, or for a `peer` (another worker of the job) a
  // ring only its one-way copies' bytes use.
  static Result<std::unique_ptr<WorkerConnection>> open(const std::vector<std::string>& endpoints,
                                                        uint64_t job_id, const std::string& token,
                                                        const std::string& worker_key = "", bool peer = false);
  ~WorkerConnection();

  const std::vector<modnn_device_props>& devices() const { return devices_; }
  const std::string& endpoint() const { return endpoint_; }

  void command(wire::Command c);  // one-way
  modnn_status write(uint32_t device, uint64_t va, const void* src, uint64_t n);  // one-way
  modnn_status read(uint32_t device, uint64_t va, void* dst, uint64_t n);
  Result<wire::WorkerMsg> request(wire::RequestMsg r);
  void flush();
  void bye();
  // Worker -> worker, one-way: a copy's bytes (moved into the message, not
  // copied again) or, with m.failed, why there are none.
  modnn_status sendPeerBytes(const wire::PeerBytesMsg& m, std::vector<uint8_t> bytes);
  // False once the worker is known to be gone (its connection dropped);
  // does not wait.
  bool alive();
  // A peer on this host: room for `n` bytes in the ring, at stream position
  // *pos, or nullptr when it is full (or there is none): then send them
  // with sendPeerBytes. Never waits for the peer.
  uint8_t* peerRingSpace(uint64_t n, uint64_t* pos);
  // Sends `m` naming [pos, pos + n) of the ring, filled since peerRingSpace.
  modnn_status sendPeerBytesInRing(wire::PeerBytesMsg m, uint64_t pos, uint64_t n);

 private:
  WorkerConnection() = default;
  modnn_status flushLocked();
  modnn_status sendLocked(const std::vector<uint8_t>& frame);
  bool writableLocked();
  Result<wire::WorkerMsg> awaitLocked(uint64_t id);
  modnn_status writeShmLocked(uint32_t device, uint64_t va, const uint8_t* src, uint64_t n);

  std::mutex mu_;
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  zmq::socket_t monitor_;
  std::string endpoint_;
  std::vector<modnn_device_props> devices_;
  std::vector<wire::Command> batch_;
  std::deque<std::vector<uint8_t>> owned_;  // bytes batched commands point into
  size_t batch_bytes_ = 0;
  std::unique_ptr<ShmSegment> shm_;
  uint64_t produced_ = 0;  // ring stream position
  std::unique_ptr<ShmSegment> peer_ring_;  // a peer's: for peerBytes only
  uint64_t peer_produced_ = 0;
  uint64_t next_id_ = 1;
  bool lost_ = false;
};

}  // namespace moai::remote
