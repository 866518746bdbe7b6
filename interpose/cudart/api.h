// The libcudart surface as C++ declarations, from the generated list.
//
// Every exported cudaXxx forwards to moai::cudart::cudaXxx. Files in this
// folder define the ones MoAI implements; fallbacks.cpp gives every other one
// a weak definition that logs once and returns cudaErrorNotSupported. Build
// with -Werror=missing-declarations so an implementation whose signature
// drifts from the header fails to compile instead of silently losing to the
// fallback.
#pragma once
#include <cuda_runtime_api.h>
#include <cuda_egl_interop.h>
#include <cuda_gl_interop.h>
#include <cuda_profiler_api.h>
#include <cuda_vdpau_interop.h>

#include "modnn/status.h"

namespace moai::cudart {

#define MOAI_API(ret, name, params, args) ret name params;
#define MOAI_API_VARIANT(ret, name, base, params, args)
#define MOAI_API_OPAQUE(name)
#include "cudart_api.inc"
#undef MOAI_API
#undef MOAI_API_VARIANT
#undef MOAI_API_OPAQUE

// modnn_status -> cudaError_t; records a failure as the thread's last error.
cudaError_t done(modnn_status st);
cudaError_t toCuda(modnn_status st);
// Records an already-converted CUDA error as the thread's last error.
cudaError_t setLastError(cudaError_t err);

// Address of the exported function `name`, or null (for dlsym-style lookups).
void* lookupExport(const char* name);

}  // namespace moai::cudart
