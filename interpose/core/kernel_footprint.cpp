#include "interpose/core/kernel_footprint.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <map>
#include <numeric>
#include <optional>

#include "modnn/cpu/ptx/ptx_ast.h"

namespace moai {
namespace {

using modnn::ptx::Function;
using modnn::ptx::Instr;
using modnn::ptx::Operand;
using modnn::ptx::OpKind;
using modnn::ptx::Ty;

// An integer register's value over the launch: c0 + ct*tid.x + cb*ctaid.x
// + ty*tid.y + by*ctaid.y, plus k*stride for some unknown k >= 0 when
// stride != 0 (a loop counter). A launch splits into units along its last
// block dimension (ctaid.x, or ctaid.y for a 2-D grid: rows of blocks); the
// unit's term is u*unit, and w is the rest but c0: the thread terms, the
// block column (2-D), the loop term.
// `bounded`: besides, w (every coefficient in it >= 0) is at most `span`,
// which a branch on the value proved (j < cols in a loop over a row).
// Every parameter is a known number, so so is every pointer argument.
// Arithmetic wraps (uint64_t); 32-bit overflow of index arithmetic is not
// modelled, as nvcc itself assumes it away for signed indices.
struct Val {
  enum Kind : uint8_t { Bottom, Lin, Top } kind = Bottom;
  uint64_t c0 = 0, ct = 0, cb = 0, stride = 0, ty = 0, by = 0;
  bool bounded = false;
  uint64_t span = 0;

  static Val top() { return Val{Top}; }
  static Val num(uint64_t v) { return Val{Lin, v}; }
  bool isNum() const { return kind == Lin && ct == 0 && cb == 0 && stride == 0 && ty == 0 && by == 0; }
  bool sameTerms(const Val& o) const { return ct == o.ct && cb == o.cb && ty == o.ty && by == o.by; }
  bool operator==(const Val&) const = default;
};

uint64_t gcd0(uint64_t a, uint64_t b) { return std::gcd(a, b); }  // gcd(0, x) = x

// The launch's shape (the analysis is per launch, on one thread): the last
// thread index in each block dimension, the last block column, and whether
// units are rows of blocks (a 2-D grid).
thread_local uint64_t t_last_x = 0, t_last_y = 0, t_last_column = 0;
thread_local bool t_rows = false;

uint64_t unitTerm(const Val& v) { return t_rows ? v.by : v.cb; }

// w's terms without the loop: (coefficient, last index) each.
std::array<std::pair<uint64_t, uint64_t>, 3> wTerms(const Val& v) {
  return {{{v.ct, t_last_x}, {v.ty, t_last_y}, {t_rows ? v.cb : 0, t_last_column}}};
}

// The most w can be: proved, or without a loop term the last thread's;
// none when unknown (a loop, or indices running downwards).
std::optional<uint64_t> spanOf(const Val& v) {
  if (v.kind != Val::Lin) return std::nullopt;
  if (v.bounded) return v.span;
  if (v.stride != 0) return std::nullopt;
  uint64_t span = 0;
  for (auto [coef, last] : wTerms(v)) {
    if (int64_t(coef) < 0) return std::nullopt;
    span += coef * last;
  }
  return span;
}

// w's lowest and highest offsets from c0 without its loop term (coefficients of either sign).
std::pair<int64_t, int64_t> spread(const Val& v) {
  int64_t lo = 0, hi = 0;
  for (auto [coef, last] : wTerms(v)) {
    int64_t t = int64_t(coef) * int64_t(last);
    lo += std::min<int64_t>(t, 0), hi += std::max<int64_t>(t, 0);
  }
  return {lo, hi};
}

// Where control flow merges, a register holds one of the values reaching
// it: the one that covers the other, if one does. Along a loop's back edge the smallest value covering both is a + k*g,
// with g the gcd of both strides and their distance: an induction variable
// (i += blockDim.x * gridDim.x) converges in two steps, a decreasing one
// never does (the analysis gives up). Elsewhere, two different values are
// unknown: a stride there could join two arrays, and a stream's writes are
// only followed inside the allocation its base is in.
// Does `a` take every value `b` takes?
bool covers(const Val& a, const Val& b) {
  if (a.kind != Val::Lin || b.kind != Val::Lin || !a.sameTerms(b)) return false;
  uint64_t d = b.c0 - a.c0;
  if (a.stride == 0 ? d != 0 || b.stride != 0 : int64_t(d) < 0 || d % a.stride != 0 || b.stride % a.stride != 0)
    return false;
  if (!a.bounded) return true;
  std::optional<uint64_t> sb = spanOf(b);
  return sb && int64_t(d) + int64_t(*sb) <= int64_t(a.span);
}

Val join(const Val& a, const Val& b, bool loop) {
  if (a.kind == Val::Bottom) return b;
  if (b.kind == Val::Bottom) return a;
  bool ab = covers(a, b), ba = covers(b, a);
  if (ab && ba) return b.bounded ? b : a;  // the same values: the one that says more
  if (ab) return a;
  if (ba) return b;
  if (!loop || a.kind == Val::Top || b.kind == Val::Top || !a.sameTerms(b)) return Val::top();
  const Val& lo = int64_t(a.c0 - b.c0) <= 0 ? a : b;
  const Val& hi = &lo == &a ? b : a;
  Val r = lo;
  r.stride = gcd0(gcd0(a.stride, b.stride), hi.c0 - lo.c0);
  // Both bounded (or boundable): the larger of their ends.
  std::optional<uint64_t> sa = spanOf(a), sb = spanOf(b);
  r.bounded = (a.bounded || b.bounded) && sa && sb;
  if (r.bounded) {
    int64_t end = std::max(int64_t(a.c0 - r.c0) + int64_t(*sa), int64_t(b.c0 - r.c0) + int64_t(*sb));
    r.bounded = end >= 0;
    r.span = r.bounded ? uint64_t(end) : 0;
  }
  return r;
}

Val add(const Val& a, const Val& b) {
  if (a.kind != Val::Lin || b.kind != Val::Lin) return a.kind == Val::Bottom || b.kind == Val::Bottom ? Val{} : Val::top();
  Val r{Val::Lin, a.c0 + b.c0, a.ct + b.ct, a.cb + b.cb, gcd0(a.stride, b.stride), a.ty + b.ty, a.by + b.by};
  std::optional<uint64_t> sa = spanOf(a), sb = spanOf(b);
  if ((a.bounded || b.bounded) && sa && sb) r.bounded = true, r.span = *sa + *sb;
  return r;
}

Val scale(const Val& a, uint64_t m) {
  if (a.kind != Val::Lin) return a;
  if (a.stride && int64_t(m) < 0) return Val::top();  // k*stride*m would run downwards
  Val r{Val::Lin, a.c0 * m, a.ct * m, a.cb * m, a.stride * m, a.ty * m, a.by * m};
  if (a.bounded && int64_t(m) >= 0) r.bounded = true, r.span = a.span * m;
  return r;
}

// What a branch proves of a register: x <= `most` where it is taken (or
// where it is not, for `when_not`); x compared as signed or unsigned.
struct Bound {
  int reg = -1;
  Val at;  // the register's value when compared: the bound holds while it keeps it
  uint64_t most = 0;
  bool is_signed = false;
};

// x = c0 + u*unit + w with u*unit >= 0 and w >= 0: x <= most gives
// w <= most - c0. When that is negative no thread takes the path: nullopt.
std::optional<Val> refine(const Val& x, uint64_t most, bool is_signed) {
  std::optional<uint64_t> have = spanOf(x);
  if (x.kind != Val::Lin || int64_t(unitTerm(x)) < 0) return x;
  for (auto [coef, last] : wTerms(x))
    if (int64_t(coef) < 0) return x;
  if (is_signed ? int64_t(most) < int64_t(x.c0) : most < x.c0) return std::nullopt;
  uint64_t w = most - x.c0;
  Val r = x;
  r.bounded = true;
  r.span = have ? std::min(*have, w) : w;
  return r;
}

Val mul(const Val& a, const Val& b) {
  if (a.kind == Val::Bottom || b.kind == Val::Bottom) return Val{};
  if (a.isNum()) return scale(b, a.c0);
  if (b.isNum()) return scale(a, b.c0);
  return Val::top();
}

Val neg(const Val& a) {
  if (a.kind != Val::Lin || a.stride) return a.kind == Val::Bottom ? a : Val::top();
  return Val{Val::Lin, 0 - a.c0, 0 - a.ct, 0 - a.cb, 0, 0 - a.ty, 0 - a.by};
}

// Constant folding for what only needs numbers (masks, shifts, min/max of
// two parameters, ...).
std::optional<uint64_t> fold(std::string_view op, bool is_signed, uint64_t a, uint64_t b) {
  if (op == "and") return a & b;
  if (op == "or") return a | b;
  if (op == "xor") return a ^ b;
  if (op == "shr") return b >= 64 ? 0 : is_signed ? uint64_t(int64_t(a) >> b) : a >> b;
  if (op == "div" && b) return is_signed ? uint64_t(int64_t(a) / int64_t(b)) : a / b;
  if (op == "rem" && b) return is_signed ? uint64_t(int64_t(a) % int64_t(b)) : a % b;
  if (op == "min") return is_signed ? uint64_t(std::min(int64_t(a), int64_t(b))) : std::min(a, b);
  if (op == "max") return is_signed ? uint64_t(std::max(int64_t(a), int64_t(b))) : std::max(a, b);
  return std::nullopt;
}

// An opcode split at its dots: "ld.global.nc.v2.f32" -> ld, {global, nc, v2, f32}.
struct Opcode {
  std::string_view base;
  std::vector<std::string_view> quals;
  bool has(std::string_view q) const { return std::find(quals.begin(), quals.end(), q) != quals.end(); }
  Ty type() const {  // the last type qualifier
    for (auto it = quals.rbegin(); it != quals.rend(); ++it)
      if (Ty t = modnn::ptx::parseTy(*it); t != Ty::None) return t;
    return Ty::None;
  }
  Ty firstType() const {
    for (auto q : quals)
      if (Ty t = modnn::ptx::parseTy(q); t != Ty::None) return t;
    return Ty::None;
  }
  uint32_t vector() const {
    for (auto q : quals)
      if (q.size() == 2 && q[0] == 'v' && q[1] >= '2' && q[1] <= '8') return uint32_t(q[1] - '0');
    return 1;
  }
};

Opcode splitOpcode(std::string_view s) {
  Opcode o;
  size_t dot = s.find('.');
  o.base = s.substr(0, dot);
  while (dot != std::string_view::npos) {
    size_t next = s.find('.', dot + 1);
    o.quals.push_back(s.substr(dot + 1, next == std::string_view::npos ? next : next - dot - 1));
    dot = next;
  }
  return o;
}

// Values narrower than 64 bits: a number keeps only the type's bits, extended
// as the type says; symbolic values are left alone (no overflow, see Val).
Val fit(Val v, Ty t) {
  uint32_t bytes = modnn::ptx::tySize(t);
  if (!v.isNum() || bytes == 0 || bytes >= 8) return v;
  uint64_t mask = (uint64_t(1) << (bytes * 8)) - 1;
  uint64_t x = v.c0 & mask;
  if (modnn::ptx::isSigned(t) && (x >> (bytes * 8 - 1)) & 1) x |= ~mask;
  return Val::num(x);
}

struct Store {
  Val addr;
  uint32_t width = 0;
  uint32_t line = 0;
};

class Analysis {
 public:
  Analysis(const Function& fn, const LaunchShape& launch) : fn_(fn), launch_(launch) {
    t_last_x = launch.block[0] ? launch.block[0] - 1 : 0;
    t_last_y = launch.block[1] ? launch.block[1] - 1 : 0;
    t_last_column = launch.grid[0] ? launch.grid[0] - 1 : 0;
    t_rows = launch.grid[1] > 1;
    uint32_t off = 0;
    for (const auto& p : fn.params) {
      uint32_t align = std::max<uint32_t>(p.align, 1);
      off = (off + align - 1) / align * align;
      param_offsets_.push_back(off);
      off += p.size;
    }
  }

  // Runs to a fixed point over the control-flow graph; false with `why_`.
  bool run() {
    if (!blocks()) return false;
    // One register file per basic block: bounded, so a huge kernel costs a
    // line in the log rather than the client's memory and time.
    if (fn_.code.size() > 50000 || double(fn_.regs.size()) * double(starts_.size()) > 4e6)
      return fail("too large to analyse");
    std::vector<std::vector<Val>> in(starts_.size(), std::vector<Val>(fn_.regs.size()));
    // `entered`: queued at least once. A block is visited the first time
    // control reaches it even when no register changed on the way (a
    // branch over nothing); else its stores would go unseen.
    std::vector<bool> queued(starts_.size(), false), reached(starts_.size(), false), entered(starts_.size(), false);
    std::vector<size_t> work{0};
    queued[0] = entered[0] = true;
    size_t visits = 0;
    while (!work.empty()) {
      if (++visits > 64 * starts_.size() + 1024) return fail("the analysis does not converge");
      size_t b = work.back();
      work.pop_back();
      queued[b] = false;
      std::vector<Val> regs = in[b];
      if (!transfer(b, regs, false)) return false;
      reached[b] = true;
      std::vector<size_t> next = successors(b);
      for (size_t s : next) {
        bool changed = false;
        std::vector<Val> edge = regs;
        if (!refineEdge(b, s, next, edge)) continue;
        for (size_t r = 0; r < regs.size(); ++r) {
          Val j = join(in[s][r], edge[r], s <= b);
          // Widening: a bound that a loop keeps raising (an induction
          // variable no branch tests) is dropped after a few rounds; one a
          // branch caps stops rising by itself.
          if (s <= b && j.bounded && in[s][r].bounded && j.c0 + j.span != in[s][r].c0 + in[s][r].span &&
              ++raised_[{s, r}] > kMaxRaises)
            j.bounded = false, j.span = 0;
          if (!(j == in[s][r])) in[s][r] = j, changed = true;
        }
        if ((changed || !entered[s]) && !queued[s]) work.push_back(s), queued[s] = entered[s] = true;
      }
    }
    // The accesses, with the registers as they are once nothing changes.
    for (size_t b = 0; b < starts_.size(); ++b) {
      if (!reached[b]) continue;
      std::vector<Val> regs = in[b];
      if (!transfer(b, regs, true)) return false;
    }
    return true;
  }

  const std::vector<Store>& stores() const { return stores_; }
  const std::vector<Store>& loads() const { return loads_; }
  // Why the global reads cannot be listed (texture fetches, ...); empty when they can.
  const std::string& unknownReads() const { return unknown_reads_; }
  const std::string& why() const { return why_; }

 private:
  bool fail(std::string why, uint32_t line = 0) {
    if (why_.empty()) why_ = line ? why + " (PTX line " + std::to_string(line) + ")" : why;
    return false;
  }

  // Along the edge b -> s of a conditional branch on a comparison of a
  // register with a number (setp in the same block), the register is
  // bounded above where the comparison says so: a loop over a row stays in it.
  // False: no thread takes the edge.
  bool refineEdge(size_t b, size_t s, const std::vector<size_t>& next, std::vector<Val>& regs) const {
    auto it = branch_bound_.find(b);
    if (it == branch_bound_.end() || next.size() != 2 || next[0] == next[1]) return true;
    const auto& [taken, falls] = it->second;
    const EdgeFact& fact = s == next[0] ? taken : falls;
    if (fact.never) return false;
    for (const Bound& bound : fact.bounds) {
      if (size_t(bound.reg) >= regs.size() || !(regs[size_t(bound.reg)] == bound.at)) continue;
      std::optional<Val> r = refine(regs[size_t(bound.reg)], bound.most, bound.is_signed);
      if (!r) return false;
      regs[size_t(bound.reg)] = *r;
    }
    return true;
  }

  // and/or/not of predicates whose facts are known: `x < n && y < m` holds
  // both bounds where it is true.
  void noteLogic(const Instr& in, const Opcode& op) {
    if (in.ops.empty() || in.ops[0].kind != OpKind::Reg || in.ops[0].reg2 >= 0 || !op.has("pred")) return;
    auto fact = [&](size_t k) -> const std::pair<EdgeFact, EdgeFact>* {
      if (k >= in.ops.size() || in.ops[k].kind != OpKind::Reg) return nullptr;
      auto it = compares_.find(in.ops[k].reg);
      return it == compares_.end() ? nullptr : &it->second;
    };
    auto both = [](const EdgeFact& a, const EdgeFact& b) {
      EdgeFact r{a.bounds, a.never || b.never};
      r.bounds.insert(r.bounds.end(), b.bounds.begin(), b.bounds.end());
      return r;
    };
    auto either = [](const EdgeFact& a, const EdgeFact& b) { return EdgeFact{{}, a.never && b.never}; };
    if (op.base == "not" && in.ops.size() == 2) {
      if (auto* p = fact(1)) compares_[in.ops[0].reg] = {p->second, p->first};
      return;
    }
    const auto *p = fact(1), *q = fact(2);
    if (!p || !q || in.ops.size() != 3) return;
    if (op.base == "and") compares_[in.ops[0].reg] = {both(p->first, q->first), either(p->second, q->second)};
    if (op.base == "or") compares_[in.ops[0].reg] = {either(p->first, q->first), both(p->second, q->second)};
  }

  // setp.cmp.type p, a, b with one side a register and the other a number:
  // the bounds on the register where p is true and where it is false; with
  // two numbers (a null pointer argument), the way no thread goes.
  void noteCompare(const Instr& in, const Opcode& op, const std::vector<Val>& regs) {
    if (op.quals.size() != 2 || in.ops.size() != 3 || in.ops[0].kind != OpKind::Reg || in.ops[0].reg2 >= 0) return;
    std::string_view cmp = op.quals[0];
    Ty t = op.type();
    if (!modnn::ptx::isInt(t)) return;
    bool is_signed = modnn::ptx::isSigned(t);
    if (cmp == "lo" || cmp == "ls" || cmp == "hi" || cmp == "hs") {
      is_signed = false;
      cmp = cmp == "lo" ? "lt" : cmp == "ls" ? "le" : cmp == "hi" ? "gt" : "ge";
    }
    Val a = eval(in.ops[1], regs), b = eval(in.ops[2], regs);
    if (a.isNum() && b.isNum()) {
      uint64_t x = fit(a, t).c0, y = fit(b, t).c0;
      bool lt = is_signed ? int64_t(x) < int64_t(y) : x < y;
      std::optional<bool> truth;
      if (cmp == "eq") truth = x == y;
      if (cmp == "ne") truth = x != y;
      if (cmp == "lt") truth = lt;
      if (cmp == "le") truth = lt || x == y;
      if (cmp == "gt") truth = !lt && x != y;
      if (cmp == "ge") truth = !lt;
      if (truth) compares_[in.ops[0].reg] = {EdgeFact{{}, !*truth}, EdgeFact{{}, *truth}};
      return;
    }
    const Operand* r = &in.ops[1];
    Val other = eval(in.ops[2], regs);
    if (r->kind != OpKind::Reg || !other.isNum()) {
      // The number first: c > x is x < c.
      r = &in.ops[2];
      other = eval(in.ops[1], regs);
      cmp = cmp == "lt" ? "gt" : cmp == "gt" ? "lt" : cmp == "le" ? "ge" : cmp == "ge" ? "le" : cmp;
    }
    if (r->kind != OpKind::Reg || r->reg < 0 || size_t(r->reg) >= regs.size() || r->reg2 >= 0 || !other.isNum()) return;
    uint64_t c = fit(other, t).c0;
    Bound x{r->reg, regs[size_t(r->reg)], 0, is_signed};
    EdgeFact when_true, when_false;
    bool lowest = is_signed ? int64_t(c) == INT64_MIN : c == 0;
    if (cmp == "lt" && !lowest) x.most = c - 1, when_true.bounds.push_back(x);
    if (cmp == "le") x.most = c, when_true.bounds.push_back(x);
    if (cmp == "ge" && !lowest) x.most = c - 1, when_false.bounds.push_back(x);
    if (cmp == "gt") x.most = c, when_false.bounds.push_back(x);
    compares_[in.ops[0].reg] = {when_true, when_false};
  }

  // Basic blocks: starts at labels and after branches and returns.
  bool blocks() {
    const auto& code = fn_.code;
    std::vector<bool> start(code.size() + 1, false);
    start[0] = true;
    for (auto& [label, at] : fn_.labels) start[std::min<size_t>(at, code.size())] = true;
    for (size_t i = 0; i < code.size(); ++i) {
      Opcode op = splitOpcode(code[i].opcode);
      if (op.base == "bra" || op.base == "ret" || op.base == "exit" || op.base == "trap" || op.base == "brx") start[i + 1] = true;
    }
    for (size_t i = 0; i < code.size(); ++i)
      if (start[i]) starts_.push_back(i);
    if (starts_.empty()) starts_.push_back(0);
    block_of_.assign(code.size() + 1, 0);
    for (size_t b = 0; b < starts_.size(); ++b)
      for (size_t i = starts_[b]; i < end(b); ++i) block_of_[i] = b;
    return true;
  }

  size_t end(size_t b) const { return b + 1 < starts_.size() ? starts_[b + 1] : fn_.code.size(); }

  std::vector<size_t> successors(size_t b) const {
    std::vector<size_t> out;
    size_t e = end(b);
    bool falls = true;
    if (e > starts_[b]) {
      const Instr& last = fn_.code[e - 1];
      Opcode op = splitOpcode(last.opcode);
      if (op.base == "bra" && !last.ops.empty()) {
        auto it = fn_.labels.find(last.ops[0].name);
        if (it != fn_.labels.end() && it->second < fn_.code.size()) out.push_back(block_of_[it->second]);
        falls = last.guard >= 0;
      } else if (op.base == "ret" || op.base == "exit" || op.base == "trap") {
        falls = last.guard >= 0;
      }
    }
    if (falls && e < fn_.code.size()) out.push_back(block_of_[e]);
    return out;
  }

  Val special(const std::string& name) const {
    const uint32_t* grid = launch_.grid;
    const uint32_t* block = launch_.block;
    // An index whose extent is 1 is the number 0; z is (analyzeLaunch checks).
    auto index = [](uint32_t extent, Val v) { return extent > 1 ? v : Val::num(0); };
    if (name == "%tid.x") return index(block[0], Val{Val::Lin, 0, 1});
    if (name == "%ctaid.x") return index(grid[0], Val{Val::Lin, 0, 0, 1});
    if (name == "%tid.y") return index(block[1], Val{Val::Lin, 0, 0, 0, 0, 1});
    if (name == "%ctaid.y") return index(grid[1], Val{Val::Lin, 0, 0, 0, 0, 0, 1});
    if (name == "%ntid.x") return Val::num(block[0]);
    if (name == "%nctaid.x") return Val::num(grid[0]);
    if (name == "%ntid.y") return Val::num(block[1]);
    if (name == "%nctaid.y") return Val::num(grid[1]);
    if (name == "%tid.z" || name == "%ctaid.z") return Val::num(0);
    if (name == "%ntid.z" || name == "%nctaid.z") return Val::num(1);
    return Val::top();
  }

  Val eval(const Operand& o, const std::vector<Val>& regs) const {
    switch (o.kind) {
      case OpKind::Reg:
        return o.reg >= 0 && size_t(o.reg) < regs.size() && o.reg2 < 0 ? regs[size_t(o.reg)] : Val::top();
      case OpKind::Int: return Val::num(o.ival);
      case OpKind::Special: return special(o.name);
      case OpKind::Addr: {
        if (o.addrHasSym) return Val::top();  // a variable's address: not an argument
        Val base = !o.addrHasReg ? Val::num(0)
                   : o.reg >= 0 && size_t(o.reg) < regs.size() ? regs[size_t(o.reg)] : Val::top();
        return add(base, Val::num(uint64_t(o.offset)));
      }
      default: return Val::top();
    }
  }

  // ld.param of a kernel parameter: the launch's own bytes.
  Val loadParam(const Instr& in, const Opcode& op) const {
    if (in.ops.size() < 2 || in.ops[0].kind != OpKind::Reg || op.vector() != 1) return Val::top();
    const Operand& a = in.ops[1];
    if (a.kind != OpKind::Addr || !a.addrHasSym || a.addrHasReg || a.symKind != modnn::ptx::SymKind::Param ||
        a.symId < 0 || size_t(a.symId) >= param_offsets_.size())
      return Val::top();
    Ty t = op.type();
    uint32_t bytes = modnn::ptx::tySize(t);
    uint64_t at = uint64_t(param_offsets_[size_t(a.symId)]) + uint64_t(a.offset);
    if (bytes == 0 || bytes > 8 || !modnn::ptx::isInt(t) || at + bytes > launch_.param_bytes) return Val::top();
    uint64_t v = 0;
    std::memcpy(&v, launch_.params + at, bytes);
    return fit(Val::num(v), t);
  }

  void setDest(const Instr& in, Val v, std::vector<Val>& regs) const {
    if (in.ops.empty()) return;
    auto set = [&](const Operand& d) {
      if (d.kind != OpKind::Reg) return;
      for (int r : {d.reg, d.reg2}) {
        if (r < 0 || size_t(r) >= regs.size()) continue;
        // A predicated write may not happen: the register holds either value.
        regs[size_t(r)] = in.guard >= 0 ? join(regs[size_t(r)], v, false) : v;
        v = d.reg2 >= 0 ? Val::top() : v;
      }
    };
    const Operand& d = in.ops[0];
    if (d.kind == OpKind::Vec) {
      for (const Operand& e : d.elems) set(e);
    } else {
      set(d);
    }
  }

  // Anything not named block-local (shared, shared::cta, local, ...) may be global.
  static bool globalSpace(const Opcode& op) {
    for (auto q : op.quals)
      for (std::string_view local : {"shared", "local", "param", "const"})
        if (q.substr(0, local.size()) == local) return false;
    return true;
  }

  // Applies block b's instructions to regs; with `collect`, notes the
  // global stores and loads.
  bool transfer(size_t b, std::vector<Val>& regs, bool collect) {
    compares_.clear();
    branch_bound_.erase(b);
    for (size_t i = starts_[b]; i < end(b); ++i) {
      const Instr& in = fn_.code[i];
      Opcode op = splitOpcode(in.opcode);
      if (op.base == "bra" && in.guard >= 0 && i + 1 == end(b)) {
        auto c = compares_.find(in.guard);
        if (c != compares_.end())
          branch_bound_[b] = in.guardNeg ? std::make_pair(c->second.second, c->second.first) : c->second;
      }
      if (!in.ops.empty() && in.ops[0].kind == OpKind::Reg) {
        compares_.erase(in.ops[0].reg);
        if (in.ops[0].reg2 >= 0) compares_.erase(in.ops[0].reg2);
      }
      if (op.base == "setp") noteCompare(in, op, regs);
      if (op.base == "and" || op.base == "or" || op.base == "not") noteLogic(in, op);
      auto src = [&](size_t k) { return k < in.ops.size() ? eval(in.ops[k], regs) : Val::top(); };
      std::string_view base = op.base;
      if (base == "st") {
        if (!globalSpace(op)) continue;
        if (in.ops.size() < 2) return fail("a store without operands", in.line);
        uint32_t width = modnn::ptx::tySize(op.type()) * op.vector();
        if (collect) stores_.push_back(Store{src(0), width, in.line});
        continue;
      }
      if (collect && (base == "ld" || base == "ldu") && globalSpace(op) && in.ops.size() >= 2)
        loads_.push_back(Store{src(1), modnn::ptx::tySize(op.type()) * op.vector(), in.line});
      if (collect && base == "cp" && op.has("async") && in.ops.size() >= 3)  // global -> shared
        loads_.push_back(Store{src(1), in.ops[2].kind == OpKind::Int ? uint32_t(in.ops[2].ival) : 16u, in.line});
      if (collect && unknown_reads_.empty() &&
          (base == "tex" || base == "tld4" || base == "suld" ||
           (base == "wmma" && op.has("load") && globalSpace(op))))
        unknown_reads_ = "a read the analysis does not follow (" + in.opcode + ")";
      if (base == "atom" || base == "red") {
        if (globalSpace(op)) return fail("an atomic or reduction on global memory", in.line);
        setDest(in, Val::top(), regs);
        continue;
      }
      if (base == "call") return fail("a function call", in.line);
      if (base == "brx") return fail("an indirect branch", in.line);
      if (base == "sust" || base == "sured" || base == "multimem" || base == "tcgen05" || base == "discard" ||
          base == "tensormap" || base == "stmatrix" ||
          (base == "cp" && (op.has("bulk") || op.has("reduce"))) || (base == "wmma" && op.has("store")))
        return fail("a store the analysis does not follow (" + in.opcode + ")", in.line);
      if (base == "bra" || base == "ret" || base == "exit" || base == "trap" || base == "bar" || base == "barrier" ||
          base == "membar" || base == "fence" || base == "prefetch" || base == "prefetchu")
        continue;
      Val v = Val::top();
      Ty t = op.type();
      bool integer = modnn::ptx::isInt(t);
      if (base == "ld" && op.has("param")) {
        v = loadParam(in, op);
      } else if (base == "mov" && integer) {
        v = in.ops.size() >= 2 && in.ops[1].kind != OpKind::Sym && in.ops[1].kind != OpKind::Vec ? src(1) : Val::top();
        v = fit(v, t);
      } else if (base == "cvta" && op.has("to") && op.has("global")) {
        v = src(1);
      } else if (base == "cvta" && op.has("global") && !op.has("to")) {
        v = src(1);
      } else if (base == "cvt" && integer && modnn::ptx::isInt(op.type()) && modnn::ptx::isInt(op.firstType()) &&
                 !op.has("sat")) {
        // cvt.dst.src: a number is cut to the source type, then to the destination.
        Ty from = op.type(), to = op.firstType();
        v = fit(fit(src(1), from), to);
      } else if ((base == "add" || base == "sub") && integer && !op.has("cc") && !op.has("sat")) {
        v = base == "add" ? add(src(1), src(2)) : add(src(1), neg(src(2)));
        v = fit(v, t);
      } else if (base == "mul" && integer && (op.has("lo") || op.has("wide"))) {
        v = mul(src(1), src(2));
        if (op.has("lo")) v = fit(v, t);
      } else if (base == "mad" && integer && (op.has("lo") || op.has("wide")) && !op.has("cc") && !op.has("sat")) {
        v = add(mul(src(1), src(2)), src(3));
        if (op.has("lo")) v = fit(v, t);
      } else if (base == "shl" && integer) {
        Val s = src(2);
        v = s.isNum() && s.c0 < 64 ? mul(src(1), Val::num(uint64_t(1) << s.c0)) : Val::top();
        v = fit(v, t);
      } else if (base == "neg" && integer) {
        v = fit(neg(src(1)), t);
      } else if (base == "selp") {
        v = join(src(1), src(2), false);
      } else if (integer && in.ops.size() == 3) {
        Val a = src(1), c = src(2);
        if (a.isNum() && c.isNum())
          if (auto r = fold(base, modnn::ptx::isSigned(t), a.c0, c.c0)) v = fit(Val::num(*r), t);
      }
      setDest(in, v, regs);
    }
    return true;
  }

  static constexpr int kMaxRaises = 8;
  std::map<std::pair<size_t, size_t>, int> raised_;  // (block, register): times a loop raised its bound
  const Function& fn_;
  const LaunchShape& launch_;
  std::vector<uint32_t> param_offsets_;
  std::vector<size_t> starts_;
  std::vector<size_t> block_of_;
  std::vector<Store> stores_, loads_;
  // What a predicate's value says: a bound on a register, or that no thread has it.
  struct EdgeFact {
    std::vector<Bound> bounds;
    bool never = false;
  };
  // Comparisons of this block so far, by predicate: (when true, when false).
  std::map<int, std::pair<EdgeFact, EdgeFact>> compares_;
  // Blocks ending in a branch on one: (where taken, where it falls through).
  std::map<size_t, std::pair<EdgeFact, EdgeFact>> branch_bound_;
  std::string unknown_reads_;
  std::string why_;
};

KernelFootprint notSplittable(std::string why) {
  KernelFootprint f;
  f.why = std::move(why);
  return f;
}

// Global reads as streams: block b reads [lo + cb*b, hi + cb*b) (+ k*stride).
// Unlike stores they may overlap and step any way: they only tell a device
// group what to bring to a member before it runs its blocks.
void listReads(const std::vector<Store>& loads, const std::string& unknown, const LaunchShape& launch,
               KernelFootprint* f) {
  if (!unknown.empty()) {
    f->reads_why = unknown;
    return;
  }
  for (const Store& l : loads) {
    const Val& v = l.addr;
    if (v.kind != Val::Lin) {
      f->reads.clear();
      f->reads_why = "a read whose address is not affine (PTX line " + std::to_string(l.line) + ")";
      return;
    }
    auto [low, high] = spread(v);
    ReadStream r;
    r.lo = v.c0 + uint64_t(low);
    r.hi = v.c0 + uint64_t(high) + std::max<uint32_t>(l.width, 1);
    r.per_block = int64_t(unitTerm(v));
    r.stride = v.stride;
    if (v.bounded) {  // a loop over what the unit reads, bounded by its branch
      r.lo = v.c0;
      r.hi = v.c0 + (v.stride ? v.span : std::min(v.span, uint64_t(high))) + std::max<uint32_t>(l.width, 1);
      r.stride = 0;
    }
    if (r.stride) {
      r.limit = launch.allocation_end ? launch.allocation_end(r.lo) : 0;
      if (!r.limit && launch.allocation_end) r.limit = launch.allocation_end(r.hi - 1);
      if (!r.limit || (r.limit - r.lo) / r.stride > 65536) {
        f->reads.clear();
        f->reads_why = "a loop's reads run outside every allocation or too many times";
        return;
      }
    }
    bool seen = false;
    for (const ReadStream& o : f->reads)
      seen = seen || (o.lo == r.lo && o.hi == r.hi && o.per_block == r.per_block && o.stride == r.stride);
    if (!seen) f->reads.push_back(r);
  }
  f->reads_known = true;
}

}  // namespace

KernelFootprint analyzeLaunch(const modnn::ptx::Module& module, const LaunchShape& launch) {
  const Function* fn = nullptr;
  for (const auto& f : module.funcs)
    if (f.isEntry && f.hasBody && f.name == launch.kernel) fn = &f;
  if (!fn) return notSplittable("no PTX body for the kernel");
  if (launch.grid[2] != 1 || launch.block[2] != 1) return notSplittable("a three-dimensional launch");
  const bool rows = launch.grid[1] > 1;  // units: rows of blocks
  if ((rows ? launch.grid[1] : launch.grid[0]) < 2) return notSplittable("a single block");
  if (fn->clusterCtas > 1) return notSplittable("thread block clusters");
  Analysis a(*fn, launch);
  if (!a.run()) return notSplittable(a.why());

  KernelFootprint f;
  f.blocks = rows ? launch.grid[1] : launch.grid[0];
  f.unit = rows ? launch.grid[0] : 1;
  f.threads = uint64_t(launch.grid[0]) * launch.grid[1] * launch.block[0] * launch.block[1];
  // Each store as the bytes one block may write with it: [lo, hi) + cb*b.
  struct Piece {
    uint64_t lo, hi, cb, stride;
  };
  std::vector<Piece> pieces;
  for (const Store& s : a.stores()) {
    const Val& v = s.addr;
    std::string at = " (PTX line " + std::to_string(s.line) + ")";
    if (v.kind != Val::Lin) return notSplittable("a store whose address is not affine in the thread index" + at);
    const uint64_t cu = unitTerm(v);
    if (v.isNum() || (v.stride == 0 && cu == 0 && spread(v) == std::pair<int64_t, int64_t>{0, 0}))
      return notSplittable("a store every thread makes to the same address" + at);
    if (int64_t(cu) <= 0) return notSplittable("a store not indexed by the block index" + at);
    auto [low, high] = spread(v);  // the unit's threads (and block columns), first to last
    uint64_t lo = v.c0 + uint64_t(low);
    uint64_t hi = v.c0 + uint64_t(high) + s.width;
    // A loop inside the unit's own slab (a row): bounded by its branch.
    if (v.bounded && (v.stride == 0 || v.span + s.width <= cu)) {
      pieces.push_back({v.c0, v.c0 + std::min(v.span, v.stride ? v.span : uint64_t(high)) + s.width, cu, 0});
      continue;
    }
    pieces.push_back({lo, hi, cu, v.stride});
  }
  if (pieces.empty()) return notSplittable("no global stores");
  // Streams: stores with one block step and stride whose bytes fall in one
  // block's slab (the fields of a struct, an unrolled loop over items).
  std::sort(pieces.begin(), pieces.end(), [](const Piece& x, const Piece& y) {
    return std::tie(x.cb, x.stride, x.lo) < std::tie(y.cb, y.stride, y.lo);
  });
  struct Extent {
    uint64_t lo, hi;
  };
  std::vector<Extent> extents;
  for (size_t i = 0; i < pieces.size();) {
    const Piece& p = pieces[i];
    uint64_t hi = p.hi;
    size_t j = i + 1;
    while (j < pieces.size() && pieces[j].cb == p.cb && pieces[j].stride == p.stride && pieces[j].hi - p.lo <= p.cb)
      hi = std::max(hi, pieces[j].hi), ++j;
    if (hi - p.lo > p.cb) return notSplittable("stores of neighbouring blocks overlap");
    uint64_t limit = launch.allocation_end ? launch.allocation_end(p.lo) : 0;
    if (!limit) return notSplittable("a store outside every allocation");
    if (p.stride && p.stride < p.cb * f.blocks)
      return notSplittable("a loop's stores step by less than the grid covers");
    f.streams.push_back({p.lo, p.cb, p.stride, limit});
    // What the whole grid may write of this stream, for the overlap check.
    uint64_t reach = p.stride ? limit : std::min(limit, p.lo + p.cb * f.blocks);
    extents.push_back({p.lo, reach});
    i = j;
  }
  std::sort(extents.begin(), extents.end(), [](const Extent& x, const Extent& y) { return x.lo < y.lo; });
  for (size_t i = 1; i < extents.size(); ++i)
    if (extents[i].lo < extents[i - 1].hi) return notSplittable("two store streams interleave");
  f.splittable = true;
  listReads(a.loads(), a.unknownReads(), launch, &f);
  return f;
}

std::vector<std::pair<uint64_t, uint64_t>> rangesRead(const KernelFootprint& f, uint64_t b0, uint64_t b1) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (!f.reads_known || b0 >= b1) return out;
  for (const ReadStream& r : f.reads) {
    int64_t first = r.per_block * int64_t(r.per_block >= 0 ? b0 : b1 - 1);
    int64_t last = r.per_block * int64_t(r.per_block >= 0 ? b1 - 1 : b0);
    for (uint64_t k = 0;; ++k) {
      uint64_t lo = r.lo + uint64_t(first) + k * r.stride, hi = r.hi + uint64_t(last) + k * r.stride;
      if (r.stride && lo >= r.limit) break;
      if (hi > lo) out.emplace_back(lo, hi - lo);
      if (!r.stride) break;
    }
  }
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> rangesWritten(const KernelFootprint& f, uint64_t b0, uint64_t b1) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (!f.splittable || b0 >= b1) return out;
  for (const StoreStream& s : f.streams) {
    for (uint64_t k = 0;; ++k) {
      uint64_t lo = s.base + k * s.stride + s.per_block * b0;
      uint64_t hi = std::min(s.base + k * s.stride + s.per_block * b1, s.limit);
      if (lo >= s.limit) break;
      if (hi > lo) out.emplace_back(lo, hi - lo);
      if (!s.stride) break;
    }
  }
  return out;
}

}  // namespace moai
