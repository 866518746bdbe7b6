#include "planner/cluster.h"

#include <toml++/toml.h>

#include <sstream>

namespace moai::planner {

int Cluster::deviceCount() const {
  int n = 0;
  for (const NodeGroup& g : groups) n += g.devices_per_node * g.nodes;
  return n;
}

int Cluster::devicesPerNode() const { return groups.empty() ? 1 : groups[0].devices_per_node; }

const DeviceKind& Cluster::kindOf(int device) const {
  for (const NodeGroup& g : groups) {
    if (device < g.devices_per_node * g.nodes) return kinds[g.kind];
    device -= g.devices_per_node * g.nodes;
  }
  return kinds[groups.back().kind];
}

int Cluster::nodeOf(int device) const {
  int node = 0;
  for (const NodeGroup& g : groups) {
    if (device < g.devices_per_node * g.nodes) return node + device / g.devices_per_node;
    device -= g.devices_per_node * g.nodes;
    node += g.nodes;
  }
  return node;
}

Cluster Cluster::withDevices(int devices) const {
  Cluster c = *this;
  NodeGroup g = groups.empty() ? NodeGroup{} : groups[0];
  if (devices < g.devices_per_node) g.devices_per_node = devices;
  g.nodes = (devices + g.devices_per_node - 1) / g.devices_per_node;
  c.groups = {g};
  return c;
}

static const char* const kDtypeNames[] = {"f32", "f64", "f16", "bf16", "c32", "c64", "i8", "i32", "i64"};

const char* dtypeName(modnn_dtype dtype) {
  return dtype >= 0 && dtype <= MODNN_DTYPE_MAX ? kDtypeNames[dtype] : "?";
}

bool dtypeFromName(const std::string& name, modnn_dtype* out_dtype) {
  for (int i = 0; i <= MODNN_DTYPE_MAX; ++i)
    if (name == kDtypeNames[i]) {
      *out_dtype = static_cast<modnn_dtype>(i);
      return true;
    }
  return false;
}

namespace {

// Reads a positive number (integer or float) at `key`; `scale` converts units.
bool number(const toml::table& t, const char* key, double scale, double* out, std::string* err,
            const std::string& where, bool required = true) {
  auto node = t.get(key);
  if (!node) {
    if (required) *err = where + ": missing '" + key + "'";
    return !required;
  }
  std::optional<double> v = node->value<double>();
  if (!v || !(*v >= 0) || *v > 1e30) {
    *err = where + ": '" + key + "' must be a non-negative number";
    return false;
  }
  *out = *v * scale;
  return true;
}

bool link(const toml::table& t, const char* key, Link* out, std::string* err, const std::string& where) {
  const toml::table* l = t[key].as_table();
  if (!l) {
    *err = where + ": missing table '" + key + "'";
    return false;
  }
  std::string w = where + "." + key;
  if (!number(*l, "bandwidth_gbs", 1e9, &out->bandwidth, err, w)) return false;
  if (!number(*l, "latency_us", 1e-6, &out->latency, err, w)) return false;
  if (out->bandwidth <= 0) {
    *err = w + ": bandwidth must be positive";
    return false;
  }
  return true;
}

bool parseTable(const toml::table& root, Cluster* c, std::string* err) {
  c->name = root["name"].value_or(std::string("cluster"));
  const toml::array* kinds = root["device_kind"].as_array();
  if (!kinds || kinds->empty()) {
    *err = "no [[device_kind]]";
    return false;
  }
  for (const toml::node& n : *kinds) {
    const toml::table* k = n.as_table();
    if (!k) {
      *err = "[[device_kind]] entries must be tables";
      return false;
    }
    DeviceKind d;
    d.name = (*k)["name"].value_or(std::string());
    std::string w = "device_kind '" + d.name + "'";
    if (d.name.empty()) {
      *err = "a device_kind has no name";
      return false;
    }
    double kernel_us = 0;
    if (!number(*k, "memory_gib", 1024.0 * 1024 * 1024, &d.memory_bytes, err, w) ||
        !number(*k, "memory_bandwidth_gbs", 1e9, &d.memory_bandwidth, err, w) ||
        !number(*k, "vector_tflops", 1e12, &d.vector_flops, err, w) ||
        !number(*k, "matmul_efficiency", 1, &d.matmul_efficiency, err, w, false) ||
        !number(*k, "memory_efficiency", 1, &d.memory_efficiency, err, w, false) ||
        !number(*k, "kernel_overhead_us", 1e-6, &kernel_us, err, w, false) || !link(*k, "host_link", &d.host_link, err, w))
      return false;
    d.kernel_overhead = kernel_us;
    if (d.memory_bytes <= 0 || d.memory_bandwidth <= 0 || d.vector_flops <= 0 || d.matmul_efficiency <= 0 ||
        d.matmul_efficiency > 1 || d.memory_efficiency <= 0 || d.memory_efficiency > 1) {
      *err = w + ": memory, bandwidth and FLOP/s must be positive, efficiencies in (0, 1]";
      return false;
    }
    const toml::table* peaks = (*k)["matmul_tflops"].as_table();
    if (!peaks || peaks->empty()) {
      *err = w + ": missing table 'matmul_tflops' (peak per dtype)";
      return false;
    }
    for (auto& [name, value] : *peaks) {
      modnn_dtype dt;
      std::optional<double> v = value.value<double>();
      if (!dtypeFromName(std::string(name.str()), &dt) || !v || !(*v > 0) || *v > 1e9) {
        *err = w + ": matmul_tflops." + std::string(name.str()) + " is not a known dtype with a positive value";
        return false;
      }
      d.matmul_flops[dt] = *v * 1e12;
    }
    // A dtype without a matmul peak runs its GEMMs on the vector units.
    for (double& f : d.matmul_flops)
      if (f == 0) f = d.vector_flops;
    c->kinds.push_back(std::move(d));
  }
  const toml::array* nodes = root["node"].as_array();
  if (!nodes || nodes->empty()) {
    *err = "no [[node]]";
    return false;
  }
  for (const toml::node& n : *nodes) {
    const toml::table* t = n.as_table();
    if (!t) {
      *err = "[[node]] entries must be tables";
      return false;
    }
    std::string kind = (*t)["kind"].value_or(std::string());
    NodeGroup g;
    g.kind = -1;
    for (size_t i = 0; i < c->kinds.size(); ++i)
      if (c->kinds[i].name == kind) g.kind = static_cast<int>(i);
    g.devices_per_node = static_cast<int>((*t)["devices"].value_or(int64_t(0)));
    g.nodes = static_cast<int>((*t)["count"].value_or(int64_t(0)));
    if (g.kind < 0 || g.devices_per_node < 1 || g.devices_per_node > 1024 || g.nodes < 1 || g.nodes > 1 << 20) {
      *err = "[[node]] needs a known 'kind', 'devices' in 1..1024 and 'count' >= 1";
      return false;
    }
    c->groups.push_back(g);
  }
  if (!link(root, "intra_node", &c->intra_node, err, "cluster")) return false;
  if (!link(root, "inter_node", &c->inter_node, err, "cluster")) return false;
  return true;
}

}  // namespace

bool parseClusterToml(const std::string& text, Cluster* out_cluster, std::string* out_error) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << e;
    *out_error = msg.str();
    return false;
  }
  Cluster c;
  if (!parseTable(root, &c, out_error)) return false;
  *out_cluster = std::move(c);
  return true;
}

bool readClusterToml(const std::string& path, Cluster* out_cluster, std::string* out_error) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ": " << e;
    *out_error = msg.str();
    return false;
  }
  Cluster c;
  if (!parseTable(root, &c, out_error)) {
    *out_error = path + ": " + *out_error;
    return false;
  }
  *out_cluster = std::move(c);
  return true;
}

}  // namespace moai::planner
