#include "interpose/core/validity_map.h"

#include <algorithm>
#include <iterator>

namespace moai {

void ValidityMap::cut(uint64_t at) {
  auto it = pieces_.upper_bound(at);
  if (it == pieces_.begin()) return;
  --it;
  Piece p = it->second;
  if (p.lo >= at || p.hi <= at) return;
  it->second.hi = at;
  pieces_.emplace(at, Piece{at, p.hi, p.current});
}

void ValidityMap::setAll(uint64_t lo, uint64_t hi) {
  if (lo >= hi || pieces_.empty()) return;
  cut(lo);
  cut(hi);
  pieces_.erase(pieces_.lower_bound(lo), pieces_.lower_bound(hi));
}

void ValidityMap::setOnly(uint64_t lo, uint64_t hi, Mask members, Mask all) {
  setAll(lo, hi);
  if (lo >= hi || (members & all) == all) return;
  pieces_.emplace(lo, Piece{lo, hi, members & all});
  // Neighbours with the same members become one piece, so a range written
  // in many small parts (a grid-stride kernel's passes) stays a few pieces.
  auto it = pieces_.find(lo);
  if (it != pieces_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.hi == lo && prev->second.current == it->second.current) {
      prev->second.hi = it->second.hi;
      pieces_.erase(it);
      it = prev;
    }
  }
  auto next = std::next(it);
  if (next != pieces_.end() && next->second.lo == it->second.hi && next->second.current == it->second.current) {
    it->second.hi = next->second.hi;
    pieces_.erase(next);
  }
}

void ValidityMap::add(uint64_t lo, uint64_t hi, Mask members, Mask all) {
  if (lo >= hi || pieces_.empty()) return;
  cut(lo);
  cut(hi);
  for (auto it = pieces_.lower_bound(lo); it != pieces_.end() && it->first < hi;) {
    it->second.current |= members;
    if ((it->second.current & all) == all)
      it = pieces_.erase(it);
    else
      ++it;
  }
}

std::vector<ValidityMap::Piece> ValidityMap::stale(uint64_t lo, uint64_t hi) const {
  std::vector<Piece> out;
  if (lo >= hi || pieces_.empty()) return out;
  auto it = pieces_.upper_bound(lo);
  if (it != pieces_.begin()) --it;
  for (; it != pieces_.end() && it->first < hi; ++it) {
    const Piece& p = it->second;
    if (p.hi <= lo) continue;
    out.push_back({std::max(p.lo, lo), std::min(p.hi, hi), p.current});
  }
  return out;
}

}  // namespace moai
