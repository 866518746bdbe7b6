// Comparison and selection: setp (every integer and float comparison,
// including the NaN-aware unordered ones, with .and/.or/.xor combining and
// the p|q form), set, selp, slct.
#include <cmath>

#include "modnn/cpu/ptx/float_bits.h"
#include "modnn/cpu/ptx/ops_common.h"

namespace modnn::ptx {
namespace {

enum Cmp : uint32_t { Eq, Ne, Lt, Le, Gt, Ge, Lo, Ls, Hi, Hs, Equ, Neu, Ltu, Leu, Gtu, Geu, Num, Nan };

template <Cmp C, class T>
inline bool compare(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    bool un = std::isnan(a) || std::isnan(b);
    switch (C) {
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
      case Nan: return un;
      default: return false;
    }
  } else {
    using U = std::make_unsigned_t<T>;
    switch (C) {
      case Eq: return a == b;
      case Ne: return a != b;
      case Lt: return a < b;
      case Le: return a <= b;
      case Gt: return a > b;
      case Ge: return a >= b;
      case Lo: return U(a) < U(b);
      case Ls: return U(a) <= U(b);
      case Hi: return U(a) > U(b);
      case Hs: return U(a) >= U(b);
      default: return false;
    }
  }
}

template <Cmp C, class T, bool Ftz>
inline uint32_t compareLanes(Warp& w, const Inst& in) {
  const T* a = R<T>(w, in.r[2]);
  const T* b = R<T>(w, in.r[3]);
  uint32_t bits = 0;
  for (uint32_t l = 0; l < kLanes; ++l) {
    T x = a[l], y = b[l];
    if constexpr (Ftz && std::is_same_v<T, float>) {
      x = ftz(x);
      y = ftz(y);
    }
    bits |= uint32_t(compare<C>(x, y)) << l;
  }
  return bits;
}

// Combines the comparison with predicate r[4] per aux: bits 0-1 boolop
// (0 none, 1 and, 2 or, 3 xor), bit 2 negate c.
inline uint32_t combine(Warp& w, const Inst& in, uint32_t v) {
  uint32_t op = in.aux & 3;
  if (!op) return v;
  uint32_t c = P(w, in.r[4]);
  if (in.aux & 4) c = ~c;
  switch (op) {
    case 1: return v & c;
    case 2: return v | c;
    default: return v ^ c;
  }
}

// setp: r[0] p, r[1] q (or kNoReg), r[2] a, r[3] b, r[4] c
template <Cmp C, class T, bool Ftz>
struct hSetp {
  static modnn_status run(Warp& w, const Inst& in, uint32_t m) {
    uint32_t bits = compareLanes<C, T, Ftz>(w, in);
    setPred(w, in.r[0], combine(w, in, bits), m);
    if (in.r[1] != kNoReg) setPred(w, in.r[1], combine(w, in, ~bits), m);
    return MODNN_OK;
  }
};

// set: r[0] d (n: 0 int all-ones, 1 float 1.0), r[2] a, r[3] b, r[4] c
template <Cmp C, class T, bool Ftz>
struct hSet {
  static modnn_status run(Warp& w, const Inst& in, uint32_t m) {
    uint32_t bits = combine(w, in, compareLanes<C, T, Ftz>(w, in));
    uint32_t one = in.n ? 0x3f800000u : 0xffffffffu;
    lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) { return (bits >> l & 1) ? one : 0u; });
    return MODNN_OK;
  }
};

template <template <Cmp, class, bool> class H, class T, bool Ftz>
Handler pickCmp(Cmp c) {
  switch (c) {
    case Eq: return &H<Eq, T, Ftz>::run;
    case Ne: return &H<Ne, T, Ftz>::run;
    case Lt: return &H<Lt, T, Ftz>::run;
    case Le: return &H<Le, T, Ftz>::run;
    case Gt: return &H<Gt, T, Ftz>::run;
    case Ge: return &H<Ge, T, Ftz>::run;
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (c) {
      case Equ: return &H<Equ, T, Ftz>::run;
      case Neu: return &H<Neu, T, Ftz>::run;
      case Ltu: return &H<Ltu, T, Ftz>::run;
      case Leu: return &H<Leu, T, Ftz>::run;
      case Gtu: return &H<Gtu, T, Ftz>::run;
      case Geu: return &H<Geu, T, Ftz>::run;
      case Num: return &H<Num, T, Ftz>::run;
      case Nan: return &H<Nan, T, Ftz>::run;
      default: return nullptr;
    }
  } else {
    switch (c) {
      case Lo: return &H<Lo, T, Ftz>::run;
      case Ls: return &H<Ls, T, Ftz>::run;
      case Hi: return &H<Hi, T, Ftz>::run;
      case Hs: return &H<Hs, T, Ftz>::run;
      default: return nullptr;
    }
  }
}

template <template <Cmp, class, bool> class H>
Handler pickCompare(Ty ty, Cmp c, bool ftz) {
  if (ty == Ty::F32) return ftz ? pickCmp<H, float, true>(c) : pickCmp<H, float, false>(c);
  if (ty == Ty::F64) return pickCmp<H, double, false>(c);
  return byIntType(ty, [c]<class T>() -> Handler {
    if constexpr (sizeof(T) >= 2) return pickCmp<H, T, false>(c);
    return nullptr;
  });
}

bool takeCmp(DecodeCtx& c, Cmp& cmp) {
  int i = c.spec.takeOne({"eq", "ne", "lt", "le", "gt", "ge", "lo", "ls", "hi", "hs", "equ", "neu", "ltu", "leu",
                          "gtu", "geu", "num", "nan"});
  if (i < 0) return c.fail("missing comparison");
  cmp = Cmp(i);
  return true;
}

// Shared by setp and set: sources at `first`, optional combining predicate after.
bool compareOperands(DecodeCtx& c, Ty ty, size_t first, Inst& in) {
  int boolop = c.spec.takeOne({"and", "or", "xor"});
  size_t want = first + 2 + (boolop >= 0 ? 1 : 0);
  if (!c.want(want)) return false;
  if (!c.src(first, ty, in.r[2]) || !c.src(first + 1, ty, in.r[3])) return false;
  if (boolop >= 0) {
    bool neg;
    if (!c.pred(first + 2, in.r[4], neg)) return false;
    in.aux = uint32_t(boolop + 1) | (neg ? 4u : 0u);
  }
  return true;
}

bool selSetp(DecodeCtx& c) {
  Cmp cmp;
  if (!takeCmp(c, cmp)) return false;
  bool ftz = c.spec.take("ftz");
  Ty ty = c.spec.type();
  Handler h = pickCompare<hSetp>(ty, cmp, ftz);
  if (!h) return c.fail("comparison not defined for this type");
  Inst in = c.make(h);
  if (!compareOperands(c, ty, 1, in)) return false;
  const Operand& d = c.op(0);
  if (d.kind != OpKind::Reg) return c.fail("setp destination");
  if (!c.reg(d, Ty::Pred, in.r[0])) return false;
  if (d.reg2 >= 0) {
    Operand q = d;
    q.reg = d.reg2;
    q.reg2 = -1;
    if (!c.reg(q, Ty::Pred, in.r[1])) return false;
  }
  c.emit(in);
  return true;
}

bool selSet(DecodeCtx& c) {
  Ty src = c.spec.type(1);
  if (src == Ty::F16 || src == Ty::F16x2 || src == Ty::BF16 || src == Ty::BF16x2) return selHalfSet(c);
  Cmp cmp;
  if (!takeCmp(c, cmp)) return false;
  bool ftz = c.spec.take("ftz");
  if (c.spec.types.size() != 2) return c.fail("set needs destination and source types");
  Ty dt = c.spec.type(0), st = c.spec.type(1);
  if (dt != Ty::U32 && dt != Ty::S32 && dt != Ty::F32) return c.fail("set destination type");
  Handler h = pickCompare<hSet>(st, cmp, ftz);
  if (!h) return c.fail("comparison not defined for this type");
  Inst in = c.make(h);
  in.n = dt == Ty::F32 ? 1 : 0;
  if (!compareOperands(c, st, 1, in)) return false;
  if (!c.dst(0, dt, in.r[0])) return false;
  c.emit(in);
  return true;
}

template <class T>
modnn_status hSelp(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  const T* b = R<T>(w, in.r[2]);
  uint32_t p = P(w, in.r[3]);
  if (in.aux) p = ~p;
  lanesOut(R<T>(w, in.r[0]), m, [&](uint32_t l) { return (p >> l & 1) ? a[l] : b[l]; });
  return MODNN_OK;
}

bool selSelp(DecodeCtx& c) {
  Ty ty = c.spec.type();
  Handler h = nullptr;
  switch (tySize(ty)) {
    case 2: h = &hSelp<uint16_t>; break;
    case 4: h = &hSelp<uint32_t>; break;
    case 8: h = &hSelp<uint64_t>; break;
  }
  if (!h) return c.fail("selp type");
  Inst in = c.make(h);
  bool neg;
  if (!c.want(4) || !c.dst(0, ty, in.r[0]) || !c.src(1, ty, in.r[1]) || !c.src(2, ty, in.r[2]) ||
      !c.pred(3, in.r[3], neg))
    return false;
  in.aux = neg;
  c.emit(in);
  return true;
}

template <class T, class C, bool Ftz>
modnn_status hSlct(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  const T* b = R<T>(w, in.r[2]);
  const C* s = R<C>(w, in.r[3]);
  lanesOut(R<T>(w, in.r[0]), m, [&](uint32_t l) {
    C v = s[l];
    if constexpr (Ftz && std::is_same_v<C, float>) v = ftz(v);
    return v >= C(0) ? a[l] : b[l];
  });
  return MODNN_OK;
}

bool selSlct(DecodeCtx& c) {
  bool ftz = c.spec.take("ftz");
  if (c.spec.types.size() != 2) return c.fail("slct needs two types");
  Ty dt = c.spec.type(0), ct = c.spec.type(1);
  Handler h = nullptr;
  uint32_t size = tySize(dt);
  if (ct == Ty::S32) {
    h = size == 2 ? &hSlct<uint16_t, int32_t, false> : size == 4 ? &hSlct<uint32_t, int32_t, false>
                                                      : size == 8 ? &hSlct<uint64_t, int32_t, false> : nullptr;
  } else if (ct == Ty::F32) {
    if (ftz)
      h = size == 2 ? &hSlct<uint16_t, float, true> : size == 4 ? &hSlct<uint32_t, float, true>
                                                     : size == 8 ? &hSlct<uint64_t, float, true> : nullptr;
    else
      h = size == 2 ? &hSlct<uint16_t, float, false> : size == 4 ? &hSlct<uint32_t, float, false>
                                                      : size == 8 ? &hSlct<uint64_t, float, false> : nullptr;
  }
  if (!h) return c.fail("slct types");
  Inst in = c.make(h);
  if (!c.want(4) || !c.dst(0, dt, in.r[0]) || !c.src(1, dt, in.r[1]) || !c.src(2, dt, in.r[2]) ||
      !c.src(3, ct, in.r[3]))
    return false;
  c.emit(in);
  return true;
}

}  // namespace

void registerCompareOps(SelectorTable& t) {
  t["setp"] = selSetp;
  t["set"] = selSet;
  t["selp"] = selSelp;
  t["slct"] = selSlct;
}

}  // namespace modnn::ptx
