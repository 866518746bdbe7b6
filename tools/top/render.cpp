#include "tools/top/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "tools/top/tables.h"

namespace moai::top {
namespace {

// The first `n` code points of `s`.
std::string prefix(const std::string& s, size_t n) {
  size_t cols = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (cols == n) break;
    ++cols;
  }
  return s.substr(0, i);
}

std::string fit(const std::string& s, size_t width, bool right = false) {
  size_t w = displayWidth(s);
  if (w >= width) return prefix(s, width);
  std::string pad(width - w, ' ');
  return right ? pad + s : s + pad;
}

// Cuts or pads a line to exactly `width` columns.
Line clip(Line line, size_t width) {
  Line out;
  out.selected = line.selected;
  size_t used = 0;
  for (auto& span : line.spans) {
    if (used >= width) break;
    size_t w = displayWidth(span.text);
    if (used + w > width) {
      span.text = prefix(span.text, width - used);
      w = width - used;
    }
    used += w;
    if (!span.text.empty()) out.spans.push_back(std::move(span));
  }
  if (used < width) out.spans.push_back({std::string(width - used, ' '), Style::Normal});
  return out;
}

Style levelStyle(double fraction) {
  return fraction >= 0.8 ? Style::BarHigh : fraction >= 0.5 ? Style::BarMid : Style::BarLow;
}

// "[|||||     45%]": fill in the level's colour, the value at the right end.
std::vector<Span> bar(std::optional<double> fraction, const std::string& label, size_t width, Style fill_style) {
  if (width < 4) return {{fit(label, width), Style::Normal}};
  size_t inner = width - 2;
  std::vector<Span> out{{"[", Style::Dim}};
  std::string text = fit(label, std::min(inner, displayWidth(label)));
  size_t text_at = inner - displayWidth(text);
  size_t filled = fraction ? size_t(std::lround(std::clamp(*fraction, 0.0, 1.0) * double(inner))) : 0;
  size_t bars = std::min(filled, text_at);
  if (bars) out.push_back({std::string(bars, '|'), fill_style});
  if (text_at > bars) out.push_back({std::string(text_at - bars, ' '), Style::Normal});
  out.push_back({text, fraction ? Style::Normal : Style::Dim});
  out.push_back({"]", Style::Dim});
  return out;
}

std::vector<Span> utilBar(std::optional<double> util, size_t width) {
  if (!util) return bar(std::nullopt, "-", width, Style::BarLow);
  char label[16];
  std::snprintf(label, sizeof label, "%.0f%%", *util);
  return bar(*util / 100, label, width, levelStyle(*util / 100));
}

std::vector<Span> memoryBar(std::optional<uint64_t> used, std::optional<uint64_t> total, size_t width) {
  if (!total) return bar(std::nullopt, "-", width, Style::Memory);
  if (!used) return bar(std::nullopt, "?/" + formatMiB(*total), width, Style::Memory);
  double f = *total ? double(*used) / double(*total) : 0;
  return bar(f, formatMiB(*used) + "/" + formatMiB(*total), width, f >= 0.9 ? Style::BarHigh : Style::Memory);
}

// The last `width` samples, one block character each, newest at the right.
Span sparkline(const std::deque<double>& samples, size_t width, bool unicode) {
  static const char* blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  static const char ascii[] = "_.-:=+*#";
  std::string out(width > samples.size() ? width - samples.size() : 0, ' ');
  size_t first = samples.size() > width ? samples.size() - width : 0;
  for (size_t i = first; i < samples.size(); ++i) {
    int level = std::clamp(int(std::lround(samples[i] / 100.0 * 7)), 0, 7);
    if (unicode)
      out += blocks[level];
    else
      out += ascii[level];
  }
  return {out, Style::Spark};
}

struct Column {
  Column(std::string t, size_t w, std::string key = "", bool r = false)
      : title(std::move(t)), width(std::max(w, key.empty() ? 0 : displayWidth(title) + 1)), sort_key(std::move(key)), right(r) {}
  std::string title;
  size_t width;          // sortable columns leave room for the sort arrow
  std::string sort_key;  // "" = not sortable
  bool right = false;
};

Line header(const std::vector<Column>& cols, const UiState& ui, Panel panel) {
  auto& keys = sortColumns(panel);
  const SortSpec& sort = ui.sort[int(panel)];
  const std::string& active = keys[size_t(std::clamp(sort.column, 0, int(keys.size()) - 1))];
  Line line;
  for (auto& c : cols) {
    bool sorted = !c.sort_key.empty() && c.sort_key == active;
    std::string title = c.title;
    if (sorted) title += ui.unicode ? (sort.descending ? "▼" : "▲") : (sort.descending ? "v" : "^");
    line.spans.push_back({fit(title, c.width, c.right && !sorted), sorted ? Style::Sorted : Style::Header});
    line.spans.push_back({" ", Style::Header});
  }
  return line;
}

void cell(Line& line, const std::string& text, const Column& c, Style style = Style::Normal) {
  line.spans.push_back({fit(text, c.width, c.right), style});
  line.spans.push_back({" ", Style::Normal});
}

void cells(Line& line, std::vector<Span> spans) {
  for (auto& s : spans) line.spans.push_back(std::move(s));
  line.spans.push_back({" ", Style::Normal});
}

std::string jobList(const std::vector<uint64_t>& jobs) {
  std::string out;
  for (uint64_t j : jobs) out += (out.empty() ? "" : ",") + std::to_string(j);
  return out.empty() ? "-" : out;
}

std::string optDuration(const std::optional<double>& s) { return s ? formatDuration(*s) : "-"; }

std::string optSeconds(const std::optional<double>& s) {
  if (!s) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", *s);
  return buf;
}

size_t longest(size_t floor, size_t cap, const std::vector<std::string>& values) {
  size_t w = floor;
  for (auto& v : values) w = std::max(w, displayWidth(v));
  return std::min(w, cap);
}

// ---- panels: each returns its rows; the caller windows them ----

struct Table {
  Line header;
  std::vector<Line> rows;
  int selected_row = -1;  // index into rows of the selection
};

struct DeviceLayout {
  Column worker, index, kind, uuid, util, history, memory, jobs;
};

DeviceLayout deviceLayout(const Snapshot& s, size_t width) {
  std::vector<std::string> workers;
  for (auto& d : s.devices) workers.push_back(d.worker);
  DeviceLayout l{{"WORKER", longest(6, 20, workers), "worker"}, {"IDX", 3, "index", true}, {"KIND", 5, "kind"},
                 {"UUID", 0, ""}, {"UTIL", 0, "util"}, {"HISTORY", 0, ""}, {"MEMORY used/total", 0, "memory"},
                 {"JOBS", 10, "jobs"}};
  l.uuid.width = width >= 150 ? 40 : width >= 110 ? 13 : 0;
  size_t fixed = l.worker.width + l.index.width + l.kind.width + l.jobs.width + 5 + (l.uuid.width ? l.uuid.width + 1 : 0);
  size_t rest = width > fixed + 3 ? width - fixed - 3 : 24;
  l.util.width = std::max<size_t>(8, rest * 3 / 10);
  l.history.width = std::max<size_t>(8, rest * 3 / 10);
  l.memory.width = std::max<size_t>(10, rest - l.util.width - l.history.width);
  return l;
}

Table devicesTable(const Frame& f, const UiState& ui, size_t width) {
  const Snapshot& s = *f.snapshot;
  DeviceLayout l = deviceLayout(s, width);
  std::vector<Column> cols{l.worker, l.index, l.kind};
  if (l.uuid.width) cols.push_back(l.uuid);
  cols.insert(cols.end(), {l.util, l.history, l.memory, l.jobs});
  Table t{header(cols, ui, Panel::Devices), {}};
  auto rows = visibleDevices(s, ui);
  for (size_t i = 0; i < rows.size(); ++i) {
    const DeviceRow& d = *rows[i];
    Line line;
    cell(line, d.worker, l.worker);
    cell(line, std::to_string(d.index), l.index);
    cell(line, d.kind.empty() ? "?" : d.kind, l.kind);
    if (l.uuid.width) cell(line, d.uuid.empty() ? "-" : d.uuid, l.uuid, Style::Dim);
    cells(line, utilBar(d.utilization, l.util.width));
    static const std::deque<double> none;
    line.spans.push_back(sparkline(f.history ? f.history->utilization(d.worker, d.index) : none, l.history.width, ui.unicode));
    line.spans.push_back({" ", Style::Normal});
    cells(line, memoryBar(d.memory_used, d.memory_total, l.memory.width));
    cell(line, jobList(d.jobs), l.jobs);
    t.rows.push_back(std::move(line));
  }
  return t;
}

Table jobsTable(const Frame& f, const UiState& ui, size_t width) {
  const Snapshot& s = *f.snapshot;
  std::vector<std::string> users;
  for (auto& j : s.jobs) users.push_back(j.user);
  Column job{"JOB", 6, "job", true}, user{"USER", longest(6, 16, users), "user"}, state{"STATE", 8, "state"},
      devs{"DEVS", 5, "devices", true}, lease{"LEASE", 8, "lease", true}, queue{"QUEUED", 7, "", true},
      busy{"BUSY", 9, "busy", true}, memory{"MEMORY", 7, "memory", true}, where{"DEVICES", 0, ""};
  size_t fixed = job.width + user.width + state.width + devs.width + lease.width + queue.width + busy.width +
                 memory.width + 8;
  where.width = width > fixed + 8 ? width - fixed - 1 : 8;
  std::vector<Column> cols{job, user, state, devs, lease, queue, busy, memory, where};
  Table t{header(cols, ui, Panel::Jobs), {}};
  DeviceLayout dl = deviceLayout(s, width);
  auto rows = visibleJobs(s, ui);
  int selected = selectedRow(s, ui, Panel::Jobs);
  for (size_t i = 0; i < rows.size(); ++i) {
    const JobRow& j = *rows[i];
    if (int(i) == selected) t.selected_row = int(t.rows.size());
    Line line;
    cell(line, std::to_string(j.id), job);
    cell(line, j.user.empty() ? "-" : j.user, user);
    cell(line, j.state, state, j.state == "running" ? Style::Good : Style::Warn);
    cell(line, std::to_string(j.devices.size()), devs);
    cell(line, optDuration(j.lease_seconds), lease);
    cell(line, optDuration(j.queue_seconds), queue);
    cell(line, optSeconds(j.busy_seconds), busy);
    cell(line, j.memory_used ? formatMiB(*j.memory_used) : "-", memory);
    std::string list;
    for (auto& d : j.devices) list += (list.empty() ? "" : " ") + d.worker + "/" + std::to_string(d.index);
    cell(line, list, where);
    t.rows.push_back(std::move(line));
    if (!ui.tree) continue;
    // Tree view: the job's devices under it, with their load.
    for (size_t k = 0; k < j.devices.size(); ++k) {
      const JobDevice& jd = j.devices[k];
      auto it = std::find_if(s.devices.begin(), s.devices.end(),
                             [&](const DeviceRow& d) { return d.worker == jd.worker && d.index == jd.index; });
      Line sub;
      bool last = k + 1 == j.devices.size();
      std::string branch = ui.unicode ? (last ? "└─ " : "├─ ") : (last ? "`- " : "|- ");
      sub.spans.push_back({fit("", job.width + 1) + branch, Style::Dim});
      std::string name = jd.worker + "/" + std::to_string(jd.index);
      sub.spans.push_back({fit(name, dl.worker.width + 4), Style::Normal});
      if (it != s.devices.end()) {
        sub.spans.push_back({fit(it->kind.empty() ? "?" : it->kind, 6), Style::Normal});
        cells(sub, utilBar(it->utilization, dl.util.width));
        cells(sub, memoryBar(it->memory_used, it->memory_total, dl.memory.width));
      }
      t.rows.push_back(std::move(sub));
    }
  }
  return t;
}

Table workersTable(const Frame& f, const UiState& ui, size_t) {
  const Snapshot& s = *f.snapshot;
  std::vector<std::string> ids;
  for (auto& w : s.workers) ids.push_back(w.id);
  Column id{"WORKER", longest(6, 30, ids), "worker"}, state{"STATE", 6, "state"}, devs{"DEVICES", 7, "devices", true},
      leased{"LEASED", 6, "leased", true}, beat{"HEARTBEAT", 10, "heartbeat", true};
  std::vector<Column> cols{id, state, devs, leased, beat};
  Table t{header(cols, ui, Panel::Workers), {}};
  for (const WorkerRow* w : visibleWorkers(s, ui)) {
    Line line;
    cell(line, w->id, id);
    cell(line, w->alive ? "up" : "down", state, w->alive ? Style::Good : Style::Bad);
    cell(line, std::to_string(w->devices), devs);
    cell(line, std::to_string(w->leased), leased);
    cell(line, w->heartbeat_age ? optSeconds(w->heartbeat_age) + " ago" : "-", beat);
    t.rows.push_back(std::move(line));
  }
  return t;
}

Line summaryCounts(const Snapshot& s) {
  size_t up = 0, leased = 0;
  for (auto& w : s.workers) up += w.alive;
  std::map<std::string, size_t> kinds;
  for (auto& d : s.devices) {
    ++kinds[d.kind.empty() ? "?" : d.kind];
    leased += !d.jobs.empty();
  }
  std::string by_kind;
  for (auto& [k, n] : kinds) by_kind += (by_kind.empty() ? "" : ", ") + std::to_string(n) + " " + k;
  Line l;
  auto add = [&](const std::string& label, const std::string& value, Style style = Style::Normal) {
    l.spans.push_back({label, Style::PanelTitle});
    l.spans.push_back({value, style});
  };
  add(" Workers ", std::to_string(up) + " up");
  l.spans.push_back({", ", Style::Normal});
  size_t down = s.workers.size() - up;
  l.spans.push_back({std::to_string(down) + " down", down ? Style::Bad : Style::Normal});
  add("   Devices ", std::to_string(s.devices.size()) + (by_kind.empty() ? "" : " (" + by_kind + ")"));
  add("   Allocated ", std::to_string(leased));
  add("  Free ", std::to_string(s.devices.size() - leased), Style::Good);
  size_t running = std::count_if(s.jobs.begin(), s.jobs.end(), [](const JobRow& j) { return j.state == "running"; });
  add("   Jobs ", std::to_string(running) + " running, " +
                      (s.jobs_queued ? std::to_string(*s.jobs_queued) : std::string("-")) + " queued");
  if (s.cost_per_hour) {
    char cost[32];
    std::snprintf(cost, sizeof cost, "%.2f/h", *s.cost_per_hour);
    add("   Cost ", cost);
  }
  return l;
}

Line summaryLoad(const Snapshot& s, size_t width) {
  uint64_t used = 0, total = 0;
  bool memory_known = false;
  double util_sum = 0;
  size_t util_n = 0;
  for (auto& d : s.devices) {
    if (d.memory_total) total += *d.memory_total;
    if (d.memory_used) {
      used += *d.memory_used;
      memory_known = true;
    }
    if (d.utilization) {
      util_sum += *d.utilization;
      ++util_n;
    }
  }
  size_t w = std::clamp<size_t>(width > 30 ? (width - 30) / 2 : 0, 12, 40);
  Line l;
  l.spans.push_back({" Memory  ", Style::PanelTitle});
  for (auto& span : memoryBar(memory_known ? std::optional<uint64_t>(used) : std::nullopt,
                              total ? std::optional<uint64_t>(total) : std::nullopt, w))
    l.spans.push_back(span);
  l.spans.push_back({"   Util (mean) ", Style::PanelTitle});
  for (auto& span : utilBar(util_n ? std::optional<double>(util_sum / double(util_n)) : std::nullopt, w))
    l.spans.push_back(span);
  if (!s.has_metrics) l.spans.push_back({"   (no /metrics: kinds, memory and load unknown)", Style::Dim});
  return l;
}

std::vector<Line> helpLines() {
  const char* keys[][2] = {
      {"Up/Down, j/k", "move the selection"}, {"PgUp/PgDn, Home/End", "move by a page, to the ends"},
      {"Tab, Shift-Tab", "next / previous panel (devices, jobs, workers)"},
      {"< >  or F6", "sort by the previous / next column"}, {"i", "invert the sort order"},
      {"/", "filter by job, user, device kind or worker (Enter keeps, Esc clears)"},
      {"t", "tree view: each job followed by its devices"},
      {"r", "resize the selected job (asks for the number of devices)"}, {"c", "cancel the selected job (asks to confirm)"},
      {"d", "drain the selected worker (asks to confirm)"}, {"h, F1, ?", "this help; any key closes it"},
      {"q, F10", "quit (sort, panel and tree are saved in $XDG_CONFIG_HOME/moai/top.toml)"},
  };
  std::vector<Line> out{{{{" Keys", Style::PanelFocused}}}, {}};
  for (auto& k : keys) out.push_back({{{"   " + fit(k[0], 22), Style::Key}, {k[1], Style::Normal}}});
  out.push_back({});
  out.push_back({{{"   Bars: green < 50 %, yellow < 80 %, red above; the history is one sample per refresh.", Style::Dim}}});
  out.push_back({{{"   A value shown as - was not reported (no /metrics, or a worker's first heartbeat).", Style::Dim}}});
  return out;
}

Line statusLine(const UiState& ui) {
  Line l;
  switch (ui.prompt) {
    case Prompt::Filter:
      l.spans = {{" Filter (job, user, kind, worker): ", Style::Key}, {ui.input + "_", Style::Normal}};
      return l;
    case Prompt::Resize:
      l.spans = {{" Resize job " + std::to_string(ui.target_job) + " to how many devices? ", Style::Key},
                 {ui.input + "_", Style::Normal}, {"  (Enter: go, Esc: cancel)", Style::Dim}};
      return l;
    case Prompt::ConfirmCancel:
      l.spans = {{" Cancel job " + std::to_string(ui.target_job) + "? ", Style::Bad}, {"y/n", Style::Key}};
      return l;
    case Prompt::ConfirmDrain:
      l.spans = {{" Drain worker " + ui.target_worker + "? ", Style::Bad}, {"y/n", Style::Key}};
      return l;
    case Prompt::None: break;
  }
  if (!ui.message.empty()) {
    l.spans = {{" " + ui.message, Style::Warn}};
    return l;
  }
  const char* hints[][2] = {{"F1", "Help"}, {"Tab", "Panel"}, {"<>", "Sort"}, {"/", "Filter"}, {"t", "Tree"},
                            {"r", "Resize"}, {"c", "Cancel"}, {"d", "Drain"}, {"q", "Quit"}};
  for (auto& h : hints) {
    l.spans.push_back({std::string(" ") + h[0], Style::Key});
    l.spans.push_back({std::string(" ") + h[1] + " ", Style::Normal});
  }
  return l;
}

// How many rows each panel gets: its need, shared fairly when short.
std::array<size_t, kPanels> share(std::array<size_t, kPanels> need, size_t rows) {
  std::array<size_t, kPanels> got{};
  size_t left = rows;
  for (int round = 0; left > 0; ++round) {
    bool any = false;
    for (int p = 0; p < kPanels && left > 0; ++p)
      if (got[size_t(p)] < need[size_t(p)]) {
        ++got[size_t(p)];
        --left;
        any = true;
      }
    if (!any) break;
  }
  return got;
}

}  // namespace

std::string Line::text() const {
  std::string out;
  for (auto& s : spans) out += s.text;
  return out;
}

size_t displayWidth(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string formatDuration(double seconds) {
  long s = long(std::max(0.0, seconds));
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s / 60 % 60);
  return buf;
}

std::string formatMiB(uint64_t mib) {
  char buf[32];
  if (mib < 10240)
    std::snprintf(buf, sizeof buf, "%lluM", static_cast<unsigned long long>(mib));
  else
    std::snprintf(buf, sizeof buf, "%.1fG", double(mib) / 1024);
  return buf;
}

std::vector<Line> render(const Frame& f, const UiState& ui, int width_in, int height_in) {
  size_t width = size_t(std::max(width_in, 1)), height = size_t(std::max(height_in, 1));
  std::vector<Line> top, bottom;

  char every[32];
  std::snprintf(every, sizeof every, "every %.1fs", ui.interval);
  Line title{{{" moai-top ", Style::Title}, {" " + (f.scheduler.empty() ? std::string("(no scheduler)") : f.scheduler), Style::Normal}}};
  if (!f.metrics_url.empty()) title.spans.push_back({"  " + f.metrics_url, Style::Dim});
  title.spans.push_back({"  " + std::string(every), Style::Dim});
  if (!ui.filter.empty()) title.spans.push_back({"  filter: " + ui.filter, Style::Warn});
  if (ui.tree) title.spans.push_back({"  tree", Style::Dim});
  top.push_back(title);

  if (!f.error.empty()) {
    std::string age = f.snapshot ? "; showing data " + formatDuration(f.data_age) + " old" : "";
    top.push_back({{{" CONNECTION LOST: " + f.error + " - reconnecting" + age + " ", Style::Banner}}});
  } else if (!f.metrics_error.empty()) {
    top.push_back({{{" /metrics unavailable: " + f.metrics_error + " ", Style::Warn}}});
  }
  bottom.push_back(statusLine(ui));

  std::vector<Line> middle;
  if (ui.help) {
    middle = helpLines();
  } else if (!f.snapshot) {
    middle.push_back({{{f.error.empty() ? " waiting for the scheduler..." : " no data yet", Style::Dim}}});
  } else {
    top.push_back(summaryCounts(*f.snapshot));
    top.push_back(summaryLoad(*f.snapshot, width));
    std::array<Table, kPanels> tables{devicesTable(f, ui, width), jobsTable(f, ui, width), workersTable(f, ui, width)};
    const char* titles[] = {" Devices", " Jobs", " Workers"};
    size_t chrome = top.size() + bottom.size() + 2 * kPanels;
    size_t room = height > chrome ? height - chrome : 0;
    std::array<size_t, kPanels> need{};
    for (int p = 0; p < kPanels; ++p) need[size_t(p)] = std::max<size_t>(1, tables[size_t(p)].rows.size());
    auto rows = share(need, room);
    for (int p = 0; p < kPanels; ++p) {
      Table& t = tables[size_t(p)];
      bool focused = int(ui.panel) == p;
      int sel = p == int(Panel::Jobs) ? t.selected_row : selectedRow(*f.snapshot, ui, Panel(p));
      size_t first = 0, shown = rows[size_t(p)];
      if (sel >= 0 && size_t(sel) >= shown && shown > 0) first = size_t(sel) + 1 - shown;
      std::string count = " (" + std::to_string(p == 1 ? visibleJobs(*f.snapshot, ui).size() : t.rows.size()) + ")";
      std::string more = t.rows.size() > shown ? "  rows " + std::to_string(first + 1) + "-" +
                                                     std::to_string(std::min(t.rows.size(), first + shown)) + " of " +
                                                     std::to_string(t.rows.size())
                                               : "";
      middle.push_back({{{std::string(focused ? ">" : " ") + titles[p] + count, focused ? Style::PanelFocused : Style::PanelTitle},
                         {more, Style::Dim}}});
      middle.push_back(t.header);
      for (size_t r = first; r < std::min(t.rows.size(), first + shown); ++r) {
        Line line = t.rows[r];
        line.selected = focused && int(r) == sel;
        middle.push_back(std::move(line));
      }
      if (t.rows.empty() && shown) middle.push_back({{{ui.filter.empty() ? "   none" : "   none match the filter", Style::Dim}}});
    }
  }

  std::vector<Line> out;
  for (auto& l : top) out.push_back(clip(std::move(l), width));
  for (auto& l : middle)
    if (out.size() + bottom.size() < height) out.push_back(clip(std::move(l), width));
  while (out.size() + bottom.size() < height) out.push_back(clip({}, width));
  for (auto& l : bottom) out.push_back(clip(std::move(l), width));
  out.resize(height, clip({}, width));
  return out;
}

}  // namespace moai::top
