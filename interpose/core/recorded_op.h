// Recorded ops: what an asynchronous call leaves in the client's queue.
// Each holds the allocations it touches, so a racing cudaFree cannot pull a
// buffer out from under queued work.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "interpose/core/allocation_table.h"
#include "interpose/core/module_registry.h"
#include "interpose/core/plan_tag.h"
#include "modnn/backend.h"
#include "modnn/ops.h"

namespace moai {

struct Stream;
struct Event;

struct Dim3 {
  uint32_t x = 1, y = 1, z = 1;
};

struct Endpoint {
  std::shared_ptr<Allocation> alloc;  // null: host memory at `host`
  uint64_t offset = 0;
  uint8_t* host = nullptr;
};
struct CopyOp {
  Endpoint dst, src;
  size_t width = 0, height = 1, dpitch = 0, spitch = 0;
  std::unique_ptr<uint8_t[]> staged;  // pageable source captured at call time
};
struct FillOp {
  Endpoint dst;
  size_t width = 0, height = 1, pitch = 0;
  uint32_t value = 0, elem_size = 1;
};
struct LaunchOp {
  ModuleRecord* module = nullptr;
  std::string kernel;
  Dim3 grid, block;
  uint32_t dynamic_shared = 0;
  std::vector<uint8_t> params;
  std::vector<std::shared_ptr<Allocation>> keep_alive;
};
// The launch as a device takes it (pointing into `op`, which must outlive it).
inline modnn_kernel_launch launchOf(const LaunchOp& op) {
  modnn_kernel_launch l{};
  l.struct_size = sizeof l;
  l.module = op.module ? op.module->loaded : nullptr;
  l.kernel_name = op.kernel.c_str();
  l.grid[0] = op.grid.x, l.grid[1] = op.grid.y, l.grid[2] = op.grid.z;
  l.block[0] = op.block.x, l.block[1] = op.block.y, l.block[2] = op.block.z;
  l.dynamic_shared_bytes = op.dynamic_shared;
  l.params = op.params.data();
  l.param_bytes = uint32_t(op.params.size());
  return l;
}

struct EventOp {
  Event* event = nullptr;
  uint64_t generation = 0;
};
struct HostFuncOp {
  void (*fn)(void*) = nullptr;
  void* user = nullptr;
};
struct ModnnOp {
  modnn_op op{};
  std::vector<std::shared_ptr<Allocation>> keep_alive;
};

// A point in a stream's order: "the op numbered seq on stream".
struct StreamPos {
  Stream* stream = nullptr;
  uint64_t seq = 0;
};

// Does nothing itself; it exists for its dependencies (cudaStreamWaitEvent).
struct WaitOp {};

struct RecordedOp {
  uint64_t seq = 0;                // position in its stream, from 1
  std::vector<StreamPos> deps;     // ops of other streams that must finish first
  std::variant<CopyOp, FillOp, LaunchOp, ModnnOp, EventOp, HostFuncOp, WaitOp> body;
  PlanTag plan;                    // MOAI_PLAN_REPORT / several devices: see segment_planner.h
};

}  // namespace moai
