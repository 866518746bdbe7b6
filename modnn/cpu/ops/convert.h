// Element conversions between moDNN dtypes, for the half-precision paths.
#pragma once
#include <cstddef>
#include <cstdint>

#include "modnn/ops.h"

namespace modnn::cpu {

// n elements of `type` (F16, BF16, F32, F64) to f32 and back.
void toFloat(const void* src, modnn_dtype type, float* dst, size_t n);
void fromFloat(const float* src, modnn_dtype type, void* dst, size_t n);

// A column-major rows x cols matrix, column by column.
void matrixToFloat(const void* src, modnn_dtype type, int64_t rows, int64_t cols, int64_t ld, float* dst,
                   int64_t dst_ld);
void matrixFromFloat(const float* src, int64_t src_ld, modnn_dtype type, int64_t rows, int64_t cols, void* dst,
                     int64_t ld);

}  // namespace modnn::cpu
