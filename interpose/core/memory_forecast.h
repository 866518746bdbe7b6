// MemoryForecast: the job's predicted peak device memory, which a shared
// lease reports to the scheduler (its quota follows it) and which the next
// run of the same program starts from (memory_history.h).
//
// The prediction is the most the program has held allocated plus the
// largest workspace an op it has run needs beyond its operands: training
// loops reach their peak in the first step and repeat it, so what the first
// synchronising call has seen is most of the answer. Not thread-safe: the
// client calls it under its lock.
#pragma once
#include <cstdint>
#include <optional>

#include "modnn/backend.h"

namespace moai {

class MemoryForecast {
 public:
  void allocated(uint64_t in_use);  // after an allocation: bytes the program holds now
  void op(uint64_t workspace);      // an op was recorded that needs this much scratch
  void synced();                    // a synchronising call returned

  uint64_t predictedPeak() const { return peak_ + workspace_; }
  uint64_t peakAllocated() const { return peak_; }
  // The prediction when the first synchronising call returned, if one has.
  std::optional<uint64_t> atFirstSync() const { return first_sync_; }

 private:
  uint64_t peak_ = 0, workspace_ = 0;
  std::optional<uint64_t> first_sync_;
};

// Device memory a GEMM needs beyond its operands on a device like `props`:
// the CPU backend converts operands that are not FP32 into FP32 scratch
// (modnn/cpu/ops/gemm_cpu.cpp); a GPU runs cuBLASLt with the CUDA backend's
// fixed workspace (modnn/cuda/cuda_blas.cpp).
uint64_t gemmWorkspaceBytes(const modnn_gemm& g, const modnn_device_props& props);

}  // namespace moai
