// JournalReader on a read-only SQLite connection.
//
// Each multi-statement read (payment, list) runs inside one read
// transaction, so the saga row, its events, rail and reason come from the
// same committed snapshot. The rail is the route step's journaled output
// {"rail":"..."}; the reason the final event's {"reason":...,"detail":...};
// both are found by reading the payment's chain rows (saga_events holds
// one row per event chain, its events in a BLOB: see sqlite_rows.hpp)
// newest first, through the (payment_id, ...) unique index, and the JSON
// is read by SQLite's json_extract on the event's data. Listing walks the sagas_tenant index
// (tenant, payment_id) and filters in C++, so the work per call is bounded
// by `max_scan` rows whatever the filter.
#include "sagas/journal_reader.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <string_view>
#include <vector>

#include "sagas/sqlite_rows.hpp"

namespace payengine::sagas {
namespace {

constexpr int kBusyTimeoutMs = 5000;

using sqlite_rows::StmtScope;
using sqlite_rows::bind_int;
using sqlite_rows::bind_text;
using sqlite_rows::column_string;

int64_t clamp_limit(size_t n) {
  return static_cast<int64_t>(std::min<size_t>(n, std::numeric_limits<int64_t>::max()));
}

}  // namespace

struct JournalReader::Impl {
  sqlite3* db = nullptr;
  std::vector<sqlite3_stmt*> statements;
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* end = nullptr;
  sqlite3_stmt* select_saga = nullptr;
  sqlite3_stmt* select_events = nullptr;
  sqlite3_stmt* select_chains_desc = nullptr;
  sqlite3_stmt* select_rail = nullptr;
  sqlite3_stmt* select_reason = nullptr;
  sqlite3_stmt* select_page = nullptr;
  sqlite3_stmt* select_idempotency = nullptr;
  sqlite3_stmt* select_event_count = nullptr;
  mutable std::mutex mutex;

  ~Impl() {
    for (sqlite3_stmt* s : statements) sqlite3_finalize(s);
    if (db) sqlite3_close(db);
  }

  Error error(const char* what) const {
    return Error{"sqlite", std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "no database")};
  }

  bool prepare(const char* sql, sqlite3_stmt** out) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) != SQLITE_OK)
      return false;
    statements.push_back(*out);
    return true;
  }

  bool prepare_all() {
    // json_valid guards json_extract, which fails the statement on bad JSON.
    return prepare("BEGIN", &begin) && prepare("COMMIT", &end) &&
           prepare(
               "SELECT payment_id, tenant, state, terminal, created_ms, updated_ms FROM sagas "
               "WHERE payment_id = ?1 AND tenant = ?2",
               &select_saga) &&
           prepare(
               "SELECT seq, payment_id, tenant, events "
               "FROM saga_events WHERE payment_id = ?1 ORDER BY seq",
               &select_events) &&
           prepare("SELECT events FROM saga_events WHERE payment_id = ?1 ORDER BY seq DESC",
                   &select_chains_desc) &&
           prepare("SELECT CASE WHEN json_valid(?1) THEN json_extract(?1, '$.rail') END",
                   &select_rail) &&
           prepare(
               "SELECT CASE WHEN json_valid(?1) THEN json_extract(?1, '$.reason') END, "
               "CASE WHEN json_valid(?1) THEN json_extract(?1, '$.detail') END",
               &select_reason) &&
           prepare(
               "SELECT payment_id, tenant, state, terminal, created_ms, updated_ms FROM sagas "
               "WHERE tenant = ?1 AND payment_id > ?2 ORDER BY payment_id LIMIT ?3",
               &select_page) &&
           prepare(
               "SELECT payment_id, request_hash, created_ms FROM idempotency "
               "WHERE tenant = ?1 AND key = ?2",
               &select_idempotency) &&
           prepare("SELECT coalesce(sum(count), 0) FROM saga_events", &select_event_count);
  }

  // One read transaction; COMMIT on scope exit.
  class ReadTxn {
   public:
    explicit ReadTxn(const Impl& m) : m_(m) {
      ok_ = sqlite3_step(m.begin) == SQLITE_DONE;
      sqlite3_reset(m.begin);
    }
    ~ReadTxn() {
      if (!ok_) return;
      sqlite3_step(m_.end);
      sqlite3_reset(m_.end);
    }
    bool ok() const { return ok_; }
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;

   private:
    const Impl& m_;
    bool ok_ = false;
  };

  // The data of the payment's newest event of `kind` (and `step`, unless
  // null). *found = false when there is none.
  bool latest_data(const std::string& id, std::string_view kind, const char* step,
                   std::string* data, bool* found) const {
    *found = false;
    StmtScope scope(select_chains_desc);
    bind_text(select_chains_desc, 1, id);
    int rc;
    while ((rc = sqlite3_step(select_chains_desc)) == SQLITE_ROW) {
      std::string_view in = sqlite_rows::column_view(select_chains_desc, 0);
      sqlite_rows::ChainEvent e;
      while (sqlite_rows::next_chain_event(in, &e))  // the last match in the row wins
        if (e.kind == kind && (!step || e.step == step)) {
          *found = true;
          *data = std::string(e.data);
        }
      if (*found) return true;
    }
    return rc == SQLITE_DONE;
  }

  bool rail_of(const std::string& id, std::string* out) const {
    std::string data;
    bool found = false;
    if (!latest_data(id, "step_ok", "route", &data, &found)) return false;
    if (!found) return true;
    StmtScope scope(select_rail);
    bind_text(select_rail, 1, data);
    int rc = sqlite3_step(select_rail);
    if (rc == SQLITE_ROW) *out = column_string(select_rail, 0);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
  }

  bool reason_of(const std::string& id, std::string* code, std::string* detail) const {
    std::string data;
    bool found = false;
    if (!latest_data(id, "final", nullptr, &data, &found)) return false;
    if (!found) return true;
    StmtScope scope(select_reason);
    bind_text(select_reason, 1, data);
    int rc = sqlite3_step(select_reason);
    if (rc == SQLITE_ROW) {
      *code = column_string(select_reason, 0);
      if (detail) *detail = column_string(select_reason, 1);
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
  }
};

JournalReader::JournalReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JournalReader::~JournalReader() = default;

Result<std::unique_ptr<JournalReader>> JournalReader::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return impl->error(path.c_str());
  sqlite3_extended_result_codes(impl->db, 1);
  std::string pragmas =
      "PRAGMA query_only=1; PRAGMA busy_timeout=" + std::to_string(kBusyTimeoutMs) +
      "; PRAGMA cache_size=-16384;";
  char* msg = nullptr;
  if (sqlite3_exec(impl->db, pragmas.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    Error e{"sqlite", std::string("pragmas: ") + (msg ? msg : "?")};
    sqlite3_free(msg);
    return e;
  }
  if (!impl->prepare_all()) return impl->error("prepare");
  return std::unique_ptr<JournalReader>(new JournalReader(std::move(impl)));
}

Result<std::optional<PaymentRecord>> JournalReader::payment(const std::string& tenant,
                                                            const std::string& payment_id,
                                                            size_t max_events) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  Impl::ReadTxn txn(m);
  if (!txn.ok()) return m.error("begin");
  PaymentRecord out;
  {
    StmtScope scope(m.select_saga);
    bind_text(m.select_saga, 1, payment_id);
    bind_text(m.select_saga, 2, tenant);
    int rc = sqlite3_step(m.select_saga);
    if (rc == SQLITE_DONE) return std::optional<PaymentRecord>();
    if (rc != SQLITE_ROW) return m.error("saga");
    out.summary = sqlite_rows::saga_summary_row(m.select_saga);
  }
  {
    StmtScope scope(m.select_events);
    bind_text(m.select_events, 1, payment_id);
    // Chain rows until one event more than asked, to tell whether there
    // were more.
    std::vector<StoredEvent> events;
    int rc = SQLITE_DONE;
    while (events.size() <= max_events && (rc = sqlite3_step(m.select_events)) == SQLITE_ROW)
      if (!sqlite_rows::append_chain_row(m.select_events, &events))
        return Error{"journal", "malformed event chain of payment " + payment_id};
    if (events.size() <= max_events && rc != SQLITE_DONE) return m.error("events");
    if (events.size() > max_events) {
      out.events_truncated = true;
      events.resize(max_events);
    }
    for (StoredEvent& e : events) {
      if (e.kind == "received") out.instruction = e.data;
      out.events.push_back(std::move(e));
    }
  }
  if (!m.rail_of(payment_id, &out.rail)) return m.error("rail");
  if (!m.reason_of(payment_id, &out.reason_code, &out.reason_detail)) return m.error("reason");
  return std::optional<PaymentRecord>(std::move(out));
}

Result<PaymentPage> JournalReader::list(const std::string& tenant, const PaymentFilter& filter,
                                        const std::string& after_id, size_t limit,
                                        size_t max_scan) const {
  PaymentPage page;
  if (limit == 0 || max_scan == 0) return page;
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  Impl::ReadTxn txn(m);
  if (!txn.ok()) return m.error("begin");
  sqlite3_stmt* s = m.select_page;
  StmtScope scope(s);
  bind_text(s, 1, tenant);
  bind_text(s, 2, after_id);
  bind_int(s, 3, clamp_limit(max_scan));
  size_t scanned = 0;
  std::string last_scanned;
  bool more_matches = false;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    ++scanned;
    PaymentListItem item;
    item.summary = sqlite_rows::saga_summary_row(s);
    last_scanned = item.summary.payment_id;
    if (!filter.state.empty() && item.summary.state != filter.state) continue;
    if (!m.rail_of(item.summary.payment_id, &item.rail)) return m.error("rail");
    if (!filter.rail.empty() && item.rail != filter.rail) continue;
    if (page.items.size() == limit) {  // one match beyond the page: there is more
      more_matches = true;
      break;
    }
    if (!m.reason_of(item.summary.payment_id, &item.reason_code, nullptr)) return m.error("reason");
    page.items.push_back(std::move(item));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return m.error("list");
  if (more_matches)
    page.next_after = page.items.back().summary.payment_id;
  else if (scanned == max_scan)  // stopped by the scan bound: more may follow
    page.next_after = last_scanned;
  return page;
}

Result<std::optional<Store::IdempotencyEntry>> JournalReader::idempotency(
    const std::string& tenant, const std::string& key) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  sqlite3_stmt* s = m.select_idempotency;
  StmtScope scope(s);
  bind_text(s, 1, tenant);
  bind_text(s, 2, key);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<Store::IdempotencyEntry>();
  if (rc != SQLITE_ROW) return m.error("idempotency");
  Store::IdempotencyEntry e;
  e.payment_id = column_string(s, 0);
  e.request_hash = column_string(s, 1);
  e.created_ms = sqlite3_column_int64(s, 2);
  return std::optional<Store::IdempotencyEntry>(std::move(e));
}

Result<int64_t> JournalReader::event_count() const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  StmtScope scope(m.select_event_count);
  if (sqlite3_step(m.select_event_count) != SQLITE_ROW) return m.error("event count");
  return sqlite3_column_int64(m.select_event_count, 0);
}

}  // namespace payengine::sagas
