#include <catch2/catch.hpp>

#include <set>
#include <vector>

#include "interpose/core/allocation_table.h"
#include "interpose/core/virtual_address_space.h"

using moai::VirtualAddressSpace;

TEST_CASE("device pointers are aligned, unique and inside the reserved range") {
  VirtualAddressSpace vas(1ull << 30);
  REQUIRE(vas.valid());
  std::set<uint64_t> seen;
  for (uint64_t size : {0ull, 1ull, 255ull, 256ull, 257ull, 4096ull, 1ull << 20}) {
    auto p = vas.reserve(size);
    REQUIRE(p.ok());
    CHECK(*p % VirtualAddressSpace::kAlignment == 0);
    CHECK(vas.contains(*p));
    CHECK(*p != vas.base());  // the base is never a valid pointer
    CHECK(seen.insert(*p).second);
  }
}

TEST_CASE("released ranges coalesce and are reused") {
  VirtualAddressSpace vas(1ull << 20);
  std::vector<uint64_t> ps;
  for (int i = 0; i < 3; ++i) ps.push_back(vas.reserve(1ull << 18).value());
  CHECK_FALSE(vas.reserve(1ull << 18).ok());  // only 256 KiB - 256 B left: offset 0 is held back
  for (uint64_t p : ps) CHECK(vas.release(p));
  CHECK_FALSE(vas.release(ps[0]));  // double release is refused
  auto big = vas.reserve((1ull << 20) - 1024);
  REQUIRE(big.ok());  // only possible if the released ranges merged again
}

TEST_CASE("release refuses pointers it never minted") {
  VirtualAddressSpace vas(1ull << 20);
  auto p = vas.reserve(1024);
  REQUIRE(p.ok());
  CHECK_FALSE(vas.release(*p + 256));  // interior
  CHECK_FALSE(vas.release(0x1000));    // outside
  CHECK(vas.release(*p));
}

TEST_CASE("allocation table answers ranges exactly") {
  moai::AllocationTable t;
  auto a = std::make_shared<moai::Allocation>();
  a->base = 0x10000;
  a->size = 100;
  t.insert(a);
  CHECK(t.findRange(0x10000, 100) != nullptr);
  CHECK(t.findRange(0x10000 + 50, 50) != nullptr);
  CHECK(t.findRange(0x10000 + 50, 51) == nullptr);  // runs past the end
  CHECK(t.findRange(0x10000 + 100, 1) == nullptr);
  CHECK(t.find(0x10000 - 1) == nullptr);
  CHECK(t.findRange(0x10000, ~0ull) == nullptr);  // overflowing size
  CHECK(t.bytesInUse() == 100);
  CHECK(t.erase(0x10000 + 1) == nullptr);
  CHECK(t.erase(0x10000) != nullptr);
  CHECK(t.bytesInUse() == 0);
}

TEST_CASE("host regions refuse overlaps") {
  moai::AllocationTable t;
  CHECK(t.insertHost({0x1000, 0x1000, 0, false}));
  CHECK_FALSE(t.insertHost({0x1800, 0x100, 0, false}));
  CHECK_FALSE(t.insertHost({0x800, 0x1000, 0, false}));
  CHECK(t.insertHost({0x2000, 0x10, 0, false}));
  CHECK(t.findHost(0x1fff) != nullptr);
  CHECK(t.findHost(0x2010) == nullptr);
}
