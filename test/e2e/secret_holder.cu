// Holds a secret in device memory, prints its address, waits for a line on
// stdin, then checks the secret is unchanged.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

int main() {
  const size_t n = 1 << 16;
  std::vector<unsigned char> secret(n), back(n);
  for (size_t i = 0; i < n; ++i) secret[i] = static_cast<unsigned char>(0xA5 ^ (i * 31));
  unsigned char* d = nullptr;
  if (cudaMalloc(&d, n) != cudaSuccess || cudaMemcpy(d, secret.data(), n, cudaMemcpyHostToDevice) != cudaSuccess) {
    std::printf("setup failed\n");
    return 1;
  }
  std::printf("%llu %zu\n", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(d)), n);
  std::fflush(stdout);
  char line[16];
  if (!std::fgets(line, sizeof line, stdin)) return 1;
  if (cudaMemcpy(back.data(), d, n, cudaMemcpyDeviceToHost) != cudaSuccess) {
    std::printf("read back failed\n");
    return 1;
  }
  bool same = std::memcmp(secret.data(), back.data(), n) == 0;
  std::printf(same ? "secret intact\n" : "secret CHANGED\n");
  return same ? 0 : 2;
}
