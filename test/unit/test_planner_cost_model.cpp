// Cost formulas against numbers worked out by hand.
#include <catch2/catch.hpp>

#include "planner/cost_model.h"
#include "planner_test_cluster.h"

using namespace moai::planner;

TEST_CASE("flat collective formulas", "[planner]") {
  Link l{1e11, 1e-5};  // 100 GB/s, 10 us
  // ring all-reduce: 2(n-1) alpha + 2(n-1)/n B/beta = 6e-5 + 1.5 * 0.01
  CHECK(ringAllReduceSeconds(1e9, 4, l) == Approx(6e-5 + 0.015));
  // reduce-scatter and all-gather: (n-1) alpha + (n-1)/n B/beta
  CHECK(reduceScatterSeconds(1e9, 4, l) == Approx(3e-5 + 0.0075));
  CHECK(allGatherSeconds(1e9, 4, l) == Approx(3e-5 + 0.0075));
  // all-to-all: each device sends (n-1)/n of its B/n
  CHECK(allToAllSeconds(1e9, 4, l) == Approx(3e-5 + 0.75 * 0.25 * 0.01));
  CHECK(pointToPointSeconds(1e9, l) == Approx(1e-5 + 0.01));
  CHECK(ringAllReduceSeconds(1e9, 1, l) == 0);
}

TEST_CASE("collectives inside a node use the node link", "[planner]") {
  CostModel m(test::roundCluster(4, 4), 4);
  // 2*3*1us + 2*3/4 * 1e9 / 10e9
  CHECK(m.allReduce(1e9) == Approx(6e-6 + 0.15));
}

TEST_CASE("collectives across nodes are hierarchical", "[planner]") {
  // 2 nodes of 4: reduce-scatter in the node (3us + 0.75*B/10e9), all-reduce of
  // B/4 between the 2 nodes on 1 GB/s per device (2us + 1.0*B/4/1e9), all-gather.
  CostModel m(test::roundCluster(8, 4), 8);
  double b = 1e9;
  double expect = (3e-6 + 0.75 * b / 10e9) * 2 + (2e-6 + 1.0 * (b / 4) / 1e9);
  CHECK(m.allReduce(b) == Approx(expect));
  // One device per node (stride 4): a flat ring on the network share.
  CostModel dp(test::roundCluster(8, 4), 2, 4);
  CHECK(dp.allReduce(b) == Approx(2e-6 + 1.0 * b / 1e9));
}

TEST_CASE("roofline compute", "[planner]") {
  CostModel m(test::roundCluster(1, 1), 1);
  Op gemm;
  gemm.kind = OpKind::Gemm;
  // 2 TFLOP at 1 TFLOP/s = 2 s; 1 GB at 100 GB/s = 10 ms: compute bound.
  CHECK(m.computeSeconds(gemm, MODNN_F32, 2e12, 1e9) == Approx(2.0));
  Op add;
  add.kind = OpKind::Elementwise;
  // 1 GFLOP at 1 TFLOP/s = 1 ms; 3 GB at 100 GB/s = 30 ms: memory bound.
  CHECK(m.computeSeconds(add, MODNN_F32, 1e9, 3e9) == Approx(0.03));
}

TEST_CASE("reshard costs pick the matching collective", "[planner]") {
  CostModel m(test::roundCluster(4, 4), 4);
  std::string c;
  CHECK(m.reshardSeconds(1e9, Placement::partial(), Placement::replicated(), &c) == Approx(m.allReduce(1e9)));
  CHECK(c == "all-reduce");
  CHECK(m.reshardSeconds(1e9, Placement::partial(), Placement::sharded(0), &c) == Approx(m.reduceScatter(1e9)));
  CHECK(c == "reduce-scatter");
  CHECK(m.reshardSeconds(1e9, Placement::sharded(1), Placement::replicated(), &c) == Approx(m.allGather(1e9)));
  CHECK(c == "all-gather");
  CHECK(m.reshardSeconds(1e9, Placement::sharded(0), Placement::sharded(1), &c) == Approx(m.allToAll(1e9)));
  CHECK(m.reshardSeconds(1e9, Placement::replicated(), Placement::sharded(0), &c) == 0);  // a local slice
  CHECK(c.empty());
  CHECK(m.reshardSeconds(1e9, Placement::sharded(0), Placement::sharded(0), &c) == 0);
}

TEST_CASE("cluster TOML is read and checked", "[planner]") {
  const char* good = R"(
name = "t"
intra_node = { bandwidth_gbs = 300, latency_us = 3 }
inter_node = { bandwidth_gbs = 200, latency_us = 5 }
[[device_kind]]
name = "gpu"
memory_gib = 80
memory_bandwidth_gbs = 2000
vector_tflops = 19.5
matmul_tflops = { bf16 = 312 }
host_link = { bandwidth_gbs = 25, latency_us = 10 }
[[node]]
kind = "gpu"
devices = 8
count = 4
)";
  Cluster c;
  std::string err;
  REQUIRE(parseClusterToml(good, &c, &err));
  CHECK(c.deviceCount() == 32);
  CHECK(c.kindOf(31).matmul_flops[MODNN_BF16] == Approx(312e12));
  CHECK(c.kindOf(0).matmul_flops[MODNN_F64] == Approx(19.5e12));  // no matmul peak: vector units
  CHECK(c.intra_node.bandwidth == Approx(300e9));
  CHECK(c.nodeOf(9) == 1);
  std::string bad = good;
  bad.replace(bad.find("kind = \"gpu\""), 12, "kind = \"tpu\"");
  CHECK_FALSE(parseClusterToml(bad, &c, &err));
  CHECK_FALSE(parseClusterToml("name = 1\n[[device_kind]]\n", &c, &err));
  CHECK_FALSE(parseClusterToml("this is = = not toml", &c, &err));
}
