#include "planner/search.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>

#include "planner/sharding_rules.h"

namespace moai::planner {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kWalkBack = 64;  // how far the DP follows its path to cost a non-adjacent producer

struct Edge {
  int from_op, from_write;  // producer and index into its writes
  int to_op, to_read;       // consumer and index into its reads
  int tensor;
  bool carried;             // written at the end of one step, read at the start of the next
};

modnn_dtype opDtype(const Graph& g, const Op& op) {
  if (!op.reads.empty()) return g.tensors[op.reads[0]].dtype;
  if (!op.writes.empty()) return g.tensors[op.writes[0]].dtype;
  return MODNN_F32;
}

// The largest share of a tensor any one device holds under a placement.
double deviceShare(const Tensor& t, const Placement& p, int n) {
  return p.kind == Placement::Sharded ? double(t.bytes()) / n : double(t.bytes());
}

struct Problem {
  const Graph& g;
  const CostModel& m;
  int n;
  std::vector<std::vector<Strategy>> cand;
  std::vector<std::vector<double>> unary;     // compute seconds
  std::vector<std::vector<double>> mem;       // per-device bytes the op's operands hold
  std::vector<std::vector<int>> in_edges, out_edges;
  std::vector<Edge> edges;

  Problem(const Graph& graph, const CostModel& model, const SearchOptions& options = {})
      : g(graph), m(model), n(model.devices()) {
    const size_t nops = g.ops.size();
    cand.resize(nops), unary.resize(nops), mem.resize(nops), in_edges.resize(nops), out_edges.resize(nops);
    for (size_t i = 0; i < nops; ++i) {
      const Op& op = g.ops[i];
      cand[i] = shardingRules(g, op, n);
      if (options.runnable)
        cand[i].erase(std::remove_if(cand[i].begin() + 1, cand[i].end(),
                                     [&](const Strategy& s) { return !options.runnable(op, s); }),
                      cand[i].end());
      for (const Strategy& s : cand[i]) {
        double t = m.computeSeconds(op, opDtype(g, op), op.totalFlops() * s.work_share, bytesPerDevice(g, op, s, n));
        if (s.host_bytes > 0) t += m.hostTransfer(s.host_bytes);
        double bytes = 0;
        for (size_t r = 0; r < op.reads.size(); ++r) bytes += deviceShare(g.tensors[op.reads[r]], s.reads[r], n);
        for (size_t w = 0; w < op.writes.size(); ++w) bytes += deviceShare(g.tensors[op.writes[w]], s.writes[w], n);
        unary[i].push_back(t);
        mem[i].push_back(bytes);
      }
    }
    // Producer of each read: the last writer before it; segment inputs that the
    // segment also writes are carried from the last writer of the previous step.
    std::vector<std::pair<int, int>> last_writer(g.tensors.size(), {-1, -1});
    std::vector<std::pair<int, int>> first_reader(g.tensors.size(), {-1, -1});
    for (size_t j = 0; j < nops; ++j) {
      const Op& op = g.ops[j];
      for (size_t r = 0; r < op.reads.size(); ++r) {
        int t = op.reads[r];
        auto [w_op, w_idx] = last_writer[t];
        if (w_op >= 0)
          addEdge({w_op, w_idx, int(j), int(r), t, false});
        else if (first_reader[t].first < 0)
          first_reader[t] = {int(j), int(r)};
      }
      for (size_t w = 0; w < op.writes.size(); ++w) last_writer[op.writes[w]] = {int(j), int(w)};
    }
    for (size_t t = 0; t < g.tensors.size(); ++t)
      if (first_reader[t].first >= 0 && last_writer[t].first >= 0)
        addEdge({last_writer[t].first, last_writer[t].second, first_reader[t].first, first_reader[t].second, int(t), true});
  }

  void addEdge(Edge e) {
    int id = static_cast<int>(edges.size());
    edges.push_back(e);
    in_edges[e.to_op].push_back(id);
    out_edges[e.from_op].push_back(id);
  }

  double edgeCost(const Edge& e, int s_from, int s_to) const {
    const Placement& from = cand[e.from_op][s_from].writes[e.from_write];
    const Placement& to = cand[e.to_op][s_to].reads[e.to_read];
    return m.reshardSeconds(double(g.tensors[e.tensor].bytes()), from, to, nullptr);
  }

  double local(const std::vector<int>& choice, double lambda, int j, int s) const {
    double c = unary[j][s] + lambda * mem[j][s];
    for (int id : in_edges[j]) {
      const Edge& e = edges[id];
      c += edgeCost(e, e.from_op == j ? s : choice[e.from_op], s);  // an op updating state in place
    }
    for (int id : out_edges[j])
      if (edges[id].to_op != j) c += edgeCost(edges[id], s, choice[edges[id].to_op]);
    return c;
  }

  std::vector<int> viterbi(double lambda) const {
    const int nops = static_cast<int>(g.ops.size());
    std::vector<std::vector<double>> dp(nops);
    std::vector<std::vector<int>> back(nops);
    std::vector<int> path;
    for (int j = 0; j < nops; ++j) {
      const int ns = static_cast<int>(cand[j].size());
      dp[j].assign(ns, kInf);
      back[j].assign(ns, 0);
      if (j == 0) {
        for (int s = 0; s < ns; ++s) dp[j][s] = unary[j][s] + lambda * mem[j][s];
        continue;
      }
      const int np = static_cast<int>(cand[j - 1].size());
      for (int sp = 0; sp < np; ++sp) {
        // The states of this path's earlier producers (non-adjacent edges).
        std::vector<std::pair<int, int>> producers;  // edge id, producer state
        for (int id : in_edges[j]) {
          const Edge& e = edges[id];
          if (e.carried || e.from_op == j - 1) continue;
          int state = sp, at = j - 1;
          if (j - 1 - e.from_op <= kWalkBack) {
            while (at > e.from_op) state = back[at][state], --at;
          } else {
            state = int(std::min_element(dp[e.from_op].begin(), dp[e.from_op].end()) - dp[e.from_op].begin());
          }
          producers.push_back({id, state});
        }
        for (int s = 0; s < ns; ++s) {
          double c = dp[j - 1][sp];
          for (int id : in_edges[j]) {
            const Edge& e = edges[id];
            if (!e.carried && e.from_op == j - 1) c += edgeCost(e, sp, s);
          }
          for (auto [id, state] : producers) c += edgeCost(edges[id], state, s);
          if (c < dp[j][s]) dp[j][s] = c, back[j][s] = sp;
        }
      }
      for (int s = 0; s < ns; ++s) dp[j][s] += unary[j][s] + lambda * mem[j][s];
    }
    std::vector<int> choice(nops, 0);
    if (nops == 0) return choice;
    int s = int(std::min_element(dp[nops - 1].begin(), dp[nops - 1].end()) - dp[nops - 1].begin());
    for (int j = nops - 1; j >= 0; --j) {
      choice[j] = s;
      s = back[j][s];
    }
    return choice;
  }

  void refine(std::vector<int>* choice, double lambda) const {
    for (int sweep = 0; sweep < 8; ++sweep) {
      bool changed = false;
      for (size_t j = 0; j < g.ops.size(); ++j) {
        int best = (*choice)[j];
        double best_c = local(*choice, lambda, int(j), best);
        for (int s = 0; s < int(cand[j].size()); ++s) {
          double c = local(*choice, lambda, int(j), s);
          if (c < best_c - 1e-15) best = s, best_c = c;
        }
        if (best != (*choice)[j]) (*choice)[j] = best, changed = true;
      }
      if (!changed) break;
    }
  }

  // The plan of a fixed choice: transfers with exact bookkeeping of which
  // placements of each tensor exist, memory by live ranges.
  Plan evaluate(const std::vector<int>& choice, const std::vector<bool>& offloaded) const {
    Plan p;
    p.devices = n;
    const size_t nt = g.tensors.size(), nops = g.ops.size();
    std::vector<std::vector<Placement>> avail(nt);
    std::vector<Placement> first_need(nt);
    std::vector<int> first_use(nt, -1), last_use(nt, -1);
    std::vector<bool> read_before_write(nt, false), written(nt, false);
    std::vector<double> everywhere(nt, 0);  // the largest share it has on every device
    std::vector<double> on_dev0(nt, 0);     // the largest it has whole on device 0

    auto addTransfer = [&](int t, int before, const std::string& name, Placement from, Placement to, double secs,
                           double moved) {
      p.transfers.push_back({t, before, name, from, to, g.tensors[t].bytes(), secs});
      p.bytes_moved += int64_t(moved);
      if (before >= 0) p.ops[before].comm_seconds += secs;
      if (name == "host->device" || name == "device->host")
        p.offload_seconds += secs;
      else
        p.comm_seconds += secs;
    };
    auto note = [&](int t, int j, const Placement& pl) {
      if (first_use[t] < 0) first_use[t] = j;
      last_use[t] = j;
      double share = deviceShare(g.tensors[t], pl, n);
      double& line = pl.kind == Placement::Whole ? on_dev0[t] : everywhere[t];
      line = std::max(line, share);
    };

    for (size_t j = 0; j < nops; ++j) {
      const Op& op = g.ops[j];
      const Strategy& s = cand[j][choice[j]];
      OpAssignment a{int(j), s.name, s.ways, 0, 0};
      p.ops.push_back(a);
      for (size_t r = 0; r < op.reads.size(); ++r) {
        int t = op.reads[r];
        const Placement& need = s.reads[r];
        note(t, int(j), need);
        if (!written[t]) read_before_write[t] = true;
        if (offloaded[t]) {
          double b = deviceShare(g.tensors[t], need, n);
          addTransfer(t, int(j), "host->device", need, need, m.hostTransfer(b), b * (need.kind == Placement::Whole ? 1 : n));
          continue;
        }
        if (avail[t].empty()) {  // enters the segment laid out as its first reader wants
          avail[t].push_back(need);
          first_need[t] = need;
          continue;
        }
        if (std::find(avail[t].begin(), avail[t].end(), need) != avail[t].end()) continue;
        double best = kInf;
        Placement from;
        std::string name;
        for (const Placement& have : avail[t]) {
          std::string c;
          double secs = m.reshardSeconds(double(g.tensors[t].bytes()), have, need, &c);
          if (secs < best) best = secs, from = have, name = c;
        }
        if (!name.empty()) addTransfer(t, int(j), name, from, need, best, double(g.tensors[t].bytes()));
        avail[t].push_back(need);
      }
      double dev_bytes = bytesPerDevice(g, op, s, n);
      double secs = m.computeSeconds(op, opDtype(g, op), op.totalFlops() * s.work_share, dev_bytes);
      if (s.host_bytes > 0) {
        double h = m.hostTransfer(s.host_bytes);
        secs += h;
        p.bytes_moved += int64_t(s.host_bytes * (s.ways > 1 ? s.ways : 1));
      }
      p.ops[j].compute_seconds = secs;
      p.compute_seconds += secs;
      for (size_t w = 0; w < op.writes.size(); ++w) {
        int t = op.writes[w];
        note(t, int(j), s.writes[w]);
        written[t] = true;
        avail[t] = {s.writes[w]};
        if (offloaded[t]) {
          double b = deviceShare(g.tensors[t], s.writes[w], n);
          addTransfer(t, int(j), "device->host", s.writes[w], s.writes[w], m.hostTransfer(b), b);
        }
      }
    }
    // End of step: state the next step reads goes back to the layout it wants;
    // partial sums left over become values.
    for (size_t t = 0; t < nt; ++t) {
      if (avail[t].empty() || offloaded[t]) continue;
      bool carried = read_before_write[t] && written[t];
      Placement want = carried ? first_need[t] : Placement::sharded(0);
      bool have = std::find(avail[t].begin(), avail[t].end(), want) != avail[t].end();
      if (carried && !have) {
        std::string c;
        double secs = m.reshardSeconds(double(g.tensors[t].bytes()), avail[t].back(), want, &c);
        if (!c.empty()) addTransfer(int(t), -1, c, avail[t].back(), want, secs, double(g.tensors[t].bytes()));
      } else if (!carried && avail[t].size() == 1 && avail[t][0].kind == Placement::Partial) {
        std::string c;
        double secs = m.reshardSeconds(double(g.tensors[t].bytes()), avail[t][0], want, &c);
        addTransfer(int(t), -1, c, avail[t][0], want, secs, double(g.tensors[t].bytes()));
      }
    }
    // Memory: a tensor occupies its footprint over its live range; state that
    // outlives the step (read before written, or never read after its last
    // write) lives throughout. Offloaded tensors stream through in tiles whose
    // staging buffers are not counted.
    std::vector<double> uniform(nops + 1, 0), dev0(nops + 1, 0);
    for (size_t t = 0; t < nt; ++t) {
      if (first_use[t] < 0 || offloaded[t]) continue;
      bool persistent = read_before_write[t] || (written[t] && last_use[t] == first_use[t]);
      int lo = persistent ? 0 : first_use[t];
      int hi = persistent ? int(nops) : last_use[t] + 1;
      double extra = std::max(0.0, on_dev0[t] - everywhere[t]);
      uniform[lo] += everywhere[t], uniform[hi] -= everywhere[t];
      dev0[lo] += extra, dev0[hi] -= extra;
    }
    double u = 0, d0 = 0;
    for (size_t j = 0; j < nops; ++j) {
      u += uniform[j], d0 += dev0[j];
      p.peak_bytes_per_device = std::max(p.peak_bytes_per_device, u + d0);
    }
    for (size_t t = 0; t < nt; ++t)
      if (offloaded[t]) p.offloaded.push_back(int(t));
    p.step_seconds = p.compute_seconds + p.comm_seconds + p.offload_seconds;
    return p;
  }
};

}  // namespace

Plan planGraph(const Graph& graph, const CostModel& model, const SearchOptions& options) {
  auto start = std::chrono::steady_clock::now();
  Problem pb(graph, model, options);
  const double limit = options.memory_limit > 0 ? options.memory_limit : model.memoryPerDevice();
  std::vector<bool> offloaded(graph.tensors.size(), false);

  auto solve = [&](double lambda) {
    std::vector<int> c = pb.viterbi(lambda);
    pb.refine(&c, lambda);
    return c;
  };
  std::vector<int> choice = solve(0);
  Plan best = pb.evaluate(choice, offloaded);
  if (best.peak_bytes_per_device > limit && !graph.ops.empty()) {
    // Raise the price of memory until the plan fits; keep the fastest that does.
    double lambda = std::max(best.step_seconds, 1e-9) / std::max(best.peak_bytes_per_device, 1.0) * 0.01;
    Plan least = best;
    std::vector<int> least_choice = choice;
    bool found = false;
    for (int it = 0; it < 40 && !found; ++it, lambda *= 2) {
      std::vector<int> c = solve(lambda);
      Plan p = pb.evaluate(c, offloaded);
      if (p.peak_bytes_per_device < least.peak_bytes_per_device) least = p, least_choice = c;
      if (p.peak_bytes_per_device <= limit) best = p, choice = c, found = true;
    }
    if (!found) {
      best = least, choice = least_choice;
      if (options.allow_offload) {
        // Largest tensors first: each one streamed saves the most memory per decision.
        std::vector<int> order(graph.tensors.size());
        for (size_t t = 0; t < order.size(); ++t) order[t] = int(t);
        std::sort(order.begin(), order.end(),
                  [&](int a, int b) { return graph.tensors[a].bytes() > graph.tensors[b].bytes(); });
        for (int t : order) {
          if (best.peak_bytes_per_device <= limit) break;
          offloaded[t] = true;
          best = pb.evaluate(choice, offloaded);
        }
      }
    }
  }
  best.graph_hash = graphHash(graph);
  best.memory_per_device = limit;
  best.fits = best.peak_bytes_per_device <= limit;
  best.single_device_seconds = singleDevicePlan(graph, model).step_seconds;
  best.planning_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return best;
}

Plan singleDevicePlan(const Graph& graph, const CostModel& model) {
  Problem pb(graph, model);
  Plan p = pb.evaluate(std::vector<int>(graph.ops.size(), 0), std::vector<bool>(graph.tensors.size(), false));
  p.graph_hash = graphHash(graph);
  p.memory_per_device = model.memoryPerDevice();
  p.single_device_seconds = p.step_seconds;
  return p;
}

}  // namespace moai::planner
