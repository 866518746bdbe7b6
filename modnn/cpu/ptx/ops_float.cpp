// f32/f64 family: add/sub/mul/fma/mad, div (approx, full, IEEE), rcp,
// sqrt, rsqrt, sin/cos/lg2/ex2/tanh approximations, abs/neg/min/max,
// copysign, testp. Round-to-nearest forms run natively; directed rounding
// goes through ops_rounding.
#include <cmath>

#include "modnn/cpu/ptx/float_bits.h"
#include "modnn/cpu/ptx/ops_common.h"
#include "modnn/cpu/ptx/ops_rounding.h"

namespace modnn::ptx {
namespace {

template <class T>
T saturate(T x) {
  if (std::isnan(x)) return T(0);
  return x < T(0) ? T(0) : (x > T(1) ? T(1) : x);
}

template <class T, bool Ftz>
T in_(T x) {
  if constexpr (Ftz && std::is_same_v<T, float>) return ftz(x);
  return x;
}

template <class T, bool Ftz, bool Sat>
T out_(T x) {
  if constexpr (Ftz && std::is_same_v<T, float>) x = ftz(x);
  if constexpr (Sat) x = saturate(x);
  return x;
}

struct FAdd { template <class T> static T f(T a, T b) { return a + b; } };
struct FSub { template <class T> static T f(T a, T b) { return a - b; } };
struct FMul { template <class T> static T f(T a, T b) { return a * b; } };
struct FDiv { template <class T> static T f(T a, T b) { return a / b; } };
// div.approx.f32: a * (1/b); |b| in (2^126, 2^128) gives 0 as on hardware.
struct FDivApprox {
  template <class T> static T f(T a, T b) {
    T ab = std::fabs(b);
    if (ab > T(8.507059e37) && std::isfinite(ab)) return std::isinf(a) ? a : T(0) * a;
    return a * (T(1) / b);
  }
};
// min/max: a NaN operand yields the other; -0 orders below +0.
struct FMin {
  template <class T> static T f(T a, T b) {
    if (std::isnan(a)) return b;
    if (std::isnan(b)) return a;
    if (a == b) return std::signbit(a) ? a : b;
    return a < b ? a : b;
  }
};
struct FMax {
  template <class T> static T f(T a, T b) {
    if (std::isnan(a)) return b;
    if (std::isnan(b)) return a;
    if (a == b) return std::signbit(a) ? b : a;
    return a > b ? a : b;
  }
};
struct FMinNan {
  template <class T> static T f(T a, T b) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    return FMin::f(a, b);
  }
};
struct FMaxNan {
  template <class T> static T f(T a, T b) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    return FMax::f(a, b);
  }
};
// copysign d, a, b: magnitude of b, sign of a.
struct FCopysign { template <class T> static T f(T a, T b) { return std::copysign(b, a); } };

template <class T, class Op, bool Ftz, bool Sat>
struct hFBin {
  static modnn_status run(Warp& w, const Inst& in, uint32_t m) {
    const T* a = R<T>(w, in.r[1]);
    const T* b = R<T>(w, in.r[2]);
    lanesOut(R<T>(w, in.r[0]), m,
             [&](uint32_t l) { return out_<T, Ftz, Sat>(Op::f(in_<T, Ftz>(a[l]), in_<T, Ftz>(b[l]))); });
    return MODNN_OK;
  }
};

template <class T, bool Ftz, bool Sat>
modnn_status hFma(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  const T* b = R<T>(w, in.r[2]);
  const T* c = R<T>(w, in.r[3]);
  lanesOut(R<T>(w, in.r[0]), m, [&](uint32_t l) {
    return out_<T, Ftz, Sat>(std::fma(in_<T, Ftz>(a[l]), in_<T, Ftz>(b[l]), in_<T, Ftz>(c[l])));
  });
  return MODNN_OK;
}

struct FAbs { template <class T> static T f(T a) { return std::fabs(a); } };
struct FNeg { template <class T> static T f(T a) { return -a; } };
struct FRcp { template <class T> static T f(T a) { return T(1) / a; } };
struct FSqrt { template <class T> static T f(T a) { return std::sqrt(a); } };
struct FRsqrt { template <class T> static T f(T a) { return T(1) / std::sqrt(a); } };
struct FSin { template <class T> static T f(T a) { return std::sin(a); } };
struct FCos { template <class T> static T f(T a) { return std::cos(a); } };
struct FLg2 { template <class T> static T f(T a) { return std::log2(a); } };
struct FEx2 { template <class T> static T f(T a) { return std::exp2(a); } };
struct FTanh { template <class T> static T f(T a) { return std::tanh(a); } };

template <class T, class Op, bool Ftz, bool Sat>
struct hFUn {
  static modnn_status run(Warp& w, const Inst& in, uint32_t m) {
    const T* a = R<T>(w, in.r[1]);
    lanesOut(R<T>(w, in.r[0]), m, [&](uint32_t l) { return out_<T, Ftz, Sat>(Op::f(in_<T, Ftz>(a[l]))); });
    return MODNN_OK;
  }
};

template <template <class, class, bool, bool> class H, class Op>
Handler pickF(Ty ty, bool ftz, bool sat) {
  if (ty == Ty::F64) return sat ? &H<double, Op, false, true>::run : &H<double, Op, false, false>::run;
  if (ty != Ty::F32) return nullptr;
  if (ftz) return sat ? &H<float, Op, true, true>::run : &H<float, Op, true, false>::run;
  return sat ? &H<float, Op, false, true>::run : &H<float, Op, false, false>::run;
}

// The same with the host's FMA instruction instead of a libm call per lane.
template <class T, bool Ftz, bool Sat>
__attribute__((target("avx2,fma"))) modnn_status hFmaHw(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  const T* b = R<T>(w, in.r[2]);
  const T* c = R<T>(w, in.r[3]);
  T* d = R<T>(w, in.r[0]);
  alignas(64) T tmp[kLanes];
  for (uint32_t l = 0; l < kLanes; ++l)
    tmp[l] = out_<T, Ftz, Sat>(__builtin_fma(in_<T, Ftz>(a[l]), in_<T, Ftz>(b[l]), in_<T, Ftz>(c[l])));
  if (m == kFullMask) {
    for (uint32_t l = 0; l < kLanes; ++l) d[l] = tmp[l];
  } else {
    for (uint32_t l = 0; l < kLanes; ++l) d[l] = (m >> l & 1) ? tmp[l] : d[l];
  }
  return MODNN_OK;
}

template <>
__attribute__((target("avx2,fma"))) modnn_status hFmaHw<float, false, false>(Warp& w, const Inst& in, uint32_t m) {
  const float* a = R<float>(w, in.r[1]);
  const float* b = R<float>(w, in.r[2]);
  const float* c = R<float>(w, in.r[3]);
  float* d = R<float>(w, in.r[0]);
  alignas(64) float tmp[kLanes];
  for (uint32_t l = 0; l < kLanes; ++l) tmp[l] = __builtin_fmaf(a[l], b[l], c[l]);
  if (m == kFullMask) {
    for (uint32_t l = 0; l < kLanes; ++l) d[l] = tmp[l];
  } else {
    for (uint32_t l = 0; l < kLanes; ++l) d[l] = (m >> l & 1) ? tmp[l] : d[l];
  }
  return MODNN_OK;
}

bool hostHasFma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

Handler pickFma(Ty ty, bool ftz, bool sat) {
  if (hostHasFma()) {
    if (ty == Ty::F64) return sat ? &hFmaHw<double, false, true> : &hFmaHw<double, false, false>;
    if (ty != Ty::F32) return nullptr;
    if (ftz) return sat ? &hFmaHw<float, true, true> : &hFmaHw<float, true, false>;
    return sat ? &hFmaHw<float, false, true> : &hFmaHw<float, false, false>;
  }
  if (ty == Ty::F64) return sat ? &hFma<double, false, true> : &hFma<double, false, false>;
  if (ty != Ty::F32) return nullptr;
  if (ftz) return sat ? &hFma<float, true, true> : &hFma<float, true, false>;
  return sat ? &hFma<float, false, true> : &hFma<float, false, false>;
}

// Rounding qualifier: -1 none, else the mode.
int takeRounding(DecodeCtx& c, Round& r) {
  switch (c.spec.takeOne({"rn", "rz", "rm", "rp"})) {
    case 0: r = Round::Nearest; return 0;
    case 1: r = Round::Zero; return 1;
    case 2: r = Round::Down; return 2;
    case 3: r = Round::Up; return 3;
  }
  r = Round::Nearest;
  return -1;
}

bool emitF(DecodeCtx& c, Handler h, Ty ty, size_t nsrc) {
  if (!h) return c.fail("unsupported type or qualifiers");
  Inst in = c.make(h);
  if (!operandsSameType(c, ty, nsrc, in)) return false;
  c.emit(in);
  return true;
}

bool emitRounded(DecodeCtx& c, FOp op, Ty ty, Round r, bool ftz, bool sat, size_t nsrc) {
  Handler h = roundedFloatHandler(op, ty, r, ftz, sat);
  if (!h) return c.fail("unsupported rounding form");
  Inst in = c.make(h);
  in.aux = uint32_t(roundingAux(r));
  if (!operandsSameType(c, ty, nsrc, in)) return false;
  c.emit(in);
  return true;
}

template <class Op, FOp ROp>
bool selFArith(DecodeCtx& c) {
  Ty ty = c.spec.type();
  Round r;
  int rm = takeRounding(c, r);
  bool ftz = c.spec.take("ftz"), sat = c.spec.take("sat");
  if (rm > 0) return emitRounded(c, ROp, ty, r, ftz, sat, 2);
  return emitF(c, pickF<hFBin, Op>(ty, ftz, sat), ty, 2);
}

bool selFFma(DecodeCtx& c) {
  Ty ty = c.spec.type();
  Round r;
  int rm = takeRounding(c, r);
  bool ftz = c.spec.take("ftz"), sat = c.spec.take("sat");
  if (c.spec.take("relu")) return c.fail(".relu on f32/f64");
  if (rm > 0) return emitRounded(c, FOp::Fma, ty, r, ftz, sat, 3);
  return emitF(c, pickFma(ty, ftz, sat), ty, 3);
}

bool selFMul(DecodeCtx& c) { return selFArith<FMul, FOp::Mul>(c); }
bool selFAdd(DecodeCtx& c) { return selFArith<FAdd, FOp::Add>(c); }
bool selFSub(DecodeCtx& c) { return selFArith<FSub, FOp::Sub>(c); }

bool selFDiv(DecodeCtx& c) {
  Ty ty = c.spec.type();
  bool approx = c.spec.take("approx"), full = c.spec.take("full");
  Round r;
  int rm = takeRounding(c, r);
  bool ftz = c.spec.take("ftz");
  if (approx) return emitF(c, pickF<hFBin, FDivApprox>(ty, ftz, false), ty, 2);
  if (full || rm <= 0) return emitF(c, pickF<hFBin, FDiv>(ty, ftz, false), ty, 2);
  return emitRounded(c, FOp::Div, ty, r, ftz, false, 2);
}

template <class Op>
bool selFUnaryApprox(DecodeCtx& c) {
  Ty ty = c.spec.type();
  c.spec.take("approx");
  bool ftz = c.spec.take("ftz");
  return emitF(c, pickF<hFUn, Op>(ty, ftz, false), ty, 1);
}

bool selFRcp(DecodeCtx& c) {
  Ty ty = c.spec.type();
  bool approx = c.spec.take("approx");
  Round r;
  int rm = takeRounding(c, r);
  bool ftz = c.spec.take("ftz");
  if (approx || rm <= 0) return emitF(c, pickF<hFUn, FRcp>(ty, ftz, false), ty, 1);
  return emitRounded(c, FOp::Rcp, ty, r, ftz, false, 1);
}

bool selFSqrt(DecodeCtx& c) {
  Ty ty = c.spec.type();
  bool approx = c.spec.take("approx");
  Round r;
  int rm = takeRounding(c, r);
  bool ftz = c.spec.take("ftz");
  if (approx || rm <= 0) return emitF(c, pickF<hFUn, FSqrt>(ty, ftz, false), ty, 1);
  return emitRounded(c, FOp::Sqrt, ty, r, ftz, false, 1);
}

bool selFAbs(DecodeCtx& c) {
  Ty ty = c.spec.type();
  bool ftz = c.spec.take("ftz");
  return emitF(c, pickF<hFUn, FAbs>(ty, ftz, false), ty, 1);
}
bool selFNeg(DecodeCtx& c) {
  Ty ty = c.spec.type();
  bool ftz = c.spec.take("ftz");
  return emitF(c, pickF<hFUn, FNeg>(ty, ftz, false), ty, 1);
}

bool selFMinMax(DecodeCtx& c, bool isMax) {
  Ty ty = c.spec.type();
  bool ftz = c.spec.take("ftz");
  bool nan = c.spec.take("NaN");
  if (c.count() != 3) return c.fail("three-input min/max is not supported");
  Handler h = isMax ? (nan ? pickF<hFBin, FMaxNan>(ty, ftz, false) : pickF<hFBin, FMax>(ty, ftz, false))
                    : (nan ? pickF<hFBin, FMinNan>(ty, ftz, false) : pickF<hFBin, FMin>(ty, ftz, false));
  return emitF(c, h, ty, 2);
}
bool selFMin(DecodeCtx& c) { return selFMinMax(c, false); }
bool selFMax(DecodeCtx& c) { return selFMinMax(c, true); }

bool selCopysign(DecodeCtx& c) {
  Ty ty = c.spec.type();
  return emitF(c, pickF<hFBin, FCopysign>(ty, false, false), ty, 2);
}

// testp: aux 0 finite, 1 infinite, 2 number, 3 notanumber, 4 normal, 5 subnormal
template <class T>
modnn_status hTestp(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  uint32_t bits = 0;
  for (uint32_t l = 0; l < kLanes; ++l) {
    int cls = std::fpclassify(a[l]);
    bool r = false;
    switch (in.aux) {
      case 0: r = cls != FP_INFINITE && cls != FP_NAN; break;
      case 1: r = cls == FP_INFINITE; break;
      case 2: r = cls != FP_NAN; break;
      case 3: r = cls == FP_NAN; break;
      case 4: r = cls == FP_NORMAL; break;
      case 5: r = cls == FP_SUBNORMAL; break;
    }
    bits |= uint32_t(r) << l;
  }
  setPred(w, in.r[0], bits, m);
  return MODNN_OK;
}

bool selTestp(DecodeCtx& c) {
  int which = c.spec.takeOne({"finite", "infinite", "number", "notanumber", "normal", "subnormal"});
  Ty ty = c.spec.type();
  if (which < 0) return c.fail("testp needs a property");
  Handler h = ty == Ty::F32 ? &hTestp<float> : ty == Ty::F64 ? &hTestp<double> : nullptr;
  if (!h) return c.fail("testp type");
  Inst in = c.make(h);
  in.aux = uint32_t(which);
  if (!c.want(2) || !c.reg(0, Ty::Pred, in.r[0]) || !c.src(1, ty, in.r[1])) return false;
  c.emit(in);
  return true;
}

}  // namespace

void registerFloatOps(SelectorTable& t) {
  t["add:f"] = selFAdd;
  t["sub:f"] = selFSub;
  t["mul:f"] = selFMul;
  t["fma:f"] = selFFma;
  t["mad:f"] = selFFma;
  t["div:f"] = selFDiv;
  t["rcp:f"] = selFRcp;
  t["sqrt:f"] = selFSqrt;
  t["rsqrt:f"] = selFUnaryApprox<FRsqrt>;
  t["sin:f"] = selFUnaryApprox<FSin>;
  t["cos:f"] = selFUnaryApprox<FCos>;
  t["lg2:f"] = selFUnaryApprox<FLg2>;
  t["ex2:f"] = selFUnaryApprox<FEx2>;
  t["tanh:f"] = selFUnaryApprox<FTanh>;
  t["abs:f"] = selFAbs;
  t["neg:f"] = selFNeg;
  t["min:f"] = selFMin;
  t["max:f"] = selFMax;
  t["copysign:f"] = selCopysign;
  t["testp"] = selTestp;
}

}  // namespace modnn::ptx
