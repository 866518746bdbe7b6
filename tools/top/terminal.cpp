#include "tools/top/terminal.h"

#define NCURSES_NOMACROS  // real functions: the macros (erase, move, timeout) clash with C++ names
#include <curses.h>

#include "tools/top/input.h"

namespace moai::top {
namespace {

constexpr int kStyles = int(Style::Spark) + 1;
constexpr short kSelectedPair = kStyles + 1;

struct Look {
  short fg, bg;
  attr_t color_attrs;  // with colour
  attr_t mono_attrs;   // with -C
};

// Indexed by Style. Black on a colour stays unbolded: bold black turns grey on most terminals.
const Look kLooks[kStyles] = {
    {-1, -1, A_NORMAL, A_NORMAL},                        // Normal
    {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE | A_BOLD},  // Title
    {COLOR_CYAN, -1, A_BOLD, A_BOLD},                    // PanelTitle
    {COLOR_BLACK, COLOR_GREEN, A_NORMAL, A_REVERSE | A_BOLD},  // PanelFocused
    {COLOR_BLACK, COLOR_GREEN, A_NORMAL, A_UNDERLINE},   // Header
    {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_UNDERLINE | A_BOLD},  // Sorted
    {COLOR_BLUE, -1, A_BOLD, A_DIM},                     // Dim
    {COLOR_GREEN, -1, A_NORMAL, A_NORMAL},               // Good
    {COLOR_YELLOW, -1, A_BOLD, A_BOLD},                  // Warn
    {COLOR_RED, -1, A_BOLD, A_BOLD},                     // Bad
    {COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD},  // Banner
    {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE},      // Key
    {COLOR_GREEN, -1, A_BOLD, A_NORMAL},                 // BarLow
    {COLOR_YELLOW, -1, A_BOLD, A_BOLD},                  // BarMid
    {COLOR_RED, -1, A_BOLD, A_BOLD},                     // BarHigh
    {COLOR_MAGENTA, -1, A_BOLD, A_NORMAL},               // Memory
    {COLOR_CYAN, -1, A_NORMAL, A_NORMAL},                // Spark
};

int translate(int ch) {
  switch (ch) {
    case KEY_UP: return kKeyUp;
    case KEY_DOWN: return kKeyDown;
    case KEY_LEFT: return kKeyLeft;
    case KEY_RIGHT: return kKeyRight;
    case KEY_PPAGE: return kKeyPageUp;
    case KEY_NPAGE: return kKeyPageDown;
    case KEY_HOME: return kKeyHome;
    case KEY_END: return kKeyEnd;
    case '\t': return kKeyTab;
    case KEY_BTAB: return kKeyBackTab;
    case '\n': case '\r': case KEY_ENTER: return kKeyEnter;
    case 27: return kKeyEscape;
    case KEY_BACKSPACE: case 127: case 8: return kKeyBackspace;
    case KEY_F(1): return kKeyF1;
    case KEY_F(6): return kKeyF6;
    case KEY_F(10): return kKeyF10;
    default: return ch;
  }
}

}  // namespace

Terminal::Terminal(bool color) : color_(color) {
  set_escdelay(25);  // Esc answers at once instead of waiting for a sequence
  initscr();
  cbreak();
  noecho();
  keypad(stdscr, TRUE);
  curs_set(0);
  if (color_ && has_colors()) {
    start_color();
    use_default_colors();
    for (int s = 0; s < kStyles; ++s) init_pair(short(s + 1), kLooks[s].fg, kLooks[s].bg);
    init_pair(kSelectedPair, COLOR_BLACK, COLOR_CYAN);
  } else {
    color_ = false;
  }
}

Terminal::~Terminal() { endwin(); }

int Terminal::width() const { return COLS; }
int Terminal::height() const { return LINES; }

void Terminal::draw(const std::vector<Line>& lines) {
  erase();
  for (size_t y = 0; y < lines.size() && int(y) < LINES; ++y) {
    move(int(y), 0);
    for (auto& span : lines[y].spans) {
      const Look& look = kLooks[int(span.style)];
      attr_t attrs;
      if (!color_)
        attrs = lines[y].selected ? A_REVERSE : look.mono_attrs;
      else if (lines[y].selected)
        attrs = COLOR_PAIR(kSelectedPair) | (look.color_attrs & A_BOLD);
      else
        attrs = COLOR_PAIR(int(span.style) + 1) | look.color_attrs;
      attrset(attrs);
      addstr(span.text.c_str());  // ERR at the bottom-right cell is expected and harmless
    }
  }
  attrset(A_NORMAL);
  refresh();
}

int Terminal::readKey(int timeout_ms) {
  timeout(timeout_ms);
  int ch = getch();
  if (ch == ERR || ch == KEY_RESIZE) return -1;
  return translate(ch);
}

}  // namespace moai::top
