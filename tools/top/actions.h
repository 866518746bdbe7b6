// What moai-top asks the scheduler to do: resize or cancel a job, drain a
// worker. Each call answers whether it happened and a line for the status
// bar; a scheduler that lacks the message says so instead of pretending.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "tools/top/cluster_source.h"

namespace moai::top {

struct ActionOutcome {
  bool done = false;
  std::string message;  // shown in the status line
};

class ClusterActions {
 public:
  virtual ~ClusterActions() = default;
  virtual ActionOutcome resize(uint64_t job, uint32_t devices) = 0;
  virtual ActionOutcome cancel(uint64_t job) = 0;
  virtual ActionOutcome drain(const std::string& worker) = 0;
};

// moai-sched's resize, cancel and drain (the same requests as the `moai`
// CLI), with the scheduler's own answer.
std::unique_ptr<ClusterActions> makeSchedulerActions(const SourceOptions& options);

}  // namespace moai::top
