// Holds a lease and sleeps: allocates, touches the device once, sleeps
// `seconds` (default 5), touches it again and exits 0. Metering must bill it
// (nearly) nothing for the sleep.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 5;
  int* d = nullptr;
  int v = 0;
  if (cudaMalloc(&d, sizeof v) != cudaSuccess || cudaMemset(d, 0, sizeof v) != cudaSuccess) return 1;
  if (cudaDeviceSynchronize() != cudaSuccess) return 1;
  std::printf("ready\n");
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  if (cudaMemcpy(&v, d, sizeof v, cudaMemcpyDeviceToHost) != cudaSuccess || v != 0) return 1;
  std::printf("slept %.1f s\n", seconds);
  return 0;
}
