#include "modnn/cpu/ptx/ptx_interpreter.h"

#include <chrono>
#include <cstdlib>
#include <utility>

#include <algorithm>
#include <cstdio>

namespace modnn::ptx {
namespace {

constexpr uint32_t kSpinLimit = 1u << 12;    // diverged backward branches before trying another group
constexpr uint32_t kYieldBudget = 1u << 14;  // backward branches before letting other warps run

enum class WarpRun { Blocked, Done, Yield, Fault };

size_t align64(size_t n) { return (n + 63) & ~size_t(63); }

// ---------------------------------------------------------------- preparation

uint64_t specialValue(const LaunchShared& L, const Worker& wk, SpecialKind k, uint32_t warp, uint32_t lane,
                      const Block* blk) {
  uint32_t linear = warp * kLanes + lane;
  switch (k) {
    case SpecialKind::TidX: return linear % L.block[0];
    case SpecialKind::TidY: return (linear / L.block[0]) % L.block[1];
    case SpecialKind::TidZ: return linear / (L.block[0] * L.block[1]);
    case SpecialKind::NtidX: return L.block[0];
    case SpecialKind::NtidY: return L.block[1];
    case SpecialKind::NtidZ: return L.block[2];
    case SpecialKind::CtaidX: return blk ? blk->ctaid[0] : 0;
    case SpecialKind::CtaidY: return blk ? blk->ctaid[1] : 0;
    case SpecialKind::CtaidZ: return blk ? blk->ctaid[2] : 0;
    case SpecialKind::NctaidX: return L.grid[0];
    case SpecialKind::NctaidY: return L.grid[1];
    case SpecialKind::NctaidZ: return L.grid[2];
    case SpecialKind::LaneId: return lane;
    case SpecialKind::WarpId: return warp;
    case SpecialKind::NWarpId: return 64;
    case SpecialKind::SmId: return uint32_t(wk.index);
    case SpecialKind::NSmId: return 1024;
    case SpecialKind::GridId: return 1;
    case SpecialKind::LaneMaskEq: return 1u << lane;
    case SpecialKind::LaneMaskLe: return lane == 31 ? kFullMask : (2u << lane) - 1;
    case SpecialKind::LaneMaskLt: return (1u << lane) - 1;
    case SpecialKind::LaneMaskGe: return ~((1u << lane) - 1);
    case SpecialKind::LaneMaskGt: return lane == 31 ? 0u : ~((2u << lane) - 1);
    case SpecialKind::DynSmem: return L.dynShared;
    case SpecialKind::TotalSmem: return L.sharedBytes;
    case SpecialKind::One: return 1;
    default: return 0;
  }
}

void writeLanes(uint8_t* rf, uint32_t off, uint32_t size, uint32_t lane, uint64_t v) {
  std::memcpy(rf + off + size_t(lane) * size, &v, size);
}

bool isBlockSpecial(SpecialKind k) {
  return k == SpecialKind::CtaidX || k == SpecialKind::CtaidY || k == SpecialKind::CtaidZ;
}

void prepareWorker(Worker& wk, LaunchShared& L, int index) {
  const Program& p = *L.prog;
  wk.index = index;
  wk.L = &L;
  uint32_t nw = L.warpsPerBlock;
  size_t regStride = align64(p.regBytes);
  uint8_t* regs = wk.regs.ensure(regStride * nw);
  std::memset(regs, 0, regStride * nw);
  size_t privStride = align64(std::max<uint32_t>(p.privBytes, 1));
  uint8_t* priv = wk.priv.ensure(privStride * nw * kLanes);
  uint8_t* shared = wk.shared.ensure(std::max<uint32_t>(L.sharedBytes, 1));
  uint32_t depth = std::max<uint32_t>(p.maxDepth, 1);
  wk.retStore.assign(size_t(nw) * kLanes * depth, 0);
  wk.caches.assign(p.memSlots, MemCache{});
  wk.printfBuf.clear();
  wk.warps.resize(nw);
  wk.blockSpecials.clear();
  for (const SpecialInit& s : p.specials)
    if (isBlockSpecial(s.kind)) wk.blockSpecials.push_back(s);
  wk.block.shared = shared;
  wk.block.sharedSize = L.sharedBytes;
  for (auto& bar : wk.block.bars) bar = BarrierState{};
  for (uint32_t i = 0; i < nw; ++i) {
    Warp& w = wk.warps[i];
    w = Warp{};
    w.rf = regs + regStride * i;
    w.priv = priv + privStride * kLanes * i;
    w.privStride = uint32_t(privStride);
    w.retStack = wk.retStore.data() + size_t(i) * kLanes * depth;
    w.wk = &wk;
    w.blk = &wk.block;
    w.L = &L;
    w.index = i;
    for (const ConstInit& c : p.consts) {
      uint64_t v = c.symbol >= 0 ? L.symbolVa[size_t(c.symbol)] + c.value : c.value;
      for (uint32_t l = 0; l < kLanes; ++l) writeLanes(w.rf, c.offset, c.size, l, v);
    }
    for (const SpecialInit& s : p.specials)
      if (!isBlockSpecial(s.kind))
        for (uint32_t l = 0; l < kLanes; ++l) writeLanes(w.rf, s.offset, s.size, l, specialValue(L, wk, s.kind, i, l, nullptr));
  }
}

// ---------------------------------------------------------------- scheduling

// Chooses the next lane group of `w` (lowest PC first, or the lowest above
// the current PC after a spin limit); false when no lane can run.
bool pickGroup(Warp& w) {
  uint32_t runnable = w.alive & ~w.barBlocked & ~w.parked;
  if (w.wholeAtBarrier) {
    // Converged warp released from (or still at) a barrier: no per-lane PCs.
    if (runnable != w.alive) {
      w.active = 0;
      return false;
    }
    w.wholeAtBarrier = false;
    w.active = runnable;
    w.nextWaitPc = kNoPc;
    return true;
  }
  if (!runnable) {
    w.active = 0;
    if (!w.parked) return false;
    // Nobody else can reach the parked warp-sync op: run it with whoever is there.
    uint32_t best = kNoPc;
    eachLane(w.parked, [&](uint32_t l) { best = std::min(best, w.lanePc[l]); });
    uint32_t grp = 0;
    eachLane(w.parked, [&](uint32_t l) { grp |= uint32_t(w.lanePc[l] == best) << l; });
    w.parked &= ~grp;
    w.active = grp;
    w.pc = best;
    w.forceSync = true;
    uint32_t next = kNoPc;
    eachLane(w.parked, [&](uint32_t l) {
      if (w.lanePc[l] > best) next = std::min(next, w.lanePc[l]);
    });
    w.nextWaitPc = next;
    return true;
  }
  uint32_t best = kNoPc;
  if (w.starve) {
    w.starve = false;
    uint32_t cur = w.pc;
    eachLane(runnable, [&](uint32_t l) {
      if (w.lanePc[l] > cur) best = std::min(best, w.lanePc[l]);
    });
  }
  if (best == kNoPc) eachLane(runnable, [&](uint32_t l) { best = std::min(best, w.lanePc[l]); });
  uint32_t grp = 0, next = kNoPc;
  eachLane(runnable | w.parked, [&](uint32_t l) {
    uint32_t pc = w.lanePc[l];
    if (pc == best) grp |= 1u << l;
    else if (pc > best) next = std::min(next, pc);
  });
  w.parked &= ~grp;
  w.active = grp;
  w.pc = best;
  w.nextWaitPc = next;
  return true;
}

// Saves the current group's PC and picks again.
bool reschedule(Warp& w) {
  eachLane(w.active, [&](uint32_t l) { w.lanePc[l] = w.pc; });
  w.active = 0;
  return pickGroup(w);
}

WarpRun stopped(const Warp& w) { return w.alive ? WarpRun::Blocked : WarpRun::Done; }

// Releases barrier `id` when enough threads arrived.
bool tryRelease(Worker& wk, uint32_t id) {
  Block& b = wk.block;
  BarrierState& B = b.bars[id];
  if (B.arrived == 0) return false;
  uint32_t expected = B.expected ? B.expected : b.aliveThreads;
  if (B.arrived < expected) return false;
  for (Warp& w : wk.warps) {
    uint32_t m = w.barMask[id];
    if (!m) continue;
    w.barBlocked &= ~m;
    w.released |= m;
    w.barMask[id] = 0;
    eachLane(m, [&](uint32_t l) { w.barResult[l] = B.popc | (B.all ? 0x40000000u : 0) | (B.any ? 0x80000000u : 0); });
  }
  B = BarrierState{};
  return true;
}

bool releaseAny(Worker& wk) {
  bool any = false;
  for (uint32_t id = 0; id < 16; ++id) any |= tryRelease(wk, id);
  return any;
}

WarpRun runWarp(Warp& w) {
  const Inst* code = w.L->prog->code.data();
  const uint32_t depthCap = std::max<uint32_t>(w.L->prog->maxDepth, 1);
  uint32_t budget = kYieldBudget;
  for (;;) {
    const Inst& in = code[w.pc];
    uint32_t m = w.active;
    if (in.guard != kNoReg) {
      uint32_t p = P(w, in.guard);
      m &= in.guardNeg ? ~p : p;
    }
    if (in.flow == Flow::Plain) [[likely]] {
      w.threadInstructions += uint32_t(__builtin_popcount(m));
      if (m && in.fn(w, in, m) != MODNN_OK) return WarpRun::Fault;
      if (++w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
      continue;
    }
    switch (in.flow) {
      case Flow::Branch: {
        uint32_t target = uint32_t(in.imm);
        if (m == w.active) {
          if (target <= w.pc) {
            if ((w.alive & ~w.active & ~w.barBlocked) && ++w.spin > kSpinLimit) {
              w.spin = 0;
              w.starve = true;
              w.pc = target;
              if (!reschedule(w)) return stopped(w);
              continue;
            }
            if (--budget == 0) {
              w.pc = target;
              return WarpRun::Yield;
            }
          }
          w.pc = target;
          if (w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
        } else if (m == 0) {
          if (++w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
        } else {
          uint32_t next = w.pc + 1;
          eachLane(w.active, [&](uint32_t l) { w.lanePc[l] = (m >> l & 1) ? target : next; });
          w.active = 0;
          if (!pickGroup(w)) return stopped(w);
        }
        continue;
      }
      case Flow::Exit: {
        w.alive &= ~m;
        w.active &= ~m;
        w.blk->aliveThreads -= uint32_t(__builtin_popcount(m));
        if (w.active) {
          if (++w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
        } else if (!pickGroup(w)) {
          return stopped(w);
        }
        continue;
      }
      case Flow::Ret: {
        if (!m) {
          if (++w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
          continue;
        }
        uint32_t rest = w.active & ~m;
        uint32_t first = uint32_t(__builtin_ctz(m));
        bool same = true;
        bool bad = false;
        eachLane(m, [&](uint32_t l) {
          if (w.depth[l] == 0) {
            bad = true;
            return;
          }
          --w.depth[l];
          uint32_t e = w.retStack[size_t(l) * depthCap + w.depth[l]];
          w.lanePc[l] = e & kRetPcMask;
          w.retSlot[l] = uint8_t(e >> kRetSlotShift);
        });
        if (bad) {
          fault(w, MODNN_ERR_LAUNCH_FAILURE, "return without a call");
          return WarpRun::Fault;
        }
        eachLane(m, [&](uint32_t l) { same = same && w.lanePc[l] == w.lanePc[first]; });
        if (!rest && same) {
          w.pc = w.lanePc[first];
          if (w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
        } else {
          uint32_t next = w.pc + 1;
          eachLane(rest, [&](uint32_t l) { w.lanePc[l] = next; });
          w.active = 0;
          if (!pickGroup(w)) return stopped(w);
        }
        continue;
      }
      case Flow::Call: {
        if (!m) {
          if (++w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
          continue;
        }
        auto* ci = static_cast<const CallInfo*>(in.ext);
        uint32_t next = w.pc + 1;
        eachLane(m, [&](uint32_t l) {
          uint8_t* base = w.priv + size_t(l) * w.privStride;
          for (const ParamCopy& pc : ci->args) std::memmove(base + pc.to, base + pc.from, pc.size);
          w.retStack[size_t(l) * depthCap + w.depth[l]++] = next;
        });
        uint32_t rest = w.active & ~m;
        if (rest) {
          eachLane(rest, [&](uint32_t l) { w.lanePc[l] = next; });
          w.active = m;
          w.nextWaitPc = std::min(w.nextWaitPc, next);
        }
        w.pc = ci->target;
        if (w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
        continue;
      }
      case Flow::CallIndirect: {
        if (!m) {
          if (++w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
          continue;
        }
        auto* ic = static_cast<const IndirectCall*>(in.ext);
        const uint64_t* fp = R<uint64_t>(w, in.r[0]);
        uint32_t next = w.pc + 1;
        bool bad = false;
        eachLane(w.active, [&](uint32_t l) {
          if (!(m >> l & 1)) {
            w.lanePc[l] = next;
            return;
          }
          uint64_t a = fp[l];
          uint32_t slot = 0;
          while (slot < ic->targets.size() && kFunctionWindow + 16ull * ic->targets[slot].funcIndex != a) ++slot;
          if (slot == ic->targets.size() || w.depth[l] >= depthCap) {
            bad = true;
            return;
          }
          const CallInfo& ci = ic->targets[slot].info;
          uint8_t* base = w.priv + size_t(l) * w.privStride;
          for (const ParamCopy& pc : ci.args) std::memmove(base + pc.to, base + pc.from, pc.size);
          w.retStack[size_t(l) * depthCap + w.depth[l]++] = next | (slot << kRetSlotShift);
          w.lanePc[l] = ci.target;
        });
        if (bad) {
          fault(w, MODNN_ERR_LAUNCH_FAILURE, "call through an invalid function pointer (or unsupported recursion)");
          return WarpRun::Fault;
        }
        w.active = 0;
        if (!pickGroup(w)) return stopped(w);
        continue;
      }
      case Flow::BranchIdx: {
        auto* table = static_cast<const std::vector<uint32_t>*>(in.ext);
        const uint32_t* idx = R<uint32_t>(w, in.r[0]);
        uint32_t next = w.pc + 1;
        bool bad = false;
        eachLane(w.active, [&](uint32_t l) {
          if (m >> l & 1) {
            if (idx[l] >= table->size()) bad = true;
            else w.lanePc[l] = (*table)[idx[l]];
          } else {
            w.lanePc[l] = next;
          }
        });
        if (bad) {
          fault(w, MODNN_ERR_LAUNCH_FAILURE, "brx.idx index out of range");
          return WarpRun::Fault;
        }
        w.active = 0;
        if (!pickGroup(w)) return stopped(w);
        continue;
      }
      case Flow::Barrier: {
        uint32_t here = w.pc, next = w.pc + 1;
        uint32_t rel = m & w.released;
        uint32_t arrive = m & ~rel;
        const bool converged = m == w.alive && w.active == w.alive && w.nextWaitPc == kNoPc;
        if (converged && in.aux == kBarSync && rel == m) {
          w.released = 0;
          w.pc = next;
          continue;
        }
        if (converged && in.aux == kBarSync && arrive == m && !w.released) {
          uint32_t id = R<uint32_t>(w, in.r[0])[__builtin_ctz(m)] & 15;
          uint32_t count = in.r[1] != kNoReg ? R<uint32_t>(w, in.r[1])[__builtin_ctz(m)] : 0;
          BarrierState& B = w.blk->bars[id];
          B.arrived += uint32_t(__builtin_popcount(m));
          if (count) B.expected = count;
          w.barBlocked |= m;
          w.barMask[id] |= m;
          w.active = 0;
          w.wholeAtBarrier = true;
          tryRelease(*w.wk, id);
          if (!pickGroup(w)) return stopped(w);
          continue;
        }
        if (rel) {
          if (in.aux == kBarRedPopc) {
            uint32_t* d = R<uint32_t>(w, in.r[3]);
            eachLane(rel, [&](uint32_t l) { d[l] = w.barResult[l] & 0x3fffffffu; });
          } else if (in.aux == kBarRedAnd || in.aux == kBarRedOr) {
            uint32_t bit = in.aux == kBarRedAnd ? 0x40000000u : 0x80000000u;
            uint32_t bits = 0;
            eachLane(rel, [&](uint32_t l) { bits |= uint32_t((w.barResult[l] & bit) != 0) << l; });
            setPred(w, in.r[3], bits, rel);
          }
          w.released &= ~rel;
          eachLane(rel, [&](uint32_t l) { w.lanePc[l] = next; });
        }
        if (arrive) {
          uint32_t first = uint32_t(__builtin_ctz(arrive));
          uint32_t id = R<uint32_t>(w, in.r[0])[first] & 15;
          uint32_t count = in.r[1] != kNoReg ? R<uint32_t>(w, in.r[1])[first] : 0;
          BarrierState& B = w.blk->bars[id];
          B.arrived += uint32_t(__builtin_popcount(arrive));
          if (count) B.expected = count;
          if (in.aux >= kBarRedPopc) {
            uint32_t p = P(w, in.r[2]);
            if (in.n) p = ~p;
            uint32_t t = p & arrive;
            B.popc += uint32_t(__builtin_popcount(t));
            B.all = B.all && t == arrive;
            B.any = B.any || t != 0;
          }
          if (in.aux == kBarArrive) {
            eachLane(arrive, [&](uint32_t l) { w.lanePc[l] = next; });
          } else {
            w.barBlocked |= arrive;
            w.barMask[id] |= arrive;
            eachLane(arrive, [&](uint32_t l) { w.lanePc[l] = here; });
          }
          tryRelease(*w.wk, id);
        }
        eachLane(w.active & ~m, [&](uint32_t l) { w.lanePc[l] = next; });
        w.active = 0;
        if (!pickGroup(w)) return stopped(w);
        continue;
      }
      case Flow::Yielding: {
        w.yieldNow = false;
        if (m && in.fn(w, in, m) != MODNN_OK) return WarpRun::Fault;
        if (++w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
        if (w.yieldNow) return WarpRun::Yield;
        continue;
      }
      case Flow::WarpSync: {
        if (w.parked) {
          uint32_t joined = 0;
          eachLane(w.parked, [&](uint32_t l) { joined |= uint32_t(w.lanePc[l] == w.pc) << l; });
          if (joined) {
            w.parked &= ~joined;
            w.active |= joined;
            m = w.active;
            if (in.guard != kNoReg) {
              uint32_t p = P(w, in.guard);
              m &= in.guardNeg ? ~p : p;
            }
          }
        }
        uint32_t member = 0;
        const uint32_t* masks = R<uint32_t>(w, in.r[5]);
        eachLane(w.active, [&](uint32_t l) { member |= masks[l]; });
        uint32_t missing = member & w.alive & ~w.active;
        if (missing && !w.forceSync) {
          eachLane(w.active, [&](uint32_t l) { w.lanePc[l] = w.pc; });
          w.parked |= w.active;
          w.active = 0;
          if (!pickGroup(w)) return stopped(w);
          continue;
        }
        w.forceSync = false;
        if (m && in.fn(w, in, m) != MODNN_OK) return WarpRun::Fault;
        if (++w.pc >= w.nextWaitPc && !reschedule(w)) return stopped(w);
        continue;
      }
      default:
        fault(w, MODNN_ERR_LAUNCH_FAILURE, "bad instruction flow");
        return WarpRun::Fault;
    }
  }
}

// Clears barrier and call-stack state a failed block may leave behind.
void resetBlockState(Worker& wk) {
  for (auto& bar : wk.block.bars) bar = BarrierState{};
  for (Warp& w : wk.warps) {
    std::memset(w.depth, 0, sizeof w.depth);
    std::memset(w.barMask, 0, sizeof w.barMask);
  }
}

modnn_status runBlock(Worker& wk, uint64_t linear) {
  LaunchShared& L = *wk.L;
  Block& b = wk.block;
  b.linear = linear;
  b.ctaid[0] = uint32_t(linear % L.grid[0]);
  b.ctaid[1] = uint32_t((linear / L.grid[0]) % L.grid[1]);
  b.ctaid[2] = uint32_t(linear / (uint64_t(L.grid[0]) * L.grid[1]));
  b.aliveThreads = L.threadsPerBlock;
  for (auto& bar : b.bars)
    if (bar.arrived) bar = BarrierState{};
  const bool calls = L.prog->maxDepth > 0;
  uint32_t nw = L.warpsPerBlock;
  for (uint32_t i = 0; i < nw; ++i) {
    Warp& w = wk.warps[i];
    uint32_t lanes = std::min<uint32_t>(kLanes, L.threadsPerBlock - i * kLanes);
    uint32_t exists = lanes == kLanes ? kFullMask : (1u << lanes) - 1;
    w.pc = 0;
    w.alive = exists;
    w.active = exists;
    w.barBlocked = w.parked = w.released = 0;
    w.nextWaitPc = kNoPc;
    w.spin = 0;
    w.forceSync = w.starve = w.wholeAtBarrier = false;
    if (calls) std::memset(w.depth, 0, sizeof w.depth);
    for (const SpecialInit& s : wk.blockSpecials) {
      uint64_t v = specialValue(L, wk, s.kind, i, 0, &b);
      if (s.size == 4) {
        uint32_t* d = R<uint32_t>(w, s.offset);
        for (uint32_t l = 0; l < kLanes; ++l) d[l] = uint32_t(v);
      } else {
        uint64_t* d = R<uint64_t>(w, s.offset);
        for (uint32_t l = 0; l < kLanes; ++l) d[l] = v;
      }
    }
  }
  for (;;) {
    // Another block's fault ends the launch; stop this one too.
    if (int st = L.status.load(std::memory_order_relaxed); st != MODNN_OK) {
      resetBlockState(wk);
      return modnn_status(st);
    }
    bool progress = false, live = false;
    for (uint32_t i = 0; i < nw; ++i) {
      Warp& w = wk.warps[i];
      if (!w.alive) continue;
      live = true;
      if (!w.active && !pickGroup(w)) continue;
      progress = true;
      if (runWarp(w) == WarpRun::Fault) {
        resetBlockState(wk);
        int st = L.status.load();
        return st == MODNN_OK ? MODNN_ERR_LAUNCH_FAILURE : modnn_status(st);
      }
    }
    bool released = releaseAny(wk);
    if (!live) {
      uint64_t n = 0;
      for (uint32_t i = 0; i < nw; ++i) n += std::exchange(wk.warps[i].threadInstructions, 0);
      L.threadInstructions.fetch_add(n, std::memory_order_relaxed);
      return MODNN_OK;
    }
    if (!progress && !released) {
      bool anyAlive = false;
      for (uint32_t i = 0; i < nw; ++i) anyAlive |= wk.warps[i].alive != 0;
      if (!anyAlive) return MODNN_OK;
      Warp& w = wk.warps[0];
      resetBlockState(wk);
      return fault(w, MODNN_ERR_LAUNCH_FAILURE, "barrier deadlock: threads wait at a barrier no other thread reaches");
    }
  }
}

}  // namespace

modnn_status runLaunch(LaunchShared& L, std::vector<std::unique_ptr<Worker>>& workers, cpu::ThreadPool& pool) {
  int n = int(std::min<uint64_t>({uint64_t(pool.size()), uint64_t(workers.size()), L.totalBlocks - L.nextBlock.load()}));
  static const bool stats = std::getenv("MOAI_PTX_STATS") != nullptr;
  auto t0 = std::chrono::steady_clock::now();
  pool.run(n, [&](int i) {
    Worker& wk = *workers[size_t(i)];
    prepareWorker(wk, L, i);
    for (;;) {
      if (L.status.load(std::memory_order_relaxed) != MODNN_OK) break;
      uint64_t b = L.nextBlock.fetch_add(1, std::memory_order_relaxed);
      if (b >= L.totalBlocks) break;
      modnn_status st = runBlock(wk, b);
      if (!wk.printfBuf.empty()) {
        std::lock_guard<std::mutex> lock(L.outMu);
        L.printfOut.emplace_back(b, std::move(wk.printfBuf));
        wk.printfBuf.clear();
      }
      if (st != MODNN_OK) {
        L.fail(st, "block failed");
        break;
      }
    }
  });
  if (!L.printfOut.empty() && !L.quiet) {
    std::stable_sort(L.printfOut.begin(), L.printfOut.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [block, text] : L.printfOut) std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  if (stats) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "moai ptx stats: %llu thread-instructions in %.6f s on %d threads\n",
                 static_cast<unsigned long long>(L.threadInstructions.load()), s, n);
  }
  return modnn_status(L.status.load());
}

}  // namespace modnn::ptx
