// Addresses and scalars inside a running op.
#pragma once
#include <cstdint>

#include "modnn/cpu/buffer_table.h"
#include "modnn/cpu/ops/cpu_ops.h"

namespace modnn::cpu {

// Host address of an operand the client checked when it recorded the op:
// inside a device buffer, or page-locked host memory addressed as itself.
inline uint8_t* operand(const OpDevice& dev, uint64_t va, uint64_t bytes) {
  if (uint8_t* p = dev.buffers.find(va, bytes)) return p;
  return reinterpret_cast<uint8_t*>(va);
}

// Host address of a range nobody checked yet (read from device memory, e.g.
// a pointer array entry): only a device buffer will do; null otherwise.
inline uint8_t* unchecked(const OpDevice& dev, uint64_t va, uint64_t bytes) { return dev.buffers.find(va, bytes); }

inline uint64_t matrixBytes(int64_t rows, int64_t cols, int64_t ld, size_t elem) {
  return modnn_matrix_bytes(rows, cols, ld, elem);
}

// Bytes spanned by n elements spaced |inc| apart.
inline uint64_t vectorBytes(int64_t n, int64_t inc, size_t elem) {
  return matrixBytes(1, n, inc < 0 ? -inc : inc, elem);
}

// A scalar argument: the host value, or the one stored at `ptr`, as (re, im).
void loadScalar(const OpDevice& dev, const double host[2], uint64_t ptr, modnn_dtype type, double out[2]);

}  // namespace modnn::cpu
