#include "metrics_http.h"

#include <httplib.h>

#include <chrono>

namespace moai::sched {
namespace {

constexpr auto kFreshSnapshotWait = std::chrono::seconds(1);
constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

MetricsHttp::MetricsHttp() : http_(std::make_unique<httplib::Server>()), latest_(std::make_shared<MetricsSnapshot>()) {}

MetricsHttp::~MetricsHttp() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<MetricsHttp>> MetricsHttp::start(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return makeError(MODNN_ERR_INVALID_VALUE, "metrics address '" + listen + "' is not HOST:PORT");
  std::string host = listen.substr(0, colon), port_text = listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  if (!port_text.empty() && port_text.size() <= 5 && port_text.find_first_not_of("0123456789") == std::string::npos)
    port = std::stoi(port_text);
  if (port < 0 || port > 65535) return makeError(MODNN_ERR_INVALID_VALUE, "metrics port in '" + listen + "' is not 0..65535");

  auto m = std::unique_ptr<MetricsHttp>(new MetricsHttp);
  m->http_->set_keep_alive_max_count(10);
  m->http_->new_task_queue = [] { return new httplib::ThreadPool(2); };  // scrapes are rare and cheap
  MetricsHttp* self = m.get();
  m->http_->Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    res.set_content(self->scrape(), kExpositionType);
  });
  m->http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("moai-sched: see /metrics\n", "text/plain");
  });
  if (port == 0)
    port = m->http_->bind_to_any_port(host);
  else if (!m->http_->bind_to_port(host, port))
    port = -1;
  if (port <= 0) return makeError(MODNN_ERR_INVALID_VALUE, "cannot bind the metrics endpoint " + listen);
  bool v6 = host.find(':') != std::string::npos;
  m->address_ = "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  m->thread_ = std::thread([self] { self->http_->listen_after_bind(); });
  return m;
}

void MetricsHttp::publish(MetricsSnapshot snapshot) {
  auto fresh = std::make_shared<const MetricsSnapshot>(std::move(snapshot));
  {
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = std::move(fresh);
    ++generation_;
    wanted_ = false;
  }
  published_.notify_all();
}

std::string MetricsHttp::scrape() {
  std::shared_ptr<const MetricsSnapshot> snapshot;
  {
    std::unique_lock<std::mutex> lock(mu_);
    uint64_t seen = generation_;
    wanted_ = true;
    published_.wait_for(lock, kFreshSnapshotWait, [&] { return generation_ != seen; });
    snapshot = latest_;
  }
  return renderMetrics(*snapshot);  // outside the lock: the loop may publish meanwhile
}

}  // namespace moai::sched
