// The libcublas and libcublasLt surfaces as C++ declarations, from the
// generated lists.
//
// Every exported cublasXxx / cublasLtXxx forwards to moai::cublas::Xxx.
// Files in this folder define the ones MoAI implements; fallbacks.cpp gives
// every other one a weak definition that logs once and returns
// CUBLAS_STATUS_NOT_SUPPORTED. Built with -Werror=missing-declarations, so an
// implementation whose signature drifts from the header fails to compile.
#pragma once
#include <cublas.h>  // the legacy API, and cublas_api.h
// cublasXt.h includes cublas_v2.h, which refuses to follow cublas.h and
// whose macros would rename the legacy functions (cublasSgemm ->
// cublasSgemm_v2). We export both APIs, and cublas_api.h is already in, so
// its body is skipped.
#define CUBLAS_V2_H_
#include <cublasLt.h>
#include <cublasXt.h>

#include "modnn/status.h"

namespace moai::cublas {

#define MOAI_API(ret, name, params, args) ret name params;
#define MOAI_API_VARIANT(ret, name, base, params, args)
#define MOAI_API_OPAQUE(name)
#include "cublas_api.inc"
#include "cublasLt_api.inc"
#undef MOAI_API
#undef MOAI_API_VARIANT
#undef MOAI_API_OPAQUE

// modnn_status -> cublasStatus_t.
cublasStatus_t toCublas(modnn_status st);

}  // namespace moai::cublas
