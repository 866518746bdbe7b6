#include "modnn/worker/worker_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <zmq.hpp>

#include "interpose/core/backend_loader.h"
#include "interpose/core/log.h"
#include "modnn/worker/device_arbiter.h"
#include "modnn/worker/job_session.h"
#include "modnn/worker/scheduler_link.h"
#include "transport/curve_keys.h"
#include "transport/curve_socket.h"
#include "transport/handshake_log.h"
#include "transport/zap_handler.h"

namespace moai::worker {
namespace {

constexpr const char* kRepliesEndpoint = "inproc://moai-worker-replies";

// A job and the thread that runs its messages in order. Several peers may
// speak for one job: its client, and its other workers sending it bytes.
class JobThread {
 public:
  // `indices`: this worker's index of each of the session's devices;
  // `busy_ns`: the worker's per-device busy time, which this job adds to;
  // `arbiters`: the worker's per-device time-slicing, shared by the jobs on a
  // device, where this job has `weight`.
  JobThread(zmq::context_t& ctx, std::unique_ptr<JobSession> session, std::vector<uint32_t> indices,
            std::atomic<uint64_t>* busy_ns, DeviceArbiter* arbiters, uint32_t weight)
      : session_(std::move(session)),
        indices_(std::move(indices)),
        busy_ns_(busy_ns),
        arbiters_(arbiters),
        weight_(weight),
        thread_([this, &ctx] { run(ctx); }) {}
  ~JobThread() { stop(); }
  // Ends the job's thread (once): what it still has queued is dropped.
  void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    // The job ended: what it still has queued is dropped, and a wait for a
    // turn on a shared device ends, so the I/O thread joining it is not held
    // up behind the other jobs' work.
    dropping_ = true;
    session_->cancelWaits();
    for (uint32_t i : indices_) arbiters_[i].forget(session_->jobId());
    cv_.notify_one();
    thread_.join();
    for (uint32_t i : indices_) arbiters_[i].forget(session_->jobId());
  }
  // `from`: the routing id replies go to.
  void post(std::string from, wire::ClientMsg msg) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      inbox_.push_back({std::move(from), std::move(msg)});
    }
    cv_.notify_one();
  }
  uint64_t jobId() const { return session_->jobId(); }
  // Bytes of a one-way copy from a peer worker: kept by the session at once,
  // not queued behind the job's work (which may be waiting for them).
  void deposit(wire::ClientMsg msg, std::shared_ptr<PeerRing> ring) { session_->deposit(std::move(msg), std::move(ring)); }
  // Device-seconds this job's work has run here: what metering bills.
  double busySeconds() const { return double(job_busy_ns_.load()) * 1e-9; }
  const JobSession& session() const { return *session_; }
  const std::vector<uint32_t>& indices() const { return indices_; }
  uint64_t allocatedBytes(size_t d) const { return session_->allocatedBytes(d); }
  void setMemoryQuota(uint64_t bytes) { session_->setMemoryQuota(bytes); }

 private:
  void run(zmq::context_t& ctx) {
    zmq::socket_t out(ctx, zmq::socket_type::push);
    out.connect(kRepliesEndpoint);
    for (;;) {
      std::deque<Posted> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !inbox_.empty(); });
        if (inbox_.empty()) return;  // stopping, and nothing left to run
        batch.swap(inbox_);
      }
      for (size_t m = 0; m < batch.size(); ++m) {
        auto& [from, msg] = batch[m];
        if (auto* cmds = std::get_if<std::vector<wire::Command>>(&msg.body)) {
          for (size_t i = 0; i < cmds->size(); ++i)
            execute((*cmds)[i], i + 1 < cmds->size() ? nextOf((*cmds)[i + 1]) : nextAfter(batch, m));
        } else if (auto* req = std::get_if<wire::RequestMsg>(&msg.body)) {
          auto t0 = std::chrono::steady_clock::now();
          JobSession::Reply reply = session_->answer(*req);
          uint64_t took = nanos(std::chrono::steady_clock::now() - t0);
          if (req->device < indices_.size()) busy_ns_[indices_[req->device]] += took;
          job_busy_ns_ += took;
          out.send(zmq::buffer(from), zmq::send_flags::sndmore);
          if (reply.attachment.empty()) {
            out.send(zmq::buffer(reply.message), zmq::send_flags::none);
          } else {
            out.send(zmq::buffer(reply.message), zmq::send_flags::sndmore);
            // Hand the bytes to ZeroMQ without another copy.
            auto* held = new std::vector<uint8_t>(std::move(reply.attachment));
            zmq::message_t bulk(held->data(), held->size(),
                                [](void*, void* hint) { delete static_cast<std::vector<uint8_t>*>(hint); }, held);
            out.send(bulk, zmq::send_flags::none);
          }
        }
      }
    }
  }

  struct Posted {
    std::string from;
    wire::ClientMsg msg;
  };
  static uint64_t nanos(std::chrono::steady_clock::duration d) {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }
  // One command, in the job's turn on its device. The backend runs commands
  // to completion (CPU), so the time one takes is busy time: what metering
  // bills and what the device's time-slicing charges the job. `next`: the
  // device of the job's next command when one is already here and takes a
  // turn, so the job keeps its turn if it is still its turn.
  static bool arbitrated(const wire::Command& c) {
    return !std::holds_alternative<wire::CopyToPeerCmd>(c.body) && !std::holds_alternative<wire::AwaitPeerCmd>(c.body);
  }
  static std::optional<uint32_t> nextOf(const wire::Command& c) {
    return arbitrated(c) ? std::optional<uint32_t>(c.device) : std::nullopt;
  }
  // The command after message `m` of `batch`: the next message's, or the
  // first one posted since the batch was taken.
  std::optional<uint32_t> nextAfter(const std::deque<Posted>& batch, size_t m) {
    auto first = [](const Posted& p) -> std::optional<uint32_t> {
      auto* cmds = std::get_if<std::vector<wire::Command>>(&p.msg.body);
      return cmds && !cmds->empty() ? nextOf(cmds->front()) : std::nullopt;
    };
    if (m + 1 < batch.size()) return first(batch[m + 1]);
    std::lock_guard<std::mutex> lock(mu_);
    return inbox_.empty() ? std::nullopt : first(inbox_.front());
  }
  void execute(const wire::Command& c, std::optional<uint32_t> next) {
    if (dropping_) return;
    if (c.device >= indices_.size()) {
      session_->execute(c);  // refused by the session
      return;
    }
    // A copy to or from a peer waits for the other worker, which may wait
    // for this device in turn: it runs outside the turn, so two jobs copying
    // between two shared devices cannot hold each other up.
    DeviceArbiter* arbiter = arbitrated(c) ? &arbiters_[indices_[c.device]] : nullptr;
    if (arbiter && !arbiter->enter(session_->jobId(), weight_)) return;
    auto t0 = std::chrono::steady_clock::now();
    session_->execute(c);
    uint64_t took = nanos(std::chrono::steady_clock::now() - t0);
    took -= std::min(took, session_->lastWaitNs());  // waiting for a peer's bytes is not device time
    bool again = next == c.device;
    if (arbiter) arbiter->leave(session_->jobId(), took, again);
    busy_ns_[indices_[c.device]] += took;
    job_busy_ns_ += took;
  }

  std::unique_ptr<JobSession> session_;
  std::vector<uint32_t> indices_;
  std::atomic<uint64_t>* busy_ns_;
  DeviceArbiter* arbiters_;
  uint32_t weight_;
  std::atomic<bool> dropping_{false};
  std::atomic<uint64_t> job_busy_ns_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Posted> inbox_;
  bool stopping_ = false;
  std::thread thread_;
};

std::string ipcDirectory(const WorkerConfig& c) {
  if (!c.ipc_dir.empty()) return c.ipc_dir;
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  return runtime && *runtime ? std::string(runtime) + "/moai" : "/tmp/moai-" + std::to_string(getuid());
}

// "" when only this user can open `dir`; else why not. A directory made in
// /tmp by someone else would let them replace or watch the socket.
std::string privateDirectoryProblem(const std::string& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) return "cannot create the ipc directory " + dir;
  if (!S_ISDIR(st.st_mode)) return "the ipc directory " + dir + " is not a directory (a link?)";
  if (st.st_uid != getuid()) return "the ipc directory " + dir + " belongs to another user";
  if (st.st_mode & 077) return "the ipc directory " + dir + " is open to others and cannot be made private";
  return "";
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string lastEndpoint(zmq::socket_t& s) { return s.get(zmq::sockopt::last_endpoint); }

void send(zmq::socket_t& router, const std::string& identity, const std::vector<uint8_t>& payload) {
  router.send(zmq::buffer(identity), zmq::send_flags::sndmore);
  router.send(zmq::buffer(payload), zmq::send_flags::none);
}

std::vector<uint8_t> errorReply(modnn_status st, const std::string& why) {
  return wire::encodeWorkerMessage(0, wire::ErrorMsg{uint32_t(st), why});
}

// The worker's Curve settings: its own pair (from --key, or made for this
// run) and the scheduler's public key. nullopt: plain tcp everywhere.
Result<std::optional<CurveClient>> curveSettings(const WorkerConfig& c) {
  if (c.scheduler_key.empty()) {
    if (!c.key.empty()) return makeError(MODNN_ERR_INVALID_VALUE, "--key needs --scheduler-key (the scheduler's public key)");
    log().warn("no --scheduler-key: links to the scheduler and to clients are neither authenticated nor encrypted");
    return std::optional<CurveClient>{};
  }
  CurveClient curve;
  auto server = readCurvePublicKeyFile(c.scheduler_key);
  if (!server) return server.error();
  curve.server_public = *server;
  if (!c.key.empty()) {
    auto own = readCurveSecretKeyFile(c.key);
    if (!own) return own.error();
    curve.own = *own;
  } else {
    auto own = generateCurveKeyPair();
    if (!own) return own.error();
    curve.own = *own;
    log().warn("no --key: using a key pair made for this run; a scheduler with --allow-keys will refuse it");
  }
  return std::optional<CurveClient>(curve);
}

}  // namespace

Result<int> runWorker(const WorkerConfig& config, const std::atomic<bool>& stop) {
  auto curve = curveSettings(config);
  if (!curve) return curve.error();
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  zmq::socket_t replies(ctx, zmq::socket_type::pull);
  router.set(zmq::sockopt::router_mandatory, 0);
  router.set(zmq::sockopt::heartbeat_ivl, 1000);
  router.set(zmq::sockopt::heartbeat_timeout, 5000);
  replies.bind(kRepliesEndpoint);

  // The ipc socket lives in a directory only this user can open.
  std::string dir = ipcDirectory(config);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  chmod(dir.c_str(), 0700);
  if (auto why = privateDirectoryProblem(dir); !why.empty()) return makeError(MODNN_ERR_NOT_PERMITTED, why);
  std::vector<std::string> endpoints;
  // Any Curve client key is let in: the lease token, which the client
  // learnt over its Curve link to the scheduler, is what authorises a job
  // (docs/decisions.md). The handler is there to log who connects.
  std::unique_ptr<ZapHandler> zap;
  std::unique_ptr<HandshakeLog> handshakes;
  try {
    if (*curve) {
      zap = std::make_unique<ZapHandler>(ctx, std::nullopt, log());
      handshakes = std::make_unique<HandshakeLog>(ctx, router, "moai-worker data port", log());
      makeCurveServer(router, (*curve)->own, "moai-worker");
    }
    router.bind(config.listen_tcp);
    endpoints.push_back(lastEndpoint(router));
    std::string port = endpoints[0].substr(endpoints[0].rfind(':') + 1);
    makePlain(router);  // ipc:// is guarded by its directory, and carries shared memory anyway
    router.bind("ipc://" + dir + "/worker-" + port + ".sock");
    endpoints.push_back(lastEndpoint(router));
  } catch (const zmq::error_t& e) {
    return makeError(MODNN_ERR_INVALID_VALUE, std::string("cannot bind: ") + e.what());
  }
  std::string worker_id = config.worker_id.empty() ? endpoints[0].substr(6) : config.worker_id;
  for (const auto& e : endpoints) std::printf("moai-worker listening on %s\n", e.c_str());
  std::fflush(stdout);
  if (!config.endpoint_file.empty()) {
    std::ofstream f(config.endpoint_file);
    for (const auto& e : endpoints) f << e << "\n";
  }

  modnn_backend_config backend{};
  backend.struct_size = sizeof backend;
  backend.abi_version = MODNN_BACKEND_ABI_VERSION;
  backend.device_count = config.cpu_devices;
  backend.memory_per_device = config.cpu_memory;
  backend.threads_per_device = config.cpu_threads;
  backend.device_namespace = worker_id.c_str();
  // auto: the GPUs where a driver and a GPU are, else the CPU.
  std::string backend_name = config.backend == "auto" ? "cuda" : config.backend;
  auto inventory = openBackend(backend_name, backend);
  if (!inventory && config.backend == "auto") {
    backend_name = "cpu";
    inventory = openBackend(backend_name, backend);
  }
  if (!inventory) return inventory.error();
  log().info("serving {} {} device(s)", inventory->size(), backend_name);
  std::vector<modnn_device_props> props;
  for (auto& d : *inventory) {
    modnn_device_props p{};
    p.struct_size = sizeof p;
    d.iface->get_props(d.ctx, &p);
    props.push_back(p);
    d.iface->destroy(d.ctx);  // jobs open devices of their own
  }

  ModuleStore modules;
  std::unique_ptr<DeviceArbiter[]> arbiters(new DeviceArbiter[props.size()]);  // outlives the jobs
  std::map<uint64_t, std::unique_ptr<JobThread>> jobs;  // by job id
  std::map<std::string, uint64_t> routes;               // peer routing id -> job id
  std::map<uint64_t, std::string> clients;              // job id -> its client's routing id (the one that opened it)
  auto started = std::chrono::steady_clock::now();
  // Per device: nanoseconds spent running jobs' commands since start (heartbeats).
  std::unique_ptr<std::atomic<uint64_t>[]> busy_ns(new std::atomic<uint64_t>[props.size()]());
  std::unique_ptr<SchedulerLink> scheduler;
  if (!config.scheduler.empty())
    scheduler = std::make_unique<SchedulerLink>(ctx, config.scheduler, worker_id, endpoints, props,
                                                config.heartbeat_seconds, *curve ? &**curve : nullptr,
                                                *curve ? (*curve)->own.public_key : "");

  std::map<uint64_t, wire::HelloOkMsg> opened;  // job id -> what its hello answered
  std::map<std::string, std::shared_ptr<PeerRing>> peer_rings;  // a peer worker's routing id -> its ring
  auto openJob = [&](const std::string& identity, const wire::HelloMsg& hello) -> std::vector<uint8_t> {
    if (hello.protocol_version != schema::PROTOCOL_VERSION)
      return errorReply(MODNN_ERR_NOT_SUPPORTED, "protocol version mismatch: client " +
                                                     std::to_string(hello.protocol_version) + ", worker " +
                                                     std::to_string(schema::PROTOCOL_VERSION));
    if (auto job = jobs.find(hello.job_id); job != jobs.end()) {
      // Another of the job's workers, to send it bytes: same token, same
      // devices and buffers; on this host, a ring of its own for them.
      if (!job->second->session().acceptsToken(hello.token)) return errorReply(MODNN_ERR_NOT_PERMITTED, "unknown job token");
      if (!hello.shm_name.empty()) {
        auto seg = ShmSegment::open(hello.shm_name, hello.shm_size);
        if (!seg) return errorReply(seg.error().code, seg.error().message);
        peer_rings[identity] = std::make_shared<PeerRing>(std::move(seg).value());
      }
      routes[identity] = hello.job_id;
      log().info("job {}: a peer worker connected", hello.job_id);
      return wire::encodeWorkerMessage(0, opened[hello.job_id]);
    }
    JobTerms terms;
    if (!config.standalone_token.empty() && hello.token == config.standalone_token) {
      for (uint32_t i = 0; i < props.size(); ++i) terms.indices.push_back(i);
    } else if (auto granted = scheduler ? scheduler->grant(hello.token, hello.job_id) : std::nullopt) {
      terms = std::move(*granted);
    } else {
      return errorReply(MODNN_ERR_NOT_PERMITTED, "unknown job token");
    }
    const std::vector<uint32_t>& indices = terms.indices;
    auto devices = openBackend(backend_name, backend);
    if (!devices) return errorReply(devices.error().code, devices.error().message);
    std::vector<modnn_device> mine;
    for (uint32_t i = 0; i < devices->size(); ++i) {
      bool leased = std::find(indices.begin(), indices.end(), i) != indices.end();
      if (leased)
        mine.push_back((*devices)[i]);
      else
        (*devices)[i].iface->destroy((*devices)[i].ctx);
    }
    std::unique_ptr<ShmSegment> shm;
    if (!hello.shm_name.empty()) {
      auto seg = ShmSegment::open(hello.shm_name, hello.shm_size);
      if (!seg) return errorReply(seg.error().code, seg.error().message);
      shm = std::move(seg).value();
    }
    wire::HelloOkMsg ok;
    for (auto& d : mine) {
      modnn_device_props p{};
      p.struct_size = sizeof p;
      d.iface->get_props(d.ctx, &p);
      ok.devices.push_back(p);
    }
    JobSession::Identity who{hello.job_id, hello.token, endpoints};
    auto session = std::make_unique<JobSession>(std::move(who), std::move(mine), modules, std::move(shm));
    session->setMemoryQuota(terms.memory_quota);
    jobs[hello.job_id] = std::make_unique<JobThread>(ctx, std::move(session), indices, busy_ns.get(), arbiters.get(),
                                                     terms.share_weight);
    routes[identity] = hello.job_id;
    clients[hello.job_id] = identity;
    opened[hello.job_id] = ok;
    log().info("job {} opened ({} device(s){})", hello.job_id, ok.devices.size(),
               terms.memory_quota ? ", sharing with a quota of " + std::to_string(terms.memory_quota >> 20) + " MiB each" : "");
    return wire::encodeWorkerMessage(0, ok);
  };

  // Ended jobs' final busy time, reported in the next heartbeats (a few, in
  // case one is lost): the work since the last one would go unbilled.
  struct Ended {
    uint64_t job;
    double busy;
    int reports_left;
  };
  std::vector<Ended> ended;
  auto endJob = [&](uint64_t job_id) {
    if (auto it = jobs.find(job_id); it != jobs.end()) {
      it->second->stop();  // joins the job's thread: its queued work is done or dropped
      ended.push_back({job_id, it->second->busySeconds(), 5});
      if (ended.size() > 4096) ended.erase(ended.begin());
    }
    jobs.erase(job_id);
    opened.erase(job_id);
    clients.erase(job_id);
    std::erase_if(peer_rings, [&](const auto& kv) {
      auto r = routes.find(kv.first);
      return r == routes.end() || r->second == job_id;
    });
    std::erase_if(routes, [&](const auto& kv) { return kv.second == job_id; });
  };
  if (scheduler)
    scheduler->setUsageReport([&] {
      DeviceUsage usage{std::vector<uint64_t>(props.size(), 0), {}, seconds(std::chrono::steady_clock::now() - started)};
      for (auto& [job_id, job] : jobs)
        for (size_t d = 0; d < job->indices().size(); ++d) usage.memory_used[job->indices()[d]] += job->allocatedBytes(d);
      for (size_t d = 0; d < props.size(); ++d) usage.busy_seconds.push_back(double(busy_ns[d].load()) * 1e-9);
      for (auto& [job_id, job] : jobs) usage.job_busy.emplace_back(job_id, job->busySeconds());
      for (Ended& e : ended) usage.job_busy.emplace_back(e.job, e.busy), --e.reports_left;
      std::erase_if(ended, [](const Ended& e) { return e.reports_left <= 0; });
      return usage;
    });

  std::vector<zmq::pollitem_t> items = {{router.handle(), 0, ZMQ_POLLIN, 0}, {replies.handle(), 0, ZMQ_POLLIN, 0}};
  if (scheduler) items.push_back({scheduler->socket().handle(), 0, ZMQ_POLLIN, 0});
  while (!stop.load()) {
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
      continue;  // SIGTERM: `stop` is set, leave cleanly instead of aborting
    }
    if (items[1].revents & ZMQ_POLLIN) {
      zmq::message_t part;
      while (replies.recv(part, zmq::recv_flags::dontwait)) {
        bool more = part.more();
        router.send(part, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
        while (more) {
          (void)replies.recv(part);
          more = part.more();
          router.send(part, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
      }
    }
    if (items[0].revents & ZMQ_POLLIN) {
      for (int n = 0; n < 64; ++n) {
        zmq::message_t id;
        if (!router.recv(id, zmq::recv_flags::dontwait)) break;
        // [identity][message] or [identity][message][attached bulk bytes]
        struct Frames {
          zmq::message_t message, attachment;
        };
        auto frames = std::make_shared<Frames>();
        if (!router.recv(frames->message)) continue;
        bool extra = false, attached = frames->message.more();
        if (attached) {
          (void)router.recv(frames->attachment);
          while (frames->attachment.more()) {  // more frames than the protocol has: drop them all
            extra = true;
            zmq::message_t rest;
            (void)router.recv(rest);
            if (!rest.more()) break;
          }
        }
        std::string identity = id.to_string();
        if (extra) {
          send(router, identity, errorReply(MODNN_ERR_INVALID_VALUE, "too many frames"));
          continue;
        }
        std::span<const uint8_t> attachment;
        if (attached)
          attachment = {static_cast<const uint8_t*>(frames->attachment.data()), frames->attachment.size()};
        auto msg = wire::decodeClientMessage(frames->message.data(), frames->message.size(), frames, attachment);
        if (!msg) {
          log().warn("bad message from a client: {}", msg.error().message);
          send(router, identity, errorReply(msg.error().code, msg.error().message));
          continue;
        }
        if (auto* hello = std::get_if<wire::HelloMsg>(&msg->body)) {
          if (routes.count(identity)) {
            send(router, identity, errorReply(MODNN_ERR_NOT_PERMITTED, "hello twice"));
            continue;
          }
          send(router, identity, openJob(identity, *hello));
          continue;
        }
        auto route = routes.find(identity);
        auto job = route == routes.end() ? jobs.end() : jobs.find(route->second);
        if (job == jobs.end()) {
          send(router, identity, errorReply(MODNN_ERR_NOT_PERMITTED, "no job: say hello first"));
          continue;
        }
        if (std::holds_alternative<wire::ByeMsg>(msg->body)) {
          // The client's bye ends the job; a peer's only its connection.
          if (clients[job->first] == identity) {
            log().info("job {} said bye", job->first);
            endJob(job->first);
          } else {
            peer_rings.erase(identity);
            routes.erase(route);
          }
          continue;
        }
        if (std::holds_alternative<wire::PeerBytesMsg>(msg->body)) {
          auto ring = peer_rings.find(identity);
          job->second->deposit(std::move(msg).value(), ring == peer_rings.end() ? nullptr : ring->second);
          continue;
        }
        if (auto* req = std::get_if<wire::RequestMsg>(&msg->body)) {
          auto* q = std::get_if<wire::QueryEventReq>(&req->body);
          if (q && !q->wait) {
            auto t = job->second->session().eventTime(q->event);
            send(router, identity,
                 t ? wire::encodeWorkerMessage(req->id, wire::DoneMsg{*t})
                   : wire::encodeWorkerMessage(req->id, wire::FlagMsg{false}));
            continue;
          }
        }
        job->second->post(identity, std::move(msg).value());
      }
    }
    if (scheduler) {
      SchedulerNews news = scheduler->poll(items.back().revents & ZMQ_POLLIN);
      for (auto [job_id, bytes] : news.quotas) {
        if (auto job = jobs.find(job_id); job != jobs.end()) {
          log().info("job {}: memory quota now {} MiB per device", job_id, bytes >> 20);
          job->second->setMemoryQuota(bytes);
        }
      }
      for (uint64_t job_id : news.revoked) {
        if (jobs.count(job_id)) {
          log().info("job {} revoked by the scheduler", job_id);
          endJob(job_id);
        }
      }
    }
  }
  jobs.clear();
  return 0;
}

}  // namespace moai::worker
