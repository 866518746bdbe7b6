#include "tools/top/actions.h"

namespace moai::top {
namespace {

// scheduler.capnp's ToScheduler has register, heartbeat, requestLease,
// keepalive, release and status only. When resize/cancel/drain messages
// exist, send them here over the same DEALER as cluster_source.cpp.
class SchedulerActions final : public ClusterActions {
 public:
  ActionOutcome resize(uint64_t job, uint32_t devices) override {
    return {false, "resize job " + std::to_string(job) + " to " + std::to_string(devices) +
                       ": not supported by this scheduler (its protocol has no resize message)"};
  }
  ActionOutcome cancel(uint64_t job) override {
    return {false, "cancel job " + std::to_string(job) + ": not supported by this scheduler (no cancel message)"};
  }
  ActionOutcome drain(const std::string& worker) override {
    return {false, "drain " + worker + ": not supported by this scheduler (no drain message)"};
  }
};

}  // namespace

std::unique_ptr<ClusterActions> makeSchedulerActions(const SourceOptions&) { return std::make_unique<SchedulerActions>(); }

}  // namespace moai::top
