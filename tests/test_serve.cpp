// `payengine serve` as its users run it: a child process with a YAML config,
// reached only through its doors with real peers — kcat on a Kafka broker
// (`payengine broker`, a separate process so that the broker survives the
// kill), HTTP/1.1 keep-alive clients (Boost.Beast), curl, promtool.
//
//  - sigkill_under_load: kcat produces commands (valid ones, exact
//    duplicates, malformed ones) in chunks while four HTTP clients POST
//    payments. serve is killed with SIGKILL mid-stream. Straight after the
//    kill, every offset the consumer group committed has its payment (or its
//    dead letter). serve is restarted on the same journal; the HTTP clients
//    retry what was cut off with the same Idempotency-Key. At the end every
//    202 and every valid command has exactly one payment, every payment is
//    final, the ledger total is unchanged, and every malformed command is on
//    the DLQ.
//  - serve_answers_on_both_doors: a fresh serve prints where it is; curl's
//    POST is accepted and reaches a final state; kcat reads its events;
//    GET /metrics passes `promtool check metrics`; SIGTERM stops it cleanly.
//  - bad_config_is_refused: an unknown key or a wrong type names the key and
//    exits 2 without creating the journal.
#define BOOST_TEST_MODULE serve
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "sagas/sqlite_rows.hpp"
#include "sagas/store.hpp"
#include "tests/fixtures.hpp"
#include "tests/kafka_peers.hpp"

using namespace payengine;
using namespace payengine::testing;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 3;  // the sanitizers are several times slower
#else
constexpr int kScale = 1;
#endif
constexpr int64_t kOpening = 1'000'000'000'000;  // per seed account

// A child process whose stdout and stderr go to a file.
class Child {
 public:
  Child(std::vector<std::string> args, std::string out_path) : out_path_(std::move(out_path)) {
    pid_ = fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int fd = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(PAYENGINE_BINARY));
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(PAYENGINE_BINARY, argv.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  std::string output() const {
    std::ifstream f(out_path_);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  // The first match of `re`'s group 1 in the output, waiting up to `timeout`.
  std::string wait_for(const std::string& re, std::chrono::milliseconds timeout) {
    std::regex r(re);
    std::smatch m;
    std::string out;
    bool found = eventually(
        [&] {
          out = output();
          return std::regex_search(out, m, r) || !alive();
        },
        timeout, 20ms);
    out = output();
    BOOST_REQUIRE_MESSAGE(found && std::regex_search(out, m, r), "no '" + re + "' in the output:\n" + out);
    return m.size() > 1 ? m[1].str() : m[0].str();
  }
  bool alive() {
    if (pid_ <= 0) return false;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = st;
      pid_ = -1;
      return false;
    }
    return true;
  }
  void kill9() {
    BOOST_REQUIRE(pid_ > 0);
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
    pid_ = -1;
  }
  // SIGTERM and the exit status (-1 when it did not exit within `timeout`).
  int terminate(std::chrono::milliseconds timeout) {
    if (pid_ > 0) kill(pid_, SIGTERM);
    if (!eventually([&] { return !alive(); }, timeout)) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }
  int wait_exit(std::chrono::milliseconds timeout) {
    if (!eventually([&] { return !alive(); }, timeout)) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

 private:
  std::string out_path_;
  pid_t pid_ = -1;
  int status_ = 0;
};

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return path;
}

std::string config_yaml(const std::string& db, const std::string& brokers, const std::string& rails) {
  std::string y = "db: " + db + "\nsync: normal\nhttp: {port: 0, threads: 2}\n";
  // A killed consumer's membership lasts its session timeout (45 s by
  // default): the restarted one waits that long for its partitions.
  y += "kafka: {brokers: '" + brokers + "', settings: {consumer.session.timeout.ms: '6000'}}\n";
  y += "rails: {mode: " + rails + "}\naccounts:\n";
  for (const char* t : {"bank1", "bank2"})
    y += "  - {id: " + std::string(t) + "/1234567890, currency: ZAR, balance_minor: " + std::to_string(kOpening) +
         "}\n";
  return y;
}

json body(const std::string& e2e) {
  return json{{"end_to_end_id", e2e},
              {"amount_minor", 10'000},
              {"currency", "ZAR"},
              {"debtor", {{"name", "Thandi Nkosi"}, {"account_number", "1234567890"}, {"branch_code", "250655"}}},
              {"creditor", {{"name", "Pieter van der Merwe"}, {"account_number", "9876543210"}, {"branch_code", "632005"}}}};
}

// One keep-alive HTTP/1.1 connection; any error closes it (the next call
// reconnects).
class HttpClient {
 public:
  struct Reply {
    unsigned status = 0;  // 0: no answer (connection refused, reset, timeout)
    std::string body;
    bool replayed = false;
  };
  Reply post(uint16_t port, const std::string& target, const std::string& tenant, const std::string& key,
             const std::string& text) {
    Reply r;
    try {
      if (!stream_ || port != port_) {
        stream_ = std::make_unique<boost::beast::tcp_stream>(io_);
        stream_->expires_after(std::chrono::seconds(5));
        stream_->connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
        port_ = port;
      }
      http::request<http::string_body> req{http::verb::post, target, 11};
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::content_type, "application/json");
      req.set("X-Tenant-Id", tenant);
      req.set("Idempotency-Key", key);
      req.body() = text;
      req.prepare_payload();
      stream_->expires_after(std::chrono::seconds(15));
      http::write(*stream_, req);
      boost::beast::flat_buffer buf;
      http::response<http::string_body> res;
      http::read(*stream_, buf, res);
      r.status = res.result_int();
      r.body = res.body();
      r.replayed = res["Idempotent-Replayed"] == "true";
      if (!res.keep_alive()) stream_.reset();
    } catch (const std::exception&) {
      stream_.reset();
      r.status = 0;
    }
    return r;
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<boost::beast::tcp_stream> stream_;
  uint16_t port_ = 0;
};

// A read-write SQLite connection for one query at a time (serve may be
// writing: WAL lets us read; after a SIGKILL it recovers the WAL).
class Db {
 public:
  explicit Db(const std::string& path) {
    BOOST_REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    BOOST_REQUIRE(payengine::sagas::sqlite_rows::register_chain_functions(db_));
    sqlite3_busy_timeout(db_, 5'000);
  }
  ~Db() { sqlite3_close(db_); }
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    sqlite3_stmt* s = nullptr;
    BOOST_REQUIRE_MESSAGE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK, sqlite3_errmsg(db_));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const unsigned char* t = sqlite3_column_text(s, i);
        row.push_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(s);
    BOOST_REQUIRE_MESSAGE(rc == SQLITE_DONE, sqlite3_errmsg(db_));
    return out;
  }
  int64_t count(const std::string& sql) { return std::stoll(rows(sql).at(0).at(0)); }

 private:
  sqlite3* db_ = nullptr;
};

struct Serve {
  std::unique_ptr<Child> child;
  uint16_t port = 0;
};

Serve start_serve(const std::string& config, const std::string& out_path) {
  Serve s;
  s.child = std::make_unique<Child>(std::vector<std::string>{"serve", "--config", config}, out_path);
  s.port = static_cast<uint16_t>(
      std::stoi(s.child->wait_for(R"(http: http://127\.0\.0\.1:(\d+))", std::chrono::seconds(60))));
  s.child->wait_for("ready: recovery finished", std::chrono::seconds(120));
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sigkill_under_load) {
  TempDir dir;
  const std::string db = dir.path() + "/journal.db";
  Child broker({"broker"}, dir.path() + "/broker.out");
  const std::string bootstrap = broker.wait_for(R"(mock broker at (127\.0\.0\.1:\d+))", std::chrono::seconds(30));
  const std::string config = write_file(dir.path() + "/serve.yaml", config_yaml(db, bootstrap, "sim"));

  Serve serve = start_serve(config, dir.path() + "/serve1.out");
  std::atomic<uint16_t> port{serve.port};

  // The commands: every 50th malformed, every 20th valid one sent twice.
  const int chunks = 24, per_chunk = 400 / kScale;
  std::vector<std::vector<Msg>> plan(chunks);
  std::set<std::string> valid_ids, malformed_keys;
  for (int c = 0; c < chunks; ++c) {
    for (int i = 0; i < per_chunk; ++i) {
      int n = c * per_chunk + i;
      std::string id = "cmd-" + std::to_string(n);
      std::string tenant = n % 2 ? "bank2" : "bank1";
      if (n % 50 == 49) {
        plan[c].push_back({id, "{\"type\":\"payment.initiate\",\"version\":1,\"id\":\"" + id + "\", broken"});
        malformed_keys.insert(id);
        continue;
      }
      json p = body("K-" + std::to_string(n));
      json e{{"type", "payment.initiate"}, {"version", 1}, {"id", id}, {"tenant", tenant}, {"payload", p}};
      plan[c].push_back({id, e.dump()});
      if (n % 20 == 0) plan[c].push_back({id, e.dump()});
      valid_ids.insert(id);
    }
  }
  std::atomic<int> chunks_sent{0};
  std::thread producer([&] {
    for (int c = 0; c < chunks; ++c) {
      kcat_produce(bootstrap, dir.path(), plan[c], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      chunks_sent = c + 1;
    }
  });

  // HTTP: four keep-alive clients; a request cut off by the kill is retried
  // with the same key once serve is back.
  struct Accepted {
    std::string e2e, payment_id, tenant;
  };
  std::mutex mu;
  std::vector<Accepted> accepted;
  std::atomic<int> http_202{0}, http_retried{0}, http_other{0};
  std::atomic<bool> http_stop{false};
  const int per_client = 20'000;  // at most; they run until http_stop, set after the restart
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client;
      const std::string tenant = t % 2 ? "bank2" : "bank1";
      for (int i = 0; i < per_client && !http_stop; ++i) {
        std::string e2e = "H-" + std::to_string(t) + "-" + std::to_string(i);
        std::string text = body(e2e).dump();
        const auto until = Steady::now() + 120s;
        HttpClient::Reply r;
        for (int attempt = 0; Steady::now() < until && !http_stop; ++attempt) {
          r = client.post(port, "/v1/payments", tenant, "key-" + e2e, text);
          if (r.status == 202 || (r.status != 0 && r.status != 429 && r.status != 503)) break;
          if (attempt == 0) ++http_retried;
          std::this_thread::sleep_for(20ms);  // serve is down or busy: back off, then retry the same key
        }
        if (r.status == 202) {
          ++http_202;
          std::lock_guard<std::mutex> lock(mu);
          accepted.push_back({e2e, json::parse(r.body).at("payment_id").get<std::string>(), tenant});
        } else if (r.status != 0) {
          ++http_other;
        }
      }
    });
  }

  // Kill once both doors are busy: HTTP has had 202s and the consumer group
  // has committed offsets, with commands still to come.
  Db reader(db);
  auto committed_total = [&] {
    int64_t n = 0;
    for (const auto& [p, o] : group_committed(bootstrap, "payengine", 4)) n += std::max<int64_t>(o, 0);
    return n;
  };
  bool loaded = eventually([&] { return http_202 >= 200 / kScale && committed_total() >= 300 / kScale; },
                           120s, 50ms);
  BOOST_REQUIRE_MESSAGE(loaded, "serve did not take its load: " + serve.child->output());
  serve.child->kill9();
  const int http_at_kill = http_202;

  // Straight after the kill: every committed offset has its payment or its
  // dead letter.
  auto committed = group_committed(bootstrap, "payengine", 4);
  for (const auto& [p, o] : committed) BOOST_TEST_MESSAGE("partition " << p << " committed " << o);
  int64_t below_committed = 0;
  std::map<std::pair<int32_t, int64_t>, Record> commands;
  for (Record& r : kcat_read(bootstrap, kCommandsTopic)) commands[{r.partition, r.offset}] = std::move(r);
  std::set<std::pair<int32_t, int64_t>> dead;
  for (const Record& r : kcat_read(bootstrap, kafka::kDlqTopic))
    dead.insert({std::stoi(r.header("original.partition").value_or("-1")),
                 std::stoll(r.header("original.offset").value_or("-1"))});
  for (const auto& [at, r] : commands) {
    auto c = committed.find(at.first);
    if (c == committed.end() || at.second >= c->second) continue;
    ++below_committed;
    if (malformed_keys.count(*r.key)) {
      BOOST_CHECK_MESSAGE(dead.count(at), "committed malformed command not on the DLQ: " + *r.key);
      continue;
    }
    std::string tenant = json::parse(r.value).at("tenant").get<std::string>();
    BOOST_CHECK_MESSAGE(reader.count("SELECT count(*) FROM idempotency WHERE tenant = '" + tenant +
                                     "' AND key = 'kafka:" + *r.key + "'") == 1,
                        "committed command without its payment: " + *r.key);
  }
  BOOST_TEST_MESSAGE("killed with " << http_at_kill << " HTTP 202s and " << below_committed
                                    << " commands below the committed offsets");
  BOOST_CHECK_GT(below_committed, 0);

  // Restart on the same journal; the doors carry on.
  serve = start_serve(config, dir.path() + "/serve2.out");
  port = serve.port;
  BOOST_CHECK_MESSAGE(eventually([&] { return http_202 >= http_at_kill + 200 / kScale; }, 60s),
                      "no HTTP 202s after the restart");
  http_stop = true;
  producer.join();
  for (auto& c : clients) c.join();
  BOOST_CHECK_EQUAL(http_other.load(), 0);
  BOOST_CHECK_GT(http_retried.load(), 0);

  // Every valid command and every 202 ends with exactly one final payment.
  const int64_t expected = static_cast<int64_t>(valid_ids.size()) + http_202;
  bool done = eventually(
      [&] {
        return reader.count("SELECT count(*) FROM sagas WHERE terminal = 1") >= expected &&
               reader.count("SELECT count(*) FROM sagas WHERE terminal = 0") == 0;
      },
      180s, 50ms);
  BOOST_CHECK_MESSAGE(done, "not every payment reached a final state");
  BOOST_CHECK_EQUAL(reader.count("SELECT count(*) FROM sagas"), expected);
  BOOST_CHECK_EQUAL(reader.count("SELECT count(*) FROM idempotency WHERE key LIKE 'kafka:%'"),
                    static_cast<int64_t>(valid_ids.size()));
  // None twice: one received event per end-to-end id.
  auto twice = reader.rows(
      "SELECT json_extract(chain_event_data(events, 'received'), '$.end_to_end_id') AS e, count(*) "
      "FROM saga_events WHERE chain_event_data(events, 'received') IS NOT NULL "
      "GROUP BY e HAVING count(*) > 1 LIMIT 5");
  BOOST_CHECK_MESSAGE(twice.empty(), "a payment was journaled twice: " + (twice.empty() ? "" : twice[0][0]));
  for (const Accepted& a : accepted) {
    auto row = reader.rows("SELECT tenant, json_extract(chain_event_data(events, 'received'), '$.end_to_end_id') "
                           "FROM saga_events WHERE payment_id = '" + a.payment_id +
                           "' AND chain_event_data(events, 'received') IS NOT NULL");
    BOOST_REQUIRE_MESSAGE(row.size() == 1, "a 202 without its payment: " + a.payment_id);
    BOOST_CHECK_EQUAL(row[0][0], a.tenant);
    BOOST_CHECK_EQUAL(row[0][1], a.e2e);
  }
  for (const std::string& id : valid_ids) {
    std::string key = "kafka:" + id;
    BOOST_CHECK_MESSAGE(reader.count("SELECT count(*) FROM idempotency WHERE key = '" + key + "'") == 1,
                        "a command without its payment: " + id);
  }
  // Every malformed command is on the DLQ (some perhaps twice: dead-lettered
  // before the kill, not yet committed, dead-lettered again).
  std::set<std::string> dead_keys;
  for (const Record& r : kcat_read(bootstrap, kafka::kDlqTopic))
    if (r.key) dead_keys.insert(*r.key);
  for (const std::string& k : malformed_keys) BOOST_CHECK_MESSAGE(dead_keys.count(k), "not on the DLQ: " + k);

  BOOST_CHECK_EQUAL(serve.child->terminate(60s), 0);
  // Money conserved: every account together holds what was funded.
  auto store = sagas::Store::open({db});
  BOOST_REQUIRE(store.ok());
  auto totals = (*store)->total_balance_by_currency();
  BOOST_CHECK_EQUAL(totals["ZAR"], 2 * kOpening);
  BOOST_CHECK_EQUAL(totals.size(), 1u);
}

BOOST_AUTO_TEST_CASE(serve_answers_on_both_doors) {
  TempDir dir;
  const std::string db = dir.path() + "/journal.db";
  const std::string config = write_file(dir.path() + "/serve.yaml", config_yaml(db, "embedded", "railsim"));
  Serve serve = start_serve(config, dir.path() + "/serve.out");
  const std::string bootstrap =
      serve.child->wait_for(R"(kafka: embedded broker at (127\.0\.0\.1:\d+))", std::chrono::seconds(5));
  const std::string url = "http://127.0.0.1:" + std::to_string(serve.port);

  auto post = run("curl -s -o /dev/null -w '%{http_code}' -X POST " + url +
                      "/v1/payments -H 'X-Tenant-Id: bank1' -H 'Idempotency-Key: curl-1' "
                      "-H 'Content-Type: application/json' -d " +
                      shell_quote(body("CURL-1").dump()),
                  30);
  BOOST_CHECK_EQUAL(post.out, "202");
  kcat_produce(bootstrap, dir.path(),
               {{"c-1", json{{"type", "payment.initiate"}, {"version", 1}, {"id", "c-1"}, {"tenant", "bank2"},
                             {"payload", body("KCAT-1")}}
                            .dump()}},
               "");
  // Both reach a final state, seen through the API.
  for (const auto& [tenant, e2e] : std::vector<std::pair<std::string, std::string>>{{"bank1", "CURL-1"},
                                                                                     {"bank2", "KCAT-1"}}) {
    bool final = eventually(
        [&] {
          auto r = run("curl -s " + url + "/v1/payments?limit=10 -H 'X-Tenant-Id: " + tenant + "'", 10);
          if (r.status != 0 || r.out.empty()) return false;
          json j = json::parse(r.out, nullptr, false);
          if (j.is_discarded() || !j.contains("items") || j["items"].empty()) return false;
          return j["items"][0].value("terminal", false);
        },
        60s, 50ms);
    BOOST_CHECK_MESSAGE(final, tenant + "'s payment did not reach a final state");
  }
  // kcat reads the events of both, in seq order per payment.
  bool events = eventually(
      [&] {
        std::set<std::string> ids;
        for (const Record& r : kcat_read(bootstrap, kafka::kEventsTopic))
          if (json::parse(r.value).value("state", "") == "completed") ids.insert(*r.key);
        return ids.size() == 2;
      },
      60s, 200ms);
  BOOST_CHECK_MESSAGE(events, "kcat did not read both payments' completed events");
  // /metrics in the Prometheus text format, checked by promtool.
  auto metrics = run("curl -s " + url + "/metrics", 10);
  BOOST_REQUIRE_EQUAL(metrics.status, 0);
  for (const char* family : {"payengine_payments_total", "payengine_http_requests_total",
                             "payengine_kafka_consumer_lag", "payengine_kafka_dlq_total", "payengine_outbox_backlog",
                             "payengine_rail_breaker_state", "payengine_journal_commit_duration_seconds"})
    BOOST_CHECK_MESSAGE(metrics.out.find(family) != std::string::npos, std::string("no ") + family);
  write_file(dir.path() + "/metrics.txt", metrics.out);
  auto lint = run("promtool check metrics < " + dir.path() + "/metrics.txt 2>&1", 30);
  BOOST_CHECK_MESSAGE(lint.status == 0, "promtool: " + lint.out);
  BOOST_CHECK_EQUAL(serve.child->terminate(60s), 0);
}

BOOST_AUTO_TEST_CASE(bad_config_is_refused) {
  TempDir dir;
  const std::string db = dir.path() + "/never.db";
  for (const auto& [yaml, expect] : std::vector<std::pair<std::string, std::string>>{
           {"db: " + db + "\nhttp: {prot: 8080}\n", "http.prot: unknown key"},
           {"db: " + db + "\nhttp: {port: eighty}\n", "http.port"},
           {"db: " + db + "\naccounts: [{id: bank1/1, currency: ZZZ, balance_minor: 5}]\n", "unknown currency"},
           {"db: " + db + "\nkafka: {settings: {no.such.property: x}}\n", "no.such.property"}}) {
    const std::string config = write_file(dir.path() + "/bad.yaml", yaml);
    Child serve({"serve", "--config", config}, dir.path() + "/bad.out");
    int code = serve.wait_exit(60s);
    BOOST_CHECK_EQUAL(code, 2);
    BOOST_CHECK_MESSAGE(serve.output().find(expect) != std::string::npos,
                        "expected '" + expect + "' in: " + serve.output());
    BOOST_CHECK(!std::filesystem::exists(db));  // refused before the journal is opened
  }
}
