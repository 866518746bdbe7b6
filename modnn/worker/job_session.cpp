#include "modnn/worker/job_session.h"

#include <chrono>
#include <algorithm>
#include <cstring>

namespace moai::worker {
namespace {

uint64_t nowNs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

constexpr uint64_t kAttachAbove = 64u << 10;  // larger read replies travel as their own frame

JobSession::Reply errorReply(uint64_t id, modnn_status st, const std::string& why) {
  return {wire::encodeWorkerMessage(id, wire::ErrorMsg{uint32_t(st), why.empty() ? modnn_status_string(st) : why}), {}};
}

JobSession::Reply reply(uint64_t id, const decltype(wire::WorkerMsg::body)& body) {
  return {wire::encodeWorkerMessage(id, body), {}};
}

}  // namespace

JobSession::JobSession(Identity identity, std::vector<modnn_device> devices, ModuleStore& store,
                       std::unique_ptr<ShmSegment> shm)
    : id_(std::move(identity)), devices_(std::move(devices)), state_(devices_.size()),
      allocated_(new std::atomic<uint64_t>[devices_.size()]()), store_(store), shm_(std::move(shm)) {}

JobSession::~JobSession() {
  for (auto& [endpoint, conn] : peers_) conn->bye();
  for (size_t d = 0; d < devices_.size(); ++d) {
    const modnn_device_i& i = *devices_[d].iface;
    for (auto& [handle, m] : state_[d].modules)
      if (i.module_unload) i.module_unload(devices_[d].ctx, m);
    for (auto& [va, b] : state_[d].buffers) i.buffer_free(devices_[d].ctx, b.buffer);
    i.destroy(devices_[d].ctx);
  }
}

void JobSession::fail(modnn_status st, std::string why) {
  if (pending_ != MODNN_OK) return;  // the first error is the one CUDA reports
  pending_ = st;
  pending_why_ = std::move(why);
}

modnn_status JobSession::resolve(uint32_t d, uint64_t va, uint64_t size, Buffer** out, uint64_t* offset) {
  if (d >= devices_.size()) return MODNN_ERR_INVALID_DEVICE;
  auto& buffers = state_[d].buffers;
  auto it = buffers.upper_bound(va);
  if (it == buffers.begin()) return MODNN_ERR_INVALID_VALUE;
  --it;
  uint64_t off = va - it->first;
  if (off > it->second.size || size > it->second.size - off) return MODNN_ERR_INVALID_VALUE;
  *out = &it->second;
  *offset = off;
  return MODNN_OK;
}

remote::WorkerConnection* JobSession::peer(const std::vector<std::string>& endpoints, const std::string& key,
                                           std::string* why) {
  // Known by its tcp endpoint; reached over ipc:// when its socket is on
  // this host, with a ring of its own for one-way copies' bytes.
  auto tcp = std::find_if(endpoints.begin(), endpoints.end(), [](const std::string& e) { return e.rfind("tcp://", 0) == 0; });
  if (tcp == endpoints.end()) {
    *why = "the peer worker has no tcp endpoint";
    return nullptr;
  }
  auto& conn = peers_[*tcp];
  if (!conn) {
    auto c = remote::WorkerConnection::open(endpoints, id_.job_id, id_.token, key, /*peer=*/true);
    if (!c) {
      *why = "peer worker " + *tcp + ": " + c.error().message;
      peers_.erase(*tcp);
      return nullptr;
    }
    conn = std::move(c).value();
  }
  return conn.get();
}

bool JobSession::isSelf(const std::vector<std::string>& endpoints) const {
  for (const auto& e : endpoints)
    for (const auto& mine : id_.self_endpoints)
      if (e == mine) return true;
  return false;
}

// Synchronous: bytes go device -> this worker's host -> the peer, in bounded
// chunks; the copy is complete (or has failed) when the command has run,
// because the peer is asked to synchronise after the last chunk.
modnn_status JobSession::copyToPeer(uint32_t d, const wire::CopyToPeerCmd& c, std::string* why) {
  if (c.transfer) return sendToPeer(d, c, why);
  constexpr uint64_t kChunk = 16u << 20;
  Buffer* src;
  uint64_t src_off;
  if (modnn_status st = resolve(d, c.src, c.size, &src, &src_off); st != MODNN_OK) return st;
  const modnn_device_i& dev = *devices_[d].iface;
  void* ctx = devices_[d].ctx;
  bool local = isSelf(c.peer_endpoints);
  Buffer* dst = nullptr;
  uint64_t dst_off = 0;
  remote::WorkerConnection* conn = nullptr;
  if (local) {
    if (modnn_status st = resolve(c.peer_device, c.dst, c.size, &dst, &dst_off); st != MODNN_OK) return st;
    if (c.peer_device == d) return dev.buffer_copy(ctx, dst->buffer, dst_off, src->buffer, src_off, c.size);
  } else if (!(conn = peer(c.peer_endpoints, c.peer_key, why))) {
    return MODNN_ERR_DEVICE_UNAVAILABLE;
  }
  std::vector<uint8_t> staging(std::min(c.size, kChunk));
  for (uint64_t done = 0; done < c.size;) {
    uint64_t n = std::min(kChunk, c.size - done);
    if (modnn_status st = dev.buffer_read(ctx, src->buffer, src_off + done, staging.data(), n); st != MODNN_OK)
      return st;
    modnn_status st = local ? devices_[c.peer_device].iface->buffer_write(devices_[c.peer_device].ctx, dst->buffer,
                                                                          dst_off + done, staging.data(), n)
                            : conn->write(c.peer_device, c.dst + done, staging.data(), n);
    if (st != MODNN_OK) return st;
    done += n;
  }
  if (local) return MODNN_OK;
  wire::RequestMsg sync;
  sync.device = c.peer_device;
  sync.body = wire::SyncReq{};
  auto landed = conn->request(sync);
  if (!landed) {
    *why = "peer worker: " + landed.error().message;
    return landed.error().code;
  }
  return MODNN_OK;
}

// One-way: the bytes are read now, in this device's order, and handed to the
// peer, which writes them when its own commands reach the AwaitPeer for this
// transfer. Nothing here waits for the peer, so two workers sending to each
// other never wait for each other. A source that cannot be read is reported
// to the peer as well, so its wait fails at once rather than timing out.
modnn_status JobSession::sendToPeer(uint32_t d, const wire::CopyToPeerCmd& c, std::string* why) {
  bool local = isSelf(c.peer_endpoints);
  remote::WorkerConnection* conn = local ? nullptr : peer(c.peer_endpoints, c.peer_key, why);
  if (!local && !conn) return MODNN_ERR_DEVICE_UNAVAILABLE;
  wire::PeerBytesMsg m;
  m.transfer = c.transfer;
  m.device = c.peer_device;
  m.dst = c.dst;
  std::vector<uint8_t> bytes;
  Buffer* src = nullptr;
  uint64_t off = 0;
  modnn_status st = resolve(d, c.src, c.size, &src, &off);
  if (st == MODNN_OK && c.size > kMaxWaitingBytes) st = MODNN_ERR_INVALID_VALUE;
  // Same host: straight from the device into the ring the peer reads.
  uint64_t pos = 0;
  uint8_t* space = st == MODNN_OK && conn ? conn->peerRingSpace(c.size, &pos) : nullptr;
  if (space) {
    st = devices_[d].iface->buffer_read(devices_[d].ctx, src->buffer, off, space, c.size);
    if (st == MODNN_OK) {
      if (modnn_status sent = conn->sendPeerBytesInRing(m, pos, c.size); sent != MODNN_OK) {
        *why = "peer worker " + conn->endpoint() + " is gone";
        return sent;
      }
      return MODNN_OK;
    }
  }
  if (st == MODNN_OK) {
    bytes.resize(c.size);
    st = devices_[d].iface->buffer_read(devices_[d].ctx, src->buffer, off, bytes.data(), c.size);
  }
  if (st != MODNN_OK) {
    m.failed = true;
    m.why = std::string("the sending worker could not read the copy's source: ") + modnn_status_string(st);
    bytes.clear();
  }
  if (local) {
    Arrival a{m.device, m.dst, nullptr, {}, m.failed, m.why};
    auto held = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
    a.bytes = *held;
    a.keep = held;
    keepArrival(m.transfer, std::move(a));
    return st;
  }
  if (modnn_status sent = conn->sendPeerBytes(m, std::move(bytes)); sent != MODNN_OK) {
    *why = "peer worker " + conn->endpoint() + " is gone";
    return sent;
  }
  return st;
}

void JobSession::keepArrival(uint64_t transfer, Arrival a) {
  {
    std::lock_guard<std::mutex> lock(arrivals_mu_);
    if (waiting_bytes_ + a.bytes.size() > kMaxWaitingBytes) {
      a = Arrival{a.device, a.dst, nullptr, {}, true, "more than 2 GiB of peer bytes waiting for their AwaitPeer"};
    } else if (arrivals_.count(transfer)) {
      a = Arrival{a.device, a.dst, nullptr, {}, true, "two transfers with one id"};
    }
    if (auto it = arrivals_.find(transfer); it != arrivals_.end()) {
      waiting_bytes_ -= it->second.bytes.size();
      arrivals_.erase(it);
    }
    waiting_bytes_ += a.bytes.size();
    arrivals_.emplace(transfer, std::move(a));
  }
  arrived_.notify_all();
}

void JobSession::deposit(wire::ClientMsg msg, std::shared_ptr<PeerRing> ring) {
  auto held = std::make_shared<wire::ClientMsg>(std::move(msg));
  auto* p = std::get_if<wire::PeerBytesMsg>(&held->body);
  if (!p) return;
  Arrival a{p->device, p->dst, nullptr, p->bytes, p->failed, "peer worker: " + p->why};
  uint64_t transfer = p->transfer;
  if (p->in_shm) {
    a.keep = ring ? ring->hold(p->shm_offset, p->shm_size, &a.bytes) : nullptr;  // given back once written
    if (!a.keep) a = Arrival{p->device, p->dst, nullptr, {}, true, "a peer named bytes outside its shared ring"};
  } else {
    a.keep = std::move(held);
  }
  keepArrival(transfer, std::move(a));
}

void JobSession::cancelWaits() {
  {
    std::lock_guard<std::mutex> lock(arrivals_mu_);
    cancelled_ = true;
  }
  arrived_.notify_all();
}

// Waits (bounded) for the transfer's bytes, then writes them in this
// device's order: the commands after it see them, the ones before it did
// not. Gives up early when this worker's own link to the sender has dropped.
modnn_status JobSession::awaitPeer(uint32_t d, const wire::AwaitPeerCmd& c, std::string* why) {
  Buffer* dst;
  uint64_t off;
  if (modnn_status st = resolve(d, c.dst, c.size, &dst, &off); st != MODNN_OK) return st;
  remote::WorkerConnection* sender = nullptr;
  for (const auto& e : c.sender_endpoints)
    if (auto it = peers_.find(e); it != peers_.end()) sender = it->second.get();
  auto started = std::chrono::steady_clock::now();
  auto deadline = started + std::chrono::milliseconds(c.timeout_ms);
  struct Waited {  // however the wait ends
    std::chrono::steady_clock::time_point since;
    uint64_t* out;
    ~Waited() { *out = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since).count()); }
  };
  Arrival a;
  {
    Waited waited{started, &last_wait_ns_};
    std::unique_lock<std::mutex> lock(arrivals_mu_);
    for (;;) {
      if (auto it = arrivals_.find(c.transfer); it != arrivals_.end()) {
        a = std::move(it->second);
        waiting_bytes_ -= a.bytes.size();
        arrivals_.erase(it);
        break;
      }
      if (cancelled_) return MODNN_ERR_DEVICE_UNAVAILABLE;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        *why = "the bytes of a copy from peer worker " + c.sender_endpoints.front() + " did not arrive within " +
               std::to_string(c.timeout_ms) + " ms";
        return MODNN_ERR_DEVICE_UNAVAILABLE;
      }
      arrived_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(50)));
      if (sender && arrivals_.find(c.transfer) == arrivals_.end()) {
        lock.unlock();
        bool up = sender->alive();
        lock.lock();
        if (!up) {
          *why = "peer worker " + c.sender_endpoints.front() + " is gone; a copy from it never arrived";
          return MODNN_ERR_DEVICE_UNAVAILABLE;
        }
      }
    }
  }
  if (a.failed) {
    *why = a.why;
    return MODNN_ERR_DEVICE_UNAVAILABLE;
  }
  if (a.device != d || a.dst != c.dst || a.bytes.size() != c.size) {
    *why = "a peer's bytes do not match the copy waiting for them";
    return MODNN_ERR_INVALID_VALUE;
  }
  return devices_[d].iface->buffer_write(devices_[d].ctx, dst->buffer, off, a.bytes.data(), c.size);
}

std::optional<uint64_t> JobSession::eventTime(uint64_t event) const {
  std::lock_guard<std::mutex> lock(events_mu_);
  auto it = events_.find(event);
  if (it == events_.end()) return std::nullopt;
  return it->second;
}

void JobSession::execute(const wire::Command& cmd) {
  last_wait_ns_ = 0;
  std::string why;
  modnn_status st = run(cmd, &why);
  if (st != MODNN_OK) fail(st, why);
}

modnn_status JobSession::run(const wire::Command& cmd, std::string* why) {
  uint32_t d = cmd.device;
  if (d >= devices_.size()) return MODNN_ERR_INVALID_DEVICE;
  const modnn_device_i& dev = *devices_[d].iface;
  void* ctx = devices_[d].ctx;
  DeviceState& state = state_[d];

  if (auto* c = std::get_if<wire::AllocCmd>(&cmd.body)) {
    if (c->va + c->size < c->va) return MODNN_ERR_INVALID_VALUE;
    auto next = state.buffers.lower_bound(c->va);
    if (next != state.buffers.end() && next->first < c->va + std::max<uint64_t>(c->size, 1))
      return MODNN_ERR_INVALID_VALUE;
    if (next != state.buffers.begin()) {
      auto prev = std::prev(next);
      if (prev->first + std::max<uint64_t>(prev->second.size, 1) > c->va) return MODNN_ERR_INVALID_VALUE;
    }
    if (uint64_t quota = quota_.load(std::memory_order_relaxed);
        quota && (c->size > quota || allocated_[d] > quota - c->size)) {
      *why = "the job's memory quota on this shared device is " + std::to_string(quota >> 20) + " MiB; it holds " +
             std::to_string(allocated_[d] >> 20) + " MiB and asked for " + std::to_string(c->size >> 20) + " MiB more";
      return MODNN_ERR_OUT_OF_MEMORY;
    }
    Buffer b{c->size, nullptr};
    if (modnn_status st = dev.buffer_alloc(ctx, c->va, c->size, &b.buffer); st != MODNN_OK) return st;
    state.buffers.emplace(c->va, b);
    allocated_[d] += c->size;
    return MODNN_OK;
  }
  if (auto* c = std::get_if<wire::FreeCmd>(&cmd.body)) {
    auto it = state.buffers.find(c->va);
    if (it == state.buffers.end()) return MODNN_ERR_INVALID_VALUE;
    dev.buffer_free(ctx, it->second.buffer);
    allocated_[d] -= it->second.size;
    state.buffers.erase(it);
    return MODNN_OK;
  }
  if (auto* c = std::get_if<wire::WriteCmd>(&cmd.body)) {
    Buffer* b;
    uint64_t off;
    uint64_t n = c->in_shm ? c->shm_size : c->bytes.size();
    if (modnn_status st = resolve(d, c->va, n, &b, &off); st != MODNN_OK) return st;
    if (!c->in_shm) return dev.buffer_write(ctx, b->buffer, off, c->bytes.data(), n);
    if (!shm_) return MODNN_ERR_INVALID_VALUE;
    // shm_offset is the chunk's position in the client's write stream; the
    // ring holds it at that position modulo the ring size, unwrapped.
    uint64_t ring = shm_->ringBytes(), at = c->shm_offset % ring;
    if (n > ring - at || c->shm_offset < ring_consumed_) return MODNN_ERR_INVALID_VALUE;
    modnn_status st = dev.buffer_write(ctx, b->buffer, off, shm_->ring() + at, n);
    ring_consumed_ = c->shm_offset + n;
    shm_->ringConsumed().store(ring_consumed_, std::memory_order_release);
    return st;
  }
  if (auto* c = std::get_if<wire::ModuleUploadCmd>(&cmd.body)) {
    store_.put(c->hash, c->fatbin, c->ptx);
    return MODNN_OK;
  }
  if (auto* c = std::get_if<wire::CopyToPeerCmd>(&cmd.body)) return copyToPeer(d, *c, why);
  if (auto* c = std::get_if<wire::AwaitPeerCmd>(&cmd.body)) return awaitPeer(d, *c, why);
  if (auto* c = std::get_if<wire::RecordEventCmd>(&cmd.body)) {
    uint64_t t = dev.timestamp_ns(ctx);  // once the device has run everything before it
    std::lock_guard<std::mutex> lock(events_mu_);
    events_[c->event] = t;
    if (events_.size() > kMaxEvents) events_.erase(events_.begin());
    return MODNN_OK;
  }
  if (auto* c = std::get_if<wire::CopyCmd>(&cmd.body)) {
    Buffer *db, *sb;
    uint64_t doff, soff;
    if (modnn_status st = resolve(d, c->dst, c->size, &db, &doff); st != MODNN_OK) return st;
    if (modnn_status st = resolve(d, c->src, c->size, &sb, &soff); st != MODNN_OK) return st;
    return dev.buffer_copy(ctx, db->buffer, doff, sb->buffer, soff, c->size);
  }
  if (auto* c = std::get_if<wire::FillCmd>(&cmd.body)) {
    uint64_t bytes;
    if (__builtin_mul_overflow(c->count, uint64_t(c->elem_size), &bytes)) return MODNN_ERR_INVALID_VALUE;
    Buffer* b;
    uint64_t off;
    if (modnn_status st = resolve(d, c->va, bytes, &b, &off); st != MODNN_OK) return st;
    return dev.buffer_fill(ctx, b->buffer, off, c->count, c->value, c->elem_size);
  }
  if (auto* c = std::get_if<wire::ModuleLoadCmd>(&cmd.body)) {
    auto m = store_.get(c->hash);
    if (!m) {
      *why = "module was never uploaded";
      return MODNN_ERR_INVALID_IMAGE;
    }
    if (state.modules.count(c->handle)) return MODNN_ERR_INVALID_VALUE;
    std::vector<modnn_module_symbol> symbols;
    for (const auto& s : c->symbols) {
      Buffer* b;
      uint64_t off;
      if (modnn_status st = resolve(d, s.va, s.size, &b, &off); st != MODNN_OK) return st;
      symbols.push_back(modnn_module_symbol{s.name.c_str(), s.va, s.size});
    }
    if (!dev.module_load) {
      state.modules.emplace(c->handle, nullptr);  // the device runs no kernels; launches will say so
      return MODNN_OK;
    }
    modnn_module_image image{};
    image.struct_size = sizeof image;
    image.data = m->fatbin.data();
    image.size = m->fatbin.size();
    image.content_hash = m->hash;
    image.ptx = m->ptx.empty() ? nullptr : m->ptx.c_str();
    image.ptx_size = m->ptx.size();
    image.symbols = symbols.data();
    image.symbol_count = symbols.size();
    modnn_module* loaded = nullptr;
    if (modnn_status st = dev.module_load(ctx, &image, &loaded); st != MODNN_OK) return st;
    state.modules.emplace(c->handle, loaded);
    return MODNN_OK;
  }
  if (auto* c = std::get_if<wire::LaunchCmd>(&cmd.body)) {
    auto it = state.modules.find(c->module);
    if (it == state.modules.end()) return MODNN_ERR_INVALID_HANDLE;
    if (!it->second || !dev.supports_kernel || !dev.launch_kernel ||
        !dev.supports_kernel(ctx, it->second, c->kernel.c_str()))
      return MODNN_ERR_NO_KERNEL_IMAGE;
    modnn_kernel_launch l{};
    l.struct_size = sizeof l;
    l.module = it->second;
    l.kernel_name = c->kernel.c_str();
    std::memcpy(l.grid, c->grid, sizeof l.grid);
    std::memcpy(l.block, c->block, sizeof l.block);
    l.dynamic_shared_bytes = c->dynamic_shared;
    l.params = c->params.data();
    l.param_bytes = uint32_t(c->params.size());
    l.block_begin = c->block_begin;
    l.block_end = c->block_end;
    l.quiet = c->quiet;
    return dev.launch_kernel(ctx, &l);
  }
  // Ops name device addresses the backend translates through this job's own
  // buffer table (the job's device contexts know no other job's buffers).
  modnn_op op{};
  if (auto* c = std::get_if<wire::GemmCmd>(&cmd.body))
    op = wire::commandToOp(*c);
  else if (auto* c = std::get_if<wire::BlasCmd>(&cmd.body))
    op = wire::commandToOp(*c);
  else
    return MODNN_ERR_INVALID_VALUE;
  if (!dev.supports_op || !dev.run_op || !dev.supports_op(ctx, &op)) return MODNN_ERR_NOT_SUPPORTED;
  return dev.run_op(ctx, &op);
}

JobSession::Reply JobSession::answer(const wire::RequestMsg& req) {
  uint32_t d = req.device;
  if (d >= devices_.size()) return errorReply(req.id, MODNN_ERR_INVALID_DEVICE, "");
  const modnn_device_i& dev = *devices_[d].iface;
  void* ctx = devices_[d].ctx;

  if (std::holds_alternative<wire::PropsReq>(req.body)) {
    wire::PropsMsg m;
    m.props.struct_size = sizeof m.props;
    dev.get_props(ctx, &m.props);
    return reply(req.id, m);
  }
  if (auto* r = std::get_if<wire::HasModuleReq>(&req.body))
    return reply(req.id, wire::FlagMsg{store_.get(r->hash) != nullptr});
  if (auto* r = std::get_if<wire::SupportsKernelReq>(&req.body)) {
    auto it = state_[d].modules.find(r->module);
    bool ok = it != state_[d].modules.end() && it->second && dev.supports_kernel &&
              dev.supports_kernel(ctx, it->second, r->kernel.c_str());
    return reply(req.id, wire::FlagMsg{ok});
  }
  if (auto* r = std::get_if<wire::SupportsGemmReq>(&req.body)) {
    modnn_op op = wire::commandToOp(wire::GemmCmd{r->gemm});
    return reply(req.id, wire::FlagMsg{dev.supports_op && dev.supports_op(ctx, &op)});
  }
  if (auto* r = std::get_if<wire::ReserveRangeReq>(&req.body)) {
    // Every device of the job that needs one gets the same range: the
    // first chooses (or takes the hint), the others must take it too.
    uint64_t base = r->hint;
    for (auto& dv : devices_) {
      if (!MODNN_HAS_ENTRY(dv.iface, reserve_address_range)) continue;
      uint64_t got = 0;
      bool host_held = false;
      modnn_status st = dv.iface->reserve_address_range(dv.ctx, r->size, base, &got, &host_held);
      if (st != MODNN_OK)
        return errorReply(req.id, st, "cannot reserve the job's device address range on this worker's GPU");
      base = got;
    }
    return reply(req.id, wire::ReservedMsg{base});
  }
  if (auto* r = std::get_if<wire::SupportsBlasReq>(&req.body)) {
    modnn_op op = wire::commandToOp(wire::BlasCmd{r->blas});
    return reply(req.id, wire::FlagMsg{dev.supports_op && dev.supports_op(ctx, &op)});
  }

  // Reads and syncs report the first error of the commands before them.
  if (pending_ != MODNN_OK) {
    modnn_status st = pending_;
    pending_ = MODNN_OK;
    return errorReply(req.id, st, std::exchange(pending_why_, {}));
  }
  // Reported after the job's pending error, as cudaEventSynchronize does.
  if (auto* r = std::get_if<wire::QueryEventReq>(&req.body)) {
    // In the job's order: every earlier command, the record among them, has run.
    if (auto t = eventTime(r->event)) return reply(req.id, wire::DoneMsg{*t});
    return errorReply(req.id, MODNN_ERR_INVALID_HANDLE, "event never recorded (or long forgotten)");
  }
  if (std::holds_alternative<wire::SyncReq>(req.body)) {
    for (auto& dv : devices_)
      if (modnn_status st = dv.iface->synchronize(dv.ctx); st != MODNN_OK) return errorReply(req.id, st, "");
    return reply(req.id, wire::DoneMsg{nowNs()});
  }
  auto* r = std::get_if<wire::ReadReq>(&req.body);
  if (!r) return errorReply(req.id, MODNN_ERR_INVALID_VALUE, "unknown request");
  Buffer* b;
  uint64_t off;
  if (modnn_status st = resolve(d, r->va, r->size, &b, &off); st != MODNN_OK) return errorReply(req.id, st, "");
  if (shm_) {
    if (r->size > shm_->readAreaBytes()) return errorReply(req.id, MODNN_ERR_INVALID_VALUE, "read larger than the shared area");
    if (modnn_status st = dev.buffer_read(ctx, b->buffer, off, shm_->readArea(), r->size); st != MODNN_OK)
      return errorReply(req.id, st, "");
    return reply(req.id, wire::ShmDataMsg{0, r->size});
  }
  std::vector<uint8_t> bytes(r->size);
  if (modnn_status st = dev.buffer_read(ctx, b->buffer, off, bytes.data(), r->size); st != MODNN_OK)
    return errorReply(req.id, st, "");
  if (r->size <= kAttachAbove) return reply(req.id, wire::DataMsg{bytes});
  Reply out{wire::encodeWorkerMessage(req.id, wire::DataMsg{bytes, true}), {}};
  out.attachment = std::move(bytes);
  return out;
}

}  // namespace moai::worker
