// cuBLAS benchmark, run under the shim. Each GEMM through the shim is
// timed against the CPU library MoAI's CPU device uses, called directly in
// this process on the same data with the same thread count:
//   * SGEMM 1024 x 1024 x 1024 vs cblas_sgemm (goal: ratio >= 0.9);
//   * 10,000 strided-batched SGEMMs of 64 x 64 x 64 vs 10,000 cblas_sgemm
//     calls (goal: >= 0.7);
//   * a bf16 GEMM 1024^3 (bf16 in and out, f32 compute) vs oneDNN's matmul,
//     the fastest CPU path for bf16 (reported, no goal).
// ratio = direct time / shim time (1.0: no overhead). Results are checked
// against the direct ones. Lines starting with "RESULT " are key=value.
// --quick: smaller sizes and fewer runs, for CI; goals are reported
// (PASS / MISS), not enforced.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <dnnl.hpp>
#include <functional>
#include <string>
#include <vector>

#include "blas_check.h"

namespace {

using Clock = std::chrono::steady_clock;

double secondsOf(const std::function<void()>& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best of `runs`, alternating the two sides so a noisy moment on the
// machine favours neither.
std::pair<double, double> bestOfBoth(int runs, const std::function<void()>& direct,
                                     const std::function<void()>& shim) {
  double d = 1e300, s = 1e300;
  for (int i = 0; i < runs; ++i) {
    d = std::min(d, secondsOf(direct));
    s = std::min(s, secondsOf(shim));
  }
  return {d, s};
}

void expectSame(const std::vector<float>& got, const std::vector<float>& want, double tol, const char* what) {
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i])))) {
      std::fprintf(stderr, "%s: element %zu is %g, the direct call gave %g\n", what, i, got[i], want[i]);
      std::exit(1);
    }
}

struct Row {
  std::string key, label;
  double gflops, ratio, goal;  // goal 0: none
};

// The direct oneDNN bf16 matmul, in the layout MoAI hands it: column-major
// D = A B computed as row-major D^T = B^T A^T.
struct DnnlBf16 {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{eng};
  dnnl::matmul mm;
  dnnl::memory a, b, d;
  DnnlBf16(int n, void* pa, void* pb, void* pd) {
    using dt = dnnl::memory::data_type;
    dnnl::memory::desc md({n, n}, dt::bf16, {n, 1});
    mm = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(md, md, md), eng));
    a = dnnl::memory(md, eng, pa);
    b = dnnl::memory(md, eng, pb);
    d = dnnl::memory(md, eng, pd);
  }
  void run() {
    mm.execute(stream, {{DNNL_ARG_SRC, b}, {DNNL_ARG_WEIGHTS, a}, {DNNL_ARG_DST, d}});
    stream.wait();
  }
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      return 2;
    }
  }
  const int n = quick ? 256 : 1024, small = 64, batch = quick ? 500 : 10000;
  const int runs = quick ? 2 : 5;

  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  // The CPU device reports its thread count as its multiprocessors; the
  // direct calls use the same.
  const int threads = prop.multiProcessorCount;
  openblas_set_num_threads(threads);
  omp_set_num_threads(threads);
  std::printf("device: %s; %d threads; best of %d runs%s\n", prop.name, threads, runs, quick ? " (quick)" : "");

  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  const float one = 1, zero = 0;
  std::vector<Row> rows;

  // SGEMM n^3.
  {
    auto a = pattern<float>(size_t(n) * n, 1), b = pattern<float>(size_t(n) * n, 2);
    std::vector<float> c(size_t(n) * n, 0.0f);
    DeviceBuffer<float> da(a), db(b), dc(c);
    auto direct = [&] {
      cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a.data(), n, b.data(), n, 0, c.data(), n);
    };
    auto shim = [&] {
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, da.p, n, db.p, n, &zero, dc.p, n));
      CHECK(cudaDeviceSynchronize());
    };
    direct();
    shim();
    expectSame(dc.download(), c, 1e-4, "sgemm");
    auto [td, ts] = bestOfBoth(runs, direct, shim);
    double flops = 2.0 * n * n * n;
    char label[64];
    std::snprintf(label, sizeof label, "SGEMM %d^3", n);
    rows.push_back({"sgemm", label, flops / ts / 1e9, td / ts, 0.9});
  }

  // Strided-batched SGEMM, small x batch, against a loop of cblas_sgemm.
  {
    const int64_t stride = int64_t(small) * small;
    auto a = pattern<float>(size_t(stride * batch), 3), b = pattern<float>(size_t(stride * batch), 4);
    std::vector<float> c(size_t(stride * batch), 0.0f);
    DeviceBuffer<float> da(a), db(b), dc(c);
    auto direct = [&] {
      for (int i = 0; i < batch; ++i)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, small, small, small, 1, a.data() + stride * i, small,
                    b.data() + stride * i, small, 0, c.data() + stride * i, small);
    };
    auto shim = [&] {
      CUBLAS_CHECK(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, small, small, small, &one, da.p, small,
                                             stride, db.p, small, stride, &zero, dc.p, small, stride, batch));
      CHECK(cudaDeviceSynchronize());
    };
    direct();
    shim();
    expectSame(dc.download(), c, 1e-4, "strided batched sgemm");
    auto [td, ts] = bestOfBoth(runs, direct, shim);
    double flops = 2.0 * small * small * small * batch;
    char label[64];
    std::snprintf(label, sizeof label, "%d x SGEMM %d^3", batch, small);
    rows.push_back({"sgemm_batched", label, flops / ts / 1e9, td / ts, 0.7});
  }

  // bf16 GEMM n^3 against oneDNN directly.
  {
    auto a = pattern<__nv_bfloat16>(size_t(n) * n, 5), b = pattern<__nv_bfloat16>(size_t(n) * n, 6);
    std::vector<__nv_bfloat16> c(size_t(n) * n, __float2bfloat16(0.0f));
    DeviceBuffer<__nv_bfloat16> da(a), db(b), dc(c);
    DnnlBf16 dnnl(n, a.data(), b.data(), c.data());
    auto direct = [&] { dnnl.run(); };
    auto shim = [&] {
      CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, da.p, CUDA_R_16BF, n, db.p, CUDA_R_16BF, n,
                                &zero, dc.p, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      CHECK(cudaDeviceSynchronize());
    };
    direct();
    shim();
    std::vector<float> got, want;
    for (auto v : dc.download()) got.push_back(__bfloat162float(v));
    for (auto v : c) want.push_back(__bfloat162float(v));
    expectSame(got, want, 1e-2, "bf16 gemm");
    auto [td, ts] = bestOfBoth(runs, direct, shim);
    double flops = 2.0 * n * n * n;
    char label[64];
    std::snprintf(label, sizeof label, "bf16 GEMM %d^3 (vs oneDNN)", n);
    rows.push_back({"bf16_gemm", label, flops / ts / 1e9, td / ts, 0});
  }

  std::printf("\n%-30s %10s %8s %6s\n", "through the shim", "GFLOP/s", "ratio", "goal");
  for (const Row& r : rows) {
    if (r.goal > 0) {
      std::printf("%-30s %10.1f %8.2f %6.2f  %s\n", r.label.c_str(), r.gflops, r.ratio, r.goal,
                  r.ratio >= r.goal ? "PASS" : "MISS");
    } else {
      std::printf("%-30s %10.1f %8.2f %6s\n", r.label.c_str(), r.gflops, r.ratio, "-");
    }
  }
  std::printf("\nRESULT quick=%d\n", quick ? 1 : 0);
  std::printf("RESULT threads=%d\n", threads);
  for (const Row& r : rows) {
    std::printf("RESULT %s_gflops=%.2f\n", r.key.c_str(), r.gflops);
    std::printf("RESULT %s_ratio=%.3f\n", r.key.c_str(), r.ratio);
    if (r.goal > 0) {
      std::printf("RESULT %s_goal=%.2f\n", r.key.c_str(), r.goal);
      std::printf("RESULT %s_status=%s\n", r.key.c_str(), r.ratio >= r.goal ? "PASS" : "MISS");
    }
  }
  CUBLAS_CHECK(cublasDestroy(h));
  return 0;
}
