// The recorded-graph file: round trip, and every bad line refused with a reason.
#include <catch2/catch.hpp>

#include <sstream>

#include "planner/recorded_graph_file.h"
#include "planner/transformer.h"

using namespace moai::planner;

namespace {

bool read(const std::string& text, std::vector<Graph>* out, std::string* err) {
  std::istringstream in(text);
  return readRecording(in, out, err);
}

const char* kHeader = "{\"moai_graph\":1}\n";
const char* kTensors =
    "{\"tensor\":0,\"alloc\":1,\"offset\":0,\"dtype\":\"f32\",\"shape\":[4,8]}\n"
    "{\"tensor\":1,\"alloc\":2,\"offset\":0,\"dtype\":\"f32\",\"shape\":[8,2]}\n"
    "{\"tensor\":2,\"alloc\":3,\"offset\":64,\"dtype\":\"f32\",\"shape\":[4,2]}\n";

}  // namespace

TEST_CASE("a recording round-trips through JSON lines", "[planner]") {
  GptConfig c;
  REQUIRE(gptPreset("gpt-small", &c));
  c.layers = 2;
  std::vector<Graph> in{gptTrainingStep(c), gptTrainingStep(c)};
  in[1].tensors[0].alloc = 4242;  // another step, other addresses
  std::stringstream file;
  writeRecordingHeader(file);
  for (size_t i = 0; i < in.size(); ++i) writeRecordingSegment(in[i], int(i), file);
  std::vector<Graph> out;
  std::string err;
  REQUIRE(readRecording(file, &out, &err));
  REQUIRE(out.size() == 2);
  for (size_t s = 0; s < 2; ++s) {
    REQUIRE(out[s].ops.size() == in[s].ops.size());
    REQUIRE(out[s].tensors.size() == in[s].tensors.size());
    CHECK(graphHash(out[s]) == graphHash(in[s]));
    for (size_t i = 0; i < in[s].tensors.size(); ++i) {
      CHECK(out[s].tensors[i].alloc == in[s].tensors[i].alloc);
      CHECK(out[s].tensors[i].shape == in[s].tensors[i].shape);
      CHECK(out[s].tensors[i].dtype == in[s].tensors[i].dtype);
      CHECK(out[s].tensors[i].name == in[s].tensors[i].name);
    }
    for (size_t i = 0; i < in[s].ops.size(); ++i) {
      const Op &a = in[s].ops[i], &b = out[s].ops[i];
      CHECK(a.kind == b.kind);
      CHECK(a.reads == b.reads);
      CHECK(a.writes == b.writes);
      CHECK(a.flops == b.flops);
      CHECK(a.gemm.m == b.gemm.m);
      CHECK(a.gemm.trans_a == b.gemm.trans_a);
      CHECK(a.coupled_dim == b.coupled_dim);
      CHECK(a.reduce_dim == b.reduce_dim);
    }
  }
  CHECK(graphHash(out[0]) == graphHash(out[1]));
}

TEST_CASE("a minimal hand-written recording reads", "[planner]") {
  std::vector<Graph> g;
  std::string err;
  std::string text = std::string(kHeader) + kTensors +
                     "{\"op\":\"gemm\",\"m\":4,\"n\":2,\"k\":8,\"reads\":[0,1],\"writes\":[2]}\n";
  REQUIRE(read(text, &g, &err));
  REQUIRE(g.size() == 1);
  CHECK(g[0].ops[0].totalFlops() == 2.0 * 4 * 2 * 8);
  CHECK(g[0].tensors[2].offset == 64);
}

TEST_CASE("bad recordings are refused with the line and the reason", "[planner]") {
  const std::string ok_gemm = "{\"op\":\"gemm\",\"m\":4,\"n\":2,\"k\":8,\"reads\":[0,1],\"writes\":[2]}\n";
  struct Case {
    std::string text, why;
  } cases[] = {
      {"", "empty"},
      {"{\"moai_graph\":2}\n", "moai_graph"},
      {std::string(kHeader) + "not json\n", "line 2"},
      {std::string(kHeader) + "[1,2]\n", "JSON object"},
      {std::string(kHeader) + "{\"tensor\":0,\"alloc\":1,\"offset\":0,\"dtype\":\"f33\",\"shape\":[4]}\n", "dtype"},
      {std::string(kHeader) + "{\"tensor\":1,\"alloc\":1,\"offset\":0,\"dtype\":\"f32\",\"shape\":[4]}\n", "order"},
      {std::string(kHeader) + "{\"tensor\":0,\"alloc\":-1,\"offset\":0,\"dtype\":\"f32\",\"shape\":[4]}\n", "alloc"},
      {std::string(kHeader) + "{\"tensor\":0,\"alloc\":1,\"offset\":0,\"dtype\":\"f32\",\"shape\":[0]}\n", "shape"},
      {std::string(kHeader) + "{\"tensor\":0,\"alloc\":1,\"offset\":0,\"dtype\":\"f32\",\"shape\":[4],\"x\":1}\n",
       "unknown field"},
      {std::string(kHeader) + kTensors + "{\"op\":\"gemm\",\"m\":4,\"n\":2,\"k\":9,\"reads\":[0,1],\"writes\":[2]}\n",
       "operand sizes"},
      {std::string(kHeader) + kTensors + "{\"op\":\"gemm\",\"m\":4,\"n\":2,\"k\":8,\"reads\":[0,7],\"writes\":[2]}\n",
       "reads"},
      {std::string(kHeader) + kTensors + "{\"op\":\"warp\",\"reads\":[],\"writes\":[]}\n", "op kind"},
      {std::string(kHeader) + kTensors + "{\"op\":\"reduction\",\"reads\":[0],\"writes\":[2]}\n", "reduce_dim"},
      {std::string(kHeader) + kTensors + "{\"op\":\"elementwise\",\"m\":3,\"reads\":[0],\"writes\":[2]}\n", "gemm"},
      {std::string(kHeader) + kTensors + "{\"op\":\"opaque\",\"flops\":-1,\"reads\":[],\"writes\":[]}\n", "flops"},
      {std::string(kHeader) + kTensors + "{\"op\":\"gemm\",\"m\":\"4\",\"n\":2,\"k\":8,\"reads\":[0,1],\"writes\":[2]}\n",
       "'m'"},
      {std::string(kHeader) + kTensors + "{\"something\":1}\n", "neither"},
      {std::string(kHeader) + kTensors + ok_gemm + "{\"segment\":\"x\"}\n", "segment"},
  };
  for (const Case& c : cases) {
    std::vector<Graph> g;
    std::string err;
    INFO(c.text);
    CHECK_FALSE(read(c.text, &g, &err));
    INFO(err);
    CHECK(err.find(c.why) != std::string::npos);
  }
}
