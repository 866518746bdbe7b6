// A described cluster: device kinds (peak FLOP/s per dtype, memory, bandwidth),
// nodes of devices, and the links between them. Read from TOML by moai-plan;
// the client runtime builds one from its lease and start-up measurements.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "modnn/ops.h"

namespace moai::planner {

struct Link {
  double bandwidth = 0;  // bytes/s, one direction, per endpoint
  double latency = 0;    // seconds per message (alpha)
};

struct DeviceKind {
  std::string name;
  double memory_bytes = 0;
  double memory_bandwidth = 0;                   // bytes/s
  std::array<double, MODNN_DTYPE_MAX + 1> matmul_flops{};  // peak FLOP/s of dense matmul per input dtype
  double vector_flops = 0;                       // peak FLOP/s outside matmul units (element-wise work)
  double matmul_efficiency = 1;                  // sustained / peak for large GEMMs (calibration)
  double memory_efficiency = 1;                  // sustained / peak memory bandwidth (calibration)
  double kernel_overhead = 0;                    // seconds added to every op (launch, tails)
  Link host_link;                                // device <-> host memory (offload streaming)
};

struct NodeGroup {
  int kind = 0;          // index into Cluster::kinds
  int devices_per_node = 1;
  int nodes = 1;
};

struct Cluster {
  std::string name;
  std::vector<DeviceKind> kinds;
  std::vector<NodeGroup> groups;
  Link intra_node;       // between devices of one node (per device)
  Link inter_node;       // between nodes (per node: shared by its devices)

  int deviceCount() const;
  int devicesPerNode() const;  // of the first group; the planner assumes equal nodes
  const DeviceKind& kindOf(int device) const;
  int nodeOf(int device) const;
  // The same cluster cut or grown to `devices` devices of its first node kind.
  Cluster withDevices(int devices) const;
};

// Reads a cluster TOML file (see planner/examples/). False and a message on
// any missing or out-of-range field.
bool readClusterToml(const std::string& path, Cluster* out_cluster, std::string* out_error);
bool parseClusterToml(const std::string& text, Cluster* out_cluster, std::string* out_error);

// A dtype by its short name (f32, f16, bf16, ...); false if unknown.
bool dtypeFromName(const std::string& name, modnn_dtype* out_dtype);
const char* dtypeName(modnn_dtype dtype);

}  // namespace moai::planner
