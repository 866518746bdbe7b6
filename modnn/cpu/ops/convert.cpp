// Element conversions. f16 uses the F16C instructions where the CPU has
// them (8 elements per instruction), the compiler's _Float16 otherwise; bf16
// is the upper half of an f32, rounded to nearest even.
#include "modnn/cpu/ops/convert.h"

#include <immintrin.h>

#include <cstring>

namespace modnn::cpu {
namespace {

bool hasF16c() {
  static const bool yes = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return yes;
}

__attribute__((target("f16c,avx"))) void halfToFloatF16c(const uint16_t* s, float* d, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
  for (; i < n; ++i) d[i] = _cvtsh_ss(s[i]);
}

__attribute__((target("f16c,avx"))) void floatToHalfF16c(const float* s, uint16_t* d, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) d[i] = _cvtss_sh(s[i], _MM_FROUND_TO_NEAREST_INT);
}

void halfToFloat(const uint16_t* s, float* d, size_t n) {
  if (hasF16c()) return halfToFloatF16c(s, d, n);
  for (size_t i = 0; i < n; ++i) {
    _Float16 h;
    std::memcpy(&h, s + i, 2);
    d[i] = float(h);
  }
}

void floatToHalf(const float* s, uint16_t* d, size_t n) {
  if (hasF16c()) return floatToHalfF16c(s, d, n);
  for (size_t i = 0; i < n; ++i) {
    auto h = _Float16(s[i]);
    std::memcpy(d + i, &h, 2);
  }
}

void bf16ToFloat(const uint16_t* s, float* d, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t u = uint32_t(s[i]) << 16;
    std::memcpy(d + i, &u, 4);
  }
}

void floatToBf16(const float* s, uint16_t* d, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, s + i, 4);
    bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    d[i] = nan ? uint16_t((u >> 16) | 0x40) : uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
}

}  // namespace

void toFloat(const void* src, modnn_dtype type, float* dst, size_t n) {
  switch (type) {
    case MODNN_F16: halfToFloat(static_cast<const uint16_t*>(src), dst, n); break;
    case MODNN_BF16: bf16ToFloat(static_cast<const uint16_t*>(src), dst, n); break;
    case MODNN_F32: std::memcpy(dst, src, n * 4); break;
    case MODNN_F64:
      for (size_t i = 0; i < n; ++i) dst[i] = float(static_cast<const double*>(src)[i]);
      break;
    default: break;
  }
}

void fromFloat(const float* src, modnn_dtype type, void* dst, size_t n) {
  switch (type) {
    case MODNN_F16: floatToHalf(src, static_cast<uint16_t*>(dst), n); break;
    case MODNN_BF16: floatToBf16(src, static_cast<uint16_t*>(dst), n); break;
    case MODNN_F32: std::memmove(dst, src, n * 4); break;
    case MODNN_F64:
      for (size_t i = 0; i < n; ++i) static_cast<double*>(dst)[i] = src[i];
      break;
    default: break;
  }
}

void matrixToFloat(const void* src, modnn_dtype type, int64_t rows, int64_t cols, int64_t ld, float* dst,
                   int64_t dst_ld) {
  size_t elem = modnn_dtype_size(type);
  for (int64_t j = 0; j < cols; ++j)
    toFloat(static_cast<const uint8_t*>(src) + size_t(j * ld) * elem, type, dst + j * dst_ld, size_t(rows));
}

void matrixFromFloat(const float* src, int64_t src_ld, modnn_dtype type, int64_t rows, int64_t cols, void* dst,
                     int64_t ld) {
  size_t elem = modnn_dtype_size(type);
  for (int64_t j = 0; j < cols; ++j)
    fromFloat(src + j * src_ld, type, static_cast<uint8_t*>(dst) + size_t(j * ld) * elem, size_t(rows));
}

}  // namespace modnn::cpu
