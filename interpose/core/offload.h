// Residency: offload of device allocations to host memory (MOAI_OFFLOAD=1).
//
// With offload on, cudaMalloc succeeds beyond what the device holds: an
// allocation that finds no room starts in host memory. Before an op runs,
// the allocations it touches are made resident (acquire); to make room, the
// least recently used allocations that the op does not need go back to host
// memory (read back only when dirty: the device may have written them since
// they came in) and their device buffers are freed. Copies and fills on a
// non-resident allocation use the host copy directly (resolve).
//
// Off by default: a per-job memory quota must still say out of memory, and
// allocators such as PyTorch's caching allocator free their caches only on
// an out-of-memory error. Allocations of module variables (__device__,
// __constant__) are not managed: kernels reach them by name, so they stay
// resident (allocateFixed makes room for them).
//
// Thread-safe. The device calls of eviction and residency run under one
// lock, so offload traffic is serialised; ops themselves run outside it,
// with what they use pinned.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <vector>

#include "interpose/core/recorded_op.h"
#include "modnn/backend.h"

namespace moai {

class Residency {
 public:
  // One allocation an op touches, and whether the op may write it.
  struct Need {
    Allocation* alloc = nullptr;
    bool write = true;
  };

  // Allocations held in place (resident, or in host memory for a host-side
  // copy) while an op runs; released when destroyed.
  class Pins {
   public:
    Pins() = default;
    Pins(const Pins&) = delete;
    Pins& operator=(const Pins&) = delete;
    ~Pins();
   private:
    friend class Residency;
    Residency* owner_ = nullptr;
    std::vector<uint64_t> bases_;
  };

  struct Stats {
    uint64_t resident_bytes = 0;   // managed allocations on the device now
    uint64_t host_only_bytes = 0;  // managed allocations in host memory now
    uint64_t bytes_in = 0;         // host -> device, making allocations resident
    uint64_t bytes_out = 0;        // device -> host, evicting dirty allocations
    uint64_t evictions = 0;
  };

  // `device` must outlive this object.
  explicit Residency(modnn_device* device);
  ~Residency();

  // Gives `a` (base and size set) device memory if the device has room, else
  // leaves it in host memory; from now on `a` is managed (a.residency set).
  modnn_status allocate(Allocation& a);
  // Device memory for an unmanaged buffer that must stay resident; evicts
  // managed allocations to make room.
  modnn_status allocateFixed(uint64_t va, uint64_t size, modnn_buffer** out);
  // `a` is being destroyed: frees its device buffer and host copy.
  void forget(Allocation& a);

  // Makes every managed allocation in `needs` resident and pins it (others
  // are ignored); marks those it may write dirty. MODNN_ERR_OUT_OF_MEMORY
  // (logged) when they cannot all be on the device at once.
  modnn_status acquire(const std::vector<Need>& needs, Pins* out);
  // The same for what an op touches (needsOf; for a batched GEMM with
  // pointer arrays, also the matrices the arrays point to).
  modnn_status acquire(const ModnnOp& op, Pins* out);
  modnn_status acquire(const LaunchOp& op, Pins* out);
  // One side of a copy or fill: a managed allocation that is not resident
  // becomes a host endpoint into its host copy; a resident one stays, and is
  // marked dirty when `write`. Either way it is pinned until `pins` goes.
  modnn_status resolve(Endpoint& e, bool write, Pins* pins);

  Stats stats() const;
  // At exit, logs (info) what offload moved, for tests and curious users.
  void logStatsAtExit();

  // What an op touches: every allocation it holds, written ones flagged
  // (kernels: all of them, since what a kernel writes is not known).
  static std::vector<Need> needsOf(const ModnnOp& op);
  static std::vector<Need> needsOf(const LaunchOp& op);

 private:
  struct Entry {
    Allocation* alloc = nullptr;
    uint8_t* host = nullptr;  // host copy, made on first need
    bool dirty = false;       // the device copy may differ from the host copy
    int pins = 0;
    bool in_lru = false;
    std::list<uint64_t>::iterator lru;  // position among resident entries, oldest first
  };

  Entry* entryLocked(uint64_t base);
  Entry* containingLocked(uint64_t p);
  modnn_status addPointeesLocked(const ModnnOp& op, std::vector<Need>* needs);
  modnn_status acquireLocked(const std::vector<Need>& needs, Pins* out, std::unique_lock<std::mutex>& lock);
  uint8_t* hostCopyLocked(Entry& e);
  modnn_status evictLocked(Entry& e);
  // Device memory at va, evicting unpinned entries not in `keep`, oldest first.
  modnn_status allocWithEvictionLocked(uint64_t va, uint64_t size, const std::vector<uint64_t>& keep,
                                       modnn_buffer** out);
  modnn_status makeResidentLocked(Entry& e, const std::vector<uint64_t>& keep);
  void touchLocked(Entry& e);
  void release(const std::vector<uint64_t>& bases);

  modnn_device* device_;
  mutable std::mutex mu_;
  std::condition_variable unpinned_;  // a pin was released
  std::map<uint64_t, Entry> entries_;  // managed allocations by base
  std::list<uint64_t> lru_;            // resident managed allocations, least recently used first
  int pinned_entries_ = 0;             // entries with pins > 0
  Stats stats_;
  bool told_host_only_ = false;
};

// MOAI_OFFLOAD=1 asks for offload.
bool offloadRequested();

}  // namespace moai
