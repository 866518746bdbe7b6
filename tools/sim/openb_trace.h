// Reader of Alibaba's openb GPU-cluster trace (cluster-trace-gpu-v2023), the
// CSV files in ../shared/traces/: a node list and a task ("pod") list.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/colocation.h"

namespace moai::sim {

struct TraceTask {
  std::string name;
  sched::coloc::Task task;
  int64_t creation = 0;  // seconds; 0 when the file has no times
  int64_t deletion = 0;
};

// openb_node_list_*.csv: sn, cpu_milli, memory_mib, gpu, model. Each node
// starts idle. Returns nullopt and sets `error` on a bad file.
std::optional<std::vector<sched::coloc::Node>> readOpenbNodes(const std::string& path, std::string& error);

// openb_pod_list_*.csv: name, cpu_milli, memory_mib, num_gpu, gpu_milli and,
// where present, gpu_spec ('|'-separated models), creation_time,
// deletion_time. Columns are found by header name.
std::optional<std::vector<TraceTask>> readOpenbTasks(const std::string& path, std::string& error);

}  // namespace moai::sim
