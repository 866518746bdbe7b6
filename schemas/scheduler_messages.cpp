#include "scheduler_messages.h"

#include "decode_checks.h"

#include <kj/exception.h>

#include <algorithm>
#include <optional>
#include <string_view>

namespace moai::wire {
namespace {

using detail::guarded;
using detail::Invalid;
using detail::require;



// Runs a decoder; capnp readers throw lazily on malformed pointers.

// Names, kinds, endpoints and tokens: printable ASCII without spaces.
bool isWord(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

// Free text (user names, error messages): anything but control characters,
// so it is safe to log; error messages may span lines.
bool isText(std::string_view s, bool multiline) {
  return std::all_of(s.begin(), s.end(), [&](unsigned char c) {
    return (c >= 0x20 && c != 0x7f) || (multiline && (c == '\n' || c == '\t'));
  });
}

std::string word(capnp::Text::Reader t, size_t max, bool mayBeEmpty, const char* what) {
  std::string_view s(t.cStr(), t.size());
  require(s.size() <= max && (mayBeEmpty || !s.empty()) && isWord(s), what);
  return std::string(s);
}

std::string id(capnp::Text::Reader t, const char* what) { return word(t, kMaxIdBytes, false, what); }

std::string freeText(capnp::Text::Reader t, size_t max, bool multiline, const char* what) {
  std::string_view s(t.cStr(), t.size());
  require(s.size() <= max && isText(s, multiline), what);
  return std::string(s);
}

std::vector<std::string> endpoints(capnp::List<capnp::Text>::Reader list) {
  require(list.size() >= 1 && list.size() <= kMaxEndpoints, "a worker needs 1 to 16 endpoints");
  std::vector<std::string> out;
  for (auto t : list) {
    std::string e = word(t, kMaxEndpointBytes, false, "endpoint too long or not printable");
    require((e.starts_with("tcp://") || e.starts_with("ipc://")) && e.size() > 6,
            "endpoint must start with tcp:// or ipc://");
    out.push_back(std::move(e));
  }
  return out;
}

// "" or a Z85 key that decodes (each group of five digits below 2^32), so
// handing it to libzmq cannot fail.
std::string curveKey(capnp::Text::Reader t) {
  static constexpr std::string_view kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  std::string_view s(t.cStr(), t.size());
  require(s.empty() || s.size() == kCurveKeyChars, "a Curve key is 40 Z85 characters");
  for (size_t group = 0; group < s.size(); group += 5) {
    uint64_t value = 0;
    for (size_t i = group; i < group + 5; ++i) {
      size_t digit = kZ85.find(s[i]);
      require(digit != std::string_view::npos, "a Curve key is 40 Z85 characters");
      value = value * 85 + digit;
    }
    require(value <= UINT32_MAX, "a Curve key is 40 Z85 characters");
  }
  return std::string(s);
}

uint64_t jobId(uint64_t v) {
  require(v != 0, "job id 0");
  return v;
}

std::string token(capnp::Text::Reader t, bool mayBeEmpty) {
  std::string_view s(t.cStr(), t.size());
  bool hex = std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  require((mayBeEmpty && s.empty()) || (s.size() == kTokenHexDigits && hex), "token must be 64 lower-case hex digits");
  return std::string(s);
}

LeaseEntry leaseFromWire(schema::Lease::Reader l, bool tokenMayBeEmpty) {
  LeaseEntry out;
  out.job_id = jobId(l.getJobId());
  out.token = token(l.getToken(), tokenMayBeEmpty);
  require(l.getDevices().size() >= 1 && l.getDevices().size() <= kMaxLeaseDevices, "a lease holds 1 to 1024 devices");
  for (auto d : l.getDevices()) {
    require(d.getIndex() < kMaxDevicesPerWorker, "leased device index out of range");
    out.devices.push_back(
        {id(d.getWorkerId(), "invalid worker id"), endpoints(d.getEndpoints()), d.getIndex(), curveKey(d.getCurveKey())});
  }
  out.memory_quota = l.getMemoryQuota();
  out.share_weight = std::max<uint32_t>(1, l.getShareWeight());
  return out;
}

std::string kind(capnp::Text::Reader t) {
  std::string k = word(t, kMaxIdBytes, true, "invalid device kind");
  auto alternatives = kindAlternatives(k);
  require(alternatives.size() <= kMaxKindAlternatives, "too many device kinds");
  for (auto& a : alternatives)
    require(!a.empty() && a.size() < sizeof(modnn_device_props::kind), "invalid device kind in an alternation");
  return k;
}

LeaseRequestMsg leaseRequestFromWire(schema::LeaseRequest::Reader r) {
  require(r.getDevices() >= 1 && r.getDevices() <= kMaxLeaseDevices, "a lease asks for 1 to 1024 devices");
  require(r.getPlacement() <= schema::Placement::SPREAD, "unknown placement");
  LeaseRequestMsg out{r.getDevices(), kind(r.getKind()), freeText(r.getUser(), kMaxIdBytes, false, "invalid user name"),
                      r.getPlacement()};
  out.min_memory_per_device = r.getMinMemoryPerDevice();
  out.shareable = r.getShareable();
  out.priority = r.getPriority();
  out.time_limit_s = r.getTimeLimitSeconds();
  out.predicted_memory = r.getPredictedMemory();
  out.share_weight = std::max<uint32_t>(1, r.getShareWeight());
  return out;
}

void leaseRequestToWire(const LeaseRequestMsg& v, schema::LeaseRequest::Builder r) {
  r.setDevices(v.devices);
  r.setKind(v.kind);
  r.setUser(v.user);
  r.setPlacement(v.placement);
  r.setMinMemoryPerDevice(v.min_memory_per_device);
  r.setShareable(v.shareable);
  r.setPriority(v.priority);
  r.setTimeLimitSeconds(v.time_limit_s);
  r.setPredictedMemory(v.predicted_memory);
  r.setShareWeight(v.share_weight);
}

// Unix seconds: finite and not negative.
double when(double t) {
  require(t >= 0 && t < 1e12, "time out of range");
  return t;
}

// Device-seconds and money: finite, not negative (NaN fails both tests).
double amount(double v) {
  require(v >= 0 && v < 1e15, "usage amount out of range");
  return v;
}

ToSchedulerMsg toSchedulerFromWire(schema::ToScheduler::Reader m) {
  switch (m.which()) {
    case schema::ToScheduler::REGISTER: {
      auto r = m.getRegister();
      RegisterMsg out{id(r.getWorkerId(), "invalid worker id"), endpoints(r.getEndpoints()), {}, curveKey(r.getCurveKey())};
      require(r.getDevices().size() >= 1 && r.getDevices().size() <= kMaxDevicesPerWorker,
              "a worker registers 1 to kMaxDevicesPerWorker devices");
      for (auto d : r.getDevices()) {
        auto p = propsFromWire(d);
        require(p.ok() && isWord(p->kind) && p->kind[0] != 0 && isText(p->name, false), "invalid device properties");
        out.devices.push_back(*p);
      }
      return out;
    }
    case schema::ToScheduler::HEARTBEAT: {
      auto h = m.getHeartbeat();
      require(h.getMemoryUsed().size() <= kMaxDevicesPerWorker && h.getBusySeconds().size() <= kMaxDevicesPerWorker,
              "too many devices in a heartbeat");
      require(h.getUptimeSeconds() >= 0 && h.getUptimeSeconds() < 1e12, "uptime out of range");
      HeartbeatMsg out{id(h.getWorkerId(), "invalid worker id"), {}, {}, h.getUptimeSeconds()};
      for (uint64_t used : h.getMemoryUsed()) out.memory_used.push_back(used);
      for (double busy : h.getBusySeconds()) {
        require(busy >= 0 && busy < 1e12, "busy seconds out of range");  // also refuses NaN
        out.busy_seconds.push_back(busy);
      }
      require(h.getJobBusy().size() <= kMaxJobsPerHeartbeat, "too many jobs in a heartbeat");
      for (auto j : h.getJobBusy()) {
        require(j.getJobId() != 0, "job id 0");
        require(j.getSeconds() >= 0 && j.getSeconds() < 1e12, "job busy seconds out of range");
        out.job_busy.emplace_back(j.getJobId(), j.getSeconds());
      }
      return out;
    }
    case schema::ToScheduler::REQUEST_LEASE: return leaseRequestFromWire(m.getRequestLease());
    case schema::ToScheduler::KEEPALIVE: return KeepaliveMsg{jobId(m.getKeepalive())};
    case schema::ToScheduler::RELEASE: return ReleaseMsg{jobId(m.getRelease())};
    case schema::ToScheduler::STATUS: return StatusRequestMsg{};
    case schema::ToScheduler::CANCEL: return CancelMsg{jobId(m.getCancel())};
    case schema::ToScheduler::DRAIN: return DrainMsg{id(m.getDrain(), "invalid worker id"), true};
    case schema::ToScheduler::UNDRAIN: return DrainMsg{id(m.getUndrain(), "invalid worker id"), false};
    case schema::ToScheduler::RESIZE: {
      auto r = m.getResize();
      require(r.getDevices() >= 1 && r.getDevices() <= kMaxLeaseDevices, "a lease holds 1 to 1024 devices");
      return ResizeMsg{jobId(r.getJobId()), r.getDevices()};
    }
    case schema::ToScheduler::RESIZED: return ResizedMsg{jobId(m.getResized())};
    case schema::ToScheduler::USAGE: return UsageRequestMsg{};
    case schema::ToScheduler::MEMORY_REPORT: {
      auto r = m.getMemoryReport();
      return MemoryReportMsg{jobId(r.getJobId()), r.getPredictedPeak(), r.getPeakAllocated()};
    }
  }
  throw Invalid{"unknown message to the scheduler"};
}

FromSchedulerMsg fromSchedulerFromWire(schema::FromScheduler::Reader m) {
  switch (m.which()) {
    case schema::FromScheduler::REGISTERED: return RegisteredMsg{};
    case schema::FromScheduler::LEASE: return LeaseMsg{leaseFromWire(m.getLease(), false)};
    case schema::FromScheduler::GRANT: return GrantMsg{leaseFromWire(m.getGrant(), false)};
    case schema::FromScheduler::REVOKE: return RevokeMsg{jobId(m.getRevoke())};
    case schema::FromScheduler::ERROR: {
      auto e = m.getError();
      require(e.getCode() > MODNN_OK && e.getCode() <= MODNN_ERR_UNKNOWN, "unknown error code");
      return ErrorMsg{e.getCode(), freeText(e.getMessage(), kMaxNameBytes, true, "invalid error text")};
    }
    case schema::FromScheduler::STATUS: {
      auto s = m.getStatus();
      require(s.getWorkers().size() <= kMaxStatusWorkers && s.getJobs().size() <= kMaxStatusJobs, "status too large");
      require(s.getQueue().size() <= kMaxStatusJobs, "status too large");
      StatusMsg out;
      for (auto w : s.getWorkers()) {
        require(w.getDevices() <= kMaxDevicesPerWorker && w.getLeased() <= w.getDevices(), "worker device counts out of range");
        WorkerStatusEntry entry{id(w.getWorkerId(), "invalid worker id"), w.getAlive(), w.getDevices(), w.getLeased(),
                                w.getDraining(), {}};
        require(w.getDeviceList().size() <= w.getDevices(), "more devices listed than the worker has");
        for (auto d : w.getDeviceList()) {
          require(d.getIndex() < kMaxDevicesPerWorker && d.getUuid().size() == 16, "invalid device in a status");
          DeviceStatusEntry dev{d.getIndex(), {}, word(d.getKind(), sizeof(modnn_device_props::kind) - 1, false, "invalid device kind"),
                                freeText(d.getName(), sizeof(modnn_device_props::name) - 1, false, "invalid device name"),
                                d.getTotalMemory(), d.getJobId()};
          std::copy(d.getUuid().begin(), d.getUuid().end(), dev.uuid.begin());
          require(d.getSharers().size() <= kMaxJobsPerDevice, "too many jobs on a device");
          for (uint64_t j : d.getSharers()) dev.sharers.push_back(jobId(j));
          dev.reserved_memory = d.getReservedMemory();
          entry.device_list.push_back(std::move(dev));
        }
        out.workers.push_back(std::move(entry));
      }
      for (auto j : s.getJobs()) out.jobs.push_back(leaseFromWire(j, true));
      for (auto j : s.getQueue()) {
        require(j.getState() <= schema::JobState::RUNNING && j.getDevices() <= kMaxLeaseDevices, "invalid job status");
        JobStatusEntry e{jobId(j.getJobId()), freeText(j.getUser(), kMaxIdBytes, false, "invalid user name"),
                         j.getState() == schema::JobState::RUNNING, leaseRequestFromWire(j.getRequest()),
                         when(j.getSubmitTime()), when(j.getStartTime()), j.getPosition(),
                         freeText(j.getReason(), kMaxReasonBytes, false, "invalid reason"), j.getDevices(),
                         j.getResizePending()};
        e.memory_quota = j.getMemoryQuota();
        e.peak_allocated = j.getPeakAllocated();
        out.queue.push_back(std::move(e));
      }
      return out;
    }
    case schema::FromScheduler::RELEASED: return ReleasedMsg{jobId(m.getReleased())};
    case schema::FromScheduler::QUEUED: {
      auto q = m.getQueued();
      return QueuedMsg{jobId(q.getJobId()), q.getPosition(), freeText(q.getReason(), kMaxReasonBytes, false, "invalid reason")};
    }
    case schema::FromScheduler::LEASE_CHANGED: return LeaseChangedMsg{leaseFromWire(m.getLeaseChanged(), false)};
    case schema::FromScheduler::DROP_DEVICES: {
      auto d = m.getDropDevices();
      require(d.getIndices().size() >= 1 && d.getIndices().size() <= kMaxDevicesPerWorker, "drop 1 to 64 devices");
      DropDevicesMsg out{jobId(d.getJobId()), {}};
      for (uint32_t i : d.getIndices()) {
        require(i < kMaxDevicesPerWorker, "device index out of range");
        out.indices.push_back(i);
      }
      return out;
    }
    case schema::FromScheduler::QUOTA: {
      auto q = m.getQuota();
      require(q.getBytes() != 0, "a quota of 0 bytes");
      return QuotaMsg{jobId(q.getJobId()), q.getBytes()};
    }
    case schema::FromScheduler::OK: return OkMsg{freeText(m.getOk(), kMaxReasonBytes, true, "invalid reply text")};
    case schema::FromScheduler::USAGE: {
      auto records = m.getUsage().getRecords();
      require(records.size() <= kMaxUsageRecords, "too many usage records");
      UsageMsg out;
      for (auto r : records) {
        require(r.getDevices() <= kMaxLeaseDevices && r.getLeasedDeviceSeconds() >= 0 && r.getLeasedDeviceSeconds() < 1e15 &&
                    r.getBusySeconds() < 1e15, "usage out of range");
        out.records.push_back({jobId(r.getJobId()), freeText(r.getUser(), kMaxIdBytes, false, "invalid user name"),
                               r.getDevices(), when(r.getSubmitTime()), when(r.getStartTime()), when(r.getEndTime()),
                               r.getLeasedDeviceSeconds(), r.getBusySeconds() < 0 ? -1.0 : r.getBusySeconds(),
                               freeText(r.getEndReason(), kMaxReasonBytes, false, "invalid end reason"),
                               amount(r.getCost())});
      }
      auto minutes = m.getUsage().getMinutes();
      require(minutes.size() <= kMaxUsageMinutes, "too many usage minutes");
      for (auto r : minutes) {
        require(r.getMinuteStart() >= 0 && r.getMinuteStart() < int64_t(1e12) && r.getMinuteStart() % 60 == 0,
                "usage minute out of range");
        out.minutes.push_back({jobId(r.getJobId()), r.getMinuteStart(), word(r.getKind(), kMaxIdBytes, true, "invalid device kind"),
                               amount(r.getLeasedDeviceSeconds()), amount(r.getBusySeconds()), amount(r.getCost())});
      }
      return out;
    }
  }
  throw Invalid{"unknown message from the scheduler"};
}

void endpointsToWire(const std::vector<std::string>& in, capnp::List<capnp::Text>::Builder out) {
  for (unsigned i = 0; i < in.size(); ++i) out.set(i, in[i]);
}

void leaseToWire(const LeaseEntry& l, schema::Lease::Builder out) {
  out.setJobId(l.job_id);
  out.setToken(l.token);
  auto devices = out.initDevices(unsigned(l.devices.size()));
  for (unsigned i = 0; i < l.devices.size(); ++i) {
    devices[i].setWorkerId(l.devices[i].worker_id);
    endpointsToWire(l.devices[i].endpoints, devices[i].initEndpoints(unsigned(l.devices[i].endpoints.size())));
    devices[i].setIndex(l.devices[i].index);
    devices[i].setCurveKey(l.devices[i].curve_key);
  }
  out.setMemoryQuota(l.memory_quota);
  out.setShareWeight(l.share_weight);
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

std::vector<std::string> kindAlternatives(const std::string& kind) {
  std::vector<std::string> out;
  if (kind.empty()) return out;
  size_t start = 0;
  for (size_t bar; (bar = kind.find('|', start)) != std::string::npos; start = bar + 1)
    out.push_back(kind.substr(start, bar - start));
  out.push_back(kind.substr(start));
  return out;
}

Result<ToSchedulerMsg> decodeToScheduler(const void* data, size_t size) {
  auto frame = readMessage(data, size);
  if (!frame) return frame.error();
  return guarded([&] { return toSchedulerFromWire((*frame)->root<schema::ToScheduler>()); });
}

Result<FromSchedulerMsg> decodeFromScheduler(const void* data, size_t size) {
  auto frame = readMessage(data, size);
  if (!frame) return frame.error();
  return guarded([&] { return fromSchedulerFromWire((*frame)->root<schema::FromScheduler>()); });
}

std::vector<uint8_t> encodeToScheduler(const ToSchedulerMsg& m) {
  capnp::MallocMessageBuilder b;
  auto root = b.initRoot<schema::ToScheduler>();
  std::visit(Overloaded{
                 [&](const RegisterMsg& v) {
                   auto r = root.initRegister();
                   r.setWorkerId(v.worker_id);
                   endpointsToWire(v.endpoints, r.initEndpoints(unsigned(v.endpoints.size())));
                   auto devices = r.initDevices(unsigned(v.devices.size()));
                   for (unsigned i = 0; i < v.devices.size(); ++i) propsToWire(v.devices[i], devices[i]);
                   r.setCurveKey(v.curve_key);
                 },
                 [&](const HeartbeatMsg& v) {
                   auto h = root.initHeartbeat();
                   h.setWorkerId(v.worker_id);
                   auto used = h.initMemoryUsed(unsigned(v.memory_used.size()));
                   for (unsigned i = 0; i < v.memory_used.size(); ++i) used.set(i, v.memory_used[i]);
                   auto busy = h.initBusySeconds(unsigned(v.busy_seconds.size()));
                   for (unsigned i = 0; i < v.busy_seconds.size(); ++i) busy.set(i, v.busy_seconds[i]);
                   h.setUptimeSeconds(v.uptime_seconds);
                   auto jobs = h.initJobBusy(unsigned(v.job_busy.size()));
                   for (unsigned i = 0; i < v.job_busy.size(); ++i) {
                     jobs[i].setJobId(v.job_busy[i].first);
                     jobs[i].setSeconds(v.job_busy[i].second);
                   }
                 },
                 [&](const LeaseRequestMsg& v) { leaseRequestToWire(v, root.initRequestLease()); },
                 [&](const KeepaliveMsg& v) { root.setKeepalive(v.job_id); },
                 [&](const ReleaseMsg& v) { root.setRelease(v.job_id); },
                 [&](const StatusRequestMsg&) { root.setStatus(); },
                 [&](const CancelMsg& v) { root.setCancel(v.job_id); },
                 [&](const DrainMsg& v) { v.drain ? root.setDrain(v.worker_id) : root.setUndrain(v.worker_id); },
                 [&](const ResizeMsg& v) {
                   auto r = root.initResize();
                   r.setJobId(v.job_id);
                   r.setDevices(v.devices);
                 },
                 [&](const ResizedMsg& v) { root.setResized(v.job_id); },
                 [&](const UsageRequestMsg&) { root.setUsage(); },
                 [&](const MemoryReportMsg& v) {
                   auto r = root.initMemoryReport();
                   r.setJobId(v.job_id);
                   r.setPredictedPeak(v.predicted_peak);
                   r.setPeakAllocated(v.peak_allocated);
                 },
             },
             m);
  return writeMessage(b);
}

std::vector<uint8_t> encodeFromScheduler(const FromSchedulerMsg& m) {
  capnp::MallocMessageBuilder b;
  auto root = b.initRoot<schema::FromScheduler>();
  std::visit(Overloaded{
                 [&](const RegisteredMsg&) { root.setRegistered(); },
                 [&](const LeaseMsg& v) { leaseToWire(v.lease, root.initLease()); },
                 [&](const GrantMsg& v) { leaseToWire(v.lease, root.initGrant()); },
                 [&](const RevokeMsg& v) { root.setRevoke(v.job_id); },
                 [&](const ErrorMsg& v) {
                   auto e = root.initError();
                   e.setCode(v.code);
                   e.setMessage(v.message);
                 },
                 [&](const StatusMsg& v) {
                   auto s = root.initStatus();
                   auto workers = s.initWorkers(unsigned(v.workers.size()));
                   for (unsigned i = 0; i < v.workers.size(); ++i) {
                     workers[i].setWorkerId(v.workers[i].worker_id);
                     workers[i].setAlive(v.workers[i].alive);
                     workers[i].setDevices(v.workers[i].devices);
                     workers[i].setLeased(v.workers[i].leased);
                     workers[i].setDraining(v.workers[i].draining);
                     auto& list = v.workers[i].device_list;
                     auto devices = workers[i].initDeviceList(unsigned(list.size()));
                     for (unsigned d = 0; d < list.size(); ++d) {
                       devices[d].setIndex(list[d].index);
                       devices[d].setUuid(kj::arrayPtr(list[d].uuid.data(), list[d].uuid.size()));
                       devices[d].setKind(list[d].kind);
                       devices[d].setName(list[d].name);
                       devices[d].setTotalMemory(list[d].total_memory);
                       devices[d].setJobId(list[d].job_id);
                       auto sharers = devices[d].initSharers(unsigned(list[d].sharers.size()));
                       for (unsigned k = 0; k < list[d].sharers.size(); ++k) sharers.set(k, list[d].sharers[k]);
                       devices[d].setReservedMemory(list[d].reserved_memory);
                     }
                   }
                   auto jobs = s.initJobs(unsigned(v.jobs.size()));
                   for (unsigned i = 0; i < v.jobs.size(); ++i) leaseToWire(v.jobs[i], jobs[i]);
                   auto queue = s.initQueue(unsigned(v.queue.size()));
                   for (unsigned i = 0; i < v.queue.size(); ++i) {
                     auto& j = v.queue[i];
                     queue[i].setJobId(j.job_id);
                     queue[i].setUser(j.user);
                     queue[i].setState(j.running ? schema::JobState::RUNNING : schema::JobState::QUEUED);
                     leaseRequestToWire(j.request, queue[i].initRequest());
                     queue[i].setSubmitTime(j.submit_time);
                     queue[i].setStartTime(j.start_time);
                     queue[i].setPosition(j.position);
                     queue[i].setReason(j.reason);
                     queue[i].setDevices(j.devices);
                     queue[i].setResizePending(j.resize_pending);
                     queue[i].setMemoryQuota(j.memory_quota);
                     queue[i].setPeakAllocated(j.peak_allocated);
                   }
                 },
                 [&](const ReleasedMsg& v) { root.setReleased(v.job_id); },
                 [&](const QueuedMsg& v) {
                   auto q = root.initQueued();
                   q.setJobId(v.job_id);
                   q.setPosition(v.position);
                   q.setReason(v.reason);
                 },
                 [&](const LeaseChangedMsg& v) { leaseToWire(v.lease, root.initLeaseChanged()); },
                 [&](const DropDevicesMsg& v) {
                   auto d = root.initDropDevices();
                   d.setJobId(v.job_id);
                   auto indices = d.initIndices(unsigned(v.indices.size()));
                   for (unsigned i = 0; i < v.indices.size(); ++i) indices.set(i, v.indices[i]);
                 },
                 [&](const OkMsg& v) { root.setOk(v.message); },
                 [&](const QuotaMsg& v) {
                   auto q = root.initQuota();
                   q.setJobId(v.job_id);
                   q.setBytes(v.bytes);
                 },
                 [&](const UsageMsg& v) {
                   auto records = root.initUsage().initRecords(unsigned(v.records.size()));
                   for (unsigned i = 0; i < v.records.size(); ++i) {
                     auto& r = v.records[i];
                     records[i].setJobId(r.job_id);
                     records[i].setUser(r.user);
                     records[i].setDevices(r.devices);
                     records[i].setSubmitTime(r.submit_time);
                     records[i].setStartTime(r.start_time);
                     records[i].setEndTime(r.end_time);
                     records[i].setLeasedDeviceSeconds(r.leased_device_seconds);
                     records[i].setBusySeconds(r.busy_seconds);
                     records[i].setEndReason(r.end_reason);
                     records[i].setCost(r.cost);
                   }
                   auto minutes = root.getUsage().initMinutes(unsigned(v.minutes.size()));
                   for (unsigned i = 0; i < v.minutes.size(); ++i) {
                     auto& r = v.minutes[i];
                     minutes[i].setJobId(r.job_id);
                     minutes[i].setMinuteStart(r.minute_start);
                     minutes[i].setKind(r.kind);
                     minutes[i].setLeasedDeviceSeconds(r.leased_device_seconds);
                     minutes[i].setBusySeconds(r.busy_seconds);
                     minutes[i].setCost(r.cost);
                   }
                 },
             },
             m);
  return writeMessage(b);
}

}  // namespace moai::wire
