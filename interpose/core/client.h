// Client: the runtime behind every exported CUDA function.
//
// It owns the virtual device (backed, for now, by one moDNN device from the
// embedded executor), the virtual address space, the allocation table,
// streams and events. Asynchronous calls (launch, memset, H2D copy, event
// record, host function) record an op into their stream and return; each
// stream runs its ops in order on its own executor thread, so streams
// progress independently, a blocked host function stalls only its stream,
// and the program overlaps with the device as on a GPU. Cross-stream order
// is explicit: each op carries the (stream, seq) positions it waits for,
// from cudaStreamWaitEvent and from the legacy default stream's implicit
// synchronisation with blocking streams.
//
// Errors raised while ops run are reported at the next synchronising call.
// Kernel faults (illegal address, trap, assert) are sticky as in CUDA: every
// later call fails until deviceReset().
//
// Every public method is thread-safe and returns a modnn_status; the
// exported layers convert it to the vendor's code.
#pragma once
#include "interpose/core/memory_forecast.h"
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "interpose/core/allocation_table.h"
#include "interpose/core/module_registry.h"
#include "interpose/core/offload.h"
#include "interpose/core/op_ranges.h"
#include "interpose/core/recorded_op.h"
#include "interpose/core/segment_planner.h"
#include "interpose/core/virtual_address_space.h"
#include "modnn/backend.h"

namespace moai {

struct Stream {
  unsigned flags = 0;
  int priority = 0;
  uint64_t id = 0;
  bool legacy = false;       // the legacy default stream (handle 0 / cudaStreamLegacy)

  // Executor state. `submitted` is guarded by the client's mutex, the queue
  // by `mu`; `completed` only grows.
  uint64_t submitted = 0;
  std::atomic<uint64_t> completed{0};
  std::mutex mu;
  std::condition_variable work_cv;  // the executor waits for ops
  std::condition_variable done_cv;  // waiters for `completed`
  std::vector<RecordedOp> queue;
  bool running = false;             // an executor thread serves this stream
  bool closing = false;             // destroyed: drain, then stop

  bool blocking() const { return !legacy && !(flags & 0x1 /* cudaStreamNonBlocking */); }
};

struct Event {
  unsigned flags = 0;
  bool recorded = false;   // has a record been issued
  bool completed = false;  // has the latest record executed
  uint64_t generation = 0; // bumped by every record; the op carries its own
  StreamPos last;          // where the latest record sits
  uint64_t timestamp_ns = 0;
  uint64_t device_event = 0; // the latest record's id on a device that completes events itself
};

// Special stream handles, as the CUDA runtime defines them.
inline Stream* const kLegacyStream = reinterpret_cast<Stream*>(0x1);
inline Stream* const kPerThreadStream = reinterpret_cast<Stream*>(0x2);

enum class CopyKind { HostToHost = 0, HostToDevice = 1, DeviceToHost = 2, DeviceToDevice = 3, Default = 4 };

// A 2D copy; a 1D copy is height 1. Pitches are ignored when height is 1.
struct CopyRequest {
  void* dst = nullptr;
  size_t dpitch = 0;
  const void* src = nullptr;
  size_t spitch = 0;
  size_t width = 0;   // bytes per row
  size_t height = 1;  // rows
  CopyKind kind = CopyKind::Default;
};

struct FillRequest {
  void* dst = nullptr;
  size_t pitch = 0;
  uint32_t value = 0;
  uint32_t elem_size = 1;  // 1, 2 or 4 bytes
  size_t width = 0;        // elements per row
  size_t height = 1;
};

enum class PointerKind { Unregistered, Host, Device };

struct PointerInfo {
  PointerKind kind = PointerKind::Unregistered;
  int device = -1;
  void* device_pointer = nullptr;
  void* host_pointer = nullptr;
  uint64_t base = 0;  // start of the allocation or host range
  uint64_t size = 0;
};

struct LaunchRequest {
  const void* host_function = nullptr;
  Dim3 grid, block;
  size_t dynamic_shared = 0;
  void** args = nullptr;
  Stream* stream = nullptr;
};

class Client {
 public:
  static Client& get();

  // ---- device ----
  int deviceCount() const { return 1; }
  const modnn_device_props& props() const { return props_; }
  modnn_status checkDevice(int ordinal) const;
  modnn_status deviceSynchronize();
  modnn_status deviceReset();
  // Sticky error of the device (MODNN_OK when healthy).
  modnn_status stickyError() const;
  // Async error raised since the last synchronising call, cleared on return.
  modnn_status takePendingError();

  // ---- memory ----
  modnn_status malloc(uint64_t size, void** out);
  modnn_status free(void* ptr);
  modnn_status memGetInfo(size_t* free_bytes, size_t* total_bytes);
  modnn_status hostAlloc(size_t size, unsigned flags, void** out);
  modnn_status hostFree(void* ptr);
  modnn_status hostRegister(void* ptr, size_t size, unsigned flags);
  modnn_status hostUnregister(void* ptr);
  modnn_status hostFlags(const void* ptr, unsigned* out);
  PointerInfo pointerInfo(const void* ptr);

  // ---- copies and fills ----
  // async=false: returns when the copy is done (and prior work with it).
  modnn_status copy(const CopyRequest& req, Stream* stream, bool async);
  modnn_status fill(const FillRequest& req, Stream* stream, bool async);

  // ---- streams ----
  // Maps a handle the program passed (0, legacy, per-thread, or a created
  // stream) to a live stream; null handles resolve per PerThreadDefault.
  modnn_status resolveStream(Stream* handle, Stream** out);
  modnn_status streamCreate(unsigned flags, int priority, Stream** out);
  modnn_status streamDestroy(Stream* s);
  modnn_status streamSynchronize(Stream* s);
  modnn_status streamQuery(Stream* s);
  modnn_status streamWaitEvent(Stream* s, Event* e);
  modnn_status launchHostFunc(Stream* s, void (*fn)(void*), void* user);

  // While alive on a thread, stream 0 means the per-thread default stream
  // (the *_ptds / *_ptsz entry points).
  class PerThreadDefault {
   public:
    PerThreadDefault();
    ~PerThreadDefault();
   private:
    bool saved_;
  };

  // ---- events ----
  modnn_status eventCreate(unsigned flags, Event** out);
  modnn_status eventDestroy(Event* e);
  modnn_status eventRecord(Event* e, Stream* s);
  modnn_status eventQuery(Event* e);
  modnn_status eventSynchronize(Event* e);
  modnn_status eventElapsed(Event* start, Event* end, float* ms);
  // For a device that completes events itself: asks it whether e's latest
  // record has run (waiting for it with `wait`), and notes its time.
  modnn_status pollDeviceEvent(Event* e, bool wait);

  // ---- modules, kernels, symbols ----
  void** registerFatbin(const void* wrapper);
  void unregisterFatbin(void** handle);
  void registerFunction(void** handle, const void* host_fn, const char* device_name);
  void registerVar(void** handle, const void* host_var, const char* device_name, uint64_t size, bool constant);
  bool isFunction(const void* host_fn);
  modnn_status kernelInfo(const void* host_fn, KernelInfo* out);
  modnn_status symbolAddress(const void* symbol, void** address, size_t* size);
  modnn_status launch(const LaunchRequest& req);

  // ---- moDNN ops (GEMM, ...) ----
  // Asks the device whether it can run `op` at all.
  bool supportsOp(const modnn_op& op) const;
  // Records `op` on `stream`. Every range it touches must lie inside one live
  // allocation (or page-locked host memory); otherwise nothing is recorded.
  modnn_status submitOp(const modnn_op& op, const std::vector<DeviceRange>& ranges, Stream* stream);
  // Runs `op` and waits for it (ops whose results the host reads at once).
  modnn_status runOpSync(const modnn_op& op, const std::vector<DeviceRange>& ranges, Stream* stream);

 private:
  Client();

  using Op = RecordedOp;

  // Helpers named *Locked expect mu_ held; the others take it themselves.
  modnn_status endpointLocked(const void* p, uint64_t extent, bool device, Endpoint* out);
  CopyKind inferKind(const void* dst, const void* src) const;
  modnn_status resolveStreamLocked(Stream* handle, Stream** out);
  // Appends `body` to stream `s` with its implicit dependencies; returns its position.
  StreamPos submitLocked(Stream* s, decltype(RecordedOp::body) body, std::vector<StreamPos> deps = {});
  void runStream(Stream* s);  // executor thread body
  void waitFor(StreamPos pos);
  void waitIdle();            // every submitted op has run
  modnn_status finishSync();  // the error a synchronising call reports now
  modnn_status execute(Op& op);
  modnn_status executeCopy(CopyOp& op);
  modnn_status executeFill(FillOp& op);
  modnn_status executeLaunch(LaunchOp& op, const PlanTag& tag);
  modnn_status recordOpLocked(const modnn_op& op, const std::vector<DeviceRange>& ranges, Stream* handle,
                              StreamPos* out);
  modnn_status ensureModuleLoadedLocked(ModuleRecord* m);
  Stream* perThreadStreamLocked();
  void raise(modnn_status st);  // record an error raised by a running op
  void forecastChangedLocked();  // tells the device the new memory forecast
  void atExit();                 // memory history and MOAI_MEMORY_REPORT
  modnn_status health() const;  // init error, else sticky error (mu_ held)

  mutable std::mutex mu_;  // everything below
  modnn_device device_{};
  modnn_device_props props_{};
  modnn_status init_error_ = MODNN_OK;
  std::unique_ptr<VirtualAddressSpace> vas_;
  std::unique_ptr<Residency> residency_;  // MOAI_OFFLOAD=1 only
  AllocationTable allocs_;
  ModuleRegistry modules_;
  Stream legacy_stream_;
  std::unordered_set<Stream*> streams_;            // created by the program
  std::vector<std::unique_ptr<Stream>> per_thread_; // one per thread that used one
  std::vector<Stream*> retired_;                   // destroyed, possibly still draining
  std::unordered_set<Event*> events_;
  uint64_t next_stream_id_ = 1;
  std::atomic<uint64_t> next_device_event_{0};
  modnn_status sticky_ = MODNN_OK;
  modnn_status pending_ = MODNN_OK;
  MemoryForecast forecast_;
  uint64_t forecast_told_ = 0;     // the prediction the device last heard
  uint64_t asked_memory_ = 0;      // the prediction the lease was asked with
  std::string asked_from_;         // where it came from: MOAI_MEMORY, history, or ""

  // MOAI_PLAN_REPORT, MOAI_RECORD, several devices; or made at the first
  // synchronising call after a resize grew a one-device lease. Set once and
  // read by every stream's executor: an atomic view of the owned planner.
  std::unique_ptr<SegmentPlanner> planner_owned_;
  std::atomic<SegmentPlanner*> planning_{nullptr};
  std::mutex planner_mu_;
  SegmentPlanner* planner() const { return planning_.load(std::memory_order_acquire); }
  std::atomic<uint64_t> inflight_{0};
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
};

// True on a thread that is running a host function enqueued with
// cudaLaunchHostFunc; CUDA forbids API calls there that would wait.
bool inHostCallback();

}  // namespace moai
