#define BOOST_TEST_MODULE store
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sagas/sqlite_rows.hpp"
#include "sagas/store.hpp"

using namespace payengine;
using namespace payengine::sagas;

namespace {

// A fresh directory under /tmp, removed with everything in it at the end.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/test_store.XXXXXX";
    const char* made = mkdtemp(tmpl);
    BOOST_REQUIRE(made != nullptr);
    path = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::unique_ptr<Store> open_store(const std::string& path,
                                  Synchronous sync = Synchronous::full,
                                  int64_t ttl_ms = 24LL * 3600 * 1000) {
  StoreOptions options;
  options.path = path;
  options.synchronous = sync;
  options.idempotency_ttl_ms = ttl_ms;
  auto r = Store::open(options);
  BOOST_REQUIRE_MESSAGE(r.ok(), "open failed: " + (r.ok() ? "" : r.error().message));
  return std::move(r).value();
}

// A second, independent connection to the same file: reads the tables
// behind the store's back and can change the schema (to inject failures).
class Peer {
 public:
  explicit Peer(const std::string& path) {
    BOOST_REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
    BOOST_REQUIRE(sagas::sqlite_rows::register_chain_functions(db_));
  }
  ~Peer() { sqlite3_close(db_); }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  void exec(const std::string& sql) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    std::string text = msg ? msg : "";
    sqlite3_free(msg);
    BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, sql + ": " + text);
  }
  int64_t scalar(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    BOOST_REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
  }
  // rows of (c0 text, c1..: int64) as strings joined by '|'
  std::vector<std::string> rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    BOOST_REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::vector<std::string> out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        if (i) row += '|';
        const unsigned char* t = sqlite3_column_text(s, i);
        row += t ? reinterpret_cast<const char*>(t) : "NULL";
      }
      out.push_back(row);
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

EventRecord event(const std::string& payment_id, const std::string& kind,
                  const std::string& step = "", uint32_t attempt = 0) {
  EventRecord e;
  e.payment_id = payment_id;
  e.tenant = "t1";
  e.kind = kind;
  e.step = step;
  e.attempt = attempt;
  e.at_ms = 1000;
  e.data = "{}";
  return e;
}

// The payment's final event, ending it in `state`.
EventRecord final_event(const std::string& payment_id, const std::string& state = "completed") {
  EventRecord e = event(payment_id, "final");
  e.state = state;
  e.terminal = true;
  return e;
}

EventRecord reserve(const std::string& payment_id, const std::string& account,
                    int64_t amount_minor, const std::string& currency = "ZAR") {
  EventRecord e = event(payment_id, "step_ok", "reserve");
  e.state = "reserved";
  e.ledger.kind = LedgerOp::Kind::reserve;
  e.ledger.account = account;
  e.ledger.amount = Money{amount_minor, currency};
  return e;
}

EventRecord post(const std::string& payment_id, const std::string& settlement,
                 const std::string& step = "settle") {
  EventRecord e = event(payment_id, "step_ok", step);
  e.state = "settled";
  e.ledger.kind = LedgerOp::Kind::post;
  e.ledger.settlement_account = settlement;
  return e;
}

EventRecord release(const std::string& payment_id, const std::string& step = "release") {
  EventRecord e = event(payment_id, "compensated", step);
  e.state = "cancelled";
  e.terminal = true;
  e.ledger.kind = LedgerOp::Kind::release;
  return e;
}

AppendResult commit_one(Store& store, const EventRecord& e) {
  Batch b;
  b.events.push_back(e);
  auto results = store.commit(b);
  BOOST_REQUIRE_EQUAL(results.size(), 1u);
  return results[0];
}

std::string status_name(AppendStatus s) {
  switch (s) {
    case AppendStatus::ok: return "ok";
    case AppendStatus::duplicate_event: return "duplicate_event";
    case AppendStatus::idempotent_replay: return "idempotent_replay";
    case AppendStatus::idempotency_conflict: return "idempotency_conflict";
    case AppendStatus::ledger_rejected: return "ledger_rejected";
    case AppendStatus::skipped: return "skipped";
    case AppendStatus::error: return "error";
  }
  return "?";
}

#define CHECK_STATUS(result, expected) \
  BOOST_CHECK_EQUAL(status_name((result).status), status_name(expected))

// The store's in-memory accounts against the accounts table.
void check_memory_matches_tables(Store& store, Peer& peer) {
  std::vector<std::string> memory;
  for (const auto& a : store.accounts())
    memory.push_back(a.id + "|" + a.currency + "|" + std::to_string(a.balance_minor) + "|" +
                     std::to_string(a.held_minor));
  auto table = peer.rows("SELECT id, currency, balance_minor, held_minor FROM accounts ORDER BY id");
  BOOST_CHECK_EQUAL_COLLECTIONS(memory.begin(), memory.end(), table.begin(), table.end());
  // held_minor of each account is the sum of its open holds.
  auto open = peer.rows(
      "SELECT a.id FROM accounts a WHERE a.held_minor <> (SELECT coalesce(sum(h.amount_minor), 0) "
      "FROM holds h WHERE h.account = a.id)");
  BOOST_CHECK_MESSAGE(open.empty(), "held_minor disagrees with open holds");
}

}  // namespace

BOOST_AUTO_TEST_CASE(schema_creation_and_reopen) {
  TempDir dir;
  std::string path = dir.file("engine.db");
  {
    auto store = open_store(path);
    BOOST_REQUIRE(store->create_account("acct-1", "ZAR", 10'000).ok());
    EventRecord e = event("p1", "received");
    e.state = "received";
    e.idempotency = IdempotencyClaim{"key-1", "hash-1"};
    CHECK_STATUS(commit_one(*store, e), AppendStatus::ok);
    CHECK_STATUS(commit_one(*store, reserve("p1", "acct-1", 2'500)), AppendStatus::ok);
  }
  {
    Peer peer(path);
    BOOST_CHECK_EQUAL(peer.scalar("PRAGMA user_version"), 3);
    BOOST_CHECK_EQUAL(peer.rows("PRAGMA journal_mode")[0], "wal");
    for (const char* table : {"saga_events", "sagas", "saga_snapshots", "outbox_cursor", "idempotency",
                              "accounts", "holds", "ledger_entries"})
      BOOST_CHECK_EQUAL(peer.scalar(std::string("SELECT count(*) FROM sqlite_master WHERE "
                                                "type='table' AND name='") + table + "'"), 1);
  }
  {
    auto store = open_store(path, Synchronous::normal);
    BOOST_CHECK_EQUAL(store->event_count(), 2);
    auto events = store->events_for("p1");
    BOOST_REQUIRE_EQUAL(events.size(), 2u);
    BOOST_CHECK_EQUAL(events[0].kind, "received");
    BOOST_CHECK_EQUAL(events[1].step, "reserve");
    BOOST_CHECK_LT(events[0].seq, events[1].seq);
    auto saga = store->saga("p1");
    BOOST_REQUIRE(saga);
    BOOST_CHECK_EQUAL(saga->state, "reserved");
    BOOST_CHECK_EQUAL(saga->tenant, "t1");
    auto acct = store->account("acct-1");
    BOOST_REQUIRE(acct);
    BOOST_CHECK_EQUAL(acct->balance_minor, 10'000);
    BOOST_CHECK_EQUAL(acct->held_minor, 2'500);
    auto hold = store->hold("p1");
    BOOST_REQUIRE(hold);
    BOOST_CHECK_EQUAL(hold->status, "held");
    BOOST_CHECK_EQUAL(hold->amount.amount_minor, 2'500);
    auto idem = store->idempotency("t1", "key-1");
    BOOST_REQUIRE(idem);
    BOOST_CHECK_EQUAL(idem->payment_id, "p1");
    BOOST_CHECK_EQUAL(idem->request_hash, "hash-1");
    BOOST_CHECK_EQUAL(idem->created_ms, 1000);
    // The ledger reloaded from the tables works: the hold still counts.
    CHECK_STATUS(commit_one(*store, reserve("p2", "acct-1", 7'501)), AppendStatus::ledger_rejected);
    CHECK_STATUS(commit_one(*store, reserve("p2", "acct-1", 7'500)), AppendStatus::ok);
  }
  {
    Peer peer(path);
    peer.exec("PRAGMA user_version = 99");
  }
  StoreOptions options;
  options.path = path;
  auto r = Store::open(options);
  BOOST_REQUIRE(!r.ok());
  BOOST_CHECK_EQUAL(r.error().code, "schema");
}

// A payment's events are found again whether they were committed by an
// earlier batch, written earlier in the same transaction (behind another
// payment's chain), by a payment already final, or before a reopen.
// The duplicate check keeps the keys of payments that are not final between
// chains, up to a bound. At the bound: a kept payment's keys are still
// brought up to date, a payment not kept is looked up in the table, and a
// payment going final makes room for another.
BOOST_AUTO_TEST_CASE(duplicates_found_at_the_bound_of_the_key_cache) {
  TempDir dir;
  StoreOptions options;
  options.path = dir.file("db");
  options.cached_open_payments = 2;
  auto opened = Store::open(options);
  BOOST_REQUIRE(opened.ok());
  auto store = std::move(opened).value();
  for (const char* p : {"a", "b", "c"})  // a and b are kept, c is not
    CHECK_STATUS(commit_one(*store, event(p, "received")), AppendStatus::ok);
  for (const char* p : {"a", "c"})
    CHECK_STATUS(commit_one(*store, event(p, "step_ok", "s1")), AppendStatus::ok);
  for (const char* p : {"a", "c"}) {
    CHECK_STATUS(commit_one(*store, event(p, "step_ok", "s1")), AppendStatus::duplicate_event);
    CHECK_STATUS(commit_one(*store, event(p, "received")), AppendStatus::duplicate_event);
  }
  // b goes final: its keys leave the cache, its events are still found.
  CHECK_STATUS(commit_one(*store, final_event("b")), AppendStatus::ok);
  CHECK_STATUS(commit_one(*store, event("b", "received")), AppendStatus::duplicate_event);
  // d takes b's place, and is brought up to date like a.
  CHECK_STATUS(commit_one(*store, event("d", "received")), AppendStatus::ok);
  CHECK_STATUS(commit_one(*store, event("d", "step_ok", "s1")), AppendStatus::ok);
  CHECK_STATUS(commit_one(*store, event("d", "step_ok", "s1")), AppendStatus::duplicate_event);
  CHECK_STATUS(commit_one(*store, event("c", "step_ok", "s2")), AppendStatus::ok);
  CHECK_STATUS(commit_one(*store, event("c", "step_ok", "s2")), AppendStatus::duplicate_event);
  BOOST_CHECK_EQUAL(store->event_count(), 9);
}

// The journal writes a transaction's rows in multi-row statements at its
// end. Batches of every size land each row once, a payment with two chains
// in one batch (another payment's between them) ends with its later state,
// and a batch failing part-way leaves nothing behind, not even for the
// next batch to write.
BOOST_AUTO_TEST_CASE(large_batches_write_every_row_once_and_in_order) {
  TempDir dir;
  const std::string path = dir.file("db");
  auto store = open_store(path);
  Peer peer{path};
  BOOST_REQUIRE(store->create_account("acct", "ZAR", 10'000'000).ok());
  auto id = [](const char* prefix, int i) { return prefix + std::to_string(i); };
  // n payments: received then reserve (one chain); the first `again` of
  // them also route, in a second chain at the end of the batch.
  auto opening = [&](const char* prefix, int n, int again) {
    Batch b;
    for (int i = 0; i < n; ++i) {
      EventRecord r = event(id(prefix, i), "received");
      r.state = "received";
      b.events.push_back(r);
      EventRecord h = reserve(id(prefix, i), "acct", 100 + i);
      h.depends_on_previous = true;
      b.events.push_back(h);
    }
    for (int i = 0; i < again; ++i) {
      EventRecord routed = event(id(prefix, i), "step_ok", "route");
      routed.state = "routed";
      b.events.push_back(routed);
    }
    // ...and the next `again` of them end, released, in a terminal chain.
    for (int i = again; i < 2 * again; ++i) b.events.push_back(release(id(prefix, i)));
    return b;
  };
  for (int n : {1, 2, 63, 64, 65, 150}) {
    const char* prefix = n == 1 ? "a" : n == 2 ? "b" : n == 63 ? "c" : n == 64 ? "d" : n == 65 ? "e" : "f";
    const int again = n >= 10 ? 10 : 0;
    for (const AppendResult& r : store->commit(opening(prefix, n, again)))
      CHECK_STATUS(r, AppendStatus::ok);
    const std::string like = std::string(" LIKE '") + prefix + "%'";
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM saga_events WHERE payment_id" + like),
                      n + 2 * again);
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sagas WHERE payment_id" + like), n);
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM holds WHERE payment_id" + like), n - again);
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'release' AND payment_id" + like),
                      again);
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sagas WHERE state = 'routed' AND terminal = 0 "
                                  "AND payment_id" + like),
                      again);
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sagas WHERE state = 'cancelled' AND terminal = 1 "
                                  "AND payment_id" + like),
                      again);
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sagas WHERE state = 'reserved' AND terminal = 0 "
                                  "AND payment_id" + like),
                      n - 2 * again);
    // Each saga row names its payment's last event.
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sagas s WHERE payment_id" + like +
                                  " AND last_seq <> (SELECT max(seq + count - 1) FROM saga_events e "
                                  "WHERE e.payment_id = s.payment_id)"),
                      0);
  }
  // Post every hold still open of the 150 (f10..f19 were released) in one
  // batch, each with its final event.
  Batch closing;
  int64_t posted_minor = 0;
  for (int i = 0; i < 150; ++i) {
    if (i >= 10 && i < 20) continue;
    closing.events.push_back(post(id("f", i), "settle"));
    EventRecord f = final_event(id("f", i));
    f.depends_on_previous = true;
    closing.events.push_back(f);
    posted_minor += 100 + i;
  }
  for (const AppendResult& r : store->commit(closing)) CHECK_STATUS(r, AppendStatus::ok);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM holds WHERE payment_id LIKE 'f%'"), 0);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'post'"), 140);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT sum(amount_minor) FROM ledger_entries WHERE kind = 'post'"),
                    posted_minor);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sagas WHERE payment_id LIKE 'f%' AND terminal = 1 "
                                "AND state = 'completed'"),
                    140);
  BOOST_CHECK_EQUAL(store->account("settle")->balance_minor, posted_minor);
  check_memory_matches_tables(*store, peer);

  // A batch whose 120th payment cannot be written fails whole.
  peer.exec("CREATE TRIGGER refuse BEFORE INSERT ON saga_events WHEN NEW.payment_id = 'g119' "
            "BEGIN SELECT RAISE(ABORT, 'injected chain failure'); END");
  const int64_t events_before = peer.scalar("SELECT count(*) FROM saga_events");
  for (const AppendResult& r : store->commit(opening("g", 150, 10))) CHECK_STATUS(r, AppendStatus::error);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM saga_events"), events_before);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sagas WHERE payment_id LIKE 'g%'"), 0);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM holds WHERE payment_id LIKE 'g%'"), 0);
  check_memory_matches_tables(*store, peer);
  // The next batch writes its own rows only.
  peer.exec("DROP TRIGGER refuse");
  for (const AppendResult& r : store->commit(opening("h", 3, 0))) CHECK_STATUS(r, AppendStatus::ok);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM saga_events"), events_before + 3);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sagas WHERE payment_id LIKE 'g%'"), 0);
  check_memory_matches_tables(*store, peer);
}

BOOST_AUTO_TEST_CASE(duplicates_found_across_batches_within_a_batch_and_after_reopen) {
  TempDir dir;
  std::string path = dir.file("db");
  auto chained = [](EventRecord e) {
    e.depends_on_previous = true;
    return e;
  };
  {
    auto store = open_store(path);
    Batch first;
    first.events = {event("x", "received"), chained(event("x", "step_ok", "s1")),
                    chained(event("x", "step_ok", "s2"))};
    for (const auto& r : store->commit(first)) CHECK_STATUS(r, AppendStatus::ok);
    // The next batch: an earlier event alone, a new chain,
    // another payment, then the new chain's event and an old one again.
    Batch next;
    next.events = {event("x", "step_ok", "s1"), event("x", "step_ok", "s3"),
                   event("y", "received"), event("x", "step_ok", "s3"),
                   event("x", "step_ok", "s2")};
    auto rs = store->commit(next);
    CHECK_STATUS(rs[0], AppendStatus::duplicate_event);
    CHECK_STATUS(rs[1], AppendStatus::ok);
    CHECK_STATUS(rs[2], AppendStatus::ok);
    CHECK_STATUS(rs[3], AppendStatus::duplicate_event);
    CHECK_STATUS(rs[4], AppendStatus::duplicate_event);
    BOOST_CHECK_EQUAL(store->event_count(), 5);
    // Once final, its events are still found.
    CHECK_STATUS(commit_one(*store, final_event("x")), AppendStatus::ok);
    CHECK_STATUS(commit_one(*store, event("x", "step_ok", "s3")), AppendStatus::duplicate_event);
    CHECK_STATUS(commit_one(*store, event("x", "received")), AppendStatus::duplicate_event);
  }
  auto store = open_store(path);
  CHECK_STATUS(commit_one(*store, event("y", "received")), AppendStatus::duplicate_event);
  CHECK_STATUS(commit_one(*store, event("x", "step_ok", "s2")), AppendStatus::duplicate_event);
  CHECK_STATUS(commit_one(*store, event("y", "step_ok", "s1")), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->event_count(), 7);
}

// Schemas 1 and 2 kept every hold, with its status, and ledger entries with
// a rowid: turns a fresh journal's ledger tables back into that shape.
constexpr const char* kSchema2LedgerSql =
    "DROP TABLE holds; DROP TABLE ledger_entries; "
    "CREATE TABLE holds(payment_id TEXT NOT NULL PRIMARY KEY, account TEXT NOT NULL, "
    "settlement_account TEXT NOT NULL, currency TEXT NOT NULL, "
    "amount_minor INTEGER NOT NULL CHECK(amount_minor > 0), status TEXT NOT NULL "
    "CHECK(status = 'held' OR status = 'posted' OR status = 'released'), "
    "updated_ms INTEGER NOT NULL) WITHOUT ROWID; "
    "CREATE INDEX holds_open ON holds(payment_id) WHERE status = 'held'; "
    "CREATE TABLE ledger_entries(id INTEGER PRIMARY KEY, payment_id TEXT NOT NULL, "
    "kind TEXT NOT NULL, debit_account TEXT NOT NULL, credit_account TEXT NOT NULL, "
    "currency TEXT NOT NULL, amount_minor INTEGER NOT NULL CHECK(amount_minor > 0), "
    "at_ms INTEGER NOT NULL, UNIQUE(payment_id, kind)); ";

// A journal of schema 2 is migrated on open: open holds stay where they
// were, a released hold becomes a 'release' entry, a posted one keeps its
// 'post' entry, and the ledger carries on from there.
BOOST_AUTO_TEST_CASE(schema_2_ledger_is_migrated_on_open) {
  TempDir dir;
  std::string path = dir.file("engine.db");
  {
    // Each payment with a hold has journaled events (the hold came with one).
    auto store = open_store(path);
    for (const char* pid : {"p1", "p2", "p3"})
      CHECK_STATUS(commit_one(*store, event(pid, "received")), AppendStatus::ok);
  }
  {
    Peer peer(path);
    peer.exec(std::string(kSchema2LedgerSql) +
              "INSERT INTO accounts VALUES('acct', 'ZAR', 8000, 1000), "
              "('settle-zar', 'ZAR', 2000, 0); "
              "INSERT INTO holds VALUES('p1', 'acct', 'settle-zar', 'ZAR', 1000, 'held', 10), "
              "('p2', 'acct', 'settle-zar', 'ZAR', 2000, 'posted', 20), "
              "('p3', 'acct', 'settle-zar', 'ZAR', 500, 'released', 30); "
              "INSERT INTO ledger_entries VALUES(1, 'p2', 'post', 'acct', 'settle-zar', 'ZAR', "
              "2000, 20); "
              "PRAGMA user_version = 2;");
  }
  auto store = open_store(path);
  Peer peer(path);
  BOOST_CHECK_EQUAL(peer.scalar("PRAGMA user_version"), 3);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v2' "
                                "OR name = 'holds_open'"), 0);
  BOOST_CHECK(peer.rows("SELECT payment_id, amount_minor FROM holds") ==
              (std::vector<std::string>{"p1|1000"}));
  BOOST_CHECK(peer.rows("SELECT payment_id, kind, debit_account, credit_account, amount_minor, "
                        "at_ms FROM ledger_entries ORDER BY payment_id") ==
              (std::vector<std::string>{"p2|post|acct|settle-zar|2000|20",
                                        "p3|release|acct|acct|500|30"}));
  BOOST_CHECK_EQUAL(store->hold("p1")->status, "held");
  BOOST_CHECK_EQUAL(store->hold("p2")->status, "posted");
  BOOST_CHECK_EQUAL(store->hold("p2")->settlement_account, "settle-zar");
  BOOST_CHECK_EQUAL(store->hold("p3")->status, "released");
  BOOST_CHECK_EQUAL(store->hold("p3")->amount.amount_minor, 500);
  BOOST_CHECK_EQUAL(store->posting_count("p2"), 1);
  check_memory_matches_tables(*store, peer);

  // The ledger goes on from the migrated state.
  AppendResult r = commit_one(*store, post("p3", "settle-zar"));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AG01");
  CHECK_STATUS(commit_one(*store, release("p3", "release-again")), AppendStatus::ok);
  CHECK_STATUS(commit_one(*store, post("p2", "settle-zar", "post-again")), AppendStatus::ok);
  CHECK_STATUS(commit_one(*store, post("p1", "settle-zar")), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("acct")->balance_minor, 7'000);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 0);
  BOOST_CHECK_EQUAL(store->account("settle-zar")->balance_minor, 3'000);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM holds"), 0);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM ledger_entries"), 3);
  check_memory_matches_tables(*store, peer);
}

// A journal written by schema 1 (one saga_events row per event) is migrated
// on open: every event keeps its seq and fields, the outbox cursor keeps its
// place, a re-sent event is still a duplicate and new events follow on.
BOOST_AUTO_TEST_CASE(schema_1_journal_is_migrated_on_open) {
  TempDir dir;
  std::string path = dir.file("engine.db");
  open_store(path).reset();
  {
    Peer peer(path);
    peer.exec(
        "DROP TABLE saga_events; "
        "CREATE TABLE saga_events(seq INTEGER PRIMARY KEY, payment_id TEXT NOT NULL, "
        "tenant TEXT NOT NULL, kind TEXT NOT NULL, step TEXT NOT NULL, attempt INTEGER NOT NULL, "
        "state TEXT NOT NULL, terminal INTEGER NOT NULL, at_ms INTEGER NOT NULL, "
        "data TEXT NOT NULL, publish INTEGER NOT NULL, UNIQUE(payment_id, kind, step, attempt)); "
        "INSERT INTO saga_events VALUES "
        "(3, 'p1', 't1', 'received', '', 0, 'received', 0, 1000, '{\"a\":1}', 1), "
        "(4, 'p1', 't1', 'step_ok', 'validate', 0, '', 0, 1001, '{}', 0), "
        "(5, 'p2', 't2', 'received', '', 0, 'received', 0, 1002, '{}', 1), "
        "(7, 'p1', 't1', 'final', '', 2, 'failed', 1, -5, '{\"reason\":\"AC04\"}', 1); "
        "UPDATE outbox_cursor SET relayed_through_seq = 3; " +
        std::string(kSchema2LedgerSql) + "PRAGMA user_version = 1;");
  }
  auto store = open_store(path);
  {
    Peer peer(path);
    BOOST_CHECK_EQUAL(peer.scalar("PRAGMA user_version"), 3);
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'saga_events_v1'"), 0);
  }
  BOOST_CHECK_EQUAL(store->event_count(), 4);
  auto p1 = store->events_for("p1");
  BOOST_REQUIRE_EQUAL(p1.size(), 3u);
  BOOST_CHECK_EQUAL(p1[0].seq, 3);
  BOOST_CHECK_EQUAL(p1[0].data, "{\"a\":1}");
  BOOST_CHECK_EQUAL(p1[1].step, "validate");
  BOOST_CHECK_EQUAL(p1[2].seq, 7);
  BOOST_CHECK_EQUAL(p1[2].kind, "final");
  BOOST_CHECK_EQUAL(p1[2].attempt, 2u);
  BOOST_CHECK_EQUAL(p1[2].state, "failed");
  BOOST_CHECK(p1[2].terminal);
  BOOST_CHECK_EQUAL(p1[2].at_ms, -5);
  BOOST_CHECK_EQUAL(store->events_for("p2").at(0).tenant, "t2");
  // Published past the cursor (3): seqs 5 and 7.
  BOOST_CHECK_EQUAL(store->outbox_size(), 2);
  auto peek = store->outbox_peek(10, 0);
  BOOST_REQUIRE_EQUAL(peek.size(), 2u);
  BOOST_CHECK_EQUAL(peek[0].event_seq, 5);
  BOOST_CHECK_EQUAL(peek[1].event_seq, 7);
  EventRecord again = event("p1", "step_ok", "validate");
  CHECK_STATUS(commit_one(*store, again), AppendStatus::duplicate_event);
  auto r = commit_one(*store, event("p3", "received"));
  CHECK_STATUS(r, AppendStatus::ok);
  BOOST_CHECK_EQUAL(r.seq, 8);
}

BOOST_AUTO_TEST_CASE(open_reports_sqlite_errors) {
  StoreOptions options;
  options.path = "/nonexistent-dir/for/sure/engine.db";
  auto r = Store::open(options);
  BOOST_REQUIRE(!r.ok());
  BOOST_CHECK_EQUAL(r.error().code, "sqlite");
}

BOOST_AUTO_TEST_CASE(in_memory_database_works) {
  auto store = open_store(":memory:");
  BOOST_REQUIRE(store->create_account("a", "JPY", 100).ok());
  CHECK_STATUS(commit_one(*store, reserve("p1", "a", 40, "JPY")), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("a")->held_minor, 40);
}

// The WAL is copied back into the database past its mark, by the
// checkpointer's thread (the default) or by the writer itself, and so stays
// far smaller than what was written; every event survives a reopen.
BOOST_AUTO_TEST_CASE(wal_checkpointed_in_the_background_and_kept_bounded) {
  constexpr int kMarkPages = 64;
  constexpr int kBatches = 200, kPerBatch = 20;
  const std::string pad = "{\"pad\":\"" + std::string(2000, 'x') + "\"}";
  for (bool background : {true, false}) {
    BOOST_TEST_CONTEXT("background " << background) {
      TempDir dir;
      StoreOptions options;
      options.path = dir.file("engine.db");
      options.checkpoint_in_background = background;
      options.checkpoint_pages = kMarkPages;
      auto opened = Store::open(options);
      BOOST_REQUIRE(opened.ok());
      std::unique_ptr<Store> store = std::move(opened).value();
      uintmax_t wal_peak_bytes = 0;
      for (int b = 0; b < kBatches; ++b) {
        Batch batch;
        for (int i = 0; i < kPerBatch; ++i) {
          char id[32];
          snprintf(id, sizeof id, "pay_%06d", b * kPerBatch + i);
          EventRecord e = event(id, "received");
          e.data = pad;
          batch.events.push_back(std::move(e));
        }
        for (const AppendResult& r : store->commit(batch)) CHECK_STATUS(r, AppendStatus::ok);
        wal_peak_bytes = std::max(wal_peak_bytes, std::filesystem::file_size(options.path + "-wal"));
      }
      // Each batch writes at least 40 KB (10 pages) of events: 2,000 pages
      // in all. Checkpointed from 64 pages on (in the background case the
      // writer checkpoints itself from 256 and waits for a checkpoint in
      // progress from 320), the WAL never holds a quarter of it.
      BOOST_TEST(wal_peak_bytes < 500u * 4096u);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (background && store->checkpoints().background == 0 &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const Store::CheckpointCounts counts = store->checkpoints();
      BOOST_TEST_MESSAGE("WAL peak " << wal_peak_bytes / 4096 << " pages; checkpoints: background "
                                     << counts.background << ", writer " << counts.writer
                                     << ", writer waits " << counts.writer_waits);
      if (background) {
        BOOST_TEST(counts.background >= 1u);
      } else {
        BOOST_TEST(counts.background == 0u);
        BOOST_TEST(counts.writer >= 1u);
      }
      store.reset();
      auto reopened = Store::open(options);
      BOOST_REQUIRE(reopened.ok());
      BOOST_TEST(reopened.value()->event_count() == kBatches * kPerBatch);
    }
  }
}

BOOST_AUTO_TEST_CASE(create_account_rules) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  BOOST_CHECK(store->create_account("a", "ZAR", 100).ok());
  auto again = store->create_account("a", "ZAR", 100);
  BOOST_REQUIRE(!again.ok());
  BOOST_CHECK_EQUAL(again.error().code, "exists");
  BOOST_CHECK(!store->create_account("b", "ZZZ", 100).ok());
  BOOST_CHECK(!store->create_account("c", "ZAR", -1).ok());
  BOOST_CHECK_EQUAL(store->accounts().size(), 1u);
  BOOST_CHECK_EQUAL(store->total_balance_by_currency().at("ZAR"), 100);
}

BOOST_AUTO_TEST_CASE(batch_results_in_order) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  BOOST_REQUIRE(store->create_account("acct", "ZAR", 1'000).ok());
  Batch b;
  b.events.push_back(event("p1", "received"));
  b.events.push_back(reserve("p1", "acct", 400));
  b.events.push_back(event("p1", "received"));         // duplicate inside the batch
  b.events.push_back(reserve("p2", "acct", 700));      // only 600 left: AM04
  b.events.push_back(event("p2", "received"));
  b.events.push_back(reserve("p3", "nobody", 1));      // AC02
  b.events.push_back(reserve("p3", "acct", 600));
  auto r = store->commit(b);
  BOOST_REQUIRE_EQUAL(r.size(), 7u);
  CHECK_STATUS(r[0], AppendStatus::ok);
  CHECK_STATUS(r[1], AppendStatus::ok);
  CHECK_STATUS(r[2], AppendStatus::duplicate_event);
  CHECK_STATUS(r[3], AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r[3].reason_code, "AM04");
  CHECK_STATUS(r[4], AppendStatus::ok);
  CHECK_STATUS(r[5], AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r[5].reason_code, "AC02");
  CHECK_STATUS(r[6], AppendStatus::ok);
  BOOST_CHECK_LT(r[0].seq, r[1].seq);
  BOOST_CHECK_LT(r[1].seq, r[4].seq);
  BOOST_CHECK_LT(r[4].seq, r[6].seq);
  for (size_t i : {2u, 3u, 5u}) BOOST_CHECK_EQUAL(r[i].seq, 0);
  BOOST_CHECK_EQUAL(store->event_count(), 4);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 1'000);
  BOOST_CHECK(!store->hold("p2"));
  // p3's refused reserve wrote nothing; its later, successful one did.
  BOOST_CHECK_EQUAL(store->events_for("p3").size(), 1u);
  // Empty batch: nothing happens.
  BOOST_CHECK(store->commit(Batch{}).empty());
}

BOOST_AUTO_TEST_CASE(duplicate_event_has_no_second_effect) {
  TempDir dir;
  std::string path = dir.file("db");
  auto store = open_store(path);
  BOOST_REQUIRE(store->create_account("acct", "ZAR", 1'000).ok());
  CHECK_STATUS(commit_one(*store, reserve("p1", "acct", 300)), AppendStatus::ok);
  CHECK_STATUS(commit_one(*store, post("p1", "settle")), AppendStatus::ok);

  // Same (payment, kind, step, attempt), different content: refused whole.
  EventRecord again = post("p1", "settle");
  again.publish = true;
  again.idempotency = IdempotencyClaim{"new-key", "h"};
  again.state = "weird";
  CHECK_STATUS(commit_one(*store, again), AppendStatus::duplicate_event);
  // A duplicate reserve carrying a different op: its ledger op is not applied.
  EventRecord dup_reserve = reserve("p1", "acct", 300);
  dup_reserve.ledger.kind = LedgerOp::Kind::release;
  CHECK_STATUS(commit_one(*store, dup_reserve), AppendStatus::duplicate_event);

  BOOST_CHECK_EQUAL(store->posting_count("p1"), 1);
  BOOST_CHECK_EQUAL(store->account("acct")->balance_minor, 700);
  BOOST_CHECK_EQUAL(store->account("settle")->balance_minor, 300);
  BOOST_CHECK_EQUAL(store->hold("p1")->status, "posted");
  BOOST_CHECK(!store->idempotency("t1", "new-key"));
  BOOST_CHECK_EQUAL(store->outbox_size(), 0);
  BOOST_CHECK_EQUAL(store->saga("p1")->state, "settled");
  BOOST_CHECK_EQUAL(store->event_count(), 2);
  // A retry of the same step with the next attempt number is a new event.
  EventRecord retry = post("p1", "settle");
  retry.attempt = 1;
  CHECK_STATUS(commit_one(*store, retry), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->posting_count("p1"), 1);
  BOOST_CHECK_EQUAL(store->account("settle")->balance_minor, 300);
  Peer peer(path);
  check_memory_matches_tables(*store, peer);
}

BOOST_AUTO_TEST_CASE(idempotency_replay_and_conflict) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  EventRecord first = event("p1", "received");
  first.state = "received";
  first.idempotency = IdempotencyClaim{"K", "H"};
  CHECK_STATUS(commit_one(*store, first), AppendStatus::ok);
  // Re-sending the very same event is a duplicate, not a replay.
  CHECK_STATUS(commit_one(*store, first), AppendStatus::duplicate_event);

  EventRecord replay = event("p2", "received");
  replay.state = "received";
  replay.idempotency = IdempotencyClaim{"K", "H"};
  auto r = commit_one(*store, replay);
  CHECK_STATUS(r, AppendStatus::idempotent_replay);
  BOOST_CHECK_EQUAL(r.existing_payment_id, "p1");

  EventRecord conflict = replay;
  conflict.idempotency->request_hash = "H2";
  r = commit_one(*store, conflict);
  CHECK_STATUS(r, AppendStatus::idempotency_conflict);
  BOOST_CHECK_EQUAL(r.existing_payment_id, "p1");
  BOOST_CHECK(!store->saga("p2"));
  BOOST_CHECK(store->events_for("p2").empty());

  // Keys are per tenant.
  EventRecord other_tenant = replay;
  other_tenant.tenant = "t2";
  CHECK_STATUS(commit_one(*store, other_tenant), AppendStatus::ok);

  // Within one batch: the second claim sees the first.
  Batch b;
  EventRecord a = event("p3", "received");
  a.idempotency = IdempotencyClaim{"K3", "H"};
  EventRecord c = event("p4", "received");
  c.idempotency = IdempotencyClaim{"K3", "H"};
  b.events = {a, c};
  auto rs = store->commit(b);
  CHECK_STATUS(rs[0], AppendStatus::ok);
  CHECK_STATUS(rs[1], AppendStatus::idempotent_replay);
  BOOST_CHECK_EQUAL(rs[1].existing_payment_id, "p3");
}

BOOST_AUTO_TEST_CASE(reserve_post_release_transitions) {
  TempDir dir;
  std::string path = dir.file("db");
  auto store = open_store(path);
  BOOST_REQUIRE(store->create_account("acct", "ZAR", 10'000).ok());
  BOOST_REQUIRE(store->create_account("usd", "USD", 10'000).ok());

  // reserve -> post
  CHECK_STATUS(commit_one(*store, reserve("p1", "acct", 1'000)), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 1'000);
  // A second reserve of the same payment keeps the first hold.
  EventRecord second = reserve("p1", "acct", 5'000);
  second.attempt = 1;
  CHECK_STATUS(commit_one(*store, second), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 1'000);
  BOOST_CHECK_EQUAL(store->hold("p1")->amount.amount_minor, 1'000);

  CHECK_STATUS(commit_one(*store, post("p1", "settle-zar")), AppendStatus::ok);
  auto acct = store->account("acct");
  BOOST_CHECK_EQUAL(acct->balance_minor, 9'000);
  BOOST_CHECK_EQUAL(acct->held_minor, 0);
  auto settle = store->account("settle-zar");
  BOOST_REQUIRE(settle);  // auto-created
  BOOST_CHECK_EQUAL(settle->currency, "ZAR");
  BOOST_CHECK_EQUAL(settle->balance_minor, 1'000);
  auto h = store->hold("p1");
  BOOST_REQUIRE(h);
  BOOST_CHECK_EQUAL(h->status, "posted");
  BOOST_CHECK_EQUAL(h->settlement_account, "settle-zar");
  BOOST_CHECK_EQUAL(store->posting_count("p1"), 1);

  // Second post (another event): no-op success.
  CHECK_STATUS(commit_one(*store, post("p1", "settle-zar", "settle-again")), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->posting_count("p1"), 1);
  BOOST_CHECK_EQUAL(store->account("settle-zar")->balance_minor, 1'000);
  BOOST_CHECK_EQUAL(store->account("acct")->balance_minor, 9'000);
  // Release after post: refused.
  auto r = commit_one(*store, release("p1"));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AG01");
  BOOST_CHECK(!r.detail.empty());
  BOOST_CHECK_EQUAL(store->saga("p1")->state, "settled");  // the refused record wrote nothing
  // Reserve again after the hold is final: still the first hold.
  EventRecord late = reserve("p1", "acct", 1);
  late.attempt = 7;
  CHECK_STATUS(commit_one(*store, late), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 0);

  // reserve -> release -> release -> post
  CHECK_STATUS(commit_one(*store, reserve("p2", "acct", 2'000)), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 2'000);
  CHECK_STATUS(commit_one(*store, release("p2")), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 0);
  BOOST_CHECK_EQUAL(store->account("acct")->balance_minor, 9'000);
  BOOST_CHECK_EQUAL(store->hold("p2")->status, "released");
  CHECK_STATUS(commit_one(*store, release("p2", "release-again")), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 0);
  r = commit_one(*store, post("p2", "settle-zar"));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AG01");
  BOOST_CHECK_EQUAL(store->posting_count("p2"), 0);

  // Post or release without any hold.
  r = commit_one(*store, post("p3", "settle-zar"));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AG01");
  CHECK_STATUS(commit_one(*store, release("p3")), AppendStatus::ok);
  BOOST_CHECK(!store->hold("p3"));

  // Refusals.
  r = commit_one(*store, reserve("p4", "acct", 9'001));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AM04");
  r = commit_one(*store, reserve("p4", "ghost", 1));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AC02");
  r = commit_one(*store, reserve("p4", "acct", 1, "USD"));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AM03");
  r = commit_one(*store, reserve("p4", "acct", 0));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AM01");
  BOOST_CHECK(store->events_for("p4").empty());
  BOOST_CHECK(!store->hold("p4"));
  // Exactly the available amount is fine.
  CHECK_STATUS(commit_one(*store, reserve("p4", "acct", 9'000)), AppendStatus::ok);
  // Posting a USD hold into a ZAR settlement account: AM03, nothing moves.
  CHECK_STATUS(commit_one(*store, reserve("p5", "usd", 500, "USD")), AppendStatus::ok);
  r = commit_one(*store, post("p5", "settle-zar"));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AM03");
  BOOST_CHECK_EQUAL(store->hold("p5")->status, "held");
  r = commit_one(*store, post("p5", ""));
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AC03");
  EventRecord wrong_account = post("p5", "settle-usd");
  wrong_account.ledger.account = "acct";
  r = commit_one(*store, wrong_account);
  CHECK_STATUS(r, AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(r.reason_code, "AG01");
  CHECK_STATUS(commit_one(*store, post("p5", "settle-usd")), AppendStatus::ok);

  auto totals = store->total_balance_by_currency();
  BOOST_CHECK_EQUAL(totals.at("ZAR"), 10'000);
  BOOST_CHECK_EQUAL(totals.at("USD"), 10'000);
  Peer peer(path);
  check_memory_matches_tables(*store, peer);
  // Each closed hold is one ledger entry, and only open holds have a row.
  BOOST_CHECK(peer.rows("SELECT payment_id, kind FROM ledger_entries ORDER BY payment_id") ==
              (std::vector<std::string>{"p1|post", "p2|release", "p5|post"}));
  BOOST_CHECK(peer.rows("SELECT payment_id FROM holds ORDER BY payment_id") ==
              (std::vector<std::string>{"p4"}));
}

BOOST_AUTO_TEST_CASE(reserve_and_post_in_one_batch) {
  TempDir dir;
  std::string path = dir.file("db");
  auto store = open_store(path);
  BOOST_REQUIRE(store->create_account("acct", "ZAR", 1'000).ok());
  Batch b;
  b.events.push_back(reserve("p1", "acct", 600));
  b.events.push_back(post("p1", "s"));
  b.events.push_back(post("p1", "s", "again"));
  b.events.push_back(reserve("p2", "acct", 400));
  b.events.push_back(release("p2"));
  b.events.push_back(reserve("p3", "acct", 400));
  auto r = store->commit(b);
  for (const auto& x : r) CHECK_STATUS(x, AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("acct")->balance_minor, 400);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 400);
  BOOST_CHECK_EQUAL(store->account("s")->balance_minor, 600);
  BOOST_CHECK_EQUAL(store->posting_count("p1"), 1);
  Peer peer(path);
  check_memory_matches_tables(*store, peer);
}

// A chain (depends_on_previous) stops at its first refused record: nothing
// after the refusal is written, and records before it are.
BOOST_AUTO_TEST_CASE(chain_stops_at_first_refusal) {
  TempDir dir;
  std::string path = dir.file("db");
  auto store = open_store(path);
  BOOST_REQUIRE(store->create_account("acct", "ZAR", 1'000).ok());
  Batch b;
  b.events.push_back(event("p1", "received"));
  EventRecord v = event("p1", "step_ok", "validate", 1);
  v.depends_on_previous = true;
  b.events.push_back(v);
  EventRecord r = reserve("p1", "acct", 5'000);  // refused: AM04
  r.depends_on_previous = true;
  b.events.push_back(r);
  EventRecord route = event("p1", "step_ok", "route", 1);
  route.depends_on_previous = true;
  b.events.push_back(route);
  b.events.push_back(event("p2", "received"));  // another chain: unaffected
  auto res = store->commit(b);
  CHECK_STATUS(res[0], AppendStatus::ok);
  CHECK_STATUS(res[1], AppendStatus::ok);
  CHECK_STATUS(res[2], AppendStatus::ledger_rejected);
  BOOST_CHECK_EQUAL(res[2].reason_code, "AM04");
  CHECK_STATUS(res[3], AppendStatus::skipped);
  CHECK_STATUS(res[4], AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->events_for("p1").size(), 2u);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 0);
  // A chain whose head is a duplicate continues: the head is in the journal.
  Batch again;
  again.events.push_back(event("p1", "received"));
  EventRecord s2 = event("p1", "step_ok", "screen", 1);
  s2.depends_on_previous = true;
  again.events.push_back(s2);
  auto res2 = store->commit(again);
  CHECK_STATUS(res2[0], AppendStatus::duplicate_event);
  CHECK_STATUS(res2[1], AppendStatus::ok);
  Peer peer(path);
  check_memory_matches_tables(*store, peer);
}

// Randomized reserve/post/release against a simple model.
BOOST_AUTO_TEST_CASE(money_is_conserved) {
  TempDir dir;
  std::string path = dir.file("db");
  auto store = open_store(path);
  Peer peer(path);

  struct ModelAccount {
    std::string currency;
    int64_t balance_minor = 0;
    int64_t held_minor = 0;
  };
  struct ModelHold {
    std::string account;
    std::string currency;
    int64_t amount_minor = 0;
    std::string status;
  };
  std::map<std::string, ModelAccount> accounts;
  std::map<std::string, ModelHold> holds;
  const std::vector<std::pair<std::string, std::string>> debtors = {
      {"zar-1", "ZAR"}, {"zar-2", "ZAR"}, {"zar-3", "ZAR"}, {"usd-1", "USD"}, {"usd-2", "USD"}};
  for (const auto& [id, ccy] : debtors) {
    BOOST_REQUIRE(store->create_account(id, ccy, 50'000).ok());
    accounts[id] = ModelAccount{ccy, 50'000, 0};
  }
  const std::map<std::string, int64_t> initial_totals = {{"ZAR", 150'000}, {"USD", 100'000}};

  std::mt19937_64 rng(20240611);
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  int payments = 0;
  int step_counter = 0;
  std::vector<EventRecord> history;  // for re-sending duplicates
  int ops = 0, oks = 0, rejections = 0, duplicates = 0;

  while (ops < 4000) {
    Batch batch;
    std::vector<std::string> expected;  // status name per event
    size_t n = 1 + pick(40);
    for (size_t i = 0; i < n; ++i, ++ops) {
      // Occasionally re-send an old event: duplicate, no effect.
      if (!history.empty() && pick(20) == 0) {
        batch.events.push_back(history[pick(history.size())]);
        expected.push_back("duplicate_event");
        continue;
      }
      int choice = static_cast<int>(pick(10));
      std::string pid;
      EventRecord e;
      if (choice < 4 || payments == 0) {  // reserve a (mostly) new payment
        pid = (pick(10) == 0 && payments > 0) ? "pay-" + std::to_string(pick(payments))
                                              : "pay-" + std::to_string(payments++);
        const auto& [acct, ccy] = debtors[pick(debtors.size())];
        std::string currency = pick(25) == 0 ? (ccy == "ZAR" ? "USD" : "ZAR") : ccy;
        int64_t amount = 1 + static_cast<int64_t>(pick(20'000));
        e = reserve(pid, acct, amount, currency);
        const ModelAccount& a = accounts[acct];
        if (holds.count(pid)) {
          expected.push_back("ok");
        } else if (a.currency != currency) {
          expected.push_back("ledger_rejected");
        } else if (a.balance_minor - a.held_minor < amount) {
          expected.push_back("ledger_rejected");
        } else {
          expected.push_back("ok");
          accounts[acct].held_minor += amount;
          holds[pid] = ModelHold{acct, currency, amount, "held"};
        }
      } else {
        pid = "pay-" + std::to_string(pick(payments + 1));  // may not exist
        auto it = holds.find(pid);
        if (choice < 7) {
          // settlement account per currency; now and then the wrong one
          std::string hold_ccy = it == holds.end() ? "ZAR" : it->second.currency;
          std::string settle_ccy =
              pick(30) == 0 ? (hold_ccy == "ZAR" ? "USD" : "ZAR") : hold_ccy;
          std::string settle = "settle-" + settle_ccy;
          e = post(pid, settle);
          if (it == holds.end() || it->second.status == "released") {
            expected.push_back("ledger_rejected");
          } else if (it->second.status == "posted") {
            expected.push_back("ok");
          } else {
            auto s = accounts.find(settle);
            if (s != accounts.end() && s->second.currency != hold_ccy) {
              expected.push_back("ledger_rejected");
            } else {
              if (s == accounts.end()) accounts[settle] = ModelAccount{settle_ccy, 0, 0};
              ModelAccount& d = accounts[it->second.account];
              d.balance_minor -= it->second.amount_minor;
              d.held_minor -= it->second.amount_minor;
              accounts[settle].balance_minor += it->second.amount_minor;
              it->second.status = "posted";
              expected.push_back("ok");
            }
          }
        } else {
          e = release(pid);
          if (it != holds.end() && it->second.status == "posted") {
            expected.push_back("ledger_rejected");
          } else {
            if (it != holds.end() && it->second.status == "held") {
              accounts[it->second.account].held_minor -= it->second.amount_minor;
              it->second.status = "released";
            }
            expected.push_back("ok");
          }
        }
      }
      e.step += "-" + std::to_string(step_counter++);  // every generated event is new
      e.publish = pick(2) == 0;
      batch.events.push_back(e);
    }

    auto results = store->commit(batch);
    BOOST_REQUIRE_EQUAL(results.size(), batch.events.size());
    for (size_t i = 0; i < results.size(); ++i) {
      std::string got = status_name(results[i].status);
      BOOST_REQUIRE_MESSAGE(got == expected[i], "event " + batch.events[i].payment_id + "/" +
                                                    batch.events[i].step + ": got " + got +
                                                    " want " + expected[i] + " (" +
                                                    results[i].detail + ")");
      if (got == "ok") {
        ++oks;
        history.push_back(batch.events[i]);
      } else if (got == "duplicate_event") {
        ++duplicates;
      } else {
        ++rejections;
      }
    }
    BOOST_REQUIRE(store->total_balance_by_currency() == initial_totals);
    for (const auto& [id, m] : accounts) {
      auto a = store->account(id);
      BOOST_REQUIRE_MESSAGE(a, "missing account " + id);
      BOOST_REQUIRE_EQUAL(a->balance_minor, m.balance_minor);
      BOOST_REQUIRE_EQUAL(a->held_minor, m.held_minor);
    }
  }
  BOOST_TEST_MESSAGE("ops " << ops << " ok " << oks << " rejected " << rejections
                            << " duplicates " << duplicates);
  BOOST_CHECK_GT(rejections, 50);
  BOOST_CHECK_GT(duplicates, 50);

  for (const auto& [pid, h] : holds) {
    auto got = store->hold(pid);
    BOOST_REQUIRE(got);
    BOOST_CHECK_EQUAL(got->status, h.status);
    BOOST_CHECK_EQUAL(store->posting_count(pid), h.status == "posted" ? 1 : 0);
  }
  check_memory_matches_tables(*store, peer);
  std::map<std::string, int64_t> by_status;
  for (const auto& [pid, h] : holds) ++by_status[h.status];
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'post'"),
                    by_status["posted"]);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'release'"),
                    by_status["released"]);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM holds"), by_status["held"]);

  auto before = store->accounts();
  store.reset();
  store = open_store(path);
  auto after = store->accounts();
  BOOST_REQUIRE_EQUAL(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    BOOST_CHECK_EQUAL(before[i].id, after[i].id);
    BOOST_CHECK_EQUAL(before[i].balance_minor, after[i].balance_minor);
    BOOST_CHECK_EQUAL(before[i].held_minor, after[i].held_minor);
  }
  BOOST_CHECK(store->total_balance_by_currency() == initial_totals);
  for (const auto& [pid, h] : holds) BOOST_CHECK_EQUAL(store->hold(pid)->status, h.status);
}

// A journal with account "acct" (10,000 ZAR) and two open holds on it:
// p1 (1,000) and p2 (2,000); `peer` is a second connection on its file.
struct TwoHolds {
  TwoHolds() {
    BOOST_REQUIRE(store->create_account("acct", "ZAR", 10'000).ok());
    CHECK_STATUS(commit_one(*store, reserve("p1", "acct", 1'000)), AppendStatus::ok);
    CHECK_STATUS(commit_one(*store, reserve("p2", "acct", 2'000)), AppendStatus::ok);
  }
  TempDir dir;
  std::string path = dir.file("db");
  std::unique_ptr<Store> store = open_store(path);
  Peer peer{path};
};

// Rows that exist are updated in place. The journal checks that the update
// found its row: a saga row that went missing is written again, and a hold
// or account row that went missing fails the batch, which changes nothing.
BOOST_FIXTURE_TEST_CASE(in_place_updates_notice_missing_rows, TwoHolds) {

  // The saga row: updated while it exists, written again when it is gone.
  EventRecord routed = event("p1", "step_ok", "route");
  routed.state = "routed";
  CHECK_STATUS(commit_one(*store, routed), AppendStatus::ok);
  BOOST_CHECK(peer.rows("SELECT state, terminal FROM sagas WHERE payment_id = 'p1'") ==
              std::vector<std::string>{"routed|0"});
  peer.exec("DELETE FROM sagas WHERE payment_id = 'p1'");
  EventRecord submitted = event("p1", "step_ok", "submit");
  submitted.state = "submitted";
  CHECK_STATUS(commit_one(*store, submitted), AppendStatus::ok);
  BOOST_CHECK(peer.rows("SELECT tenant, state, terminal FROM sagas WHERE payment_id = 'p1'") ==
              std::vector<std::string>{"t1|submitted|0"});

  // A hold row gone behind the journal's back: the post fails whole.
  peer.exec("DELETE FROM holds WHERE payment_id = 'p2'");
  const int64_t events_before = store->event_count();
  AppendResult r = commit_one(*store, post("p2", "settle"));
  CHECK_STATUS(r, AppendStatus::error);
  BOOST_CHECK_MESSAGE(r.detail.find("no row for hold p2") != std::string::npos, r.detail);
  BOOST_CHECK_EQUAL(store->event_count(), events_before);
  BOOST_CHECK_EQUAL(store->account("acct")->balance_minor, 10'000);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 3'000);
  BOOST_CHECK(!store->account("settle"));
  BOOST_CHECK_EQUAL(store->posting_count("p2"), 0);

  // An account row gone: the reserve fails whole, and its hold is not kept.
  peer.exec("DELETE FROM accounts WHERE id = 'acct'");
  r = commit_one(*store, reserve("p3", "acct", 500));
  CHECK_STATUS(r, AppendStatus::error);
  BOOST_CHECK_MESSAGE(r.detail.find("no row for account acct") != std::string::npos, r.detail);
  BOOST_CHECK(!store->hold("p3"));
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 3'000);
  BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM holds WHERE payment_id = 'p3'"), 0);
}

// SQLite failures mid-batch roll everything back, memory included. The
// failures are injected by triggers another connection installs.
BOOST_FIXTURE_TEST_CASE(failed_transaction_leaves_memory_and_tables_consistent, TwoHolds) {
  int64_t events_before = store->event_count();

  // Batch: a new reserve, a post that creates a settlement account, a release.
  Batch b;
  b.events.push_back(reserve("p3", "acct", 3'000));
  b.events.push_back(post("p1", "settle"));
  b.events.push_back(release("p2"));
  b.events.back().publish = true;
  b.snapshots.push_back(SnapshotRecord{"p1", 1, 5, "blob"});

  auto expect_all_failed = [&](const std::vector<AppendResult>& r, const std::string& needle) {
    BOOST_REQUIRE_EQUAL(r.size(), 3u);
    for (const auto& x : r) {
      CHECK_STATUS(x, AppendStatus::error);
      BOOST_CHECK_MESSAGE(x.detail.find(needle) != std::string::npos, x.detail);
    }
    BOOST_CHECK_EQUAL(store->event_count(), events_before);
    auto a = store->account("acct");
    BOOST_CHECK_EQUAL(a->balance_minor, 10'000);
    BOOST_CHECK_EQUAL(a->held_minor, 3'000);
    BOOST_CHECK(!store->account("settle"));
    BOOST_CHECK(!store->hold("p3"));
    BOOST_CHECK_EQUAL(store->hold("p1")->status, "held");
    BOOST_CHECK_EQUAL(store->hold("p2")->status, "held");
    BOOST_CHECK_EQUAL(store->posting_count("p1"), 0);
    BOOST_CHECK_EQUAL(store->outbox_size(), 0);
    BOOST_CHECK(!store->snapshot("p1"));
    check_memory_matches_tables(*store, peer);
  };

  // 1. Fails while writing the posting (mid-batch, after ledger changes).
  peer.exec(
      "CREATE TRIGGER fail_post BEFORE INSERT ON ledger_entries "
      "BEGIN SELECT RAISE(ABORT, 'injected posting failure'); END");
  expect_all_failed(store->commit(b), "injected posting failure");
  peer.exec("DROP TRIGGER fail_post");

  // 2. Fails at the end, while writing the account rows.
  peer.exec(
      "CREATE TRIGGER fail_account BEFORE UPDATE ON accounts WHEN NEW.id = 'acct' "
      "BEGIN SELECT RAISE(ABORT, 'injected account failure'); END");
  expect_all_failed(store->commit(b), "injected account failure");
  peer.exec("DROP TRIGGER fail_account");

  // 3. Fails on the saga row of the last record (p2 has one: updated).
  peer.exec(
      "CREATE TRIGGER fail_saga BEFORE UPDATE ON sagas WHEN NEW.payment_id = 'p2' "
      "BEGIN SELECT RAISE(ABORT, 'injected saga row failure'); END");
  expect_all_failed(store->commit(b), "injected saga row failure");
  peer.exec("DROP TRIGGER fail_saga");
  // 4. Fails on the saga row of a new payment (p3: inserted).
  peer.exec(
      "CREATE TRIGGER fail_new_saga BEFORE INSERT ON sagas WHEN NEW.payment_id = 'p3' "
      "BEGIN SELECT RAISE(ABORT, 'injected new saga row failure'); END");
  expect_all_failed(store->commit(b), "injected new saga row failure");
  peer.exec("DROP TRIGGER fail_new_saga");

  // The same batch goes through once the fault is gone.
  auto r = store->commit(b);
  for (const auto& x : r) CHECK_STATUS(x, AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->account("acct")->balance_minor, 9'000);
  BOOST_CHECK_EQUAL(store->account("acct")->held_minor, 3'000);
  BOOST_CHECK_EQUAL(store->account("settle")->balance_minor, 1'000);
  BOOST_CHECK_EQUAL(store->posting_count("p1"), 1);
  BOOST_CHECK_EQUAL(store->outbox_size(), 1);
  BOOST_CHECK(store->snapshot("p1"));
  check_memory_matches_tables(*store, peer);
  store.reset();
  store = open_store(path);
  check_memory_matches_tables(*store, peer);
}

BOOST_AUTO_TEST_CASE(outbox_rows_are_valid_json) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  Peer peer(dir.file("db"));
  Batch b;
  EventRecord e1 = event("p\"1\\", "received", "line\nbreak\ttab\x01");
  e1.state = "received";
  e1.tenant = "tenant \xc3\xa9";
  e1.data = R"({"amount":"12.30","nested":{"a":[1,2]}})";
  e1.publish = true;
  EventRecord e2 = event("p2", "received");
  e2.publish = false;
  EventRecord e3 = event("p3", "received");
  e3.data = "";
  e3.publish = true;
  b.events = {e1, e2, e3};
  auto r = store->commit(b);
  for (const auto& x : r) CHECK_STATUS(x, AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->outbox_size(), 2);

  auto rows = store->outbox_peek(10);
  BOOST_REQUIRE_EQUAL(rows.size(), 2u);
  BOOST_CHECK_EQUAL(rows[0].event_seq, r[0].seq);
  BOOST_CHECK_EQUAL(rows[1].event_seq, r[2].seq);
  BOOST_CHECK_EQUAL(rows[0].payment_id, e1.payment_id);
  BOOST_CHECK_EQUAL(rows[0].tenant, e1.tenant);
  BOOST_CHECK_LT(rows[0].seq, rows[1].seq);

  // SQLite's own (strict, RFC 8259) JSON parser, on another connection.
  auto json = [&peer](const std::string& payload, const std::string& path) {
    std::string quoted = "'";
    for (char c : payload) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    quoted += "'";
    auto rows = peer.rows("SELECT json_valid(" + quoted + "), json_extract(" + quoted + ", '" +
                          path + "')");
    BOOST_REQUIRE_EQUAL(rows.size(), 1u);
    BOOST_REQUIRE_MESSAGE(rows[0].rfind("1|", 0) == 0, "invalid JSON: " + payload);
    return rows[0].substr(2);
  };
  const std::string& p0 = rows[0].payload;
  BOOST_CHECK_EQUAL(json(p0, "$.seq"), std::to_string(r[0].seq));
  BOOST_CHECK_EQUAL(json(p0, "$.payment_id"), e1.payment_id);
  BOOST_CHECK_EQUAL(json(p0, "$.tenant"), e1.tenant);
  BOOST_CHECK_EQUAL(json(p0, "$.kind"), "received");
  BOOST_CHECK_EQUAL(json(p0, "$.step"), e1.step);
  BOOST_CHECK_EQUAL(json(p0, "$.state"), "received");
  BOOST_CHECK_EQUAL(json(p0, "$.at_ms"), "1000");
  BOOST_CHECK_EQUAL(json(p0, "$.data.amount"), "12.30");
  BOOST_CHECK_EQUAL(json(p0, "$.data.nested.a[1]"), "2");
  BOOST_CHECK_EQUAL(json(rows[1].payload, "$.data"), "{}");

  BOOST_CHECK_EQUAL(store->outbox_peek(1).size(), 1u);
  BOOST_REQUIRE(store->outbox_delete_through(rows[0].seq).ok());
  BOOST_CHECK_EQUAL(store->outbox_size(), 1);
  BOOST_CHECK_EQUAL(store->outbox_peek(10)[0].seq, rows[1].seq);
  BOOST_REQUIRE(store->outbox_delete_through(rows[1].seq).ok());
  BOOST_CHECK_EQUAL(store->outbox_size(), 0);
  // After draining, seqs keep growing.
  EventRecord e4 = event("p4", "received");
  e4.publish = true;
  CHECK_STATUS(commit_one(*store, e4), AppendStatus::ok);
  auto more = store->outbox_peek(10);
  BOOST_REQUIRE_EQUAL(more.size(), 1u);
  BOOST_CHECK_GT(more[0].seq, rows[1].seq);
}

// outbox_size() is a running count (no scan per call): after random
// commits (published or not, duplicates, refused records), confirmations
// through random seqs (some behind the cursor) and a reopen, it always
// equals a count made by another connection.
BOOST_AUTO_TEST_CASE(outbox_size_matches_a_count_of_the_table) {
  TempDir dir;
  std::string path = dir.file("db");
  auto store = open_store(path);
  Peer peer(path);
  BOOST_REQUIRE(store->create_account("acct", "ZAR", 1'000'000).ok());
  auto counted = [&peer] {
    return peer.scalar(
        "SELECT coalesce(sum(chain_published_after(events, seq, "
        "(SELECT relayed_through_seq FROM outbox_cursor))), 0) FROM saga_events");
  };
  std::mt19937_64 rng(7);
  std::vector<int64_t> seqs;
  int duplicates = 0, refused = 0, confirmations = 0;
  for (int round = 0; round < 300; ++round) {
    Batch b;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n; ++i) {
      EventRecord e;
      switch (rng() % 6) {
        case 0:  // a re-sent event: duplicate, nothing written
          e = event("p" + std::to_string(round > 0 ? round - 1 : 0), "received", "r", 0);
          break;
        case 1:  // refused by the ledger (more than the balance)
          e = reserve("big-" + std::to_string(round) + "-" + std::to_string(i), "acct", 5'000'000);
          break;
        default:
          e = event("p" + std::to_string(round), "received", "s" + std::to_string(i), 0);
          if (i == 0) e.step = "r";
      }
      e.publish = rng() % 3 != 0;
      b.events.push_back(e);
    }
    for (const auto& r : store->commit(b)) {
      if (r.status == AppendStatus::ok) seqs.push_back(r.seq);
      duplicates += r.status == AppendStatus::duplicate_event;
      refused += r.status == AppendStatus::ledger_rejected;
    }
    if (rng() % 4 == 0 && !seqs.empty()) {
      BOOST_REQUIRE(store->outbox_delete_through(seqs[rng() % seqs.size()]).ok());
      ++confirmations;
    }
    BOOST_REQUIRE_EQUAL(store->outbox_size(), counted());
  }
  BOOST_CHECK_GT(duplicates, 10);
  BOOST_CHECK_GT(refused, 10);
  BOOST_CHECK_GT(confirmations, 30);
  BOOST_CHECK_GT(counted(), 0);
  store.reset();
  store = open_store(path);
  BOOST_CHECK_EQUAL(store->outbox_size(), counted());
  BOOST_REQUIRE(store->outbox_delete_through(seqs.back()).ok());
  BOOST_CHECK_EQUAL(store->outbox_size(), 0);
  BOOST_CHECK_EQUAL(counted(), 0);
}

BOOST_AUTO_TEST_CASE(snapshots_upsert) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  BOOST_CHECK(!store->snapshot("p1"));
  Batch b;
  b.snapshots.push_back(SnapshotRecord{"p1", 5, 100, std::string("a\0b", 3)});
  BOOST_CHECK(store->commit(b).empty());
  auto s = store->snapshot("p1");
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(s->seq, 5);
  BOOST_CHECK_EQUAL(s->at_ms, 100);
  BOOST_CHECK_EQUAL(s->blob, std::string("a\0b", 3));

  b.snapshots = {SnapshotRecord{"p1", 7, 200, "newer"}};
  store->commit(b);
  BOOST_CHECK_EQUAL(store->snapshot("p1")->blob, "newer");
  // An older snapshot never replaces a newer one.
  b.snapshots = {SnapshotRecord{"p1", 6, 300, "older"}};
  store->commit(b);
  BOOST_CHECK_EQUAL(store->snapshot("p1")->blob, "newer");
  BOOST_CHECK_EQUAL(store->snapshot("p1")->seq, 7);
  // Snapshots ride along with events.
  b.events = {event("p2", "received")};
  b.snapshots = {SnapshotRecord{"p2", 1, 1, "x"}};
  auto r = store->commit(b);
  CHECK_STATUS(r[0], AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->snapshot("p2")->blob, "x");
}

BOOST_AUTO_TEST_CASE(open_sagas_paging_and_states) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  Batch b;
  std::vector<std::string> expected_open;
  for (int i = 0; i < 25; ++i) {
    char id[16];
    snprintf(id, sizeof id, "p%02d", i);
    EventRecord e = event(id, "received");
    e.state = "received";
    e.at_ms = 100 + i;
    b.events.push_back(e);
    if (i % 3 == 0) {
      EventRecord f = final_event(id);
      f.at_ms = 200 + i;
      b.events.push_back(f);
    } else {
      expected_open.push_back(id);
    }
  }
  for (const auto& r : store->commit(b)) CHECK_STATUS(r, AppendStatus::ok);

  std::vector<std::string> got;
  std::string after;
  int pages = 0;
  for (;;) {
    auto page = store->open_sagas(after, 5);
    if (page.empty()) break;
    BOOST_CHECK_LE(page.size(), 5u);
    got.insert(got.end(), page.begin(), page.end());
    after = page.back();
    ++pages;
  }
  BOOST_CHECK_EQUAL_COLLECTIONS(got.begin(), got.end(), expected_open.begin(),
                                expected_open.end());
  BOOST_CHECK_EQUAL(pages, 4);  // 16 open ids
  BOOST_CHECK(store->open_sagas("", 0).empty());

  auto counts = store->count_by_state();
  BOOST_CHECK_EQUAL(counts["received"], 16);
  BOOST_CHECK_EQUAL(counts["completed"], 9);

  auto s = store->saga("p00");
  BOOST_REQUIRE(s);
  BOOST_CHECK(s->terminal);
  BOOST_CHECK_EQUAL(s->created_ms, 100);
  BOOST_CHECK_EQUAL(s->updated_ms, 200);
  // An event without a state keeps state and terminal.
  EventRecord note = event("p00", "note");
  note.at_ms = 900;
  CHECK_STATUS(commit_one(*store, note), AppendStatus::ok);
  s = store->saga("p00");
  BOOST_CHECK_EQUAL(s->state, "completed");
  BOOST_CHECK(s->terminal);
  BOOST_CHECK_EQUAL(s->updated_ms, 900);
  // A later state does not reopen a terminal saga.
  EventRecord late = event("p00", "late");
  late.state = "in_doubt";
  CHECK_STATUS(commit_one(*store, late), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->saga("p00")->state, "in_doubt");
  BOOST_CHECK(store->saga("p00")->terminal);
  // Finishing an open saga removes it from the open list.
  CHECK_STATUS(commit_one(*store, final_event("p01", "rejected")), AppendStatus::ok);
  auto first = store->open_sagas("", 1);
  BOOST_REQUIRE_EQUAL(first.size(), 1u);
  BOOST_CHECK_EQUAL(first[0], "p02");
}

BOOST_AUTO_TEST_CASE(purge_idempotency_by_ttl) {
  TempDir dir;
  auto store = open_store(dir.file("db"), Synchronous::normal, /*ttl_ms=*/1'000);
  Batch b;
  int64_t created[] = {0, 500, 1'099, 1'100, 2'000};
  for (int i = 0; i < 5; ++i) {
    EventRecord e = event("p" + std::to_string(i), "received");
    e.at_ms = created[i];
    e.idempotency = IdempotencyClaim{"k" + std::to_string(i), "h"};
    b.events.push_back(e);
  }
  for (const auto& r : store->commit(b)) CHECK_STATUS(r, AppendStatus::ok);
  // now 2100, ttl 1000: keys created before 1100 go.
  BOOST_CHECK_EQUAL(store->purge_idempotency(2'100), 3);
  BOOST_CHECK(!store->idempotency("t1", "k0"));
  BOOST_CHECK(!store->idempotency("t1", "k2"));
  BOOST_CHECK(store->idempotency("t1", "k3"));
  BOOST_CHECK(store->idempotency("t1", "k4"));
  BOOST_CHECK_EQUAL(store->purge_idempotency(2'100), 0);
  // A purged key can be claimed again.
  EventRecord again = event("p9", "received");
  again.idempotency = IdempotencyClaim{"k0", "other"};
  CHECK_STATUS(commit_one(*store, again), AppendStatus::ok);
}

// Schema 2 stores one saga_events row per event chain. Per-event seqs stay
// dense across rows and across a reopen; every field round-trips; a chain
// re-sent whole is all duplicates; the outbox reads published events one by
// one across rows, honouring limit, after_seq and the cursor.
BOOST_AUTO_TEST_CASE(chain_rows_keep_per_event_seqs_and_fields) {
  TempDir dir;
  std::string path = dir.file("db");
  auto chain = [](const std::string& id, int n) {
    std::vector<EventRecord> out;
    for (int i = 0; i < n; ++i) {
      EventRecord e = event(id, i == 0 ? "received" : "step_ok", i == 0 ? "" : "s" + std::to_string(i), i);
      e.depends_on_previous = i > 0;
      e.publish = i % 2 == 0;
      e.state = e.publish ? "st" + std::to_string(i) : "";
      e.terminal = i == n - 1;
      e.at_ms = i == 1 ? -7 : 1000 + i;
      e.data = "{\"i\":" + std::to_string(i) + ",\"z\":\"" + std::string(200, 'x') + "\"}";
      out.push_back(e);
    }
    return out;
  };
  std::vector<int64_t> seqs;
  {
    auto store = open_store(path);
    Batch b;
    for (const auto& e : chain("a", 3)) b.events.push_back(e);
    for (const auto& e : chain("b", 1)) b.events.push_back(e);
    for (const auto& e : chain("c", 4)) b.events.push_back(e);
    for (const auto& r : store->commit(b)) {
      CHECK_STATUS(r, AppendStatus::ok);
      seqs.push_back(r.seq);
    }
    for (size_t i = 0; i < seqs.size(); ++i) BOOST_CHECK_EQUAL(seqs[i], static_cast<int64_t>(i) + 1);
    BOOST_CHECK_EQUAL(store->event_count(), 8);
    Peer peer(path);
    BOOST_CHECK_EQUAL(peer.scalar("SELECT count(*) FROM saga_events"), 3);
    // Re-sent whole: every event is a duplicate, nothing written.
    Batch again;
    for (const auto& e : chain("c", 4)) again.events.push_back(e);
    for (const auto& r : store->commit(again)) CHECK_STATUS(r, AppendStatus::duplicate_event);
    BOOST_CHECK_EQUAL(store->event_count(), 8);
    // A later event of a stored chain re-sent on its own, as a head or
    // behind another payment's event, is a duplicate too; a new event that
    // follows it in its chain is written.
    Batch alone;
    alone.events.push_back(chain("c", 4)[2]);
    alone.events.back().depends_on_previous = false;
    alone.events.push_back(chain("a", 1)[0]);
    alone.events.push_back(chain("c", 4)[3]);
    alone.events.back().depends_on_previous = true;
    alone.events.push_back(event("c", "step_ok", "s9", 0));
    alone.events.back().depends_on_previous = true;
    auto rs = store->commit(alone);
    CHECK_STATUS(rs[0], AppendStatus::duplicate_event);
    CHECK_STATUS(rs[1], AppendStatus::duplicate_event);
    CHECK_STATUS(rs[2], AppendStatus::duplicate_event);
    CHECK_STATUS(rs[3], AppendStatus::ok);
    BOOST_CHECK_EQUAL(rs[3].seq, 9);
    BOOST_CHECK_EQUAL(store->event_count(), 9);
    // Within one batch, a chain re-sent behind its own first copy.
    Batch twice;
    for (const auto& e : chain("e", 2)) twice.events.push_back(e);
    for (const auto& e : chain("e", 2)) twice.events.push_back(e);
    rs = store->commit(twice);
    CHECK_STATUS(rs[0], AppendStatus::ok);
    CHECK_STATUS(rs[1], AppendStatus::ok);
    CHECK_STATUS(rs[2], AppendStatus::duplicate_event);
    CHECK_STATUS(rs[3], AppendStatus::duplicate_event);
    BOOST_CHECK_EQUAL(store->event_count(), 11);
  }
  auto store = open_store(path);
  auto evs = store->events_for("c");
  auto want = chain("c", 4);
  BOOST_REQUIRE_EQUAL(evs.size(), 5u);  // the chain, then s9
  BOOST_CHECK_EQUAL(evs[4].seq, 9);
  BOOST_CHECK_EQUAL(evs[4].step, "s9");
  for (size_t i = 0; i < 4; ++i) {
    BOOST_CHECK_EQUAL(evs[i].seq, 5 + static_cast<int64_t>(i));
    BOOST_CHECK_EQUAL(evs[i].kind, want[i].kind);
    BOOST_CHECK_EQUAL(evs[i].step, want[i].step);
    BOOST_CHECK_EQUAL(evs[i].attempt, want[i].attempt);
    BOOST_CHECK_EQUAL(evs[i].state, want[i].state);
    BOOST_CHECK_EQUAL(evs[i].terminal, want[i].terminal);
    BOOST_CHECK_EQUAL(evs[i].at_ms, want[i].at_ms);
    BOOST_CHECK_EQUAL(evs[i].data, want[i].data);
    BOOST_CHECK_EQUAL(evs[i].tenant, "t1");
  }
  // A new event after the reopen continues the dense sequence.
  CHECK_STATUS(commit_one(*store, event("d", "received")), AppendStatus::ok);
  BOOST_CHECK_EQUAL(store->events_for("d").at(0).seq, 12);
  // Published: a1 (1), a3 (3), b1 (4), c1 (5), c3 (7), e1 (10).
  BOOST_CHECK_EQUAL(store->outbox_size(), 6);
  auto peek = [&](size_t limit, int64_t after) {
    std::vector<int64_t> out;
    for (const auto& r : store->outbox_peek(limit, after)) out.push_back(r.event_seq);
    return out;
  };
  BOOST_CHECK((peek(10, 0) == std::vector<int64_t>{1, 3, 4, 5, 7, 10}));
  BOOST_CHECK((peek(2, 0) == std::vector<int64_t>{1, 3}));
  BOOST_CHECK((peek(2, 2) == std::vector<int64_t>{3, 4}));
  BOOST_CHECK((peek(10, 5) == std::vector<int64_t>{7, 10}));
  BOOST_CHECK(store->outbox_peek(1, 0).at(0).payload.find("\"seq\":1,") != std::string::npos);
  // Confirming through the middle of a row counts only that row's part.
  BOOST_REQUIRE(store->outbox_delete_through(2).ok());
  BOOST_CHECK_EQUAL(store->outbox_size(), 5);
  BOOST_CHECK((peek(10, 0) == std::vector<int64_t>{3, 4, 5, 7, 10}));
  BOOST_REQUIRE(store->outbox_delete_through(6).ok());
  BOOST_CHECK_EQUAL(store->outbox_size(), 2);
  store.reset();
  store = open_store(path);
  BOOST_CHECK_EQUAL(store->outbox_size(), 2);
  BOOST_CHECK((peek(10, 0) == std::vector<int64_t>{7, 10}));
}
