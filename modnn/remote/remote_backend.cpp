// The "remote" moDNN backend: devices that live in moai-worker daemons.
//
// To the client runtime a remote device is a device like any other; this
// module turns each call into a command for the worker. Leasing (from
// moai-sched, or a worker named directly) happens in modnn_backend_open.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "interpose/core/log.h"
#include "modnn/backend.h"
#include "modnn/remote/lease.h"
#include "modnn/remote/scheduler_client.h"
#include "modnn/remote/worker_connection.h"

namespace moai::remote {
namespace {

struct RemoteBuffer {
  uint64_t va;
  uint64_t size;
};

struct RemoteModule {
  uint64_t handle;
};

struct RemoteDevice;
modnn_status openLeaseDevices(const std::shared_ptr<Lease>& lease, const std::vector<LeasedDevice>& wanted,
                              std::vector<modnn_device>* out);

struct RemoteDevice {
  std::shared_ptr<WorkerConnection> conn;
  std::shared_ptr<Lease> lease;  // released when the last device goes
  uint32_t index = 0;
  std::vector<std::string> endpoints;  // its worker's, for worker->worker copies...
  std::string curve_key;               // ...and its tcp:// key
  modnn_device_props props{};
  std::mutex mu;
  std::set<uint64_t> uploaded;  // module hashes the worker has
  std::atomic<uint64_t> next_module{1};
  std::map<std::pair<uint64_t, std::string>, bool> kernel_support;
  std::map<std::tuple<int, int, int, int, int, int, int, int, bool>, bool> op_support;
};

RemoteDevice* dev(void* ctx) { return static_cast<RemoteDevice*>(ctx); }

wire::Command command(RemoteDevice* d) {
  wire::Command c;
  c.device = d->index;
  return c;
}

void getProps(void* ctx, modnn_device_props* out) {
  size_t sz = out->struct_size;
  std::memcpy(out, &dev(ctx)->props, std::min(sz, sizeof(modnn_device_props)));
  out->struct_size = sz;
}

modnn_status bufferAlloc(void* ctx, uint64_t va, uint64_t size, modnn_buffer** out) {
  RemoteDevice* d = dev(ctx);
  auto c = command(d);
  c.body = wire::AllocCmd{va, size};
  d->conn->command(std::move(c));
  // cudaMalloc reports failure at once, so an allocation is a round trip.
  wire::RequestMsg r;
  r.device = d->index;
  r.body = wire::SyncReq{};
  auto reply = d->conn->request(r);
  if (!reply) return reply.error().code;
  *out = reinterpret_cast<modnn_buffer*>(new RemoteBuffer{va, size});
  return MODNN_OK;
}

void bufferFree(void* ctx, modnn_buffer* b) {
  RemoteDevice* d = dev(ctx);
  auto* rb = reinterpret_cast<RemoteBuffer*>(b);
  auto c = command(d);
  c.body = wire::FreeCmd{rb->va};
  d->conn->command(std::move(c));
  delete rb;
}

uint64_t vaOf(modnn_buffer* b, uint64_t off) { return reinterpret_cast<RemoteBuffer*>(b)->va + off; }

modnn_status bufferWrite(void* ctx, modnn_buffer* dst, uint64_t off, const void* src, uint64_t n) {
  return dev(ctx)->conn->write(dev(ctx)->index, vaOf(dst, off), src, n);
}

modnn_status bufferRead(void* ctx, modnn_buffer* src, uint64_t off, void* dst, uint64_t n) {
  return dev(ctx)->conn->read(dev(ctx)->index, vaOf(src, off), dst, n);
}

modnn_status bufferCopy(void* ctx, modnn_buffer* dst, uint64_t doff, modnn_buffer* src, uint64_t soff, uint64_t n) {
  auto c = command(dev(ctx));
  c.body = wire::CopyCmd{vaOf(dst, doff), vaOf(src, soff), n};
  dev(ctx)->conn->command(std::move(c));
  return MODNN_OK;
}

modnn_status bufferFill(void* ctx, modnn_buffer* dst, uint64_t off, uint64_t count, uint32_t value, uint32_t elem) {
  auto c = command(dev(ctx));
  c.body = wire::FillCmd{vaOf(dst, off), count, value, uint8_t(elem)};
  dev(ctx)->conn->command(std::move(c));
  return MODNN_OK;
}

Result<uint64_t> syncClock(RemoteDevice* d) {
  wire::RequestMsg r;
  r.device = d->index;
  r.body = wire::SyncReq{};
  auto reply = d->conn->request(r);
  if (!reply) return reply.error();
  auto* done = std::get_if<wire::DoneMsg>(&reply->body);
  if (!done) return makeError(MODNN_ERR_DEVICE_UNAVAILABLE, "unexpected reply to sync");
  return done->clock_ns;
}

modnn_status synchronize(void* ctx) {
  auto t = syncClock(dev(ctx));
  return t ? MODNN_OK : t.error().code;
}

uint64_t timestampNs(void* ctx) {
  auto t = syncClock(dev(ctx));
  return t ? *t : 0;  // the error itself surfaces at the next synchronize
}

void flush(void* ctx) { dev(ctx)->conn->flush(); }

void eventRecord(void* ctx, uint64_t event) {
  auto c = command(dev(ctx));
  c.body = wire::RecordEventCmd{event};
  dev(ctx)->conn->command(std::move(c));
}

modnn_status eventQuery(void* ctx, uint64_t event, bool wait, uint64_t* out_ns) {
  RemoteDevice* d = dev(ctx);
  wire::RequestMsg r;
  r.device = d->index;
  r.body = wire::QueryEventReq{event, wait};
  auto reply = d->conn->request(r);  // sends the batched commands, the record among them, first
  if (!reply) return reply.error().code;
  if (auto* done = std::get_if<wire::DoneMsg>(&reply->body)) {
    *out_ns = done->clock_ns;
    return MODNN_OK;
  }
  return MODNN_ERR_NOT_READY;
}

modnn_status bufferCopyToPeer(void* ctx, modnn_buffer* src, uint64_t soff, const modnn_device* peer,
                              modnn_buffer* dst, uint64_t doff, uint64_t n) {
  // A device of this backend has this very function in its table.
  if (!MODNN_HAS_ENTRY(peer->iface, buffer_copy_to_peer) || peer->iface->buffer_copy_to_peer != &bufferCopyToPeer)
    return MODNN_ERR_NOT_SUPPORTED;
  RemoteDevice* s = dev(ctx);
  RemoteDevice* p = dev(peer->ctx);
  if (s->lease != p->lease) return MODNN_ERR_NOT_SUPPORTED;  // only within one job
  // The peer's earlier commands (say, a memset of dst) are still batched on
  // our connection to it: they must run before the bytes land.
  if (modnn_status st = synchronize(peer->ctx); st != MODNN_OK) return st;
  auto c = command(s);
  c.body = wire::CopyToPeerCmd{vaOf(src, soff), n, p->endpoints, p->index, vaOf(dst, doff), p->curve_key};
  s->conn->command(std::move(c));
  return synchronize(ctx);  // the source worker has had the peer confirm the bytes
}

// How long a worker waits for a one-way copy's bytes before failing the job
// ($MOAI_PEER_TIMEOUT seconds): the sender may first have long work queued.
uint32_t peerTimeoutMs() {
  static const uint32_t ms = [] {
    const char* s = std::getenv("MOAI_PEER_TIMEOUT");
    double secs = s ? std::atof(s) : 300.0;
    return uint32_t(std::clamp(secs, 0.001, 86400.0) * 1000);
  }();
  return ms;
}

std::atomic<uint64_t> g_next_transfer{1};  // ids of one-way copies, unique in this process

// Two one-way commands, no round trip: the source worker sends when its
// commands reach the send; the peer's commands after the await wait for
// the bytes. The send leaves at once, so the peer (which the client may be
// about to wait for) never waits on a batch still held here.
modnn_status bufferSendToPeer(void* ctx, modnn_buffer* src, uint64_t soff, const modnn_device* peer, modnn_buffer* dst,
                              uint64_t doff, uint64_t n) {
  // $MOAI_PEER_COPY=sync: every copy waits (diagnosis, and the baseline of test/bench/bench_devices_remote.py).
  static const bool sync_only = [] {
    const char* v = std::getenv("MOAI_PEER_COPY");
    return v && std::string(v) == "sync";
  }();
  if (sync_only || !MODNN_HAS_ENTRY(peer->iface, buffer_send_to_peer) ||
      peer->iface->buffer_send_to_peer != &bufferSendToPeer)
    return MODNN_ERR_NOT_SUPPORTED;
  RemoteDevice* s = dev(ctx);
  RemoteDevice* p = dev(peer->ctx);
  if (s->lease != p->lease) return MODNN_ERR_NOT_SUPPORTED;
  if (s->conn == p->conn) {
    // One worker runs both devices' commands in one order: a plain copy there.
    auto c = command(s);
    c.body = wire::CopyToPeerCmd{vaOf(src, soff), n, p->endpoints, p->index, vaOf(dst, doff), p->curve_key};
    s->conn->command(std::move(c));
    return MODNN_OK;
  }
  constexpr uint64_t kPiece = 4u << 20;  // one message each: the peer writes one while the next travels
  for (uint64_t done = 0; done < n;) {
    uint64_t piece = std::min(kPiece, n - done);
    uint64_t id = g_next_transfer++;
    auto send = command(s);
    send.body = wire::CopyToPeerCmd{vaOf(src, soff + done), piece, p->endpoints, p->index, vaOf(dst, doff + done),
                                    p->curve_key, id};
    s->conn->command(std::move(send));
    auto await = command(p);
    await.body = wire::AwaitPeerCmd{id, vaOf(dst, doff + done), piece, peerTimeoutMs(), s->endpoints};
    p->conn->command(std::move(await));
    done += piece;
  }
  s->conn->flush();
  return MODNN_OK;
}

modnn_status moduleLoad(void* ctx, const modnn_module_image* image, modnn_module** out) {
  RemoteDevice* d = dev(ctx);
  uint64_t hash = image->content_hash;
  bool have;
  {
    std::lock_guard<std::mutex> lock(d->mu);
    have = d->uploaded.count(hash) > 0;
  }
  if (!have) {
    wire::RequestMsg r;
    r.device = d->index;
    r.body = wire::HasModuleReq{hash};
    auto reply = d->conn->request(r);
    if (!reply) return reply.error().code;
    auto* flag = std::get_if<wire::FlagMsg>(&reply->body);
    if (!flag || !flag->value) {
      auto c = command(d);
      c.body = wire::ModuleUploadCmd{hash, {static_cast<const uint8_t*>(image->data), image->size},
                                     image->ptx ? std::string(image->ptx, image->ptx_size) : std::string()};
      d->conn->command(std::move(c));
    }
    std::lock_guard<std::mutex> lock(d->mu);
    d->uploaded.insert(hash);
  }
  wire::ModuleLoadCmd load;
  load.hash = hash;
  load.handle = d->next_module++;
  for (size_t i = 0; i < image->symbol_count; ++i)
    load.symbols.push_back(wire::SymbolEntry{image->symbols[i].name, image->symbols[i].va, image->symbols[i].size});
  uint64_t handle = load.handle;
  auto c = command(d);
  c.body = std::move(load);
  d->conn->command(std::move(c));
  *out = reinterpret_cast<modnn_module*>(new RemoteModule{handle});
  return MODNN_OK;
}

void moduleUnload(void*, modnn_module* m) { delete reinterpret_cast<RemoteModule*>(m); }

bool supportsKernel(void* ctx, modnn_module* m, const char* name) {
  RemoteDevice* d = dev(ctx);
  auto key = std::make_pair(reinterpret_cast<RemoteModule*>(m)->handle, std::string(name));
  {
    std::lock_guard<std::mutex> lock(d->mu);
    if (auto it = d->kernel_support.find(key); it != d->kernel_support.end()) return it->second;
  }
  wire::RequestMsg r;
  r.device = d->index;
  r.body = wire::SupportsKernelReq{key.first, key.second};
  auto reply = d->conn->request(r);
  auto* flag = reply ? std::get_if<wire::FlagMsg>(&reply->body) : nullptr;
  bool ok = flag && flag->value;
  std::lock_guard<std::mutex> lock(d->mu);
  d->kernel_support[key] = ok;
  return ok;
}

modnn_status launchKernel(void* ctx, const modnn_kernel_launch* l) {
  auto c = command(dev(ctx));
  wire::LaunchCmd cmd;
  cmd.module = reinterpret_cast<RemoteModule*>(l->module)->handle;
  cmd.kernel = l->kernel_name;
  std::memcpy(cmd.grid, l->grid, sizeof cmd.grid);
  std::memcpy(cmd.block, l->block, sizeof cmd.block);
  cmd.dynamic_shared = l->dynamic_shared_bytes;
  cmd.params = {static_cast<const uint8_t*>(l->params), l->param_bytes};
  if (MODNN_STRUCT_HAS(l, modnn_kernel_launch, block_end)) {
    cmd.block_begin = l->block_begin;
    cmd.block_end = l->block_end;
  }
  if (MODNN_STRUCT_HAS(l, modnn_kernel_launch, quiet)) cmd.quiet = l->quiet;
  c.body = std::move(cmd);
  dev(ctx)->conn->command(std::move(c));
  return MODNN_OK;
}

// Whether the worker's device runs an op depends on its kind, routine and
// types, not its sizes or addresses: answers are cached by those.
using OpKey = std::tuple<int, int, int, int, int, int, int, int, bool>;

OpKey opKey(const modnn_op& op) {
  if (op.kind == MODNN_OP_BLAS) return {int(op.kind), int(op.u.blas.fn), int(op.u.blas.type), 0, 0, 0, 0, 0, false};
  const modnn_gemm& g = op.u.gemm;
  return {int(op.kind), int(g.a_type), int(g.b_type), int(g.c_type), int(g.d_type), int(g.compute_type),
          int(g.scale_type), int(g.epilogue), g.pointer_arrays};
}

bool supportsOp(void* ctx, const modnn_op* op) {
  RemoteDevice* d = dev(ctx);
  wire::Command probe;
  if (!wire::opToCommand(*op, &probe)) return false;
  OpKey key = opKey(*op);
  {
    std::lock_guard<std::mutex> lock(d->mu);
    if (auto it = d->op_support.find(key); it != d->op_support.end()) return it->second;
  }
  wire::RequestMsg r;
  r.device = d->index;
  if (auto* g = std::get_if<wire::GemmCmd>(&probe.body))
    r.body = wire::SupportsGemmReq{g->gemm};
  else
    r.body = wire::SupportsBlasReq{std::get<wire::BlasCmd>(probe.body).blas};
  auto reply = d->conn->request(r);
  auto* flag = reply ? std::get_if<wire::FlagMsg>(&reply->body) : nullptr;
  bool ok = flag && flag->value;
  std::lock_guard<std::mutex> lock(d->mu);
  d->op_support[key] = ok;
  return ok;
}

modnn_status runOp(void* ctx, const modnn_op* op) {
  auto c = command(dev(ctx));
  if (!wire::opToCommand(*op, &c)) return MODNN_ERR_NOT_SUPPORTED;
  dev(ctx)->conn->command(std::move(c));
  return MODNN_OK;
}

// The open devices of each lease, by (worker, index on it): a resize keeps
// them and opens only what is new.
std::mutex g_leases_mu;
std::map<Lease*, std::map<std::pair<std::string, uint32_t>, RemoteDevice*>> g_lease_devices;

void destroy(void* ctx) {
  RemoteDevice* d = dev(ctx);
  {
    std::lock_guard<std::mutex> lock(g_leases_mu);
    auto it = g_lease_devices.find(d->lease.get());
    if (it != g_lease_devices.end()) {
      std::erase_if(it->second, [&](const auto& kv) { return kv.second == d; });
      if (it->second.empty()) g_lease_devices.erase(it);
    }
  }
  delete d;
}

// A worker's GPU chooses (or takes the hint); a CPU worker answers 0.
modnn_status reserveAddressRange(void* ctx, uint64_t size, uint64_t hint, uint64_t* out_base, bool* out_host_held) {
  RemoteDevice* d = dev(ctx);
  wire::RequestMsg r;
  r.device = d->index;
  r.body = wire::ReserveRangeReq{hint, size};
  auto reply = d->conn->request(r);
  if (!reply) {
    moai::log().error("{}", reply.error().message);
    return reply.error().code;
  }
  auto* reserved = std::get_if<wire::ReservedMsg>(&reply->body);
  if (!reserved) return MODNN_ERR_UNKNOWN;
  *out_base = reserved->base;
  *out_host_held = false;  // the range is held in the worker's process, not here
  return MODNN_OK;
}

int leaseDevices(void* ctx, modnn_device* out, int capacity);
void leaseConfirm(void* ctx) { confirmResize(*dev(ctx)->lease); }
uint64_t memoryQuota(void* ctx) { return dev(ctx)->lease->memory_quota.load(std::memory_order_relaxed); }
// The keepalive thread sends it on when it changed.
void memoryForecast(void* ctx, uint64_t predicted_peak, uint64_t peak_allocated) {
  Lease& lease = *dev(ctx)->lease;
  lease.predicted_peak.store(predicted_peak, std::memory_order_relaxed);
  lease.peak_allocated.store(peak_allocated, std::memory_order_relaxed);
}

const modnn_device_i kRemoteDevice = {
    .struct_size = sizeof(modnn_device_i),
    .get_props = getProps,
    .buffer_alloc = bufferAlloc,
    .buffer_free = bufferFree,
    .buffer_write = bufferWrite,
    .buffer_read = bufferRead,
    .buffer_copy = bufferCopy,
    .buffer_fill = bufferFill,
    .buffer_host_pointer = nullptr,
    .synchronize = synchronize,
    .timestamp_ns = timestampNs,
    .flush = flush,
    .module_load = moduleLoad,
    .module_unload = moduleUnload,
    .supports_kernel = supportsKernel,
    .launch_kernel = launchKernel,
    .supports_op = supportsOp,
    .run_op = runOp,
    .destroy = destroy,
    .reserve_address_range = reserveAddressRange,
    .buffer_copy_to_peer = bufferCopyToPeer,
    .event_record = eventRecord,
    .event_query = eventQuery,
    .lease_devices = leaseDevices,
    .lease_confirm = leaseConfirm,
    .memory_forecast = memoryForecast,
    .memory_quota = memoryQuota,
    .buffer_send_to_peer = bufferSendToPeer,
};

// Devices for `wanted`, reusing the lease's open ones. One connection per
// worker, shared by that worker's devices; a worker new to the job gets a
// connection (and a session) of its own.
modnn_status openLeaseDevices(const std::shared_ptr<Lease>& lease, const std::vector<LeasedDevice>& wanted,
                              std::vector<modnn_device>* out) {
  std::lock_guard<std::mutex> lock(g_leases_mu);
  auto& open = g_lease_devices[lease.get()];
  std::map<std::string, std::shared_ptr<WorkerConnection>> conns;
  for (auto& [key, d] : open) conns[key.first] = d->conn;
  std::map<std::string, bool> fresh;  // connections opened now: they know the whole grant
  for (const auto& ld : wanted) {
    if (auto it = open.find({ld.worker_id, ld.index}); it != open.end()) {
      out->push_back(modnn_device{&kRemoteDevice, it->second});
      continue;
    }
    auto& conn = conns[ld.worker_id];
    if (conn && !fresh[ld.worker_id]) {
      // The worker's session for this job opened its devices at hello.
      log().warn("job {}: a new device on worker {}, which already serves the job, is not used yet", lease->job_id,
                 ld.worker_id);
      continue;
    }
    if (!conn) {
      auto c = WorkerConnection::open(ld.endpoints, lease->job_id, lease->token, ld.curve_key);
      if (!c) {
        log().error("{}", c.error().message);
        return c.error().code;
      }
      conn = std::move(c).value();
      fresh[ld.worker_id] = true;
    }
    // The worker numbers the job's devices by their index on that worker.
    uint32_t local = 0;
    for (const auto& other : wanted)
      if (other.worker_id == ld.worker_id && other.index < ld.index) ++local;
    if (local >= conn->devices().size()) return MODNN_ERR_DEVICE_UNAVAILABLE;
    auto* d = new RemoteDevice;
    d->conn = conn;
    d->lease = lease;
    d->index = local;
    d->endpoints = ld.endpoints;
    d->curve_key = ld.curve_key;
    d->props = conn->devices()[local];
    open[{ld.worker_id, ld.index}] = d;
    out->push_back(modnn_device{&kRemoteDevice, d});
  }
  return out->empty() ? MODNN_ERR_DEVICE_UNAVAILABLE : MODNN_OK;
}

int leaseDevices(void* ctx, modnn_device* out, int capacity) {
  RemoteDevice* d = dev(ctx);
  auto change = takeLeaseChange(*d->lease);
  if (!change) return 0;
  std::vector<modnn_device> devices;
  if (openLeaseDevices(d->lease, *change, &devices) != MODNN_OK) return 0;
  int n = 0;
  for (auto& x : devices)
    if (n < capacity) out[n++] = x;
  return n;
}


}  // namespace
}  // namespace moai::remote

extern "C" __attribute__((visibility("default"))) modnn_status modnn_backend_open(
    const modnn_backend_config* config, modnn_device* out, int capacity, int* out_count) {
  using namespace moai::remote;
  if (!config || config->struct_size < sizeof(modnn_backend_config) || !out || !out_count)
    return MODNN_ERR_INVALID_VALUE;
  if (config->abi_version != MODNN_BACKEND_ABI_VERSION) return MODNN_ERR_NOT_SUPPORTED;
  auto lease = acquireLease(*config);
  if (!lease) {
    moai::log().error("{}", lease.error().message);
    return lease.error().code;
  }
  std::vector<modnn_device> devices;
  if (modnn_status st = openLeaseDevices(*lease, (*lease)->devices, &devices); st != MODNN_OK) return st;
  int n = 0;
  for (auto& d : devices) {
    if (n < capacity)
      out[n++] = d;
    else
      destroy(d.ctx);
  }
  *out_count = n;
  return n ? MODNN_OK : MODNN_ERR_DEVICE_UNAVAILABLE;
}
