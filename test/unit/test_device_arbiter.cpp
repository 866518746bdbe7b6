// DeviceArbiter: weighted shares of a contended device, a light job's wait
// behind a busy one, and no credit for idleness. Commands are sleeps, so the
// test measures the arbiter, not this machine's two cores.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "modnn/worker/device_arbiter.h"

using moai::worker::DeviceArbiter;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// Runs `command`-long commands for `job` until `stop`; returns device time used.
std::chrono::nanoseconds runJob(DeviceArbiter& arbiter, uint64_t job, uint32_t weight, Clock::duration command,
                                const std::atomic<bool>& stop) {
  std::chrono::nanoseconds used{0};
  while (!stop) {
    arbiter.enter(job, weight);
    auto t0 = Clock::now();
    std::this_thread::sleep_for(command);
    auto took = Clock::now() - t0;
    arbiter.leave(job, uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()), !stop);
    used += took;
  }
  return used;
}

}  // namespace

TEST_CASE("contending jobs get device time in proportion to their weights") {
  DeviceArbiter arbiter;
  std::atomic<bool> stop{false};
  std::chrono::nanoseconds a{}, b{};
  std::thread ta([&] { a = runJob(arbiter, 1, 1, 2ms, stop); });
  std::thread tb([&] { b = runJob(arbiter, 2, 3, 2ms, stop); });
  std::this_thread::sleep_for(900ms);
  stop = true;
  ta.join();
  tb.join();
  double ratio = double(b.count()) / double(a.count());
  INFO("weight 3 got " << b.count() / 1e6 << " ms, weight 1 got " << a.count() / 1e6 << " ms");
  CHECK(ratio > 2.2);
  CHECK(ratio < 3.8);
}

TEST_CASE("a light job waits at most for the busy job's running command") {
  DeviceArbiter arbiter;
  std::atomic<bool> stop{false};
  std::thread busy([&] { runJob(arbiter, 1, 1, 20ms, stop); });
  std::this_thread::sleep_for(50ms);  // the busy job has built up virtual time
  Clock::duration worst{};
  for (int i = 0; i < 15; ++i) {
    auto asked = Clock::now();
    arbiter.enter(2, 1);
    worst = std::max(worst, Clock::now() - asked);
    std::this_thread::sleep_for(1ms);
    arbiter.leave(2, 1'000'000);
    std::this_thread::sleep_for(5ms);
  }
  stop = true;
  busy.join();
  double worst_ms = std::chrono::duration<double, std::milli>(worst).count();
  INFO("worst wait " << worst_ms << " ms");
  CHECK(worst < 35ms);  // one 20 ms command, plus scheduling noise
}

TEST_CASE("a job that was idle gets no credit to starve a busy one") {
  DeviceArbiter arbiter;
  std::atomic<bool> stop{false};
  std::chrono::nanoseconds first{};
  std::thread early([&] { first = runJob(arbiter, 1, 1, 2ms, stop); });
  std::this_thread::sleep_for(300ms);  // job 1 alone: 300 ms of virtual time
  std::atomic<bool> stop_late{false};
  std::chrono::nanoseconds late{};
  auto t0 = Clock::now();
  std::thread t2([&] { late = runJob(arbiter, 2, 1, 2ms, stop_late); });
  std::this_thread::sleep_for(300ms);
  stop_late = true;
  t2.join();
  auto window = Clock::now() - t0;
  stop = true;
  early.join();
  // Job 2 joined at the device's virtual time: it shares the window about
  // equally instead of running alone for the 300 ms job 1 had used.
  double share = double(late.count()) / double(std::chrono::duration_cast<std::chrono::nanoseconds>(window).count());
  INFO("the late job's share of the window: " << share);
  CHECK(share > 0.35);
  CHECK(share < 0.65);
}

TEST_CASE("a job that keeps its turn still yields to one with less virtual time") {
  DeviceArbiter arbiter;
  arbiter.enter(1, 1);
  arbiter.leave(1, 10'000'000, true);  // kept: nobody waits
  std::atomic<bool> ran{false};
  std::thread t([&] {
    arbiter.enter(2, 1);  // joins at virtual time 0... raised to the device's clock (0)
    ran = true;
    arbiter.leave(2, 0);
  });
  std::this_thread::sleep_for(20ms);
  CHECK_FALSE(ran);                   // job 1 holds the device it kept
  arbiter.enter(1, 1);                // its next command
  arbiter.leave(1, 10'000'000, true); // job 2 waits with less virtual time: the turn passes
  t.join();
  CHECK(ran);
}

TEST_CASE("forgetting a job that waits for its turn ends the wait") {
  DeviceArbiter arbiter;
  arbiter.enter(1, 1);  // job 1 holds the device
  std::atomic<int> got{-1};
  std::thread t([&] { got = arbiter.enter(2, 1) ? 1 : 0; });
  std::this_thread::sleep_for(20ms);
  CHECK(got == -1);
  arbiter.forget(2);  // job 2 ended while it waited
  t.join();
  CHECK(got == 0);
  arbiter.leave(1, 0);
  CHECK(arbiter.enter(3, 1));  // the device is not left held
}

TEST_CASE("forget lets the others run when a job leaves mid-wait") {
  DeviceArbiter arbiter;
  arbiter.enter(1, 1);
  std::atomic<bool> ran{false};
  std::thread t([&] {
    arbiter.enter(2, 1);
    ran = true;
    arbiter.leave(2, 0);
  });
  std::this_thread::sleep_for(20ms);
  CHECK_FALSE(ran);
  arbiter.forget(1);  // job 1 ended while it held the device
  t.join();
  CHECK(ran);
  CHECK(arbiter.virtualTime(1) == 0);
}
