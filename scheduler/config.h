// moai-sched's settings: command-line flags, optionally on top of a TOML file
// whose keys are the long flag names with '_' for '-' (flags win).
#pragma once
#include <string>
#include <variant>

#include "scheduler.capnp.h"
#include "usage_meter.h"

namespace moai::sched {

struct SchedulerConfig {
  std::string listen = "tcp://127.0.0.1:0";  // port 0: any free port
  std::string endpoint_file;                 // where to write the bound endpoint, if set
  double heartbeat_timeout_s = 3;
  double client_timeout_s = 10;
  schema::Placement placement = schema::Placement::PACK;
  double share_headroom = 0.10;              // a shared job's quota: predicted peak plus this fraction
  std::string log_level = "info";            // or $MOAI_LOG
  // Security and metrics (see README.md "Security", "Metrics").
  std::string key;                           // Curve secret key file; "" = plain tcp
  std::string allow_keys;                    // allow-list of peers' public keys; "" = any Curve key
  std::string metrics_listen;                // HOST:PORT of /metrics; "" = off
  std::string metrics_endpoint_file;         // where to write http://HOST:PORT once bound
  std::string state;                         // SQLite file for the state; "" = memory only
  // Billing: price per busy device-minute by device kind, "default" for the
  // rest (`--price KIND=PRICE`, repeatable; TOML table [prices]).
  PriceTable prices;
};

// The settings, or the exit code to leave with (after --help, or a bad
// flag or file, which has been reported on stderr).
std::variant<SchedulerConfig, int> parseConfig(int argc, char** argv);

}  // namespace moai::sched
