// Handle lifecycle and per-handle settings: stream, pointer mode, math mode,
// atomics, workspace.
#include "interpose/cublas/handle.h"

#include <mutex>
#include <new>
#include <unordered_set>

#include "interpose/core/client.h"

namespace moai::cublas {
namespace {

// Handles the program created and has not destroyed. Real cuBLAS crashes on
// a destroyed handle; we answer NOT_INITIALIZED instead.
template <class T>
class Registry {
 public:
  void add(T* h) {
    std::lock_guard<std::mutex> lock(mu_);
    live_.insert(h);
  }
  bool remove(T* h) {
    std::lock_guard<std::mutex> lock(mu_);
    return live_.erase(h) > 0;
  }
  T* find(T* h) {
    if (!h) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    return live_.count(h) ? h : nullptr;
  }

 private:
  std::mutex mu_;
  std::unordered_set<T*> live_;
};

Registry<cublasContext>& handles() {
  static auto* r = new Registry<cublasContext>;  // outlives static destructors
  return *r;
}

Registry<cublasLtContext>& ltHandles() {
  static auto* r = new Registry<cublasLtContext>;
  return *r;
}

template <class T>
cublasStatus_t create(Registry<T>& registry, T** out) {
  if (!out) return CUBLAS_STATUS_INVALID_VALUE;
  if (Client::get().checkDevice(0) != MODNN_OK) return CUBLAS_STATUS_NOT_INITIALIZED;
  auto* h = new (std::nothrow) T;
  if (!h) return CUBLAS_STATUS_ALLOC_FAILED;
  registry.add(h);
  *out = h;
  return CUBLAS_STATUS_SUCCESS;
}

template <class T>
cublasStatus_t set(cublasHandle_t handle, T cublasContext::*field, T value, bool valid) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid) return CUBLAS_STATUS_INVALID_VALUE;
  h->*field = value;
  return CUBLAS_STATUS_SUCCESS;
}

template <class T>
cublasStatus_t get(cublasHandle_t handle, T cublasContext::*field, T* out) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!out) return CUBLAS_STATUS_INVALID_VALUE;
  *out = h->*field;
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasContext* liveHandle(cublasHandle_t handle) { return handles().find(handle); }

cublasLtContext* liveHandle(cublasLtHandle_t handle) { return ltHandles().find(handle); }

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) { return create(handles(), handle); }

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  if (!handles().remove(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  // cuBLAS synchronises the handle's work before releasing its resources.
  if (handle->result_slot) {
    Client::get().streamSynchronize(reinterpret_cast<Stream*>(handle->stream));
    Client::get().free(handle->result_slot);
  }
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
  return set(handle, &cublasContext::stream, streamId, true);
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* streamId) {
  return get(handle, &cublasContext::stream, streamId);
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode) {
  return set(handle, &cublasContext::pointer_mode, mode,
             mode == CUBLAS_POINTER_MODE_HOST || mode == CUBLAS_POINTER_MODE_DEVICE);
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t* mode) {
  return get(handle, &cublasContext::pointer_mode, mode);
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  // One base mode, optionally with the reduced-precision-reduction flag.
  bool valid = false;
  switch (unsigned(mode) & ~unsigned(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)) {
    case CUBLAS_DEFAULT_MATH:
    case CUBLAS_TENSOR_OP_MATH:
    case CUBLAS_PEDANTIC_MATH:
    case CUBLAS_TF32_TENSOR_OP_MATH:
    case CUBLAS_FP32_EMULATED_BF16X9_MATH:
    case CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH: valid = true; break;
    default: break;
  }
  return set(handle, &cublasContext::math_mode, mode, valid);
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  return get(handle, &cublasContext::math_mode, mode);
}

cublasStatus_t cublasSetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t mode) {
  return set(handle, &cublasContext::atomics_mode, mode,
             mode == CUBLAS_ATOMICS_NOT_ALLOWED || mode == CUBLAS_ATOMICS_ALLOWED);
}

cublasStatus_t cublasGetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t* mode) {
  return get(handle, &cublasContext::atomics_mode, mode);
}

cublasStatus_t cublasSetSmCountTarget(cublasHandle_t handle, int smCountTarget) {
  return set(handle, &cublasContext::sm_count_target, smCountTarget, smCountTarget >= 0);
}

cublasStatus_t cublasGetSmCountTarget(cublasHandle_t handle, int* smCountTarget) {
  return get(handle, &cublasContext::sm_count_target, smCountTarget);
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace, size_t workspaceSizeInBytes) {
  cublasContext* h = liveHandle(handle);
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  // cuBLAS requires 256-byte alignment of a user workspace.
  if (workspaceSizeInBytes > 0 && (!workspace || reinterpret_cast<uintptr_t>(workspace) % 256 != 0))
    return CUBLAS_STATUS_INVALID_VALUE;
  h->workspace = workspace;
  h->workspace_bytes = workspaceSizeInBytes;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t* lightHandle) { return create(ltHandles(), lightHandle); }

cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle) {
  if (!ltHandles().remove(lightHandle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete lightHandle;
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace moai::cublas
