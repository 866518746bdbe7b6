#include "tools/top/input.h"

#include <algorithm>
#include <cctype>

#include "tools/top/tables.h"

namespace moai::top {
namespace {

Command promptKey(UiState& ui, int key) {
  Command cmd;
  if (ui.prompt == Prompt::ConfirmCancel || ui.prompt == Prompt::ConfirmDrain) {
    if (key == 'y' || key == 'Y') {
      cmd.kind = ui.prompt == Prompt::ConfirmCancel ? Command::Cancel : Command::Drain;
      cmd.job = ui.target_job;
      cmd.worker = ui.target_worker;
    } else {
      ui.message = ui.prompt == Prompt::ConfirmCancel ? "cancel: not done" : "drain: not done";
    }
    ui.prompt = Prompt::None;
    return cmd;
  }
  if (key == kKeyEscape) {
    if (ui.prompt == Prompt::Filter) ui.filter.clear();
    ui.prompt = Prompt::None;
    ui.input.clear();
    return cmd;
  }
  if (key == kKeyBackspace) {
    if (!ui.input.empty()) ui.input.pop_back();
  } else if (key == kKeyEnter) {
    if (ui.prompt == Prompt::Resize) {
      bool digits = !ui.input.empty() && ui.input.size() <= 6 &&
                    std::all_of(ui.input.begin(), ui.input.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
      if (digits && std::stoul(ui.input) > 0) {
        cmd.kind = Command::Resize;
        cmd.job = ui.target_job;
        cmd.devices = uint32_t(std::stoul(ui.input));
      } else {
        ui.message = "resize: '" + ui.input + "' is not a number of devices";
      }
    }
    ui.prompt = Prompt::None;
    ui.input.clear();
  } else if (key >= 0x20 && key < 0x7f && ui.input.size() < 64) {
    if (ui.prompt == Prompt::Resize && !std::isdigit(key)) return cmd;
    ui.input += char(key);
  }
  if (ui.prompt == Prompt::Filter) ui.filter = ui.input;  // filter as you type
  return cmd;
}

void move(UiState& ui, const Snapshot* s, int delta) {
  if (s) selectRow(*s, ui, ui.panel, std::max(0, selectedRow(*s, ui, ui.panel)) + delta);
}

void stepSort(UiState& ui, int delta) {
  auto& spec = ui.sort[int(ui.panel)];
  int n = int(sortColumns(ui.panel).size());
  spec.column = ((spec.column + delta) % n + n) % n;
}

}  // namespace

Command handleKey(UiState& ui, int key, const Snapshot* s, int page) {
  if (ui.prompt != Prompt::None) return promptKey(ui, key);
  if (ui.help) {  // any key closes help; q still quits
    ui.help = false;
    if (key == 'q' || key == kKeyF10) return {Command::Quit};
    return {};
  }
  ui.message.clear();
  switch (key) {
    case 'q': case kKeyF10: return {Command::Quit};
    case kKeyUp: case 'k': move(ui, s, -1); break;
    case kKeyDown: case 'j': move(ui, s, 1); break;
    case kKeyPageUp: move(ui, s, -page); break;
    case kKeyPageDown: move(ui, s, page); break;
    case kKeyHome: case 'g': move(ui, s, -(1 << 20)); break;
    case kKeyEnd: case 'G': move(ui, s, 1 << 20); break;
    case kKeyTab: ui.panel = Panel((int(ui.panel) + 1) % kPanels); break;
    case kKeyBackTab: ui.panel = Panel((int(ui.panel) + kPanels - 1) % kPanels); break;
    case '>': case '.': case kKeyF6: case kKeyRight: stepSort(ui, 1); break;
    case '<': case ',': case kKeyLeft: stepSort(ui, -1); break;
    case 'i': case 'I': ui.sort[int(ui.panel)].descending = !ui.sort[int(ui.panel)].descending; break;
    case 't': ui.tree = !ui.tree; break;
    case 'h': case '?': case kKeyF1: ui.help = true; break;
    case '/':
      ui.prompt = Prompt::Filter;
      ui.input = ui.filter;
      break;
    case kKeyEscape: ui.filter.clear(); break;
    case 'r': case 'c': {
      auto job = s ? selectedJob(*s, ui) : std::nullopt;
      if (!job) {
        ui.message = "select a job first (Tab to the jobs panel, or a device that a job holds)";
        break;
      }
      ui.target_job = *job;
      ui.input.clear();
      ui.prompt = key == 'r' ? Prompt::Resize : Prompt::ConfirmCancel;
      break;
    }
    case 'd': {
      auto worker = s ? selectedWorker(*s, ui) : std::nullopt;
      if (!worker) {
        ui.message = "select a worker first (Tab to the workers panel, or one of its devices)";
        break;
      }
      ui.target_worker = *worker;
      ui.prompt = Prompt::ConfirmDrain;
      break;
    }
    default: break;
  }
  // The rows may have changed (filter, panel): keep the selection on one.
  if (s) selectRow(*s, ui, ui.panel, selectedRow(*s, ui, ui.panel));
  return {};
}

}  // namespace moai::top
