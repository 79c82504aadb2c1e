// HttpGateway on Boost.Beast.
//
// One Connection object per accepted socket, living on its own strand. It
// moves through phases:
//
//   idle ──first byte──► reading ──parsed──► handling ──► writing ──► idle (keep-alive)
//     │ idle_timeout         │ request_timeout   │ engine_timeout  │ write_timeout
//     ▼                      ▼                   ▼                 ▼
//   closed               408, close          503, keep-alive     closed
//
// and, after any response that ends the connection, `lingering`: the send
// side is shut down and what the client still sends is read and dropped for
// at most `linger_ms` (and 1 MiB), so a client that is still sending its
// body reads our answer instead of a connection reset.
//
// One steady_timer per connection carries whichever deadline the phase
// has; each arming bumps a generation number, and a timer callback whose
// generation is stale does nothing (a cancelled wait can already be queued).
//
// Engine replies arrive on CAF worker threads. They hold only a weak
// pointer to the connection and the gateway's `Life`; under Life's mutex
// they check that the gateway is alive and post the reply to the
// connection's strand, where a sequence number discards a reply whose
// request already timed out. stop() clears Life before it destroys the
// io_context, so no reply can touch a destroyed strand.
#include "actors/http_gateway.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "actors/payment_json.hpp"
#include "actors/problem.hpp"
#include "clearing/rails.hpp"

namespace payengine {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using gateway::Problem;
using gateway::ProblemKind;
using SteadyClock = std::chrono::steady_clock;
using Response = http::response<http::string_body>;

constexpr size_t kMaxRejecting = 64;           // refused connections being answered at once
constexpr size_t kMaxLingerBytes = 1 << 20;    // drained before closing
constexpr size_t kReadChunkBytes = 16 * 1024;  // one read from a socket
constexpr int64_t kAcceptRetryMs = 50;         // after accept() failed (EMFILE, ...)
constexpr int64_t kNotReadyRetryAfterS = 1;
constexpr int64_t kEngineRetryAfterS = 1;
constexpr size_t kMaxPurgeRoundsPerInterval = 100;

struct Life {
  std::mutex mutex;
  bool alive = true;
};

Problem make_problem(ProblemKind kind, std::string detail, std::string field = {},
                     std::string reason_code = {}, int64_t retry_after_s = 0) {
  Problem p;
  p.kind = kind;
  p.detail = std::move(detail);
  p.field = std::move(field);
  p.reason_code = std::move(reason_code);
  p.retry_after_s = retry_after_s;
  return p;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// application/json, optionally with charset=utf-8 (any case, quoted or not).
bool is_json_media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string type = lower(trim(content_type.substr(0, semi)));
  if (type != "application/json") return false;
  while (semi != std::string_view::npos) {
    std::string_view rest = content_type.substr(semi + 1);
    semi = rest.find(';');
    std::string param = lower(trim(rest.substr(0, semi)));
    if (param.empty()) continue;
    if (param != "charset=utf-8" && param != "charset=\"utf-8\"") return false;
    content_type = rest;
  }
  return true;
}

// Percent-decoding of one query component ('+' is a space). Nothing when a
// '%' is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

// A single header's value; nothing when absent, `multiple` when repeated.
std::optional<std::string> single_header(const http::request<http::string_body>& req,
                                         std::string_view name, bool* multiple) {
  *multiple = false;
  auto range = req.equal_range(beast::string_view(name.data(), name.size()));
  std::optional<std::string> out;
  for (auto it = range.first; it != range.second; ++it) {
    if (out) {
      *multiple = true;
      return out;
    }
    out = std::string(it->value());
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------

struct HttpGateway::Impl {
  Impl(Engine& e, HttpGatewayOptions o) : engine(e), options(std::move(o)) {
    body_limits.max_depth = options.max_json_depth;
    body_limits.max_field_bytes = options.max_field_bytes;
  }

  Engine& engine;
  HttpGatewayOptions options;
  gateway::BodyLimits body_limits;
  std::unique_ptr<asio::io_context> ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;
  std::vector<std::thread> threads;
  std::shared_ptr<Life> life = std::make_shared<Life>();
  uint16_t port = 0;

  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> purged{0};
  std::atomic<uint64_t> purge_runs{0};
  std::atomic<size_t> rejecting{0};

  std::mutex stop_mutex;
  bool stopped = false;

  std::thread purge_thread;
  std::mutex purge_mutex;
  std::condition_variable purge_cv;
  bool purge_stop = false;

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void purge_loop();
  void stop();
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpGateway::Impl& gw, tcp::socket socket, bool reject)
      : gw_(gw),
        opt_(gw.options),
        strand_(socket.get_executor()),
        socket_(std::move(socket)),
        timer_(strand_),
        buffer_(opt_.max_header_bytes + opt_.max_body_bytes + 4096),
        reject_(reject) {}

  ~Connection() {
    if (reject_)
      --gw_.rejecting;
    else
      --gw_.open;
  }

  void start() {
    auto self = shared_from_this();
    asio::dispatch(strand_, [self] {
      if (self->reject_) {
        self->request_start_ = SteadyClock::now();
        self->send_problem(make_problem(ProblemKind::too_many_connections,
                                        "the gateway is at its limit of " +
                                            std::to_string(self->opt_.max_connections) +
                                            " connections; retry later",
                                        "", "", 1),
                           true);
        return;
      }
      self->read_request();
    });
  }

 private:
  enum class Phase : uint8_t { idle, reading, handling, writing, lingering, closed };

  // ------------------------------------------------------------ timers --

  void arm(int64_t ms) {
    uint64_t gen = ++timer_gen_;
    timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(1, ms)));
    timer_.async_wait([self = shared_from_this(), gen](beast::error_code) {
      if (gen == self->timer_gen_) self->on_timeout();
    });
  }

  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  void on_timeout() {
    switch (phase_) {
      case Phase::idle:
        close();
        return;
      case Phase::reading: {
        beast::error_code ignored;
        socket_.cancel(ignored);
        send_problem(make_problem(ProblemKind::request_timeout,
                                  "the request was not received within " +
                                      std::to_string(opt_.request_timeout_ms) + " ms"),
                     true);
        return;
      }
      case Phase::handling:
        awaiting_ = false;
        ++seq_;
        send_problem(make_problem(ProblemKind::engine_unavailable,
                                  "the engine did not answer within " +
                                      std::to_string(opt_.engine_timeout_ms) +
                                      " ms; the outcome is unknown: retry with the same "
                                      "Idempotency-Key",
                                  "", "", kEngineRetryAfterS),
                     false);
        return;
      case Phase::writing:
      case Phase::lingering:
        close();
        return;
      case Phase::closed:
        return;
    }
  }

  // ----------------------------------------------------------- reading --

  // Reads raw bytes into buffer_ and feeds them to the parser ourselves
  // (rather than http::async_read_some), so that the first byte of a request
  // is seen as it arrives: that is when the request timeout starts.
  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(opt_.max_header_bytes));
    parser_->body_limit(opt_.max_body_bytes);
    parser_->eager(true);
    header_checked_ = false;
    continue_sent_ = false;
    method_.clear();
    route_.clear();
    phase_ = Phase::idle;
    arm(opt_.idle_timeout_ms);
    if (buffer_.size() > 0) {  // pipelined bytes are already here
      begin_request();
      return process();
    }
    do_read();
  }

  void begin_request() {
    phase_ = Phase::reading;
    request_start_ = SteadyClock::now();
    arm(opt_.request_timeout_ms);
  }

  void do_read() {
    const size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0)  // cannot happen within the parser's limits; refuse rather than grow
      return send_problem(make_problem(ProblemKind::headers_too_large, "request too large"), true);
    socket_.async_read_some(
        buffer_.prepare(std::min<size_t>(kReadChunkBytes, room)),
        [self = shared_from_this()](beast::error_code ec, size_t n) { self->on_read(ec, n); });
  }

  void on_read(beast::error_code ec, size_t n) {
    if (phase_ != Phase::idle && phase_ != Phase::reading) return;  // timed out meanwhile
    buffer_.commit(n);
    if (n > 0 && phase_ == Phase::idle) begin_request();
    if (ec) return close();  // EOF, reset or cancelled: a partial request has nobody to answer
    process();
  }

  // Parses what is buffered; then handles the request, answers an error,
  // or reads more.
  void process() {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return parse_failed(ec);
      if (!header_checked_ && parser_->is_header_done() && !check_header()) return;
      if (used == 0) break;
    }
    if (parser_->is_done()) return handle();
    if (parser_->is_header_done() && !continue_sent_ &&
        lower(std::string(parser_->get()[http::field::expect])) == "100-continue") {
      continue_sent_ = true;
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(socket_, asio::buffer(kContinue),
                        [self = shared_from_this()](beast::error_code wec, size_t) {
                          if (self->phase_ != Phase::reading) return;
                          if (wec) return self->close();
                          self->do_read();
                        });
      return;
    }
    do_read();
  }

  void parse_failed(beast::error_code ec) {
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      return send_problem(make_problem(ProblemKind::headers_too_large,
                                       "request line and headers exceed " +
                                           std::to_string(opt_.max_header_bytes) + " bytes"),
                          true);
    if (ec == http::error::body_limit)
      return send_problem(
          make_problem(ProblemKind::body_too_large,
                       "the body exceeds " + std::to_string(opt_.max_body_bytes) + " bytes"),
          true);
    send_problem(make_problem(ProblemKind::bad_request, "malformed HTTP: " + ec.message()), true);
  }

  // Checks made as soon as the header is complete; false when refused.
  bool check_header() {
    header_checked_ = true;
    const auto& req = parser_->get();
    method_ = std::string(req.method_string());
    if (req.target().size() > opt_.max_target_bytes) {
      send_problem(
          make_problem(ProblemKind::uri_too_long,
                       "the request target is " + std::to_string(req.target().size()) +
                           " bytes; the limit is " + std::to_string(opt_.max_target_bytes)),
          true);
      return false;
    }
    return true;
  }

  // ----------------------------------------------------------- writing --

  Response make_response(unsigned status, std::string content_type, std::string body) {
    Response res{static_cast<http::status>(status), version_};
    res.set(http::field::server, "payengine");
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    res.body() = std::move(body);
    return res;
  }

  Response json_response(unsigned status, std::string body) {
    return make_response(status, "application/json", std::move(body));
  }

  void send_problem(const Problem& p, bool close_after) {
    Response res = make_response(gateway::problem_status(p.kind), "application/problem+json",
                                 gateway::problem_json(p, instance_));
    if (p.retry_after_s > 0) res.set(http::field::retry_after, std::to_string(p.retry_after_s));
    if (!p.allow.empty()) {
      std::string allow;
      for (const auto& m : p.allow) allow += (allow.empty() ? "" : ", ") + m;
      res.set(http::field::allow, allow);
    }
    send(std::move(res), close_after);
  }

  void send(Response res, bool close_after) {
    disarm();
    phase_ = Phase::writing;
    close_after_ = close_after || !keep_alive_;
    res.keep_alive(!close_after_);
    res.prepare_payload();
    response_ = std::make_shared<Response>(std::move(res));
    arm(opt_.write_timeout_ms);
    http::async_write(
        socket_, *response_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (phase_ != Phase::writing) return;
    ++gw_.requests;
    if (opt_.on_request) {
      HttpRequestRecord r;
      r.method = method_;
      r.route = route_;
      r.status = response_->result_int();
      r.duration_us =
          std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - request_start_)
              .count();
      opt_.on_request(r);
    }
    response_.reset();
    if (ec) return close();
    if (close_after_) return linger();
    keep_alive_ = true;
    version_ = 11;
    instance_.clear();
    read_request();
  }

  void linger() {
    phase_ = Phase::lingering;
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm(opt_.linger_ms);
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (self->phase_ != Phase::lingering) return;
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxLingerBytes) return self->close();
                              self->drain();
                            });
  }

  void close() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    disarm();
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  // ---------------------------------------------------------- handling --

  void handle() {
    disarm();
    phase_ = Phase::handling;
    req_ = parser_->release();
    keep_alive_ = req_.keep_alive();
    version_ = req_.version() == 10 ? 10 : 11;
    std::string_view target(req_.target().data(), req_.target().size());
    auto q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query =
        q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    instance_ = std::string(path);
    try {
      route(path, query);
    } catch (const std::exception& e) {  // a bug: answer, never crash the server
      send_problem(make_problem(ProblemKind::internal_error, "internal error"), true);
    }
  }

  void method_not_allowed(std::vector<std::string> allow) {
    Problem p = make_problem(
        ProblemKind::method_not_allowed,
        method_ + " is not allowed on " + route_ + "; allowed: " + [&] {
          std::string s;
          for (auto& m : allow) s += (s.empty() ? "" : ", ") + m;
          return s;
        }());
    p.allow = std::move(allow);
    send_problem(p, false);
  }

  void route(std::string_view path, std::string_view query) {
    const http::verb verb = req_.method();
    const bool get = verb == http::verb::get;
    const bool post = verb == http::verb::post;
    if (path == "/healthz") {
      route_ = "/healthz";
      if (!get) return method_not_allowed({"GET"});
      return send(json_response(200, R"({"status":"ok"})"), false);
    }
    if (path == "/readyz") {
      route_ = "/readyz";
      if (!get) return method_not_allowed({"GET"});
      if (!gw_.engine.recovered())
        return send_problem(
            make_problem(ProblemKind::not_ready,
                         "recovery of open payments is still running (" +
                             std::to_string(gw_.engine.recovered_count()) + " recovered so far)",
                         "", "", kNotReadyRetryAfterS),
            false);
      return send(json_response(200, R"({"status":"ready"})"), false);
    }
    if (path == "/metrics" && opt_.metrics_text) {
      route_ = "/metrics";
      if (!get) return method_not_allowed({"GET"});
      return send(make_response(200, "text/plain; version=0.0.4", opt_.metrics_text()), false);
    }
    std::vector<std::string_view> seg = split(path, '/');
    // seg[0] is "" (paths start with '/').
    if (seg.size() >= 3 && seg[0].empty() && seg[1] == "v1") {
      if (seg.size() == 3 && seg[2] == "payments") {
        route_ = "/v1/payments";
        if (post) return with_tenant([&](const std::string& t) { create_payment(t); });
        if (get) return with_tenant([&](const std::string& t) { list_payments(t, query); });
        return method_not_allowed({"GET", "POST"});
      }
      if (seg.size() == 4 && seg[2] == "payments" && !seg[3].empty()) {
        route_ = "/v1/payments/{id}";
        if (!get) return method_not_allowed({"GET"});
        std::string id(seg[3]);
        return with_tenant([&](const std::string& t) { get_payment(t, id); });
      }
      if (seg.size() == 5 && seg[2] == "payments" && !seg[3].empty() && seg[4] == "cancel") {
        route_ = "/v1/payments/{id}/cancel";
        if (!post) return method_not_allowed({"POST"});
        std::string id(seg[3]);
        return with_tenant([&](const std::string& t) { cancel_payment(t, id); });
      }
      if (seg.size() == 3 && seg[2] == "rails") {
        route_ = "/v1/rails";
        if (!get) return method_not_allowed({"GET"});
        return with_tenant([&](const std::string&) { rails(); });
      }
    }
    send_problem(make_problem(ProblemKind::not_found, "no route for " + gateway_echo(path)), false);
  }

  static std::string gateway_echo(std::string_view s) {
    return s.size() <= 128 ? std::string(s) : std::string(s.substr(0, 128)) + "...";
  }

  template <class F>
  void with_tenant(F&& f) {
    bool multiple = false;
    auto tenant = single_header(req_, "X-Tenant-Id", &multiple);
    if (!tenant)
      return send_problem(make_problem(ProblemKind::missing_tenant,
                                       "X-Tenant-Id is required (the service mesh sets it from "
                                       "the caller's verified token)",
                                       "X-Tenant-Id"),
                          false);
    if (multiple)
      return send_problem(make_problem(ProblemKind::invalid_tenant,
                                       "X-Tenant-Id must be given once", "X-Tenant-Id"),
                          false);
    if (!gateway::is_tenant_id(*tenant))
      return send_problem(
          make_problem(ProblemKind::invalid_tenant,
                       "X-Tenant-Id must be 1 to 64 of A-Z a-z 0-9 _ -", "X-Tenant-Id"),
          false);
    f(*tenant);
  }

  void payment_not_found(const std::string& id) {
    send_problem(make_problem(ProblemKind::payment_not_found,
                              "no payment " + gateway_echo(id) + " for this tenant"),
                 false);
  }

  void reader_failed(const Error& e) {
    send_problem(make_problem(ProblemKind::engine_unavailable, "journal read failed: " + e.message,
                              "", "", kEngineRetryAfterS),
                 false);
  }

  // POST /v1/payments
  void create_payment(const std::string& tenant) {
    auto encoding = req_[http::field::content_encoding];
    if (!encoding.empty() && lower(std::string(encoding)) != "identity")
      return send_problem(make_problem(ProblemKind::unsupported_media_type,
                                       "Content-Encoding " + std::string(encoding) +
                                           " is not supported; send the body uncompressed",
                                       "Content-Encoding"),
                          false);
    std::string content_type(req_[http::field::content_type]);
    if (!is_json_media_type(content_type))
      return send_problem(
          make_problem(ProblemKind::unsupported_media_type,
                       content_type.empty() ? "Content-Type is missing; send application/json"
                                            : "Content-Type " + gateway_echo(content_type) +
                                                  " is not supported; send application/json",
                       "Content-Type"),
          false);
    bool multiple = false;
    auto key = single_header(req_, "Idempotency-Key", &multiple);
    if (!key)
      return send_problem(
          make_problem(ProblemKind::missing_idempotency_key,
                       "Idempotency-Key is required on POST /v1/payments", "Idempotency-Key"),
          false);
    if (multiple || !gateway::is_idempotency_key(*key))
      return send_problem(make_problem(ProblemKind::invalid_idempotency_key,
                                       "Idempotency-Key must be given once, as 1 to 255 printable "
                                       "ASCII characters without spaces",
                                       "Idempotency-Key"),
                          false);
    gateway::ParsedPayment parsed =
        gateway::parse_payment_request(req_.body(), tenant, gw_.body_limits);
    if (parsed.problem) return send_problem(*parsed.problem, false);

    // A new request goes straight to the engine, which checks the key
    // atomically with the `received` event and answers a replay itself. The
    // read side is consulted only where the engine will not decide: before
    // refusing for an open rail, and after an overloaded or failed answer,
    // so that a request already accepted is answered as a replay, not 503,
    // 429 or 500.
    const PaymentInstruction& p = parsed.instruction;
    if (!p.requested_rail.empty()) {
      auto rail = clearing::rail_from_string(p.requested_rail);
      const clearing::RailPools* pools = gw_.engine.rail_pools();
      if (rail && pools && pools->has(*rail) &&
          pools->breaker_state(*rail) == clearing::BreakerState::open) {
        if (answered_as_replay(tenant, *key, parsed.request_hash)) return;
        return send_problem(make_problem(ProblemKind::rail_unavailable,
                                         "requested_rail " + p.requested_rail +
                                             " is unavailable (circuit breaker open); retry "
                                             "later or let the engine choose the rail",
                                         "requested_rail", "AB08", opt_.rail_retry_after_s),
                            false);
      }
    }

    uint64_t seq = begin_engine_call();
    pending_key_ = {tenant, *key, parsed.request_hash};
    gw_.engine.initiate_async(
        p, sagas::IdempotencyClaim{*key, parsed.request_hash},
        [weak = weak_from_this(), life = gw_.life, seq](const sagas::InitiateReply& r) {
          std::lock_guard<std::mutex> lock(life->mutex);
          if (!life->alive) return;
          if (auto self = weak.lock())
            asio::post(self->strand_, [self, seq, r] { self->on_initiate(seq, r); });
        });
  }

  // If the tenant's key is already journaled, answers as the engine would
  // have (202 replayed, or 422 for another body) and returns true. A failed
  // read answers 503 and returns true as well.
  bool answered_as_replay(const std::string& tenant, const std::string& key,
                          const std::string& request_hash) {
    auto seen = gw_.engine.reader()->idempotency(tenant, key);
    if (!seen) {
      reader_failed(seen.error());
      return true;
    }
    if (!*seen) return false;
    const auto& entry = **seen;
    if (entry.request_hash == request_hash) accepted(entry.payment_id, true);
    else key_reused();
    return true;
  }

  uint64_t begin_engine_call() {
    awaiting_ = true;
    arm(opt_.engine_timeout_ms);
    return ++seq_;
  }

  bool end_engine_call(uint64_t seq) {
    if (!awaiting_ || seq != seq_ || phase_ != Phase::handling) return false;
    awaiting_ = false;
    return true;
  }

  void accepted(const std::string& payment_id, bool replayed) {
    Response res = json_response(202, gateway::accepted_json(payment_id));
    res.set(http::field::location, "/v1/payments/" + payment_id);
    if (replayed) res.set("Idempotent-Replayed", "true");
    send(std::move(res), false);
  }

  void key_reused() {
    send_problem(make_problem(ProblemKind::idempotency_key_reused,
                              "this Idempotency-Key was used with a different request; use a new "
                              "key for a new payment",
                              "Idempotency-Key"),
                 false);
  }

  void on_initiate(uint64_t seq, const sagas::InitiateReply& r) {
    if (!end_engine_call(seq)) return;
    using S = sagas::InitiateReply::Status;
    if ((r.status == S::overloaded || r.status == S::failed) &&
        answered_as_replay(pending_key_.tenant, pending_key_.key, pending_key_.request_hash))
      return;
    switch (r.status) {
      case S::accepted:
        return accepted(r.payment_id, false);
      case S::replayed:
        return accepted(r.payment_id, true);
      case S::conflict:
        return key_reused();
      case S::overloaded:
        return send_problem(make_problem(ProblemKind::overloaded,
                                         "too many payments in flight; retry after " +
                                             std::to_string(opt_.overloaded_retry_after_s) + " s",
                                         "", "", opt_.overloaded_retry_after_s),
                            false);
      case S::failed:
        break;
    }
    send_problem(make_problem(ProblemKind::engine_unavailable,
                              "the payment could not be journaled (" + r.detail +
                                  "); retry with the same Idempotency-Key",
                              "", "", kEngineRetryAfterS),
                 false);
  }

  // GET /v1/payments/{id}
  void get_payment(const std::string& tenant, const std::string& id) {
    if (!gateway::is_payment_id(id)) return payment_not_found(id);
    auto rec = gw_.engine.reader()->payment(tenant, id, opt_.max_events);
    if (!rec) return reader_failed(rec.error());
    if (!*rec) return payment_not_found(id);
    send(json_response(200, gateway::payment_json(**rec)), false);
  }

  // GET /v1/payments?state=&rail=&limit=&after=
  void list_payments(const std::string& tenant, std::string_view query) {
    sagas::PaymentFilter filter;
    std::string after;
    size_t limit = opt_.list_default_limit;
    bool seen_state = false, seen_rail = false, seen_limit = false, seen_after = false;
    auto bad = [&](const std::string& field, const std::string& detail) {
      send_problem(make_problem(ProblemKind::invalid_query, detail, field), false);
    };
    if (!query.empty()) {
      for (std::string_view part : split(query, '&')) {
        if (part.empty()) continue;
        auto eq = part.find('=');
        auto name = percent_decode(part.substr(0, eq));
        auto value =
            percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
        if (!name || !value) return bad("", "bad percent-encoding in the query");
        auto once = [&](bool& seen) {
          if (seen) return false;
          seen = true;
          return true;
        };
        if (*name == "state") {
          if (!once(seen_state)) return bad("state", "state is given twice");
          if (!value->empty() && !payment_state_from_string(*value))
            return bad("state",
                       "state must be a payment state (received, validated, screened, "
                       "reserved, submitted, accepted, settled, completed, rejected, "
                       "failed, cancelled, in_doubt)");
          filter.state = *value;
        } else if (*name == "rail") {
          if (!once(seen_rail)) return bad("rail", "rail is given twice");
          if (!value->empty() && !clearing::rail_from_string(*value))
            return bad("rail", "rail must be one of SAMOS, EFT, RTC, PAYSHAP, SWIFT");
          filter.rail = *value;
        } else if (*name == "limit") {
          if (!once(seen_limit)) return bad("limit", "limit is given twice");
          if (!value->empty()) {
            size_t n = 0;
            bool digits = value->size() <= 6;
            for (char c : *value) {
              if (c < '0' || c > '9') digits = false;
              if (digits) n = n * 10 + static_cast<size_t>(c - '0');
            }
            if (!digits || n < 1 || n > opt_.list_max_limit)
              return bad("limit", "limit must be an integer from 1 to " +
                                      std::to_string(opt_.list_max_limit));
            limit = n;
          }
        } else if (*name == "after") {
          if (!once(seen_after)) return bad("after", "after is given twice");
          if (!value->empty() && !gateway::is_payment_id(*value))
            return bad("after", "after must be a payment id (the previous page's next_after)");
          after = *value;
        } else {
          return bad(gateway_echo(*name), "unknown query parameter " + gateway_echo(*name) +
                                              "; known: state, rail, limit, after");
        }
      }
    }
    auto page = gw_.engine.reader()->list(tenant, filter, after, limit, opt_.list_max_scan);
    if (!page) return reader_failed(page.error());
    send(json_response(200, gateway::page_json(*page)), false);
  }

  // POST /v1/payments/{id}/cancel
  void cancel_payment(const std::string& tenant, const std::string& id) {
    if (!gateway::is_payment_id(id)) return payment_not_found(id);
    auto rec = gw_.engine.reader()->payment(tenant, id, 0);
    if (!rec) return reader_failed(rec.error());
    if (!*rec) return payment_not_found(id);
    if ((*rec)->summary.terminal) return already_final(id, (*rec)->summary.state);
    uint64_t seq = begin_engine_call();
    gw_.engine.cancel_async(
        id,
        [weak = weak_from_this(), life = gw_.life, seq, id](const sagas::CancelReply& r) {
          std::lock_guard<std::mutex> lock(life->mutex);
          if (!life->alive) return;
          if (auto self = weak.lock())
            asio::post(self->strand_, [self, seq, id, r] { self->on_cancel(seq, id, r); });
        },
        std::chrono::milliseconds(opt_.engine_timeout_ms));
  }

  void already_final(const std::string& id, const std::string& state) {
    send_problem(make_problem(ProblemKind::already_final,
                              "payment " + id + " has already ended (state " + state + ")"),
                 false);
  }

  void on_cancel(uint64_t seq, const std::string& id, const sagas::CancelReply& r) {
    if (!end_engine_call(seq)) return;
    using S = sagas::CancelReply::Status;
    switch (r.status) {
      case S::accepted: {
        nlohmann::json j;
        j["payment_id"] = id;
        j["cancel"] = "accepted";
        j["location"] = "/v1/payments/" + id;
        Response res = json_response(202, j.dump());
        res.set(http::field::location, "/v1/payments/" + id);
        return send(std::move(res), false);
      }
      case S::too_late:
        return send_problem(
            make_problem(ProblemKind::cancel_too_late,
                         "payment " + id + " was already submitted to its rail (state " + r.state +
                             "); it can no longer be cancelled and will end on its own"),
            false);
      case S::already_final:
        return already_final(id, r.state);
      case S::not_found:
        return payment_not_found(id);
      case S::failed:
        break;
    }
    send_problem(make_problem(ProblemKind::engine_unavailable,
                              "the cancel could not be processed (" + r.state + "); retry", "", "",
                              kEngineRetryAfterS),
                 false);
  }

  // GET /v1/rails
  void rails() {
    nlohmann::json j;
    nlohmann::json list = nlohmann::json::array();
    const clearing::RailPools* pools = gw_.engine.rail_pools();
    j["mode"] = pools ? "adapters" : "simulated";
    if (pools) {
      for (clearing::Rail r : clearing::kAllRails) {
        if (!pools->has(r)) continue;
        const clearing::PoolStats& s = pools->stats(r);
        nlohmann::json e;
        e["rail"] = std::string(clearing::to_string(r));
        e["breaker_state"] = std::string(clearing::to_string(pools->breaker_state(r)));
        e["queue_depth"] = s.queue_depth.load();
        e["in_flight"] = s.in_flight.load();
        e["admitted"] = s.admitted.load();
        e["connections_up"] = s.connections_up.load();
        list.push_back(std::move(e));
      }
    }
    j["rails"] = std::move(list);
    send(json_response(200, j.dump()), false);
  }

  HttpGateway::Impl& gw_;
  const HttpGatewayOptions& opt_;
  asio::any_io_executor strand_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::shared_ptr<Response> response_;
  std::array<char, 4096> scratch_{};
  const bool reject_;

  Phase phase_ = Phase::idle;
  uint64_t timer_gen_ = 0;
  uint64_t seq_ = 0;
  bool awaiting_ = false;
  struct PendingKey {
    std::string tenant, key, request_hash;
  } pending_key_;  // the POST awaiting the engine, for answering it as a replay
  bool header_checked_ = false;
  bool continue_sent_ = false;
  bool keep_alive_ = true;
  bool close_after_ = false;
  unsigned version_ = 11;
  size_t drained_ = 0;
  std::string method_;
  std::string route_;
  std::string instance_;
  SteadyClock::time_point request_start_ = SteadyClock::now();
};

}  // namespace

// ---------------------------------------------------------------------------

void HttpGateway::Impl::do_accept() {
  acceptor->async_accept(asio::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void HttpGateway::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    // Out of descriptors or similar: try again shortly rather than spin.
    accept_retry->expires_after(std::chrono::milliseconds(kAcceptRetryMs));
    accept_retry->async_wait([this](beast::error_code wec) {
      if (!wec) do_accept();
    });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  ++accepted;
  if (open.load() >= options.max_connections) {
    ++refused;
    if (rejecting.load() < kMaxRejecting) {
      ++rejecting;
      std::make_shared<Connection>(*this, std::move(socket), true)->start();
    } else {
      socket.close(ignored);
    }
  } else {
    ++open;
    std::make_shared<Connection>(*this, std::move(socket), false)->start();
  }
  do_accept();
}

void HttpGateway::Impl::purge_loop() {
  const auto interval =
      std::chrono::milliseconds(std::max<int64_t>(1, options.idempotency_purge_interval_ms));
  const size_t batch = std::max<size_t>(1, options.idempotency_purge_batch);
  std::unique_lock<std::mutex> lock(purge_mutex);
  for (;;) {
    if (purge_cv.wait_for(lock, interval, [this] { return purge_stop; })) return;
    lock.unlock();
    for (size_t round = 0; round < kMaxPurgeRoundsPerInterval; ++round) {
      int64_t n = 0;
      const int64_t now_ms = engine.clock().now_ms();
      engine.with_store([&](sagas::Store& s) { n = s.purge_idempotency(now_ms, batch); });
      if (n > 0) purged += static_cast<uint64_t>(n);
      if (n < static_cast<int64_t>(batch)) break;
      std::lock_guard<std::mutex> check(purge_mutex);
      if (purge_stop) break;
    }
    ++purge_runs;
    lock.lock();
  }
}

void HttpGateway::Impl::stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex);
    if (stopped) return;
    stopped = true;
  }
  {
    std::lock_guard<std::mutex> lock(purge_mutex);
    purge_stop = true;
  }
  purge_cv.notify_all();
  if (purge_thread.joinable()) purge_thread.join();
  {
    std::lock_guard<std::mutex> lock(life->mutex);
    life->alive = false;  // engine replies from now on are dropped
  }
  ioc->stop();
  for (auto& t : threads)
    if (t.joinable()) t.join();
  threads.clear();
  accept_retry.reset();
  acceptor.reset();
  ioc.reset();  // destroys every connection (their handlers) while *this is alive
}

// ---------------------------------------------------------------------------

HttpGateway::HttpGateway(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpGateway::~HttpGateway() { stop(); }

void HttpGateway::stop() { impl_->stop(); }

uint16_t HttpGateway::port() const { return impl_->port; }

HttpGateway::Stats HttpGateway::stats() const {
  Stats s;
  s.connections_open = impl_->open.load();
  s.connections_accepted = impl_->accepted.load();
  s.connections_refused = impl_->refused.load();
  s.requests = impl_->requests.load();
  s.idempotency_purged = impl_->purged.load();
  s.idempotency_purge_runs = impl_->purge_runs.load();
  return s;
}

Result<std::unique_ptr<HttpGateway>> HttpGateway::start(Engine& engine,
                                                        HttpGatewayOptions options) {
  if (!engine.reader())
    return Error{"config", "the HTTP gateway needs a file database (JournalReader)"};
  if (options.io_threads == 0) options.io_threads = 1;
  auto impl = std::make_shared<Impl>(engine, std::move(options));
  impl->ioc = std::make_unique<asio::io_context>(static_cast<int>(impl->options.io_threads));
  beast::error_code ec;
  auto address = asio::ip::make_address(impl->options.bind_address, ec);
  if (ec)
    return Error{"config", "bind address " + impl->options.bind_address + ": " + ec.message()};
  impl->acceptor.emplace(*impl->ioc);
  tcp::endpoint endpoint(address, impl->options.port);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error{"listen", impl->options.bind_address + ":" + std::to_string(impl->options.port) +
                               ": " + ec.message()};
  impl->port = impl->acceptor->local_endpoint().port();
  impl->accept_retry.emplace(*impl->ioc);
  impl->do_accept();
  Impl* raw = impl.get();
  for (size_t i = 0; i < impl->options.io_threads; ++i)
    impl->threads.emplace_back([raw] { raw->ioc->run(); });
  impl->purge_thread = std::thread([raw] { raw->purge_loop(); });
  return std::unique_ptr<HttpGateway>(new HttpGateway(std::move(impl)));
}

}  // namespace payengine
