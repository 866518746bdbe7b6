// ChunkMap: which granules of the CUDA backend's reserved range hold
// physical memory, shared by buffers that overlap them.
#include <catch2/catch.hpp>

#include "modnn/cuda/chunk_map.h"

using modnn::cuda::ChunkMap;

namespace {
constexpr uint64_t G = 2 << 20;
constexpr uint64_t kBase = 0x7f0000000000ull;

// What the backend does on buffer_alloc: map every gap, then retain.
std::vector<ChunkMap::Chunk> alloc(ChunkMap& map, uint64_t va, uint64_t size, uint64_t* next_handle) {
  auto gaps = map.gaps(va, size);
  for (auto& g : gaps) {
    g.handle = (*next_handle)++;
    map.add(g);
  }
  map.retain(va, size);
  return gaps;
}
}  // namespace

TEST_CASE("a small buffer maps its one granule") {
  ChunkMap map(G);
  uint64_t h = 1;
  auto gaps = alloc(map, kBase + 256, 100, &h);
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].start == kBase);
  CHECK(gaps[0].size == G);
  CHECK(map.mappedBytes() == G);
}

TEST_CASE("buffers sharing a granule share its chunk until the last is freed") {
  ChunkMap map(G);
  uint64_t h = 1;
  alloc(map, kBase + 256, 1000, &h);
  CHECK(alloc(map, kBase + 4096, 1000, &h).empty());
  CHECK(map.chunkCount() == 1);
  CHECK(map.release(kBase + 256, 1000).empty());
  auto unused = map.release(kBase + 4096, 1000);
  REQUIRE(unused.size() == 1);
  CHECK(unused[0].handle == 1);
  CHECK(map.mappedBytes() == 0);
  CHECK(map.chunkCount() == 0);
}

TEST_CASE("a buffer spanning mapped and unmapped granules maps only the gaps") {
  ChunkMap map(G);
  uint64_t h = 1;
  alloc(map, kBase, G, &h);              // granule 0
  alloc(map, kBase + 3 * G, G, &h);      // granule 3
  // Granules 0..4: gaps are 1..2 and 4.
  auto gaps = alloc(map, kBase + G / 2, 4 * G, &h);
  REQUIRE(gaps.size() == 2);
  CHECK(gaps[0].start == kBase + G);
  CHECK(gaps[0].size == 2 * G);
  CHECK(gaps[1].start == kBase + 4 * G);
  CHECK(gaps[1].size == G);
  CHECK(map.mappedBytes() == 5 * G);
  // Freeing the first buffer keeps granule 0: the big one still overlaps it.
  CHECK(map.release(kBase, G).empty());
  auto unused = map.release(kBase + G / 2, 4 * G);
  CHECK(unused.size() == 3);  // granule 0, granules 1..2, granule 4; granule 3 stays
  CHECK(map.mappedBytes() == G);
  unused = map.release(kBase + 3 * G, G);
  CHECK(unused.size() == 1);
  CHECK(map.mappedBytes() == 0);
}

TEST_CASE("a buffer ending exactly on a granule boundary does not touch the next") {
  ChunkMap map(G);
  uint64_t h = 1;
  alloc(map, kBase, G, &h);
  auto gaps = alloc(map, kBase + G, G, &h);
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].start == kBase + G);
  CHECK(map.release(kBase, G).size() == 1);
  CHECK(map.mappedBytes() == G);
}

TEST_CASE("a zero-byte buffer still owns its granule") {
  ChunkMap map(G);
  uint64_t h = 1;
  CHECK(alloc(map, kBase + 512, 0, &h).size() == 1);
  CHECK(map.release(kBase + 512, 0).size() == 1);
}
