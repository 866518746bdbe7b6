#include "interpose/core/backend_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

#include "interpose/core/log.h"

namespace moai {
namespace {

std::string shimDirectory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&shimDirectory), &info) && info.dli_fname) {
    std::error_code ec;
    auto p = std::filesystem::canonical(info.dli_fname, ec);
    if (!ec) return p.parent_path().string();
  }
  return {};
}

std::vector<std::string> searchPath(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("MOAI_BACKEND_DIR")) dirs.emplace_back(env);
  std::string self = shimDirectory();
  if (!self.empty()) {
    dirs.push_back(self);
    dirs.push_back(self + "/moai");
    dirs.push_back(self + "/../modnn/" + name);  // build tree: build/interpose -> build/modnn/<name>
  }
  dirs.emplace_back(std::string(MOAI_BACKEND_BUILD_DIR) + "/" + name);
  dirs.emplace_back(MOAI_BACKEND_INSTALL_DIR);
  return dirs;
}

}  // namespace

Result<std::vector<modnn_device>> openBackend(const std::string& name, const modnn_backend_config& config,
                                              bool isolated) {
  std::string file = "libmodnn_" + name + ".so";
  std::string tried;
  for (const auto& dir : searchPath(name)) {
    std::string path = dir + "/" + file;
    if (!std::filesystem::exists(path)) {
      tried += " " + path;
      continue;
    }
    void* h = nullptr;
    if (isolated) {
      h = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) log().debug("dlmopen {}: {}; loading it in the common namespace", path, dlerror());
    }
    if (!h) h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) return makeError(MODNN_ERR_NOT_INITIALIZED, std::string("dlopen failed: ") + dlerror());
    auto open = reinterpret_cast<modnn_backend_open_fn>(dlsym(h, "modnn_backend_open"));
    if (!open) return makeError(MODNN_ERR_NOT_INITIALIZED, path + " has no modnn_backend_open");
    std::vector<modnn_device> devices(64);
    int n = 0;
    modnn_status st = open(&config, devices.data(), int(devices.size()), &n);
    if (st != MODNN_OK) {
      dlclose(h);
      return makeError(st, "backend " + name + " did not open: " + modnn_status_string(st));
    }
    devices.resize(size_t(n));
    log().debug("backend {} from {}: {} device(s)", name, path, n);
    return devices;
  }
  return makeError(MODNN_ERR_NOT_INITIALIZED, file + " not found in:" + tried);
}

}  // namespace moai
