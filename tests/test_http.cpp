// ctest-labels: slow
// The HTTP gateway over real loopback HTTP: the engine (CAF actors, a real
// SQLite journal) behind HttpGateway, driven by curl and by a small raw
// client (for what curl will not send: broken HTTP, partial requests,
// pipelining). Every response any test gets is checked against
// docs/openapi.yaml (status documented for the route and method, content
// type, required headers, required fields and types of the body), and the
// last case checks that every documented (route, method, status) was
// exercised.
#define BOOST_TEST_MODULE http
#include <sqlite3.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "actors/engine.hpp"
#include "actors/fast_json.hpp"
#include "actors/http_gateway.hpp"
#include "actors/payment_json.hpp"
#include "actors/problem.hpp"
#include "clearing/rails.hpp"
#include "fixtures.hpp"

using namespace payengine;
using namespace std::chrono_literals;
using nlohmann::json;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return pred();
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string problem_uri(const char* slug) { return std::string(gateway::kProblemTypeBase) + slug; }

// ------------------------------------------------------------ responses --

struct HttpResult {
  unsigned status = 0;                         // 0: no response
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool closed = false;  // the server closed the connection after it
  std::string error;

  std::string header(const std::string& name) const {
    auto it = headers.find(lower(name));
    return it == headers.end() ? std::string() : it->second;
  }
  json problem() const { return json::parse(body, nullptr, false); }
};

std::ostream& operator<<(std::ostream& os, const HttpResult& r) {
  return os << r.status << " " << r.body.substr(0, 300)
            << (r.error.empty() ? "" : " error: " + r.error);
}

// --------------------------------------------------------------- OpenAPI --

// docs/openapi.yaml, and the check of a response against it.
class Spec {
 public:
  Spec() : root_(YAML::LoadFile(std::string(PAYENGINE_SOURCE_DIR) + "/docs/openapi.yaml")) {
    for (auto p : child(root_, "paths")) {
      std::string tmpl = p.first.as<std::string>();
      templates_.push_back(tmpl);
      for (auto m : p.second) {
        std::string method = m.first.as<std::string>();
        if (method == "parameters" || method == "summary" || method == "description") continue;
        for (auto r : child(m.second, "responses"))
          documented_.insert({tmpl, upper(method), std::stoi(r.first.as<std::string>())});
      }
    }
  }

  YAML::Node root() const { return root_; }
  const std::set<std::tuple<std::string, std::string, int>>& documented() const {
    return documented_;
  }
  std::set<std::tuple<std::string, std::string, int>> seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }
  size_t checked() const { return checked_.load(); }

  // The path template matching `path` ("/v1/payments/{id}"), or "".
  std::string match(const std::string& path) const {
    auto segs = split(path);
    for (const auto& t : templates_) {
      auto ts = split(t);
      if (ts.size() != segs.size()) continue;
      bool ok = true;
      for (size_t i = 0; i < ts.size() && ok; ++i)
        ok = (ts[i].size() > 2 && ts[i].front() == '{') ? !segs[i].empty() : ts[i] == segs[i];
      if (ok) return t;
    }
    return "";
  }

  // Checks one response; `target` is the request target as sent.
  void check(const std::string& method, const std::string& target, const HttpResult& r) {
    ++checked_;
    BOOST_TEST_CONTEXT(method << " " << target.substr(0, 120) << " -> " << r) {
      BOOST_REQUIRE_MESSAGE(r.status != 0, "no response: " << r.error);
      std::string path = target.substr(0, target.find('?'));
      std::string tmpl = match(path);
      const YAML::Node op = tmpl.empty() ? YAML::Node(YAML::NodeType::Undefined)
                                         : child(child(child(root_, "paths"), tmpl), lower(method));
      if (!op || !op.IsMap()) {
        // Undocumented (route, method): the gateway's generic answers only.
        bool transport = r.status == 400 || r.status == 408 || r.status == 413 || r.status == 414 ||
                         r.status == 431 || r.status == 503;
        if (tmpl.empty())
          BOOST_CHECK_MESSAGE(r.status == 404 || transport, "unmatched path answered " << r.status);
        else
          BOOST_CHECK_MESSAGE(r.status == 405 || transport,
                              "undocumented method answered " << r.status);
        if (r.status == 405) BOOST_CHECK(!r.header("Allow").empty());
        check_problem_body(r);
        return;
      }
      const YAML::Node resp = resolve(child(child(op, "responses"), std::to_string(r.status)));
      BOOST_REQUIRE_MESSAGE(
          resp, "status " << r.status << " not documented for " << method << " " << tmpl);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        seen_.insert({tmpl, upper(method), static_cast<int>(r.status)});
      }
      const YAML::Node headers = child(resp, "headers");
      if (headers && headers.IsMap())
        for (auto h : headers) {
          const YAML::Node hd = resolve(h.second);
          const YAML::Node required = child(hd, "required");
          if (required && required.as<bool>())
            BOOST_CHECK_MESSAGE(!r.header(h.first.as<std::string>()).empty(),
                                "required header " << h.first.as<std::string>() << " missing");
        }
      const YAML::Node contents = child(resp, "content");
      if (!contents) {
        BOOST_CHECK(r.body.empty());
        return;
      }
      std::string ct = r.header("Content-Type");
      std::string media = lower(ct.substr(0, ct.find(';')));
      while (!media.empty() && media.back() == ' ') media.pop_back();
      const YAML::Node content = child(contents, media);
      BOOST_REQUIRE_MESSAGE(content, "content type " << ct << " not documented");
      if (media == "text/plain") return;
      json body = json::parse(r.body, nullptr, false);
      BOOST_REQUIRE_MESSAGE(!body.is_discarded(), "body is not JSON");
      std::vector<std::string> errors;
      check_schema(body, child(content, "schema"), "$", errors, 0);
      for (auto& e : errors) BOOST_ERROR("schema: " << e);
      if (media == "application/problem+json")
        BOOST_CHECK_EQUAL(body.value("status", 0), static_cast<int>(r.status));
    }
  }

  void check_problem_body(const HttpResult& r) {
    BOOST_CHECK_EQUAL(r.header("Content-Type"), "application/problem+json");
    json body = json::parse(r.body, nullptr, false);
    std::vector<std::string> errors;
    check_schema(body, child(child(child(root_, "components"), "schemas"), "Problem"), "$", errors,
                 0);
    for (auto& e : errors) BOOST_ERROR("schema: " << e);
  }

  // A member of a map, or an undefined node; never creates anything (yaml-cpp's
  // non-const operator[] would, and Node assignment overwrites the node).
  static YAML::Node child(const YAML::Node& n, const std::string& key) {
    if (!n || !n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& c = n;
    return c[key];
  }

 private:
  static std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }
  static std::vector<std::string> split(const std::string& path) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : path) {
      if (c == '/') {
        out.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    out.push_back(cur);
    return out;
  }

  YAML::Node resolve(const YAML::Node& start) const {
    YAML::Node n(start);
    for (int i = 0; i < 10 && n && n.IsMap() && child(n, "$ref"); ++i) {
      std::string ref = child(n, "$ref").as<std::string>();
      BOOST_REQUIRE_MESSAGE(ref.rfind("#/", 0) == 0, "external $ref " << ref);
      YAML::Node cur(root_);
      std::stringstream ss(ref.substr(2));
      std::string part;
      while (std::getline(ss, part, '/')) {
        YAML::Node next = child(cur, part);
        cur.reset(next);
      }
      BOOST_REQUIRE_MESSAGE(cur, "dangling $ref " << ref);
      n.reset(cur);
    }
    return n;
  }

  static bool has_type(const json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "integer") return v.is_number_integer();
    if (t == "number") return v.is_number();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    return false;
  }

  // The subset of JSON Schema the document uses: $ref, type (one or a
  // list), enum, required, properties, items, pattern.
  void check_schema(const json& v, const YAML::Node& raw, const std::string& where,
                    std::vector<std::string>& errors, int depth) const {
    if (depth > 12 || !raw) return;
    const YAML::Node schema = resolve(raw);
    const YAML::Node type = child(schema, "type");
    if (type) {
      std::vector<std::string> types;
      if (type.IsSequence())
        for (auto t : type) types.push_back(t.as<std::string>());
      else
        types.push_back(type.as<std::string>());
      bool ok = false;
      for (auto& t : types) ok = ok || has_type(v, t);
      if (!ok) {
        errors.push_back(where + ": " + v.dump().substr(0, 80) + " is not of type " + types[0]);
        return;
      }
    }
    const YAML::Node enumeration = child(schema, "enum");
    if (enumeration && v.is_string()) {
      bool ok = false;
      for (auto e : enumeration) ok = ok || e.as<std::string>() == v.get<std::string>();
      if (!ok) errors.push_back(where + ": " + v.dump() + " not in enum");
    }
    const YAML::Node pattern = child(schema, "pattern");
    if (pattern && v.is_string()) {
      std::regex re(pattern.as<std::string>());
      if (!std::regex_search(v.get<std::string>(), re))
        errors.push_back(where + ": " + v.dump() + " does not match " + pattern.as<std::string>());
    }
    if (v.is_object()) {
      const YAML::Node required = child(schema, "required");
      if (required && required.IsSequence())
        for (auto k : required)
          if (!v.contains(k.as<std::string>()))
            errors.push_back(where + ": required field " + k.as<std::string>() + " missing");
      const YAML::Node properties = child(schema, "properties");
      if (properties && properties.IsMap())
        for (auto p : properties) {
          std::string k = p.first.as<std::string>();
          if (v.contains(k)) check_schema(v[k], p.second, where + "." + k, errors, depth + 1);
        }
    }
    const YAML::Node items = child(schema, "items");
    if (v.is_array() && items) {
      size_t n = 0;
      for (const auto& e : v) {
        if (++n > 50) break;
        check_schema(e, items, where + "[]", errors, depth + 1);
      }
    }
  }

  YAML::Node root_;
  std::vector<std::string> templates_;
  std::set<std::tuple<std::string, std::string, int>> documented_;
  mutable std::mutex mutex_;
  std::set<std::tuple<std::string, std::string, int>> seen_;
  std::atomic<size_t> checked_{0};
};

Spec& spec() {
  static Spec s;
  return s;
}

// ---------------------------------------------------------------- clients --

// A raw HTTP/1.1 client on one connection, with deadlines on every step.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    beast::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    connected_ = !ec;
  }
  bool connected() const { return connected_; }

  bool send_raw(const std::string& bytes, std::chrono::milliseconds deadline = 5s) {
    bool done = false;
    beast::error_code result;
    asio::async_write(socket_, asio::buffer(bytes), [&](beast::error_code ec, size_t) {
      result = ec;
      done = true;
    });
    run(done, deadline);
    return done && !result;
  }

  // Reads one response (skipping 1xx interim responses unless `interim`).
  HttpResult read(std::chrono::milliseconds deadline = 10s, bool interim = false) {
    HttpResult out;
    for (;;) {
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(16 << 20);
      bool done = false;
      beast::error_code result;
      bhttp::async_read(socket_, buffer_, parser, [&](beast::error_code ec, size_t) {
        result = ec;
        done = true;
      });
      run(done, deadline);
      if (!done) {
        out.error = "timeout";
        return out;
      }
      if (result) {
        out.error = result.message();
        out.closed = true;
        return out;
      }
      auto& res = parser.get();
      if (res.result_int() / 100 == 1 && !interim) continue;
      out.status = res.result_int();
      for (auto& f : res) out.headers[lower(std::string(f.name_string()))] = std::string(f.value());
      out.body = res.body();
      out.closed = !res.keep_alive();
      return out;
    }
  }

  // True when the server closes the connection within the deadline
  // (reads see EOF or a reset), having sent nothing more.
  bool closed_by_server(std::chrono::milliseconds deadline, std::string* extra = nullptr) {
    std::array<char, 4096> buf{};
    bool done = false;
    beast::error_code result;
    size_t got = 0;
    std::function<void()> next;
    next = [&] {
      socket_.async_read_some(asio::buffer(buf), [&](beast::error_code ec, size_t n) {
        if (extra) extra->append(buf.data(), n);
        got += n;
        if (ec) {
          result = ec;
          done = true;
          return;
        }
        next();
      });
    };
    next();
    run(done, deadline);
    return done && (got == 0 || extra);
  }

  HttpResult request(const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     const std::string& body = "", bool check = true) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST")
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    HttpResult r;
    if (!send_raw(req)) {
      r.error = "send failed";
      return r;
    }
    r = read();
    if (check) spec().check(method, target, r);
    return r;
  }

 private:
  void run(bool& done, std::chrono::milliseconds deadline) {
    ioc_.restart();
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!done && std::chrono::steady_clock::now() < until) ioc_.run_one_until(until);
    if (!done) {
      beast::error_code ignored;
      socket_.cancel(ignored);
      ioc_.restart();
      ioc_.run_for(100ms);  // let the cancelled handler run
    }
  }

  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

// curl, a real client: status, headers of the last response and body.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  return out + "'";
}

HttpResult curl(const std::string& dir, const std::vector<std::string>& args) {
  static std::atomic<int> counter{0};
  std::string base = dir + "/curl-" + std::to_string(counter++);
  std::string cmd =
      "curl -sS --max-time 20 -o " + base + ".body -D " + base + ".hdr -w '%{http_code}'";
  for (auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>" + base + ".err";
  HttpResult r;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) {
    r.error = "popen";
    return r;
  }
  char buf[64] = {};
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  int rc = pclose(f);
  r.status = static_cast<unsigned>(std::atoi(std::string(buf, n).c_str()));
  std::ifstream body(base + ".body", std::ios::binary);
  r.body.assign(std::istreambuf_iterator<char>(body), {});
  std::ifstream hdr(base + ".hdr");
  std::string line;
  while (std::getline(hdr, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
      r.headers.clear();  // a later response (after 100 Continue) replaces the earlier
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    r.headers[lower(line.substr(0, colon))] = v;
  }
  if (rc != 0) {
    std::ifstream err(base + ".err");
    r.error.assign(std::istreambuf_iterator<char>(err), {});
  }
  return r;
}

// ------------------------------------------------------------------ world --

json valid_body(const std::string& e2e, int64_t amount_minor = 10'000) {
  return json{
      {"end_to_end_id", e2e},
      {"amount_minor", amount_minor},
      {"currency", "ZAR"},
      {"debtor",
       {{"name", "Thandi Nkosi"}, {"account_number", "1234567890"}, {"branch_code", "250655"}}},
      {"creditor",
       {{"name", "Pieter van der Merwe"},
        {"account_number", "9876543210"},
        {"branch_code", "632005"}}},
      {"remittance", "Invoice 2026-114"}};
}

json usd_body(const std::string& e2e) {
  return json{
      {"end_to_end_id", e2e},
      {"amount_minor", 250'000},
      {"currency", "USD"},
      {"debtor",
       {{"name", "Thandi Nkosi"}, {"account_number", "4000000001"}, {"branch_code", "250655"}}},
      {"creditor",
       {{"name", "Muller und Sohne GmbH"},
        {"iban", "DE89370400440532013000"},
        {"bic", "COBADEFFXXX"}}}};
}

struct Faults {
  std::atomic<bool> delay_route{false};   // route attempt 1 fails transiently (backoff follows)
  std::atomic<int> stall_validate_ms{0};  // validate blocks its CAF worker this long
  std::atomic<bool> crash_validate{
      false};  // validate throws: the actor dies before its first write
};

struct WorldOptions {
  clearing::SimRailConfig rail{};
  size_t shards = 2;
  uint64_t max_active_per_shard = 10'000;
  int64_t backoff_initial_ms = 20;
  int64_t backoff_max_ms = 200;
  uint64_t recovery_rate_per_s = 5'000;
  int64_t idempotency_ttl_ms = 24LL * 3600 * 1000;
  std::optional<clearing::RailsConfig> rails;
  std::shared_ptr<Faults> faults;
  HttpGatewayOptions http;
  std::string db_path;  // "": a fresh file in the world's directory
  bool wait_recovered = true;
  sagas::Synchronous synchronous = sagas::Synchronous::normal;  // no power loss in tests
};

class World {
 public:
  explicit World(WorldOptions o = {}) : options_(std::move(o)) {
    EngineConfig config;
    config.store.path = options_.db_path.empty() ? dir_.path() + "/engine.db" : options_.db_path;
    config.store.synchronous = options_.synchronous;
    config.store.idempotency_ttl_ms = options_.idempotency_ttl_ms;
    config.rail = options_.rail;
    config.rails = options_.rails;
    config.shards = options_.shards;
    config.max_active_per_shard = options_.max_active_per_shard;
    config.saga.backoff_initial_ms = options_.backoff_initial_ms;
    config.saga.backoff_max_ms = options_.backoff_max_ms;
    config.recovery_rate_per_s = options_.recovery_rate_per_s;
    config.seed = 11;
    if (auto f = options_.faults) {
      config.fault = [f](const std::string&, const std::string& step,
                         uint32_t attempt) -> std::optional<sagas::StepOutcome> {
        if (step == "validate" && f->stall_validate_ms.load() > 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(f->stall_validate_ms.load()));
        if (step == "validate" && f->crash_validate.load())
          throw std::runtime_error("injected crash");
        if (step == "route" && attempt == 1 && f->delay_route.load())
          return sagas::StepOutcome::failure(sagas::ErrorKind::transient, "AB08",
                                             "injected bounce");
        return std::nullopt;
      };
    }
    auto engine = Engine::start(config);
    BOOST_REQUIRE_MESSAGE(engine.ok(), (engine.ok() ? std::string() : engine.error().message));
    engine_ = std::move(*engine);
    if (options_.wait_recovered) BOOST_REQUIRE(engine_->wait_recovered(30s));
    if (options_.db_path.empty()) {
      fund("bank1/1234567890", "ZAR", 1'000'000'000'000);
      fund("bank1/4000000001", "USD", 1'000'000'000);
      fund("bank2/1234567890", "ZAR", 1'000'000'000'000);
      fund("bank3/1234567890", "ZAR", 1'000'000'000'000);
    }
    auto gw = HttpGateway::start(*engine_, options_.http);
    BOOST_REQUIRE_MESSAGE(gw.ok(), (gw.ok() ? std::string() : gw.error().message));
    gateway_ = std::move(*gw);
  }
  ~World() {
    gateway_.reset();
    engine_.reset();
  }

  void fund(const std::string& account, const std::string& currency, int64_t minor) {
    engine_->with_store([&](sagas::Store& s) {
      if (!s.account(account)) BOOST_REQUIRE(s.create_account(account, currency, minor).ok());
    });
  }

  int64_t events() {
    int64_t n = -1;
    engine_->with_store([&](sagas::Store& s) { n = s.event_count(); });
    return n;
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(gateway_->port()) + path;
  }
  uint16_t port() const { return gateway_->port(); }
  const std::string& dir() const { return dir_.path(); }
  Engine& engine() { return *engine_; }
  HttpGateway& gateway() { return *gateway_; }

  // curl, checked against the spec. `path` is the target as curl sends it.
  HttpResult curl_checked(const std::string& method, const std::string& path,
                          std::vector<std::string> args) {
    std::vector<std::string> all = {"-X", method, "--path-as-is"};
    all.insert(all.end(), args.begin(), args.end());
    all.push_back(url(path));
    HttpResult r = ::curl(dir(), all);
    spec().check(method, path, r);
    return r;
  }

  std::string write_file(const std::string& name, const std::string& content) {
    std::string p = dir() + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  HttpResult post_payment(const std::string& tenant, const std::string& key,
                          const std::string& body) {
    Client c(port());
    return c.request(
        "POST", "/v1/payments",
        {{"X-Tenant-Id", tenant}, {"Idempotency-Key", key}, {"Content-Type", "application/json"}},
        body);
  }

  HttpResult get(const std::string& tenant, const std::string& target) {
    Client c(port());
    return c.request("GET", target, {{"X-Tenant-Id", tenant}});
  }

  // Polls GET /v1/payments/{id} until its state is terminal.
  json await_final(const std::string& tenant, const std::string& id,
                   std::chrono::milliseconds deadline = 30s) {
    json last;
    bool ok = wait_for(
        [&] {
          auto r = get(tenant, "/v1/payments/" + id);
          if (r.status != 200) return false;
          last = json::parse(r.body);
          return last["terminal"].get<bool>();
        },
        deadline);
    BOOST_REQUIRE_MESSAGE(ok, "payment " << id << " not final: " << last.dump());
    return last;
  }

 private:
  WorldOptions options_;
  testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HttpGateway> gateway_;
};

std::string id_of(const HttpResult& r) {
  return json::parse(r.body)["payment_id"].get<std::string>();
}

}  // namespace

// ===================================================================== //

// parse_payment_request reads a common body fast (actors/fast_json.hpp) and
// anything unusual with its full reader. A \u escape sends a body to the full
// reader; the same body either way must give the same payment and hash.
BOOST_AUTO_TEST_CASE(fast_and_full_body_readings_agree) {
  const gateway::BodyLimits limits;
  std::vector<json> bodies = {valid_body("FF-1"), usd_body("FF-2")};
  json every = usd_body("FF-3");
  every["urgency"] = "urgent";
  every["requested_rail"] = "SWIFT";
  every["remittance"] = "inv \"42\" \\ / caf\u00e9";
  every["creditor"]["name"] = "M\u00fcller \"und\" S\u00f6hne";
  bodies.push_back(every);
  for (const char* u : {"normal", "instant", ""}) {
    json b = valid_body(std::string("FF-u-") + u);
    b["urgency"] = u;
    bodies.push_back(b);
  }
  for (const json& body : bodies) {
    const std::string text = body.dump(1);
    const std::string currency = body["currency"].get<std::string>();
    std::string forced = text;
    const std::string quoted = "\"" + currency + "\"";
    char escape[8];
    std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(currency[0]));
    forced.replace(forced.find(quoted), quoted.size(), "\"" + std::string(escape) + currency.substr(1) + "\"");
    BOOST_TEST_CONTEXT(text << "\n" << forced) {
      BOOST_TEST(!gateway::parse_payment_body_fast(forced, "bank1", limits.max_field_bytes));
      BOOST_TEST(gateway::parse_payment_body_fast(text, "bank1", limits.max_field_bytes).has_value());
      auto fast = gateway::parse_payment_request(text, "bank1", limits);
      auto full = gateway::parse_payment_request(forced, "bank1", limits);
      BOOST_REQUIRE_MESSAGE(!fast.problem, fast.problem->detail);
      BOOST_REQUIRE_MESSAGE(!full.problem, full.problem->detail);
      BOOST_TEST(sagas::instruction_to_json(fast.instruction) ==
                 sagas::instruction_to_json(full.instruction));
      BOOST_TEST(fast.request_hash == full.request_hash);
    }
  }
  // A body breaking a rule is never taken by the fast reader.
  json bad = valid_body("FF-9");
  bad["urgency"] = "soon";
  BOOST_TEST(!gateway::parse_payment_body_fast(bad.dump(), "bank1", limits.max_field_bytes));
  bad = valid_body("FF-9");
  bad["tenant"] = "bank1";
  BOOST_TEST(!gateway::parse_payment_body_fast(bad.dump(), "bank1", limits.max_field_bytes));
  bad = valid_body("FF-9");
  bad["remittance"] = std::string(limits.max_field_bytes + 1, 'x');
  BOOST_TEST(!gateway::parse_payment_body_fast(bad.dump(), "bank1", limits.max_field_bytes));
}

BOOST_AUTO_TEST_CASE(sha256_known_answers) {
  BOOST_CHECK_EQUAL(gateway::sha256_hex(""),
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_CHECK_EQUAL(gateway::sha256_hex("abc"),
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_CHECK_EQUAL(gateway::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  BOOST_CHECK_EQUAL(gateway::sha256_hex(std::string(1'000'000, 'a')),
                    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

BOOST_AUTO_TEST_CASE(problem_types_are_documented_and_distinct) {
  auto kinds = gateway::all_problem_kinds();
  std::set<std::string> documented;
  YAML::Node node(spec().root());
  for (const char* k : {"components", "schemas", "Problem", "properties", "type", "enum"}) {
    YAML::Node next = Spec::child(node, k);
    node.reset(next);
  }
  BOOST_REQUIRE(node && node.IsSequence());
  for (auto e : node) documented.insert(e.as<std::string>());
  std::set<std::string> ours;
  for (size_t i = 0; i < kinds.size(); ++i) {
    BOOST_CHECK(kinds[i] == static_cast<gateway::ProblemKind>(i));  // the table is in enum order
    ours.insert(gateway::problem_type(kinds[i]));
  }
  BOOST_CHECK_EQUAL(ours.size(), kinds.size());
  BOOST_CHECK(ours == documented);
}

BOOST_AUTO_TEST_CASE(accepted_payment_is_durable_and_readable) {
  World w;
  const int64_t before = w.events();
  auto r = w.post_payment("bank1", "key-1", valid_body("E2E-1").dump());
  BOOST_REQUIRE_EQUAL(r.status, 202u);
  std::string id = id_of(r);
  BOOST_CHECK(gateway::is_payment_id(id));
  BOOST_CHECK_EQUAL(r.header("Location"), "/v1/payments/" + id);
  BOOST_CHECK(r.header("Idempotent-Replayed").empty());
  // 202 came after the received event was durable: a read sees it at once.
  BOOST_CHECK_GT(w.events(), before);
  auto seen = w.get("bank1", "/v1/payments/" + id);
  BOOST_REQUIRE_EQUAL(seen.status, 200u);

  json p = w.await_final("bank1", id);
  BOOST_CHECK_EQUAL(p["state"], "completed");
  BOOST_CHECK(p["reason_code"].is_null());
  BOOST_CHECK_EQUAL(p["rail"], "EFT");
  BOOST_CHECK_EQUAL(p["instruction"]["end_to_end_id"], "E2E-1");
  BOOST_CHECK(!p["instruction"].contains("tenant"));
  std::vector<std::string> states;
  for (auto& e : p["events"]) {
    BOOST_CHECK(e["at"].get<std::string>().size() == 24);  // 2026-01-01T00:00:00.000Z
    if (e.contains("state")) states.push_back(e["state"]);
  }
  std::vector<std::string> expected = {"received",  "validated", "screened", "reserved",
                                       "submitted", "accepted",  "settled",  "completed"};
  BOOST_CHECK_EQUAL_COLLECTIONS(states.begin(), states.end(), expected.begin(), expected.end());
  BOOST_CHECK_EQUAL(p["events"][0]["kind"], "received");

  // Liveness, readiness, rails in simulated mode, keep-alive on one connection.
  Client c(w.port());
  auto h = c.request("GET", "/healthz", {});
  BOOST_CHECK_EQUAL(h.status, 200u);
  auto ready = c.request("GET", "/readyz", {});
  BOOST_CHECK_EQUAL(ready.status, 200u);
  auto rails = c.request("GET", "/v1/rails", {{"X-Tenant-Id", "bank1"}});
  BOOST_CHECK_EQUAL(rails.status, 200u);
  BOOST_CHECK_EQUAL(json::parse(rails.body)["mode"], "simulated");
  // /metrics is not served without the hook.
  auto m = c.request("GET", "/metrics", {});
  BOOST_CHECK_EQUAL(m.status, 404u);
}

BOOST_AUTO_TEST_CASE(idempotency_same_key_same_answer_other_body_422) {
  World w;
  std::string body = valid_body("E2E-IDEM").dump();
  auto first = w.post_payment("bank1", "idem-1", body);
  BOOST_REQUIRE_EQUAL(first.status, 202u);
  w.await_final("bank1", id_of(first));
  const int64_t events = w.events();

  auto again = w.post_payment("bank1", "idem-1", body);
  BOOST_CHECK_EQUAL(again.status, 202u);
  BOOST_CHECK_EQUAL(again.header("Idempotent-Replayed"), "true");
  BOOST_CHECK_EQUAL(again.body, first.body);  // the same answer
  BOOST_CHECK_EQUAL(again.header("Location"), first.header("Location"));

  // The same request written differently (key order, whitespace, a default
  // spelled out) is the same request.
  json reordered = json::parse(body);
  reordered["urgency"] = "normal";
  std::string pretty = reordered.dump(4);
  auto same = w.post_payment("bank1", "idem-1", pretty);
  BOOST_CHECK_EQUAL(same.status, 202u);
  BOOST_CHECK_EQUAL(id_of(same), id_of(first));

  // Another body under the same key.
  json other = json::parse(body);
  other["amount_minor"] = 10'001;
  auto conflict = w.post_payment("bank1", "idem-1", other.dump());
  BOOST_CHECK_EQUAL(conflict.status, 422u);
  BOOST_CHECK_EQUAL(conflict.problem()["type"], problem_uri("idempotency-key-reused"));
  BOOST_CHECK_EQUAL(conflict.problem()["field"], "Idempotency-Key");
  BOOST_CHECK_EQUAL(w.events(), events);  // neither replay nor conflict wrote anything

  // Keys are per tenant: bank2 may use the same key for its own payment.
  auto bank2 = w.post_payment("bank2", "idem-1", body);
  BOOST_CHECK_EQUAL(bank2.status, 202u);
  BOOST_CHECK(bank2.header("Idempotent-Replayed").empty());
  BOOST_CHECK_NE(id_of(bank2), id_of(first));

  // Two requests with one new key racing on two connections: one payment.
  std::string race_body = valid_body("E2E-RACE").dump();
  std::string raw =
      "POST /v1/payments HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: bank1\r\nIdempotency-Key: race-1\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(race_body.size()) + "\r\n\r\n" + race_body;
  Client a(w.port()), b(w.port());
  BOOST_REQUIRE(a.send_raw(raw));
  BOOST_REQUIRE(b.send_raw(raw));
  auto ra = a.read(), rb = b.read();
  spec().check("POST", "/v1/payments", ra);
  spec().check("POST", "/v1/payments", rb);
  BOOST_CHECK_EQUAL(ra.status, 202u);
  BOOST_CHECK_EQUAL(rb.status, 202u);
  BOOST_CHECK_EQUAL(id_of(ra), id_of(rb));
  BOOST_CHECK_EQUAL(
      (ra.header("Idempotent-Replayed") == "true") + (rb.header("Idempotent-Replayed") == "true"),
      1);
  auto list = json::parse(w.get("bank1", "/v1/payments?limit=200").body);
  int race_payments = 0;
  for (auto& it : list["items"])
    if (it["payment_id"] == id_of(ra)) ++race_payments;
  BOOST_CHECK_EQUAL(race_payments, 1);
  BOOST_CHECK_EQUAL(list["items"].size(), 2u);  // E2E-IDEM and the race, not bank2's
}

namespace {

struct BadRequest {
  std::string name;
  std::string method = "POST";
  std::string path = "/v1/payments";
  std::vector<std::string> headers;  // curl -H values; defaults added unless `bare`
  std::string body;                  // sent with --data-binary when non-empty or `send_body`
  unsigned status;
  std::string slug;
  std::string field = "";
  std::string reason = "";
  bool bare = false;       // no default headers
  bool send_body = false;  // send `body` even if empty
};

json with(json j, const std::string& pointer, json value) {
  j[json::json_pointer(pointer)] = std::move(value);
  return j;
}
json without(json j, const std::string& key) {
  j.erase(key);
  return j;
}

}  // namespace

BOOST_AUTO_TEST_CASE(bad_requests_get_their_problem_and_write_nothing) {
  World w;
  // A payment of bank1 to aim at from elsewhere, and a used key.
  auto first = w.post_payment("bank1", "used-key", valid_body("E2E-USED").dump());
  BOOST_REQUIRE_EQUAL(first.status, 202u);
  const std::string bank1_id = id_of(first);
  w.await_final("bank1", bank1_id);
  const std::string absent_id = "pay_0000000000007000" + std::string(16, 'a');

  const json v = valid_body("E2E-BAD");
  std::vector<BadRequest> table = {
      {"truncated JSON",
       "POST",
       "/v1/payments",
       {},
       R"({"end_to_end_id": "x", )",
       400,
       "malformed-json"},
      {"not JSON", "POST", "/v1/payments", {}, "hello", 400, "malformed-json"},
      {"empty body", "POST", "/v1/payments", {}, "", 400, "malformed-json", "", "", false, true},
      {"trailing garbage", "POST", "/v1/payments", {}, v.dump() + " x", 400, "malformed-json"},
      {"duplicate key",
       "POST",
       "/v1/payments",
       {},
       R"({"currency":"ZAR","currency":"USD"})",
       400,
       "malformed-json"},
      {"invalid UTF-8",
       "POST",
       "/v1/payments",
       {},
       "{\"end_to_end_id\":\"\xff\xfe\"}",
       400,
       "malformed-json"},
      {"top-level array", "POST", "/v1/payments", {}, "[1,2]", 400, "wrong-type"},
      {"nested too deep",
       "POST",
       "/v1/payments",
       {},
       R"({"debtor":{"name":[[[[[[[[[1]]]]]]]]]}})",
       400,
       "json-too-deep"},
      {"amount as string",
       "POST",
       "/v1/payments",
       {},
       with(v, "/amount_minor", "10000").dump(),
       400,
       "wrong-type",
       "amount_minor"},
      {"amount with a fraction",
       "POST",
       "/v1/payments",
       {},
       R"({"amount_minor": 100.5})",
       400,
       "wrong-type",
       "amount_minor"},
      {"amount with 3 decimals",
       "POST",
       "/v1/payments",
       {},
       with(v, "/amount_minor", 100.005).dump(),
       400,
       "wrong-type",
       "amount_minor"},
      {"amount beyond 64 bits",
       "POST",
       "/v1/payments",
       {},
       R"({"amount_minor": 99999999999999999999999})",
       400,
       "wrong-type",
       "amount_minor"},
      {"negative amount",
       "POST",
       "/v1/payments",
       {},
       with(v, "/amount_minor", -100).dump(),
       422,
       "validation-failed",
       "amount_minor",
       "AM12"},
      {"zero amount",
       "POST",
       "/v1/payments",
       {},
       with(v, "/amount_minor", 0).dump(),
       422,
       "validation-failed",
       "amount_minor",
       "AM01"},
      {"amount over 18 digits",
       "POST",
       "/v1/payments",
       {},
       with(v, "/amount_minor", 1'000'000'000'000'000'000LL).dump(),
       422,
       "validation-failed",
       "amount_minor",
       "AM02"},
      {"amount beyond int64",
       "POST",
       "/v1/payments",
       {},
       with(v, "/amount_minor", 18'000'000'000'000'000'000ULL).dump(),
       422,
       "validation-failed",
       "amount_minor",
       "AM02"},
      {"missing amount",
       "POST",
       "/v1/payments",
       {},
       without(v, "amount_minor").dump(),
       422,
       "validation-failed",
       "amount_minor",
       "AM12"},
      {"unknown currency",
       "POST",
       "/v1/payments",
       {},
       with(v, "/currency", "ZZZ").dump(),
       422,
       "validation-failed",
       "currency",
       "AM03"},
      {"lower-case currency",
       "POST",
       "/v1/payments",
       {},
       with(v, "/currency", "zar").dump(),
       422,
       "validation-failed",
       "currency",
       "AM03"},
      {"currency as number",
       "POST",
       "/v1/payments",
       {},
       with(v, "/currency", 710).dump(),
       400,
       "wrong-type",
       "currency"},
      {"debtor as string",
       "POST",
       "/v1/payments",
       {},
       with(v, "/debtor", "Thandi").dump(),
       400,
       "wrong-type",
       "debtor"},
      {"debtor missing",
       "POST",
       "/v1/payments",
       {},
       without(v, "debtor").dump(),
       422,
       "validation-failed",
       "debtor.name",
       "RR02"},
      {"creditor name missing",
       "POST",
       "/v1/payments",
       {},
       with(v, "/creditor/name", nullptr).dump(),
       422,
       "validation-failed",
       "creditor.name",
       "RR03"},
      {"IBAN check digits",
       "POST",
       "/v1/payments",
       {},
       with(v, "/creditor", json{{"name", "Hans Meier"}, {"iban", "DE89370400440532013001"}})
           .dump(),
       422,
       "validation-failed",
       "creditor.iban",
       "AC03"},
      {"IBAN wrong length",
       "POST",
       "/v1/payments",
       {},
       with(v, "/creditor/iban", "DE8937040044053201300").dump(),
       422,
       "validation-failed",
       "creditor.iban",
       "AC03"},
      {"bad debtor BIC",
       "POST",
       "/v1/payments",
       {},
       with(v, "/debtor/bic", "AB1DZAJJ").dump(),
       422,
       "validation-failed",
       "debtor.bic",
       "RC03"},
      {"BIC with unknown country",
       "POST",
       "/v1/payments",
       {},
       with(v, "/creditor/bic", "ABCDXXJJ").dump(),
       422,
       "validation-failed",
       "creditor.bic",
       "RC04"},
      {"account number with a letter",
       "POST",
       "/v1/payments",
       {},
       with(v, "/debtor/account_number", "12345A7890").dump(),
       422,
       "validation-failed",
       "debtor.account_number",
       "AC02"},
      {"branch code of 5 digits",
       "POST",
       "/v1/payments",
       {},
       with(v, "/debtor/branch_code", "25065").dump(),
       422,
       "validation-failed",
       "debtor.branch_code",
       "RC03"},
      {"end_to_end_id missing",
       "POST",
       "/v1/payments",
       {},
       without(v, "end_to_end_id").dump(),
       422,
       "validation-failed",
       "end_to_end_id",
       "FF01"},
      {"end_to_end_id of 36",
       "POST",
       "/v1/payments",
       {},
       with(v, "/end_to_end_id", std::string(36, 'E')).dump(),
       422,
       "validation-failed",
       "end_to_end_id",
       "FF01"},
      {"remittance of 141",
       "POST",
       "/v1/payments",
       {},
       with(v, "/remittance", std::string(141, 'r')).dump(),
       422,
       "validation-failed",
       "remittance",
       "FF01"},
      {"name over the field limit",
       "POST",
       "/v1/payments",
       {},
       with(v, "/debtor/name", std::string(2'000, 'n')).dump(),
       400,
       "field-too-long",
       "debtor.name"},
      {"unknown urgency",
       "POST",
       "/v1/payments",
       {},
       with(v, "/urgency", "asap").dump(),
       422,
       "validation-failed",
       "urgency",
       "FF01"},
      {"unknown rail",
       "POST",
       "/v1/payments",
       {},
       with(v, "/requested_rail", "ACH").dump(),
       422,
       "validation-failed",
       "requested_rail",
       "FF01"},
      {"unknown field",
       "POST",
       "/v1/payments",
       {},
       with(v, "/amount", "100.00").dump(),
       400,
       "unknown-field",
       "amount"},
      {"tenant in the body",
       "POST",
       "/v1/payments",
       {},
       with(v, "/tenant", "bank2").dump(),
       400,
       "unknown-field",
       "tenant"},
      {"unknown nested field",
       "POST",
       "/v1/payments",
       {},
       with(v, "/debtor/nickname", "T").dump(),
       400,
       "unknown-field",
       "debtor.nickname"},
      {"payment to oneself",
       "POST",
       "/v1/payments",
       {},
       with(v, "/creditor", v["debtor"]).dump(),
       422,
       "validation-failed",
       "creditor",
       "AG01"},
      {"USD without a BIC",
       "POST",
       "/v1/payments",
       {},
       with(v, "/currency", "USD").dump(),
       422,
       "validation-failed",
       "creditor.bic",
       "RC04"},
      {"oversized body",
       "POST",
       "/v1/payments",
       {},
       v.dump() + std::string(100 * 1024, ' '),
       413,
       "body-too-large"},
      {"missing Idempotency-Key",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1", "Content-Type: application/json"},
       v.dump(),
       400,
       "missing-idempotency-key",
       "Idempotency-Key",
       "",
       true},
      {"Idempotency-Key with a space",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1", "Content-Type: application/json", "Idempotency-Key: a b"},
       v.dump(),
       400,
       "invalid-idempotency-key",
       "Idempotency-Key",
       "",
       true},
      {"Idempotency-Key of 256",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1", "Content-Type: application/json",
        "Idempotency-Key: " + std::string(256, 'k')},
       v.dump(),
       400,
       "invalid-idempotency-key",
       "Idempotency-Key",
       "",
       true},
      {"key reused with another body",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1", "Content-Type: application/json", "Idempotency-Key: used-key"},
       v.dump(),
       422,
       "idempotency-key-reused",
       "Idempotency-Key",
       "",
       true},
      {"missing tenant",
       "POST",
       "/v1/payments",
       {"Content-Type: application/json", "Idempotency-Key: k-t"},
       v.dump(),
       400,
       "missing-tenant",
       "X-Tenant-Id",
       "",
       true},
      {"tenant with a slash",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1/../bank2", "Content-Type: application/json", "Idempotency-Key: k-t"},
       v.dump(),
       400,
       "invalid-tenant",
       "X-Tenant-Id",
       "",
       true},
      {"text/plain body",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1", "Content-Type: text/plain", "Idempotency-Key: k-ct"},
       v.dump(),
       415,
       "unsupported-media-type",
       "Content-Type",
       "",
       true},
      {"no content type",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1", "Content-Type:", "Idempotency-Key: k-ct"},
       v.dump(),
       415,
       "unsupported-media-type",
       "Content-Type",
       "",
       true},
      {"gzip body",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1", "Content-Type: application/json", "Content-Encoding: gzip",
        "Idempotency-Key: k-gz"},
       v.dump(),
       415,
       "unsupported-media-type",
       "Content-Encoding",
       "",
       true},
      {"JSON with another charset",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1", "Content-Type: application/json; charset=latin1",
        "Idempotency-Key: k-cs"},
       v.dump(),
       415,
       "unsupported-media-type",
       "Content-Type",
       "",
       true},
      {"another tenant's payment",
       "GET",
       "/v1/payments/" + bank1_id,
       {"X-Tenant-Id: bank2"},
       "",
       404,
       "payment-not-found",
       "",
       "",
       true},
      {"cancel another tenant's payment",
       "POST",
       "/v1/payments/" + bank1_id + "/cancel",
       {"X-Tenant-Id: bank2"},
       "",
       404,
       "payment-not-found",
       "",
       "",
       true},
      {"no such payment",
       "GET",
       "/v1/payments/" + absent_id,
       {"X-Tenant-Id: bank1"},
       "",
       404,
       "payment-not-found",
       "",
       "",
       true},
      {"cancel no such payment",
       "POST",
       "/v1/payments/" + absent_id + "/cancel",
       {"X-Tenant-Id: bank1"},
       "",
       404,
       "payment-not-found",
       "",
       "",
       true},
      {"dot-dot in the path",
       "GET",
       "/v1/payments/../rails",
       {"X-Tenant-Id: bank1"},
       "",
       404,
       "not-found",
       "",
       "",
       true},
      {"encoded dot-dot id",
       "GET",
       "/v1/payments/%2e%2e",
       {"X-Tenant-Id: bank1"},
       "",
       404,
       "payment-not-found",
       "",
       "",
       true},
      {"encoded traversal id",
       "GET",
       "/v1/payments/..%2f..%2fetc%2fpasswd",
       {"X-Tenant-Id: bank1"},
       "",
       404,
       "payment-not-found",
       "",
       "",
       true},
      {"encoded NUL in the id",
       "GET",
       "/v1/payments/" + bank1_id + "%00",
       {"X-Tenant-Id: bank1"},
       "",
       404,
       "payment-not-found",
       "",
       "",
       true},
      {"overlong id",
       "GET",
       "/v1/payments/pay_" + std::string(1'500, 'a'),
       {"X-Tenant-Id: bank1"},
       "",
       404,
       "payment-not-found",
       "",
       "",
       true},
      {"upper-case id",
       "GET",
       "/v1/payments/" + lower(bank1_id).replace(4, 1, "A"),
       {"X-Tenant-Id: bank1"},
       "",
       404,
       "payment-not-found",
       "",
       "",
       true},
      {"GET without a tenant",
       "GET",
       "/v1/payments/" + bank1_id,
       {},
       "",
       400,
       "missing-tenant",
       "X-Tenant-Id",
       "",
       true},
      {"cancel without a tenant",
       "POST",
       "/v1/payments/" + bank1_id + "/cancel",
       {},
       "",
       400,
       "missing-tenant",
       "X-Tenant-Id",
       "",
       true},
      {"rails without a tenant",
       "GET",
       "/v1/rails",
       {},
       "",
       400,
       "missing-tenant",
       "X-Tenant-Id",
       "",
       true},
      {"list with limit 0",
       "GET",
       "/v1/payments?limit=0",
       {"X-Tenant-Id: bank1"},
       "",
       400,
       "invalid-query",
       "limit",
       "",
       true},
      {"list with limit 1000",
       "GET",
       "/v1/payments?limit=1000",
       {"X-Tenant-Id: bank1"},
       "",
       400,
       "invalid-query",
       "limit",
       "",
       true},
      {"list with a bad state",
       "GET",
       "/v1/payments?state=paid",
       {"X-Tenant-Id: bank1"},
       "",
       400,
       "invalid-query",
       "state",
       "",
       true},
      {"list with a bad rail",
       "GET",
       "/v1/payments?rail=ACH",
       {"X-Tenant-Id: bank1"},
       "",
       400,
       "invalid-query",
       "rail",
       "",
       true},
      {"list after a path",
       "GET",
       "/v1/payments?after=..%2F..",
       {"X-Tenant-Id: bank1"},
       "",
       400,
       "invalid-query",
       "after",
       "",
       true},
      {"list with an unknown parameter",
       "GET",
       "/v1/payments?tenant=bank2",
       {"X-Tenant-Id: bank1"},
       "",
       400,
       "invalid-query",
       "tenant",
       "",
       true},
      {"list without a tenant",
       "GET",
       "/v1/payments",
       {},
       "",
       400,
       "missing-tenant",
       "X-Tenant-Id",
       "",
       true},
      {"overlong query",
       "GET",
       "/v1/payments?after=" + std::string(3'000, 'a'),
       {"X-Tenant-Id: bank1"},
       "",
       414,
       "uri-too-long",
       "",
       "",
       true},
      {"headers over 8 KiB",
       "POST",
       "/v1/payments",
       {"X-Tenant-Id: bank1", "X-Padding: " + std::string(9'000, 'p')},
       v.dump(),
       431,
       "headers-too-large",
       "",
       "",
       true},
      {"DELETE a payment",
       "DELETE",
       "/v1/payments/" + bank1_id,
       {"X-Tenant-Id: bank1"},
       "",
       405,
       "method-not-allowed",
       "",
       "",
       true},
      {"PUT the collection",
       "PUT",
       "/v1/payments",
       {"X-Tenant-Id: bank1"},
       "",
       405,
       "method-not-allowed",
       "",
       "",
       true},
      {"GET a cancel",
       "GET",
       "/v1/payments/" + bank1_id + "/cancel",
       {"X-Tenant-Id: bank1"},
       "",
       405,
       "method-not-allowed",
       "",
       "",
       true},
      {"unknown version",
       "GET",
       "/v2/payments",
       {"X-Tenant-Id: bank1"},
       "",
       404,
       "not-found",
       "",
       "",
       true},
      {"unknown route", "GET", "/admin", {}, "", 404, "not-found", "", "", true},
  };
  BOOST_TEST_MESSAGE(table.size() << " bad requests");
  BOOST_REQUIRE_GE(table.size(), 40u);

  int n = 0;
  for (const auto& row : table) {
    BOOST_TEST_CONTEXT(row.name) {
      const int64_t before = w.events();
      std::vector<std::string> args;
      std::vector<std::string> headers = row.headers;
      if (!row.bare) {
        headers.push_back("X-Tenant-Id: bank1");
        headers.push_back("Content-Type: application/json");
        headers.push_back("Idempotency-Key: bad-" + std::to_string(n++));
      }
      for (auto& h : headers) {
        args.push_back("-H");
        args.push_back(h);
      }
      if (!row.body.empty() || row.send_body) {
        args.push_back("--data-binary");
        args.push_back("@" + w.write_file("body-" + std::to_string(n++), row.body));
      }
      HttpResult r = w.curl_checked(row.method, row.path, args);
      BOOST_CHECK_EQUAL(r.status, row.status);
      json p = r.problem();
      BOOST_CHECK_EQUAL(r.header("Content-Type"), "application/problem+json");
      BOOST_CHECK_EQUAL(p.value("type", ""), problem_uri(row.slug.c_str()));
      if (!row.field.empty()) BOOST_CHECK_EQUAL(p.value("field", ""), row.field);
      if (!row.reason.empty()) BOOST_CHECK_EQUAL(p.value("reason_code", ""), row.reason);
      if (row.reason.empty()) BOOST_CHECK(!p.contains("reason_code"));
      BOOST_CHECK_EQUAL(w.events(), before);  // nothing journaled
    }
  }
  // The gateway survived all of it.
  BOOST_CHECK_EQUAL(w.get("bank1", "/v1/payments/" + bank1_id).status, 200u);
}

BOOST_AUTO_TEST_CASE(broken_http_and_timeouts) {
  WorldOptions o;
  o.http.request_timeout_ms = 300;
  o.http.idle_timeout_ms = 400;
  o.http.linger_ms = 200;
  World w(o);
  const int64_t before = w.events();

  {  // Not HTTP at all.
    Client c(w.port());
    c.send_raw("HELLO\r\n\r\n");
    auto r = c.read();
    BOOST_CHECK_EQUAL(r.status, 400u);
    BOOST_CHECK_EQUAL(r.problem()["type"], problem_uri("bad-request"));
    BOOST_CHECK(r.closed);
    spec().check_problem_body(r);
  }
  {  // Headers that stop halfway: 408 once the request timeout passes, then closed.
    Client c(w.port());
    auto t0 = std::chrono::steady_clock::now();
    c.send_raw("POST /v1/payments HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: bank1\r\n");
    auto r = c.read(5s);
    auto waited = std::chrono::steady_clock::now() - t0;
    spec().check("POST", "/v1/payments", r);
    BOOST_CHECK_EQUAL(r.status, 408u);
    BOOST_CHECK_EQUAL(r.problem()["type"], problem_uri("request-timeout"));
    BOOST_CHECK(r.closed);
    BOOST_CHECK(waited >= 280ms && waited < 3s);
    BOOST_CHECK(c.closed_by_server(2s));
  }
  {  // A body that never completes.
    Client c(w.port());
    c.send_raw(
        "POST /v1/payments HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: bank1\r\nIdempotency-Key: slow\r\n"
        "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"end_to_end_id\":");
    auto r = c.read(5s);
    spec().check("POST", "/v1/payments", r);
    BOOST_CHECK_EQUAL(r.status, 408u);
  }
  {  // Slow drip: one byte every 50 ms still ends at the request timeout.
    Client c(w.port());
    std::string req =
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(100, 's') + "\r\n\r\n";
    auto t0 = std::chrono::steady_clock::now();
    bool answered_early = false;
    for (char ch : req) {
      if (!c.send_raw(std::string(1, ch))) break;
      std::this_thread::sleep_for(50ms);
      if (std::chrono::steady_clock::now() - t0 > 400ms)
        break;  // past the timeout; stop before the close
    }
    auto r = c.read(3s);
    answered_early = r.status == 200;
    BOOST_CHECK(!answered_early);
    BOOST_CHECK_EQUAL(r.status, 408u);
  }
  {  // An idle keep-alive connection is closed silently.
    Client c(w.port());
    auto ok = c.request("GET", "/healthz", {});
    BOOST_CHECK_EQUAL(ok.status, 200u);
    auto t0 = std::chrono::steady_clock::now();
    BOOST_CHECK(c.closed_by_server(3s));
    BOOST_CHECK(std::chrono::steady_clock::now() - t0 >= 350ms);
  }
  {  // Expect: 100-continue gets its interim answer before the body is sent.
    Client c(w.port());
    std::string body = valid_body("E2E-CONT").dump();
    c.send_raw(
        "POST /v1/payments HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: bank1\r\nIdempotency-Key: cont-1\r\n"
        "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n");
    auto interim = c.read(2s, true);
    BOOST_CHECK_EQUAL(interim.status, 100u);
    c.send_raw(body);
    auto r = c.read();
    spec().check("POST", "/v1/payments", r);
    BOOST_CHECK_EQUAL(r.status, 202u);
  }
  {  // curl sends Expect: 100-continue for a large body (padded with JSON whitespace).
    std::string body = valid_body("E2E-BIG").dump() + std::string(20'000, ' ');
    auto r = w.curl_checked(
        "POST", "/v1/payments",
        {"-H", "X-Tenant-Id: bank1", "-H", "Content-Type: application/json", "-H",
         "Idempotency-Key: big-1", "--data-binary", "@" + w.write_file("big.json", body)});
    BOOST_CHECK_EQUAL(r.status, 202u);
  }
  {  // Pipelined requests on one connection are answered in order.
    Client c(w.port());
    c.send_raw(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_CHECK_EQUAL(c.read().status, 200u);
    BOOST_CHECK_EQUAL(c.read().body, R"({"status":"ready"})");
    BOOST_CHECK_EQUAL(c.read().status, 404u);
  }
  {  // Garbage of every kind: each answered 4xx or closed; the server lives on.
    std::mt19937 rng(42);
    const std::vector<std::string> seeds = {
        "GET / HTTP/1.1\r\n\r\n",
        "POST /v1/payments HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /v1/payments HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /v1/payments HTTP/9.9\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        std::string("\x00\x01\x02\r\n\r\n", 7),
        "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n"};
    int answered = 0, closed = 0;
    for (int i = 0; i < 30; ++i) {
      std::string s = seeds[static_cast<size_t>(i) % seeds.size()];
      if (i >= static_cast<int>(seeds.size()))
        for (int k = 0; k < 3; ++k) s[rng() % s.size()] = static_cast<char>(rng() & 0xFF);
      Client c(w.port());
      c.send_raw(s);
      auto r = c.read(2s);
      if (r.status == 0) {
        ++closed;
        continue;
      }
      ++answered;
      BOOST_CHECK_MESSAGE(r.status < 500 || r.status == 503, "garbage answered " << r.status);
    }
    BOOST_TEST_MESSAGE("garbage: " << answered << " answered, " << closed
                                   << " closed or timed out");
    BOOST_CHECK_EQUAL(w.get("bank1", "/v1/payments?limit=1").status, 200u);
  }

  // Two payments were accepted above; nothing else was written.
  BOOST_CHECK(wait_for([&] { return w.events() > before; }, 5s));
}

BOOST_AUTO_TEST_CASE(connection_limit_is_503_then_closed) {
  WorldOptions o;
  o.http.max_connections = 4;
  World w(o);
  // Connection limit: 4 held open, the fifth is told 503 and closed.
  {
    std::vector<std::unique_ptr<Client>> held;
    for (int i = 0; i < 4; ++i) {
      held.push_back(std::make_unique<Client>(w.port()));
      BOOST_CHECK_EQUAL(held.back()->request("GET", "/healthz", {}).status, 200u);
    }
    auto r = w.curl_checked("GET", "/healthz", {});
    BOOST_CHECK_EQUAL(r.status, 503u);
    BOOST_CHECK_EQUAL(r.problem()["type"], problem_uri("too-many-connections"));
    BOOST_CHECK(!r.header("Retry-After").empty());
    BOOST_CHECK_GE(w.gateway().stats().connections_refused, 1u);
    held.pop_back();
    BOOST_CHECK(wait_for([&] { return w.gateway().stats().connections_open < 4; }, 3s));
    BOOST_CHECK_EQUAL(w.curl_checked("GET", "/healthz", {}).status, 200u);
  }
}

BOOST_AUTO_TEST_CASE(tenants_never_see_each_other) {
  World w;
  auto a = w.post_payment("bank1", "k", valid_body("E2E-A").dump());
  auto b = w.post_payment("bank2", "k", valid_body("E2E-B").dump());
  BOOST_REQUIRE_EQUAL(a.status, 202u);
  BOOST_REQUIRE_EQUAL(b.status, 202u);
  const std::string ida = id_of(a), idb = id_of(b);
  w.await_final("bank1", ida);
  w.await_final("bank2", idb);
  // Another tenant's id answers exactly like an id that does not exist.
  auto foreign = w.get("bank2", "/v1/payments/" + ida);
  const std::string absent = "pay_" + std::string(32, '0');
  auto missing = w.get("bank2", "/v1/payments/" + absent);
  BOOST_CHECK_EQUAL(foreign.status, 404u);
  BOOST_CHECK_EQUAL(missing.status, 404u);
  BOOST_CHECK_EQUAL(foreign.problem()["type"], missing.problem()["type"]);
  BOOST_CHECK_EQUAL(foreign.problem()["title"], missing.problem()["title"]);
  Client c(w.port());
  auto cancel = c.request("POST", "/v1/payments/" + ida + "/cancel", {{"X-Tenant-Id", "bank2"}});
  BOOST_CHECK_EQUAL(cancel.status, 404u);
  // Lists hold only one's own.
  auto la = json::parse(w.get("bank1", "/v1/payments").body);
  auto lb = json::parse(w.get("bank2", "/v1/payments").body);
  BOOST_REQUIRE_EQUAL(la["items"].size(), 1u);
  BOOST_REQUIRE_EQUAL(lb["items"].size(), 1u);
  BOOST_CHECK_EQUAL(la["items"][0]["payment_id"], ida);
  BOOST_CHECK_EQUAL(lb["items"][0]["payment_id"], idb);
  BOOST_CHECK(json::parse(w.get("bank3", "/v1/payments").body)["items"].empty());
  // bank2's own view works.
  BOOST_CHECK_EQUAL(w.get("bank2", "/v1/payments/" + idb).status, 200u);
}

BOOST_AUTO_TEST_CASE(paging_through_a_list_until_the_end) {
  WorldOptions o;
  o.http.list_max_scan = 7;  // small, so filtered pages are cut by the scan bound
  World w(o);
  std::vector<std::string> ids;
  for (int i = 0; i < 23; ++i) {
    json body = valid_body("PAGE-" + std::to_string(i), 1'000 + i);
    if (i % 4 == 0) body["urgency"] = "urgent";  // RTC
    auto r = w.post_payment("bank3", "page-" + std::to_string(i), body.dump());
    BOOST_REQUIRE_EQUAL(r.status, 202u);
    ids.push_back(id_of(r));
  }
  for (auto& id : ids) w.await_final("bank3", id);
  // A payment of another tenant in between changes nothing.
  BOOST_REQUIRE_EQUAL(w.post_payment("bank1", "x", valid_body("OTHER").dump()).status, 202u);

  auto page_all = [&](const std::string& filter, size_t limit, int* calls) {
    std::vector<std::string> got;
    std::string after;
    *calls = 0;
    for (int guard = 0; guard < 100; ++guard) {
      std::string target = "/v1/payments?limit=" + std::to_string(limit) + filter +
                           (after.empty() ? "" : "&after=" + after);
      auto r = w.get("bank3", target);
      BOOST_REQUIRE_EQUAL(r.status, 200u);
      ++*calls;
      json page = json::parse(r.body);
      BOOST_CHECK_LE(page["items"].size(), limit);
      for (auto& it : page["items"]) got.push_back(it["payment_id"]);
      if (page["next_after"].is_null()) return got;
      after = page["next_after"];
    }
    BOOST_FAIL("paging did not end");
    return got;
  };
  int calls = 0;
  auto all = page_all("", 5, &calls);
  // Every payment once, in id order (time-ordered to the millisecond: two
  // created in the same millisecond are in random order).
  std::vector<std::string> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  BOOST_CHECK(all == sorted);
  BOOST_CHECK_EQUAL(calls, 5);
  auto rtc = page_all("&rail=RTC", 2, &calls);
  std::vector<std::string> expected_rtc;
  for (size_t i = 0; i < ids.size(); i += 4) expected_rtc.push_back(ids[i]);
  std::sort(expected_rtc.begin(), expected_rtc.end());
  BOOST_CHECK(rtc == expected_rtc);
  BOOST_TEST_MESSAGE("rail=RTC: " << rtc.size() << " items in " << calls << " calls");
  auto completed = page_all("&state=completed", 50, &calls);
  BOOST_CHECK(completed == sorted);
  auto failed = page_all("&state=failed&rail=EFT", 50, &calls);
  BOOST_CHECK(failed.empty());
  // The page query walks the (tenant, payment_id) index, not the table.
  sqlite3* db = nullptr;
  BOOST_REQUIRE_EQUAL(
      sqlite3_open_v2((w.dir() + "/engine.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
      SQLITE_OK);
  std::string plan;
  sqlite3_exec(
      db,
      "EXPLAIN QUERY PLAN SELECT payment_id, tenant, state, terminal, created_ms, updated_ms FROM "
      "sagas "
      "WHERE tenant = 'bank3' AND payment_id > '' ORDER BY payment_id LIMIT 7",
      [](void* out, int n, char** values, char**) {
        for (int i = 0; i < n; ++i)
          *static_cast<std::string*>(out) += std::string(values[i] ? values[i] : "") + " ";
        return 0;
      },
      &plan, nullptr);
  sqlite3_close(db);
  BOOST_TEST_MESSAGE("list plan: " << plan);
  BOOST_CHECK_NE(plan.find("USING INDEX sagas_tenant"), std::string::npos);
  BOOST_CHECK_EQUAL(plan.find("TEMP B-TREE"), std::string::npos);  // no sort

  auto first = json::parse(w.get("bank3", "/v1/payments?limit=1").body);
  const size_t first_index =
      static_cast<size_t>(std::find(ids.begin(), ids.end(), sorted[0]) - ids.begin());
  BOOST_CHECK_EQUAL(first["items"][0]["payment_id"], sorted[0]);
  BOOST_CHECK_EQUAL(first["items"][0]["rail"], first_index % 4 == 0 ? "RTC" : "EFT");
  BOOST_CHECK_EQUAL(first["items"][0]["state"], "completed");
  BOOST_CHECK(first["items"][0]["reason_code"].is_null());
}

BOOST_AUTO_TEST_CASE(cancel_before_submission_too_late_after_and_final) {
  WorldOptions o;
  o.faults = std::make_shared<Faults>();
  o.backoff_initial_ms = 1'500;  // a bounced step waits 1.5 s before its retry
  o.backoff_max_ms = 1'500;
  o.rail.min_latency_ms = 1'500;  // and the rail takes 1.5 s to decide
  o.rail.max_latency_ms = 1'500;
  World w(o);
  Client c(w.port());
  const std::vector<std::pair<std::string, std::string>> bank1 = {{"X-Tenant-Id", "bank1"}};

  // Before submission: routing bounced and waits for its retry.
  o.faults->delay_route = true;
  auto r = w.post_payment("bank1", "c-1", valid_body("CANCEL-1").dump());
  BOOST_REQUIRE_EQUAL(r.status, 202u);
  const std::string early = id_of(r);
  BOOST_REQUIRE(wait_for(
      [&] {
        auto p = json::parse(w.get("bank1", "/v1/payments/" + early).body);
        for (auto& e : p["events"])
          if (e["kind"] == "retry") return true;
        return false;
      },
      5s));
  o.faults->delay_route = false;
  auto cancel = c.request("POST", "/v1/payments/" + early + "/cancel", bank1);
  BOOST_CHECK_EQUAL(cancel.status, 202u);
  BOOST_CHECK_EQUAL(json::parse(cancel.body)["cancel"], "accepted");
  json p = w.await_final("bank1", early);
  BOOST_CHECK_EQUAL(p["state"], "cancelled");
  BOOST_CHECK_EQUAL(p["reason_code"], "CUST");

  // After submission: too late, a clear 409.
  auto r2 = w.post_payment("bank1", "c-2", valid_body("CANCEL-2").dump());
  BOOST_REQUIRE_EQUAL(r2.status, 202u);
  const std::string late = id_of(r2);
  BOOST_REQUIRE(wait_for(
      [&] {
        return json::parse(w.get("bank1", "/v1/payments/" + late).body)["state"] == "submitted";
      },
      5s));
  auto too_late = c.request("POST", "/v1/payments/" + late + "/cancel", bank1);
  BOOST_CHECK_EQUAL(too_late.status, 409u);
  BOOST_CHECK_EQUAL(too_late.problem()["type"], problem_uri("cancel-too-late"));
  BOOST_CHECK_NE(too_late.problem()["detail"].get<std::string>().find("submitted"),
                 std::string::npos);

  // After the end: already final.
  json done = w.await_final("bank1", late);
  BOOST_CHECK_EQUAL(done["state"], "completed");
  auto final_cancel = c.request("POST", "/v1/payments/" + late + "/cancel", bank1);
  BOOST_CHECK_EQUAL(final_cancel.status, 409u);
  BOOST_CHECK_EQUAL(final_cancel.problem()["type"], problem_uri("already-final"));
  auto again = c.request("POST", "/v1/payments/" + early + "/cancel", bank1);
  BOOST_CHECK_EQUAL(again.status, 409u);
}

BOOST_AUTO_TEST_CASE(admission_full_is_429_with_retry_after) {
  WorldOptions o;
  o.shards = 1;
  o.max_active_per_shard = 1;
  o.rail.min_latency_ms = 1'000;  // a slow rail keeps the one slot busy
  o.rail.max_latency_ms = 1'000;
  World w(o);
  auto first = w.post_payment("bank1", "a-1", valid_body("ADM-1").dump());
  BOOST_REQUIRE_EQUAL(first.status, 202u);
  auto second = w.post_payment("bank1", "a-2", valid_body("ADM-2").dump());
  BOOST_CHECK_EQUAL(second.status, 429u);
  BOOST_CHECK_EQUAL(second.problem()["type"], problem_uri("overloaded"));
  BOOST_CHECK_EQUAL(second.header("Retry-After"), "1");
  // The refused request wrote nothing: no payment, no key.
  std::optional<sagas::Store::IdempotencyEntry> key;
  w.engine().with_store([&](sagas::Store& s) { key = s.idempotency("bank1", "a-2"); });
  BOOST_CHECK(!key);
  auto list = json::parse(w.get("bank1", "/v1/payments").body);
  BOOST_CHECK_EQUAL(list["items"].size(), 1u);
  // While the slot is still busy, a retry of the accepted request is a
  // replay (202, same payment), not 429; the same key with another body is 422.
  auto replay = w.post_payment("bank1", "a-1", valid_body("ADM-1").dump());
  BOOST_CHECK_EQUAL(replay.status, 202u);
  BOOST_CHECK_EQUAL(replay.header("Idempotent-Replayed"), "true");
  BOOST_CHECK_EQUAL(id_of(replay), id_of(first));
  auto reused = w.post_payment("bank1", "a-1", valid_body("ADM-9").dump());
  BOOST_CHECK_EQUAL(reused.status, 422u);
  BOOST_CHECK_EQUAL(w.engine().total_stats().active, 1u);
  // Once the slot is free, the retry with the same key is accepted.
  w.await_final("bank1", id_of(first));
  BOOST_REQUIRE(wait_for([&] { return w.engine().total_stats().active == 0; }, 5s));
  auto retry = w.post_payment("bank1", "a-2", valid_body("ADM-2").dump());
  BOOST_CHECK_EQUAL(retry.status, 202u);
  BOOST_CHECK(retry.header("Idempotent-Replayed").empty());
}

BOOST_AUTO_TEST_CASE(engine_failure_and_timeout_are_503_and_a_retry_is_safe) {
  WorldOptions o;
  o.faults = std::make_shared<Faults>();
  o.http.engine_timeout_ms = 150;
  World w(o);
  // The payment actor dies before its first write: nothing accepted.
  o.faults->crash_validate = true;
  const int64_t before = w.events();
  auto crashed = w.post_payment("bank1", "e-1", valid_body("ENG-1").dump());
  BOOST_CHECK_EQUAL(crashed.status, 503u);
  BOOST_CHECK_EQUAL(crashed.problem()["type"], problem_uri("engine-unavailable"));
  BOOST_CHECK(!crashed.header("Retry-After").empty());
  BOOST_CHECK_EQUAL(w.events(), before);
  o.faults->crash_validate = false;
  auto retried = w.post_payment("bank1", "e-1", valid_body("ENG-1").dump());
  BOOST_CHECK_EQUAL(retried.status, 202u);

  // The engine answers after the gateway gave up: 503, and the payment was
  // accepted all the same; the retry with the same key finds it.
  o.faults->stall_validate_ms = 400;
  auto slow = w.post_payment("bank1", "e-2", valid_body("ENG-2").dump());
  BOOST_CHECK_EQUAL(slow.status, 503u);
  BOOST_CHECK_EQUAL(slow.problem()["type"], problem_uri("engine-unavailable"));
  o.faults->stall_validate_ms = 0;
  HttpResult replay;
  BOOST_CHECK(wait_for(
      [&] {
        replay = w.post_payment("bank1", "e-2", valid_body("ENG-2").dump());
        return replay.status == 202;
      },
      5s));
  BOOST_CHECK_EQUAL(replay.header("Idempotent-Replayed"), "true");
  auto list = json::parse(w.get("bank1", "/v1/payments").body);
  BOOST_CHECK_EQUAL(list["items"].size(), 2u);  // ENG-1 and ENG-2, once each
}

BOOST_AUTO_TEST_CASE(readyz_only_after_recovery) {
  testing::TempDir dir;
  const std::string db = dir.path() + "/engine.db";
  std::vector<std::string> open_ids;
  {
    WorldOptions o;
    o.db_path = db;
    o.rail.silent_ppm = 1'000'000;  // the rail never answers: payments stay open
    World w(o);
    w.fund("bank1/1234567890", "ZAR", 1'000'000'000);
    for (int i = 0; i < 20; ++i) {
      auto r = w.post_payment("bank1", "r-" + std::to_string(i),
                              valid_body("REC-" + std::to_string(i)).dump());
      BOOST_REQUIRE_EQUAL(r.status, 202u);
      open_ids.push_back(id_of(r));
    }
  }
  WorldOptions o;
  o.db_path = db;
  o.rail.silent_ppm = 1'000'000;
  o.recovery_rate_per_s = 10;  // 20 open payments: about 2 s of recovery
  o.wait_recovered = false;
  World w(o);
  Client c(w.port());
  auto early = c.request("GET", "/readyz", {});
  BOOST_CHECK_EQUAL(early.status, 503u);
  BOOST_CHECK_EQUAL(early.problem()["type"], problem_uri("not-ready"));
  BOOST_CHECK_EQUAL(early.header("Retry-After"), "1");
  BOOST_CHECK(!w.engine().recovered());
  // Liveness is fine meanwhile, and so are reads.
  BOOST_CHECK_EQUAL(c.request("GET", "/healthz", {}).status, 200u);
  BOOST_CHECK_EQUAL(w.get("bank1", "/v1/payments/" + open_ids[0]).status, 200u);
  bool ready =
      wait_for([&] { return Client(w.port()).request("GET", "/readyz", {}).status == 200; }, 20s);
  BOOST_CHECK(ready);
  BOOST_CHECK(w.engine().recovered());
  BOOST_CHECK_EQUAL(w.engine().recovered_count(), open_ids.size());
}

BOOST_AUTO_TEST_CASE(idempotency_keys_are_kept_24h_then_purged) {
  {  // Default TTL (24 h): the purge thread runs and keeps the key.
    WorldOptions o;
    o.http.idempotency_purge_interval_ms = 20;
    World w(o);
    std::string body = valid_body("TTL-1").dump();
    auto first = w.post_payment("bank1", "ttl-key", body);
    BOOST_REQUIRE_EQUAL(first.status, 202u);
    BOOST_REQUIRE(wait_for([&] { return w.gateway().stats().idempotency_purge_runs >= 3; }, 5s));
    BOOST_CHECK_EQUAL(w.gateway().stats().idempotency_purged, 0u);
    auto replay = w.post_payment("bank1", "ttl-key", body);
    BOOST_CHECK_EQUAL(replay.header("Idempotent-Replayed"), "true");
    // The boundary, on the store: at created + 24 h the key stays, 1 ms later it goes.
    int64_t created = 0;
    w.engine().with_store(
        [&](sagas::Store& s) { created = s.idempotency("bank1", "ttl-key")->created_ms; });
    const int64_t day_ms = 24LL * 3600 * 1000;
    int64_t kept = -1, gone = -1;
    w.engine().with_store([&](sagas::Store& s) {
      kept = s.purge_idempotency(created + day_ms, 100);
      gone = s.purge_idempotency(created + day_ms + 1, 100);
    });
    BOOST_CHECK_EQUAL(kept, 0);
    BOOST_CHECK_EQUAL(gone, 1);
    // A purged key is free again: another body under it is a new payment.
    json other = json::parse(body);
    other["amount_minor"] = 777;
    auto reuse = w.post_payment("bank1", "ttl-key", other.dump());
    BOOST_CHECK_EQUAL(reuse.status, 202u);
    BOOST_CHECK_NE(id_of(reuse), id_of(first));
  }
  {  // A short TTL: the purge thread itself frees the key, in bounded batches.
    WorldOptions o;
    o.idempotency_ttl_ms = 200;
    o.http.idempotency_purge_interval_ms = 50;
    o.http.idempotency_purge_batch = 2;
    World w(o);
    for (int i = 0; i < 5; ++i)
      BOOST_REQUIRE_EQUAL(w.post_payment("bank1", "short-" + std::to_string(i),
                                         valid_body("S-" + std::to_string(i)).dump())
                              .status,
                          202u);
    BOOST_CHECK(wait_for([&] { return w.gateway().stats().idempotency_purged == 5; }, 10s));
    auto reuse = w.post_payment("bank1", "short-0", valid_body("S-other").dump());
    BOOST_CHECK_EQUAL(reuse.status, 202u);
    BOOST_CHECK(reuse.header("Idempotent-Replayed").empty());
  }
}

BOOST_AUTO_TEST_CASE(metrics_hook_and_request_records) {
  WorldOptions o;
  auto records = std::make_shared<std::vector<HttpRequestRecord>>();
  auto mutex = std::make_shared<std::mutex>();
  o.http.metrics_text = [] { return std::string("# TYPE payengine_up gauge\npayengine_up 1\n"); };
  o.http.on_request = [records, mutex](const HttpRequestRecord& r) {
    std::lock_guard<std::mutex> lock(*mutex);
    records->push_back(r);
  };
  World w(o);
  auto m = w.curl_checked("GET", "/metrics", {});
  BOOST_CHECK_EQUAL(m.status, 200u);
  BOOST_CHECK_EQUAL(m.header("Content-Type"), "text/plain; version=0.0.4");
  BOOST_CHECK_EQUAL(m.body, "# TYPE payengine_up gauge\npayengine_up 1\n");
  w.get("bank1", "/v1/payments/pay_" + std::string(32, '1'));
  BOOST_REQUIRE(wait_for(
      [&] {
        std::lock_guard<std::mutex> lock(*mutex);
        return records->size() >= 2;
      },
      2s));
  std::lock_guard<std::mutex> lock(*mutex);
  BOOST_CHECK_EQUAL((*records)[0].route, "/metrics");
  BOOST_CHECK_EQUAL((*records)[0].status, 200u);
  BOOST_CHECK_EQUAL((*records)[1].route, "/v1/payments/{id}");
  BOOST_CHECK_EQUAL((*records)[1].method, "GET");
  BOOST_CHECK_EQUAL((*records)[1].status, 404u);
  BOOST_CHECK_GT((*records)[1].duration_us, 0);
}

BOOST_AUTO_TEST_CASE(requested_rail_with_open_breaker_is_503_up_front) {
  clearing::RailsimOptions base;
  base.seed = 5;
  auto sims = clearing::EmbeddedRailsims::start(base);
  BOOST_REQUIRE(sims.ok());
  clearing::RailsConfig rails = clearing::default_rails_config();
  (*sims)->apply_ports(rails);
  rails.eft.cycle_interval_ms = 100;
  rails.ack_timeout_ms.fill(1'500);
  rails.final_timeout_ms.fill(2'000);
  for (clearing::Rail r : clearing::kAllRails) {
    auto& p = rails.pool(r);
    p.answer_timeout_ms = 400;
    p.tick_ms = 5;
    p.breaker.minimum_calls = 3;
    p.breaker.consecutive_failures_to_open = 3;
    p.breaker.wait_in_open_ms = 120'000;  // stays open for the test
  }
  WorldOptions o;
  o.rails = rails;
  World w(o);
  Client c(w.port());
  const std::vector<std::pair<std::string, std::string>> bank1 = {{"X-Tenant-Id", "bank1"}};
  auto status = json::parse(c.request("GET", "/v1/rails", bank1).body);
  BOOST_CHECK_EQUAL(status["mode"], "adapters");
  BOOST_CHECK_EQUAL(status["rails"].size(), 5u);

  // SWIFT goes down; payments over it fail until its breaker opens.
  auto faults = (*sims)->rail(clearing::Rail::swift).faults();
  faults.outage = true;
  (*sims)->rail(clearing::Rail::swift).set_faults(faults);
  int n = 0;
  BOOST_REQUIRE_MESSAGE(wait_for(
                            [&] {
                              auto r = w.post_payment("bank1", "sw-" + std::to_string(n),
                                                      usd_body("SW-" + std::to_string(n)).dump());
                              ++n;
                              if (r.status == 202) w.await_final("bank1", id_of(r));
                              return w.engine().rail_pools()->breaker_state(
                                         clearing::Rail::swift) == clearing::BreakerState::open;
                            },
                            60s),
                        "SWIFT breaker did not open");
  auto rails_now = json::parse(c.request("GET", "/v1/rails", bank1).body);
  for (auto& r : rails_now["rails"])
    if (r["rail"] == "SWIFT") BOOST_CHECK_EQUAL(r["breaker_state"], "open");

  // Naming the rail: refused up front, nothing journaled.
  const int64_t before = w.events();
  json named = usd_body("SW-NAMED");
  named["requested_rail"] = "SWIFT";
  auto refused = w.post_payment("bank1", "sw-named", named.dump());
  BOOST_CHECK_EQUAL(refused.status, 503u);
  BOOST_CHECK_EQUAL(refused.problem()["type"], problem_uri("rail-unavailable"));
  BOOST_CHECK_EQUAL(refused.problem()["reason_code"], "AB08");
  BOOST_CHECK_EQUAL(refused.problem()["field"], "requested_rail");
  BOOST_CHECK_EQUAL(refused.header("Retry-After"), "5");
  BOOST_CHECK_EQUAL(w.events(), before);

  // Not naming it: accepted, then failed with compensation (no fallback for SWIFT).
  auto accepted = w.post_payment("bank1", "sw-any", usd_body("SW-ANY").dump());
  BOOST_REQUIRE_EQUAL(accepted.status, 202u);
  json p = w.await_final("bank1", id_of(accepted));
  BOOST_CHECK_EQUAL(p["state"], "failed");
  BOOST_CHECK_EQUAL(p["reason_code"], "AB08");
  bool released = false;
  for (auto& e : p["events"])
    if (e["kind"] == "compensated" && e["step"] == "reserve") released = true;
  BOOST_CHECK(released);

  // A domestic payment naming a healthy rail is unaffected.
  json eft = valid_body("EFT-NAMED");
  eft["requested_rail"] = "EFT";
  BOOST_CHECK_EQUAL(w.post_payment("bank1", "eft-named", eft.dump()).status, 202u);
}

// Runs last: every (route, method, status) the document lists was answered
// to some request above.
// (Depends on every case that sends requests: run alone, it runs them too.)
BOOST_AUTO_TEST_CASE(
    every_documented_response_was_exercised,
    *boost::unit_test::depends_on("accepted_payment_is_durable_and_readable") *
        boost::unit_test::depends_on("idempotency_same_key_same_answer_other_body_422") *
        boost::unit_test::depends_on("bad_requests_get_their_problem_and_write_nothing") *
        boost::unit_test::depends_on("broken_http_and_timeouts") *
        boost::unit_test::depends_on("connection_limit_is_503_then_closed") *
        boost::unit_test::depends_on("tenants_never_see_each_other") *
        boost::unit_test::depends_on("paging_through_a_list_until_the_end") *
        boost::unit_test::depends_on("cancel_before_submission_too_late_after_and_final") *
        boost::unit_test::depends_on("admission_full_is_429_with_retry_after") *
        boost::unit_test::depends_on("engine_failure_and_timeout_are_503_and_a_retry_is_safe") *
        boost::unit_test::depends_on("readyz_only_after_recovery") *
        boost::unit_test::depends_on("idempotency_keys_are_kept_24h_then_purged") *
        boost::unit_test::depends_on("metrics_hook_and_request_records") *
        boost::unit_test::depends_on("requested_rail_with_open_breaker_is_503_up_front")) {
  auto seen = spec().seen();
  for (const auto& d : spec().documented()) {
    BOOST_TEST_CONTEXT(std::get<1>(d) << " " << std::get<0>(d) << " " << std::get<2>(d)) {
      BOOST_CHECK_MESSAGE(seen.count(d), "documented but never exercised");
    }
  }
  BOOST_TEST_MESSAGE(spec().checked()
                     << " responses checked against docs/openapi.yaml; " << seen.size() << " of "
                     << spec().documented().size() << " documented responses exercised");
}

// Not run by default: ./test_http --run_test=bench_wrk
// POST /v1/payments with keep-alive through wrk, each request its own key.
BOOST_AUTO_TEST_CASE(bench_wrk, *boost::unit_test::disabled()) {
  WorldOptions o;
  if (const char* sync = std::getenv("WRK_SYNC"); sync && std::string(sync) == "full")
    o.synchronous = sagas::Synchronous::full;
  o.http.io_threads = std::getenv("WRK_IO_THREADS") ? std::stoul(std::getenv("WRK_IO_THREADS")) : 1;
  World w(o);
  const char* secs = std::getenv("WRK_SECONDS");
  const char* conns = std::getenv("WRK_CONNECTIONS");
  const char* rate = std::getenv("WRK_RATE");  // wrk2 only (-R)
  // WRK_MODE: post (default; a new key per request), replay (one key: every
  // request after the first is answered from the idempotency table, no
  // engine work: the gateway's own cost), healthz (HTTP alone).
  const std::string mode = std::getenv("WRK_MODE") ? std::getenv("WRK_MODE") : "post";
  std::string body = valid_body("BENCH").dump();
  std::string key_expr =
      mode == "replay" ? "'bench-replay'" : "'bench-' .. n .. '-' .. math.random(1, 1000000000)";
  std::string lua =
      "local n = 0\n"
      "local body = [[" +
      body +
      "]]\n"
      "request = function()\n"
      "  n = n + 1\n" +
      (mode == "healthz" ? std::string("  return wrk.format('GET', '/healthz')\n")
                         : "  return wrk.format('POST', '/v1/payments', {['X-Tenant-Id']='bank1', "
                           "['Content-Type']='application/json', ['Idempotency-Key']=" +
                               key_expr + "}, body)\n") +
      "end\n"
      "init = function(args) math.randomseed(os.time() + math.floor(os.clock() * 1000000)) end\n"
      "done = function(summary, latency, requests)\n"
      "  io.write(string.format('p50_us %d\\np90_us %d\\np99_us %d\\nrequests %d\\nnon2xx %d\\n', "
      "latency:percentile(50),"
      " latency:percentile(90), latency:percentile(99), summary.requests, summary.errors.status))\n"
      "end\n";
  std::string script = w.write_file("post.lua", lua);
  std::string cmd = "wrk -t1 -c" + std::string(conns ? conns : "32") + " -d" +
                    std::string(secs ? secs : "5") + "s --latency -s " + script +
                    (rate ? std::string(" -R") + rate : "") + " " + w.url("/") + " 2>&1";
  const int64_t before = w.events();
  FILE* f = popen(cmd.c_str(), "r");
  BOOST_REQUIRE(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  BOOST_TEST_MESSAGE(out);
  int64_t accepted = 0;
  auto list_all = [&] {
    std::string after;
    for (;;) {
      auto r = json::parse(
          Client(w.port())
              .request("GET", "/v1/payments?limit=200" + (after.empty() ? "" : "&after=" + after),
                       {{"X-Tenant-Id", "bank1"}}, "", false)
              .body);
      accepted += static_cast<int64_t>(r["items"].size());
      if (r["next_after"].is_null()) break;
      after = r["next_after"];
    }
  };
  list_all();
  BOOST_TEST_MESSAGE("payments journaled: " << accepted
                                            << ", events written: " << w.events() - before);
}
