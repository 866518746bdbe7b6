// Event management.
#include "interpose/core/client.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

Event* handle(cudaEvent_t e) { return reinterpret_cast<Event*>(e); }

}  // namespace

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  constexpr unsigned kValid = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
  if (!event || (flags & ~kValid)) return done(MODNN_ERR_INVALID_VALUE);
  // Interprocess events must also disable timing (CUDA's rule).
  if ((flags & cudaEventInterprocess) && !(flags & cudaEventDisableTiming)) return done(MODNN_ERR_INVALID_VALUE);
  Event* e = nullptr;
  modnn_status st = Client::get().eventCreate(flags, &e);
  *event = reinterpret_cast<cudaEvent_t>(e);
  return done(st);
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudart::cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t event) { return done(Client::get().eventDestroy(handle(event))); }

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  return done(Client::get().eventRecord(handle(event), reinterpret_cast<Stream*>(stream)));
}

cudaError_t cudaEventRecordWithFlags(cudaEvent_t event, cudaStream_t stream, unsigned int flags) {
  if (flags & ~unsigned(cudaEventRecordExternal)) return done(MODNN_ERR_INVALID_VALUE);
  return cudart::cudaEventRecord(event, stream);
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  modnn_status st = Client::get().eventQuery(handle(event));
  return st == MODNN_ERR_NOT_READY ? cudaErrorNotReady : done(st);
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) { return done(Client::get().eventSynchronize(handle(event))); }

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  return done(Client::get().eventElapsed(handle(start), handle(end), ms));
}

}  // namespace moai::cudart
