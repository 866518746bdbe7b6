// An unimplemented export answers its library's "not supported" code (for
// cudart it also becomes the last error) and logs its name exactly once
// however often it is called.
#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace {

using GraphCreate = int (*)(void**, unsigned);
using GetLastError = int (*)();

std::string captureStderr(void (*body)(void*), void* arg) {
  char path[] = "/tmp/moai-stderr-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  int saved = dup(2);
  dup2(fd, 2);
  body(arg);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  lseek(fd, 0, SEEK_SET);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  close(fd);
  unlink(path);
  return out;
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("an unimplemented function returns cudaErrorNotSupported and logs once") {
  void* shim = dlopen(std::getenv("MOAI_SHIM"), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(shim);
  auto graphCreate = reinterpret_cast<GraphCreate>(dlsym(shim, "cudaGraphCreate"));
  auto getLastError = reinterpret_cast<GetLastError>(dlsym(shim, "cudaGetLastError"));
  REQUIRE(graphCreate);
  REQUIRE(getLastError);
  struct Ctx {
    GraphCreate fn;
    int results[3];
  } ctx{graphCreate, {}};
  std::string err = captureStderr(
      [](void* p) {
        auto* c = static_cast<Ctx*>(p);
        void* g = nullptr;
        for (int& r : c->results) r = c->fn(&g, 0);
      },
      &ctx);
  constexpr int kCudaErrorNotSupported = 801;
  for (int r : ctx.results) CHECK(r == kCudaErrorNotSupported);
  CHECK(getLastError() == kCudaErrorNotSupported);
  CHECK(getLastError() == 0);  // cleared by the read
  CHECK(count(err, "cudaGraphCreate") == 1);
}

TEST_CASE("an unimplemented cuBLAS function returns CUBLAS_STATUS_NOT_SUPPORTED and logs once") {
  using Symm = int (*)(void*, int, int, int, int, const float*, const float*, int, const float*, int, const float*,
                       float*, int);
  void* shim = dlopen(std::getenv("MOAI_SHIM"), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(shim);
  auto symm = reinterpret_cast<Symm>(dlsym(shim, "cublasSsymm_v2"));
  REQUIRE(symm);
  struct Ctx {
    Symm fn;
    int results[3];
  } ctx{symm, {}};
  std::string err = captureStderr(
      [](void* p) {
        auto* c = static_cast<Ctx*>(p);
        float one = 1;
        for (int& r : c->results) r = c->fn(nullptr, 0, 0, 4, 4, &one, nullptr, 4, nullptr, 4, &one, nullptr, 4);
      },
      &ctx);
  constexpr int kCublasStatusNotSupported = 15;
  for (int r : ctx.results) CHECK(r == kCublasStatusNotSupported);
  CHECK(count(err, "cublasSsymm_v2") == 1);
}
