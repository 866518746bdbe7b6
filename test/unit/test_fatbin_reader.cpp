// FatbinReader against fatbins nvcc builds at test time ($NVCC), plus
// corrupted copies of them. Without NVCC the tests warn and return.
#include <catch2/catch.hpp>
#include <dlfcn.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>

#include "interpose/core/fatbin_reader.h"
#include "test/unit/nvcc_build.h"
#include "interpose/core/kernel_info.h"

namespace fs = std::filesystem;
using namespace moai;

namespace {

using test::nvccPath;
using test::readFile;
using test::workDir;

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  REQUIRE(f.good());
}

// Runs `nvcc <args>` in the work directory once per distinct `args`.
void nvcc(const std::string& args) {
  static std::map<std::string, bool> done;
  if (done.count(args)) return;
  std::string log = (workDir() / "nvcc.log").string();
  std::string cmd = "cd '" + workDir().string() + "' && '" + nvccPath() + "' " + args + " > '" + log + "' 2>&1";
  int rc = std::system(cmd.c_str());
  if (rc != 0) {
    std::ifstream f(log);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    INFO("nvcc " << args << "\n" << text);
    REQUIRE(rc == 0);
  }
  done[args] = true;
}

const char* kKernels = R"(
struct S { char c; double d; int i; };
__device__ int counter = 5;
__constant__ float tab[4] = {1, 2, 3, 4};
__device__ double d;
__global__ void axpy(float* a, const float* b, int n) { int i = threadIdx.x; if (i < n) a[i] += b[i] * tab[i & 3] + counter + d; }
__global__ void bystruct(S s, float* out) { __shared__ float sh[64]; sh[threadIdx.x] = s.c + s.d + s.i; __syncthreads(); out[threadIdx.x] = sh[63 - threadIdx.x]; }
__global__ void vec4(float4 v, float* out) { out[0] = v.x + v.y + v.z + v.w; }
template <typename T> __global__ void tmpl(T* p, T v) { p[threadIdx.x] = v; }
template __global__ void tmpl<double>(double*, double);
__global__ void noparams() { counter++; }
)";

const char* kGencode75 = "-gencode arch=compute_75,code=[compute_75,sm_75]";

// Builds kernels.cu into `out` with the given flags and returns the bytes.
std::vector<uint8_t> buildKernels(const std::string& out, const std::string& flags) {
  writeFile(workDir() / "kernels.cu", kKernels);
  nvcc(flags + " -o " + out + " kernels.cu");
  return readFile(workDir() / out);
}

Fatbin parse(const std::vector<uint8_t>& bytes) {
  auto fb = readFatbin(bytes.data(), bytes.size());
  INFO((fb ? "" : fb.error().message));
  REQUIRE(fb.ok());
  return std::move(fb).value();
}

const FatbinEntry* findEntry(const Fatbin& fb, FatbinEntryKind kind, unsigned arch) {
  for (const auto& e : fb.entries)
    if (e.kind == kind && e.arch == arch) return &e;
  return nullptr;
}

std::string text(const FatbinEntry& e) { return std::string(e.payload.begin(), e.payload.end()); }

// PTX as fatbinary embeds it: comments and indentation are stripped.
std::string normalizePtx(const std::string& ptx) {
  std::string out, line;
  for (size_t i = 0; i <= ptx.size(); ++i) {
    if (i < ptx.size() && ptx[i] != '\n') {
      line += ptx[i];
      continue;
    }
    if (auto c = line.find("//"); c != std::string::npos) line.erase(c);
    std::string words;
    for (size_t j = 0; j < line.size();) {
      while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
      size_t k = j;
      while (k < line.size() && line[k] != ' ' && line[k] != '\t') ++k;
      if (k > j) words += (words.empty() ? "" : " ") + line.substr(j, k - j);
      j = k;
    }
    if (!words.empty()) out += words + "\n";
    line.clear();
  }
  return out;
}

// Raw entry headers of a fatbin file, to check flags and sizes directly.
struct RawEntry {
  uint16_t kind;
  uint32_t header_bytes;
  uint64_t payload_bytes;
  uint32_t compressed_bytes;
  uint64_t flags;
  uint64_t uncompressed_bytes;
  size_t offset;
};

template <class T>
T at(const std::vector<uint8_t>& b, size_t off) {
  REQUIRE(off + sizeof(T) <= b.size());
  T v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

std::vector<RawEntry> rawEntries(const std::vector<uint8_t>& b) {
  std::vector<RawEntry> out;
  size_t off = at<uint16_t>(b, 6), end = off + at<uint64_t>(b, 8);
  while (off < end) {
    RawEntry e{at<uint16_t>(b, off),      at<uint32_t>(b, off + 4),  at<uint64_t>(b, off + 8),
               at<uint32_t>(b, off + 16), at<uint64_t>(b, off + 40), at<uint64_t>(b, off + 56), off};
    out.push_back(e);
    off += e.header_bytes + e.payload_bytes;
  }
  return out;
}

constexpr uint64_t kFlagLz4 = 0x2000, kFlagZstd = 0x8000;

// ------------------------------------------------------------ host ELF

struct HostSection {
  std::string name;
  uint32_t type;
  uint64_t addr, offset, size;
};

struct HostElf {
  std::vector<uint8_t> bytes;
  std::vector<HostSection> sections;

  explicit HostElf(const fs::path& p) : bytes(readFile(p)) {
    REQUIRE(bytes.size() > 64);
    REQUIRE(std::memcmp(bytes.data(), "\x7f" "ELF", 4) == 0);
    uint64_t shoff = at<uint64_t>(bytes, 40);
    uint16_t shnum = at<uint16_t>(bytes, 60), shstrndx = at<uint16_t>(bytes, 62);
    for (uint16_t i = 0; i < shnum; ++i) {
      size_t h = shoff + size_t(i) * 64;
      sections.push_back({std::to_string(at<uint32_t>(bytes, h)), at<uint32_t>(bytes, h + 4),
                          at<uint64_t>(bytes, h + 16), at<uint64_t>(bytes, h + 24), at<uint64_t>(bytes, h + 32)});
    }
    uint64_t names = sections.at(shstrndx).offset;
    for (auto& s : sections) s.name = reinterpret_cast<const char*>(bytes.data() + names + std::stoul(s.name));
  }
  const HostSection* section(const std::string& name) const {
    for (const auto& s : sections)
      if (s.name == name) return &s;
    return nullptr;
  }
  // The section holding virtual address `va`, or null.
  const HostSection* sectionAt(uint64_t va) const {
    for (const auto& s : sections)
      if (s.addr != 0 && va >= s.addr && va < s.addr + s.size) return &s;
    return nullptr;
  }
  // File bytes at virtual address `va` (PIE or not: section addresses are
  // link-time addresses and pointer fields hold link-time values).
  const uint8_t* at_va(uint64_t va) const {
    const HostSection* s = sectionAt(va);
    REQUIRE(s != nullptr);
    REQUIRE(s->type != 8);  // not NOBITS
    return bytes.data() + s->offset + (va - s->addr);
  }
};

struct FileWrapper {
  uint32_t magic;
  int32_t version;
  uint64_t data;
  uint64_t filename_or_fatbins;
};

std::vector<FileWrapper> wrappersOf(const HostElf& elf) {
  const HostSection* seg = elf.section(".nvFatBinSegment");
  REQUIRE(seg != nullptr);
  REQUIRE(seg->size % 24 == 0);
  std::vector<FileWrapper> out;
  for (uint64_t off = 0; off < seg->size; off += 24) {
    FileWrapper w;
    std::memcpy(&w, elf.bytes.data() + seg->offset + off, sizeof w);
    out.push_back(w);
  }
  return out;
}

// A wrapper as the running program would hold it, pointing into `elf`.
struct LiveWrapper {
  uint32_t magic;
  int32_t version;
  const void* data;
  const void* filename_or_fatbins;
};

}  // namespace

// ------------------------------------------------------------ tests

TEST_CASE("single gencode: ELF and compressed PTX, payloads match nvcc -cubin/-ptx", "[fatbin]") {
  REQUIRE_NVCC();
  auto bytes = buildKernels("single.fatbin", std::string("-fatbin ") + kGencode75);
  auto size = fatbinSize(bytes.data());
  REQUIRE(size.ok());
  CHECK(*size == bytes.size());

  Fatbin fb = parse(bytes);
  REQUIRE(fb.entries.size() == 2);
  const FatbinEntry* elf = findEntry(fb, FatbinEntryKind::Elf, 75);
  const FatbinEntry* ptx = findEntry(fb, FatbinEntryKind::Ptx, 75);
  REQUIRE(elf != nullptr);
  REQUIRE(ptx != nullptr);
  CHECK_FALSE(elf->compressed);  // nvcc 13 compresses PTX (and debug ELF) by default
  CHECK(ptx->compressed);
  CHECK(elf->identifier.empty());

  auto cubin = buildKernels("k75.cubin", "-cubin -arch=sm_75");
  CHECK(elf->payload == cubin);

  auto ptx_file = buildKernels("k75.ptx", "-ptx -arch=sm_75");
  std::string embedded = text(*ptx);
  REQUIRE_FALSE(embedded.empty());
  CHECK(embedded.back() != '\0');
  CHECK(normalizePtx(embedded) == normalizePtx(std::string(ptx_file.begin(), ptx_file.end())));
  CHECK(fb.bestPtx(75) == ptx);
  CHECK(fb.bestPtx(1000) == ptx);
  CHECK(fb.bestPtx(70) == nullptr);

  auto raw = rawEntries(bytes);
  for (const auto& e : raw) {
    if (e.kind != 1) continue;
    CHECK((e.flags & kFlagZstd) != 0);  // default compression is zstd
    CHECK((e.flags & kFlagLz4) == 0);
    CHECK(e.uncompressed_bytes >= ptx->payload.size());
    CHECK(bytes[e.offset + e.header_bytes] == 0x28);  // zstd frame magic 28 b5 2f fd
    CHECK(bytes[e.offset + e.header_bytes + 3] == 0xfd);
  }
}

TEST_CASE("multiple gencodes: entries per arch and bestPtx", "[fatbin]") {
  REQUIRE_NVCC();
  auto bytes = buildKernels("multi.fatbin", std::string("-fatbin ") + kGencode75 +
                                                " -gencode arch=compute_90,code=[compute_90,sm_90]");
  Fatbin fb = parse(bytes);
  REQUIRE(fb.entries.size() == 4);
  REQUIRE(findEntry(fb, FatbinEntryKind::Elf, 75));
  REQUIRE(findEntry(fb, FatbinEntryKind::Elf, 90));
  const FatbinEntry* p75 = findEntry(fb, FatbinEntryKind::Ptx, 75);
  const FatbinEntry* p90 = findEntry(fb, FatbinEntryKind::Ptx, 90);
  REQUIRE(p75);
  REQUIRE(p90);
  CHECK(text(*p90).find(".target sm_90") != std::string::npos);
  CHECK(fb.bestPtx(89) == p75);
  CHECK(fb.bestPtx(90) == p90);
  CHECK(fb.bestPtx(120) == p90);
  CHECK(fb.bestPtx(74) == nullptr);
  for (const auto& e : fb.entries) {
    REQUIRE(e.payload.size() > 4);
    if (e.kind == FatbinEntryKind::Elf) CHECK(std::memcmp(e.payload.data(), "\x7f" "ELF", 4) == 0);
    if (e.kind == FatbinEntryKind::Ptx) CHECK(text(e).find(".entry _Z4axpyPfPKfi") != std::string::npos);
  }
}

TEST_CASE("compression modes: zstd and LZ4 decompress to the uncompressed payloads", "[fatbin]") {
  REQUIRE_NVCC();
  Fatbin plain = parse(buildKernels("plain.fatbin", std::string("-fatbin --no-compress ") + kGencode75));
  REQUIRE(plain.entries.size() == 2);
  for (const auto& e : plain.entries) CHECK_FALSE(e.compressed);
  auto plain_raw = rawEntries(readFile(workDir() / "plain.fatbin"));
  for (const auto& e : plain_raw) CHECK((e.flags & (kFlagLz4 | kFlagZstd)) == 0);

  struct Mode {
    const char* file;
    const char* flags;
    uint64_t flag;
  };
  const Mode modes[] = {
      {"all_zstd.fatbin", "-Xfatbin -compress-all", kFlagZstd},
      {"all_size.fatbin", "-Xfatbin -compress-all -compress-mode=size", kFlagZstd},
      {"all_lz4.fatbin", "-Xfatbin -compress-all -compress-mode=speed", kFlagLz4},
  };
  for (const Mode& m : modes) {
    SECTION(m.file) {
      auto bytes = buildKernels(m.file, std::string("-fatbin ") + m.flags + " " + kGencode75);
      for (const auto& e : rawEntries(bytes)) {
        CHECK((e.flags & (kFlagLz4 | kFlagZstd)) == m.flag);
        CHECK(e.compressed_bytes > 0);
        CHECK(e.compressed_bytes <= e.payload_bytes);
        CHECK(e.payload_bytes % 8 == 0);
      }
      Fatbin fb = parse(bytes);
      REQUIRE(fb.entries.size() == 2);
      for (const auto& e : fb.entries) {
        CHECK(e.compressed);
        const FatbinEntry* same = findEntry(plain, e.kind, e.arch);
        REQUIRE(same);
        CHECK(e.payload == same->payload);
      }
    }
  }
}

TEST_CASE("identifier: -lineinfo stores the source file name", "[fatbin]") {
  REQUIRE_NVCC();
  Fatbin fb = parse(buildKernels("lineinfo.fatbin", std::string("-fatbin -lineinfo ") + kGencode75));
  REQUIRE_FALSE(fb.entries.empty());
  for (const auto& e : fb.entries) CHECK(e.identifier == "kernels.cu");
}

TEST_CASE("host executables: version 1 and 2 wrappers in .nvFatBinSegment", "[fatbin]") {
  REQUIRE_NVCC();
  writeFile(workDir() / "main.cu", R"(
#include <cstdio>
__device__ int bump(int x);
__global__ void k2(int* p) { p[0] = bump(7); }
__global__ void k3(float* p);  // nvlink drops kernels the host code never names
int main() { std::printf("%p %p\n", (void*)k2, (void*)k3); return 0; }
)");
  writeFile(workDir() / "other.cu", R"(
__device__ int bump(int x) { return x + 1; }
__global__ void k3(float* p) { p[0] = 3; }
)");
  writeFile(workDir() / "solo.cu", R"(
#include <cstdio>
__global__ void k1(int* p) { p[0] = 1; }
int main() { std::printf("%p\n", (void*)k1); return 0; }
)");

  SECTION("whole-program build") {
    // nvcc 13 device-links even without -rdc: one version-2 wrapper for the
    // (kernel-less) linked image, one version-1 wrapper per source file.
    nvcc(std::string(kGencode75) + " -o solo solo.cu");
    HostElf elf(workDir() / "solo");
    auto wrappers = wrappersOf(elf);
    int v1 = 0, v2 = 0;
    for (const auto& w : wrappers) {
      CHECK(w.magic == 0x466243b1u);
      REQUIRE((w.version == 1 || w.version == 2));
      const HostSection* data = elf.sectionAt(w.data);
      REQUIRE(data);
      CHECK(data->name == ".nv_fatbin");
      const uint8_t* fatbin = elf.at_va(w.data);
      auto size = fatbinSize(fatbin);
      REQUIRE(size.ok());
      REQUIRE(fatbin + *size <= elf.bytes.data() + data->offset + data->size);
      Fatbin fb = parse(std::vector<uint8_t>(fatbin, fatbin + *size));
      if (w.version == 1) {
        ++v1;
        CHECK(w.filename_or_fatbins == 0);
        CHECK(fb.bestPtx(75) != nullptr);
        CHECK(text(*fb.bestPtx(75)).find("_Z2k1Pi") != std::string::npos);
      } else {
        ++v2;
        const HostSection* list = elf.sectionAt(w.filename_or_fatbins);
        REQUIRE(list);
        CHECK(list->name == ".bss");  // __cudaPrelinkedFatbins, filled at start-up
        CHECK(fb.bestPtx(1000) == nullptr);
        auto info = describeModule(fb, 90);
        REQUIRE(info.ok());
        CHECK(info->kernels.empty());
      }
      LiveWrapper live{w.magic, w.version, fatbin, nullptr};
      auto rw = readFatbinWrapper(&live);
      REQUIRE(rw.ok());
      CHECK(rw->version == w.version);
      CHECK(rw->fatbin == fatbin);
      CHECK(rw->fatbin_size == *size);
      CHECK(rw->prelinked.empty());
    }
    CHECK(v1 == 1);
    CHECK(v2 == 1);
  }

  SECTION("-rdc=true build") {
    nvcc(std::string("-rdc=true ") + kGencode75 + " -o rdc main.cu other.cu");
    HostElf elf(workDir() / "rdc");
    std::vector<const void*> relocatable;
    const uint8_t* linked = nullptr;
    for (const auto& w : wrappersOf(elf)) {
      CHECK(w.magic == 0x466243b1u);
      const HostSection* data = elf.sectionAt(w.data);
      REQUIRE(data);
      if (w.version == 1) {
        CHECK(data->name == "__nv_relfatbin");
        relocatable.push_back(elf.at_va(w.data));
      } else {
        REQUIRE(w.version == 2);
        CHECK(data->name == ".nv_fatbin");
        CHECK(linked == nullptr);
        linked = elf.at_va(w.data);
      }
    }
    REQUIRE(linked != nullptr);
    REQUIRE(relocatable.size() == 2);

    // What crt/link.stub does before __cudaRegisterFatBinary: the data of
    // every per-file wrapper, NULL-terminated.
    std::vector<const void*> list = relocatable;
    list.push_back(nullptr);
    LiveWrapper live{0x466243b1u, 2, linked, list.data()};
    auto rw = readFatbinWrapper(&live);
    INFO((rw ? "" : rw.error().message));
    REQUIRE(rw.ok());
    CHECK(rw->version == 2);
    REQUIRE(rw->prelinked.size() == 2);
    CHECK(rw->prelinked[0] == relocatable[0]);
    CHECK(rw->prelinked[1] == relocatable[1]);

    Fatbin fb = parse(std::vector<uint8_t>(rw->fatbin, rw->fatbin + rw->fatbin_size));
    CHECK(fb.bestPtx(1000) == nullptr);  // the linked image is SASS only
    const FatbinEntry* elf75 = findEntry(fb, FatbinEntryKind::Elf, 75);
    REQUIRE(elf75);
    auto kernels = kernelsFromCubin(elf75->payload.data(), elf75->payload.size());
    REQUIRE(kernels.ok());
    std::vector<std::string> names;
    for (const auto& k : *kernels) names.push_back(k.name);
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"_Z2k2Pi", "_Z2k3Pf"});

    for (const void* rel : rw->prelinked) {
      auto size = fatbinSize(rel);
      REQUIRE(size.ok());
      auto p = static_cast<const uint8_t*>(rel);
      Fatbin one = parse(std::vector<uint8_t>(p, p + *size));
      CHECK(one.bestPtx(75) != nullptr);
      const FatbinEntry* e = findEntry(one, FatbinEntryKind::Elf, 75);
      REQUIRE(e);
      CHECK(at<uint16_t>(e->payload, 16) == 1);  // ET_REL: relocatable cubin
    }

    int bad_list_end = 0x12345678;  // not a fatbin
    std::vector<const void*> bad = {relocatable[0], &bad_list_end, nullptr};
    LiveWrapper broken{0x466243b1u, 2, linked, bad.data()};
    auto err = readFatbinWrapper(&broken);
    REQUIRE_FALSE(err.ok());
    CHECK(err.error().code == MODNN_ERR_INVALID_IMAGE);
  }
}

namespace {

// Stand-ins for the cudart registration calls of a -cudart=none library;
// they record what the library's constructors register.
const char* kCaptureSource = R"(
#include <stddef.h>
void* capture_wrappers[64];
int capture_wrapper_count;
const char* capture_functions[64];
int capture_function_count;
const char* capture_vars[64];
size_t capture_var_sizes[64];
int capture_var_constant[64];
int capture_var_count;
static void* handle;
void** __cudaRegisterFatBinary(void* w) {
  if (capture_wrapper_count < 64) capture_wrappers[capture_wrapper_count++] = w;
  return &handle;
}
void __cudaRegisterFatBinaryEnd(void** h) { (void)h; }
void __cudaUnregisterFatBinary(void** h) { (void)h; }
void __cudaRegisterFunction(void** h, const char* host, char* dev, const char* name, int limit, void* tid, void* bid,
                            void* bdim, void* gdim, int* wsize) {
  if (capture_function_count < 64) capture_functions[capture_function_count++] = name;
}
void __cudaRegisterVar(void** h, char* host, char* dev, const char* name, int ext, size_t size, int constant,
                       int global) {
  if (capture_var_count < 64) {
    capture_vars[capture_var_count] = name;
    capture_var_sizes[capture_var_count] = size;
    capture_var_constant[capture_var_count++] = constant;
  }
}
char __cudaInitModule(void** h) { return 0; }
int __cudaPopCallConfiguration(void* a, void* b, void* c, void* d) { return 0; }
int __cudaLaunchKernel(const void* f, void* a, void* b, void** c, size_t d, void* e) { return 0; }
void* __cudaGetKernel(void* a) { return 0; }
)";

}  // namespace

TEST_CASE("live version 2 wrapper: prelinked list filled by the library's constructors", "[fatbin]") {
  REQUIRE_NVCC();
  writeFile(workDir() / "capture.c", kCaptureSource);
  writeFile(workDir() / "la.cu", R"(
__device__ int la_counter = 3;
__device__ int bump(int x);
__global__ void ka(int* p) { p[0] = bump(la_counter); }
)");
  writeFile(workDir() / "lb.cu", R"(
__constant__ float lb_tab[8];
__device__ int bump(int x) { return x + 1; }
__global__ void kb(float* p, float v) { p[threadIdx.x] = v + lb_tab[0]; }
)");
  nvcc("-shared -Xcompiler -fPIC -o libcapture.so capture.c");
  nvcc(std::string("-dc -Xcompiler -fPIC ") + kGencode75 + " la.cu lb.cu");
  nvcc(std::string("-dlink -Xcompiler -fPIC ") + kGencode75 + " la.o lb.o -o ldlink.o");
  nvcc("-shared -cudart=none la.o lb.o ldlink.o -o libdev.so");

  void* capture = dlopen((workDir() / "libcapture.so").c_str(), RTLD_NOW | RTLD_GLOBAL);
  INFO((capture ? "" : dlerror()));
  REQUIRE(capture);
  void* dev = dlopen((workDir() / "libdev.so").c_str(), RTLD_NOW);  // never closed: its atexit handlers need it
  INFO((dev ? "" : dlerror()));
  REQUIRE(dev);

  auto count = static_cast<int*>(dlsym(capture, "capture_wrapper_count"));
  auto wrappers = static_cast<void**>(dlsym(capture, "capture_wrappers"));
  REQUIRE(count);
  REQUIRE(*count == 1);
  auto w = readFatbinWrapper(wrappers[0]);
  INFO((w ? "" : w.error().message));
  REQUIRE(w.ok());
  CHECK(w->version == 2);
  REQUIRE(w->prelinked.size() == 2);
  for (const uint8_t* rel : w->prelinked) {
    auto size = fatbinSize(rel);
    REQUIRE(size.ok());
    Fatbin one = parse(std::vector<uint8_t>(rel, rel + *size));
    CHECK(one.bestPtx(75) != nullptr);
  }

  Fatbin linked = parse(std::vector<uint8_t>(w->fatbin, w->fatbin + w->fatbin_size));
  auto info = describeModule(linked, 75);
  INFO((info ? "" : info.error().message));
  REQUIRE(info.ok());

  // Names the host side registers are the names the module describes.
  auto fcount = *static_cast<int*>(dlsym(capture, "capture_function_count"));
  auto fnames = static_cast<const char**>(dlsym(capture, "capture_functions"));
  CHECK(fcount == 2);
  for (int i = 0; i < fcount; ++i) {
    INFO(fnames[i]);
    CHECK(info->kernels.count(fnames[i]) == 1);
  }
  CHECK(info->kernels.size() == 2);
  auto vcount = *static_cast<int*>(dlsym(capture, "capture_var_count"));
  auto vnames = static_cast<const char**>(dlsym(capture, "capture_vars"));
  auto vsizes = static_cast<size_t*>(dlsym(capture, "capture_var_sizes"));
  CHECK(vcount == 2);
  for (int i = 0; i < vcount; ++i) {
    INFO(vnames[i]);
    auto it = info->vars.find(vnames[i]);
    REQUIRE(it != info->vars.end());
    CHECK(it->second.size == vsizes[i]);
  }
}

TEST_CASE("malformed fatbins return INVALID_IMAGE and never crash", "[fatbin]") {
  REQUIRE_NVCC();
  const auto good = buildKernels("single.fatbin", std::string("-fatbin ") + kGencode75);
  REQUIRE(parse(good).entries.size() == 2);

  auto expectInvalid = [](const std::vector<uint8_t>& b, size_t size) {
    auto r = readFatbin(b.data(), size);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == MODNN_ERR_INVALID_IMAGE);
    CHECK_FALSE(r.error().message.empty());
  };

  SECTION("every truncation") {
    for (size_t n = 0; n < good.size(); ++n) {
      auto r = readFatbin(good.data(), n);
      REQUIRE_FALSE(r.ok());
      REQUIRE(r.error().code == MODNN_ERR_INVALID_IMAGE);
    }
    // Same, with the header size adjusted to the cut so the entries are
    // walked; a cut on an entry boundary is a valid, shorter fatbin.
    size_t ok = 0;
    for (size_t n = 16; n < good.size(); ++n) {
      std::vector<uint8_t> cut(good.begin(), good.begin() + n);
      uint64_t body = n - 16;
      std::memcpy(cut.data() + 8, &body, 8);
      auto r = readFatbin(cut.data(), cut.size());
      if (r.ok()) {
        ++ok;
        continue;
      }
      REQUIRE(r.error().code == MODNN_ERR_INVALID_IMAGE);
    }
    CHECK(ok == 2);  // the bare header, and the cut right after the first entry
  }

  SECTION("bad magic, version and header size") {
    auto b = good;
    b[0] ^= 1;
    expectInvalid(b, b.size());
    CHECK_FALSE(fatbinSize(b.data()).ok());
    b = good;
    b[4] = 7;
    expectInvalid(b, b.size());
    b = good;
    b[6] = 3;
    b[7] = 0;
    expectInvalid(b, b.size());
    CHECK_FALSE(readFatbin(nullptr, 100).ok());
  }

  auto entries = rawEntries(good);
  REQUIRE(entries.size() == 2);
  auto put64 = [](std::vector<uint8_t>& b, size_t off, uint64_t v) { std::memcpy(b.data() + off, &v, 8); };
  auto put32 = [](std::vector<uint8_t>& b, size_t off, uint32_t v) { std::memcpy(b.data() + off, &v, 4); };

  SECTION("huge and inconsistent sizes") {
    auto b = good;
    put64(b, 8, ~uint64_t{0});
    expectInvalid(b, b.size());
    put64(b, 8, uint64_t{1} << 40);
    expectInvalid(b, b.size());
    for (const auto& e : entries) {
      b = good;
      put64(b, e.offset + 8, ~uint64_t{0});  // payload size
      expectInvalid(b, b.size());
      b = good;
      put64(b, e.offset + 8, e.payload_bytes + 8);
      expectInvalid(b, b.size());
      b = good;
      put32(b, e.offset + 4, 0xffffffffu);  // entry header size
      expectInvalid(b, b.size());
      b = good;
      put32(b, e.offset + 4, 8);
      expectInvalid(b, b.size());
      b = good;
      put32(b, e.offset + 36, 1000);  // identifier beyond the header
      put32(b, e.offset + 32, 64);
      expectInvalid(b, b.size());
    }
    const RawEntry* compressed = nullptr;
    for (const auto& e : entries)
      if (e.flags & kFlagZstd) compressed = &e;
    REQUIRE(compressed);
    size_t o = compressed->offset;
    b = good;
    put64(b, o + 56, uint64_t{1} << 40);  // uncompressed size
    expectInvalid(b, b.size());
    b = good;
    put64(b, o + 56, compressed->uncompressed_bytes + 1);
    expectInvalid(b, b.size());
    b = good;
    put64(b, o + 56, 0);
    expectInvalid(b, b.size());
    b = good;
    put32(b, o + 16, uint32_t(compressed->payload_bytes + 1));  // compressed size
    expectInvalid(b, b.size());
    b = good;
    put32(b, o + 16, 0);
    expectInvalid(b, b.size());
    b = good;
    put64(b, o + 40, compressed->flags | kFlagLz4);  // both codecs
    expectInvalid(b, b.size());
    b = good;
    put64(b, o + 40, (compressed->flags & ~kFlagZstd) | kFlagLz4);  // zstd data read as LZ4
    expectInvalid(b, b.size());
    b = good;
    b[o + compressed->header_bytes + 20] ^= 0xff;  // corrupt the frame
    auto r = readFatbin(b.data(), b.size());
    if (r.ok()) {  // zstd has no checksum here; then the text differs
      CHECK(r->entries.size() == 2);
    } else {
      CHECK(r.error().code == MODNN_ERR_INVALID_IMAGE);
    }
  }

  SECTION("random byte flips") {
    std::mt19937 rng(1234);
    for (int i = 0; i < 3000; ++i) {
      auto b = good;
      int flips = 1 + int(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        // Bias towards the headers, where the interesting fields are.
        size_t pos = rng() % 2 ? rng() % std::min<size_t>(b.size(), 200) : rng() % b.size();
        if (rng() % 2 && entries.size() > 1) pos = entries[1].offset + rng() % 64;
        b[pos] ^= uint8_t(1u << (rng() % 8));
      }
      auto r = readFatbin(b.data(), b.size());
      if (!r.ok()) REQUIRE(r.error().code == MODNN_ERR_INVALID_IMAGE);
    }
  }

  SECTION("wrappers") {
    LiveWrapper w{0x466243b1u, 1, good.data(), nullptr};
    CHECK(readFatbinWrapper(&w).ok());
    w.magic = 0x466243b2u;
    CHECK(readFatbinWrapper(&w).error().code == MODNN_ERR_INVALID_IMAGE);
    w.magic = 0x466243b1u;
    w.version = 3;
    CHECK_FALSE(readFatbinWrapper(&w).ok());
    w.version = 2;
    CHECK(readFatbinWrapper(&w).ok());  // empty list: NULL pointer
    w.data = nullptr;
    CHECK_FALSE(readFatbinWrapper(&w).ok());
    auto bad = good;
    bad[1] ^= 0x10;
    w.data = bad.data();
    CHECK_FALSE(readFatbinWrapper(&w).ok());
    CHECK_FALSE(readFatbinWrapper(nullptr).ok());
  }
}
