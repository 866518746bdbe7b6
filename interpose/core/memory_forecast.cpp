#include "interpose/core/memory_forecast.h"

#include <algorithm>
#include <cstring>

namespace moai {

void MemoryForecast::allocated(uint64_t in_use) { peak_ = std::max(peak_, in_use); }

void MemoryForecast::op(uint64_t workspace) { workspace_ = std::max(workspace_, workspace); }

void MemoryForecast::synced() {
  if (!first_sync_) first_sync_ = predictedPeak();
}

uint64_t gemmWorkspaceBytes(const modnn_gemm& g, const modnn_device_props& props) {
  constexpr uint64_t kCublasLtWorkspace = 32ull << 20;
  if (std::strcmp(props.kind, "cpu") != 0) return kCublasLtWorkspace;
  // Half-precision inputs: A and B widened (when oneDNN declines), and the
  // result built in FP32 unless D is FP32.
  bool half = g.a_type == MODNN_F16 || g.a_type == MODNN_BF16;
  if (!half || g.m <= 0 || g.n <= 0 || g.k <= 0) return 0;
  uint64_t m = uint64_t(g.m), n = uint64_t(g.n), k = uint64_t(g.k);
  uint64_t scratch = (m * k + k * n) * sizeof(float);
  if (g.d_type != MODNN_F32) scratch += m * n * sizeof(float);
  return scratch;
}

}  // namespace moai
