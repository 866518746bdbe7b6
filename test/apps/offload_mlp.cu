// A deep residual MLP trained with SGD and momentum, sized so that its
// weights, gradients, momenta and activations are about three times the
// device's memory (cudaMemGetInfo's total). Forward and backward GEMMs go
// through cuBLAS; the activation, its gradient and the momentum update are
// custom kernels; the loss comes from geam + nrm2. Every step's loss and the
// final weights of the first and last layers must match a host reference.
//
// Without offload (MOAI_OFFLOAD=1) the allocations fail: it then prints the
// error and exits 2, so a test can tell "out of memory" from a wrong result.
// Prints the seconds per step, for comparing offloaded and in-memory runs:
// `offload_mlp LAYERS` fixes the depth instead (the working set is then
// LAYERS x 3.06 MiB), so the same network can run on a device it fits.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "blas_check.h"

namespace {

constexpr int kWidth = 512, kBatch = 16, kSteps = 3;
constexpr float kLearningRate = 0.002f, kMomentum = 0.9f;

__global__ void reluResidual(const float* in, const float* z, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] + fmaxf(z[i], 0.0f);
}

__global__ void reluGrad(const float* grad, const float* z, float* dz, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) dz[i] = z[i] > 0.0f ? grad[i] : 0.0f;
}

__global__ void momentumStep(float* m, const float* g, float* w, int n, float mu, float lr) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    float v = mu * m[i] + g[i];
    m[i] = v;
    w[i] -= lr * v;
  }
}

// Pointers inside a by-value struct: offload finds them by scanning the
// parameter buffer, not from the parameter list.
struct Saxpy {
  const float* x;
  float* y;
  float a;
  int n;
};

__global__ void saxpyStruct(Saxpy p) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < p.n) p.y[i] += p.a * p.x[i];
}

int blocks(int n) { return (n + 255) / 256; }

std::vector<float> randomVector(size_t n, uint32_t seed, float scale) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 1;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = (float(s >> 8) / float(1 << 24) * 2.0f - 1.0f) * scale;
  }
  return v;
}

// Column-major float GEMMs of the shapes the network uses, in the order
// that lets the compiler vectorise them.
// c (m x n) = a (m x k) op(b): b is k x n, or n x k when trans_b.
void gemmN(bool trans_b, int m, int n, int k, const float* a, const float* b, float* c) {
  std::fill(c, c + size_t(m) * n, 0.0f);
  for (int j = 0; j < n; ++j)
    for (int l = 0; l < k; ++l) {
      float bv = trans_b ? b[j + size_t(l) * n] : b[l + size_t(j) * k];
      for (int i = 0; i < m; ++i) c[i + size_t(j) * m] += a[i + size_t(l) * m] * bv;
    }
}
// c (m x n) += a^T b, a is k x m, b is k x n
void gemmTNAdd(int m, int n, int k, const float* a, const float* b, float* c) {
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float s = 0;
      for (int l = 0; l < k; ++l) s += a[l + size_t(i) * k] * b[l + size_t(j) * k];
      c[i + size_t(j) * m] += s;
    }
}

struct HostNet {
  int layers;
  std::vector<std::vector<float>> w, m, z, a;  // a[0] is the input, a[l+1] layer l's output
  std::vector<float> target;
};

double referenceStep(HostNet& net) {
  const int n = kWidth * kBatch, L = net.layers;
  for (int l = 0; l < L; ++l) {
    gemmN(false, kWidth, kBatch, kWidth, net.w[l].data(), net.a[l].data(), net.z[l].data());
    for (int i = 0; i < n; ++i) net.a[l + 1][i] = net.a[l][i] + std::max(net.z[l][i], 0.0f);
  }
  std::vector<float> grad(n), dz(n), next(n), dw(size_t(kWidth) * kWidth);
  double norm2 = 0;
  for (int i = 0; i < n; ++i) {
    grad[i] = (net.a[L][i] - net.target[i]) * (1.0f / kBatch);
    norm2 += double(grad[i]) * grad[i];
  }
  for (int l = L - 1; l >= 0; --l) {
    for (int i = 0; i < n; ++i) dz[i] = net.z[l][i] > 0.0f ? grad[i] : 0.0f;
    gemmN(true, kWidth, kWidth, kBatch, dz.data(), net.a[l].data(), dw.data());
    if (l > 0) {
      next = grad;
      gemmTNAdd(kWidth, kBatch, kWidth, net.w[l].data(), dz.data(), next.data());
      grad.swap(next);
    }
    for (size_t i = 0; i < dw.size(); ++i) {
      float v = kMomentum * net.m[l][i] + dw[i];
      net.m[l][i] = v;
      net.w[l][i] -= kLearningRate * v;
    }
  }
  return 0.5 * kBatch * norm2;
}

float* deviceAlloc(size_t bytes, const char* what, int layer) {
  float* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err != cudaSuccess) {
    std::fprintf(stderr, "offload_mlp: cudaMalloc of %s (layer %d, %zu bytes) -> %s\n", what, layer, bytes,
                 cudaGetErrorName(err));
    std::exit(2);
  }
  return p;
}

void upload(float* dst, const std::vector<float>& src) {
  CHECK(cudaMemcpy(dst, src.data(), src.size() * sizeof(float), cudaMemcpyHostToDevice));
}

std::vector<float> download(const float* src, size_t n) {
  std::vector<float> out(n);
  CHECK(cudaMemcpy(out.data(), src, n * sizeof(float), cudaMemcpyDeviceToHost));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  size_t free_bytes = 0, total = 0;
  CHECK(cudaMemGetInfo(&free_bytes, &total));
  const int fixed_layers = argc > 1 ? std::atoi(argv[1]) : 0;
  if (!fixed_layers && total > (1ull << 30)) {
    std::printf("offload_mlp: a %zu MiB device is too large for this test (it sizes itself at 3x)\n", total >> 20);
    return 77;
  }
  const size_t wn = size_t(kWidth) * kWidth, an = size_t(kWidth) * kBatch;
  const size_t layer_bytes = (3 * wn + 2 * an) * sizeof(float);
  const int L = fixed_layers > 0 ? fixed_layers : std::max<int>(4, int((3 * total + layer_bytes - 1) / layer_bytes));
  const double working_set = double(L) * layer_bytes + 5.0 * an * sizeof(float);
  std::printf("offload_mlp: %d layers, %.0f MiB working set on a %zu MiB device\n", L, working_set / (1 << 20),
              total >> 20);

  HostNet net;
  net.layers = L;
  const float scale = 0.1f / std::sqrt(float(kWidth));
  for (int l = 0; l < L; ++l) {
    net.w.push_back(randomVector(wn, 100 + l, scale));
    net.m.emplace_back(wn, 0.0f);
    net.z.emplace_back(an, 0.0f);
  }
  net.a.push_back(randomVector(an, 1, 1.0f));
  for (int l = 0; l < L; ++l) net.a.emplace_back(an, 0.0f);
  net.target = randomVector(an, 2, 1.0f);

  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  std::vector<float*> w(L), dw(L), m(L), z(L), a(L + 1);
  a[0] = deviceAlloc(an * sizeof(float), "input", -1);
  float* target = deviceAlloc(an * sizeof(float), "target", -1);
  float* grad[2] = {deviceAlloc(an * sizeof(float), "gradient", -1), deviceAlloc(an * sizeof(float), "gradient", -1)};
  float* dz = deviceAlloc(an * sizeof(float), "dz", -1);
  for (int l = 0; l < L; ++l) {
    w[l] = deviceAlloc(wn * sizeof(float), "weights", l);
    dw[l] = deviceAlloc(wn * sizeof(float), "weight gradient", l);
    m[l] = deviceAlloc(wn * sizeof(float), "momentum", l);
    z[l] = deviceAlloc(an * sizeof(float), "pre-activation", l);
    a[l + 1] = deviceAlloc(an * sizeof(float), "activation", l);
    upload(w[l], net.w[l]);
    CHECK(cudaMemset(m[l], 0, wn * sizeof(float)));
  }
  upload(a[0], net.a[0]);
  upload(target, net.target);

  const float one = 1, zero = 0, inv = 1.0f / kBatch, minus_inv = -inv;
  const int n = int(an), nw = int(wn);
  double first_loss = 0, last_loss = 0, seconds = 0;
  for (int step = 0; step < kSteps; ++step) {
    auto t0 = std::chrono::steady_clock::now();
    for (int l = 0; l < L; ++l) {
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, kWidth, kBatch, kWidth, &one, w[l], kWidth, a[l], kWidth,
                               &zero, z[l], kWidth));
      reluResidual<<<blocks(n), 256>>>(a[l], z[l], a[l + 1], n);
      CHECK(cudaGetLastError());
    }
    CUBLAS_CHECK(cublasSgeam(h, CUBLAS_OP_N, CUBLAS_OP_N, kWidth, kBatch, &inv, a[L], kWidth, &minus_inv, target,
                             kWidth, grad[0], kWidth));
    float norm = 0;
    CUBLAS_CHECK(cublasSnrm2(h, n, grad[0], 1, &norm));
    int cur = 0;
    for (int l = L - 1; l >= 0; --l) {
      reluGrad<<<blocks(n), 256>>>(grad[cur], z[l], dz, n);
      CHECK(cudaGetLastError());
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, kWidth, kWidth, kBatch, &one, dz, kWidth, a[l], kWidth,
                               &zero, dw[l], kWidth));
      if (l > 0) {
        CHECK(cudaMemcpyAsync(grad[1 - cur], grad[cur], an * sizeof(float), cudaMemcpyDeviceToDevice));
        CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, kWidth, kBatch, kWidth, &one, w[l], kWidth, dz, kWidth,
                                 &one, grad[1 - cur], kWidth));
        cur = 1 - cur;
      }
      momentumStep<<<blocks(nw), 256>>>(m[l], dw[l], w[l], nw, kMomentum, kLearningRate);
      CHECK(cudaGetLastError());
    }
    CHECK(cudaDeviceSynchronize());
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (step > 0) seconds += dt;  // the first step also loads modules and fills the device
    double loss = 0.5 * kBatch * double(norm) * norm;
    double want = referenceStep(net);
    std::printf("step %d: loss %.6f (reference %.6f), %.3f s\n", step, loss, want, dt);
    EXPECT_MSG(std::fabs(loss - want) <= 2e-3 * std::fabs(want), "step %d loss %.6f vs %.6f", step, loss, want);
    if (step == 0) first_loss = loss;
    last_loss = loss;
  }
  EXPECT_MSG(last_loss < first_loss, "the loss did not fall: %.6f -> %.6f", first_loss, last_loss);
  for (int l : {0, L - 1}) {
    auto got = download(w[l], wn);
    for (size_t i = 0; i < wn; ++i)
      EXPECT_MSG(std::fabs(got[i] - net.w[l][i]) <= 1e-5f + 1e-3f * std::fabs(net.w[l][i]),
                 "layer %d weight %zu: %g vs %g", l, i, double(got[i]), double(net.w[l][i]));
  }
  std::printf("offload_mlp: %.3f s per step\n", seconds / (kSteps - 1));

  // A pointer-array batched GEMM, each matrix its own allocation: with the
  // device full of the network, they start in host memory and only the
  // arrays name them.
  {
    constexpr int kDim = 256, kCount = 4;
    const size_t mn = size_t(kDim) * kDim;
    std::vector<float*> pa(kCount), pb(kCount), pc(kCount);
    std::vector<std::vector<float>> ha, hb;
    for (int i = 0; i < kCount; ++i) {
      ha.push_back(randomVector(mn, 500 + i, 1.0f));
      hb.push_back(randomVector(mn, 600 + i, 1.0f));
      pa[i] = deviceAlloc(mn * sizeof(float), "batched A", i);
      pb[i] = deviceAlloc(mn * sizeof(float), "batched B", i);
      pc[i] = deviceAlloc(mn * sizeof(float), "batched C", i);
      upload(pa[i], ha[i]);
      upload(pb[i], hb[i]);
    }
    float** arrays = reinterpret_cast<float**>(deviceAlloc(3 * kCount * sizeof(float*), "pointer arrays", -1));
    std::vector<float*> all(pa);
    all.insert(all.end(), pb.begin(), pb.end());
    all.insert(all.end(), pc.begin(), pc.end());
    CHECK(cudaMemcpy(arrays, all.data(), all.size() * sizeof(float*), cudaMemcpyHostToDevice));
    CUBLAS_CHECK(cublasSgemmBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, kDim, kDim, kDim, &one, arrays, kDim,
                                    arrays + kCount, kDim, &zero, arrays + 2 * kCount, kDim, kCount));
    std::vector<float> want(mn);
    for (int i = 0; i < kCount; ++i) {
      gemmN(false, kDim, kDim, kDim, ha[i].data(), hb[i].data(), want.data());
      auto got = download(pc[i], mn);
      for (size_t j = 0; j < mn; ++j)
        EXPECT_MSG(std::fabs(got[j] - want[j]) <= 1e-3f * (1.0f + std::fabs(want[j])), "batched C[%d][%zu]: %g vs %g",
                   i, j, double(got[j]), double(want[j]));
    }
    std::printf("offload_mlp: pointer-array batched GEMM ok\n");
  }
  {
    auto hx = randomVector(wn, 700, 1.0f), hy = randomVector(wn, 701, 1.0f);
    float* x = deviceAlloc(wn * sizeof(float), "struct x", -1);
    float* y = deviceAlloc(wn * sizeof(float), "struct y", -1);
    upload(x, hx);
    upload(y, hy);
    saxpyStruct<<<blocks(nw), 256>>>(Saxpy{x, y, 0.5f, nw});
    CHECK(cudaGetLastError());
    auto got = download(y, wn);
    for (size_t i = 0; i < wn; ++i)
      EXPECT_MSG(std::fabs(got[i] - (hy[i] + 0.5f * hx[i])) <= 1e-6f, "struct saxpy %zu: %g", i, double(got[i]));
    std::printf("offload_mlp: kernel with pointers in a struct ok\n");
  }
  CUBLAS_CHECK(cublasDestroy(h));
  std::printf("offload_mlp: ok\n");
  return 0;
}
