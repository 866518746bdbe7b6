// A two-layer MLP trained with SGD: GEMMs, bias gradients (gemv), the
// loss (geam + nrm2) and the updates (axpy) through cuBLAS; bias add and
// ReLU (forward and backward) as custom kernels. The loss must fall and
// match a CPU reference of the same arithmetic at every step.
//
// A device that cannot run kernels yet refuses them with
// cudaErrorNoKernelImageForDevice; the elementwise steps then run on the
// host between copies and the program says so, while every cuBLAS part
// still runs on the device.
#include <algorithm>

#include "blas_check.h"

namespace {

constexpr int kIn = 16, kHidden = 32, kOut = 4, kBatch = 64, kSteps = 40;
constexpr float kLearningRate = 0.2f;

__global__ void addBiasRelu(float* z, const float* bias, float* act, int rows, int cols, bool relu) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  float v = z[i] + bias[i % rows];
  z[i] = v;
  if (act) act[i] = relu ? fmaxf(v, 0.0f) : v;
}

__global__ void reluBackward(float* grad, const float* z, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n && z[i] <= 0.0f) grad[i] = 0.0f;
}

// Column-major features x batch matrices; the model and its reference.
struct Model {
  std::vector<float> w1, b1, w2, b2;
};

Model initialModel() {
  Model m;
  m.w1 = pattern<float>(kHidden * kIn, 1);
  m.w2 = pattern<float>(kOut * kHidden, 2);
  for (auto& w : m.w1) w *= 0.5f;
  for (auto& w : m.w2) w *= 0.25f;
  m.b1 = pattern<float>(kHidden, 3);
  m.b2.assign(kOut, 0.0f);
  return m;
}

// out (m x n) = op(A) op(B), column-major, in float like the device.
std::vector<float> matmul(bool ta, bool tb, int m, int n, int k, const std::vector<float>& a, int lda,
                          const std::vector<float>& b, int ldb) {
  std::vector<float> out(size_t(m * n), 0.0f);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float s = 0;
      for (int l = 0; l < k; ++l) s += (ta ? a[l + i * lda] : a[i + l * lda]) * (tb ? b[j + l * ldb] : b[l + j * ldb]);
      out[size_t(i + j * m)] = s;
    }
  return out;
}

// One SGD step of the reference; returns the loss before the update.
double referenceStep(Model& md, const std::vector<float>& x, const std::vector<float>& t) {
  auto z1 = matmul(false, false, kHidden, kBatch, kIn, md.w1, kHidden, x, kIn);
  std::vector<float> a1(z1.size());
  for (size_t i = 0; i < z1.size(); ++i) {
    z1[i] += md.b1[i % kHidden];
    a1[i] = std::max(z1[i], 0.0f);
  }
  auto y = matmul(false, false, kOut, kBatch, kHidden, md.w2, kOut, a1, kHidden);
  std::vector<float> dy(y.size());
  double loss = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    y[i] += md.b2[i % kOut];
    dy[i] = (y[i] - t[i]) / kBatch;
    loss += 0.5 * kBatch * double(dy[i]) * dy[i];
  }
  auto dw2 = matmul(false, true, kOut, kHidden, kBatch, dy, kOut, a1, kHidden);
  auto da1 = matmul(true, false, kHidden, kBatch, kOut, md.w2, kOut, dy, kOut);
  for (size_t i = 0; i < da1.size(); ++i)
    if (z1[i] <= 0) da1[i] = 0;
  auto dw1 = matmul(false, true, kHidden, kIn, kBatch, da1, kHidden, x, kIn);
  auto update = [](std::vector<float>& w, const std::vector<float>& g) {
    for (size_t i = 0; i < w.size(); ++i) w[i] -= kLearningRate * g[i];
  };
  std::vector<float> db1(kHidden, 0.0f), db2(kOut, 0.0f);
  for (int j = 0; j < kBatch; ++j) {
    for (int i = 0; i < kHidden; ++i) db1[i] += da1[size_t(i + j * kHidden)];
    for (int i = 0; i < kOut; ++i) db2[i] += dy[size_t(i + j * kOut)];
  }
  update(md.w1, dw1);
  update(md.w2, dw2);
  update(md.b1, db1);
  update(md.b2, db2);
  return loss;
}

class Trainer {
 public:
  Trainer(cublasHandle_t h, const Model& md, const std::vector<float>& x, const std::vector<float>& t)
      : h_(h), w1_(md.w1), b1_(md.b1), w2_(md.w2), b2_(md.b2), x_(x), t_(t), z1_(kHidden * kBatch),
        a1_(kHidden * kBatch), y_(kOut * kBatch), dy_(kOut * kBatch), da1_(kHidden * kBatch),
        dw1_(kHidden * kIn), dw2_(kOut * kHidden), db1_(kHidden), db2_(kOut),
        ones_(std::vector<float>(kBatch, 1.0f)) {}

  bool kernelsRan() const { return kernels_; }

  double step() {
    const float one = 1, zero = 0, inv = 1.0f / kBatch, minus_lr = -kLearningRate;
    CUBLAS_CHECK(cublasSgemm(h_, CUBLAS_OP_N, CUBLAS_OP_N, kHidden, kBatch, kIn, &one, w1_.p, kHidden, x_.p, kIn,
                             &zero, z1_.p, kHidden));
    biasActivation(z1_, b1_, &a1_, kHidden, true);
    CUBLAS_CHECK(cublasSgemm(h_, CUBLAS_OP_N, CUBLAS_OP_N, kOut, kBatch, kHidden, &one, w2_.p, kOut, a1_.p, kHidden,
                             &zero, y_.p, kOut));
    biasActivation(y_, b2_, nullptr, kOut, false);
    // dY = (Y - T) / batch; loss = batch/2 |dY|^2.
    const float minus_inv = -inv;
    CUBLAS_CHECK(cublasSgeam(h_, CUBLAS_OP_N, CUBLAS_OP_N, kOut, kBatch, &inv, y_.p, kOut, &minus_inv, t_.p, kOut,
                             dy_.p, kOut));
    float norm = 0;
    CUBLAS_CHECK(cublasSnrm2(h_, kOut * kBatch, dy_.p, 1, &norm));
    CUBLAS_CHECK(cublasSgemm(h_, CUBLAS_OP_N, CUBLAS_OP_T, kOut, kHidden, kBatch, &one, dy_.p, kOut, a1_.p, kHidden,
                             &zero, dw2_.p, kOut));
    CUBLAS_CHECK(cublasSgemv(h_, CUBLAS_OP_N, kOut, kBatch, &one, dy_.p, kOut, ones_.p, 1, &zero, db2_.p, 1));
    CUBLAS_CHECK(cublasSgemm(h_, CUBLAS_OP_T, CUBLAS_OP_N, kHidden, kBatch, kOut, &one, w2_.p, kOut, dy_.p, kOut,
                             &zero, da1_.p, kHidden));
    reluGrad(da1_, z1_);
    CUBLAS_CHECK(cublasSgemm(h_, CUBLAS_OP_N, CUBLAS_OP_T, kHidden, kIn, kBatch, &one, da1_.p, kHidden, x_.p, kIn,
                             &zero, dw1_.p, kHidden));
    CUBLAS_CHECK(cublasSgemv(h_, CUBLAS_OP_N, kHidden, kBatch, &one, da1_.p, kHidden, ones_.p, 1, &zero, db1_.p, 1));
    CUBLAS_CHECK(cublasSaxpy(h_, kHidden * kIn, &minus_lr, dw1_.p, 1, w1_.p, 1));
    CUBLAS_CHECK(cublasSaxpy(h_, kOut * kHidden, &minus_lr, dw2_.p, 1, w2_.p, 1));
    CUBLAS_CHECK(cublasSaxpy(h_, kHidden, &minus_lr, db1_.p, 1, b1_.p, 1));
    CUBLAS_CHECK(cublasSaxpy(h_, kOut, &minus_lr, db2_.p, 1, b2_.p, 1));
    return 0.5 * kBatch * double(norm) * norm;
  }

 private:
  // z += bias (per row); act = relu(z) or z.
  void biasActivation(DeviceBuffer<float>& z, DeviceBuffer<float>& bias, DeviceBuffer<float>* act, int rows,
                      bool relu) {
    int n = rows * kBatch;
    if (kernels_) {
      addBiasRelu<<<(n + 127) / 128, 128>>>(z.p, bias.p, act ? act->p : nullptr, rows, kBatch, relu);
      if ((kernels_ = LAUNCH_ACCEPTED(cudaGetLastError(), "addBiasRelu"))) return;
    }
    auto zs = z.download(), bs = bias.download();
    std::vector<float> as(zs.size());
    for (int i = 0; i < n; ++i) {
      zs[size_t(i)] += bs[size_t(i % rows)];
      as[size_t(i)] = relu ? std::max(zs[size_t(i)], 0.0f) : zs[size_t(i)];
    }
    z.upload(zs);
    if (act) act->upload(as);
  }

  void reluGrad(DeviceBuffer<float>& grad, DeviceBuffer<float>& z) {
    int n = int(grad.n);
    if (kernels_) {
      reluBackward<<<(n + 127) / 128, 128>>>(grad.p, z.p, n);
      if ((kernels_ = LAUNCH_ACCEPTED(cudaGetLastError(), "reluBackward"))) return;
    }
    auto gs = grad.download(), zs = z.download();
    for (int i = 0; i < n; ++i)
      if (zs[size_t(i)] <= 0) gs[size_t(i)] = 0;
    grad.upload(gs);
  }

  cublasHandle_t h_;
  bool kernels_ = true;
  DeviceBuffer<float> w1_, b1_, w2_, b2_, x_, t_, z1_, a1_, y_, dy_, da1_, dw1_, dw2_, db1_, db2_, ones_;
};

}  // namespace

int main() {
  // Inputs in [-1, 1); targets a fixed smooth function of them.
  auto x = pattern<float>(kIn * kBatch, 7);
  std::vector<float> t(kOut * kBatch);
  for (int j = 0; j < kBatch; ++j)
    for (int i = 0; i < kOut; ++i) {
      float s = 0;
      for (int l = 0; l < kIn; ++l) s += x[size_t(l + j * kIn)] * float(((i + 1) * (l + 3)) % 5 - 2) * 0.25f;
      t[size_t(i + j * kOut)] = std::tanh(s);
    }
  Model reference = initialModel();
  cublasHandle_t h;
  CUBLAS_CHECK(cublasCreate(&h));
  Trainer trainer(h, reference, x, t);
  double first = 0, last = 0;
  for (int s = 0; s < kSteps; ++s) {
    double got = trainer.step();
    double want = referenceStep(reference, x, t);
    if (!(std::abs(got - want) <= 1e-4 * want + 1e-7)) {
      std::fprintf(stderr, "step %d: loss %.7g, reference %.7g\n", s, got, want);
      return 1;
    }
    if (s == 0) first = got;
    last = got;
    if (s % 10 == 0 || s == kSteps - 1) std::printf("step %2d: loss %.6f (reference %.6f)\n", s, got, want);
  }
  EXPECT_MSG(last < 0.5 * first, "the loss fell from %g to %g only", first, last);
  CUBLAS_CHECK(cublasDestroy(h));
  std::printf("kernel parts: %s\n", trainer.kernelsRan() ? "ran on the device"
                                                         : "skipped on the device (ran on the host instead)");
  return 0;
}
