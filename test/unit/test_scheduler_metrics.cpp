// The /metrics exposition (scheduler/metrics.h) and the inventory snapshot
// it renders: text format 0.0.4 line by line, DCGM names and labels, values
// that follow the inventory.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "scheduler/inventory.h"
#include "scheduler/metrics.h"

using namespace moai::sched;
using namespace std::chrono_literals;

namespace {

modnn_device_props device(const char* name, uint64_t memory, uint8_t uuid0) {
  modnn_device_props p{};
  p.struct_size = sizeof p;
  std::snprintf(p.name, sizeof p.name, "%s", name);
  std::snprintf(p.kind, sizeof p.kind, "cpu");
  p.uuid[0] = uuid0;
  p.uuid[15] = 0xab;
  p.total_memory = memory;
  return p;
}

// name{labels} -> value, checking the grammar of every line on the way:
// each family's HELP and TYPE come once, before its samples.
std::map<std::string, double> parse(const std::string& text) {
  static const std::regex sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (\S+))");
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter))");
  std::map<std::string, double> out;
  std::set<std::string> typed;
  std::string helped;
  std::istringstream lines(text);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    INFO(line);
    if (std::regex_match(line, m, help)) {
      helped = m[1];
      REQUIRE(!typed.count(helped));
    } else if (std::regex_match(line, m, type)) {
      REQUIRE(m[1] == helped);
      typed.insert(m[1]);
    } else {
      REQUIRE(std::regex_match(line, m, sample));
      REQUIRE(typed.count(m[1]));
      std::string key = line.substr(0, line.rfind(' '));
      REQUIRE(!out.count(key));
      out[key] = std::stod(m[5]);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a rendered snapshot is valid exposition with DCGM names and labels") {
  MetricsSnapshot s;
  s.workers = {{"w0", true, 0.25}, {"w1", false, 9}};
  s.devices.push_back({"w0", 0, device("CPU \"fast\"\\x", 2048ull << 20, 1), 300ull << 20, 62.6, 7});
  s.devices.push_back({"w0", 1, device("CPU", 1024ull << 20, 2), std::nullopt, std::nullopt, 0});
  s.devices.push_back({"w1", 0, device("CPU", 1024ull << 20, 3), std::nullopt, std::nullopt, 0});
  s.jobs.push_back({7, "alice", 1, 1, 0, 12.5, 0});
  s.refused_peers = 3;
  auto m = parse(renderMetrics(s));

  std::string d0 = R"(gpu="0",UUID="GPU-01000000-0000-0000-0000-0000000000ab",device="cpu0",modelName="CPU \"fast\"\\x",Hostname="w0")";
  CHECK(m.at("DCGM_FI_DEV_FB_USED{" + d0 + "}") == 300);
  CHECK(m.at("DCGM_FI_DEV_FB_FREE{" + d0 + "}") == 2048 - 300);
  CHECK(m.at("DCGM_FI_DEV_FB_TOTAL{" + d0 + "}") == 2048);
  CHECK(m.at("DCGM_FI_DEV_GPU_UTIL{" + d0 + "}") == 63);  // whole percent, as DCGM
  CHECK(m.at("moai_device_leased{" + d0 + "}") == 1);
  CHECK(m.at("moai_device_job{" + d0 + "}") == 7);
  std::string d1 = R"(gpu="1",UUID="GPU-02000000-0000-0000-0000-0000000000ab",device="cpu1",modelName="CPU",Hostname="w0")";
  CHECK(!m.count("DCGM_FI_DEV_FB_USED{" + d1 + "}"));  // not reported: no sample rather than a guess
  CHECK(!m.count("DCGM_FI_DEV_GPU_UTIL{" + d1 + "}"));
  CHECK(m.at("moai_device_leased{" + d1 + "}") == 0);

  CHECK(m.at("moai_workers") == 2);
  CHECK(m.at("moai_workers_alive") == 1);
  CHECK(m.at(R"(moai_worker_up{Hostname="w1"})") == 0);
  CHECK(m.at(R"(moai_worker_heartbeat_age_seconds{Hostname="w0"})") == 0.25);
  CHECK(m.at("moai_devices") == 2);  // w1 is dead
  CHECK(m.at("moai_devices_leased") == 1);
  CHECK(m.at("moai_jobs") == 1);
  CHECK(m.at(R"(moai_job_lease_devices{job="7",user="alice"})") == 1);
  CHECK(m.at(R"(moai_job_lease_seconds{job="7",user="alice"})") == 12.5);
  CHECK(m.at(R"(moai_job_busy_seconds{job="7",user="alice"})") == 0);
  CHECK(m.at("moai_refused_peers_total") == 3);
}

TEST_CASE("the inventory snapshot follows registrations, heartbeats and leases") {
  Clock::time_point now{};
  Inventory inv(InventoryConfig{}, [&] { return now; });
  moai::wire::RegisterMsg w{"w0", {"tcp://w0:1"}, {device("A", 1 << 30, 1), device("B", 1 << 30, 2)}, std::string(40, '0')};
  REQUIRE(inv.registerWorker(w, "route-w0").ok());
  auto effects = inv.requestLease({1, "", "bob", moai::schema::Placement::UNSET}, "route-c");
  REQUIRE(effects.ok());
  moai::wire::LeaseEntry lease;
  for (auto& m : effects->messages)
    if (auto* l = std::get_if<moai::wire::LeaseMsg>(&m.message)) lease = l->lease;
  REQUIRE(lease.job_id != 0);
  CHECK(lease.devices.at(0).curve_key == std::string(40, '0'));  // the client learns the worker's key

  now += 2s;
  REQUIRE(inv.heartbeat("w0", "route-w0"));
  inv.reportUsage({"w0", {5 << 20, 0}, {10.0, 3.0}, 100.0});
  CHECK(!inv.snapshot().devices[0].utilization);  // one report: no interval yet
  now += 50ms;                                             // arrivals bunch up; the worker's clock counts
  inv.reportUsage({"w0", {1}, {11.5, 3.0}, 102.0});       // wrong memory count: only the busy time counts
  now += 1950ms;
  now += 500ms;
  MetricsSnapshot s = inv.snapshot();
  REQUIRE(s.workers.size() == 1);
  CHECK(s.workers[0].alive);
  CHECK(s.workers[0].seconds_since_heartbeat == Approx(2.5));
  REQUIRE(s.devices.size() == 2);
  CHECK(s.devices[0].job_id == lease.job_id);
  CHECK(s.devices[0].memory_used == uint64_t(5 << 20));
  CHECK(s.devices[0].utilization == Approx(75.0));  // 1.5 s busy in 2 s of the worker's time
  CHECK(s.devices[1].utilization == Approx(0.0));
  CHECK(s.devices[1].job_id == 0);
  CHECK(std::string(s.devices[1].props.name) == "B");
  REQUIRE(s.jobs.size() == 1);
  CHECK(s.jobs[0].user == "bob");
  CHECK(s.jobs[0].devices == 1);
  CHECK(s.jobs[0].workers == 1);
  CHECK(s.jobs[0].lease_seconds == Approx(4.5));

  // A restarted worker's clock starts again: no utilization until the next interval.
  now += 1s;
  inv.reportUsage({"w0", {}, {0.2, 0.0}, 0.3});
  CHECK(!inv.snapshot().devices[0].utilization);
  inv.reportUsage({"w0", {}, {0.5, 0.0}, 1.3});
  CHECK(inv.snapshot().devices[0].utilization == Approx(30.0));
}
