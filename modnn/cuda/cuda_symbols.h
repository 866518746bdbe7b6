// The CUDA driver, cuBLAS and cuBLASLt as tables of function pointers,
// loaded at run time by absolute path.
//
// Why not link them: the shim that may host this backend exports every
// cuBLAS and cuda* name itself, so a link-time reference (or a library found
// by soname) could bind to the shim instead of NVIDIA's code. Each function
// this backend calls is named once, in the lists below; the loader resolves
// every name through the handle of the library it opened.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda.h>

#include <string>
#include <type_traits>

namespace modnn::cuda {

// X(name): the macro names in cuda.h map to versioned symbols (cuMemAlloc ->
// cuMemAlloc_v2); the loader stringises the expanded name.
#define MODNN_CUDA_DRIVER_FUNCTIONS(X)                                                          \
  X(cuInit) X(cuDriverGetVersion) X(cuDeviceGetCount) X(cuDeviceGet) X(cuDeviceGetName)         \
  X(cuDeviceGetUuid) X(cuDeviceTotalMem) X(cuDeviceGetAttribute) X(cuDevicePrimaryCtxRetain)    \
  X(cuDevicePrimaryCtxRelease) X(cuCtxSetCurrent) X(cuStreamCreate) X(cuStreamDestroy)          \
  X(cuStreamSynchronize) X(cuGetErrorName) X(cuMemAlloc) X(cuMemFree) X(cuMemGetInfo)           \
  X(cuMemAddressReserve) X(cuMemAddressFree) X(cuMemCreate) X(cuMemRelease) X(cuMemMap)         \
  X(cuMemUnmap) X(cuMemSetAccess) X(cuMemGetAllocationGranularity) X(cuMemcpyHtoDAsync)         \
  X(cuMemcpyDtoHAsync) X(cuMemcpyDtoDAsync) X(cuMemsetD8Async) X(cuMemsetD16Async)              \
  X(cuMemsetD32Async) X(cuModuleLoadData) X(cuModuleUnload) X(cuModuleGetFunction)              \
  X(cuModuleGetGlobal) X(cuFuncSetAttribute) X(cuLaunchKernel)

#define MODNN_CUBLAS_FUNCTIONS(X)                                                               \
  X(cublasCreate) X(cublasDestroy) X(cublasSetStream) X(cublasSetPointerMode)                   \
  X(cublasSetWorkspace)

// C++ sees two overloads of these (the compute type as cublasComputeType_t
// or as the legacy cudaDataType): X(name, the one we call).
#define MODNN_CUBLAS_OVERLOADED_FUNCTIONS(X)                                                    \
  X(cublasGemmStridedBatchedEx,                                                                 \
    cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,      \
                       const void*, const void*, cudaDataType, int, long long, const void*,      \
                       cudaDataType, int, long long, const void*, void*, cudaDataType, int,      \
                       long long, int, cublasComputeType_t, cublasGemmAlgo_t))                  \
  X(cublasGemmBatchedEx,                                                                        \
    cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,      \
                       const void*, const void* const[], cudaDataType, int, const void* const[], \
                       cudaDataType, int, const void*, void* const[], cudaDataType, int, int,     \
                       cublasComputeType_t, cublasGemmAlgo_t))

#define MODNN_CUBLASLT_FUNCTIONS(X)                                                             \
  X(cublasLtCreate) X(cublasLtDestroy) X(cublasLtMatmulDescCreate) X(cublasLtMatmulDescDestroy) \
  X(cublasLtMatmulDescSetAttribute) X(cublasLtMatrixLayoutCreate) X(cublasLtMatrixLayoutDestroy) \
  X(cublasLtMatrixLayoutSetAttribute) X(cublasLtMatmulPreferenceCreate)                        \
  X(cublasLtMatmulPreferenceDestroy) X(cublasLtMatmulPreferenceSetAttribute)                   \
  X(cublasLtMatmulAlgoGetHeuristic) X(cublasLtMatmul)

struct CudaLibraries {
#define MODNN_CUDA_MEMBER(name) decltype(&::name) name = nullptr;
  MODNN_CUDA_DRIVER_FUNCTIONS(MODNN_CUDA_MEMBER)
  MODNN_CUBLAS_FUNCTIONS(MODNN_CUDA_MEMBER)
#define MODNN_CUDA_TYPED_MEMBER(name, ...) std::type_identity_t<__VA_ARGS__> name = nullptr;
  MODNN_CUBLAS_OVERLOADED_FUNCTIONS(MODNN_CUDA_TYPED_MEMBER)
#undef MODNN_CUDA_TYPED_MEMBER
  MODNN_CUBLASLT_FUNCTIONS(MODNN_CUDA_MEMBER)
#undef MODNN_CUDA_MEMBER
  void* cublas_handle = nullptr;  // dlopen handle, for the per-type BLAS routines (blasSymbol)
  std::string driver_path, cublas_path, cublaslt_path;

  // A cuBLAS routine by its exported name ("cublasSgemv_v2_64"), or nullptr.
  void* blasSymbol(const char* name) const;
};

// Loads the driver and the two libraries once per process. nullptr (and
// *why) when any is missing: no driver, no toolkit libraries, or the only
// "libcuda" found is the MoAI shim itself.
const CudaLibraries* loadCudaLibraries(std::string* why);

// "CUDA_ERROR_ILLEGAL_ADDRESS" etc. for logs.
std::string errorName(const CudaLibraries& cu, CUresult r);

}  // namespace modnn::cuda
