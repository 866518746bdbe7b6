#include "config.h"

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

namespace moai::sched {
namespace {

// "KIND=PRICE": a device kind (or "default") and a price per device-minute.
std::optional<std::pair<std::string, double>> parsePrice(const std::string& text) {
  auto eq = text.find('=');
  if (eq == 0 || eq == std::string::npos) return std::nullopt;
  std::string kind = text.substr(0, eq), number = text.substr(eq + 1);
  char* end = nullptr;
  double price = std::strtod(number.c_str(), &end);
  if (number.empty() || *end != '\0' || !(price >= 0 && price < 1e9)) return std::nullopt;
  return std::pair{kind, price};
}

std::unique_ptr<CLI::App> makeApp(SchedulerConfig& c, std::string& config_file, std::vector<std::string>& prices) {
  auto app = std::make_unique<CLI::App>("moai-sched: the MoAI control plane (inventory and leases)", "moai-sched");
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto endpoint = CLI::Validator(
      [](std::string& e) {
        return e.starts_with("tcp://") || e.starts_with("ipc://") ? "" : "must start with tcp:// or ipc://";
      },
      "ENDPOINT");
  auto seconds = CLI::Range(0.001, 86400.0);
  app->add_option("--listen", c.listen, "ZeroMQ endpoint to bind; port 0 picks a free one")
      ->check(endpoint)->capture_default_str();
  app->add_option("--endpoint-file", c.endpoint_file, "write the bound endpoint to this file");
  app->add_option("--heartbeat-timeout", c.heartbeat_timeout_s, "seconds without a heartbeat before a worker is dead")
      ->check(seconds)->capture_default_str();
  app->add_option("--client-timeout", c.client_timeout_s, "seconds without a keepalive before a lease ends")
      ->check(seconds)->capture_default_str();
  app->add_option("--placement", c.placement, "default placement of a lease: pack (fewest workers) or spread")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, schema::Placement>{{"pack", schema::Placement::PACK},
                                                   {"spread", schema::Placement::SPREAD}}))
      ->option_text("pack|spread=pack");
  app->add_option("--share-headroom", c.share_headroom,
                  "a job sharing a device may allocate its predicted peak plus this fraction of it")
      ->check(CLI::Range(0.0, 10.0))->capture_default_str();
  app->add_option("--log-level", c.log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->envname("MOAI_LOG")->capture_default_str();
  app->add_option("--key", c.key, "CurveZMQ secret key file (moai keygen): every peer must then use Curve")
      ->check(CLI::ExistingFile);
  app->add_option("--allow-keys", c.allow_keys,
                  "allow only these peers' public keys: a directory of NAME.key files or a file of Z85 keys")
      ->check(CLI::ExistingPath)->needs("--key");
  app->add_option("--metrics-listen", c.metrics_listen, "serve Prometheus /metrics on HOST:PORT (port 0 = any)");
  app->add_option("--metrics-endpoint-file", c.metrics_endpoint_file, "write the bound http://HOST:PORT to this file")
      ->needs("--metrics-listen");
  app->add_option("--state", c.state, "SQLite file that keeps workers, jobs, leases and usage across restarts");
  app->add_option("--price", prices,
                  "KIND=PRICE: price of one busy device-minute on devices of KIND (\"default\": other kinds; 0 "
                  "without it); repeat for more kinds")
      ->check(CLI::Validator([](std::string& p) { return parsePrice(p) ? "" : "must be KIND=PRICE, PRICE >= 0"; },
                             "KIND=PRICE"))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_option("--config", config_file, "TOML file with the same settings")->check(CLI::ExistingFile);
  return app;
}

// Later settings of a kind win (the command line's over the file's).
PriceTable priceTable(const std::vector<std::string>& prices) {
  PriceTable out;
  for (auto& p : prices) {
    auto [kind, price] = *parsePrice(p);
    if (kind == "default")
      out.default_price = price;
    else
      out.per_kind[kind] = price;
  }
  return out;
}

// The file's settings as flags, so they pass the same checks.
std::variant<std::vector<std::string>, std::string> fileAsFlags(const std::string& path, const CLI::App& app) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << e;
    return msg.str();
  }
  std::vector<std::string> flags;
  for (auto& [key, value] : table) {
    if (key.str() == "prices") {  // [prices] kind = price, ...
      auto* prices = value.as_table();
      if (!prices) return std::string("prices must be a table: [prices] h100 = 0.06");
      for (auto& [kind, price] : *prices) {
        std::ostringstream text;
        text.precision(17);
        if (auto i = price.value_exact<int64_t>())
          text << *i;
        else if (auto d = price.value_exact<double>())
          text << *d;
        else
          return "price of '" + std::string(kind.str()) + "' must be a number";
        flags.push_back("--price=" + std::string(kind.str()) + "=" + text.str());
      }
      continue;
    }
    std::string flag = "--" + std::string(key.str());
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (flag == "--config" || flag == "--help" || !app.get_option_no_throw(flag))
      return "unknown setting '" + std::string(key.str()) + "'";
    std::ostringstream text;
    text.precision(17);
    if (auto s = value.value_exact<std::string>())
      text << *s;
    else if (auto i = value.value_exact<int64_t>())
      text << *i;
    else if (auto d = value.value_exact<double>())
      text << *d;
    else
      return "setting '" + std::string(key.str()) + "' must be a string or a number";
    flags.push_back(flag + "=" + text.str());
  }
  return flags;
}

}  // namespace

std::variant<SchedulerConfig, int> parseConfig(int argc, char** argv) {
  SchedulerConfig config;
  std::string config_file;
  std::vector<std::string> prices;
  auto app = makeApp(config, config_file, prices);
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app->exit(e);
  }
  config.prices = priceTable(prices);
  if (config_file.empty()) return config;

  auto flags = fileAsFlags(config_file, *app);
  if (auto* error = std::get_if<std::string>(&flags)) {
    std::cerr << "moai-sched: " << config_file << ": " << *error << "\n";
    return 2;
  }
  // Parse again with the file's settings first, so later (command-line) ones win.
  auto args = std::get<std::vector<std::string>>(flags);
  args.insert(args.end(), argv + 1, argv + argc);
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector of arguments last first
  config = SchedulerConfig{};
  prices.clear();
  app = makeApp(config, config_file, prices);
  try {
    app->parse(args);
  } catch (const CLI::ParseError& e) {
    std::cerr << "moai-sched: " << config_file << ": ";
    return app->exit(e);
  }
  config.prices = priceTable(prices);
  return config;
}

}  // namespace moai::sched
