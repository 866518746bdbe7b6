// Stream management.
#include "interpose/core/client.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

constexpr int kLeastPriority = 0;
constexpr int kGreatestPriority = -5;

Stream* handle(cudaStream_t s) { return reinterpret_cast<Stream*>(s); }

}  // namespace

cudaError_t cudaStreamCreateWithPriority(cudaStream_t* pStream, unsigned int flags, int priority) {
  if (!pStream || (flags & ~unsigned(cudaStreamNonBlocking))) return done(MODNN_ERR_INVALID_VALUE);
  // Out-of-range priorities are clamped, as CUDA documents.
  priority = std::max(kGreatestPriority, std::min(kLeastPriority, priority));
  Stream* s = nullptr;
  modnn_status st = Client::get().streamCreate(flags, priority, &s);
  *pStream = reinterpret_cast<cudaStream_t>(s);
  return done(st);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags) {
  return cudart::cudaStreamCreateWithPriority(pStream, flags, 0);
}

cudaError_t cudaStreamCreate(cudaStream_t* pStream) { return cudart::cudaStreamCreateWithPriority(pStream, 0, 0); }

cudaError_t cudaStreamDestroy(cudaStream_t s) { return done(Client::get().streamDestroy(handle(s))); }

cudaError_t cudaStreamSynchronize(cudaStream_t s) { return done(Client::get().streamSynchronize(handle(s))); }

cudaError_t cudaStreamQuery(cudaStream_t s) {
  modnn_status st = Client::get().streamQuery(handle(s));
  // "Not ready" is an answer, not an error: it does not become the last error.
  return st == MODNN_ERR_NOT_READY ? cudaErrorNotReady : done(st);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t event, unsigned int flags) {
  if (flags & ~unsigned(cudaEventWaitExternal)) return done(MODNN_ERR_INVALID_VALUE);
  return done(Client::get().streamWaitEvent(handle(s), reinterpret_cast<Event*>(event)));
}

cudaError_t cudaStreamGetFlags(cudaStream_t hStream, unsigned int* flags) {
  if (!flags) return done(MODNN_ERR_INVALID_VALUE);
  Stream* s = nullptr;
  if (modnn_status st = Client::get().resolveStream(handle(hStream), &s); st != MODNN_OK) return done(st);
  *flags = s->flags;
  return cudaSuccess;
}

cudaError_t cudaStreamGetPriority(cudaStream_t hStream, int* priority) {
  if (!priority) return done(MODNN_ERR_INVALID_VALUE);
  Stream* s = nullptr;
  if (modnn_status st = Client::get().resolveStream(handle(hStream), &s); st != MODNN_OK) return done(st);
  *priority = s->priority;
  return cudaSuccess;
}

cudaError_t cudaStreamGetId(cudaStream_t hStream, unsigned long long* streamId) {
  if (!streamId) return done(MODNN_ERR_INVALID_VALUE);
  Stream* s = nullptr;
  if (modnn_status st = Client::get().resolveStream(handle(hStream), &s); st != MODNN_OK) return done(st);
  *streamId = s->id;
  return cudaSuccess;
}

cudaError_t cudaStreamGetDevice(cudaStream_t hStream, int* device) {
  if (!device) return done(MODNN_ERR_INVALID_VALUE);
  Stream* s = nullptr;
  if (modnn_status st = Client::get().resolveStream(handle(hStream), &s); st != MODNN_OK) return done(st);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaLaunchHostFunc(cudaStream_t s, cudaHostFn_t fn, void* userData) {
  return done(Client::get().launchHostFunc(handle(s), fn, userData));
}

namespace {

struct StreamCallback {
  cudaStream_t stream;
  cudaStreamCallback_t fn;
  void* user;
};

void runStreamCallback(void* p) {
  auto* cb = static_cast<StreamCallback*>(p);
  cb->fn(cb->stream, cudaSuccess, cb->user);
  delete cb;
}

}  // namespace

cudaError_t cudaStreamAddCallback(cudaStream_t s, cudaStreamCallback_t callback, void* userData,
                                  unsigned int flags) {
  if (!callback || flags != 0) return done(MODNN_ERR_INVALID_VALUE);
  auto* cb = new StreamCallback{s, callback, userData};
  modnn_status st = Client::get().launchHostFunc(handle(s), runStreamCallback, cb);
  if (st != MODNN_OK) delete cb;
  return done(st);
}

cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus* pCaptureStatus) {
  if (!pCaptureStatus) return done(MODNN_ERR_INVALID_VALUE);
  Stream* st = nullptr;
  if (modnn_status r = Client::get().resolveStream(handle(s), &st); r != MODNN_OK) return done(r);
  *pCaptureStatus = cudaStreamCaptureStatusNone;  // graph capture is not offered yet
  return cudaSuccess;
}

}  // namespace moai::cudart
