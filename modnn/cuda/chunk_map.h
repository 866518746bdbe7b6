// Which parts of the reserved device address range have physical memory.
//
// The GPU must see each buffer at the virtual address the client minted, so
// the backend maps physical memory into a reserved range (CUDA's virtual
// memory management). Mapping works in granules (2 MiB on current GPUs)
// while the client packs small allocations densely, so several buffers may
// share a granule. Memory is mapped as chunks, one per run of granules no
// chunk covered yet, and a chunk is unmapped when the last buffer that
// overlaps it is freed. Pure bookkeeping, no CUDA calls: unit-tested alone.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace modnn::cuda {

class ChunkMap {
 public:
  struct Chunk {
    uint64_t start = 0;  // granule-aligned
    uint64_t size = 0;   // a multiple of the granularity
    uint64_t handle = 0; // the caller's physical allocation
  };

  explicit ChunkMap(uint64_t granularity) : granularity_(granularity) {}

  // The granule-aligned runs inside [va, va + size) that no chunk covers yet:
  // map each, then add() it, then retain() the buffer.
  std::vector<Chunk> gaps(uint64_t va, uint64_t size) const;
  void add(const Chunk& chunk);
  // One reference, per buffer, on every chunk [va, va + size) overlaps.
  void retain(uint64_t va, uint64_t size);
  // Drops the buffer's references; returns the chunks no buffer uses any
  // more (already removed here), for the caller to unmap and release.
  std::vector<Chunk> release(uint64_t va, uint64_t size);

  uint64_t mappedBytes() const { return mapped_; }
  size_t chunkCount() const { return chunks_.size(); }

 private:
  struct Entry {
    Chunk chunk;
    uint64_t refs = 0;
  };
  uint64_t alignDown(uint64_t v) const { return v / granularity_ * granularity_; }
  uint64_t alignUp(uint64_t v) const { return (v + granularity_ - 1) / granularity_ * granularity_; }
  template <typename Fn>
  void forOverlapping(uint64_t va, uint64_t size, Fn&& fn);

  uint64_t granularity_;
  uint64_t mapped_ = 0;
  std::map<uint64_t, Entry> chunks_;  // by start
};

}  // namespace modnn::cuda
