// moai-sched as a process: the message flow of the protocol over loopback,
// fast timeouts, and a clean exit on SIGTERM.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>
#include <zmq.hpp>

#include "schemas/scheduler_messages.h"

using namespace moai::wire;
using namespace std::chrono_literals;

extern char** environ;

namespace {

// Starts moai-sched with short timeouts and reads the endpoint it prints.
class Daemon {
 public:
  Daemon() {
    int out[2];
    REQUIRE(pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> args = {MOAI_SCHED_EXE, "--listen", "tcp://127.0.0.1:0",
                                     "--heartbeat-timeout", "0.5", "--client-timeout", "1",
                                     "--log-level", "warn", "--endpoint-file", endpointFile()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&pid_, MOAI_SCHED_EXE, &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    stdout_ = fdopen(out[0], "r");
    char line[256] = {};
    REQUIRE(std::fgets(line, sizeof line, stdout_));
    std::string text(line);
    const std::string prefix = "moai-sched listening on ";
    REQUIRE(text.starts_with(prefix));
    endpoint = text.substr(prefix.size(), text.size() - prefix.size() - 1);
  }
  ~Daemon() {
    if (pid_ > 0) stop();
    if (stdout_) std::fclose(stdout_);
    std::remove(endpointFile().c_str());
  }
  int stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string endpointFile() const { return "/tmp/moai-sched-test-" + std::to_string(getpid()) + ".endpoint"; }

  std::string endpoint;

 private:
  pid_t pid_ = 0;
  FILE* stdout_ = nullptr;  // kept open: a closed pipe would kill the daemon with SIGPIPE
};

// A worker or client: one DEALER socket.
class Peer {
 public:
  Peer(zmq::context_t& ctx, const std::string& endpoint) : socket_(ctx, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }
  void send(const ToSchedulerMsg& m) { sendRaw(encodeToScheduler(m)); }
  void sendRaw(const std::vector<uint8_t>& bytes) { socket_.send(zmq::buffer(bytes), zmq::send_flags::none); }
  std::optional<FromSchedulerMsg> receive(std::chrono::milliseconds timeout = 3000ms) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    zmq::message_t frame;
    REQUIRE(socket_.recv(frame));
    auto m = decodeFromScheduler(frame.data(), frame.size());
    REQUIRE(m.ok());
    return *m;
  }
  template <class T>
  T expect() {
    auto m = receive();
    REQUIRE(m);
    INFO("received message kind " << m->index() << " of FromSchedulerMsg");
    REQUIRE(std::holds_alternative<T>(*m));
    return std::get<T>(*m);
  }

 private:
  zmq::socket_t socket_;
};

RegisterMsg worker(const std::string& id, int devices) {
  RegisterMsg m{id, {"tcp://127.0.0.1:9" + std::to_string(devices)}, {}};
  for (int i = 0; i < devices; ++i) {
    modnn_device_props p{};
    p.struct_size = sizeof p;
    std::snprintf(p.kind, sizeof p.kind, "cpu");
    p.uuid[0] = uint8_t(i + 1);
    p.multiprocessor_count = 1;
    p.max_threads_per_block = 1024;
    m.devices.push_back(p);
  }
  return m;
}

}  // namespace

TEST_CASE("a lease is granted to the workers, then to the client, and revoked on release") {
  Daemon daemon;
  zmq::context_t ctx;
  Peer w(ctx, daemon.endpoint), client(ctx, daemon.endpoint);
  w.send(worker("w1", 2));
  w.expect<RegisteredMsg>();

  client.send(LeaseRequestMsg{2, "cpu", "test"});
  auto grant = w.expect<GrantMsg>();
  auto lease = client.expect<LeaseMsg>();
  CHECK(grant.lease.job_id == lease.lease.job_id);
  CHECK(grant.lease.token == lease.lease.token);
  REQUIRE(lease.lease.devices.size() == 2);
  CHECK(lease.lease.devices[0].worker_id == "w1");
  CHECK(lease.lease.devices[0].endpoints == std::vector<std::string>{"tcp://127.0.0.1:92"});

  client.send(StatusRequestMsg{});
  auto status = client.expect<StatusMsg>();
  REQUIRE(status.workers.size() == 1);
  CHECK(status.workers[0].leased == 2);
  REQUIRE(status.jobs.size() == 1);
  CHECK(status.jobs[0].token.empty());

  client.send(LeaseRequestMsg{3, "", "test"});  // more than exist
  auto refused = client.expect<ErrorMsg>();
  CHECK(refused.code == MODNN_ERR_OUT_OF_MEMORY);
  client.send(LeaseRequestMsg{1, "", "test"});  // not now: queued
  auto waiting = client.expect<QueuedMsg>();
  CHECK(waiting.position == 1);
  CHECK(waiting.job_id == lease.lease.job_id + 1);

  client.send(ReleaseMsg{lease.lease.job_id});
  CHECK(client.expect<ReleasedMsg>().job_id == lease.lease.job_id);
  CHECK(w.expect<RevokeMsg>().job_id == lease.lease.job_id);
  CHECK(w.expect<GrantMsg>().lease.job_id == waiting.job_id);
  CHECK(client.expect<LeaseMsg>().lease.job_id == waiting.job_id);
  client.send(ReleaseMsg{lease.lease.job_id});
  CHECK(client.expect<ErrorMsg>().code == MODNN_ERR_INVALID_HANDLE);

  // Admin commands answer `ok` or an error.
  client.send(DrainMsg{"w1", true});
  CHECK(client.expect<OkMsg>().message.find("draining") != std::string::npos);
  client.send(DrainMsg{"nobody", true});
  CHECK(client.expect<ErrorMsg>().code == MODNN_ERR_INVALID_HANDLE);
  client.send(ResizeMsg{waiting.job_id, 2});  // w1 is draining: no room to grow
  CHECK(client.expect<ErrorMsg>().code == MODNN_ERR_OUT_OF_MEMORY);
  client.send(DrainMsg{"w1", false});
  client.expect<OkMsg>();
  client.send(ResizeMsg{waiting.job_id, 2});
  CHECK(w.expect<GrantMsg>().lease.devices.size() == 2);
  CHECK(client.expect<LeaseChangedMsg>().lease.devices.size() == 2);  // the job's client is this peer
  client.expect<OkMsg>();
  client.send(CancelMsg{waiting.job_id});
  CHECK(w.expect<RevokeMsg>().job_id == waiting.job_id);
  CHECK(client.expect<RevokeMsg>().job_id == waiting.job_id);
  client.expect<OkMsg>();
  client.send(UsageRequestMsg{});
  auto usage = client.expect<UsageMsg>();
  REQUIRE(usage.records.size() == 2);
  CHECK(usage.records[1].end_reason == "cancelled");
  CHECK(daemon.stop() == 0);
}

TEST_CASE("malformed frames get an error reply and the daemon keeps serving") {
  Daemon daemon;
  zmq::context_t ctx;
  Peer p(ctx, daemon.endpoint);
  p.sendRaw({1, 2, 3});
  CHECK(p.expect<ErrorMsg>().code == MODNN_ERR_INVALID_VALUE);
  p.sendRaw(std::vector<uint8_t>(64, 0xff));
  CHECK(p.expect<ErrorMsg>().code == MODNN_ERR_INVALID_VALUE);
  auto bad = worker("has space", 1);
  p.send(bad);
  CHECK(p.expect<ErrorMsg>().code == MODNN_ERR_INVALID_VALUE);
  p.send(StatusRequestMsg{});
  p.expect<StatusMsg>();
  CHECK(daemon.stop() == 0);
}

TEST_CASE("a silent worker loses its leases; a silent client loses its lease") {
  Daemon daemon;  // heartbeat timeout 0.5 s, client timeout 1 s
  zmq::context_t ctx;
  Peer w1(ctx, daemon.endpoint), w2(ctx, daemon.endpoint), client(ctx, daemon.endpoint);
  Peer keeper(ctx, daemon.endpoint);  // keepalives from their own socket, as the client runtime sends them
  w1.send(worker("w1", 1));
  w1.expect<RegisteredMsg>();
  w2.send(worker("w2", 1));
  w2.expect<RegisteredMsg>();

  // w1 stops heartbeating; w2 and the socket that last kept the lease alive
  // are told the lease is gone.
  client.send(LeaseRequestMsg{2, "", "test"});
  w1.expect<GrantMsg>();
  w2.expect<GrantMsg>();
  uint64_t job = client.expect<LeaseMsg>().lease.job_id;
  std::optional<FromSchedulerMsg> revoked;
  for (int i = 0; i < 30 && !revoked; ++i) {
    w2.send(HeartbeatMsg{"w2"});
    keeper.send(KeepaliveMsg{job});
    revoked = keeper.receive(100ms);
  }
  REQUIRE(revoked);
  REQUIRE(std::holds_alternative<RevokeMsg>(*revoked));
  CHECK(std::get<RevokeMsg>(*revoked).job_id == job);
  CHECK(w2.expect<RevokeMsg>().job_id == job);
  CHECK(w1.expect<RevokeMsg>().job_id == job);
  w1.send(HeartbeatMsg{"w1"});
  CHECK(w1.expect<ErrorMsg>().code == MODNN_ERR_NOT_REGISTERED);

  // The client stops its keepalives; w2 (still heartbeating) gets the revoke.
  client.send(LeaseRequestMsg{1, "", "test"});
  CHECK(w2.expect<GrantMsg>().lease.devices[0].worker_id == "w2");
  uint64_t second = client.expect<LeaseMsg>().lease.job_id;
  std::optional<FromSchedulerMsg> ended;
  for (int i = 0; i < 30 && !ended; ++i) {
    w2.send(HeartbeatMsg{"w2"});
    ended = w2.receive(100ms);
  }
  REQUIRE(ended);
  REQUIRE(std::holds_alternative<RevokeMsg>(*ended));
  CHECK(std::get<RevokeMsg>(*ended).job_id == second);
  CHECK(client.expect<RevokeMsg>().job_id == second);
  client.send(KeepaliveMsg{second});
  CHECK(client.expect<ErrorMsg>().code == MODNN_ERR_INVALID_HANDLE);
  CHECK(daemon.stop() == 0);
}

TEST_CASE("the endpoint file names the bound endpoint") {
  Daemon daemon;
  FILE* f = nullptr;
  for (int i = 0; i < 50 && !f; ++i, std::this_thread::sleep_for(20ms)) f = std::fopen(daemon.endpointFile().c_str(), "r");
  REQUIRE(f);
  char line[256] = {};
  REQUIRE(std::fgets(line, sizeof line, f));
  std::fclose(f);
  CHECK(std::string(line) == daemon.endpoint + "\n");
  CHECK(daemon.endpoint.starts_with("tcp://127.0.0.1:"));
  CHECK(daemon.endpoint != "tcp://127.0.0.1:0");
}
