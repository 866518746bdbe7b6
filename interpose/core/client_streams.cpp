// Client: streams, events and host functions.
#include "interpose/core/client.h"

namespace moai {
namespace {

thread_local bool t_per_thread_default = false;
thread_local Stream* t_per_thread_stream = nullptr;

}  // namespace

Client::PerThreadDefault::PerThreadDefault() : saved_(t_per_thread_default) { t_per_thread_default = true; }
Client::PerThreadDefault::~PerThreadDefault() { t_per_thread_default = saved_; }

// Owned by the client, not the thread: ops may still be queued on it after
// the thread that used it has exited.
Stream* Client::perThreadStreamLocked() {
  if (!t_per_thread_stream) {
    per_thread_.push_back(std::make_unique<Stream>());
    t_per_thread_stream = per_thread_.back().get();
    t_per_thread_stream->id = next_stream_id_++;
  }
  return t_per_thread_stream;
}

modnn_status Client::resolveStreamLocked(Stream* handle, Stream** out) {
  if (handle == nullptr) handle = t_per_thread_default ? kPerThreadStream : kLegacyStream;
  if (handle == kLegacyStream) {
    *out = &legacy_stream_;
  } else if (handle == kPerThreadStream) {
    *out = perThreadStreamLocked();
  } else if (streams_.count(handle)) {
    *out = handle;
  } else {
    return MODNN_ERR_INVALID_HANDLE;
  }
  return MODNN_OK;
}

modnn_status Client::resolveStream(Stream* handle, Stream** out) {
  std::lock_guard<std::mutex> lock(mu_);
  return resolveStreamLocked(handle, out);
}

modnn_status Client::streamCreate(unsigned flags, int priority, Stream** out) {
  if (!out) return MODNN_ERR_INVALID_VALUE;
  if (init_error_ != MODNN_OK) return init_error_;
  auto* s = new Stream;
  s->flags = flags;
  s->priority = priority;
  std::lock_guard<std::mutex> lock(mu_);
  s->id = next_stream_id_++;
  streams_.insert(s);
  *out = s;
  return MODNN_OK;
}

modnn_status Client::streamDestroy(Stream* s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!streams_.erase(s)) return MODNN_ERR_INVALID_HANDLE;
  // Work already queued still runs (CUDA completes it); the object stays
  // because other streams' ops may name positions in it.
  {
    std::lock_guard<std::mutex> slock(s->mu);
    s->closing = true;
  }
  s->work_cv.notify_one();
  retired_.push_back(s);
  return MODNN_OK;
}

modnn_status Client::streamSynchronize(Stream* handle) {
  if (inHostCallback()) return MODNN_ERR_NOT_PERMITTED;
  StreamPos tail;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stream* s = nullptr;
    if (modnn_status st = resolveStreamLocked(handle, &s); st != MODNN_OK) return st;
    tail = {s, s->submitted};
  }
  waitFor(tail);
  return finishSync();
}

modnn_status Client::streamQuery(Stream* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  Stream* s = nullptr;
  if (modnn_status st = resolveStreamLocked(handle, &s); st != MODNN_OK) return st;
  if (modnn_status h = health(); h != MODNN_OK) return h;
  return s->completed.load(std::memory_order_acquire) >= s->submitted ? MODNN_OK : MODNN_ERR_NOT_READY;
}

modnn_status Client::streamWaitEvent(Stream* handle, Event* e) {
  std::lock_guard<std::mutex> lock(mu_);
  Stream* s = nullptr;
  if (modnn_status st = resolveStreamLocked(handle, &s); st != MODNN_OK) return st;
  if (!events_.count(e)) return MODNN_ERR_INVALID_HANDLE;
  if (modnn_status h = health(); h != MODNN_OK) return h;
  // Waiting on a never-recorded or completed event is a no-op, as in CUDA.
  if (!e->recorded || e->completed) return MODNN_OK;
  submitLocked(s, WaitOp{}, {e->last});
  return MODNN_OK;
}

modnn_status Client::launchHostFunc(Stream* handle, void (*fn)(void*), void* user) {
  if (!fn) return MODNN_ERR_INVALID_VALUE;
  std::lock_guard<std::mutex> lock(mu_);
  Stream* s = nullptr;
  if (modnn_status st = resolveStreamLocked(handle, &s); st != MODNN_OK) return st;
  if (modnn_status h = health(); h != MODNN_OK) return h;
  submitLocked(s, HostFuncOp{fn, user});
  return MODNN_OK;
}

modnn_status Client::eventCreate(unsigned flags, Event** out) {
  if (!out) return MODNN_ERR_INVALID_VALUE;
  if (init_error_ != MODNN_OK) return init_error_;
  auto* e = new Event;
  e->flags = flags;
  std::lock_guard<std::mutex> lock(mu_);
  events_.insert(e);
  *out = e;
  return MODNN_OK;
}

modnn_status Client::eventDestroy(Event* e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!events_.erase(e)) return MODNN_ERR_INVALID_HANDLE;
  delete e;  // queued records check events_ before touching it
  return MODNN_OK;
}

modnn_status Client::eventRecord(Event* e, Stream* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  Stream* s = nullptr;
  if (modnn_status st = resolveStreamLocked(handle, &s); st != MODNN_OK) return st;
  if (!events_.count(e)) return MODNN_ERR_INVALID_HANDLE;
  if (modnn_status h = health(); h != MODNN_OK) return h;
  e->recorded = true;
  e->completed = false;
  e->device_event = 0;
  e->last = submitLocked(s, EventOp{e, ++e->generation});
  return MODNN_OK;
}

modnn_status Client::pollDeviceEvent(Event* e, bool wait) {
  uint64_t id, generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!e->recorded || e->completed) return MODNN_OK;
    if (!e->device_event) return MODNN_ERR_NOT_READY;  // still queued in its stream
    id = e->device_event;
    generation = e->generation;
  }
  uint64_t ns = 0;
  modnn_status st = device_.iface->event_query(device_.ctx, id, wait, &ns);  // not under the lock: it may wait
  if (st != MODNN_OK) return st;
  std::lock_guard<std::mutex> lock(mu_);
  if (events_.count(e) && e->generation == generation && e->device_event == id) {
    e->completed = true;
    e->timestamp_ns = ns;
  }
  return MODNN_OK;
}

modnn_status Client::eventQuery(Event* e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!events_.count(e)) return MODNN_ERR_INVALID_HANDLE;
    if (modnn_status h = health(); h != MODNN_OK) return h;
    if (!e->recorded || e->completed) return MODNN_OK;
    if (!e->device_event) return MODNN_ERR_NOT_READY;
  }
  modnn_status st = pollDeviceEvent(e, false);
  if (st != MODNN_OK && st != MODNN_ERR_NOT_READY) raise(st);
  return st;
}

modnn_status Client::eventSynchronize(Event* e) {
  if (inHostCallback()) return MODNN_ERR_NOT_PERMITTED;
  StreamPos pos;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!events_.count(e)) return MODNN_ERR_INVALID_HANDLE;
    if (!e->recorded || e->completed) return health();
    pos = e->last;
  }
  waitFor(pos);
  bool device_events = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    device_events = e->device_event != 0 && !e->completed;
  }
  if (!device_events) return finishSync();
  // Only this event's work, not the whole device: the device answers once
  // the record has run, with the job's first error if there was one.
  if (modnn_status st = pollDeviceEvent(e, true); st != MODNN_OK) raise(st);
  std::lock_guard<std::mutex> lock(mu_);
  if (modnn_status h = health(); h != MODNN_OK) return h;
  return std::exchange(pending_, MODNN_OK);
}

modnn_status Client::eventElapsed(Event* start, Event* end, float* ms) {
  if (!ms) return MODNN_ERR_INVALID_VALUE;
  std::unique_lock<std::mutex> lock(mu_);
  if (!events_.count(start) || !events_.count(end)) return MODNN_ERR_INVALID_HANDLE;
  constexpr unsigned kDisableTiming = 0x02;  // cudaEventDisableTiming
  if ((start->flags | end->flags) & kDisableTiming) return MODNN_ERR_INVALID_HANDLE;
  if (!start->recorded || !end->recorded) return MODNN_ERR_INVALID_HANDLE;
  if (!start->completed || !end->completed) {
    lock.unlock();
    for (Event* e : {start, end})
      if (modnn_status st = pollDeviceEvent(e, false); st != MODNN_OK) return st;
    lock.lock();
    if (!start->completed || !end->completed) return MODNN_ERR_NOT_READY;
  }
  *ms = float(double(int64_t(end->timestamp_ns - start->timestamp_ns)) / 1e6);
  return MODNN_OK;
}

}  // namespace moai
