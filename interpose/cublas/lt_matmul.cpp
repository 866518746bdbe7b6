// cublasLtMatmul and its heuristic: descriptors become one moDNN GEMM with
// its epilogue. The heuristic offers one algorithm, needing no workspace,
// for every configuration the device supports.
#include <algorithm>
#include <cstring>

#include "interpose/core/client.h"
#include "interpose/cublas/gemm.h"
#include "interpose/cublas/handle.h"
#include "interpose/cublas/lt.h"
#include "interpose/cublas/recording.h"

namespace moai::cublas {
namespace {

constexpr uint64_t kAlgoId = 0x4d4f4149;  // "MOAI"

bool epilogueOf(uint32_t e, modnn_gemm_epilogue* out) {
  switch (e) {
    case CUBLASLT_EPILOGUE_DEFAULT: *out = MODNN_EPILOGUE_DEFAULT; return true;
    case CUBLASLT_EPILOGUE_RELU: *out = MODNN_EPILOGUE_RELU; return true;
    case CUBLASLT_EPILOGUE_BIAS: *out = MODNN_EPILOGUE_BIAS; return true;
    case CUBLASLT_EPILOGUE_RELU_BIAS: *out = MODNN_EPILOGUE_RELU_BIAS; return true;
    case CUBLASLT_EPILOGUE_GELU: *out = MODNN_EPILOGUE_GELU; return true;
    case CUBLASLT_EPILOGUE_GELU_BIAS: *out = MODNN_EPILOGUE_GELU_BIAS; return true;
    case CUBLASLT_EPILOGUE_GELU_AUX: *out = MODNN_EPILOGUE_GELU_AUX; return true;
    case CUBLASLT_EPILOGUE_GELU_AUX_BIAS: *out = MODNN_EPILOGUE_GELU_AUX_BIAS; return true;
    case CUBLASLT_EPILOGUE_DGELU: *out = MODNN_EPILOGUE_DGELU; return true;
    case CUBLASLT_EPILOGUE_DGELU_BGRAD: *out = MODNN_EPILOGUE_DGELU_BGRAD; return true;
    case CUBLASLT_EPILOGUE_BGRADA: *out = MODNN_EPILOGUE_BGRADA; return true;
    case CUBLASLT_EPILOGUE_BGRADB: *out = MODNN_EPILOGUE_BGRADB; return true;
    default: return false;
  }
}

// A matrix operand as moDNN sees it: column-major; a row-major layout is the
// transpose of a column-major one with the same leading dimension.
struct Operand {
  int64_t rows = 0, cols = 0;  // of op(X)
  bool trans = false;
  int64_t ld = 0, batch = 1, stride = 0;
  bool arrays = false;
};

cublasStatus_t operand(const LtLayout& l, int32_t op, Operand* out) {
  if (op != CUBLAS_OP_N && op != CUBLAS_OP_T && op != CUBLAS_OP_C) return CUBLAS_STATUS_INVALID_VALUE;
  if ((l.order != CUBLASLT_ORDER_COL && l.order != CUBLASLT_ORDER_ROW) || l.plane_offset != 0)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (l.batch_mode != CUBLASLT_BATCH_MODE_STRIDED && l.batch_mode != CUBLASLT_BATCH_MODE_POINTER_ARRAY)
    return CUBLAS_STATUS_INVALID_VALUE;
  bool row = l.order == CUBLASLT_ORDER_ROW;
  int64_t rows = int64_t(l.rows), cols = int64_t(l.cols);
  if (rows < 0 || cols < 0 || l.batch_count < 1 || l.ld < std::max<int64_t>(1, row ? cols : rows))
    return CUBLAS_STATUS_INVALID_VALUE;
  bool t = op != CUBLAS_OP_N;
  out->rows = t ? cols : rows;
  out->cols = t ? rows : cols;
  out->trans = t != row;
  out->ld = l.ld;
  out->batch = l.batch_count;
  out->stride = l.batch_count > 1 ? l.batch_offset : 0;
  out->arrays = l.batch_mode == CUBLASLT_BATCH_MODE_POINTER_ARRAY;
  return CUBLAS_STATUS_SUCCESS;
}

// Everything of the GEMM the descriptors say; addresses and scalars come later.
cublasStatus_t describe(cublasLtMatmulDesc_t computeDesc, cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc,
                        cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc, modnn_op* out) {
  const LtMatmulDesc* d = matmulDesc(computeDesc);
  const LtLayout *la = layout(Adesc), *lb = layout(Bdesc), *ld = layout(Ddesc);
  const LtLayout* lc = Cdesc ? layout(Cdesc) : ld;
  if (!d || !la || !lb || !lc || !ld) return CUBLAS_STATUS_INVALID_VALUE;
  GemmTypes types;
  cublasStatus_t st = gemmTypes(cublasComputeType_t(d->compute_type), cudaDataType(d->scale_type),
                                cudaDataType(la->type), cudaDataType(lb->type), cudaDataType(lc->type), &types);
  if (st != CUBLAS_STATUS_SUCCESS) return st;
  if (ld->type != lc->type) return CUBLAS_STATUS_NOT_SUPPORTED;
  Operand a, b, c, dd;
  if ((st = operand(*la, d->transa, &a)) != CUBLAS_STATUS_SUCCESS ||
      (st = operand(*lb, d->transb, &b)) != CUBLAS_STATUS_SUCCESS ||
      (st = operand(*lc, d->transc, &c)) != CUBLAS_STATUS_SUCCESS ||
      (st = operand(*ld, CUBLAS_OP_N, &dd)) != CUBLAS_STATUS_SUCCESS)
    return st;
  // C and D are column-major and untransposed; a full matrix.
  if (c.trans || dd.trans || d->fill_mode != CUBLAS_FILL_MODE_FULL) return CUBLAS_STATUS_NOT_SUPPORTED;
  int64_t m = dd.rows, n = dd.cols, k = a.cols;
  if (a.rows != m || b.rows != k || b.cols != n || c.rows != m || c.cols != n) return CUBLAS_STATUS_INVALID_VALUE;
  int64_t batch = dd.batch;
  for (const Operand* o : {&a, &b, &c})
    if (o->batch != batch && o->batch != 1) return CUBLAS_STATUS_INVALID_VALUE;
  if (a.arrays != dd.arrays || b.arrays != dd.arrays || c.arrays != dd.arrays) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (d->pointer_mode != CUBLASLT_POINTER_MODE_HOST && d->pointer_mode != CUBLASLT_POINTER_MODE_DEVICE)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  // Scaling factors and amax belong to fp8 types, which are not among ours.
  if (d->a_scale || d->b_scale || d->c_scale || d->d_scale || d->amax_d || d->aux_scale || d->aux_amax ||
      d->d_out_scale)
    return CUBLAS_STATUS_INVALID_VALUE;
  modnn_op op = gemmOp();
  modnn_gemm& g = op.u.gemm;
  if (!epilogueOf(d->epilogue, &g.epilogue)) return CUBLAS_STATUS_NOT_SUPPORTED;
  bool complex = types.ab == MODNN_C32 || types.ab == MODNN_C64;
  g.trans_a = a.trans;
  g.trans_b = b.trans;
  g.conj_a = complex && d->transa == CUBLAS_OP_C;
  g.conj_b = complex && d->transb == CUBLAS_OP_C;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = a.ld;
  g.ldb = b.ld;
  g.ldc = c.ld;
  g.ldd = dd.ld;
  g.batch = batch;
  g.stride_a = a.stride;
  g.stride_b = b.stride;
  g.stride_c = c.stride;
  g.stride_d = dd.stride;
  g.pointer_arrays = dd.arrays;
  g.a_type = g.b_type = types.ab;
  g.c_type = g.d_type = types.c;
  g.compute_type = types.compute;
  g.allow_tf32 = types.tf32;
  g.scale_type = types.scale;
  if (modnn_epilogue_uses_bias(g.epilogue)) {
    if (d->bias_data_type != -1 && !toDtype(cudaDataType(d->bias_data_type), &g.bias_type))
      return CUBLAS_STATUS_NOT_SUPPORTED;
    if (d->bias_data_type == -1) g.bias_type = g.d_type;
    g.bias = va(d->bias);
    g.stride_bias = d->bias_batch_stride;
  }
  if (modnn_epilogue_uses_aux(g.epilogue)) {
    if (d->aux_data_type != -1 && !toDtype(cudaDataType(d->aux_data_type), &g.aux_type))
      return CUBLAS_STATUS_NOT_SUPPORTED;
    if (d->aux_data_type == -1) g.aux_type = g.d_type;
    // cuBLASLt requires the aux leading dimension to cover D and be a multiple of 8.
    if (d->aux_ld < m || d->aux_ld % 8 != 0) return CUBLAS_STATUS_INVALID_VALUE;
    g.aux = va(d->aux);
    g.ld_aux = d->aux_ld;
    g.stride_aux = d->aux_batch_stride;
  }
  *out = op;
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t operationDesc,
                                              cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc,
                                              cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc,
                                              cublasLtMatmulPreference_t preference, int requestedAlgoCount,
                                              cublasLtMatmulHeuristicResult_t heuristicResultsArray[],
                                              int* returnAlgoCount) {
  if (!liveHandle(lightHandle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!preference || requestedAlgoCount <= 0 || !heuristicResultsArray || !returnAlgoCount)
    return CUBLAS_STATUS_INVALID_VALUE;
  modnn_op op{};
  if (cublasStatus_t st = describe(operationDesc, Adesc, Bdesc, Cdesc, Ddesc, &op); st != CUBLAS_STATUS_SUCCESS)
    return st;
  if (!Client::get().supportsOp(op)) return CUBLAS_STATUS_NOT_SUPPORTED;
  cublasLtMatmulHeuristicResult_t& r = heuristicResultsArray[0];
  std::memset(&r, 0, sizeof r);
  r.algo.data[0] = kAlgoId;
  r.workspaceSize = 0;
  r.state = CUBLAS_STATUS_SUCCESS;
  r.wavesCount = 1.0f;
  *returnAlgoCount = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc, const void* alpha,
                              const void* A, cublasLtMatrixLayout_t Adesc, const void* B, cublasLtMatrixLayout_t Bdesc,
                              const void* beta, const void* C, cublasLtMatrixLayout_t Cdesc, void* D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t* algo, void* workspace,
                              size_t workspaceSizeInBytes, cudaStream_t stream) {
  if (!liveHandle(lightHandle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  modnn_op op{};
  if (cublasStatus_t st = describe(computeDesc, Adesc, Bdesc, Cdesc, Ddesc, &op); st != CUBLAS_STATUS_SUCCESS)
    return st;
  if (algo && algo->data[0] != kAlgoId) return CUBLAS_STATUS_INVALID_VALUE;
  modnn_gemm& g = op.u.gemm;
  if (g.m == 0 || g.n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  bool device = matmulDesc(computeDesc)->pointer_mode == CUBLASLT_POINTER_MODE_DEVICE;
  readScalar(device, alpha, g.scale_type, g.alpha, &g.alpha_ptr);
  readScalar(device, beta, g.scale_type, g.beta, &g.beta_ptr);
  if ((modnn_epilogue_uses_bias(g.epilogue) && !g.bias) || (modnn_epilogue_uses_aux(g.epilogue) && !g.aux))
    return CUBLAS_STATUS_INVALID_VALUE;
  g.a = va(A);
  g.b = va(B);
  g.d = va(D);
  g.c = C ? va(C) : g.d;
  if (!C && !isZero(g.beta, g.beta_ptr)) return CUBLAS_STATUS_INVALID_VALUE;
  return record(op, stream);
}

}  // namespace moai::cublas
