// Where a tensor's bytes live across the devices of a plan's group.
#pragma once
#include <string>

namespace moai::planner {

struct Placement {
  enum Kind {
    Whole,       // all of it on one device (`device`)
    Replicated,  // a full copy on every device of the group
    Sharded,     // split into equal slices along `dim`, one per device
    Partial,     // every device holds a full-size partial sum; the value is their sum
  };
  Kind kind = Whole;
  int dim = -1;     // Sharded
  int device = 0;   // Whole

  static Placement whole(int device = 0) { return {Whole, -1, device}; }
  static Placement replicated() { return {Replicated, -1, 0}; }
  static Placement sharded(int dim) { return {Sharded, dim, 0}; }
  static Placement partial() { return {Partial, -1, 0}; }

  bool operator==(const Placement&) const = default;
  // "whole@0", "replicated", "shard(1)", "partial".
  std::string str() const;
};

}  // namespace moai::planner
