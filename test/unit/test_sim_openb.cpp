// moai-sim's trace reader and its two ways of driving the placement, on
// small hand-written traces (the real one is exercised by the 'sim' test).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tools/sim/openb_trace.h"
#include "tools/sim/simulation.h"

using namespace moai::sim;
using moai::sched::coloc::Policy;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/moai-sim-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

}  // namespace

TEST_CASE("readOpenbNodes and readOpenbTasks parse the trace's columns") {
  TempDir dir;
  std::string error;
  auto nodes = readOpenbNodes(dir.write("n.csv",
                                        "sn,cpu_milli,memory_mib,gpu,model\n"
                                        "a,64000,262144,2,P100\n"
                                        "b,96000,393216,8,G2\r\n"),
                              error);
  REQUIRE(nodes);
  REQUIRE(nodes->size() == 2);
  CHECK((*nodes)[1].cpuFreeMilli == 96000);
  CHECK((*nodes)[1].memoryFreeMib == 393216);
  CHECK((*nodes)[1].gpuFreeMilli == std::vector<uint32_t>(8, 1000));
  CHECK((*nodes)[1].model == "G2");
  CHECK(gpuCapacityMilli(*nodes) == 10000);

  // Columns in another order, a model list, CPU-only and multi-GPU rows.
  auto tasks = readOpenbTasks(dir.write("p.csv",
                                        "name,gpu_milli,num_gpu,cpu_milli,memory_mib,gpu_spec,creation_time,deletion_time\n"
                                        "t0,460,1,6000,12288,,10,20\n"
                                        "t1,0,0,8000,4096,,0,5\n"
                                        "t2,1000,8,88000,327680,V100M16|V100M32,3,4\n"),
                              error);
  REQUIRE(tasks);
  REQUIRE(tasks->size() == 3);
  CHECK((*tasks)[0].task.gpuMilli == 460);
  CHECK((*tasks)[0].task.gpuCount == 1);
  CHECK((*tasks)[0].creation == 10);
  CHECK((*tasks)[0].deletion == 20);
  CHECK((*tasks)[1].task.gpuCount == 0);
  CHECK((*tasks)[2].task.models == std::vector<std::string>{"V100M16", "V100M32"});
  CHECK(gpuRequestMilli((*tasks)[2].task) == 8000);

  // The multigpu50 file has no times and no gpu_spec.
  auto bare = readOpenbTasks(dir.write("q.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\nx,1,2,1,500\n"), error);
  REQUIRE(bare);
  CHECK((*bare)[0].creation == 0);
}

TEST_CASE("Trace readers reject bad files with the line") {
  TempDir dir;
  std::string error;
  CHECK_FALSE(readOpenbNodes((dir.path / "missing.csv").string(), error));
  CHECK_FALSE(readOpenbNodes(dir.write("n.csv", "sn,cpu_milli\na,1\n"), error));
  CHECK(error.find("needs columns") != std::string::npos);
  CHECK_FALSE(readOpenbNodes(dir.write("n2.csv", "sn,cpu_milli,memory_mib,gpu,model\na,x,1,1,T4\n"), error));
  CHECK(error.find("n2.csv:2") != std::string::npos);
  // A share above one GPU, and a multi-GPU row asking for shares.
  const std::string head = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n";
  CHECK_FALSE(readOpenbTasks(dir.write("p.csv", head + "t,1,1,1,1500\n"), error));
  CHECK_FALSE(readOpenbTasks(dir.write("p2.csv", head + "t,1,1,2,500\n"), error));
  CHECK_FALSE(readOpenbTasks(dir.write("p3.csv", head + "t,1,1\n"), error));
}

TEST_CASE("inflatedArrivals: every trace task, draws up to the ratio, seeded") {
  std::vector<TraceTask> tasks(4);
  for (auto& t : tasks) t.task = {1000, 0, 500, 1, {}};
  // 4 tasks of 0.5 GPU on a 10-GPU cluster: 2 GPUs asked; ratio 1 adds 16.
  auto a = inflatedArrivals(tasks, 10000, 1.0, 7);
  CHECK(a.size() == 20);
  std::vector<int> seen(4);
  for (uint32_t i : a) ++seen.at(i);
  for (int s : seen) CHECK(s >= 1);
  CHECK(inflatedArrivals(tasks, 10000, 1.0, 7) == a);
  CHECK(inflatedArrivals(tasks, 10000, 1.0, 8) != a);
  // A ratio below what the trace asks keeps the trace as it is.
  CHECK(inflatedArrivals(tasks, 10000, 0.1, 7).size() == 4);
  // So does a trace of CPU-only tasks.
  for (auto& t : tasks) t.task = {1000, 0, 0, 0, {}};
  CHECK(inflatedArrivals(tasks, 10000, 1.0, 7).size() == 4);
}

TEST_CASE("runArrivals records the first failure and the allocation curve") {
  // One node, two GPUs: 0.6 + 0.6 fit (one per GPU), the third 0.6 fails.
  std::vector<moai::sched::coloc::Node> nodes{{8000, 8000, 1000, {1000, 1000}, "T4"}};
  std::vector<TraceTask> tasks(1);
  tasks[0].task = {1000, 0, 600, 1, {}};
  std::vector<uint32_t> order{0, 0, 0};
  for (Policy p : {Policy::Fgd, Policy::BestFit, Policy::FirstFit}) {
    RunResult r = runArrivals(nodes, tasks, order, p, {{tasks[0].task, 1.0}});
    CHECK(r.arrived == 3);
    CHECK(r.placed == 2);
    REQUIRE(r.firstFailure);
    CHECK(r.firstFailure->arrivals == 3);
    CHECK(r.firstFailure->arrivedPercent == Approx(90));
    CHECK(r.firstFailure->allocatedMilli == 1200);
    CHECK(r.allocatedMilli == 1200);
    // Arrivals reached 90% of capacity: points 0..90, the last at 1200.
    REQUIRE(r.allocatedAtPercent.size() == 91);
    CHECK(r.allocatedAtPercent[30] == 600);
    CHECK(r.allocatedAtPercent.back() == 1200);
  }
  // Exclusive: the same, but each share holds a whole GPU; what counts as
  // allocated is still what the tasks asked for.
  RunResult ex = runArrivals(nodes, tasks, order, Policy::Exclusive, {});
  CHECK(ex.placed == 2);
  CHECK(ex.allocatedMilli == 1200);
}

TEST_CASE("runReplay frees GPUs when tasks end") {
  std::vector<moai::sched::coloc::Node> nodes{{8000, 8000, 1000, {1000}, "T4"}};
  std::vector<TraceTask> tasks(3);
  for (auto& t : tasks) t.task = {1000, 0, 1000, 1, {}};
  tasks[0].creation = 0, tasks[0].deletion = 10;
  tasks[1].creation = 5, tasks[1].deletion = 20;   // GPU busy: fails
  tasks[2].creation = 10, tasks[2].deletion = 30;  // task 0 left at 10: fits
  RunResult r = runReplay(nodes, tasks, Policy::BestFit, {});
  CHECK(r.arrived == 3);
  CHECK(r.placed == 2);
  REQUIRE(r.firstFailure);
  CHECK(r.firstFailure->arrivals == 2);
  CHECK(r.peakAllocatedMilli == 1000);
  CHECK(r.allocatedMilli == 0);
}
