// Which members of a device group hold the current bytes of one buffer, by
// byte range: the runtime placement of the tensors in it. After an op split
// across members each member's share is current only there (sharded); a
// consumer pulls what it reads from a member that has it, and an op every
// member runs makes its bytes current everywhere (replicated). A range not
// listed is current on every member.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

namespace moai {

class ValidityMap {
 public:
  using Mask = uint64_t;  // bit i: member i (groups of at most 64 members)

  struct Piece {
    uint64_t lo, hi;
    Mask current;  // never every member
  };

  // Bytes [lo, hi) are current on every member.
  void setAll(uint64_t lo, uint64_t hi);
  // Bytes [lo, hi) are current on `members` only (`all`: the group's mask).
  void setOnly(uint64_t lo, uint64_t hi, Mask members, Mask all);
  // Bytes [lo, hi) are now also current on `members` (they were copied there).
  void add(uint64_t lo, uint64_t hi, Mask members, Mask all);
  // The pieces of [lo, hi) not current on every member, clipped, in order.
  std::vector<Piece> stale(uint64_t lo, uint64_t hi) const;
  bool empty() const { return pieces_.empty(); }
  void clear() { pieces_.clear(); }

 private:
  // Splits a piece at `at` so that a piece starts there (if one covers it).
  void cut(uint64_t at);
  std::map<uint64_t, Piece> pieces_;  // by lo; disjoint
};

}  // namespace moai
