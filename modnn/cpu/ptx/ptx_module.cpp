#include "modnn/cpu/ptx/ptx_module.h"

#include <cstring>
#include <list>
#include <mutex>

#include "modnn/cpu/cpu_log.h"
#include "modnn/cpu/ptx/ptx_decode_ctx.h"

namespace modnn::ptx {
namespace {

std::mutex gCacheMu;
std::map<uint64_t, std::weak_ptr<const DecodedModule>> gCache;
// The most recently decoded modules stay alive across unload/reload.
std::list<std::shared_ptr<const DecodedModule>> gRecent;
constexpr size_t kRecent = 32;

}  // namespace

uint64_t hashText(const char* data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ uint8_t(data[i])) * 1099511628211ull;
  return h ^ (uint64_t(size) * 0x9E3779B97F4A7C15ull);
}

bool functionAddress(const Module& m, const std::string& name, uint64_t& out) {
  for (size_t i = 0; i < m.funcs.size(); ++i)
    if (m.funcs[i].name == name && m.funcs[i].hasBody) {
      out = kFunctionWindow + 16ull * i;
      return true;
    }
  return false;
}

std::shared_ptr<const DecodedModule> decodeModule(const char* ptx, size_t size, modnn_status& status,
                                                  std::string& error) {
  // The client's PTX may carry its terminating NUL.
  while (size > 0 && ptx[size - 1] == '\0') --size;
  uint64_t h = hashText(ptx, size);
  std::lock_guard<std::mutex> lock(gCacheMu);
  auto it = gCache.find(h);
  if (it != gCache.end())
    if (auto m = it->second.lock())
      if (m->text.size() == size && std::memcmp(m->text.data(), ptx, size) == 0) {
        status = MODNN_OK;
        return m;
      }

  auto m = std::make_shared<DecodedModule>();
  m->text.assign(ptx, size);
  m->hash = h;
  if (!parseModule(m->text, m->ast, error)) {
    status = MODNN_ERR_INVALID_PTX;
    error = "PTX parse error: " + error;
    return nullptr;
  }
  if (m->ast.version > kMaxPtxVersion) {
    status = MODNN_ERR_UNSUPPORTED_PTX_VERSION;
    error = "PTX ISA " + std::to_string(m->ast.version / 10) + "." + std::to_string(m->ast.version % 10) +
            " is newer than the engine supports (" + std::to_string(kMaxPtxVersion / 10) + "." +
            std::to_string(kMaxPtxVersion % 10) + ")";
    return nullptr;
  }
  if (m->ast.addressSize != 64) {
    status = MODNN_ERR_INVALID_PTX;
    error = "only .address_size 64 is supported";
    return nullptr;
  }
  for (const Function& f : m->ast.funcs) {
    if (!f.isEntry || !f.hasBody) continue;
    auto prog = std::make_unique<Program>();
    buildProgram(m->ast, f, *prog);
    if (!prog->unsupported.empty())
      cpu::log(cpu::LogLevel::Warn, "kernel %s cannot run on the CPU: %s", f.name.c_str(), prog->unsupported.c_str());
    m->kernels.emplace(f.name, std::move(prog));
  }
  status = MODNN_OK;
  std::shared_ptr<const DecodedModule> shared = m;
  gCache[h] = shared;
  gRecent.push_front(shared);
  if (gRecent.size() > kRecent) gRecent.pop_back();
  for (auto c = gCache.begin(); c != gCache.end();) c = c->second.expired() ? gCache.erase(c) : std::next(c);
  return shared;
}

}  // namespace modnn::ptx
