// Compiled with -frounding-math: the host rounding mode is set once per
// warp instruction, and the compiler must not fold or move the operations
// across it.
#include "modnn/cpu/ptx/ops_rounding.h"

#include <cfenv>
#include <cmath>

#include "modnn/cpu/ptx/ptx_exec.h"

namespace modnn::ptx {
namespace {

int hostMode(Round r) {
  switch (r) {
    case Round::Zero: return FE_TOWARDZERO;
    case Round::Down: return FE_DOWNWARD;
    case Round::Up: return FE_UPWARD;
    default: return FE_TONEAREST;
  }
}

struct ModeGuard {
  explicit ModeGuard(int mode) { std::fesetround(mode); }
  ~ModeGuard() { std::fesetround(FE_TONEAREST); }
};

template <class T>
T saturate(T x) {
  if (std::isnan(x)) return T(0);
  return x < T(0) ? T(0) : (x > T(1) ? T(1) : x);
}

template <class T, FOp Op, bool Ftz, bool Sat>
modnn_status hRounded(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  const T* b = in.r[2] != kNoReg ? R<T>(w, in.r[2]) : a;
  const T* c = in.r[3] != kNoReg ? R<T>(w, in.r[3]) : a;
  T* d = R<T>(w, in.r[0]);
  ModeGuard guard(int(in.aux));
  eachLane(m, [&](uint32_t l) {
    volatile T x = Ftz ? ftz(a[l]) : a[l];
    volatile T y = Ftz ? ftz(b[l]) : b[l];
    volatile T z = Ftz ? ftz(c[l]) : c[l];
    T r;
    switch (Op) {
      case FOp::Add: r = x + y; break;
      case FOp::Sub: r = x - y; break;
      case FOp::Mul: r = x * y; break;
      case FOp::Fma: r = std::fma(T(x), T(y), T(z)); break;
      case FOp::Div: r = x / y; break;
      case FOp::Sqrt: r = std::sqrt(T(x)); break;
      case FOp::Rcp: r = T(1) / x; break;
    }
    if (Ftz) r = ftz(r);
    if (Sat) r = saturate(r);
    d[l] = r;
  });
  return MODNN_OK;
}

template <class T, FOp Op>
Handler pickFlags(bool ftz, bool sat) {
  if (ftz) return sat ? &hRounded<T, Op, true, true> : &hRounded<T, Op, true, false>;
  return sat ? &hRounded<T, Op, false, true> : &hRounded<T, Op, false, false>;
}

template <class T>
Handler pickOp(FOp op, bool ftz, bool sat) {
  switch (op) {
    case FOp::Add: return pickFlags<T, FOp::Add>(ftz, sat);
    case FOp::Sub: return pickFlags<T, FOp::Sub>(ftz, sat);
    case FOp::Mul: return pickFlags<T, FOp::Mul>(ftz, sat);
    case FOp::Fma: return pickFlags<T, FOp::Fma>(ftz, sat);
    case FOp::Div: return pickFlags<T, FOp::Div>(ftz, sat);
    case FOp::Sqrt: return pickFlags<T, FOp::Sqrt>(ftz, sat);
    case FOp::Rcp: return pickFlags<T, FOp::Rcp>(ftz, sat);
  }
  return nullptr;
}

// Conversions: D destination, S source.
template <class D, class S, bool Ftz, bool Sat>
modnn_status hRoundedCvt(Warp& w, const Inst& in, uint32_t m) {
  const S* a = R<S>(w, in.r[1]);
  D* d = R<D>(w, in.r[0]);
  ModeGuard guard(int(in.aux));
  eachLane(m, [&](uint32_t l) {
    volatile S x = a[l];
    if constexpr (std::is_floating_point_v<S>)
      if (Ftz) x = ftz(S(x));
    D r = D(x);
    if constexpr (std::is_floating_point_v<D>) {
      if (Ftz) r = ftz(r);
      if (Sat) r = saturate(r);
    }
    d[l] = r;
  });
  return MODNN_OK;
}

template <class D, class S>
Handler cvtFlags(bool ftz, bool sat) {
  if (ftz) return sat ? &hRoundedCvt<D, S, true, true> : &hRoundedCvt<D, S, true, false>;
  return sat ? &hRoundedCvt<D, S, false, true> : &hRoundedCvt<D, S, false, false>;
}

template <class D>
Handler cvtFrom(Ty st, bool ftz, bool sat) {
  switch (st) {
    case Ty::S8: return cvtFlags<D, int8_t>(ftz, sat);
    case Ty::U8: return cvtFlags<D, uint8_t>(ftz, sat);
    case Ty::S16: return cvtFlags<D, int16_t>(ftz, sat);
    case Ty::U16: return cvtFlags<D, uint16_t>(ftz, sat);
    case Ty::S32: return cvtFlags<D, int32_t>(ftz, sat);
    case Ty::U32: return cvtFlags<D, uint32_t>(ftz, sat);
    case Ty::S64: return cvtFlags<D, int64_t>(ftz, sat);
    case Ty::U64: return cvtFlags<D, uint64_t>(ftz, sat);
    case Ty::F32: return cvtFlags<D, float>(ftz, sat);
    case Ty::F64: return cvtFlags<D, double>(ftz, sat);
    default: return nullptr;
  }
}

}  // namespace

// The mode itself travels in Inst::aux (roundingAux), so one handler serves all modes.
Handler roundedFloatHandler(FOp op, Ty ty, Round, bool ftz, bool sat) {
  if (ty == Ty::F32) return pickOp<float>(op, ftz, sat);
  if (ty == Ty::F64) return pickOp<double>(op, false, sat);
  return nullptr;
}

Handler roundedConvertHandler(Ty dt, Ty st, Round, bool ftz, bool sat) {
  if (dt == Ty::F32) return cvtFrom<float>(st, ftz, sat);
  if (dt == Ty::F64) return cvtFrom<double>(st, ftz, sat);
  return nullptr;
}

int roundingAux(Round r) { return hostMode(r); }

}  // namespace modnn::ptx
