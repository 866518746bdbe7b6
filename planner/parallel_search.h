// Data x tensor x pipeline parallelism for transformer training (Megatron-LM
// style), searched over degrees instead of per op: at thousands of devices
// the per-op search would only rediscover this structure.
//
// For degrees (dp, tp, pp) and micro-batch b, with m = B / (dp b) micro-batches:
//   t_layer   per micro-batch: the layer's ops cut for tp (heads, FFN, QKV
//             columns), costed by the roofline; forward twice with recomputation
//   t_tp      6 all-reduces of b s h (2 forward, 2 recompute, 2 backward) per
//             layer over the tp group (NVLink when tp fits a node)
//   t_p2p     activations and their gradients between stages, b s h / tp each
//             (Megatron's scatter/gather), on the network when stages span nodes
//   t_stage   = l/pp (t_layer + t_tp) + 2 t_p2p (+ logits on the last stage)
//   pipeline  = (m + pp - 1) t_stage           (1F1B: bubble (pp-1)/m)
//   t_dp      ring all-reduce of the stage's gradients over dp, overlapped with
//             the last micro-batch's backward; only the excess is exposed
//   t_opt     Adam over the stage's parameters, memory bound
//   memory    16 bytes per parameter (bf16 weight and gradient, f32 master,
//             m, v) + stored layer inputs of the micro-batches in flight
//             (pp of them at the first stage) + one layer's working set
//             (Korthikanti et al.: s b h (10 + 24/tp + 5 a s/(h tp)))
#pragma once
#include <vector>

#include "planner/cluster.h"
#include "planner/transformer.h"

namespace moai::planner {

struct ParallelDegrees {
  int dp = 1, tp = 1, pp = 1, micro_batch = 1;
};

struct ParallelEstimate {
  ParallelDegrees degrees;
  int micro_batches = 0;             // per pipeline per step
  double step_seconds = 0;
  double stage_seconds = 0;          // one micro-batch through the slowest stage
  double layer_compute_seconds = 0;  // one layer, one micro-batch, forward+recompute+backward
  double tp_comm_seconds = 0;        // per step on the critical path
  double pp_comm_seconds = 0;
  double bubble_seconds = 0;
  double dp_comm_seconds = 0, dp_exposed_seconds = 0;
  double optimizer_seconds = 0;
  double memory_bytes = 0, memory_limit = 0;
  bool fits = false;
  double tokens_per_second = 0;
  double tflops_per_gpu = 0;         // Megatron's count (eq. 3, with recomputation) / step / GPUs
  double percent_of_peak = 0;        // that over the device's peak matmul FLOP/s
  double mfu = 0;                    // model FLOPs (no recomputation) / step / GPUs / peak
};

// One configuration; degrees must divide as Megatron requires (checked by the caller or search).
ParallelEstimate estimateParallel(const GptConfig& model, const Cluster& cluster, const ParallelDegrees& degrees);

// Every valid (dp, tp, pp, b) on `devices` devices, fitting ones first, fastest first.
std::vector<ParallelEstimate> searchParallel(const GptConfig& model, const Cluster& cluster, int devices);

}  // namespace moai::planner
