// Integer family: add/sub (with .sat and carry chains), mul/mad (.lo .hi
// .wide, 24-bit forms), sad, div/rem, abs/neg/min/max, bitwise and
// predicate logic, shifts, funnel shifts, popc/clz/bfind/brev, bfe/bfi,
// prmt, lop3, dp4a/dp2a, szext, bmsk.
#include <algorithm>
#include <limits>

#include "modnn/cpu/ptx/ops_common.h"

namespace modnn::ptx {
namespace {

template <class T>
using Wide = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

template <class T>
T wrapAdd(T a, T b) {
  return T(Wide<T>(a) + Wide<T>(b));
}
template <class T>
T wrapSub(T a, T b) {
  return T(Wide<T>(a) - Wide<T>(b));
}
template <class T>
T wrapMul(T a, T b) {
  return T(Wide<T>(a) * Wide<T>(b));
}

// High half of the full product.
template <class T>
T mulHi(T a, T b) {
  if constexpr (sizeof(T) == 8) {
    using P = std::conditional_t<std::is_signed_v<T>, __int128, unsigned __int128>;
    return T((P(a) * P(b)) >> 64);
  } else {
    using P = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
    return T((P(a) * P(b)) >> (8 * sizeof(T)));
  }
}

template <class T>
using WideOf = std::conditional_t<
    sizeof(T) == 2, std::conditional_t<std::is_signed_v<T>, int32_t, uint32_t>,
    std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

struct OpAdd { template <class T> static T f(T a, T b, const Inst&) { return wrapAdd(a, b); } };
struct OpSub { template <class T> static T f(T a, T b, const Inst&) { return wrapSub(a, b); } };
struct OpAddSat {
  template <class T> static T f(T a, T b, const Inst&) {
    int64_t s = int64_t(a) + int64_t(b);
    return T(std::clamp<int64_t>(s, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  }
};
struct OpSubSat {
  template <class T> static T f(T a, T b, const Inst&) {
    int64_t s = int64_t(a) - int64_t(b);
    return T(std::clamp<int64_t>(s, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  }
};
struct OpMulLo { template <class T> static T f(T a, T b, const Inst&) { return wrapMul(a, b); } };
struct OpMulHi { template <class T> static T f(T a, T b, const Inst&) { return mulHi(a, b); } };
struct OpMulWide {
  template <class T> static WideOf<T> f(T a, T b, const Inst&) { return WideOf<T>(WideOf<T>(a) * WideOf<T>(b)); }
};
struct OpMin { template <class T> static T f(T a, T b, const Inst&) { return a < b ? a : b; } };
struct OpMax { template <class T> static T f(T a, T b, const Inst&) { return a > b ? a : b; } };
struct OpMaxRelu {
  template <class T> static T f(T a, T b, const Inst&) { T m = a > b ? a : b; return m < T(0) ? T(0) : m; }
};
struct OpMinRelu {
  template <class T> static T f(T a, T b, const Inst&) { T m = a < b ? a : b; return m < T(0) ? T(0) : m; }
};
// Division by zero yields all ones and never traps the host.
struct OpDiv {
  template <class T> static T f(T a, T b, const Inst&) {
    if (b == 0) return T(~T(0));
    if constexpr (std::is_signed_v<T>)
      if (b == T(-1)) return T(Wide<T>(0) - Wide<T>(a));
    return T(a / b);
  }
};
struct OpRem {
  template <class T> static T f(T a, T b, const Inst&) {
    if (b == 0) return a;
    if constexpr (std::is_signed_v<T>)
      if (b == T(-1)) return T(0);
    return T(a % b);
  }
};
struct OpAnd { template <class T> static T f(T a, T b, const Inst&) { return T(a & b); } };
struct OpOr { template <class T> static T f(T a, T b, const Inst&) { return T(a | b); } };
struct OpXor { template <class T> static T f(T a, T b, const Inst&) { return T(a ^ b); } };
struct OpNot { template <class T> static T f(T a, const Inst&) { return T(~a); } };
struct OpCnot { template <class T> static T f(T a, const Inst&) { return T(a == 0 ? 1 : 0); } };
struct OpNeg { template <class T> static T f(T a, const Inst&) { return wrapSub(T(0), a); } };
struct OpAbs { template <class T> static T f(T a, const Inst&) { return a < 0 ? wrapSub(T(0), a) : a; } };
struct OpPopc {
  template <class T> static uint32_t f(T a, const Inst&) {
    return uint32_t(__builtin_popcountll(uint64_t(std::make_unsigned_t<T>(a))));
  }
};
struct OpClz {
  template <class T> static uint32_t f(T a, const Inst&) {
    uint64_t v = uint64_t(std::make_unsigned_t<T>(a));
    if (v == 0) return uint32_t(8 * sizeof(T));
    return uint32_t(__builtin_clzll(v) - (64 - 8 * sizeof(T)));
  }
};
struct OpBrev {
  template <class T> static T f(T a, const Inst&) {
    uint64_t v = uint64_t(std::make_unsigned_t<T>(a)), r = 0;
    for (uint32_t i = 0; i < 8 * sizeof(T); ++i) r |= ((v >> i) & 1) << (8 * sizeof(T) - 1 - i);
    return T(r);
  }
};
// in.aux: 1 = .shiftamt
struct OpBfind {
  template <class T> static uint32_t f(T a, const Inst& in) {
    constexpr uint32_t bits = 8 * sizeof(T);
    uint64_t v = uint64_t(std::make_unsigned_t<T>(a));
    if constexpr (std::is_signed_v<T>)
      if (a < 0) v = ~v & (bits == 64 ? ~0ull : ((1ull << bits) - 1));
    if (v == 0) return 0xffffffffu;
    uint32_t msb = 63 - uint32_t(__builtin_clzll(v));
    return in.aux ? bits - 1 - msb : msb;
  }
};
struct OpSad {
  template <class T> static T f(T a, T b, T c, const Inst&) {
    T diff = a > b ? wrapSub(a, b) : wrapSub(b, a);
    return wrapAdd(c, diff);
  }
};
struct OpMadLo {
  template <class T> static T f(T a, T b, T c, const Inst&) { return wrapAdd(wrapMul(a, b), c); }
};
struct OpMadHi {
  template <class T> static T f(T a, T b, T c, const Inst&) { return wrapAdd(mulHi(a, b), c); }
};
struct OpMadHiSat {
  template <class T> static T f(T a, T b, T c, const Inst&) {
    int64_t s = int64_t(mulHi(a, b)) + int64_t(c);
    return T(std::clamp<int64_t>(s, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  }
};
// 24-bit multiplies: operands are the low 24 bits, sign-extended for .s32.
template <class T>
int64_t low24(T a) {
  if constexpr (std::is_signed_v<T>) return int64_t(int32_t(uint32_t(a) << 8) >> 8);
  return int64_t(uint32_t(a) & 0xffffff);
}
struct OpMul24Lo {
  template <class T> static T f(T a, T b, const Inst&) { return T(uint32_t(uint64_t(low24(a) * low24(b)))); }
};
struct OpMul24Hi {
  template <class T> static T f(T a, T b, const Inst&) { return T(uint32_t(uint64_t(low24(a) * low24(b)) >> 16)); }
};
struct OpMad24Lo {
  template <class T> static T f(T a, T b, T c, const Inst&) {
    return T(uint32_t(uint64_t(low24(a) * low24(b))) + uint32_t(c));
  }
};
struct OpMad24Hi {
  template <class T> static T f(T a, T b, T c, const Inst&) {
    return T(uint32_t(uint64_t(low24(a) * low24(b)) >> 16) + uint32_t(c));
  }
};

// mad.wide: d (wide) = a * b + c (wide); r[0..3]
template <class S>
modnn_status hMadWide(Warp& w, const Inst& in, uint32_t m) {
  using D = WideOf<S>;
  const S* a = R<S>(w, in.r[1]);
  const S* b = R<S>(w, in.r[2]);
  const D* c = R<D>(w, in.r[3]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) {
    using U = std::make_unsigned_t<D>;
    return D(U(D(a[l]) * D(b[l])) + U(c[l]));
  });
  return MODNN_OK;
}

// Shifts: b is always 32-bit; amounts past the width fill with 0 (or the sign).
template <class T, bool Left>
modnn_status hShift(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  const uint32_t* b = R<uint32_t>(w, in.r[2]);
  constexpr uint32_t bits = 8 * sizeof(T);
  lanesOut(R<T>(w, in.r[0]), m, [&](uint32_t l) -> T {
    uint32_t s = b[l] > bits ? bits : b[l];
    if constexpr (Left) {
      return s >= bits ? T(0) : T(Wide<T>(a[l]) << s);
    } else if constexpr (std::is_signed_v<T>) {
      return s >= bits ? T(a[l] < 0 ? -1 : 0) : T(a[l] >> s);
    } else {
      return s >= bits ? T(0) : T(a[l] >> s);
    }
  });
  return MODNN_OK;
}

// Carry chains. aux bit 0: consume carry-in, bit 1: produce carry-out;
// kind in n: 0 add, 1 sub, 2 mad.lo, 3 mad.hi
template <class T>
modnn_status hCarry(Warp& w, const Inst& in, uint32_t m) {
  using U = std::make_unsigned_t<T>;
  const U* a = R<U>(w, in.r[1]);
  const U* b = R<U>(w, in.r[2]);
  const U* c = in.r[3] != kNoReg ? R<U>(w, in.r[3]) : nullptr;
  uint32_t* cf = R<uint32_t>(w, in.r[4]);
  U* d = R<U>(w, in.r[0]);
  bool cin = in.aux & 1, cout = in.aux & 2;
  eachLane(m, [&](uint32_t l) {
    U x = a[l], y = b[l];
    U carryIn = cin ? U(cf[l] & 1) : 0;
    U r;
    uint32_t carry = 0;
    switch (in.n) {
      case 0: {
        U s1 = U(x + y);
        r = U(s1 + carryIn);
        carry = (s1 < x) || (r < s1);
        break;
      }
      case 1: {
        U s1 = U(x - y);
        r = U(s1 - carryIn);
        carry = (x < y) || (s1 < carryIn);
        break;
      }
      default: {
        U p = in.n == 2 ? U(x * y) : U(mulHi(T(x), T(y)));
        U s1 = U(p + c[l]);
        r = U(s1 + carryIn);
        carry = (s1 < p) || (r < s1);
        break;
      }
    }
    d[l] = r;
    if (cout) cf[l] = carry;
  });
  return MODNN_OK;
}

// Bit-field extract: r[1] a, r[2] pos, r[3] len
template <class T>
modnn_status hBfe(Warp& w, const Inst& in, uint32_t m) {
  using U = std::make_unsigned_t<T>;
  const U* a = R<U>(w, in.r[1]);
  const uint32_t* pb = R<uint32_t>(w, in.r[2]);
  const uint32_t* lb = R<uint32_t>(w, in.r[3]);
  constexpr uint32_t msb = 8 * sizeof(T) - 1;
  lanesOut(R<U>(w, in.r[0]), m, [&](uint32_t l) -> U {
    uint32_t pos = pb[l] & 0xff, len = lb[l] & 0xff;
    uint64_t v = uint64_t(a[l]);
    uint64_t sbit = 0;
    if (std::is_signed_v<T> && len != 0) sbit = (v >> std::min(pos + len - 1, msb)) & 1;
    uint64_t r = 0;
    for (uint32_t i = 0; i <= msb; ++i) {
      uint64_t bit = (i < len && pos + i <= msb) ? (v >> (pos + i)) & 1 : sbit;
      r |= bit << i;
    }
    return U(r);
  });
  return MODNN_OK;
}

// Bit-field insert: r[1] a (field), r[2] b (base), r[3] pos, r[4] len
template <class T>
modnn_status hBfi(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  const T* b = R<T>(w, in.r[2]);
  const uint32_t* pb = R<uint32_t>(w, in.r[3]);
  const uint32_t* lb = R<uint32_t>(w, in.r[4]);
  constexpr uint32_t msb = 8 * sizeof(T) - 1;
  lanesOut(R<T>(w, in.r[0]), m, [&](uint32_t l) -> T {
    uint32_t pos = pb[l] & 0xff, len = lb[l] & 0xff;
    uint64_t f = uint64_t(b[l]);
    for (uint32_t i = 0; i < len && pos + i <= msb; ++i) {
      uint64_t bit = (uint64_t(a[l]) >> i) & 1;
      f = (f & ~(1ull << (pos + i))) | (bit << (pos + i));
    }
    return T(f);
  });
  return MODNN_OK;
}

// prmt: aux = mode (0 default, 1 f4e, 2 b4e, 3 rc8, 4 ecl, 5 ecr, 6 rc16)
modnn_status hPrmt(Warp& w, const Inst& in, uint32_t m) {
  const uint32_t* a = R<uint32_t>(w, in.r[1]);
  const uint32_t* b = R<uint32_t>(w, in.r[2]);
  const uint32_t* c = R<uint32_t>(w, in.r[3]);
  static const uint8_t kModes[6][4][4] = {
      // d.b0..d.b3 for selector 0..3
      {{0, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 5}, {3, 4, 5, 6}},  // f4e
      {{0, 7, 6, 5}, {1, 0, 7, 6}, {2, 1, 0, 7}, {3, 2, 1, 0}},  // b4e
      {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}},  // rc8
      {{0, 1, 2, 3}, {1, 1, 2, 3}, {2, 2, 2, 3}, {3, 3, 3, 3}},  // ecl
      {{0, 0, 0, 0}, {0, 1, 1, 1}, {0, 1, 2, 2}, {0, 1, 2, 3}},  // ecr
      {{0, 1, 0, 1}, {2, 3, 2, 3}, {0, 1, 0, 1}, {2, 3, 2, 3}},  // rc16
  };
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    uint64_t tmp = uint64_t(a[l]) | uint64_t(b[l]) << 32;
    uint32_t r = 0;
    for (uint32_t k = 0; k < 4; ++k) {
      uint32_t byte;
      if (in.aux == 0) {
        uint32_t s = (c[l] >> (4 * k)) & 0xf;
        byte = uint32_t(tmp >> (8 * (s & 7))) & 0xff;
        if (s & 8) byte = (byte & 0x80) ? 0xff : 0;
      } else {
        uint32_t s = kModes[in.aux - 1][c[l] & 3][k];
        byte = uint32_t(tmp >> (8 * s)) & 0xff;
      }
      r |= byte << (8 * k);
    }
    return r;
  });
  return MODNN_OK;
}

// shf: r[1] a (low word), r[2] b (high word), r[3] shift; aux bit0 right,
// bit1 clamp, bit2 arithmetic (.s32 right shifts)
modnn_status hShf(Warp& w, const Inst& in, uint32_t m) {
  const uint32_t* a = R<uint32_t>(w, in.r[1]);
  const uint32_t* b = R<uint32_t>(w, in.r[2]);
  const uint32_t* c = R<uint32_t>(w, in.r[3]);
  bool right = in.aux & 1, clamp = in.aux & 2, arith = in.aux & 4;
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    uint32_t n = clamp ? std::min<uint32_t>(c[l], 32) : (c[l] & 31);
    uint64_t v = uint64_t(a[l]) | uint64_t(b[l]) << 32;
    if (right) {
      if (arith) return uint32_t(uint64_t(int64_t(v) >> n));
      return uint32_t(v >> n);
    }
    return uint32_t((v << n) >> 32);
  });
  return MODNN_OK;
}

// lop3: imm = truth table
modnn_status hLop3(Warp& w, const Inst& in, uint32_t m) {
  const uint32_t* a = R<uint32_t>(w, in.r[1]);
  const uint32_t* b = R<uint32_t>(w, in.r[2]);
  const uint32_t* c = R<uint32_t>(w, in.r[3]);
  uint32_t lut = uint32_t(in.imm);
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    uint32_t x = a[l], y = b[l], z = c[l], r = 0;
    for (uint32_t i = 0; i < 8; ++i) {
      if (!((lut >> i) & 1)) continue;
      uint32_t t = ((i & 4) ? x : ~x) & ((i & 2) ? y : ~y) & ((i & 1) ? z : ~z);
      r |= t;
    }
    return r;
  });
  return MODNN_OK;
}

// dp4a / dp2a: aux bit0 a signed, bit1 b signed; n: 4 (dp4a), 2 (dp2a.lo), 3 (dp2a.hi)
modnn_status hDot(Warp& w, const Inst& in, uint32_t m) {
  const uint32_t* a = R<uint32_t>(w, in.r[1]);
  const uint32_t* b = R<uint32_t>(w, in.r[2]);
  const uint32_t* c = R<uint32_t>(w, in.r[3]);
  bool as = in.aux & 1, bs = in.aux & 2;
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    auto byteOf = [](uint32_t v, uint32_t i, bool s) -> int64_t {
      uint32_t x = (v >> (8 * i)) & 0xff;
      return s ? int64_t(int8_t(x)) : int64_t(x);
    };
    auto halfOf = [](uint32_t v, uint32_t i, bool s) -> int64_t {
      uint32_t x = (v >> (16 * i)) & 0xffff;
      return s ? int64_t(int16_t(x)) : int64_t(x);
    };
    int64_t acc = 0;
    if (in.n == 4) {
      for (uint32_t i = 0; i < 4; ++i) acc += byteOf(a[l], i, as) * byteOf(b[l], i, bs);
    } else {
      uint32_t base = in.n == 3 ? 2 : 0;
      acc += halfOf(a[l], 0, as) * byteOf(b[l], base, bs);
      acc += halfOf(a[l], 1, as) * byteOf(b[l], base + 1, bs);
    }
    return uint32_t(uint64_t(acc) + c[l]);
  });
  return MODNN_OK;
}

// szext: aux bit0 signed, bit1 clamp
modnn_status hSzext(Warp& w, const Inst& in, uint32_t m) {
  const uint32_t* a = R<uint32_t>(w, in.r[1]);
  const uint32_t* b = R<uint32_t>(w, in.r[2]);
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    uint32_t n = (in.aux & 2) ? std::min<uint32_t>(b[l], 32) : (b[l] & 31);
    if (n == 0) return 0u;
    if (n >= 32) return a[l];
    uint32_t v = a[l] & ((1u << n) - 1);
    if ((in.aux & 1) && (v >> (n - 1)) & 1) v |= ~((1u << n) - 1);
    return v;
  });
  return MODNN_OK;
}

// bmsk: r[1] position, r[2] width; aux 1 = clamp
modnn_status hBmsk(Warp& w, const Inst& in, uint32_t m) {
  const uint32_t* a = R<uint32_t>(w, in.r[1]);
  const uint32_t* b = R<uint32_t>(w, in.r[2]);
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    uint32_t pos = in.aux ? std::min<uint32_t>(a[l], 32) : (a[l] & 31);
    uint32_t wd = in.aux ? std::min<uint32_t>(b[l], 32) : (b[l] & 31);
    uint64_t mask = ((1ull << wd) - 1) << pos;
    return uint32_t(mask);
  });
  return MODNN_OK;
}

// fns: r[1] mask, r[2] base, r[3] offset (signed)
modnn_status hFns(Warp& w, const Inst& in, uint32_t m) {
  const uint32_t* mask = R<uint32_t>(w, in.r[1]);
  const uint32_t* base = R<uint32_t>(w, in.r[2]);
  const int32_t* off = R<int32_t>(w, in.r[3]);
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    uint32_t d = 0xffffffffu, mk = mask[l];
    int32_t b = int32_t(base[l] & 31), o = off[l];
    if (o == 0) return (mk >> b & 1) ? uint32_t(b) : d;
    int32_t count = (o > 0 ? o : -o) - 1, inc = o > 0 ? 1 : -1;
    for (int32_t pos = b; pos >= 0 && pos < 32; pos += inc) {
      if (mk >> pos & 1) {
        if (count == 0) return uint32_t(pos);
        --count;
      }
    }
    return d;
  });
  return MODNN_OK;
}

// SIMD video ops on 2x16 or 4x8 lanes: aux op (0 absdiff, 1 add, 2 sub,
// 3 min, 4 max, 5 avrg), n bits: 0-2 element count (2/4), 3 a signed,
// 4 b signed, 5 sat, 6 add (accumulate into c)
modnn_status hVideo(Warp& w, const Inst& in, uint32_t m) {
  const uint32_t* a = R<uint32_t>(w, in.r[1]);
  const uint32_t* b = R<uint32_t>(w, in.r[2]);
  const uint32_t* c = R<uint32_t>(w, in.r[3]);
  uint32_t k = in.n & 7, bits = 32 / k;
  bool as = in.n & 8, bs = in.n & 16, sat = in.n & 32, acc = in.n & 64;
  bool ds = as || bs;
  uint32_t emask = (1u << bits) - 1;
  int64_t lo = ds ? -(int64_t(1) << (bits - 1)) : 0, hi = ds ? (int64_t(1) << (bits - 1)) - 1 : int64_t(emask);
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    uint32_t r = 0;
    int64_t sum = 0;
    for (uint32_t e = 0; e < k; ++e) {
      uint32_t xa = (a[l] >> (e * bits)) & emask, xb = (b[l] >> (e * bits)) & emask;
      int64_t va = as ? int64_t(int32_t(xa << (32 - bits)) >> (32 - bits)) : int64_t(xa);
      int64_t vb = bs ? int64_t(int32_t(xb << (32 - bits)) >> (32 - bits)) : int64_t(xb);
      int64_t v;
      switch (in.aux) {
        case 0: v = va > vb ? va - vb : vb - va; break;
        case 1: v = va + vb; break;
        case 2: v = va - vb; break;
        case 3: v = va < vb ? va : vb; break;
        case 4: v = va > vb ? va : vb; break;
        default: v = (va + vb + (((va + vb) >= 0) ? 1 : 0)) >> 1; break;
      }
      if (sat) v = std::clamp(v, lo, hi);
      sum += v;
      r |= (uint32_t(v) & emask) << (e * bits);
    }
    return acc ? uint32_t(int64_t(c[l]) + sum) : r;
  });
  return MODNN_OK;
}

// Predicate logic on whole masks: aux 0 and, 1 or, 2 xor, 3 not, 4 cnot
modnn_status hPredLogic(Warp& w, const Inst& in, uint32_t m) {
  uint32_t a = P(w, in.r[1]);
  uint32_t b = in.r[2] != kNoReg ? P(w, in.r[2]) : 0;
  uint32_t r;
  switch (in.aux) {
    case 0: r = a & b; break;
    case 1: r = a | b; break;
    case 2: r = a ^ b; break;
    default: r = ~a; break;
  }
  setPred(w, in.r[0], r, m);
  return MODNN_OK;
}

// ---------------------------------------------------------------- selectors

template <class Op>
Handler intBinary(Ty t) {
  return byIntType(t, []<class T>() -> Handler { return &hBinary<T, T, Op>; });
}
template <class Op>
Handler intUnary(Ty t) {
  return byIntType(t, []<class T>() -> Handler { return &hUnary<T, T, Op>; });
}
template <class Op>
Handler intTernary(Ty t) {
  return byIntType(t, []<class T>() -> Handler { return &hTernary<T, T, Op>; });
}

bool emitSimple(DecodeCtx& c, Handler h, Ty ty, size_t nsrc) {
  if (!h) return c.fail("unsupported type");
  Inst in = c.make(h);
  if (!operandsSameType(c, ty, nsrc, in)) return false;
  c.emit(in);
  return true;
}

bool emitCarry(DecodeCtx& c, Ty ty, uint32_t kind, bool cin, bool cout, size_t nsrc) {
  if (tySize(ty) != 4 && tySize(ty) != 8) return c.fail("carry arithmetic needs 32/64-bit types");
  Inst in = c.make(tySize(ty) == 4 ? &hCarry<uint32_t> : &hCarry<uint64_t>);
  if (isSigned(ty)) in.fn = tySize(ty) == 4 ? &hCarry<int32_t> : &hCarry<int64_t>;
  if (!operandsSameType(c, ty, nsrc, in)) return false;
  in.r[4] = c.carryReg();
  in.n = kind;
  in.aux = (cin ? 1 : 0) | (cout ? 2 : 0);
  c.emit(in);
  return true;
}

bool selAdd(DecodeCtx& c) {
  Ty ty = c.spec.type();
  bool cc = c.spec.take("cc");
  if (cc) return emitCarry(c, ty, 0, false, true, 2);
  if (c.spec.take("sat")) {
    if (ty != Ty::S32) return c.fail(".sat needs .s32");
    return emitSimple(c, &hBinary<int32_t, int32_t, OpAddSat>, ty, 2);
  }
  return emitSimple(c, intBinary<OpAdd>(ty), ty, 2);
}

bool selSub(DecodeCtx& c) {
  Ty ty = c.spec.type();
  if (c.spec.take("cc")) return emitCarry(c, ty, 1, false, true, 2);
  if (c.spec.take("sat")) {
    if (ty != Ty::S32) return c.fail(".sat needs .s32");
    return emitSimple(c, &hBinary<int32_t, int32_t, OpSubSat>, ty, 2);
  }
  return emitSimple(c, intBinary<OpSub>(ty), ty, 2);
}

bool selAddc(DecodeCtx& c) { return emitCarry(c, c.spec.type(), 0, true, c.spec.take("cc"), 2); }
bool selSubc(DecodeCtx& c) { return emitCarry(c, c.spec.type(), 1, true, c.spec.take("cc"), 2); }

bool selMul(DecodeCtx& c) {
  Ty ty = c.spec.type();
  int mode = c.spec.takeOne({"lo", "hi", "wide"});
  if (mode == 2) {
    Handler h = nullptr;
    switch (ty) {
      case Ty::S16: h = &hBinary<int32_t, int16_t, OpMulWide>; break;
      case Ty::U16: h = &hBinary<uint32_t, uint16_t, OpMulWide>; break;
      case Ty::S32: h = &hBinary<int64_t, int32_t, OpMulWide>; break;
      case Ty::U32: h = &hBinary<uint64_t, uint32_t, OpMulWide>; break;
      default: return c.fail("mul.wide needs a 16/32-bit type");
    }
    Inst in = c.make(h);
    if (!c.want(3)) return false;
    Ty wide = tySize(ty) == 2 ? (isSigned(ty) ? Ty::S32 : Ty::U32) : (isSigned(ty) ? Ty::S64 : Ty::U64);
    if (!c.dst(0, wide, in.r[0]) || !c.src(1, ty, in.r[1]) || !c.src(2, ty, in.r[2])) return false;
    c.emit(in);
    return true;
  }
  if (mode == 1) return emitSimple(c, intBinary<OpMulHi>(ty), ty, 2);
  return emitSimple(c, intBinary<OpMulLo>(ty), ty, 2);
}

bool selMad(DecodeCtx& c) {
  Ty ty = c.spec.type();
  int mode = c.spec.takeOne({"lo", "hi", "wide"});
  bool cc = c.spec.take("cc");
  if (cc) {
    if (mode == 2) return c.fail("mad.wide.cc");
    return emitCarry(c, ty, mode == 1 ? 3 : 2, false, true, 3);
  }
  if (mode == 2) {
    Handler h = nullptr;
    switch (ty) {
      case Ty::S16: h = &hMadWide<int16_t>; break;
      case Ty::U16: h = &hMadWide<uint16_t>; break;
      case Ty::S32: h = &hMadWide<int32_t>; break;
      case Ty::U32: h = &hMadWide<uint32_t>; break;
      default: return c.fail("mad.wide needs a 16/32-bit type");
    }
    Inst in = c.make(h);
    if (!c.want(4)) return false;
    Ty wide = tySize(ty) == 2 ? (isSigned(ty) ? Ty::S32 : Ty::U32) : (isSigned(ty) ? Ty::S64 : Ty::U64);
    if (!c.dst(0, wide, in.r[0]) || !c.src(1, ty, in.r[1]) || !c.src(2, ty, in.r[2]) || !c.src(3, wide, in.r[3]))
      return false;
    c.emit(in);
    return true;
  }
  if (mode == 1) {
    if (c.spec.take("sat")) {
      if (ty != Ty::S32) return c.fail("mad.hi.sat needs .s32");
      return emitSimple(c, &hTernary<int32_t, int32_t, OpMadHiSat>, ty, 3);
    }
    return emitSimple(c, intTernary<OpMadHi>(ty), ty, 3);
  }
  return emitSimple(c, intTernary<OpMadLo>(ty), ty, 3);
}

bool selMadc(DecodeCtx& c) {
  Ty ty = c.spec.type();
  int mode = c.spec.takeOne({"lo", "hi"});
  return emitCarry(c, ty, mode == 1 ? 3 : 2, true, c.spec.take("cc"), 3);
}

bool selMul24(DecodeCtx& c) {
  Ty ty = c.spec.type();
  if (ty != Ty::S32 && ty != Ty::U32) return c.fail("mul24 needs .s32/.u32");
  bool hi = c.spec.takeOne({"lo", "hi"}) == 1;
  Handler h = ty == Ty::S32 ? (hi ? &hBinary<int32_t, int32_t, OpMul24Hi> : &hBinary<int32_t, int32_t, OpMul24Lo>)
                            : (hi ? &hBinary<uint32_t, uint32_t, OpMul24Hi> : &hBinary<uint32_t, uint32_t, OpMul24Lo>);
  return emitSimple(c, h, ty, 2);
}

bool selMad24(DecodeCtx& c) {
  Ty ty = c.spec.type();
  if (ty != Ty::S32 && ty != Ty::U32) return c.fail("mad24 needs .s32/.u32");
  bool hi = c.spec.takeOne({"lo", "hi"}) == 1;
  Handler h = ty == Ty::S32
                  ? (hi ? &hTernary<int32_t, int32_t, OpMad24Hi> : &hTernary<int32_t, int32_t, OpMad24Lo>)
                  : (hi ? &hTernary<uint32_t, uint32_t, OpMad24Hi> : &hTernary<uint32_t, uint32_t, OpMad24Lo>);
  return emitSimple(c, h, ty, 3);
}

bool selSad(DecodeCtx& c) { return emitSimple(c, intTernary<OpSad>(c.spec.type()), c.spec.type(), 3); }
bool selDiv(DecodeCtx& c) { return emitSimple(c, intBinary<OpDiv>(c.spec.type()), c.spec.type(), 2); }
bool selRem(DecodeCtx& c) { return emitSimple(c, intBinary<OpRem>(c.spec.type()), c.spec.type(), 2); }
bool selAbs(DecodeCtx& c) {
  Ty ty = c.spec.type();
  if (!isSigned(ty)) return c.fail("abs needs a signed type");
  return emitSimple(c, intUnary<OpAbs>(ty), ty, 1);
}
bool selNeg(DecodeCtx& c) {
  Ty ty = c.spec.type();
  if (!isSigned(ty)) return c.fail("neg needs a signed type");
  return emitSimple(c, intUnary<OpNeg>(ty), ty, 1);
}
bool selMin(DecodeCtx& c) {
  Ty ty = c.spec.type();
  if (c.spec.take("relu")) return emitSimple(c, intBinary<OpMinRelu>(ty), ty, 2);
  return emitSimple(c, intBinary<OpMin>(ty), ty, 2);
}
bool selMax(DecodeCtx& c) {
  Ty ty = c.spec.type();
  if (c.spec.take("relu")) return emitSimple(c, intBinary<OpMaxRelu>(ty), ty, 2);
  return emitSimple(c, intBinary<OpMax>(ty), ty, 2);
}

bool selLogic(DecodeCtx& c, uint32_t which) {
  Ty ty = c.spec.type();
  bool unary = which >= 3;
  if (ty == Ty::Pred) {
    Inst in = c.make(&hPredLogic);
    in.aux = which;
    if (!c.want(unary ? 2 : 3)) return false;
    bool neg;
    if (!c.reg(0, Ty::Pred, in.r[0]) || !c.pred(1, in.r[1], neg)) return false;
    if (neg) return c.fail("'!' operand");
    if (!unary && (!c.pred(2, in.r[2], neg) || neg)) return c.fail("bad predicate operand");
    c.emit(in);
    return true;
  }
  Handler h = nullptr;
  switch (which) {
    case 0: h = intBinary<OpAnd>(ty); break;
    case 1: h = intBinary<OpOr>(ty); break;
    case 2: h = intBinary<OpXor>(ty); break;
    case 3: h = intUnary<OpNot>(ty); break;
    case 4: h = intUnary<OpCnot>(ty); break;
  }
  return emitSimple(c, h, ty, unary ? 1 : 2);
}
bool selAnd(DecodeCtx& c) { return selLogic(c, 0); }
bool selOr(DecodeCtx& c) { return selLogic(c, 1); }
bool selXor(DecodeCtx& c) { return selLogic(c, 2); }
bool selNot(DecodeCtx& c) { return selLogic(c, 3); }
bool selCnot(DecodeCtx& c) { return selLogic(c, 4); }

bool selShift(DecodeCtx& c, bool left) {
  Ty ty = c.spec.type();
  Handler h = left ? byIntType(ty, []<class T>() -> Handler { return &hShift<std::make_unsigned_t<T>, true>; })
                   : byIntType(ty, []<class T>() -> Handler { return &hShift<T, false>; });
  if (!h) return c.fail("bad shift type");
  Inst in = c.make(h);
  if (!c.want(3) || !c.dst(0, ty, in.r[0]) || !c.src(1, ty, in.r[1]) || !c.src(2, Ty::U32, in.r[2])) return false;
  c.emit(in);
  return true;
}
bool selShl(DecodeCtx& c) { return selShift(c, true); }
bool selShr(DecodeCtx& c) { return selShift(c, false); }

// Unary ops whose result is a .u32 count.
template <class Op>
bool selCount(DecodeCtx& c) {
  Ty ty = c.spec.type();
  Handler h = byIntType(ty, []<class T>() -> Handler { return &hUnary<uint32_t, T, Op>; });
  if (!h) return c.fail("bad type");
  Inst in = c.make(h);
  if (std::is_same_v<Op, OpBfind>) in.aux = c.spec.take("shiftamt") ? 1 : 0;
  if (!c.want(2) || !c.dst(0, Ty::U32, in.r[0]) || !c.src(1, ty, in.r[1])) return false;
  c.emit(in);
  return true;
}

bool selBrev(DecodeCtx& c) { return emitSimple(c, intUnary<OpBrev>(c.spec.type()), c.spec.type(), 1); }

bool selBfe(DecodeCtx& c) {
  Ty ty = c.spec.type();
  Handler h = byIntType(ty, []<class T>() -> Handler {
    if constexpr (sizeof(T) >= 4) return &hBfe<T>;
    return nullptr;
  });
  if (!h) return c.fail("bfe needs a 32/64-bit type");
  Inst in = c.make(h);
  if (!c.want(4) || !c.dst(0, ty, in.r[0]) || !c.src(1, ty, in.r[1]) || !c.src(2, Ty::U32, in.r[2]) ||
      !c.src(3, Ty::U32, in.r[3]))
    return false;
  c.emit(in);
  return true;
}

bool selBfi(DecodeCtx& c) {
  Ty ty = c.spec.type();
  Handler h = tySize(ty) == 4 ? &hBfi<uint32_t> : tySize(ty) == 8 ? &hBfi<uint64_t> : nullptr;
  if (!h) return c.fail("bfi needs .b32/.b64");
  Inst in = c.make(h);
  if (!c.want(5) || !c.dst(0, ty, in.r[0]) || !c.src(1, ty, in.r[1]) || !c.src(2, ty, in.r[2]) ||
      !c.src(3, Ty::U32, in.r[3]) || !c.src(4, Ty::U32, in.r[4]))
    return false;
  c.emit(in);
  return true;
}

bool selPrmt(DecodeCtx& c) {
  Inst in = c.make(&hPrmt);
  int mode = c.spec.takeOne({"f4e", "b4e", "rc8", "ecl", "ecr", "rc16"});
  in.aux = uint32_t(mode + 1);
  if (c.spec.type() != Ty::B32) return c.fail("prmt needs .b32");
  if (!operandsSameType(c, Ty::B32, 3, in)) return false;
  c.emit(in);
  return true;
}

bool selShf(DecodeCtx& c) {
  Inst in = c.make(&hShf);
  int dir = c.spec.takeOne({"l", "r"});
  int mode = c.spec.takeOne({"wrap", "clamp"});
  if (dir < 0 || mode < 0) return c.fail("shf needs .l/.r and .wrap/.clamp");
  Ty ty = c.spec.type();
  if (tySize(ty) != 4) return c.fail("shf needs a 32-bit type");
  in.aux = uint32_t(dir) | (mode == 1 ? 2u : 0u) | (ty == Ty::S32 ? 4u : 0u);
  if (!c.want(4) || !c.dst(0, ty, in.r[0]) || !c.src(1, ty, in.r[1]) || !c.src(2, ty, in.r[2]) ||
      !c.src(3, Ty::U32, in.r[3]))
    return false;
  c.emit(in);
  return true;
}

bool selLop3(DecodeCtx& c) {
  Inst in = c.make(&hLop3);
  if (c.spec.type() != Ty::B32) return c.fail("lop3 needs .b32");
  if (!c.want(5) || !c.dst(0, Ty::B32, in.r[0]) || !c.src(1, Ty::B32, in.r[1]) || !c.src(2, Ty::B32, in.r[2]) ||
      !c.src(3, Ty::B32, in.r[3]))
    return false;
  if (c.op(4).kind != OpKind::Int) return c.fail("lop3 truth table must be an immediate");
  in.imm = int64_t(c.op(4).ival & 0xff);
  c.emit(in);
  return true;
}

bool selDot(DecodeCtx& c, bool four) {
  Inst in = c.make(&hDot);
  if (four) {
    in.n = 4;
  } else {
    int half = c.spec.takeOne({"lo", "hi"});
    if (half < 0) return c.fail("dp2a needs .lo/.hi");
    in.n = half == 1 ? 3 : 2;
  }
  if (c.spec.types.size() != 2) return c.fail("needs two types");
  in.aux = (isSigned(c.spec.type(0)) ? 1 : 0) | (isSigned(c.spec.type(1)) ? 2 : 0);
  Ty dt = (in.aux & 3) ? Ty::S32 : Ty::U32;
  if (!c.want(4) || !c.reg(0, Ty::B32, in.r[0]) || !c.src(1, Ty::B32, in.r[1]) || !c.src(2, Ty::B32, in.r[2]) ||
      !c.src(3, dt, in.r[3]))
    return false;
  c.emit(in);
  return true;
}
bool selDp4a(DecodeCtx& c) { return selDot(c, true); }
bool selDp2a(DecodeCtx& c) { return selDot(c, false); }

bool selSzext(DecodeCtx& c) {
  Inst in = c.make(&hSzext);
  int mode = c.spec.takeOne({"wrap", "clamp"});
  Ty ty = c.spec.type();
  if (mode < 0 || (ty != Ty::U32 && ty != Ty::S32)) return c.fail("szext needs .wrap/.clamp and .u32/.s32");
  in.aux = (ty == Ty::S32 ? 1 : 0) | (mode == 1 ? 2 : 0);
  if (!c.want(3) || !c.dst(0, ty, in.r[0]) || !c.src(1, ty, in.r[1]) || !c.src(2, Ty::U32, in.r[2])) return false;
  c.emit(in);
  return true;
}

bool selBmsk(DecodeCtx& c) {
  Inst in = c.make(&hBmsk);
  int mode = c.spec.takeOne({"wrap", "clamp"});
  if (mode < 0 || c.spec.type() != Ty::B32) return c.fail("bmsk needs .wrap/.clamp and .b32");
  in.aux = mode == 1;
  if (!c.want(3) || !c.dst(0, Ty::B32, in.r[0]) || !c.src(1, Ty::U32, in.r[1]) || !c.src(2, Ty::U32, in.r[2]))
    return false;
  c.emit(in);
  return true;
}

bool selFns(DecodeCtx& c) {
  if (c.spec.type() != Ty::B32) return c.fail("fns needs .b32");
  Inst in = c.make(&hFns);
  if (!c.want(4) || !c.dst(0, Ty::B32, in.r[0]) || !c.src(1, Ty::B32, in.r[1]) || !c.src(2, Ty::U32, in.r[2]) ||
      !c.src(3, Ty::S32, in.r[3]))
    return false;
  c.emit(in);
  return true;
}

bool selVideo(DecodeCtx& c, uint32_t op, uint32_t k) {
  if (c.spec.types.size() != 3) return c.fail("video ops need three types");
  for (Ty t : c.spec.types)
    if (t != Ty::U32 && t != Ty::S32) return c.fail("video ops need .u32/.s32 types");
  Inst in = c.make(&hVideo);
  in.aux = op;
  in.n = k | (isSigned(c.spec.type(1)) ? 8u : 0u) | (isSigned(c.spec.type(2)) ? 16u : 0u);
  if (c.spec.take("sat")) in.n |= 32;
  if (c.spec.take("add")) in.n |= 64;
  if (isSigned(c.spec.type(0)) != isSigned(c.spec.type(1)) && (in.n & 32)) return c.fail("mixed-sign saturation");
  if (!c.want(4) || !c.dst(0, Ty::B32, in.r[0]) || !c.src(1, Ty::B32, in.r[1]) || !c.src(2, Ty::B32, in.r[2]) ||
      !c.src(3, Ty::B32, in.r[3]))
    return false;
  c.emit(in);
  return true;
}

template <uint32_t Op, uint32_t K>
bool selVideoOp(DecodeCtx& c) {
  return selVideo(c, Op, K);
}

}  // namespace

void registerIntOps(SelectorTable& t) {
  t["fns"] = selFns;
  t["vabsdiff2"] = selVideoOp<0, 2>;
  t["vabsdiff4"] = selVideoOp<0, 4>;
  t["vadd2"] = selVideoOp<1, 2>;
  t["vadd4"] = selVideoOp<1, 4>;
  t["vsub2"] = selVideoOp<2, 2>;
  t["vsub4"] = selVideoOp<2, 4>;
  t["vmin2"] = selVideoOp<3, 2>;
  t["vmin4"] = selVideoOp<3, 4>;
  t["vmax2"] = selVideoOp<4, 2>;
  t["vmax4"] = selVideoOp<4, 4>;
  t["vavrg2"] = selVideoOp<5, 2>;
  t["vavrg4"] = selVideoOp<5, 4>;
  t["add:i"] = selAdd;
  t["sub:i"] = selSub;
  t["addc:i"] = selAddc;
  t["subc:i"] = selSubc;
  t["mul:i"] = selMul;
  t["mad:i"] = selMad;
  t["madc:i"] = selMadc;
  t["mul24:i"] = selMul24;
  t["mad24:i"] = selMad24;
  t["sad:i"] = selSad;
  t["div:i"] = selDiv;
  t["rem:i"] = selRem;
  t["abs:i"] = selAbs;
  t["neg:i"] = selNeg;
  t["min:i"] = selMin;
  t["max:i"] = selMax;
  t["and"] = selAnd;
  t["or"] = selOr;
  t["xor"] = selXor;
  t["not"] = selNot;
  t["cnot"] = selCnot;
  t["shl"] = selShl;
  t["shr"] = selShr;
  t["popc"] = selCount<OpPopc>;
  t["clz"] = selCount<OpClz>;
  t["bfind"] = selCount<OpBfind>;
  t["brev"] = selBrev;
  t["bfe"] = selBfe;
  t["bfi"] = selBfi;
  t["prmt"] = selPrmt;
  t["shf"] = selShf;
  t["lop3"] = selLop3;
  t["dp4a"] = selDp4a;
  t["dp2a"] = selDp2a;
  t["szext"] = selSzext;
  t["bmsk"] = selBmsk;
}

}  // namespace modnn::ptx
