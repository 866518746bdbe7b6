// Executable form of a kernel: a flat array of instructions for the entry
// function and every function it calls, with registers resolved to byte
// offsets in a per-warp register file. Each register occupies one array of
// 32 lane values ([reg][lane]); a predicate register is one 32-bit lane
// mask. Immediates and symbol addresses live in constant registers filled
// once per launch, special registers (%tid.x ...) in registers filled at
// warp or block start, so every handler reads plain lane arrays.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "modnn/status.h"

namespace modnn::ptx {

constexpr uint32_t kLanes = 32;
constexpr uint32_t kFullMask = 0xffffffffu;
constexpr uint32_t kNoReg = 0xffffffffu;
constexpr uint32_t kNoPc = 0xffffffffu;

// Generic address windows. Client device pointers are user-space addresses
// (below 2^47), so these never collide with them.
constexpr uint64_t kPrivateGlobalWindow = 0xE000000000000000ull;  // module-private globals, heap
constexpr uint64_t kSharedWindow = 0xF000000000000000ull;
constexpr uint64_t kLocalWindow = 0xF100000000000000ull;
constexpr uint64_t kParamWindow = 0xF200000000000000ull;
// A .func's address (function pointers, vtables): window + 16 * its index in the module.
constexpr uint64_t kFunctionWindow = 0xF300000000000000ull;
constexpr uint64_t kWindowSize = 1ull << 32;

struct Warp;
struct Inst;

// Runs one instruction for the lanes in `mask`; returns MODNN_OK or the
// fault that ends the launch.
using Handler = modnn_status (*)(Warp& w, const Inst& in, uint32_t mask);

enum class Flow : uint8_t {
  Plain,      // handler, then pc + 1
  Branch,     // imm = target pc; guard decides per lane
  BranchIdx,  // brx.idx: r[0] index register, ext = target pc table
  Exit,       // exit, or ret from the entry function
  Ret,        // ret from a .func
  Call,       // ext = CallInfo
  CallIndirect,  // r[0] function address register; ext = IndirectCall
  Barrier,    // bar/barrier: aux = BarrierKind
  WarpSync,   // handler needs every member lane converged; r[5] = member mask
  Yielding,   // handler, then pc + 1; the warp yields when the handler asks (a failed wait)
};

enum BarrierKind : uint32_t { kBarSync = 0, kBarArrive = 1, kBarRedPopc = 2, kBarRedAnd = 3, kBarRedOr = 4 };

struct Inst {
  Handler fn = nullptr;
  uint32_t guard = kNoReg;   // predicate register offset
  uint8_t guardNeg = 0;
  Flow flow = Flow::Plain;
  uint16_t slot = 0;         // per-instruction address-translation cache slot
  uint32_t r[6] = {kNoReg, kNoReg, kNoReg, kNoReg, kNoReg, kNoReg};
  uint32_t n = 0;            // element count (vectors) or size
  uint32_t aux = 0;          // family-specific selector (comparison, mode ...)
  int64_t imm = 0;           // address offset, branch target, constant
  const void* ext = nullptr; // family-specific data owned by the Program
  uint32_t line = 0;         // PTX source line
};

// Copies between a caller's call-sequence .param variables and a callee's
// formal parameters, both in lane-private memory.
struct ParamCopy {
  uint32_t from, to, size;
};

struct CallInfo {
  uint32_t target = kNoPc;   // callee entry pc
  std::vector<ParamCopy> args;
  std::vector<ParamCopy> rets;  // applied by the return landing instruction
};

// An indirect call site: every function whose address the module takes
// and whose signature fits, with the copies for each. The return stack
// remembers which entry a lane called (see kRetSlotShift).
struct IndirectCall {
  struct Target {
    uint32_t funcIndex;
    CallInfo info;
  };
  std::vector<Target> targets;
};

// Return-stack entries: return pc in the low bits, indirect target slot above.
constexpr uint32_t kRetSlotShift = 24;
constexpr uint32_t kRetPcMask = (1u << kRetSlotShift) - 1;

// A constant register: 32 lanes of `value`, or of a module symbol's address
// (resolved per loaded instance) plus `value`.
struct ConstInit {
  uint32_t offset = 0;
  uint32_t size = 4;
  int symbol = -1;           // index into Program::symbols, or -1
  uint64_t value = 0;
};

enum class SpecialKind : uint8_t {
  TidX, TidY, TidZ, NtidX, NtidY, NtidZ, CtaidX, CtaidY, CtaidZ, NctaidX, NctaidY, NctaidZ,
  LaneId, WarpId, NWarpId, SmId, NSmId, GridId, LaneMaskEq, LaneMaskLe, LaneMaskLt, LaneMaskGe, LaneMaskGt,
  DynSmem, TotalSmem, Zero, One, Count
};

struct SpecialInit {
  uint32_t offset;
  uint32_t size;  // 4 or 8
  SpecialKind kind;
};

struct KernelParamLayout {
  uint32_t offset, size, align;
};

struct Program {
  std::string name;
  std::vector<Inst> code;
  uint32_t regBytes = 0;            // register file bytes per warp
  std::vector<ConstInit> consts;
  std::vector<SpecialInit> specials;
  std::vector<std::string> symbols; // module symbols whose addresses constants use
  uint32_t privBytes = 0;           // lane-private bytes (local memory + call frames)
  uint32_t staticShared = 0;        // bytes before the dynamic shared area
  uint32_t memSlots = 1;
  uint32_t maxDepth = 0;            // deepest call chain
  std::vector<KernelParamLayout> params;
  uint32_t paramBytes = 0;
  uint32_t maxntid[3] = {0, 0, 0};
  uint32_t reqntid[3] = {0, 0, 0};
  bool usesMalloc = false;          // calls the device malloc builtin
  std::string unsupported;          // why this kernel cannot run; empty when it can
  std::vector<std::shared_ptr<void>> owned;  // ext data
};

}  // namespace modnn::ptx
