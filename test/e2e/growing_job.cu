// A shared job whose memory grows while it runs: allocates `total_mib` in
// 16 MiB steps, pausing `pause_ms` after each so its forecast reaches the
// scheduler, which may raise its quota before the next step. Prints the
// device size cudaMemGetInfo reports (the quota) before and after. Exit 0:
// every step was allocated.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

static size_t quotaMiB() {
  size_t free_bytes = 0, total_bytes = 0;
  cudaMemGetInfo(&free_bytes, &total_bytes);
  return total_bytes >> 20;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: growing_job TOTAL_MIB PAUSE_MS\n");
    return 2;
  }
  size_t total = std::strtoul(argv[1], nullptr, 10);
  int pause = std::atoi(argv[2]);
  std::printf("quota before: %zu MiB\n", quotaMiB());
  std::vector<void*> held;
  for (size_t mib = 16; mib <= total; mib += 16) {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, 16u << 20);
    if (e != cudaSuccess) {
      std::printf("step to %zu MiB: %s\n", mib, cudaGetErrorName(e));
      return 1;
    }
    held.push_back(p);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause));
  }
  std::printf("quota after: %zu MiB\ngrew to %zu MiB\n", quotaMiB(), held.size() * 16);
  return 0;
}
