// Shared by the scheduler's unit tests: a fake clock, registrations,
// requests, and readers of the messages an Inventory call returns.
#pragma once
#include <catch2/catch.hpp>

#include <set>

#include "scheduler/inventory.h"

using moai::sched::Clock;
using moai::sched::Effects;
using moai::sched::Inventory;
using moai::sched::InventoryConfig;
using moai::schema::Placement;
using namespace std::chrono_literals;

namespace {

struct FakeWall {
  double now = 1.7e9;
  std::function<double()> fn() {
    return [this] { return now; };
  }
};

struct FakeClock {
  Clock::time_point now{};
  std::function<Clock::time_point()> fn() {
    return [this] { return now; };
  }
};

moai::wire::RegisterMsg worker(const std::string& id, int devices, const char* kind = "cpu") {
  moai::wire::RegisterMsg m{id, {"tcp://" + id + ":7000"}, {}};
  for (int i = 0; i < devices; ++i) {
    modnn_device_props p{};
    p.struct_size = sizeof p;
    std::snprintf(p.kind, sizeof p.kind, "%s", kind);
    std::snprintf(p.name, sizeof p.name, "test device %d", i);
    p.uuid[0] = uint8_t(i + 1);
    p.total_memory = 1ull << 30;
    p.multiprocessor_count = 2;  // valid on the wire too (the state store decodes it)
    p.max_threads_per_block = 1024;
    m.devices.push_back(p);
  }
  return m;
}

moai::wire::LeaseRequestMsg want(uint32_t devices, std::string kind = "", Placement placement = Placement::UNSET) {
  return {devices, std::move(kind), "alice", placement};
}

moai::wire::LeaseRequestMsg job(uint32_t devices, int32_t priority = 0, uint32_t limit_s = 0, std::string kind = "") {
  moai::wire::LeaseRequestMsg m{devices, std::move(kind), "alice", Placement::UNSET};
  m.priority = priority;
  m.time_limit_s = limit_s;
  return m;
}

// The messages of type T in `e`, with their routes.
template <class T>
std::vector<std::pair<std::string, T>> sent(const Effects& e) {
  std::vector<std::pair<std::string, T>> out;
  for (auto& m : e.messages)
    if (auto* v = std::get_if<T>(&m.message)) out.push_back({m.route, *v});
  return out;
}

template <class T>
std::vector<std::string> routesOf(const Effects& e) {
  std::vector<std::string> out;
  for (auto& [route, m] : sent<T>(e)) out.push_back(route);
  return out;
}

// The lease granted to the client in `e` (exactly one).
moai::wire::LeaseEntry granted(moai::Result<Effects> e) {
  REQUIRE(e.ok());
  auto leases = sent<moai::wire::LeaseMsg>(*e);
  REQUIRE(leases.size() == 1);
  return leases[0].second.lease;
}

uint64_t queued(moai::Result<Effects> e) {
  REQUIRE(e.ok());
  auto q = sent<moai::wire::QueuedMsg>(*e);
  REQUIRE(q.size() == 1);
  CHECK(sent<moai::wire::LeaseMsg>(*e).empty());
  return q[0].second.job_id;
}

std::vector<uint64_t> revoked(const Effects& e) {
  std::set<uint64_t> out;
  for (auto& [route, m] : sent<moai::wire::RevokeMsg>(e)) out.insert(m.job_id);
  return {out.begin(), out.end()};
}

std::vector<uint64_t> started(const Effects& e) {
  std::vector<uint64_t> out;
  for (auto& [route, m] : sent<moai::wire::LeaseMsg>(e)) out.push_back(m.lease.job_id);
  return out;
}

std::multiset<std::string> workersOf(const moai::wire::LeaseEntry& lease) {
  std::multiset<std::string> out;
  for (auto& d : lease.devices) out.insert(d.worker_id);
  return out;
}

}  // namespace

