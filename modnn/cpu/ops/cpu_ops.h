// moDNN ops on the CPU: GEMM and the other BLAS routines through OpenBLAS,
// half-precision GEMM through oneDNN or conversion to f32.
#pragma once
#include "modnn/backend.h"

namespace modnn::cpu {

class BufferTable;

// What an op needs of its device.
struct OpDevice {
  const BufferTable& buffers;  // va -> host bytes
  int threads;                 // the device's configured thread count
};

bool supportsOp(const modnn_op& op);
modnn_status runOp(const OpDevice& dev, const modnn_op& op);

}  // namespace modnn::cpu
