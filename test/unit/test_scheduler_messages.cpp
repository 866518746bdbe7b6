#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "schemas/scheduler_messages.h"
#include "wire.h"

using namespace moai::wire;
namespace schema = moai::schema;

namespace {

const std::string kToken(64, 'a');

modnn_device_props device(const char* kind = "cpu") {
  modnn_device_props p{};
  p.struct_size = sizeof p;
  std::snprintf(p.name, sizeof p.name, "CPU (test)");
  std::snprintf(p.kind, sizeof p.kind, "%s", kind);
  p.uuid[0] = 1;
  p.total_memory = 1ull << 30;
  p.multiprocessor_count = 2;
  p.max_threads_per_block = 1024;
  return p;
}

RegisterMsg registration() { return {"host:7000", {"tcp://10.0.0.1:7000", "ipc:///tmp/w.sock"}, {device(), device("h100")}}; }

LeaseEntry lease() {
  return {42, kToken, {{"a", {"tcp://a:1"}, 0}, {"b", {"tcp://b:1"}, 3}}};
}

template <class T>
T toScheduler(const ToSchedulerMsg& m) {
  auto bytes = encodeToScheduler(m);
  auto back = decodeToScheduler(bytes.data(), bytes.size());
  REQUIRE(back.ok());
  REQUIRE(std::holds_alternative<T>(*back));
  return std::get<T>(*back);
}

template <class T>
T fromScheduler(const FromSchedulerMsg& m) {
  auto bytes = encodeFromScheduler(m);
  auto back = decodeFromScheduler(bytes.data(), bytes.size());
  REQUIRE(back.ok());
  REQUIRE(std::holds_alternative<T>(*back));
  return std::get<T>(*back);
}

// Builds a raw ToScheduler, as a hostile or buggy peer could.
template <class F>
moai::Result<ToSchedulerMsg> rawToScheduler(F&& fill) {
  capnp::MallocMessageBuilder b;
  fill(b.initRoot<schema::ToScheduler>());
  auto bytes = writeMessage(b);
  return decodeToScheduler(bytes.data(), bytes.size());
}

template <class F>
moai::Result<FromSchedulerMsg> rawFromScheduler(F&& fill) {
  capnp::MallocMessageBuilder b;
  fill(b.initRoot<schema::FromScheduler>());
  auto bytes = writeMessage(b);
  return decodeFromScheduler(bytes.data(), bytes.size());
}

void rejected(const moai::Result<ToSchedulerMsg>& r) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == MODNN_ERR_INVALID_VALUE);
  CHECK_FALSE(r.error().message.empty());
}

}  // namespace

TEST_CASE("every message to the scheduler survives a round trip") {
  auto reg = toScheduler<RegisterMsg>(registration());
  CHECK(reg.worker_id == "host:7000");
  CHECK(reg.endpoints == registration().endpoints);
  REQUIRE(reg.devices.size() == 2);
  CHECK(std::string(reg.devices[1].kind) == "h100");
  CHECK(reg.devices[0].total_memory == 1ull << 30);

  CHECK(toScheduler<HeartbeatMsg>(HeartbeatMsg{"host:7000"}).worker_id == "host:7000");
  auto req = toScheduler<LeaseRequestMsg>(LeaseRequestMsg{4, "h100", "Zoë Doe", schema::Placement::SPREAD});
  CHECK(req.devices == 4);
  CHECK(req.kind == "h100");
  CHECK(req.user == "Zoë Doe");
  CHECK(req.placement == schema::Placement::SPREAD);
  CHECK(toScheduler<KeepaliveMsg>(KeepaliveMsg{7}).job_id == 7);
  CHECK(toScheduler<ReleaseMsg>(ReleaseMsg{8}).job_id == 8);
  toScheduler<StatusRequestMsg>(StatusRequestMsg{});

  LeaseRequestMsg full{2, "h100|a100", "bob", schema::Placement::PACK};
  full.min_memory_per_device = 40ull << 30;
  full.shareable = true;
  full.priority = -3;
  full.time_limit_s = 3600;
  auto back = toScheduler<LeaseRequestMsg>(full);
  CHECK(back.kind == "h100|a100");
  CHECK(back.min_memory_per_device == 40ull << 30);
  CHECK(back.shareable);
  CHECK(back.priority == -3);
  CHECK(back.time_limit_s == 3600);
  CHECK(toScheduler<CancelMsg>(CancelMsg{9}).job_id == 9);
  CHECK(toScheduler<DrainMsg>(DrainMsg{"w1", true}).drain);
  auto undrain = toScheduler<DrainMsg>(DrainMsg{"w1", false});
  CHECK_FALSE(undrain.drain);
  CHECK(undrain.worker_id == "w1");
  auto resize = toScheduler<ResizeMsg>(ResizeMsg{5, 3});
  CHECK((resize.job_id == 5 && resize.devices == 3));
  CHECK(toScheduler<ResizedMsg>(ResizedMsg{5}).job_id == 5);
  toScheduler<UsageRequestMsg>(UsageRequestMsg{});
  CHECK(kindAlternatives("h100|a100") == std::vector<std::string>{"h100", "a100"});
  CHECK(kindAlternatives("").empty());
}

TEST_CASE("every message from the scheduler survives a round trip") {
  fromScheduler<RegisteredMsg>(RegisteredMsg{});
  auto l = fromScheduler<LeaseMsg>(LeaseMsg{lease()});
  CHECK(l.lease.job_id == 42);
  CHECK(l.lease.token == kToken);
  CHECK(l.lease.devices == lease().devices);
  CHECK(fromScheduler<GrantMsg>(GrantMsg{lease()}).lease.devices == lease().devices);
  CHECK(fromScheduler<RevokeMsg>(RevokeMsg{42}).job_id == 42);
  auto e = fromScheduler<ErrorMsg>(ErrorMsg{MODNN_ERR_OUT_OF_MEMORY, "2 devices wanted,\n1 free"});
  CHECK(e.code == MODNN_ERR_OUT_OF_MEMORY);
  CHECK(e.message == "2 devices wanted,\n1 free");
  LeaseEntry listed = lease();
  listed.token.clear();
  auto s = fromScheduler<StatusMsg>(StatusMsg{{{"a", true, 4, 1}, {"b", false, 2, 0}}, {listed}});
  REQUIRE(s.workers.size() == 2);
  CHECK(s.workers[0].leased == 1);
  CHECK_FALSE(s.workers[1].alive);
  REQUIRE(s.jobs.size() == 1);
  CHECK(s.jobs[0].token.empty());
  CHECK(fromScheduler<ReleasedMsg>(ReleasedMsg{42}).job_id == 42);

  auto q = fromScheduler<QueuedMsg>(QueuedMsg{7, 2, "Resources: 4 wanted, 1 free"});
  CHECK((q.job_id == 7 && q.position == 2 && q.reason == "Resources: 4 wanted, 1 free"));
  CHECK(fromScheduler<LeaseChangedMsg>(LeaseChangedMsg{lease()}).lease.devices == lease().devices);
  auto drop = fromScheduler<DropDevicesMsg>(DropDevicesMsg{7, {1, 3}});
  CHECK(drop.indices == std::vector<uint32_t>{1, 3});
  CHECK(fromScheduler<OkMsg>(OkMsg{"job 7 cancelled"}).message == "job 7 cancelled");
  auto u = fromScheduler<UsageMsg>(UsageMsg{{{7, "bob", 2, 1.7e9, 1.7e9 + 5, 0, 12.5, -1, ""}}});
  REQUIRE(u.records.size() == 1);
  CHECK(u.records[0].leased_device_seconds == 12.5);
  CHECK(u.records[0].busy_seconds < 0);
  UsageMsg billed{{{7, "bob", 2, 1.7e9, 1.7e9 + 5, 0, 12.5, 3, "", 0.003}},
                  {{7, 1699999980, "h100", 12.5, 3, 0.003}, {7, 1700000040, "cpu", 0, 0, 0}}};
  auto b = fromScheduler<UsageMsg>(billed);
  CHECK(b.records[0].cost == 0.003);
  REQUIRE(b.minutes.size() == 2);
  CHECK((b.minutes[0].minute_start == 1699999980 && b.minutes[0].kind == "h100" && b.minutes[0].busy_seconds == 3 &&
         b.minutes[0].leased_device_seconds == 12.5 && b.minutes[0].cost == 0.003 && b.minutes[1].kind == "cpu"));

  StatusMsg rich;
  WorkerStatusEntry w{"a", true, 2, 1, true, {}};
  DeviceStatusEntry d{1, {}, "cpu", "CPU 0", 1 << 30, 7};
  d.uuid[0] = 0xab;
  w.device_list = {d};
  rich.workers = {w};
  JobStatusEntry j{7, "bob", false, LeaseRequestMsg{4, "cpu", "bob", schema::Placement::SPREAD}, 1.7e9, 0, 1, "Resources", 0, false};
  rich.queue = {j};
  auto r = fromScheduler<StatusMsg>(rich);
  REQUIRE(r.workers.size() == 1);
  CHECK(r.workers[0].draining);
  REQUIRE(r.workers[0].device_list.size() == 1);
  CHECK(r.workers[0].device_list[0].uuid[0] == 0xab);
  CHECK(r.workers[0].device_list[0].job_id == 7);
  REQUIRE(r.queue.size() == 1);
  CHECK(r.queue[0].request.devices == 4);
  CHECK(r.queue[0].position == 1);
  CHECK_FALSE(r.queue[0].running);
}

TEST_CASE("registrations with bad ids, endpoints or devices are rejected") {
  auto with = [](auto change) {
    RegisterMsg m = registration();
    change(m);
    auto bytes = encodeToScheduler(m);
    return decodeToScheduler(bytes.data(), bytes.size());
  };
  rejected(with([](RegisterMsg& m) { m.worker_id = ""; }));
  rejected(with([](RegisterMsg& m) { m.worker_id = std::string(257, 'w'); }));
  rejected(with([](RegisterMsg& m) { m.worker_id = "two words"; }));
  rejected(with([](RegisterMsg& m) { m.worker_id = "bell\a"; }));
  CHECK(with([](RegisterMsg& m) { m.worker_id = std::string(256, 'w'); }).ok());
  rejected(with([](RegisterMsg& m) { m.endpoints = {}; }));
  rejected(with([](RegisterMsg& m) { m.endpoints = {"http://host:80"}; }));
  rejected(with([](RegisterMsg& m) { m.endpoints = {"tcp://"}; }));
  rejected(with([](RegisterMsg& m) { m.endpoints = {"tcp://" + std::string(507, 'h')}; }));
  CHECK(with([](RegisterMsg& m) { m.endpoints = {"tcp://" + std::string(506, 'h')}; }).ok());
  rejected(with([](RegisterMsg& m) { m.endpoints.assign(kMaxEndpoints + 1, "tcp://h:1"); }));
  rejected(with([](RegisterMsg& m) { m.devices = {}; }));
  rejected(with([](RegisterMsg& m) { m.devices.assign(kMaxDevicesPerWorker + 1, device()); }));
  rejected(with([](RegisterMsg& m) { m.devices[0].kind[0] = 0; }));
  rejected(with([](RegisterMsg& m) { std::snprintf(m.devices[0].kind, sizeof m.devices[0].kind, "a b"); }));
  rejected(with([](RegisterMsg& m) { m.devices[0].multiprocessor_count = 0; }));
  rejected(rawToScheduler([](schema::ToScheduler::Builder root) {
    auto r = root.initRegister();
    r.setWorkerId("w");
    r.initEndpoints(1).set(0, "tcp://w:1");
    r.initDevices(1)[0].setKind("cpu");  // no uuid
  }));
}

TEST_CASE("lease requests, keepalives and releases are range-checked") {
  auto request = [](LeaseRequestMsg m) {
    auto bytes = encodeToScheduler(m);
    return decodeToScheduler(bytes.data(), bytes.size());
  };
  rejected(request({0, "", "u"}));
  rejected(request({uint32_t(kMaxLeaseDevices + 1), "", "u"}));
  CHECK(request({uint32_t(kMaxLeaseDevices), "", "u"}).ok());
  rejected(request({1, std::string(32, 'k'), "u"}));
  rejected(request({1, "", "line\nbreak"}));
  rejected(request({1, "", std::string(257, 'u')}));
  rejected(request({1, "h100|", "u"}));
  rejected(request({1, "|h100", "u"}));
  rejected(request({1, "h100||a100", "u"}));
  rejected(request({1, "h100|" + std::string(32, 'k'), "u"}));
  CHECK(request({1, "h100|" + std::string(31, 'k'), "u"}).ok());
  rejected(rawToScheduler([](schema::ToScheduler::Builder root) { root.initResize().setJobId(1); }));  // 0 devices
  rejected(rawToScheduler([](schema::ToScheduler::Builder root) { root.setCancel(0); }));
  rejected(rawToScheduler([](schema::ToScheduler::Builder root) { root.setDrain("two words"); }));
  rejected(rawToScheduler([](schema::ToScheduler::Builder root) {
    root.initRequestLease().setDevices(1);
    root.getRequestLease().setPlacement(schema::Placement(7));
  }));
  rejected(rawToScheduler([](schema::ToScheduler::Builder root) { root.setKeepalive(0); }));
  rejected(rawToScheduler([](schema::ToScheduler::Builder root) { root.setRelease(0); }));
}

TEST_CASE("leases, errors and status from the scheduler are checked too") {
  auto bad = [](const moai::Result<FromSchedulerMsg>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == MODNN_ERR_INVALID_VALUE);
  };
  auto leaseWith = [&](auto change) {
    LeaseEntry l = lease();
    change(l);
    auto bytes = encodeFromScheduler(LeaseMsg{l});
    return decodeFromScheduler(bytes.data(), bytes.size());
  };
  bad(leaseWith([](LeaseEntry& l) { l.token = ""; }));
  bad(leaseWith([](LeaseEntry& l) { l.token = std::string(64, 'A'); }));
  bad(leaseWith([](LeaseEntry& l) { l.token = std::string(63, 'a'); }));
  bad(leaseWith([](LeaseEntry& l) { l.job_id = 0; }));
  bad(leaseWith([](LeaseEntry& l) { l.devices.clear(); }));
  bad(leaseWith([](LeaseEntry& l) { l.devices[0].index = kMaxDevicesPerWorker; }));
  bad(leaseWith([](LeaseEntry& l) { l.devices[1].endpoints = {"udp://b:1"}; }));
  bad(rawFromScheduler([](schema::FromScheduler::Builder root) { root.initError().setCode(MODNN_OK); }));
  bad(rawFromScheduler([](schema::FromScheduler::Builder root) { root.initError().setCode(MODNN_ERR_UNKNOWN + 1); }));
  bad(rawFromScheduler([](schema::FromScheduler::Builder root) { root.initDropDevices().setJobId(1); }));
  bad(rawFromScheduler([](schema::FromScheduler::Builder root) {
    auto d = root.initDropDevices();
    d.setJobId(1);
    d.initIndices(1).set(0, kMaxDevicesPerWorker);
  }));
  bad(rawFromScheduler([](schema::FromScheduler::Builder root) {
    auto r = root.initUsage().initRecords(1)[0];
    r.setJobId(1);
    r.setSubmitTime(-1);
  }));
  bad(rawFromScheduler([](schema::FromScheduler::Builder root) {
    auto r = root.initUsage().initRecords(1)[0];
    r.setJobId(1);
    r.setCost(-0.5);
  }));
  // Minute records: a job id, a minute boundary, a kind without spaces,
  // amounts that are finite and not negative.
  auto badMinute = [&](auto change) {
    bad(rawFromScheduler([&](schema::FromScheduler::Builder root) {
      auto m = root.initUsage().initMinutes(1)[0];
      m.setJobId(1);
      m.setMinuteStart(1699999980);
      m.setKind("cpu");
      change(m);
    }));
  };
  badMinute([](auto m) { m.setJobId(0); });
  badMinute([](auto m) { m.setMinuteStart(1699999981); });
  badMinute([](auto m) { m.setMinuteStart(-60); });
  badMinute([](auto m) { m.setKind("c pu"); });
  badMinute([](auto m) { m.setBusySeconds(std::nan("")); });
  badMinute([](auto m) { m.setLeasedDeviceSeconds(-1); });
  badMinute([](auto m) { m.setCost(1e300); });
  bad(rawFromScheduler([](schema::FromScheduler::Builder root) {
    auto w = root.initStatus().initWorkers(1)[0];
    w.setWorkerId("a");
    w.setDevices(1);
    w.initDeviceList(1)[0].setKind("cpu");  // no uuid
  }));
  bad(rawFromScheduler([](schema::FromScheduler::Builder root) {
    auto w = root.initStatus().initWorkers(1)[0];
    w.setWorkerId("a");
    w.setDevices(1);
    w.setLeased(2);
  }));
}

TEST_CASE("garbage and corrupted frames are errors, never crashes") {
  CHECK_FALSE(decodeToScheduler(nullptr, 0).ok());
  uint8_t junk[24];
  std::memset(junk, 0xff, sizeof junk);
  CHECK_FALSE(decodeToScheduler(junk, sizeof junk).ok());
  CHECK_FALSE(decodeToScheduler(junk, 7).ok());

  // Every single-byte corruption of a valid frame either decodes into a
  // valid message or fails cleanly.
  auto good = encodeToScheduler(registration());
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t v : {uint8_t(0x00), uint8_t(0xff), uint8_t(good[i] ^ 0x40)}) {
      auto bytes = good;
      bytes[i] = v;
      auto r = decodeToScheduler(bytes.data(), bytes.size());
      if (!r.ok()) CHECK(r.error().code == MODNN_ERR_INVALID_VALUE);
    }
  }
  auto truncated = decodeToScheduler(good.data(), good.size() - 8);
  CHECK_FALSE(truncated.ok());
}

TEST_CASE("Curve keys and heartbeat memory: carried when valid, refused otherwise") {
  const std::string key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";  // ZeroMQ's test vector (RFC 32)
  RegisterMsg reg = registration();
  reg.curve_key = key;
  CHECK(toScheduler<RegisterMsg>(reg).curve_key == key);
  CHECK(toScheduler<RegisterMsg>(registration()).curve_key.empty());  // plain tcp

  LeaseEntry l = lease();
  l.devices[1].curve_key = key;
  CHECK(fromScheduler<LeaseMsg>(LeaseMsg{l}).lease.devices == l.devices);

  auto hb = toScheduler<HeartbeatMsg>(HeartbeatMsg{"w", {1, 0, 5ull << 40}, {0.5, 0, 3600}, 7200.5});
  CHECK(hb.uptime_seconds == 7200.5);
  CHECK(hb.memory_used == std::vector<uint64_t>{1, 0, 5ull << 40});
  CHECK(hb.busy_seconds == std::vector<double>{0.5, 0, 3600});
  HeartbeatMsg metered{"w", {}, {}, 1.0, {{7, 1.25}, {9, 0}}};
  CHECK(toScheduler<HeartbeatMsg>(metered).job_busy == metered.job_busy);
  for (double bad : {-1.0, std::nan(""), 1e300}) {
    INFO(bad);
    rejected(rawToScheduler([&](schema::ToScheduler::Builder root) {
      auto h = root.initHeartbeat();
      h.setWorkerId("w");
      auto j = h.initJobBusy(1)[0];
      j.setJobId(7);
      j.setSeconds(bad);
    }));
  }
  rejected(rawToScheduler([&](schema::ToScheduler::Builder root) {  // job 0 does not exist
    auto h = root.initHeartbeat();
    h.setWorkerId("w");
    h.initJobBusy(1)[0].setSeconds(1);
  }));
  for (double bad : {-1.0, std::nan(""), 1e300}) {
    INFO(bad);
    rejected(rawToScheduler([&](schema::ToScheduler::Builder root) {
      auto h = root.initHeartbeat();
      h.setWorkerId("w");
      h.initBusySeconds(1).set(0, bad);
    }));
  }

  for (std::string bad : {std::string(39, '0'), std::string(41, '0'), std::string(40, ' '), std::string(40, '"'),
                          std::string(40, '#')}) {  // '#'*5 is 85^5-1 > 2^32: does not decode
    INFO(bad);
    rejected(rawToScheduler([&](schema::ToScheduler::Builder root) {
      auto r = root.initRegister();
      r.setWorkerId("w");
      r.initEndpoints(1).set(0, "tcp://w:1");
      auto devices = r.initDevices(1);
      propsToWire(registration().devices[0], devices[0]);
      r.setCurveKey(bad);
    }));
  }
  rejected(rawToScheduler([&](schema::ToScheduler::Builder root) {
    auto h = root.initHeartbeat();
    h.setWorkerId("w");
    h.initMemoryUsed(kMaxDevicesPerWorker + 1);
  }));
}
