// Device printf (vprintf): formats one call on the host from the format
// string and the packed argument buffer the kernel passed, both read
// through the launch's address translation.
#pragma once
#include <cstdint>
#include <string>

#include "modnn/cpu/ptx/ptx_exec.h"

namespace modnn::ptx {

// Copies `n` bytes at generic address `a` as `lane` sees it; false after a fault.
bool readGeneric(Warp& w, uint32_t lane, uint64_t a, void* dst, size_t n);
// Reads a NUL-terminated string (at most `cap` bytes); false after a fault.
bool readString(Warp& w, uint32_t lane, uint64_t a, std::string& out, size_t cap = 1 << 16);

// Appends the formatted text of vprintf(fmt, args) to `out`; returns the
// number of arguments consumed, or -1 after a fault.
int formatDevicePrintf(Warp& w, uint32_t lane, uint64_t fmt, uint64_t args, std::string& out);

}  // namespace modnn::ptx
