#include "modnn/cpu/ptx/float_bits.h"

namespace modnn::ptx {

uint64_t roundToFormat(double x, int mantBits, int expBits, Round r, bool satfinite) {
  const int bias = (1 << (expBits - 1)) - 1;
  const int emin = 1 - bias;
  const int emax = bias;
  const uint64_t signBit = uint64_t(1) << (mantBits + expBits);
  const uint64_t expMask = ((uint64_t(1) << expBits) - 1) << mantBits;
  const uint64_t maxFinite = expMask - (uint64_t(1) << mantBits) + ((uint64_t(1) << mantBits) - 1);
  bool neg = std::signbit(x);
  uint64_t sign = neg ? signBit : 0;
  if (std::isnan(x)) return expMask | ((uint64_t(1) << mantBits) - 1);  // canonical NaN, positive
  if (std::isinf(x)) return satfinite ? (sign | maxFinite) : (sign | expMask);
  double a = std::fabs(x);
  if (a == 0) return sign;
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  int exp = e - 1;    // a = 1.f * 2^exp
  int qexp = (exp < emin ? emin : exp) - mantBits;
  double scaled = std::ldexp(a, -qexp);
  double n = std::floor(scaled);
  double frac = scaled - n;
  bool up = false;
  switch (r) {
    case Round::Nearest: up = frac > 0.5 || (frac == 0.5 && std::fmod(n, 2.0) != 0); break;
    case Round::NearestAway: up = frac >= 0.5; break;
    case Round::Zero: up = false; break;
    case Round::Up: up = frac > 0 && !neg; break;
    case Round::Down: up = frac > 0 && neg; break;
  }
  if (up) n += 1;
  double v = std::ldexp(n, qexp);
  if (v >= std::ldexp(1.0, emax + 1)) {
    bool toInf = !satfinite && (r == Round::Nearest || r == Round::NearestAway || (r == Round::Up && !neg) ||
                                (r == Round::Down && neg));
    return sign | (toInf ? expMask : maxFinite);
  }
  if (v == 0) return sign;
  if (v < std::ldexp(1.0, emin)) return sign | uint64_t(std::ldexp(v, -(emin - mantBits)));
  int ve;
  double m = std::frexp(v, &ve);  // v = m * 2^ve, m in [0.5,1)
  uint64_t expField = uint64_t(ve - 1 + bias);
  uint64_t man = uint64_t(std::ldexp(m * 2 - 1, mantBits));
  return sign | (expField << mantBits) | man;
}

}  // namespace modnn::ptx
