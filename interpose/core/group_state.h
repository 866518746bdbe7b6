// The device group's internals, shared by its files: device_group.cpp (the
// device interface, resizes), group_placement.cpp (which member holds the
// current bytes of what, and the copies that bring them where an op runs)
// and group_splits.cpp (GEMMs, vector ops and kernels split across members).
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "interpose/core/device_group.h"
#include "interpose/core/kernel_footprint.h"
#include "interpose/core/validity_map.h"
#include "modnn/backend.h"
#include "modnn/cpu/ptx/ptx_ast.h"

namespace moai::group_impl {

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;  // (address, bytes)

// Address space for the members' receive buffers of a reduction (Group::scratch).
constexpr uint64_t kScratchSpan = 1ull << 34;

// Runs fn(0..n-1) at once: fn(0) on the caller, the rest on one thread per
// device, kept for the group's life (ops are too frequent to start threads).
class Crew {
 public:
  explicit Crew(int n) {
    for (int i = 1; i < n; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~Crew() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void run(const std::function<void(int)>& fn) {
    std::unique_lock<std::mutex> lock(run_mu_);  // one batch at a time (several client streams call in)
    {
      std::lock_guard<std::mutex> l(mu_);
      fn_ = &fn;
      pending_ = int(threads_.size());
      ++generation_;
    }
    cv_.notify_all();
    fn(0);
    std::unique_lock<std::mutex> l(mu_);
    done_cv_.wait(l, [this] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  void loop(int i) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* fn;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        fn = fn_;
      }
      (*fn)(i);
      std::lock_guard<std::mutex> l(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex run_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int)>* fn_ = nullptr;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

// The bytes [lo, hi) of a buffer that a member holds (group_memory.cpp).
struct Window {
  uint64_t lo = 0, hi = 0;
};

struct GroupBuffer {
  uint64_t va, size;
  std::vector<modnn_buffer*> parts;  // one per device (null: it holds none of it)
  ValidityMap current;               // which members hold its current bytes (guarded by Group::exec_mu)
  // What each member holds: all of it while every member has room for a
  // copy; else, from allocation on, its 1/N share of the bytes, growing as
  // ops need more there. Bytes are current only on members that hold them.
  std::vector<Window> windows;
  bool sharded = false;
};

// The module's image is kept (copied), for devices that join later.
struct GroupModule {
  std::vector<modnn_module*> parts;
  std::vector<uint8_t> fatbin;
  std::string ptx;
  std::vector<std::string> names;
  std::vector<modnn_module_symbol> symbols;
  modnn_module_image image{};
  // For splitting launches: the PTX parsed on first use, and what each
  // launch seen writes (training steps repeat their launches exactly).
  std::mutex analysis_mu;
  bool parsed = false;
  std::unique_ptr<modnn::ptx::Module> ast;
  std::unordered_map<std::string, std::shared_ptr<const KernelFootprint>> footprints;
};

struct Group {
  // Every entry point holds `members` shared; a resize holds it alone.
  std::shared_mutex members;
  std::vector<modnn_device> devs;
  // The members' reserved address range, for devices that join: the
  // client's, then kScratchSpan for the group's own buffers.
  uint64_t range_base = 0, range_size = 0;
  std::set<GroupModule*> modules;
  modnn_device_props props{};  // of the first device: the one each share runs on
  std::unique_ptr<Crew> crew;
  std::mutex mu;
  std::map<uint64_t, GroupBuffer*> buffers;  // by va, to find a GEMM's output buffers
  bool block_ranges = false;  // every member runs block ranges of a launch
  GroupCosts costs;
  // One op at a time reads and changes placement and runs: an op's pulls,
  // its run and the record of what it wrote are one step.
  std::mutex exec_mu;
  std::set<GroupBuffer*> stale;        // buffers not current on every member
  std::atomic<uint64_t> bytes_moved{0};  // between members, for the plan report
  bool shard_memory = true;               // makeDeviceGroup
  size_t sharded_buffers = 0;             // buffers not copied on every member (guarded by exec_mu)
  // Whether every member can add partial sums of F32 / F64 (canReduce): -1
  // not asked yet. Asked once per set of members, not per GEMM.
  std::atomic<int8_t> reduces[2] = {-1, -1};
  std::vector<uint64_t> capacity, held;  // per member: its memory, and the bytes its parts take (guarded by exec_mu)
  // Where members receive chunks of a reduction: one buffer each, at an
  // address no client buffer can have (guarded by exec_mu): past the client's
  // part of the members' address range, or where they take any address, in
  // a range this process holds (`mapped`).
  struct {
    uint64_t va = 0, size = 0;  // size: of each buffer held now
    bool mapped = false;
    std::vector<modnn_buffer*> parts;
  } scratch;
};

inline Group* group(void* ctx) { return static_cast<Group*>(ctx); }
inline GroupBuffer* gbuf(modnn_buffer* b) { return reinterpret_cast<GroupBuffer*>(b); }

inline modnn_status firstError(const std::vector<modnn_status>& st) {
  for (modnn_status s : st)
    if (s != MODNN_OK) return s;
  return MODNN_OK;
}

// Runs fn on every device at once; the first error wins.
template <typename Fn>
modnn_status onAll(Group* g, Fn&& fn) {
  std::vector<modnn_status> st(g->devs.size(), MODNN_OK);
  g->crew->run([&](int i) { st[size_t(i)] = fn(i, g->devs[size_t(i)]); });
  return firstError(st);
}

// One after another: cheap calls (writes, fills) are not worth the hand-off.
template <typename Fn>
modnn_status eachInTurn(Group* g, Fn&& fn) {
  modnn_status first = MODNN_OK;
  for (size_t i = 0; i < g->devs.size(); ++i) {
    modnn_status s = fn(int(i), g->devs[i]);
    if (first == MODNN_OK) first = s;
  }
  return first;
}

// fn(buffer, lo, hi) for each buffer [va, va + size) overlaps, offsets in it.
template <typename Fn>
void eachBuffer(Group* g, uint64_t va, uint64_t size, Fn&& fn) {
  std::vector<GroupBuffer*> hit;
  {
    std::lock_guard<std::mutex> lock(g->mu);
    auto it = g->buffers.upper_bound(va);
    if (it != g->buffers.begin()) --it;
    for (; it != g->buffers.end() && it->first < va + size; ++it)
      if (it->second->va + it->second->size > va) hit.push_back(it->second);
  }
  for (GroupBuffer* b : hit) {
    uint64_t lo = std::max(va, b->va) - b->va, hi = std::min(va + size, b->va + b->size) - b->va;
    if (lo < hi) fn(b, lo, hi);
  }
}

// ---- memory (group_memory.cpp) -------------------------------------------
// Callers hold `members` (shared) and `exec_mu`.

// Gives `b` its parts: a copy on every member while each has room, else a
// window of its 1/N share on each (the virtual device's memory is the sum of
// its members'). Sharded bytes start current on the member holding them.
modnn_status allocateParts(Group* g, GroupBuffer* b);
void freeParts(Group* g, GroupBuffer* b);
inline bool holds(const GroupBuffer* b, int i, uint64_t lo, uint64_t hi) {
  const Window& w = b->windows[size_t(i)];
  return b->parts[size_t(i)] && w.lo <= lo && hi <= w.hi;
}
// Where byte `off` of `b` is in member i's part.
inline uint64_t partOffset(const GroupBuffer* b, int i, uint64_t off) { return off - b->windows[size_t(i)].lo; }
// Member i holds [lo, hi) of `b` afterwards: its window grows (a new part,
// the bytes it held copied over). MODNN_ERR_OUT_OF_MEMORY when it has no room.
modnn_status hold(Group* g, GroupBuffer* b, int i, uint64_t lo, uint64_t hi);
// [lo, hi) of `b` was just written on every member that holds it: current
// there and nowhere else.
void markHeld(Group* g, GroupBuffer* b, uint64_t lo, uint64_t hi);
// Calls fn(i, lo, hi) for each member i with the part of [lo, hi) it holds.
template <typename Fn>
modnn_status eachHolder(Group* g, const GroupBuffer* b, uint64_t lo, uint64_t hi, Fn&& fn) {
  modnn_status first = MODNN_OK;
  for (size_t i = 0; i < g->devs.size(); ++i) {
    uint64_t a = std::max(lo, b->windows[i].lo), z = std::min(hi, b->windows[i].hi);
    if (!b->parts[i] || a >= z) continue;
    modnn_status s = fn(int(i), a, z);
    if (first == MODNN_OK) first = s;
  }
  return first;
}
inline bool anySharded(const Group* g) { return g->sharded_buffers > 0; }
// Has member i room to hold all of `ranges` (what it lacks of sharded buffers)?
bool fitsOn(Group* g, int i, const Ranges& ranges);

// ---- placement (group_placement.cpp) -------------------------------------
// Ranges are client addresses; they may span several buffers or none.
// Callers hold `members` (shared) and `exec_mu`.

// Where [va, va + size) lives, on every device; null when no one buffer holds it.
GroupBuffer* findBuffer(Group* g, uint64_t va, uint64_t size, uint64_t* off);
// Bytes from one device's buffer to another's.
// `queued`: the copy may complete later, in order on both devices' streams
// (buffer_send_to_peer), where the devices can do that.
modnn_status copyBuffer(const modnn_device& src, modnn_buffer* s, uint64_t soff, const modnn_device& dst,
                        modnn_buffer* d, uint64_t doff, uint64_t size, bool queued = false);
// Copies [va, va + size) from member `from` to member `to` (no placement change).
modnn_status copyAcross(Group* g, int from, int to, uint64_t va, uint64_t size, bool queued = false);
// Brings member `to` (or every member) the current bytes of `ranges`,
// giving it room for them first (`grow` false: only members that hold them).
modnn_status pullTo(Group* g, int to, const Ranges& ranges);
modnn_status pullEverywhere(Group* g, const Ranges& ranges, bool grow = true);
// Brings every member the current bytes of everything (before an op whose
// reads are unknown, and before a resize copies a member's memory).
modnn_status pullAll(Group* g);
// The members of `g`, as a mask.
ValidityMap::Mask everyone(const Group* g);

// One member's part of an op split across the group: what it reads or may
// partly write (brought to it first) and what it writes (current there alone after).
struct Share {
  Ranges touches;
  Ranges writes;
  Ranges holds;  // also needs room for, but not the current bytes of (partial sums)
};
// Runs fn(i, member) on members i < shares.size(), each after it holds the
// current bytes of its share's `touches`, then `combine` (if any: the
// reduction of partial sums the shares left); each share's `writes` are then
// current on its member alone: a sharded placement, no all-gather.
modnn_status runShares(Group* g, const std::vector<Share>& shares,
                       const std::function<modnn_status(int, const modnn_device&)>& fn,
                       const std::function<modnn_status()>& combine = nullptr);
// Runs fn(i, member) on every member after bringing each the current bytes
// of `touched` (nullopt: unknown, so everything); the bytes the op writes
// are then current everywhere, as every member computed the same.
modnn_status runEverywhere(Group* g, const std::optional<Ranges>& touched,
                           const std::function<modnn_status(int, const modnn_device&)>& fn);

// ---- collectives (group_collectives.cpp) ----------------------------------

// A column-major matrix in the group's memory.
struct Matrix {
  uint64_t va;
  int64_t rows, cols, ld;
  modnn_dtype type;
};
// The columns member c of `ways` ends with after a reduce-scatter: [first, end).
inline std::pair<int64_t, int64_t> columnsOf(const Matrix& m, int c, int ways) {
  return {m.cols * c / ways, m.cols * (c + 1) / ways};
}
// Can members 0..ways-1 reduce partial sums of `type` (they add matrices,
// and each has room for a chunk in a buffer of its own)?
bool canReduce(Group* g, modnn_dtype type);
// Gives members 0..ways-1 a buffer to receive a chunk of `m` in; before
// the partial sums are made, so that a group short of memory can still split
// otherwise.
modnn_status reserveScratch(Group* g, int ways, const Matrix& m);
// Ring reduce-scatter (after reserveScratch): members 0..ways-1 each hold a
// full-size partial sum of `m` (the other bytes of its buffer untouched);
// afterwards member c holds the sum of its columnsOf(m, c, ways). In
// ways - 1 steps each member sends one chunk to the next and adds the one it
// receives, so each sends and receives (ways - 1) / ways of the matrix,
// whatever the number of members. Placement is the caller's to record.
modnn_status reduceScatterColumns(Group* g, int ways, const Matrix& m);
// Frees the members' receive buffers, and with `unreserve` their address
// range (the group ends).
void releaseScratch(Group* g, bool unreserve = false);

// ---- splits (group_splits.cpp) -------------------------------------------
modnn_status runOpWays(Group* g, const modnn_op* op, GroupSplit split, GroupSplit* used);
modnn_status launchWays(Group* g, const modnn_kernel_launch& l, int ways,
                        const std::shared_ptr<const KernelFootprint>* analysed, int* out_ways);
std::shared_ptr<const KernelFootprint> splittableFootprint(Group* g, const modnn_kernel_launch& l);
bool membersRunBlockRanges(const std::vector<modnn_device>& devs);
const char* splitPolicy();

}  // namespace moai::group_impl
