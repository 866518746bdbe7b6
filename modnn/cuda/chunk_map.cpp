#include "modnn/cuda/chunk_map.h"

#include <algorithm>

namespace modnn::cuda {

std::vector<ChunkMap::Chunk> ChunkMap::gaps(uint64_t va, uint64_t size) const {
  std::vector<Chunk> out;
  uint64_t lo = alignDown(va);
  uint64_t hi = alignUp(va + std::max<uint64_t>(size, 1));
  // The chunk that starts at or before lo may reach into the range.
  auto it = chunks_.upper_bound(lo);
  if (it != chunks_.begin()) --it;
  uint64_t cursor = lo;
  for (; it != chunks_.end() && it->first < hi; ++it) {
    const Chunk& c = it->second.chunk;
    if (c.start + c.size <= cursor) continue;
    if (c.start > cursor) out.push_back({cursor, c.start - cursor, 0});
    cursor = std::max(cursor, c.start + c.size);
  }
  if (cursor < hi) out.push_back({cursor, hi - cursor, 0});
  return out;
}

void ChunkMap::add(const Chunk& chunk) {
  chunks_[chunk.start] = Entry{chunk, 0};
  mapped_ += chunk.size;
}

template <typename Fn>
void ChunkMap::forOverlapping(uint64_t va, uint64_t size, Fn&& fn) {
  uint64_t lo = alignDown(va);
  uint64_t hi = alignUp(va + std::max<uint64_t>(size, 1));
  auto it = chunks_.upper_bound(lo);
  if (it != chunks_.begin()) --it;
  while (it != chunks_.end() && it->first < hi) {
    auto next = std::next(it);
    const Chunk& c = it->second.chunk;
    if (c.start + c.size > lo) fn(it);
    it = next;
  }
}

void ChunkMap::retain(uint64_t va, uint64_t size) {
  forOverlapping(va, size, [](auto it) { ++it->second.refs; });
}

std::vector<ChunkMap::Chunk> ChunkMap::release(uint64_t va, uint64_t size) {
  std::vector<Chunk> unused;
  forOverlapping(va, size, [&](auto it) {
    if (--it->second.refs == 0) {
      unused.push_back(it->second.chunk);
      mapped_ -= it->second.chunk.size;
      chunks_.erase(it);
    }
  });
  return unused;
}

}  // namespace modnn::cuda
