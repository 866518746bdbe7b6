// JobSession: one leased job on this worker.
//
// The job gets device contexts of its own (opened from the backend for it
// alone), so the buffers one job's kernels can reach are only its own. Every
// address a command names is checked against the job's allocation table
// before the backend sees it; a command that fails becomes the job's pending
// error, reported by its next request, as CUDA reports async errors.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "modnn/backend.h"
#include "modnn/worker/module_store.h"
#include "transport/shm_segment.h"
#include "worker_messages.h"

namespace moai::worker {

class JobSession {
 public:
  // `devices` become the session's; `shm` is null over tcp.
  JobSession(uint64_t job_id, std::vector<modnn_device> devices, ModuleStore& store,
             std::unique_ptr<ShmSegment> shm);
  ~JobSession();
  JobSession(const JobSession&) = delete;
  JobSession& operator=(const JobSession&) = delete;

  uint64_t jobId() const { return job_id_; }
  const std::vector<modnn_device>& devices() const { return devices_; }

  // An encoded WorkerMessage and, for large reads over tcp, the frame after it.
  struct Reply {
    std::vector<uint8_t> message;
    std::vector<uint8_t> attachment;
  };

  // Bytes the job holds allocated on its device `d`; any thread may ask.
  uint64_t allocatedBytes(size_t d) const { return allocated_[d].load(std::memory_order_relaxed); }

  void execute(const wire::Command& cmd);
  Reply answer(const wire::RequestMsg& req);

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

  uint64_t job_id_;
  std::vector<modnn_device> devices_;
  std::vector<DeviceState> state_;
  std::unique_ptr<std::atomic<uint64_t>[]> allocated_;  // per device, for heartbeats
  ModuleStore& store_;
  std::unique_ptr<ShmSegment> shm_;
  uint64_t ring_consumed_ = 0;
  modnn_status pending_ = MODNN_OK;
  std::string pending_why_;
};

}  // namespace moai::worker
