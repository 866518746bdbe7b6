// Client: streams, events and host functions.
#include "interpose/core/client.h"

namespace moai {
namespace {

thread_local bool t_per_thread_default = false;

}  // namespace

Client::PerThreadDefault::PerThreadDefault() : saved_(t_per_thread_default) { t_per_thread_default = true; }
Client::PerThreadDefault::~PerThreadDefault() { t_per_thread_default = saved_; }

Stream* Client::perThreadStream() {
  thread_local Stream stream{0, 0, 0};
  return &stream;
}

modnn_status Client::resolveStream(Stream* handle, Stream** out) {
  if (handle == nullptr) handle = t_per_thread_default ? kPerThreadStream : kLegacyStream;
  if (handle == kLegacyStream) {
    *out = &legacy_stream_;
    return MODNN_OK;
  }
  if (handle == kPerThreadStream) {
    *out = perThreadStream();
    return MODNN_OK;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!streams_.count(handle)) return MODNN_ERR_INVALID_HANDLE;
  *out = handle;
  return MODNN_OK;
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
  if (s == nullptr || s == kLegacyStream || s == kPerThreadStream) return MODNN_ERR_INVALID_HANDLE;
  std::lock_guard<std::mutex> lock(mu_);
  if (!streams_.erase(s)) return MODNN_ERR_INVALID_HANDLE;
  // Work already queued on it still runs (CUDA completes it before release);
  // queued ops only use the stream as a tag, so keep the object until then.
  Op marker;
  marker.stream = s;
  marker.body = HostFuncOp{[](void* p) { delete static_cast<Stream*>(p); }, s};
  queue_.push_back(std::move(marker));
  return MODNN_OK;
}

modnn_status Client::streamSynchronize(Stream* handle) {
  Stream* s = nullptr;
  modnn_status st = resolveStream(handle, &s);
  if (st != MODNN_OK) return st;
  return syncCall();
}

modnn_status Client::streamQuery(Stream* handle) {
  Stream* s = nullptr;
  modnn_status st = resolveStream(handle, &s);
  if (st != MODNN_OK) return st;
  // Queued work runs now, so a query never reports "not ready" forever.
  return syncCall();
}

modnn_status Client::streamWaitEvent(Stream* handle, Event* e) {
  Stream* s = nullptr;
  modnn_status st = resolveStream(handle, &s);
  if (st != MODNN_OK) return st;
  std::lock_guard<std::mutex> lock(mu_);
  if (!events_.count(e)) return MODNN_ERR_INVALID_HANDLE;
  // Ops run in issue order, so everything the event covers precedes whatever
  // the stream does next.
  return sticky_;
}

modnn_status Client::launchHostFunc(Stream* handle, void (*fn)(void*), void* user) {
  if (!fn) return MODNN_ERR_INVALID_VALUE;
  Stream* s = nullptr;
  modnn_status st = resolveStream(handle, &s);
  if (st != MODNN_OK) return st;
  std::lock_guard<std::mutex> lock(mu_);
  Op op;
  op.stream = s;
  op.body = HostFuncOp{fn, user};
  return enqueue(std::move(op));
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
  Stream* s = nullptr;
  modnn_status st = resolveStream(handle, &s);
  if (st != MODNN_OK) return st;
  std::lock_guard<std::mutex> lock(mu_);
  if (!events_.count(e)) return MODNN_ERR_INVALID_HANDLE;
  e->recorded = true;
  e->completed = false;
  Op op;
  op.stream = s;
  op.body = EventOp{e, ++e->generation};
  return enqueue(std::move(op));
}

modnn_status Client::eventQuery(Event* e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!events_.count(e)) return MODNN_ERR_INVALID_HANDLE;
    if (!e->recorded || e->completed) return sticky_;
  }
  return eventSynchronize(e);
}

modnn_status Client::eventSynchronize(Event* e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!events_.count(e)) return MODNN_ERR_INVALID_HANDLE;
    if (!e->recorded) return sticky_;
  }
  return syncCall();
}

modnn_status Client::eventElapsed(Event* start, Event* end, float* ms) {
  if (!ms) return MODNN_ERR_INVALID_VALUE;
  std::lock_guard<std::mutex> lock(mu_);
  if (!events_.count(start) || !events_.count(end)) return MODNN_ERR_INVALID_HANDLE;
  constexpr unsigned kDisableTiming = 0x02;  // cudaEventDisableTiming
  if ((start->flags | end->flags) & kDisableTiming) return MODNN_ERR_INVALID_HANDLE;
  if (!start->recorded || !end->recorded) return MODNN_ERR_INVALID_HANDLE;
  if (!start->completed || !end->completed) return MODNN_ERR_NOT_READY;
  *ms = float(double(int64_t(end->timestamp_ns - start->timestamp_ns)) / 1e6);
  return MODNN_OK;
}

}  // namespace moai
