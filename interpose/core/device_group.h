// DeviceGroup: N devices behind the one virtual device the program sees.
//
// The group is itself a moDNN device (the same function table), so the
// client runtime does not change with N. This first execution strategy keeps
// every allocation replicated on all devices and runs each operation on all
// of them (they stay identical), except GEMMs, which a per-op cost model may
// split by output columns: each device computes its share and the shares are
// all-gathered (memcpy between CPU devices, worker->worker copies between
// remote ones). Replicated execution is what makes opaque kernels safe
// without knowing what they write; the planner (planner/) is what will
// replace it with sharded tensors.
#pragma once
#include <vector>

#include "modnn/backend.h"

namespace moai {

// Takes ownership of `devices` (N >= 1, all of one backend). Leased devices
// that a scheduler may resize are followed at each flush (lease_devices).
modnn_device makeDeviceGroup(std::vector<modnn_device> devices);

// For a GEMM on `n` devices with these properties: how many ways to split
// its output columns (1 = run it whole on every device). Exposed for tests.
int gemmSplitWays(const modnn_gemm& g, const modnn_device_props& props, int n);

// For the client's planning (segment_planner.h): the group's size (0: not a
// group), an op run with the GEMM column split a plan chose (`ways` >= 1; 0:
// gemmSplitWays decides), reporting the ways it used (1 when the GEMM cannot
// be split by columns), and a copy of [va, va + size) from member `from` to
// member `to` (start-up link measurements).
int groupSize(const modnn_device& device);
modnn_status runOnGroup(const modnn_device& group, const modnn_op& op, int ways, int* out_ways);
modnn_status copyBetweenMembers(const modnn_device& group, int from, int to, uint64_t va, uint64_t size);

}  // namespace moai
