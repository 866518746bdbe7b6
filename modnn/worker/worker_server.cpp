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
#include <thread>
#include <zmq.hpp>

#include "interpose/core/backend_loader.h"
#include "interpose/core/log.h"
#include "modnn/worker/job_session.h"
#include "modnn/worker/scheduler_link.h"

namespace moai::worker {
namespace {

constexpr const char* kRepliesEndpoint = "inproc://moai-worker-replies";

// A job and the thread that runs its messages in order.
class JobThread {
 public:
  JobThread(zmq::context_t& ctx, std::string identity, std::unique_ptr<JobSession> session)
      : identity_(std::move(identity)), session_(std::move(session)), thread_([this, &ctx] { run(ctx); }) {}
  ~JobThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void post(wire::ClientMsg msg) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      inbox_.push_back(std::move(msg));
    }
    cv_.notify_one();
  }
  uint64_t jobId() const { return session_->jobId(); }

 private:
  void run(zmq::context_t& ctx) {
    zmq::socket_t out(ctx, zmq::socket_type::push);
    out.connect(kRepliesEndpoint);
    for (;;) {
      std::deque<wire::ClientMsg> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !inbox_.empty(); });
        if (inbox_.empty()) return;  // stopping, and nothing left to run
        batch.swap(inbox_);
      }
      for (auto& msg : batch) {
        if (auto* cmds = std::get_if<std::vector<wire::Command>>(&msg.body)) {
          for (const auto& c : *cmds) session_->execute(c);
        } else if (auto* req = std::get_if<wire::RequestMsg>(&msg.body)) {
          JobSession::Reply reply = session_->answer(*req);
          out.send(zmq::buffer(identity_), zmq::send_flags::sndmore);
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

  std::string identity_;
  std::unique_ptr<JobSession> session_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<wire::ClientMsg> inbox_;
  bool stopping_ = false;
  std::thread thread_;
};

std::string ipcDirectory(const WorkerConfig& c) {
  if (!c.ipc_dir.empty()) return c.ipc_dir;
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  return runtime && *runtime ? std::string(runtime) + "/moai" : "/tmp/moai-" + std::to_string(getuid());
}

std::string lastEndpoint(zmq::socket_t& s) { return s.get(zmq::sockopt::last_endpoint); }

void send(zmq::socket_t& router, const std::string& identity, const std::vector<uint8_t>& payload) {
  router.send(zmq::buffer(identity), zmq::send_flags::sndmore);
  router.send(zmq::buffer(payload), zmq::send_flags::none);
}

std::vector<uint8_t> errorReply(modnn_status st, const std::string& why) {
  return wire::encodeWorkerMessage(0, wire::ErrorMsg{uint32_t(st), why});
}

}  // namespace

Result<int> runWorker(const WorkerConfig& config, const std::atomic<bool>& stop) {
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
  std::vector<std::string> endpoints;
  try {
    router.bind(config.listen_tcp);
    endpoints.push_back(lastEndpoint(router));
    std::string port = endpoints[0].substr(endpoints[0].rfind(':') + 1);
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
  auto inventory = openBackend("cpu", backend);
  if (!inventory) return inventory.error();
  std::vector<modnn_device_props> props;
  for (auto& d : *inventory) {
    modnn_device_props p{};
    p.struct_size = sizeof p;
    d.iface->get_props(d.ctx, &p);
    props.push_back(p);
    d.iface->destroy(d.ctx);  // jobs open devices of their own
  }

  ModuleStore modules;
  std::map<std::string, std::unique_ptr<JobThread>> jobs;  // by client identity
  std::unique_ptr<SchedulerLink> scheduler;
  if (!config.scheduler.empty())
    scheduler = std::make_unique<SchedulerLink>(ctx, config.scheduler, worker_id, endpoints, props,
                                                config.heartbeat_seconds);

  auto openJob = [&](const std::string& identity, const wire::HelloMsg& hello) -> std::vector<uint8_t> {
    if (hello.protocol_version != 1) return errorReply(MODNN_ERR_NOT_SUPPORTED, "protocol version mismatch");
    std::vector<uint32_t> indices;
    if (!config.standalone_token.empty() && hello.token == config.standalone_token) {
      for (uint32_t i = 0; i < props.size(); ++i) indices.push_back(i);
    } else if (!scheduler || !scheduler->grant(hello.token, hello.job_id, &indices)) {
      return errorReply(MODNN_ERR_NOT_PERMITTED, "unknown job token");
    }
    auto devices = openBackend("cpu", backend);
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
    auto session = std::make_unique<JobSession>(hello.job_id, std::move(mine), modules, std::move(shm));
    jobs[identity] = std::make_unique<JobThread>(ctx, identity, std::move(session));
    log().info("job {} opened ({} device(s))", hello.job_id, ok.devices.size());
    return wire::encodeWorkerMessage(0, ok);
  };

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
          if (jobs.count(identity)) {
            send(router, identity, errorReply(MODNN_ERR_NOT_PERMITTED, "hello twice"));
            continue;
          }
          send(router, identity, openJob(identity, *hello));
          continue;
        }
        auto job = jobs.find(identity);
        if (job == jobs.end()) {
          send(router, identity, errorReply(MODNN_ERR_NOT_PERMITTED, "no job: say hello first"));
          continue;
        }
        if (std::holds_alternative<wire::ByeMsg>(msg->body)) {
          log().info("job {} said bye", job->second->jobId());
          jobs.erase(job);
          continue;
        }
        job->second->post(std::move(msg).value());
      }
    }
    if (scheduler) {
      for (uint64_t job_id : scheduler->poll(items.back().revents & ZMQ_POLLIN)) {
        std::erase_if(jobs, [&](const auto& kv) {
          if (kv.second->jobId() != job_id) return false;
          log().info("job {} revoked by the scheduler", job_id);
          return true;
        });
      }
    }
  }
  jobs.clear();
  return 0;
}

}  // namespace moai::worker
