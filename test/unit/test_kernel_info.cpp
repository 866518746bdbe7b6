// Kernel and variable descriptions from cubins and PTX that nvcc builds at
// test time ($NVCC), from hand-written PTX, and from corrupted inputs.
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>

#include "interpose/core/kernel_info.h"
#include "test/unit/nvcc_build.h"

namespace fs = std::filesystem;
using namespace moai;

namespace {

using test::nvccPath;
using test::readFile;
using test::workDir;

const char* kKernels = R"(
struct S { char c; double d; int i; };
struct P { double d; int i; };
struct Big { int v[5000]; };
__device__ int counter = 5;
__constant__ float tab[4] = {1, 2, 3, 4};
__device__ double d;
__global__ void axpy(float* a, const float* b, int n) { int i = threadIdx.x; if (i < n) a[i] += b[i] * tab[i & 3] + counter + d; }
__global__ void bystruct(S s, float* out) { __shared__ float sh[64]; sh[threadIdx.x] = s.c + s.d + s.i; __syncthreads(); out[threadIdx.x] = sh[63 - threadIdx.x]; }
__global__ void vec4(float4 v, float* out) { out[0] = v.x + v.y + v.z + v.w; }
__global__ void pair(char c, P p, float* out) { out[0] = c + p.d + p.i; }
__global__ void big(Big b, int unused, float* out) { out[0] = b.v[threadIdx.x]; }
template <typename T> __global__ void tmpl(T* p, T v) { p[threadIdx.x] = v; }
template __global__ void tmpl<double>(double*, double);
__global__ void noparams() { counter++; }
__global__ void __launch_bounds__(256) bounded(int* p) { p[threadIdx.x] = 1; }
)";

// Builds kernels.cu with `flags` into `out` (once) and returns the bytes.
std::vector<uint8_t> build(const std::string& out, const std::string& flags) {
  static std::map<std::string, std::vector<uint8_t>> cache;
  if (auto it = cache.find(out); it != cache.end()) return it->second;
  {
    std::ofstream f(workDir() / "kernels.cu");
    f << kKernels;
  }
  std::string log = (workDir() / "nvcc.log").string();
  std::string cmd = "cd '" + workDir().string() + "' && '" + nvccPath() + "' " + flags + " -o " + out +
                    " kernels.cu > '" + log + "' 2>&1";
  int rc = std::system(cmd.c_str());
  if (rc != 0) {
    std::ifstream f(log);
    INFO(std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()));
    REQUIRE(rc == 0);
  }
  return cache[out] = readFile(workDir() / out);
}

std::map<std::string, KernelInfo> byName(const std::vector<KernelInfo>& ks) {
  std::map<std::string, KernelInfo> m;
  for (const auto& k : ks) m[k.name] = k;
  return m;
}

std::map<std::string, KernelInfo> cubinKernels(const std::vector<uint8_t>& elf) {
  auto ks = kernelsFromCubin(elf.data(), elf.size());
  INFO((ks ? "" : ks.error().message));
  REQUIRE(ks.ok());
  return byName(*ks);
}

std::map<std::string, KernelInfo> ptxKernels(const std::string& ptx) {
  auto ks = kernelsFromPtx(ptx);
  INFO((ks ? "" : ks.error().message));
  REQUIRE(ks.ok());
  return byName(*ks);
}

std::map<std::string, GlobalVarInfo> ptxVars(const std::string& ptx) {
  auto vs = varsFromPtx(ptx);
  INFO((vs ? "" : vs.error().message));
  REQUIRE(vs.ok());
  std::map<std::string, GlobalVarInfo> m;
  for (const auto& v : *vs) m[v.name] = v;
  return m;
}

struct Layout {
  uint32_t offset, size;
};

std::vector<Layout> layout(const KernelInfo& k) {
  std::vector<Layout> out;
  for (const auto& p : k.params) out.push_back({p.offset, p.size});
  return out;
}

bool operator==(const Layout& a, const Layout& b) { return a.offset == b.offset && a.size == b.size; }

std::ostream& operator<<(std::ostream& os, const Layout& l) { return os << "(" << l.offset << "," << l.size << ")"; }

std::vector<uint32_t> aligns(const KernelInfo& k) {
  std::vector<uint32_t> out;
  for (const auto& p : k.params) out.push_back(p.align);
  return out;
}

template <class T>
std::vector<uint8_t> bytesOf(std::initializer_list<T> values) {
  std::vector<uint8_t> out;
  out.resize(values.size() * sizeof(T));
  size_t at = 0;
  for (T v : values) {
    std::memcpy(out.data() + at, &v, sizeof v);
    at += sizeof v;
  }
  return out;
}

// Parameter layouts every source of kernel info must agree on.
void checkExpectedLayouts(const std::map<std::string, KernelInfo>& ks) {
  REQUIRE(ks.size() == 8);
  CHECK(layout(ks.at("_Z4axpyPfPKfi")) == std::vector<Layout>{{0, 8}, {8, 8}, {16, 4}});
  CHECK(ks.at("_Z4axpyPfPKfi").param_bytes == 20);
  CHECK(layout(ks.at("_Z8bystruct1SPf")) == std::vector<Layout>{{0, 24}, {24, 8}});
  CHECK(ks.at("_Z8bystruct1SPf").param_bytes == 32);
  CHECK(layout(ks.at("_Z4vec46float4Pf")) == std::vector<Layout>{{0, 16}, {16, 8}});
  CHECK(ks.at("_Z4vec46float4Pf").param_bytes == 24);
  CHECK(layout(ks.at("_Z4pairc1PPf")) == std::vector<Layout>{{0, 1}, {8, 16}, {24, 8}});
  CHECK(layout(ks.at("_Z3big3BigiPf")) == std::vector<Layout>{{0, 20000}, {20000, 4}, {20008, 8}});
  CHECK(ks.at("_Z3big3BigiPf").param_bytes == 20016);
  CHECK(layout(ks.at("_Z4tmplIdEvPT_S0_")) == std::vector<Layout>{{0, 8}, {8, 8}});
  CHECK(ks.at("_Z8noparamsv").params.empty());
  CHECK(ks.at("_Z8noparamsv").param_bytes == 0);
  CHECK(ks.at("_Z7boundedPi").max_threads_per_block == 256);
  CHECK(ks.at("_Z4axpyPfPKfi").max_threads_per_block == 1024);
}

}  // namespace

TEST_CASE("kernelsFromCubin: layouts and resources for sm_75 and sm_90", "[kernel_info]") {
  REQUIRE_NVCC();
  for (unsigned arch : {75u, 90u}) {
    DYNAMIC_SECTION("sm_" << arch) {
      auto ks = cubinKernels(build("k" + std::to_string(arch) + ".cubin", "-cubin -arch=sm_" + std::to_string(arch)));
      checkExpectedLayouts(ks);
      for (const auto& [name, k] : ks) {
        INFO(name);
        CHECK(k.binary_version == arch);
        CHECK(k.num_regs > 0);
        CHECK(k.num_regs < 255);
        CHECK(k.const_bytes == 16);  // tab
        CHECK(k.local_bytes == 0);
        CHECK(k.static_shared_bytes == (name == "_Z8bystruct1SPf" ? 256u : 0u));
      }
      // Alignment is inferred from offsets and sizes in the ELF.
      CHECK(aligns(ks.at("_Z8bystruct1SPf")) == std::vector<uint32_t>{8, 8});
      CHECK(aligns(ks.at("_Z4vec46float4Pf")) == std::vector<uint32_t>{16, 8});
    }
  }
}

TEST_CASE("kernelsFromPtx agrees with the cubin", "[kernel_info]") {
  REQUIRE_NVCC();
  auto ptx_bytes = build("k75.ptx", "-ptx -arch=sm_75");
  auto ptx = ptxKernels(std::string(ptx_bytes.begin(), ptx_bytes.end()));
  checkExpectedLayouts(ptx);
  auto elf = cubinKernels(build("k75.cubin", "-cubin -arch=sm_75"));
  for (const auto& [name, k] : ptx) {
    INFO(name);
    REQUIRE(elf.count(name));
    CHECK(layout(k) == layout(elf.at(name)));
    CHECK(k.param_bytes == elf.at(name).param_bytes);
    CHECK(k.max_threads_per_block == elf.at(name).max_threads_per_block);
    CHECK(k.ptx_version >= 80);
    CHECK(k.binary_version == 0);
    CHECK(k.const_bytes == 16);
  }
  CHECK(aligns(ptx.at("_Z8bystruct1SPf")) == std::vector<uint32_t>{8, 8});
  CHECK(aligns(ptx.at("_Z4vec46float4Pf")) == std::vector<uint32_t>{16, 8});
  CHECK(aligns(ptx.at("_Z4pairc1PPf")) == std::vector<uint32_t>{1, 8, 8});
  CHECK(aligns(ptx.at("_Z3big3BigiPf")) == std::vector<uint32_t>{4, 4, 8});
  CHECK(ptx.at("_Z8bystruct1SPf").static_shared_bytes == 256);
}

TEST_CASE("varsFromPtx on nvcc output", "[kernel_info]") {
  REQUIRE_NVCC();
  auto ptx_bytes = build("k75.ptx", "-ptx -arch=sm_75");
  auto vars = ptxVars(std::string(ptx_bytes.begin(), ptx_bytes.end()));
  REQUIRE(vars.size() == 3);
  CHECK(vars.at("counter").space == VarSpace::Global);
  CHECK(vars.at("counter").size == 4);
  CHECK(vars.at("counter").init == bytesOf<int32_t>({5}));
  CHECK(vars.at("tab").space == VarSpace::Const);
  CHECK(vars.at("tab").size == 16);
  CHECK(vars.at("tab").init == bytesOf<float>({1, 2, 3, 4}));
  CHECK(vars.at("d").space == VarSpace::Global);
  CHECK(vars.at("d").size == 8);
  CHECK(vars.at("d").align == 8);
  CHECK(vars.at("d").init.empty());
}

TEST_CASE("hand-written PTX: parameters, directives, shared memory", "[kernel_info]") {
  const char* ptx = R"(
.version 8.5
.target sm_80
.address_size 64
/* a block comment with .entry fake( inside */
.extern .shared .align 16 .b8 dyn[];
.shared .align 8 .b8 module_shared[40];
.extern .func (.param .b32 ret) helper (.param .b64 a);

.visible .entry k(.param .u64 .ptr .align 8 p0, .param .align 4 .b8 p1[12],
                  .param .u8 c, .param .f64 d, .param .u64 .ptr .global .align 16 p2)
.maxntid 128, 2, 1
{
  .reg .b32 %r<4>;
  .shared .align 8 .b8 s1[10];
  .shared .align 4 .u32 s2;
  .local .align 8 .b8 __local_depot0[24];
  { .reg .b64 %tmp; }
  ld.shared.u32 %r1, [s2];
  mov.u32 %r2, module_shared;
  ret;
}

.entry bare
{
  ret;
}

.weak .entry v(.param .v2 .f32 a, .param .align 16 .b8 b[32], .param .s16 h) .reqntid 64 {
  ret;
}
)";
  auto ks = ptxKernels(ptx);
  REQUIRE(ks.size() == 3);
  const KernelInfo& k = ks.at("k");
  CHECK(layout(k) == std::vector<Layout>{{0, 8}, {8, 12}, {20, 1}, {24, 8}, {32, 8}});
  CHECK(aligns(k) == std::vector<uint32_t>{8, 4, 1, 8, 8});
  CHECK(k.param_bytes == 40);
  CHECK(k.max_threads_per_block == 256);
  CHECK(k.static_shared_bytes == 16 + 40);  // s1 (10), s2 at 12, then the module-scope array it names
  CHECK(k.local_bytes == 24);
  CHECK(k.ptx_version == 85);
  CHECK(ks.at("bare").params.empty());
  CHECK(ks.at("bare").static_shared_bytes == 0);
  const KernelInfo& v = ks.at("v");
  CHECK(layout(v) == std::vector<Layout>{{0, 8}, {16, 32}, {48, 2}});
  CHECK(v.param_bytes == 50);
  CHECK(v.max_threads_per_block == 64);
}

TEST_CASE("hand-written PTX: variable forms and initialisers", "[kernel_info]") {
  const char* ptx = R"(
.version 9.0
.target sm_75, debug
.address_size 64
.file 1 "/tmp/x.cu", 1700000000, 123
.visible .global .align 4 .u32 counter = 5;
.global .align 4 .b8 tab[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
.const .align 8 .f64 c[4] = {0d3FF0000000000000, 0d4000000000000000, 0dC008000000000000, 0d0000000000000000};
.global .align 4 .f32 x = 0f3F800000;
.global .align 4 .u32 words[3] = {1, 0x10, 0xFFFFFFFF};
.global .align 4 .f32 floats[4] = {1.5, -2.0, 0f40400000, 4};
.global .s32 neg = -7;
.global .s64 neg64 = -2;
.global .u16 halfw[2] = {0x1234, 65535};
.global .u8 open[] = {1, 2, 3};
.global .align 8 .v2 .f32 pairs[2] = {{0f3F800000, 0f40000000}, {0f40400000, 0f40800000}};
.global .align 8 .u64 addr = generic(counter);
.global .align 16 .b8 buf[64];
.global .f64 dbl = 2.5e-1;
.global .u32 partial[4] = {7};
.extern .global .align 4 .u32 elsewhere;
.global .texref tex;
.global .attribute(.managed) .align 4 .u32 managed_v = 9;
.shared .align 4 .u32 not_a_var;
.const .align 4 .b8 ctab[8];
.visible .entry k() { ret; }
)";
  auto vars = ptxVars(ptx);
  CHECK(vars.count("elsewhere") == 0);
  CHECK(vars.count("tex") == 0);
  CHECK(vars.count("not_a_var") == 0);
  CHECK(vars.size() == 17);

  CHECK(vars.at("counter").init == bytesOf<uint32_t>({5}));
  CHECK(vars.at("counter").align == 4);
  CHECK(vars.at("tab").size == 16);
  CHECK(vars.at("tab").init == bytesOf<uint8_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}));
  CHECK(vars.at("c").space == VarSpace::Const);
  CHECK(vars.at("c").size == 32);
  CHECK(vars.at("c").align == 8);
  CHECK(vars.at("c").init == bytesOf<double>({1.0, 2.0, -3.0, 0.0}));
  CHECK(vars.at("x").init == bytesOf<float>({1.0f}));
  CHECK(vars.at("words").init == bytesOf<uint32_t>({1, 16, 0xffffffffu}));
  CHECK(vars.at("floats").init == bytesOf<float>({1.5f, -2.0f, 3.0f, 4.0f}));
  CHECK(vars.at("neg").init == bytesOf<int32_t>({-7}));
  CHECK(vars.at("neg").align == 4);
  CHECK(vars.at("neg64").init == bytesOf<int64_t>({-2}));
  CHECK(vars.at("halfw").init == bytesOf<uint16_t>({0x1234, 0xffff}));
  CHECK(vars.at("open").size == 3);
  CHECK(vars.at("open").init == bytesOf<uint8_t>({1, 2, 3}));
  CHECK(vars.at("pairs").size == 16);
  CHECK(vars.at("pairs").init == bytesOf<float>({1, 2, 3, 4}));
  CHECK(vars.at("addr").size == 8);
  CHECK(vars.at("addr").init == std::vector<uint8_t>(8, 0));  // address initialisers are not resolved
  CHECK(vars.at("buf").size == 64);
  CHECK(vars.at("buf").align == 16);
  CHECK(vars.at("buf").init.empty());
  CHECK(vars.at("dbl").init == bytesOf<double>({0.25}));
  CHECK(vars.at("partial").init == bytesOf<uint32_t>({7, 0, 0, 0}));
  CHECK(vars.at("managed_v").init == bytesOf<uint32_t>({9}));
  CHECK(vars.at("ctab").space == VarSpace::Const);
  CHECK(vars.at("ctab").init.empty());
}

TEST_CASE("malformed PTX returns INVALID_PTX", "[kernel_info]") {
  const char* bad[] = {
      ".version 9.0\n.entry k(.param .u32 a {",
      ".version 9.0\n/* unterminated",
      ".global .u32 x = 0q12;",
      ".global .u32 x = 1.5;",
      ".global .u32 x[2] = {1, 2, 3};",
      ".global .u32 x = {{1};",
      ".global .align 3 .u32 x;",
      ".global .bogus x;",
      ".global .u32 x[99999999999999999999];",
      ".global .u8 x[4294967296][4294967296];",
      ".entry k(.reg .u32 a) { ret; }",
      ".entry k(.param .u32) { ret; }",
      ".entry k(.param .u32 a) .maxntid 1, 2, x { ret; }",
      ".version x.y",
      ".section .debug_info",
      "\"unterminated string",
  };
  for (const char* src : bad) {
    INFO(src);
    auto ks = kernelsFromPtx(src);
    auto vs = varsFromPtx(src);
    CHECK((!ks.ok() || !vs.ok()));
    if (!ks.ok()) CHECK(ks.error().code == MODNN_ERR_INVALID_PTX);
    if (!vs.ok()) CHECK(vs.error().code == MODNN_ERR_INVALID_PTX);
  }
  CHECK(kernelsFromPtx("").ok());
  CHECK(kernelsFromPtx("").value().empty());
}

TEST_CASE("truncated and corrupted PTX and cubins never crash", "[kernel_info]") {
  REQUIRE_NVCC();
  auto ptx_bytes = build("k75.ptx", "-ptx -arch=sm_75");
  std::string ptx(ptx_bytes.begin(), ptx_bytes.end());
  for (size_t n = 0; n < ptx.size(); n += 7) {
    auto ks = kernelsFromPtx(std::string_view(ptx).substr(0, n));
    auto vs = varsFromPtx(std::string_view(ptx).substr(0, n));
    if (!ks.ok()) REQUIRE(ks.error().code == MODNN_ERR_INVALID_PTX);
    if (!vs.ok()) REQUIRE(vs.error().code == MODNN_ERR_INVALID_PTX);
  }

  auto cubin = build("k75.cubin", "-cubin -arch=sm_75");
  for (size_t n = 0; n < cubin.size(); ++n) {
    auto ks = kernelsFromCubin(cubin.data(), n);
    if (!ks.ok()) REQUIRE(ks.error().code == MODNN_ERR_INVALID_IMAGE);
  }
  CHECK_FALSE(kernelsFromCubin(nullptr, 0).ok());
  auto wrong = cubin;
  wrong[18] = 62;  // EM_X86_64
  CHECK(kernelsFromCubin(wrong.data(), wrong.size()).error().code == MODNN_ERR_INVALID_IMAGE);
  wrong = cubin;
  wrong[0] = 0;
  CHECK_FALSE(kernelsFromCubin(wrong.data(), wrong.size()).ok());
  wrong = cubin;
  uint64_t far = uint64_t{1} << 60;
  std::memcpy(wrong.data() + 40, &far, 8);  // e_shoff
  CHECK_FALSE(kernelsFromCubin(wrong.data(), wrong.size()).ok());

  std::mt19937 rng(99);
  for (int i = 0; i < 4000; ++i) {
    auto b = cubin;
    for (int f = 0; f < 3; ++f) b[rng() % b.size()] ^= uint8_t(1u << (rng() % 8));
    auto ks = kernelsFromCubin(b.data(), b.size());
    if (!ks.ok()) REQUIRE(ks.error().code == MODNN_ERR_INVALID_IMAGE);
  }
  for (int i = 0; i < 2000; ++i) {
    std::string p = ptx;
    for (int f = 0; f < 3; ++f) p[rng() % p.size()] = "{}()[];,=.-\" 0a"[rng() % 15];
    auto ks = kernelsFromPtx(p);
    auto vs = varsFromPtx(p);
    if (!ks.ok()) REQUIRE(ks.error().code == MODNN_ERR_INVALID_PTX);
    if (!vs.ok()) REQUIRE(vs.error().code == MODNN_ERR_INVALID_PTX);
  }
}

TEST_CASE("describeModule picks the image and merges ELF and PTX", "[kernel_info]") {
  REQUIRE_NVCC();
  auto bytes = build("multi.fatbin",
                     "-fatbin -gencode arch=compute_75,code=[compute_75,sm_75] -gencode arch=compute_90,code=sm_90");
  auto fb = readFatbin(bytes.data(), bytes.size());
  REQUIRE(fb.ok());

  auto m90 = describeModule(*fb, 90);
  INFO((m90 ? "" : m90.error().message));
  REQUIRE(m90.ok());
  CHECK(m90->elf_archs == std::vector<unsigned>{75, 90});
  CHECK(m90->ptx_arch == 75);
  CHECK(m90->ptx.find(".entry _Z4axpyPfPKfi") != std::string::npos);
  REQUIRE(m90->kernels.size() == 8);
  for (const auto& [name, k] : m90->kernels) {
    INFO(name);
    CHECK(k.name == name);
    CHECK(k.binary_version == 90);
    CHECK(k.ptx_version >= 80);
  }
  CHECK(m90->kernels.at("_Z8bystruct1SPf").static_shared_bytes == 256);
  // Inferred from the ELF alone this would be 16; the PTX says 8.
  CHECK(aligns(m90->kernels.at("_Z4pairc1PPf")) == std::vector<uint32_t>{1, 8, 8});
  CHECK(aligns(m90->kernels.at("_Z3big3BigiPf")) == std::vector<uint32_t>{4, 4, 8});
  REQUIRE(m90->vars.size() == 3);
  CHECK(m90->vars.at("counter").init == bytesOf<int32_t>({5}));
  CHECK(m90->vars.at("tab").space == VarSpace::Const);

  auto m89 = describeModule(*fb, 89);
  REQUIRE(m89.ok());
  CHECK(m89->kernels.at("_Z4axpyPfPKfi").binary_version == 75);

  auto m70 = describeModule(*fb, 70);  // nothing runnable: layout from the lowest ELF
  REQUIRE(m70.ok());
  CHECK(m70->ptx.empty());
  CHECK(m70->kernels.at("_Z4axpyPfPKfi").binary_version == 75);
  CHECK(m70->vars.at("tab").init == bytesOf<float>({1, 2, 3, 4}));

  SECTION("PTX only") {
    auto b = build("ptxonly.fatbin", "-fatbin -gencode arch=compute_75,code=compute_75");
    auto f = readFatbin(b.data(), b.size());
    REQUIRE(f.ok());
    auto m = describeModule(*f, 120);
    REQUIRE(m.ok());
    CHECK(m->elf_archs.empty());
    CHECK(m->ptx_arch == 75);
    checkExpectedLayouts([&] {
      std::map<std::string, KernelInfo> ks(m->kernels.begin(), m->kernels.end());
      return ks;
    }());
    CHECK(m->kernels.at("_Z4axpyPfPKfi").num_regs == 32);
    CHECK(m->vars.at("counter").init == bytesOf<int32_t>({5}));
    CHECK_FALSE(describeModule(*f, 70).ok());
  }

  SECTION("ELF only: variables from .nv.global.init and the constant bank") {
    auto b = build("elfonly.fatbin", "-fatbin -gencode arch=compute_75,code=sm_75");
    auto f = readFatbin(b.data(), b.size());
    REQUIRE(f.ok());
    auto m = describeModule(*f, 75);
    REQUIRE(m.ok());
    CHECK(m->ptx.empty());
    REQUIRE(m->vars.size() == 3);
    CHECK(m->vars.at("counter").space == VarSpace::Global);
    CHECK(m->vars.at("counter").init == bytesOf<int32_t>({5}));
    CHECK(m->vars.at("tab").space == VarSpace::Const);
    CHECK(m->vars.at("tab").init == bytesOf<float>({1, 2, 3, 4}));
    CHECK(m->vars.at("d").size == 8);
    CHECK(m->vars.at("d").init.empty());
    CHECK(m->kernels.size() == 8);
  }

  SECTION("empty fatbin") {
    CHECK(describeModule(Fatbin{}, 90).error().code == MODNN_ERR_NO_KERNEL_IMAGE);
  }
}
