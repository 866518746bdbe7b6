#include "tools/top/prometheus_text.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace moai::top {
namespace {

bool nameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// `{a="x",b="y"}` from `pos` (at the '{'); false on anything malformed.
bool parseLabels(const std::string& line, size_t& pos, std::map<std::string, std::string>& out) {
  ++pos;
  while (pos < line.size() && line[pos] != '}') {
    size_t start = pos;
    while (pos < line.size() && nameChar(line[pos], pos == start)) ++pos;
    if (pos == start || pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') return false;
    std::string key = line.substr(start, pos - start), value;
    pos += 2;
    for (; pos < line.size() && line[pos] != '"'; ++pos) {
      if (line[pos] != '\\') {
        value += line[pos];
        continue;
      }
      if (++pos >= line.size()) return false;
      value += line[pos] == 'n' ? '\n' : line[pos];
    }
    if (pos >= line.size()) return false;
    ++pos;  // closing quote
    out[key] = std::move(value);
    if (pos < line.size() && line[pos] == ',') ++pos;
  }
  if (pos >= line.size()) return false;
  ++pos;  // '}'
  return true;
}

bool parseLine(const std::string& line, MetricSample& out) {
  size_t pos = 0;
  while (pos < line.size() && nameChar(line[pos], pos == 0)) ++pos;
  if (pos == 0) return false;
  out.name = line.substr(0, pos);
  if (pos < line.size() && line[pos] == '{' && !parseLabels(line, pos, out.labels)) return false;
  if (pos >= line.size() || line[pos] != ' ') return false;
  std::string rest = line.substr(pos + 1);
  if (auto blank = rest.find(' '); blank != std::string::npos) rest.resize(blank);  // a timestamp may follow
  char* end = nullptr;
  out.value = std::strtod(rest.c_str(), &end);
  return !rest.empty() && end && *end == '\0';
}

}  // namespace

std::vector<MetricSample> parsePrometheusText(const std::string& text, size_t* bad_lines) {
  std::vector<MetricSample> samples;
  std::istringstream in(text);
  size_t bad = 0;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    MetricSample s;
    if (parseLine(line, s))
      samples.push_back(std::move(s));
    else
      ++bad;
  }
  if (bad_lines) *bad_lines = bad;
  return samples;
}

}  // namespace moai::top
