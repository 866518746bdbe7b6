#include "listings.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>
#include <vector>

namespace moai::cli {
namespace {

// Columns padded to their widest cell; the last column is not padded.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  std::string out;
  for (auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string duration(double s) {
  char buf[32];
  if (s < 120)
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 7200)
    std::snprintf(buf, sizeof buf, "%.0fm", s / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1fh", s / 3600);
  return buf;
}

std::string bytes(uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", double(b) / double(1ull << 30));
  return buf;
}

json request(const wire::LeaseRequestMsg& r) {
  return {{"devices", r.devices},
          {"kind", r.kind},
          {"min_memory_per_device", r.min_memory_per_device},
          {"shareable", r.shareable},
          {"predicted_memory", r.predicted_memory},
          {"share_weight", r.share_weight},
          {"priority", r.priority},
          {"time_limit_s", r.time_limit_s},
          {"placement", r.placement == schema::Placement::SPREAD ? "spread"
                        : r.placement == schema::Placement::PACK ? "pack"
                                                                   : "default"}};
}

// Prices are small (cents per device-minute): six decimals.
std::string money(const json& j) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", j.get<double>());
  return buf;
}

std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

// User names may be empty (a client without $USER): a visible placeholder.
std::string user(const json& j) { return str(j).empty() ? "-" : str(j); }

}  // namespace

std::string uuidText(const std::array<uint8_t, 16>& uuid) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "GPU-";
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[uuid[i] >> 4];
    out += kHex[uuid[i] & 0xf];
  }
  return out;
}

json summaryListing(const wire::StatusMsg& s) {
  json out = {{"workers", {{"alive", 0}, {"dead", 0}, {"draining", 0}}},
              {"devices", {{"total", 0}, {"leased", 0}, {"free", 0}}},
              {"jobs", {{"running", 0}, {"queued", 0}}}};
  for (auto& w : s.workers) {
    out["workers"][w.alive ? "alive" : "dead"] = out["workers"][w.alive ? "alive" : "dead"].get<int>() + 1;
    if (w.draining) out["workers"]["draining"] = out["workers"]["draining"].get<int>() + 1;
    if (!w.alive) continue;
    out["devices"]["total"] = out["devices"]["total"].get<int>() + int(w.devices);
    out["devices"]["leased"] = out["devices"]["leased"].get<int>() + int(w.leased);
    if (!w.draining) out["devices"]["free"] = out["devices"]["free"].get<int>() + int(w.devices - w.leased);
  }
  for (auto& j : s.queue) {
    const char* key = j.running ? "running" : "queued";
    out["jobs"][key] = out["jobs"][key].get<int>() + 1;
  }
  return out;
}

json workersListing(const wire::StatusMsg& s) {
  json out = json::array();
  for (auto& w : s.workers) {
    json devices = json::array();
    for (auto& d : w.device_list)
      devices.push_back({{"index", d.index},
                         {"uuid", uuidText(d.uuid)},
                         {"kind", d.kind},
                         {"name", d.name},
                         {"total_memory", d.total_memory},
                         {"job", d.job_id ? json(d.job_id) : json(nullptr)},
                         {"sharers", d.sharers},
                         {"reserved_memory", d.reserved_memory}});
    out.push_back({{"worker", w.worker_id},
                   {"alive", w.alive},
                   {"draining", w.draining},
                   {"devices", w.devices},
                   {"leased", w.leased},
                   {"device_list", devices}});
  }
  return out;
}

json jobsListing(const wire::StatusMsg& s, double now) {
  std::map<std::pair<std::string, uint32_t>, std::string> uuids;
  for (auto& w : s.workers)
    for (auto& d : w.device_list) uuids[{w.worker_id, d.index}] = uuidText(d.uuid);
  std::map<uint64_t, const wire::LeaseEntry*> leases;
  for (auto& l : s.jobs) leases[l.job_id] = &l;
  json out = json::array();
  for (auto& j : s.queue) {
    json devices = json::array();
    if (auto l = leases.find(j.job_id); l != leases.end())
      for (auto& d : l->second->devices) {
        auto u = uuids.find({d.worker_id, d.index});
        devices.push_back({{"worker", d.worker_id},
                           {"index", d.index},
                           {"uuid", u == uuids.end() ? json(nullptr) : json(u->second)}});
      }
    out.push_back({{"job", j.job_id},
                   {"user", j.user},
                   {"state", j.running ? "running" : "queued"},
                   {"request", request(j.request)},
                   {"submit_time", j.submit_time},
                   {"start_time", j.running ? json(j.start_time) : json(nullptr)},
                   {"seconds", std::max(0.0, now - (j.running ? j.start_time : j.submit_time))},
                   {"position", j.running ? json(nullptr) : json(j.position)},
                   {"reason", j.running ? json(nullptr) : json(j.reason)},
                   {"resize_pending", j.resize_pending},
                   {"memory_quota", j.memory_quota ? json(j.memory_quota) : json(nullptr)},
                   {"peak_allocated", j.peak_allocated},
                   {"devices", devices}});
  }
  return out;
}

json usageListing(const wire::UsageMsg& u, double now) {
  json jobs = json::array();
  struct Total {
    int jobs = 0;
    double leased = 0;
    double busy = 0;
    double cost = 0;
    bool metered = false;  // some job of the user has a busy time
  };
  std::map<std::string, Total> users;
  for (auto& r : u.records) {
    jobs.push_back({{"job", r.job_id},
                    {"user", r.user},
                    {"devices", r.devices},
                    {"start_time", r.start_time},
                    {"end_time", r.end_time > 0 ? json(r.end_time) : json(nullptr)},
                    {"seconds", (r.end_time > 0 ? r.end_time : now) - r.start_time},
                    {"leased_device_seconds", r.leased_device_seconds},
                    {"busy_seconds", r.busy_seconds < 0 ? json(nullptr) : json(r.busy_seconds)},
                    {"cost", r.cost},
                    {"end_reason", r.end_time > 0 ? json(r.end_reason) : json(nullptr)}});
    ++users[r.user].jobs;
    users[r.user].leased += r.leased_device_seconds;
    users[r.user].cost += r.cost;
    if (r.busy_seconds >= 0) {
      users[r.user].busy += r.busy_seconds;
      users[r.user].metered = true;
    }
  }
  json per_user = json::array();
  for (auto& [user, t] : users)
    per_user.push_back({{"user", user}, {"jobs", t.jobs}, {"leased_device_seconds", t.leased},
                        {"busy_seconds", t.metered ? json(t.busy) : json(nullptr)}, {"cost", t.cost}});
  return {{"jobs", jobs}, {"users", per_user}};
}

json minutesListing(const wire::UsageMsg& u, uint64_t job) {
  json out = json::array();
  for (auto& m : u.minutes)
    if (job == 0 || m.job_id == job)
      out.push_back({{"job", m.job_id}, {"minute_start", m.minute_start}, {"kind", m.kind},
                     {"leased_device_seconds", m.leased_device_seconds}, {"busy_seconds", m.busy_seconds},
                     {"cost", m.cost}});
  return out;
}

std::string summaryText(const json& l) {
  std::ostringstream out;
  auto& w = l["workers"];
  auto& d = l["devices"];
  auto& j = l["jobs"];
  out << "workers: " << w["alive"] << " alive, " << w["dead"] << " dead, " << w["draining"] << " draining\n";
  out << "devices: " << d["total"] << " total, " << d["leased"] << " leased, " << d["free"] << " free\n";
  out << "jobs:    " << j["running"] << " running, " << j["queued"] << " queued\n";
  return out.str();
}

std::string workersText(const json& l) {
  std::vector<std::vector<std::string>> rows{{"WORKER", "STATE", "DEVICE", "UUID", "KIND", "MEMORY", "JOB", "NAME"}};
  for (auto& w : l) {
    std::string state = !w["alive"].get<bool>() ? "dead" : w["draining"].get<bool>() ? "draining" : "alive";
    rows.push_back({str(w["worker"]), state, "", "", "", "", str(w["leased"]) + "/" + str(w["devices"]) + " leased", ""});
    for (auto& d : w["device_list"]) {
      // A shared device lists its jobs and how much of it their quotas hold.
      std::string jobs = d["job"].is_null() ? "-" : str(d["job"]);
      if (!d["sharers"].empty()) {
        jobs.clear();
        for (auto& s : d["sharers"]) jobs += (jobs.empty() ? "" : ",") + str(s);
        jobs += " (" + bytes(d["reserved_memory"].get<uint64_t>()) + " reserved)";
      }
      rows.push_back({"", "", str(d["index"]), str(d["uuid"]), str(d["kind"]), bytes(d["total_memory"].get<uint64_t>()),
                      jobs, str(d["name"])});
    }
  }
  return table(rows);
}

std::string jobsText(const json& l) {
  std::vector<std::vector<std::string>> rows{
      {"JOB", "USER", "STATE", "DEVICES", "KIND", "PRIO", "LIMIT", "TIME", "POS", "REASON / DEVICES"}};
  for (auto& j : l) {
    auto& r = j["request"];
    bool running = j["state"] == "running";
    std::string devices = running ? std::to_string(j["devices"].size()) : str(r["devices"]);
    if (j["resize_pending"].get<bool>()) devices += " (resizing)";
    std::string where;
    if (running) {
      for (auto& d : j["devices"]) {
        if (!where.empty()) where += " ";
        where += str(d["worker"]) + ":" + str(d["index"]);
        if (!d["uuid"].is_null()) where += "(" + str(d["uuid"]) + ")";
      }
    } else {
      where = str(j["reason"]);
    }
    uint32_t limit = r["time_limit_s"];
    rows.push_back({str(j["job"]), user(j["user"]), str(j["state"]), devices,
                    r["kind"].get<std::string>().empty() ? "any" : str(r["kind"]), str(r["priority"]),
                    limit ? duration(limit) : "-", duration(j["seconds"]), running ? "-" : str(j["position"]), where});
  }
  return table(rows);
}

std::string usageText(const json& l) {
  auto hours = [](const json& s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", s.get<double>() / 3600);
    return std::string(buf);
  };
  std::vector<std::vector<std::string>> rows{
      {"JOB", "USER", "DEVICES", "TIME", "LEASED DEVICE-H", "BUSY DEVICE-H", "COST", "END"}};
  for (auto& j : l["jobs"])
    rows.push_back({str(j["job"]), user(j["user"]), str(j["devices"]), duration(j["seconds"]),
                    hours(j["leased_device_seconds"]), j["busy_seconds"].is_null() ? "-" : hours(j["busy_seconds"]),
                    money(j["cost"]), j["end_reason"].is_null() ? "running" : str(j["end_reason"])});
  std::vector<std::vector<std::string>> users{{"USER", "JOBS", "LEASED DEVICE-H", "BUSY DEVICE-H", "COST"}};
  for (auto& u : l["users"])
    users.push_back({user(u["user"]), str(u["jobs"]), hours(u["leased_device_seconds"]),
                     u["busy_seconds"].is_null() ? "-" : hours(u["busy_seconds"]), money(u["cost"])});
  return table(rows) + "\n" + table(users);
}

std::string minutesText(const json& l) {
  std::vector<std::vector<std::string>> rows{{"JOB", "MINUTE (UTC)", "KIND", "LEASED DEVICE-S", "BUSY DEVICE-S", "COST"}};
  for (auto& m : l) {
    std::time_t t = m["minute_start"].get<int64_t>();
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    char leased[32], busy[32];
    std::snprintf(leased, sizeof leased, "%.3f", m["leased_device_seconds"].get<double>());
    std::snprintf(busy, sizeof busy, "%.3f", m["busy_seconds"].get<double>());
    rows.push_back({str(m["job"]), when, str(m["kind"]), leased, busy, money(m["cost"])});
  }
  return table(rows);
}

}  // namespace moai::cli
