// PTX tokenizer: words (opcodes with their dotted modifiers, directives,
// registers, symbols, labels), numbers, strings and punctuation.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace modnn::ptx {

enum class TokKind : uint8_t { Word, Int, Float, String, Punct, End };

struct Token {
  TokKind kind = TokKind::End;
  std::string_view text;  // the source characters
  uint64_t ival = 0;      // Int: value (two's complement for wide literals)
  double fval = 0;        // Float: value of a decimal literal
  uint64_t fbits = 0;     // Float: raw bits of a 0f/0d literal
  uint8_t fwidth = 0;     // Float: 32 for 0f, 64 for 0d and decimal literals
  bool hexFloat = false;
  uint32_t line = 0;
  char punct() const { return kind == TokKind::Punct ? text[0] : '\0'; }
  bool is(char c) const { return kind == TokKind::Punct && text[0] == c; }
  bool isWord(std::string_view w) const { return kind == TokKind::Word && text == w; }
};

// Splits `src` into tokens; comments are dropped. Returns false and sets
// `error` on a malformed literal or stray character.
bool tokenize(std::string_view src, std::vector<Token>& out, std::string& error);

}  // namespace modnn::ptx
