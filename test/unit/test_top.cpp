// moai-top without a terminal: /metrics parsing and the join with a status
// reply, sorting and filtering, keys, the rendered screen, preferences and
// the --once JSON.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "scheduler/metrics.h"
#include "tools/top/actions.h"
#include "tools/top/cluster_source.h"
#include "tools/top/feed.h"
#include "tools/top/history.h"
#include "tools/top/input.h"
#include "tools/top/preferences.h"
#include "tools/top/render.h"
#include "tools/top/report.h"
#include "tools/top/tables.h"

using namespace moai::top;
namespace wire = moai::wire;

namespace {

modnn_device_props props(const char* kind, uint64_t mib, uint8_t id) {
  modnn_device_props p{};
  p.struct_size = sizeof p;
  std::snprintf(p.name, sizeof p.name, "%s model", kind);
  std::snprintf(p.kind, sizeof p.kind, "%s", kind);
  p.uuid[0] = id;
  p.total_memory = mib << 20;
  return p;
}

// Three workers (b down), four devices, two jobs: what moai-sched would say
// in its status and at /metrics (rendered by the scheduler's own code).
struct Cluster {
  wire::StatusMsg status;
  std::string metrics;
};

Cluster cluster() {
  Cluster c;
  c.status.workers = {{"a", true, 2, 2}, {"b", false, 1, 0}, {"c", true, 1, 1}};
  c.status.jobs = {{7, "", {{"a", {"tcp://x:1"}, 0, ""}, {"a", {"tcp://x:1"}, 1, ""}}},
                   {12, "", {{"c", {"tcp://x:2"}, 0, ""}}}};
  moai::sched::MetricsSnapshot m;
  m.workers = {{"a", true, 0.2}, {"b", false, 9.5}, {"c", true, 0.4}};
  m.devices = {{"a", 0, props("cuda", 81920, 1), 40ull << 30, 90.0, 7},
               {"a", 1, props("cuda", 81920, 2), 1ull << 30, 10.0, 7},
               {"b", 0, props("cpu", 1024, 3), std::nullopt, std::nullopt, 0},
               {"c", 0, props("hip", 65536, 4), 2ull << 30, 55.0, 12}};
  m.jobs = {{7, "alice", 2, 1, 0, 125, 30.5}, {12, "bob \"b\"", 1, 1, 0, 4000, 0}};
  c.metrics = moai::sched::renderMetrics(m);
  return c;
}

Snapshot snapshot() {
  static Cluster c = cluster();
  auto samples = parsePrometheusText(c.metrics);
  return buildSnapshot(&c.status, &samples);
}

std::string screen(const std::vector<Line>& lines) {
  std::string out;
  for (auto& l : lines) out += l.text() + "\n";
  return out;
}

// Device rows of a rendered screen, in order, as "worker/index".
std::vector<std::string> deviceOrder(const Snapshot& s, const UiState& ui) {
  std::vector<std::string> out;
  for (auto* d : visibleDevices(s, ui)) out.push_back(d->worker + "/" + std::to_string(d->index));
  return out;
}

}  // namespace

TEST_CASE("Prometheus text: labels, escapes, timestamps, bad lines") {
  size_t bad = 0;
  auto s = parsePrometheusText(
      "# HELP x y\nx_total 3\nm{a=\"1\",b=\"q\\\"\\\\\\n\"} 2.5 1700000000\nbroken{a=\"1\" 3\nnovalue\n\ny{} -1e3\n", &bad);
  REQUIRE(s.size() == 3);
  CHECK(s[0].name == "x_total");
  CHECK(s[0].value == 3);
  CHECK(s[1].labels.at("a") == "1");
  CHECK(s[1].labels.at("b") == "q\"\\\n");
  CHECK(s[1].value == 2.5);
  CHECK(s[2].value == -1000);
  CHECK(bad == 2);
}

TEST_CASE("a status reply joined with /metrics") {
  Snapshot s = snapshot();
  CHECK(s.has_metrics);
  REQUIRE(s.workers.size() == 3);
  CHECK(s.workers[1].id == "b");
  CHECK_FALSE(s.workers[1].alive);
  CHECK(s.workers[1].heartbeat_age == Approx(9.5));
  REQUIRE(s.devices.size() == 4);
  const DeviceRow& a0 = s.devices[0];
  CHECK(a0.kind == "cuda");
  CHECK(a0.model == "cuda model");
  CHECK(a0.uuid.rfind("GPU-01000000-", 0) == 0);
  CHECK(a0.memory_total == 81920u);
  CHECK(a0.memory_used == 40960u);
  CHECK(a0.utilization == Approx(90));
  CHECK(a0.jobs == std::vector<uint64_t>{7});
  CHECK(s.devices[2].kind == "cpu");
  CHECK_FALSE(s.devices[2].utilization);  // not reported is not 0
  CHECK_FALSE(s.devices[2].memory_used);
  REQUIRE(s.jobs.size() == 2);
  CHECK(s.jobs[0].user == "alice");
  CHECK(s.jobs[0].devices == std::vector<JobDevice>{{"a", 0}, {"a", 1}});
  CHECK(s.jobs[0].lease_seconds == Approx(125));
  CHECK(s.jobs[0].busy_seconds == Approx(30.5));
  CHECK(s.jobs[0].memory_used == 41984u);  // 40 GiB + 1 GiB on its two devices
  CHECK(s.jobs[1].memory_used == 2048u);
  CHECK(s.jobs[1].user == "bob \"b\"");
  CHECK(s.jobs_queued == 0u);  // the status's queue is empty
}

TEST_CASE("status alone, and /metrics alone") {
  Cluster c = cluster();
  Snapshot st = buildSnapshot(&c.status, nullptr);
  CHECK_FALSE(st.has_metrics);
  REQUIRE(st.devices.size() == 4);  // from the workers' device counts
  CHECK(st.devices[0].kind.empty());
  CHECK_FALSE(st.devices[0].memory_total);
  CHECK(st.devices[3].jobs == std::vector<uint64_t>{12});
  CHECK(st.jobs[1].user.empty());
  CHECK_FALSE(st.jobs[1].memory_used);

  auto samples = parsePrometheusText(c.metrics);
  Snapshot mt = buildSnapshot(nullptr, &samples);
  REQUIRE(mt.workers.size() == 3);
  CHECK(mt.workers[0].devices == 2);
  CHECK(mt.workers[0].leased == 2);
  REQUIRE(mt.jobs.size() == 2);
  CHECK(mt.jobs[0].devices.size() == 2);
  CHECK(mt.jobs[1].user == "bob \"b\"");
}

TEST_CASE("a job's memory only where it holds its devices alone") {
  wire::StatusMsg st;
  st.workers = {{"a", true, 1, 1}};
  st.jobs = {{1, "", {{"a", {"tcp://x:1"}, 0, ""}}}, {2, "", {{"a", {"tcp://x:1"}, 0, ""}}}};  // colocated
  moai::sched::MetricsSnapshot m;
  m.workers = {{"a", true, 0.1}};
  m.devices = {{"a", 0, props("cuda", 1024, 1), 300ull << 20, 5.0, 1}};
  auto samples = parsePrometheusText(moai::sched::renderMetrics(m));
  Snapshot s = buildSnapshot(&st, &samples);
  CHECK(s.devices[0].jobs == std::vector<uint64_t>{1, 2});
  CHECK(s.devices[0].memory_used == 300u);
  CHECK_FALSE(s.jobs[0].memory_used);
  CHECK_FALSE(s.jobs[1].memory_used);
}

TEST_CASE("sorting: columns, order, missing values last") {
  Snapshot s = snapshot();
  UiState ui;
  CHECK(deviceOrder(s, ui) == std::vector<std::string>{"a/0", "a/1", "b/0", "c/0"});
  ui.sort[0] = {3, true};  // util, descending
  CHECK(sortColumns(Panel::Devices)[3] == "util");
  CHECK(deviceOrder(s, ui) == std::vector<std::string>{"a/0", "c/0", "a/1", "b/0"});
  ui.sort[0] = {3, false};
  CHECK(deviceOrder(s, ui) == std::vector<std::string>{"b/0", "a/1", "c/0", "a/0"});
  ui.sort[0] = {2, false};  // kind, ties by worker then index
  CHECK(deviceOrder(s, ui) == std::vector<std::string>{"b/0", "a/0", "a/1", "c/0"});
  ui.sort[1] = {4, true};  // jobs by lease seconds
  auto jobs = visibleJobs(s, ui);
  CHECK(jobs[0]->id == 12);
  ui.sort[2] = {1, false};  // workers: down first
  CHECK(visibleWorkers(s, ui)[0]->id == "b");
}

TEST_CASE("filtering by job, user, kind and worker") {
  Snapshot s = snapshot();
  UiState ui;
  ui.filter = "ALICE";  // case-insensitive; a user's devices and workers too
  CHECK(deviceOrder(s, ui) == std::vector<std::string>{"a/0", "a/1"});
  CHECK(visibleJobs(s, ui).size() == 1);
  CHECK(visibleWorkers(s, ui).size() == 1);
  ui.filter = "hip";
  CHECK(deviceOrder(s, ui) == std::vector<std::string>{"c/0"});
  REQUIRE(visibleJobs(s, ui).size() == 1);
  CHECK(visibleJobs(s, ui)[0]->id == 12);
  ui.filter = "12";
  CHECK(deviceOrder(s, ui) == std::vector<std::string>{"c/0"});
  ui.filter = "nobody";
  CHECK(visibleDevices(s, ui).empty());
  CHECK(visibleJobs(s, ui).empty());
}

TEST_CASE("keys: move, panels, sort, filter, tree, help, quit") {
  Snapshot s = snapshot();
  UiState ui;
  handleKey(ui, kKeyDown, &s);
  handleKey(ui, 'j', &s);
  CHECK(ui.selected[0] == 2);
  for (int i = 0; i < 10; ++i) handleKey(ui, 'j', &s);
  CHECK(ui.selected[0] == 3);  // clamped to the last row
  handleKey(ui, 'k', &s);
  CHECK(ui.selected[0] == 2);
  handleKey(ui, '>', &s);
  handleKey(ui, kKeyF6, &s);
  CHECK(ui.sort[0].column == 2);
  handleKey(ui, '<', &s);
  handleKey(ui, '<', &s);
  handleKey(ui, '<', &s);
  CHECK(ui.sort[0].column == 5);  // wraps
  handleKey(ui, 'i', &s);
  CHECK(ui.sort[0].descending);
  handleKey(ui, kKeyTab, &s);
  CHECK(ui.panel == Panel::Jobs);
  handleKey(ui, kKeyBackTab, &s);
  handleKey(ui, kKeyBackTab, &s);
  CHECK(ui.panel == Panel::Workers);

  handleKey(ui, '/', &s);
  CHECK(ui.prompt == Prompt::Filter);
  for (char c : std::string("hiq")) handleKey(ui, c, &s);
  handleKey(ui, kKeyBackspace, &s);
  CHECK(ui.filter == "hi");  // filters as one types
  handleKey(ui, kKeyEnter, &s);
  CHECK(ui.prompt == Prompt::None);
  CHECK(ui.filter == "hi");
  handleKey(ui, kKeyEscape, &s);
  CHECK(ui.filter.empty());

  handleKey(ui, 't', &s);
  CHECK(ui.tree);
  handleKey(ui, 'h', &s);
  CHECK(ui.help);
  CHECK(handleKey(ui, 'x', &s).kind == Command::None);  // any key closes help
  CHECK_FALSE(ui.help);
  CHECK(handleKey(ui, 'q', &s).kind == Command::Quit);
}

TEST_CASE("the selection follows its row when the order changes") {
  Snapshot s = snapshot();
  UiState ui;
  handleKey(ui, 'j', &s);  // a/1
  CHECK(ui.selected_key[0] == "a/1");
  ui.sort[0] = {3, true};  // by utilisation: a/0, c/0, a/1, b/0
  CHECK(selectedRow(s, ui, Panel::Devices) == 2);
  CHECK(selectedWorker(s, ui) == "a");
  s.devices[1].utilization = 99;  // a refresh moves it to the top
  CHECK(selectedRow(s, ui, Panel::Devices) == 0);
  handleKey(ui, 'j', &s);
  CHECK(ui.selected_key[0] == "a/0");
  // Its row gone (filtered out or ended): the position stays, on another row.
  ui.filter = "hip";
  CHECK(selectedRow(s, ui, Panel::Devices) == 0);
  CHECK(selectedWorker(s, ui) == "c");
}

TEST_CASE("keys: resize, cancel and drain prompt, confirm, and name their target") {
  Snapshot s = snapshot();
  UiState ui;
  ui.panel = Panel::Jobs;
  handleKey(ui, 'j', &s);  // job 12
  handleKey(ui, 'r', &s);
  CHECK(ui.prompt == Prompt::Resize);
  handleKey(ui, 'x', &s);  // not a digit: ignored
  handleKey(ui, '4', &s);
  Command cmd = handleKey(ui, kKeyEnter, &s);
  CHECK(cmd.kind == Command::Resize);
  CHECK(cmd.job == 12);
  CHECK(cmd.devices == 4);

  handleKey(ui, 'r', &s);
  CHECK(handleKey(ui, kKeyEnter, &s).kind == Command::None);  // no number
  CHECK(ui.message.find("not a number") != std::string::npos);

  handleKey(ui, 'c', &s);
  CHECK(ui.prompt == Prompt::ConfirmCancel);
  CHECK(handleKey(ui, 'n', &s).kind == Command::None);
  handleKey(ui, 'c', &s);
  cmd = handleKey(ui, 'y', &s);
  CHECK(cmd.kind == Command::Cancel);
  CHECK(cmd.job == 12);

  ui.panel = Panel::Workers;
  handleKey(ui, 'd', &s);
  CHECK(ui.prompt == Prompt::ConfirmDrain);
  cmd = handleKey(ui, 'y', &s);
  CHECK(cmd.kind == Command::Drain);
  CHECK(cmd.worker == "a");

  ui.panel = Panel::Devices;
  ui.selected[0] = 2;  // b/0: no job holds it
  handleKey(ui, 'r', &s);
  CHECK(ui.prompt == Prompt::None);
  CHECK(ui.message.find("select a job") != std::string::npos);
}

TEST_CASE("the screen: exact size, panels, bars, sort arrow, selection") {
  Snapshot s = snapshot();
  History h;
  for (double u : {0.0, 50.0, 100.0}) {
    s.devices[0].utilization = u;
    h.record(s);
  }
  UiState ui;
  ui.selected[0] = 1;
  Frame f{&s, &h, "tcp://sched:5555", "http://sched:9400", "", "", 0};
  auto lines = render(f, ui, 160, 45);
  REQUIRE(lines.size() == 45);
  for (auto& l : lines) CHECK(displayWidth(l.text()) == 160);
  std::string text = screen(lines);
  CHECK(text.find("tcp://sched:5555") != std::string::npos);
  CHECK(text.find("Workers 2 up, 1 down") != std::string::npos);
  CHECK(text.find("Devices 4 (1 cpu, 2 cuda, 1 hip)") != std::string::npos);
  CHECK(text.find("Allocated 3  Free 1") != std::string::npos);
  CHECK(text.find("WORKER▲") != std::string::npos);
  CHECK(text.find("▁▅█") != std::string::npos);  // the history of a/0
  CHECK(text.find("100%]") != std::string::npos);
  CHECK(text.find("40.0G/80.0G]") != std::string::npos);
  CHECK(text.find("GPU-01000000-") != std::string::npos);
  CHECK(text.find("bob \"b\"") != std::string::npos);
  CHECK(text.find("2m05s") != std::string::npos);  // job 7's lease
  CHECK(text.find("41.0G") != std::string::npos);  // job 7's memory
  CHECK(text.find("CONNECTION LOST") == std::string::npos);
  int selected = 0;
  for (auto& l : lines)
    if (l.selected) {
      ++selected;
      CHECK(l.text().rfind("a ", 0) == 0);
      CHECK(l.text().find("10%]") != std::string::npos);  // a/1
    }
  CHECK(selected == 1);
  // The bar's fill is styled by level: 100 % is high.
  bool high = false;
  for (auto& l : lines)
    for (auto& sp : l.spans) high |= sp.style == Style::BarHigh && sp.text.find('|') != std::string::npos;
  CHECK(high);

  // Narrow: no UUID column, still exactly the size asked.
  auto narrow = render(f, ui, 80, 20);
  REQUIRE(narrow.size() == 20);
  for (auto& l : narrow) CHECK(displayWidth(l.text()) == 80);
  CHECK(screen(narrow).find("GPU-") == std::string::npos);

  // Tiny terminals: still exactly the size asked, nothing else.
  for (auto [w, h] : {std::pair{1, 1}, {10, 3}, {30, 8}, {400, 100}}) {
    auto tiny = render(f, ui, w, h);
    REQUIRE(tiny.size() == size_t(h));
    for (auto& l : tiny) CHECK(displayWidth(l.text()) == size_t(w));
  }
}

TEST_CASE("the screen: tree, help, banner, prompts, ASCII") {
  Snapshot s = snapshot();
  UiState ui;
  ui.tree = true;
  Frame f{&s, nullptr, "tcp://s:1", "", "", "", 0};
  std::string text = screen(render(f, ui, 160, 45));
  CHECK(text.find("├─ a/0") != std::string::npos);
  CHECK(text.find("└─ a/1") != std::string::npos);
  CHECK(text.find("└─ c/0") != std::string::npos);

  ui.unicode = false;
  text = screen(render(f, ui, 160, 45));
  CHECK(text.find("`- c/0") != std::string::npos);
  CHECK(text.find("WORKER^") != std::string::npos);

  ui.help = true;
  text = screen(render(f, ui, 120, 40));
  CHECK(text.find("invert the sort order") != std::string::npos);
  ui.help = false;

  f.error = "no answer within 2000 ms from the scheduler at tcp://s:1";
  f.data_age = 75;
  text = screen(render(f, ui, 160, 45));
  CHECK(text.find("CONNECTION LOST: no answer within 2000 ms") != std::string::npos);
  CHECK(text.find("1m15s old") != std::string::npos);
  CHECK(text.find("alice") != std::string::npos);  // the last data stays

  Frame none{nullptr, nullptr, "tcp://s:1", "", "", "", 0};
  CHECK(screen(render(none, ui, 100, 10)).find("waiting for the scheduler") != std::string::npos);

  ui.prompt = Prompt::Resize;
  ui.target_job = 7;
  ui.input = "3";
  auto lines = render(f, ui, 160, 45);
  CHECK(lines.back().text().find("Resize job 7 to how many devices? 3_") != std::string::npos);
  ui.prompt = Prompt::None;
  ui.message = "resize job 7 to 3: not supported by this scheduler";
  CHECK(render(f, ui, 160, 45).back().text().find("not supported by this scheduler") != std::string::npos);

  // Many rows in a short screen: the selection stays visible.
  Snapshot big;
  for (uint32_t i = 0; i < 50; ++i) big.devices.push_back({"w", i, "", "cpu", "", std::nullopt, std::nullopt, 1024, {}});
  UiState bui;
  bui.selected[0] = 40;
  Frame bf{&big, nullptr, "", "", "", "", 0};
  auto blines = render(bf, bui, 120, 24);
  bool seen = false;
  for (auto& l : blines) seen |= l.selected && l.text().find("w   ") == 0 && l.text().find(" 40 ") != std::string::npos;
  CHECK(seen);
  CHECK(screen(blines).find("of 50") != std::string::npos);
}

TEST_CASE("history keeps the last samples and forgets gone devices") {
  History h(3);
  Snapshot s;
  s.devices.push_back({"w", 0, "", "", "", 10.0, {}, {}, {}});
  for (double u : {1.0, 2.0, 3.0, 4.0}) {
    s.devices[0].utilization = u;
    h.record(s);
  }
  CHECK(h.utilization("w", 0) == std::deque<double>{2, 3, 4});
  Snapshot empty;
  for (int i = 0; i < 3; ++i) h.record(empty);
  CHECK(h.utilization("w", 0).size() == 3);  // a blink keeps it
  h.record(empty);
  CHECK(h.utilization("w", 0).empty());
}

TEST_CASE("preferences round trip, and a bad file is an error") {
  auto dir = std::filesystem::temp_directory_path() / ("moai-top-test-" + std::to_string(::getpid()));
  std::string path = (dir / "moai" / "top.toml").string();
  UiState ui;
  ui.panel = Panel::Jobs;
  ui.sort[0] = {3, true};
  ui.sort[2] = {4, false};
  ui.tree = true;
  ui.interval = 2.5;
  REQUIRE(savePreferences(path, ui));
  UiState back;
  REQUIRE(loadPreferences(path, back).value());
  CHECK(back.panel == Panel::Jobs);
  CHECK(back.sort[0].column == 3);
  CHECK(back.sort[0].descending);
  CHECK(back.sort[2].column == 4);
  CHECK(back.tree);
  CHECK(back.interval == 2.5);

  std::ofstream(path) << "panel = \"gpus\"\n";
  UiState bad;
  auto r = loadPreferences(path, bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("panel") != std::string::npos);
  std::ofstream(path) << "[sort.devices]\ncolumn = \"colour\"\n";
  CHECK_FALSE(loadPreferences(path, bad));
  CHECK_FALSE(loadPreferences((dir / "none.toml").string(), bad).value());  // missing: defaults
  std::filesystem::remove_all(dir);
}

TEST_CASE("the scheduler's queue: waiting jobs with their position, users without /metrics") {
  Cluster c = cluster();
  wire::JobStatusEntry waiting;
  waiting.job_id = 30;
  waiting.user = "carol";
  waiting.position = 1;
  waiting.submit_time = 1;  // long ago
  wire::JobStatusEntry running;
  running.job_id = 7;
  running.user = "alice";
  running.running = true;
  running.submit_time = 100;
  running.start_time = 104;
  c.status.queue = {waiting, running};
  Snapshot s = buildSnapshot(&c.status, nullptr);
  CHECK(s.jobs_queued == 1u);
  REQUIRE(s.jobs.size() == 3);
  CHECK(s.jobs[0].user == "alice");
  CHECK(s.jobs[0].state == "running");
  CHECK(s.jobs[0].queue_seconds == Approx(4));
  CHECK(s.jobs[2].id == 30u);
  CHECK(s.jobs[2].state == "queued #1");
  CHECK(*s.jobs[2].queue_seconds > 1e6);
}

TEST_CASE("--once --json: every field, null where unknown") {
  Fetch f{snapshot(), "", "", };
  auto j = nlohmann::json::parse(snapshotJson(f, "tcp://s:1", "http://s:2"));
  CHECK(j["error"].is_null());
  CHECK(j["summary"]["workers_up"] == 2);
  CHECK(j["summary"]["workers_down"] == 1);
  CHECK(j["summary"]["devices_allocated"] == 3);
  CHECK(j["summary"]["jobs_queued"] == 0);
  REQUIRE(j["devices"].size() == 4);
  CHECK(j["devices"][0]["kind"] == "cuda");
  CHECK(j["devices"][0]["utilization_percent"] == 90.0);
  CHECK(j["devices"][2]["utilization_percent"].is_null());
  CHECK(j["devices"][0]["jobs"] == nlohmann::json::array({7}));
  CHECK(j["jobs"][1]["user"] == "bob \"b\"");
  CHECK(j["jobs"][0]["devices"][1]["index"] == 1);
  CHECK(j["jobs"][0]["memory_used_mib"] == 41984);

  std::string text = snapshotText(f, UiState{}, "tcp://s:1", "", 160);
  CHECK(text.find("alice") != std::string::npos);
  CHECK(text.find("F1 Help") == std::string::npos);  // no key hints
  CHECK(text.back() == '\n');
}

namespace {

// A scheduler that answers, fails or hangs on command.
class FakeSource : public ClusterSource {
 public:
  std::atomic<int> calls{0};
  std::atomic<bool> down{false};
  std::atomic<int> hang_ms{0};
  Fetch fetch(const std::atomic<bool>& cancel) override {
    int n = ++calls;
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(hang_ms.load());
    while (std::chrono::steady_clock::now() < until && !cancel) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    Fetch f;
    if (down) {
      f.error = "down";
      return f;
    }
    f.snapshot.workers = {{"w", true, 1, 0, {}}};
    f.snapshot.devices = {{"w", 0, "", "cpu", "", double(n % 100), {}, {}, {}}};
    return f;
  }
};

template <class F>
bool eventually(F check) {
  for (int i = 0; i < 400; ++i) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

double secondsOf(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("the fetch thread: keeps the last snapshot, never blocks, stops promptly") {
  auto owned = std::make_unique<FakeSource>();
  FakeSource* source = owned.get();
  auto feed = std::make_unique<Feed>(std::move(owned), makeSchedulerActions({}), 0.02);
  REQUIRE(eventually([&] { return feed->state().history.utilization("w", 0).size() >= 3; }));
  CHECK(feed->state().error.empty());

  source->down = true;
  REQUIRE(eventually([&] { return feed->state().error == "down"; }));
  FeedState s = feed->state();
  REQUIRE(s.snapshot);  // the last answer stays on screen
  CHECK(s.snapshot->workers.size() == 1);

  feed->submit([](ClusterActions& a) { return a.resize(7, 3); });
  std::vector<ActionOutcome> outcomes;
  REQUIRE(eventually([&] {
    for (auto& o : feed->takeOutcomes()) outcomes.push_back(o);
    return !outcomes.empty();
  }));
  CHECK_FALSE(outcomes[0].done);
  CHECK(outcomes[0].message.find("no scheduler to ask") != std::string::npos);  // actions made without an endpoint

  source->hang_ms = 60000;  // a scheduler that never answers
  int calls = source->calls;
  REQUIRE(eventually([&] { return source->calls > calls; }));
  CHECK(secondsOf([&] { feed->state(); }) < 0.05);
  CHECK(secondsOf([&] { feed.reset(); }) < 1.0);
}
