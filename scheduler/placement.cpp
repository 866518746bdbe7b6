#include "placement.h"

#include <algorithm>
#include <numeric>

namespace moai::sched {
namespace {

std::vector<size_t> fullestFirst(const std::vector<uint32_t>& free) {
  std::vector<size_t> order(free.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return free[a] > free[b]; });
  return order;
}

std::vector<uint32_t> pack(const std::vector<uint32_t>& free, uint32_t wanted) {
  std::vector<uint32_t> take(free.size(), 0);
  std::vector<size_t> order = fullestFirst(free);
  for (size_t next = 0; wanted > 0; ++next) {
    // Taking the largest workers first minimises how many are used; the
    // last one is the tightest fit, which leaves big workers whole.
    size_t best = free.size();
    for (size_t i : order)
      if (take[i] == 0 && free[i] >= wanted && (best == free.size() || free[i] < free[best])) best = i;
    if (best != free.size()) {
      take[best] = wanted;
      break;
    }
    size_t largest = order[next];
    take[largest] = free[largest];
    wanted -= free[largest];
  }
  return take;
}

std::vector<uint32_t> spread(const std::vector<uint32_t>& free, uint32_t wanted) {
  std::vector<uint32_t> take(free.size(), 0);
  std::vector<size_t> order = fullestFirst(free);
  for (uint32_t round = 0; wanted > 0; ++round)
    for (size_t i : order)
      if (wanted > 0 && free[i] > round) {
        ++take[i];
        --wanted;
      }
  return take;
}

}  // namespace

std::optional<std::vector<uint32_t>> choosePlacement(const std::vector<uint32_t>& free, uint32_t wanted,
                                                     schema::Placement policy) {
  uint64_t total = std::accumulate(free.begin(), free.end(), uint64_t{0});
  if (wanted == 0 || total < wanted) return std::nullopt;
  return policy == schema::Placement::SPREAD ? spread(free, wanted) : pack(free, wanted);
}

}  // namespace moai::sched
