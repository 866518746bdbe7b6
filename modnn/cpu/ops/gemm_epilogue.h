// The epilogue of a GEMM (bias, activation, their gradients) on one batch
// entry's result, computed in T (float, or double for f64 GEMMs).
#pragma once
#include <cstdint>

#include "modnn/ops.h"

namespace modnn::cpu {

// The host addresses of one batch entry's operands.
struct GemmEntry {
  const uint8_t* a = nullptr;
  const uint8_t* b = nullptr;
  const uint8_t* c = nullptr;
  uint8_t* d = nullptr;
  uint8_t* bias = nullptr;
  uint8_t* aux = nullptr;
};

// Applies g's epilogue to `work`, the m x n result (alpha op(A) op(B) +
// beta C, column-major, leading dimension ld) of entry `e`.
template <class T>
void applyEpilogue(const modnn_gemm& g, const GemmEntry& e, T* work, int64_t ld);

}  // namespace modnn::cpu
