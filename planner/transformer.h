// GPT-style transformer training steps as planner graphs (Megatron's layer:
// layernorm, QKV, attention, projection, MLP with GELU, residuals; full
// activation recomputation before each layer's backward; Adam).
#pragma once
#include <string>
#include <vector>

#include "planner/graph.h"

namespace moai::planner {

struct GptConfig {
  std::string name;
  int layers = 0, hidden = 0, heads = 0, seq = 0, vocab = 0;
  int global_batch = 0;              // sequences per step
  int micro_batch = 1;               // sequences per micro-batch
  modnn_dtype dtype = MODNN_BF16;    // weights and activations; optimizer state is f32
  bool recompute = true;             // full activation recomputation (Megatron's default at scale)

  // P = 12 l h^2 (1 + 13/(12h) + (V+s)/(12lh))  (Narayanan et al., eq. 2)
  double parameters() const;
  // FLOPs of one step as Megatron counts them (eq. 3, recomputation included):
  // 96 B s l h^2 (1 + s/(6h) + V/(16lh)).
  double megatronFlops() const;
  // Model FLOPs without recomputation, for MFU: 72 B s l h^2 (1 + s/(6h) + V/(12lh)).
  double modelFlops() const;
};

// gpt3-175b (96 layers, 12288 hidden, 96 heads, seq 2048, vocab 51200,
// global batch 1536), the Megatron Table 1 models megatron-{18b,39b,76b,145b,
// 310b,530b,1t}, and gpt-small for tests. False if unknown.
bool gptPreset(const std::string& name, GptConfig* out_config);
std::vector<std::string> gptPresetNames();

struct GptGraphOptions {
  int tp = 1;              // tensor-parallel degree the shapes are cut for (heads, FFN, QKV columns)
  int layers = -1;         // transformer layers to emit (-1: all)
  bool backward = true;    // gradients (and recomputation when configured)
  bool embedding = true;   // token embedding, logits and loss
  bool optimizer = true;   // Adam on every parameter
};

// One micro-batch's step: forward, backward and the optimizer, as ops.
Graph gptTrainingStep(const GptConfig& config, const GptGraphOptions& options = {});

}  // namespace moai::planner
