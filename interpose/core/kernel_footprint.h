// What one kernel launch writes to global memory, read from the kernel's
// PTX with the launch's own parameter values and dimensions, so that the
// device group can run disjoint block ranges of one launch on different
// devices and then exchange exactly what each of them wrote.
//
// A launch qualifies when every global store's address is
// `c0 + cb*ctaid.x + ct*tid.x (+ k*stride, k >= 0)` and each block's stores
// stay inside a slab of cb bytes of their own (2-D launches: the same with
// a row of blocks, `by*ctaid.y`, in place of a block, its threads' and
// columns' terms inside the row's slab: a tiled kernel over a matrix): element-wise
// kernels with a bounds check, a grid-stride loop (the stride term) or
// several items per thread (PyTorch's unrolled loops), one or several
// output arrays, per-block results (a block reduction's partial sums), and
// a block per row with a loop over the row (softmax, layer norm), whose
// branch `j < cols` bounds the loop inside the row. A branch on arguments
// alone (`if (optional_output)`) goes the one way it can.
// Anything else does not qualify, with the reason: atomics or reductions on
// global memory, calls, stores through pointers loaded from memory, 3-D
// launches, ... Reads are unrestricted: the group keeps inputs replicated.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modnn::ptx {
struct Module;
}

namespace moai {

// The bytes block b writes (at k = 0) lie in [base + cb*b, base + cb*(b + 1)).
struct StoreStream {
  uint64_t base = 0;
  uint64_t per_block = 0;   // cb
  uint64_t stride = 0;      // 0: nothing more; else also every k*stride above, k >= 1
  uint64_t limit = 0;       // end of the allocation holding base: nothing at or beyond it
};

// Block b reads [lo + per_block*b, hi + per_block*b) (per_block may be 0 or
// negative), and with a stride also every k*stride above, below `limit`.
struct ReadStream {
  uint64_t lo = 0, hi = 0;
  int64_t per_block = 0;
  uint64_t stride = 0;
  uint64_t limit = 0;
};

struct KernelFootprint {
  bool splittable = false;
  std::string why;              // when not splittable
  std::vector<StoreStream> streams;
  // Of a splittable launch: its global reads, when every one is affine too.
  bool reads_known = false;
  std::string reads_why;        // when they are not known
  std::vector<ReadStream> reads;
  uint64_t threads = 0;         // in the grid
  // Units the launch splits into: its blocks, or for a 2-D grid its rows of
  // blocks, `unit` blocks each (unit i: linear blocks [i*unit, (i+1)*unit)).
  // Streams and rangesWritten/rangesRead count units.
  uint64_t blocks = 0;
  uint64_t unit = 1;
};

struct LaunchShape {
  std::string_view kernel;
  uint32_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  const uint8_t* params = nullptr;
  size_t param_bytes = 0;
  // The end of the allocation holding an address, 0 if none does.
  std::function<uint64_t(uint64_t)> allocation_end;
};

KernelFootprint analyzeLaunch(const modnn::ptx::Module& module, const LaunchShape& launch);

// The byte ranges (address, size) that blocks [b0, b1) of the launch may
// write: a superset of what they write, disjoint from what other blocks write.
std::vector<std::pair<uint64_t, uint64_t>> rangesWritten(const KernelFootprint& f, uint64_t b0, uint64_t b1);
// The byte ranges blocks [b0, b1) may read (a superset; they may overlap and
// reach outside allocations); empty unless reads_known.
std::vector<std::pair<uint64_t, uint64_t>> rangesRead(const KernelFootprint& f, uint64_t b0, uint64_t b1);

}  // namespace moai
