// cuBLAS handles and library queries: create/destroy, streams (GEMMs are
// ordered with the copies around them on the handle's stream), pointer and
// math modes, workspace, versions and properties, status names and strings,
// and an unimplemented function that answers NOT_SUPPORTED while the handle
// keeps working.
#include "blas_check.h"

namespace {

void testLifecycle() {
  EXPECT_STATUS(cublasCreate(nullptr), CUBLAS_STATUS_INVALID_VALUE);
  cublasHandle_t a, b;
  CUBLAS_CHECK(cublasCreate(&a));
  CUBLAS_CHECK(cublasCreate(&b));
  EXPECT(a != b);
  CUBLAS_CHECK(cublasDestroy(b));
  EXPECT_STATUS(cublasDestroy(nullptr), CUBLAS_STATUS_NOT_INITIALIZED);
  cublasLtHandle_t lt;
  CUBLAS_CHECK(cublasLtCreate(&lt));
  CUBLAS_CHECK(cublasLtDestroy(lt));
  EXPECT_STATUS(cublasLtCreate(nullptr), CUBLAS_STATUS_INVALID_VALUE);

  cudaStream_t s, got;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublasGetStream(a, &got));
  EXPECT(got == nullptr);
  CUBLAS_CHECK(cublasSetStream(a, s));
  CUBLAS_CHECK(cublasGetStream(a, &got));
  EXPECT(got == s);
  EXPECT_STATUS(cublasGetStream(a, nullptr), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_STATUS(cublasSetStream(nullptr, s), CUBLAS_STATUS_NOT_INITIALIZED);

  cublasPointerMode_t pm;
  CUBLAS_CHECK(cublasGetPointerMode(a, &pm));
  EXPECT_EQ(pm, CUBLAS_POINTER_MODE_HOST);
  CUBLAS_CHECK(cublasSetPointerMode(a, CUBLAS_POINTER_MODE_DEVICE));
  CUBLAS_CHECK(cublasGetPointerMode(a, &pm));
  EXPECT_EQ(pm, CUBLAS_POINTER_MODE_DEVICE);
  EXPECT_STATUS(cublasSetPointerMode(a, cublasPointerMode_t(7)), CUBLAS_STATUS_INVALID_VALUE);
  CUBLAS_CHECK(cublasSetPointerMode(a, CUBLAS_POINTER_MODE_HOST));

  cublasMath_t mm;
  CUBLAS_CHECK(cublasGetMathMode(a, &mm));
  EXPECT_EQ(mm, CUBLAS_DEFAULT_MATH);
  CUBLAS_CHECK(cublasSetMathMode(a, CUBLAS_TF32_TENSOR_OP_MATH));
  CUBLAS_CHECK(cublasGetMathMode(a, &mm));
  EXPECT_EQ(mm, CUBLAS_TF32_TENSOR_OP_MATH);
  CUBLAS_CHECK(cublasSetMathMode(
      a, cublasMath_t(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  EXPECT_STATUS(cublasSetMathMode(a, cublasMath_t(5)), CUBLAS_STATUS_INVALID_VALUE);

  void* ws = nullptr;
  CHECK(cudaMalloc(&ws, 1 << 20));
  CUBLAS_CHECK(cublasSetWorkspace(a, ws, 1 << 20));
  EXPECT_STATUS(cublasSetWorkspace(a, static_cast<char*>(ws) + 8, 1024), CUBLAS_STATUS_INVALID_VALUE);

  // A GEMM on a non-blocking stream runs between the async copies queued
  // around it, with the TF32 math mode set.
  const int n = 48;
  auto as = pattern<float>(n * n, 1), bs = pattern<float>(n * n, 2);
  std::vector<float> cs(n * n, 0.0f), out(n * n, -1.0f);
  float *pa, *pb, *pc;
  CHECK(cudaMallocHost(&pa, n * n * sizeof(float)));
  CHECK(cudaMallocHost(&pb, n * n * sizeof(float)));
  CHECK(cudaMallocHost(&pc, n * n * sizeof(float)));
  std::copy(as.begin(), as.end(), pa);
  std::copy(bs.begin(), bs.end(), pb);
  DeviceBuffer<float> da(n * n), db(n * n), dc(n * n);
  float one = 1, zero = 0;
  CHECK(cudaMemcpyAsync(da.p, pa, n * n * sizeof(float), cudaMemcpyHostToDevice, s));
  CHECK(cudaMemcpyAsync(db.p, pb, n * n * sizeof(float), cudaMemcpyHostToDevice, s));
  CUBLAS_CHECK(cublasSgemm(a, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, da.p, n, db.p, n, &zero, dc.p, n));
  CHECK(cudaMemcpyAsync(pc, dc.p, n * n * sizeof(float), cudaMemcpyDeviceToHost, s));
  CHECK(cudaStreamSynchronize(s));
  std::vector<double> mag;
  auto want = refGemm(CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, cdouble(1), as.data(), n, bs.data(), n, cdouble(0),
                      cs.data(), n, &mag);
  expectNear(std::vector<float>(pc, pc + n * n), n, want, mag, n, n, tolerance<float>() * 8, "gemm on a stream");

  // Unimplemented: NOT_SUPPORTED, and the handle still works.
  EXPECT_STATUS(cublasSsymm(a, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_LOWER, n, n, &one, da.p, n, db.p, n, &zero, dc.p,
                            n),
                CUBLAS_STATUS_NOT_SUPPORTED);
  CUBLAS_CHECK(cublasSgemm(a, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, da.p, n, db.p, n, &zero, dc.p, n));
  CHECK(cudaStreamSynchronize(s));

  CUBLAS_CHECK(cublasDestroy(a));
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(ws));
  CHECK(cudaFreeHost(pa));
  CHECK(cudaFreeHost(pb));
  CHECK(cudaFreeHost(pc));
  std::printf("lifecycle and settings: ok\n");
}

void testQueries() {
  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  int version = 0;
  CUBLAS_CHECK(cublasGetVersion(h, &version));
  EXPECT_EQ(version, CUBLAS_VERSION);
  EXPECT_STATUS(cublasGetVersion(nullptr, &version), CUBLAS_STATUS_NOT_INITIALIZED);
  int major = -1, minor = -1, patch = -1;
  CUBLAS_CHECK(cublasGetProperty(MAJOR_VERSION, &major));
  CUBLAS_CHECK(cublasGetProperty(MINOR_VERSION, &minor));
  CUBLAS_CHECK(cublasGetProperty(PATCH_LEVEL, &patch));
  EXPECT_EQ(major, CUBLAS_VER_MAJOR);
  EXPECT_EQ(minor, CUBLAS_VER_MINOR);
  EXPECT_EQ(patch, CUBLAS_VER_PATCH);
  EXPECT_STATUS(cublasGetProperty(MAJOR_VERSION, nullptr), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(cublasLtGetVersion(), CUBLAS_VERSION);
  CUBLAS_CHECK(cublasLtGetProperty(MAJOR_VERSION, &major));
  EXPECT_EQ(major, CUBLAS_VER_MAJOR);
  EXPECT(cublasGetCudartVersion() >= 13000);
  EXPECT(std::strcmp(cublasGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED), "CUBLAS_STATUS_NOT_SUPPORTED") == 0);
  EXPECT(std::strcmp(cublasGetStatusName(CUBLAS_STATUS_SUCCESS), "CUBLAS_STATUS_SUCCESS") == 0);
  EXPECT(std::strcmp(cublasGetStatusString(CUBLAS_STATUS_SUCCESS), "success") == 0);
  EXPECT(std::strcmp(cublasGetStatusString(CUBLAS_STATUS_INVALID_VALUE),
                     "an unsupported value or parameter was passed to the function") == 0);
  EXPECT(std::strcmp(cublasGetStatusString(cublasStatus_t(12345)), "unknown error") == 0);
  EXPECT(std::strcmp(cublasLtGetStatusName(CUBLAS_STATUS_ALLOC_FAILED), "CUBLAS_STATUS_ALLOC_FAILED") == 0);
  CUBLAS_CHECK(cublasDestroy(h));
  std::printf("queries: ok\n");
}

}  // namespace

int main() {
  testLifecycle();
  testQueries();
  return 0;
}
