// f16/bf16 family, scalar and x2: add/sub/mul/fma (.rn with .ftz .sat
// .relu), neg/abs, min/max (.NaN), ex2/tanh approximations, setp and set.
// Values are widened to float/double, computed, and rounded back to
// nearest-even (exact for add/sub/mul: the wide format has more than
// twice the precision plus two bits).
#include <cmath>

#include "modnn/cpu/ptx/float_bits.h"
#include "modnn/cpu/ptx/ops_common.h"

namespace modnn::ptx {
namespace {

enum HFlags : uint32_t { kFtz = 1, kSat = 2, kRelu = 4, kNan = 8 };

template <bool BF>
double decodeH(uint32_t bits) {
  return BF ? bf16BitsToFloat(uint16_t(bits)) : halfBitsToFloat(uint16_t(bits));
}

template <bool BF>
bool isSubnormalH(uint32_t bits) {
  uint32_t exp = BF ? (bits >> 7) & 0xff : (bits >> 10) & 0x1f;
  uint32_t man = BF ? bits & 0x7f : bits & 0x3ff;
  return exp == 0 && man != 0;
}

template <bool BF>
uint32_t flushH(uint32_t bits) {
  return isSubnormalH<BF>(bits) ? bits & 0x8000 : bits;
}

template <bool BF>
uint32_t encodeH(double v, uint32_t flags) {
  if (std::isnan(v)) return BF ? uint32_t(kCanonicalNanBF16) : uint32_t(kCanonicalNanF16);
  if ((flags & kRelu) && v < 0) v = 0;
  if (flags & kSat) v = std::fmin(std::fmax(v, 0.0), 1.0);
  uint32_t b = BF ? floatToBf16Bits(v, Round::Nearest) : floatToHalfBits(v, Round::Nearest);
  if (flags & kFtz) b = flushH<BF>(b);
  return b;
}

template <bool BF>
double inH(uint32_t bits, uint32_t flags) {
  if (flags & kFtz) bits = flushH<BF>(bits);
  return decodeH<BF>(bits);
}

struct HAdd { static double f(double a, double b, double, uint32_t) { return a + b; } };
struct HSub { static double f(double a, double b, double, uint32_t) { return a - b; } };
struct HMul { static double f(double a, double b, double, uint32_t) { return a * b; } };
struct HFma { static double f(double a, double b, double c, uint32_t) { return std::fma(a, b, c); } };
struct HMin {
  static double f(double a, double b, double, uint32_t fl) {
    if (std::isnan(a) || std::isnan(b)) {
      if (fl & kNan) return NAN;
      return std::isnan(a) ? b : a;
    }
    if (a == b) return std::signbit(a) ? a : b;
    return a < b ? a : b;
  }
};
struct HMax {
  static double f(double a, double b, double, uint32_t fl) {
    if (std::isnan(a) || std::isnan(b)) {
      if (fl & kNan) return NAN;
      return std::isnan(a) ? b : a;
    }
    if (a == b) return std::signbit(a) ? b : a;
    return a > b ? a : b;
  }
};
struct HEx2 { static double f(double a, double, double, uint32_t) { return std::exp2(float(a)); } };
struct HTanh { static double f(double a, double, double, uint32_t) { return std::tanh(float(a)); } };

// N halves packed in a register of type S; r[0] d, r[1..3] sources.
template <bool BF, int N, class Op, int Srcs>
modnn_status hHalf(Warp& w, const Inst& in, uint32_t m) {
  using S = std::conditional_t<N == 2, uint32_t, uint16_t>;
  const S* a = R<S>(w, in.r[1]);
  const S* b = Srcs > 1 ? R<S>(w, in.r[2]) : a;
  const S* c = Srcs > 2 ? R<S>(w, in.r[3]) : a;
  uint32_t fl = in.aux;
  lanesOut(R<S>(w, in.r[0]), m, [&](uint32_t l) {
    uint32_t r = 0;
    for (int k = 0; k < N; ++k) {
      uint32_t sh = 16 * uint32_t(k);
      double x = inH<BF>((uint32_t(a[l]) >> sh) & 0xffff, fl);
      double y = inH<BF>((uint32_t(b[l]) >> sh) & 0xffff, fl);
      double z = inH<BF>((uint32_t(c[l]) >> sh) & 0xffff, fl);
      r |= encodeH<BF>(Op::f(x, y, z, fl), fl & (kFtz | kSat | kRelu)) << sh;
    }
    return S(r);
  });
  return MODNN_OK;
}

// neg/abs: sign-bit operations (NaN payloads kept). aux bit 4: abs
template <bool BF, int N>
modnn_status hHalfSign(Warp& w, const Inst& in, uint32_t m) {
  using S = std::conditional_t<N == 2, uint32_t, uint16_t>;
  const S* a = R<S>(w, in.r[1]);
  bool abs = in.aux & 16, flush = in.aux & kFtz;
  lanesOut(R<S>(w, in.r[0]), m, [&](uint32_t l) {
    uint32_t r = 0;
    for (int k = 0; k < N; ++k) {
      uint32_t sh = 16 * uint32_t(k);
      uint32_t v = (uint32_t(a[l]) >> sh) & 0xffff;
      if (flush) v = flushH<BF>(v);
      v = abs ? v & 0x7fff : v ^ 0x8000;
      r |= v << sh;
    }
    return S(r);
  });
  return MODNN_OK;
}

struct HType {
  bool bf;
  int n;
};

bool halfType(Ty t, HType& h) {
  switch (t) {
    case Ty::F16: h = {false, 1}; return true;
    case Ty::F16x2: h = {false, 2}; return true;
    case Ty::BF16: h = {true, 1}; return true;
    case Ty::BF16x2: h = {true, 2}; return true;
    default: return false;
  }
}

template <class Op, int Srcs>
Handler pickHalf(HType h) {
  if (h.bf) return h.n == 2 ? &hHalf<true, 2, Op, Srcs> : &hHalf<true, 1, Op, Srcs>;
  return h.n == 2 ? &hHalf<false, 2, Op, Srcs> : &hHalf<false, 1, Op, Srcs>;
}

uint32_t takeFlags(DecodeCtx& c) {
  uint32_t f = 0;
  if (c.spec.take("ftz")) f |= kFtz;
  if (c.spec.take("sat")) f |= kSat;
  if (c.spec.take("relu")) f |= kRelu;
  if (c.spec.take("NaN")) f |= kNan;
  return f;
}

template <class Op, int Srcs>
bool selHalfArith(DecodeCtx& c) {
  HType h;
  Ty ty = c.spec.type();
  if (!halfType(ty, h)) return c.fail("half type");
  c.spec.take("rn");
  if (c.spec.has("rz") || c.spec.has("rm") || c.spec.has("rp")) return c.fail("f16 arithmetic rounds to nearest only");
  c.spec.take("approx");
  Inst in = c.make(pickHalf<Op, Srcs>(h));
  in.aux = takeFlags(c);
  if (!operandsSameType(c, ty, Srcs, in)) return false;
  c.emit(in);
  return true;
}

bool selHalfSign(DecodeCtx& c, bool abs) {
  HType h;
  Ty ty = c.spec.type();
  if (!halfType(ty, h)) return c.fail("half type");
  Handler fn = h.bf ? (h.n == 2 ? &hHalfSign<true, 2> : &hHalfSign<true, 1>)
                    : (h.n == 2 ? &hHalfSign<false, 2> : &hHalfSign<false, 1>);
  Inst in = c.make(fn);
  in.aux = takeFlags(c) | (abs ? 16u : 0u);
  if (!operandsSameType(c, ty, 1, in)) return false;
  c.emit(in);
  return true;
}
bool selHalfNeg(DecodeCtx& c) { return selHalfSign(c, false); }
bool selHalfAbs(DecodeCtx& c) { return selHalfSign(c, true); }

// setp.f16/bf16: one predicate; x2 forms: p for the low half, q for the high half.
// set: per half 1.0 (float destination) or all ones (integer destination).
// aux: comparison; n: bit0 ftz, bit1 negate combining predicate, bits 2-3 boolop
enum HCmp : uint32_t { Eq, Ne, Lt, Le, Gt, Ge, Equ, Neu, Ltu, Leu, Gtu, Geu, Num, Nan };

bool hcompare(uint32_t cmp, double a, double b) {
  bool un = std::isnan(a) || std::isnan(b);
  switch (cmp) {
    case Eq: return !un && a == b;
    case Ne: return !un && a != b;
    case Lt: return a < b;
    case Le: return a <= b;
    case Gt: return a > b;
    case Ge: return a >= b;
    case Equ: return un || a == b;
    case Neu: return un || a != b;
    case Ltu: return un || a < b;
    case Leu: return un || a <= b;
    case Gtu: return un || a > b;
    case Geu: return un || a >= b;
    case Num: return !un;
    default: return un;
  }
}

template <bool BF, int N>
void compareHalves(Warp& w, const Inst& in, uint32_t bits[2]) {
  using S = std::conditional_t<N == 2, uint32_t, uint16_t>;
  const S* a = R<S>(w, in.r[2]);
  const S* b = R<S>(w, in.r[3]);
  uint32_t fl = (in.n & 1) ? uint32_t(kFtz) : 0u;
  bits[0] = bits[1] = 0;
  for (uint32_t l = 0; l < kLanes; ++l)
    for (int k = 0; k < N; ++k) {
      uint32_t sh = 16 * uint32_t(k);
      double x = inH<BF>((uint32_t(a[l]) >> sh) & 0xffff, fl);
      double y = inH<BF>((uint32_t(b[l]) >> sh) & 0xffff, fl);
      bits[k] |= uint32_t(hcompare(in.aux, x, y)) << l;
    }
}

uint32_t combineH(Warp& w, const Inst& in, uint32_t v) {
  uint32_t op = (in.n >> 2) & 3;
  if (!op) return v;
  uint32_t c = P(w, in.r[4]);
  if (in.n & 2) c = ~c;
  return op == 1 ? (v & c) : op == 2 ? (v | c) : (v ^ c);
}

// r[0] p, r[1] q, r[2] a, r[3] b, r[4] c
template <bool BF, int N>
modnn_status hHalfSetp(Warp& w, const Inst& in, uint32_t m) {
  uint32_t bits[2];
  compareHalves<BF, N>(w, in, bits);
  if (N == 1) {
    setPred(w, in.r[0], combineH(w, in, bits[0]), m);
    if (in.r[1] != kNoReg) setPred(w, in.r[1], combineH(w, in, ~bits[0]), m);
  } else {
    setPred(w, in.r[0], combineH(w, in, bits[0]), m);
    if (in.r[1] != kNoReg) setPred(w, in.r[1], combineH(w, in, bits[1]), m);
  }
  return MODNN_OK;
}

// r[0] d (type D); in.imm = the "true" value (per half for x2 forms)
template <bool BF, int N, class D>
modnn_status hHalfSet(Warp& w, const Inst& in, uint32_t m) {
  uint32_t bits[2];
  compareHalves<BF, N>(w, in, bits);
  uint32_t one = uint32_t(in.imm);
  uint32_t b0 = combineH(w, in, bits[0]), b1 = combineH(w, in, bits[1]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) {
    if (N == 1) return D((b0 >> l & 1) ? one : 0u);
    return D(((b0 >> l & 1) ? one : 0u) | ((b1 >> l & 1) ? one << 16 : 0u));
  });
  return MODNN_OK;
}

template <bool BF, int N>
Handler halfSetFor(uint32_t dsize) {
  return dsize == 2 ? &hHalfSet<BF, N, uint16_t> : &hHalfSet<BF, N, uint32_t>;
}

int takeHalfCmp(DecodeCtx& c) {
  return c.spec.takeOne({"eq", "ne", "lt", "le", "gt", "ge", "equ", "neu", "ltu", "leu", "gtu", "geu", "num", "nan"});
}

bool halfCompareOperands(DecodeCtx& c, Ty ty, Inst& in) {
  int boolop = c.spec.takeOne({"and", "or", "xor"});
  if (!c.want(3 + (boolop >= 0 ? 1 : 0))) return false;
  if (!c.src(1, ty, in.r[2]) || !c.src(2, ty, in.r[3])) return false;
  if (boolop >= 0) {
    bool neg;
    if (!c.pred(3, in.r[4], neg)) return false;
    in.n |= (neg ? 2u : 0u) | uint32_t(boolop + 1) << 2;
  }
  return true;
}

bool selHalfSetp(DecodeCtx& c) {
  HType h;
  Ty ty = c.spec.type();
  if (!halfType(ty, h)) return c.fail("half type");
  int cmp = takeHalfCmp(c);
  if (cmp < 0) return c.fail("comparison");
  Inst in = c.make(h.bf ? (h.n == 2 ? &hHalfSetp<true, 2> : &hHalfSetp<true, 1>)
                        : (h.n == 2 ? &hHalfSetp<false, 2> : &hHalfSetp<false, 1>));
  in.aux = uint32_t(cmp);
  in.n = c.spec.take("ftz") ? 1 : 0;
  if (!halfCompareOperands(c, ty, in)) return false;
  const Operand& d = c.op(0);
  if (!c.reg(d, Ty::Pred, in.r[0])) return false;
  if (d.reg2 >= 0) {
    Operand q = d;
    q.reg = d.reg2;
    if (!c.reg(q, Ty::Pred, in.r[1])) return false;
  }
  c.emit(in);
  return true;
}

}  // namespace

bool selHalfSet(DecodeCtx& c) {
  int cmp = takeHalfCmp(c);
  if (cmp < 0) return c.fail("comparison");
  if (c.spec.types.size() != 2) return c.fail("set needs two types");
  Ty dt = c.spec.type(0), st = c.spec.type(1);
  HType h;
  if (!halfType(st, h)) return c.fail("half type");
  uint32_t dsize = tySize(dt);
  if (dsize != (h.n == 2 ? 4u : 2u) && !(h.n == 1 && dsize == 4)) return c.fail("set destination type");
  Inst in = c.make(h.bf ? (h.n == 2 ? halfSetFor<true, 2>(dsize) : halfSetFor<true, 1>(dsize))
                        : (h.n == 2 ? halfSetFor<false, 2>(dsize) : halfSetFor<false, 1>(dsize)));
  in.aux = uint32_t(cmp);
  in.n = c.spec.take("ftz") ? 1 : 0;
  switch (dt) {
    case Ty::F16: case Ty::F16x2: in.imm = 0x3c00; break;
    case Ty::BF16: case Ty::BF16x2: in.imm = 0x3f80; break;
    case Ty::F32: in.imm = 0x3f800000; break;
    case Ty::U32: case Ty::S32: case Ty::B32: in.imm = h.n == 2 ? 0xffff : 0xffffffff; break;
    case Ty::U16: case Ty::S16: case Ty::B16: in.imm = 0xffff; break;
    default: return c.fail("set destination type");
  }
  if (!halfCompareOperands(c, st, in)) return false;
  if (!c.reg(0, dt, in.r[0])) return false;
  c.emit(in);
  return true;
}

namespace {

bool selHalfMinMax(DecodeCtx& c, bool isMax) {
  c.spec.take("xorsign");
  if (c.spec.has("abs")) return c.fail(".xorsign.abs is not supported");
  return isMax ? selHalfArith<HMax, 2>(c) : selHalfArith<HMin, 2>(c);
}
bool selHalfMin(DecodeCtx& c) { return selHalfMinMax(c, false); }
bool selHalfMax(DecodeCtx& c) { return selHalfMinMax(c, true); }

}  // namespace

void registerHalfOps(SelectorTable& t) {
  t["add:h"] = selHalfArith<HAdd, 2>;
  t["sub:h"] = selHalfArith<HSub, 2>;
  t["mul:h"] = selHalfArith<HMul, 2>;
  t["fma:h"] = selHalfArith<HFma, 3>;
  t["neg:h"] = selHalfNeg;
  t["abs:h"] = selHalfAbs;
  t["min:h"] = selHalfMin;
  t["max:h"] = selHalfMax;
  t["ex2:h"] = selHalfArith<HEx2, 1>;
  t["tanh:h"] = selHalfArith<HTanh, 1>;
  t["setp:h"] = selHalfSetp;
  t["set:h"] = selHalfSet;
}

}  // namespace modnn::ptx
