// The device memory a moDNN op touches, derived from the op itself: what
// the client checks and keeps alive when the op is recorded, and what a
// device group brings to a member before the member runs it.
#pragma once
#include <cstdint>
#include <vector>

#include "modnn/ops.h"

namespace moai {

// Bytes of device memory an op reads or writes.
struct DeviceRange {
  uint64_t va = 0;
  uint64_t bytes = 0;
};

// Every range `op` may read or write: its matrices and vectors (operands a
// zero alpha or beta leaves unread are left out), bias and GELU auxiliary,
// device scalars and results. A pointer-array GEMM names its arrays only:
// the matrices they point to are not known here.
std::vector<DeviceRange> opRanges(const modnn_op& op);

}  // namespace moai
