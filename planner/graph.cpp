#include "planner/graph.h"

#include <unordered_map>

namespace moai::planner {

int64_t Tensor::elements() const {
  int64_t e = 1;
  for (int64_t d : shape) e *= d;
  return e;
}

int64_t Tensor::bytes() const { return elements() * static_cast<int64_t>(modnn_dtype_size(dtype)); }

const char* opKindName(OpKind kind) {
  switch (kind) {
    case OpKind::Gemm: return "gemm";
    case OpKind::Elementwise: return "elementwise";
    case OpKind::Reduction: return "reduction";
    case OpKind::Copy: return "copy";
    case OpKind::Memset: return "memset";
    case OpKind::Opaque: return "opaque";
    case OpKind::Collective: return "collective";
  }
  return "?";
}

double Op::totalFlops() const {
  if (kind == OpKind::Gemm) return 2.0 * gemm.m * gemm.n * gemm.k * gemm.batch;
  return flops;
}

int Graph::tensorAt(uint64_t alloc, uint64_t offset, modnn_dtype dtype, std::vector<int64_t> shape,
                    std::string name) {
  Tensor fresh{alloc, offset, dtype, std::move(shape), std::move(name)};
  for (size_t i = tensors.size(); i-- > 0;) {
    Tensor& t = tensors[i];
    if (t.alloc != alloc || t.offset != offset || t.bytes() != fresh.bytes()) continue;
    // The same bytes seen by another op: the op that knows more structure
    // (a GEMM's rows and columns over a kernel's flat view) names the shape.
    if (fresh.shape.size() > t.shape.size()) {
      t.shape = fresh.shape;
      t.dtype = fresh.dtype;
    }
    return static_cast<int>(i);
  }
  tensors.push_back(std::move(fresh));
  return static_cast<int>(tensors.size() - 1);
}

int Graph::addTensor(modnn_dtype dtype, std::vector<int64_t> shape, std::string name) {
  // Fresh tensors get their own allocation id so tensorAt never merges them.
  tensors.push_back(Tensor{tensors.size() + 1, 0, dtype, std::move(shape), std::move(name)});
  return static_cast<int>(tensors.size() - 1);
}

int Graph::addOp(Op op) {
  ops.push_back(std::move(op));
  return static_cast<int>(ops.size() - 1);
}

int64_t Graph::opBytes(const Op& op) const {
  int64_t b = 0;
  for (int t : op.reads) b += tensors[t].bytes();
  for (int t : op.writes) b += tensors[t].bytes();
  return b;
}

std::string Graph::validate() const {
  const int nt = static_cast<int>(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (t.shape.empty() || t.shape.size() > 8) return "tensor " + std::to_string(i) + ": rank must be 1..8";
    for (int64_t d : t.shape)
      if (d < 1 || d > (int64_t(1) << 40)) return "tensor " + std::to_string(i) + ": dimension out of range";
    if (modnn_dtype_size(t.dtype) == 0) return "tensor " + std::to_string(i) + ": bad dtype";
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    const std::string where = "op " + std::to_string(i) + ": ";
    for (int t : op.reads)
      if (t < 0 || t >= nt) return where + "reads an unknown tensor";
    for (int t : op.writes)
      if (t < 0 || t >= nt) return where + "writes an unknown tensor";
    if (op.flops < 0) return where + "negative flops";
    switch (op.kind) {
      case OpKind::Gemm: {
        const GemmShape& g = op.gemm;
        if (g.m < 1 || g.n < 1 || g.k < 1 || g.batch < 1) return where + "GEMM sizes must be positive";
        if (op.reads.size() < 2 || op.reads.size() > 3 || op.writes.size() != 1)
          return where + "GEMM reads A, B (and C) and writes D";
        // An operand holds one matrix per batch entry, or one shared by all (stride 0).
        auto fits = [&](int t, int64_t per_batch) {
          int64_t e = tensors[t].elements();
          return e == per_batch || e == per_batch * g.batch;
        };
        if (!fits(op.reads[0], g.m * g.k) || !fits(op.reads[1], g.k * g.n) || !fits(op.writes[0], g.m * g.n))
          return where + "GEMM operand sizes do not match m, n, k, batch";
        break;
      }
      case OpKind::Elementwise:
        if (op.writes.empty()) return where + "element-wise op writes nothing";
        if (op.coupled_dim >= static_cast<int>(tensors[op.writes[0]].shape.size()))
          return where + "coupled_dim beyond the output's rank";
        break;
      case OpKind::Reduction:
        if (op.reads.empty() || op.writes.size() != 1) return where + "reduction reads one tensor and writes one";
        if (op.reduce_dim < 0 || op.reduce_dim >= static_cast<int>(tensors[op.reads[0]].shape.size()))
          return where + "reduce_dim beyond the input's rank";
        break;
      case OpKind::Copy:
        if (op.reads.size() > 1 || op.writes.size() > 1 || (op.reads.empty() && op.writes.empty()))
          return where + "a copy has at most one source and one destination";
        if (op.reads.size() == 1 && op.writes.size() == 1 &&
            tensors[op.reads[0]].bytes() != tensors[op.writes[0]].bytes())
          return where + "copy between tensors of different sizes";
        break;
      case OpKind::Memset:
        if (op.writes.size() != 1 || !op.reads.empty()) return where + "memset writes one tensor";
        break;
      case OpKind::Opaque:
      case OpKind::Collective: break;
    }
  }
  return {};
}

namespace {
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void add(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  }
};
}  // namespace

uint64_t graphHash(const Graph& graph) {
  Fnv f;
  std::unordered_map<int, uint64_t> number;  // tensor id -> order of first use
  auto tensor = [&](int id) {
    auto [it, fresh] = number.try_emplace(id, number.size());
    f.add(it->second);
    if (fresh) {
      const Tensor& t = graph.tensors[id];
      f.add(t.dtype);
      f.add(t.shape.size());
      for (int64_t d : t.shape) f.add(static_cast<uint64_t>(d));
    }
  };
  f.add(graph.ops.size());
  for (const Op& op : graph.ops) {
    f.add(static_cast<uint64_t>(op.kind));
    if (op.kind == OpKind::Gemm) {
      f.add(op.gemm.m), f.add(op.gemm.n), f.add(op.gemm.k), f.add(op.gemm.batch);
      f.add(op.gemm.trans_a * 2 + op.gemm.trans_b);
    }
    f.add(static_cast<uint64_t>(op.coupled_dim + 1));
    f.add(static_cast<uint64_t>(op.reduce_dim + 1));
    uint64_t flops_bits;
    static_assert(sizeof(double) == sizeof(uint64_t));
    __builtin_memcpy(&flops_bits, &op.flops, sizeof flops_bits);
    f.add(flops_bits);
    for (char c : op.name) f.add(static_cast<unsigned char>(c));  // the kernel decides what it does
    f.add(op.reads.size());
    for (int t : op.reads) tensor(t);
    f.add(op.writes.size());
    for (int t : op.writes) tensor(t);
  }
  return f.h;
}

}  // namespace moai::planner
