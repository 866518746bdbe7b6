// Runtime state of a launch as the instruction handlers see it: the warp
// (register file, lane masks, per-lane PCs), its block (shared memory,
// barriers), the worker thread running the block, and what all workers of
// a launch share (program, buffers, parameters). Also the inline helpers
// handlers use: lane loops and address translation with a per-instruction
// last-hit cache.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "modnn/cpu/ptx/ptx_ir.h"

namespace modnn::ptx {

// One buffer the kernel may touch: [va, va + size) lives at host.
struct BufferEntry {
  uint64_t va;
  uint64_t size;
  uint8_t* host;
};

// Immutable, sorted by va; shared with the device's table.
using BufferSnapshot = std::shared_ptr<const std::vector<BufferEntry>>;

// Device-side services a launch may call (device malloc).
struct DeviceHeap {
  virtual ~DeviceHeap() = default;
  virtual uint64_t allocate(uint64_t size) = 0;  // device va, or 0
  virtual void release(uint64_t va) = 0;
};

struct LaunchShared {
  const Program* prog = nullptr;
  std::vector<uint64_t> symbolVa;  // Program::symbols resolved for the module instance
  BufferSnapshot buffers;
  const uint8_t* params = nullptr;
  uint32_t paramBytes = 0;
  uint32_t grid[3] = {1, 1, 1};
  uint32_t block[3] = {1, 1, 1};
  uint32_t threadsPerBlock = 1;
  uint32_t warpsPerBlock = 1;
  uint32_t dynShared = 0;
  uint32_t sharedBytes = 0;
  uint64_t totalBlocks = 1;  // blocks run: nextBlock (initially the first) up to this one
  DeviceHeap* heap = nullptr;
  std::atomic<uint64_t> nextBlock{0};
  std::atomic<uint64_t> threadInstructions{0};  // lanes x instructions executed (for MOAI_PTX_STATS)
  std::atomic<int> status{MODNN_OK};
  std::mutex outMu;
  std::vector<std::pair<uint64_t, std::string>> printfOut;  // (block, text)
  bool quiet = false;  // printf output is dropped (a replica's)
  std::string faultMessage;                                  // first fault, for the log

  void fail(modnn_status st, const std::string& why) {
    int expected = MODNN_OK;
    if (status.compare_exchange_strong(expected, int(st))) {
      std::lock_guard<std::mutex> lock(outMu);
      faultMessage = why;
    }
  }
};

// Last buffer an instruction hit: va - lo < len means host = va + delta.
struct MemCache {
  uint64_t lo = 0;
  uint64_t len = 0;
  int64_t delta = 0;
};

struct Worker;
struct Block;

struct Warp {
  uint8_t* rf = nullptr;        // register file
  uint8_t* priv = nullptr;      // lane-private memory, lane-major
  uint32_t privStride = 0;
  uint32_t* retStack = nullptr; // [lane][maxDepth]
  Worker* wk = nullptr;
  Block* blk = nullptr;
  const LaunchShared* L = nullptr;
  uint32_t index = 0;           // warp index within the block
  uint32_t pc = 0;
  uint64_t threadInstructions = 0;  // lanes x plain instructions run, for MOAI_PTX_STATS
  uint32_t active = 0;          // lanes executing now
  uint32_t alive = 0;           // lanes that exist and have not exited
  uint32_t barBlocked = 0;      // lanes waiting at a CTA barrier
  uint32_t parked = 0;          // lanes waiting for members of a warp-sync op
  uint32_t released = 0;        // lanes released from a barrier, to complete it
  uint32_t nextWaitPc = kNoPc;  // lowest pc another lane group waits at
  uint32_t spin = 0;            // backward branches taken while diverged
  bool forceSync = false;       // run the next warp-sync op with whoever is there
  bool starve = false;          // schedule above the current pc once
  bool wholeAtBarrier = false;  // every live lane waits at the barrier at pc (lanePc unused)
  bool yieldNow = false;        // set by a Yielding handler: let other warps run
  uint32_t lanePc[kLanes];
  uint32_t barResult[kLanes];
  uint8_t depth[kLanes];
  uint8_t retSlot[kLanes];      // indirect-call target slot of the last return
  uint32_t barMask[16];         // lanes waiting at each barrier
};

struct BarrierState {
  uint32_t arrived = 0;
  uint32_t expected = 0;  // 0: every live thread of the block
  uint32_t popc = 0;
  bool all = true;
  bool any = false;
  bool hasWaiters = false;
};

struct Block {
  uint32_t ctaid[3] = {0, 0, 0};
  uint64_t linear = 0;
  uint8_t* shared = nullptr;
  uint32_t sharedSize = 0;
  uint32_t aliveThreads = 0;
  BarrierState bars[16];
};

// Grow-only 64-byte aligned storage.
struct AlignedBuffer {
  std::unique_ptr<uint8_t[]> raw;
  uint8_t* data = nullptr;
  size_t capacity = 0;
  uint8_t* ensure(size_t n) {
    if (n > capacity || !data) {
      raw.reset(new uint8_t[n + 64]);
      data = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(raw.get()) + 63) & ~uintptr_t(63));
      capacity = n;
    }
    return data;
  }
};

// One host thread's execution context, reused across blocks and launches.
struct Worker {
  int index = 0;
  LaunchShared* L = nullptr;
  std::vector<MemCache> caches;
  AlignedBuffer regs, priv, shared;
  std::vector<uint32_t> retStore;
  std::vector<Warp> warps;
  std::vector<SpecialInit> blockSpecials;  // registers rewritten per block (%ctaid)
  Block block;
  std::string printfBuf;
};

template <class T>
inline T* R(Warp& w, uint32_t off) {
  return reinterpret_cast<T*>(w.rf + off);
}
inline uint32_t& P(Warp& w, uint32_t off) { return *reinterpret_cast<uint32_t*>(w.rf + off); }

// Writes f(lane) to the lanes of `m`; f runs for all 32 lanes, so it must
// be safe on inactive lanes' (arbitrary) register values.
template <class T, class F>
inline void lanesOut(T* d, uint32_t m, F&& f) {
  alignas(64) T tmp[kLanes];
  for (uint32_t l = 0; l < kLanes; ++l) tmp[l] = f(l);
  if (m == kFullMask) {
    std::memcpy(d, tmp, sizeof tmp);
  } else {
    for (uint32_t l = 0; l < kLanes; ++l) d[l] = (m >> l & 1) ? tmp[l] : d[l];
  }
}

// Runs f(lane) for each lane of `m`, in ascending lane order.
template <class F>
inline void eachLane(uint32_t m, F&& f) {
  if (m == kFullMask) {
    for (uint32_t l = 0; l < kLanes; ++l) f(l);
  } else {
    while (m) {
      uint32_t l = uint32_t(__builtin_ctz(m));
      m &= m - 1;
      f(l);
    }
  }
}

// Merges a predicate result into the lanes of `m`.
inline void setPred(Warp& w, uint32_t off, uint32_t value, uint32_t m) {
  uint32_t& p = P(w, off);
  p = (p & ~m) | (value & m);
}

// ---- address translation -------------------------------------------------

enum class AccessKind : uint8_t { Read, Write };

// Resolves a generic (or .global / .const when globalOnly) address for
// `lane`; refreshes `c` when the hit is cacheable. Returns nullptr after
// recording a fault in the launch.
uint8_t* translateSlow(Warp& w, uint64_t a, uint32_t size, MemCache& c, uint32_t lane, bool globalOnly,
                       AccessKind kind);

inline uint8_t* translate(Warp& w, uint64_t a, uint32_t size, MemCache& c, uint32_t lane, bool globalOnly,
                          AccessKind kind) {
  if (a - c.lo < c.len && (a & (size - 1)) == 0) [[likely]]
    return reinterpret_cast<uint8_t*>(a + uint64_t(c.delta));
  return translateSlow(w, a, size, c, lane, globalOnly, kind);
}

// Shared-space offset check; nullptr after recording a fault.
uint8_t* sharedFault(Warp& w, uint64_t off, uint32_t size, uint32_t lane);
inline uint8_t* sharedAt(Warp& w, uint64_t off, uint32_t size, uint32_t lane) {
  if (off + size <= w.blk->sharedSize && (off & (size - 1)) == 0) [[likely]]
    return w.blk->shared + off;
  return sharedFault(w, off, size, lane);
}

// Local-space (lane-private) offset check; nullptr after recording a fault.
uint8_t* localFault(Warp& w, uint64_t off, uint32_t size, uint32_t lane);
inline uint8_t* localAt(Warp& w, uint64_t off, uint32_t size, uint32_t lane) {
  if (off + size <= w.privStride && (off & (size - 1)) == 0) [[likely]]
    return w.priv + size_t(lane) * w.privStride + off;
  return localFault(w, off, size, lane);
}

// Records a fault at the current instruction; returns its status.
modnn_status fault(Warp& w, modnn_status st, const std::string& what);

inline MemCache& cacheOf(Warp& w, const Inst& in) { return w.wk->caches[in.slot]; }

// Where a memory instruction's address points.
enum class MemSpace : uint8_t { Global, Generic, Shared, Local, KParam };

// Host pointer for `size` bytes at `a` in space S for `lane`; nullptr after
// recording a fault.
template <MemSpace S>
inline uint8_t* resolve(Warp& w, const Inst& in, uint64_t a, uint32_t size, uint32_t lane, AccessKind kind) {
  if constexpr (S == MemSpace::Global) return translate(w, a, size, cacheOf(w, in), lane, true, kind);
  if constexpr (S == MemSpace::Generic) return translate(w, a, size, cacheOf(w, in), lane, false, kind);
  if constexpr (S == MemSpace::Shared) return sharedAt(w, a, size, lane);
  if constexpr (S == MemSpace::Local) return localAt(w, a, size, lane);
  if constexpr (S == MemSpace::KParam) {
    if (kind == AccessKind::Read && a + size <= w.L->paramBytes && a + size >= a)
      return const_cast<uint8_t*>(w.L->params) + a;
    fault(w, MODNN_ERR_ILLEGAL_ADDRESS, "kernel parameter access out of range");
    return nullptr;
  }
  return nullptr;
}

// The status a handler returns after resolve() gave nullptr.
inline modnn_status faultStatus(Warp& w) {
  int s = w.L->status.load(std::memory_order_relaxed);
  return s == MODNN_OK ? MODNN_ERR_ILLEGAL_ADDRESS : modnn_status(s);
}

struct U128 {
  uint64_t lo, hi;
};

}  // namespace modnn::ptx
