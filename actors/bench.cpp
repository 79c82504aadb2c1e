#include "actors/bench.hpp"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "actors/bench_format.hpp"
#include "actors/engine.hpp"
#include "sagas/messages.hpp"
#include "sagas/row_buffer.hpp"
#include "sagas/sqlite_rows.hpp"

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

// The raw SQLite ceiling: every row the journal inserted during the run,
// re-inserted by plain prepared INSERTs into a fresh file with the same
// schema and pragmas, in as many transactions as the journal committed.
// That is each table's final rows, plus the hold of every closed hold: the
// journal inserted it when the payment reserved and deleted it when the
// payment posted or released (schema 3), so it is read back from the
// hold's ledger entry. Rows are interleaved in the order the journal wrote
// them (keyed by the seq of the event that wrote them last; a closed hold by
// its payment's first seq), so each transaction touches the same mix of
// tables and index pages. Accounts and the outbox cursor are set-up and
// single rows, updated in place: left out.
struct RawTable {
  const char* name;       // the table the rows go into
  const char* order_key;  // SQL: the journal seq this table's row was written at
  const char* source = nullptr;  // SQL yielding its columns from `t` (default: t.* FROM name t)
};
constexpr RawTable kRawTables[] = {
    {"saga_events", "seq"},
    {"sagas", "last_seq"},
    {"saga_snapshots", "seq"},
    {"idempotency", "coalesce((SELECT last_seq FROM sagas s WHERE s.payment_id = t.payment_id), 0)"},
    {"holds", "coalesce((SELECT last_seq FROM sagas s WHERE s.payment_id = t.payment_id), 0)"},
    {"ledger_entries", "coalesce((SELECT last_seq FROM sagas s WHERE s.payment_id = t.payment_id), 0)"},
    {"holds", "coalesce((SELECT min(seq) FROM saga_events e WHERE e.payment_id = t.payment_id), 0)",
     "t.payment_id, t.debit_account, t.credit_account, t.currency, t.amount_minor, t.at_ms "
     "FROM ledger_entries t"},
};

// Rows per INSERT of the multi-row ceiling: the journal's own.
constexpr size_t kRawRowsPerInsert = sagas::RowBuffer::kRowsPerStatement;
static_assert((kRawRowsPerInsert & (kRawRowsPerInsert - 1)) == 0,
              "statements are prepared for powers of two rows");

// Rows of every table, each encoded as its columns in turn: a type byte,
// then 8 bytes for an integer or float, or a u32 length and the bytes.
struct RawRows {
  std::vector<std::string> schema;       // CREATE statements
  std::vector<std::string> insert_sql;   // per table
  std::vector<int> columns;              // per table
  std::string data;
  struct Ref {
    int64_t key;
    uint32_t table;
    size_t offset;
  };
  std::vector<Ref> rows;  // in journal order
};

bool exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::cerr << "bench: " << (err ? err : "sqlite error") << " in " << sql << "\n";
    sqlite3_free(err);
    return false;
  }
  return true;
}

template <typename T>
void put_raw(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

RawRows read_journal_rows(const std::string& path) {
  RawRows out;
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::set<std::string> created;
  for (uint32_t t = 0; t < std::size(kRawTables); ++t) {
    const std::string name = kRawTables[t].name;
    sqlite3_stmt* st = nullptr;
    std::string sql;
    if (created.insert(name).second) {
      sql = "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name = '" + name +
            "' ORDER BY type = 'index'";
      sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
      while (sqlite3_step(st) == SQLITE_ROW)
        out.schema.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
      sqlite3_finalize(st);
    }
    const std::string source =
        kRawTables[t].source ? kRawTables[t].source : "t.* FROM " + name + " t";
    sql = "SELECT " + std::string(kRawTables[t].order_key) + ", " + source;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
    const int n = sqlite3_column_count(st) - 1;
    out.columns.push_back(n);
    std::string insert = "INSERT INTO " + name + " VALUES(";
    for (int i = 0; i < n; ++i) insert += i ? ",?" : "?";
    out.insert_sql.push_back(insert + ")");
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.rows.push_back({sqlite3_column_int64(st, 0), t, out.data.size()});
      for (int i = 1; i <= n; ++i) {
        const int type = sqlite3_column_type(st, i);
        out.data.push_back(static_cast<char>(type));
        if (type == SQLITE_INTEGER) put_raw<int64_t>(out.data, sqlite3_column_int64(st, i));
        if (type == SQLITE_FLOAT) put_raw<double>(out.data, sqlite3_column_double(st, i));
        if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
          const std::string_view v = sagas::sqlite_rows::column_view(st, i);
          put_raw<uint32_t>(out.data, static_cast<uint32_t>(v.size()));
          out.data.append(v);
        }
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  std::stable_sort(out.rows.begin(), out.rows.end(),
                   [](const RawRows::Ref& a, const RawRows::Ref& b) { return a.key < b.key; });
  return out;
}

// Binds one encoded row of `raw` to parameters first.. of `st`.
void bind_raw_row(sqlite3_stmt* st, int first, const RawRows& raw, const RawRows::Ref& r) {
  const char* p = raw.data.data() + r.offset;
  for (int c = 0; c < raw.columns[r.table]; ++c) {
    const int param = first + c;
    const int type = *p++;
    if (type == SQLITE_INTEGER) {
      int64_t v;
      std::memcpy(&v, p, sizeof v);
      sqlite3_bind_int64(st, param, v);
      p += 8;
    } else if (type == SQLITE_FLOAT) {
      double v;
      std::memcpy(&v, p, sizeof v);
      sqlite3_bind_double(st, param, v);
      p += 8;
    } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
      uint32_t len;
      std::memcpy(&len, p, sizeof len);
      p += sizeof len;
      if (type == SQLITE_TEXT) sqlite3_bind_text(st, param, p, static_cast<int>(len), SQLITE_STATIC);
      else sqlite3_bind_blob(st, param, p, static_cast<int>(len), SQLITE_STATIC);
      p += len;
    } else {
      sqlite3_bind_null(st, param);
    }
  }
}

// Inserts `raw` into a fresh database in `transactions` transactions and
// returns rows per second. rows_per_statement 1: one plain INSERT per row,
// in journal order. More: each transaction's rows of a table go in INSERTs
// of that many rows (the rest in falling powers of two), as the journal
// writes them.
double raw_ceiling(const std::string& path, const RawRows& raw, uint64_t transactions, bool full,
                   size_t rows_per_statement) {
  // The most SQLite can do with these rows: no connection mutex, the
  // journal's page cache, BEGIN and COMMIT prepared once, and no
  // checkpoint while the clock runs (the journal's run on a thread of their
  // own; here the WAL just grows).
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                  nullptr);
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  exec(db, "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=0; PRAGMA temp_store=MEMORY");
  for (const std::string& ddl : raw.schema) exec(db, ddl.c_str());
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, nullptr);
  sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr);
  // Statements by table, then by rows (1, 2, 4, ...: index k holds 2^k
  // rows), prepared before the clock starts.
  std::vector<std::vector<sqlite3_stmt*>> inserts(raw.insert_sql.size());
  for (uint32_t t = 0; t < raw.insert_sql.size(); ++t) {
    const std::string& one = raw.insert_sql[t];  // "INSERT INTO x VALUES(?,...)"
    const std::string row = one.substr(one.find("VALUES") + 6);
    std::string sql = one;
    size_t rows_in_sql = 1;
    for (size_t n = 1; n <= rows_per_statement; n *= 2) {
      for (; rows_in_sql < n; ++rows_in_sql) sql += "," + row;
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
      inserts[t].push_back(st);
    }
  }
  auto statement = [&inserts](uint32_t table, size_t rows) {
    size_t k = 0;
    while ((size_t{1} << k) < rows) ++k;
    return inserts[table][k];
  };
  auto step = [&](sqlite3_stmt* st) {
    if (sqlite3_step(st) != SQLITE_DONE) std::cerr << "bench: raw insert: " << sqlite3_errmsg(db) << "\n";
    sqlite3_reset(st);
  };
  const size_t per_tx = std::max<size_t>(
      1, (raw.rows.size() + std::max<uint64_t>(1, transactions) - 1) / std::max<uint64_t>(1, transactions));
  std::vector<std::vector<size_t>> by_table(raw.insert_sql.size());
  auto t0 = Clock_::now();
  for (size_t i = 0; i < raw.rows.size();) {
    step(begin);
    const size_t end = std::min(raw.rows.size(), i + per_tx);
    if (rows_per_statement == 1) {
      for (; i < end; ++i) {
        sqlite3_stmt* st = inserts[raw.rows[i].table][0];
        bind_raw_row(st, 1, raw, raw.rows[i]);
        step(st);
      }
    } else {
      for (auto& rows : by_table) rows.clear();
      for (; i < end; ++i) by_table[raw.rows[i].table].push_back(i);
      for (uint32_t t = 0; t < by_table.size(); ++t) {
        const std::vector<size_t>& rows = by_table[t];
        for (size_t k = 0; k < rows.size();) {
          const size_t n = sagas::RowBuffer::next_statement_rows(rows.size() - k, rows_per_statement);
          sqlite3_stmt* st = statement(t, n);
          for (size_t r = 0; r < n; ++r)
            bind_raw_row(st, 1 + static_cast<int>(r) * raw.columns[t], raw, raw.rows[rows[k + r]]);
          step(st);
          k += n;
        }
      }
    }
    step(commit);
  }
  double s = std::chrono::duration<double>(Clock_::now() - t0).count();
  for (auto& by_rows : inserts)
    for (sqlite3_stmt* st : by_rows) sqlite3_finalize(st);
  sqlite3_finalize(begin);
  sqlite3_finalize(commit);
  sqlite3_close(db);
  return static_cast<double>(raw.rows.size()) / s;
}

// Rows of the ceiling's tables in the file at `path`.
uint64_t count_raw_rows(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  uint64_t n = 0;
  std::set<std::string> counted;
  for (const RawTable& t : kRawTables) {
    if (!counted.insert(t.name).second) continue;
    sqlite3_stmt* st = nullptr;
    const std::string sql = std::string("SELECT count(*) FROM ") + t.name;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
      n += static_cast<uint64_t>(sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
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
  const uint64_t refill = std::max<uint64_t>(1, o.concurrency / 16);

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
    // The driver refills the window in steps of `refill`: waking it for
    // every finished payment would cost the engine's thread a futex wake
    // per payment, a cost of this harness and not of the engine.
    if (in_flight + refill <= o.concurrency || in_flight == 0) cv.notify_all();
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
  const bench_format::MachineCpu cpu0 = bench_format::machine_cpu();
  for (uint64_t i = 0; i < o.payments; ++i) {
    PaymentInstruction p = base;
    p.end_to_end_id = "B" + std::to_string(i);
    p.debtor.account_number = std::to_string(5000000000ll + static_cast<int64_t>(i % kAccounts));
    {
      std::unique_lock<std::mutex> lock(mu);
      if (in_flight >= o.concurrency) cv.wait(lock, [&] { return in_flight + refill <= o.concurrency; });
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
  const bench_format::MachineShare cpu = bench_format::machine_share(cpu0, bench_format::machine_cpu());
  const long rss_kb = peak_rss_kb();
  const int threads = thread_count();
  uint64_t events = 0;
  engine.with_store([&](Store& s) { events = static_cast<uint64_t>(s.event_count()); });
  // The journal's own average batch: the ceiling commits batches of that size.
  auto [batches, committed] = engine.journal_stats();
  engine_r.value().reset();

  const RawRows raw = read_journal_rows(db_path);
  const double raw_rows_s = raw_ceiling(dir + "/raw.db", raw, batches, full, 1);
  // The ceiling wrote every row it read (a refused insert would flatter it).
  bool ceiling_rows_ok = count_raw_rows(dir + "/raw.db") == raw.rows.size();
  // The same rows in multi-row INSERTs, as the journal writes them: the
  // higher ceiling, reported beside the plain-INSERT one.
  const double multi_rows_s = raw_ceiling(dir + "/raw-multi.db", raw, batches, full, kRawRowsPerInsert);
  ceiling_rows_ok = ceiling_rows_ok && count_raw_rows(dir + "/raw-multi.db") == raw.rows.size();
  const double journal_rows_s = static_cast<double>(raw.rows.size()) / elapsed_s;
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
  if (cpu.ok)
    std::cout << "  machine CPU          " << bench_format::describe(cpu)
              << " (all processes, while timed)\n";
  std::cout << "  journal              " << events << " events in " << raw.rows.size()
            << " rows, " << static_cast<uint64_t>(journal_rows_s) << " rows/s ("
            << committed << " records in " << batches << " transactions)\n";
  std::cout << "  raw SQLite ceiling   " << static_cast<uint64_t>(raw_rows_s)
            << " rows/s (the same rows by plain INSERTs, as many transactions)\n";
  std::cout << "  journal / ceiling    " << journal_rows_s / raw_rows_s << "\n";
  std::cout << "  multi-row ceiling    " << static_cast<uint64_t>(multi_rows_s) << " rows/s (the same rows, "
            << kRawRowsPerInsert << " per INSERT; journal / this " << journal_rows_s / multi_rows_s
            << ")\n";
  if (!ceiling_rows_ok) std::cout << "  ceiling did not write every row: its figure is void\n";
  if (o.json) {
    nlohmann::json j;
    j["bench"] = "sagas";
    j["payments"] = o.payments;
    j["completed"] = completed;
    j["sync"] = full ? "full" : "normal";
    j["payments_per_s"] = static_cast<double>(done) / elapsed_s;
    j["p50_ms"] = static_cast<double>(percentile(lat, 0.50)) / 1000.0;
    j["p99_ms"] = static_cast<double>(percentile(lat, 0.99)) / 1000.0;
    j["peak_rss_mib"] = rss_kb / 1024;
    j["threads"] = threads;
    bench_format::put_machine_share(j, cpu);
    j["events"] = events;
    j["journal_rows"] = raw.rows.size();
    j["journal_transactions"] = batches;
    j["journal_rows_per_s"] = journal_rows_s;
    j["ceiling_rows_per_s"] = raw_rows_s;
    j["ceiling_rows_ok"] = ceiling_rows_ok;
    j["ratio"] = journal_rows_s / raw_rows_s;
    j["multi_row_ceiling_rows_per_s"] = multi_rows_s;
    j["multi_row_ratio"] = journal_rows_s / multi_rows_s;
    std::cout << j.dump() << "\n";
  }
  if (o.dir.empty()) std::filesystem::remove_all(dir);
  return completed == o.payments && ceiling_rows_ok ? 0 : 1;
}

}  // namespace payengine
