// Sharding rules: which splits each op offers and what they require.
#include <catch2/catch.hpp>

#include <algorithm>

#include "planner/sharding_rules.h"

using namespace moai::planner;

namespace {

const Strategy* find(const std::vector<Strategy>& all, const std::string& name) {
  auto it = std::find_if(all.begin(), all.end(), [&](const Strategy& s) { return s.name == name; });
  return it == all.end() ? nullptr : &*it;
}

Op gemmOp(Graph& g, int64_t m, int64_t n, int64_t k, int64_t batch = 1, bool ta = false) {
  std::vector<int64_t> sa = ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k};
  if (batch > 1) sa.insert(sa.begin(), batch);
  std::vector<int64_t> sb{k, n}, sd{m, n};
  if (batch > 1) sb.insert(sb.begin(), batch), sd.insert(sd.begin(), batch);
  Op op;
  op.kind = OpKind::Gemm;
  op.gemm = {m, n, k, batch, ta, false};
  op.reads = {g.addTensor(MODNN_F32, sa), g.addTensor(MODNN_F32, sb)};
  op.writes = {g.addTensor(MODNN_F32, sd)};
  return op;
}

}  // namespace

TEST_CASE("GEMM splits M, N or K", "[planner]") {
  Graph g;
  Op op = gemmOp(g, 64, 32, 16);
  auto all = shardingRules(g, op, 2);
  REQUIRE(find(all, "whole"));
  const Strategy* m = find(all, "split M");
  const Strategy* n = find(all, "split N");
  const Strategy* k = find(all, "split K");
  REQUIRE((m && n && k));
  CHECK(m->reads[0] == Placement::sharded(0));  // A's rows
  CHECK(m->reads[1] == Placement::replicated());
  CHECK(m->writes[0] == Placement::sharded(0));
  CHECK(n->reads[0] == Placement::replicated());
  CHECK(n->reads[1] == Placement::sharded(1));  // B's columns
  CHECK(n->writes[0] == Placement::sharded(1));
  CHECK(k->reads[0] == Placement::sharded(1));
  CHECK(k->reads[1] == Placement::sharded(0));
  CHECK(k->writes[0] == Placement::partial());  // partial sums, reduced by whoever reads them
  CHECK(m->work_share == 0.5);
  CHECK(find(all, "split batch") == nullptr);
}

TEST_CASE("a transposed operand is split along its stored dimension", "[planner]") {
  Graph g;
  Op op = gemmOp(g, 64, 32, 16, 1, true);  // A stored k x m
  auto all = shardingRules(g, op, 2);
  CHECK(find(all, "split M")->reads[0] == Placement::sharded(1));
  CHECK(find(all, "split K")->reads[0] == Placement::sharded(0));
}

TEST_CASE("batched GEMM splits the batch; too-small dimensions are not split", "[planner]") {
  Graph g;
  Op op = gemmOp(g, 1, 32, 16, 8);
  auto all = shardingRules(g, op, 4);
  const Strategy* b = find(all, "split batch");
  REQUIRE(b);
  CHECK(b->reads[0] == Placement::sharded(0));
  CHECK(b->writes[0] == Placement::sharded(0));
  CHECK(find(all, "split M") == nullptr);  // m = 1 < 4 devices
  CHECK(shardingRules(g, op, 1).size() == 1);  // one device: whole only
}

TEST_CASE("element-wise ops follow their output; coupled dimensions stay whole", "[planner]") {
  Graph g;
  Op op;
  op.kind = OpKind::Elementwise;
  op.coupled_dim = 1;  // softmax over rows
  op.reads = {g.addTensor(MODNN_F32, {128, 64}), g.addTensor(MODNN_F32, {64})};  // input, broadcast bias
  op.writes = {g.addTensor(MODNN_F32, {128, 64})};
  auto all = shardingRules(g, op, 4);
  const Strategy* d0 = find(all, "split dim 0");
  REQUIRE(d0);
  CHECK(d0->reads[0] == Placement::sharded(0));
  CHECK(d0->reads[1] == Placement::replicated());
  CHECK(find(all, "split dim 1") == nullptr);
  CHECK(find(all, "replicate"));
}

TEST_CASE("reductions split kept dimensions or leave partial sums", "[planner]") {
  Graph g;
  Op op;
  op.kind = OpKind::Reduction;
  op.reduce_dim = 1;
  op.reads = {g.addTensor(MODNN_F32, {128, 64})};
  op.writes = {g.addTensor(MODNN_F32, {128})};
  auto all = shardingRules(g, op, 2);
  CHECK(find(all, "split dim 0")->writes[0] == Placement::sharded(0));
  CHECK(find(all, "split reduced dim")->writes[0] == Placement::partial());
}

TEST_CASE("opaque kernels run whole on device 0", "[planner]") {
  Graph g;
  Op op;
  op.kind = OpKind::Opaque;
  op.reads = {g.addTensor(MODNN_F32, {1024})};
  op.writes = {g.addTensor(MODNN_F32, {1024})};
  auto all = shardingRules(g, op, 8);
  REQUIRE(all.size() == 1);
  CHECK(all[0].reads[0] == Placement::whole(0));
}

TEST_CASE("an operand without the GEMM's dimension is not split along it", "[planner]") {
  Graph g;
  Op op;
  op.kind = OpKind::Gemm;
  op.gemm = {64, 32, 16, 1, false, false};
  op.reads = {g.addTensor(MODNN_F32, {64 * 16}), g.addTensor(MODNN_F32, {16, 32})};  // A seen flat
  op.writes = {g.addTensor(MODNN_F32, {64, 32})};
  auto all = shardingRules(g, op, 2);
  CHECK(find(all, "split M") == nullptr);
  CHECK(find(all, "split K") == nullptr);
  CHECK(find(all, "split N"));  // A is replicated there: its shape does not matter
}
