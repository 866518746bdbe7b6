// A stand-in for libFuzzer where it is missing: runs a fuzz target over the
// seed files and then over random mutations of them until a time budget is
// spent. Mutations come from a seeded generator, so a failure reproduces
// with the same -seed and seeds.
//
//   replay [-seconds=N] [-seed=N] PATH...    (PATH: a file or a directory of seeds)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Input = std::vector<uint8_t>;

constexpr size_t kMaxInput = 1 << 16;
const Input* g_current = nullptr;  // the input being run, written out if it crashes the target

void dumpAndDie(int sig) {
  if (g_current) {
    int fd = ::open("crash-replay.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      (void)!::write(fd, g_current->data(), g_current->size());
      ::close(fd);
    }
    static const char msg[] = "replay: the target crashed; input saved as crash-replay.bin\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void run(const Input& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
  g_current = nullptr;
}

std::vector<Input> loadSeeds(const std::vector<std::string>& paths) {
  std::vector<Input> seeds;
  auto load = [&](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  for (auto& path : paths) {
    if (std::filesystem::is_directory(path)) {
      for (auto& entry : std::filesystem::directory_iterator(path))
        if (entry.is_regular_file()) load(entry.path());
    } else {
      load(path);
    }
  }
  return seeds;
}

// One random edit; values that matter to Cap'n Proto (pointer words, list
// sizes, segment counts) are favoured over uniform noise.
void mutate(Input& in, const std::vector<Input>& seeds, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t(0) : size_t(rng() % n); };
  static constexpr uint64_t kInteresting[] = {0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff, ~0ull, 1ull << 32};
  switch (rng() % 7) {
    case 0:
      if (!in.empty()) in[pick(in.size())] ^= uint8_t(1u << (rng() % 8));
      break;
    case 1:
      if (!in.empty()) in[pick(in.size())] = uint8_t(rng());
      break;
    case 2:
      if (in.size() >= 4) {
        uint64_t v = kInteresting[pick(std::size(kInteresting))];
        size_t width = (rng() % 2) ? 4 : 8;
        size_t at = pick(in.size() - std::min(width, in.size()) + 1) & ~size_t(3);
        std::memcpy(in.data() + at, &v, std::min(width, in.size() - at));
      }
      break;
    case 3:
      in.resize(pick(in.size() + 1));
      break;
    case 4: {
      size_t at = pick(in.size() + 1), n = 1 + pick(16);
      for (size_t i = 0; i < n; ++i) in.insert(in.begin() + at, uint8_t(rng()));
      break;
    }
    case 5:
      if (!in.empty()) {
        size_t at = pick(in.size()), n = 1 + pick(in.size() - at);
        in.erase(in.begin() + at, in.begin() + at + n);
      }
      break;
    default: {
      const Input& other = seeds[pick(seeds.size())];
      if (other.empty()) break;
      size_t from = pick(other.size()), n = 1 + pick(other.size() - from);
      size_t at = pick(in.size() + 1);
      in.insert(in.begin() + at, other.begin() + from, other.begin() + from + n);
    }
  }
  if (in.size() > kMaxInput) in.resize(kMaxInput);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  uint64_t seed = 1;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.starts_with("-seconds="))
      seconds = std::stod(a.substr(9));
    else if (a.starts_with("-seed="))
      seed = std::stoull(a.substr(6));
    else
      paths.push_back(a);
  }
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) signal(sig, dumpAndDie);

  std::vector<Input> seeds = loadSeeds(paths);
  if (seeds.empty()) {
    std::fprintf(stderr, "replay: no seed inputs in the given paths\n");
    return 1;
  }
  for (auto& s : seeds) run(s);

  std::mt19937_64 rng(seed);
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (int batch = 0; batch < 256; ++batch, ++runs) {
      Input in = seeds[rng() % seeds.size()];
      for (int edits = 1 + int(rng() % 4); edits > 0; --edits) mutate(in, seeds, rng);
      run(in);
    }
  }
  std::printf("replay: %zu seeds and %llu mutations (seed %llu) ran cleanly\n", seeds.size(),
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(seed));
  return 0;
}
