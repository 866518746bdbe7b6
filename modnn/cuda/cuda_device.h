// One CUDA device as a moDNN device: shared by the files of this backend.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "modnn/backend.h"
#include "modnn/cuda/chunk_map.h"
#include "modnn/cuda/cuda_symbols.h"

namespace modnn::cuda {

struct CudaBuffer {
  uint64_t va;
  uint64_t size;
};

// A module variable: the kernel uses the module's own storage, the client
// addresses a buffer of its own at `va`; they are synchronised around each
// launch of the module's kernels.
struct ModuleVariable {
  uint64_t va = 0;
  CUdeviceptr storage = 0;
  uint64_t size = 0;
};

struct CudaModule {
  CUmodule module = nullptr;
  std::vector<ModuleVariable> variables;
  std::mutex mu;
  std::map<std::string, CUfunction> functions;  // by mangled name
};

struct CudaDevice {
  const CudaLibraries* cu = nullptr;
  int index = 0;
  CUdevice device = 0;
  CUcontext context = nullptr;  // the primary context, shared with anyone else in the process
  // One in-order stream: the client orders its streams' ops before they get
  // here, so a single queue keeps every dependency it has already resolved.
  CUstream stream = nullptr;
  std::mutex mu;                // the address range and its chunks
  uint64_t range_base = 0, range_size = 0;
  uint64_t granularity = 0;
  std::unique_ptr<ChunkMap> chunks;
  uint64_t total_memory = 0;
  uint64_t used = 0;            // bytes of buffers (not of mapped chunks)
  // cuBLAS state, created on first use.
  std::once_flag blas_once;
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t lt = nullptr;
  CUdeviceptr workspace = 0;
  uint64_t workspace_size = 0;
  CUdeviceptr scalars = 0;      // device copies of host scalars, for mixed pointer modes
  std::mutex blas_mu;           // cuBLAS handles are not safe across threads at once
};

CudaDevice* device(void* ctx);

// Makes the device's context current on the calling thread (every entry
// point runs on whichever client thread calls it).
void makeCurrent(CudaDevice* d);

// CUresult -> modnn_status, logging what the driver said.
modnn_status check(CudaDevice* d, CUresult r, const char* what);
modnn_status checkBlas(cublasStatus_t s, const char* what);

// Entry points implemented in cuda_kernels.cpp and cuda_blas.cpp.
modnn_status moduleLoad(void* ctx, const modnn_module_image* image, modnn_module** out);
void moduleUnload(void* ctx, modnn_module* module);
bool supportsKernel(void* ctx, modnn_module* module, const char* name);
modnn_status launchKernel(void* ctx, const modnn_kernel_launch* launch);
bool supportsOp(void* ctx, const modnn_op* op);
modnn_status runOp(void* ctx, const modnn_op* op);
void destroyBlas(CudaDevice* d);

}  // namespace modnn::cuda
