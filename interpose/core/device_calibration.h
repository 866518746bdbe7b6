// Start-up measurements of the devices behind the virtual device, for the
// planner's cost model in place of nominal numbers: GEMM throughput and
// memory bandwidth with every member busy at once, the cost of one op, the
// link between two members and the host link (alpha-beta from two copy
// sizes), and the element rate of a simple kernel (an interpreting CPU
// device runs kernels far below its memory bandwidth). Short runs: 0.1-0.2 s
// in all, once per process.
#pragma once
#include <string>

#include "interpose/core/virtual_address_space.h"
#include "modnn/backend.h"
#include "planner/cluster.h"

namespace moai {

struct Calibration {
  int devices = 1;
  double gemm_flops = 0;        // f32 GEMM FLOP/s of one device while all run one
  int gemm_size = 0;            // the square GEMM measured
  double memory_bandwidth = 0;  // bytes/s one device reads + writes in a device-to-device copy
  double op_overhead = 0;       // seconds per tiny op in a stream of them (hand-off to every member included)
  double sync_latency = 0;      // seconds a synchronisation adds (a remote device's round trip)
  double kernel_rate = 0;       // elements/s of a grid-stride element-wise kernel (0: the device runs no PTX)
  planner::Link link;           // member 0 -> member 1; zero with one device
  planner::Link host_link;      // host -> one device
  double seconds = 0;           // what measuring took
  std::string error;            // non-empty: a measurement failed and nominal numbers stand in
};

// Measures `device` (a device group: its members) using scratch buffers in
// `vas`; `props` are one member's.
Calibration calibrate(const modnn_device& device, const modnn_device_props& props, VirtualAddressSpace& vas);

// The cluster the cost model sees: `c.devices` devices of one kind in one node.
planner::Cluster clusterFrom(const Calibration& c, const modnn_device_props& props);

// "GEMM 46.1 GFLOP/s (f32 384^3), memory 6.2 GB/s, op 31 us; link ..."
std::string describeCalibration(const Calibration& c);

}  // namespace moai
