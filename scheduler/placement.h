// Where a lease's devices come from: how many to take from each worker.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "scheduler.capnp.h"

namespace moai::sched {

// `free[i]` is how many matching devices worker i has free. Returns how many
// to take from each so they add up to `wanted`, or nullopt if they cannot.
//   PACK:   as few workers as possible: the largest first, and the smallest
//           one that can hold all that is left (best fit) last.
//   SPREAD: one device per worker, round after round, fullest workers first.
// Ties go to the lower index, so the choice is deterministic.
std::optional<std::vector<uint32_t>> choosePlacement(const std::vector<uint32_t>& free, uint32_t wanted,
                                                     schema::Placement policy);

}  // namespace moai::sched
