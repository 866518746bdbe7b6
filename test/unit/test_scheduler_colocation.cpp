#include <catch2/catch.hpp>

#include <cmath>

#include "scheduler/colocation.h"

using namespace moai::sched::coloc;

namespace {

Node node(std::vector<uint32_t> gpuFree, uint32_t cpuFree = 64000, uint64_t memFree = 1 << 20,
          std::string model = "T4") {
  return Node{cpuFree, cpuFree, memFree, std::move(gpuFree), std::move(model)};
}

Task share(uint32_t milli, uint32_t cpu = 1000) { return Task{cpu, 0, milli, 1, {}}; }
Task whole(uint32_t count, uint32_t cpu = 1000) { return Task{cpu, 0, kWholeGpu, count, {}}; }
Task cpuOnly(uint32_t cpu) { return Task{cpu, 0, 0, 0, {}}; }

constexpr uint64_t GiB = 1ull << 30;

}  // namespace

TEST_CASE("fragmentation counts the free GPU share each class cannot use") {
  Node n = node({1000, 300}, 8000);
  // A 0.5 share fits on GPU 0; GPU 1's 300 is too small for it.
  CHECK(fragmentation(n, {{share(500), 1.0}}) == 300);
  // A whole GPU fits on GPU 0; again GPU 1 is lost to it.
  CHECK(fragmentation(n, {{whole(1), 1.0}}) == 300);
  // A 0.3 share fits on both: nothing lost.
  CHECK(fragmentation(n, {{share(300), 1.0}}) == 0);
  // Classes that cannot run at all lose all 1300: CPU-only, too much CPU,
  // two whole GPUs (only one idle), a model the node lacks.
  CHECK(fragmentation(n, {{cpuOnly(1000), 1.0}}) == 1300);
  CHECK(fragmentation(n, {{share(100, 9000), 1.0}}) == 1300);
  CHECK(fragmentation(n, {{whole(2), 1.0}}) == 1300);
  Task v100 = share(100);
  v100.models = {"V100M16", "V100M32"};
  CHECK(fragmentation(n, {{v100, 1.0}}) == 1300);
  // Weighted: 0.5 * 300 + 0.25 * 300 + 0.25 * 1300.
  CHECK(fragmentation(n, {{share(500), 0.5}, {whole(1), 0.25}, {cpuOnly(1000), 0.25}}) == Approx(550));
  // A node with no free GPU share has nothing to fragment.
  CHECK(fragmentation(node({0, 0}), {{share(500), 1.0}}) == 0);
}

TEST_CASE("workloadFromTasks keeps the commonest shapes up to the coverage") {
  std::vector<Task> tasks(6, share(500));
  tasks.insert(tasks.end(), 3, whole(1));
  tasks.push_back(cpuOnly(4000));
  Workload all = workloadFromTasks(tasks, 1.0);
  REQUIRE(all.size() == 3);
  CHECK(all[0].shape.gpuMilli == 500);
  CHECK(all[0].weight == Approx(0.6));
  CHECK(all[1].shape.gpuMilli == kWholeGpu);
  CHECK(all[1].weight == Approx(0.3));
  CHECK(all[2].weight == Approx(0.1));
  // 90% coverage drops the rare CPU-only shape and renormalises.
  Workload most = workloadFromTasks(tasks, 0.9);
  REQUIRE(most.size() == 2);
  CHECK(most[0].weight == Approx(6.0 / 9));
  CHECK(most[1].weight == Approx(3.0 / 9));
  // Memory is part of a shape.
  Task big = share(500);
  big.memoryMib = 4096;
  std::vector<Task> two{share(500), big};
  CHECK(workloadFromTasks(two, 1.0).size() == 2);
}

TEST_CASE("FGD keeps a GPU usable where best fit fills it") {
  // Node 0 has 300 free on its GPU, node 1 an idle GPU. The workload is 0.3
  // shares. A 0.2 share on node 0 would leave 100 that no 0.3 share can use
  // (fragmentation +100); on node 1 it leaves 800 (+0).
  std::vector<Node> nodes{node({300}), node({1000})};
  Workload w{{share(300), 1.0}};
  auto fgd = choose(nodes, share(200), Policy::Fgd, w);
  REQUIRE(fgd);
  CHECK(fgd->node == 1);
  CHECK(fgd->gpus == std::vector<uint32_t>{0});
  CHECK(fgd->milliPerGpu == 200);
  auto best = choose(nodes, share(200), Policy::BestFit, w);
  REQUIRE(best);
  CHECK(best->node == 0);
  auto first = choose(nodes, share(200), Policy::FirstFit, w);
  REQUIRE(first);
  CHECK(first->node == 0);
}

TEST_CASE("FGD picks the GPU on a node where fragmentation grows least") {
  // GPUs {1000, 500}; half the workload wants whole GPUs, half 0.5 shares.
  // A 0.5 share on GPU 1 completes it ({1000, 0}: nothing lost, -250);
  // on GPU 0 no idle GPU would remain for whole-GPU tasks (+250).
  std::vector<Node> nodes{node({1000, 500})};
  Workload w{{whole(1), 0.5}, {share(500), 0.5}};
  auto c = choose(nodes, share(500), Policy::Fgd, w);
  REQUIRE(c);
  CHECK(c->gpus == std::vector<uint32_t>{1});
}

TEST_CASE("Ties go to the lower node index, then the lower GPU index") {
  std::vector<Node> nodes{node({1000, 1000}), node({1000, 1000})};
  Workload w{{share(500), 1.0}};
  for (Policy p : {Policy::Fgd, Policy::BestFit, Policy::FirstFit, Policy::Exclusive}) {
    auto c = choose(nodes, share(500), p, w);
    REQUIRE(c);
    CHECK(c->node == 0);
    CHECK(c->gpus == std::vector<uint32_t>{0});
  }
}

TEST_CASE("Best fit takes the tightest node and GPU, first fit the first that fits") {
  // Node 1 is fuller (less CPU and GPU free), so best fit takes it; on it
  // the tightest GPU that holds 0.4 is GPU 2 (free 400).
  std::vector<Node> nodes{node({1000, 1000}, 64000), node({1000, 600, 400}, 8000)};
  auto best = choose(nodes, share(400), Policy::BestFit, {});
  REQUIRE(best);
  CHECK(best->node == 1);
  CHECK(best->gpus == std::vector<uint32_t>{2});
  auto first = choose(nodes, share(400), Policy::FirstFit, {});
  REQUIRE(first);
  CHECK(first->node == 0);
  CHECK(first->gpus == std::vector<uint32_t>{0});
}

TEST_CASE("Exclusive gives a share a whole idle GPU") {
  std::vector<Node> nodes{node({900}), node({1000, 1000})};
  auto c = choose(nodes, share(100), Policy::Exclusive, {});
  REQUIRE(c);
  CHECK(c->node == 1);
  CHECK(c->milliPerGpu == kWholeGpu);
  // The sharing policies use the partly used GPU instead.
  CHECK(choose(nodes, share(100), Policy::BestFit, {})->node == 0);
  // With no idle GPU left, exclusive cannot place it at all.
  std::vector<Node> busy{node({900, 500})};
  CHECK_FALSE(choose(busy, share(100), Policy::Exclusive, {}));
  CHECK(choose(busy, share(100), Policy::Fgd, {{share(100), 1.0}}));
}

TEST_CASE("Whole-GPU tasks, CPU, memory and model constraints") {
  std::vector<Node> nodes{node({1000, 500, 1000}), node({1000, 1000, 1000, 1000}, 2000), node({1000}, 64000, 10)};
  for (Policy p : {Policy::Fgd, Policy::BestFit, Policy::FirstFit, Policy::Exclusive}) {
    INFO(policyName(p));
    // Two whole GPUs and 3 cores: only node 0 (idle GPUs 0 and 2).
    auto two = choose(nodes, whole(2, 3000), p, {{whole(1), 1.0}});
    REQUIRE(two);
    CHECK(two->node == 0);
    CHECK(two->gpus == std::vector<uint32_t>{0, 2});
    // Four need node 1, but it has too little CPU for 4000.
    CHECK_FALSE(choose(nodes, whole(4, 4000), p, {{whole(1), 1.0}}));
    CHECK(choose(nodes, whole(4, 2000), p, {{whole(1), 1.0}})->node == 1);
    // Memory: only nodes 0 and 1 have 100 MiB.
    Task mem = whole(1);
    mem.memoryMib = 100;
    auto m = choose(nodes, mem, p, {{whole(1), 1.0}});
    REQUIRE(m);
    CHECK(m->node != 2);
    // A model nobody has.
    Task a100 = whole(1);
    a100.models = {"A100"};
    CHECK_FALSE(choose(nodes, a100, p, {{whole(1), 1.0}}));
  }
}

TEST_CASE("place and release are inverses") {
  Node n = node({1000, 700}, 8000, 4096);
  const Node before = n;
  Task t = share(300, 2000);
  t.memoryMib = 1024;
  auto c = choose(std::span<const Node>(&n, 1), t, Policy::Fgd, {{share(300), 1.0}});
  REQUIRE(c);
  place(n, t, *c);
  CHECK(n.cpuFreeMilli == 6000);
  CHECK(n.memoryFreeMib == 3072);
  CHECK(n.gpuFreeMilli[0] + n.gpuFreeMilli[1] == 1400);
  release(n, t, *c);
  CHECK(n.gpuFreeMilli == before.gpuFreeMilli);
  CHECK(n.cpuFreeMilli == before.cpuFreeMilli);
  CHECK(n.memoryFreeMib == before.memoryFreeMib);
}

TEST_CASE("Policy names round-trip") {
  for (Policy p : {Policy::Fgd, Policy::BestFit, Policy::FirstFit, Policy::Exclusive})
    CHECK(policyFromName(policyName(p)) == p);
  CHECK_FALSE(policyFromName("worst-fit"));
}

TEST_CASE("memoryReservation adds headroom and rounds up") {
  CHECK(memoryReservation(1000 << 20, 0.1) == 1100u << 20);
  CHECK(memoryReservation((1 << 20) + 1, 0.0) == 2u << 20);
  CHECK(memoryReservation(12345, 0.0, 0) == 12345);
  CHECK(memoryReservation(1 << 20, -1.0) == 1u << 20);  // no negative headroom
  CHECK(memoryReservation(~0ull, 0.5) == ~0ull);          // too large: fits nowhere
  CHECK(memoryReservation(1 << 20, std::nan("")) == 1u << 20);  // NaN headroom: none
}

TEST_CASE("memoryFragmentation: the free fraction a job class cannot use") {
  MemoryDevice d{16 * GiB, 10 * GiB, true};  // 6 GiB free = 0.375 of the device
  std::vector<MemoryClass> w{{4 * GiB, 0.5}, {8 * GiB, 0.5}};
  CHECK(memoryFragmentation(d, w) == Approx(0.5 * 0.375));
  CHECK(memoryFragmentation({16 * GiB, 0, true}, w) == 0);
  CHECK(memoryFragmentation({16 * GiB, 16 * GiB, true}, w) == 0);
  CHECK(memoryFragmentation({16 * GiB, 10 * GiB, false}, w) == 0);
}

TEST_CASE("chooseMemoryDevice colocates where fragmentation grows least") {
  // A: 6 GiB free, B: 12 GiB free, C: unused. A 4 GiB job on A would leave
  // 2 GiB no 4 GiB job can use; on B it leaves 8 GiB, room for two more.
  std::vector<MemoryDevice> devices{{16 * GiB, 10 * GiB, true}, {16 * GiB, 4 * GiB, true}, {16 * GiB, 0, true}};
  CHECK(chooseMemoryDevice(devices, 4 * GiB, {}) == 1u);
  // With 6 GiB jobs, neither A (filled exactly) nor B (6 GiB left, room for
  // one more) loses anything: a tie, and A comes first.
  std::vector<MemoryClass> sixes{{6 * GiB, 1.0}};
  CHECK(chooseMemoryDevice(devices, 6 * GiB, sixes) == 0u);
  // Too big for any used device: the unused one, whole.
  CHECK(chooseMemoryDevice(devices, 14 * GiB, {}) == 2u);
  // Too big for all.
  CHECK_FALSE(chooseMemoryDevice(devices, 20 * GiB, {}));
  // A device held by an exclusive lease is never shared.
  devices[1].shareable = false;
  CHECK(chooseMemoryDevice(devices, 4 * GiB, {}) == 0u);
}
