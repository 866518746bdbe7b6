// What the user has chosen on screen: focused panel, sort per panel,
// selection, filter, tree and help, and the prompt being typed. Plain data,
// changed only by input.cpp and read by render.cpp.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace moai::top {

enum class Panel { Devices = 0, Jobs = 1, Workers = 2 };
constexpr int kPanels = 3;

struct SortSpec {
  int column = 0;          // index into sortColumns(panel)
  bool descending = false;
};

enum class Prompt { None, Filter, Resize, ConfirmCancel, ConfirmDrain };

struct UiState {
  Panel panel = Panel::Devices;
  std::array<SortSpec, kPanels> sort{};
  std::array<int, kPanels> selected{};   // row in the panel's filtered, sorted rows
  // The selected row's identity (worker/index, job id, worker id): the
  // selection follows it when a refresh or a sort moves it, as in htop.
  std::array<std::string, kPanels> selected_key{};
  std::string filter;                    // case-insensitive substring of job, user, kind, worker
  bool tree = false;                     // jobs panel: each job followed by its devices
  bool help = false;
  bool color = true;                     // false: -C, attributes only
  bool unicode = true;                   // block characters for sparklines
  double interval = 1;                   // seconds, shown in the title

  Prompt prompt = Prompt::None;
  std::string input;                     // what the prompt has so far
  uint64_t target_job = 0;               // of a resize or cancel prompt
  std::string target_worker;             // of a drain prompt
  std::string message;                   // status line: outcome of the last action
};

}  // namespace moai::top
