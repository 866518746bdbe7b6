#include "tools/top/actions.h"

#include <chrono>
#include <variant>

#include "tools/moai/scheduler_call.h"

namespace moai::top {
namespace {

// The same requests as `moai resize|cancel|drain`, one each, with the
// scheduler's answer (its `ok` text or its error) for the status line.
class SchedulerActions final : public ClusterActions {
 public:
  SchedulerActions(std::string endpoint, cli::CurveSettings curve, std::chrono::milliseconds timeout)
      : endpoint_(std::move(endpoint)), curve_(std::move(curve)), timeout_(timeout) {}

  ActionOutcome resize(uint64_t job, uint32_t devices) override {
    return ask(wire::ResizeMsg{job, devices}, "resize job " + std::to_string(job));
  }
  ActionOutcome cancel(uint64_t job) override { return ask(wire::CancelMsg{job}, "cancel job " + std::to_string(job)); }
  ActionOutcome drain(const std::string& worker) override { return ask(wire::DrainMsg{worker, true}, "drain " + worker); }

 private:
  ActionOutcome ask(const wire::ToSchedulerMsg& request, const std::string& what) {
    if (endpoint_.empty()) return {false, what + ": no scheduler to ask (--scheduler)"};
    auto reply = cli::call(endpoint_, request, timeout_, curve_);
    if (!reply) return {false, what + ": the scheduler did not answer"};
    if (auto* ok = std::get_if<wire::OkMsg>(&*reply)) return {true, ok->message.empty() ? what + ": done" : ok->message};
    if (auto* e = std::get_if<wire::ErrorMsg>(&*reply)) return {false, what + ": " + e->message};
    return {false, what + ": unexpected reply"};
  }

  std::string endpoint_;
  cli::CurveSettings curve_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<ClusterActions> makeSchedulerActions(const SourceOptions& options) {
  cli::CurveSettings curve;
  if (!options.scheduler_key_file.empty()) {
    auto server = readCurvePublicKeyFile(options.scheduler_key_file);
    auto own = options.key_file.empty() ? generateCurveKeyPair() : readCurveSecretKeyFile(options.key_file);
    if (server && own) curve = cli::CurveSettings{*own, *server};
  }
  auto timeout = std::chrono::milliseconds(int64_t(options.timeout_seconds * 1000));
  return std::make_unique<SchedulerActions>(options.scheduler, std::move(curve), timeout);
}

}  // namespace moai::top
