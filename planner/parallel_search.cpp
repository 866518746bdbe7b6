#include "planner/parallel_search.h"

#include <algorithm>
#include <map>

#include "planner/cost_model.h"

namespace moai::planner {
namespace {

// Seconds of a graph's ops run whole on one device of the group.
double graphSeconds(const Graph& g, const CostModel& m) {
  double t = 0;
  for (const Op& op : g.ops) {
    modnn_dtype dt = op.reads.empty() ? MODNN_F32 : g.tensors[op.reads[0]].dtype;
    t += m.computeSeconds(op, dt, op.totalFlops(), double(g.opBytes(op)));
  }
  return t;
}

struct LayerCost {
  double forward = 0, step = 0;  // one layer, one micro-batch; step = fwd (+recompute) + bwd
  double head = 0;               // logits, loss and their backward
};

LayerCost layerCost(const GptConfig& model, const CostModel& m, int tp, int micro_batch) {
  GptConfig c = model;
  c.micro_batch = micro_batch;
  GptGraphOptions o;
  o.tp = tp, o.layers = 1, o.embedding = false, o.optimizer = false;
  o.backward = false;
  LayerCost lc;
  lc.forward = graphSeconds(gptTrainingStep(c, o), m);
  o.backward = true;
  lc.step = graphSeconds(gptTrainingStep(c, o), m);
  o.layers = 0, o.embedding = true;
  lc.head = graphSeconds(gptTrainingStep(c, o), m);
  return lc;
}

}  // namespace

ParallelEstimate estimateParallel(const GptConfig& model, const Cluster& cluster, const ParallelDegrees& d) {
  ParallelEstimate e;
  e.degrees = d;
  const int n = d.dp * d.tp * d.pp;
  const Cluster cl = cluster.withDevices(n);
  const CostModel one(cl, 1);
  const DeviceKind& kind = one.slowestKind();
  const double b = d.micro_batch, s = model.seq, h = model.hidden, a = model.heads;
  const double act_bytes = b * s * h * modnn_dtype_size(model.dtype);
  const double layers_per_stage = double(model.layers) / d.pp;
  e.micro_batches = model.global_batch / (d.dp * d.micro_batch);

  LayerCost lc = layerCost(model, one, d.tp, d.micro_batch);
  e.layer_compute_seconds = lc.step;

  // Tensor parallelism: consecutive devices, one node when tp fits in it.
  const CostModel tp_group(cl, d.tp);
  const int allreduces = model.recompute ? 6 : 4;
  const double tp_layer = allreduces * tp_group.allReduce(act_bytes);

  // Pipeline neighbours are dp*tp devices apart: another node once that fills one.
  const bool p2p_network = d.tp * d.dp >= cl.devicesPerNode() && d.pp > 1;
  Link p2p_link = cl.intra_node;
  if (p2p_network) p2p_link = Link{cl.inter_node.bandwidth / cl.devicesPerNode(), cl.inter_node.latency};
  const double p2p = d.pp > 1 ? 2 * pointToPointSeconds(act_bytes / d.tp, p2p_link) : 0;

  e.stage_seconds = layers_per_stage * (lc.step + tp_layer) + p2p + lc.head / d.tp;
  const double pipeline = (e.micro_batches + d.pp - 1) * e.stage_seconds;
  e.bubble_seconds = (d.pp - 1) * e.stage_seconds;
  e.tp_comm_seconds = (e.micro_batches + d.pp - 1) * layers_per_stage * tp_layer;
  e.pp_comm_seconds = (e.micro_batches + d.pp - 1) * p2p;

  // Data parallelism: the stage's gradients, over devices tp apart.
  const double params_local = model.parameters() / (double(d.tp) * d.pp);
  const double grad_bytes = params_local * modnn_dtype_size(model.dtype);
  const CostModel dp_group(cl, d.dp, d.tp);
  e.dp_comm_seconds = dp_group.allReduce(grad_bytes);
  // A layer's gradients are final after its last micro-batch's backward (and
  // recomputation), so the all-reduce hides behind the rest of that pass.
  const double window = layers_per_stage * (lc.step - lc.forward);
  e.dp_exposed_seconds = std::max(e.dp_comm_seconds - window, e.dp_comm_seconds / std::max(layers_per_stage, 1.0));
  if (d.dp == 1) e.dp_exposed_seconds = 0;

  // Adam: read weight, gradient, master, m, v; write weight, master, m, v.
  const double adam_bytes = params_local * (2 * 2 + 2 + 3 * 4 * 2);
  Op adam;
  adam.kind = OpKind::Elementwise;
  e.optimizer_seconds = one.computeSeconds(adam, MODNN_F32, params_local * 12, adam_bytes);

  e.step_seconds = pipeline + e.dp_exposed_seconds + e.optimizer_seconds;

  e.memory_limit = kind.memory_bytes;
  const double in_flight = std::min<double>(d.pp, e.micro_batches);
  const double stored = model.recompute ? layers_per_stage * in_flight * act_bytes
                                        : layers_per_stage * in_flight * s * b * h * (10 + 24.0 / d.tp + 5 * a * s / (h * d.tp));
  const double working = s * b * h * (10 + 24.0 / d.tp + 5 * a * s / (h * d.tp));
  e.memory_bytes = params_local * 16 + stored + working;
  e.fits = e.memory_bytes <= e.memory_limit;

  const double peak = kind.matmul_flops[model.dtype];
  e.tokens_per_second = double(model.global_batch) * model.seq / e.step_seconds;
  e.tflops_per_gpu = model.megatronFlops() / e.step_seconds / n / 1e12;
  e.percent_of_peak = 100 * e.tflops_per_gpu * 1e12 / peak;
  e.mfu = model.modelFlops() / e.step_seconds / n / peak;
  return e;
}

std::vector<ParallelEstimate> searchParallel(const GptConfig& model, const Cluster& cluster, int devices) {
  std::vector<ParallelEstimate> out;
  for (int tp = 1; tp <= devices && tp <= model.heads; tp *= 2) {
    if (model.heads % tp || (4 * model.hidden) % tp) continue;
    for (int pp = 1; pp <= model.layers && tp * pp <= devices; ++pp) {
      if (model.layers % pp || devices % (tp * pp)) continue;
      int dp = devices / (tp * pp);
      if (model.global_batch % dp) continue;
      for (int b = 1; b <= 16; b *= 2) {
        if ((model.global_batch / dp) % b) continue;
        out.push_back(estimateParallel(model, cluster, {dp, tp, pp, b}));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const ParallelEstimate& x, const ParallelEstimate& y) {
    if (x.fits != y.fits) return x.fits;
    return x.step_seconds < y.step_seconds;
  });
  return out;
}

}  // namespace moai::planner
