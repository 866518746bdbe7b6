// mbarrier objects in shared memory: init, inval, arrive (.noComplete,
// counts), arrive_drop, test_wait / try_wait (phase state or .parity),
// pending_count, and cp.async.mbarrier.arrive. cp.async copies complete at
// once, so their tracked arrivals happen immediately. A failed wait yields
// the warp so the threads it waits for can run.
//
// The 64-bit object (opaque to programs): bits 0-19 arrivals pending in the
// current phase, 20-39 expected arrivals per phase, 40-62 phase number.
// An arrive's state token is the phase number and the pending count after
// the arrival, in the same layout.
#include "modnn/cpu/ptx/ops_common.h"

namespace modnn::ptx {
namespace {

constexpr uint64_t kCountMask = (1ull << 20) - 1;

uint64_t pendingOf(uint64_t v) { return v & kCountMask; }
uint64_t expectedOf(uint64_t v) { return (v >> 20) & kCountMask; }
uint64_t phaseOf(uint64_t v) { return (v >> 40) & ((1ull << 23) - 1); }
uint64_t pack(uint64_t pending, uint64_t expected, uint64_t phase) {
  return (pending & kCountMask) | (expected & kCountMask) << 20 | (phase & ((1ull << 23) - 1)) << 40;
}

// The object at a shared (or generic) address for `lane`; nullptr after a fault.
template <class A, bool Generic>
uint64_t* objectAt(Warp& w, const Inst& in, uint32_t lane) {
  uint64_t a = uint64_t(R<A>(w, in.r[4])[lane]) + uint64_t(in.imm);
  if constexpr (Generic) {
    if (a - kSharedWindow >= kWindowSize) {
      fault(w, MODNN_ERR_ILLEGAL_ADDRESS, "mbarrier object outside shared memory");
      return nullptr;
    }
    a -= kSharedWindow;
  }
  return reinterpret_cast<uint64_t*>(sharedAt(w, a, 8, lane));
}

enum MbOp : uint32_t { kInit, kInval, kArrive, kArriveNoComplete, kArriveDrop, kArriveDropNoComplete, kTestWait,
                       kTestWaitParity, kAsyncArrive };

// r[0] destination (state / predicate), r[1] count or state/parity source,
// r[4] address; aux: MbOp
template <class A, bool Generic>
modnn_status hMbarrier(Warp& w, const Inst& in, uint32_t m) {
  modnn_status st = MODNN_OK;
  uint32_t done = 0;
  eachLane(m, [&](uint32_t l) {
    if (st != MODNN_OK) return;
    uint64_t* obj = objectAt<A, Generic>(w, in, l);
    if (!obj) {
      st = faultStatus(w);
      return;
    }
    uint64_t v = *obj;
    switch (in.aux) {
      case kInit: {
        uint64_t count = R<uint32_t>(w, in.r[1])[l];
        *obj = pack(count, count, 0);
        break;
      }
      case kInval: *obj = 0; break;
      case kArrive:
      case kArriveNoComplete:
      case kArriveDrop:
      case kArriveDropNoComplete:
      case kAsyncArrive: {
        uint64_t count = in.r[1] != kNoReg ? R<uint32_t>(w, in.r[1])[l] : 1;
        uint64_t pending = pendingOf(v), expected = expectedOf(v), phase = phaseOf(v);
        if (in.aux == kArriveDrop || in.aux == kArriveDropNoComplete) expected -= std::min(expected, count);
        pending -= std::min(pending, count);
        uint64_t token = pack(pending, 0, phase);
        if (pending == 0 && in.aux != kArriveNoComplete && in.aux != kArriveDropNoComplete) {
          pending = expected;
          ++phase;
        }
        *obj = pack(pending, expected, phase);
        if (in.r[0] != kNoReg) R<uint64_t>(w, in.r[0])[l] = token;
        break;
      }
      case kTestWait: {
        uint64_t token = R<uint64_t>(w, in.r[1])[l];
        if (phaseOf(v) != phaseOf(token)) done |= 1u << l;
        break;
      }
      case kTestWaitParity: {
        uint32_t parity = R<uint32_t>(w, in.r[1])[l] & 1;
        if ((phaseOf(v) & 1) != parity) done |= 1u << l;
        break;
      }
    }
  });
  if (st != MODNN_OK) return st;
  if (in.aux == kTestWait || in.aux == kTestWaitParity) {
    setPred(w, in.r[0], done, m);
    if (done != m) w.yieldNow = true;
  }
  return MODNN_OK;
}

// pending_count: r[0] u32 count, r[1] state
modnn_status hPendingCount(Warp& w, const Inst& in, uint32_t m) {
  const uint64_t* s = R<uint64_t>(w, in.r[1]);
  lanesOut(R<uint32_t>(w, in.r[0]), m, [&](uint32_t l) { return uint32_t(pendingOf(s[l])); });
  return MODNN_OK;
}

Handler pick(uint32_t addrSize, bool generic) {
  if (generic) return addrSize == 4 ? &hMbarrier<uint32_t, true> : &hMbarrier<uint64_t, true>;
  return addrSize == 4 ? &hMbarrier<uint32_t, false> : &hMbarrier<uint64_t, false>;
}

bool takeOrdering(DecodeCtx& c) {
  for (const char* q : {"release", "acquire", "relaxed", "cta", "cluster", "sync", "aligned"}) c.spec.take(q);
  return true;
}

bool selMbarrier(DecodeCtx& c) {
  takeOrdering(c);
  int space = c.spec.takeOne({"shared", "shared::cta"});
  bool generic = space < 0;
  if (c.spec.has("shared::cluster")) return c.fail("cluster-scope mbarrier");
  if (c.spec.has("expect_tx") || c.spec.has("complete_tx")) return c.fail("mbarrier transaction counts (TMA) are not supported");
  if (c.spec.take("pending_count")) {
    Inst in = c.make(&hPendingCount);
    if (!c.want(2) || !c.reg(0, Ty::U32, in.r[0]) || !c.src(1, Ty::B64, in.r[1])) return false;
    c.emit(in);
    return true;
  }
  if (c.spec.type() != Ty::B64) return c.fail("mbarrier needs .b64");
  Inst in = c.make(nullptr);
  size_t addrIdx = 0;
  if (c.spec.take("init")) {
    in.aux = kInit;
    if (!c.want(2) || !c.src(1, Ty::U32, in.r[1])) return false;
  } else if (c.spec.take("inval")) {
    in.aux = kInval;
    if (!c.want(1)) return false;
  } else if (c.spec.take("arrive") || c.spec.take("arrive_drop")) {
    bool drop = c.spec.has("arrive_drop");
    bool noComplete = c.spec.take("noComplete");
    in.aux = drop ? (noComplete ? kArriveDropNoComplete : kArriveDrop) : (noComplete ? kArriveNoComplete : kArrive);
    if (c.count() < 2 || c.count() > 3) return c.fail("mbarrier.arrive operands");
    if (c.op(0).kind == OpKind::Sink) in.r[0] = kNoReg;
    else if (!c.reg(0, Ty::B64, in.r[0])) return false;
    addrIdx = 1;
    if (c.count() == 3 && !c.src(2, Ty::U32, in.r[1])) return false;
  } else if (c.spec.take("test_wait") || c.spec.take("try_wait")) {
    bool parity = c.spec.take("parity");
    in.aux = parity ? kTestWaitParity : kTestWait;
    in.flow = Flow::Yielding;
    if (c.count() < 3 || c.count() > 4) return c.fail("mbarrier wait operands");
    if (!c.reg(0, Ty::Pred, in.r[0])) return false;
    addrIdx = 1;
    if (!c.src(2, parity ? Ty::U32 : Ty::B64, in.r[1])) return false;
  } else {
    return c.fail("unknown mbarrier operation");
  }
  AddrRef a;
  if (!c.addr(addrIdx, generic ? Space::Generic : Space::Shared, a)) return false;
  if (a.priv || a.kernelParam) return c.fail("mbarrier outside shared memory");
  in.fn = pick(a.regSize, generic);
  in.r[4] = a.reg;
  in.imm = a.imm;
  c.emit(in);
  return true;
}

}  // namespace

// cp.async.mbarrier.arrive{.noinc}: without .noinc the tracked arrival is
// balanced by an increment, so only .noinc changes the object.
bool selCpAsyncMbarrierArrive(DecodeCtx& c) {
  c.spec.take("async");
  c.spec.take("mbarrier");
  c.spec.take("arrive");
  bool noinc = c.spec.take("noinc");
  int space = c.spec.takeOne({"shared", "shared::cta"});
  if (c.spec.type() != Ty::B64 || !c.want(1)) return c.fail("cp.async.mbarrier.arrive.b64 [addr]");
  AddrRef a;
  if (!c.addr(0, space < 0 ? Space::Generic : Space::Shared, a)) return false;
  Inst in = c.make(noinc ? pick(a.regSize, space < 0) : nullptr);
  if (!noinc) {
    in.fn = [](Warp&, const Inst&, uint32_t) { return MODNN_OK; };
  } else {
    in.aux = kAsyncArrive;
    in.r[0] = kNoReg;
    in.r[4] = a.reg;
    in.imm = a.imm;
  }
  c.emit(in);
  return true;
}

void registerMbarrierOps(SelectorTable& t) { t["mbarrier"] = selMbarrier; }

}  // namespace modnn::ptx
