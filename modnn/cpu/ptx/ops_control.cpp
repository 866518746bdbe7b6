// Control family: bra, brx.idx, ret, exit, call (to .func bodies and to the
// vprintf/__assertfail/malloc/free builtins), trap, barriers (bar,
// barrier, bar.red, bar.arrive) and no-op scheduling hints. The flow
// itself is carried out by the interpreter; selectors only encode it.
#include <cstdio>

#include "modnn/cpu/ptx/device_printf.h"
#include "modnn/cpu/ptx/ops_common.h"
#include "modnn/cpu/ptx/ptx_builder.h"

namespace modnn::ptx {
namespace {

bool selBra(DecodeCtx& c) {
  c.spec.take("uni");
  if (!c.want(1) || c.op(0).kind != OpKind::Sym) return c.fail("bra needs a label");
  Inst in = c.make(nullptr);
  in.flow = Flow::Branch;
  c.emit(in);
  return c.branchTo(c.op(0).name);
}

bool selBrx(DecodeCtx& c) {
  c.spec.take("uni");
  if (!c.spec.take("idx")) return c.fail("brx needs .idx");
  if (!c.want(2) || c.op(1).kind != OpKind::Sym) return c.fail("brx.idx needs an index and a target list");
  auto tbl = c.fn.branchTables.find(c.op(1).name);
  if (tbl == c.fn.branchTables.end()) return c.fail("unknown .branchtargets " + c.op(1).name);
  Inst in = c.make(nullptr);
  in.flow = Flow::BranchIdx;
  if (!c.src(0, Ty::U32, in.r[0])) return false;
  auto* pcs = c.own(std::vector<uint32_t>(tbl->second.size(), 0));
  for (size_t i = 0; i < tbl->second.size(); ++i) {
    auto it = c.fn.labels.find(tbl->second[i]);
    if (it == c.fn.labels.end()) return c.fail("unknown label " + tbl->second[i]);
    c.fs.tableFixups.emplace_back(&(*pcs)[i], it->second);
  }
  in.ext = pcs;
  in.n = uint32_t(pcs->size());
  c.emit(in);
  return true;
}

bool selRet(DecodeCtx& c) {
  c.spec.take("uni");
  Inst in = c.make(nullptr);
  in.flow = c.fn.isEntry ? Flow::Exit : Flow::Ret;
  c.emit(in);
  return true;
}

bool selExit(DecodeCtx& c) {
  Inst in = c.make(nullptr);
  in.flow = Flow::Exit;
  c.emit(in);
  return true;
}

modnn_status hTrap(Warp& w, const Inst&, uint32_t) {
  return fault(w, MODNN_ERR_LAUNCH_FAILURE, "trap instruction");
}
modnn_status hNoop(Warp&, const Inst&, uint32_t) { return MODNN_OK; }

// nanosleep: backs off a spinning warp so the others can make progress.
modnn_status hSleep(Warp& w, const Inst&, uint32_t) {
  w.yieldNow = true;
  return MODNN_OK;
}

bool selTrap(DecodeCtx& c) {
  c.emit(c.make(&hTrap));
  return true;
}

bool selHintNoop(DecodeCtx& c) {
  for (auto& m : c.spec.mods) c.spec.take(m);
  if (c.spec.base == "griddepcontrol" && !c.spec.has("wait") && !c.spec.has("launch_dependents"))
    return c.fail("unknown griddepcontrol form");
  c.emit(c.make(&hNoop));
  return true;
}

bool selNanosleep(DecodeCtx& c) {
  for (auto& m : c.spec.mods) c.spec.take(m);
  Inst in = c.make(&hSleep);
  in.flow = Flow::Yielding;
  c.emit(in);
  return true;
}

// ---------------------------------------------------------------- barriers

bool selBar(DecodeCtx& c) {
  if (c.spec.has("warp")) return selBarWarpSync(c);
  c.spec.take("cta");
  c.spec.take("aligned");
  int kind = c.spec.takeOne({"sync", "arrive", "red"});
  if (kind < 0) {
    if (c.spec.base == "bar" && c.spec.mods.empty()) kind = 0;  // plain `bar` is bar.sync
    else return c.fail("unknown barrier form");
  }
  Inst in = c.make(nullptr);
  in.flow = Flow::Barrier;
  size_t first = 0;
  if (kind == 2) {
    int op = c.spec.takeOne({"popc", "and", "or"});
    if (op < 0) return c.fail("bar.red needs .popc/.and/.or");
    in.aux = op == 0 ? kBarRedPopc : op == 1 ? kBarRedAnd : kBarRedOr;
    if (op == 0) {
      if (!c.reg(0, Ty::U32, in.r[3])) return false;
    } else if (!c.reg(0, Ty::Pred, in.r[3])) {
      return false;
    }
    first = 1;
    size_t n = c.count() - first;
    if (n != 2 && n != 3) return c.fail("bar.red operands");
    bool neg;
    if (!c.pred(c.count() - 1, in.r[2], neg)) return false;
    in.n = neg;
    if (!c.src(first, Ty::U32, in.r[0])) return false;
    if (n == 3 && !c.src(first + 1, Ty::U32, in.r[1])) return false;
  } else {
    in.aux = kind == 0 ? kBarSync : kBarArrive;
    if (c.count() < 1 || c.count() > 2) return c.fail("barrier operands");
    if (!c.src(0, Ty::U32, in.r[0])) return false;
    if (c.count() == 2 && !c.src(1, Ty::U32, in.r[1])) return false;
  }
  c.emit(in);
  return true;
}

// ---------------------------------------------------------------- calls

// Builtin calls: private offsets of the call-sequence parameters.
struct BuiltinCall {
  uint32_t args[5] = {0, 0, 0, 0, 0};
  uint32_t nargs = 0;
  uint32_t ret = kNoReg;
};

template <class T>
T argOf(Warp& w, uint32_t lane, uint32_t off) {
  T v;
  std::memcpy(&v, w.priv + size_t(lane) * w.privStride + off, sizeof v);
  return v;
}
template <class T>
void setRet(Warp& w, uint32_t lane, uint32_t off, T v) {
  std::memcpy(w.priv + size_t(lane) * w.privStride + off, &v, sizeof v);
}

modnn_status hVprintf(Warp& w, const Inst& in, uint32_t m) {
  auto* bc = static_cast<const BuiltinCall*>(in.ext);
  modnn_status st = MODNN_OK;
  eachLane(m, [&](uint32_t l) {
    if (st != MODNN_OK) return;
    uint64_t fmt = argOf<uint64_t>(w, l, bc->args[0]);
    uint64_t args = argOf<uint64_t>(w, l, bc->args[1]);
    int n = formatDevicePrintf(w, l, fmt, args, w.wk->printfBuf);
    if (n < 0) {
      st = faultStatus(w);
      return;
    }
    if (bc->ret != kNoReg) setRet<int32_t>(w, l, bc->ret, n);
  });
  return st;
}

void threadCoords(const Warp& w, uint32_t lane, uint32_t t[3]) {
  uint32_t linear = w.index * kLanes + lane;
  t[0] = linear % w.L->block[0];
  t[1] = (linear / w.L->block[0]) % w.L->block[1];
  t[2] = linear / (w.L->block[0] * w.L->block[1]);
}

// __assertfail(message, file, line, function, charSize)
modnn_status hAssertFail(Warp& w, const Inst& in, uint32_t m) {
  auto* bc = static_cast<const BuiltinCall*>(in.ext);
  std::string text;
  eachLane(m, [&](uint32_t l) {
    std::string msg, file, func;
    readString(w, l, argOf<uint64_t>(w, l, bc->args[0]), msg, 4096);
    readString(w, l, argOf<uint64_t>(w, l, bc->args[1]), file, 4096);
    uint32_t line = argOf<uint32_t>(w, l, bc->args[2]);
    readString(w, l, argOf<uint64_t>(w, l, bc->args[3]), func, 4096);
    uint32_t t[3];
    threadCoords(w, l, t);
    char head[256];
    std::snprintf(head, sizeof head, ":%u: %s: block: [%u,%u,%u], thread: [%u,%u,%u] Assertion `", line,
                  func.c_str(), w.blk->ctaid[0], w.blk->ctaid[1], w.blk->ctaid[2], t[0], t[1], t[2]);
    text += file + head + msg + "` failed.\n";
  });
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
  return fault(w, MODNN_ERR_ASSERT, "device-side assertion failed");
}

modnn_status hMalloc(Warp& w, const Inst& in, uint32_t m) {
  auto* bc = static_cast<const BuiltinCall*>(in.ext);
  eachLane(m, [&](uint32_t l) {
    uint64_t size = argOf<uint64_t>(w, l, bc->args[0]);
    uint64_t p = w.L->heap ? w.L->heap->allocate(size) : 0;
    if (bc->ret != kNoReg) setRet<uint64_t>(w, l, bc->ret, p);
  });
  return MODNN_OK;
}

modnn_status hFree(Warp& w, const Inst& in, uint32_t m) {
  auto* bc = static_cast<const BuiltinCall*>(in.ext);
  eachLane(m, [&](uint32_t l) {
    uint64_t p = argOf<uint64_t>(w, l, bc->args[0]);
    if (p && w.L->heap) w.L->heap->release(p);
  });
  return MODNN_OK;
}

// Copies the callee's return values into the caller's retval variables.
modnn_status hCallReturn(Warp& w, const Inst& in, uint32_t m) {
  auto* ci = static_cast<const CallInfo*>(in.ext);
  eachLane(m, [&](uint32_t l) {
    uint8_t* base = w.priv + size_t(l) * w.privStride;
    for (const ParamCopy& pc : ci->rets) std::memmove(base + pc.to, base + pc.from, pc.size);
  });
  return MODNN_OK;
}

// Private offset and size of a call-sequence parameter operand.
bool paramSlot(DecodeCtx& c, const Operand& o, uint32_t& off, uint32_t& size) {
  if (o.kind != OpKind::Sym || o.symKind != SymKind::BodyVar) {
    if (o.kind == OpKind::Sym && (o.symKind == SymKind::Param || o.symKind == SymKind::RetParam) && !c.fn.isEntry) {
      // Forwarding the caller's own parameter.
      const ParamDecl& p = o.symKind == SymKind::Param ? c.fn.params[size_t(o.symId)] : c.fn.rets[size_t(o.symId)];
      off = o.symKind == SymKind::Param ? c.fs.paramPriv[size_t(o.symId)] : c.fs.retPriv[size_t(o.symId)];
      size = p.size;
      return true;
    }
    return c.fail("call arguments must be .param variables");
  }
  const VarDecl& v = c.fn.vars[size_t(o.symId)];
  if (v.space != Space::Param) return c.fail("call argument " + v.name + " is not a .param variable");
  off = uint32_t(c.fs.varOff[size_t(o.symId)]);
  size = uint32_t(v.size);
  return true;
}

// Copies the return values of whichever target each lane called.
modnn_status hIndirectReturn(Warp& w, const Inst& in, uint32_t m) {
  auto* ic = static_cast<const IndirectCall*>(in.ext);
  eachLane(m, [&](uint32_t l) {
    uint32_t slot = w.retSlot[l];
    if (slot >= ic->targets.size()) return;
    uint8_t* base = w.priv + size_t(l) * w.privStride;
    for (const ParamCopy& pc : ic->targets[slot].info.rets) std::memmove(base + pc.to, base + pc.from, pc.size);
  });
  return MODNN_OK;
}

bool emitIndirectCall(DecodeCtx& c, const Operand& target, const std::vector<std::pair<uint32_t, uint32_t>>& argSlots,
                      const std::vector<std::pair<uint32_t, uint32_t>>& retSlots) {
  IndirectCall ic;
  for (const Function* callee : c.pb.addressTaken) {
    if (callee->params.size() != argSlots.size() || callee->rets.size() != retSlots.size()) continue;
    auto st = c.pb.states.find(callee);
    if (st == c.pb.states.end()) continue;
    IndirectCall::Target t;
    t.funcIndex = c.pb.funcIndex.at(callee->name);
    for (size_t k = 0; k < argSlots.size(); ++k)
      t.info.args.push_back(ParamCopy{argSlots[k].first, st->second.paramPriv[k],
                                      std::min<uint32_t>(argSlots[k].second, callee->params[k].size)});
    for (size_t k = 0; k < retSlots.size(); ++k)
      t.info.rets.push_back(ParamCopy{st->second.retPriv[k], retSlots[k].first,
                                      std::min<uint32_t>(retSlots[k].second, callee->rets[k].size)});
    ic.targets.push_back(std::move(t));
  }
  if (ic.targets.size() > 255) return c.fail("too many possible indirect call targets");
  auto* owned = c.own(std::move(ic));
  size_t k = 0;
  for (const Function* callee : c.pb.addressTaken) {
    if (k < owned->targets.size() && owned->targets[k].funcIndex == c.pb.funcIndex.at(callee->name))
      c.pb.entryFixups.emplace_back(&owned->targets[k++].info.target, callee);
  }
  Inst call = c.make(nullptr);
  call.flow = Flow::CallIndirect;
  call.ext = owned;
  if (!c.reg(target, Ty::U64, call.r[0])) return false;
  c.emit(call);
  Inst land = c.make(&hIndirectReturn);
  land.guard = kNoReg;
  land.ext = owned;
  c.emit(land);
  return true;
}

bool selCall(DecodeCtx& c) {
  c.spec.take("uni");
  size_t i = 0;
  const Operand* rets = nullptr;
  const Operand* args = nullptr;
  if (i < c.count() && c.op(i).kind == OpKind::Vec && c.op(i).paren) rets = &c.op(i++);
  if (i >= c.count()) return c.fail("call needs a target");
  const Operand& target = c.op(i++);
  if (i < c.count() && c.op(i).kind == OpKind::Vec && c.op(i).paren) args = &c.op(i++);
  bool indirect = target.kind == OpKind::Reg;
  if (!indirect && target.kind != OpKind::Sym) return c.fail("bad call target");
  if (i < c.count() && !(indirect && i + 1 == c.count() && c.op(i).kind == OpKind::Sym))
    return c.fail("unexpected call operands");
  std::vector<std::pair<uint32_t, uint32_t>> argSlots, retSlots;  // (offset, size)
  if (args)
    for (const Operand& a : args->elems) {
      uint32_t off, size;
      if (!paramSlot(c, a, off, size)) return false;
      argSlots.emplace_back(off, size);
    }
  if (rets)
    for (const Operand& r : rets->elems) {
      uint32_t off, size;
      if (!paramSlot(c, r, off, size)) return false;
      retSlots.emplace_back(off, size);
    }

  if (indirect) return emitIndirectCall(c, target, argSlots, retSlots);
  auto fit = c.pb.funcs.find(target.name);
  const Function* callee = fit != c.pb.funcs.end() ? fit->second : nullptr;
  if (callee && callee->hasBody) {
    if (callee->params.size() != argSlots.size() || callee->rets.size() != retSlots.size())
      return c.fail("call to " + target.name + " has the wrong number of arguments");
    const FuncState& cs = c.pb.states.at(callee);
    CallInfo info;
    for (size_t k = 0; k < argSlots.size(); ++k)
      info.args.push_back(ParamCopy{argSlots[k].first, cs.paramPriv[k],
                                    std::min<uint32_t>(argSlots[k].second, callee->params[k].size)});
    for (size_t k = 0; k < retSlots.size(); ++k)
      info.rets.push_back(ParamCopy{cs.retPriv[k], retSlots[k].first,
                                    std::min<uint32_t>(retSlots[k].second, callee->rets[k].size)});
    const CallInfo* ci = c.own(std::move(info));
    Inst call = c.make(nullptr);
    call.flow = Flow::Call;
    call.ext = ci;
    c.pb.callFixups.emplace_back(uint32_t(c.pb.prog.code.size()), callee);
    c.emit(call);
    Inst land = c.make(&hCallReturn);
    land.guard = kNoReg;  // only lanes that made the call arrive here
    land.ext = ci;
    c.emit(land);
    return true;
  }

  BuiltinCall bc;
  bc.nargs = uint32_t(argSlots.size());
  for (size_t k = 0; k < argSlots.size() && k < 5; ++k) bc.args[k] = argSlots[k].first;
  if (!retSlots.empty()) bc.ret = retSlots[0].first;
  Handler h = nullptr;
  const std::string& name = target.name;
  if (name == "vprintf" && bc.nargs == 2) h = &hVprintf;
  else if (name == "__assertfail" && bc.nargs == 5) h = &hAssertFail;
  else if (name == "malloc" && bc.nargs == 1) {
    h = &hMalloc;
    c.pb.prog.usesMalloc = true;
  }
  else if (name == "free" && bc.nargs == 1) h = &hFree;
  if (!h) return c.fail("call to external function " + name + " is not supported");
  Inst in = c.make(h);
  in.ext = c.own(bc);
  c.emit(in);
  return true;
}

}  // namespace

void registerControlOps(SelectorTable& t) {
  t["bra"] = selBra;
  t["brx"] = selBrx;
  t["ret"] = selRet;
  t["exit"] = selExit;
  t["trap"] = selTrap;
  t["brkpt"] = selTrap;
  t["nanosleep"] = selNanosleep;
  // Launches run one after another to completion, so a dependent grid's
  // wait is always satisfied and the trigger has nothing to release.
  t["griddepcontrol"] = selHintNoop;
  t["setmaxnreg"] = selHintNoop;
  t["pmevent"] = selHintNoop;
  t["bar"] = selBar;
  t["barrier"] = selBar;
  t["call"] = selCall;
}

}  // namespace modnn::ptx
