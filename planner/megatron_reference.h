// Published Megatron-LM throughput to compare predictions with: Narayanan et
// al., "Efficient Large-Scale Language Model Training on GPU Clusters Using
// Megatron-LM", SC'21 (arXiv:2104.04473). A100-80GB, bf16/fp16 peak 312 TFLOP/s.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "planner/cluster.h"

namespace moai::planner {

struct MegatronResult {
  const char* preset;       // gptPreset name
  int gpus, global_batch;
  int tp, pp;               // 0: not stated for this run
  double tflops_per_gpu;    // as published
  int percent_of_peak;      // as published (0: not stated)
  const char* source;       // where in the paper
};

const std::vector<MegatronResult>& megatronResults();

// The side-by-side table: for each published run, the prediction with the
// paper's (tp, pp) where stated and with the degrees the search picks.
void printMegatronComparison(const Cluster& cluster, std::ostream& out);

}  // namespace moai::planner
