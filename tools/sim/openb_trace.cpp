#include "openb_trace.h"

#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>

namespace moai::sim {
namespace {

using sched::coloc::kWholeGpu;

std::vector<std::string> splitOn(std::string_view line, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = line.find(sep, start);
    out.emplace_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// A CSV file whose first line names the columns; the trace has no quoting.
class Csv {
 public:
  bool open(const std::string& path, std::string& error) {
    path_ = path;
    in_.open(path);
    std::string header;
    if (!in_ || !std::getline(in_, header)) {
      error = path + ": cannot read";
      return false;
    }
    if (!header.empty() && header.back() == '\r') header.pop_back();
    auto names = splitOn(header, ',');
    for (size_t i = 0; i < names.size(); ++i) columns_[names[i]] = i;
    return true;
  }
  std::optional<size_t> column(const std::string& name) const {
    auto it = columns_.find(name);
    return it == columns_.end() ? std::nullopt : std::optional<size_t>(it->second);
  }
  bool next(std::vector<std::string>& fields) {
    std::string line;
    while (std::getline(in_, line)) {
      ++lineNo_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      fields = splitOn(line, ',');
      return true;
    }
    return false;
  }
  std::string where() const { return path_ + ":" + std::to_string(lineNo_ + 1); }

 private:
  std::string path_;
  std::ifstream in_;
  std::map<std::string, size_t> columns_;
  size_t lineNo_ = 0;
};

template <class T>
bool parseField(const std::vector<std::string>& fields, size_t col, T& out) {
  if (col >= fields.size()) return false;
  const std::string& s = fields[col];
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::optional<std::vector<sched::coloc::Node>> readOpenbNodes(const std::string& path, std::string& error) {
  Csv csv;
  if (!csv.open(path, error)) return std::nullopt;
  auto cpu = csv.column("cpu_milli"), mem = csv.column("memory_mib"), gpu = csv.column("gpu"),
       model = csv.column("model");
  if (!cpu || !mem || !gpu || !model) {
    error = path + ": needs columns cpu_milli, memory_mib, gpu, model";
    return std::nullopt;
  }
  std::vector<sched::coloc::Node> nodes;
  std::vector<std::string> f;
  while (csv.next(f)) {
    sched::coloc::Node n;
    uint32_t gpus = 0;
    if (!parseField(f, *cpu, n.cpuMilli) || !parseField(f, *mem, n.memoryFreeMib) || !parseField(f, *gpu, gpus) ||
        *model >= f.size() || gpus > 1024) {
      error = csv.where() + ": bad node line";
      return std::nullopt;
    }
    n.cpuFreeMilli = n.cpuMilli;
    n.gpuFreeMilli.assign(gpus, kWholeGpu);
    n.model = f[*model];
    nodes.push_back(std::move(n));
  }
  return nodes;
}

std::optional<std::vector<TraceTask>> readOpenbTasks(const std::string& path, std::string& error) {
  Csv csv;
  if (!csv.open(path, error)) return std::nullopt;
  auto name = csv.column("name"), cpu = csv.column("cpu_milli"), mem = csv.column("memory_mib"),
       count = csv.column("num_gpu"), milli = csv.column("gpu_milli");
  auto spec = csv.column("gpu_spec"), created = csv.column("creation_time"), deleted = csv.column("deletion_time");
  if (!name || !cpu || !mem || !count || !milli) {
    error = path + ": needs columns name, cpu_milli, memory_mib, num_gpu, gpu_milli";
    return std::nullopt;
  }
  std::vector<TraceTask> tasks;
  std::vector<std::string> f;
  while (csv.next(f)) {
    TraceTask t;
    sched::coloc::Task& k = t.task;
    bool ok = *name < f.size() && parseField(f, *cpu, k.cpuMilli) && parseField(f, *mem, k.memoryMib) &&
              parseField(f, *count, k.gpuCount) && parseField(f, *milli, k.gpuMilli);
    // A task asks for a share of one GPU or for whole GPUs; multi-GPU rows
    // carry gpu_milli 1000.
    ok = ok && k.gpuMilli <= kWholeGpu && k.gpuCount <= 1024 && (k.gpuCount <= 1 || k.gpuMilli == kWholeGpu);
    if (created && *created < f.size() && !f[*created].empty()) ok = ok && parseField(f, *created, t.creation);
    if (deleted && *deleted < f.size() && !f[*deleted].empty()) ok = ok && parseField(f, *deleted, t.deletion);
    if (!ok) {
      error = csv.where() + ": bad task line";
      return std::nullopt;
    }
    if (k.gpuCount == 0) k.gpuMilli = 0;
    if (k.gpuMilli == 0) k.gpuCount = 0;
    t.name = f[*name];
    if (spec && *spec < f.size() && !f[*spec].empty()) k.models = splitOn(f[*spec], '|');
    tasks.push_back(std::move(t));
  }
  return tasks;
}

}  // namespace moai::sim
