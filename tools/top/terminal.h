// The ncurses side: draws render()'s lines and reads keys. Styles become
// colour pairs, or with -C attributes only (bold, underline, reverse, dim),
// so every screen reads the same on a monochrome terminal.
#pragma once
#include <vector>

#include "tools/top/render.h"

namespace moai::top {

class Terminal {
 public:
  explicit Terminal(bool color);  // enters curses mode
  ~Terminal();                    // restores the terminal
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  int width() const;
  int height() const;
  void draw(const std::vector<Line>& lines);
  // A Key (input.h) or character, or -1 when none came within `timeout_ms`.
  int readKey(int timeout_ms);

 private:
  bool color_;
};

}  // namespace moai::top
