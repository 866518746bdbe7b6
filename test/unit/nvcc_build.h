// Helpers for unit tests that build real CUDA objects with $NVCC at test
// time: the nvcc path, a skip when it is absent, a scratch directory that
// is removed at exit, and whole-file reads.
#pragma once
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace moai::test {

namespace fs = std::filesystem;

inline std::string nvccPath() {
  const char* n = std::getenv("NVCC");
  return n ? n : "";
}

#define REQUIRE_NVCC()                                  \
  do {                                                  \
    if (::moai::test::nvccPath().empty()) {             \
      WARN("NVCC is not set; skipping (needs nvcc)");   \
      return;                                           \
    }                                                   \
  } while (0)

struct WorkDir {
  fs::path path;
  WorkDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/moai_unit_XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~WorkDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

inline const fs::path& workDir() {
  static WorkDir dir;
  REQUIRE(!dir.path.empty());
  return dir.path;
}

inline std::vector<uint8_t> readFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace moai::test
