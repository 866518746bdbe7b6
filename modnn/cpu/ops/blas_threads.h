// OpenBLAS's thread count is one process-wide setting, but each CPU device
// has its own. A BlasThreads scope runs BLAS calls with its device's count:
// devices with the same count run together, different counts take turns.
#pragma once

namespace modnn::cpu {

class BlasThreads {
 public:
  explicit BlasThreads(int threads);
  ~BlasThreads();
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;
};

}  // namespace modnn::cpu
