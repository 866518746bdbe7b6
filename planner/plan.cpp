#include "planner/plan.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <ostream>

namespace moai::planner {
std::string formatSeconds(double s) {
  char buf[32];
  if (s < 0) return "-";
  if (s >= 1)
    std::snprintf(buf, sizeof buf, "%.3f s", s);
  else if (s >= 1e-3)
    std::snprintf(buf, sizeof buf, "%.3f ms", s * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f us", s * 1e6);
  return buf;
}

std::string formatBytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", b, units[u]);
  return buf;
}

void printPlan(const Plan& plan, const Graph& graph, std::ostream& out, int max_op_lines) {
  char line[256];
  std::snprintf(line, sizeof line, "plan %016llx: %zu ops, %zu tensors on %d device%s\n",
                static_cast<unsigned long long>(plan.graph_hash), graph.ops.size(), graph.tensors.size(),
                plan.devices, plan.devices == 1 ? "" : "s");
  out << line;
  // Runs of consecutive ops of one kind and strategy fold into one line.
  struct Run {
    size_t first, last;
    double compute = 0, comm = 0;
  };
  std::vector<Run> runs;
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const OpAssignment& a = plan.ops[i];
    bool extend = !runs.empty() && plan.ops[runs.back().last].strategy == a.strategy &&
                  graph.ops[plan.ops[runs.back().last].op].kind == graph.ops[a.op].kind;
    if (!extend) runs.push_back({i, i});
    runs.back().last = i;
    runs.back().compute += a.compute_seconds;
    runs.back().comm += a.comm_seconds;
  }
  int shown = 0;
  for (const Run& r : runs) {
    if (shown++ == max_op_lines) {
      out << "  ... " << runs.size() - max_op_lines << " more runs of ops\n";
      break;
    }
    const OpAssignment& a = plan.ops[r.first];
    const Op& op = graph.ops[a.op];
    std::string ids = r.first == r.last ? std::to_string(r.first)
                                        : std::to_string(r.first) + "-" + std::to_string(r.last);
    std::string what = opKindName(op.kind);
    if (r.first == r.last && !op.name.empty()) what += " " + op.name;
    std::string where = a.ways > 1 ? "devices 0-" + std::to_string(a.ways - 1) : "device 0";
    std::snprintf(line, sizeof line, "  op %-11s %-28.28s %-14s %-13s compute %-10s comm %s\n", ids.c_str(),
                  what.c_str(), a.strategy.c_str(), where.c_str(), formatSeconds(r.compute).c_str(),
                  formatSeconds(r.comm).c_str());
    out << line;
  }
  std::map<std::string, std::tuple<int, double, double>> by_kind;  // count, bytes, seconds
  for (const Transfer& t : plan.transfers) {
    auto& [count, b, s] = by_kind[t.collective];
    ++count, b += double(t.bytes), s += t.seconds;
  }
  for (auto& [name, v] : by_kind) {
    std::snprintf(line, sizeof line, "  %-14s x%-5d %12s  %s\n", name.c_str(), std::get<0>(v),
                  formatBytes(std::get<1>(v)).c_str(), formatSeconds(std::get<2>(v)).c_str());
    out << line;
  }
  if (!plan.offloaded.empty()) {
    double b = 0;
    for (int t : plan.offloaded) b += double(graph.tensors[t].bytes());
    out << "  offloaded to host: " << plan.offloaded.size() << " tensors, " << formatBytes(b) << "\n";
  }
  out << "  predicted step " << formatSeconds(plan.step_seconds) << " (compute " << formatSeconds(plan.compute_seconds)
      << ", communication " << formatSeconds(plan.comm_seconds) << ", offload " << formatSeconds(plan.offload_seconds) << ")";
  if (plan.devices > 1 && plan.step_seconds > 0)
    std::snprintf(line, sizeof line, "; 1 device %s (%.2fx; its memory not checked)", formatSeconds(plan.single_device_seconds).c_str(),
                  plan.single_device_seconds / plan.step_seconds),
        out << line;
  out << "\n  moved " << formatBytes(double(plan.bytes_moved)) << "; peak memory " << formatBytes(plan.peak_bytes_per_device)
      << " of " << formatBytes(plan.memory_per_device) << " per device" << (plan.fits ? "" : " (DOES NOT FIT)")
      << "; planned in " << formatSeconds(plan.planning_seconds) << "\n";
}

std::string planToJson(const Plan& plan, const Graph& graph) {
  using nlohmann::json;
  char hash[24];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(plan.graph_hash));
  json ops = json::array();
  for (const OpAssignment& a : plan.ops)
    ops.push_back({{"op", a.op},
                   {"kind", opKindName(graph.ops[a.op].kind)},
                   {"name", graph.ops[a.op].name},
                   {"strategy", a.strategy},
                   {"devices", a.ways},
                   {"compute_s", a.compute_seconds},
                   {"comm_s", a.comm_seconds}});
  json transfers = json::array();
  for (const Transfer& t : plan.transfers)
    transfers.push_back({{"tensor", t.tensor},
                         {"before_op", t.before_op},
                         {"collective", t.collective},
                         {"from", t.from.str()},
                         {"to", t.to.str()},
                         {"bytes", t.bytes},
                         {"seconds", t.seconds}});
  json j = {{"graph_hash", hash},
            {"devices", plan.devices},
            {"ops", ops},
            {"transfers", transfers},
            {"offloaded", plan.offloaded},
            {"predicted",
             {{"step_s", plan.step_seconds},
              {"compute_s", plan.compute_seconds},
              {"comm_s", plan.comm_seconds},
              {"offload_s", plan.offload_seconds},
              {"single_device_s", plan.single_device_seconds}}},
            {"bytes_moved", plan.bytes_moved},
            {"peak_bytes_per_device", plan.peak_bytes_per_device},
            {"memory_per_device", plan.memory_per_device},
            {"fits", plan.fits},
            {"planning_s", plan.planning_seconds}};
  return j.dump(1);
}

}  // namespace moai::planner
