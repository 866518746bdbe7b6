#include "transport/zap_handler.h"

#include "transport/curve_keys.h"

#include <array>
#include <chrono>
#include <map>
#include <vector>

namespace moai {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr auto kPollInterval = std::chrono::milliseconds(100);  // how soon the destructor is heard
constexpr auto kRefusalLogInterval = std::chrono::seconds(60);
constexpr auto kWatchInterval = std::chrono::seconds(1);

std::string z85(const zmq::message_t& key) {
  if (key.size() != 32) return "";
  std::array<char, 41> out{};
  zmq_z85_encode(out.data(), static_cast<const uint8_t*>(key.data()), key.size());
  return out.data();
}

}  // namespace

ZapHandler::ZapHandler(zmq::context_t& context, std::optional<std::set<std::string>> allowed, spdlog::logger& log)
    : socket_(context, zmq::socket_type::rep), allowed_(std::move(allowed)), log_(log) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind(kZapEndpoint);  // before any handshake can ask
  thread_ = std::thread([this] { run(); });
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  thread_.join();
}

void ZapHandler::watch(const std::string& path) {
  std::lock_guard<std::mutex> lock(watch_mu_);
  std::error_code ec;
  watched_ = path;
  watched_mtime_ = std::filesystem::last_write_time(path, ec);
}

void ZapHandler::reloadIfChanged() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return;
  next_check_ = now + kWatchInterval;
  std::string path;
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(watched_, ec);
    if (watched_.empty() || ec || mtime == watched_mtime_) return;
    watched_mtime_ = mtime;
    path = watched_;
  }
  auto keys = loadCurveAllowList(path);
  if (!keys) {
    log_.error("allow-list not reloaded, the previous one stays: {}", keys.error().message);
    return;
  }
  log_.info("allow-list {} reloaded: {} keys", path, keys->size());
  allowed_ = std::move(*keys);
}

void ZapHandler::run() {
  std::map<std::string, std::chrono::steady_clock::time_point> last_logged;  // by key + address
  while (!stop_.load()) {
    reloadIfChanged();
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, kPollInterval) == 0) continue;
    // version, request id, domain, address, identity, mechanism, credentials...
    std::vector<zmq::message_t> frames;
    do {
      zmq::message_t part;
      if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;
      if (frames.size() < 8) frames.push_back(std::move(part));
    } while (socket_.get(zmq::sockopt::rcvmore));
    if (frames.size() < 6) continue;  // not a ZAP request; REP has nothing to answer to
    std::string mechanism = frames[5].to_string();
    std::string key = mechanism == "CURVE" && frames.size() >= 7 ? z85(frames[6]) : "";
    std::string address = frames[3].to_string(), domain = frames[2].to_string();
    bool plain = mechanism == "NULL";
    bool ok = frames[0].to_string() == "1.0" && (plain || (!key.empty() && (!allowed_ || allowed_->count(key))));
    if (ok) {
      log_.debug("ZAP {}: {} from {} allowed", domain, plain ? "plain peer" : key, address);
    } else {
      ++refused_;
      auto now = std::chrono::steady_clock::now();
      auto& last = last_logged[key + " " + address];
      if (last_logged.size() > 10000) last_logged.clear();
      if (last == std::chrono::steady_clock::time_point{} || now - last >= kRefusalLogInterval) {
        last = now;
        log_.warn("refused {} peer at {}: {}", domain, address,
                  key.empty() ? "no Curve key (mechanism " + mechanism + ")" : "public key " + key + " is not allowed");
      }
    }
    std::array<std::string, 6> reply = {"1.0", frames[1].to_string(), ok ? "200" : "400",
                                        ok ? "OK" : "public key not allowed", ok ? key : "", ""};
    for (size_t i = 0; i < reply.size(); ++i)
      socket_.send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

}  // namespace moai
