#include "planner/recorded_graph_file.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <istream>
#include <ostream>
#include <set>

#include "planner/cluster.h"

namespace moai::planner {

using nlohmann::json;

namespace {

constexpr size_t kMaxLine = 1 << 20;
constexpr size_t kMaxTensors = 1 << 22;
constexpr size_t kMaxOps = 1 << 24;

const char* const kOpNames[] = {"gemm", "elementwise", "reduction", "copy", "memset", "opaque", "collective"};

json tensorLine(const Tensor& t, int id) {
  json j = {{"tensor", id}, {"alloc", t.alloc}, {"offset", t.offset}, {"dtype", dtypeName(t.dtype)}, {"shape", t.shape}};
  if (!t.name.empty()) j["name"] = t.name;
  return j;
}

json opLine(const Op& op) {
  json j = {{"op", kOpNames[static_cast<int>(op.kind)]}};
  if (!op.name.empty()) j["name"] = op.name;
  if (op.kind == OpKind::Gemm) {
    j["m"] = op.gemm.m, j["n"] = op.gemm.n, j["k"] = op.gemm.k, j["batch"] = op.gemm.batch;
    j["trans_a"] = op.gemm.trans_a, j["trans_b"] = op.gemm.trans_b;
  } else {
    j["flops"] = op.flops;
  }
  if (op.kind == OpKind::Elementwise) j["coupled_dim"] = op.coupled_dim;
  if (op.kind == OpKind::Reduction) j["reduce_dim"] = op.reduce_dim;
  j["reads"] = op.reads;
  j["writes"] = op.writes;
  return j;
}

// Field readers: false with a message when the field is missing (and
// required) or of the wrong type or range.
struct Fields {
  const json& j;
  std::string* err;

  bool integer(const char* key, int64_t lo, int64_t hi, int64_t* out, bool required = true) const {
    auto it = j.find(key);
    if (it == j.end()) {
      if (required) *err = std::string("missing '") + key + "'";
      return !required;
    }
    if (!it->is_number_integer()) return fail(key, "an integer");
    int64_t v = it->is_number_unsigned() ? (it->get<uint64_t>() > uint64_t(INT64_MAX) ? hi + 1 : int64_t(it->get<uint64_t>()))
                                         : it->get<int64_t>();
    if (v < lo || v > hi) return fail(key, "in range");
    *out = v;
    return true;
  }
  bool unsignedInt(const char* key, uint64_t* out) const {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) return fail(key, "a non-negative integer");
    *out = it->get<uint64_t>();
    return true;
  }
  bool boolean(const char* key, bool* out) const {
    auto it = j.find(key);
    if (it == j.end()) return true;
    if (!it->is_boolean()) return fail(key, "true or false");
    *out = it->get<bool>();
    return true;
  }
  bool number(const char* key, double* out) const {
    auto it = j.find(key);
    if (it == j.end()) return true;
    if (!it->is_number() || !(it->get<double>() >= 0) || it->get<double>() > 1e30) return fail(key, "a non-negative number");
    *out = it->get<double>();
    return true;
  }
  bool string(const char* key, std::string* out, bool required) const {
    auto it = j.find(key);
    if (it == j.end()) {
      if (required) *err = std::string("missing '") + key + "'";
      return !required;
    }
    if (!it->is_string() || it->get_ref<const std::string&>().size() > 4096) return fail(key, "a string");
    *out = it->get<std::string>();
    return true;
  }
  bool ints(const char* key, int64_t lo, int64_t hi, size_t max_len, std::vector<int64_t>* out) const {
    auto it = j.find(key);
    if (it == j.end() || !it->is_array() || it->size() > max_len) return fail(key, "a short array");
    for (const json& v : *it) {
      if (!v.is_number_integer()) return fail(key, "an array of integers");
      int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX) ? hi + 1 : v.get<int64_t>();
      if (x < lo || x > hi) return fail(key, "an array of in-range integers");
      out->push_back(x);
    }
    return true;
  }
  bool onlyKeys(std::initializer_list<const char*> keys) const {
    std::set<std::string> known(keys.begin(), keys.end());
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!known.count(it.key())) {
        *err = "unknown field '" + it.key() + "'";
        return false;
      }
    return true;
  }
  bool fail(const char* key, const char* what) const {
    *err = std::string("'") + key + "' must be " + what;
    return false;
  }
};

bool readTensor(const Fields& f, Graph* g) {
  if (!f.onlyKeys({"tensor", "alloc", "offset", "dtype", "shape", "name"})) return false;
  int64_t id;
  Tensor t;
  std::string dtype;
  std::vector<int64_t> shape;
  if (!f.integer("tensor", 0, int64_t(kMaxTensors), &id) || !f.unsignedInt("alloc", &t.alloc) ||
      !f.unsignedInt("offset", &t.offset) || !f.string("dtype", &dtype, true) ||
      !f.ints("shape", 1, int64_t(1) << 40, 8, &shape) || !f.string("name", &t.name, false))
    return false;
  if (!dtypeFromName(dtype, &t.dtype)) return f.fail("dtype", "a known dtype");
  if (shape.empty()) return f.fail("shape", "non-empty");
  if (id != static_cast<int64_t>(g->tensors.size())) {
    *f.err = "tensor ids must count from 0 in order";
    return false;
  }
  t.shape = std::move(shape);
  g->tensors.push_back(std::move(t));
  return true;
}

bool readOp(const Fields& f, Graph* g) {
  if (!f.onlyKeys({"op", "name", "m", "n", "k", "batch", "trans_a", "trans_b", "flops", "coupled_dim", "reduce_dim",
                   "reads", "writes"}))
    return false;
  if (g->ops.size() >= kMaxOps) {
    *f.err = "too many ops";
    return false;
  }
  std::string kind;
  Op op;
  if (!f.string("op", &kind, true) || !f.string("name", &op.name, false)) return false;
  int k = -1;
  for (int i = 0; i < 7; ++i)
    if (kind == kOpNames[i]) k = i;
  if (k < 0) return f.fail("op", "a known op kind");
  op.kind = static_cast<OpKind>(k);
  const int64_t big = int64_t(1) << 40;
  if (op.kind == OpKind::Gemm) {
    if (!f.integer("m", 1, big, &op.gemm.m) || !f.integer("n", 1, big, &op.gemm.n) ||
        !f.integer("k", 1, big, &op.gemm.k) || !f.integer("batch", 1, big, &op.gemm.batch, false) ||
        !f.boolean("trans_a", &op.gemm.trans_a) || !f.boolean("trans_b", &op.gemm.trans_b))
      return false;
  } else if (f.j.contains("m") || f.j.contains("n") || f.j.contains("k") || f.j.contains("batch")) {
    *f.err = "m, n, k and batch belong to gemm ops";
    return false;
  }
  int64_t coupled = -1, reduce = -1;
  if (!f.number("flops", &op.flops) || !f.integer("coupled_dim", -1, 7, &coupled, false) ||
      !f.integer("reduce_dim", 0, 7, &reduce, op.kind == OpKind::Reduction))
    return false;
  op.coupled_dim = static_cast<int>(coupled);
  op.reduce_dim = static_cast<int>(reduce);
  std::vector<int64_t> reads, writes;
  const int64_t last = static_cast<int64_t>(g->tensors.size()) - 1;
  if (!f.ints("reads", 0, last, 64, &reads) || !f.ints("writes", 0, last, 64, &writes)) return false;
  op.reads.assign(reads.begin(), reads.end());
  op.writes.assign(writes.begin(), writes.end());
  g->ops.push_back(std::move(op));
  return true;
}

}  // namespace

void writeRecordingHeader(std::ostream& out) { out << json{{"moai_graph", 1}}.dump() << '\n'; }

void writeRecordingSegment(const Graph& graph, int segment, std::ostream& out) {
  out << json{{"segment", segment}}.dump() << '\n';
  for (size_t i = 0; i < graph.tensors.size(); ++i) out << tensorLine(graph.tensors[i], int(i)).dump() << '\n';
  for (const Op& op : graph.ops) out << opLine(op).dump() << '\n';
}

bool readRecording(std::istream& in, std::vector<Graph>* out_segments, std::string* out_error) {
  std::vector<Graph> segments;
  std::string line, err;
  size_t number = 0;
  bool header = false;
  auto finish = [&]() {
    if (segments.empty()) return true;
    std::string why = segments.back().validate();
    if (why.empty()) return true;
    err = "segment " + std::to_string(segments.size() - 1) + ": " + why;
    return false;
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.size() > kMaxLine) {
      err = "line too long";
      break;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      err = "not a JSON object";
      break;
    }
    Fields f{j, &err};
    if (!header) {
      int64_t version;
      if (!f.onlyKeys({"moai_graph"}) || !f.integer("moai_graph", 1, 1, &version)) {
        err = "the first line must be {\"moai_graph\":1}" + (err.empty() ? "" : " (" + err + ")");
        break;
      }
      header = true;
      continue;
    }
    bool ok;
    if (j.contains("segment")) {
      int64_t s;
      ok = f.onlyKeys({"segment"}) && f.integer("segment", 0, INT32_MAX, &s) && finish();
      if (ok) segments.emplace_back();
    } else {
      if (segments.empty()) segments.emplace_back();
      ok = j.contains("tensor") ? readTensor(f, &segments.back())
           : j.contains("op")   ? readOp(f, &segments.back())
                                : (err = "neither segment, tensor nor op", false);
    }
    if (!ok) break;
  }
  if (err.empty() && !header) err = "empty file";
  if (err.empty() && !finish()) number = 0;
  if (!err.empty()) {
    *out_error = number ? "line " + std::to_string(number) + ": " + err : err;
    return false;
  }
  *out_segments = std::move(segments);
  return true;
}

bool readRecordingFile(const std::string& path, std::vector<Graph>* out_segments, std::string* out_error) {
  std::ifstream in(path);
  if (!in) {
    *out_error = path + ": cannot open";
    return false;
  }
  if (!readRecording(in, out_segments, out_error)) {
    *out_error = path + ": " + *out_error;
    return false;
  }
  return true;
}

}  // namespace moai::planner
