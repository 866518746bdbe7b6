// The shim exports every function NVIDIA's libcudart.so.13 exports, under
// both version nodes, and never loads NVIDIA's library.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>

namespace {

std::set<std::string> dynamicSymbols(const std::string& lib, bool with_version) {
  std::set<std::string> out;
  std::string cmd = "nm -D --defined-only " + lib + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  REQUIRE(p);
  char line[1024];
  while (std::fgets(line, sizeof line, p.get())) {
    char addr[64], type[8], name[900];
    if (std::sscanf(line, "%63s %7s %899s", addr, type, name) != 3) continue;
    if (std::string(type) == "A") continue;  // the version definitions themselves
    std::string n = name;
    if (!with_version) n = n.substr(0, n.find('@'));
    out.insert(n);
  }
  return out;
}

}  // namespace

TEST_CASE("every libcudart.so.13 function is exported under both version nodes") {
  const char* shim = std::getenv("MOAI_SHIM");
  const char* real = std::getenv("CUDART_REAL");
  REQUIRE(shim);
  REQUIRE(real);
  auto ours = dynamicSymbols(shim, true);
  auto theirs = dynamicSymbols(real, false);
  REQUIRE(theirs.size() > 400);
  size_t missing = 0;
  for (const auto& name : theirs) {
    bool v13 = ours.count(name + "@@libcudart.so.13") > 0;
    bool v12 = ours.count(name + "@libcudart.so.12") > 0;
    if (!v13 || !v12) {
      ++missing;
      UNSCOPED_INFO(name << (v13 ? "" : " lacks @@libcudart.so.13") << (v12 ? "" : " lacks @libcudart.so.12"));
    }
  }
  CHECK(missing == 0);
}

TEST_CASE("the shim exports nothing outside the CUDA surfaces") {
  auto ours = dynamicSymbols(std::getenv("MOAI_SHIM"), false);
  for (const auto& name : ours) {
    bool cuda = name.rfind("cuda", 0) == 0 || name.rfind("__cuda", 0) == 0;
    INFO(name);
    CHECK(cuda);
  }
}
