// Copies round trips through the device until `seconds` pass; prints
// "ready" after the first, and on a CUDA error prints it and exits 3.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 10;
  const size_t n = 1 << 20;
  std::vector<unsigned char> h(n), back(n);
  unsigned char* d = nullptr;
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  cudaError_t e = cudaMalloc(&d, n);
  for (unsigned iter = 0; e == cudaSuccess; ++iter) {
    std::memset(h.data(), int(iter & 0xff), n);
    e = cudaMemcpy(d, h.data(), n, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(back.data(), d, n, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) break;
    if (std::memcmp(h.data(), back.data(), n) != 0) {
      std::printf("wrong data at iteration %u\n", iter);
      return 1;
    }
    if (iter == 0) {
      std::printf("ready\n");
      std::fflush(stdout);
    }
    if (elapsed() > seconds) {
      std::printf("done after %u iterations\n", iter + 1);
      return 0;
    }
  }
  std::printf("error %s at %.3f s\n", cudaGetErrorName(e), elapsed());
  return 3;
}
