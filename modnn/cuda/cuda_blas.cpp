// moDNN ops on the GPU: GEMMs through cuBLASLt (epilogues, batches) or
// cuBLAS (complex, pointer arrays), the other BLAS routines through cuBLAS.
// Addresses in ops are the client's, which are the GPU's own (see
// cuda_backend.cpp), so they are passed through unchanged.
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "modnn/cuda/cuda_device.h"

namespace modnn::cuda {
namespace {

constexpr uint64_t kWorkspaceBytes = 32ull << 20;  // what cuBLASLt's fastest Hopper kernels ask for
constexpr int kScalarSlot = 16;

cudaDataType dataType(modnn_dtype t) {
  switch (t) {
    case MODNN_F32: return CUDA_R_32F;
    case MODNN_F64: return CUDA_R_64F;
    case MODNN_F16: return CUDA_R_16F;
    case MODNN_BF16: return CUDA_R_16BF;
    case MODNN_C32: return CUDA_C_32F;
    case MODNN_C64: return CUDA_C_64F;
    case MODNN_I8: return CUDA_R_8I;
    case MODNN_I32: return CUDA_R_32I;
    case MODNN_I64: return CUDA_R_64I;
  }
  return CUDA_R_32F;
}

bool isComplex(modnn_dtype t) { return t == MODNN_C32 || t == MODNN_C64; }

cublasComputeType_t computeType(const modnn_gemm& g) {
  switch (g.compute_type) {
    case MODNN_F64: case MODNN_C64: return CUBLAS_COMPUTE_64F;
    case MODNN_F16: return CUBLAS_COMPUTE_16F;
    case MODNN_I32: return CUBLAS_COMPUTE_32I;
    default: return g.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  }
}

cublasOperation_t operation(bool trans, bool conj) {
  return trans ? (conj ? CUBLAS_OP_C : CUBLAS_OP_T) : CUBLAS_OP_N;
}

// A host scalar in the bytes of `t`.
void pack(modnn_dtype t, const double v[2], unsigned char out[kScalarSlot]) {
  std::memset(out, 0, kScalarSlot);
  switch (t) {
    case MODNN_F64: std::memcpy(out, &v[0], 8); break;
    case MODNN_C64: std::memcpy(out, v, 16); break;
    case MODNN_C32: { float f[2] = {float(v[0]), float(v[1])}; std::memcpy(out, f, 8); break; }
    case MODNN_F16: { _Float16 h = _Float16(v[0]); std::memcpy(out, &h, 2); break; }
    case MODNN_I32: { int32_t i = int32_t(v[0]); std::memcpy(out, &i, 4); break; }
    default: { float f = float(v[0]); std::memcpy(out, &f, 4); break; }
  }
}

// alpha and beta as cuBLAS wants them: both host or both device pointers.
// A host value next to a device one is staged into the device's scalar
// slots, in stream order, so it is read before any later op overwrites it.
struct Scalars {
  unsigned char host[2][kScalarSlot];
  const void* alpha = nullptr;
  const void* beta = nullptr;
  bool device_mode = false;
};

modnn_status prepareScalars(CudaDevice* d, modnn_dtype t, const double alpha[2], uint64_t alpha_ptr,
                            const double beta[2], uint64_t beta_ptr, Scalars* s) {
  pack(t, alpha, s->host[0]);
  pack(t, beta, s->host[1]);
  s->device_mode = alpha_ptr || beta_ptr;
  if (!s->device_mode) {
    s->alpha = s->host[0];
    s->beta = s->host[1];
    return MODNN_OK;
  }
  uint64_t ptrs[2] = {alpha_ptr, beta_ptr};
  const void* out[2];
  for (int i = 0; i < 2; ++i) {
    if (ptrs[i]) {
      out[i] = reinterpret_cast<const void*>(ptrs[i]);
      continue;
    }
    CUdeviceptr slot = d->scalars + CUdeviceptr(i * kScalarSlot);
    modnn_status st = check(d, d->cu->cuMemcpyHtoDAsync(slot, s->host[i], kScalarSlot, d->stream), "scalar staging");
    if (st != MODNN_OK) return st;
    out[i] = reinterpret_cast<const void*>(slot);
  }
  s->alpha = out[0];
  s->beta = out[1];
  return MODNN_OK;
}

modnn_status ensureBlas(CudaDevice* d) {
  modnn_status st = MODNN_OK;
  std::call_once(d->blas_once, [&] {
    st = checkBlas(d->cu->cublasCreate(&d->blas), "cublasCreate");
    if (st == MODNN_OK) st = checkBlas(d->cu->cublasLtCreate(&d->lt), "cublasLtCreate");
    if (st == MODNN_OK) st = check(d, d->cu->cuMemAlloc(&d->workspace, kWorkspaceBytes), "cuMemAlloc(workspace)");
    if (st == MODNN_OK) st = check(d, d->cu->cuMemAlloc(&d->scalars, 2 * kScalarSlot), "cuMemAlloc(scalars)");
    if (st != MODNN_OK) return;
    d->workspace_size = kWorkspaceBytes;
    d->cu->cublasSetStream(d->blas, d->stream);
    d->cu->cublasSetWorkspace(d->blas, reinterpret_cast<void*>(d->workspace), d->workspace_size);
  });
  if (st != MODNN_OK) return st;
  return d->blas && d->lt && d->scalars ? MODNN_OK : MODNN_ERR_NOT_INITIALIZED;
}

// ---- GEMM ----------------------------------------------------------------

cublasLtEpilogue_t ltEpilogue(modnn_gemm_epilogue e) {
  switch (e) {
    case MODNN_EPILOGUE_RELU: return CUBLASLT_EPILOGUE_RELU;
    case MODNN_EPILOGUE_BIAS: return CUBLASLT_EPILOGUE_BIAS;
    case MODNN_EPILOGUE_RELU_BIAS: return CUBLASLT_EPILOGUE_RELU_BIAS;
    case MODNN_EPILOGUE_GELU: return CUBLASLT_EPILOGUE_GELU;
    case MODNN_EPILOGUE_GELU_BIAS: return CUBLASLT_EPILOGUE_GELU_BIAS;
    case MODNN_EPILOGUE_GELU_AUX: return CUBLASLT_EPILOGUE_GELU_AUX;
    case MODNN_EPILOGUE_GELU_AUX_BIAS: return CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
    case MODNN_EPILOGUE_DGELU: return CUBLASLT_EPILOGUE_DGELU;
    case MODNN_EPILOGUE_DGELU_BGRAD: return CUBLASLT_EPILOGUE_DGELU_BGRAD;
    case MODNN_EPILOGUE_BGRADA: return CUBLASLT_EPILOGUE_BGRADA;
    case MODNN_EPILOGUE_BGRADB: return CUBLASLT_EPILOGUE_BGRADB;
    default: return CUBLASLT_EPILOGUE_DEFAULT;
  }
}

// Owns the cuBLASLt descriptors of one call.
struct LtCall {
  const CudaLibraries* cu;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t layout[4] = {};
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtCall() {
    if (pref) cu->cublasLtMatmulPreferenceDestroy(pref);
    for (auto l : layout)
      if (l) cu->cublasLtMatrixLayoutDestroy(l);
    if (desc) cu->cublasLtMatmulDescDestroy(desc);
  }
};

template <typename T>
cublasStatus_t setDesc(const CudaLibraries* cu, cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t a, T v) {
  return cu->cublasLtMatmulDescSetAttribute(desc, a, &v, sizeof v);
}

modnn_status layout(const CudaLibraries* cu, cublasLtMatrixLayout_t* out, modnn_dtype t, int64_t rows, int64_t cols,
                    int64_t ld, int64_t batch, int64_t stride) {
  modnn_status st = checkBlas(cu->cublasLtMatrixLayoutCreate(out, dataType(t), uint64_t(rows), uint64_t(cols), ld),
                              "cublasLtMatrixLayoutCreate");
  if (st != MODNN_OK || batch <= 1) return st;
  int32_t count = int32_t(batch);
  cu->cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count);
  cu->cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride);
  return MODNN_OK;
}

modnn_status gemmLt(CudaDevice* d, const modnn_gemm& g) {
  const CudaLibraries* cu = d->cu;
  Scalars s;
  modnn_status st = prepareScalars(d, g.scale_type, g.alpha, g.alpha_ptr, g.beta, g.beta_ptr, &s);
  if (st != MODNN_OK) return st;
  LtCall call{cu};
  st = checkBlas(cu->cublasLtMatmulDescCreate(&call.desc, computeType(g), dataType(g.scale_type)),
                 "cublasLtMatmulDescCreate");
  if (st != MODNN_OK) return st;
  setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_TRANSA, int32_t(operation(g.trans_a, g.conj_a)));
  setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_TRANSB, int32_t(operation(g.trans_b, g.conj_b)));
  setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_POINTER_MODE,
          int32_t(s.device_mode ? CUBLASLT_POINTER_MODE_DEVICE : CUBLASLT_POINTER_MODE_HOST));
  setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, int32_t(ltEpilogue(g.epilogue)));
  if (modnn_epilogue_uses_bias(g.epilogue)) {
    setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, reinterpret_cast<void*>(g.bias));
    setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, int32_t(dataType(g.bias_type)));
    if (g.batch > 1) setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, int64_t(g.stride_bias));
  }
  if (modnn_epilogue_uses_aux(g.epilogue)) {
    setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, reinterpret_cast<void*>(g.aux));
    setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, int64_t(g.ld_aux));
    setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, int32_t(dataType(g.aux_type)));
    if (g.batch > 1) setDesc(cu, call.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, int64_t(g.stride_aux));
  }
  int64_t ar = g.trans_a ? g.k : g.m, ac = g.trans_a ? g.m : g.k;
  int64_t br = g.trans_b ? g.n : g.k, bc = g.trans_b ? g.k : g.n;
  for (modnn_status s2 : {layout(cu, &call.layout[0], g.a_type, ar, ac, g.lda, g.batch, g.stride_a),
                          layout(cu, &call.layout[1], g.b_type, br, bc, g.ldb, g.batch, g.stride_b),
                          layout(cu, &call.layout[2], g.c_type, g.m, g.n, g.ldc, g.batch, g.stride_c),
                          layout(cu, &call.layout[3], g.d_type, g.m, g.n, g.ldd, g.batch, g.stride_d)})
    if (s2 != MODNN_OK) return s2;
  st = checkBlas(cu->cublasLtMatmulPreferenceCreate(&call.pref), "cublasLtMatmulPreferenceCreate");
  if (st != MODNN_OK) return st;
  uint64_t ws = d->workspace_size;
  cu->cublasLtMatmulPreferenceSetAttribute(call.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  st = checkBlas(cu->cublasLtMatmulAlgoGetHeuristic(d->lt, call.desc, call.layout[0], call.layout[1], call.layout[2],
                                                    call.layout[3], call.pref, 1, &heuristic, &found),
                 "cublasLtMatmulAlgoGetHeuristic");
  if (st != MODNN_OK) return st;
  if (found == 0) return MODNN_ERR_NOT_SUPPORTED;
  auto ptr = [](uint64_t a) { return reinterpret_cast<void*>(a); };
  return checkBlas(cu->cublasLtMatmul(d->lt, call.desc, s.alpha, ptr(g.a), call.layout[0], ptr(g.b), call.layout[1],
                                      s.beta, ptr(g.c), call.layout[2], ptr(g.d), call.layout[3], &heuristic.algo,
                                      ptr(d->workspace), d->workspace_size, d->stream),
                   "cublasLtMatmul");
}

// Complex GEMMs and arrays of pointers: classic cuBLAS (C is overwritten).
modnn_status gemmClassic(CudaDevice* d, const modnn_gemm& g) {
  const CudaLibraries* cu = d->cu;
  Scalars s;
  modnn_status st = prepareScalars(d, g.scale_type, g.alpha, g.alpha_ptr, g.beta, g.beta_ptr, &s);
  if (st != MODNN_OK) return st;
  cu->cublasSetPointerMode(d->blas, s.device_mode ? CUBLAS_POINTER_MODE_DEVICE : CUBLAS_POINTER_MODE_HOST);
  auto ptr = [](uint64_t a) { return reinterpret_cast<void*>(a); };
  cublasOperation_t ta = operation(g.trans_a, g.conj_a), tb = operation(g.trans_b, g.conj_b);
  if (g.pointer_arrays)
    return checkBlas(cu->cublasGemmBatchedEx(d->blas, ta, tb, int(g.m), int(g.n), int(g.k), s.alpha,
                                             static_cast<const void* const*>(ptr(g.a)), dataType(g.a_type), int(g.lda),
                                             static_cast<const void* const*>(ptr(g.b)), dataType(g.b_type), int(g.ldb),
                                             s.beta, static_cast<void* const*>(ptr(g.c)), dataType(g.c_type),
                                             int(g.ldc), int(g.batch), computeType(g), CUBLAS_GEMM_DEFAULT),
                     "cublasGemmBatchedEx");
  return checkBlas(cu->cublasGemmStridedBatchedEx(d->blas, ta, tb, int(g.m), int(g.n), int(g.k), s.alpha, ptr(g.a),
                                                  dataType(g.a_type), int(g.lda), g.stride_a, ptr(g.b),
                                                  dataType(g.b_type), int(g.ldb), g.stride_b, s.beta, ptr(g.c),
                                                  dataType(g.c_type), int(g.ldc), g.stride_c, int(g.batch),
                                                  computeType(g), CUBLAS_GEMM_DEFAULT),
                   "cublasGemmStridedBatchedEx");
}

bool classicGemm(const modnn_gemm& g) { return g.pointer_arrays || isComplex(g.a_type); }

bool fitsInt(int64_t v) { return v >= 0 && v <= INT32_MAX; }

bool supportsGemm(const modnn_gemm& g) {
  for (modnn_dtype t : {g.a_type, g.b_type, g.c_type, g.d_type})
    if (t == MODNN_I64) return false;
  if (!classicGemm(g)) return true;
  // Classic cuBLAS writes C in place and has no epilogues.
  return g.epilogue == MODNN_EPILOGUE_DEFAULT && g.c == g.d && g.ldc == g.ldd && g.c_type == g.d_type &&
         g.stride_c == g.stride_d && fitsInt(g.m) && fitsInt(g.n) && fitsInt(g.k) && fitsInt(g.lda) &&
         fitsInt(g.ldb) && fitsInt(g.ldc) && fitsInt(g.batch);
}

// ---- BLAS level 1, 2 and the rest of level 3 -----------------------------

// cuBLAS's per-type routines differ only in pointer types, so one signature
// with void pointers serves S, D, C and Z; the symbol is chosen by name.
void* routine(CudaDevice* d, const std::string& name) {
  static std::mutex mu;
  static std::unordered_map<std::string, void*> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  void* f = d->cu->blasSymbol(name.c_str());
  cache.emplace(name, f);
  return f;
}

char typeLetter(modnn_dtype t) {
  switch (t) {
    case MODNN_F64: return 'D';
    case MODNN_C32: return 'C';
    case MODNN_C64: return 'Z';
    default: return 'S';
  }
}

modnn_dtype realPart(modnn_dtype t) { return t == MODNN_C32 ? MODNN_F32 : t == MODNN_C64 ? MODNN_F64 : t; }

using H = cublasHandle_t;
using V = const void*;
using W = void*;
using I = int64_t;

template <typename Fn, typename... Args>
modnn_status call(CudaDevice* d, const std::string& name, Args... args) {
  auto fn = reinterpret_cast<Fn>(routine(d, name));
  if (!fn) return MODNN_ERR_NOT_SUPPORTED;
  return checkBlas(fn(d->blas, args...), name.c_str());
}

modnn_status runBlas(CudaDevice* d, const modnn_blas& b) {
  const CudaLibraries* cu = d->cu;
  auto p = [](uint64_t a) { return reinterpret_cast<W>(a); };
  cudaDataType t = dataType(b.type);
  std::string L(1, typeLetter(b.type));
  Scalars s;
  modnn_status st = prepareScalars(d, b.type, b.alpha, b.alpha_ptr, b.beta, b.beta_ptr, &s);
  if (st != MODNN_OK) return st;
  bool result_op = b.fn == MODNN_BLAS_DOT || b.fn == MODNN_BLAS_NRM2 || b.fn == MODNN_BLAS_ASUM ||
                   b.fn == MODNN_BLAS_IAMAX || b.fn == MODNN_BLAS_IAMIN;
  cu->cublasSetPointerMode(d->blas, result_op || s.device_mode ? CUBLAS_POINTER_MODE_DEVICE : CUBLAS_POINTER_MODE_HOST);
  cublasOperation_t ta = operation(b.trans_a, b.conj_a), tb = operation(b.trans_b, b.conj_b);
  cublasSideMode_t side = b.right ? CUBLAS_SIDE_RIGHT : CUBLAS_SIDE_LEFT;
  cublasFillMode_t uplo = b.upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
  cublasDiagType_t diag = b.unit_diag ? CUBLAS_DIAG_UNIT : CUBLAS_DIAG_NON_UNIT;
  switch (b.fn) {
    case MODNN_BLAS_AXPY:
      return call<cublasStatus_t (*)(H, I, V, cudaDataType, V, cudaDataType, I, W, cudaDataType, I, cudaDataType)>(
          d, "cublasAxpyEx_64", b.n, s.alpha, t, p(b.x), t, b.incx, p(b.y), t, b.incy, t);
    case MODNN_BLAS_SCAL:
      return call<cublasStatus_t (*)(H, I, V, cudaDataType, W, cudaDataType, I, cudaDataType)>(
          d, "cublasScalEx_64", b.n, s.alpha, t, p(b.x), t, b.incx, t);
    case MODNN_BLAS_DOT:
      return call<cublasStatus_t (*)(H, I, V, cudaDataType, I, V, cudaDataType, I, W, cudaDataType, cudaDataType)>(
          d, b.conj_a ? "cublasDotcEx_64" : "cublasDotEx_64", b.n, p(b.x), t, b.incx, p(b.y), t, b.incy, p(b.result),
          dataType(b.result_type), t);
    case MODNN_BLAS_NRM2:
      return call<cublasStatus_t (*)(H, I, V, cudaDataType, I, W, cudaDataType, cudaDataType)>(
          d, "cublasNrm2Ex_64", b.n, p(b.x), t, b.incx, p(b.result), dataType(b.result_type),
          dataType(realPart(b.type)));
    case MODNN_BLAS_ASUM:
      return call<cublasStatus_t (*)(H, I, V, cudaDataType, I, W, cudaDataType, cudaDataType)>(
          d, "cublasAsumEx_64", b.n, p(b.x), t, b.incx, p(b.result), dataType(b.result_type),
          dataType(realPart(b.type)));
    case MODNN_BLAS_IAMAX:
    case MODNN_BLAS_IAMIN: {
      std::string lower(1, char(L[0] - 'A' + 'a'));
      std::string name = "cublasI" + lower + (b.fn == MODNN_BLAS_IAMAX ? "amax_v2" : "amin_v2");
      if (b.result_type == MODNN_I64)
        return call<cublasStatus_t (*)(H, I, V, I, W)>(d, name + "_64", b.n, p(b.x), b.incx, p(b.result));
      if (!fitsInt(b.n)) return MODNN_ERR_NOT_SUPPORTED;
      return call<cublasStatus_t (*)(H, int, V, int, W)>(d, name, int(b.n), p(b.x), int(b.incx), p(b.result));
    }
    case MODNN_BLAS_COPY:
      return call<cublasStatus_t (*)(H, I, V, cudaDataType, I, W, cudaDataType, I)>(
          d, "cublasCopyEx_64", b.n, p(b.x), t, b.incx, p(b.y), t, b.incy);
    case MODNN_BLAS_SWAP:
      return call<cublasStatus_t (*)(H, I, W, cudaDataType, I, W, cudaDataType, I)>(
          d, "cublasSwapEx_64", b.n, p(b.x), t, b.incx, p(b.y), t, b.incy);
    case MODNN_BLAS_GEMV:
      return call<cublasStatus_t (*)(H, cublasOperation_t, I, I, V, V, I, V, I, V, W, I)>(
          d, "cublas" + L + "gemv_v2_64", ta, b.m, b.n, s.alpha, p(b.a), b.lda, p(b.x), b.incx, s.beta, p(b.y), b.incy);
    case MODNN_BLAS_GER: {
      std::string name = isComplex(b.type) ? "cublas" + L + (b.conj_a ? "gerc_v2_64" : "geru_v2_64")
                                           : "cublas" + L + "ger_v2_64";
      return call<cublasStatus_t (*)(H, I, I, V, V, I, V, I, W, I)>(d, name, b.m, b.n, s.alpha, p(b.x), b.incx, p(b.y),
                                                                   b.incy, p(b.a), b.lda);
    }
    case MODNN_BLAS_GEAM:
      return call<cublasStatus_t (*)(H, cublasOperation_t, cublasOperation_t, I, I, V, V, I, V, V, I, W, I)>(
          d, "cublas" + L + "geam_64", ta, tb, b.m, b.n, s.alpha, p(b.a), b.lda, s.beta, p(b.b), b.ldb, p(b.c), b.ldc);
    case MODNN_BLAS_DGMM:
      return call<cublasStatus_t (*)(H, cublasSideMode_t, I, I, V, I, V, I, W, I)>(
          d, "cublas" + L + "dgmm_64", side, b.m, b.n, p(b.a), b.lda, p(b.x), b.incx, p(b.c), b.ldc);
    case MODNN_BLAS_TRSM:
      return call<cublasStatus_t (*)(H, cublasSideMode_t, cublasFillMode_t, cublasOperation_t, cublasDiagType_t, I, I,
                                     V, V, I, W, I)>(d, "cublas" + L + "trsm_v2_64", side, uplo, ta, diag, b.m, b.n,
                                                     s.alpha, p(b.a), b.lda, p(b.b), b.ldb);
    case MODNN_BLAS_SYRK:
      return call<cublasStatus_t (*)(H, cublasFillMode_t, cublasOperation_t, I, I, V, V, I, V, W, I)>(
          d, "cublas" + L + "syrk_v2_64", uplo, ta, b.n, b.k, s.alpha, p(b.a), b.lda, s.beta, p(b.c), b.ldc);
  }
  return MODNN_ERR_NOT_SUPPORTED;
}

}  // namespace

bool supportsOp(void*, const modnn_op* op) {
  switch (op->kind) {
    case MODNN_OP_GEMM: return supportsGemm(op->u.gemm);
    case MODNN_OP_BLAS: {
      modnn_dtype t = op->u.blas.type;
      return t == MODNN_F32 || t == MODNN_F64 || t == MODNN_C32 || t == MODNN_C64;
    }
  }
  return false;
}

modnn_status runOp(void* ctx, const modnn_op* op) {
  CudaDevice* d = device(ctx);
  if (!supportsOp(ctx, op)) return MODNN_ERR_NOT_SUPPORTED;
  makeCurrent(d);
  modnn_status st = ensureBlas(d);
  if (st != MODNN_OK) return st;
  std::lock_guard<std::mutex> lock(d->blas_mu);
  if (op->kind == MODNN_OP_GEMM) return classicGemm(op->u.gemm) ? gemmClassic(d, op->u.gemm) : gemmLt(d, op->u.gemm);
  return runBlas(d, op->u.blas);
}

void destroyBlas(CudaDevice* d) {
  if (d->lt) d->cu->cublasLtDestroy(d->lt);
  if (d->blas) d->cu->cublasDestroy(d->blas);
  if (d->workspace) d->cu->cuMemFree(d->workspace);
  if (d->scalars) d->cu->cuMemFree(d->scalars);
}

}  // namespace modnn::cuda
