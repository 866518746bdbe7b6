// cvt in every direction between integer, f16/bf16/tf32, f32 and f64 types
// with every rounding (.rn .rz .rm .rp .rna, .rni .rzi .rmi .rpi) and
// saturation (.sat, .satfinite, .relu) mode, .ftz, the f16x2/bf16x2
// packing forms, and registers wider than the instruction type. Common
// conversions have dedicated handlers; the rest go through one generic
// per-lane path over double/int64 intermediates.
#include <algorithm>
#include <cmath>
#include <limits>

#include "modnn/cpu/ptx/float_bits.h"
#include "modnn/cpu/ptx/ops_common.h"
#include "modnn/cpu/ptx/ops_rounding.h"

namespace modnn::ptx {
namespace {

enum IntRound : int8_t { kNoIRnd = -1, kRni = 0, kRzi = 1, kRmi = 2, kRpi = 3 };

template <class T>
T roundIntegral(T x, int irnd) {
  switch (irnd) {
    case kRni: return std::nearbyint(x);
    case kRzi: return std::trunc(x);
    case kRmi: return std::floor(x);
    case kRpi: return std::ceil(x);
  }
  return x;
}

// Float -> integer of type D, saturating; NaN gives 0.
template <class D>
D floatToInt(double x) {
  if (std::isnan(x)) return D(0);
  constexpr double lo = double(std::numeric_limits<D>::min());
  constexpr double hi = double(std::numeric_limits<D>::max());
  if (x <= lo) return std::numeric_limits<D>::min();
  if (x >= hi) return std::numeric_limits<D>::max();
  return D(x);
}

// ---------------------------------------------------------------- fast paths

template <class D, class S>
modnn_status hCvtII(Warp& w, const Inst& in, uint32_t m) {
  const S* a = R<S>(w, in.r[1]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) { return D(a[l]); });
  return MODNN_OK;
}

template <class D, class S>
modnn_status hCvtIISat(Warp& w, const Inst& in, uint32_t m) {
  const S* a = R<S>(w, in.r[1]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) -> D {
    S v = a[l];
    if constexpr (std::is_signed_v<S>) {
      if (v < 0) {
        if constexpr (!std::is_signed_v<D>) return D(0);
        else if (int64_t(v) < int64_t(std::numeric_limits<D>::min())) return std::numeric_limits<D>::min();
        return D(v);
      }
    }
    if (uint64_t(v) > uint64_t(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
    return D(v);
  });
  return MODNN_OK;
}

template <class D, class S, int IRnd, bool Ftz>
modnn_status hCvtFI2Int(Warp& w, const Inst& in, uint32_t m) {
  const S* a = R<S>(w, in.r[1]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) {
    S x = a[l];
    if constexpr (Ftz && std::is_same_v<S, float>) x = ftz(x);
    return floatToInt<D>(double(roundIntegral(x, IRnd)));
  });
  return MODNN_OK;
}

// Integer -> f32/f64 round-to-nearest, and f32 <-> f64 (.rn) conversions.
template <class D, class S, bool Ftz, bool Sat>
modnn_status hCvtToFloat(Warp& w, const Inst& in, uint32_t m) {
  const S* a = R<S>(w, in.r[1]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) {
    S x = a[l];
    if constexpr (Ftz && std::is_same_v<S, float>) x = ftz(x);
    D r = D(x);
    if constexpr (Ftz && std::is_same_v<D, float>) r = ftz(r);
    if constexpr (Sat) r = std::isnan(r) ? D(0) : std::fmin(std::fmax(r, D(0)), D(1));
    return r;
  });
  return MODNN_OK;
}

// Same-type integral rounding (cvt.rni.f32.f32 ...) with .ftz/.sat.
template <class T, int IRnd, bool Ftz, bool Sat>
modnn_status hCvtIntegral(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  lanesOut(R<T>(w, in.r[0]), m, [&](uint32_t l) {
    T x = a[l];
    if constexpr (Ftz && std::is_same_v<T, float>) x = ftz(x);
    T r = roundIntegral(x, IRnd);
    if constexpr (Ftz && std::is_same_v<T, float>) r = ftz(r);
    if constexpr (Sat) r = std::isnan(r) ? T(0) : std::fmin(std::fmax(r, T(0)), T(1));
    return r;
  });
  return MODNN_OK;
}

// ---------------------------------------------------------------- generic path

struct CvtSpec {
  Ty dt, st;
  uint32_t dreg, sreg;  // register sizes
  Round frnd;
  int irnd;
  bool hasFrnd, ftz, sat, relu, satfinite;
};

uint64_t readBits(const uint8_t* rf, uint32_t off, uint32_t size, uint32_t lane) {
  uint64_t v = 0;
  std::memcpy(&v, rf + off + size_t(lane) * size, size);
  return v;
}

void writeBits(uint8_t* rf, uint32_t off, uint32_t size, uint32_t lane, uint64_t v) {
  std::memcpy(rf + off + size_t(lane) * size, &v, size);
}

double decodeFloat(Ty t, uint64_t bits) {
  switch (t) {
    case Ty::F16: return halfBitsToFloat(uint16_t(bits));
    case Ty::BF16: return bf16BitsToFloat(uint16_t(bits));
    case Ty::F32: case Ty::TF32: return bitsToFloat(uint32_t(bits));
    case Ty::F64: return bitsToDouble(bits);
    default: return 0;
  }
}

// The destination bits of converting one value.
uint64_t convertOne(const CvtSpec& s, uint64_t srcBits) {
  uint32_t ssize = tySize(s.st), dsize = tySize(s.dt);
  if (ssize < 8) srcBits &= (uint64_t(1) << (8 * ssize)) - 1;
  uint64_t out = 0;
  if (isFloat(s.dt)) {
    double v;
    if (isFloat(s.st)) {
      v = decodeFloat(s.st, srcBits);
      if (s.ftz && s.st == Ty::F32) v = ftz(float(v));
      if (s.irnd >= 0) v = roundIntegral(v, s.irnd);
    } else if (isSigned(s.st)) {
      int64_t iv = int64_t(srcBits << (64 - 8 * ssize)) >> (64 - 8 * ssize);
      v = double(iv);
    } else {
      v = double(srcBits);
    }
    if (s.relu && (v < 0 || (v == 0 && std::signbit(v)))) v = 0;
    if (s.sat) v = std::isnan(v) ? 0 : std::fmin(std::fmax(v, 0.0), 1.0);
    Round r = s.hasFrnd ? s.frnd : Round::Nearest;
    switch (s.dt) {
      case Ty::F16:
        out = std::isnan(v) ? kCanonicalNanF16 : floatToHalfBits(v, r, s.satfinite);
        break;
      case Ty::BF16:
        out = std::isnan(v) ? kCanonicalNanBF16 : floatToBf16Bits(v, r, s.satfinite);
        break;
      case Ty::TF32: {
        // tf32 keeps the f32 layout with the low 13 mantissa bits zero.
        uint64_t t = roundToFormat(v, 10, 8, r, s.satfinite);
        uint32_t sign = uint32_t(t >> 18) & 1, exp = uint32_t(t >> 10) & 0xff, man = uint32_t(t) & 0x3ff;
        out = std::isnan(v) ? kCanonicalNanF32 : (sign << 31) | (exp << 23) | (man << 13);
        break;
      }
      case Ty::F32: {
        uint32_t b = std::isnan(v) ? kCanonicalNanF32 : floatToF32Bits(v, r);
        if (s.ftz) b = floatToBits(ftz(bitsToFloat(b)));
        out = b;
        break;
      }
      case Ty::F64: out = doubleToBits(v); break;
      default: break;
    }
  } else {
    bool dsigned = isSigned(s.dt);
    if (isFloat(s.st)) {
      double v = decodeFloat(s.st, srcBits);
      if (s.ftz && s.st == Ty::F32) v = ftz(float(v));
      v = roundIntegral(v, s.irnd >= 0 ? s.irnd : kRzi);
      switch (dsize) {
        case 1: out = dsigned ? uint64_t(floatToInt<int8_t>(v)) : floatToInt<uint8_t>(v); break;
        case 2: out = dsigned ? uint64_t(floatToInt<int16_t>(v)) : floatToInt<uint16_t>(v); break;
        case 4: out = dsigned ? uint64_t(floatToInt<int32_t>(v)) : floatToInt<uint32_t>(v); break;
        default: out = dsigned ? uint64_t(floatToInt<int64_t>(v)) : floatToInt<uint64_t>(v); break;
      }
    } else {
      bool ssigned = isSigned(s.st);
      if (s.sat) {
        // Exact value of the source, clamped to the destination range.
        __int128 v = ssigned ? __int128(int64_t(srcBits << (64 - 8 * ssize)) >> (64 - 8 * ssize))
                             : __int128(srcBits);
        __int128 lo = dsigned ? -(__int128(1) << (8 * dsize - 1)) : 0;
        __int128 hi = dsigned ? (__int128(1) << (8 * dsize - 1)) - 1 : (__int128(1) << (8 * dsize)) - 1;
        if (v < lo) v = lo;
        if (v > hi) v = hi;
        out = uint64_t(v);
      } else if (ssigned && dsize > ssize) {
        out = uint64_t(int64_t(srcBits << (64 - 8 * ssize)) >> (64 - 8 * ssize));
      } else {
        out = srcBits;
      }
    }
    if (dsize < 8) out &= (uint64_t(1) << (8 * dsize)) - 1;
  }
  return out;
}

// Extends a dsize-byte value to the destination register width.
uint64_t extendToReg(const CvtSpec& s, uint64_t v) {
  uint32_t dsize = tySize(s.dt);
  if (s.dreg > dsize && isSigned(s.dt)) return uint64_t(int64_t(v << (64 - 8 * dsize)) >> (64 - 8 * dsize));
  return v;
}

// r[0] d, r[1] a
modnn_status hCvtGeneric(Warp& w, const Inst& in, uint32_t m) {
  auto* s = static_cast<const CvtSpec*>(in.ext);
  eachLane(m, [&](uint32_t l) {
    uint64_t src = readBits(w.rf, in.r[1], s->sreg, l);
    writeBits(w.rf, in.r[0], s->dreg, l, extendToReg(*s, convertOne(*s, src)));
  });
  return MODNN_OK;
}

// cvt.frnd.{f16x2,bf16x2}.f32 d, a, b: a to the upper half, b to the lower.
modnn_status hCvtPair(Warp& w, const Inst& in, uint32_t m) {
  auto* s = static_cast<const CvtSpec*>(in.ext);
  const uint32_t* a = R<uint32_t>(w, in.r[1]);
  const uint32_t* b = R<uint32_t>(w, in.r[2]);
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    return uint32_t(convertOne(*s, a[l]) << 16) | uint32_t(convertOne(*s, b[l]));
  });
  return MODNN_OK;
}

// ---------------------------------------------------------------- selection

template <class D>
Handler iiFrom(Ty st, bool sat) {
  return byIntType(st, [sat]<class S>() -> Handler {
    if (sat) return &hCvtIISat<D, S>;
    return &hCvtII<D, S>;
  });
}

Handler intToInt(Ty dt, Ty st, bool sat) {
  return byIntType(dt, [st, sat]<class D>() -> Handler { return iiFrom<D>(st, sat); });
}

template <class S, bool Ftz>
Handler floatToIntHandler(Ty dt, int irnd) {
  return byIntType(dt, [irnd]<class D>() -> Handler {
    switch (irnd) {
      case kRni: return &hCvtFI2Int<D, S, kRni, Ftz>;
      case kRzi: return &hCvtFI2Int<D, S, kRzi, Ftz>;
      case kRmi: return &hCvtFI2Int<D, S, kRmi, Ftz>;
      case kRpi: return &hCvtFI2Int<D, S, kRpi, Ftz>;
    }
    return nullptr;
  });
}

template <class T, bool Ftz, bool Sat>
Handler integralHandler(int irnd) {
  switch (irnd) {
    case kRni: return &hCvtIntegral<T, kRni, Ftz, Sat>;
    case kRzi: return &hCvtIntegral<T, kRzi, Ftz, Sat>;
    case kRmi: return &hCvtIntegral<T, kRmi, Ftz, Sat>;
    case kRpi: return &hCvtIntegral<T, kRpi, Ftz, Sat>;
  }
  return &hCvtIntegral<T, -1, Ftz, Sat>;
}

template <class D, bool Ftz, bool Sat>
Handler toFloatFrom(Ty st) {
  switch (st) {
    case Ty::F32: return &hCvtToFloat<D, float, Ftz, Sat>;
    case Ty::F64: return &hCvtToFloat<D, double, Ftz, Sat>;
    default: break;
  }
  if (Ftz) return nullptr;
  return byIntType(st, []<class S>() -> Handler { return &hCvtToFloat<D, S, false, Sat>; });
}

template <class D>
Handler toFloat(Ty st, bool ftz, bool sat) {
  if (ftz) return sat ? toFloatFrom<D, true, true>(st) : toFloatFrom<D, true, false>(st);
  return sat ? toFloatFrom<D, false, true>(st) : toFloatFrom<D, false, false>(st);
}

bool selCvt(DecodeCtx& c) {
  CvtSpec s{};
  s.irnd = c.spec.takeOne({"rni", "rzi", "rmi", "rpi"});
  int fr = c.spec.takeOne({"rn", "rz", "rm", "rp", "rna"});
  s.hasFrnd = fr >= 0;
  s.frnd = fr == 1 ? Round::Zero : fr == 2 ? Round::Down : fr == 3 ? Round::Up : fr == 4 ? Round::NearestAway
                                                                                          : Round::Nearest;
  s.ftz = c.spec.take("ftz");
  s.sat = c.spec.take("sat");
  s.relu = c.spec.take("relu");
  s.satfinite = c.spec.take("satfinite");
  if (c.spec.types.size() != 2) return c.fail("cvt needs destination and source types");
  s.dt = c.spec.type(0);
  s.st = c.spec.type(1);
  Ty dt = s.dt, st = s.st;
  if (s.irnd >= 0 && !isFloat(st)) return c.fail("integer rounding on an integer source");
  if (isFloat(dt) && !isFloat(st) && !s.hasFrnd && dt != Ty::F64 && dt != Ty::F16 && dt != Ty::BF16)
    s.hasFrnd = true;  // int -> float defaults to .rn

  if (dt == Ty::F16x2 || dt == Ty::BF16x2) {
    if (st != Ty::F32) return c.fail("packed conversion needs .f32 sources");
    s.dt = dt == Ty::F16x2 ? Ty::F16 : Ty::BF16;
    Inst in = c.make(&hCvtPair);
    if (!c.want(3) || !c.dst(0, Ty::B32, in.r[0]) || !c.src(1, Ty::F32, in.r[1]) || !c.src(2, Ty::F32, in.r[2]))
      return false;
    in.ext = c.own(s);
    c.emit(in);
    return true;
  }
  if (!c.want(2)) return false;
  if (tySize(dt) == 0 || tySize(st) == 0 || dt == Ty::B128) return c.fail("cvt types");
  s.dreg = c.regSizeOf(c.op(0));
  if (s.dreg < tySize(dt)) return c.fail("cvt destination register narrower than its type");
  uint32_t dregOff, sregOff;
  if (!c.reg(0, dt, dregOff, true)) return false;
  if (c.op(1).kind == OpKind::Reg) {
    s.sreg = c.regSizeOf(c.op(1));
    if (!c.reg(1, st, sregOff, true)) return false;
  } else {
    s.sreg = tySize(st);
    if (!c.src(1, st, sregOff)) return false;
  }
  bool exact = s.dreg == tySize(dt) && s.sreg == tySize(st);
  Handler h = nullptr;
  bool directed = s.hasFrnd && s.frnd != Round::Nearest;
  if (exact && !s.relu && !s.satfinite) {
    if (isInt(dt) && isInt(st) && !s.ftz) {
      h = intToInt(dt, st, s.sat);
    } else if (isInt(dt) && (st == Ty::F32 || st == Ty::F64) && !s.sat && !s.hasFrnd) {
      int irnd = s.irnd >= 0 ? s.irnd : kRzi;
      h = st == Ty::F32 ? (s.ftz ? floatToIntHandler<float, true>(dt, irnd) : floatToIntHandler<float, false>(dt, irnd))
                        : floatToIntHandler<double, false>(dt, irnd);
    } else if ((dt == Ty::F32 || dt == Ty::F64) && dt == st && !s.hasFrnd) {
      h = dt == Ty::F32 ? (s.ftz ? (s.sat ? integralHandler<float, true, true>(s.irnd)
                                          : integralHandler<float, true, false>(s.irnd))
                                 : (s.sat ? integralHandler<float, false, true>(s.irnd)
                                          : integralHandler<float, false, false>(s.irnd)))
                        : (s.sat ? integralHandler<double, false, true>(s.irnd)
                                 : integralHandler<double, false, false>(s.irnd));
    } else if ((dt == Ty::F32 || dt == Ty::F64) && s.irnd < 0 && !directed) {
      // .rn (or exact widening) to f32/f64 from an integer or the other float.
      bool widening = dt == Ty::F64 && st == Ty::F32;
      if (isInt(st) || widening || (dt == Ty::F32 && st == Ty::F64))
        h = dt == Ty::F32 ? toFloat<float>(st, s.ftz, s.sat) : toFloat<double>(st, s.ftz, s.sat);
    } else if ((dt == Ty::F32 || dt == Ty::F64) && s.irnd < 0 && directed && st != dt &&
               (isInt(st) || st == Ty::F64 || st == Ty::F32)) {
      h = roundedConvertHandler(dt, st, s.frnd, s.ftz, s.sat);
      if (h) {
        Inst in = c.make(h);
        in.r[0] = dregOff;
        in.r[1] = sregOff;
        in.aux = uint32_t(roundingAux(s.frnd));
        c.emit(in);
        return true;
      }
    }
  }
  Inst in = c.make(h ? h : &hCvtGeneric);
  in.r[0] = dregOff;
  in.r[1] = sregOff;
  if (!h) in.ext = c.own(s);
  c.emit(in);
  return true;
}

// cvt.pack.sat.{u8,s8,u16,s16}.s32 d, a, b{, c}: saturating narrow and pack.
modnn_status hCvtPack(Warp& w, const Inst& in, uint32_t m) {
  const int32_t* a = R<int32_t>(w, in.r[1]);
  const int32_t* b = R<int32_t>(w, in.r[2]);
  const uint32_t* c = in.r[3] != kNoReg ? R<uint32_t>(w, in.r[3]) : nullptr;
  uint32_t bits = in.n, sgn = in.aux;
  int64_t lo = sgn ? -(int64_t(1) << (bits - 1)) : 0, hi = sgn ? (int64_t(1) << (bits - 1)) - 1 : (int64_t(1) << bits) - 1;
  uint32_t mask = (1u << bits) - 1;
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) {
    uint32_t ha = uint32_t(std::clamp<int64_t>(a[l], lo, hi)) & mask;
    uint32_t hb = uint32_t(std::clamp<int64_t>(b[l], lo, hi)) & mask;
    uint32_t r = (ha << bits) | hb;
    if (c) r = (r << (2 * bits)) | (c[l] & ((1u << (2 * bits)) - 1));
    return r;
  });
  return MODNN_OK;
}

bool selCvtPack(DecodeCtx& c) {
  if (!c.spec.take("sat")) return c.fail("cvt.pack needs .sat");
  Ty dt = c.spec.type(0);
  if (c.spec.type(1) != Ty::S32) return c.fail("cvt.pack needs .s32 sources");
  Inst in = c.make(&hCvtPack);
  switch (dt) {
    case Ty::U16: in.n = 16; in.aux = 0; break;
    case Ty::S16: in.n = 16; in.aux = 1; break;
    case Ty::U8: in.n = 8; in.aux = 0; break;
    case Ty::S8: in.n = 8; in.aux = 1; break;
    default: return c.fail("cvt.pack type");
  }
  if (c.count() != 3 && c.count() != 4) return c.fail("cvt.pack operands");
  if (!c.reg(0, Ty::B32, in.r[0]) || !c.src(1, Ty::S32, in.r[1]) || !c.src(2, Ty::S32, in.r[2])) return false;
  if (c.count() == 4 && !c.src(3, Ty::B32, in.r[3])) return false;
  c.emit(in);
  return true;
}

bool selCvtDispatch(DecodeCtx& c) {
  if (c.spec.take("pack")) return selCvtPack(c);
  return selCvt(c);
}

}  // namespace

void registerConvertOps(SelectorTable& t) { t["cvt"] = selCvtDispatch; }

}  // namespace modnn::ptx
