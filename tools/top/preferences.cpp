#include "tools/top/preferences.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <toml++/toml.h>

#include "tools/top/tables.h"

namespace moai::top {

std::string preferencesPath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/moai/top.toml";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::string(home) + "/.config/moai/top.toml";
  return "";
}

Result<bool> loadPreferences(const std::string& path, UiState& ui) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return false;
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return makeError(MODNN_ERR_INVALID_VALUE, path + ": " + std::string(e.description()));
  }
  auto bad = [&](const std::string& what) { return makeError(MODNN_ERR_INVALID_VALUE, path + ": " + what); };
  if (auto v = t["interval"].value<double>()) {
    if (*v < 0.1 || *v > 3600) return bad("interval must be 0.1 to 3600 seconds");
    ui.interval = *v;
  }
  if (auto v = t["panel"].value<std::string>()) {
    auto p = panelFromName(*v);
    if (!p) return bad("panel must be devices, jobs or workers");
    ui.panel = *p;
  }
  if (auto v = t["tree"].value<bool>()) ui.tree = *v;
  for (Panel p : {Panel::Devices, Panel::Jobs, Panel::Workers}) {
    auto sort = t["sort"][panelName(p)];
    if (auto column = sort["column"].value<std::string>()) {
      auto& names = sortColumns(p);
      auto it = std::find(names.begin(), names.end(), *column);
      if (it == names.end()) return bad("unknown sort column '" + *column + "' for " + panelName(p));
      ui.sort[int(p)].column = int(it - names.begin());
    }
    if (auto d = sort["descending"].value<bool>()) ui.sort[int(p)].descending = *d;
  }
  return true;
}

Result<bool> savePreferences(const std::string& path, const UiState& ui) {
  if (path.empty()) return makeError(MODNN_ERR_INVALID_VALUE, "no config directory (set XDG_CONFIG_HOME or HOME)");
  toml::table sort;
  for (Panel p : {Panel::Devices, Panel::Jobs, Panel::Workers}) {
    auto& names = sortColumns(p);
    int i = std::clamp(ui.sort[int(p)].column, 0, int(names.size()) - 1);
    sort.insert(panelName(p), toml::table{{"column", names[size_t(i)]}, {"descending", ui.sort[int(p)].descending}});
  }
  toml::table t{{"interval", ui.interval}, {"panel", panelName(ui.panel)}, {"tree", ui.tree}, {"sort", sort}};
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "# moai-top preferences, written when it quits\n" << t << "\n";
    if (!out) return makeError(MODNN_ERR_INVALID_VALUE, "cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return makeError(MODNN_ERR_INVALID_VALUE, "cannot replace " + path + ": " + ec.message());
  return true;
}

}  // namespace moai::top
