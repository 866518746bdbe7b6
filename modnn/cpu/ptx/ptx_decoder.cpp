// PTX -> IR: reachability, layout (registers, lane-private memory, shared
// memory), operand resolution and per-instruction handler selection through
// the family selector tables.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <set>

#include "modnn/cpu/ptx/float_bits.h"
#include "modnn/cpu/ptx/ptx_builder.h"
#include "modnn/cpu/ptx/ptx_decode_ctx.h"

namespace modnn::ptx {
namespace {

uint64_t alignUp(uint64_t v, uint64_t a) { return a <= 1 ? v : (v + a - 1) / a * a; }

const SelectorTable& selectors() {
  static const SelectorTable table = [] {
    SelectorTable t;
    registerIntOps(t);
    registerFloatOps(t);
    registerHalfOps(t);
    registerConvertOps(t);
    registerCompareOps(t);
    registerMemoryOps(t);
    registerAtomicOps(t);
    registerWarpOps(t);
    registerControlOps(t);
    registerMbarrierOps(t);
    return t;
  }();
  return table;
}

// Families register "base:i" (integer), "base:f" (f32/f64), "base:h"
// (f16/bf16 and their x2 forms) or plain "base" for every type.
std::string typeClassKey(Ty t) {
  switch (t) {
    case Ty::F16: case Ty::F16x2: case Ty::BF16: case Ty::BF16x2: return "h";
    case Ty::F32: case Ty::F64: case Ty::TF32: return "f";
    case Ty::None: return "";
    default: return isInt(t) ? "i" : "";
  }
}

}  // namespace

// ------------------------------------------------------------------ OpSpec

OpSpec OpSpec::parse(std::string_view opcode) {
  OpSpec s;
  size_t dot = opcode.find('.');
  s.base = std::string(opcode.substr(0, dot));
  while (dot != std::string_view::npos) {
    size_t next = opcode.find('.', dot + 1);
    std::string_view part = opcode.substr(dot + 1, next == std::string_view::npos ? next : next - dot - 1);
    Ty t = parseTy(part);
    if (t != Ty::None) {
      s.types.push_back(t);
    } else {
      s.mods.emplace_back(part);
      s.used.push_back(0);
    }
    dot = next;
  }
  return s;
}

bool OpSpec::has(std::string_view m) const {
  return std::find(mods.begin(), mods.end(), m) != mods.end();
}

bool OpSpec::take(std::string_view m) {
  bool found = false;
  for (size_t i = 0; i < mods.size(); ++i)
    if (mods[i] == m) {
      used[i] = 1;
      found = true;
    }
  return found;
}

int OpSpec::takeOne(std::initializer_list<std::string_view> options) {
  int idx = 0;
  for (std::string_view o : options) {
    if (take(o)) return idx;
    ++idx;
  }
  return -1;
}

std::string OpSpec::leftover() const {
  for (size_t i = 0; i < mods.size(); ++i)
    if (!used[i]) return mods[i];
  return {};
}

// ------------------------------------------------------------------ builder

uint32_t ProgramBuilder::allocReg(uint32_t laneBytes) {
  uint32_t bytes = laneBytes == 0 ? 4 : laneBytes * kLanes;
  uint32_t align = std::min<uint32_t>(bytes, 64);
  prog.regBytes = uint32_t(alignUp(prog.regBytes, align));
  uint32_t off = prog.regBytes;
  prog.regBytes += bytes;
  return off;
}

uint32_t ProgramBuilder::allocPriv(uint32_t size, uint32_t align) {
  prog.privBytes = uint32_t(alignUp(prog.privBytes, std::max<uint32_t>(align, 1)));
  uint32_t off = prog.privBytes;
  prog.privBytes += std::max<uint32_t>(size, 1);
  return off;
}

uint32_t ProgramBuilder::constant(uint64_t value, uint32_t size, int symbol) {
  if (size < 8 && symbol < 0) value &= (uint64_t(1) << (8 * size)) - 1;
  auto key = std::make_tuple(size, value, symbol);
  auto it = consts.find(key);
  if (it != consts.end()) return it->second;
  uint32_t off = allocReg(size);
  prog.consts.push_back(ConstInit{off, size, symbol, value});
  consts.emplace(key, off);
  return off;
}

uint32_t ProgramBuilder::special(SpecialKind k, uint32_t size) {
  auto key = std::make_pair(k, size);
  auto it = specials.find(key);
  if (it != specials.end()) return it->second;
  uint32_t off = allocReg(size);
  prog.specials.push_back(SpecialInit{off, size, k});
  specials.emplace(key, off);
  return off;
}

int ProgramBuilder::symbol(const std::string& name) {
  auto it = symbolIndex.find(name);
  if (it != symbolIndex.end()) return it->second;
  int idx = int(prog.symbols.size());
  prog.symbols.push_back(name);
  symbolIndex.emplace(name, idx);
  return idx;
}

// ------------------------------------------------------------------ DecodeCtx

DecodeCtx::DecodeCtx(ProgramBuilder& b, const Module& m, const Function& f, FuncState& s, const Instr& i)
    : pb(b), mod(m), fn(f), fs(s), ins(i), spec(OpSpec::parse(i.opcode)) {}

bool DecodeCtx::fail(const std::string& reason) {
  if (why.empty()) why = reason;
  return false;
}

bool DecodeCtx::want(size_t n) {
  if (ins.ops.size() != n) return fail("expected " + std::to_string(n) + " operands");
  return true;
}

uint32_t DecodeCtx::regSizeOf(const Operand& o) const {
  if (o.kind != OpKind::Reg) return 0;
  return tySize(fn.regs[size_t(o.reg)].ty);
}

Ty DecodeCtx::regTyOf(const Operand& o) const {
  if (o.kind != OpKind::Reg) return Ty::None;
  return fn.regs[size_t(o.reg)].ty;
}

bool DecodeCtx::reg(const Operand& o, Ty ty, uint32_t& off, bool wider) {
  if (o.kind != OpKind::Reg) return fail("expected a register operand");
  Ty rt = fn.regs[size_t(o.reg)].ty;
  bool isPred = rt == Ty::Pred;
  if ((ty == Ty::Pred) != isPred) return fail("predicate/register mismatch for " + fn.regs[size_t(o.reg)].name);
  if (!isPred) {
    uint32_t have = tySize(rt), need = tySize(ty);
    if (have != need && !(wider && have > need))
      return fail("register " + fn.regs[size_t(o.reg)].name + " is ." + std::string(tyName(rt)) + ", instruction wants ." +
                  std::string(tyName(ty)));
  }
  off = fs.regOff[size_t(o.reg)];
  return true;
}

bool DecodeCtx::reg(size_t i, Ty ty, uint32_t& off, bool wider) {
  if (i >= ins.ops.size()) return fail("missing operand");
  return reg(ins.ops[i], ty, off, wider);
}

namespace {

bool specialKind(std::string_view n, SpecialKind& k) {
  static const std::map<std::string, SpecialKind, std::less<>> names = {
      {"%tid.x", SpecialKind::TidX},           {"%tid.y", SpecialKind::TidY},
      {"%tid.z", SpecialKind::TidZ},           {"%ntid.x", SpecialKind::NtidX},
      {"%ntid.y", SpecialKind::NtidY},         {"%ntid.z", SpecialKind::NtidZ},
      {"%ctaid.x", SpecialKind::CtaidX},       {"%ctaid.y", SpecialKind::CtaidY},
      {"%ctaid.z", SpecialKind::CtaidZ},       {"%nctaid.x", SpecialKind::NctaidX},
      {"%nctaid.y", SpecialKind::NctaidY},     {"%nctaid.z", SpecialKind::NctaidZ},
      {"%laneid", SpecialKind::LaneId},        {"%warpid", SpecialKind::WarpId},
      {"%nwarpid", SpecialKind::NWarpId},      {"%smid", SpecialKind::SmId},
      {"%nsmid", SpecialKind::NSmId},          {"%gridid", SpecialKind::GridId},
      {"%lanemask_eq", SpecialKind::LaneMaskEq}, {"%lanemask_le", SpecialKind::LaneMaskLe},
      {"%lanemask_lt", SpecialKind::LaneMaskLt}, {"%lanemask_ge", SpecialKind::LaneMaskGe},
      {"%lanemask_gt", SpecialKind::LaneMaskGt}, {"%dynamic_smem_size", SpecialKind::DynSmem},
      {"%total_smem_size", SpecialKind::TotalSmem}, {"%aggr_smem_size", SpecialKind::TotalSmem},
      // A launch is its own one-block cluster; clusters are 1x1x1.
      {"%clusterid.x", SpecialKind::CtaidX},   {"%clusterid.y", SpecialKind::CtaidY},
      {"%clusterid.z", SpecialKind::CtaidZ},   {"%nclusterid.x", SpecialKind::NctaidX},
      {"%nclusterid.y", SpecialKind::NctaidY}, {"%nclusterid.z", SpecialKind::NctaidZ},
      {"%cluster_ctaid.x", SpecialKind::Zero}, {"%cluster_ctaid.y", SpecialKind::Zero},
      {"%cluster_ctaid.z", SpecialKind::Zero}, {"%cluster_nctaid.x", SpecialKind::One},
      {"%cluster_nctaid.y", SpecialKind::One}, {"%cluster_nctaid.z", SpecialKind::One},
      {"%cluster_ctarank", SpecialKind::Zero}, {"%cluster_nctarank", SpecialKind::One},
      {"%is_explicit_cluster", SpecialKind::Zero},
  };
  auto it = names.find(n);
  if (it != names.end()) {
    k = it->second;
    return true;
  }
  if (n.rfind("%envreg", 0) == 0 || n.rfind("%pm", 0) == 0 || n.rfind("%reserved_smem", 0) == 0) {
    k = SpecialKind::Zero;
    return true;
  }
  return false;
}

// Immediate bits for an operand of type `ty`.
bool immediateBits(const Operand& o, Ty ty, uint64_t& bits) {
  uint32_t size = tySize(ty);
  if (o.kind == OpKind::Int) {
    if (ty == Ty::F32) {
      float f = float(int64_t(o.ival));
      uint32_t b;
      std::memcpy(&b, &f, 4);
      bits = b;
    } else if (ty == Ty::F64) {
      double d = double(int64_t(o.ival));
      std::memcpy(&bits, &d, 8);
    } else if (ty == Ty::Pred) {
      bits = o.ival ? kFullMask : 0;
    } else {
      bits = o.ival;
    }
    return true;
  }
  if (o.kind == OpKind::Float) {
    double d;
    if (o.hexFloat && o.fwidth == 32) {
      float f;
      uint32_t b = uint32_t(o.fbits);
      std::memcpy(&f, &b, 4);
      d = f;
    } else if (o.hexFloat) {
      std::memcpy(&d, &o.fbits, 8);
    } else {
      d = o.fval;
    }
    if (ty == Ty::F32) {
      if (o.hexFloat && o.fwidth == 32) {
        bits = o.fbits;
      } else {
        float f = float(d);
        uint32_t b;
        std::memcpy(&b, &f, 4);
        bits = b;
      }
    } else if (ty == Ty::F64) {
      std::memcpy(&bits, &d, 8);
    } else if (ty == Ty::F16) {
      bits = floatToHalfBits(d, Round::Nearest);
    } else if (ty == Ty::BF16) {
      bits = floatToBf16Bits(d, Round::Nearest);
    } else if (o.hexFloat && size * 8 == o.fwidth) {
      bits = o.fbits;
    } else {
      return false;
    }
    return true;
  }
  return false;
}

}  // namespace

bool DecodeCtx::src(const Operand& o, Ty ty, uint32_t& off, bool wider) {
  uint32_t size = ty == Ty::Pred ? 4 : tySize(ty);
  switch (o.kind) {
    case OpKind::Reg:
      if (o.neg && ty != Ty::Pred) return fail("'!' on a non-predicate operand");
      return reg(o, ty, off, wider);
    case OpKind::Int:
    case OpKind::Float: {
      uint64_t bits;
      if (!immediateBits(o, ty, bits)) return fail("immediate does not fit ." + std::string(tyName(ty)));
      if (ty == Ty::Pred) {
        off = pb.constant(o.neg ? ~bits & kFullMask : bits, 4);
        return true;
      }
      off = pb.constant(bits, size);
      return true;
    }
    case OpKind::Special: {
      SpecialKind k;
      if (!specialKind(o.name, k)) return fail("special register " + o.name + " is only readable with mov");
      if (size != 4 && size != 8) return fail("special register read as ." + std::string(tyName(ty)));
      off = pb.special(k, size);
      return true;
    }
    case OpKind::Sym: {
      uint64_t value;
      int symbol;
      Space where;
      if (!symbolValue(o, value, symbol, where)) return false;
      if (size != 4 && size != 8) return fail("address of " + o.name + " as ." + std::string(tyName(ty)));
      off = pb.constant(value, size, symbol);
      return true;
    }
    default:
      return fail("unexpected operand form");
  }
}

bool DecodeCtx::src(size_t i, Ty ty, uint32_t& off, bool wider) {
  if (i >= ins.ops.size()) return fail("missing operand");
  return src(ins.ops[i], ty, off, wider);
}

bool DecodeCtx::pred(size_t i, uint32_t& off, bool& neg) {
  if (i >= ins.ops.size()) return fail("missing operand");
  const Operand& o = ins.ops[i];
  neg = o.neg;
  if (o.kind == OpKind::Int) {
    off = pb.constant((o.ival != 0) != o.neg ? kFullMask : 0, 4);
    neg = false;
    return true;
  }
  return reg(o, Ty::Pred, off);
}

// The value a symbol has as an operand: global/const variables their
// generic address (via a module symbol), shared variables their shared
// offset, local variables and .func parameters their lane-private offset,
// kernel parameters their offset in the parameter buffer.
bool DecodeCtx::symbolValue(const Operand& o, uint64_t& value, int& symbol, Space& where) {
  symbol = -1;
  value = 0;
  int64_t add = o.offset;
  switch (o.symKind) {
    case SymKind::BodyVar: {
      const VarDecl& v = fn.vars[size_t(o.symId)];
      int64_t base = fs.varOff[size_t(o.symId)];
      where = v.space;
      if (v.space == Space::Global || v.space == Space::Const) {
        symbol = pb.symbol(v.name);
        value = uint64_t(add);
        return true;
      }
      value = uint64_t(base + add);
      if (v.space == Space::Param) where = Space::Local;
      return true;
    }
    case SymKind::Param:
      if (fn.isEntry) {
        where = Space::Param;
        value = uint64_t(int64_t(pb.prog.params[size_t(o.symId)].offset) + add);
      } else {
        where = Space::Local;
        value = uint64_t(int64_t(fs.paramPriv[size_t(o.symId)]) + add);
      }
      return true;
    case SymKind::RetParam:
      where = Space::Local;
      value = uint64_t(int64_t(fs.retPriv[size_t(o.symId)]) + add);
      return true;
    case SymKind::Module:
      break;
  }
  auto g = pb.globals.find(o.name);
  if (g != pb.globals.end()) {
    const VarDecl& v = *g->second;
    where = v.space;
    if (v.space == Space::Shared) {
      value = uint64_t(int64_t(pb.sharedOff.at(v.name)) + add);
    } else if (v.space == Space::Local) {
      value = uint64_t(int64_t(pb.localOff.at(v.name)) + add);
    } else {
      symbol = pb.symbol(v.name);
      value = uint64_t(add);
    }
    return true;
  }
  auto fi = pb.funcIndex.find(o.name);
  if (fi != pb.funcIndex.end()) {
    where = Space::Global;
    value = kFunctionWindow + 16ull * fi->second + uint64_t(add);
    return true;
  }
  return fail("unknown symbol " + o.name);
}

bool DecodeCtx::addr(size_t i, Space space, AddrRef& a) {
  if (i >= ins.ops.size() || ins.ops[i].kind != OpKind::Addr) return fail("expected an address operand");
  const Operand& o = ins.ops[i];
  a = AddrRef{};
  a.imm = o.offset;
  if (o.addrHasReg) {
    uint32_t sz = tySize(fn.regs[size_t(o.reg)].ty);
    if (sz != 4 && sz != 8) return fail("address register must be 32 or 64 bits");
    a.reg = fs.regOff[size_t(o.reg)];
    a.regSize = sz;
    return true;
  }
  if (!o.addrHasSym) {
    a.reg = zeroReg();
    return true;
  }
  Operand s = o;
  s.kind = OpKind::Sym;
  s.offset = o.offset;
  uint64_t value;
  int symbol;
  Space where;
  if (!symbolValue(s, value, symbol, where)) return false;
  a.symSpace = where;
  if (symbol >= 0) {
    a.reg = pb.constant(0, 8, symbol);
    a.imm = int64_t(value);
    return true;
  }
  a.reg = zeroReg();
  a.imm = int64_t(value);
  if (where == Space::Param) {
    a.kernelParam = true;
  } else if (where == Space::Local) {
    a.priv = true;
  }
  // A shared or local variable named in a generic access means its generic address.
  if (space == Space::Generic && where == Space::Shared) a.imm += int64_t(kSharedWindow);
  if (space == Space::Generic && where == Space::Local) {
    a.imm += int64_t(kLocalWindow);
    a.priv = false;
  }
  return true;
}

uint32_t DecodeCtx::constant(uint64_t value, uint32_t size) { return pb.constant(value, size); }
uint32_t DecodeCtx::zeroReg() { return pb.constant(0, 8); }
uint32_t DecodeCtx::newSlot() { return pb.slots++; }
uint32_t DecodeCtx::carryReg() {
  if (pb.carry == kNoReg) pb.carry = pb.allocReg(4);
  return pb.carry;
}

Inst DecodeCtx::make(Handler h) const {
  Inst in;
  in.fn = h;
  in.line = ins.line;
  if (ins.guard >= 0) {
    in.guard = fs.regOff[size_t(ins.guard)];
    in.guardNeg = ins.guardNeg;
  }
  return in;
}

void DecodeCtx::emit(const Inst& in) { pb.prog.code.push_back(in); }

void DecodeCtx::keep(std::shared_ptr<void> p) { pb.prog.owned.push_back(std::move(p)); }

bool DecodeCtx::branchTo(const std::string& label) {
  auto it = fn.labels.find(label);
  if (it == fn.labels.end()) return fail("unknown label " + label);
  fs.branchFixups.emplace_back(uint32_t(pb.prog.code.size() - 1), it->second);
  return true;
}

// ------------------------------------------------------------------ program

namespace {

// Direct callees named by call instructions; `indirect` is set when the
// function also calls through a pointer.
std::vector<std::string> calleesOf(const Function& f, bool& indirect) {
  std::vector<std::string> out;
  indirect = false;
  for (const Instr& in : f.code) {
    if (in.opcode.rfind("call", 0) != 0) continue;
    for (const Operand& o : in.ops) {
      if (o.kind == OpKind::Vec) continue;
      if (o.kind == OpKind::Sym) out.push_back(o.name);
      else indirect = true;
      break;
    }
  }
  return out;
}

// Functions whose address the module takes: in initialisers, or as an
// operand other than a direct call target.
std::vector<std::string> addressTakenFunctions(const Module& mod, const std::map<std::string, const Function*, std::less<>>& funcs) {
  std::set<std::string> names;
  for (const VarDecl& v : mod.globals)
    for (const InitReloc& r : v.relocs)
      if (funcs.count(r.symbol)) names.insert(r.symbol);
  std::function<void(const Operand&)> visit = [&](const Operand& o) {
    if ((o.kind == OpKind::Sym || (o.kind == OpKind::Addr && o.addrHasSym)) && funcs.count(o.name)) names.insert(o.name);
    for (const Operand& e : o.elems) visit(e);
  };
  for (const Function& f : mod.funcs)
    for (const Instr& in : f.code) {
      bool isCall = in.opcode.rfind("call", 0) == 0;
      bool skippedTarget = false;
      for (const Operand& o : in.ops) {
        if (isCall && !skippedTarget && o.kind != OpKind::Vec) {
          skippedTarget = true;
          continue;
        }
        visit(o);
      }
    }
  return {names.begin(), names.end()};
}

void collectSharedRefs(const Function& f, const std::function<void(const std::string&)>& use) {
  std::function<void(const Operand&)> visit = [&](const Operand& o) {
    if ((o.kind == OpKind::Sym || (o.kind == OpKind::Addr && o.addrHasSym)) && o.symKind == SymKind::Module)
      use(o.name);
    for (const Operand& e : o.elems) visit(e);
  };
  for (const Instr& in : f.code)
    for (const Operand& o : in.ops) visit(o);
}

}  // namespace

void buildProgram(const Module& mod, const Function& entry, Program& prog) {
  prog = Program{};
  prog.name = entry.name;
  std::copy(entry.maxntid, entry.maxntid + 3, prog.maxntid);
  std::copy(entry.reqntid, entry.reqntid + 3, prog.reqntid);
  if (entry.clusterCtas > 1) {
    prog.unsupported = "thread block clusters of more than one block are not supported";
    return;
  }
  ProgramBuilder pb(mod, prog);
  for (const Function& f : mod.funcs) {
    auto it = pb.funcs.find(f.name);
    if (it == pb.funcs.end() || (!it->second->hasBody && f.hasBody)) pb.funcs[f.name] = &f;
  }
  for (const VarDecl& v : mod.globals) pb.globals[v.name] = &v;
  for (size_t i = 0; i < mod.funcs.size(); ++i)
    if (!pb.funcIndex.count(mod.funcs[i].name) || mod.funcs[i].hasBody) pb.funcIndex[mod.funcs[i].name] = uint32_t(i);
  for (const std::string& name : addressTakenFunctions(mod, pb.funcs)) {
    const Function* f = pb.funcs.at(name);
    if (f->hasBody && !f->isEntry) pb.addressTaken.push_back(f);
  }

  // Kernel parameter buffer layout.
  for (const ParamDecl& p : entry.params) {
    uint32_t align = std::max<uint32_t>(p.align, 1);
    prog.paramBytes = uint32_t(alignUp(prog.paramBytes, align));
    prog.params.push_back(KernelParamLayout{prog.paramBytes, p.size, align});
    prog.paramBytes += p.size;
  }

  // Reachable functions (DFS, rejecting recursion) and call depth.
  std::vector<const Function*> order;
  std::map<const Function*, int> state;  // 1 visiting, 2 done
  std::map<const Function*, uint32_t> depth;
  std::function<bool(const Function*)> visit = [&](const Function* f) -> bool {
    state[f] = 1;
    order.push_back(f);
    uint32_t d = 0;
    bool indirect;
    std::vector<const Function*> callees;
    for (const std::string& name : calleesOf(*f, indirect)) {
      auto it = pb.funcs.find(name);
      if (it == pb.funcs.end() || !it->second->hasBody) continue;  // builtin or unknown: checked at decode
      callees.push_back(it->second);
    }
    if (indirect) callees.insert(callees.end(), pb.addressTaken.begin(), pb.addressTaken.end());
    for (const Function* g : callees) {
      const std::string& name = g->name;
      if (g->isEntry) {
        prog.unsupported = "call to a kernel entry " + name;
        return false;
      }
      if (state[g] == 1) {
        prog.unsupported = "recursive call to " + name + " (recursion is not supported)";
        return false;
      }
      if (state[g] == 0 && !visit(g)) return false;
      d = std::max(d, depth[g] + 1);
    }
    depth[f] = d;
    state[f] = 2;
    return true;
  };
  if (!visit(&entry)) return;
  prog.maxDepth = depth[&entry];

  // Shared memory: module-scope variables the program names, body
  // variables of reachable functions, then the dynamic area.
  uint32_t shared = 0, dynAlign = 16;
  std::vector<const VarDecl*> externShared;
  auto placeShared = [&](const VarDecl& v) -> uint32_t {
    shared = uint32_t(alignUp(shared, std::max<uint32_t>(v.align, 1)));
    uint32_t off = shared;
    shared += uint32_t(v.size);
    return off;
  };
  for (const Function* f : order) {
    collectSharedRefs(*f, [&](const std::string& name) {
      auto g = pb.globals.find(name);
      if (g == pb.globals.end()) return;
      const VarDecl& v = *g->second;
      if (v.space == Space::Shared && !pb.sharedOff.count(name)) {
        if (v.isExtern || v.unsizedArray) {
          externShared.push_back(&v);
          dynAlign = std::max<uint32_t>(dynAlign, v.align);
          pb.sharedOff[name] = 0;
        } else {
          pb.sharedOff[name] = placeShared(v);
        }
      } else if (v.space == Space::Local && !pb.localOff.count(name)) {
        pb.localOff[name] = pb.allocPriv(uint32_t(v.size), v.align);
      }
    });
  }
  for (const Function* f : order) {
    FuncState& fs = pb.states[f];
    fs.fn = f;
    fs.varOff.assign(f->vars.size(), 0);
    for (size_t i = 0; i < f->vars.size(); ++i) {
      const VarDecl& v = f->vars[i];
      if (v.space == Space::Shared) {
        if (v.isExtern || v.unsizedArray) {
          externShared.push_back(&v);
          dynAlign = std::max<uint32_t>(dynAlign, v.align);
        } else {
          fs.varOff[i] = placeShared(v);
        }
      }
    }
  }
  uint32_t dynBase = uint32_t(alignUp(shared, dynAlign));
  for (auto& [name, off] : pb.sharedOff) {
    const VarDecl& v = *pb.globals[name];
    if (v.isExtern || v.unsizedArray) off = dynBase;
  }
  for (const Function* f : order) {
    FuncState& fs = pb.states[f];
    for (size_t i = 0; i < f->vars.size(); ++i)
      if (f->vars[i].space == Space::Shared && (f->vars[i].isExtern || f->vars[i].unsizedArray))
        fs.varOff[i] = dynBase;
  }
  prog.staticShared = dynBase;

  // Registers and lane-private memory of every function.
  for (const Function* f : order) {
    FuncState& fs = pb.states[f];
    fs.regOff.resize(f->regs.size());
    for (size_t i = 0; i < f->regs.size(); ++i) {
      Ty t = f->regs[i].ty;
      fs.regOff[i] = pb.allocReg(t == Ty::Pred ? 0 : tySize(t));
    }
    if (!f->isEntry) {
      for (const ParamDecl& p : f->params) fs.paramPriv.push_back(pb.allocPriv(p.size, p.align));
      for (const ParamDecl& p : f->rets) fs.retPriv.push_back(pb.allocPriv(p.size, p.align));
    }
    for (size_t i = 0; i < f->vars.size(); ++i) {
      const VarDecl& v = f->vars[i];
      if (v.space == Space::Local || v.space == Space::Param) {
        fs.varOff[i] = pb.allocPriv(uint32_t(v.size), v.align);
      } else if (v.space == Space::Global || v.space == Space::Const) {
        prog.unsupported = "function-scope ." + std::string(v.space == Space::Global ? "global" : "const") +
                           " variable " + v.name;
        return;
      }
    }
  }

  // Decode.
  const SelectorTable& table = selectors();
  for (const Function* f : order) {
    FuncState& fs = pb.states[f];
    fs.codeBase = uint32_t(prog.code.size());
    fs.pcOfInstr.resize(f->code.size() + 1);
    for (size_t i = 0; i < f->code.size(); ++i) {
      const Instr& ins = f->code[i];
      fs.pcOfInstr[i] = uint32_t(prog.code.size());
      if (!ins.parseError.empty()) {
        prog.unsupported = "'" + ins.opcode + "' at line " + std::to_string(ins.line) + " in " + f->name +
                           ": cannot parse its operands (" + ins.parseError + ")";
        return;
      }
      DecodeCtx c(pb, mod, *f, fs, ins);
      auto sel = table.find(c.spec.base + ":" + typeClassKey(c.spec.type()));
      if (sel == table.end()) sel = table.find(c.spec.base);
      bool ok = sel != table.end() && sel->second(c);
      if (ok) {
        std::string rest = c.spec.leftover();
        if (!rest.empty()) ok = c.fail("unsupported qualifier ." + rest);
      }
      if (!ok) {
        std::string what = sel == table.end() ? "unknown instruction" : c.why;
        prog.unsupported = "'" + ins.opcode + "' at line " + std::to_string(ins.line) + " in " + f->name + ": " + what;
        return;
      }
    }
    // Falling off the end returns.
    fs.pcOfInstr[f->code.size()] = uint32_t(prog.code.size());
    Inst end;
    end.flow = f->isEntry ? Flow::Exit : Flow::Ret;
    end.line = f->line;
    prog.code.push_back(end);
  }

  for (auto& [f, fs] : pb.states) {
    for (auto [pc, target] : fs.branchFixups) prog.code[pc].imm = fs.pcOfInstr[target];
    for (auto [slot, target] : fs.tableFixups) *slot = fs.pcOfInstr[target];
  }
  for (auto [pc, callee] : pb.callFixups) {
    auto* info = const_cast<CallInfo*>(static_cast<const CallInfo*>(prog.code[pc].ext));
    info->target = pb.states[callee].codeBase;
  }
  for (auto [slot, callee] : pb.entryFixups) *slot = pb.states[callee].codeBase;
  if (prog.code.size() > kRetPcMask) prog.unsupported = "kernel too large (more than 16M instructions)";
  prog.memSlots = pb.slots;
}

}  // namespace modnn::ptx
