#include "tools/top/cluster_source.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <zmq.hpp>

#include "transport/curve_keys.h"
#include "transport/curve_socket.h"

namespace moai::top {
namespace {

using Samples = std::vector<MetricSample>;

std::string label(const MetricSample& s, const char* key) {
  auto it = s.labels.find(key);
  return it == s.labels.end() ? std::string() : it->second;
}

std::optional<uint32_t> number(const std::string& text) {
  if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  return uint32_t(std::stoul(text));
}

std::optional<uint64_t> bigNumber(const std::string& text) {
  if (text.empty() || text.size() > 19 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  return std::stoull(text);
}

using DeviceKey = std::pair<std::string, uint32_t>;

// Device rows from the DCGM gauges; every device has an FB_TOTAL sample.
std::map<DeviceKey, DeviceRow> devicesFromMetrics(const Samples& metrics) {
  std::map<DeviceKey, DeviceRow> devices;
  auto find = [&](const MetricSample& s) -> DeviceRow* {
    auto index = number(label(s, "gpu"));
    if (!index) return nullptr;
    auto it = devices.find({label(s, "Hostname"), *index});
    return it == devices.end() ? nullptr : &it->second;
  };
  for (auto& s : metrics) {
    if (s.name != "DCGM_FI_DEV_FB_TOTAL") continue;
    auto index = number(label(s, "gpu"));
    if (!index) continue;
    DeviceRow d;
    d.worker = label(s, "Hostname");
    d.index = *index;
    d.uuid = label(s, "UUID");
    d.model = label(s, "modelName");
    // `device` is the kind followed by the index ("cpu0").
    d.kind = label(s, "device");
    std::string suffix = std::to_string(*index);
    if (d.kind.size() > suffix.size() && d.kind.ends_with(suffix)) d.kind.resize(d.kind.size() - suffix.size());
    d.memory_total = uint64_t(std::max(0.0, s.value));
    devices[{d.worker, d.index}] = std::move(d);
  }
  for (auto& s : metrics) {
    DeviceRow* d = find(s);
    if (!d) continue;
    if (s.name == "DCGM_FI_DEV_FB_USED") d->memory_used = uint64_t(std::max(0.0, s.value));
    if (s.name == "DCGM_FI_DEV_GPU_UTIL") d->utilization = std::clamp(s.value, 0.0, 100.0);
    if (s.name == "moai_device_job" && s.value >= 1) d->jobs.push_back(uint64_t(s.value));
  }
  return devices;
}

void addJob(DeviceRow& d, uint64_t job) {
  if (std::find(d.jobs.begin(), d.jobs.end(), job) == d.jobs.end()) d.jobs.push_back(job);
}

}  // namespace

Snapshot buildSnapshot(const wire::StatusMsg* status, const Samples* metrics) {
  Snapshot snap;
  snap.has_metrics = metrics != nullptr;
  std::map<DeviceKey, DeviceRow> devices;
  if (metrics) devices = devicesFromMetrics(*metrics);

  std::map<std::string, WorkerRow> workers;
  if (status) {
    for (auto& w : status->workers) {
      workers[w.worker_id] = WorkerRow{w.worker_id, w.alive, w.devices, w.leased, std::nullopt};
      // Without /metrics a status still tells how many devices each worker has.
      for (uint32_t i = 0; i < w.devices; ++i) {
        auto& d = devices[{w.worker_id, i}];
        d.worker = w.worker_id;
        d.index = i;
      }
    }
  } else if (metrics) {
    for (auto& s : *metrics)
      if (s.name == "moai_worker_up") workers[label(s, "Hostname")] = WorkerRow{label(s, "Hostname"), s.value == 1, 0, 0, {}};
    for (auto& [key, d] : devices) {
      auto& w = workers[key.first];
      w.id = key.first;
      ++w.devices;
      w.leased += !d.jobs.empty();
    }
  }
  if (metrics)
    for (auto& s : *metrics)
      if (s.name == "moai_worker_heartbeat_age_seconds")
        if (auto it = workers.find(label(s, "Hostname")); it != workers.end()) it->second.heartbeat_age = s.value;

  std::map<uint64_t, JobRow> jobs;
  if (status) {
    for (auto& lease : status->jobs) {
      JobRow& j = jobs[lease.job_id];
      j.id = lease.job_id;
      for (auto& d : lease.devices) {
        j.devices.push_back({d.worker_id, d.index});
        auto& row = devices[{d.worker_id, d.index}];
        row.worker = d.worker_id;
        row.index = d.index;
        addJob(row, lease.job_id);
      }
    }
    // The queue: waiting jobs with their reason, and every job's user and
    // queue time (the scheduler knows them without /metrics).
    double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    uint32_t queued = 0;
    for (auto& q : status->queue) {
      JobRow& j = jobs[q.job_id];
      j.id = q.job_id;
      j.user = q.user;
      if (!q.running) {
        ++queued;
        j.state = "queued #" + std::to_string(q.position);
        j.queue_seconds = std::max(0.0, now - q.submit_time);
      } else if (q.start_time > 0) {
        j.queue_seconds = std::max(0.0, q.start_time - q.submit_time);
      }
    }
    snap.jobs_queued = queued;
  } else if (metrics) {
    for (auto& s : *metrics)
      if (s.name == "moai_job_lease_devices")
        if (auto id = bigNumber(label(s, "job"))) jobs[*id].id = *id;
    for (auto& [key, d] : devices)
      for (uint64_t job : d.jobs)
        if (auto it = jobs.find(job); it != jobs.end()) it->second.devices.push_back({key.first, key.second});
  }
  if (metrics) {
    for (auto& s : *metrics) {
      auto id = bigNumber(label(s, "job"));
      if (!id || !s.name.starts_with("moai_job_")) continue;
      auto it = jobs.find(*id);
      if (it == jobs.end()) continue;  // ended between the two requests
      if (it->second.user.empty()) it->second.user = label(s, "user");
      if (s.name == "moai_job_lease_seconds") it->second.lease_seconds = s.value;
      if (s.name == "moai_job_busy_seconds") it->second.busy_seconds = s.value;
      if (s.name == "moai_job_queue_seconds") it->second.queue_seconds = s.value;
    }
  }
  // A device's memory is its jobs' together: a job's own only where it is alone.
  for (auto& [id, j] : jobs) {
    uint64_t sum = 0;
    bool known = !j.devices.empty();
    for (auto& jd : j.devices) {
      auto it = devices.find({jd.worker, jd.index});
      known = known && it != devices.end() && it->second.memory_used && it->second.jobs.size() == 1;
      if (known) sum += *it->second.memory_used;
    }
    if (known) j.memory_used = sum;
  }
  for (auto& [_, w] : workers) snap.workers.push_back(std::move(w));
  for (auto& [_, d] : devices) snap.devices.push_back(std::move(d));
  for (auto& [_, j] : jobs) snap.jobs.push_back(std::move(j));
  return snap;
}

namespace {

class SchedulerSource final : public ClusterSource {
 public:
  SchedulerSource(SourceOptions options, std::optional<CurveClient> curve)
      : options_(std::move(options)), curve_(std::move(curve)) {}

  Fetch fetch(const std::atomic<bool>& cancel) override {
    Fetch out;
    std::optional<wire::StatusMsg> status;
    if (!options_.scheduler.empty()) {
      auto r = askStatus(cancel);
      if (r)
        status = std::move(*r);
      else
        out.error = r.error().message;
    }
    std::optional<Samples> metrics;
    if (!options_.metrics_url.empty() && !cancel) {
      auto r = scrape();
      if (r)
        metrics = std::move(*r);
      else
        out.metrics_error = r.error().message;
    }
    out.snapshot = buildSnapshot(status ? &*status : nullptr, metrics ? &*metrics : nullptr);
    return out;
  }

 private:
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(int64_t(options_.timeout_seconds * 1000)); }

  Result<wire::StatusMsg> askStatus(const std::atomic<bool>& cancel) {
    try {
      if (!socket_) {
        socket_.emplace(context_, zmq::socket_type::dealer);
        socket_->set(zmq::sockopt::linger, 0);
        if (curve_) makeCurveClient(*socket_, curve_->own, curve_->server_public);
        socket_->connect(options_.scheduler);
      }
      for (zmq::message_t stale; socket_->recv(stale, zmq::recv_flags::dontwait);) {
      }
      auto request = wire::encodeToScheduler(wire::StatusRequestMsg{});
      if (!socket_->send(zmq::buffer(request), zmq::send_flags::dontwait)) return lost("cannot send to");
      auto until = std::chrono::steady_clock::now() + timeout();
      while (std::chrono::steady_clock::now() < until && !cancel) {
        zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) continue;
        zmq::message_t frame;
        if (!socket_->recv(frame, zmq::recv_flags::dontwait)) continue;
        auto msg = wire::decodeFromScheduler(frame.data(), frame.size());
        if (!msg) return makeError(MODNN_ERR_INVALID_VALUE, "bad reply from the scheduler: " + msg.error().message);
        if (auto* s = std::get_if<wire::StatusMsg>(&*msg)) return std::move(*s);
        if (auto* e = std::get_if<wire::ErrorMsg>(&*msg))
          return makeError(MODNN_ERR_INVALID_VALUE, "the scheduler answered an error: " + e->message);
      }
      return lost("no answer within " + std::to_string(timeout().count()) + " ms from");
    } catch (const zmq::error_t& e) {
      socket_.reset();
      return makeError(MODNN_ERR_INVALID_VALUE, std::string("scheduler endpoint ") + options_.scheduler + ": " + e.what());
    }
  }

  // A new socket next time: the old one may hold a half-dead connection.
  Error lost(const std::string& what) {
    socket_.reset();
    std::string hint = curve_ ? "" : " (if it requires CurveZMQ, set MOAI_SCHEDULER_KEY or --scheduler-key)";
    return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, what + " the scheduler at " + options_.scheduler + hint);
  }

  Result<Samples> scrape() {
    std::string base = options_.metrics_url;
    if (base.ends_with("/metrics")) base.resize(base.size() - 8);
    try {
      httplib::Client client(base);
      if (!client.is_valid()) return makeError(MODNN_ERR_INVALID_VALUE, "bad metrics URL " + options_.metrics_url);
      auto t = timeout();
      client.set_connection_timeout(t);
      client.set_read_timeout(t);
      client.set_write_timeout(t);
      auto res = client.Get("/metrics");
      if (!res) return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, base + "/metrics: " + httplib::to_string(res.error()));
      if (res->status != 200)
        return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, base + "/metrics: HTTP " + std::to_string(res->status));
      return parsePrometheusText(res->body);
    } catch (const std::exception& e) {
      return makeError(MODNN_ERR_INVALID_VALUE, base + "/metrics: " + e.what());
    }
  }

  SourceOptions options_;
  std::optional<CurveClient> curve_;
  zmq::context_t context_;
  std::optional<zmq::socket_t> socket_;
};

}  // namespace

Result<std::unique_ptr<ClusterSource>> makeSchedulerSource(const SourceOptions& options) {
  std::optional<CurveClient> curve;
  if (!options.scheduler_key_file.empty()) {
    auto server = readCurvePublicKeyFile(options.scheduler_key_file);
    if (!server) return server.error();
    auto own = options.key_file.empty() ? generateCurveKeyPair() : readCurveSecretKeyFile(options.key_file);
    if (!own) return own.error();
    curve = CurveClient{*own, *server};
  }
  return std::unique_ptr<ClusterSource>(std::make_unique<SchedulerSource>(options, std::move(curve)));
}

}  // namespace moai::top
