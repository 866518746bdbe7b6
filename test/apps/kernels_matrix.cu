// Matrix kernels: tiled matrix multiply with sizes that are not multiples of
// the tile, transpose through padded shared tiles, and row softmax.
#include <cmath>
#include <vector>
#include "check.h"

constexpr int TILE = 16;

// C[M,N] = A[M,K] * B[K,N], row-major, shared-memory tiles with bounds checks.
__global__ void k_matmul(const float* A, const float* B, float* C, int M, int N, int K) {
  __shared__ float As[TILE][TILE];
  __shared__ float Bs[TILE][TILE];
  int row = blockIdx.y * TILE + threadIdx.y;
  int col = blockIdx.x * TILE + threadIdx.x;
  float acc = 0.f;
  for (int t = 0; t < (K + TILE - 1) / TILE; ++t) {
    int ak = t * TILE + threadIdx.x;
    int bk = t * TILE + threadIdx.y;
    As[threadIdx.y][threadIdx.x] = (row < M && ak < K) ? A[row * K + ak] : 0.f;
    Bs[threadIdx.y][threadIdx.x] = (bk < K && col < N) ? B[bk * N + col] : 0.f;
    __syncthreads();
    for (int k = 0; k < TILE; ++k) acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
    __syncthreads();
  }
  if (row < M && col < N) C[row * N + col] = acc;
}

// out[c][r] = in[r][c]; in is rows x cols. 32x32 tile with a padding column to
// avoid bank conflicts, 32x8 threads each moving 4 elements.
constexpr int TT = 32, TR = 8;
__global__ void k_transpose(const float* in, float* out, int rows, int cols) {
  __shared__ float tile[TT][TT + 1];
  int x = blockIdx.x * TT + threadIdx.x;
  int y = blockIdx.y * TT + threadIdx.y;
  for (int j = 0; j < TT; j += TR)
    if (x < cols && y + j < rows) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * cols + x];
  __syncthreads();
  x = blockIdx.y * TT + threadIdx.x;
  y = blockIdx.x * TT + threadIdx.y;
  for (int j = 0; j < TT; j += TR)
    if (x < rows && y + j < cols) out[(y + j) * rows + x] = tile[threadIdx.x][threadIdx.y + j];
}

// One block per row: max and sum reductions in shared memory.
__global__ void k_softmax(const float* in, float* out, int cols) {
  extern __shared__ float red[];
  const float* x = in + (size_t)blockIdx.x * cols;
  float* y = out + (size_t)blockIdx.x * cols;
  float m = -INFINITY;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, x[c]);
  red[threadIdx.x] = m;
  __syncthreads();
  for (int off = blockDim.x / 2; off > 0; off >>= 1) {
    if (threadIdx.x < off) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + off]);
    __syncthreads();
  }
  m = red[0];
  __syncthreads();
  float s = 0.f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) s += expf(x[c] - m);
  red[threadIdx.x] = s;
  __syncthreads();
  for (int off = blockDim.x / 2; off > 0; off >>= 1) {
    if (threadIdx.x < off) red[threadIdx.x] += red[threadIdx.x + off];
    __syncthreads();
  }
  s = red[0];
  for (int c = threadIdx.x; c < cols; c += blockDim.x) y[c] = expf(x[c] - m) / s;
}

int main() {
  // Matmul: 150x200 * 200x130 (none a multiple of 16).
  const int M = 150, K = 200, N = 130;
  std::vector<float> A(M * K), B(K * N), C(M * N);
  for (int i = 0; i < M * K; ++i) A[i] = (float)((i * 7) % 23) * 0.1f - 1.1f;
  for (int i = 0; i < K * N; ++i) B[i] = (float)((i * 11) % 19) * 0.05f - 0.45f;
  float *dA, *dB, *dC;
  CHECK(cudaMalloc(&dA, A.size() * sizeof(float)));
  CHECK(cudaMalloc(&dB, B.size() * sizeof(float)));
  CHECK(cudaMalloc(&dC, C.size() * sizeof(float)));
  CHECK(cudaMemcpy(dA, A.data(), A.size() * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dB, B.data(), B.size() * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemset(dC, 0xff, C.size() * sizeof(float)));
  dim3 mb(TILE, TILE), mg((N + TILE - 1) / TILE, (M + TILE - 1) / TILE);
  k_matmul<<<mg, mb>>>(dA, dB, dC, M, N, K);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(C.data(), dC, C.size() * sizeof(float), cudaMemcpyDeviceToHost));
  for (int r = 0; r < M; ++r)
    for (int c = 0; c < N; ++c) {
      double w = 0;
      for (int k = 0; k < K; ++k) w += (double)A[r * K + k] * B[k * N + c];
      float g = C[r * N + c];
      EXPECT_MSG(std::fabs(g - w) <= 1e-3 * (1.0 + std::fabs(w)), "C[%d][%d] = %g, want %g", r, c, g, w);
    }

  // Transpose: 300 x 257.
  const int R = 300, Cc = 257;
  std::vector<float> T(R * Cc), TO(R * Cc);
  for (int i = 0; i < R * Cc; ++i) T[i] = (float)i;
  float *dT, *dTO;
  CHECK(cudaMalloc(&dT, T.size() * sizeof(float)));
  CHECK(cudaMalloc(&dTO, T.size() * sizeof(float)));
  CHECK(cudaMemcpy(dT, T.data(), T.size() * sizeof(float), cudaMemcpyHostToDevice));
  dim3 tb(TT, TR), tg((Cc + TT - 1) / TT, (R + TT - 1) / TT);
  k_transpose<<<tg, tb>>>(dT, dTO, R, Cc);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(TO.data(), dTO, TO.size() * sizeof(float), cudaMemcpyDeviceToHost));
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < Cc; ++c)
      EXPECT_MSG(TO[c * R + r] == T[r * Cc + c], "transpose out[%d][%d] = %g, want %g", c, r,
                 TO[c * R + r], T[r * Cc + c]);

  // Softmax: 64 rows x 1000 cols.
  const int SR = 64, SC = 1000, threads = 128;
  std::vector<float> X(SR * SC), Y(SR * SC);
  for (int i = 0; i < SR * SC; ++i) X[i] = (float)((i * 37) % 101) * 0.1f - 5.0f + (float)(i / SC);
  float *dX, *dY;
  CHECK(cudaMalloc(&dX, X.size() * sizeof(float)));
  CHECK(cudaMalloc(&dY, Y.size() * sizeof(float)));
  CHECK(cudaMemcpy(dX, X.data(), X.size() * sizeof(float), cudaMemcpyHostToDevice));
  k_softmax<<<SR, threads, threads * sizeof(float)>>>(dX, dY, SC);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(Y.data(), dY, Y.size() * sizeof(float), cudaMemcpyDeviceToHost));
  for (int r = 0; r < SR; ++r) {
    double m = -1e30, s = 0, total = 0;
    for (int c = 0; c < SC; ++c) m = std::fmax(m, X[r * SC + c]);
    for (int c = 0; c < SC; ++c) s += std::exp(X[r * SC + c] - m);
    for (int c = 0; c < SC; ++c) {
      double w = std::exp(X[r * SC + c] - m) / s;
      float g = Y[r * SC + c];
      total += g;
      EXPECT_MSG(std::fabs(g - w) <= 1e-7 + 1e-4 * w, "softmax[%d][%d] = %g, want %g", r, c, g, w);
    }
    EXPECT_MSG(std::fabs(total - 1.0) < 1e-4, "softmax row %d sums to %g", r, total);
  }

  CHECK(cudaFree(dA));
  CHECK(cudaFree(dB));
  CHECK(cudaFree(dC));
  CHECK(cudaFree(dT));
  CHECK(cudaFree(dTO));
  CHECK(cudaFree(dX));
  CHECK(cudaFree(dY));
  std::printf("kernels_matrix: ok\n");
  return 0;
}
