// Keys -> UiState changes, and the commands some keys ask for. Pure: the
// terminal layer turns its key codes into these, tests send them directly.
#pragma once
#include <cstdint>
#include <string>

#include "tools/top/snapshot.h"
#include "tools/top/ui_state.h"

namespace moai::top {

// Printable keys are their character; the rest are these.
enum Key : int {
  kKeyUp = 0x1000, kKeyDown, kKeyLeft, kKeyRight, kKeyPageUp, kKeyPageDown, kKeyHome, kKeyEnd,
  kKeyTab, kKeyBackTab, kKeyEnter, kKeyEscape, kKeyBackspace, kKeyF1, kKeyF6, kKeyF10,
};

struct Command {
  enum Kind { None, Quit, Resize, Cancel, Drain } kind = None;
  uint64_t job = 0;
  uint32_t devices = 0;
  std::string worker;
};

// `page` is how many rows PgUp/PgDn move. `snapshot` may be null.
Command handleKey(UiState& ui, int key, const Snapshot* snapshot, int page = 10);

}  // namespace moai::top
