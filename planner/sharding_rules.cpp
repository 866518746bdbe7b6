#include "planner/sharding_rules.h"

namespace moai::planner {
namespace {

double share(int64_t size, int n) { return double((size + n - 1) / n) / double(size); }

Strategy whole(const Op& op) {
  Strategy s;
  s.name = "whole";
  s.reads.assign(op.reads.size(), Placement::whole());
  s.writes.assign(op.writes.size(), Placement::whole());
  return s;
}

void gemmRules(const Graph& g, const Op& op, int n, std::vector<Strategy>* out) {
  const GemmShape& gs = op.gemm;
  const Tensor& a = g.tensors[op.reads[0]];
  const Tensor& b = g.tensors[op.reads[1]];
  const Tensor& d = g.tensors[op.writes[0]];
  const int ra = static_cast<int>(a.shape.size()), rb = static_cast<int>(b.shape.size()),
            rd = static_cast<int>(d.shape.size());
  const bool has_c = op.reads.size() == 3;
  // Shapes are as stored (row-major); op(X) = X^T when trans is set, so
  // A is [batch,] m x k or k x m, B k x n or n x k, D m x n.
  const int a_m = gs.trans_a ? ra - 1 : ra - 2, a_k = gs.trans_a ? ra - 2 : ra - 1;
  const int b_k = gs.trans_b ? rb - 1 : rb - 2, b_n = gs.trans_b ? rb - 2 : rb - 1;
  auto make = [&](const char* name, int64_t size, Placement pa, Placement pb, Placement pd, Placement pc) {
    if (size < n) return;
    Strategy s;
    s.name = name;
    s.ways = n;
    s.work_share = share(size, n);
    s.reads = {pa, pb};
    if (has_c) s.reads.push_back(pc);
    s.writes = {pd};
    out->push_back(std::move(s));
  };
  // A split needs the dimension to be there with the GEMM's size (a flat or
  // differently folded operand cannot be sliced along it).
  auto has = [](const Tensor& t, int dim, int64_t size) {
    return dim >= 0 && dim < static_cast<int>(t.shape.size()) && t.shape[dim] == size;
  };
  if (has(a, a_m, gs.m) && has(d, rd - 2, gs.m))
    make("split M", gs.m, Placement::sharded(a_m), Placement::replicated(), Placement::sharded(rd - 2),
         Placement::sharded(rd - 2));
  if (has(b, b_n, gs.n) && has(d, rd - 1, gs.n))
    make("split N", gs.n, Placement::replicated(), Placement::sharded(b_n), Placement::sharded(rd - 1),
         Placement::sharded(rd - 1));
  if (has(a, a_k, gs.k) && has(b, b_k, gs.k))
    make("split K", gs.k, Placement::sharded(a_k), Placement::sharded(b_k), Placement::partial(),
         Placement::partial());
  if (gs.batch > 1 && has(d, 0, gs.batch) && rd >= 3) {
    // Operands holding one matrix for all batch entries (stride 0) are replicated.
    auto batched = [&](const Tensor& t) {
      return t.shape.size() >= 3 && t.shape[0] == gs.batch ? Placement::sharded(0) : Placement::replicated();
    };
    bool shardable = batched(a).kind == Placement::Sharded || batched(b).kind == Placement::Sharded;
    if (shardable)
      make("split batch", gs.batch, batched(a), batched(b), Placement::sharded(0), Placement::sharded(0));
  }
}

void elementwiseRules(const Graph& g, const Op& op, int n, std::vector<Strategy>* out) {
  const Tensor& o = g.tensors[op.writes[0]];
  const int rank = static_cast<int>(o.shape.size());
  auto follow = [&](const Tensor& t, int d) {
    return static_cast<int>(t.shape.size()) == rank && t.shape[d] == o.shape[d];
  };
  for (int d = 0; d < rank; ++d) {
    if (d == op.coupled_dim || o.shape[d] < n) continue;
    Strategy s;
    s.name = "split dim " + std::to_string(d);
    s.ways = n;
    s.work_share = share(o.shape[d], n);
    bool ok = true;
    for (int t : op.reads)
      s.reads.push_back(follow(g.tensors[t], d) ? Placement::sharded(d) : Placement::replicated());
    for (int t : op.writes) {
      ok = ok && follow(g.tensors[t], d);
      s.writes.push_back(Placement::sharded(d));
    }
    if (ok) out->push_back(std::move(s));
  }
  // Every device computes all of it: worth it for small tensors that many
  // split consumers read, where one gather would cost more than the work.
  Strategy r;
  r.name = "replicate";
  r.ways = n;
  r.reads.assign(op.reads.size(), Placement::replicated());
  r.writes.assign(op.writes.size(), Placement::replicated());
  out->push_back(std::move(r));
}

void reductionRules(const Graph& g, const Op& op, int n, std::vector<Strategy>* out) {
  const Tensor& in = g.tensors[op.reads[0]];
  const Tensor& o = g.tensors[op.writes[0]];
  const int rank = static_cast<int>(in.shape.size());
  const bool kept = static_cast<int>(o.shape.size()) == rank;  // reduced dim kept with size 1
  for (int d = 0; d < rank; ++d) {
    if (in.shape[d] < n) continue;
    Strategy s;
    s.ways = n;
    s.work_share = share(in.shape[d], n);
    s.reads.assign(op.reads.size(), Placement::replicated());
    s.reads[0] = Placement::sharded(d);
    if (d == op.reduce_dim) {
      s.name = "split reduced dim";
      s.writes = {Placement::partial()};
    } else {
      s.name = "split dim " + std::to_string(d);
      int od = kept || d < op.reduce_dim ? d : d - 1;
      if (od >= static_cast<int>(o.shape.size()) || o.shape[od] != in.shape[d]) continue;
      s.writes = {Placement::sharded(od)};
    }
    out->push_back(std::move(s));
  }
}

void copyRules(const Graph& g, const Op& op, int n, std::vector<Strategy>* out) {
  const Tensor& t = g.tensors[op.writes.empty() ? op.reads[0] : op.writes[0]];
  const bool host = op.reads.empty() || op.writes.empty();
  bool same = op.reads.size() != 1 || op.writes.size() != 1 ||
              g.tensors[op.reads[0]].shape == g.tensors[op.writes[0]].shape;
  if (!same || t.shape[0] < n) return;
  Strategy s;
  s.name = "split dim 0";
  s.ways = n;
  s.work_share = share(t.shape[0], n);
  s.reads.assign(op.reads.size(), Placement::sharded(0));
  s.writes.assign(op.writes.size(), Placement::sharded(0));
  if (host) s.host_bytes = double(t.bytes()) * s.work_share;
  out->push_back(std::move(s));
}

void memsetRules(const Graph& g, const Op& op, int n, std::vector<Strategy>* out) {
  const Tensor& t = g.tensors[op.writes[0]];
  if (t.shape[0] >= n) {
    Strategy s;
    s.name = "split dim 0";
    s.ways = n;
    s.work_share = share(t.shape[0], n);
    s.writes = {Placement::sharded(0)};
    out->push_back(std::move(s));
  }
  Strategy r;
  r.name = "replicate";
  r.ways = n;
  r.writes = {Placement::replicated()};
  out->push_back(std::move(r));
}

}  // namespace

std::vector<Strategy> shardingRules(const Graph& graph, const Op& op, int devices) {
  std::vector<Strategy> out{whole(op)};
  if (op.kind == OpKind::Copy && (op.reads.empty() || op.writes.empty()))  // to or from host memory
    out[0].host_bytes = double(graph.tensors[op.writes.empty() ? op.reads[0] : op.writes[0]].bytes());
  if (devices <= 1) return out;
  switch (op.kind) {
    case OpKind::Gemm: gemmRules(graph, op, devices, &out); break;
    case OpKind::Elementwise: elementwiseRules(graph, op, devices, &out); break;
    case OpKind::Reduction: reductionRules(graph, op, devices, &out); break;
    case OpKind::Copy: copyRules(graph, op, devices, &out); break;
    case OpKind::Memset: memsetRules(graph, op, devices, &out); break;
    case OpKind::Opaque:
    case OpKind::Collective: break;
  }
  return out;
}

double bytesPerDevice(const Graph& graph, const Op& op, const Strategy& s, int devices) {
  auto part = [&](int t, const Placement& p) {
    double b = double(graph.tensors[t].bytes());
    return p.kind == Placement::Sharded ? b / devices : b;
  };
  double total = 0;
  for (size_t i = 0; i < op.reads.size(); ++i) total += part(op.reads[i], s.reads[i]);
  for (size_t i = 0; i < op.writes.size(); ++i) total += part(op.writes[i], s.writes[i]);
  return total;
}

}  // namespace moai::planner
