#include "clearing/railsim.hpp"

#include "clearing/eft.hpp"
#include "clearing/mx_rail.hpp"
#include "clearing/rtc.hpp"
#include "clearing/swift.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <future>
#include <map>

#include "clearing/xsd.hpp"

namespace payengine::clearing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string to_json(const RailsimFaults& f) {
  nlohmann::json j;
  j["latency_min_ms"] = f.latency_min_ms;
  j["latency_max_ms"] = f.latency_max_ms;
  j["final_after_ms"] = f.final_after_ms;
  j["reject_ppm"] = f.reject_ppm;
  j["error_ppm"] = f.error_ppm;
  j["timeout_ppm"] = f.timeout_ppm;
  j["slow_ppm"] = f.slow_ppm;
  j["slow_ms"] = f.slow_ms;
  j["duplicate_ppm"] = f.duplicate_ppm;
  j["late_ppm"] = f.late_ppm;
  j["late_ms"] = f.late_ms;
  j["outage"] = f.outage;
  j["pending_ppm"] = f.pending_ppm;
  return j.dump();
}

Result<RailsimFaults> faults_from_json(std::string_view text, const RailsimFaults& base) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{"bad_json", "faults: a JSON object is required"};
  RailsimFaults f = base;
  auto ms = [](const nlohmann::json& v, const std::string& key, int64_t& out) -> Result<Unit> {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 3'600'000)
      return Error{"bad_field", key + ": an integer number of milliseconds in 0..3600000 is required"};
    out = v.get<int64_t>();
    return Unit{};
  };
  auto ppm = [](const nlohmann::json& v, const std::string& key, uint32_t& out) -> Result<Unit> {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1'000'000)
      return Error{"bad_field", key + ": an integer in 0..1000000 (parts per million) is required"};
    out = static_cast<uint32_t>(v.get<int64_t>());
    return Unit{};
  };
  for (auto& [key, v] : j.items()) {
    Result<Unit> r = Unit{};
    if (key == "latency_min_ms") r = ms(v, key, f.latency_min_ms);
    else if (key == "latency_max_ms") r = ms(v, key, f.latency_max_ms);
    else if (key == "final_after_ms") r = ms(v, key, f.final_after_ms);
    else if (key == "slow_ms") r = ms(v, key, f.slow_ms);
    else if (key == "late_ms") r = ms(v, key, f.late_ms);
    else if (key == "reject_ppm") r = ppm(v, key, f.reject_ppm);
    else if (key == "error_ppm") r = ppm(v, key, f.error_ppm);
    else if (key == "timeout_ppm") r = ppm(v, key, f.timeout_ppm);
    else if (key == "slow_ppm") r = ppm(v, key, f.slow_ppm);
    else if (key == "duplicate_ppm") r = ppm(v, key, f.duplicate_ppm);
    else if (key == "late_ppm") r = ppm(v, key, f.late_ppm);
    else if (key == "pending_ppm") r = ppm(v, key, f.pending_ppm);
    else if (key == "outage") {
      if (!v.is_boolean()) return Error{"bad_field", "outage: true or false is required"};
      f.outage = v.get<bool>();
    } else {
      return Error{"unknown_field", key + ": not a railsim fault"};
    }
    if (!r) return r.error();
  }
  if (f.latency_max_ms < f.latency_min_ms)
    return Error{"bad_field", "latency_max_ms: must be at least latency_min_ms"};
  return f;
}

// ---------------------------------------------------------------------------

struct Railsim::Impl : std::enable_shared_from_this<Railsim::Impl> {
  Impl(asio::io_context& io_, RailsimOptions o)
      : io(io_), options(std::move(o)), rng(options.seed ^ 0x5eedfa17ull), admin_acceptor(io_) {}

  asio::io_context& io;
  RailsimOptions options;
  std::unique_ptr<Counterpart> counterpart;  // I/O thread only (handler runs there)
  std::unique_ptr<net::FrameServer> server;
  mutable std::mutex faults_mutex;
  RailsimFaults faults;
  Rng rng;  // I/O thread only
  tcp::acceptor admin_acceptor;
  uint16_t admin_bound = 0;
  std::atomic<uint64_t> received{0}, answered{0}, malformed{0}, dropped{0}, errors{0};
  // Schema checks (xsd_dir set), on the I/O thread only.
  std::map<iso20022::MessageType, xsd::Validator> validators;
  std::atomic<uint64_t> schema_checked{0}, schema_invalid{0};
  mutable std::mutex schema_mutex;
  std::string last_schema_error;

  Result<Unit> load_validators(const std::string& dir) {
    const std::pair<iso20022::MessageType, const char*> files[] = {
        {iso20022::MessageType::pacs008, "pacs.008.001.08.xsd"},
        {iso20022::MessageType::pacs009, "pacs.009.001.08.xsd"},
        {iso20022::MessageType::pacs028, "pacs.028.001.03.xsd"},
        {iso20022::MessageType::pacs002, "pacs.002.001.10.xsd"}};
    for (auto& [type, file] : files) {
      auto v = xsd::Validator::load(dir + "/" + file);
      if (!v) return v.error();
      validators.emplace(type, std::move(*v));
    }
    return Unit{};
  }

  // Validates an ISO 20022 message against its XSD (XML frames only).
  void check_schema(std::string_view frame) {
    if (validators.empty() || !looks_like_xml(frame)) return;
    auto type = iso20022::peek_message_type(frame);
    ++schema_checked;
    Result<Unit> ok = type ? validators.at(*type).validate(frame) : Result<Unit>(type.error());
    if (!ok) {
      ++schema_invalid;
      std::lock_guard<std::mutex> lock(schema_mutex);
      last_schema_error = ok.error().message;
    }
  }

  RailsimFaults current() const {
    std::lock_guard<std::mutex> lock(faults_mutex);
    return faults;
  }

  std::vector<net::FrameServer::Outbound> handle(std::string frame) {
    ++received;
    check_schema(frame);
    RailsimFaults f = current();
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    std::vector<Answer> answers;
    if (rng.chance_ppm(f.timeout_ppm)) {
      ++dropped;
      return {};
    }
    if (rng.chance_ppm(f.error_ppm)) {
      answers = counterpart->system_error(frame, now);
      if (!answers.empty()) ++errors;
    }
    if (answers.empty()) {
      auto handled = counterpart->handle(frame, now, f);
      if (handled.malformed) ++malformed;
      answers = std::move(handled.answers);
    }
    int64_t delay = f.latency_min_ms;
    if (f.latency_max_ms > f.latency_min_ms)
      delay += static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(f.latency_max_ms - f.latency_min_ms + 1)));
    if (rng.chance_ppm(f.slow_ppm)) delay += f.slow_ms;
    if (rng.chance_ppm(f.late_ppm)) delay += f.late_ms;
    bool duplicate = rng.chance_ppm(f.duplicate_ppm);
    std::vector<net::FrameServer::Outbound> out;
    for (auto& a : answers) {
      check_schema(a.body);
      int64_t d = delay + a.extra_delay_ms + (a.final ? f.final_after_ms : 0);
      if (duplicate) out.push_back({d, a.body});
      out.push_back({d, std::move(a.body)});
    }
    answered += out.size();
    return out;
  }

  // --- admin HTTP ----------------------------------------------------------

  struct AdminSession : std::enable_shared_from_this<AdminSession> {
    AdminSession(std::shared_ptr<Impl> i, tcp::socket s) : impl(std::move(i)), stream(std::move(s)) {}
    std::shared_ptr<Impl> impl;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;

    void read() {
      request = {};
      stream.expires_after(std::chrono::seconds(30));
      auto self = shared_from_this();
      http::async_read(stream, buffer, request, [self](beast::error_code e, size_t) {
        if (e) return;
        self->respond();
      });
    }
    void respond() {
      response = {};
      response.version(request.version());
      response.keep_alive(request.keep_alive());
      response.set(http::field::content_type, "application/json");
      std::string target(request.target());
      if (target == "/faults" && request.method() == http::verb::get) {
        response.result(http::status::ok);
        response.body() = to_json(impl->current());
      } else if (target == "/faults" && (request.method() == http::verb::put || request.method() == http::verb::post)) {
        auto f = faults_from_json(request.body(), impl->current());
        if (!f) {
          response.result(http::status::bad_request);
          response.body() = nlohmann::json{{"error", f.error().code}, {"detail", f.error().message}}.dump();
        } else {
          impl->apply(*f);
          response.result(http::status::ok);
          response.body() = to_json(*f);
        }
      } else if (target == "/stats" && request.method() == http::verb::get) {
        response.result(http::status::ok);
        response.body() = nlohmann::json{{"received", impl->received.load()},
                                         {"answered", impl->answered.load()},
                                         {"malformed", impl->malformed.load()},
                                         {"dropped", impl->dropped.load()},
                                         {"errors", impl->errors.load()}}
                              .dump();
      } else {
        response.result(http::status::not_found);
        response.body() = R"({"error":"not_found"})";
      }
      response.prepare_payload();
      auto self = shared_from_this();
      http::async_write(stream, response, [self](beast::error_code e, size_t) {
        if (e || !self->response.keep_alive()) {
          beast::error_code ignored;
          self->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
          return;
        }
        self->read();
      });
    }
  };

  void admin_accept() {
    auto self = shared_from_this();
    admin_acceptor.async_accept([self](beast::error_code e, tcp::socket s) {
      if (e) {
        if (!self->admin_acceptor.is_open()) return;
      } else {
        std::make_shared<AdminSession>(self, std::move(s))->read();
      }
      self->admin_accept();
    });
  }

  void apply(const RailsimFaults& f) {
    bool was_down;
    {
      std::lock_guard<std::mutex> lock(faults_mutex);
      was_down = faults.outage;
      faults = f;
    }
    if (f.outage != was_down) server->set_down(f.outage);
  }
};

Result<std::unique_ptr<Railsim>> Railsim::start(asio::io_context& io, RailsimOptions options) {
  auto impl = std::make_shared<Impl>(io, options);
  impl->faults = options.faults;
  impl->counterpart = make_counterpart(options.rail, options.seed, options.memory);
  if (!options.xsd_dir.empty()) {
    auto loaded = impl->load_validators(options.xsd_dir);
    if (!loaded) return loaded.error();
  }
  net::FrameServer::Options so;
  so.port = options.port;
  so.header = impl->counterpart->header();
  std::weak_ptr<Impl> weak = impl;
  auto server = net::FrameServer::start(io, so, [weak](std::string f) -> std::vector<net::FrameServer::Outbound> {
    if (auto i = weak.lock()) return i->handle(std::move(f));
    return {};
  });
  if (!server) return server.error();
  impl->server = std::move(*server);
  if (options.faults.outage) impl->server->set_down(true);
  if (options.admin) {
    beast::error_code ec;
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), options.admin_port);
    impl->admin_acceptor.open(ep.protocol(), ec);
    if (!ec) impl->admin_acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) impl->admin_acceptor.bind(ep, ec);
    if (!ec) impl->admin_acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error{"bind", "admin port " + std::to_string(options.admin_port) + ": " + ec.message()};
    impl->admin_bound = impl->admin_acceptor.local_endpoint().port();
    asio::post(io, [impl] { impl->admin_accept(); });
  }
  return std::unique_ptr<Railsim>(new Railsim(std::move(impl)));
}

Railsim::Railsim(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Railsim::~Railsim() {
  impl_->server.reset();  // closes its connections and waits
  auto impl = impl_;
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  asio::post(impl->io, [impl, done] {
    beast::error_code ignored;
    impl->admin_acceptor.close(ignored);
    done->set_value();
  });
  if (!impl->io.get_executor().running_in_this_thread()) finished.wait_for(std::chrono::seconds(5));
}

uint16_t Railsim::port() const { return impl_->server->port(); }
uint16_t Railsim::admin_port() const { return impl_->admin_bound; }
RailsimFaults Railsim::faults() const { return impl_->current(); }
void Railsim::set_faults(const RailsimFaults& faults) { impl_->apply(faults); }
Railsim::Stats Railsim::stats() const {
  Stats s{impl_->received, impl_->answered, impl_->malformed, impl_->dropped, impl_->errors,
          impl_->schema_checked, impl_->schema_invalid, {}};
  std::lock_guard<std::mutex> lock(impl_->schema_mutex);
  s.last_schema_error = impl_->last_schema_error;
  return s;
}

}  // namespace payengine::clearing

// ---------------------------------------------------------------------------

namespace payengine::clearing {

std::unique_ptr<Counterpart> make_counterpart(Rail rail, uint64_t seed, size_t memory) {
  switch (rail) {
    case Rail::samos: {
      MxCounterpartConfig c;
      c.rail = Rail::samos;
      c.profile = iso20022::Profile::samos;
      c.bic = "SARBZAJPXXX";
      return make_mx_counterpart(c, seed, memory);
    }
    case Rail::payshap: {
      MxCounterpartConfig c;
      c.rail = Rail::payshap;
      c.profile = iso20022::Profile::payshap;
      c.bic = "PSHPZAJJXXX";
      c.ack_then_final = true;
      c.amount_cap_minor = 5'000'000;
      c.proxy_directory = true;
      return make_mx_counterpart(c, seed, memory);
    }
    case Rail::eft: return make_eft_counterpart(seed, memory);
    case Rail::rtc: return make_rtc_counterpart(seed, memory);
    case Rail::swift: return make_swift_counterpart(seed, memory);
  }
  return nullptr;
}

}  // namespace payengine::clearing
