// The search on small cases whose right answer is obvious.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "planner/plan_cache.h"
#include "planner/search.h"
#include "planner/transformer.h"
#include "planner_test_cluster.h"

using namespace moai::planner;

namespace {

// D = A B with fresh tensors at (alloc_base + i).
Graph gemmGraph(int64_t m, int64_t n, int64_t k, uint64_t alloc_base = 100) {
  Graph g;
  int a = g.tensorAt(alloc_base, 0, MODNN_F32, {m, k});
  int b = g.tensorAt(alloc_base + 1, 0, MODNN_F32, {k, n});
  int d = g.tensorAt(alloc_base + 2, 0, MODNN_F32, {m, n});
  Op op;
  op.kind = OpKind::Gemm;
  op.gemm = {m, n, k, 1, false, false};
  op.reads = {a, b};
  op.writes = {d};
  g.addOp(op);
  return g;
}

}  // namespace

TEST_CASE("a big GEMM on 2 devices splits M or N", "[planner]") {
  Graph g = gemmGraph(8192, 8192, 8192);
  CostModel m(test::roundCluster(2, 2), 2);
  Plan p = planGraph(g, m);
  REQUIRE(p.ops.size() == 1);
  INFO(p.ops[0].strategy);
  CHECK((p.ops[0].strategy == "split M" || p.ops[0].strategy == "split N"));
  CHECK(p.ops[0].ways == 2);
  CHECK(p.step_seconds < 0.6 * p.single_device_seconds);
  CHECK(p.fits);
}

TEST_CASE("a tiny GEMM stays whole: communication would dominate", "[planner]") {
  // Followed by a reader that needs the whole result (an opaque kernel), so a
  // split would have to gather it back.
  Graph g = gemmGraph(16, 16, 16);
  Op use;
  use.kind = OpKind::Opaque;
  use.reads = {2};
  use.writes = {g.addTensor(MODNN_F32, {16, 16})};
  g.addOp(use);
  CostModel m(test::roundCluster(2, 2), 2);
  Plan p = planGraph(g, m);
  CHECK(p.ops[0].strategy == "whole");
  CHECK(p.transfers.empty());
}

TEST_CASE("a GEMM chain keeps its split without reshards", "[planner]") {
  // x -> W1 -> W2: splitting M (rows of the activations) twice needs nothing between.
  Graph g;
  int x = g.addTensor(MODNN_F32, {4096, 4096});
  int w1 = g.addTensor(MODNN_F32, {4096, 4096});
  int h = g.addTensor(MODNN_F32, {4096, 4096});
  int w2 = g.addTensor(MODNN_F32, {4096, 4096});
  int y = g.addTensor(MODNN_F32, {4096, 4096});
  Op a;
  a.kind = OpKind::Gemm;
  a.gemm = {4096, 4096, 4096, 1, false, false};
  a.reads = {x, w1}, a.writes = {h};
  Op b = a;
  b.reads = {h, w2}, b.writes = {y};
  g.addOp(a), g.addOp(b);
  CostModel m(test::roundCluster(4, 4), 4);
  Plan p = planGraph(g, m);
  CHECK(p.ops[0].ways == 4);
  CHECK(p.ops[1].ways == 4);
  for (const Transfer& t : p.transfers) CHECK(t.tensor != h);  // h never moves
}

TEST_CASE("memory pressure splits what would fit unsplit only on a bigger device", "[planner]") {
  // x (400 MB) -> element-wise -> y -> opaque kernel -> z. Whole on device 0
  // is fastest (no gather of y) but holds x, y and z there: 1.2 GB.
  Graph g;
  int x = g.addTensor(MODNN_F32, {100'000, 1000});
  int y = g.addTensor(MODNN_F32, {100'000, 1000});
  int z = g.addTensor(MODNN_F32, {100'000, 1000});
  Op ew;
  ew.kind = OpKind::Elementwise;
  ew.flops = 1e8;
  ew.reads = {x}, ew.writes = {y};
  Op use;
  use.kind = OpKind::Opaque;
  use.reads = {y}, use.writes = {z};
  g.addOp(ew), g.addOp(use);
  Plan roomy = planGraph(g, CostModel(test::roundCluster(2, 2, 1e12), 2));
  CHECK(roomy.ops[0].strategy == "whole");
  Plan tight = planGraph(g, CostModel(test::roundCluster(2, 2, 1.1e9), 2));
  CHECK(tight.fits);
  CHECK(tight.offloaded.empty());
  CHECK(tight.ops[0].strategy == "split dim 0");
  CHECK(tight.peak_bytes_per_device <= 1.1e9);
  CHECK(tight.step_seconds > roomy.step_seconds);
}

TEST_CASE("a working set over memory is offloaded to host", "[planner]") {
  Graph g = gemmGraph(4096, 4096, 4096);  // 3 x 64 MiB
  CostModel m(test::roundCluster(2, 2, 40e6), 2);
  Plan p = planGraph(g, m);
  CHECK_FALSE(p.offloaded.empty());
  CHECK(p.fits);
  CHECK(p.offload_seconds > 0);
  bool streamed = false;
  for (const Transfer& t : p.transfers) streamed = streamed || t.collective == "host->device";
  CHECK(streamed);
  SearchOptions no_offload;
  no_offload.allow_offload = false;
  CHECK_FALSE(planGraph(g, m, no_offload).fits);
}

TEST_CASE("the plan cache hits on the same structure at other addresses", "[planner]") {
  Graph a = gemmGraph(1024, 1024, 1024, 100);
  Graph b = gemmGraph(1024, 1024, 1024, 900);  // other allocations
  Graph c = gemmGraph(1024, 1024, 2048, 100);  // other shape
  CHECK(graphHash(a) == graphHash(b));
  CHECK(graphHash(a) != graphHash(c));
  CostModel m(test::roundCluster(2, 2), 2);
  PlanCache cache;
  bool hit = true;
  cache.plan(a, m, {}, &hit);
  CHECK_FALSE(hit);
  cache.plan(b, m, {}, &hit);
  CHECK(hit);
  cache.plan(c, m, {}, &hit);
  CHECK_FALSE(hit);
  CostModel four(test::roundCluster(4, 4), 4);  // same graph, other devices
  cache.plan(a, four, {}, &hit);
  CHECK_FALSE(hit);
  CHECK(cache.hits() == 1);
  CHECK(cache.size() == 3);
}

TEST_CASE("a region seen flat by a kernel then as a GEMM operand is one tensor", "[planner]") {
  Graph g;
  int flat = g.tensorAt(7, 0, MODNN_F32, {64 * 32});
  int mat = g.tensorAt(7, 0, MODNN_F32, {64, 32});
  CHECK(flat == mat);
  CHECK(g.tensors[flat].shape == std::vector<int64_t>{64, 32});
  CHECK(g.tensorAt(7, 4096, MODNN_F32, {16}) != flat);
}

TEST_CASE("planning a transformer step of over 1000 ops takes well under seconds", "[planner]") {
  GptConfig c;
  REQUIRE(gptPreset("gpt-small", &c));
  c.layers = 20;  // about 1300 ops with backward, recomputation and Adam
  c.global_batch = c.micro_batch;
  Graph g = gptTrainingStep(c);
  REQUIRE(g.validate().empty());
  REQUIRE(g.ops.size() >= 1000);
  Cluster cl = test::roundCluster(8, 8, 64e9);
  CostModel m(cl, 8);
  auto t0 = std::chrono::steady_clock::now();
  Plan p = planGraph(g, m);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("planned %zu ops on 8 devices in %.3f s (predicted %.3f s vs %.3f s on one device)\n", g.ops.size(),
              secs, p.step_seconds, p.single_device_seconds);
  CHECK(secs < 5.0);
  CHECK(p.fits);
  CHECK(p.step_seconds < p.single_device_seconds);
  PlanCache cache;
  cache.insert(PlanCache::key(g, m), p);
  t0 = std::chrono::steady_clock::now();
  const Plan* cached = cache.find(PlanCache::key(g, m));
  double lookup = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("cached plan lookup (hash included): %.1f us\n", lookup * 1e6);
  CHECK(cached);
  CHECK(lookup < secs);
  std::ostringstream out;
  printPlan(p, g, out, 20);
  int lines = 0;
  for (char ch : out.str()) lines += ch == '\n';
  CHECK(lines <= 40);  // one screen
}

TEST_CASE("a plan serialises to JSON with every op and transfer", "[planner]") {
  Graph g = gemmGraph(4096, 4096, 4096);
  Op use;
  use.kind = OpKind::Opaque;
  use.reads = {2};
  use.writes = {g.addTensor(MODNN_F32, {16})};
  g.addOp(use);
  CostModel m(test::roundCluster(2, 2), 2);
  Plan p = planGraph(g, m);
  REQUIRE_FALSE(p.transfers.empty());  // the split result is gathered for the opaque kernel
  nlohmann::json j = nlohmann::json::parse(planToJson(p, g));
  CHECK(j["devices"] == 2);
  REQUIRE(j["ops"].size() == 2);
  CHECK(j["ops"][0]["strategy"] == p.ops[0].strategy);
  CHECK(j["ops"][1]["strategy"] == "whole");
  REQUIRE(j["transfers"].size() == p.transfers.size());
  CHECK(j["transfers"][0]["before_op"] == 1);
  CHECK(j["predicted"]["step_s"].get<double>() == Approx(p.step_seconds));
}
