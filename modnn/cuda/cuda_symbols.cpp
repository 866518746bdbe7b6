#include "modnn/cuda/cuda_symbols.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <vector>

namespace modnn::cuda {
namespace {

#define MODNN_STR_(x) #x
#define MODNN_STR(x) MODNN_STR_(x)

std::vector<std::string> splitPath(const char* list) {
  std::vector<std::string> out;
  if (!list) return out;
  std::stringstream ss(list);
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty()) out.push_back(dir);
  return out;
}

// The MoAI shim exports the runtime's registration hooks; NVIDIA's driver
// and cuBLAS do not. A candidate that has them is the shim behind a link.
bool isShim(void* handle) { return dlsym(handle, "__cudaRegisterFatBinary") != nullptr; }

// Opens the first `names` entry found in `dirs` that is not the shim.
void* openFirst(const std::vector<std::string>& dirs, const std::vector<std::string>& names,
                std::string* path, std::string* tried) {
  for (const auto& name : names) {
    for (const auto& dir : dirs) {
      std::string p = dir + "/" + name;
      std::error_code ec;
      if (!std::filesystem::exists(p, ec)) continue;
      void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        *tried += " " + p + " (" + dlerror() + ")";
        continue;
      }
      if (isShim(h)) {
        *tried += " " + p + " (the MoAI shim)";
        dlclose(h);
        continue;
      }
      *path = p;
      return h;
    }
  }
  return nullptr;
}

std::vector<std::string> driverDirs() {
  std::vector<std::string> dirs;
  if (const char* d = std::getenv("MOAI_CUDA_DRIVER_DIR")) dirs.emplace_back(d);
  for (const char* d : {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/nvidia/lib64",
                        "/usr/local/nvidia/lib", "/usr/lib/wsl/lib", "/run/opengl-driver/lib"})
    dirs.emplace_back(d);
  for (auto& d : splitPath(std::getenv("LD_LIBRARY_PATH"))) dirs.push_back(d);
  return dirs;
}

std::vector<std::string> toolkitDirs() {
  std::vector<std::string> dirs;
  if (const char* d = std::getenv("MOAI_CUBLAS_DIR")) dirs.emplace_back(d);
  if (const char* home = std::getenv("CUDA_HOME")) dirs.push_back(std::string(home) + "/lib64");
  dirs.emplace_back(MODNN_TOOLKIT_LIBDIR);
  dirs.emplace_back("/usr/local/cuda/lib64");
  dirs.emplace_back("/usr/lib/x86_64-linux-gnu");
  for (auto& d : splitPath(std::getenv("LD_LIBRARY_PATH"))) dirs.push_back(d);
  return dirs;
}

template <typename Fn>
bool resolve(void* handle, const char* name, Fn* out, std::string* missing) {
  *out = reinterpret_cast<Fn>(dlsym(handle, name));
  if (!*out) *missing += std::string(" ") + name;
  return *out != nullptr;
}

const CudaLibraries* load(std::string* why) {
  auto* libs = new CudaLibraries();
  std::string tried;
  void* driver = openFirst(driverDirs(), {"libcuda.so.1"}, &libs->driver_path, &tried);
  if (!driver) {
    *why = "no NVIDIA driver (libcuda.so.1) found;" + (tried.empty() ? std::string(" none installed") : tried);
    delete libs;
    return nullptr;
  }
  // cuBLASLt first, by path, so cuBLAS's own dependency on it resolves to
  // the library already loaded from the same folder.
  void* lt = nullptr;
  void* blas = nullptr;
  for (const char* major : {"13", "12"}) {
    lt = openFirst(toolkitDirs(), {std::string("libcublasLt.so.") + major}, &libs->cublaslt_path, &tried);
    if (!lt) continue;
    std::string dir = std::filesystem::path(libs->cublaslt_path).parent_path().string();
    blas = openFirst({dir}, {std::string("libcublas.so.") + major}, &libs->cublas_path, &tried);
    if (blas) break;
    dlclose(lt);
    lt = nullptr;
  }
  if (!blas) {
    *why = "cuBLAS/cuBLASLt not found (set MOAI_CUBLAS_DIR):" + tried;
    delete libs;
    return nullptr;
  }
  std::string missing;
#define MODNN_CUDA_RESOLVE(handle) [&](const char* n, auto* slot) { resolve(handle, n, slot, &missing); }
  auto fromDriver = MODNN_CUDA_RESOLVE(driver);
  auto fromBlas = MODNN_CUDA_RESOLVE(blas);
  auto fromLt = MODNN_CUDA_RESOLVE(lt);
#undef MODNN_CUDA_RESOLVE
#define MODNN_CUDA_LOAD_DRIVER(name) fromDriver(MODNN_STR(name), &libs->name);
#define MODNN_CUDA_LOAD_BLAS(name) fromBlas(MODNN_STR(name), &libs->name);
#define MODNN_CUDA_LOAD_LT(name) fromLt(MODNN_STR(name), &libs->name);
  MODNN_CUDA_DRIVER_FUNCTIONS(MODNN_CUDA_LOAD_DRIVER)
  MODNN_CUBLAS_FUNCTIONS(MODNN_CUDA_LOAD_BLAS)
#define MODNN_CUDA_LOAD_TYPED(name, ...) fromBlas(#name, &libs->name);
  MODNN_CUBLAS_OVERLOADED_FUNCTIONS(MODNN_CUDA_LOAD_TYPED)
#undef MODNN_CUDA_LOAD_TYPED
  MODNN_CUBLASLT_FUNCTIONS(MODNN_CUDA_LOAD_LT)
#undef MODNN_CUDA_LOAD_DRIVER
#undef MODNN_CUDA_LOAD_BLAS
#undef MODNN_CUDA_LOAD_LT
  if (!missing.empty()) {
    *why = "CUDA libraries lack:" + missing;
    delete libs;
    return nullptr;
  }
  libs->cublas_handle = blas;
  return libs;
}

}  // namespace

void* CudaLibraries::blasSymbol(const char* name) const { return dlsym(cublas_handle, name); }

const CudaLibraries* loadCudaLibraries(std::string* why) {
  static std::once_flag once;
  static const CudaLibraries* libs = nullptr;
  static std::string reason;
  std::call_once(once, [] { libs = load(&reason); });
  if (!libs && why) *why = reason;
  return libs;
}

std::string errorName(const CudaLibraries& cu, CUresult r) {
  const char* name = nullptr;
  if (cu.cuGetErrorName && cu.cuGetErrorName(r, &name) == CUDA_SUCCESS && name) return name;
  return "CUresult " + std::to_string(int(r));
}

}  // namespace modnn::cuda
