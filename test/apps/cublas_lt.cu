// cuBLASLt: descriptor, layout and preference attributes round-trip; the
// heuristic offers an algorithm; cublasLtMatmul with every epilogue PyTorch
// uses for linear layers (forward: BIAS, RELU(_BIAS), GELU(_BIAS, _AUX);
// backward: DGELU(_BGRAD), BGRADA, BGRADB) over f32, f16 and bf16, all
// transposes, batched with strided offsets, against a CPU reference; and the
// configurations cuBLASLt rejects.
#include <cstdint>

#include "blas_check.h"

namespace {

double gelu(double x) { return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
double geluGrad(double x) {
  double u = 0.7978845608028654 * (x + 0.044715 * x * x * x), t = std::tanh(u);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x);
}

template <class T>
cudaDataType typeOf() {
  if constexpr (std::is_same_v<T, float>) return CUDA_R_32F;
  if constexpr (std::is_same_v<T, __half>) return CUDA_R_16F;
  return CUDA_R_16BF;
}

template <class V>
void setDesc(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, V v) {
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d, attr, &v, sizeof v));
}

template <class V>
void setLayout(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr, V v) {
  CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, attr, &v, sizeof v));
}

void testAttributes() {
  cublasLtMatmulDesc_t d;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  int32_t v = 0;
  size_t written = 0;
  CUBLAS_CHECK(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &v, sizeof v, &written));
  EXPECT_EQ(v, CUBLAS_OP_N);
  EXPECT_EQ(written, sizeof v);
  uint32_t epi = 0;
  CUBLAS_CHECK(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi, nullptr));
  EXPECT_EQ(epi, CUBLASLT_EPILOGUE_DEFAULT);
  setDesc(d, CUBLASLT_MATMUL_DESC_EPILOGUE, uint32_t(CUBLASLT_EPILOGUE_GELU_AUX_BIAS));
  CUBLAS_CHECK(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi, nullptr));
  EXPECT_EQ(epi, CUBLASLT_EPILOGUE_GELU_AUX_BIAS);
  void* bias = reinterpret_cast<void*>(0x1234);
  setDesc(d, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
  void* got = nullptr;
  CUBLAS_CHECK(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &got, sizeof got, nullptr));
  EXPECT(got == bias);
  // Size 0 asks for the size; a wrong size or an unknown attribute is refused.
  CUBLAS_CHECK(cublasLtMatmulDescGetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, nullptr, 0, &written));
  EXPECT_EQ(written, sizeof(int64_t));
  EXPECT_STATUS(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &v, sizeof v),
                CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasLtMatmulDescSetAttribute(d, cublasLtMatmulDescAttributes_t(999), &v, sizeof v),
                CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, nullptr, sizeof v),
                CUBLAS_STATUS_INVALID_VALUE);
  CUBLAS_CHECK(cublasLtMatmulDescDestroy(d));

  // A descriptor in the program's own storage.
  cublasLtMatmulDescOpaque_t storage;
  CUBLAS_CHECK(cublasLtMatmulDescInit(&storage, CUBLAS_COMPUTE_64F, CUDA_R_64F));
  CUBLAS_CHECK(cublasLtMatmulDescGetAttribute(&storage, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &v, sizeof v, nullptr));
  EXPECT_EQ(v, CUBLAS_COMPUTE_64F);

  cublasLtMatrixLayout_t l;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&l, CUDA_R_16BF, 12, 7, 16));
  setLayout(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, int32_t(3));
  setLayout(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, int64_t(200));
  int32_t batch = 0;
  int64_t offset = 0;
  uint64_t rows = 0;
  CUBLAS_CHECK(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch, nullptr));
  CUBLAS_CHECK(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &offset,
                                                sizeof offset, nullptr));
  CUBLAS_CHECK(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, sizeof rows, nullptr));
  EXPECT_EQ(batch, 3);
  EXPECT_EQ(offset, 200);
  EXPECT_EQ(rows, 12);
  CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(l));

  cublasLtMatmulPreference_t p;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&p));
  uint64_t ws = 1 << 22, ws_got = 0;
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  CUBLAS_CHECK(cublasLtMatmulPreferenceGetAttribute(p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_got,
                                                    sizeof ws_got, nullptr));
  EXPECT_EQ(ws_got, ws);
  CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(p));
  std::printf("attributes: ok\n");
}

// One cublasLtMatmul problem: D = epilogue(alpha op(A) op(B) + beta C), with
// `batch` entries; T for A, B, C, D, bias and aux.
template <class T>
struct LtCase {
  cublasLtEpilogue_t epilogue;
  cublasOperation_t ta, tb;
  int m, n, k, batch;
};

template <class T>
void runCase(cublasLtHandle_t lt, const LtCase<T>& t, cudaStream_t stream) {
  const int m = t.m, n = t.n, k = t.k, batch = t.batch;
  int ra = t.ta == CUBLAS_OP_N ? m : k, ca = t.ta == CUBLAS_OP_N ? k : m;
  int rb = t.tb == CUBLAS_OP_N ? k : n, cb = t.tb == CUBLAS_OP_N ? n : k;
  int lda = ra + 1, ldb = rb + 2, ldc = m + 3, ld_aux = (m + 7) / 8 * 8;
  int64_t sa = int64_t(lda) * ca, sb = int64_t(ldb) * cb, sc = int64_t(ldc) * n, s_aux = int64_t(ld_aux) * n;
  int64_t bias_len = t.epilogue == CUBLASLT_EPILOGUE_BGRADB ? n : m;
  auto as = pattern<T>(size_t(sa * batch), 51), bs = pattern<T>(size_t(sb * batch), 52);
  auto cs = pattern<T>(size_t(sc * batch), 53), biases = pattern<T>(size_t(bias_len * batch), 54);
  auto auxs = pattern<T>(size_t(s_aux * batch), 55);
  DeviceBuffer<T> a(as), b(bs), c(cs), bias(biases), aux(auxs);
  float alpha = 0.75f, beta = 0.5f;

  cublasLtMatmulDesc_t desc;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  setDesc(desc, CUBLASLT_MATMUL_DESC_TRANSA, int32_t(t.ta));
  setDesc(desc, CUBLASLT_MATMUL_DESC_TRANSB, int32_t(t.tb));
  setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, uint32_t(t.epilogue));
  setDesc(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, static_cast<void*>(bias.p));
  setDesc(desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, bias_len);
  setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, static_cast<void*>(aux.p));
  setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, int64_t(ld_aux));
  setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, s_aux);
  cublasLtMatrixLayout_t la, lb, lc;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, typeOf<T>(), ra, ca, lda));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, typeOf<T>(), rb, cb, ldb));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lc, typeOf<T>(), m, n, ldc));
  for (auto [l, stride] : {std::pair{la, sa}, {lb, sb}, {lc, sc}}) {
    setLayout(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, int32_t(batch));
    setLayout(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, stride);
  }
  cublasLtMatmulPreference_t pref;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  cublasLtMatmulHeuristicResult_t heur[4];
  int found = 0;
  CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 4, heur, &found));
  EXPECT(found >= 1 && heur[0].state == CUBLAS_STATUS_SUCCESS);
  CUBLAS_CHECK(cublasLtMatmul(lt, desc, &alpha, a.p, la, b.p, lb, &beta, c.p, lc, c.p, lc, &heur[0].algo, nullptr, 0,
                              stream));
  CHECK(cudaStreamSynchronize(stream));
  auto d_got = c.download(), bias_got = bias.download(), aux_got = aux.download();

  // The reference, entry by entry, in double on the same (rounded) inputs.
  cublasLtEpilogue_t e = t.epilogue;
  bool add_bias = e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_RELU_BIAS ||
                  e == CUBLASLT_EPILOGUE_GELU_BIAS || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
  bool relu = e == CUBLASLT_EPILOGUE_RELU || e == CUBLASLT_EPILOGUE_RELU_BIAS;
  bool gelu_fwd = e == CUBLASLT_EPILOGUE_GELU || e == CUBLASLT_EPILOGUE_GELU_BIAS ||
                  e == CUBLASLT_EPILOGUE_GELU_AUX || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
  bool save_aux = e == CUBLASLT_EPILOGUE_GELU_AUX || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
  bool dgelu = e == CUBLASLT_EPILOGUE_DGELU || e == CUBLASLT_EPILOGUE_DGELU_BGRAD;
  double tol = tolerance<T>() * std::sqrt(double(k) + 1) * 4;
  char label[128];
  for (int bi = 0; bi < batch; ++bi) {
    std::vector<double> mag;
    auto x = refGemm(t.ta, t.tb, m, n, k, cdouble(alpha), &as[size_t(sa * bi)], lda, &bs[size_t(sb * bi)], ldb,
                     cdouble(beta), &cs[size_t(sc * bi)], ldc, &mag);
    std::vector<double> bias_want(size_t(bias_len), 0.0), bias_mag(size_t(bias_len), 0.0);
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < m; ++i) {
        size_t at = size_t(i + j * m);
        double v = x[at].real();
        if (add_bias) v += toDouble(biases[size_t(bias_len * bi + i)]);
        if (save_aux) {
          std::snprintf(label, sizeof label, "aux (%d, %d) entry %d", i, j, bi);
          std::vector<double> one = {mag[at] + 1};
          expectNear(std::vector<T>{aux_got[size_t(s_aux * bi + i + j * ld_aux)]}, 1, {cdouble(v)}, one, 1, 1, tol,
                     label);
        }
        if (relu) v = v > 0 ? v : 0;
        if (gelu_fwd) v = gelu(v);
        if (dgelu) v *= geluGrad(toDouble(auxs[size_t(s_aux * bi + i + j * ld_aux)]));
        x[at] = v;
        mag[at] = mag[at] * 2 + 1;
        if (e == CUBLASLT_EPILOGUE_DGELU_BGRAD) {
          bias_want[size_t(i)] += v;
          bias_mag[size_t(i)] += std::abs(v) + 1;
        }
      }
    }
    if (e == CUBLASLT_EPILOGUE_BGRADA || e == CUBLASLT_EPILOGUE_BGRADB) {
      for (int64_t i = 0; i < bias_len; ++i) {
        for (int l = 0; l < k; ++l) {
          cdouble v = e == CUBLASLT_EPILOGUE_BGRADA ? opAt(&as[size_t(sa * bi)], lda, t.ta, i, l)
                                                    : opAt(&bs[size_t(sb * bi)], ldb, t.tb, l, i);
          bias_want[size_t(i)] += v.real();
          bias_mag[size_t(i)] += std::abs(v) + 1;
        }
      }
    }
    std::snprintf(label, sizeof label, "D, epilogue %d %s%s entry %d", int(e), opName(t.ta), opName(t.tb), bi);
    std::vector<T> d_entry(d_got.begin() + sc * bi, d_got.begin() + sc * (bi + 1));
    expectNear(d_entry, ldc, x, mag, m, n, tol, label);
    if (e == CUBLASLT_EPILOGUE_DGELU_BGRAD || e == CUBLASLT_EPILOGUE_BGRADA || e == CUBLASLT_EPILOGUE_BGRADB) {
      std::snprintf(label, sizeof label, "bias gradient, epilogue %d entry %d", int(e), bi);
      std::vector<T> b_entry(bias_got.begin() + bias_len * bi, bias_got.begin() + bias_len * (bi + 1));
      std::vector<cdouble> want(bias_want.begin(), bias_want.end());
      expectNear(b_entry, bias_len, want, bias_mag, bias_len, 1, tol, label);
    }
  }
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatmulDescDestroy(desc);
}

const cublasLtEpilogue_t kEpilogues[] = {
    CUBLASLT_EPILOGUE_DEFAULT,  CUBLASLT_EPILOGUE_RELU,          CUBLASLT_EPILOGUE_BIAS,
    CUBLASLT_EPILOGUE_RELU_BIAS, CUBLASLT_EPILOGUE_GELU,         CUBLASLT_EPILOGUE_GELU_BIAS,
    CUBLASLT_EPILOGUE_GELU_AUX, CUBLASLT_EPILOGUE_GELU_AUX_BIAS, CUBLASLT_EPILOGUE_DGELU,
    CUBLASLT_EPILOGUE_DGELU_BGRAD, CUBLASLT_EPILOGUE_BGRADA,     CUBLASLT_EPILOGUE_BGRADB,
};

template <class T>
void testEpilogues(cublasLtHandle_t lt, cudaStream_t stream, const char* name) {
  for (cublasLtEpilogue_t e : kEpilogues)
    for (cublasOperation_t ta : {CUBLAS_OP_N, CUBLAS_OP_T})
      for (cublasOperation_t tb : {CUBLAS_OP_N, CUBLAS_OP_T}) runCase<T>(lt, {e, ta, tb, 12, 5, 9, 2}, stream);
  runCase<T>(lt, {CUBLASLT_EPILOGUE_BIAS, CUBLAS_OP_T, CUBLAS_OP_N, 64, 48, 80, 1}, stream);
  std::printf("%s epilogues: ok\n", name);
}

// A row-major A is the transpose of a column-major one.
void testRowMajor(cublasLtHandle_t lt) {
  const int m = 6, n = 4, k = 5;
  auto as = pattern<float>(size_t(m * k), 61), bs = pattern<float>(size_t(k * n), 62);
  std::vector<float> zeros(size_t(m * n), 0.0f);
  DeviceBuffer<float> a(as), b(bs), d(zeros);
  cublasLtMatmulDesc_t desc;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasLtMatrixLayout_t la, lb, ld;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, m, k, k));
  setLayout(la, CUBLASLT_MATRIX_LAYOUT_ORDER, int32_t(CUBLASLT_ORDER_ROW));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, k, n, k));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, m, n, m));
  float one = 1, zero = 0;
  CUBLAS_CHECK(cublasLtMatmul(lt, desc, &one, a.p, la, b.p, lb, &zero, d.p, ld, d.p, ld, nullptr, nullptr, 0, 0));
  // A row-major m x k with ld k is column-major k x m, used transposed.
  std::vector<double> mag;
  auto want = refGemm(CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, cdouble(1), as.data(), k, bs.data(), k, cdouble(0),
                      zeros.data(), m, &mag);
  expectNear(d.download(), m, want, mag, m, n, tolerance<float>(), "row-major A");
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(ld);
  cublasLtMatmulDescDestroy(desc);
  std::printf("row-major layout: ok\n");
}

// Alpha and beta in device memory (CUBLASLT_POINTER_MODE_DEVICE).
void testDeviceScalars(cublasLtHandle_t lt) {
  const int m = 10, n = 7, k = 6;
  auto as = pattern<float>(size_t(m * k), 63), bs = pattern<float>(size_t(k * n), 64);
  auto cs = pattern<float>(size_t(m * n), 65);
  DeviceBuffer<float> a(as), b(bs), c(cs), scalars(std::vector<float>{-2.0f, 0.5f});
  cublasLtMatmulDesc_t desc;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  setDesc(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, int32_t(CUBLASLT_POINTER_MODE_DEVICE));
  cublasLtMatrixLayout_t la, lb, lc;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, m, k, m));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, k, n, k));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, m, n, m));
  CUBLAS_CHECK(cublasLtMatmul(lt, desc, scalars.p, a.p, la, b.p, lb, scalars.p + 1, c.p, lc, c.p, lc, nullptr, nullptr,
                              0, 0));
  std::vector<double> mag;
  auto want = refGemm(CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, cdouble(-2), as.data(), m, bs.data(), k, cdouble(0.5),
                      cs.data(), m, &mag);
  expectNear(c.download(), m, want, mag, m, n, tolerance<float>() * 4, "device scalars");
  for (auto l : {la, lb, lc}) cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulDescDestroy(desc);
  std::printf("device pointer mode: ok\n");
}

void testRejected(cublasLtHandle_t lt) {
  DeviceBuffer<float> buf(1024);
  cublasLtMatmulDesc_t desc;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasLtMatrixLayout_t la, lb, lc, bad;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, 8, 4, 8));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, 4, 6, 4));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, 8, 6, 8));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&bad, CUDA_R_32F, 5, 6, 8));  // rows != m
  cublasLtMatmulPreference_t pref;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  cublasLtMatmulHeuristicResult_t heur;
  int found = 0;
  float one = 1;
  auto matmul = [&](cublasLtHandle_t h, cublasLtMatrixLayout_t c) {
    return cublasLtMatmul(h, desc, &one, buf.p, la, buf.p + 256, lb, &one, buf.p + 512, c, buf.p + 512, c, nullptr,
                          nullptr, 0, 0);
  };
  EXPECT_STATUS(matmul(nullptr, lc), CUBLAS_STATUS_NOT_INITIALIZED);
  EXPECT_STATUS(matmul(lt, bad), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 0, &heur, &found),
                CUBLAS_STATUS_INVALID_VALUE);
  setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, uint32_t(CUBLASLT_EPILOGUE_RELU_AUX));
  EXPECT_STATUS(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 1, &heur, &found),
                CUBLAS_STATUS_NOT_SUPPORTED);
  // GELU_AUX needs an aux leading dimension that covers D and is a multiple of 8.
  setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, uint32_t(CUBLASLT_EPILOGUE_GELU_AUX));
  setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, static_cast<void*>(buf.p + 768));
  setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, int64_t(12));
  EXPECT_STATUS(matmul(lt, lc), CUBLAS_STATUS_INVALID_VALUE);
  setDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, int64_t(8));
  CUBLAS_CHECK(matmul(lt, lc));
  // An f16 A with f32 B is no documented combination.
  cublasLtMatrixLayout_t lh;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lh, CUDA_R_16F, 8, 4, 8));
  EXPECT_STATUS(cublasLtMatmulAlgoGetHeuristic(lt, desc, lh, lb, lc, lc, pref, 1, &heur, &found),
                CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(cudaDeviceSynchronize());
  for (auto l : {la, lb, lc, bad, lh}) cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatmulDescDestroy(desc);
  std::printf("rejected configurations: ok\n");
}

}  // namespace

int main() {
  cublasLtHandle_t lt;
  CUBLAS_CHECK(cublasLtCreate(&lt));
  EXPECT(cublasLtGetVersion() >= 130000);
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  testAttributes();
  testEpilogues<float>(lt, stream, "f32");
  testEpilogues<__half>(lt, stream, "f16");
  testEpilogues<__nv_bfloat16>(lt, stream, "bf16");
  testRowMajor(lt);
  testDeviceScalars(lt);
  testRejected(lt);
  CHECK(cudaStreamDestroy(stream));
  CUBLAS_CHECK(cublasLtDestroy(lt));
  return 0;
}
