#include "actors/bench_http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "actors/bench_format.hpp"
#include "actors/engine.hpp"
#include "actors/http_gateway.hpp"
#include "sagas/result.hpp"

namespace payengine {
namespace {

using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kTenant = "bank1";
constexpr const char* kDebtorAccount = "1234567890";
constexpr int64_t kAmountMinor = 10'000;  // R100.00 per payment
// wrk with one thread cannot exceed this many requests a second on any
// machine we know; the debtor is funded for that rate over a whole run.
constexpr int64_t kMaxRequestsPerSecond = 1'000'000;
constexpr double kTargetRatio = 0.4;
constexpr double kTargetP99Ms = 10.0;

// ------------------------------------------------------------ helpers --

Result<std::string> make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "payengine-bench-http-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return Error{"io", std::string("mkdtemp: ") + std::strerror(errno)};
  return tmpl;
}

struct RemoveDir {
  std::string path;
  ~RemoveDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

std::string read_file(const std::string& path, size_t max_bytes = 64 * 1024) {
  std::ifstream in(path, std::ios::binary);
  std::string s(std::istreambuf_iterator<char>(in), {});
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  return s;
}

std::optional<std::string> find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// A port on 127.0.0.1 that was free a moment ago (bound to port 0, closed).
Result<uint16_t> free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{"io", std::string("socket: ") + std::strerror(errno)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string err = std::strerror(errno);
    close(fd);
    return Error{"io", "binding 127.0.0.1:0: " + err};
  }
  close(fd);
  return static_cast<uint16_t>(ntohs(addr.sin_port));
}

// A child process with stdout and stderr in a file. The destructor kills
// and reaps it; it also dies with this process (PR_SET_PDEATHSIG).
class Child {
 public:
  static Result<std::unique_ptr<Child>> spawn(const std::string& program, const std::vector<std::string>& args,
                                              const std::string& out_path) {
    std::vector<std::string> all{program};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) return Error{"io", "opening " + out_path + ": " + std::strerror(errno)};
    int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
      std::string err = std::strerror(errno);
      close(out);
      if (null_in >= 0) close(null_in);
      return Error{"io", "fork: " + err};
    }
    if (pid == 0) {
      // Only async-signal-safe calls from here to exec (the parent has threads).
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(126);
      if (null_in >= 0) dup2(null_in, 0);
      dup2(out, 1);
      dup2(out, 2);
      close_range(3, ~0U, 0);  // the engine's database, sockets, ...
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out);
    if (null_in >= 0) close(null_in);
    return std::unique_ptr<Child>(new Child(pid));
  }

  ~Child() { terminate(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // True while the process runs (reaps it when it has ended).
  bool running() {
    if (reaped_) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      reaped_ = true;
      status_ = status;
      return false;
    }
    return true;
  }

  // Waits up to `timeout` for the process to end; its wait status, or
  // nothing when it still runs.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = Steady::now() + timeout;
    while (running()) {
      if (Steady::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
    return status_;
  }

  // SIGTERM, up to `grace` to end, then SIGKILL; reaped either way.
  void terminate(std::chrono::milliseconds grace = 5s) {
    if (!running()) return;
    kill(pid_, SIGTERM);
    if (wait_for(grace)) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    status_ = status;
  }

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// One POST /v1/payments over a fresh connection: the status line's code, or 0.
unsigned probe_post(uint16_t port, std::chrono::milliseconds timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  unsigned status = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req =
        "POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[512];
      std::string got;
      for (int i = 0; i < 16 && got.find("\r\n") == std::string::npos; ++i) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      unsigned code = 0;
      if (std::sscanf(got.c_str(), "HTTP/1.%*d %u", &code) == 1) status = code;
    }
  }
  close(fd);
  return status;
}

// ---------------------------------------------------------------- nginx --

// The ceiling: answers every POST /v1/payments with a fixed 202.
std::string nginx_config(const std::string& dir, uint16_t port) {
  std::string d = dir + "/nginx";
  return "daemon off;\n"
         "master_process off;\n"
         "worker_processes 1;\n"
         "pid " + d + "/nginx.pid;\n"
         "error_log " + d + "/error.log warn;\n"
         "events { worker_connections 4096; }\n"
         "http {\n"
         "  access_log off;\n"
         "  client_body_temp_path " + d + "/client_body;\n"
         "  proxy_temp_path " + d + "/proxy;\n"
         "  fastcgi_temp_path " + d + "/fastcgi;\n"
         "  uwsgi_temp_path " + d + "/uwsgi;\n"
         "  scgi_temp_path " + d + "/scgi;\n"
         "  keepalive_requests 1000000000;\n"  // as the gateway: no cap per connection
         "  keepalive_timeout 60s;\n"
         "  server {\n"
         "    listen 127.0.0.1:" + std::to_string(port) + ";\n"
         "    location = /v1/payments {\n"
         "      default_type application/json;\n"
         "      return 202 '{\"payment_id\":\"pay_0193f5c2a7e84b1d9c3e5f7a\",\"state\":\"received\"}';\n"
         "    }\n"
         "  }\n"
         "}\n";
}

class Nginx {
 public:
  static Result<std::unique_ptr<Nginx>> start(const std::string& dir) {
    if (access(kNginx, X_OK) != 0)
      return Error{"missing", std::string(kNginx) + " not found (Debian package nginx-light)"};
    std::error_code ec;
    std::filesystem::create_directories(dir + "/nginx", ec);
    if (ec) return Error{"io", "creating " + dir + "/nginx: " + ec.message()};
    auto port = free_port();
    if (!port) return port.error();
    const std::string conf = dir + "/nginx/nginx.conf";
    std::ofstream(conf) << nginx_config(dir, *port);
    auto child = Child::spawn(kNginx, {"-p", dir + "/nginx", "-c", conf, "-e", dir + "/nginx/error.log"},
                              dir + "/nginx/out.log");
    if (!child) return child.error();
    std::unique_ptr<Nginx> n(new Nginx());
    n->child_ = std::move(*child);
    n->port_ = *port;
    // Poll until it answers, with a deadline.
    const auto deadline = Steady::now() + 10s;
    for (;;) {
      if (!n->child_->running())
        return Error{"nginx", "nginx exited at start: " + read_file(dir + "/nginx/out.log") +
                                  read_file(dir + "/nginx/error.log")};
      unsigned status = probe_post(n->port_, 200ms);
      if (status == 202) break;
      if (Steady::now() >= deadline)
        return Error{"nginx", "nginx did not answer POST /v1/payments with 202 within 10 s (last: " +
                                  std::to_string(status) + "): " + read_file(dir + "/nginx/error.log")};
      std::this_thread::sleep_for(10ms);
    }
    return n;
  }

  uint16_t port() const { return port_; }
  void stop() { child_->terminate(); }

 private:
  Nginx() = default;
  std::unique_ptr<Child> child_;
  uint16_t port_ = 0;
};

// ------------------------------------------------------------------ wrk --

// The same script drives every run. `delay_ms` > 0 adds wrk's delay() hook
// (per connection, between a response and the next request); fractions of
// a millisecond are carried over so the mean delay is exact.
std::string wrk_script(const std::string& body, double delay_ms) {
  std::string lua =
      "local body = [[" + body + "]]\n"
      "local n = 0\n"
      "local prefix = 'bench'\n"
      "statuses = {}\n"
      "tid = 0\n"
      "local threads = {}\n"
      "function setup(thread)\n"
      "  table.insert(threads, thread)\n"
      "  thread:set('tid', #threads)\n"
      "end\n"
      "function init(args)\n"
      "  if args[1] then prefix = args[1] end\n"
      "end\n"
      "function request()\n"
      "  n = n + 1\n"
      "  return wrk.format('POST', '/v1/payments', {['X-Tenant-Id']='" + std::string(kTenant) +
      "', ['Content-Type']='application/json', ['Idempotency-Key']=prefix .. '-' .. tid .. '-' .. n}, body)\n"
      "end\n"
      "function response(status, headers, body)\n"
      "  statuses[status] = (statuses[status] or 0) + 1\n"
      "end\n";
  if (delay_ms > 0) {
    char d[64];
    std::snprintf(d, sizeof d, "%.6f", delay_ms);
    lua += "local carry = 0\n"
           "function delay()\n"
           "  carry = carry + " + std::string(d) + "\n"
           "  local whole = math.floor(carry)\n"
           "  carry = carry - whole\n"
           "  return whole\n"
           "end\n";
  }
  lua +=
      "function done(summary, latency, requests)\n"
      "  io.write(string.format('pe_duration_us %d\\n', summary.duration))\n"
      "  io.write(string.format('pe_requests %d\\n', summary.requests))\n"
      "  io.write(string.format('pe_errors %d %d %d %d %d\\n', summary.errors.connect, summary.errors.read,"
      " summary.errors.write, summary.errors.status, summary.errors.timeout))\n"
      "  io.write(string.format('pe_latency_us %d %d %d\\n', latency:percentile(50), latency:percentile(90),"
      " latency:percentile(99)))\n"
      "  for _, t in ipairs(threads) do\n"
      "    local s = t:get('statuses')\n"
      "    for code, count in pairs(s) do io.write(string.format('pe_status %d %d\\n', code, count)) end\n"
      "  end\n"
      "end\n";
  return lua;
}

struct WrkResult {
  double seconds = 0;
  uint64_t requests = 0;  // responses
  uint64_t accepted = 0;  // 202s
  std::map<unsigned, uint64_t> statuses;
  uint64_t err_connect = 0, err_read = 0, err_write = 0, err_status = 0, err_timeout = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0;
  bench_format::MachineShare cpu;  // the whole machine while wrk ran

  double rate() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
  double accepted_rate() const { return seconds > 0 ? static_cast<double>(accepted) / seconds : 0; }
  uint64_t socket_errors() const { return err_connect + err_read + err_write + err_timeout; }
  std::string others() const {  // statuses other than 202, e.g. "429:12 503:1"
    std::string s;
    for (auto [code, n] : statuses)
      if (code != 202) s += (s.empty() ? "" : " ") + std::to_string(code) + ":" + std::to_string(n);
    return s;
  }
};

struct WrkRun {
  std::string wrk;  // path to the binary
  std::string dir;  // where the script and output go
  std::string name;
  uint16_t port = 0;
  size_t connections = 0;
  int64_t seconds = 0;
  std::string body;
  double delay_ms = 0;
};

Result<WrkResult> run_wrk(const WrkRun& r) {
  const std::string script = r.dir + "/" + r.name + ".lua";
  const std::string out = r.dir + "/" + r.name + ".out";
  std::ofstream(script) << wrk_script(r.body, r.delay_ms);
  auto child = Child::spawn(r.wrk,
                            {"-t1", "-c" + std::to_string(r.connections), "-d" + std::to_string(r.seconds) + "s",
                             "--latency", "-s", script, "http://127.0.0.1:" + std::to_string(r.port) + "/",
                             r.name},
                            out);
  if (!child) return child.error();
  const bench_format::MachineCpu cpu0 = bench_format::machine_cpu();
  auto status = (*child)->wait_for(std::chrono::seconds(r.seconds + 60));
  const bench_format::MachineShare cpu = bench_format::machine_share(cpu0, bench_format::machine_cpu());
  if (!status) return Error{"wrk", "wrk did not finish within " + std::to_string(r.seconds + 60) + " s"};
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
    return Error{"wrk", "wrk: " + describe_status(*status) + ": " + read_file(out, 4'000)};
  WrkResult w;
  w.cpu = cpu;
  std::ifstream in(out);
  std::string line;
  bool have_duration = false, have_latency = false;
  while (std::getline(in, line)) {
    unsigned long long a = 0, b = 0, c = 0, d = 0, e = 0;
    if (std::sscanf(line.c_str(), "pe_duration_us %llu", &a) == 1) {
      w.seconds = static_cast<double>(a) / 1e6;
      have_duration = true;
    } else if (std::sscanf(line.c_str(), "pe_requests %llu", &a) == 1) {
      w.requests = a;
    } else if (std::sscanf(line.c_str(), "pe_errors %llu %llu %llu %llu %llu", &a, &b, &c, &d, &e) == 5) {
      w.err_connect = a;
      w.err_read = b;
      w.err_write = c;
      w.err_status = d;
      w.err_timeout = e;
    } else if (std::sscanf(line.c_str(), "pe_latency_us %llu %llu %llu", &a, &b, &c) == 3) {
      w.p50_ms = static_cast<double>(a) / 1000.0;
      w.p90_ms = static_cast<double>(b) / 1000.0;
      w.p99_ms = static_cast<double>(c) / 1000.0;
      have_latency = true;
    } else if (std::sscanf(line.c_str(), "pe_status %llu %llu", &a, &b) == 2) {
      w.statuses[static_cast<unsigned>(a)] += b;
    }
  }
  if (!have_duration || !have_latency) return Error{"wrk", "wrk printed no summary: " + read_file(out, 4'000)};
  w.accepted = w.statuses.count(202) ? w.statuses.at(202) : 0;
  return w;
}

// --------------------------------------------------------------- engine --

std::string payment_body() {
  json body = {{"end_to_end_id", "BENCH-HTTP"},
               {"amount_minor", kAmountMinor},
               {"currency", "ZAR"},
               {"debtor", {{"name", "Thandi Nkosi"}, {"account_number", kDebtorAccount}, {"branch_code", "250655"}}},
               {"creditor",
                {{"name", "Pieter van der Merwe"}, {"account_number", "9876543210"}, {"branch_code", "632005"}}},
               {"remittance", "Invoice 2026-114"}};
  return body.dump();
}

struct EngineRun {
  WrkResult wrk;
  int64_t journal_payments = 0;
};

// A fresh Engine and HttpGateway on `dir`/`name`.db, one wrk run against
// it, then the payments in its journal.
Result<EngineRun> run_engine(const BenchHttpOptions& o, const WrkRun& base) {
  EngineConfig cfg;
  cfg.store.path = base.dir + "/" + base.name + ".db";
  cfg.store.synchronous = o.sync == "normal" ? sagas::Synchronous::normal : sagas::Synchronous::full;
  // cfg.rails empty: every rail is the in-process simulated rail (instant, no failures).
  auto engine = Engine::start(cfg);
  if (!engine) return Error{"engine", "Engine::start: " + engine.error().message};
  if (!(*engine)->wait_recovered(30s)) return Error{"engine", "recovery did not finish"};
  // Funded for the most requests one wrk thread could send in the run.
  const int64_t opening = kAmountMinor * kMaxRequestsPerSecond * base.seconds;
  bool funded = false;
  std::string fund_error;
  (*engine)->with_store([&](sagas::Store& s) {
    auto r = s.create_account(std::string(kTenant) + "/" + kDebtorAccount, "ZAR", opening);
    funded = r.ok();
    if (!r.ok()) fund_error = r.error().message;
  });
  if (!funded) return Error{"engine", "funding the debtor: " + fund_error};

  HttpGatewayOptions http;
  http.io_threads = o.io_threads;
  auto gateway = HttpGateway::start(**engine, http);
  if (!gateway) return Error{"engine", "HttpGateway::start: " + gateway.error().message};
  WrkRun run = base;
  run.port = (*gateway)->port();
  auto w = run_wrk(run);
  (*gateway)->stop();  // before the engine goes; requests in flight may still be journaled
  if (!w) return w.error();
  EngineRun out;
  out.wrk = *w;
  (*engine)->with_store([&](sagas::Store& s) {
    for (const auto& [state, n] : s.count_by_state()) out.journal_payments += n;
  });
  gateway->reset();
  engine->reset();
  return out;
}

using bench_format::fixed;
using bench_format::grouped;
using bench_format::load_average;

json wrk_json(const WrkResult& w) {
  json j = {{"seconds", w.seconds},       {"requests", w.requests}, {"requests_per_s", w.rate()},
            {"p50_ms", w.p50_ms},         {"p90_ms", w.p90_ms},     {"p99_ms", w.p99_ms},
            {"socket_errors", w.socket_errors()}};
  bench_format::put_machine_share(j, w.cpu);
  json st = json::object();
  for (auto [code, n] : w.statuses) st[std::to_string(code)] = n;
  j["statuses"] = st;
  return j;
}

}  // namespace

int run_bench_http(const BenchHttpOptions& o) {
  if (o.seconds < 1 || o.seconds > 86'400 || o.connections < 1 || o.io_threads < 1) {
    std::cerr << "bench http: --seconds must be 1..86400, --connections and --io-threads at least 1\n";
    return 2;
  }
  auto wrk = find_in_path("wrk");
  if (!wrk) {
    std::cerr << "bench http: wrk not found in PATH (Debian package wrk)\n";
    return 2;
  }
  auto tmp = make_temp_dir();
  if (!tmp) {
    std::cerr << "bench http: " << tmp.error().message << "\n";
    return 2;
  }
  RemoveDir cleanup{*tmp};
  const std::string load_before = load_average();
  const std::string sync_name = o.sync == "normal" ? "NORMAL" : "FULL";
  std::cerr << "bench http: wrk -t1 -c" << o.connections << " -d" << o.seconds
            << "s --latency, POST /v1/payments, each request its own Idempotency-Key; load average "
            << load_before << "\n";

  WrkRun base;
  base.wrk = *wrk;
  base.dir = *tmp;
  base.connections = o.connections;
  base.seconds = o.seconds;
  base.body = payment_body();

  // a. the ceiling
  WrkResult ceiling;
  {
    auto nginx = Nginx::start(*tmp);
    if (!nginx) {
      std::cerr << "bench http: " << nginx.error().message << "\n";
      return 2;
    }
    std::cerr << "bench http: (a) nginx on 127.0.0.1:" << (*nginx)->port() << "\n";
    WrkRun run = base;
    run.name = "nginx";
    run.port = (*nginx)->port();
    auto w = run_wrk(run);
    (*nginx)->stop();
    if (!w) {
      std::cerr << "bench http: ceiling: " << w.error().message << "\n";
      return 2;
    }
    ceiling = *w;
    if (ceiling.accepted == 0) {
      std::cerr << "bench http: nginx answered no 202 (" << ceiling.others() << ")\n";
      return 2;
    }
  }

  // b. the engine, as fast as wrk goes
  std::cerr << "bench http: (b) engine, synchronous=" << sync_name << ", " << o.io_threads << " I/O threads\n";
  WrkRun full_run = base;
  full_run.name = "engine";
  auto engine = run_engine(o, full_run);
  if (!engine) {
    std::cerr << "bench http: engine: " << engine.error().message << "\n";
    return 2;
  }
  const double accepted_rate = engine->wrk.accepted_rate();

  // c. the engine again at half the accepted rate
  const double half_target = accepted_rate / 2;
  std::optional<EngineRun> half;
  double delay_ms = 0;
  if (half_target > 0) {
    delay_ms = static_cast<double>(o.connections) * 1000.0 / half_target;
    std::cerr << "bench http: (c) engine at " << grouped(half_target) << " req/s (delay " << fixed(delay_ms, 3)
              << " ms per request and connection)\n";
    WrkRun half_run = base;
    half_run.name = "engine-half";
    half_run.delay_ms = delay_ms;
    auto h = run_engine(o, half_run);
    if (!h) {
      std::cerr << "bench http: half rate: " << h.error().message << "\n";
      return 2;
    }
    half = *h;
  }
  const std::string load_after = load_average();

  const double ratio = ceiling.rate() > 0 ? accepted_rate / ceiling.rate() : 0;
  const bool ratio_met = ratio >= kTargetRatio;
  const bool p99_met = half && half->wrk.p99_ms < kTargetP99Ms;
  const bool journal_ok = engine->journal_payments >= static_cast<int64_t>(engine->wrk.accepted) &&
                          (!half || half->journal_payments >= static_cast<int64_t>(half->wrk.accepted));

  if (o.json) {
    json j;
    j["bench"] = "http";
    j["seconds"] = o.seconds;
    j["connections"] = o.connections;
    j["io_threads"] = o.io_threads;
    j["sync"] = o.sync;
    j["load_average_before"] = load_before;
    j["load_average_after"] = load_after;
    j["ceiling"] = wrk_json(ceiling);
    j["ceiling_per_s"] = ceiling.rate();
    json e = wrk_json(engine->wrk);
    e["accepted"] = engine->wrk.accepted;
    e["accepted_per_s"] = accepted_rate;
    e["journal_payments"] = engine->journal_payments;
    j["engine"] = e;
    j["ratio"] = ratio;
    json h = half ? wrk_json(half->wrk) : json::object();
    h["target_per_s"] = half_target;
    h["delay_ms"] = delay_ms;
    if (half) {
      h["achieved_per_s"] = half->wrk.rate();
      h["accepted"] = half->wrk.accepted;
      h["journal_payments"] = half->journal_payments;
    }
    j["half_rate"] = h;
    j["targets"] = {{"ratio_min", kTargetRatio}, {"half_rate_p99_ms_max", kTargetP99Ms}};
    j["met"] = {{"ratio", ratio_met}, {"half_rate_p99", p99_met}};
    j["journal_ok"] = journal_ok;
    std::cout << j.dump() << std::endl;
  } else {
    std::printf("bench http: wrk -t1 -c%zu -d%llds --latency, keep-alive, POST /v1/payments (own Idempotency-Key "
                "each, Lua response() counts statuses)\n",
                o.connections, static_cast<long long>(o.seconds));
    std::printf("engine: simulated rail, synchronous=%s, %zu I/O threads; load average before %s, after %s\n\n",
                sync_name.c_str(), o.io_threads, load_before.c_str(), load_after.c_str());
    std::printf("%-34s %10s %9s %9s %8s  %s\n", "run", "req/s", "p50 ms", "p99 ms", "ratio", "target");
    std::printf("%-34s %10s %9s %9s %8s\n", "a. ceiling: nginx, fixed 202", grouped(ceiling.rate()).c_str(),
                fixed(ceiling.p50_ms, 2).c_str(), fixed(ceiling.p99_ms, 2).c_str(), "1.00");
    std::printf("%-34s %10s %9s %9s %8s  >= %.1fx nginx (%s/s): %s\n", "b. engine: 202 accepted",
                grouped(accepted_rate).c_str(), fixed(engine->wrk.p50_ms, 2).c_str(),
                fixed(engine->wrk.p99_ms, 2).c_str(), fixed(ratio, 2).c_str(), kTargetRatio,
                grouped(kTargetRatio * ceiling.rate()).c_str(), ratio_met ? "met" : "NOT met");
    if (half) {
      std::string label = "c. engine at half rate (" + grouped(half_target) + "/s)";
      std::printf("%-34s %10s %9s %9s %8s  p99 < %.0f ms: %s\n", label.c_str(), grouped(half->wrk.rate()).c_str(),
                  fixed(half->wrk.p50_ms, 2).c_str(), fixed(half->wrk.p99_ms, 2).c_str(), "", kTargetP99Ms,
                  p99_met ? "met" : "NOT met");
    }
    std::printf("\nengine: %llu responses, %llu 202s, other statuses: %s, socket errors %llu; journal holds %lld "
                "payments: %s\n",
                static_cast<unsigned long long>(engine->wrk.requests),
                static_cast<unsigned long long>(engine->wrk.accepted),
                engine->wrk.others().empty() ? "none" : engine->wrk.others().c_str(),
                static_cast<unsigned long long>(engine->wrk.socket_errors()),
                static_cast<long long>(engine->journal_payments),
                engine->journal_payments >= static_cast<int64_t>(engine->wrk.accepted) ? "ok (>= 202s)"
                                                                                        : "FEWER THAN 202s");
    if (half)
      std::printf("half rate: %llu responses, %llu 202s, other statuses: %s, socket errors %llu; journal holds %lld "
                  "payments: %s\n",
                  static_cast<unsigned long long>(half->wrk.requests),
                  static_cast<unsigned long long>(half->wrk.accepted),
                  half->wrk.others().empty() ? "none" : half->wrk.others().c_str(),
                  static_cast<unsigned long long>(half->wrk.socket_errors()),
                  static_cast<long long>(half->journal_payments),
                  half->journal_payments >= static_cast<int64_t>(half->wrk.accepted) ? "ok (>= 202s)"
                                                                                      : "FEWER THAN 202s");
    std::printf("nginx: %llu responses, other statuses: %s, socket errors %llu\n",
                static_cast<unsigned long long>(ceiling.requests),
                ceiling.others().empty() ? "none" : ceiling.others().c_str(),
                static_cast<unsigned long long>(ceiling.socket_errors()));
    auto cpu_line = [](const char* run, const WrkResult& w) {
      if (w.cpu.ok) std::printf("machine CPU during %s: %s\n", run, bench_format::describe(w.cpu).c_str());
    };
    cpu_line("a (nginx)", ceiling);
    cpu_line("b (engine)", engine->wrk);
    if (half) cpu_line("c (half rate)", half->wrk);
    std::fflush(stdout);
  }
  if (!journal_ok) {
    std::cerr << "bench http: the journal holds fewer payments than 202s were answered\n";
    return 1;
  }
  return 0;
}

}  // namespace payengine
