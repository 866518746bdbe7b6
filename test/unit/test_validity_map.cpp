// The device group's record of which members hold current bytes.
#include <catch2/catch.hpp>

#include "interpose/core/validity_map.h"

using moai::ValidityMap;

namespace {
constexpr ValidityMap::Mask kAll = 0b111;  // three members

std::string show(const std::vector<ValidityMap::Piece>& ps) {
  std::string s;
  for (auto& p : ps) s += "[" + std::to_string(p.lo) + "," + std::to_string(p.hi) + "):" + std::to_string(p.current) + " ";
  return s;
}
}  // namespace

TEST_CASE("shares written by different members, then pulled", "[validity]") {
  ValidityMap m;
  CHECK(m.stale(0, 100).empty());
  m.setOnly(0, 40, 0b001, kAll);
  m.setOnly(40, 80, 0b010, kAll);
  m.setOnly(80, 100, 0b100, kAll);
  CHECK(show(m.stale(0, 100)) == "[0,40):1 [40,80):2 [80,100):4 ");
  CHECK(show(m.stale(30, 50)) == "[30,40):1 [40,50):2 ");
  // Member 1 pulls [0, 40), member 2 pulls [20, 40): [20, 40) is now everywhere.
  m.add(0, 40, 0b010, kAll);
  m.add(20, 40, 0b100, kAll);
  CHECK(show(m.stale(0, 100)) == "[0,20):3 [40,80):2 [80,100):4 ");
  // An op on every member makes its bytes current everywhere.
  m.setAll(10, 90);
  CHECK(show(m.stale(0, 100)) == "[0,10):3 [90,100):4 ");
  m.setAll(0, 100);
  CHECK(m.empty());
}

TEST_CASE("a range written in many parts by one member stays one piece", "[validity]") {
  ValidityMap m;
  for (uint64_t k = 0; k < 64; ++k) m.setOnly(k * 8, k * 8 + 8, 0b001, kAll);
  CHECK(show(m.stale(0, 1000)) == "[0,512):1 ");
  // Overwriting the middle by another member splits it in three.
  m.setOnly(100, 200, 0b010, kAll);
  CHECK(show(m.stale(0, 1000)) == "[0,100):1 [100,200):2 [200,512):1 ");
  // A write by every member is no piece at all.
  m.setOnly(0, 512, kAll, kAll);
  CHECK(m.empty());
}
