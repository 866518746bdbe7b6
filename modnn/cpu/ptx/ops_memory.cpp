// Memory family: ld/ldu/st in every state space, mov (including vector
// pack/unpack and clock reads), cvta, isspacep, fences and cache hints, and
// the address translation behind them.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <type_traits>

#include "modnn/cpu/ptx/ptx_decode_ctx.h"
#include "modnn/cpu/ptx/ptx_builder.h"
#include "modnn/cpu/ptx/ptx_exec.h"

namespace modnn::ptx {

// ------------------------------------------------------------------ translation

modnn_status fault(Warp& w, modnn_status st, const std::string& what) {
  const Program& p = *w.L->prog;
  uint32_t line = w.pc < p.code.size() ? p.code[w.pc].line : 0;
  char where[160];
  std::snprintf(where, sizeof where, " (kernel %s, PTX line %u, block %llu, warp %u)", p.name.c_str(), line,
                (unsigned long long)w.blk->linear, w.index);
  const_cast<LaunchShared*>(w.L)->fail(st, what + where);
  return st;
}

namespace {
std::string hex(uint64_t a) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)a);
  return b;
}
}  // namespace

uint8_t* translateSlow(Warp& w, uint64_t a, uint32_t size, MemCache& c, uint32_t lane, bool globalOnly,
                       AccessKind kind) {
  if (a & (size - 1)) {
    fault(w, MODNN_ERR_ILLEGAL_ADDRESS, "misaligned " + std::to_string(size) + "-byte access at " + hex(a));
    return nullptr;
  }
  if (a >= kSharedWindow && a - kSharedWindow < kWindowSize) {
    uint64_t off = a - kSharedWindow;
    if (!globalOnly && off + size <= w.blk->sharedSize) {
      c.lo = kSharedWindow;
      c.len = w.blk->sharedSize - size + 1;
      c.delta = int64_t(reinterpret_cast<uint64_t>(w.blk->shared) - kSharedWindow);
      return w.blk->shared + off;
    }
  } else if (a >= kLocalWindow && a - kLocalWindow < kWindowSize) {
    uint64_t off = a - kLocalWindow;
    if (!globalOnly && off + size <= w.privStride) return w.priv + size_t(lane) * w.privStride + off;
  } else if (a >= kParamWindow && a - kParamWindow < kWindowSize) {
    uint64_t off = a - kParamWindow;
    if (!globalOnly && kind == AccessKind::Read && off + size <= w.L->paramBytes)
      return const_cast<uint8_t*>(w.L->params) + off;
  } else {
    const std::vector<BufferEntry>& v = *w.L->buffers;
    auto it = std::upper_bound(v.begin(), v.end(), a, [](uint64_t x, const BufferEntry& e) { return x < e.va; });
    if (it != v.begin()) {
      const BufferEntry& e = *(it - 1);
      if (a - e.va <= e.size && e.size - (a - e.va) >= size) {
        c.lo = e.va;
        c.len = e.size - size + 1;
        c.delta = int64_t(reinterpret_cast<uint64_t>(e.host) - e.va);
        return e.host + (a - e.va);
      }
    }
  }
  fault(w, MODNN_ERR_ILLEGAL_ADDRESS,
        std::string(kind == AccessKind::Read ? "read" : "write") + " of " + std::to_string(size) + " bytes at " +
            hex(a) + " is outside every allocation");
  return nullptr;
}

uint8_t* sharedFault(Warp& w, uint64_t off, uint32_t size, uint32_t lane) {
  fault(w, MODNN_ERR_ILLEGAL_ADDRESS,
        "shared access of " + std::to_string(size) + " bytes at offset " + hex(off) + " (block has " +
            std::to_string(w.blk->sharedSize) + " bytes" + ((off & (size - 1)) ? ", misaligned)" : ")"));
  return nullptr;
}

uint8_t* localFault(Warp& w, uint64_t off, uint32_t size, uint32_t lane) {
  fault(w, MODNN_ERR_ILLEGAL_ADDRESS,
        "local access of " + std::to_string(size) + " bytes at offset " + hex(off) + " (thread has " +
            std::to_string(w.privStride) + " bytes)");
  return nullptr;
}

namespace {

// ------------------------------------------------------------------ ld / st

// ld: r[0..n-1] destinations, r[4] address register, imm offset.
template <MemSpace S, class M, class RT, class A>
modnn_status hLd(Warp& w, const Inst& in, uint32_t m) {
  const A* base = R<A>(w, in.r[4]);
  const uint32_t n = in.n;
  const uint32_t total = uint32_t(sizeof(M)) * n;
  RT* d[4];
  for (uint32_t k = 0; k < n; ++k) d[k] = R<RT>(w, in.r[k]);
  modnn_status st = MODNN_OK;
  eachLane(m, [&](uint32_t l) {
    if (st != MODNN_OK) return;
    uint64_t a = uint64_t(base[l]) + uint64_t(in.imm);
    const uint8_t* p = resolve<S>(w, in, a, total, l, AccessKind::Read);
    if (!p) {
      st = faultStatus(w);
      return;
    }
    for (uint32_t k = 0; k < n; ++k) {
      M v;
      std::memcpy(&v, p + k * sizeof(M), sizeof(M));
      if constexpr (std::is_same_v<M, U128>)
        d[k][l] = v;
      else
        d[k][l] = RT(v);
    }
  });
  return st;
}

// Full-warp single-element global access: when every lane's address falls
// in the instruction's cached buffer (checked once with the lane min/max),
// the lanes are moved without per-lane translation.
template <class A>
inline bool warpInCache(Warp& w, const Inst& in, uint64_t (&addr)[kLanes], uint32_t size, MemCache& c) {
  const A* base = R<A>(w, in.r[4]);
  uint64_t lo = ~uint64_t(0), hi = 0, bits = 0;
  for (uint32_t l = 0; l < kLanes; ++l) {
    uint64_t a = uint64_t(base[l]) + uint64_t(in.imm);
    addr[l] = a;
    lo = a < lo ? a : lo;
    hi = a > hi ? a : hi;
    bits |= a;
  }
  return (bits & (size - 1)) == 0 && lo - c.lo < c.len && hi - c.lo < c.len;
}

template <class M, class A>
modnn_status hLdGlobal1(Warp& w, const Inst& in, uint32_t m) {
  if (m != kFullMask) return hLd<MemSpace::Global, M, M, A>(w, in, m);
  MemCache& c = cacheOf(w, in);
  uint64_t addr[kLanes];
  M* d = R<M>(w, in.r[0]);
  if (warpInCache<A>(w, in, addr, sizeof(M), c)) {
    for (uint32_t l = 0; l < kLanes; ++l) std::memcpy(&d[l], reinterpret_cast<const void*>(addr[l] + uint64_t(c.delta)), sizeof(M));
    return MODNN_OK;
  }
  for (uint32_t l = 0; l < kLanes; ++l) {
    const uint8_t* p = translate(w, addr[l], sizeof(M), c, l, true, AccessKind::Read);
    if (!p) return faultStatus(w);
    std::memcpy(&d[l], p, sizeof(M));
  }
  return MODNN_OK;
}

template <class M, class A>
modnn_status hStGlobal1(Warp& w, const Inst& in, uint32_t m);

// ld.param of a kernel parameter at a fixed offset: one read, broadcast.
template <class M, class RT>
modnn_status hLdKParam(Warp& w, const Inst& in, uint32_t m) {
  uint64_t off = uint64_t(in.imm);
  const uint32_t n = in.n;
  if (off + sizeof(M) * n > w.L->paramBytes) return fault(w, MODNN_ERR_ILLEGAL_ADDRESS, "kernel parameter access out of range");
  for (uint32_t k = 0; k < n; ++k) {
    M v;
    std::memcpy(&v, w.L->params + off + k * sizeof(M), sizeof(M));
    RT r;
    if constexpr (std::is_same_v<M, U128>)
      r = v;
    else
      r = RT(v);
    lanesOut(R<RT>(w, in.r[k]), m, [&](uint32_t) { return r; });
  }
  return MODNN_OK;
}

template <class M>
Handler kparamReg(uint32_t regSize) {
  switch (regSize) {
    case 1: if constexpr (sizeof(M) <= 1) return &hLdKParam<M, uint8_t>; break;
    case 2: if constexpr (sizeof(M) <= 2) return &hLdKParam<M, uint16_t>; break;
    case 4: if constexpr (sizeof(M) <= 4) return &hLdKParam<M, uint32_t>; break;
    case 8: if constexpr (sizeof(M) <= 8) return &hLdKParam<M, uint64_t>; break;
    case 16: if constexpr (std::is_same_v<M, U128>) return &hLdKParam<M, U128>; break;
  }
  return nullptr;
}

Handler kparamHandler(uint32_t memSize, bool sgn, uint32_t regSize) {
  switch (memSize) {
    case 1: return sgn ? kparamReg<int8_t>(regSize) : kparamReg<uint8_t>(regSize);
    case 2: return sgn ? kparamReg<int16_t>(regSize) : kparamReg<uint16_t>(regSize);
    case 4: return sgn ? kparamReg<int32_t>(regSize) : kparamReg<uint32_t>(regSize);
    case 8: return kparamReg<uint64_t>(regSize);
    case 16: return kparamReg<U128>(regSize);
  }
  return nullptr;
}

// st: r[0..n-1] sources, r[4] address register, imm offset.
template <MemSpace S, class M, class RT, class A>
modnn_status hSt(Warp& w, const Inst& in, uint32_t m) {
  const A* base = R<A>(w, in.r[4]);
  const uint32_t n = in.n;
  const uint32_t total = uint32_t(sizeof(M)) * n;
  const RT* s[4];
  for (uint32_t k = 0; k < n; ++k) s[k] = R<RT>(w, in.r[k]);
  modnn_status st = MODNN_OK;
  eachLane(m, [&](uint32_t l) {
    if (st != MODNN_OK) return;
    uint64_t a = uint64_t(base[l]) + uint64_t(in.imm);
    uint8_t* p = resolve<S>(w, in, a, total, l, AccessKind::Write);
    if (!p) {
      st = faultStatus(w);
      return;
    }
    for (uint32_t k = 0; k < n; ++k) {
      M v;
      if constexpr (std::is_same_v<M, U128>)
        v = s[k][l];
      else
        v = M(s[k][l]);
      std::memcpy(p + k * sizeof(M), &v, sizeof(M));
    }
  });
  return st;
}

// Full-warp single-element shared access: one bounds/alignment check for
// the highest lane offset instead of one per lane.
template <class A>
inline bool warpInShared(Warp& w, const Inst& in, uint64_t (&off)[kLanes], uint32_t size) {
  const A* base = R<A>(w, in.r[4]);
  uint64_t hi = 0, bits = 0;
  for (uint32_t l = 0; l < kLanes; ++l) {
    uint64_t a = uint64_t(base[l]) + uint64_t(in.imm);
    off[l] = a;
    hi = a > hi ? a : hi;
    bits |= a;
  }
  return (bits & (size - 1)) == 0 && hi + size <= w.blk->sharedSize && hi + size >= hi;
}

template <class M, class A>
modnn_status hLdShared1(Warp& w, const Inst& in, uint32_t m) {
  if (m != kFullMask) return hLd<MemSpace::Shared, M, M, A>(w, in, m);
  uint64_t off[kLanes];
  if (!warpInShared<A>(w, in, off, sizeof(M))) return hLd<MemSpace::Shared, M, M, A>(w, in, m);
  M* d = R<M>(w, in.r[0]);
  const uint8_t* sh = w.blk->shared;
  for (uint32_t l = 0; l < kLanes; ++l) std::memcpy(&d[l], sh + off[l], sizeof(M));
  return MODNN_OK;
}

template <class M, class A>
modnn_status hStShared1(Warp& w, const Inst& in, uint32_t m) {
  if (m != kFullMask) return hSt<MemSpace::Shared, M, M, A>(w, in, m);
  uint64_t off[kLanes];
  if (!warpInShared<A>(w, in, off, sizeof(M))) return hSt<MemSpace::Shared, M, M, A>(w, in, m);
  const M* s = R<M>(w, in.r[0]);
  uint8_t* sh = w.blk->shared;
  for (uint32_t l = 0; l < kLanes; ++l) std::memcpy(sh + off[l], &s[l], sizeof(M));
  return MODNN_OK;
}

template <class M, class A>
modnn_status hStGlobal1(Warp& w, const Inst& in, uint32_t m) {
  if (m != kFullMask) return hSt<MemSpace::Global, M, M, A>(w, in, m);
  MemCache& c = cacheOf(w, in);
  uint64_t addr[kLanes];
  const M* s = R<M>(w, in.r[0]);
  if (warpInCache<A>(w, in, addr, sizeof(M), c)) {
    for (uint32_t l = 0; l < kLanes; ++l) std::memcpy(reinterpret_cast<void*>(addr[l] + uint64_t(c.delta)), &s[l], sizeof(M));
    return MODNN_OK;
  }
  for (uint32_t l = 0; l < kLanes; ++l) {
    uint8_t* p = translate(w, addr[l], sizeof(M), c, l, true, AccessKind::Write);
    if (!p) return faultStatus(w);
    std::memcpy(p, &s[l], sizeof(M));
  }
  return MODNN_OK;
}

template <template <MemSpace, class, class, class> class H, MemSpace S, class M, class A>
Handler pickReg(uint32_t regSize) {
  switch (regSize) {
    case 1:
      if constexpr (sizeof(M) <= 1) return &H<S, M, uint8_t, A>::run;
      break;
    case 2:
      if constexpr (sizeof(M) <= 2) return &H<S, M, uint16_t, A>::run;
      break;
    case 4:
      if constexpr (sizeof(M) <= 4) return &H<S, M, uint32_t, A>::run;
      break;
    case 8:
      if constexpr (sizeof(M) <= 8) return &H<S, M, uint64_t, A>::run;
      break;
    case 16:
      if constexpr (std::is_same_v<M, U128>) return &H<S, M, U128, A>::run;
      break;
  }
  return nullptr;
}

template <MemSpace S, class M, class RT, class A>
struct LdH {
  static modnn_status run(Warp& w, const Inst& in, uint32_t m) { return hLd<S, M, RT, A>(w, in, m); }
};
template <MemSpace S, class M, class RT, class A>
struct StH {
  static modnn_status run(Warp& w, const Inst& in, uint32_t m) { return hSt<S, M, RT, A>(w, in, m); }
};

template <template <MemSpace, class, class, class> class H, MemSpace S, class A>
Handler pickMem(uint32_t memSize, bool sgn, uint32_t regSize) {
  switch (memSize) {
    case 1: return sgn ? pickReg<H, S, int8_t, A>(regSize) : pickReg<H, S, uint8_t, A>(regSize);
    case 2: return sgn ? pickReg<H, S, int16_t, A>(regSize) : pickReg<H, S, uint16_t, A>(regSize);
    case 4: return sgn ? pickReg<H, S, int32_t, A>(regSize) : pickReg<H, S, uint32_t, A>(regSize);
    case 8: return pickReg<H, S, uint64_t, A>(regSize);
    case 16: return pickReg<H, S, U128, A>(regSize);
  }
  return nullptr;
}

template <template <MemSpace, class, class, class> class H, class A>
Handler pickSpace(MemSpace s, uint32_t memSize, bool sgn, uint32_t regSize) {
  switch (s) {
    case MemSpace::Global: return pickMem<H, MemSpace::Global, A>(memSize, sgn, regSize);
    case MemSpace::Generic: return pickMem<H, MemSpace::Generic, A>(memSize, sgn, regSize);
    case MemSpace::Shared: return pickMem<H, MemSpace::Shared, A>(memSize, sgn, regSize);
    case MemSpace::Local: return pickMem<H, MemSpace::Local, A>(memSize, sgn, regSize);
    case MemSpace::KParam: return pickMem<H, MemSpace::KParam, A>(memSize, sgn, regSize);
  }
  return nullptr;
}

template <template <MemSpace, class, class, class> class H>
Handler pickAccess(MemSpace s, uint32_t addrSize, uint32_t memSize, bool sgn, uint32_t regSize) {
  return addrSize == 4 ? pickSpace<H, uint32_t>(s, memSize, sgn, regSize)
                       : pickSpace<H, uint64_t>(s, memSize, sgn, regSize);
}

// State space named by the opcode; Space::Generic when none.
bool takeSpace(DecodeCtx& c, Space& sp) {
  sp = Space::Generic;
  int which = c.spec.takeOne({"global", "shared", "shared::cta", "shared::cluster", "local", "const", "param",
                              "param::entry", "param::func"});
  switch (which) {
    case 0: sp = Space::Global; break;
    case 1: case 2: case 3: sp = Space::Shared; break;
    case 4: sp = Space::Local; break;
    case 5: sp = Space::Const; break;
    case 6: case 7: case 8: sp = Space::Param; break;
    default: break;
  }
  return true;
}

// Cache, ordering and eviction qualifiers that do not change results here.
bool takeMemoryHints(DecodeCtx& c, bool& cacheHintOperand) {
  cacheHintOperand = c.spec.take("L2::cache_hint");
  for (const char* q : {"nc", "ca", "cg", "cs", "lu", "cv", "wb", "wt", "volatile", "relaxed", "acquire", "release",
                        "weak", "mmio", "cta", "gpu", "sys", "cluster", "L1::evict_normal", "L1::evict_unchanged",
                        "L1::evict_first", "L1::evict_last", "L1::no_allocate", "L2::evict_normal",
                        "L2::evict_first", "L2::evict_last", "L2::64B", "L2::128B", "L2::256B", "unified",
                        "level::eviction_priority", "level::prefetch_size"})
    c.spec.take(q);
  return true;
}

// Vector width from .v2/.v4 (1 otherwise).
uint32_t takeVector(DecodeCtx& c) {
  switch (c.spec.takeOne({"v2", "v4", "v8"})) {
    case 0: return 2;
    case 1: return 4;
    case 2: return 8;
  }
  return 1;
}

// Picks the handler's space from the instruction space and the resolved address.
bool accessSpace(DecodeCtx& c, Space sp, const AddrRef& a, bool write, MemSpace& ms) {
  switch (sp) {
    case Space::Global:
    case Space::Const: ms = MemSpace::Global; return true;
    case Space::Shared: ms = MemSpace::Shared; return true;
    case Space::Local: ms = MemSpace::Local; return true;
    case Space::Param:
      if (c.fn.isEntry && !a.priv) {
        if (write) return c.fail("stores to kernel parameters are not supported");
        ms = MemSpace::KParam;
        return true;
      }
      ms = MemSpace::Local;  // .func parameters and call-sequence params are lane-private
      return true;
    default: ms = MemSpace::Generic; return true;
  }
}

bool selLoadStore(DecodeCtx& c, bool isStore) {
  Space sp;
  takeSpace(c, sp);
  bool hint;
  takeMemoryHints(c, hint);
  uint32_t n = takeVector(c);
  if (n > 4) return c.fail("8-element vectors are not supported");
  Ty ty = c.spec.type();
  if (ty == Ty::None || c.spec.types.size() != 1) return c.fail("needs one type");
  size_t want = 2 + (hint ? 1 : 0);
  if (c.count() != want) return c.fail("expected " + std::to_string(want) + " operands");
  size_t dataIdx = isStore ? 1 : 0, addrIdx = isStore ? 0 : 1;
  AddrRef a;
  if (!c.addr(addrIdx, sp, a)) return false;
  const Operand& data = c.op(dataIdx);
  std::vector<const Operand*> elems;
  if (data.kind == OpKind::Vec) {
    for (const Operand& e : data.elems) elems.push_back(&e);
  } else {
    elems.push_back(&data);
  }
  if (elems.size() != n) return c.fail("vector operand has the wrong number of elements");
  uint32_t memSize = tySize(ty);
  // Element register size: the widest named register (all must agree).
  uint32_t regSize = 0;
  for (const Operand* e : elems)
    if (e->kind == OpKind::Reg) {
      uint32_t s = c.regSizeOf(*e);
      if (c.regTyOf(*e) == Ty::Pred) return c.fail("predicate operand");
      if (regSize && s != regSize) return c.fail("vector elements of different register sizes");
      regSize = s;
    }
  if (!regSize) regSize = memSize;
  if (regSize < memSize) return c.fail("register narrower than the access");
  Ty regTy = ty;
  switch (regSize) {
    case 1: regTy = Ty::B8; break;
    case 2: regTy = Ty::B16; break;
    case 4: regTy = Ty::B32; break;
    case 8: regTy = Ty::B64; break;
    case 16: regTy = Ty::B128; break;
  }
  Inst in = c.make(nullptr);
  in.n = n;
  for (uint32_t k = 0; k < n; ++k) {
    const Operand& e = *elems[k];
    if (e.kind == OpKind::Sink) {
      if (isStore) return c.fail("'_' in a store");
      in.r[k] = c.pb.allocReg(regSize);
    } else if (isStore) {
      if (e.kind == OpKind::Reg) {
        if (!c.reg(e, regTy, in.r[k])) return false;
      } else if (!c.src(e, ty, in.r[k])) {
        return false;
      }
    } else if (!c.reg(e, regTy, in.r[k])) {
      return false;
    }
  }
  MemSpace ms = MemSpace::Generic;
  if (!accessSpace(c, sp, a, isStore, ms)) return false;
  in.r[4] = a.reg;
  in.imm = a.imm;
  in.slot = uint16_t(c.newSlot());
  bool sgn = !isStore && isSigned(ty);
  if (!isStore && ms == MemSpace::KParam && a.kernelParam) {
    in.fn = kparamHandler(memSize, sgn, regSize);
  } else if (ms == MemSpace::Shared && n == 1 && memSize == regSize && (memSize == 4 || memSize == 8)) {
    if (isStore) {
      if (memSize == 4) in.fn = a.regSize == 4 ? &hStShared1<uint32_t, uint32_t> : &hStShared1<uint32_t, uint64_t>;
      else in.fn = a.regSize == 4 ? &hStShared1<uint64_t, uint32_t> : &hStShared1<uint64_t, uint64_t>;
    } else {
      if (memSize == 4) in.fn = a.regSize == 4 ? &hLdShared1<uint32_t, uint32_t> : &hLdShared1<uint32_t, uint64_t>;
      else in.fn = a.regSize == 4 ? &hLdShared1<uint64_t, uint32_t> : &hLdShared1<uint64_t, uint64_t>;
    }
  } else if (ms == MemSpace::Global && n == 1 && memSize == regSize && (memSize == 4 || memSize == 8)) {
    if (isStore) {
      if (memSize == 4) in.fn = a.regSize == 4 ? &hStGlobal1<uint32_t, uint32_t> : &hStGlobal1<uint32_t, uint64_t>;
      else in.fn = a.regSize == 4 ? &hStGlobal1<uint64_t, uint32_t> : &hStGlobal1<uint64_t, uint64_t>;
    } else {
      if (memSize == 4) in.fn = a.regSize == 4 ? &hLdGlobal1<uint32_t, uint32_t> : &hLdGlobal1<uint32_t, uint64_t>;
      else in.fn = a.regSize == 4 ? &hLdGlobal1<uint64_t, uint32_t> : &hLdGlobal1<uint64_t, uint64_t>;
    }
  } else {
    in.fn = isStore ? pickAccess<StH>(ms, a.regSize, memSize, false, regSize)
                    : pickAccess<LdH>(ms, a.regSize, memSize, sgn, regSize);
  }
  if (!in.fn) return c.fail("unsupported access/register size combination");
  if (c.pb.slots > 0xffff) return c.fail("too many memory instructions");
  c.emit(in);
  return true;
}

bool selLd(DecodeCtx& c) { return selLoadStore(c, false); }
bool selSt(DecodeCtx& c) { return selLoadStore(c, true); }

// ------------------------------------------------------------------ mov

template <class T>
modnn_status hCopy(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  lanesOut(R<T>(w, in.r[0]), m, [&](uint32_t l) { return a[l]; });
  return MODNN_OK;
}

modnn_status hCopyPred(Warp& w, const Inst& in, uint32_t m) {
  setPred(w, in.r[0], P(w, in.r[1]), m);
  return MODNN_OK;
}

// d (type D) = elements r[1..n] of type E, first element in the low bits.
template <class D, class E>
modnn_status hPack(Warp& w, const Inst& in, uint32_t m) {
  constexpr uint32_t k = sizeof(D) / sizeof(E);
  const E* e[k];
  for (uint32_t i = 0; i < k; ++i) e[i] = R<E>(w, in.r[1 + i]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) {
    D v;
    E parts[k];
    for (uint32_t i = 0; i < k; ++i) parts[i] = e[i][l];
    std::memcpy(&v, parts, sizeof v);
    return v;
  });
  return MODNN_OK;
}

// elements r[1..n] (type E) = pieces of r[0] (type D).
template <class D, class E>
modnn_status hUnpack(Warp& w, const Inst& in, uint32_t m) {
  constexpr uint32_t k = sizeof(D) / sizeof(E);
  alignas(64) D src[kLanes];
  std::memcpy(src, R<D>(w, in.r[0]), sizeof src);
  for (uint32_t i = 0; i < k; ++i) {
    lanesOut(R<E>(w, in.r[1 + i]), m, [&](uint32_t l) {
      E parts[k];
      std::memcpy(parts, &src[l], sizeof(D));
      return parts[i];
    });
  }
  return MODNN_OK;
}

uint64_t nowNs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

// aux: 0 %clock, 1 %clock_hi, 2 %clock64, 3 %globaltimer, 4 _lo, 5 _hi
modnn_status hClock(Warp& w, const Inst& in, uint32_t m) {
  uint64_t t = nowNs();
  uint64_t v = t;
  switch (in.aux) {
    case 0: v = uint32_t(t); break;
    case 1: v = uint32_t(t >> 32); break;
    case 4: v = uint32_t(t); break;
    case 5: v = uint32_t(t >> 32); break;
    default: break;
  }
  if (in.n == 8)
    lanesOut(R<uint64_t>(w, in.r[0]), m, [&](uint32_t) { return v; });
  else
    lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t) { return uint32_t(v); });
  return MODNN_OK;
}

Handler copyFor(uint32_t size) {
  switch (size) {
    case 1: return &hCopy<uint8_t>;
    case 2: return &hCopy<uint16_t>;
    case 4: return &hCopy<uint32_t>;
    case 8: return &hCopy<uint64_t>;
    case 16: return &hCopy<U128>;
  }
  return nullptr;
}

template <class D>
Handler packFor(uint32_t elemSize, bool pack) {
  switch (elemSize) {
    case 1:
      if constexpr (sizeof(D) > 1 && sizeof(D) <= 4) return pack ? &hPack<D, uint8_t> : &hUnpack<D, uint8_t>;
      break;
    case 2:
      if constexpr (sizeof(D) > 2 && sizeof(D) <= 8) return pack ? &hPack<D, uint16_t> : &hUnpack<D, uint16_t>;
      break;
    case 4:
      if constexpr (sizeof(D) > 4) return pack ? &hPack<D, uint32_t> : &hUnpack<D, uint32_t>;
      break;
    case 8:
      if constexpr (sizeof(D) > 8) return pack ? &hPack<D, uint64_t> : &hUnpack<D, uint64_t>;
      break;
  }
  return nullptr;
}

Ty bitsTy(uint32_t size) {
  switch (size) {
    case 1: return Ty::B8;
    case 2: return Ty::B16;
    case 4: return Ty::B32;
    case 8: return Ty::B64;
    case 16: return Ty::B128;
  }
  return Ty::None;
}

bool selMov(DecodeCtx& c) {
  Ty ty = c.spec.type();
  if (ty == Ty::None || !c.want(2)) return c.fail("mov needs a type and two operands");
  const Operand& d = c.op(0);
  const Operand& s = c.op(1);
  if (ty == Ty::Pred) {
    Inst in = c.make(&hCopyPred);
    if (!c.reg(0, Ty::Pred, in.r[0])) return false;
    bool neg;
    if (!c.pred(1, in.r[1], neg)) return false;
    if (neg) return c.fail("'!' in mov");
    c.emit(in);
    return true;
  }
  uint32_t size = tySize(ty);
  if (d.kind == OpKind::Vec || s.kind == OpKind::Vec) {
    bool pack = s.kind == OpKind::Vec;
    const Operand& whole = pack ? d : s;
    const Operand& vec = pack ? s : d;
    uint32_t k = uint32_t(vec.elems.size());
    if (k < 2 || k > 4 || size % k) return c.fail("bad vector mov");
    uint32_t esz = size / k;
    Inst in = c.make(nullptr);
    if (pack ? !c.reg(whole, ty, in.r[0]) : !c.src(whole, ty, in.r[0])) return false;
    for (uint32_t i = 0; i < k; ++i) {
      const Operand& e = vec.elems[i];
      if (e.kind == OpKind::Sink) {
        if (pack) return c.fail("'_' in a pack");
        in.r[1 + i] = c.pb.allocReg(esz);
      } else if (pack ? !c.src(e, bitsTy(esz), in.r[1 + i]) : !c.reg(e, bitsTy(esz), in.r[1 + i])) {
        return false;
      }
    }
    switch (size) {
      case 2: in.fn = packFor<uint16_t>(esz, pack); break;
      case 4: in.fn = packFor<uint32_t>(esz, pack); break;
      case 8: in.fn = packFor<uint64_t>(esz, pack); break;
      case 16: in.fn = packFor<U128>(esz, pack); break;
    }
    if (!in.fn) return c.fail("bad vector mov");
    c.emit(in);
    return true;
  }
  if (s.kind == OpKind::Special) {
    static const char* clocks[] = {"%clock", "%clock_hi", "%clock64", "%globaltimer", "%globaltimer_lo",
                                   "%globaltimer_hi"};
    for (uint32_t i = 0; i < 6; ++i)
      if (s.name == clocks[i]) {
        Inst in = c.make(&hClock);
        in.aux = i;
        in.n = size;
        if (size != 4 && size != 8) return c.fail("clock register size");
        if (!c.dst(0, ty, in.r[0])) return false;
        c.emit(in);
        return true;
      }
  }
  Inst in = c.make(copyFor(size));
  if (!in.fn) return c.fail("mov size");
  if (!c.dst(0, ty, in.r[0]) || !c.src(1, ty, in.r[1])) return false;
  c.emit(in);
  return true;
}

// ------------------------------------------------------------------ cvta / isspacep

template <class D, class S>
modnn_status hAddConst(Warp& w, const Inst& in, uint32_t m) {
  const S* a = R<S>(w, in.r[1]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) { return D(uint64_t(a[l]) + uint64_t(in.imm)); });
  return MODNN_OK;
}

bool selCvta(DecodeCtx& c) {
  bool to = c.spec.take("to");
  Space sp;
  takeSpace(c, sp);
  Ty ty = c.spec.type();
  if ((ty != Ty::U64 && ty != Ty::U32) || !c.want(2)) return c.fail("cvta needs .u32/.u64 and two operands");
  uint64_t window = 0;
  switch (sp) {
    case Space::Global:
    case Space::Const: window = 0; break;
    case Space::Shared: window = kSharedWindow; break;
    case Space::Local: window = kLocalWindow; break;
    case Space::Param: window = kParamWindow; break;
    default: return c.fail("cvta needs a state space");
  }
  Inst in = c.make(nullptr);
  in.imm = int64_t(to ? 0 - window : window);
  uint32_t dsz = c.regSizeOf(c.op(0));
  if (dsz != 4 && dsz != 8) return c.fail("cvta destination size");
  if (!c.reg(0, dsz == 8 ? Ty::U64 : Ty::U32, in.r[0])) return false;
  uint32_t ssz = c.op(1).kind == OpKind::Reg ? c.regSizeOf(c.op(1)) : tySize(ty);
  if (ssz != 4 && ssz != 8) return c.fail("cvta source size");
  if (!c.src(1, ssz == 8 ? Ty::U64 : Ty::U32, in.r[1])) return false;
  if (dsz == 8) in.fn = ssz == 8 ? &hAddConst<uint64_t, uint64_t> : &hAddConst<uint64_t, uint32_t>;
  else in.fn = ssz == 8 ? &hAddConst<uint32_t, uint64_t> : &hAddConst<uint32_t, uint32_t>;
  c.emit(in);
  return true;
}

// aux: window base; n: 1 when "global" (outside every window)
template <class A>
modnn_status hIsSpace(Warp& w, const Inst& in, uint32_t m) {
  const A* a = R<A>(w, in.r[1]);
  uint32_t bits = 0;
  for (uint32_t l = 0; l < kLanes; ++l) {
    uint64_t v = a[l];
    bool inShared = v - kSharedWindow < kWindowSize, inLocal = v - kLocalWindow < kWindowSize,
         inParam = v - kParamWindow < kWindowSize;
    bool r;
    switch (in.aux) {
      case 0: r = !inShared && !inLocal && !inParam; break;
      case 1: r = inShared; break;
      case 2: r = inLocal; break;
      case 3: r = inParam; break;
      default: r = false; break;
    }
    bits |= uint32_t(r) << l;
  }
  setPred(w, in.r[0], bits, m);
  return MODNN_OK;
}

bool selIsspacep(DecodeCtx& c) {
  Space sp;
  takeSpace(c, sp);
  if (!c.want(2)) return false;
  Inst in = c.make(nullptr);
  switch (sp) {
    case Space::Global: in.aux = 0; break;
    case Space::Shared: in.aux = 1; break;
    case Space::Local: in.aux = 2; break;
    case Space::Param: in.aux = 3; break;
    case Space::Const: in.aux = 4; break;
    default: return c.fail("isspacep needs a state space");
  }
  if (!c.reg(0, Ty::Pred, in.r[0])) return false;
  uint32_t sz = c.op(1).kind == OpKind::Reg ? c.regSizeOf(c.op(1)) : 8;
  if (!c.src(1, sz == 4 ? Ty::U32 : Ty::U64, in.r[1])) return false;
  in.fn = sz == 4 ? &hIsSpace<uint32_t> : &hIsSpace<uint64_t>;
  c.emit(in);
  return true;
}

// ------------------------------------------------------------------ fences, hints

modnn_status hFence(Warp&, const Inst&, uint32_t) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return MODNN_OK;
}
modnn_status hNop(Warp&, const Inst&, uint32_t) { return MODNN_OK; }

bool selFence(DecodeCtx& c) {
  for (auto& m : c.spec.mods) c.spec.take(m);
  c.emit(c.make(&hFence));
  return true;
}

// prefetch, prefetchu, applypriority, discard: hints without a result.
bool selHint(DecodeCtx& c) {
  for (auto& m : c.spec.mods) c.spec.take(m);
  c.emit(c.make(&hNop));
  return true;
}

// createpolicy writes an opaque cache policy; any value is valid.
bool selCreatePolicy(DecodeCtx& c) {
  for (auto& m : c.spec.mods) c.spec.take(m);
  if (c.count() < 1) return c.fail("createpolicy needs a destination");
  Inst in = c.make(&hCopy<uint64_t>);
  if (!c.reg(0, Ty::B64, in.r[0])) return false;
  in.r[1] = c.zeroReg();
  c.emit(in);
  return true;
}

// ------------------------------------------------------------------ cp.async

// The copy happens at once, so commit/wait have nothing left to wait for.
// r[0] shared destination (A), r[1] global source (64-bit), r[2] source
// size (or kNoReg), r[3] ignore-src predicate (or kNoReg); n copy size,
// imm / aux: destination and source offsets.
template <class A>
modnn_status hCpAsync(Warp& w, const Inst& in, uint32_t m) {
  const A* dst = R<A>(w, in.r[0]);
  const uint64_t* src = R<uint64_t>(w, in.r[1]);
  const uint32_t* srcSize = in.r[2] != kNoReg ? R<uint32_t>(w, in.r[2]) : nullptr;
  uint32_t ignore = in.r[3] != kNoReg ? P(w, in.r[3]) : 0;
  modnn_status st = MODNN_OK;
  eachLane(m, [&](uint32_t l) {
    if (st != MODNN_OK) return;
    uint32_t size = in.n;
    uint32_t from = srcSize ? std::min(srcSize[l], size) : size;
    if (ignore >> l & 1) from = 0;
    uint8_t* d = sharedAt(w, uint64_t(dst[l]) + uint64_t(in.imm), size, l);
    if (!d) {
      st = faultStatus(w);
      return;
    }
    if (from) {
      uint8_t* s = translate(w, src[l] + uint64_t(int64_t(int32_t(in.aux))), size, cacheOf(w, in), l, false,
                             AccessKind::Read);
      if (!s) {
        st = faultStatus(w);
        return;
      }
      std::memcpy(d, s, from);
    }
    if (from < size) std::memset(d + from, 0, size - from);
  });
  return st;
}

bool selCpAsync(DecodeCtx& c) {
  if (c.spec.take("commit_group") || c.spec.take("wait_group") || c.spec.take("wait_all")) {
    c.spec.take("async");
    c.emit(c.make(&hNop));
    return true;
  }
  if (!c.spec.take("async")) return c.fail("only cp.async is supported");
  if (c.spec.has("mbarrier")) return selCpAsyncMbarrierArrive(c);
  if (c.spec.has("bulk")) return c.fail("cp.async.bulk is not supported");
  if (c.spec.takeOne({"ca", "cg"}) < 0) return c.fail("cp.async needs .ca or .cg");
  if (c.spec.takeOne({"shared", "shared::cta"}) < 0 || !c.spec.take("global")) return c.fail("cp.async.shared.global only");
  bool hint = c.spec.take("L2::cache_hint");
  for (const char* q : {"L2::64B", "L2::128B", "L2::256B"}) c.spec.take(q);
  size_t n = c.count() - (hint ? 1 : 0);
  if (n < 3 || n > 4) return c.fail("cp.async operands");
  AddrRef dst, src;
  if (!c.addr(0, Space::Shared, dst) || !c.addr(1, Space::Global, src)) return false;
  if (src.regSize != 8 || src.imm != int64_t(int32_t(src.imm))) return c.fail("cp.async source must be a 64-bit address");
  const Operand& size = c.op(2);
  if (size.kind != OpKind::Int || (size.ival != 4 && size.ival != 8 && size.ival != 16)) return c.fail("cp-size must be 4, 8 or 16");
  Inst in = c.make(dst.regSize == 4 ? &hCpAsync<uint32_t> : &hCpAsync<uint64_t>);
  in.r[0] = dst.reg;
  in.imm = dst.imm;
  in.r[1] = src.reg;
  in.aux = uint32_t(int32_t(src.imm));
  in.n = uint32_t(size.ival);
  in.slot = uint16_t(c.newSlot());
  if (n == 4) {
    const Operand& extra = c.op(3);
    if (extra.kind == OpKind::Reg && c.regTyOf(extra) == Ty::Pred) {
      bool neg;
      if (!c.pred(3, in.r[3], neg) || neg) return c.fail("ignore-src");
    } else if (!c.src(3, Ty::U32, in.r[2])) {
      return false;
    }
  }
  c.emit(in);
  return true;
}

}  // namespace

void registerMemoryOps(SelectorTable& t) {
  t["cp"] = selCpAsync;
  t["ld"] = selLd;
  t["ldu"] = selLd;
  t["st"] = selSt;
  t["mov"] = selMov;
  t["cvta"] = selCvta;
  t["isspacep"] = selIsspacep;
  t["membar"] = selFence;
  t["fence"] = selFence;
  t["prefetch"] = selHint;
  t["prefetchu"] = selHint;
  t["applypriority"] = selHint;
  t["discard"] = selHint;
  t["createpolicy"] = selCreatePolicy;
}

}  // namespace modnn::ptx
