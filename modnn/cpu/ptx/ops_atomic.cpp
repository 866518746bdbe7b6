// Atomics and reductions: atom/red on global, shared and generic addresses
// with add (integer, f32, f64, f16, bf16 and their x2 forms), min, max,
// inc, dec, and, or, xor, exch and cas on 16/32/64-bit data. Blocks run on
// several host threads, so every update is a host atomic operation.
#include <cmath>

#include "modnn/cpu/ptx/float_bits.h"
#include "modnn/cpu/ptx/ops_common.h"
#include "modnn/cpu/ptx/ptx_builder.h"

namespace modnn::ptx {
namespace {

enum class AOp : uint8_t { Add, Min, Max, Inc, Dec, And, Or, Xor, Exch, Cas, FAdd, HAdd, HAdd2, BAdd, BAdd2 };

template <class T>
T loadRelaxed(T* p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

// Read-modify-write through a CAS loop; returns the old value.
template <class T, class F>
T casLoop(T* p, F&& update) {
  T old = loadRelaxed(p);
  while (!__atomic_compare_exchange_n(p, &old, update(old), true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
  }
  return old;
}

uint32_t addHalves(uint32_t old, uint32_t b, bool bf, int n) {
  uint32_t r = 0;
  for (int k = 0; k < n; ++k) {
    uint32_t sh = 16 * uint32_t(k);
    uint16_t x = uint16_t(old >> sh), y = uint16_t(b >> sh);
    double s = bf ? double(bf16BitsToFloat(x)) + bf16BitsToFloat(y) : double(halfBitsToFloat(x)) + halfBitsToFloat(y);
    uint16_t v = std::isnan(s) ? (bf ? kCanonicalNanBF16 : kCanonicalNanF16)
                               : (bf ? floatToBf16Bits(s, Round::Nearest) : floatToHalfBits(s, Round::Nearest));
    r |= uint32_t(v) << sh;
  }
  return r;
}

template <class T, AOp Op>
T apply(T* p, T b, T c) {
  using U = std::make_unsigned_t<T>;
  if constexpr (Op == AOp::Add) return T(__atomic_fetch_add(reinterpret_cast<U*>(p), U(b), __ATOMIC_SEQ_CST));
  if constexpr (Op == AOp::And) return __atomic_fetch_and(p, b, __ATOMIC_SEQ_CST);
  if constexpr (Op == AOp::Or) return __atomic_fetch_or(p, b, __ATOMIC_SEQ_CST);
  if constexpr (Op == AOp::Xor) return __atomic_fetch_xor(p, b, __ATOMIC_SEQ_CST);
  if constexpr (Op == AOp::Exch) return __atomic_exchange_n(p, b, __ATOMIC_SEQ_CST);
  if constexpr (Op == AOp::Cas) {
    T expected = b;
    __atomic_compare_exchange_n(p, &expected, c, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected;
  }
  if constexpr (Op == AOp::Min) return casLoop(p, [b](T o) { return b < o ? b : o; });
  if constexpr (Op == AOp::Max) return casLoop(p, [b](T o) { return b > o ? b : o; });
  if constexpr (Op == AOp::Inc) return casLoop(p, [b](T o) { return o >= b ? T(0) : T(o + 1); });
  if constexpr (Op == AOp::Dec) return casLoop(p, [b](T o) { return (o == 0 || o > b) ? b : T(o - 1); });
  if constexpr (Op == AOp::FAdd) {
    if constexpr (sizeof(T) == 4) {
      return casLoop(p, [b](T o) { return floatToBits(bitsToFloat(uint32_t(o)) + bitsToFloat(uint32_t(b))); });
    } else {
      return casLoop(p, [b](T o) { return doubleToBits(bitsToDouble(uint64_t(o)) + bitsToDouble(uint64_t(b))); });
    }
  }
  if constexpr (Op == AOp::HAdd) return casLoop(p, [b](T o) { return T(addHalves(o, b, false, 1)); });
  if constexpr (Op == AOp::HAdd2) return casLoop(p, [b](T o) { return T(addHalves(o, b, false, 2)); });
  if constexpr (Op == AOp::BAdd) return casLoop(p, [b](T o) { return T(addHalves(o, b, true, 1)); });
  if constexpr (Op == AOp::BAdd2) return casLoop(p, [b](T o) { return T(addHalves(o, b, true, 2)); });
  return T(0);
}

// r[0] d (kNoReg for red), r[1] b, r[2] c, r[4] address register, imm offset
template <MemSpace S, class T, AOp Op, class A>
modnn_status hAtom(Warp& w, const Inst& in, uint32_t m) {
  const A* base = R<A>(w, in.r[4]);
  const T* b = R<T>(w, in.r[1]);
  const T* c = in.r[2] != kNoReg ? R<T>(w, in.r[2]) : b;
  T* d = in.r[0] != kNoReg ? R<T>(w, in.r[0]) : nullptr;
  modnn_status st = MODNN_OK;
  eachLane(m, [&](uint32_t l) {
    if (st != MODNN_OK) return;
    uint64_t a = uint64_t(base[l]) + uint64_t(in.imm);
    uint8_t* p = resolve<S>(w, in, a, sizeof(T), l, AccessKind::Write);
    if (!p) {
      st = faultStatus(w);
      return;
    }
    T old = apply<T, Op>(reinterpret_cast<T*>(p), b[l], c[l]);
    if (d) d[l] = old;
  });
  return st;
}

template <class T, AOp Op, class A>
Handler bySpace(MemSpace s) {
  switch (s) {
    case MemSpace::Global: return &hAtom<MemSpace::Global, T, Op, A>;
    case MemSpace::Shared: return &hAtom<MemSpace::Shared, T, Op, A>;
    case MemSpace::Generic: return &hAtom<MemSpace::Generic, T, Op, A>;
    default: return nullptr;
  }
}

template <class T, AOp Op>
Handler byAddr(MemSpace s, uint32_t addrSize) {
  return addrSize == 4 ? bySpace<T, Op, uint32_t>(s) : bySpace<T, Op, uint64_t>(s);
}

template <class T>
Handler intOp(int op, MemSpace s, uint32_t as) {
  switch (op) {
    case 0: return byAddr<T, AOp::And>(s, as);
    case 1: return byAddr<T, AOp::Or>(s, as);
    case 2: return byAddr<T, AOp::Xor>(s, as);
    case 3: return byAddr<T, AOp::Cas>(s, as);
    case 4: return byAddr<T, AOp::Exch>(s, as);
    case 5: return byAddr<T, AOp::Add>(s, as);
    case 6: return byAddr<T, AOp::Inc>(s, as);
    case 7: return byAddr<T, AOp::Dec>(s, as);
    case 8: return byAddr<T, AOp::Min>(s, as);
    case 9: return byAddr<T, AOp::Max>(s, as);
  }
  return nullptr;
}

// Vector atomics (atom/red .v2/.v4/.v8 add on floats): each element is its
// own atomic update. ext: VecAtom; r[4] address register, imm offset.
struct VecAtom {
  uint32_t n = 0;
  uint32_t d[8] = {};
  uint32_t b[8] = {};
  bool ret = false;
};

template <MemSpace S, class T, AOp Op, class A>
modnn_status hAtomVec(Warp& w, const Inst& in, uint32_t m) {
  auto* va = static_cast<const VecAtom*>(in.ext);
  const A* base = R<A>(w, in.r[4]);
  modnn_status st = MODNN_OK;
  eachLane(m, [&](uint32_t l) {
    if (st != MODNN_OK) return;
    uint64_t a = uint64_t(base[l]) + uint64_t(in.imm);
    uint8_t* p = resolve<S>(w, in, a, uint32_t(sizeof(T)) * va->n, l, AccessKind::Write);
    if (!p) {
      st = faultStatus(w);
      return;
    }
    for (uint32_t k = 0; k < va->n; ++k) {
      T old = apply<T, Op>(reinterpret_cast<T*>(p) + k, R<T>(w, va->b[k])[l], T(0));
      if (va->ret) R<T>(w, va->d[k])[l] = old;
    }
  });
  return st;
}

template <class T, AOp Op>
Handler vecBySpace(MemSpace s, uint32_t as) {
  switch (s) {
    case MemSpace::Global:
      return as == 4 ? &hAtomVec<MemSpace::Global, T, Op, uint32_t> : &hAtomVec<MemSpace::Global, T, Op, uint64_t>;
    case MemSpace::Shared:
      return as == 4 ? &hAtomVec<MemSpace::Shared, T, Op, uint32_t> : &hAtomVec<MemSpace::Shared, T, Op, uint64_t>;
    case MemSpace::Generic:
      return as == 4 ? &hAtomVec<MemSpace::Generic, T, Op, uint32_t> : &hAtomVec<MemSpace::Generic, T, Op, uint64_t>;
    default: return nullptr;
  }
}

bool selAtomVector(DecodeCtx& c, bool isRed, MemSpace ms, int op, uint32_t n, bool hint) {
  Ty ty = c.spec.type();
  if (op != 5) return c.fail("vector atomics support only .add");
  size_t first = isRed ? 0 : 1;
  if (c.count() != first + 2 + (hint ? 1 : 0)) return c.fail("vector atomic operands");
  Space space = ms == MemSpace::Global ? Space::Global : ms == MemSpace::Shared ? Space::Shared : Space::Generic;
  AddrRef a;
  if (!c.addr(first, space, a)) return false;
  if (a.priv || a.kernelParam) return c.fail("atomic on local or parameter memory");
  Handler h = nullptr;
  switch (ty) {
    case Ty::F32: h = vecBySpace<uint32_t, AOp::FAdd>(ms, a.regSize); break;
    case Ty::F16: h = vecBySpace<uint16_t, AOp::HAdd>(ms, a.regSize); break;
    case Ty::BF16: h = vecBySpace<uint16_t, AOp::BAdd>(ms, a.regSize); break;
    case Ty::F16x2: h = vecBySpace<uint32_t, AOp::HAdd2>(ms, a.regSize); break;
    case Ty::BF16x2: h = vecBySpace<uint32_t, AOp::BAdd2>(ms, a.regSize); break;
    default: return c.fail("vector atomics need a floating-point type");
  }
  VecAtom va;
  va.n = n;
  va.ret = !isRed;
  const Operand& src = c.op(first + 1);
  if (src.kind != OpKind::Vec || src.elems.size() != n) return c.fail("vector atomic source");
  for (uint32_t k = 0; k < n; ++k)
    if (!c.src(src.elems[k], ty, va.b[k])) return false;
  if (!isRed) {
    const Operand& dst = c.op(0);
    if (dst.kind != OpKind::Vec || dst.elems.size() != n) return c.fail("vector atomic destination");
    for (uint32_t k = 0; k < n; ++k) {
      if (dst.elems[k].kind == OpKind::Sink) va.d[k] = c.pb.allocReg(tySize(ty));
      else if (!c.reg(dst.elems[k], ty, va.d[k])) return false;
    }
  }
  Inst in = c.make(h);
  in.r[4] = a.reg;
  in.imm = a.imm;
  in.slot = uint16_t(c.newSlot());
  in.ext = c.own(va);
  c.emit(in);
  return true;
}

bool selAtomRed(DecodeCtx& c, bool isRed) {
  for (const char* q : {"relaxed", "acquire", "release", "acq_rel", "sem", "cta", "gpu", "sys", "cluster", "noftz",
                        "L2::cache_hint"})
    c.spec.take(q);
  bool hint = c.spec.has("L2::cache_hint");
  int sp = c.spec.takeOne({"global", "shared", "shared::cta", "shared::cluster"});
  MemSpace ms = sp < 0 ? MemSpace::Generic : sp == 0 ? MemSpace::Global : MemSpace::Shared;
  int op = c.spec.takeOne({"and", "or", "xor", "cas", "exch", "add", "inc", "dec", "min", "max"});
  if (op < 0) return c.fail("missing atomic operation");
  int vec = c.spec.takeOne({"v2", "v4", "v8"});
  if (vec >= 0) return selAtomVector(c, isRed, ms, op, vec == 0 ? 2 : vec == 1 ? 4 : 8, hint);
  Ty ty = c.spec.type();
  if (c.spec.types.size() != 1) return c.fail("needs one type");
  size_t first = isRed ? 0 : 1;
  size_t nsrc = op == 3 ? 2 : 1;
  size_t want = first + 1 + nsrc + (hint ? 1 : 0);
  if (c.count() != want) return c.fail("expected " + std::to_string(want) + " operands");
  AddrRef a;
  Space space = ms == MemSpace::Global ? Space::Global : ms == MemSpace::Shared ? Space::Shared : Space::Generic;
  if (!c.addr(first, space, a)) return false;
  if (a.priv || a.kernelParam) return c.fail("atomic on local or parameter memory");
  Handler h = nullptr;
  uint32_t as = a.regSize;
  bool signedTy = isSigned(ty);
  switch (ty) {
    case Ty::F32:
      if (op == 5) h = byAddr<uint32_t, AOp::FAdd>(ms, as);
      else if (op == 4) h = byAddr<uint32_t, AOp::Exch>(ms, as);
      else if (op == 3) h = byAddr<uint32_t, AOp::Cas>(ms, as);
      break;
    case Ty::F64:
      if (op == 5) h = byAddr<uint64_t, AOp::FAdd>(ms, as);
      else if (op == 4) h = byAddr<uint64_t, AOp::Exch>(ms, as);
      else if (op == 3) h = byAddr<uint64_t, AOp::Cas>(ms, as);
      break;
    case Ty::F16: if (op == 5) h = byAddr<uint16_t, AOp::HAdd>(ms, as); break;
    case Ty::F16x2: if (op == 5) h = byAddr<uint32_t, AOp::HAdd2>(ms, as); break;
    case Ty::BF16: if (op == 5) h = byAddr<uint16_t, AOp::BAdd>(ms, as); break;
    case Ty::BF16x2: if (op == 5) h = byAddr<uint32_t, AOp::BAdd2>(ms, as); break;
    case Ty::B16: case Ty::U16:
      if (op == 3 || op == 4) h = intOp<uint16_t>(op, ms, as);
      break;
    default:
      if (tySize(ty) == 4) h = signedTy ? intOp<int32_t>(op, ms, as) : intOp<uint32_t>(op, ms, as);
      else if (tySize(ty) == 8) h = signedTy ? intOp<int64_t>(op, ms, as) : intOp<uint64_t>(op, ms, as);
      break;
  }
  if ((op == 6 || op == 7) && ty != Ty::U32) h = nullptr;
  if (!h) return c.fail("atomic operation not defined for this type");
  Inst in = c.make(h);
  in.r[4] = a.reg;
  in.imm = a.imm;
  in.slot = uint16_t(c.newSlot());
  if (!isRed && !c.reg(0, ty, in.r[0])) return false;
  if (!c.src(first + 1, ty, in.r[1])) return false;
  if (nsrc == 2 && !c.src(first + 2, ty, in.r[2])) return false;
  c.emit(in);
  return true;
}

bool selAtom(DecodeCtx& c) { return selAtomRed(c, false); }
bool selRed(DecodeCtx& c) { return selAtomRed(c, true); }

}  // namespace

void registerAtomicOps(SelectorTable& t) {
  t["atom"] = selAtom;
  t["red"] = selRed;
}

}  // namespace modnn::ptx
