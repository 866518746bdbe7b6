// moai-sim: replays Alibaba's openb trace through the scheduler's colocation
// policies (scheduler/colocation.h) and prints how much GPU capacity each
// gets allocated. See tools/sim/README.md.
#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "openb_trace.h"
#include "simulation.h"

namespace {

using namespace moai::sim;
using moai::sched::coloc::Policy;
namespace fs = std::filesystem;

constexpr int kSkip = 77;  // the trace is not there: meson's "skipped"

std::string defaultTraceDir() {
  if (const char* env = std::getenv("MOAI_TRACES"); env && *env) return env;
  return std::string(MOAI_SOURCE_ROOT) + "/../shared/traces";
}

std::string inDir(const std::string& dir, const std::string& file) {
  return file.find('/') == std::string::npos ? dir + "/" + file : file;
}

// Means over the repeats of one policy.
struct Summary {
  Policy policy{};
  double arrived = 0, placed = 0;
  double failArrivedPct = 0, failAllocatedGpus = 0, failUnallocatedPct = 0;
  int failures = 0;  // repeats in which some task did not fit
  double unallocatedAt100 = -1, unallocatedEndPct = 0, unallocatedEndGpus = 0, peakGpus = 0;
};

Summary summarise(Policy policy, const std::vector<RunResult>& runs) {
  Summary s;
  s.policy = policy;
  double at100 = 0;
  int with100 = 0;
  for (const RunResult& r : runs) {
    const double cap = static_cast<double>(r.capacityMilli);
    s.arrived += r.arrived;
    s.placed += r.placed;
    if (r.firstFailure) {
      ++s.failures;
      s.failArrivedPct += r.firstFailure->arrivedPercent;
      s.failAllocatedGpus += r.firstFailure->allocatedMilli / 1000.0;
      s.failUnallocatedPct += 100.0 * (cap - r.firstFailure->allocatedMilli) / cap;
    }
    if (r.allocatedAtPercent.size() > 100) {
      at100 += 100.0 * (cap - r.allocatedAtPercent[100]) / cap;
      ++with100;
    }
    s.unallocatedEndPct += 100.0 * (cap - r.allocatedMilli) / cap;
    s.unallocatedEndGpus += (cap - r.allocatedMilli) / 1000.0;
    s.peakGpus += r.peakAllocatedMilli / 1000.0;
  }
  const double n = static_cast<double>(runs.size());
  s.arrived /= n, s.placed /= n, s.unallocatedEndPct /= n, s.unallocatedEndGpus /= n, s.peakGpus /= n;
  if (s.failures) {
    s.failArrivedPct /= s.failures, s.failAllocatedGpus /= s.failures, s.failUnallocatedPct /= s.failures;
  }
  if (with100 == static_cast<int>(runs.size())) s.unallocatedAt100 = at100 / n;
  return s;
}

void printTable(const std::vector<Summary>& rows, bool replay) {
  const Summary* bestFit = nullptr;
  for (const Summary& s : rows)
    if (s.policy == Policy::BestFit) bestFit = &s;
  std::printf("%-10s | %17s | %-27s | %-16s | %-28s | %s\n", "policy", "tasks placed",
              "first task that fails to fit", replay ? "peak allocated" : "unalloc. @100%",
              replay ? "unallocated at the end" : "unallocated at the end", "vs best-fit");
  std::printf("%-10s | %17s | %8s %9s %8s | %-16s | %-28s | %s\n", "", "", "arrived", "GPUs", "unalloc", "", "",
              "(fewer unallocated)");
  for (const Summary& s : rows) {
    char fail[64] = "         none fails        ";
    if (s.failures)
      std::snprintf(fail, sizeof fail, "%7.1f%% %9.1f %7.2f%%", s.failArrivedPct, s.failAllocatedGpus,
                    s.failUnallocatedPct);
    char mid[32];
    if (replay)
      std::snprintf(mid, sizeof mid, "%8.1f GPUs", s.peakGpus);
    else if (s.unallocatedAt100 >= 0)
      std::snprintf(mid, sizeof mid, "%7.2f%%", s.unallocatedAt100);
    else
      std::snprintf(mid, sizeof mid, "%s", "n/a");
    char vs[32] = "";
    if (!replay && bestFit && bestFit->unallocatedEndGpus > 0)
      std::snprintf(vs, sizeof vs, "%+.1f%%",
                    100.0 * (bestFit->unallocatedEndGpus - s.unallocatedEndGpus) / bestFit->unallocatedEndGpus);
    std::printf("%-10s | %8.0f / %6.0f | %-27s | %-16s | %7.2f%% (%7.1f GPUs)      | %s\n", policyName(s.policy),
                s.placed, s.arrived, fail, mid, s.unallocatedEndPct, s.unallocatedEndGpus, vs);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"moai-sim: the scheduler's colocation policies on Alibaba's openb GPU trace"};
  std::string traceDir = defaultTraceDir();
  std::string nodesFile = "openb_node_list_gpu_node.csv", podsFile = "openb_pod_list_default.csv";
  std::string mode = "inflate";
  std::vector<std::string> policyNames{"fgd", "best-fit", "first-fit", "exclusive"};
  double ratio = 1.3, coverage = 0.95;
  uint64_t seed = 42;
  unsigned repeats = 1, jobs = std::max(1u, std::thread::hardware_concurrency());
  double resolution = moai::sched::coloc::kFgdResolutionMilli;
  bool check = false, ignoreMemory = false;
  app.add_option("--trace", traceDir, "folder of the openb CSV files (default $MOAI_TRACES or <repo>/../shared/traces)");
  app.add_option("--nodes", nodesFile, "node list, a file name in --trace or a path")->capture_default_str();
  app.add_option("--pods", podsFile, "task list, a file name in --trace or a path")->capture_default_str();
  app.add_option("--mode", mode, "inflate: the paper's workload inflation; replay: trace times")
      ->check(CLI::IsMember({"inflate", "replay"}))
      ->capture_default_str();
  app.add_option("--ratio", ratio, "inflate: tasks arrive until they ask for this x GPU capacity")
      ->check(CLI::Range(0.01, 10.0))
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the first repeat (repeat i uses seed + i)")->capture_default_str();
  app.add_option("--repeats", repeats, "inflate: runs with different seeds, averaged")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option("--policies", policyNames, "fgd, best-fit, first-fit, exclusive")->delimiter(',');
  app.add_option("--coverage", coverage, "FGD's target workload: the commonest task shapes covering this share")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  app.add_option("--fgd-resolution", resolution, "milli-GPUs; FGD treats smaller growth differences as ties (0: exact)")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  app.add_flag("--ignore-memory", ignoreMemory, "drop the tasks' memory requests, as the paper's simulator does");
  app.add_option("--jobs", jobs, "runs in parallel")->check(CLI::Range(1u, 256u));
  app.add_flag("--check", check, "exit 1 unless fgd leaves fewer GPUs unallocated than best-fit");
  CLI11_PARSE(app, argc, argv);

  std::vector<Policy> policies;
  for (const std::string& name : policyNames) {
    auto p = moai::sched::coloc::policyFromName(name);
    if (!p) {
      std::fprintf(stderr, "moai-sim: unknown policy '%s'\n", name.c_str());
      return 2;
    }
    policies.push_back(*p);
  }
  const std::string nodesPath = inDir(traceDir, nodesFile), podsPath = inDir(traceDir, podsFile);
  if (!fs::exists(nodesPath) || !fs::exists(podsPath)) {
    std::fprintf(stderr, "moai-sim: trace not found (%s, %s); set --trace or MOAI_TRACES\n", nodesPath.c_str(),
                 podsPath.c_str());
    return kSkip;
  }
  std::string error;
  auto nodes = readOpenbNodes(nodesPath, error);
  auto tasks = nodes ? readOpenbTasks(podsPath, error) : std::nullopt;
  if (!nodes || !tasks) {
    std::fprintf(stderr, "moai-sim: %s\n", error.c_str());
    return 2;
  }
  if (nodes->empty() || tasks->empty()) {
    std::fprintf(stderr, "moai-sim: empty trace\n");
    return 2;
  }

  if (ignoreMemory)
    for (TraceTask& t : *tasks) t.task.memoryMib = 0;
  std::vector<moai::sched::coloc::Task> shapes;
  for (const TraceTask& t : *tasks) shapes.push_back(t.task);
  const auto workload = moai::sched::coloc::workloadFromTasks(shapes, coverage);
  const uint64_t capacity = gpuCapacityMilli(*nodes);
  const bool replay = mode == "replay";
  if (replay) repeats = 1;

  // One job per (policy, repeat); each writes only its own slot.
  std::vector<std::vector<uint32_t>> orders(repeats);
  if (!replay)
    for (unsigned r = 0; r < repeats; ++r) orders[r] = inflatedArrivals(*tasks, capacity, ratio, seed + r);
  std::vector<RunResult> results(policies.size() * repeats);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t j; (j = next++) < results.size();) {
      Policy p = policies[j / repeats];
      results[j] = replay ? runReplay(*nodes, *tasks, p, workload, resolution)
                          : runArrivals(*nodes, *tasks, orders[j % repeats], p, workload, resolution);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < std::min<size_t>(jobs, results.size()); ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();

  std::printf("moai-sim: %s, %zu nodes, %.0f GPUs; %zu trace tasks; FGD target workload: %zu task shapes\n",
              fs::path(podsPath).filename().c_str(), nodes->size(), capacity / 1000.0, tasks->size(),
              workload.size());
  if (replay)
    std::printf("mode replay: tasks arrive at their creation time and leave at their deletion time\n\n");
  else
    std::printf("mode inflate: trace tasks plus random draws until they ask for %.0f%% of GPU capacity, "
                "shuffled; seed %llu, %u repeat(s), means\n\n",
                100 * ratio, static_cast<unsigned long long>(seed), repeats);
  std::vector<Summary> rows;
  for (size_t i = 0; i < policies.size(); ++i) {
    std::vector<RunResult> runs(results.begin() + i * repeats, results.begin() + (i + 1) * repeats);
    rows.push_back(summarise(policies[i], runs));
  }
  printTable(rows, replay);

  if (check) {
    const Summary *fgd = nullptr, *bestFit = nullptr;
    for (const Summary& s : rows) {
      if (s.policy == Policy::Fgd) fgd = &s;
      if (s.policy == Policy::BestFit) bestFit = &s;
    }
    if (!fgd || !bestFit) {
      std::fprintf(stderr, "moai-sim: --check needs fgd and best-fit\n");
      return 2;
    }
    if (!(fgd->unallocatedEndGpus < bestFit->unallocatedEndGpus)) {
      std::printf("\nCHECK FAILED: fgd leaves %.1f GPUs unallocated, best-fit %.1f\n", fgd->unallocatedEndGpus,
                  bestFit->unallocatedEndGpus);
      return 1;
    }
    std::printf("\ncheck passed: fgd leaves fewer GPUs unallocated than best-fit\n");
  }
  return 0;
}
