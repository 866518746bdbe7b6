// Where moai-top's picture of the cluster comes from: moai-sched's `status`
// reply (workers, leases) joined with its /metrics text (device kinds,
// UUIDs, memory, utilisation, users, lease and busy seconds).
//
// ClusterSource is the seam for new data: a scheduler that grows a queue or
// job states fills the matching Snapshot fields in buildSnapshot and in
// SchedulerSource; the views already print them when present.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "interpose/core/result.h"
#include "schemas/scheduler_messages.h"
#include "tools/top/prometheus_text.h"
#include "tools/top/snapshot.h"

namespace moai::top {

struct SourceOptions {
  std::string scheduler;           // ZeroMQ endpoint of moai-sched; "" = /metrics only
  std::string metrics_url;         // "http://HOST:PORT" of its /metrics; "" = status only
  std::string scheduler_key_file;  // the scheduler's public key: Curve; "" = plain tcp
  std::string key_file;            // our secret key file; "" = a pair made for this process
  double timeout_seconds = 2;      // per request
};

struct Fetch {
  Snapshot snapshot;
  std::string error;          // the scheduler did not answer (snapshot then holds what /metrics gave)
  std::string metrics_error;  // /metrics did not answer or parse
};

class ClusterSource {
 public:
  virtual ~ClusterSource() = default;
  // Blocks at most about twice the timeout, less once `cancel` is set
  // (the caller is quitting); never throws.
  virtual Fetch fetch(const std::atomic<bool>& cancel) = 0;
};

// Fails only on unreadable key files.
Result<std::unique_ptr<ClusterSource>> makeSchedulerSource(const SourceOptions& options);

// Joins a status reply and /metrics samples (either may be null).
Snapshot buildSnapshot(const wire::StatusMsg* status, const std::vector<MetricSample>* metrics);

}  // namespace moai::top
