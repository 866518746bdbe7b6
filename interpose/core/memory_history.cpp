#include "interpose/core/memory_history.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

namespace moai {
namespace {

constexpr size_t kMaxPrograms = 1024;

std::string historyPath() {
  if (const char* p = std::getenv("MOAI_MEMORY_HISTORY"); p && *p) return p;
  if (const char* c = std::getenv("XDG_CACHE_HOME"); c && *c) return std::string(c) + "/moai/memory-history";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/moai/memory-history";
  return "";
}

std::vector<std::pair<std::string, uint64_t>> readHistory(const std::string& path) {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::ifstream in(path);
  std::string key;
  uint64_t bytes;
  while (in >> key >> bytes) out.emplace_back(key, bytes);
  return out;
}

}  // namespace

std::string programKey() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across runs, unlike std::hash
  for (unsigned char c : cmdline) h = (h ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::optional<uint64_t> recallPeak(const std::string& key) {
  std::string path = historyPath();
  if (path.empty()) return std::nullopt;
  std::optional<uint64_t> found;
  for (auto& [k, bytes] : readHistory(path))
    if (k == key) found = bytes;  // the latest line wins
  return found;
}

void rememberPeak(const std::string& key, uint64_t bytes) {
  std::string path = historyPath();
  if (path.empty() || bytes == 0) return;
  auto lines = readHistory(path);
  std::erase_if(lines, [&](auto& kv) { return kv.first == key; });
  lines.emplace_back(key, bytes);
  if (lines.size() > kMaxPrograms) lines.erase(lines.begin(), lines.end() - kMaxPrograms);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  // Another run may write at the same time: each writes a whole file and
  // renames it into place, so a reader sees one or the other.
  std::string tmp = path + "." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (auto& [k, b] : lines) out << k << ' ' << b << '\n';
    if (!out) return;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace moai
