// What an instruction-family selector sees while decoding one PTX
// instruction: the split opcode, operand helpers that resolve registers,
// immediates, special registers and symbols to register-file offsets, and
// emit(). A selector either emits IR or calls fail() with the reason; a
// qualifier it did not take() makes the instruction unsupported, so an
// unknown modifier can never be silently ignored.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "modnn/cpu/ptx/ptx_ast.h"
#include "modnn/cpu/ptx/ptx_ir.h"

namespace modnn::ptx {

struct OpSpec {
  std::string base;
  std::vector<std::string> mods;
  std::vector<uint8_t> used;
  std::vector<Ty> types;

  static OpSpec parse(std::string_view opcode);
  bool has(std::string_view m) const;
  bool take(std::string_view m);           // true when present; marks it used
  // Takes the first present of `options`; returns its index or -1.
  int takeOne(std::initializer_list<std::string_view> options);
  std::string leftover() const;            // first unused modifier, or ""
  Ty type(size_t i = 0) const { return i < types.size() ? types[i] : Ty::None; }
};

class ProgramBuilder;
struct FuncState;

// A resolved memory operand: address = lanes of `reg` (kNoReg: none) + imm.
struct AddrRef {
  uint32_t reg = kNoReg;
  uint32_t regSize = 8;
  int64_t imm = 0;
  Space symSpace = Space::Generic;  // where a symbol base lives (Generic: register or absolute)
  bool kernelParam = false;         // imm is an offset in the kernel parameter buffer
  bool priv = false;                // imm is a lane-private offset (local, func params)
};

class DecodeCtx {
 public:
  DecodeCtx(ProgramBuilder& pb, const Module& mod, const Function& fn, FuncState& fs, const Instr& ins);

  ProgramBuilder& pb;
  const Module& mod;
  const Function& fn;
  FuncState& fs;
  const Instr& ins;
  OpSpec spec;
  std::string why;

  bool fail(const std::string& reason);
  size_t count() const { return ins.ops.size(); }
  const Operand& op(size_t i) const { return ins.ops[i]; }
  bool want(size_t n);  // exactly n operands

  // Register operand (no immediates) whose register is exactly the size of
  // `ty` (a predicate for Ty::Pred); with `wider`, a larger register is fine.
  bool reg(size_t i, Ty ty, uint32_t& off, bool wider = false);
  bool reg(const Operand& o, Ty ty, uint32_t& off, bool wider = false);
  bool dst(size_t i, Ty ty, uint32_t& off) { return reg(i, ty, off); }
  // Source: register, immediate, special register or symbol address.
  bool src(size_t i, Ty ty, uint32_t& off, bool wider = false);
  bool src(const Operand& o, Ty ty, uint32_t& off, bool wider = false);
  // Predicate source; `neg` reports a leading '!'.
  bool pred(size_t i, uint32_t& off, bool& neg);
  uint32_t regSizeOf(const Operand& o) const;  // bytes, 0 for predicates and non-registers
  Ty regTyOf(const Operand& o) const;
  bool addr(size_t i, Space space, AddrRef& out);
  // Value of a symbol (or symbol+offset) operand as an address in `space`.
  bool symbolValue(const Operand& o, uint64_t& value, int& symbol, Space& where);

  uint32_t constant(uint64_t value, uint32_t size);
  uint32_t zeroReg();
  uint32_t newSlot();
  uint32_t carryReg();  // the per-lane carry flag of add.cc/addc/sub.cc/mad.cc
  // An Inst carrying this instruction's guard and line.
  Inst make(Handler fn) const;
  void emit(const Inst& in);
  // Registers data owned by the program for Inst::ext.
  template <class T>
  T* own(T value) {
    auto p = std::make_shared<T>(std::move(value));
    keep(p);
    return p.get();
  }
  void keep(std::shared_ptr<void> p);
  // Records that the branch just emitted goes to `label`.
  bool branchTo(const std::string& label);
};

using Selector = bool (*)(DecodeCtx& c);

// Family registries: each adds its base opcodes.
using SelectorTable = std::map<std::string, Selector, std::less<>>;
void registerIntOps(SelectorTable& t);
void registerFloatOps(SelectorTable& t);
void registerHalfOps(SelectorTable& t);
void registerConvertOps(SelectorTable& t);
void registerCompareOps(SelectorTable& t);
bool selBarWarpSync(DecodeCtx& c);
bool selHalfSet(DecodeCtx& c);  // set with f16/bf16 sources, reached through "set"  // bar.warp.sync, reached through "bar"
void registerMemoryOps(SelectorTable& t);
void registerAtomicOps(SelectorTable& t);
void registerWarpOps(SelectorTable& t);
void registerControlOps(SelectorTable& t);
void registerMbarrierOps(SelectorTable& t);
bool selCpAsyncMbarrierArrive(DecodeCtx& c);  // reached through "cp"

// Builds the executable program of kernel `entry`. A kernel that uses
// something the engine does not know gets `unsupported` set instead.
void buildProgram(const Module& mod, const Function& entry, Program& out);

}  // namespace modnn::ptx
