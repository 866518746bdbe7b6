// The whole screen as text with styles, from the data and the UI state
// alone: no terminal, no clock, so tests can check exactly what a user sees.
// terminal.cpp maps styles to colours (or, with -C, to bold/underline/reverse).
#pragma once
#include <string>
#include <vector>

#include "tools/top/history.h"
#include "tools/top/snapshot.h"
#include "tools/top/ui_state.h"

namespace moai::top {

enum class Style : uint8_t {
  Normal, Title, PanelTitle, PanelFocused, Header, Sorted, Dim, Good, Warn, Bad, Banner, Key,
  BarLow, BarMid, BarHigh, Memory, Spark,
};

struct Span {
  std::string text;  // UTF-8; every character one column wide
  Style style = Style::Normal;
};

struct Line {
  std::vector<Span> spans;
  bool selected = false;  // drawn reversed, across the whole width
  std::string text() const;
};

struct Frame {
  const Snapshot* snapshot = nullptr;  // null: nothing received yet
  const History* history = nullptr;
  std::string scheduler;               // where the data comes from, for the title
  std::string metrics_url;
  std::string error;                   // the scheduler did not answer the last fetch
  std::string metrics_error;
  double data_age = 0;                 // seconds
};

// Exactly `height` lines, each exactly `width` columns.
std::vector<Line> render(const Frame& frame, const UiState& ui, int width, int height);

// Columns a UTF-8 string takes (one per code point).
size_t displayWidth(const std::string& s);

// Seconds as "45s", "12m05s", "3h02m".
std::string formatDuration(double seconds);
// MiB as "512M" or "12.5G".
std::string formatMiB(uint64_t mib);

}  // namespace moai::top
