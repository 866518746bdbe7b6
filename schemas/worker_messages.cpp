#include "worker_messages.h"

#include "decode_checks.h"

#include <kj/exception.h>

#include <algorithm>
#include <optional>
#include <cstring>

namespace moai::wire {
namespace {

using detail::guarded;
using detail::Invalid;
using detail::require;



std::string text(capnp::Text::Reader t, size_t max, const char* what) {
  require(t.size() <= max, what);
  return std::string(t.cStr(), t.size());
}

std::span<const uint8_t> bytes(capnp::Data::Reader d) { return {d.begin(), d.size()}; }

modnn_dtype dtype(uint8_t v) {
  require(v <= MODNN_DTYPE_MAX, "unknown dtype");
  return modnn_dtype(v);
}

modnn_gemm gemmFromWire(schema::Gemm::Reader g) {
  modnn_gemm out{};
  out.struct_size = sizeof out;
  out.trans_a = g.getTransA();
  out.trans_b = g.getTransB();
  out.conj_a = g.getConjA();
  out.conj_b = g.getConjB();
  out.m = g.getM();
  out.n = g.getN();
  out.k = g.getK();
  require(out.m >= 0 && out.n >= 0 && out.k >= 0, "negative gemm dimension");
  out.a = g.getA();
  out.b = g.getB();
  out.c = g.getC();
  out.d = g.getD();
  out.lda = g.getLda();
  out.ldb = g.getLdb();
  out.ldc = g.getLdc();
  out.ldd = g.getLdd();
  require(out.lda >= 0 && out.ldb >= 0 && out.ldc >= 0 && out.ldd >= 0, "negative leading dimension");
  out.batch = g.getBatch();
  require(out.batch >= 1, "gemm batch < 1");
  out.stride_a = g.getStrideA();
  out.stride_b = g.getStrideB();
  out.stride_c = g.getStrideC();
  out.stride_d = g.getStrideD();
  out.pointer_arrays = g.getPointerArrays();
  out.a_type = dtype(g.getAType());
  out.b_type = dtype(g.getBType());
  out.c_type = dtype(g.getCType());
  out.d_type = dtype(g.getDType());
  out.compute_type = dtype(g.getComputeType());
  out.allow_tf32 = g.getAllowTf32();
  out.scale_type = dtype(g.getScaleType());
  require(g.getAlpha().size() == 2 && g.getBeta().size() == 2, "alpha/beta need 2 entries");
  for (unsigned i = 0; i < 2; ++i) {
    out.alpha[i] = g.getAlpha()[i];
    out.beta[i] = g.getBeta()[i];
  }
  out.alpha_ptr = g.getAlphaPtr();
  out.beta_ptr = g.getBetaPtr();
  require(g.getEpilogue() <= MODNN_EPILOGUE_BGRADB, "unknown epilogue");
  out.epilogue = modnn_gemm_epilogue(g.getEpilogue());
  out.bias = g.getBias();
  out.bias_type = dtype(g.getBiasType());
  out.aux = g.getAux();
  out.ld_aux = g.getLdAux();
  out.aux_type = dtype(g.getAuxType());
  out.stride_bias = g.getStrideBias();
  out.stride_aux = g.getStrideAux();
  return out;
}

modnn_blas blasFromWire(schema::Blas::Reader b) {
  modnn_blas out{};
  out.struct_size = sizeof out;
  require(b.getFn() >= MODNN_BLAS_AXPY && b.getFn() <= MODNN_BLAS_SYRK, "unknown BLAS routine");
  out.fn = modnn_blas_fn(b.getFn());
  out.type = dtype(b.getType());
  out.m = b.getM();
  out.n = b.getN();
  out.k = b.getK();
  require(out.m >= 0 && out.n >= 0 && out.k >= 0, "negative BLAS dimension");
  out.x = b.getX();
  out.y = b.getY();
  out.incx = b.getIncx();
  out.incy = b.getIncy();
  out.a = b.getA();
  out.b = b.getB();
  out.c = b.getC();
  out.lda = b.getLda();
  out.ldb = b.getLdb();
  out.ldc = b.getLdc();
  require(out.lda >= 0 && out.ldb >= 0 && out.ldc >= 0, "negative leading dimension");
  out.trans_a = b.getTransA();
  out.trans_b = b.getTransB();
  out.conj_a = b.getConjA();
  out.conj_b = b.getConjB();
  out.right = b.getRight();
  out.upper = b.getUpper();
  out.unit_diag = b.getUnitDiag();
  require(b.getAlpha().size() == 2 && b.getBeta().size() == 2, "alpha/beta need 2 entries");
  for (unsigned i = 0; i < 2; ++i) {
    out.alpha[i] = b.getAlpha()[i];
    out.beta[i] = b.getBeta()[i];
  }
  out.alpha_ptr = b.getAlphaPtr();
  out.beta_ptr = b.getBetaPtr();
  out.result = b.getResult();
  out.result_type = dtype(b.getResultType());
  return out;
}

void blasToWire(const modnn_blas& b, schema::Blas::Builder out) {
  out.setFn(uint8_t(b.fn));
  out.setType(uint8_t(b.type));
  out.setM(b.m);
  out.setN(b.n);
  out.setK(b.k);
  out.setX(b.x);
  out.setY(b.y);
  out.setIncx(b.incx);
  out.setIncy(b.incy);
  out.setA(b.a);
  out.setB(b.b);
  out.setC(b.c);
  out.setLda(b.lda);
  out.setLdb(b.ldb);
  out.setLdc(b.ldc);
  out.setTransA(b.trans_a);
  out.setTransB(b.trans_b);
  out.setConjA(b.conj_a);
  out.setConjB(b.conj_b);
  out.setRight(b.right);
  out.setUpper(b.upper);
  out.setUnitDiag(b.unit_diag);
  auto alpha = out.initAlpha(2);
  auto beta = out.initBeta(2);
  for (unsigned i = 0; i < 2; ++i) {
    alpha.set(i, b.alpha[i]);
    beta.set(i, b.beta[i]);
  }
  out.setAlphaPtr(b.alpha_ptr);
  out.setBetaPtr(b.beta_ptr);
  out.setResult(b.result);
  out.setResultType(uint8_t(b.result_type));
}

void gemmToWire(const modnn_gemm& g, schema::Gemm::Builder out) {
  out.setTransA(g.trans_a);
  out.setTransB(g.trans_b);
  out.setConjA(g.conj_a);
  out.setConjB(g.conj_b);
  out.setM(g.m);
  out.setN(g.n);
  out.setK(g.k);
  out.setA(g.a);
  out.setB(g.b);
  out.setC(g.c);
  out.setD(g.d);
  out.setLda(g.lda);
  out.setLdb(g.ldb);
  out.setLdc(g.ldc);
  out.setLdd(g.ldd);
  out.setBatch(g.batch);
  out.setStrideA(g.stride_a);
  out.setStrideB(g.stride_b);
  out.setStrideC(g.stride_c);
  out.setStrideD(g.stride_d);
  out.setPointerArrays(g.pointer_arrays);
  out.setAType(uint8_t(g.a_type));
  out.setBType(uint8_t(g.b_type));
  out.setCType(uint8_t(g.c_type));
  out.setDType(uint8_t(g.d_type));
  out.setComputeType(uint8_t(g.compute_type));
  out.setAllowTf32(g.allow_tf32);
  out.setScaleType(uint8_t(g.scale_type));
  auto alpha = out.initAlpha(2);
  auto beta = out.initBeta(2);
  for (unsigned i = 0; i < 2; ++i) {
    alpha.set(i, g.alpha[i]);
    beta.set(i, g.beta[i]);
  }
  out.setAlphaPtr(g.alpha_ptr);
  out.setBetaPtr(g.beta_ptr);
  out.setEpilogue(uint8_t(g.epilogue));
  out.setBias(g.bias);
  out.setBiasType(uint8_t(g.bias_type));
  out.setAux(g.aux);
  out.setLdAux(g.ld_aux);
  out.setAuxType(uint8_t(g.aux_type));
  out.setStrideBias(g.stride_bias);
  out.setStrideAux(g.stride_aux);
}

void dims(capnp::List<uint32_t>::Reader in, uint32_t out[3], const char* what) {
  require(in.size() == 3, what);
  for (unsigned i = 0; i < 3; ++i) out[i] = in[i];
}


// The frame after the message; claimed by at most one attached write.
struct Attachment {
  std::span<const uint8_t> bytes;
  bool present = false;
  bool claimed = false;
};

// A worker's endpoints, as a lease names them.
std::vector<std::string> endpointList(capnp::List<capnp::Text>::Reader in) {
  require(in.size() >= 1 && in.size() <= kMaxPeerEndpoints, "1 to 8 peer endpoints");
  std::vector<std::string> out;
  for (auto e : in) {
    out.push_back(text(e, 256, "peer endpoint too long"));
    require(out.back().rfind("tcp://", 0) == 0 || out.back().rfind("ipc://", 0) == 0,
            "peer endpoint is not tcp:// or ipc://");
  }
  return out;
}

void endpointsToWire(const std::vector<std::string>& in, capnp::List<capnp::Text>::Builder out) {
  for (unsigned i = 0; i < in.size(); ++i) out.set(i, in[i]);
}

Command decodeCommand(schema::Command::Reader c, Attachment& att) {
  Command out;
  out.device = c.getDevice();
  require(out.device < kMaxDevicesPerWorker, "device index out of range");
  switch (c.which()) {
    case schema::Command::ALLOC: out.body = AllocCmd{c.getAlloc().getVa(), c.getAlloc().getSize()}; break;
    case schema::Command::FREE: out.body = FreeCmd{c.getFree()}; break;
    case schema::Command::WRITE: {
      auto w = c.getWrite();
      WriteCmd cmd;
      cmd.va = w.getVa();
      if (w.isInline()) {
        cmd.bytes = bytes(w.getInline());
      } else if (w.isAttached()) {
        require(att.present && !att.claimed && att.bytes.size() == w.getAttached(), "attached bytes missing or of the wrong size");
        att.claimed = true;
        cmd.bytes = att.bytes;
      } else {
        cmd.in_shm = true;
        cmd.shm_offset = w.getShm().getVa();
        cmd.shm_size = w.getShm().getSize();
      }
      out.body = cmd;
      break;
    }
    case schema::Command::MODULE_UPLOAD: {
      auto u = c.getModuleUpload();
      out.body = ModuleUploadCmd{u.getHash(), bytes(u.getFatbin()), text(u.getPtx(), 256u << 20, "ptx too large")};
      break;
    }
    case schema::Command::RECORD_EVENT: out.body = RecordEventCmd{c.getRecordEvent()}; break;
    case schema::Command::COPY_TO_PEER: {
      auto p = c.getCopyToPeer();
      CopyToPeerCmd cmd{p.getSrc(), p.getSize(), {}, p.getPeerDevice(), p.getDst(), text(p.getPeerKey(), 40, "peer key too long"),
                        p.getTransfer()};
      require(cmd.peer_key.empty() || cmd.peer_key.size() == 40, "peer key is not 40 characters of Z85");
      require(cmd.peer_device < kMaxDevicesPerWorker, "peer device index out of range");
      cmd.peer_endpoints = endpointList(p.getPeerEndpoints());
      out.body = std::move(cmd);
      break;
    }
    case schema::Command::AWAIT_PEER: {
      auto a = c.getAwaitPeer();
      out.body = AwaitPeerCmd{a.getTransfer(), a.getDst(), a.getSize(), a.getTimeoutMs(),
                              endpointList(a.getSenderEndpoints())};
      break;
    }
    case schema::Command::COPY:
      out.body = CopyCmd{c.getCopy().getDst(), c.getCopy().getSrc(), c.getCopy().getSize()};
      break;
    case schema::Command::FILL: {
      auto f = c.getFill();
      require(f.getElemSize() == 1 || f.getElemSize() == 2 || f.getElemSize() == 4, "fill element size");
      out.body = FillCmd{f.getVa(), f.getCount(), f.getValue(), f.getElemSize()};
      break;
    }
    case schema::Command::MODULE_LOAD: {
      auto l = c.getModuleLoad();
      ModuleLoadCmd cmd;
      cmd.hash = l.getHash();
      cmd.handle = l.getHandle();
      require(l.getSymbols().size() <= kMaxSymbols, "too many symbols");
      for (auto s : l.getSymbols())
        cmd.symbols.push_back(SymbolEntry{text(s.getName(), kMaxNameBytes, "symbol name too long"), s.getVa(), s.getSize()});
      out.body = std::move(cmd);
      break;
    }
    case schema::Command::LAUNCH: {
      auto l = c.getLaunch();
      LaunchCmd cmd;
      cmd.module = l.getModule();
      cmd.kernel = text(l.getKernel(), kMaxNameBytes, "kernel name too long");
      dims(l.getGrid(), cmd.grid, "grid needs 3 entries");
      dims(l.getBlock(), cmd.block, "block needs 3 entries");
      cmd.dynamic_shared = l.getDynamicShared();
      cmd.params = bytes(l.getParams());
      require(cmd.params.size() <= kMaxKernelParamBytes, "kernel parameters too large");
      cmd.block_begin = l.getBlockBegin();
      cmd.block_end = l.getBlockEnd();
      cmd.quiet = l.getQuiet();
      require(cmd.block_end == 0 || cmd.block_begin < cmd.block_end, "empty block range");
      out.body = std::move(cmd);
      break;
    }
    case schema::Command::GEMM: out.body = GemmCmd{gemmFromWire(c.getGemm())}; break;
    case schema::Command::BLAS: out.body = BlasCmd{blasFromWire(c.getBlas())}; break;
    default: require(false, "unknown command");
  }
  return out;
}


}  // namespace

bool opToCommand(const modnn_op& op, Command* out) {
  if (op.kind == MODNN_OP_GEMM) {
    out->body = GemmCmd{op.u.gemm};
    return true;
  }
  if (op.kind == MODNN_OP_BLAS) {
    out->body = BlasCmd{op.u.blas};
    return true;
  }
  return false;
}

modnn_op commandToOp(const GemmCmd& c) {
  modnn_op op{};
  op.struct_size = sizeof op;
  op.kind = MODNN_OP_GEMM;
  op.u.gemm = c.gemm;
  return op;
}

modnn_op commandToOp(const BlasCmd& c) {
  modnn_op op{};
  op.struct_size = sizeof op;
  op.kind = MODNN_OP_BLAS;
  op.u.blas = c.blas;
  return op;
}

void propsToWire(const modnn_device_props& p, schema::DeviceProps::Builder out) {
  out.setName(p.name);
  out.setKind(p.kind);
  out.setUuid(kj::arrayPtr(p.uuid, sizeof p.uuid));
  out.setTotalMemory(p.total_memory);
  out.setMultiprocessorCount(p.multiprocessor_count);
  out.setCcMajor(p.cc_major);
  out.setCcMinor(p.cc_minor);
  out.setMaxThreadsPerBlock(p.max_threads_per_block);
  out.setMaxThreadsPerMultiprocessor(p.max_threads_per_multiprocessor);
  out.setMaxBlocksPerMultiprocessor(p.max_blocks_per_multiprocessor);
  out.setRegsPerMultiprocessor(p.regs_per_multiprocessor);
  out.setSharedMemoryPerBlock(p.shared_memory_per_block);
  out.setSharedMemoryPerBlockOptin(p.shared_memory_per_block_optin);
  out.setSharedMemoryPerMultiprocessor(p.shared_memory_per_multiprocessor);
  out.setClockKhz(p.clock_khz);
  out.setMemoryClockKhz(p.memory_clock_khz);
  out.setMemoryBusWidth(p.memory_bus_width);
  out.setL2CacheBytes(p.l2_cache_bytes);
  out.setPeakFlopsFp32(p.peak_flops_fp32);
  out.setMemoryBandwidth(p.memory_bandwidth);
  out.setIntegrated(p.integrated);
  out.setBlockRanges(p.block_ranges);
}

Result<modnn_device_props> propsFromWire(schema::DeviceProps::Reader in) {
  modnn_device_props p{};
  p.struct_size = sizeof p;
  if (in.getName().size() >= sizeof p.name || in.getKind().size() >= sizeof p.kind ||
      in.getUuid().size() != sizeof p.uuid)
    return makeError(MODNN_ERR_INVALID_VALUE, "device name, kind or uuid has the wrong size");
  std::memcpy(p.name, in.getName().cStr(), in.getName().size());
  std::memcpy(p.kind, in.getKind().cStr(), in.getKind().size());
  std::memcpy(p.uuid, in.getUuid().begin(), sizeof p.uuid);
  p.total_memory = in.getTotalMemory();
  p.multiprocessor_count = in.getMultiprocessorCount();
  p.cc_major = in.getCcMajor();
  p.cc_minor = in.getCcMinor();
  p.max_threads_per_block = in.getMaxThreadsPerBlock();
  p.max_threads_per_multiprocessor = in.getMaxThreadsPerMultiprocessor();
  p.max_blocks_per_multiprocessor = in.getMaxBlocksPerMultiprocessor();
  p.regs_per_multiprocessor = in.getRegsPerMultiprocessor();
  p.shared_memory_per_block = in.getSharedMemoryPerBlock();
  p.shared_memory_per_block_optin = in.getSharedMemoryPerBlockOptin();
  p.shared_memory_per_multiprocessor = in.getSharedMemoryPerMultiprocessor();
  p.clock_khz = in.getClockKhz();
  p.memory_clock_khz = in.getMemoryClockKhz();
  p.memory_bus_width = in.getMemoryBusWidth();
  p.l2_cache_bytes = in.getL2CacheBytes();
  p.peak_flops_fp32 = in.getPeakFlopsFp32();
  p.memory_bandwidth = in.getMemoryBandwidth();
  p.integrated = in.getIntegrated();
  p.block_ranges = in.getBlockRanges();
  if (p.multiprocessor_count <= 0 || p.max_threads_per_block <= 0 || p.max_threads_per_block > 4096)
    return makeError(MODNN_ERR_INVALID_VALUE, "device properties out of range");
  return p;
}

Result<ClientMsg> decodeClientMessage(const void* data, size_t size, std::shared_ptr<void> owner,
                                      std::span<const uint8_t> attachment) {
  auto frame = readMessage(data, size, std::move(owner));
  Attachment att{attachment, attachment.data() != nullptr || !attachment.empty(), false};
  if (!frame) return frame.error();
  auto body = guarded([&]() -> decltype(ClientMsg::body) {
    auto root = (*frame)->root<schema::ClientMessage>();  // throws on a message without a root
    switch (root.which()) {
      case schema::ClientMessage::HELLO: {
        require(!att.present, "unexpected attached frame");
        auto h = root.getHello();
        return HelloMsg{h.getProtocolVersion(), h.getJobId(), text(h.getToken(), 256, "token too long"),
                        text(h.getShmName(), 255, "shm name too long"), h.getShmSize()};
      }
      case schema::ClientMessage::COMMANDS: {
        std::vector<Command> cmds;
        require(root.getCommands().size() <= kMaxCommandsPerMessage, "too many commands in one message");
        cmds.reserve(root.getCommands().size());
        for (auto c : root.getCommands()) cmds.push_back(decodeCommand(c, att));
        require(!att.present || att.claimed, "an attached frame no command names");
        return cmds;
      }
      case schema::ClientMessage::REQUEST: {
        require(!att.present, "unexpected attached frame");
        auto r = root.getRequest();
        RequestMsg m;
        m.id = r.getId();
        m.device = r.getDevice();
        require(m.device < kMaxDevicesPerWorker, "device index out of range");
        switch (r.which()) {
          case schema::Request::READ: m.body = ReadReq{r.getRead().getVa(), r.getRead().getSize()}; break;
          case schema::Request::SYNC: m.body = SyncReq{}; break;
          case schema::Request::HAS_MODULE: m.body = HasModuleReq{r.getHasModule()}; break;
          case schema::Request::SUPPORTS_KERNEL:
            m.body = SupportsKernelReq{r.getSupportsKernel().getModule(),
                                       text(r.getSupportsKernel().getKernel(), kMaxNameBytes, "kernel name too long")};
            break;
          case schema::Request::SUPPORTS_GEMM: m.body = SupportsGemmReq{gemmFromWire(r.getSupportsGemm())}; break;
          case schema::Request::PROPS: m.body = PropsReq{}; break;
          case schema::Request::SUPPORTS_BLAS: m.body = SupportsBlasReq{blasFromWire(r.getSupportsBlas())}; break;
          case schema::Request::QUERY_EVENT:
            m.body = QueryEventReq{r.getQueryEvent().getEvent(), r.getQueryEvent().getWait()};
            break;
          case schema::Request::RESERVE_RANGE: {
            auto x = r.getReserveRange();
            require(x.getSize() > 0 && x.getVa() + x.getSize() > x.getVa(), "bad address range");
            m.body = ReserveRangeReq{x.getVa(), x.getSize()};
            break;
          }
          default: require(false, "unknown request");
        }
        return m;
      }
      case schema::ClientMessage::BYE: return ByeMsg{};
      case schema::ClientMessage::PEER_BYTES: {
        auto p = root.getPeerBytes();
        PeerBytesMsg m;
        m.transfer = p.getTransfer();
        m.device = p.getDevice();
        m.dst = p.getDst();
        require(m.device < kMaxDevicesPerWorker, "device index out of range");
        if (p.isFailed()) {
          require(!att.present, "unexpected attached frame");
          m.failed = true;
          m.why = text(p.getFailed(), kMaxNameBytes, "reason too long");
        } else if (p.isShm()) {
          require(!att.present, "unexpected attached frame");
          m.in_shm = true;
          m.shm_offset = p.getShm().getVa();
          m.shm_size = p.getShm().getSize();
        } else {
          require(att.present && att.bytes.size() == p.getAttached(), "attached bytes missing or of the wrong size");
          m.bytes = att.bytes;
        }
        return m;
      }
      default: require(false, "unknown client message");
    }
    return ByeMsg{};
  });
  if (!body) return body.error();
  return ClientMsg{std::move(frame).value(), std::move(body).value()};
}

Result<WorkerMsg> decodeWorkerMessage(const void* data, size_t size, std::shared_ptr<void> owner,
                                      std::span<const uint8_t> attachment) {
  auto frame = readMessage(data, size, std::move(owner));
  bool has_attachment = attachment.data() != nullptr || !attachment.empty();
  if (!frame) return frame.error();
  uint64_t id = 0;
  auto body = guarded([&]() -> decltype(WorkerMsg::body) {
    auto root = (*frame)->root<schema::WorkerMessage>();
    id = root.getId();
    switch (root.which()) {
      case schema::WorkerMessage::HELLO_OK: {
        HelloOkMsg m;
        require(root.getHelloOk().getDevices().size() <= kMaxDevicesPerWorker, "too many devices");
        for (auto d : root.getHelloOk().getDevices()) {
          auto p = propsFromWire(d);
          require(p.ok(), "invalid device properties");
          m.devices.push_back(*p);
        }
        return m;
      }
      case schema::WorkerMessage::ERROR:
        return ErrorMsg{root.getError().getCode(), text(root.getError().getMessage(), kMaxNameBytes, "error text too long")};
      case schema::WorkerMessage::DATA: return DataMsg{bytes(root.getData())};
      case schema::WorkerMessage::ATTACHED:
        require(has_attachment && attachment.size() == root.getAttached(), "attached bytes missing or of the wrong size");
        return DataMsg{attachment};
      case schema::WorkerMessage::SHM_DATA: return ShmDataMsg{root.getShmData().getVa(), root.getShmData().getSize()};
      case schema::WorkerMessage::DONE: return DoneMsg{root.getDone()};
      case schema::WorkerMessage::FLAG: return FlagMsg{root.getFlag()};
      case schema::WorkerMessage::RESERVED: return ReservedMsg{root.getReserved()};
      case schema::WorkerMessage::PROPS: {
        auto p = propsFromWire(root.getProps());
        require(p.ok(), "invalid device properties");
        return PropsMsg{*p};
      }
      default: require(false, "unknown worker message");
    }
    return FlagMsg{};
  });
  if (!body) return body.error();
  return WorkerMsg{std::move(frame).value(), id, std::move(body).value()};
}

std::vector<uint8_t> encodeHello(const HelloMsg& m) {
  capnp::MallocMessageBuilder b;
  auto h = b.initRoot<schema::ClientMessage>().initHello();
  h.setProtocolVersion(m.protocol_version);
  h.setJobId(m.job_id);
  h.setToken(m.token);
  h.setShmName(m.shm_name);
  h.setShmSize(m.shm_size);
  return writeMessage(b);
}

std::vector<uint8_t> encodeCommands(const std::vector<Command>& cmds) {
  capnp::MallocMessageBuilder b;
  auto list = b.initRoot<schema::ClientMessage>().initCommands(unsigned(cmds.size()));
  for (unsigned i = 0; i < cmds.size(); ++i) {
    auto c = list[i];
    c.setDevice(cmds[i].device);
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, AllocCmd>) {
            auto r = c.initAlloc();
            r.setVa(v.va);
            r.setSize(v.size);
          } else if constexpr (std::is_same_v<T, FreeCmd>) {
            c.setFree(v.va);
          } else if constexpr (std::is_same_v<T, WriteCmd>) {
            auto w = c.initWrite();
            w.setVa(v.va);
            if (v.in_shm) {
              auto r = w.initShm();
              r.setVa(v.shm_offset);
              r.setSize(v.shm_size);
            } else if (v.attached) {
              w.setAttached(v.bytes.size());
            } else {
              w.setInline(kj::arrayPtr(v.bytes.data(), v.bytes.size()));
            }
          } else if constexpr (std::is_same_v<T, ModuleUploadCmd>) {
            auto u = c.initModuleUpload();
            u.setHash(v.hash);
            u.setFatbin(kj::arrayPtr(v.fatbin.data(), v.fatbin.size()));
            u.setPtx(v.ptx);
          } else if constexpr (std::is_same_v<T, CopyCmd>) {
            auto r = c.initCopy();
            r.setDst(v.dst);
            r.setSrc(v.src);
            r.setSize(v.size);
          } else if constexpr (std::is_same_v<T, RecordEventCmd>) {
            c.setRecordEvent(v.event);
          } else if constexpr (std::is_same_v<T, CopyToPeerCmd>) {
            auto r = c.initCopyToPeer();
            r.setSrc(v.src);
            r.setSize(v.size);
            endpointsToWire(v.peer_endpoints, r.initPeerEndpoints(unsigned(v.peer_endpoints.size())));
            r.setPeerDevice(v.peer_device);
            r.setDst(v.dst);
            r.setPeerKey(v.peer_key);
            r.setTransfer(v.transfer);
          } else if constexpr (std::is_same_v<T, AwaitPeerCmd>) {
            auto r = c.initAwaitPeer();
            r.setTransfer(v.transfer);
            r.setDst(v.dst);
            r.setSize(v.size);
            r.setTimeoutMs(v.timeout_ms);
            endpointsToWire(v.sender_endpoints, r.initSenderEndpoints(unsigned(v.sender_endpoints.size())));
          } else if constexpr (std::is_same_v<T, FillCmd>) {
            auto f = c.initFill();
            f.setVa(v.va);
            f.setCount(v.count);
            f.setValue(v.value);
            f.setElemSize(v.elem_size);
          } else if constexpr (std::is_same_v<T, ModuleLoadCmd>) {
            auto l = c.initModuleLoad();
            l.setHash(v.hash);
            l.setHandle(v.handle);
            auto syms = l.initSymbols(unsigned(v.symbols.size()));
            for (unsigned j = 0; j < v.symbols.size(); ++j) {
              syms[j].setName(v.symbols[j].name);
              syms[j].setVa(v.symbols[j].va);
              syms[j].setSize(v.symbols[j].size);
            }
          } else if constexpr (std::is_same_v<T, LaunchCmd>) {
            auto l = c.initLaunch();
            l.setModule(v.module);
            l.setKernel(v.kernel);
            auto g = l.initGrid(3);
            auto bl = l.initBlock(3);
            for (unsigned j = 0; j < 3; ++j) {
              g.set(j, v.grid[j]);
              bl.set(j, v.block[j]);
            }
            l.setDynamicShared(v.dynamic_shared);
            l.setParams(kj::arrayPtr(v.params.data(), v.params.size()));
            l.setBlockBegin(v.block_begin);
            l.setBlockEnd(v.block_end);
            l.setQuiet(v.quiet);
          } else if constexpr (std::is_same_v<T, GemmCmd>) {
            gemmToWire(v.gemm, c.initGemm());
          } else if constexpr (std::is_same_v<T, BlasCmd>) {
            blasToWire(v.blas, c.initBlas());
          }
        },
        cmds[i].body);
  }
  return writeMessage(b);
}

std::vector<uint8_t> encodeRequest(const RequestMsg& m) {
  capnp::MallocMessageBuilder b;
  auto r = b.initRoot<schema::ClientMessage>().initRequest();
  r.setId(m.id);
  r.setDevice(m.device);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, ReadReq>) {
          auto x = r.initRead();
          x.setVa(v.va);
          x.setSize(v.size);
        } else if constexpr (std::is_same_v<T, SyncReq>) {
          r.setSync();
        } else if constexpr (std::is_same_v<T, HasModuleReq>) {
          r.setHasModule(v.hash);
        } else if constexpr (std::is_same_v<T, SupportsKernelReq>) {
          auto x = r.initSupportsKernel();
          x.setModule(v.module);
          x.setKernel(v.kernel);
        } else if constexpr (std::is_same_v<T, SupportsGemmReq>) {
          gemmToWire(v.gemm, r.initSupportsGemm());
        } else if constexpr (std::is_same_v<T, PropsReq>) {
          r.setProps();
        } else if constexpr (std::is_same_v<T, SupportsBlasReq>) {
          blasToWire(v.blas, r.initSupportsBlas());
        } else if constexpr (std::is_same_v<T, QueryEventReq>) {
          auto x = r.initQueryEvent();
          x.setEvent(v.event);
          x.setWait(v.wait);
        } else if constexpr (std::is_same_v<T, ReserveRangeReq>) {
          auto x = r.initReserveRange();
          x.setVa(v.hint);
          x.setSize(v.size);
        }
      },
      m.body);
  return writeMessage(b);
}

std::vector<uint8_t> encodeBye() {
  capnp::MallocMessageBuilder b;
  b.initRoot<schema::ClientMessage>().setBye();
  return writeMessage(b);
}

std::vector<uint8_t> encodePeerBytes(const PeerBytesMsg& m) {
  capnp::MallocMessageBuilder b;
  auto p = b.initRoot<schema::ClientMessage>().initPeerBytes();
  p.setTransfer(m.transfer);
  p.setDevice(m.device);
  p.setDst(m.dst);
  if (m.failed) {
    p.setFailed(m.why);
  } else if (m.in_shm) {
    auto r = p.initShm();
    r.setVa(m.shm_offset);
    r.setSize(m.shm_size);
  } else {
    p.setAttached(m.bytes.size());
  }
  return writeMessage(b);
}

std::vector<uint8_t> encodeWorkerMessage(uint64_t id, const decltype(WorkerMsg::body)& body) {
  capnp::MallocMessageBuilder b;
  auto w = b.initRoot<schema::WorkerMessage>();
  w.setId(id);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, HelloOkMsg>) {
          auto list = w.initHelloOk().initDevices(unsigned(v.devices.size()));
          for (unsigned i = 0; i < v.devices.size(); ++i) propsToWire(v.devices[i], list[i]);
        } else if constexpr (std::is_same_v<T, ErrorMsg>) {
          auto e = w.initError();
          e.setCode(v.code);
          e.setMessage(v.message);
        } else if constexpr (std::is_same_v<T, DataMsg>) {
          if (v.attached)
            w.setAttached(v.bytes.size());
          else
            w.setData(kj::arrayPtr(v.bytes.data(), v.bytes.size()));
        } else if constexpr (std::is_same_v<T, ShmDataMsg>) {
          auto r = w.initShmData();
          r.setVa(v.offset);
          r.setSize(v.size);
        } else if constexpr (std::is_same_v<T, DoneMsg>) {
          w.setDone(v.clock_ns);
        } else if constexpr (std::is_same_v<T, FlagMsg>) {
          w.setFlag(v.value);
        } else if constexpr (std::is_same_v<T, PropsMsg>) {
          propsToWire(v.props, w.initProps());
        } else if constexpr (std::is_same_v<T, ReservedMsg>) {
          w.setReserved(v.base);
        }
      },
      body);
  return writeMessage(b);
}

}  // namespace moai::wire
