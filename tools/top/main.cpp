// moai-top: the MoAI cluster at a glance (see README.md in this folder).
#include <CLI/CLI.hpp>
#include <langinfo.h>
#include <signal.h>

#include <atomic>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "tools/top/actions.h"
#include "tools/top/feed.h"
#include "tools/top/input.h"
#include "tools/top/preferences.h"
#include "tools/top/render.h"
#include "tools/top/report.h"
#include "tools/top/terminal.h"

namespace {

std::atomic<bool> g_stop{false};

void onSignal(int) { g_stop = true; }

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Runs the screen until q or a signal; returns the exit code.
int runInteractive(moai::top::UiState& ui, const moai::top::SourceOptions& options, double saved_interval) {
  using namespace moai::top;
  auto source = makeSchedulerSource(options);
  if (!source) {
    std::fprintf(stderr, "moai-top: %s\n", source.error().message.c_str());
    return 2;
  }
  Feed feed(std::move(*source), makeSchedulerActions(options), ui.interval);
  struct sigaction sa {};
  sa.sa_handler = onSignal;  // no SA_RESTART: getch returns, the loop ends, endwin runs
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  {
    Terminal term(ui.color);
    while (!g_stop) {
      FeedState state = feed.state();
      for (auto& outcome : feed.takeOutcomes()) ui.message = outcome.message;
      Frame frame{state.snapshot ? &*state.snapshot : nullptr, &state.history, options.scheduler, options.metrics_url,
                  state.error, state.metrics_error, state.data_age};
      term.draw(render(frame, ui, term.width(), term.height()));
      int key = term.readKey(200);
      if (key < 0) continue;
      int page = std::max(1, term.height() / 4);
      Command cmd = handleKey(ui, key, state.snapshot ? &*state.snapshot : nullptr, page);
      switch (cmd.kind) {
        case Command::Quit: g_stop = true; break;
        case Command::Resize:
          ui.message = "resizing job " + std::to_string(cmd.job) + "...";
          feed.submit([cmd](ClusterActions& a) { return a.resize(cmd.job, cmd.devices); });
          break;
        case Command::Cancel:
          ui.message = "cancelling job " + std::to_string(cmd.job) + "...";
          feed.submit([cmd](ClusterActions& a) { return a.cancel(cmd.job); });
          break;
        case Command::Drain:
          ui.message = "draining " + cmd.worker + "...";
          feed.submit([cmd](ClusterActions& a) { return a.drain(cmd.worker); });
          break;
        case Command::None: break;
      }
    }
  }
  UiState saved = ui;
  saved.interval = saved_interval;  // -d is for this run only
  auto written = savePreferences(preferencesPath(), saved);
  if (!written) std::fprintf(stderr, "moai-top: preferences not saved: %s\n", written.error().message.c_str());
  return 0;
}

int runOnce(const moai::top::UiState& ui, const moai::top::SourceOptions& options, bool json, int width) {
  using namespace moai::top;
  auto source = makeSchedulerSource(options);
  if (!source) {
    std::fprintf(stderr, "moai-top: %s\n", source.error().message.c_str());
    return 2;
  }
  std::atomic<bool> never{false};
  Fetch f = (*source)->fetch(never);
  std::cout << (json ? snapshotJson(f, options.scheduler, options.metrics_url)
                     : snapshotText(f, ui, options.scheduler, options.metrics_url, width));
  if (!f.error.empty()) std::fprintf(stderr, "moai-top: %s\n", f.error.c_str());
  if (!f.metrics_error.empty()) std::fprintf(stderr, "moai-top: /metrics: %s\n", f.metrics_error.c_str());
  bool answered = options.scheduler.empty() ? f.metrics_error.empty() : f.error.empty();
  return answered ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace moai::top;
  std::setlocale(LC_ALL, "");
  CLI::App app{"moai-top: the MoAI cluster at a glance (workers, devices, jobs), refreshed every second"};
  SourceOptions options;
  options.scheduler = env("MOAI_SCHEDULER");
  options.metrics_url = env("MOAI_METRICS_URL");
  options.scheduler_key_file = env("MOAI_SCHEDULER_KEY");
  options.key_file = env("MOAI_KEY");
  double interval = 0;
  bool mono = false, ascii = false, once = false, json = false;
  int width = 0;
  app.add_option("--scheduler", options.scheduler, "moai-sched's endpoint (default $MOAI_SCHEDULER)");
  app.add_option("--metrics", options.metrics_url, "moai-sched's /metrics base URL, http://HOST:PORT (default $MOAI_METRICS_URL)");
  app.add_option("--scheduler-key", options.scheduler_key_file,
                 "the scheduler's public key file: talk CurveZMQ (default $MOAI_SCHEDULER_KEY)");
  app.add_option("--key", options.key_file, "this client's secret key file (default $MOAI_KEY; else a pair made for this run)");
  app.add_option("-d,--interval", interval, "seconds between refreshes (default 1, or the saved one)")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--timeout", options.timeout_seconds, "seconds to wait for each answer")->check(CLI::Range(0.1, 60.0));
  app.add_flag("-C,--no-color", mono, "monochrome: attributes instead of colours");
  app.add_flag("--ascii", ascii, "ASCII only (no block characters)");
  auto* once_flag = app.add_flag("--once", once, "print one snapshot and exit");
  app.add_flag("--json", json, "with --once: as JSON")->needs(once_flag);
  app.add_option("--width", width, "with --once: columns of the text table (default $COLUMNS or 160)");
  CLI11_PARSE(app, argc, argv);

  if (options.scheduler.empty() && options.metrics_url.empty()) {
    std::fprintf(stderr, "moai-top: give --scheduler (or $MOAI_SCHEDULER) and/or --metrics\n");
    return 2;
  }
  UiState ui;
  auto loaded = loadPreferences(preferencesPath(), ui);
  if (!loaded) std::fprintf(stderr, "moai-top: %s (using defaults)\n", loaded.error().message.c_str());
  double saved_interval = ui.interval;
  if (interval > 0) ui.interval = interval;
  ui.color = !mono && env("NO_COLOR").empty();
  ui.unicode = !ascii && std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

  if (once) {
    if (width <= 0) width = std::atoi(env("COLUMNS").c_str());
    return runOnce(ui, options, json, width > 20 ? width : 160);
  }
  return runInteractive(ui, options, saved_interval);
}
