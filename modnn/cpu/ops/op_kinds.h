// The op families that cpu_ops.cpp dispatches to, one file each.
#pragma once
#include "modnn/cpu/ops/cpu_ops.h"

namespace modnn::cpu {

bool supportsGemm(const modnn_gemm& g);
modnn_status runGemm(const OpDevice& dev, const modnn_gemm& g);

bool supportsBlas(const modnn_blas& b);
modnn_status runBlas(const OpDevice& dev, const modnn_blas& b);

}  // namespace modnn::cpu
