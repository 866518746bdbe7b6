// A job meant to share its device: allocates `mib` MiB, then runs `rounds`
// rounds of kernels over all of it, checking every result, and prints how
// long the rounds took (a job with a larger share of the device is done
// sooner). With a third argument
// `extra_mib` it then asks for that much more, which its quota should
// refuse with cudaErrorMemoryAllocation; it goes on computing with what it
// has. Prints "ready" once allocated. Exit 0: every result right (and, with
// extra_mib, the extra allocation refused).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unistd.h>
#include <vector>

__global__ void step(float* data, size_t n, float add) {
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i < n; i += size_t(gridDim.x) * blockDim.x) data[i] += add;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: colocated_job MIB ROUNDS [EXTRA_MIB]\n");
    return 2;
  }
  size_t mib = std::strtoul(argv[1], nullptr, 10);
  int rounds = std::atoi(argv[2]);
  size_t extra = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 0;
  // In 16 MiB buffers, as a framework's allocator would hold them.
  const size_t chunk = 16u << 20, n = chunk / sizeof(float);
  std::vector<float*> bufs(mib / 16);
  for (auto& b : bufs) {
    if (cudaMalloc(&b, chunk) != cudaSuccess) {
      std::printf("cannot allocate within the quota\n");
      return 3;
    }
    cudaMemset(b, 0, chunk);
  }
  if (cudaDeviceSynchronize() != cudaSuccess) return 3;
  size_t free_bytes = 0, total_bytes = 0;
  cudaMemGetInfo(&free_bytes, &total_bytes);
  std::printf("memory: %zu MiB total, %zu MiB free\n", total_bytes >> 20, free_bytes >> 20);
  std::printf("ready\n");
  std::fflush(stdout);

  if (extra) {
    float* more = nullptr;
    cudaError_t e = cudaMalloc(&more, extra << 20);
    std::printf("extra %zu MiB: %s\n", extra, cudaGetErrorName(e));
    if (e != cudaErrorMemoryAllocation) return 4;
    if (cudaGetLastError() != cudaSuccess) {}  // cleared, as in CUDA
  }

  // $COLOCATED_GO: start the rounds only once that file exists, so jobs
  // started one after another contend from the same moment.
  if (const char* go = std::getenv("COLOCATED_GO"))
    while (access(go, F_OK) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto t0 = std::chrono::steady_clock::now();
  // All rounds queued at once: the job always has work waiting for the
  // device, which is when its weight decides its share.
  for (int r = 0; r < rounds; ++r)
    for (auto* b : bufs) step<<<256, 256>>>(b, n, 1.0f);
  if (cudaDeviceSynchronize() != cudaSuccess) return 5;
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<float> host(n);
  for (auto* b : bufs) {
    if (cudaMemcpy(host.data(), b, chunk, cudaMemcpyDeviceToHost) != cudaSuccess) return 5;
    for (size_t i = 0; i < n; i += 4099)
      if (host[i] != float(rounds)) {
        std::printf("wrong: %f after %d rounds\n", host[i], rounds);
        return 6;
      }
  }
  std::printf("correct after %d rounds over %zu MiB\ntook %.3f s\n", rounds, bufs.size() * 16, took);
  return 0;
}
