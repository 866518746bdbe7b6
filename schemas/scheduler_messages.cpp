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
  return out;
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
      return out;
    }
    case schema::ToScheduler::REQUEST_LEASE: {
      auto r = m.getRequestLease();
      require(r.getDevices() >= 1 && r.getDevices() <= kMaxLeaseDevices, "a lease asks for 1 to 1024 devices");
      require(r.getPlacement() <= schema::Placement::SPREAD, "unknown placement");
      return LeaseRequestMsg{r.getDevices(), word(r.getKind(), sizeof(modnn_device_props::kind) - 1, true, "invalid device kind"),
                             freeText(r.getUser(), kMaxIdBytes, false, "invalid user name"), r.getPlacement()};
    }
    case schema::ToScheduler::KEEPALIVE: return KeepaliveMsg{jobId(m.getKeepalive())};
    case schema::ToScheduler::RELEASE: return ReleaseMsg{jobId(m.getRelease())};
    case schema::ToScheduler::STATUS: return StatusRequestMsg{};
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
      StatusMsg out;
      for (auto w : s.getWorkers()) {
        require(w.getDevices() <= kMaxDevicesPerWorker && w.getLeased() <= w.getDevices(), "worker device counts out of range");
        out.workers.push_back({id(w.getWorkerId(), "invalid worker id"), w.getAlive(), w.getDevices(), w.getLeased()});
      }
      for (auto j : s.getJobs()) out.jobs.push_back(leaseFromWire(j, true));
      return out;
    }
    case schema::FromScheduler::RELEASED: return ReleasedMsg{jobId(m.getReleased())};
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
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

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
                 },
                 [&](const LeaseRequestMsg& v) {
                   auto r = root.initRequestLease();
                   r.setDevices(v.devices);
                   r.setKind(v.kind);
                   r.setUser(v.user);
                   r.setPlacement(v.placement);
                 },
                 [&](const KeepaliveMsg& v) { root.setKeepalive(v.job_id); },
                 [&](const ReleaseMsg& v) { root.setRelease(v.job_id); },
                 [&](const StatusRequestMsg&) { root.setStatus(); },
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
                   }
                   auto jobs = s.initJobs(unsigned(v.jobs.size()));
                   for (unsigned i = 0; i < v.jobs.size(); ++i) leaseToWire(v.jobs[i], jobs[i]);
                 },
                 [&](const ReleasedMsg& v) { root.setReleased(v.job_id); },
             },
             m);
  return writeMessage(b);
}

}  // namespace moai::wire
