// The hooks nvcc's generated host code calls: module registration in static
// constructors, and the <<<>>> call configuration.
#include <vector>

#include "interpose/core/client.h"
#include "interpose/core/log.h"
#include "interpose/cudart/api.h"

namespace moai::cudart {
namespace {

struct CallConfiguration {
  dim3 grid, block;
  size_t shared;
  cudaStream_t stream;
};

thread_local std::vector<CallConfiguration> t_configs;

}  // namespace

void** __cudaRegisterFatBinary(void* fatCubin) { return Client::get().registerFatbin(fatCubin); }

void __cudaRegisterFatBinaryEnd(void** fatCubinHandle) {}

void __cudaUnregisterFatBinary(void** fatCubinHandle) { Client::get().unregisterFatbin(fatCubinHandle); }

void __cudaRegisterFunction(void** fatCubinHandle, const char* hostFun, char* deviceFun, const char* deviceName,
                            int thread_limit, uint3* tid, uint3* bid, dim3* bDim, dim3* gDim, int* wSize) {
  Client::get().registerFunction(fatCubinHandle, hostFun, deviceName);
}

void __cudaRegisterVar(void** fatCubinHandle, char* hostVar, char* deviceAddress, const char* deviceName, int ext,
                       size_t size, int constant, int global) {
  Client::get().registerVar(fatCubinHandle, hostVar, deviceName, size, constant != 0);
}

void __cudaRegisterManagedVar(void** fatCubinHandle, void** hostVarPtrAddress, char* deviceAddress,
                              const char* deviceName, int ext, size_t size, int constant, int global) {
  // __managed__ variables need host-visible device memory: not offered yet.
  logNotSupportedOnce("__cudaRegisterManagedVar");
}

char __cudaInitModule(void** fatCubinHandle) { return 1; }

unsigned __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim, size_t sharedMem, struct CUstream_st* stream) {
  t_configs.push_back(CallConfiguration{gridDim, blockDim, sharedMem, stream});
  return 0;
}

cudaError_t __cudaPopCallConfiguration(dim3* gridDim, dim3* blockDim, size_t* sharedMem, void* stream) {
  if (t_configs.empty()) return setLastError(cudaErrorMissingConfiguration);
  CallConfiguration c = t_configs.back();
  t_configs.pop_back();
  *gridDim = c.grid;
  *blockDim = c.block;
  *sharedMem = c.shared;
  *static_cast<cudaStream_t*>(stream) = c.stream;
  return cudaSuccess;
}

}  // namespace moai::cudart
