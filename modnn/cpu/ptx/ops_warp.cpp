// Warp family: shfl.sync (up/down/bfly/idx), vote(.sync) all/any/uni/
// ballot, activemask, match.sync any/all, redux.sync, elect.sync,
// bar.warp.sync. The .sync forms are Flow::WarpSync: the interpreter runs
// them only once every live lane of the member mask has converged.
#include "modnn/cpu/ptx/ops_common.h"

namespace modnn::ptx {

namespace {

// shfl: r[0] d, r[1] p|kNoReg, r[2] a, r[3] b, r[4] c; aux mode 0 up 1 down 2 bfly 3 idx
modnn_status hShfl(Warp& w, const Inst& in, uint32_t m) {
  alignas(64) uint32_t src[kLanes];
  std::memcpy(src, R<uint32_t>(w, in.r[2]), sizeof src);
  const uint32_t* b = R<uint32_t>(w, in.r[3]);
  const uint32_t* c = R<uint32_t>(w, in.r[4]);
  uint32_t* d = R<uint32_t>(w, in.r[0]);
  uint32_t pbits = 0;
  eachLane(m, [&](uint32_t lane) {
    uint32_t bval = b[lane] & 0x1f;
    uint32_t cval = c[lane] & 0x1f;
    uint32_t segmask = (c[lane] >> 8) & 0x1f;
    uint32_t maxLane = (lane & segmask) | (cval & ~segmask);
    uint32_t minLane = lane & segmask;
    int32_t j;
    bool pval;
    switch (in.aux) {
      case 0: j = int32_t(lane) - int32_t(bval); pval = j >= int32_t(maxLane); break;
      case 1: j = int32_t(lane + bval); pval = j <= int32_t(maxLane); break;
      case 2: j = int32_t(lane ^ bval); pval = j <= int32_t(maxLane); break;
      default: j = int32_t(minLane | (bval & ~segmask)); pval = j <= int32_t(maxLane); break;
    }
    if (!pval) j = int32_t(lane);
    d[lane] = src[j & 31];
    pbits |= uint32_t(pval) << lane;
  });
  if (in.r[1] != kNoReg) setPred(w, in.r[1], pbits, m);
  return MODNN_OK;
}

// Lanes of one warp may pass different member masks (tiled partitions):
// f(lanes, members) runs once per distinct mask with the lanes that passed
// it and the executing lanes it names.
template <class F>
inline void byMemberMask(Warp& w, const Inst& in, uint32_t m, F&& f) {
  if (in.r[5] == kNoReg) {
    f(m, m);
    return;
  }
  const uint32_t* mm = R<uint32_t>(w, in.r[5]);
  uint32_t rest = m;
  while (rest) {
    uint32_t mask = mm[__builtin_ctz(rest)];
    uint32_t grp = 0;
    eachLane(rest, [&](uint32_t l) { grp |= uint32_t(mm[l] == mask) << l; });
    rest &= ~grp;
    f(grp, mask & m);
  }
}

// vote: r[0] d, r[1] a (pred), aux 0 all 1 any 2 uni 3 ballot, n: negate a
modnn_status hVote(Warp& w, const Inst& in, uint32_t m) {
  uint32_t a = P(w, in.r[1]);
  if (in.n) a = ~a;
  uint32_t* d = in.aux == 3 ? R<uint32_t>(w, in.r[0]) : nullptr;
  uint32_t pbits = 0;
  byMemberMask(w, in, m, [&](uint32_t lanes, uint32_t members) {
    uint32_t t = a & members;
    if (d) {
      eachLane(lanes, [&](uint32_t l) { d[l] = t; });
      return;
    }
    bool r = in.aux == 0 ? t == members : in.aux == 1 ? t != 0 : (t == 0 || t == members);
    if (r) pbits |= lanes;
  });
  if (!d) setPred(w, in.r[0], pbits, m);
  return MODNN_OK;
}

modnn_status hActivemask(Warp& w, const Inst& in, uint32_t m) {
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t) { return m; });
  return MODNN_OK;
}

// match: r[0] d, r[1] p|kNoReg, r[2] a; aux 0 any 1 all
template <class T>
modnn_status hMatch(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[2]);
  uint32_t* d = R<uint32_t>(w, in.r[0]);
  alignas(64) uint32_t res[kLanes];
  uint32_t pbits = 0;
  byMemberMask(w, in, m, [&](uint32_t lanes, uint32_t members) {
    if (in.aux == 0) {
      eachLane(lanes, [&](uint32_t l) {
        uint32_t mask = 0;
        eachLane(members, [&](uint32_t k) { mask |= uint32_t(a[k] == a[l]) << k; });
        res[l] = mask;
      });
      return;
    }
    bool same = true;
    T first = a[__builtin_ctz(members ? members : 1)];
    eachLane(members, [&](uint32_t l) { same = same && a[l] == first; });
    eachLane(lanes, [&](uint32_t l) { res[l] = same ? members : 0; });
    if (same) pbits |= lanes;
  });
  eachLane(m, [&](uint32_t l) { d[l] = res[l]; });
  if (in.aux == 1 && in.r[1] != kNoReg) setPred(w, in.r[1], pbits, m);
  return MODNN_OK;
}

// redux: r[0] d, r[1] a; aux 0 add 1 min 2 max 3 and 4 or 5 xor
template <class T>
modnn_status hRedux(Warp& w, const Inst& in, uint32_t m) {
  const T* a = R<T>(w, in.r[1]);
  T* d = R<T>(w, in.r[0]);
  alignas(64) T res[kLanes];
  byMemberMask(w, in, m, [&](uint32_t lanes, uint32_t members) {
    bool firstLane = true;
    T acc{};
    eachLane(members, [&](uint32_t l) {
      T v = a[l];
      if (firstLane) {
        acc = v;
        firstLane = false;
        return;
      }
      switch (in.aux) {
        case 0: acc = T(uint32_t(acc) + uint32_t(v)); break;
        case 1: acc = v < acc ? v : acc; break;
        case 2: acc = v > acc ? v : acc; break;
        case 3: acc = T(acc & v); break;
        case 4: acc = T(acc | v); break;
        default: acc = T(acc ^ v); break;
      }
    });
    eachLane(lanes, [&](uint32_t l) { res[l] = acc; });
  });
  eachLane(m, [&](uint32_t l) { d[l] = res[l]; });
  return MODNN_OK;
}

// elect: r[0] d|kNoReg, r[1] p|kNoReg
modnn_status hElect(Warp& w, const Inst& in, uint32_t m) {
  uint32_t* d = in.r[0] != kNoReg ? R<uint32_t>(w, in.r[0]) : nullptr;
  uint32_t pbits = 0;
  byMemberMask(w, in, m, [&](uint32_t lanes, uint32_t members) {
    uint32_t leader = members ? uint32_t(__builtin_ctz(members)) : 0;
    if (d) eachLane(lanes, [&](uint32_t l) { d[l] = leader; });
    if (members) pbits |= 1u << leader;
  });
  if (in.r[1] != kNoReg) setPred(w, in.r[1], pbits, m);
  return MODNN_OK;
}

modnn_status hWarpNop(Warp&, const Inst&, uint32_t) { return MODNN_OK; }

// Member mask operand at `i` into r[5]; false for the old non-.sync forms.
bool memberMask(DecodeCtx& c, size_t i, Inst& in) { return c.src(i, Ty::B32, in.r[5]); }

void makeSync(Inst& in, bool sync) { in.flow = sync ? Flow::WarpSync : Flow::Plain; }

bool selShfl(DecodeCtx& c) {
  bool sync = c.spec.take("sync");
  int mode = c.spec.takeOne({"up", "down", "bfly", "idx"});
  if (mode < 0) return c.fail("shfl needs a mode");
  if (c.spec.type() != Ty::B32) return c.fail("shfl needs .b32");
  Inst in = c.make(&hShfl);
  in.aux = uint32_t(mode);
  makeSync(in, sync);
  if (!c.want(sync ? 5 : 4)) return false;
  const Operand& d = c.op(0);
  if (!c.reg(d, Ty::B32, in.r[0])) return false;
  if (d.reg2 >= 0) {
    Operand q = d;
    q.reg = d.reg2;
    if (!c.reg(q, Ty::Pred, in.r[1])) return false;
  }
  if (!c.src(1, Ty::B32, in.r[2]) || !c.src(2, Ty::B32, in.r[3]) || !c.src(3, Ty::B32, in.r[4])) return false;
  if (sync && !memberMask(c, 4, in)) return false;
  c.emit(in);
  return true;
}

bool selVote(DecodeCtx& c) {
  bool sync = c.spec.take("sync");
  int mode = c.spec.takeOne({"all", "any", "uni", "ballot"});
  if (mode < 0) return c.fail("vote needs a mode");
  Inst in = c.make(&hVote);
  in.aux = uint32_t(mode);
  makeSync(in, sync);
  if (!c.want(sync ? 3 : 2)) return false;
  if (mode == 3) {
    if (c.spec.type() != Ty::B32 || !c.reg(0, Ty::B32, in.r[0])) return c.fail("vote.ballot needs .b32");
  } else if (c.spec.type() != Ty::Pred || !c.reg(0, Ty::Pred, in.r[0])) {
    return c.fail("vote needs .pred");
  }
  bool neg;
  if (!c.pred(1, in.r[1], neg)) return false;
  in.n = neg;
  if (sync && !memberMask(c, 2, in)) return false;
  c.emit(in);
  return true;
}

bool selActivemask(DecodeCtx& c) {
  Inst in = c.make(&hActivemask);
  if (c.spec.type() != Ty::B32 || !c.want(1) || !c.reg(0, Ty::B32, in.r[0])) return c.fail("activemask.b32 d");
  c.emit(in);
  return true;
}

bool selMatch(DecodeCtx& c) {
  if (!c.spec.take("sync")) return c.fail("match needs .sync");
  int mode = c.spec.takeOne({"any", "all"});
  Ty ty = c.spec.type();
  if (mode < 0 || (tySize(ty) != 4 && tySize(ty) != 8)) return c.fail("match.{any,all}.sync.{b32,b64}");
  Inst in = c.make(tySize(ty) == 4 ? &hMatch<uint32_t> : &hMatch<uint64_t>);
  in.aux = uint32_t(mode);
  in.flow = Flow::WarpSync;
  if (!c.want(3)) return false;
  const Operand& d = c.op(0);
  if (!c.reg(d, Ty::B32, in.r[0])) return false;
  if (d.reg2 >= 0) {
    Operand q = d;
    q.reg = d.reg2;
    if (!c.reg(q, Ty::Pred, in.r[1])) return false;
  }
  if (!c.src(1, ty, in.r[2]) || !memberMask(c, 2, in)) return false;
  c.emit(in);
  return true;
}

bool selRedux(DecodeCtx& c) {
  if (!c.spec.take("sync")) return c.fail("redux needs .sync");
  int op = c.spec.takeOne({"add", "min", "max", "and", "or", "xor"});
  Ty ty = c.spec.type();
  if (op < 0) return c.fail("redux op");
  Handler h = nullptr;
  if (ty == Ty::S32) h = &hRedux<int32_t>;
  else if (ty == Ty::U32 || ty == Ty::B32) h = &hRedux<uint32_t>;
  if (!h) return c.fail("redux type");
  Inst in = c.make(h);
  in.aux = uint32_t(op);
  in.flow = Flow::WarpSync;
  if (!c.want(3) || !c.dst(0, ty, in.r[0]) || !c.src(1, ty, in.r[1]) || !memberMask(c, 2, in)) return false;
  c.emit(in);
  return true;
}

bool selElect(DecodeCtx& c) {
  if (!c.spec.take("sync")) return c.fail("elect needs .sync");
  Inst in = c.make(&hElect);
  in.flow = Flow::WarpSync;
  if (!c.want(2)) return false;
  const Operand& d = c.op(0);
  if (d.kind == OpKind::Reg) {
    if (!c.reg(d, Ty::B32, in.r[0])) return false;
    if (d.reg2 >= 0) {
      Operand q = d;
      q.reg = d.reg2;
      if (!c.reg(q, Ty::Pred, in.r[1])) return false;
    }
  } else if (d.kind != OpKind::Sink) {
    return c.fail("elect destination");
  }
  if (!memberMask(c, 1, in)) return false;
  c.emit(in);
  return true;
}

}  // namespace

bool selBarWarpSync(DecodeCtx& c) {
  c.spec.take("warp");
  if (!c.spec.take("sync")) return c.fail("bar.warp needs .sync");
  Inst in = c.make(&hWarpNop);
  in.flow = Flow::WarpSync;
  if (!c.want(1) || !memberMask(c, 0, in)) return false;
  c.emit(in);
  return true;
}

void registerWarpOps(SelectorTable& t) {
  t["shfl"] = selShfl;
  t["vote"] = selVote;
  t["activemask"] = selActivemask;
  t["match"] = selMatch;
  t["redux"] = selRedux;
  t["elect"] = selElect;
}

}  // namespace modnn::ptx
