#include "actors/bench.hpp"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <unordered_map>

#include "actors/engine.hpp"
#include "sagas/messages.hpp"

namespace payengine {
namespace {

using namespace sagas;
using Clock_ = std::chrono::steady_clock;

int thread_count() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  return -1;
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// One journal row: an event chain (see sagas/store.cpp).
struct Row {
  std::string payment_id, tenant, kind, step, events;
  int64_t seq, count, attempt, terminal, publish, at_ms;
};

bool exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::cerr << "sqlite: " << (err ? err : "?") << "\n";
    sqlite3_free(err);
    return false;
  }
  return true;
}

std::vector<Row> read_events(const std::string& path) {
  std::vector<Row> rows;
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT seq, count, payment_id, tenant, kind, step, attempt, terminal, publish, at_ms, "
                     "events FROM saga_events ORDER BY seq",
                     -1, &st, nullptr);
  auto bytes = [&](int i) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, i))) : std::string();
  };
  while (sqlite3_step(st) == SQLITE_ROW)
    rows.push_back(Row{bytes(2), bytes(3), bytes(4), bytes(5), bytes(10), sqlite3_column_int64(st, 0),
                       sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7),
                       sqlite3_column_int64(st, 8), sqlite3_column_int64(st, 9)});
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

// Inserts `rows` (chain rows) into a fresh database with the journal's event
// table, in transactions of `batch` rows, and returns events per second
// (each row counts for the events it holds).
double raw_ceiling(const std::string& path, const std::vector<Row>& rows, size_t batch, bool full) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  exec(db,
       "CREATE TABLE saga_events(seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, payment_id TEXT NOT NULL, "
       "tenant TEXT NOT NULL, kind TEXT NOT NULL, step TEXT NOT NULL, attempt INTEGER NOT NULL, "
       "terminal INTEGER NOT NULL, publish INTEGER NOT NULL, at_ms INTEGER NOT NULL, events BLOB NOT NULL, "
       "UNIQUE(payment_id, kind, step, attempt))");
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO saga_events(seq, count, payment_id, tenant, kind, step, attempt, terminal, "
                     "publish, at_ms, events) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                     -1, &st, nullptr);
  int64_t events = 0;
  auto t0 = Clock_::now();
  for (size_t i = 0; i < rows.size();) {
    exec(db, "BEGIN IMMEDIATE");
    for (size_t n = 0; n < batch && i < rows.size(); ++n, ++i) {
      const Row& r = rows[i];
      sqlite3_bind_int64(st, 1, r.seq);
      sqlite3_bind_int64(st, 2, r.count);
      sqlite3_bind_text(st, 3, r.payment_id.c_str(), static_cast<int>(r.payment_id.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 4, r.tenant.c_str(), static_cast<int>(r.tenant.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 5, r.kind.c_str(), static_cast<int>(r.kind.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 6, r.step.c_str(), static_cast<int>(r.step.size()), SQLITE_STATIC);
      sqlite3_bind_int64(st, 7, r.attempt);
      sqlite3_bind_int64(st, 8, r.terminal);
      sqlite3_bind_int64(st, 9, r.publish);
      sqlite3_bind_int64(st, 10, r.at_ms);
      sqlite3_bind_blob(st, 11, r.events.data(), static_cast<int>(r.events.size()), SQLITE_STATIC);
      sqlite3_step(st);
      sqlite3_reset(st);
      events += r.count;
    }
    exec(db, "COMMIT");
  }
  double s = std::chrono::duration<double>(Clock_::now() - t0).count();
  sqlite3_finalize(st);
  sqlite3_close(db);
  return static_cast<double>(events) / s;
}

int64_t percentile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int run_bench_sagas(const BenchOptions& o) {
  std::string dir = o.dir;
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "payengine-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 2;
    dir = tmpl;
  }
  const bool full = o.sync == "full";
  const std::string db_path = dir + "/engine.db";

  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<std::string, Clock_::time_point> started;
  std::vector<int64_t> latencies_us;
  latencies_us.reserve(o.payments);
  uint64_t in_flight = 0, done = 0, completed = 0;

  EngineConfig cfg;
  cfg.store.path = db_path;
  cfg.store.synchronous = full ? Synchronous::full : Synchronous::normal;
  cfg.shards = o.shards;
  cfg.worker_threads = o.workers;
  cfg.max_active_per_shard = o.concurrency;  // admission never refuses in the benchmark
  cfg.rail = clearing::SimRailConfig{};       // instant, no failures
  cfg.on_done = [&](const PaymentDone& d) {
    auto now = Clock_::now();
    std::lock_guard<std::mutex> lock(mu);
    auto it = started.find(d.payment_id);
    if (it != started.end()) {
      latencies_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(now - it->second).count());
      started.erase(it);
    }
    ++done;
    if (d.state == "completed") ++completed;
    --in_flight;
    cv.notify_all();
  };
  auto engine_r = Engine::start(cfg);
  if (!engine_r) {
    std::cerr << "bench: " << engine_r.error().message << "\n";
    return 2;
  }
  Engine& engine = *engine_r.value();
  engine.wait_recovered(std::chrono::seconds(60));
  const int kAccounts = 200;
  engine.with_store([&](Store& s) {
    for (int i = 0; i < kAccounts; ++i)
      s.create_account("bank1/" + std::to_string(5000000000ll + i), "ZAR", 4'000'000'000'000'000ll);
  });

  PaymentInstruction base;
  base.tenant = "bank1";
  base.amount = Money{12'345, "ZAR"};
  base.debtor.name = "Bench Debtor";
  base.debtor.branch_code = "250655";
  base.creditor.name = "Bench Creditor";
  base.creditor.account_number = "6200000000";
  base.creditor.branch_code = "632005";
  base.remittance = "bench";

  const auto t0 = Clock_::now();
  for (uint64_t i = 0; i < o.payments; ++i) {
    PaymentInstruction p = base;
    p.end_to_end_id = "B" + std::to_string(i);
    p.debtor.account_number = std::to_string(5000000000ll + static_cast<int64_t>(i % kAccounts));
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < o.concurrency; });
      ++in_flight;
    }
    auto sent = Clock_::now();
    engine.initiate_async(p, std::nullopt, [&, sent](const InitiateReply& r) {
      std::lock_guard<std::mutex> lock(mu);
      if (r.status == InitiateReply::Status::accepted) {
        // If the saga already finished, on_done ran first: nothing to time.
        if (done + started.size() < o.payments) started.emplace(r.payment_id, sent);
      } else {
        --in_flight;
        cv.notify_all();
      }
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
  }
  const double elapsed_s = std::chrono::duration<double>(Clock_::now() - t0).count();
  const long rss_kb = peak_rss_kb();
  const int threads = thread_count();
  uint64_t events = 0;
  engine.with_store([&](Store& s) { events = static_cast<uint64_t>(s.event_count()); });
  // The journal's own average batch: the ceiling commits batches of that size.
  auto [batches, committed] = engine.journal_stats();
  engine_r.value().reset();

  std::vector<Row> rows = read_events(db_path);
  // Batches of chain rows: the journal's events per batch, in rows.
  const double events_per_row =
      rows.empty() ? 1.0 : static_cast<double>(events) / static_cast<double>(rows.size());
  size_t batch = static_cast<size_t>(std::max<double>(
      1.0, static_cast<double>(committed) / std::max<uint64_t>(1, batches) / events_per_row + 0.5));
  const double raw_rows_s = raw_ceiling(dir + "/raw.db", rows, batch, full);
  const double journal_rows_s = static_cast<double>(events) / elapsed_s;
  std::vector<int64_t> lat = latencies_us;

  std::cout << "bench sagas: " << o.payments << " payments, concurrency " << o.concurrency
            << ", synchronous=" << (full ? "FULL" : "NORMAL") << ", shards " << o.shards << "\n";
  std::cout << "  completed            " << completed << " of " << done << "\n";
  std::cout << "  throughput           " << static_cast<uint64_t>(static_cast<double>(done) / elapsed_s)
            << " payments/s (" << elapsed_s << " s)\n";
  std::cout << "  latency p50          " << percentile(lat, 0.50) / 1000.0 << " ms\n";
  std::cout << "  latency p99          " << percentile(lat, 0.99) / 1000.0 << " ms\n";
  std::cout << "  peak RSS             " << rss_kb / 1024 << " MiB\n";
  std::cout << "  threads              " << threads << "\n";
  std::cout << "  journal              " << events << " events, " << static_cast<uint64_t>(journal_rows_s)
            << " events/s\n";
  std::cout << "  raw SQLite ceiling   " << static_cast<uint64_t>(raw_rows_s)
            << " events/s (same chain rows, " << rows.size() << " rows, "
            << events_per_row << " events/row, batches of " << batch << " rows)\n";
  std::cout << "  journal / ceiling    " << journal_rows_s / raw_rows_s << "\n";
  if (o.dir.empty()) std::filesystem::remove_all(dir);
  return completed == o.payments ? 0 : 1;
}

}  // namespace payengine
