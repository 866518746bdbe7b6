// Executes a launch: blocks are handed out to the participants of the
// device's thread pool; each runs its block's warps one at a time until
// they block at a barrier, finish or yield. Within a warp, lanes with
// different PCs are scheduled "lowest PC first", which reconverges them at
// the first instruction they share; warp-synchronous ops wait until every
// live member lane has arrived.
#pragma once
#include <memory>
#include <vector>

#include "modnn/cpu/ptx/ptx_exec.h"
#include "modnn/cpu/thread_pool.h"

namespace modnn::ptx {

// Runs every block; returns the launch status (first fault wins). Device
// printf output is written to stdout, in block order, before returning.
modnn_status runLaunch(LaunchShared& L, std::vector<std::unique_ptr<Worker>>& workers, cpu::ThreadPool& pool);

}  // namespace modnn::ptx
