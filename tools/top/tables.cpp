#include "tools/top/tables.h"

#include <algorithm>
#include <cctype>
#include <functional>

namespace moai::top {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool contains(const std::string& field, const std::string& needle) { return lower(field).find(needle) != std::string::npos; }

bool anyJobMatches(const std::vector<uint64_t>& jobs, const std::string& needle) {
  return std::any_of(jobs.begin(), jobs.end(), [&](uint64_t j) { return contains(std::to_string(j), needle); });
}

// A job's user, for filtering devices by user.
std::string userOf(const Snapshot& s, uint64_t job) {
  for (auto& j : s.jobs)
    if (j.id == job) return j.user;
  return "";
}

bool deviceMatches(const Snapshot& s, const DeviceRow& d, const std::string& needle) {
  if (needle.empty()) return true;
  if (contains(d.worker, needle) || contains(d.kind, needle) || contains(d.model, needle) || anyJobMatches(d.jobs, needle))
    return true;
  return std::any_of(d.jobs.begin(), d.jobs.end(), [&](uint64_t j) { return contains(userOf(s, j), needle); });
}

bool jobMatches(const Snapshot& s, const JobRow& j, const std::string& needle) {
  if (needle.empty() || contains(std::to_string(j.id), needle) || contains(j.user, needle) || contains(j.state, needle))
    return true;
  for (auto& jd : j.devices) {
    if (contains(jd.worker, needle)) return true;
    for (auto& d : s.devices)
      if (d.worker == jd.worker && d.index == jd.index && contains(d.kind, needle)) return true;
  }
  return false;
}

bool workerMatches(const Snapshot& s, const WorkerRow& w, const std::string& needle) {
  if (needle.empty() || contains(w.id, needle)) return true;
  // A worker holding a device of the kind, or of the job or user, asked for.
  return std::any_of(s.devices.begin(), s.devices.end(),
                     [&](const DeviceRow& d) { return d.worker == w.id && deviceMatches(s, d, needle); });
}

// -1 / 0 / 1; a missing value sorts below every present one.
template <class T>
int cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}
template <class T>
int cmpOpt(const std::optional<T>& a, const std::optional<T>& b) {
  if (a.has_value() != b.has_value()) return a.has_value() ? 1 : -1;
  return a ? cmp(*a, *b) : 0;
}

int compareDevices(const DeviceRow& a, const DeviceRow& b, const std::string& column) {
  if (column == "kind") return cmp(a.kind, b.kind);
  if (column == "util") return cmpOpt(a.utilization, b.utilization);
  if (column == "memory") return cmpOpt(a.memory_used, b.memory_used);
  if (column == "jobs") return cmp(a.jobs, b.jobs);
  if (column == "index") return cmp(a.index, b.index);
  return 0;  // "worker": the natural order below
}

int compareJobs(const JobRow& a, const JobRow& b, const std::string& column) {
  if (column == "user") return cmp(a.user, b.user);
  if (column == "devices") return cmp(a.devices.size(), b.devices.size());
  if (column == "state") return cmp(a.state, b.state);
  if (column == "lease") return cmpOpt(a.lease_seconds, b.lease_seconds);
  if (column == "busy") return cmpOpt(a.busy_seconds, b.busy_seconds);
  if (column == "memory") return cmpOpt(a.memory_used, b.memory_used);
  return 0;  // "job"
}

int compareWorkers(const WorkerRow& a, const WorkerRow& b, const std::string& column) {
  if (column == "state") return cmp(a.alive, b.alive);
  if (column == "devices") return cmp(a.devices, b.devices);
  if (column == "leased") return cmp(a.leased, b.leased);
  if (column == "heartbeat") return cmpOpt(a.heartbeat_age, b.heartbeat_age);
  return 0;  // "worker"
}

template <class Row>
std::vector<const Row*> select(const std::vector<Row>& rows, const std::function<bool(const Row&)>& keep,
                               const std::function<int(const Row&, const Row&)>& by, const std::function<int(const Row&, const Row&)>& natural,
                               bool descending) {
  std::vector<const Row*> out;
  for (auto& r : rows)
    if (keep(r)) out.push_back(&r);
  std::stable_sort(out.begin(), out.end(), [&](const Row* a, const Row* b) {
    int c = by(*a, *b);
    if (c == 0) c = natural(*a, *b);
    return descending ? c > 0 : c < 0;
  });
  return out;
}

const std::string& sortName(const UiState& ui, Panel p) {
  auto& names = sortColumns(p);
  int i = std::clamp(ui.sort[int(p)].column, 0, int(names.size()) - 1);
  return names[size_t(i)];
}

}  // namespace

const std::vector<std::string>& sortColumns(Panel panel) {
  static const std::vector<std::string> devices{"worker", "index", "kind", "util", "memory", "jobs"};
  static const std::vector<std::string> jobs{"job", "user", "devices", "state", "lease", "busy", "memory"};
  static const std::vector<std::string> workers{"worker", "state", "devices", "leased", "heartbeat"};
  return panel == Panel::Devices ? devices : panel == Panel::Jobs ? jobs : workers;
}

const char* panelName(Panel panel) {
  return panel == Panel::Devices ? "devices" : panel == Panel::Jobs ? "jobs" : "workers";
}

std::optional<Panel> panelFromName(const std::string& name) {
  for (Panel p : {Panel::Devices, Panel::Jobs, Panel::Workers})
    if (name == panelName(p)) return p;
  return std::nullopt;
}

std::vector<const DeviceRow*> visibleDevices(const Snapshot& s, const UiState& ui) {
  std::string needle = lower(ui.filter), column = sortName(ui, Panel::Devices);
  return select<DeviceRow>(
      s.devices, [&](const DeviceRow& d) { return deviceMatches(s, d, needle); },
      [&](const DeviceRow& a, const DeviceRow& b) { return compareDevices(a, b, column); },
      [](const DeviceRow& a, const DeviceRow& b) {
        int c = cmp(a.worker, b.worker);
        return c ? c : cmp(a.index, b.index);
      },
      ui.sort[int(Panel::Devices)].descending);
}

std::vector<const JobRow*> visibleJobs(const Snapshot& s, const UiState& ui) {
  std::string needle = lower(ui.filter), column = sortName(ui, Panel::Jobs);
  return select<JobRow>(
      s.jobs, [&](const JobRow& j) { return jobMatches(s, j, needle); },
      [&](const JobRow& a, const JobRow& b) { return compareJobs(a, b, column); },
      [](const JobRow& a, const JobRow& b) { return cmp(a.id, b.id); }, ui.sort[int(Panel::Jobs)].descending);
}

std::vector<const WorkerRow*> visibleWorkers(const Snapshot& s, const UiState& ui) {
  std::string needle = lower(ui.filter), column = sortName(ui, Panel::Workers);
  return select<WorkerRow>(
      s.workers, [&](const WorkerRow& w) { return workerMatches(s, w, needle); },
      [&](const WorkerRow& a, const WorkerRow& b) { return compareWorkers(a, b, column); },
      [](const WorkerRow& a, const WorkerRow& b) { return cmp(a.id, b.id); }, ui.sort[int(Panel::Workers)].descending);
}

namespace {

std::vector<std::string> rowKeys(const Snapshot& s, const UiState& ui, Panel panel) {
  std::vector<std::string> keys;
  switch (panel) {
    case Panel::Devices:
      for (auto* d : visibleDevices(s, ui)) keys.push_back(d->worker + "/" + std::to_string(d->index));
      break;
    case Panel::Jobs:
      for (auto* j : visibleJobs(s, ui)) keys.push_back(std::to_string(j->id));
      break;
    case Panel::Workers:
      for (auto* w : visibleWorkers(s, ui)) keys.push_back(w->id);
      break;
  }
  return keys;
}

}  // namespace

int selectedRow(const Snapshot& s, const UiState& ui, Panel panel) {
  auto keys = rowKeys(s, ui, panel);
  if (keys.empty()) return -1;
  const std::string& key = ui.selected_key[int(panel)];
  if (auto it = std::find(keys.begin(), keys.end(), key); !key.empty() && it != keys.end()) return int(it - keys.begin());
  return std::clamp(ui.selected[int(panel)], 0, int(keys.size()) - 1);
}

void selectRow(const Snapshot& s, UiState& ui, Panel panel, int row) {
  auto keys = rowKeys(s, ui, panel);
  row = std::clamp(row, 0, std::max(0, int(keys.size()) - 1));
  ui.selected[int(panel)] = row;
  ui.selected_key[int(panel)] = keys.empty() ? "" : keys[size_t(row)];
}

std::optional<uint64_t> selectedJob(const Snapshot& s, const UiState& ui) {
  int i = selectedRow(s, ui, ui.panel);
  if (i < 0) return std::nullopt;
  if (ui.panel == Panel::Jobs) return visibleJobs(s, ui)[size_t(i)]->id;
  if (ui.panel == Panel::Devices) {
    auto* d = visibleDevices(s, ui)[size_t(i)];
    if (!d->jobs.empty()) return d->jobs.front();
  }
  return std::nullopt;
}

std::optional<std::string> selectedWorker(const Snapshot& s, const UiState& ui) {
  int i = selectedRow(s, ui, ui.panel);
  if (i < 0) return std::nullopt;
  if (ui.panel == Panel::Workers) return visibleWorkers(s, ui)[size_t(i)]->id;
  if (ui.panel == Panel::Devices) return visibleDevices(s, ui)[size_t(i)]->worker;
  return std::nullopt;
}

}  // namespace moai::top
