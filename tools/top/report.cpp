#include "tools/top/report.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tools/top/render.h"

namespace moai::top {
namespace {

template <class T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json orNull(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

}  // namespace

std::string snapshotJson(const Fetch& f, const std::string& scheduler, const std::string& metrics_url) {
  const Snapshot& s = f.snapshot;
  nlohmann::json workers = nlohmann::json::array(), devices = nlohmann::json::array(), jobs = nlohmann::json::array();
  size_t up = 0, allocated = 0;
  for (auto& w : s.workers) {
    up += w.alive;
    workers.push_back({{"id", w.id}, {"alive", w.alive}, {"devices", w.devices}, {"leased", w.leased},
                       {"heartbeat_age_seconds", opt(w.heartbeat_age)}});
  }
  for (auto& d : s.devices) {
    allocated += !d.jobs.empty();
    devices.push_back({{"worker", d.worker}, {"index", d.index}, {"uuid", orNull(d.uuid)}, {"kind", orNull(d.kind)},
                       {"model", orNull(d.model)}, {"utilization_percent", opt(d.utilization)},
                       {"memory_used_mib", opt(d.memory_used)}, {"memory_total_mib", opt(d.memory_total)},
                       {"jobs", d.jobs}});
  }
  for (auto& j : s.jobs) {
    nlohmann::json where = nlohmann::json::array();
    for (auto& d : j.devices) where.push_back({{"worker", d.worker}, {"index", d.index}});
    jobs.push_back({{"id", j.id}, {"user", orNull(j.user)}, {"state", j.state}, {"devices", where},
                    {"lease_seconds", opt(j.lease_seconds)}, {"busy_seconds", opt(j.busy_seconds)},
                    {"queue_seconds", opt(j.queue_seconds)}, {"memory_used_mib", opt(j.memory_used)}});
  }
  nlohmann::json out{
      {"scheduler", orNull(scheduler)},
      {"metrics_url", orNull(metrics_url)},
      {"error", orNull(f.error)},
      {"metrics_error", orNull(f.metrics_error)},
      {"summary",
       {{"workers_up", up}, {"workers_down", s.workers.size() - up}, {"devices", s.devices.size()},
        {"devices_allocated", allocated}, {"devices_free", s.devices.size() - allocated},
        {"jobs_running", std::count_if(s.jobs.begin(), s.jobs.end(), [](const JobRow& j) { return j.state == "running"; })}, {"jobs_queued", opt(s.jobs_queued)}, {"cost_per_hour", opt(s.cost_per_hour)}}},
      {"workers", workers},
      {"devices", devices},
      {"jobs", jobs},
  };
  return out.dump(2) + "\n";
}

std::string snapshotText(const Fetch& f, const UiState& ui_in, const std::string& scheduler,
                         const std::string& metrics_url, int width) {
  UiState ui = ui_in;
  ui.help = false;
  ui.prompt = Prompt::None;
  ui.panel = Panel(-1);  // no panel focused: no selection marks
  size_t rows = f.snapshot.devices.size() + f.snapshot.workers.size() + 16;
  for (auto& j : f.snapshot.jobs) rows += 1 + (ui.tree ? j.devices.size() : 0);
  Frame frame{&f.snapshot, nullptr, scheduler, metrics_url, f.error, f.metrics_error, 0};
  auto lines = render(frame, ui, width, int(rows));
  lines.pop_back();  // the key hints
  while (!lines.empty() && lines.back().text().find_first_not_of(' ') == std::string::npos) lines.pop_back();
  std::string out;
  for (auto& l : lines) {
    std::string t = l.text();
    t.erase(t.find_last_not_of(' ') + 1);
    out += t + "\n";
  }
  return out;
}

}  // namespace moai::top
