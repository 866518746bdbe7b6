// Memory history: each program's peak device memory from its last run
// through a scheduler, so the next run of the same command line can ask for
// a shared device of the right size before it has allocated anything.
//
// Kept in $MOAI_MEMORY_HISTORY, else $XDG_CACHE_HOME/moai/memory-history
// (~/.cache/...): one "KEY BYTES" line per program, the latest last,
// at most kMaxPrograms lines.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace moai {

// This process's command line (/proc/self/cmdline), hashed.
std::string programKey();

std::optional<uint64_t> recallPeak(const std::string& key);
void rememberPeak(const std::string& key, uint64_t bytes);

}  // namespace moai
