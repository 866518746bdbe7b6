// Client lifecycle, device state, error state, and the op queue.
#include "interpose/core/client.h"

#include <cstdlib>
#include <cstring>

#include "interpose/core/backend_loader.h"
#include "interpose/core/log.h"

namespace moai {
namespace {

constexpr size_t kMaxQueuedOps = 1 << 16;
constexpr size_t kMaxQueuedBytes = 256u << 20;
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
  return st == MODNN_ERR_ILLEGAL_ADDRESS || st == MODNN_ERR_LAUNCH_FAILURE || st == MODNN_ERR_ASSERT;
}

}  // namespace

bool inHostCallback() { return t_in_host_callback; }

Client& Client::get() {
  // Never destroyed: programs call into us from atexit handlers and static
  // destructors, after our own statics would be gone.
  static Client* client = new Client();
  return *client;
}

Client::Client() {
  vas_ = std::make_unique<VirtualAddressSpace>(kAddressSpaceBytes);
  if (!vas_->valid()) {
    init_error_ = MODNN_ERR_NOT_INITIALIZED;
    log().error("cannot reserve the device address space");
    return;
  }
  modnn_backend_config config{};
  config.struct_size = sizeof config;
  config.abi_version = MODNN_BACKEND_ABI_VERSION;
  config.device_count = 1;
  config.memory_per_device = parseBytes(std::getenv("MOAI_CPU_MEMORY"));
  config.threads_per_device = std::getenv("MOAI_CPU_THREADS") ? std::atoi(std::getenv("MOAI_CPU_THREADS")) : 0;
  auto devices = openBackend("cpu", config);
  if (!devices || devices->empty()) {
    init_error_ = devices ? MODNN_ERR_NOT_INITIALIZED : devices.error().code;
    log().error("no device: {}", devices ? "backend exposes none" : devices.error().message);
    return;
  }
  device_ = devices->front();
  props_.struct_size = sizeof props_;
  device_.iface->get_props(device_.ctx, &props_);
  log().info("virtual device: {} ({} MiB)", props_.name, props_.total_memory >> 20);
}

modnn_status Client::checkDevice(int ordinal) const {
  if (ordinal < 0 || ordinal >= deviceCount()) return MODNN_ERR_INVALID_DEVICE;
  return init_error_;
}

modnn_status Client::stickyError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return init_error_ != MODNN_OK ? init_error_ : sticky_;
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

modnn_status Client::enqueue(Op op) {
  if (sticky_ != MODNN_OK) return sticky_;
  if (auto* c = std::get_if<CopyOp>(&op.body)) queued_bytes_ += c->staged ? c->width * c->height : 0;
  queue_.push_back(std::move(op));
  if (queue_.size() < kMaxQueuedOps && queued_bytes_ < kMaxQueuedBytes) return MODNN_OK;
  // Full: run what is queued. Callers hold mu_, flush takes it itself.
  mu_.unlock();
  modnn_status st = flush();
  mu_.lock();
  (void)st;  // errors of async work surface at the next synchronising call
  return MODNN_OK;
}

modnn_status Client::flush() {
  if (t_in_host_callback) return MODNN_ERR_NOT_PERMITTED;
  std::lock_guard<std::mutex> exec(exec_mu_);
  std::vector<Op> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(queue_);
    queued_bytes_ = 0;
  }
  for (Op& op : batch) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (sticky_ != MODNN_OK) break;  // a faulted context runs nothing more
    }
    modnn_status st = execute(op);
    if (st != MODNN_OK) raise(st);
  }
  return MODNN_OK;
}

modnn_status Client::syncCall() {
  if (t_in_host_callback) return MODNN_ERR_NOT_PERMITTED;
  flush();
  std::lock_guard<std::mutex> lock(mu_);
  if (sticky_ != MODNN_OK) return sticky_;
  modnn_status st = pending_;
  pending_ = MODNN_OK;
  return st;
}

modnn_status Client::execute(Op& op) {
  if (auto* c = std::get_if<CopyOp>(&op.body)) return executeCopy(*c);
  if (auto* f = std::get_if<FillOp>(&op.body)) return executeFill(*f);
  if (auto* l = std::get_if<LaunchOp>(&op.body)) return executeLaunch(*l);
  if (auto* e = std::get_if<EventOp>(&op.body)) {
    uint64_t now = device_.iface->timestamp_ns(device_.ctx);
    std::lock_guard<std::mutex> lock(mu_);
    if (events_.count(e->event) && e->event->generation == e->generation) {
      e->event->completed = true;
      e->event->timestamp_ns = now;
    }
    return MODNN_OK;
  }
  auto& h = std::get<HostFuncOp>(op.body);
  t_in_host_callback = true;
  h.fn(h.user);
  t_in_host_callback = false;
  return MODNN_OK;
}

modnn_status Client::deviceSynchronize() {
  if (init_error_ != MODNN_OK) return init_error_;
  return syncCall();
}

modnn_status Client::deviceReset() {
  if (init_error_ != MODNN_OK) return init_error_;
  flush();
  std::lock_guard<std::mutex> exec(exec_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  allocs_.forEach([this](const Allocation& a) { vas_->release(a.base); });
  allocs_.clear();
  modules_.forEachVar([this](VarRecord& v) {
    if (v.storage) vas_->release(v.storage->base);
    v.storage.reset();
  });
  modules_.forEachModule([this](ModuleRecord& m) {
    if (m.loaded && device_.iface->module_unload) device_.iface->module_unload(device_.ctx, m.loaded);
    m.loaded = nullptr;
    m.load_attempted = false;
  });
  for (Stream* s : streams_) delete s;
  streams_.clear();
  for (Event* e : events_) delete e;
  events_.clear();
  sticky_ = MODNN_OK;
  pending_ = MODNN_OK;
  return MODNN_OK;
}

}  // namespace moai
