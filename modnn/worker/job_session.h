// JobSession: one leased job on this worker.
//
// The job gets device contexts of its own (opened from the backend for it
// alone), so the buffers one job's kernels can reach are only its own. Every
// address a command names is checked against the job's allocation table
// before the backend sees it; a command that fails becomes the job's pending
// error, reported by its next request, as CUDA reports async errors.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "modnn/backend.h"
#include "modnn/remote/worker_connection.h"
#include "modnn/worker/module_store.h"
#include "modnn/worker/peer_ring.h"
#include "transport/shm_segment.h"
#include "worker_messages.h"

namespace moai::worker {

class JobSession {
 public:
  // Who the job is, as the scheduler's lease names it: the session presents
  // the same identity to the job's other workers for worker->worker copies.
  struct Identity {
    uint64_t job_id = 0;
    std::string token;
    std::vector<std::string> self_endpoints;  // this worker's, to tell a local copy from a peer's
  };
  // `devices` become the session's; `shm` is null over tcp.
  JobSession(Identity identity, std::vector<modnn_device> devices, ModuleStore& store,
             std::unique_ptr<ShmSegment> shm);
  ~JobSession();
  JobSession(const JobSession&) = delete;
  JobSession& operator=(const JobSession&) = delete;

  uint64_t jobId() const { return id_.job_id; }
  bool acceptsToken(const std::string& token) const { return token == id_.token; }
  const std::vector<modnn_device>& devices() const { return devices_; }

  // An encoded WorkerMessage and, for large reads over tcp, the frame after it.
  struct Reply {
    std::vector<uint8_t> message;
    std::vector<uint8_t> attachment;
  };

  // Bytes the job holds allocated on its device `d`; any thread may ask.
  uint64_t allocatedBytes(size_t d) const { return allocated_[d].load(std::memory_order_relaxed); }
  // A job sharing its devices may hold at most this many bytes on each (0 =
  // no quota: the device is the job's alone). An allocation beyond it fails
  // with MODNN_ERR_OUT_OF_MEMORY, so the jobs beside it keep their memory.
  // Any thread may set it; it only grows.
  void setMemoryQuota(uint64_t bytes) { quota_.store(bytes, std::memory_order_relaxed); }

  void execute(const wire::Command& cmd);
  Reply answer(const wire::RequestMsg& req);
  // The clock at which event `event` was recorded, if its record has run.
  // Safe from any thread: the server answers non-waiting queries itself, so
  // a query is not stuck behind the job's queued work.
  std::optional<uint64_t> eventTime(uint64_t event) const;
  // A one-way copy's bytes from another of the job's workers (a PeerBytesMsg),
  // kept until the job's AwaitPeer command for it runs. Any thread; never
  // waits for the job's work, so a worker sending here is never held up by
  // this worker sending there.
  // `ring`: the sender's shared ring (same host), where the message names
  // bytes in it; null otherwise.
  void deposit(wire::ClientMsg msg, std::shared_ptr<PeerRing> ring);
  // The job is ending: a wait for a peer's bytes gives up now.
  void cancelWaits();
  // Nanoseconds the last execute() spent waiting for a peer's bytes: not
  // device time, so metering leaves it out. Job thread only.
  uint64_t lastWaitNs() const { return last_wait_ns_; }

 private:
  struct Buffer {
    uint64_t size = 0;
    modnn_buffer* buffer = nullptr;
  };
  struct DeviceState {
    std::map<uint64_t, Buffer> buffers;          // by va
    std::map<uint64_t, modnn_module*> modules;   // by the client's load handle
  };

  modnn_status run(const wire::Command& cmd, std::string* why);
  // The buffer of device `d` holding all of [va, va+size).
  modnn_status resolve(uint32_t d, uint64_t va, uint64_t size, Buffer** out, uint64_t* offset);
  void fail(modnn_status st, std::string why);
  modnn_status copyToPeer(uint32_t d, const wire::CopyToPeerCmd& c, std::string* why);
  modnn_status sendToPeer(uint32_t d, const wire::CopyToPeerCmd& c, std::string* why);
  modnn_status awaitPeer(uint32_t d, const wire::AwaitPeerCmd& c, std::string* why);
  bool isSelf(const std::vector<std::string>& endpoints) const;
  remote::WorkerConnection* peer(const std::vector<std::string>& endpoints, const std::string& key, std::string* why);

  // Peer bytes that arrived before their AwaitPeer ran, by transfer id.
  struct Arrival {
    uint32_t device = 0;
    uint64_t dst = 0;
    std::shared_ptr<const void> keep;  // owns `bytes`
    std::span<const uint8_t> bytes;
    bool failed = false;
    std::string why;
  };
  void keepArrival(uint64_t transfer, Arrival a);
  static constexpr uint64_t kMaxWaitingBytes = 2ull << 30;  // beyond: later arrivals fail their wait
  std::mutex arrivals_mu_;
  std::condition_variable arrived_;
  std::map<uint64_t, Arrival> arrivals_;
  uint64_t waiting_bytes_ = 0;
  bool cancelled_ = false;
  uint64_t last_wait_ns_ = 0;

  static constexpr size_t kMaxEvents = 65536;  // the oldest records are forgotten beyond this
  mutable std::mutex events_mu_;
  std::map<uint64_t, uint64_t> events_;  // event id -> clock in ns

  Identity id_;
  std::map<std::string, std::unique_ptr<remote::WorkerConnection>> peers_;  // by tcp endpoint
  std::vector<modnn_device> devices_;
  std::vector<DeviceState> state_;
  std::unique_ptr<std::atomic<uint64_t>[]> allocated_;  // per device, for heartbeats
  std::atomic<uint64_t> quota_{0};
  ModuleStore& store_;
  std::unique_ptr<ShmSegment> shm_;
  uint64_t ring_consumed_ = 0;
  modnn_status pending_ = MODNN_OK;
  std::string pending_why_;
};

}  // namespace moai::worker
