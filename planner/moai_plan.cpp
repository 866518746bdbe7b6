// moai-plan: plans a recorded graph or a generated transformer training step
// for a described cluster without running anything, and prints what the cost
// model predicts (and, for GPT-3 175B, how that compares with Megatron-LM).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "planner/cluster.h"
#include "planner/cost_model.h"
#include "planner/megatron_reference.h"
#include "planner/parallel_search.h"
#include "planner/plan_cache.h"
#include "planner/recorded_graph_file.h"
#include "planner/search.h"
#include "planner/transformer.h"

using namespace moai::planner;

namespace {

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void printCluster(const Cluster& c) {
  const DeviceKind& k = c.kindOf(0);
  int best = 0;  // the dtype the device is fastest at, for the summary line
  for (int d = 0; d <= MODNN_DTYPE_MAX; ++d)
    if (k.matmul_flops[d] >= k.matmul_flops[best]) best = d;  // ties: the later (bf16 over f16)
  std::printf("cluster %s: %d x %s (%d per node, %.0f GiB, %.4g TFLOP/s %s peak), intra-node %.0f GB/s, "
              "inter-node %.0f GB/s per node\n",
              c.name.c_str(), c.deviceCount(), k.name.c_str(), c.devicesPerNode(), k.memory_bytes / (1 << 30),
              k.matmul_flops[best] / 1e12, dtypeName(static_cast<modnn_dtype>(best)), c.intra_node.bandwidth / 1e9,
              c.inter_node.bandwidth / 1e9);
}

int planTransformer(const GptConfig& model, const Cluster& cluster, int top, bool per_op, const std::string& json) {
  std::printf("model %s: %d layers, hidden %d, %d heads, seq %d, vocab %d, global batch %d; %.1f B parameters\n",
              model.name.c_str(), model.layers, model.hidden, model.heads, model.seq, model.vocab, model.global_batch,
              model.parameters() / 1e9);
  printCluster(cluster);
  auto start = std::chrono::steady_clock::now();
  std::vector<ParallelEstimate> all = searchParallel(model, cluster, cluster.deviceCount());
  double searched = secondsSince(start);
  const bool fits = !all.empty() && all[0].fits;
  if (!fits) {
    std::printf("no (dp, tp, pp, micro-batch) fits %d devices' memory (%zu configurations tried)\n",
                cluster.deviceCount(), all.size());
  } else {
    std::printf("searched %zu (dp, tp, pp, micro-batch) configurations in %.1f ms; best %d:\n", all.size(),
                searched * 1e3, top);
    std::printf("  %4s %4s %4s %3s %5s %9s %10s %9s %6s %6s %8s | %8s %8s %8s %8s %8s\n", "dp", "tp", "pp", "b",
                "m", "step s", "tokens/s", "TF/GPU", "%peak", "MFU", "mem GiB", "bubble", "tp comm", "pp comm",
                "dp exp.", "optim.");
    for (int i = 0; i < top && i < int(all.size()); ++i) {
      const ParallelEstimate& e = all[i];
      std::printf("  %4d %4d %4d %3d %5d %9.3f %10.0f %9.1f %5.1f%% %5.1f%% %8.1f | %8.3f %8.3f %8.3f %8.3f %8.3f%s\n",
                  e.degrees.dp, e.degrees.tp, e.degrees.pp, e.degrees.micro_batch, e.micro_batches, e.step_seconds,
                  e.tokens_per_second, e.tflops_per_gpu, e.percent_of_peak, 100 * e.mfu, e.memory_bytes / (1 << 30),
                  e.bubble_seconds, e.tp_comm_seconds, e.pp_comm_seconds, e.dp_exposed_seconds, e.optimizer_seconds,
                  e.fits ? "" : "  (does not fit)");
    }
    const ParallelEstimate& best = all[0];
    std::printf("predicted step time %.3f s, %.0f tokens/s, %.1f TFLOP/s per GPU (%.1f%% of peak), MFU %.1f%%\n",
                best.step_seconds, best.tokens_per_second, best.tflops_per_gpu, best.percent_of_peak, 100 * best.mfu);
  }
  if (model.name == "gpt3-175b") {
    std::printf("\n");
    printMegatronComparison(cluster, std::cout);
  }
  if (per_op) {
    // The op-by-op search on one micro-batch of the generated step, over the
    // devices of one node: what the client does with a recorded segment.
    GptConfig one = model;
    one.global_batch = one.micro_batch;
    Graph g = gptTrainingStep(one);
    int n = std::min(cluster.deviceCount(), cluster.devicesPerNode());
    CostModel m(cluster, n);
    PlanCache cache;
    bool hit = false;
    const Plan& plan = cache.plan(g, m, {}, &hit);
    std::printf("\nper-op plan of one micro-batch on %d devices:\n", n);
    printPlan(plan, g, std::cout);
    auto again = std::chrono::steady_clock::now();
    cache.plan(g, m, {}, &hit);
    std::printf("planning: %zu ops in %.3f s first time, %.1f us from the plan cache (hit: %s)\n", g.ops.size(),
                plan.planning_seconds, secondsSince(again) * 1e6, hit ? "yes" : "no");
    if (!json.empty()) std::ofstream(json) << planToJson(plan, g) << "\n";
  }
  return fits ? 0 : 2;
}

int planRecording(const std::string& path, const Cluster& cluster, const std::string& json) {
  std::vector<Graph> segments;
  std::string err;
  if (!readRecordingFile(path, &segments, &err)) {
    std::fprintf(stderr, "moai-plan: %s\n", err.c_str());
    return 1;
  }
  printCluster(cluster);
  CostModel m(cluster, cluster.deviceCount());
  PlanCache cache;
  std::ofstream json_out;
  if (!json.empty()) json_out.open(json);
  for (size_t i = 0; i < segments.size(); ++i) {
    bool hit = false;
    auto start = std::chrono::steady_clock::now();
    const Plan& plan = cache.plan(segments[i], m, {}, &hit);
    if (hit) {
      std::printf("segment %zu: same graph as an earlier segment, plan from the cache in %.1f us\n", i,
                  secondsSince(start) * 1e6);
      continue;
    }
    std::printf("segment %zu: ", i);
    printPlan(plan, segments[i], std::cout);
    // MFU against the matmul peak of the dtype doing most of the GEMM work.
    const Graph& g = segments[i];
    double flops = 0;
    std::array<double, MODNN_DTYPE_MAX + 1> gemm_flops{};
    for (const Op& op : g.ops) {
      flops += op.totalFlops();
      if (op.kind == OpKind::Gemm) gemm_flops[g.tensors[op.reads[0]].dtype] += op.totalFlops();
    }
    const DeviceKind& k = m.slowestKind();
    auto top = std::max_element(gemm_flops.begin(), gemm_flops.end());
    double peak = *top > 0 ? k.matmul_flops[top - gemm_flops.begin()] : k.vector_flops;
    if (plan.step_seconds > 0)
      std::printf("  %.3g GFLOP per step, %.2f TFLOP/s per device, MFU %.1f%%\n", flops / 1e9,
                  flops / plan.step_seconds / plan.devices / 1e12, 100 * flops / plan.step_seconds / plan.devices / peak);
    if (json_out) json_out << planToJson(plan, segments[i]) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"moai-plan: plans a recorded graph or a transformer training step for a described cluster"};
  std::string cluster_path, graph_path, preset, json;
  int devices = 0, global_batch = 0, top = 5;
  bool per_op = false;
  app.add_option("--cluster", cluster_path, "cluster TOML (planner/examples/)")->required()->check(CLI::ExistingFile);
  auto* g = app.add_option("--graph", graph_path, "recorded graph (MOAI_RECORD=file, JSON lines)")->check(CLI::ExistingFile);
  std::string names;
  for (const std::string& n : gptPresetNames()) names += (names.empty() ? "" : ", ") + n;
  auto* t = app.add_option("--transformer", preset, "generated GPT training step: " + names);
  g->excludes(t);
  app.add_option("--devices", devices, "devices to plan for (default: all in the cluster file)")->check(CLI::Range(1, 1 << 20));
  app.add_option("--global-batch", global_batch, "override the preset's global batch")->check(CLI::Range(1, 1 << 24));
  app.add_option("--top", top, "configurations to list")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_flag("--per-op", per_op, "also plan one micro-batch of the transformer op by op (one node)");
  app.add_option("--json", json, "write the per-op plan as JSON here");
  CLI11_PARSE(app, argc, argv);

  Cluster cluster;
  std::string err;
  if (!readClusterToml(cluster_path, &cluster, &err)) {
    std::fprintf(stderr, "moai-plan: %s\n", err.c_str());
    return 1;
  }
  if (devices) cluster = cluster.withDevices(devices);
  if (!graph_path.empty()) return planRecording(graph_path, cluster, json);
  if (preset.empty()) {
    std::fprintf(stderr, "moai-plan: give --graph or --transformer\n");
    return 1;
  }
  GptConfig model;
  if (!gptPreset(preset, &model)) {
    std::fprintf(stderr, "moai-plan: unknown transformer '%s' (known: %s)\n", preset.c_str(), names.c_str());
    return 1;
  }
  if (global_batch) model.global_batch = global_batch;
  return planTransformer(model, cluster, top, per_op, json);
}
