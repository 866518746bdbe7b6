// The client <-> worker protocol as plain, validated C++ values.
//
// decodeClientMessage / decodeWorkerMessage are the only readers of those
// frames: they check every field (list lengths, enum ranges, sizes) before
// anything uses it, and turn any malformed input into an error. Bulk bytes
// (writes, uploads, read replies) are spans into the received frame, which
// the decoded value keeps alive.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "interpose/core/result.h"
#include "modnn/backend.h"
#include "modnn/ops.h"
#include "wire.h"
#include "worker.capnp.h"

namespace moai::wire {

constexpr uint32_t kMaxDevicesPerWorker = 64;
constexpr uint32_t kMaxKernelParamBytes = 32768;
constexpr size_t kMaxNameBytes = 4096;
constexpr size_t kMaxSymbols = 65536;
constexpr size_t kMaxCommandsPerMessage = 65536;  // clients batch at most 4096

struct HelloMsg {
  uint32_t protocol_version = 0;
  uint64_t job_id = 0;
  std::string token;
  std::string shm_name;
  uint64_t shm_size = 0;
};

struct AllocCmd { uint64_t va = 0, size = 0; };
struct FreeCmd { uint64_t va = 0; };
struct WriteCmd {
  uint64_t va = 0;
  std::span<const uint8_t> bytes;  // inline payload (tcp), or the attached frame
  bool attached = false;           // encode: bytes go in the frame after the message
  bool in_shm = false;             // else: bytes at shm_offset in the client's segment
  uint64_t shm_offset = 0, shm_size = 0;
};
struct CopyCmd { uint64_t dst = 0, src = 0, size = 0; };
struct RecordEventCmd { uint64_t event = 0; };
struct CopyToPeerCmd {
  uint64_t src = 0, size = 0;
  std::vector<std::string> peer_endpoints;
  uint32_t peer_device = 0;
  uint64_t dst = 0;
  std::string peer_key;  // "" = plain tcp
  uint64_t transfer = 0;  // 0: synchronous; else one-way, placed by the peer's AwaitPeerCmd
};
constexpr size_t kMaxPeerEndpoints = 8;
struct AwaitPeerCmd {
  uint64_t transfer = 0, dst = 0, size = 0;
  uint32_t timeout_ms = 0;
  std::vector<std::string> sender_endpoints;
};
struct FillCmd { uint64_t va = 0, count = 0; uint32_t value = 0; uint8_t elem_size = 1; };
struct ModuleUploadCmd {
  uint64_t hash = 0;
  std::span<const uint8_t> fatbin;
  std::string ptx;
};
struct SymbolEntry { std::string name; uint64_t va = 0, size = 0; };
struct ModuleLoadCmd {
  uint64_t hash = 0, handle = 0;
  std::vector<SymbolEntry> symbols;
};
struct LaunchCmd {
  uint64_t module = 0;
  std::string kernel;
  uint32_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  uint32_t dynamic_shared = 0;
  std::span<const uint8_t> params;
  uint64_t block_begin = 0, block_end = 0;  // modnn_kernel_launch's block range
  bool quiet = false;
};
struct GemmCmd { modnn_gemm gemm{}; };
struct BlasCmd { modnn_blas blas{}; };

struct Command {
  uint32_t device = 0;
  std::variant<AllocCmd, FreeCmd, WriteCmd, ModuleUploadCmd, CopyCmd, FillCmd, ModuleLoadCmd, LaunchCmd, GemmCmd,
               BlasCmd, CopyToPeerCmd, RecordEventCmd, AwaitPeerCmd>
      body;
};

struct ReadReq { uint64_t va = 0, size = 0; };
struct SyncReq {};
struct HasModuleReq { uint64_t hash = 0; };
struct SupportsKernelReq { uint64_t module = 0; std::string kernel; };
struct SupportsGemmReq { modnn_gemm gemm{}; };
struct SupportsBlasReq { modnn_blas blas{}; };
struct PropsReq {};
// The job's device address range: a GPU maps buffers at the client's own
// addresses, so all of a job's devices and the client agree on one range.
struct ReserveRangeReq { uint64_t hint = 0, size = 0; };
struct QueryEventReq { uint64_t event = 0; bool wait = false; };

struct RequestMsg {
  uint64_t id = 0;
  uint32_t device = 0;
  std::variant<ReadReq, SyncReq, HasModuleReq, SupportsKernelReq, SupportsGemmReq, PropsReq, SupportsBlasReq,
               ReserveRangeReq, QueryEventReq>
      body;
};

struct ByeMsg {};
// A one-way copy's bytes, from the sending worker.
struct PeerBytesMsg {
  uint64_t transfer = 0;
  uint32_t device = 0;
  uint64_t dst = 0;
  std::span<const uint8_t> bytes;  // the attached frame
  bool failed = false;
  std::string why;                 // when failed
  bool in_shm = false;             // else: at shm_offset in the sender's ring
  uint64_t shm_offset = 0, shm_size = 0;
};

struct ClientMsg {
  std::unique_ptr<IncomingMessage> frame;  // owns what the spans point into
  std::variant<HelloMsg, std::vector<Command>, RequestMsg, ByeMsg, PeerBytesMsg> body;
};

struct HelloOkMsg { std::vector<modnn_device_props> devices; };
struct ErrorMsg { uint32_t code = 0; std::string message; };
struct DataMsg {
  std::span<const uint8_t> bytes;
  bool attached = false;  // encode: bytes go in the frame after the message
};
struct ShmDataMsg { uint64_t offset = 0, size = 0; };
struct DoneMsg { uint64_t clock_ns = 0; };
struct FlagMsg { bool value = false; };
struct PropsMsg { modnn_device_props props{}; };

struct ReservedMsg { uint64_t base = 0; };

struct WorkerMsg {
  std::unique_ptr<IncomingMessage> frame;
  uint64_t id = 0;
  std::variant<HelloOkMsg, ErrorMsg, DataMsg, ShmDataMsg, DoneMsg, FlagMsg, PropsMsg, ReservedMsg> body;
};

// `owner`, when given, keeps `data` (and `attachment`) alive so an aligned
// frame is not copied. `attachment` is the frame that followed the message,
// if any: large bulk bytes travel there rather than inside the message; a
// message may name at most one, of exactly its size.
Result<ClientMsg> decodeClientMessage(const void* data, size_t size, std::shared_ptr<void> owner = nullptr,
                                      std::span<const uint8_t> attachment = {});
Result<WorkerMsg> decodeWorkerMessage(const void* data, size_t size, std::shared_ptr<void> owner = nullptr,
                                      std::span<const uint8_t> attachment = {});

std::vector<uint8_t> encodeHello(const HelloMsg& m);
std::vector<uint8_t> encodeCommands(const std::vector<Command>& cmds);
std::vector<uint8_t> encodeRequest(const RequestMsg& m);
std::vector<uint8_t> encodeBye();
// The message part; the bytes (unless failed or in shared memory) go as the frame after it.
std::vector<uint8_t> encodePeerBytes(const PeerBytesMsg& m);
// `body` of a WorkerMsg; `frame` is ignored.
std::vector<uint8_t> encodeWorkerMessage(uint64_t id, const decltype(WorkerMsg::body)& body);

// A recorded op as its command (GEMM or BLAS); false for kinds the protocol lacks.
bool opToCommand(const modnn_op& op, Command* out);
// The op a GEMM or BLAS command or support query carries.
modnn_op commandToOp(const GemmCmd& c);
modnn_op commandToOp(const BlasCmd& c);

// DeviceProps, shared with the scheduler protocol (worker registration).
void propsToWire(const modnn_device_props& p, schema::DeviceProps::Builder out);
Result<modnn_device_props> propsFromWire(schema::DeviceProps::Reader in);  // call inside a kj catch

}  // namespace moai::wire
