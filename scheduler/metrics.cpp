#include "metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace moai::sched {
namespace {


// Label values: backslash, double quote and newline escaped (the format's rule).
std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class Exposition {
 public:
  // Every family gets its HELP and TYPE once, before its samples.
  void family(const char* name, const char* type, const char* help) {
    text_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const char* name, const std::string& labels, double value) {
    text_ += name;
    if (!labels.empty()) text_ += "{" + labels + "}";
    text_ += " " + number(value) + "\n";
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string label(const char* name, const std::string& value) { return std::string(name) + "=\"" + escape(value) + "\""; }

std::string deviceLabels(const DeviceSample& d) {
  return label("gpu", std::to_string(d.index)) + "," + label("UUID", deviceUuid(d.props.uuid)) + "," +
         label("device", std::string(d.props.kind) + std::to_string(d.index)) + "," + label("modelName", d.props.name) +
         "," + label("Hostname", d.worker_id);
}

}  // namespace

std::string deviceUuid(const uint8_t (&uuid)[16]) {
  char out[64];
  std::snprintf(out, sizeof out, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0],
                uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9], uuid[10], uuid[11],
                uuid[12], uuid[13], uuid[14], uuid[15]);
  return out;
}

std::string renderMetrics(const MetricsSnapshot& s) {
  Exposition out;

  // DCGM's framebuffer gauges are in MiB. Only reported memory is shown:
  // a missing sample is honest, a guessed one is not.
  out.family("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).");
  for (auto& d : s.devices)
    if (d.memory_used) out.sample("DCGM_FI_DEV_FB_USED", deviceLabels(d), double(*d.memory_used / (1u << 20)));
  out.family("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).");
  for (auto& d : s.devices)
    if (d.memory_used) {
      uint64_t used = std::min(*d.memory_used, d.props.total_memory);
      out.sample("DCGM_FI_DEV_FB_FREE", deviceLabels(d), double((d.props.total_memory - used) / (1u << 20)));
    }
  out.family("DCGM_FI_DEV_FB_TOTAL", "gauge", "Framebuffer memory total (in MiB).");
  for (auto& d : s.devices) out.sample("DCGM_FI_DEV_FB_TOTAL", deviceLabels(d), double(d.props.total_memory / (1u << 20)));
  // Busy = running a job's commands and requests, between two heartbeats.
  out.family("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).");
  for (auto& d : s.devices)
    if (d.utilization) out.sample("DCGM_FI_DEV_GPU_UTIL", deviceLabels(d), std::round(*d.utilization));

  out.family("moai_device_leased", "gauge", "1 when a lease holds the device, else 0.");
  for (auto& d : s.devices) out.sample("moai_device_leased", deviceLabels(d), d.job_id != 0);
  out.family("moai_device_job", "gauge", "Id of the job leasing the device, 0 when free.");
  for (auto& d : s.devices) out.sample("moai_device_job", deviceLabels(d), double(d.job_id));

  size_t alive = 0;
  for (auto& w : s.workers) alive += w.alive;
  out.family("moai_workers", "gauge", "Workers the scheduler knows, alive or recently dead.");
  out.sample("moai_workers", "", double(s.workers.size()));
  out.family("moai_workers_alive", "gauge", "Workers heartbeating within the timeout.");
  out.sample("moai_workers_alive", "", double(alive));
  out.family("moai_worker_up", "gauge", "1 while the worker heartbeats, 0 once declared dead.");
  for (auto& w : s.workers) out.sample("moai_worker_up", label("Hostname", w.worker_id), w.alive);
  out.family("moai_worker_heartbeat_age_seconds", "gauge", "Seconds since the worker's last heartbeat.");
  for (auto& w : s.workers)
    out.sample("moai_worker_heartbeat_age_seconds", label("Hostname", w.worker_id), w.seconds_since_heartbeat);

  size_t leased = 0, usable = 0;
  std::set<std::string> alive_ids;
  for (auto& w : s.workers)
    if (w.alive) alive_ids.insert(w.worker_id);
  for (auto& d : s.devices) {
    leased += d.job_id != 0;
    usable += alive_ids.count(d.worker_id);
  }
  out.family("moai_devices", "gauge", "Devices on alive workers.");
  out.sample("moai_devices", "", double(usable));
  out.family("moai_devices_leased", "gauge", "Devices held by leases.");
  out.sample("moai_devices_leased", "", double(leased));
  out.family("moai_jobs", "gauge", "Jobs holding a lease.");
  out.sample("moai_jobs", "", double(s.jobs.size()));

  auto jobLabels = [](const JobSample& j) { return label("job", std::to_string(j.job_id)) + "," + label("user", j.user); };
  out.family("moai_job_lease_devices", "gauge", "Devices in the job's lease.");
  for (auto& j : s.jobs) out.sample("moai_job_lease_devices", jobLabels(j), j.devices);
  out.family("moai_job_lease_workers", "gauge", "Workers the job's lease spans.");
  for (auto& j : s.jobs) out.sample("moai_job_lease_workers", jobLabels(j), j.workers);
  out.family("moai_job_queue_seconds", "gauge",
             "Seconds the job waited in the scheduler's queue before its lease.");
  for (auto& j : s.jobs) out.sample("moai_job_queue_seconds", jobLabels(j), j.queue_seconds);
  out.family("moai_job_lease_seconds", "gauge", "Seconds since the job's lease was granted.");
  for (auto& j : s.jobs) out.sample("moai_job_lease_seconds", jobLabels(j), j.lease_seconds);
  out.family("moai_job_busy_seconds", "counter",
             "Device-seconds the job's work ran on its devices, as the workers meter it.");
  for (auto& j : s.jobs) out.sample("moai_job_busy_seconds", jobLabels(j), j.busy_seconds);

  out.family("moai_refused_peers_total", "counter", "Connections refused because their Curve key is not allowed.");
  out.sample("moai_refused_peers_total", "", double(s.refused_peers));
  return out.take();
}

}  // namespace moai::sched
