// DeviceGroup: N devices behind the one virtual device the program sees.
//
// The group is itself a moDNN device (the same function table), so the
// client runtime does not change with N. Every member holds a copy of every
// buffer while each has room (past that, buffers are sharded: each member
// holds a window of them, group_memory.cpp, and the group's memory is the
// sum of its members') and runs every operation, except GEMMs (split by output columns, batch
// entries, or K with the partial sums reduce-scattered over a ring of
// members), AXPY/SCAL/SWAP (by ranges) and kernels whose PTX shows what each
// block writes (kernel_footprint.h; by block ranges), which the plan or a
// per-op cost model may split. A split op's shares stay current only on the members that
// computed them; before each op a member pulls what the op touches and it
// lacks (memcpy between CPU devices, worker->worker copies between remote
// ones), and an op whose reads are unknown first makes everything current
// everywhere, or with sharded memory on member 0, where it then runs alone
// (group_state.h, validity_map.h).
#pragma once
#include <memory>
#include <vector>

#include "interpose/core/kernel_footprint.h"
#include "modnn/backend.h"

namespace moai {

// Takes ownership of `devices` (N >= 1, all of one backend). Leased devices
// that a scheduler may resize are followed at each flush (lease_devices).
// `shard_memory`: a buffer no member has room to copy is sharded across them,
// and the group's memory is the sum of theirs; otherwise (offload, which
// makes room by evicting whole allocations) every buffer is copied on every
// member, and the group's memory is the smallest member's.
modnn_device makeDeviceGroup(std::vector<modnn_device> devices, bool shard_memory = true);

// How the group runs an op: `ways` shares (1: whole on every member; 0: the
// group's cost model decides), and for a GEMM whether each share is a slice
// of K, leaving partial sums that a ring reduce-scatter adds up, rather than
// of the output (columns, batch entries; AXPY/SCAL/SWAP ranges).
struct GroupSplit {
  int ways = 0;
  bool by_k = false;
};

// For the client's planning (segment_planner.h): the group's size (0: not a
// group), the bytes it moved between members, whether it can split GEMMs by
// K (its members can add partial sums of F32/F64), an op run with the split a
// plan chose, reporting the split it used (ways 1 when the op cannot be
// split), and a copy of [va, va + size) from member `from` to member `to`
// (start-up link measurements).
int groupSize(const modnn_device& device);
uint64_t groupMemberMemory(const modnn_device& device);  // the smallest member's memory
bool groupSplitsK(const modnn_device& device);
uint64_t groupBytesMoved(const modnn_device& device);

// What the group's split decisions for kernels need from start-up
// measurements (device_calibration.h); until they are set, kernels run whole.
struct GroupCosts {
  double kernel_rate = 0;     // elements/s of an element-wise kernel on one member
  double link_bandwidth = 0;  // bytes/s from one member to another
  double link_latency = 0;    // seconds per copy between two members
  double op_overhead = 0;     // seconds to hand one op to every member
};
void setGroupCosts(const modnn_device& group, const GroupCosts& costs);

// A launch as the group runs it: split `ways` ways by block ranges (1: whole
// on every member; 0: the group's cost model decides), reporting the ways it
// used (1 when the kernel is not provably element-wise).
// $MOAI_SPLIT=always|never overrides the cost model here too.
// `analysed`: the launch's launchFootprint, when the caller already has it.
modnn_status launchOnGroup(const modnn_device& group, const modnn_kernel_launch& launch, int ways,
                           const std::shared_ptr<const KernelFootprint>* analysed, int* out_ways);
// What the launch writes, when the group could split it; null otherwise.
std::shared_ptr<const KernelFootprint> launchFootprint(const modnn_device& group, const modnn_kernel_launch& launch);
modnn_status runOnGroup(const modnn_device& group, const modnn_op& op, GroupSplit split, GroupSplit* used);
modnn_status copyBetweenMembers(const modnn_device& group, int from, int to, uint64_t va, uint64_t size);

}  // namespace moai
