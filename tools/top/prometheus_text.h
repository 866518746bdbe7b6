// Reading Prometheus' text exposition format (0.0.4), as moai-sched's
// /metrics writes it: one sample per line, `name{label="value",...} number`.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace moai::top {

struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Comment lines are skipped; a line that does not parse is skipped and
// counted in *bad_lines (when given), so one odd line never hides the rest.
std::vector<MetricSample> parsePrometheusText(const std::string& text, size_t* bad_lines = nullptr);

}  // namespace moai::top
