// Client lifecycle, device and error state, and the stream executors.
#include "interpose/core/client.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "interpose/core/backend_loader.h"
#include "interpose/core/device_group.h"
#include "interpose/core/log.h"
#include "interpose/core/memory_history.h"

namespace moai {
namespace {

constexpr uint64_t kAddressSpaceBytes = 1ull << 40;  // 1 TiB of device addresses

thread_local bool t_in_host_callback = false;

uint64_t parseBytes(const char* s) {
  if (!s || !*s) return 0;
  char* end = nullptr;
  double v = std::strtod(s, &end);
  switch (end && *end ? (*end | 0x20) : 0) {
    case 'k': v *= 1024.0; break;
    case 'm': v *= 1024.0 * 1024; break;
    case 'g': v *= 1024.0 * 1024 * 1024; break;
    case 't': v *= 1024.0 * 1024 * 1024 * 1024; break;
    default: break;
  }
  return v > 0 ? uint64_t(v) : 0;
}

bool isSticky(modnn_status st) {
  return st == MODNN_ERR_ILLEGAL_ADDRESS || st == MODNN_ERR_LAUNCH_FAILURE || st == MODNN_ERR_ASSERT ||
         st == MODNN_ERR_DEVICE_UNAVAILABLE;  // a lost worker does not come back
}

// Where device pointers live. A GPU's kernels dereference them, so the GPU
// must map buffers at exactly the addresses minted here; its range must also
// be free in this process (unless an in-process driver holds it already,
// unified addressing) and, for a remote GPU, in the worker's. Both processes
// keep their own mappings near the top of the address space, so candidates
// come from a window far below it, at random so that jobs sharing a worker's
// GPU rarely collide; a collision just tries the next candidate.
std::unique_ptr<VirtualAddressSpace> reserveAddressSpace(const modnn_device& device) {
  if (!MODNN_HAS_ENTRY(device.iface, reserve_address_range))
    return std::make_unique<VirtualAddressSpace>(kAddressSpaceBytes);
  constexpr uint64_t kWindowStart = 16ull << 40, kSlots = 80;  // 16..96 TiB
  std::mt19937_64 rng{std::random_device{}()};
  modnn_status st = MODNN_OK;
  for (int attempt = 0; attempt < 8; ++attempt) {
    uint64_t hint = kWindowStart + rng() % kSlots * kAddressSpaceBytes;
    uint64_t base = 0;
    bool host_held = false;
    st = device.iface->reserve_address_range(device.ctx, kAddressSpaceBytes, hint, &base, &host_held);
    if (st != MODNN_OK) continue;
    if (base == 0) return std::make_unique<VirtualAddressSpace>(kAddressSpaceBytes);  // any address works
    auto vas = std::make_unique<VirtualAddressSpace>(base, kAddressSpaceBytes, host_held);
    if (vas->valid()) return vas;
  }
  log().error("no device address range both the device and this process can hold (last: {})", modnn_status_string(st));
  return nullptr;
}

}  // namespace

bool inHostCallback() { return t_in_host_callback; }

void Client::forecastChangedLocked() {
  uint64_t predicted = forecast_.predictedPeak();
  if (predicted == forecast_told_ || !MODNN_HAS_ENTRY(device_.iface, memory_forecast)) return;
  forecast_told_ = predicted;
  device_.iface->memory_forecast(device_.ctx, predicted, forecast_.peakAllocated());
}

void Client::atExit() {
  std::lock_guard<std::mutex> lock(mu_);
  const char* scheduler = std::getenv("MOAI_SCHEDULER");
  if (scheduler && *scheduler && forecast_.predictedPeak()) rememberPeak(programKey(), forecast_.predictedPeak());
  const char* report = std::getenv("MOAI_MEMORY_REPORT");
  if (!report || !*report) return;
  // One JSON line per run: the predictions the scheduler saw, and the peak.
  std::string program;
  {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    for (std::string arg; std::getline(in, arg, '\0');) program += (program.empty() ? "" : " ") + arg;
  }
  auto first = forecast_.atFirstSync();
  nlohmann::json line = {{"program", program},
                         {"asked", asked_memory_},
                         {"asked_from", asked_from_},
                         {"at_first_sync", first ? int64_t(*first) : int64_t(-1)},
                         {"predicted_peak", forecast_.predictedPeak()},
                         {"peak_allocated", forecast_.peakAllocated()}};
  std::ofstream out(report, std::ios::app);
  out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (!out) log().warn("cannot append to MOAI_MEMORY_REPORT={}", report);
}

Client& Client::get() {
  // Never destroyed: programs call into us from atexit handlers and static
  // destructors, after our own statics would be gone.
  static Client* client = new Client();
  return *client;
}

Client::Client() {
  legacy_stream_.legacy = true;
  modnn_backend_config config{};
  config.struct_size = sizeof config;
  config.abi_version = MODNN_BACKEND_ABI_VERSION;
  config.device_count = 1;
  config.memory_per_device = parseBytes(std::getenv("MOAI_CPU_MEMORY"));
  config.threads_per_device = std::getenv("MOAI_CPU_THREADS") ? std::atoi(std::getenv("MOAI_CPU_THREADS")) : 0;
  // With a scheduler (or a worker named directly) the devices are remote;
  // otherwise the embedded executor runs on this machine's devices.
  config.scheduler = std::getenv("MOAI_SCHEDULER");
  config.worker = std::getenv("MOAI_WORKER");
  config.worker_token = std::getenv("MOAI_WORKER_TOKEN");
  if (const char* n = std::getenv("MOAI_DEVICES")) config.device_count = std::max(1, std::atoi(n));
  bool remote = (config.scheduler && *config.scheduler) || (config.worker && *config.worker);
  // The memory a shareable lease asks for: the user's word, else what this
  // command line peaked at last time.
  asked_memory_ = parseBytes(std::getenv("MOAI_MEMORY"));
  if (asked_memory_) {
    asked_from_ = "MOAI_MEMORY";
  } else if (config.scheduler && *config.scheduler) {
    if (auto last = recallPeak(programKey())) {
      asked_memory_ = *last;
      asked_from_ = "history";
    }
  }
  config.predicted_memory = asked_memory_;
  if ((config.scheduler && *config.scheduler) || std::getenv("MOAI_MEMORY_REPORT"))
    std::atexit([] { Client::get().atExit(); });
  // $MOAI_BACKEND picks the embedded backend; by default the GPU where a
  // driver and a GPU are, else the CPU.
  const char* chosen = std::getenv("MOAI_BACKEND");
  std::string name = remote ? "remote" : chosen && *chosen ? chosen : "auto";
  auto devices = name == "auto" ? openBackend("cuda", config, /*isolated=*/true) : openBackend(name, config, name == "cuda");
  if (name == "auto" && !devices) {
    log().debug("no GPU backend ({}); using the CPU", devices.error().message);
    devices = openBackend("cpu", config);
  }
  if (!devices || devices->empty()) {
    init_error_ = devices ? MODNN_ERR_NOT_INITIALIZED : devices.error().code;
    log().error("no device: {}", devices ? "backend exposes none" : devices.error().message);
    return;
  }
  // Several devices back the one virtual device: a group of them, which
  // is itself a device.
  // Leased devices are grouped even alone: a resize may add more.
  device_ = devices->size() > 1 || remote ? makeDeviceGroup(std::move(devices).value(), !offloadRequested())
                                          : devices->front();
  vas_ = reserveAddressSpace(device_);
  if (!vas_ || !vas_->valid()) {
    init_error_ = MODNN_ERR_NOT_INITIALIZED;
    log().error("cannot reserve the device address space");
    return;
  }
  props_.struct_size = sizeof props_;
  device_.iface->get_props(device_.ctx, &props_);
  log().info("virtual device: {} ({} MiB)", props_.name, props_.total_memory >> 20);
  if (offloadRequested()) {
    residency_ = std::make_unique<Residency>(&device_);
    residency_->logStatsAtExit();
    log().info("offload on: allocations beyond the device's memory live in host memory");
  }
  planner_owned_ = SegmentPlanner::fromEnvironment(device_, props_, *vas_);
  planning_.store(planner_owned_.get(), std::memory_order_release);
}

modnn_status Client::checkDevice(int ordinal) const {
  if (ordinal < 0 || ordinal >= deviceCount()) return MODNN_ERR_INVALID_DEVICE;
  return init_error_;
}

modnn_status Client::health() const { return init_error_ != MODNN_OK ? init_error_ : sticky_; }

modnn_status Client::stickyError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health();
}

modnn_status Client::takePendingError() {
  std::lock_guard<std::mutex> lock(mu_);
  modnn_status st = pending_;
  pending_ = MODNN_OK;
  return st;
}

void Client::raise(modnn_status st) {
  std::lock_guard<std::mutex> lock(mu_);
  if (isSticky(st)) {
    if (sticky_ == MODNN_OK) sticky_ = st;
  } else if (pending_ == MODNN_OK) {
    pending_ = st;
  }
}

modnn_status Client::finishSync() {
  // Ops that ran may only have been handed to the device: wait for it too.
  if (init_error_ == MODNN_OK)
    if (modnn_status st = device_.iface->synchronize(device_.ctx); st != MODNN_OK) raise(st);
  if (SegmentPlanner* p = planner()) {
    p->endSegment();
  } else if (init_error_ == MODNN_OK && groupSize(device_) > 1) {
    // A one-device lease a resize grew: plan (and calibrate) from now on.
    std::lock_guard<std::mutex> lock(planner_mu_);
    if (!planner()) {
      log().info("the virtual device now has {} devices: planning from now on", groupSize(device_));
      planner_owned_ = SegmentPlanner::fromEnvironment(device_, props_, *vas_);
      planning_.store(planner_owned_.get(), std::memory_order_release);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  forecast_.synced();
  if (modnn_status h = health(); h != MODNN_OK) return h;
  modnn_status st = pending_;
  pending_ = MODNN_OK;
  return st;
}

StreamPos Client::submitLocked(Stream* s, decltype(RecordedOp::body) body, std::vector<StreamPos> deps) {
  // The legacy default stream waits for all earlier work of blocking streams,
  // and blocking streams wait for earlier legacy work (CUDA's implicit sync).
  auto pendingTail = [](Stream* x) {
    return x->submitted > x->completed.load(std::memory_order_acquire);
  };
  if (s->legacy) {
    for (Stream* b : streams_)
      if (b->blocking() && pendingTail(b)) deps.push_back({b, b->submitted});
    for (auto& b : per_thread_)
      if (pendingTail(b.get())) deps.push_back({b.get(), b->submitted});
  } else if (s->blocking() && pendingTail(&legacy_stream_)) {
    deps.push_back({&legacy_stream_, legacy_stream_.submitted});
  }
  Op op;
  op.seq = ++s->submitted;
  op.deps = std::move(deps);
  op.body = std::move(body);
  if (SegmentPlanner* p = planner()) op.plan = p->record(op);
  inflight_.fetch_add(1, std::memory_order_relaxed);
  bool start = false;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->queue.push_back(std::move(op));
    if (!s->running) s->running = start = true;
  }
  if (start)
    std::thread(&Client::runStream, this, s).detach();
  else
    s->work_cv.notify_one();
  return StreamPos{s, s->submitted};
}

void Client::runStream(Stream* s) {
  std::vector<Op> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(s->mu);
      if (s->queue.empty() && device_.iface->flush) {
        lock.unlock();
        device_.iface->flush(device_.ctx);  // out of work: send what the device buffered
        lock.lock();
      }
      s->work_cv.wait(lock, [s] { return !s->queue.empty() || s->closing; });
      if (s->queue.empty()) {
        s->running = false;
        return;
      }
      batch.swap(s->queue);
    }
    for (Op& op : batch) {
      for (const StreamPos& d : op.deps) waitFor(d);
      bool faulted;
      {
        std::lock_guard<std::mutex> lock(mu_);
        faulted = sticky_ != MODNN_OK;  // a faulted context runs nothing more
      }
      if (!faulted)
        if (modnn_status st = execute(op); st != MODNN_OK) raise(st);
      op.body = WaitOp{};  // release buffers before anyone is told it finished
      {
        std::lock_guard<std::mutex> lock(s->mu);
        s->completed.store(op.seq, std::memory_order_release);
      }
      s->done_cv.notify_all();
      if (inflight_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(idle_mu_);
        idle_cv_.notify_all();
      }
    }
    batch.clear();
  }
}

void Client::waitFor(StreamPos pos) {
  Stream* s = pos.stream;
  if (s->completed.load(std::memory_order_acquire) >= pos.seq) return;
  std::unique_lock<std::mutex> lock(s->mu);
  s->done_cv.wait(lock, [&] { return s->completed.load(std::memory_order_acquire) >= pos.seq; });
}

void Client::waitIdle() {
  std::unique_lock<std::mutex> lock(idle_mu_);
  idle_cv_.wait(lock, [this] { return inflight_.load(std::memory_order_acquire) == 0; });
}

modnn_status Client::execute(Op& op) {
  if (auto* c = std::get_if<CopyOp>(&op.body)) return executeCopy(*c);
  if (auto* f = std::get_if<FillOp>(&op.body)) return executeFill(*f);
  // With offload, what an op touches is brought to the device (and held
  // there) until the device has it.
  Residency::Pins pins;
  if (auto* l = std::get_if<LaunchOp>(&op.body)) {
    if (residency_)
      if (modnn_status st = residency_->acquire(*l, &pins); st != MODNN_OK) return st;
    return executeLaunch(*l, op.plan);
  }
  if (auto* m = std::get_if<ModnnOp>(&op.body)) {
    if (residency_)
      if (modnn_status st = residency_->acquire(*m, &pins); st != MODNN_OK) return st;
    SegmentPlanner* p = planner();
    return p ? p->run(device_, m->op, op.plan) : device_.iface->run_op(device_.ctx, &m->op);
  }
  if (auto* e = std::get_if<EventOp>(&op.body)) {
    if (MODNN_HAS_ENTRY(device_.iface, event_record) && MODNN_HAS_ENTRY(device_.iface, event_query)) {
      // One message, no wait: the device notes when it gets there.
      uint64_t id = next_device_event_.fetch_add(1) + 1;
      device_.iface->event_record(device_.ctx, id);
      std::lock_guard<std::mutex> lock(mu_);
      if (events_.count(e->event) && e->event->generation == e->generation) e->event->device_event = id;
      return MODNN_OK;
    }
    uint64_t now = device_.iface->timestamp_ns(device_.ctx);
    std::lock_guard<std::mutex> lock(mu_);
    if (events_.count(e->event) && e->event->generation == e->generation) {
      e->event->completed = true;
      e->event->timestamp_ns = now;
    }
    return MODNN_OK;
  }
  if (auto* h = std::get_if<HostFuncOp>(&op.body)) {
    // The stream's earlier work must have finished on the device, not just
    // have been handed to it (a remote device runs it later).
    if (modnn_status st = device_.iface->synchronize(device_.ctx); st != MODNN_OK) raise(st);
    t_in_host_callback = true;
    h->fn(h->user);
    t_in_host_callback = false;
  }
  return MODNN_OK;
}

modnn_status Client::deviceSynchronize() {
  if (init_error_ != MODNN_OK) return init_error_;
  if (t_in_host_callback) return MODNN_ERR_NOT_PERMITTED;
  waitIdle();
  return finishSync();
}

modnn_status Client::deviceReset() {
  if (init_error_ != MODNN_OK) return init_error_;
  if (t_in_host_callback) return MODNN_ERR_NOT_PERMITTED;
  waitIdle();
  std::lock_guard<std::mutex> lock(mu_);
  allocs_.forEach([this](const Allocation& a) { vas_->release(a.base); });
  allocs_.clear();
  modules_.forEachVar([](VarRecord& v) { v.storage.reset(); });  // their ranges went with allocs_
  modules_.forEachModule([this](ModuleRecord& m) {
    if (m.loaded && device_.iface->module_unload) device_.iface->module_unload(device_.ctx, m.loaded);
    m.loaded = nullptr;
    m.load_attempted = false;
  });
  // Created streams are destroyed by a reset; their executors stop once idle.
  for (Stream* s : streams_) {
    std::lock_guard<std::mutex> slock(s->mu);
    s->closing = true;
    s->work_cv.notify_one();
    retired_.push_back(s);
  }
  streams_.clear();
  for (Event* e : events_) delete e;
  events_.clear();
  sticky_ = MODNN_OK;
  pending_ = MODNN_OK;
  return MODNN_OK;
}

}  // namespace moai
