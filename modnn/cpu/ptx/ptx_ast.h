// The parsed form of a PTX module: declarations and instructions with every
// register name resolved to a function-local register id, and every
// body-scoped variable (call-sequence .param, .local, .shared) resolved to
// a function-local variable id. Nothing here is executable yet; the decoder
// turns it into IR.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "modnn/cpu/ptx/ptx_types.h"

namespace modnn::ptx {

enum class Space : uint8_t { Generic, Global, Shared, Local, Const, Param, Reg };

// A relocation in an initialiser: `width` bytes at `offset` receive the
// address of `symbol` plus `addend` (generic() and plain forms are the same
// for global and const variables).
struct InitReloc {
  uint64_t offset = 0;
  std::string symbol;
  int64_t addend = 0;
  uint32_t width = 8;
};

struct VarDecl {
  std::string name;
  Space space = Space::Global;
  Ty ty = Ty::None;          // element type; None for .texref/.surfref/.samplerref
  uint32_t align = 0;        // bytes; 0 = natural
  uint64_t size = 0;         // total bytes
  bool unsizedArray = false; // `name[]`: extern dynamic shared, or sized by init
  bool isExtern = false;
  bool hasInit = false;
  std::vector<uint8_t> init; // initial bytes (size bytes when hasInit)
  std::vector<InitReloc> relocs;
  uint32_t line = 0;
};

struct ParamDecl {
  std::string name;
  Ty ty = Ty::None;
  uint32_t size = 0;   // bytes
  uint32_t align = 0;  // bytes
  Space space = Space::Param;
};

struct RegDecl {
  Ty ty = Ty::None;
  std::string name;  // first name, for messages
};

enum class OpKind : uint8_t {
  Reg,      // reg: register id; reg2 >= 0 for the `d|p` pair form
  Special,  // name: %tid.x and friends
  Int,      // ival
  Float,    // fbits (hexFloat, fwidth 32/64) or fval
  Sym,      // name, with symKind/symId when it resolved inside the function
  Addr,     // [base + offset]: base is a Reg (reg), a Sym (name...), or absent
  Vec,      // { a, b, ... } or ( a, b, ... ) when paren
  Sink,     // `_`
};

enum class SymKind : uint8_t { Module, BodyVar, Param, RetParam };

struct Operand {
  OpKind kind = OpKind::Int;
  bool neg = false;          // `!%p`
  int reg = -1;
  int reg2 = -1;
  std::string name;
  SymKind symKind = SymKind::Module;
  int symId = -1;
  bool addrHasReg = false;
  bool addrHasSym = false;
  int64_t offset = 0;        // Addr offset, or Sym+offset
  uint64_t ival = 0;
  double fval = 0;
  uint64_t fbits = 0;
  uint8_t fwidth = 0;
  bool hexFloat = false;
  bool paren = false;
  std::vector<Operand> elems;
};

struct Instr {
  std::string opcode;        // full dotted opcode, e.g. "ld.global.nc.v4.f32"
  int guard = -1;            // predicate register id
  bool guardNeg = false;
  std::vector<Operand> ops;
  uint32_t line = 0;
  std::string parseError;    // operands that could not be parsed; the kernel cannot run
};

struct Function {
  std::string name;
  bool isEntry = false;
  bool hasBody = false;
  bool isExtern = false;
  std::vector<ParamDecl> params;
  std::vector<ParamDecl> rets;
  std::vector<RegDecl> regs;          // by register id
  std::vector<VarDecl> vars;          // body variables by id
  std::vector<Instr> code;
  std::map<std::string, uint32_t> labels;  // label -> index of the next instruction
  std::map<std::string, std::vector<std::string>> branchTables;
  uint32_t maxntid[3] = {0, 0, 0};
  uint32_t reqntid[3] = {0, 0, 0};
  uint32_t clusterCtas = 1;  // product of .reqnctapercluster / .maxclusterrank
  uint32_t line = 0;
};

struct Module {
  uint32_t version = 0;      // major*10 + minor
  std::string target;        // e.g. "sm_90"
  uint32_t addressSize = 64;
  std::vector<VarDecl> globals;
  std::vector<Function> funcs;
};

// Parses `src`. Returns false with `error` set ("line N: ...") on a syntax
// error. Instructions are not checked here.
bool parseModule(std::string_view src, Module& out, std::string& error);

}  // namespace modnn::ptx
