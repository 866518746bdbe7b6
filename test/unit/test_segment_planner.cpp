// The client's planning without devices: GraphRecorder turns recorded ops
// into the planner's graph (row-major twins of cuBLAS GEMMs, regions as
// tensors), and SegmentPlanner plans segments through its cache, tags GEMMs
// with the plan's split and reports predicted against measured times.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <sstream>

#include "interpose/core/graph_recorder.h"
#include "interpose/core/segment_planner.h"

using namespace moai;
using planner::OpKind;

namespace {

std::shared_ptr<Allocation> alloc(uint64_t base, uint64_t size) {
  auto a = std::make_shared<Allocation>();
  a->base = base;
  a->size = size;
  return a;
}

// cuBLAS sgemm N,N: C (m x n) = A (m x k) B (k x n), column-major, tight.
RecordedOp gemm(const std::shared_ptr<Allocation>& a, const std::shared_ptr<Allocation>& b,
                const std::shared_ptr<Allocation>& c, int64_t m, int64_t n, int64_t k, bool trans_a = false) {
  ModnnOp op;
  op.op.struct_size = sizeof op.op;
  op.op.kind = MODNN_OP_GEMM;
  modnn_gemm& g = op.op.u.gemm;
  g.m = m, g.n = n, g.k = k, g.batch = 1;
  g.trans_a = trans_a;
  g.a = a->base, g.b = b->base, g.c = c->base, g.d = c->base;
  g.lda = trans_a ? k : m, g.ldb = k, g.ldc = g.ldd = m;
  g.a_type = g.b_type = g.c_type = g.d_type = MODNN_F32;
  g.alpha[0] = 1;
  op.keep_alive = {a, b, c};
  RecordedOp r;
  r.body = std::move(op);
  return r;
}

RecordedOp kernel(const std::string& name, const std::shared_ptr<Allocation>& p, uint64_t offset) {
  LaunchOp l;
  l.kernel = name;
  uint64_t ptr = p->base + offset, n = 12345;
  l.params.resize(16);
  std::memcpy(l.params.data(), &ptr, 8);
  std::memcpy(l.params.data() + 8, &n, 8);
  l.keep_alive = {p};
  RecordedOp r;
  r.body = std::move(l);
  return r;
}

RecordedOp toHost(const std::shared_ptr<Allocation>& src, uint64_t bytes, uint8_t* host) {
  CopyOp c;
  c.src.alloc = src;
  c.dst.host = host;
  c.width = bytes;
  RecordedOp r;
  r.body = std::move(c);
  return r;
}

}  // namespace

TEST_CASE("a GEMM is recorded as its row-major twin, regions merge into its tensors") {
  auto a = alloc(0x10000, 64 * 16 * 4), b = alloc(0x20000, 16 * 32 * 4), c = alloc(0x30000, 64 * 32 * 4);
  uint8_t host[64];
  GraphRecorder rec;
  REQUIRE(rec.add(gemm(a, b, c, 64, 32, 16)) == 0);
  REQUIRE(rec.add(kernel("_Z4reluPfm", c, 0)) == 1);
  REQUIRE(rec.add(toHost(c, sizeof host, host)) == 2);
  FillOp f;
  f.dst.alloc = a;
  f.width = 64 * 16;
  f.elem_size = 4;
  RecordedOp fill;
  fill.body = std::move(f);
  REQUIRE(rec.add(fill) == 3);
  RecordedOp event;
  event.body = EventOp{};
  CHECK(rec.add(event) == -1);
  CopyOp hh;
  hh.src.host = host, hh.dst.host = host, hh.width = 8;
  RecordedOp h2h;
  h2h.body = std::move(hh);
  CHECK(rec.add(h2h) == -1);

  const planner::Graph& g = rec.graph();
  REQUIRE(g.ops.size() == 4);
  REQUIRE(g.validate().empty());
  const planner::Op& op = g.ops[0];
  CHECK(op.kind == OpKind::Gemm);
  CHECK(op.gemm.m == 32);  // cuBLAS n
  CHECK(op.gemm.n == 64);  // cuBLAS m
  CHECK(op.gemm.k == 16);
  // A of the twin is cuBLAS's B (k x n column-major = [n, k] row-major).
  CHECK(g.tensors[op.reads[0]].shape == std::vector<int64_t>{32, 16});
  CHECK(g.tensors[op.reads[0]].alloc == b->base);
  CHECK(g.tensors[op.reads[1]].shape == std::vector<int64_t>{16, 64});
  CHECK(g.tensors[op.writes[0]].shape == std::vector<int64_t>{32, 64});
  // The kernel's pointer argument names C's whole allocation: the GEMM's D.
  CHECK(g.ops[1].kind == OpKind::Opaque);
  CHECK(g.ops[1].name == "_Z4reluPfm");
  CHECK(g.ops[1].reads == std::vector<int>{op.writes[0]});
  CHECK(g.ops[1].writes == std::vector<int>{op.writes[0]});
  // Device to host: reads only; a 64-byte region is its own tensor.
  CHECK(g.ops[2].kind == OpKind::Copy);
  CHECK(g.ops[2].writes.empty());
  CHECK(g.tensors[g.ops[2].reads[0]].bytes() == 64);
  // The fill covers A exactly: A's tensor.
  CHECK(g.ops[3].kind == OpKind::Memset);
  CHECK(g.ops[3].writes == std::vector<int>{op.reads[1]});

  // The same segment at other addresses hashes the same.
  planner::Graph first = rec.take();
  CHECK(rec.empty());
  auto a2 = alloc(0x90000, a->size), b2 = alloc(0xa0000, b->size), c2 = alloc(0xb0000, c->size);
  rec.add(gemm(a2, b2, c2, 64, 32, 16));
  rec.add(kernel("_Z4reluPfm", c2, 0));
  rec.add(toHost(c2, sizeof host, host));
  RecordedOp fill2;
  fill2.body = FillOp{Endpoint{a2, 0, nullptr}, 64 * 16, 1, 0, 0, 4};
  rec.add(fill2);
  CHECK(planner::graphHash(rec.graph()) == planner::graphHash(first));
}

TEST_CASE("a transposed GEMM keeps its flags on the twin's other operand") {
  auto a = alloc(0x10000, 16 * 64 * 4), b = alloc(0x20000, 16 * 32 * 4), c = alloc(0x30000, 64 * 32 * 4);
  GraphRecorder rec;
  rec.add(gemm(a, b, c, 64, 32, 16, /*trans_a=*/true));
  const planner::Graph& g = rec.graph();
  REQUIRE(g.validate().empty());
  CHECK(g.ops[0].gemm.trans_b);
  CHECK_FALSE(g.ops[0].gemm.trans_a);
  CHECK(g.tensors[g.ops[0].reads[1]].shape == std::vector<int64_t>{64, 16});  // A^T stored k x m column-major
}

TEST_CASE("segments are planned once, GEMMs follow the cached plan, the report has every op") {
  Calibration cal;
  cal.devices = 2;
  cal.gemm_flops = 50e9;
  cal.gemm_size = 512;
  cal.memory_bandwidth = 10e9;
  cal.op_overhead = 10e-6;
  cal.link = {20e9, 1e-6};
  cal.host_link = {10e9, 1e-6};
  modnn_device_props props{};
  props.total_memory = 4ull << 30;
  std::strcpy(props.kind, "cpu");
  PlannerOptions opt;
  opt.devices = 2;
  SegmentPlanner sp(opt, cal, props);

  const int64_t n = 1024;
  auto x = alloc(0x100000, n * n * 4), w = alloc(0x600000, n * n * 4), y = alloc(0xb00000, n * n * 4);
  uint8_t host[16];
  std::vector<PlanTag> tags;
  for (int step = 0; step < 2; ++step) {
    tags.push_back(sp.record(gemm(w, x, y, n, n, n)));
    sp.record(kernel("_Z4reluPfm", y, 0));
    sp.record(toHost(y, sizeof host, host));
    sp.endSegment();
  }
  // The first step ran before any plan existed; the second follows the plan.
  CHECK(tags[0].ways == 0);
  CHECK(tags[1].ways == 2);
  CHECK(sp.cache().misses() == 1);
  CHECK(sp.cache().hits() == 1);

  std::ostringstream text;
  sp.report(text);
  INFO(text.str());
  CHECK(text.str().find("split M") != std::string::npos);
  CHECK(text.str().find("hit") != std::string::npos);
  CHECK(text.str().find("planning: first step") != std::string::npos);

  auto j = nlohmann::json::parse(sp.json());
  REQUIRE(j["segments"].size() == 1);
  CHECK(j["segments"][0]["plan"]["ops"].size() == 3);
  CHECK(j["segments"][0]["as_run"].size() == 3);
  CHECK(j["segments"][0]["as_run"][0]["decided_by"] == "plan");
  REQUIRE(j["steps"].size() == 2);
  CHECK(j["steps"][0]["cache_hit"] == false);
  CHECK(j["steps"][1]["cache_hit"] == true);
  for (auto& s : j["steps"]) {
    CHECK(s["predicted_s"].get<double>() > 0);
    CHECK(s["measured_s"].get<double>() >= 0);
  }
  // A 1024^3 GEMM at 50 GFLOP/s split two ways: ~21 ms, plus the all-gather.
  double predicted = j["steps"][1]["predicted_s"].get<double>();
  CHECK(predicted > 0.021);
  CHECK(predicted < 0.025);
}
