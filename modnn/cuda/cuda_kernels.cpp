// Modules and kernel launches on the real GPU.
#include <algorithm>
#include <string>

#include "modnn/cuda/cuda_device.h"

namespace modnn::cuda {
namespace {

CudaModule* cudaModule(modnn_module* m) { return reinterpret_cast<CudaModule*>(m); }

CUfunction findFunction(CudaDevice* d, CudaModule* m, const char* name) {
  std::lock_guard<std::mutex> lock(m->mu);
  auto it = m->functions.find(name);
  if (it != m->functions.end()) return it->second;
  CUfunction f = nullptr;
  if (d->cu->cuModuleGetFunction(&f, m->module, name) != CUDA_SUCCESS) f = nullptr;
  m->functions.emplace(name, f);
  return f;
}

// Module variables: copy the client's bytes in before a launch and back
// after, both in stream order, so cudaMemcpyToSymbol and kernels that write
// __device__ variables see what they would on a GPU of their own.
modnn_status syncVariables(CudaDevice* d, CudaModule* m, bool into_module) {
  for (const auto& v : m->variables) {
    CUdeviceptr dst = into_module ? v.storage : CUdeviceptr(v.va);
    CUdeviceptr src = into_module ? CUdeviceptr(v.va) : v.storage;
    modnn_status st = check(d, d->cu->cuMemcpyDtoDAsync(dst, src, v.size, d->stream), "module variable copy");
    if (st != MODNN_OK) return st;
  }
  return MODNN_OK;
}

}  // namespace

modnn_status moduleLoad(void* ctx, const modnn_module_image* image, modnn_module** out) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  auto* m = new CudaModule();
  // The fatbin first (the driver picks its SASS or JITs its PTX); then the
  // PTX the client chose, which covers -rdc programs whose device code the
  // client has linked itself.
  CUresult r = d->cu->cuModuleLoadData(&m->module, image->data);
  if (r != CUDA_SUCCESS && image->ptx && image->ptx_size) {
    std::string ptx(image->ptx, image->ptx_size);
    r = d->cu->cuModuleLoadData(&m->module, ptx.c_str());
  }
  modnn_status st = check(d, r, "cuModuleLoadData");
  if (st != MODNN_OK) {
    delete m;
    return st;
  }
  for (size_t i = 0; i < image->symbol_count; ++i) {
    const modnn_module_symbol& s = image->symbols[i];
    CUdeviceptr storage = 0;
    size_t bytes = 0;
    if (d->cu->cuModuleGetGlobal(&storage, &bytes, m->module, s.name) != CUDA_SUCCESS) continue;
    m->variables.push_back({s.va, storage, std::min<uint64_t>(bytes, s.size)});
  }
  *out = reinterpret_cast<modnn_module*>(m);
  return MODNN_OK;
}

void moduleUnload(void* ctx, modnn_module* module) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  d->cu->cuStreamSynchronize(d->stream);
  CudaModule* m = cudaModule(module);
  d->cu->cuModuleUnload(m->module);
  delete m;
}

bool supportsKernel(void* ctx, modnn_module* module, const char* name) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  return findFunction(d, cudaModule(module), name) != nullptr;
}

modnn_status launchKernel(void* ctx, const modnn_kernel_launch* l) {
  CudaDevice* d = device(ctx);
  makeCurrent(d);
  CudaModule* m = cudaModule(l->module);
  CUfunction f = findFunction(d, m, l->kernel_name);
  if (!f) return MODNN_ERR_INVALID_FUNCTION;
  if (l->dynamic_shared_bytes > 48 * 1024) {
    modnn_status st = check(d,
                            d->cu->cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                                      int(l->dynamic_shared_bytes)),
                            "cuFuncSetAttribute");
    if (st != MODNN_OK) return st;
  }
  modnn_status st = syncVariables(d, m, true);
  if (st != MODNN_OK) return st;
  size_t param_bytes = l->param_bytes;
  void* extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, const_cast<void*>(l->params), CU_LAUNCH_PARAM_BUFFER_SIZE,
                   &param_bytes, CU_LAUNCH_PARAM_END};
  st = check(d,
             d->cu->cuLaunchKernel(f, l->grid[0], l->grid[1], l->grid[2], l->block[0], l->block[1], l->block[2],
                                   l->dynamic_shared_bytes, d->stream, nullptr, l->param_bytes ? extra : nullptr),
             "cuLaunchKernel");
  if (st != MODNN_OK) return st == MODNN_ERR_INVALID_VALUE ? MODNN_ERR_INVALID_CONFIGURATION : st;
  return syncVariables(d, m, false);
}

}  // namespace modnn::cuda
