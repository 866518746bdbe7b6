// PTX parser: module directives, variables with initialisers, .entry/.func
// signatures and bodies with nested scopes. Register and body-variable
// names are resolved here, innermost scope first, so inline-asm blocks that
// reuse names like `low`/`high` get distinct registers.
#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include "modnn/cpu/ptx/ptx_ast.h"
#include "modnn/cpu/ptx/ptx_lexer.h"

namespace modnn::ptx {
namespace {

const std::set<std::string, std::less<>>& specialRegisters() {
  static const std::set<std::string, std::less<>> names = [] {
    std::set<std::string, std::less<>> s;
    for (const char* base : {"%tid", "%ntid", "%ctaid", "%nctaid", "%clusterid", "%nclusterid", "%cluster_ctaid",
                             "%cluster_nctaid"})
      for (const char* c : {".x", ".y", ".z"}) s.insert(std::string(base) + c);
    for (const char* n : {"%laneid", "%warpid", "%nwarpid", "%smid", "%nsmid", "%gridid", "%lanemask_eq",
                          "%lanemask_le", "%lanemask_lt", "%lanemask_ge", "%lanemask_gt", "%clock", "%clock_hi",
                          "%clock64", "%globaltimer", "%globaltimer_lo", "%globaltimer_hi", "%dynamic_smem_size",
                          "%total_smem_size", "%aggr_smem_size", "%cluster_ctarank", "%cluster_nctarank",
                          "%is_explicit_cluster", "%reserved_smem_offset_begin", "%reserved_smem_offset_end",
                          "%reserved_smem_offset_cap", "%current_graph_exec"})
      s.insert(n);
    for (int i = 0; i < 32; ++i) s.insert("%envreg" + std::to_string(i));
    for (int i = 0; i < 8; ++i) s.insert("%pm" + std::to_string(i));
    for (int i = 0; i < 8; ++i) s.insert("%pm" + std::to_string(i) + "_64");
    return s;
  }();
  return names;
}

struct RegRange {
  int base;
  uint32_t count;
};

struct Scope {
  std::unordered_map<std::string, int> regs;
  std::unordered_map<std::string, RegRange> ranges;
  std::unordered_map<std::string, int> vars;
};

class Parser {
 public:
  Parser(std::vector<Token>& toks, Module& m) : t_(toks), m_(m) {}

  bool run(std::string& error) {
    bool ok = parseModule();
    if (!ok) error = "line " + std::to_string(errLine_) + ": " + err_;
    return ok;
  }

 private:
  std::vector<Token>& t_;
  Module& m_;
  size_t p_ = 0;
  std::string err_;
  uint32_t errLine_ = 0;
  Function* fn_ = nullptr;
  std::vector<Scope> scopes_;

  const Token& cur() const { return t_[p_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  bool atEnd() const { return cur().kind == TokKind::End; }
  void next() {
    if (!atEnd()) ++p_;
  }
  bool fail(const std::string& msg) {
    if (err_.empty()) {
      err_ = msg;
      errLine_ = cur().line;
    }
    return false;
  }
  bool expect(char c) {
    if (!cur().is(c)) return fail(std::string("expected '") + c + "' near '" + std::string(cur().text) + "'");
    next();
    return true;
  }
  bool accept(char c) {
    if (cur().is(c)) {
      next();
      return true;
    }
    return false;
  }
  bool acceptWord(std::string_view w) {
    if (cur().isWord(w)) {
      next();
      return true;
    }
    return false;
  }
  void skipLine() {
    uint32_t line = cur().line;
    while (!atEnd() && cur().line == line) next();
  }
  void skipStatement() {
    int depth = 0;
    while (!atEnd()) {
      if (cur().is('{')) ++depth;
      if (cur().is('}')) --depth;
      if (cur().is(';') && depth <= 0) {
        next();
        return;
      }
      next();
    }
  }
  bool parseUint(uint64_t& v) {
    if (cur().kind != TokKind::Int) return fail("expected an integer near '" + std::string(cur().text) + "'");
    v = cur().ival;
    next();
    return true;
  }
  bool parseSigned(int64_t& v) {
    bool neg = accept('-');
    uint64_t u;
    if (!parseUint(u)) return false;
    v = int64_t(neg ? 0 - u : u);
    return true;
  }

  // ------------------------------------------------------------ module

  bool parseModule() {
    bool pendingExtern = false;
    while (!atEnd()) {
      const Token& k = cur();
      if (k.is(';')) {
        next();
        continue;
      }
      if (k.kind != TokKind::Word) return fail("unexpected '" + std::string(k.text) + "' at module scope");
      std::string_view w = k.text;
      if (w == ".version") {
        next();
        std::string_view v = cur().text;
        size_t dot = v.find('.');
        if (cur().kind != TokKind::Float || dot == std::string_view::npos) return fail("bad .version");
        uint32_t major = 0, minor = 0;
        for (char c : v.substr(0, dot)) major = major * 10 + uint32_t(c - '0');
        for (char c : v.substr(dot + 1)) minor = minor * 10 + uint32_t(c - '0');
        m_.version = major * 10 + minor;
        next();
      } else if (w == ".target") {
        next();
        uint32_t line = cur().line;
        m_.target = std::string(cur().text);
        while (!atEnd() && cur().line == line && (cur().kind == TokKind::Word || cur().is(','))) next();
      } else if (w == ".address_size") {
        next();
        uint64_t v;
        if (!parseUint(v)) return false;
        m_.addressSize = uint32_t(v);
      } else if (w == ".file" || w == ".loc") {
        skipLine();
      } else if (w == ".section") {
        next();
        while (!atEnd() && !cur().is('{')) next();
        int depth = 0;
        while (!atEnd()) {
          if (cur().is('{')) ++depth;
          if (cur().is('}') && --depth == 0) {
            next();
            break;
          }
          next();
        }
      } else if (w == ".extern") {
        pendingExtern = true;
        next();
      } else if (w == ".visible" || w == ".weak" || w == ".common") {
        next();
      } else if (w == ".entry" || w == ".func") {
        if (!parseFunction(pendingExtern)) return false;
        pendingExtern = false;
      } else if (w == ".global" || w == ".const" || w == ".shared" || w == ".local") {
        std::vector<VarDecl> vars;
        if (!parseVarDecl(vars, pendingExtern)) return false;
        for (auto& v : vars) m_.globals.push_back(std::move(v));
        pendingExtern = false;
      } else if (w == ".alias" || w == ".pragma") {
        skipStatement();
      } else {
        return fail("unknown module directive '" + std::string(w) + "'");
      }
    }
    if (m_.version == 0) return fail("missing .version");
    return true;
  }

  // ------------------------------------------------------------ variables

  static Space spaceOf(std::string_view w) {
    if (w == ".global") return Space::Global;
    if (w == ".const") return Space::Const;
    if (w == ".shared") return Space::Shared;
    if (w == ".local") return Space::Local;
    if (w == ".param") return Space::Param;
    if (w == ".reg") return Space::Reg;
    return Space::Generic;
  }

  // `.space [.align N] [.vN] .type name[dims] [= init] {, name...};`
  bool parseVarDecl(std::vector<VarDecl>& out, bool isExtern) {
    Space space = spaceOf(cur().text);
    next();
    uint32_t align = 0, vec = 1;
    Ty ty = Ty::None;
    bool opaque = false;
    while (cur().kind == TokKind::Word && cur().text[0] == '.') {
      std::string_view w = cur().text;
      if (w == ".align") {
        next();
        uint64_t a;
        if (!parseUint(a)) return false;
        align = uint32_t(a);
      } else if (w == ".v2" || w == ".v4" || w == ".v8") {
        vec = uint32_t(w[2] - '0');
        next();
      } else if (w == ".attribute") {
        next();
        int depth = 0;
        do {
          if (cur().is('(')) ++depth;
          if (cur().is(')')) --depth;
          next();
        } while (!atEnd() && depth > 0);
      } else if (w == ".texref" || w == ".surfref" || w == ".samplerref") {
        opaque = true;
        next();
      } else if (w == ".ptr") {
        next();
      } else {
        Ty t = parseTy(w.substr(1));
        if (t == Ty::None) return fail("unknown variable qualifier '" + std::string(w) + "'");
        ty = t;
        next();
      }
    }
    if (ty == Ty::None && !opaque) return fail("variable without a type");
    for (;;) {
      if (cur().kind != TokKind::Word) return fail("expected a variable name");
      VarDecl v;
      v.name = std::string(cur().text);
      v.line = cur().line;
      v.space = space;
      v.ty = ty;
      v.isExtern = isExtern;
      next();
      uint64_t elem = uint64_t(tySize(ty) ? tySize(ty) : 8) * vec;
      if (ty == Ty::Pred) elem = 1;
      uint64_t count = 1;
      while (accept('[')) {
        if (accept(']')) {
          v.unsizedArray = true;
          continue;
        }
        uint64_t d;
        if (!parseUint(d)) return false;
        if (!expect(']')) return false;
        count *= d;
      }
      v.size = v.unsizedArray ? 0 : elem * count;
      v.align = align ? align : uint32_t(elem);
      if (accept('=')) {
        v.hasInit = true;
        std::vector<uint8_t> bytes;
        if (!parseInit(v, ty, bytes)) return false;
        if (v.unsizedArray && v.size == 0) {
          v.size = bytes.size();
          v.unsizedArray = false;
        }
        bytes.resize(v.size, 0);
        v.init = std::move(bytes);
      }
      out.push_back(std::move(v));
      if (!accept(',')) break;
    }
    return expect(';');
  }

  bool parseInitScalar(VarDecl& v, Ty ty, std::vector<uint8_t>& bytes) {
    uint32_t size = tySize(ty) ? tySize(ty) : 8;
    uint64_t bits = 0;
    bool neg = accept('-');
    if (cur().kind == TokKind::Int) {
      uint64_t iv = neg ? 0 - cur().ival : cur().ival;
      if (ty == Ty::F32) {
        float f = neg ? -float(cur().ival) : float(cur().ival);
        std::memcpy(&bits, &f, 4);
      } else if (ty == Ty::F64) {
        double d = neg ? -double(cur().ival) : double(cur().ival);
        std::memcpy(&bits, &d, 8);
      } else {
        bits = iv;
      }
      next();
    } else if (cur().kind == TokKind::Float) {
      const Token& k = cur();
      double d;
      if (k.hexFloat && k.fwidth == 32) {
        float f;
        uint32_t b = uint32_t(k.fbits);
        std::memcpy(&f, &b, 4);
        d = f;
      } else if (k.hexFloat) {
        std::memcpy(&d, &k.fbits, 8);
      } else {
        d = k.fval;
      }
      if (neg) d = -d;
      if (ty == Ty::F32) {
        float f = float(d);
        std::memcpy(&bits, &f, 4);
      } else if (ty == Ty::F64) {
        std::memcpy(&bits, &d, 8);
      } else if (k.hexFloat && !neg) {
        bits = k.fbits;
      } else {
        bits = uint64_t(int64_t(d));
      }
      next();
    } else if (cur().kind == TokKind::Word) {
      // generic(sym), sym, sym+N
      bool generic = cur().isWord("generic");
      if (generic) {
        next();
        if (!expect('(')) return false;
      }
      if (cur().kind != TokKind::Word) return fail("bad address initialiser");
      InitReloc r;
      r.offset = bytes.size();
      r.symbol = std::string(cur().text);
      r.width = size;
      next();
      if (generic && !expect(')')) return false;
      if (cur().is('+') || cur().is('-')) {
        bool minus = cur().is('-');
        next();
        uint64_t a;
        if (!parseUint(a)) return false;
        r.addend = int64_t(minus ? 0 - a : a);
      }
      v.relocs.push_back(std::move(r));
    } else {
      return fail("bad initialiser near '" + std::string(cur().text) + "'");
    }
    for (uint32_t i = 0; i < size; ++i) bytes.push_back(uint8_t(bits >> (8 * (i % 8))));
    return true;
  }

  bool parseInit(VarDecl& v, Ty ty, std::vector<uint8_t>& bytes) {
    if (accept('{')) {
      if (accept('}')) return true;
      for (;;) {
        if (!parseInit(v, ty, bytes)) return false;
        if (accept(',')) continue;
        return expect('}');
      }
    }
    return parseInitScalar(v, ty, bytes);
  }

  // ------------------------------------------------------------ functions

  bool parseParamList(std::vector<ParamDecl>& out) {
    if (!expect('(')) return false;
    if (accept(')')) return true;
    for (;;) {
      ParamDecl pd;
      if (cur().kind != TokKind::Word) return fail("expected a parameter");
      pd.space = spaceOf(cur().text);
      if (pd.space != Space::Param && pd.space != Space::Reg) return fail("expected .param or .reg");
      next();
      uint32_t vec = 1;
      while (cur().kind == TokKind::Word && cur().text[0] == '.') {
        std::string_view w = cur().text;
        if (w == ".align") {
          next();
          uint64_t a;
          if (!parseUint(a)) return false;
          pd.align = uint32_t(a);
        } else if (w == ".ptr" || w == ".global" || w == ".const" || w == ".shared" || w == ".local") {
          // `.ptr .space .align N` describes the pointee; it's not our alignment.
          bool ptr = w == ".ptr";
          next();
          if (ptr) {
            if (cur().kind == TokKind::Word && spaceOf(cur().text) != Space::Generic) next();
            if (acceptWord(".align")) {
              uint64_t a;
              if (!parseUint(a)) return false;
            }
          }
        } else if (w == ".v2" || w == ".v4") {
          vec = uint32_t(w[2] - '0');
          next();
        } else {
          Ty t = parseTy(w.substr(1));
          if (t == Ty::None) return fail("unknown parameter qualifier '" + std::string(w) + "'");
          pd.ty = t;
          next();
        }
      }
      if (cur().kind != TokKind::Word) return fail("expected a parameter name");
      pd.name = std::string(cur().text);
      next();
      uint64_t count = 1;
      while (accept('[')) {
        uint64_t d = 0;
        if (!cur().is(']') && !parseUint(d)) return false;
        if (!expect(']')) return false;
        count *= d;
      }
      uint32_t elem = (pd.ty == Ty::Pred ? 4 : tySize(pd.ty)) * vec;
      pd.size = uint32_t(elem * count);
      if (!pd.align) pd.align = elem ? elem : 1;
      out.push_back(std::move(pd));
      if (accept(',')) continue;
      return expect(')');
    }
  }

  bool parseFunction(bool isExtern) {
    Function f;
    f.isEntry = cur().isWord(".entry");
    f.isExtern = isExtern;
    f.line = cur().line;
    next();
    if (!f.isEntry && cur().is('(')) {
      if (!parseParamList(f.rets)) return false;
    }
    if (cur().kind != TokKind::Word) return fail("expected a function name");
    f.name = std::string(cur().text);
    next();
    if (cur().is('(') && !parseParamList(f.params)) return false;
    // Performance-tuning and other directives up to the body or ';'.
    while (!atEnd() && !cur().is('{') && !cur().is(';')) {
      std::string_view w = cur().text;
      if (cur().kind != TokKind::Word) return fail("unexpected '" + std::string(w) + "' in function header");
      next();
      uint32_t* dims = w == ".maxntid" ? f.maxntid : w == ".reqntid" ? f.reqntid : nullptr;
      bool cluster = w == ".reqnctapercluster" || w == ".maxclusterrank";
      int idx = 0;
      while (cur().kind == TokKind::Int || cur().is(',')) {
        if (cur().kind == TokKind::Int && dims && idx < 3) dims[idx++] = uint32_t(cur().ival);
        if (cur().kind == TokKind::Int && cluster) f.clusterCtas *= uint32_t(std::max<uint64_t>(cur().ival, 1));
        next();
      }
      if (w == ".pragma") {
        while (cur().kind == TokKind::String) next();
        accept(';');
      }
    }
    if (accept(';')) {
      m_.funcs.push_back(std::move(f));
      return true;
    }
    f.hasBody = true;
    m_.funcs.push_back(std::move(f));
    fn_ = &m_.funcs.back();
    scopes_.clear();
    bool ok = parseBody();
    fn_ = nullptr;
    return ok;
  }

  int addReg(Ty ty, const std::string& name) {
    fn_->regs.push_back(RegDecl{ty, name});
    return int(fn_->regs.size() - 1);
  }

  bool parseRegDecl() {
    next();  // .reg
    Ty ty = Ty::None;
    while (cur().kind == TokKind::Word && cur().text[0] == '.') {
      std::string_view w = cur().text;
      if (w == ".v2" || w == ".v4") return fail("vector registers are not supported");
      Ty t = parseTy(w.substr(1));
      if (t == Ty::None) return fail("unknown register type '" + std::string(w) + "'");
      ty = t;
      next();
    }
    if (ty == Ty::None) return fail("register without a type");
    for (;;) {
      if (cur().kind != TokKind::Word) return fail("expected a register name");
      std::string name(cur().text);
      next();
      if (accept('<')) {
        uint64_t n;
        if (!parseUint(n)) return false;
        if (!expect('>')) return false;
        if (n > (1u << 20)) return fail("too many registers");
        int base = int(fn_->regs.size());
        for (uint64_t i = 0; i < n; ++i) fn_->regs.push_back(RegDecl{ty, name});
        scopes_.back().ranges[name] = RegRange{base, uint32_t(n)};
      } else {
        scopes_.back().regs[name] = addReg(ty, name);
      }
      if (!accept(',')) break;
    }
    return expect(';');
  }

  int lookupReg(std::string_view name) const {
    std::string key(name);
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto r = it->regs.find(key);
      if (r != it->regs.end()) return r->second;
      if (!it->ranges.empty()) {
        size_t d = name.size();
        while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9') --d;
        if (d < name.size() && (name.size() - d == 1 || name[d] != '0')) {
          auto rr = it->ranges.find(std::string(name.substr(0, d)));
          if (rr != it->ranges.end()) {
            uint64_t idx = 0;
            for (char c : name.substr(d)) idx = idx * 10 + uint64_t(c - '0');
            if (idx < rr->second.count) return rr->second.base + int(idx);
          }
        }
      }
    }
    return -1;
  }

  bool lookupVar(std::string_view name, Operand& o) const {
    std::string key(name);
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto r = it->vars.find(key);
      if (r != it->vars.end()) {
        o.symKind = SymKind::BodyVar;
        o.symId = r->second;
        return true;
      }
    }
    for (size_t i = 0; i < fn_->params.size(); ++i)
      if (fn_->params[i].name == name) {
        o.symKind = SymKind::Param;
        o.symId = int(i);
        return true;
      }
    for (size_t i = 0; i < fn_->rets.size(); ++i)
      if (fn_->rets[i].name == name) {
        o.symKind = SymKind::RetParam;
        o.symId = int(i);
        return true;
      }
    return false;
  }

  bool parseBody() {
    if (!expect('{')) return false;
    scopes_.emplace_back();
    // Function parameters declared as .reg are registers.
    for (auto& pd : fn_->params)
      if (pd.space == Space::Reg) scopes_.back().regs[pd.name] = addReg(pd.ty, pd.name);
    for (auto& pd : fn_->rets)
      if (pd.space == Space::Reg) scopes_.back().regs[pd.name] = addReg(pd.ty, pd.name);
    while (!atEnd()) {
      const Token& k = cur();
      if (k.is('{')) {
        next();
        scopes_.emplace_back();
        continue;
      }
      if (k.is('}')) {
        next();
        scopes_.pop_back();
        if (scopes_.empty()) return true;
        continue;
      }
      if (k.is(';')) {
        next();
        continue;
      }
      if (k.is('@')) {
        if (!parseInstruction()) return false;
        continue;
      }
      if (k.kind != TokKind::Word) return fail("unexpected '" + std::string(k.text) + "' in function body");
      std::string_view w = k.text;
      if (w == ".reg") {
        if (!parseRegDecl()) return false;
      } else if (w == ".local" || w == ".shared" || w == ".param" || w == ".const" || w == ".global") {
        std::vector<VarDecl> vars;
        if (!parseVarDecl(vars, false)) return false;
        for (auto& v : vars) {
          fn_->vars.push_back(std::move(v));
          scopes_.back().vars[fn_->vars.back().name] = int(fn_->vars.size() - 1);
        }
      } else if (w == ".pragma") {
        skipStatement();
      } else if (w == ".loc" || w == ".file") {
        skipLine();
      } else if (peek().is(':')) {
        std::string label(w);
        next();
        next();
        if (cur().isWord(".branchtargets")) {
          next();
          std::vector<std::string> targets;
          while (cur().kind == TokKind::Word) {
            targets.emplace_back(cur().text);
            next();
            if (!accept(',')) break;
          }
          if (!expect(';')) return false;
          fn_->branchTables[label] = std::move(targets);
        } else if (cur().isWord(".callprototype")) {
          skipStatement();
        } else {
          fn_->labels[label] = uint32_t(fn_->code.size());
        }
      } else if (w[0] == '.') {
        return fail("unknown directive '" + std::string(w) + "' in function body");
      } else {
        if (!parseInstruction()) return false;
      }
    }
    return fail("unterminated function body");
  }

  bool parseWordOperand(Operand& o) {
    std::string_view w = cur().text;
    if (w == "_") {
      o.kind = OpKind::Sink;
      next();
      return true;
    }
    int r = lookupReg(w);
    if (r >= 0) {
      o.kind = OpKind::Reg;
      o.reg = r;
      next();
      return true;
    }
    if (w[0] == '%') {
      if (specialRegisters().count(w) || w.rfind("%reserved_smem_offset", 0) == 0 || w.rfind("%envreg", 0) == 0) {
        o.kind = OpKind::Special;
        o.name = std::string(w);
        next();
        return true;
      }
      // %SP-like names are declared; anything else is an error.
      return fail("undeclared register '" + std::string(w) + "'");
    }
    o.kind = OpKind::Sym;
    o.name = std::string(w);
    lookupVar(w, o);
    next();
    if (cur().is('+') && peek().kind == TokKind::Int) {
      next();
      o.offset = int64_t(cur().ival);
      next();
    }
    return true;
  }

  bool parseOperand(Operand& o) {
    if (accept('!')) o.neg = true;
    const Token& k = cur();
    if (k.is('[')) {
      next();
      o.kind = OpKind::Addr;
      if (cur().kind == TokKind::Word) {
        Operand base;
        if (!parseWordOperand(base)) return false;
        if (base.kind == OpKind::Reg) {
          o.addrHasReg = true;
          o.reg = base.reg;
        } else if (base.kind == OpKind::Sym) {
          o.addrHasSym = true;
          o.name = base.name;
          o.symKind = base.symKind;
          o.symId = base.symId;
          o.offset = base.offset;
        } else {
          return fail("bad address base");
        }
        while (cur().is('+') || cur().is('-')) {
          bool minus = cur().is('-');
          next();
          int64_t v;
          if (!parseSigned(v)) return false;
          o.offset = int64_t(uint64_t(o.offset) + (minus ? 0 - uint64_t(v) : uint64_t(v)));
        }
      } else {
        int64_t v;
        if (!parseSigned(v)) return false;
        o.offset = v;
      }
      return expect(']');
    }
    if (k.is('{') || k.is('(')) {
      char close = k.is('{') ? '}' : ')';
      o.kind = OpKind::Vec;
      o.paren = k.is('(');
      next();
      if (accept(close)) return true;
      for (;;) {
        Operand e;
        if (!parseOperand(e)) return false;
        o.elems.push_back(std::move(e));
        if (accept(',')) continue;
        return expect(close);
      }
    }
    if (k.is('-') || k.kind == TokKind::Int || k.kind == TokKind::Float) {
      bool neg = accept('-');
      const Token& n = cur();
      if (n.kind == TokKind::Int) {
        o.kind = OpKind::Int;
        o.ival = neg ? 0 - n.ival : n.ival;
      } else if (n.kind == TokKind::Float) {
        o.kind = OpKind::Float;
        o.hexFloat = n.hexFloat;
        o.fwidth = n.fwidth;
        o.fbits = n.fbits;
        o.fval = neg ? -n.fval : n.fval;
        if (neg && n.hexFloat) o.fbits ^= n.fwidth == 32 ? 0x80000000ull : 0x8000000000000000ull;
      } else {
        return fail("expected a number after '-'");
      }
      next();
      return true;
    }
    if (k.kind == TokKind::Word) {
      if (!parseWordOperand(o)) return false;
      if (o.kind == OpKind::Reg && cur().is('|')) {
        next();
        Operand q;
        if (!parseWordOperand(q) || q.kind != OpKind::Reg) return fail("bad register pair");
        o.reg2 = q.reg;
      }
      return true;
    }
    return fail("unexpected '" + std::string(k.text) + "' in operand");
  }

  bool parseInstruction() {
    Instr in;
    in.line = cur().line;
    if (accept('@')) {
      in.guardNeg = accept('!');
      if (cur().kind != TokKind::Word) return fail("expected a guard predicate");
      int r = lookupReg(cur().text);
      if (r < 0) return fail("undeclared predicate '" + std::string(cur().text) + "'");
      in.guard = r;
      next();
    }
    if (cur().kind != TokKind::Word) return fail("expected an instruction");
    in.opcode = std::string(cur().text);
    next();
    bool ok = true;
    if (!accept(';')) {
      for (;;) {
        Operand o;
        if (!parseOperand(o)) {
          ok = false;
          break;
        }
        in.ops.push_back(std::move(o));
        if (accept(',')) continue;
        if (accept(';')) break;
        ok = fail("expected ',' or ';' after operand near '" + std::string(cur().text) + "'");
        break;
      }
    }
    if (!ok) {
      // Operand syntax this parser does not know (texture coordinates, video
      // selectors ...) makes only this instruction unusable.
      in.parseError = err_;
      in.ops.clear();
      err_.clear();
      skipStatement();
    }
    fn_->code.push_back(std::move(in));
    return true;
  }
};

}  // namespace

bool parseModule(std::string_view src, Module& out, std::string& error) {
  std::vector<Token> toks;
  if (!tokenize(src, toks, error)) return false;
  Parser p(toks, out);
  return p.run(error);
}

}  // namespace modnn::ptx
