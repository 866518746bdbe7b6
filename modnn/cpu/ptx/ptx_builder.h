// Program construction state shared by the decoder and the family
// selectors: register-file and lane-private layout of every function a
// kernel reaches, the constant pool, special registers, shared-memory
// layout, and fixups resolved once all functions are decoded.
#pragma once
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "modnn/cpu/ptx/ptx_ast.h"
#include "modnn/cpu/ptx/ptx_ir.h"

namespace modnn::ptx {

struct FuncState {
  const Function* fn = nullptr;
  std::vector<uint32_t> regOff;    // register id -> register-file offset
  std::vector<uint32_t> paramPriv; // .func formal parameters -> lane-private offset
  std::vector<uint32_t> retPriv;
  std::vector<int64_t> varOff;     // body variable -> shared or lane-private offset
  uint32_t codeBase = 0;
  std::vector<uint32_t> pcOfInstr; // PTX instruction index -> first pc
  std::vector<std::pair<uint32_t, uint32_t>> branchFixups;  // (pc, PTX instruction index)
  std::vector<std::pair<uint32_t*, uint32_t>> tableFixups;  // (slot, PTX instruction index)
};

class ProgramBuilder {
 public:
  ProgramBuilder(const Module& m, Program& p) : mod(m), prog(p) {}

  const Module& mod;
  Program& prog;
  std::map<std::string, const Function*, std::less<>> funcs;
  std::map<std::string, const VarDecl*, std::less<>> globals;
  std::map<const Function*, FuncState> states;
  std::map<std::string, uint32_t, std::less<>> sharedOff;  // module-scope shared variables
  std::map<std::string, uint32_t, std::less<>> localOff;   // module-scope local variables
  std::map<std::tuple<uint32_t, uint64_t, int>, uint32_t> consts;
  std::map<std::pair<SpecialKind, uint32_t>, uint32_t> specials;
  std::map<std::string, int, std::less<>> symbolIndex;
  std::vector<std::pair<uint32_t, const Function*>> callFixups;  // (pc, callee)
  std::vector<std::pair<uint32_t*, const Function*>> entryFixups;  // indirect-call targets
  std::vector<const Function*> addressTaken;                        // possible indirect callees
  std::map<std::string, uint32_t, std::less<>> funcIndex;           // module position of each .func
  uint32_t slots = 1;
  uint32_t carry = kNoReg;

  uint32_t allocReg(uint32_t laneBytes);  // laneBytes 0: a predicate mask
  uint32_t allocPriv(uint32_t size, uint32_t align);
  uint32_t constant(uint64_t value, uint32_t size, int symbol = -1);
  uint32_t special(SpecialKind k, uint32_t size);
  int symbol(const std::string& name);
};

}  // namespace modnn::ptx
