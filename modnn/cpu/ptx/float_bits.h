// Floating-point helpers with PTX semantics: rounding a double to f32, f16,
// bf16 or tf32 under any IEEE rounding mode, half/bfloat decoding, and
// flush-to-zero of subnormals.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace modnn::ptx {

enum class Round : uint8_t { Nearest, Zero, Down, Up, NearestAway };

// Rounds `x` to a binary format with `mantBits` fraction bits and
// `expBits` exponent bits; returns its encoding. `satfinite` turns
// overflow into the largest finite value of the same sign.
uint64_t roundToFormat(double x, int mantBits, int expBits, Round r, bool satfinite = false);

inline uint16_t floatToHalfBits(double x, Round r, bool satfinite = false) {
  return uint16_t(roundToFormat(x, 10, 5, r, satfinite));
}
inline uint16_t floatToBf16Bits(double x, Round r, bool satfinite = false) {
  return uint16_t(roundToFormat(x, 7, 8, r, satfinite));
}
inline uint32_t floatToF32Bits(double x, Round r) { return uint32_t(roundToFormat(x, 23, 8, r)); }

inline float bitsToFloat(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
inline uint32_t floatToBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
inline double bitsToDouble(uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}
inline uint64_t doubleToBits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

inline float halfBitsToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  if (exp == 0x1f) return bitsToFloat(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    float v = std::ldexp(float(man), -24);
    return sign ? -v : v;
  }
  return bitsToFloat(sign | ((exp + 112) << 23) | (man << 13));
}
inline float bf16BitsToFloat(uint16_t h) { return bitsToFloat(uint32_t(h) << 16); }

// Round-to-nearest-even float -> half, the common case, without doubles.
inline uint16_t floatToHalfRn(float f) { return floatToHalfBits(f, Round::Nearest); }

inline float ftz(float x) {
  return std::fpclassify(x) == FP_SUBNORMAL ? std::copysign(0.0f, x) : x;
}
inline double ftz(double x) {
  return std::fpclassify(x) == FP_SUBNORMAL ? std::copysign(0.0, x) : x;
}

constexpr uint32_t kCanonicalNanF32 = 0x7fffffffu;
constexpr uint16_t kCanonicalNanF16 = 0x7fffu;
constexpr uint16_t kCanonicalNanBF16 = 0x7fffu;

}  // namespace modnn::ptx
