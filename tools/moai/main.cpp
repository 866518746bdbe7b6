// moai: the command line of a MoAI cluster. Asks moai-sched (--scheduler or
// $MOAI_SCHEDULER) one question per run.
//
// Exit codes a script can rely on: 0 done, 1 the scheduler refused (its
// message on stderr), 2 usage error, 3 the scheduler could not be reached.
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>

#include "listings.h"
#include "transport/curve_keys.h"
#include "scheduler_call.h"

namespace {

constexpr auto kTimeout = std::chrono::seconds(3);
enum Exit { kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3 };

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace moai;
  CLI::App app{"moai: look at a MoAI cluster and change it", "moai"};
  std::string scheduler;
  bool as_json = false;
  app.add_option("--scheduler", scheduler, "moai-sched endpoint, e.g. tcp://host:5555")->envname("MOAI_SCHEDULER");
  app.add_flag("--json", as_json, "print JSON instead of tables");
  app.require_subcommand(1);
  app.fallthrough();  // --json and --scheduler may also follow the subcommand

  uint64_t job = 0;
  uint32_t devices = 0;
  std::string worker;
  auto* status = app.add_subcommand("status", "workers, devices and jobs in a few numbers");
  auto* workers = app.add_subcommand("workers", "workers and their devices (index, UUID, kind, memory, job)");
  auto* jobs = app.add_subcommand("jobs", "the queue (position and reason) and the running jobs");
  auto* usage = app.add_subcommand("usage", "leased and busy device time and cost, per job and per user");
  bool minutes = false;
  uint64_t usage_job = 0;
  usage->add_flag("--minutes", minutes, "the per-minute usage records instead (of JOB only, if given)");
  usage->add_option("JOB", usage_job, "only this job (its record, or with --minutes its minutes)")->check(CLI::PositiveNumber);
  auto* resize = app.add_subcommand("resize", "grow or shrink a running job's lease to N devices");
  resize->add_option("JOB", job, "job id")->required()->check(CLI::PositiveNumber);
  resize->add_option("N", devices, "devices")->required()->check(CLI::Range(1, int(wire::kMaxLeaseDevices)));
  auto* cancel = app.add_subcommand("cancel", "end a queued or running job");
  cancel->add_option("JOB", job, "job id")->required()->check(CLI::PositiveNumber);
  auto* drain = app.add_subcommand("drain", "no new leases on a worker; running ones finish");
  drain->add_option("WORKER", worker, "worker id")->required();
  auto* undrain = app.add_subcommand("undrain", "let a drained worker take leases again");
  undrain->add_option("WORKER", worker, "worker id")->required();
  std::string key_dir, key_name;
  auto* keygen = app.add_subcommand("keygen", "write a CurveZMQ key pair DIR/NAME.key and DIR/NAME.key_secret");
  keygen->add_option("DIR", key_dir, "directory for the key files")->required();
  keygen->add_option("NAME", key_name, "name of the pair (sched, a worker id, a user)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  if (keygen->parsed()) return runKeygen(key_dir, key_name);  // local: no scheduler involved
  if (scheduler.empty()) {
    std::cerr << "moai: no scheduler: give --scheduler or set MOAI_SCHEDULER\n";
    return kUsage;
  }

  wire::ToSchedulerMsg request = wire::StatusRequestMsg{};
  if (usage->parsed()) request = wire::UsageRequestMsg{};
  if (resize->parsed()) request = wire::ResizeMsg{job, devices};
  if (cancel->parsed()) request = wire::CancelMsg{job};
  if (drain->parsed()) request = wire::DrainMsg{worker, true};
  if (undrain->parsed()) request = wire::DrainMsg{worker, false};

  auto reply = cli::call(scheduler, request, kTimeout);
  if (!reply) {
    std::cerr << "moai: cannot reach the scheduler at " << scheduler << " (no reply in " << kTimeout.count()
              << " s)\n";
    return kUnreachable;
  }
  if (auto* e = std::get_if<wire::ErrorMsg>(&*reply)) {
    std::cerr << "moai: " << e->message << "\n";
    return kRefused;
  }
  auto print = [&](const cli::json& listing, std::string (*text)(const cli::json&)) {
    std::cout << (as_json ? listing.dump(2) + "\n" : text(listing));
    return kOk;
  };
  if (auto* ok = std::get_if<wire::OkMsg>(&*reply))
    return print(cli::json{{"ok", true}, {"message", ok->message}},
                 [](const cli::json& j) { return j["message"].get<std::string>() + "\n"; });
  if (auto* u = std::get_if<wire::UsageMsg>(&*reply)) {
    if (usage_job) std::erase_if(u->records, [&](const wire::UsageEntry& r) { return r.job_id != usage_job; });
    return minutes ? print(cli::minutesListing(*u, usage_job), cli::minutesText)
                   : print(cli::usageListing(*u, unixNow()), cli::usageText);
  }
  if (auto* s = std::get_if<wire::StatusMsg>(&*reply)) {
    if (status->parsed()) return print(cli::summaryListing(*s), cli::summaryText);
    if (workers->parsed()) return print(cli::workersListing(*s), cli::workersText);
    if (jobs->parsed()) return print(cli::jobsListing(*s, unixNow()), cli::jobsText);
  }
  std::cerr << "moai: unexpected reply from the scheduler\n";
  return kRefused;
}
