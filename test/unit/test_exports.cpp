// The shim exports every function NVIDIA's libcudart, libcublas and
// libcublasLt export, each under both version nodes of its library (the
// installed library's node and the previous major's), exports nothing else,
// and never loads NVIDIA's libraries.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>

namespace {

struct Symbols {
  std::set<std::string> names;  // with @node / @@node when asked for
  std::string node;             // the version node the library defines
};

Symbols dynamicSymbols(const std::string& lib, bool with_version) {
  Symbols out;
  std::string cmd = "nm -D --defined-only " + lib + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  REQUIRE(p);
  char line[1024];
  while (std::fgets(line, sizeof line, p.get())) {
    char addr[64], type[8], name[900];
    if (std::sscanf(line, "%63s %7s %899s", addr, type, name) != 3) continue;
    std::string n = name;
    if (std::string(type) == "A") {  // the version definitions themselves
      out.node = n.substr(0, n.find('@'));
      continue;
    }
    if (!with_version) n = n.substr(0, n.find('@'));
    out.names.insert(n);
  }
  return out;
}

// libfoo.so.13 -> libfoo.so.12
std::string previousMajor(const std::string& node) {
  size_t dot = node.rfind('.');
  return node.substr(0, dot + 1) + std::to_string(std::stoi(node.substr(dot + 1)) - 1);
}

}  // namespace

TEST_CASE("every exported function of NVIDIA's libraries is exported under both version nodes") {
  const char* shim = std::getenv("MOAI_SHIM");
  REQUIRE(shim);
  auto ours = dynamicSymbols(shim, true).names;
  struct Library {
    const char* env;
    size_t at_least;  // guards against reading an empty list
  };
  for (Library lib : {Library{"CUDART_REAL", 400}, Library{"CUBLAS_REAL", 700}, Library{"CUBLASLT_REAL", 150}}) {
    const char* real = std::getenv(lib.env);
    REQUIRE(real);
    Symbols theirs = dynamicSymbols(real, false);
    INFO(real);
    REQUIRE(theirs.names.size() > lib.at_least);
    REQUIRE(!theirs.node.empty());
    std::string compat = previousMajor(theirs.node);
    size_t missing = 0;
    for (const auto& name : theirs.names) {
      bool current = ours.count(name + "@@" + theirs.node) > 0;
      bool previous = ours.count(name + "@" + compat) > 0;
      if (!current || !previous) {
        ++missing;
        UNSCOPED_INFO(name << (current ? "" : " lacks @@" + theirs.node) << (previous ? "" : " lacks @" + compat));
      }
    }
    CHECK(missing == 0);
  }
}

TEST_CASE("the shim exports nothing outside the CUDA surfaces") {
  auto ours = dynamicSymbols(std::getenv("MOAI_SHIM"), false).names;
  for (const auto& name : ours) {
    bool cuda = name.rfind("cuda", 0) == 0 || name.rfind("__cuda", 0) == 0 || name.rfind("cublas", 0) == 0;
    INFO(name);
    CHECK(cuda);
  }
}
