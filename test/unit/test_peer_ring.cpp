// PeerRing: the receiving end of a same-host worker->worker ring. Space
// goes back to the sender up to the oldest bytes still held, whatever order
// the holds are dropped in, gaps the sender skipped included; ranges the
// sender may not have written are refused.
#include <catch2/catch.hpp>

#include <cstring>

#include "modnn/worker/peer_ring.h"

using moai::ShmSegment;
using moai::worker::PeerRing;

namespace {

struct Fixture {
  std::unique_ptr<ShmSegment> sender = std::move(ShmSegment::create(64 + 2 * 65536)).value();
  std::shared_ptr<PeerRing> ring =
      std::make_shared<PeerRing>(std::move(ShmSegment::open(sender->name(), sender->size())).value());
  uint64_t consumed() { return sender->ringConsumed().load(); }
};

}  // namespace

TEST_CASE("peer ring: bytes are the sender's, given back oldest first") {
  Fixture f;
  REQUIRE(f.sender->ringBytes() == 65536);
  std::memset(f.sender->ring(), 7, 100);
  std::span<const uint8_t> a, b, c;
  auto ha = f.ring->hold(0, 100, &a);
  auto hb = f.ring->hold(100, 200, &b);
  auto hc = f.ring->hold(65536, 1000, &c);  // the sender skipped the rest of the ring rather than wrap
  REQUIRE(ha);
  REQUIRE(hb);
  REQUIRE(hc);
  CHECK(a.size() == 100);
  CHECK(a[0] == 7);
  hb.reset();  // out of order: the oldest is still held
  CHECK(f.consumed() == 0);
  ha.reset();
  CHECK(f.consumed() == 65536);  // up to the oldest still held, the skipped gap included
  hc.reset();
  CHECK(f.consumed() == 65536 + 1000);
}

TEST_CASE("peer ring: ranges the sender cannot have written are refused") {
  Fixture f;
  std::span<const uint8_t> s;
  CHECK_FALSE(f.ring->hold(65000, 1000, &s));   // wraps
  CHECK_FALSE(f.ring->hold(0, 65537, &s));      // larger than the ring
  CHECK_FALSE(f.ring->hold(~0ull - 10, 100, &s));  // overflows
  auto h = f.ring->hold(500, 100, &s);
  REQUIRE(h);
  CHECK_FALSE(f.ring->hold(550, 10, &s));       // behind the latest bytes
}
