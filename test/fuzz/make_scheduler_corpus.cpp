// Writes the seed corpus of fuzz_scheduler_messages: one valid frame of
// each message kind, both directions. Run it when the schema changes:
//   make_scheduler_corpus test/fuzz/corpus/scheduler
#include <cstdio>
#include <fstream>
#include <string>

#include "schemas/scheduler_messages.h"

using namespace moai::wire;

namespace {

void write(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  std::ofstream(dir + "/" + name + ".bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

modnn_device_props device(const char* kind, uint8_t id) {
  modnn_device_props p{};
  p.struct_size = sizeof p;
  std::snprintf(p.name, sizeof p.name, "%s device %u", kind, id);
  std::snprintf(p.kind, sizeof p.kind, "%s", kind);
  p.uuid[0] = id;
  p.total_memory = 80ull << 30;
  p.multiprocessor_count = 132;
  p.cc_major = 9;
  p.max_threads_per_block = 1024;
  p.peak_flops_fp32 = 6.7e13;
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  const std::string curve_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";  // Z85 test vector of RFC 32
  LeaseEntry lease{7, std::string(64, 'c'), {{"w1", {"tcp://10.0.0.1:7000"}, 0, curve_key}, {"w2", {"ipc:///tmp/w2"}, 1}}};
  LeaseEntry listed = lease;
  listed.token.clear();

  write(dir, "to-register", encodeToScheduler(RegisterMsg{"w1", {"tcp://10.0.0.1:7000", "ipc:///tmp/w1"},
                                                          {device("h100", 1), device("cpu", 2)}, curve_key}));
  write(dir, "to-heartbeat", encodeToScheduler(HeartbeatMsg{"w1", {1 << 20, 0}, {0.5, 0}, 12.5}));
  write(dir, "to-request-lease", encodeToScheduler(LeaseRequestMsg{2, "h100", "alice", moai::schema::Placement::SPREAD}));
  write(dir, "to-keepalive", encodeToScheduler(KeepaliveMsg{7}));
  write(dir, "to-release", encodeToScheduler(ReleaseMsg{7}));
  write(dir, "to-status", encodeToScheduler(StatusRequestMsg{}));
  write(dir, "from-registered", encodeFromScheduler(RegisteredMsg{}));
  write(dir, "from-lease", encodeFromScheduler(LeaseMsg{lease}));
  write(dir, "from-grant", encodeFromScheduler(GrantMsg{lease}));
  write(dir, "from-revoke", encodeFromScheduler(RevokeMsg{7}));
  write(dir, "from-error", encodeFromScheduler(ErrorMsg{MODNN_ERR_OUT_OF_MEMORY, "2 devices of kind 'h100' wanted, 1 free"}));
  write(dir, "from-status", encodeFromScheduler(StatusMsg{{{"w1", true, 2, 1}, {"w2", false, 4, 0}}, {listed}}));
  write(dir, "from-released", encodeFromScheduler(ReleasedMsg{7}));

  LeaseRequestMsg full{4, "h100|a100", "bob", moai::schema::Placement::PACK};
  full.min_memory_per_device = 40ull << 30;
  full.shareable = true;
  full.priority = 5;
  full.time_limit_s = 3600;
  write(dir, "to-request-lease-full", encodeToScheduler(full));
  write(dir, "to-cancel", encodeToScheduler(CancelMsg{7}));
  write(dir, "to-drain", encodeToScheduler(DrainMsg{"w1", true}));
  write(dir, "to-undrain", encodeToScheduler(DrainMsg{"w1", false}));
  write(dir, "to-resize", encodeToScheduler(ResizeMsg{7, 3}));
  write(dir, "to-resized", encodeToScheduler(ResizedMsg{7}));
  write(dir, "to-usage", encodeToScheduler(UsageRequestMsg{}));
  write(dir, "from-queued", encodeFromScheduler(QueuedMsg{8, 2, "Resources: 4 device(s) of any kind wanted, 1 usable free"}));
  write(dir, "from-lease-changed", encodeFromScheduler(LeaseChangedMsg{lease}));
  write(dir, "from-drop-devices", encodeFromScheduler(DropDevicesMsg{7, {1, 3}}));
  write(dir, "from-ok", encodeFromScheduler(OkMsg{"job 7 cancelled"}));
  write(dir, "from-usage", encodeFromScheduler(UsageMsg{{{7, "alice", 2, 1.7e9, 1.7e9 + 3, 1.7e9 + 60, 114, -1, "released"}}}));
  StatusMsg rich{{{"w1", true, 2, 1, true, {}}}, {listed}, {}};
  DeviceStatusEntry d{0, {}, "h100", "h100 device 1", 80ull << 30, 7};
  d.uuid[0] = 1;
  rich.workers[0].device_list = {d};
  rich.queue = {{8, "bob", false, full, 1.7e9, 0, 1, "Resources", 0, false}};
  write(dir, "from-status-rich", encodeFromScheduler(rich));
  return 0;
}
