// Store on SQLite (C API, WAL mode, one connection).
//
// How the promises in store.hpp are kept:
//
//  - The journal table saga_events holds one row per event chain (schema
//    version 2; a version 1 file, one row per event, is migrated on open, each
//    event becoming a chain row of its own with its seq). A chain is
//    what the batch gives: a record with depends_on_previous continues the
//    previous record's row, any other record starts a new one. The row's seq
//    is its first event's seq, `count` its events, event i has seq
//    seq + i; the Store hands out seqs from memory (next_seq, loaded at open
//    as the last row's seq + count), so per-event seqs stay dense. The row
//    carries its head's kind/step/attempt (the UNIQUE key), terminal (any),
//    publish (how many events are published; > 0 iff any) and the head's
//    at_ms; `events` is a BLOB of every event (encoding in sqlite_rows.hpp).
//  - commit() runs one BEGIN IMMEDIATE ... COMMIT. Each record is checked
//    before anything of it is written. First the duplicate check: when a
//    record starts a row (a chain head), every event of its payment is read
//    (the payment's chain rows, through the unique index's payment_id
//    prefix; usually 0-2 rows) and kept for the rest of its chain; a record
//    whose (kind, step, attempt) is among them, or in the open row, is
//    `duplicate_event`, wherever it sits in its stored chain. Then:
//    idempotency claim (read), ledger operation (read, against the
//    in-memory ledger). Only then is the event appended to the open chain
//    row (in memory) and the record's idempotency key, ledger change and
//    saga row written. The chain row is gathered when the next chain starts
//    or the batch ends; chain rows, saga rows, holds and ledger entries are
//    inserted just before COMMIT in multi-row statements (RowBuffer), and
//    the duplicate check flushes the gathered chain rows before it reads
//    the table for a payment that has one among them. A refused record therefore leaves nothing behind,
//    without SAVEPOINTs. The UNIQUE index on the head's key backs the check
//    for heads. Any SQLite failure rolls the whole transaction back and
//    every result is `error`.
//  - The ledger lives in memory (Impl::accounts, Impl::holds) and is written
//    through to the tables inside the same transaction. Every in-memory
//    change made during a commit is recorded in an undo log; on failure the
//    log is replayed backwards, so memory equals the tables after any outcome.
//    Account and hold rows touched by a batch are written once, just before
//    COMMIT (a hot account touched by 300 records costs one row write).
//  - Memory holds every account and every *open* hold. The holds table
//    holds the open ones only: a post or release deletes the hold's row and
//    writes its ledger entry ('post': debit the held account, credit the
//    settlement account; 'release': the hold voided, debit and credit the
//    held account, nothing moves), keyed (payment_id, kind). A closed hold
//    is evicted from memory once its transaction commits and read back from
//    ledger_entries by that key when a later operation names its payment.
//    Memory stays bounded by the number of payments in flight, not by
//    history. (Schema 2 kept every hold with a status and updated it on
//    close, under a partial index of the open ones: two more B-tree writes
//    per payment.)
//  - The outbox is the journal itself: events written with `publish` are
//    flagged (per event in the BLOB; the row's `publish` counts them), and
//    one cursor row (outbox_cursor) records the seq through which the relay
//    has had delivery reports. outbox_peek reads the rows from the one
//    holding cursor + 1 on, decodes them and returns each published event
//    past the cursor with its own seq; "deleting through a seq" advances the
//    cursor (a row may be confirmed part-way). No second copy of each event is written,
//    which halves the rows per published event. The payload embeds
//    EventRecord::data verbatim, so data must be JSON text (as store.hpp
//    says); empty data is written as {}.
//  - The sagas row: created_ms is the first event's at_ms; each event sets
//    updated_ms and last_seq, and its state when non-empty. `terminal` only
//    ever goes from 0 to 1: a saga that reached a final state stays out of
//    open_sagas() even if a later event carries another state.
//  - A snapshot never replaces one with a higher seq.
//  - create_account() also refuses an empty id (AC01), a currency that is
//    not ISO 4217 (AM03) and a negative opening balance (AM12). A reserve
//    of zero (AM01) or a negative amount (AM12) is refused, and so is a post
//    without a settlement account or into the held account itself (AC03),
//    into an account of another currency (AM03), or a post/release naming a
//    different account than the hold's (AG01).
//
// Thread-safety: none. One thread at a time, as store.hpp says; the
// connection is opened with SQLITE_OPEN_NOMUTEX.
#include "sagas/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sagas/checkpointer.hpp"
#include "sagas/row_buffer.hpp"
#include "sagas/json_text.hpp"
#include "sagas/sqlite_rows.hpp"

namespace payengine::sagas {
namespace {

// 2: one saga_events row per event chain (version 1: one row per event).
// 3: holds keeps open holds only; a close is a ledger_entries row, 'post'
//    or 'release', keyed (payment_id, kind).
constexpr int kSchemaVersion = 3;
constexpr int kBusyTimeoutMs = 5000;
constexpr int kCacheSizeKiB = 64 * 1024;  // page cache: 64 MiB
// The WAL is checkpointed from ~40 MiB (StoreOptions::checkpoint_pages)
// instead of SQLite's 4 MiB, so pages rewritten by many batches are copied
// back once, by default on the checkpointer's thread (sagas/checkpointer.hpp).
// The WAL file is truncated back to at most kJournalSizeLimitBytes when it
// restarts.
constexpr int64_t kJournalSizeLimitBytes = 64LL * 1024 * 1024;

// Statements run once at open. Tables with a short text key are WITHOUT
// ROWID (one B-tree instead of table + key index). The CHECKs are a second
// line of defence behind the in-memory checks; violating one fails the
// whole transaction. (No `x IN (...)` in CHECKs: SQLite builds a temporary
// table for the list on every row written, which halved hold write speed.)
constexpr const char* kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS saga_events(
  seq INTEGER PRIMARY KEY,
  count INTEGER NOT NULL,
  payment_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  kind TEXT NOT NULL,
  step TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  terminal INTEGER NOT NULL,
  publish INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  events BLOB NOT NULL,
  UNIQUE(payment_id, kind, step, attempt));
CREATE TABLE IF NOT EXISTS sagas(
  payment_id TEXT NOT NULL PRIMARY KEY,
  tenant TEXT NOT NULL,
  state TEXT NOT NULL,
  terminal INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  last_seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sagas_open ON sagas(payment_id) WHERE terminal = 0;
CREATE INDEX IF NOT EXISTS sagas_tenant ON sagas(tenant, payment_id);
CREATE TABLE IF NOT EXISTS saga_snapshots(
  payment_id TEXT NOT NULL PRIMARY KEY,
  seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_cursor(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  relayed_through_seq INTEGER NOT NULL);
INSERT OR IGNORE INTO outbox_cursor(id, relayed_through_seq) VALUES(1, 0);
CREATE TABLE IF NOT EXISTS idempotency(
  tenant TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  payment_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY(tenant, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created_ms);
CREATE TABLE IF NOT EXISTS accounts(
  id TEXT NOT NULL PRIMARY KEY,
  currency TEXT NOT NULL,
  balance_minor INTEGER NOT NULL,
  held_minor INTEGER NOT NULL,
  CHECK(held_minor >= 0),
  CHECK(held_minor <= balance_minor)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS holds(
  payment_id TEXT NOT NULL PRIMARY KEY,
  account TEXT NOT NULL,
  settlement_account TEXT NOT NULL,
  currency TEXT NOT NULL,
  amount_minor INTEGER NOT NULL CHECK(amount_minor > 0),
  updated_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_entries(
  payment_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK(kind = 'post' OR kind = 'release'),
  debit_account TEXT NOT NULL,
  credit_account TEXT NOT NULL,
  currency TEXT NOT NULL,
  amount_minor INTEGER NOT NULL CHECK(amount_minor > 0),
  at_ms INTEGER NOT NULL,
  PRIMARY KEY(payment_id, kind)) WITHOUT ROWID;
)sql";

enum class HoldStatus : uint8_t { held, posted, released };

const char* hold_status_name(HoldStatus s) {
  switch (s) {
    case HoldStatus::held:
      return "held";
    case HoldStatus::posted:
      return "posted";
    case HoldStatus::released:
      return "released";
  }
  return "held";
}

struct Account {
  std::string currency;
  int64_t balance_minor = 0;
  int64_t held_minor = 0;
  bool dirty = false;   // changed in the open transaction; written before COMMIT
  bool stored = false;  // its row is in the table (committed)
};

struct Hold {
  std::string account;
  std::string settlement_account;
  std::string currency;
  int64_t amount_minor = 0;
  HoldStatus status = HoldStatus::held;
  int64_t updated_ms = 0;
  bool dirty = false;
  bool stored = false;  // its row is in the table (committed)
};

using AccountMap = std::unordered_map<std::string, Account>;
using HoldMap = std::unordered_map<std::string, Hold>;
using AccountNode = AccountMap::value_type;  // node addresses are stable
using HoldNode = HoldMap::value_type;

// One in-memory ledger change made by the open transaction.
struct Undo {
  enum class Kind : uint8_t { account_created, account_changed, hold_created, hold_changed };
  Kind kind = Kind::account_changed;
  AccountNode* account = nullptr;
  HoldNode* hold = nullptr;
  int64_t balance_minor = 0;  // account_changed: before
  int64_t held_minor = 0;     // account_changed: before
  HoldStatus status = HoldStatus::held;  // hold_changed: before
  int64_t updated_ms = 0;                // hold_changed: before
  bool settlement_changed = false;       // hold_changed: restore settlement_account
  std::string settlement_account;        // hold_changed: before, if changed
};

// What a record's ledger operation will do, decided before anything is written.
struct LedgerPlan {
  enum class Action : uint8_t { none, reserve, post, release };
  Action action = Action::none;
  AccountNode* debit = nullptr;       // reserve: the account; post/release: the hold's
  HoldNode* hold = nullptr;           // post/release
  AccountNode* credit = nullptr;      // post: the settlement account, null to create
  const std::string* credit_id = nullptr;  // post
};

// What makes a journaled event unique within its payment: its kind and
// step (as ids from Impl::name_id) and its attempt. Three integers: the
// duplicate check copies and compares many of them per payment.
struct EventKey {
  uint32_t kind = 0, step = 0, attempt = 0;
  bool operator==(const EventKey& o) const {
    return kind == o.kind && step == o.step && attempt == o.attempt;
  }
};

// A hold read back from the table (one not in memory, so final).
struct StoredHold {
  std::string account;
  std::string settlement_account;
  std::string currency;
  int64_t amount_minor = 0;
  HoldStatus status = HoldStatus::held;
};

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

using sqlite_rows::StmtScope;
// SQLITE_STATIC binds: every caller steps the statement while the text lives.
using sqlite_rows::bind_int;
using sqlite_rows::bind_text;
using sqlite_rows::column_string;
using sqlite_rows::column_view;

AppendResult refused(AppendStatus status, std::string_view reason_code, std::string detail) {
  AppendResult r;
  r.status = status;
  r.reason_code = std::string(reason_code);
  r.detail = std::move(detail);
  return r;
}

}  // namespace

struct Store::Impl {
  sqlite3* db = nullptr;
  StoreOptions options;
  std::vector<sqlite3_stmt*> statements;  // all prepared; finalized at close

  // commit()
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_stmt* rollback = nullptr;
  sqlite3_stmt* select_journaled = nullptr;
  sqlite3_stmt* select_last_seq = nullptr;
  sqlite3_stmt* get_idempotency = nullptr;
  sqlite3_stmt* insert_idempotency = nullptr;
  sqlite3_stmt* claim_idempotency = nullptr;
  sqlite3_stmt* put_account = nullptr;
  sqlite3_stmt* insert_account = nullptr;
  sqlite3_stmt* update_account = nullptr;
  sqlite3_stmt* delete_hold = nullptr;
  sqlite3_stmt* get_closed_hold = nullptr;
  sqlite3_stmt* put_snapshot = nullptr;
  // The transaction's rows for the tables every payment writes, written at
  // its end in multi-row statements (a statement's fixed cost, cursors and
  // halting, then falls on a few dozen rows instead of one). Reads inside
  // the transaction that could need them flush them first (load_journaled).
  std::unique_ptr<RowBuffer> event_rows;          // saga_events
  std::unique_ptr<RowBuffer> saga_rows;           // sagas, not terminal
  std::unique_ptr<RowBuffer> saga_rows_terminal;  // sagas, terminal
  std::unique_ptr<RowBuffer> ledger_rows;         // ledger_entries
  std::unique_ptr<RowBuffer> hold_rows;           // holds opened
  std::array<std::unique_ptr<RowBuffer>*, 5> row_buffers() {
    return {&event_rows, &saga_rows, &saga_rows_terminal, &ledger_rows, &hold_rows};
  }
  void clear_rows() {
    for (auto* b : row_buffers())
      if (*b) (*b)->clear();
  }
  bool flush_rows(RowBuffer& b, const char* what, int64_t* changes = nullptr) {
    return b.flush(what, &error, changes);
  }
  // reads and maintenance
  sqlite3_stmt* total_by_currency = nullptr;
  sqlite3_stmt* count_postings = nullptr;
  sqlite3_stmt* select_events = nullptr;
  sqlite3_stmt* select_saga = nullptr;
  sqlite3_stmt* select_open_sagas = nullptr;
  sqlite3_stmt* select_count_by_state = nullptr;
  sqlite3_stmt* select_event_count = nullptr;
  sqlite3_stmt* select_snapshot = nullptr;
  sqlite3_stmt* select_idempotency = nullptr;
  sqlite3_stmt* purge_idempotency = nullptr;
  sqlite3_stmt* purge_idempotency_bounded = nullptr;
  sqlite3_stmt* select_outbox = nullptr;
  sqlite3_stmt* delete_outbox = nullptr;
  sqlite3_stmt* select_outbox_cursor = nullptr;
  sqlite3_stmt* count_published_range = nullptr;
  // Published events past the cursor, counted once (the first
  // outbox_size()) and kept up to date by commit and outbox_delete_through,
  // so that neither a scrape nor the relay scans the backlog. -1: not yet.
  int64_t outbox_count = -1;
  int64_t batch_published = 0;  // published events written by the open transaction

  // The ledger cache: every account, every open hold (see top of file).
  AccountMap accounts;
  HoldMap holds;
  // The open transaction's changes to the cache.
  std::vector<Undo> undo;
  std::vector<AccountNode*> dirty_accounts;
  std::vector<HoldNode*> dirty_holds;

  std::string error;    // message of the last SQLite failure

  // Installed on `db` in WAL mode; it goes (its connection closed) before
  // `db` does, so the writer's close is the last and removes the WAL.
  std::unique_ptr<Checkpointer> checkpointer;

  ~Impl() {
    for (auto* b : row_buffers()) b->reset();
    for (sqlite3_stmt* s : statements) sqlite3_finalize(s);
    if (checkpointer) {
      checkpointer->detach(db);
      checkpointer.reset();
    }
    if (db) sqlite3_close(db);
  }

  // Records SQLite's current error message, prefixed by `what`. Returns false.
  bool fail(const char* what) {
    error = what;
    error += ": ";
    error += db ? sqlite3_errmsg(db) : "no database";
    return false;
  }
  bool fail_with(std::string message) {
    error = std::move(message);
    return false;
  }

  bool exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      error = msg ? msg : sqlite3_errmsg(db);
      sqlite3_free(msg);
      return false;
    }
    return true;
  }

  bool prepare(const char* sql, sqlite3_stmt** out) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) != SQLITE_OK)
      return fail("prepare");
    statements.push_back(*out);
    return true;
  }

  // Steps a statement that returns no rows.
  bool run(sqlite3_stmt* s, const char* what) {
    StmtScope scope(s);
    if (sqlite3_step(s) != SQLITE_DONE) return fail(what);
    return true;
  }

  bool prepare_all();
  bool load_ledger();

  // commit() pieces; each returns false on a SQLite failure (see `error`).
  bool check_idempotency(const EventRecord& e, AppendResult* result, bool* refused_out);
  bool claim_key(const EventRecord& e, bool* claimed);
  bool insert_key(sqlite3_stmt* s, const EventRecord& e, const char* what);
  bool plan_ledger(const EventRecord& e, LedgerPlan* plan, AppendResult* result,
                   bool* refused_out);
  bool find_stored_hold(const std::string& payment_id, std::optional<StoredHold>* out);
  bool apply_ledger(const EventRecord& e, const LedgerPlan& plan);
  bool write_ledger_entry(const std::string& payment_id, const char* kind, const Hold& h,
                          const std::string& credit_account, int64_t at_ms) {
    ledger_rows->add_row(payment_id, kind, h.account, credit_account, h.currency, h.amount_minor,
                         at_ms);
    return true;
  }
  bool load_journaled(const std::string& payment_id);
  bool journaled(const EventRecord& e, const EventKey& key) const;
  // Event kinds and step names, each given a small id the first time it is
  // seen. They come from the saga definitions (a few dozen names), so the
  // table stays small.
  std::unordered_map<std::string, uint32_t> name_ids;
  uint32_t name_id(const std::string& name) {
    return name_ids.try_emplace(name, static_cast<uint32_t>(name_ids.size())).first->second;
  }
  bool append(const EventRecord& e, bool continues, AppendResult* result);
  bool count_published(int64_t after, int64_t through, int64_t* out);
  bool migrate_from_v1();
  bool migrate_from_v2();

  // Per-event seqs are dense: the next event's seq as committed, and as the
  // open transaction has advanced it.
  int64_t next_seq = 1;
  int64_t tx_next_seq = 1;

  // The chain row the open transaction is building; written when the next
  // chain starts or the batch ends.
  struct ChainRow {
    bool valid = false;
    int64_t seq = 0, count = 0, published = 0, at_ms = 0;
    std::string payment_id, tenant, kind, step;
    uint32_t attempt = 0;
    bool terminal = false;
    std::string events;
    std::vector<EventKey> keys;  // of `events`, in order
  };
  ChainRow chain;
  // The key of every event already journaled for `known_payment` (its
  // chain rows, including rows written by the open transaction), for the
  // duplicate check. Loaded when a chain of another payment starts; a
  // flushed chain of the same payment is appended.
  bool known_valid = false;
  std::string known_payment;
  std::vector<EventKey> known_keys;
  // The same, kept between chains for payments that are not final, so that
  // a payment's later chains do not read its rows back: `open_keys` as
  // committed, `tx_keys` as the open transaction changed it (an empty
  // vector: the payment went final, look in the table). Bounded: at
  // options.cached_open_payments no payment is added, and the others'
  // lookups read the table.
  std::unordered_map<std::string, std::vector<EventKey>> open_keys, tx_keys;
  bool flush_chain() {
    if (!chain.valid) return true;
    chain.valid = false;
    if (known_valid && known_payment == chain.payment_id) {
      known_keys.insert(known_keys.end(), chain.keys.begin(), chain.keys.end());
      std::vector<EventKey>& kept = tx_keys[chain.payment_id];
      if (chain.terminal) kept.clear();
      else kept = known_keys;
    } else {
      tx_keys[chain.payment_id].clear();  // not expected: forget it
    }
    event_rows->add_row(chain.seq, chain.count, chain.payment_id, chain.tenant, chain.kind,
                        chain.step, chain.attempt, chain.terminal ? 1 : 0, chain.published,
                        chain.at_ms, RowBuffer::Blob{chain.events});
    return true;
  }

  // The saga row of the payment whose records are being appended.
  struct SagaRow {
    bool valid = false;
    std::string payment_id, tenant, state;
    bool terminal = false;
    bool again = false;  // the payment had a saga row written earlier in this transaction
    int64_t first_at_ms = 0, at_ms = 0, seq = 0;
  };
  SagaRow saga_row;
  bool flush_saga_row() {
    if (!saga_row.valid) return true;
    saga_row.valid = false;
    // Rows of one payment must reach the table in order: should it have
    // had a row in this transaction already (an earlier chain), the rows
    // gathered so far go first.
    if (saga_row.again && !(flush_rows(*saga_rows, "write saga") &&
                            flush_rows(*saga_rows_terminal, "write saga")))
      return false;
    (saga_row.terminal ? *saga_rows_terminal : *saga_rows)
        .add_row(saga_row.payment_id, saga_row.tenant, saga_row.state, saga_row.first_at_ms,
                 saga_row.at_ms, saga_row.seq);
    return true;
  }
  bool flush_ledger();
  void discard_tentative();  // undo the open transaction's cache changes
  void settle_tentative();   // the transaction committed: keep them

  void touch_account(AccountNode* node, bool created) {
    Undo u;
    u.kind = created ? Undo::Kind::account_created : Undo::Kind::account_changed;
    u.account = node;
    u.balance_minor = node->second.balance_minor;
    u.held_minor = node->second.held_minor;
    undo.push_back(std::move(u));
    if (!node->second.dirty) {
      node->second.dirty = true;
      dirty_accounts.push_back(node);
    }
  }
  void touch_hold(HoldNode* node, bool created) {
    Undo u;
    u.kind = created ? Undo::Kind::hold_created : Undo::Kind::hold_changed;
    u.hold = node;
    if (!created) {
      u.status = node->second.status;
      u.updated_ms = node->second.updated_ms;
    }
    undo.push_back(std::move(u));
    if (!node->second.dirty) {
      node->second.dirty = true;
      dirty_holds.push_back(node);
    }
  }
};

namespace {

// `head` followed by `n` copies of `row` separated by commas, then `tail`.
RowBuffer::SqlFor rows_sql(std::string head, std::string row, std::string tail) {
  return [head = std::move(head), row = std::move(row), tail = std::move(tail)](size_t n) {
    std::string sql = head;
    for (size_t i = 0; i < n; ++i) {
      if (i) sql += ',';
      sql += row;
    }
    return sql + tail;
  };
}

}  // namespace

bool Store::Impl::prepare_all() {
  auto buffer = [this](size_t columns, RowBuffer::SqlFor sql) {
    return std::make_unique<RowBuffer>(db, columns, RowBuffer::kRowsPerStatement, std::move(sql));
  };
  event_rows = buffer(11, rows_sql("INSERT INTO saga_events(seq, count, payment_id, tenant, kind, "
                                   "step, attempt, terminal, publish, at_ms, events) VALUES",
                                   "(?,?,?,?,?,?,?,?,?,?,?)", ""));
  // A saga's state changes with each event that has one; `terminal` only
  // ever goes up (a final state is final). Rows that are not terminal use a
  // statement that does not name `terminal` in its update, so SQLite leaves
  // the sagas_open index alone (naming a column in SET makes it rewrite
  // every index on that column, changed or not).
  const char* saga_head =
      "INSERT INTO sagas(payment_id, tenant, state, terminal, created_ms, updated_ms, last_seq) "
      "VALUES";
  const std::string saga_set =
      " ON CONFLICT(payment_id) DO UPDATE SET "
      "state = CASE WHEN excluded.state <> '' THEN excluded.state ELSE sagas.state END, "
      "updated_ms = excluded.updated_ms, last_seq = excluded.last_seq";
  saga_rows = buffer(6, rows_sql(saga_head, "(?,?,?,0,?,?,?)", saga_set));
  saga_rows_terminal = buffer(6, rows_sql(saga_head, "(?,?,?,1,?,?,?)", saga_set + ", terminal = 1"));
  ledger_rows = buffer(7, rows_sql("INSERT INTO ledger_entries(payment_id, kind, debit_account, "
                                   "credit_account, currency, amount_minor, at_ms) VALUES",
                                   "(?,?,?,?,?,?,?)", ""));
  hold_rows = buffer(6, rows_sql("INSERT INTO holds(payment_id, account, settlement_account, "
                                 "currency, amount_minor, updated_ms) VALUES",
                                 "(?,?,?,?,?,?)", ""));
  return prepare("BEGIN IMMEDIATE", &begin) && prepare("COMMIT", &commit) &&
         prepare("ROLLBACK", &rollback) &&
         prepare(
             "SELECT events FROM saga_events WHERE payment_id = ?1",
             &select_journaled) &&
         prepare("SELECT seq + count - 1 FROM saga_events ORDER BY seq DESC LIMIT 1",
                 &select_last_seq) &&
         prepare("SELECT request_hash, payment_id FROM idempotency WHERE tenant = ?1 AND key = ?2",
                 &get_idempotency) &&
         prepare(
             "INSERT INTO idempotency(tenant, key, request_hash, payment_id, created_ms) "
             "VALUES(?1, ?2, ?3, ?4, ?5)",
             &insert_idempotency) &&
         prepare(
             "INSERT INTO idempotency(tenant, key, request_hash, payment_id, created_ms) "
             "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(tenant, key) DO NOTHING",
             &claim_idempotency) &&
         prepare(
             "INSERT INTO accounts(id, currency, balance_minor, held_minor) "
             "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET "
             "balance_minor = excluded.balance_minor, held_minor = excluded.held_minor",
             &put_account) &&
         prepare(
             "INSERT INTO accounts(id, currency, balance_minor, held_minor) "
             "VALUES(?1, ?2, ?3, 0)",
             &insert_account) &&
         prepare(
             "UPDATE accounts SET balance_minor = ?2, held_minor = ?3 WHERE id = ?1",
             &update_account) &&
         // One statement per closed hold: a multi-row `IN (?, ...)` list
         // makes SQLite build a temporary index of it first, which cost
         // more than it saved.
         prepare("DELETE FROM holds WHERE payment_id = ?1", &delete_hold) &&
         prepare(
             "SELECT kind, debit_account, credit_account, currency, amount_minor "
             "FROM ledger_entries WHERE payment_id = ?1 LIMIT 1",
             &get_closed_hold) &&
         // A snapshot never replaces a newer one.
         prepare(
             "INSERT INTO saga_snapshots(payment_id, seq, at_ms, blob) VALUES(?1, ?2, ?3, ?4) "
             "ON CONFLICT(payment_id) DO UPDATE SET seq = excluded.seq, at_ms = excluded.at_ms, "
             "blob = excluded.blob WHERE excluded.seq >= saga_snapshots.seq",
             &put_snapshot) &&
         prepare("SELECT currency, sum(balance_minor) FROM accounts GROUP BY currency",
                 &total_by_currency) &&
         prepare("SELECT count(*) FROM ledger_entries WHERE payment_id = ?1 AND kind = 'post'",
                 &count_postings) &&
         prepare(
             "SELECT seq, payment_id, tenant, events "
             "FROM saga_events WHERE payment_id = ?1 ORDER BY seq",
             &select_events) &&
         prepare(
             "SELECT payment_id, tenant, state, terminal, created_ms, updated_ms "
             "FROM sagas WHERE payment_id = ?1",
             &select_saga) &&
         prepare(
             "SELECT payment_id FROM sagas WHERE terminal = 0 AND payment_id > ?1 "
             "ORDER BY payment_id LIMIT ?2",
             &select_open_sagas) &&
         prepare("SELECT state, count(*) FROM sagas GROUP BY state", &select_count_by_state) &&
         prepare("SELECT coalesce(sum(count), 0) FROM saga_events", &select_event_count) &&
         prepare("SELECT payment_id, seq, at_ms, blob FROM saga_snapshots WHERE payment_id = ?1",
                 &select_snapshot) &&
         prepare(
             "SELECT payment_id, request_hash, created_ms FROM idempotency "
             "WHERE tenant = ?1 AND key = ?2",
             &select_idempotency) &&
         prepare("DELETE FROM idempotency WHERE created_ms < ?1", &purge_idempotency) &&
         prepare(
             "DELETE FROM idempotency WHERE (tenant, key) IN (SELECT tenant, key FROM idempotency "
             "WHERE created_ms < ?1 ORDER BY created_ms LIMIT ?2)",
             &purge_idempotency_bounded) &&
         // Rows holding a published event past ?2: the row holding ?2 + 1
         // (found by its first seq, the greatest at or below ?2) and after.
         prepare(
             "SELECT seq, payment_id, tenant, events FROM saga_events "
             "WHERE seq >= coalesce((SELECT seq FROM saga_events WHERE seq <= ?2 ORDER BY seq DESC LIMIT 1), 0) "
             "AND publish > 0 ORDER BY seq LIMIT ?1",
             &select_outbox) &&
         prepare("UPDATE outbox_cursor SET relayed_through_seq = max(relayed_through_seq, ?1)",
                 &delete_outbox) &&

         prepare("SELECT relayed_through_seq FROM outbox_cursor", &select_outbox_cursor) &&
         // Published events with seq in (?1, ?2]: rows wholly inside add
         // their `publish` count; rows straddling an end are decoded.
         prepare(
             "SELECT seq, count, publish, events FROM saga_events "
             "WHERE seq >= coalesce((SELECT seq FROM saga_events WHERE seq <= ?1 ORDER BY seq DESC LIMIT 1), 0) "
             "AND seq <= ?2 AND publish > 0",
             &count_published_range);
}

// Loads every account and every open hold, and checks that each account's
// held_minor is the sum of its open holds.
bool Store::Impl::load_ledger() {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT id, currency, balance_minor, held_minor FROM accounts", -1,
                         &s, nullptr) != SQLITE_OK)
    return fail("load accounts");
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    Account a;
    a.currency = column_string(s, 1);
    a.balance_minor = sqlite3_column_int64(s, 2);
    a.held_minor = sqlite3_column_int64(s, 3);
    a.stored = true;
    accounts.emplace(column_string(s, 0), std::move(a));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return fail("load accounts");

  if (sqlite3_prepare_v2(db,
                         "SELECT payment_id, account, settlement_account, currency, amount_minor, "
                         "updated_ms FROM holds",
                         -1, &s, nullptr) != SQLITE_OK)
    return fail("load holds");
  std::unordered_map<std::string, int64_t> held_by_account;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    Hold h;
    h.account = column_string(s, 1);
    h.settlement_account = column_string(s, 2);
    h.currency = column_string(s, 3);
    h.amount_minor = sqlite3_column_int64(s, 4);
    h.updated_ms = sqlite3_column_int64(s, 5);
    h.stored = true;
    held_by_account[h.account] += h.amount_minor;
    holds.emplace(column_string(s, 0), std::move(h));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return fail("load holds");

  for (const auto& [id, a] : accounts) {
    auto it = held_by_account.find(id);
    int64_t open_minor = it == held_by_account.end() ? 0 : it->second;
    if (open_minor != a.held_minor)
      return fail_with("ledger inconsistent: account " + id + " held_minor " +
                       std::to_string(a.held_minor) + " but open holds sum to " +
                       std::to_string(open_minor));
  }
  for (const auto& [id, sum] : held_by_account)
    if (accounts.find(id) == accounts.end())
      return fail_with("ledger inconsistent: open holds on unknown account " + id);
  return true;
}

bool Store::Impl::check_idempotency(const EventRecord& e, AppendResult* result,
                                    bool* refused_out) {
  const IdempotencyClaim& claim = *e.idempotency;
  StmtScope scope(get_idempotency);
  bind_text(get_idempotency, 1, e.tenant);
  bind_text(get_idempotency, 2, claim.key);
  int rc = sqlite3_step(get_idempotency);
  if (rc == SQLITE_DONE) return true;
  if (rc != SQLITE_ROW) return fail("idempotency lookup");
  bool same = column_view(get_idempotency, 0) == claim.request_hash;
  result->status = same ? AppendStatus::idempotent_replay : AppendStatus::idempotency_conflict;
  result->existing_payment_id = column_string(get_idempotency, 1);
  if (!same) result->detail = "idempotency key reused with a different request";
  *refused_out = true;
  return true;
}

// Runs `s`, one of the idempotency inserts, for the record's key.
bool Store::Impl::insert_key(sqlite3_stmt* s, const EventRecord& e, const char* what) {
  bind_text(s, 1, e.tenant);
  bind_text(s, 2, e.idempotency->key);
  bind_text(s, 3, e.idempotency->request_hash);
  bind_text(s, 4, e.payment_id);
  bind_int(s, 5, e.at_ms);
  return run(s, what);
}

// Inserts the record's idempotency key unless the tenant has it already:
// *claimed says which.
bool Store::Impl::claim_key(const EventRecord& e, bool* claimed) {
  if (!insert_key(claim_idempotency, e, "claim idempotency key")) return false;
  *claimed = sqlite3_changes(db) == 1;
  return true;
}

// A closed hold, read back from its ledger entry. (Open holds are all in
// memory.) A released hold's settlement account is not kept: "".
bool Store::Impl::find_stored_hold(const std::string& payment_id,
                                   std::optional<StoredHold>* out) {
  sqlite3_stmt* s = get_closed_hold;
  StmtScope scope(s);
  bind_text(s, 1, payment_id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return true;
  if (rc != SQLITE_ROW) return fail("hold lookup");
  std::string_view kind = column_view(s, 0);
  StoredHold h;
  if (kind == "post") h.status = HoldStatus::posted;
  else if (kind == "release") h.status = HoldStatus::released;
  else return fail_with("ledger entry of payment " + payment_id + " has unknown kind");
  h.account = column_string(s, 1);
  if (h.status == HoldStatus::posted) h.settlement_account = column_string(s, 2);
  h.currency = column_string(s, 3);
  h.amount_minor = sqlite3_column_int64(s, 4);
  *out = std::move(h);
  return true;
}

// Decides what `e.ledger` will do without changing anything. A refusal is
// written to `result` with *refused_out = true.
bool Store::Impl::plan_ledger(const EventRecord& e, LedgerPlan* plan, AppendResult* result,
                              bool* refused_out) {
  const LedgerOp& op = e.ledger;
  auto refuse = [&](std::string_view code, std::string detail) {
    *result = refused(AppendStatus::ledger_rejected, code, std::move(detail));
    *refused_out = true;
    return true;
  };
  if (op.kind == LedgerOp::Kind::none) return true;

  // The hold for this payment: open ones are in memory, final ones only in
  // the table.
  HoldNode* hold = nullptr;
  std::optional<HoldStatus> status;
  if (auto it = holds.find(e.payment_id); it != holds.end()) {
    hold = &*it;
    status = it->second.status;
  } else if (!(known_valid && known_payment == e.payment_id && known_keys.empty())) {
    // A hold row is written only with its payment's reserve event, so a
    // payment with no journaled event has none: no lookup for it.
    std::optional<StoredHold> stored;
    if (!find_stored_hold(e.payment_id, &stored)) return false;
    if (stored) status = stored->status;
  }

  switch (op.kind) {
    case LedgerOp::Kind::none:
      return true;

    case LedgerOp::Kind::reserve: {
      if (status) return true;  // the first hold stands
      if (op.amount.amount_minor == 0) return refuse("AM01", "reserve of zero");
      if (op.amount.amount_minor < 0) return refuse("AM12", "reserve of a negative amount");
      auto it = accounts.find(op.account);
      if (it == accounts.end()) return refuse("AC02", "unknown account " + op.account);
      const Account& a = it->second;
      if (a.currency != op.amount.currency)
        return refuse("AM03", "account " + op.account + " is in " + a.currency + ", not " +
                                  op.amount.currency);
      if (a.balance_minor - a.held_minor < op.amount.amount_minor)
        return refuse("AM04", "available " + std::to_string(a.balance_minor - a.held_minor) +
                                  " < " + std::to_string(op.amount.amount_minor));
      plan->action = LedgerPlan::Action::reserve;
      plan->debit = &*it;
      return true;
    }

    case LedgerOp::Kind::post: {
      if (!status) return refuse("AG01", "post without a hold for payment " + e.payment_id);
      if (*status == HoldStatus::posted) return true;  // settles at most once
      if (*status == HoldStatus::released)
        return refuse("AG01", "post of released hold for payment " + e.payment_id);
      const Hold& h = hold->second;
      if (!op.account.empty() && op.account != h.account)
        return refuse("AG01", "post names account " + op.account + " but the hold is on " +
                                  h.account);
      const std::string& credit_id =
          op.settlement_account.empty() ? h.settlement_account : op.settlement_account;
      if (credit_id.empty()) return refuse("AC03", "post without a settlement account");
      if (credit_id == h.account)
        return refuse("AC03", "settlement account is the held account " + credit_id);
      auto debit = accounts.find(h.account);
      if (debit == accounts.end())
        return fail_with("ledger cache out of sync: hold " + e.payment_id +
                         " is on unknown account " + h.account);
      auto credit = accounts.find(credit_id);
      if (credit != accounts.end() && credit->second.currency != h.currency)
        return refuse("AM03", "settlement account " + credit_id + " is in " +
                                  credit->second.currency + ", not " + h.currency);
      plan->action = LedgerPlan::Action::post;
      plan->hold = hold;
      plan->debit = &*debit;
      plan->credit = credit == accounts.end() ? nullptr : &*credit;
      plan->credit_id = &credit_id;
      return true;
    }

    case LedgerOp::Kind::release: {
      if (!status || *status == HoldStatus::released) return true;
      if (*status == HoldStatus::posted)
        return refuse("AG01", "release of posted hold for payment " + e.payment_id);
      const Hold& h = hold->second;
      if (!op.account.empty() && op.account != h.account)
        return refuse("AG01", "release names account " + op.account + " but the hold is on " +
                                  h.account);
      auto debit = accounts.find(h.account);
      if (debit == accounts.end())
        return fail_with("ledger cache out of sync: hold " + e.payment_id +
                         " is on unknown account " + h.account);
      plan->action = LedgerPlan::Action::release;
      plan->hold = hold;
      plan->debit = &*debit;
      return true;
    }
  }
  return true;
}

// Carries out a plan on the cache (logged for undo). Account and hold rows
// are written by flush_ledger(); the posting row is written here.
//
// Every change is logged before it is made, and the logs have room reserved
// up front, so even an allocation failure midway leaves an undoable state.
bool Store::Impl::apply_ledger(const EventRecord& e, const LedgerPlan& plan) {
  if (plan.action == LedgerPlan::Action::none) return true;
  // Room grows geometrically: reserve(size + n) alone would reallocate (and
  // move every entry) on each ledger operation of a batch.
  auto room = [](auto& log, size_t n) {
    if (log.capacity() < log.size() + n) log.reserve(std::max(2 * log.capacity(), log.size() + n));
  };
  room(undo, 4);
  room(dirty_accounts, 2);
  room(dirty_holds, 1);
  switch (plan.action) {
    case LedgerPlan::Action::none:
      return true;

    case LedgerPlan::Action::reserve: {
      int64_t amount_minor = e.ledger.amount.amount_minor;
      auto [it, inserted] = holds.try_emplace(e.payment_id);
      (void)inserted;  // plan_ledger saw no hold
      touch_hold(&*it, /*created=*/true);
      touch_account(plan.debit, /*created=*/false);
      Hold& h = it->second;
      h.account = e.ledger.account;
      h.settlement_account = e.ledger.settlement_account;
      h.currency = e.ledger.amount.currency;
      h.amount_minor = amount_minor;
      h.status = HoldStatus::held;
      h.updated_ms = e.at_ms;
      plan.debit->second.held_minor += amount_minor;
      return true;
    }

    case LedgerPlan::Action::post: {
      Hold& h = plan.hold->second;
      AccountNode* credit = plan.credit;
      if (!credit) {
        auto [it, inserted] = accounts.try_emplace(*plan.credit_id);
        (void)inserted;  // plan_ledger saw no account
        credit = &*it;
        touch_account(credit, /*created=*/true);
        it->second.currency = h.currency;
      } else {
        touch_account(credit, /*created=*/false);
      }
      touch_account(plan.debit, /*created=*/false);
      touch_hold(plan.hold, /*created=*/false);
      plan.debit->second.balance_minor -= h.amount_minor;
      plan.debit->second.held_minor -= h.amount_minor;
      credit->second.balance_minor += h.amount_minor;
      h.status = HoldStatus::posted;
      h.updated_ms = e.at_ms;
      if (h.settlement_account != credit->first) {
        undo.back().settlement_changed = true;  // the hold_changed entry above
        undo.back().settlement_account = std::move(h.settlement_account);
        h.settlement_account = credit->first;
      }

      return write_ledger_entry(e.payment_id, "post", h, credit->first, e.at_ms);
    }

    case LedgerPlan::Action::release: {
      Hold& h = plan.hold->second;
      touch_account(plan.debit, /*created=*/false);
      touch_hold(plan.hold, /*created=*/false);
      plan.debit->second.held_minor -= h.amount_minor;
      h.status = HoldStatus::released;
      h.updated_ms = e.at_ms;
      return write_ledger_entry(e.payment_id, "release", h, h.account, e.at_ms);
    }
  }
  return true;
}

// The outbox payload of a published event: a JSON object with the event's
// fields and its data embedded as JSON.
std::string outbox_payload(int64_t seq, const StoredEvent& e) {
  std::string payload;
  payload.append("{\"seq\":");
  append_int(payload, seq);
  payload.append(",\"payment_id\":");
  append_json_string(payload, e.payment_id);
  payload.append(",\"tenant\":");
  append_json_string(payload, e.tenant);
  payload.append(",\"kind\":");
  append_json_string(payload, e.kind);
  payload.append(",\"step\":");
  append_json_string(payload, e.step);
  payload.append(",\"state\":");
  append_json_string(payload, e.state);
  payload.append(",\"at_ms\":");
  append_int(payload, e.at_ms);
  payload.append(",\"data\":");
  payload.append(e.data.empty() ? std::string_view("{}") : std::string_view(e.data));
  payload.push_back('}');
  return payload;
}

// Loads the key of every journaled event of the payment into known_keys.
bool Store::Impl::load_journaled(const std::string& payment_id) {
  known_valid = false;
  known_keys.clear();
  // The open transaction's word first (an empty entry: the payment went
  // final, so read the table), then the committed keys of open payments.
  const std::vector<EventKey>* cached = nullptr;
  if (auto t = tx_keys.find(payment_id); t != tx_keys.end()) {
    if (!t->second.empty()) cached = &t->second;
    // Its rows of this transaction may still be gathered: the read below
    // must see them.
    else if (!event_rows->empty() && !flush_rows(*event_rows, "insert event chain"))
      return false;
  } else if (auto o = open_keys.find(payment_id); o != open_keys.end()) {
    cached = &o->second;
  }
  if (cached) {
    known_keys = *cached;
    known_payment = payment_id;
    known_valid = true;
    return true;
  }
  sqlite3_stmt* s = select_journaled;
  StmtScope scope(s);
  bind_text(s, 1, payment_id);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    std::string_view in = column_view(s, 0);
    sqlite_rows::ChainEvent c;
    while (!in.empty()) {
      if (!sqlite_rows::next_chain_event(in, &c))
        return fail_with("malformed event chain row of payment " + payment_id);
      const uint32_t kind = name_id(std::string(c.kind));
      known_keys.push_back(EventKey{kind, name_id(std::string(c.step)), c.attempt});
    }
  }
  if (rc != SQLITE_DONE) return fail("event lookup");
  known_payment = payment_id;
  known_valid = true;
  return true;
}

// Whether the event's (kind, step, attempt) is journaled for its payment,
// or is in the chain row the open transaction is building.
bool Store::Impl::journaled(const EventRecord& e, const EventKey& key) const {
  auto holds = [&key](const std::vector<EventKey>& keys) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  };
  return holds(known_keys) || (chain.valid && chain.payment_id == e.payment_id && holds(chain.keys));
}

// One record of a batch, inside the open transaction. `continues`: the
// record continues the previous record's chain (and that one is journaled).
bool Store::Impl::append(const EventRecord& e, bool continues, AppendResult* result) {
  auto duplicate = [result] {
    result->status = AppendStatus::duplicate_event;
    result->detail = "event already journaled";
    return true;
  };
  // The record joins the open chain row, or heads a new one. Before
  // anything of it is written it is looked for among every event of its
  // payment (the payment's chain rows, read once per chain of another
  // payment, and the open row): found, it is a duplicate, wherever it sits
  // in its stored chain.
  const bool joins = continues && chain.valid && chain.payment_id == e.payment_id &&
                     chain.tenant == e.tenant;
  if (!joins) {
    if (!flush_chain()) return false;
    if (!(known_valid && known_payment == e.payment_id) && !load_journaled(e.payment_id))
      return false;
  }
  const EventKey key{name_id(e.kind), name_id(e.step), e.attempt};
  if (journaled(e, key)) return duplicate();

  bool is_refused = false;
  bool claimed = false;
  if (e.idempotency && e.ledger.kind == LedgerOp::Kind::none) {
    // Nothing after the claim can refuse this record: claim first, and
    // look the key up only when it was there (one index descent, not two).
    if (!claim_key(e, &claimed)) return false;
    if (!claimed && !check_idempotency(e, result, &is_refused)) return false;
    if (!claimed && !is_refused) return fail_with("idempotency key neither claimed nor found");
  } else if (e.idempotency && !check_idempotency(e, result, &is_refused)) {
    return false;
  }
  LedgerPlan plan;
  if (!is_refused && !plan_ledger(e, &plan, result, &is_refused)) return false;
  if (is_refused) return true;

  const int64_t seq = tx_next_seq++;
  if (!joins) {
    chain.valid = true;
    chain.seq = seq;
    chain.count = 0;
    chain.published = 0;
    chain.at_ms = e.at_ms;
    chain.payment_id = e.payment_id;
    chain.tenant = e.tenant;
    chain.kind = e.kind;
    chain.step = e.step;
    chain.attempt = e.attempt;
    chain.terminal = false;
    chain.events.clear();
    chain.keys.clear();
  }
  sqlite_rows::encode_chain_event(chain.events, e.kind, e.step, e.attempt, e.state, e.terminal,
                                  e.at_ms, e.data, e.publish);
  chain.keys.push_back(key);
  ++chain.count;
  chain.terminal = chain.terminal || e.terminal;
  if (e.publish) ++chain.published;

  if (e.idempotency && !claimed && !insert_key(insert_idempotency, e, "insert idempotency key"))
    return false;
  if (!apply_ledger(e, plan)) return false;
  {
    // Consecutive records of one payment (an event chain) share one saga
    // row write: the row is written when the next payment's record comes or
    // the batch ends.
    if (saga_row.valid && saga_row.payment_id != e.payment_id && !flush_saga_row()) return false;
    if (!saga_row.valid) {
      saga_row.valid = true;
      // A chain of this payment flushed earlier in the transaction left
      // its key set in tx_keys (a payment's rows are written in order).
      saga_row.again = !tx_keys.empty() && tx_keys.count(e.payment_id) != 0;
      saga_row.payment_id = e.payment_id;
      saga_row.tenant = e.tenant;
      saga_row.state = e.state;
      saga_row.terminal = e.terminal;
      saga_row.first_at_ms = e.at_ms;
    } else {
      if (!e.state.empty()) saga_row.state = e.state;
      saga_row.terminal = saga_row.terminal || e.terminal;
    }
    saga_row.at_ms = e.at_ms;
    saga_row.seq = seq;
  }

  if (e.publish) ++batch_published;
  result->status = AppendStatus::ok;
  result->seq = seq;
  return true;
}

// Writes every account and hold the open transaction changed.
bool Store::Impl::flush_ledger() {
  // Rows already in a table are updated in place (cheaper than an upsert);
  // an update that finds no row means the cache is out of sync.
  for (AccountNode* node : dirty_accounts) {
    if (node->second.stored) {
      sqlite3_stmt* s = update_account;
      bind_text(s, 1, node->first);
      bind_int(s, 2, node->second.balance_minor);
      bind_int(s, 3, node->second.held_minor);
      if (!run(s, "write account")) return false;
      if (sqlite3_changes(db) != 1)
        return fail_with("ledger cache out of sync: no row for account " + node->first);
      continue;
    }
    sqlite3_stmt* s = put_account;
    bind_text(s, 1, node->first);
    bind_text(s, 2, node->second.currency);
    bind_int(s, 3, node->second.balance_minor);
    bind_int(s, 4, node->second.held_minor);
    if (!run(s, "write account")) return false;
  }
  // A hold is written when it opens and deleted when it closes (its ledger
  // entry is the record); one opened and closed in this transaction is
  // never written.
  for (HoldNode* node : dirty_holds) {
    const Hold& h = node->second;
    const bool open = h.status == HoldStatus::held;
    if (h.stored == open) continue;  // an open hold changes no column after it is written
    if (h.stored) {
      sqlite3_stmt* s = delete_hold;
      bind_text(s, 1, node->first);
      if (!run(s, "delete hold")) return false;
      if (sqlite3_changes(db) != 1)
        return fail_with("ledger cache out of sync: no row for hold " + node->first);
      continue;
    }
    hold_rows->add_row(node->first, h.account, h.settlement_account, h.currency, h.amount_minor,
                       h.updated_ms);
  }
  return flush_rows(*hold_rows, "write hold") && flush_rows(*ledger_rows, "insert ledger entry");
}

void Store::Impl::discard_tentative() {
  tx_keys.clear();
  // Flags first: undoing may free nodes the dirty lists point to.
  for (AccountNode* node : dirty_accounts) node->second.dirty = false;
  for (HoldNode* node : dirty_holds) node->second.dirty = false;
  dirty_accounts.clear();
  dirty_holds.clear();
  for (auto u = undo.rbegin(); u != undo.rend(); ++u) {
    switch (u->kind) {
      case Undo::Kind::account_created:
        accounts.erase(accounts.find(u->account->first));
        break;
      case Undo::Kind::account_changed:
        u->account->second.balance_minor = u->balance_minor;
        u->account->second.held_minor = u->held_minor;
        break;
      case Undo::Kind::hold_created:
        holds.erase(holds.find(u->hold->first));
        break;
      case Undo::Kind::hold_changed:
        u->hold->second.status = u->status;
        u->hold->second.updated_ms = u->updated_ms;
        if (u->settlement_changed)
          u->hold->second.settlement_account = std::move(u->settlement_account);
        break;
    }
  }
  undo.clear();
}

void Store::Impl::settle_tentative() {
  // At the bound, payments not kept yet are left to the table's lookup.
  for (auto& [payment_id, keys] : tx_keys) {
    auto it = open_keys.find(payment_id);
    if (keys.empty()) {
      if (it != open_keys.end()) open_keys.erase(it);
    } else if (it != open_keys.end()) {
      it->second = std::move(keys);
    } else if (open_keys.size() < options.cached_open_payments) {
      open_keys.emplace(payment_id, std::move(keys));
    }
  }
  tx_keys.clear();
  for (AccountNode* node : dirty_accounts) {
    node->second.dirty = false;
    node->second.stored = true;
  }
  for (HoldNode* node : dirty_holds) {
    // Final holds live on in the table only.
    if (node->second.status != HoldStatus::held) {
      holds.erase(holds.find(node->first));
    } else {
      node->second.dirty = false;
      node->second.stored = true;
    }
  }
  dirty_accounts.clear();
  dirty_holds.clear();
  undo.clear();
}

// ---------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Store::CheckpointCounts Store::checkpoints() const {
  CheckpointCounts c;
  if (impl_->checkpointer) {
    c.background = impl_->checkpointer->background_checkpoints();
    c.writer = impl_->checkpointer->writer_checkpoints();
    c.writer_waits = impl_->checkpointer->writer_waits();
  }
  return c;
}

// Schema 1 kept one saga_events row per event. In one transaction, each of
// its rows becomes a chain row of one event with the same seq (so seqs, the
// outbox cursor and snapshots keep their meaning, and every migrated event is
// a head under the UNIQUE index); the other tables are unchanged.
bool Store::Impl::migrate_from_v1() {
  if (!exec("BEGIN IMMEDIATE; ALTER TABLE saga_events RENAME TO saga_events_v1;")) return false;
  if (!exec(kSchemaSql)) return false;
  sqlite3_stmt* read = nullptr;
  sqlite3_stmt* write = nullptr;
  bool ok =
      sqlite3_prepare_v2(db,
                         "SELECT seq, payment_id, tenant, kind, step, attempt, state, terminal, "
                         "at_ms, data, publish FROM saga_events_v1 ORDER BY seq",
                         -1, &read, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(db,
                         "INSERT INTO saga_events(seq, count, payment_id, tenant, kind, step, "
                         "attempt, terminal, publish, at_ms, events) "
                         "VALUES(?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                         -1, &write, nullptr) == SQLITE_OK;
  if (!ok) fail("prepare");
  std::string events;
  int rc = SQLITE_DONE;
  while (ok && (rc = sqlite3_step(read)) == SQLITE_ROW) {
    const auto attempt = static_cast<uint32_t>(sqlite3_column_int64(read, 5));
    const bool terminal = sqlite3_column_int(read, 7) != 0;
    const bool publish = sqlite3_column_int(read, 10) != 0;
    const int64_t at_ms = sqlite3_column_int64(read, 8);
    events.clear();
    sqlite_rows::encode_chain_event(events, column_view(read, 3), column_view(read, 4), attempt,
                                    column_view(read, 6), terminal, at_ms, column_view(read, 9),
                                    publish);
    sqlite3_bind_int64(write, 1, sqlite3_column_int64(read, 0));
    for (int i = 1; i <= 4; ++i) {
      std::string_view v = column_view(read, i);
      sqlite3_bind_text64(write, i + 1, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
    }
    sqlite3_bind_int64(write, 6, attempt);
    sqlite3_bind_int(write, 7, terminal ? 1 : 0);
    sqlite3_bind_int(write, 8, publish ? 1 : 0);
    sqlite3_bind_int64(write, 9, at_ms);
    sqlite3_bind_blob64(write, 10, events.data(), events.size(), SQLITE_STATIC);
    ok = sqlite3_step(write) == SQLITE_DONE;
    if (!ok) fail("insert migrated event");
    sqlite3_reset(write);
  }
  if (ok && rc != SQLITE_DONE) ok = fail("read schema 1 events");
  sqlite3_finalize(read);
  sqlite3_finalize(write);
  return ok && exec("DROP TABLE saga_events_v1; PRAGMA user_version=2; COMMIT;");
}

// Schema 2 kept every hold with its status ('held', 'posted', 'released')
// under a partial index of the open ones, and ledger entries ('post' only)
// with a rowid. In one transaction: the open holds stay in holds, each
// released hold becomes a 'release' entry, posted ones already have their
// 'post' entry; ledger_entries is keyed (payment_id, kind).
bool Store::Impl::migrate_from_v2() {
  return exec(
             "BEGIN IMMEDIATE;"
             "DROP INDEX IF EXISTS holds_open;"
             "ALTER TABLE holds RENAME TO holds_v2;"
             "ALTER TABLE ledger_entries RENAME TO ledger_entries_v2;") &&
         exec(kSchemaSql) &&
         exec(
             "INSERT INTO holds(payment_id, account, settlement_account, currency, amount_minor, "
             "  updated_ms) "
             "SELECT payment_id, account, settlement_account, currency, amount_minor, updated_ms "
             "FROM holds_v2 WHERE status = 'held';"
             "INSERT INTO ledger_entries(payment_id, kind, debit_account, credit_account, "
             "  currency, amount_minor, at_ms) "
             "SELECT payment_id, kind, debit_account, credit_account, currency, amount_minor, "
             "  at_ms FROM ledger_entries_v2;"
             "INSERT INTO ledger_entries(payment_id, kind, debit_account, credit_account, "
             "  currency, amount_minor, at_ms) "
             "SELECT payment_id, 'release', account, account, currency, amount_minor, "
             "  updated_ms FROM holds_v2 WHERE status = 'released';"
             "DROP TABLE holds_v2; DROP TABLE ledger_entries_v2;"
             "PRAGMA user_version=3; COMMIT;");
}

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  // SQLite keeps memory statistics under a global mutex taken around every
  // allocation it makes (several per row written); nothing here reads them.
  // This only takes effect before SQLite initialises (the process's first
  // connection); afterwards it is refused and changes nothing.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  auto sqlite_error = [&impl](const std::string& what) {
    return Error{"sqlite", what + ": " + impl->error};
  };
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(options.path.c_str(), &impl->db, flags, nullptr) != SQLITE_OK) {
    impl->fail("open");
    return sqlite_error(options.path);
  }
  sqlite3_extended_result_codes(impl->db, 1);

  // journal_mode answers with the mode in force; an in-memory database
  // cannot use WAL and says "memory".
  {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(impl->db, "PRAGMA journal_mode=WAL", -1, &s, nullptr) != SQLITE_OK) {
      impl->fail("journal_mode");
      return sqlite_error(options.path);
    }
    std::string mode;
    if (sqlite3_step(s) == SQLITE_ROW) mode = column_string(s, 0);
    sqlite3_finalize(s);
    const char* file = sqlite3_db_filename(impl->db, "main");
    bool in_memory = file == nullptr || file[0] == '\0';
    if (mode != "wal" && !in_memory) {
      impl->error = "journal_mode is '" + mode + "', want 'wal'";
      return sqlite_error(options.path);
    }
    if (!in_memory) {
      CheckpointerOptions c;
      c.path = file;
      c.synchronous_full = options.synchronous == Synchronous::full;
      c.background = options.checkpoint_in_background;
      c.start_pages = std::max(1, options.checkpoint_pages);
      c.writer_pages = 4 * c.start_pages;
      c.wait_pages = c.writer_pages + c.start_pages;
      auto started = Checkpointer::start(c);
      if (!started.ok()) return started.error();
      impl->checkpointer = std::move(started.value());
      impl->checkpointer->attach(impl->db);
    }
  }
  std::string pragmas = "PRAGMA synchronous=";
  pragmas += options.synchronous == Synchronous::full ? "FULL" : "NORMAL";
  pragmas += "; PRAGMA busy_timeout=" + std::to_string(kBusyTimeoutMs);
  pragmas += "; PRAGMA cache_size=-" + std::to_string(kCacheSizeKiB);
  pragmas += "; PRAGMA journal_size_limit=" + std::to_string(kJournalSizeLimitBytes);
  pragmas += "; PRAGMA temp_store=MEMORY; PRAGMA foreign_keys=OFF;";
  if (!impl->exec(pragmas.c_str())) return sqlite_error("pragmas");

  // Schema: create in one transaction, stamped with user_version.
  int version = 0;
  {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(impl->db, "PRAGMA user_version", -1, &s, nullptr) != SQLITE_OK) {
      impl->fail("user_version");
      return sqlite_error(options.path);
    }
    if (sqlite3_step(s) == SQLITE_ROW) version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
  }
  if (version == 1 && !impl->migrate_from_v1()) {
    std::string message = impl->error;
    impl->exec("ROLLBACK");
    return Error{"schema", options.path + ": migrating the journal from schema version 1: " + message};
  }
  if ((version == 1 || version == 2) && !impl->migrate_from_v2()) {
    std::string message = impl->error;
    impl->exec("ROLLBACK");
    return Error{"schema", options.path + ": migrating the journal from schema version 2: " + message};
  }
  if (version != 0 && version < 1)
    return Error{"schema", options.path + ": schema version " + std::to_string(version) +
                               " is older than any this build can read"};
  if (version > kSchemaVersion)
    return Error{"schema", options.path + ": schema version " + std::to_string(version) +
                               " is newer than this build's " + std::to_string(kSchemaVersion)};
  {
    std::string ddl = "BEGIN IMMEDIATE;";
    ddl += kSchemaSql;
    ddl += "PRAGMA user_version=" + std::to_string(kSchemaVersion) + "; COMMIT;";
    if (!impl->exec(ddl.c_str())) {
      std::string message = impl->error;
      impl->exec("ROLLBACK");
      impl->error = message;
      return sqlite_error("schema");
    }
  }
  if (!impl->prepare_all()) return sqlite_error("prepare");
  {
    StmtScope scope(impl->select_last_seq);
    int rc = sqlite3_step(impl->select_last_seq);
    if (rc == SQLITE_ROW) impl->next_seq = sqlite3_column_int64(impl->select_last_seq, 0) + 1;
    else if (rc != SQLITE_DONE) {
      impl->fail("last seq");
      return sqlite_error("open");
    }
  }
  if (!impl->load_ledger()) return Error{"ledger", options.path + ": " + impl->error};
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

std::vector<AppendResult> Store::commit(const Batch& batch) {
  Impl& m = *impl_;
  std::vector<AppendResult> results(batch.events.size());
  if (batch.events.empty() && batch.snapshots.empty()) return results;

  bool ok = m.run(m.begin, "begin");
  m.tx_next_seq = m.next_seq;
  m.chain.valid = false;
  m.known_valid = false;
  if (ok) {
    try {
      for (size_t i = 0; ok && i < batch.events.size(); ++i) {
        if (batch.events[i].depends_on_previous && i > 0 &&
            results[i - 1].status != AppendStatus::ok &&
            results[i - 1].status != AppendStatus::duplicate_event) {
          results[i].status = AppendStatus::skipped;
          results[i].detail = "an earlier event of its chain was not written";
          continue;
        }
        ok = m.append(batch.events[i], batch.events[i].depends_on_previous && i > 0, &results[i]);
      }
      ok = ok && m.flush_chain() && m.flush_saga_row() &&
           m.flush_rows(*m.event_rows, "insert event chain") &&
           m.flush_rows(*m.saga_rows, "write saga") &&
           m.flush_rows(*m.saga_rows_terminal, "write saga");
      for (size_t i = 0; ok && i < batch.snapshots.size(); ++i) {
        const SnapshotRecord& snap = batch.snapshots[i];
        sqlite3_stmt* s = m.put_snapshot;
        bind_text(s, 1, snap.payment_id);
        bind_int(s, 2, snap.seq);
        bind_int(s, 3, snap.at_ms);
        sqlite3_bind_blob64(s, 4, snap.blob.data(), snap.blob.size(), SQLITE_STATIC);
        ok = m.run(s, "write snapshot");
      }
      ok = ok && m.flush_ledger() && m.run(m.commit, "commit");
    } catch (const std::exception& ex) {  // allocation failure: fail the batch
      ok = m.fail_with(std::string("exception: ") + ex.what());
    }
    // After a failed COMMIT SQLite may or may not have rolled back already.
    if (!ok && !sqlite3_get_autocommit(m.db)) {
      std::string message = m.error;
      if (!m.run(m.rollback, "rollback")) message += " (then " + m.error + ")";
      m.error = std::move(message);
    }
  }
  m.chain.valid = false;
  m.known_valid = false;
  if (ok) {
    m.next_seq = m.tx_next_seq;
    m.settle_tentative();
    if (m.outbox_count >= 0) m.outbox_count += m.batch_published;
    m.batch_published = 0;
    return results;
  }
  m.batch_published = 0;
  m.saga_row.valid = false;
  m.clear_rows();
  m.discard_tentative();
  for (AppendResult& r : results) {
    r = AppendResult{};
    r.status = AppendStatus::error;
    r.detail = m.error;
  }
  return results;
}

Result<Unit> Store::create_account(const std::string& id, const std::string& currency,
                                   int64_t opening_balance_minor) {
  Impl& m = *impl_;
  if (id.empty()) return Error{"AC01", "empty account id"};
  if (!currency_decimals(currency)) return Error{"AM03", "unknown currency '" + currency + "'"};
  if (opening_balance_minor < 0) return Error{"AM12", "negative opening balance"};
  if (m.accounts.count(id)) return Error{"exists", "account " + id + " exists"};
  sqlite3_stmt* s = m.insert_account;
  bind_text(s, 1, id);
  bind_text(s, 2, currency);
  bind_int(s, 3, opening_balance_minor);
  if (!m.run(s, "create account")) return Error{"sqlite", m.error};  // autocommit
  Account a;
  a.currency = currency;
  a.balance_minor = opening_balance_minor;
  a.stored = true;
  m.accounts.emplace(id, std::move(a));
  return Unit{};
}

std::optional<AccountView> Store::account(const std::string& id) const {
  auto it = impl_->accounts.find(id);
  if (it == impl_->accounts.end()) return std::nullopt;
  return AccountView{it->first, it->second.currency, it->second.balance_minor,
                     it->second.held_minor};
}

std::vector<AccountView> Store::accounts() const {
  std::vector<AccountView> out;
  out.reserve(impl_->accounts.size());
  for (const auto& [id, a] : impl_->accounts)
    out.push_back(AccountView{id, a.currency, a.balance_minor, a.held_minor});
  std::sort(out.begin(), out.end(),
            [](const AccountView& x, const AccountView& y) { return x.id < y.id; });
  return out;
}

// Read from the table, not the cache: an independent view of the books.
std::map<std::string, int64_t> Store::total_balance_by_currency() const {
  std::map<std::string, int64_t> out;
  sqlite3_stmt* s = impl_->total_by_currency;
  StmtScope scope(s);
  while (sqlite3_step(s) == SQLITE_ROW) out[column_string(s, 0)] = sqlite3_column_int64(s, 1);
  return out;
}

std::optional<HoldView> Store::hold(const std::string& payment_id) const {
  auto view = [&payment_id](const std::string& account, const std::string& settlement,
                            const std::string& currency, int64_t amount_minor, HoldStatus st) {
    return HoldView{payment_id, account, settlement, Money{amount_minor, currency},
                    hold_status_name(st)};
  };
  if (auto it = impl_->holds.find(payment_id); it != impl_->holds.end()) {
    const Hold& h = it->second;
    return view(h.account, h.settlement_account, h.currency, h.amount_minor, h.status);
  }
  std::optional<StoredHold> stored;
  if (!impl_->find_stored_hold(payment_id, &stored) || !stored) return std::nullopt;
  return view(stored->account, stored->settlement_account, stored->currency,
              stored->amount_minor, stored->status);
}

int64_t Store::posting_count(const std::string& payment_id) const {
  sqlite3_stmt* s = impl_->count_postings;
  StmtScope scope(s);
  bind_text(s, 1, payment_id);
  return sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
}

std::vector<StoredEvent> Store::events_for(const std::string& payment_id) const {
  std::vector<StoredEvent> out;
  sqlite3_stmt* s = impl_->select_events;
  StmtScope scope(s);
  bind_text(s, 1, payment_id);
  while (sqlite3_step(s) == SQLITE_ROW)
    if (!sqlite_rows::append_chain_row(s, &out)) break;  // malformed row: stop there
  return out;
}

std::optional<SagaSummary> Store::saga(const std::string& payment_id) const {
  sqlite3_stmt* s = impl_->select_saga;
  StmtScope scope(s);
  bind_text(s, 1, payment_id);
  if (sqlite3_step(s) != SQLITE_ROW) return std::nullopt;
  return sqlite_rows::saga_summary_row(s);
}

std::vector<std::string> Store::open_sagas(const std::string& after_id, size_t limit) const {
  std::vector<std::string> out;
  if (limit == 0) return out;
  sqlite3_stmt* s = impl_->select_open_sagas;
  StmtScope scope(s);
  bind_text(s, 1, after_id);
  bind_int(s, 2, static_cast<int64_t>(
                     std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
  while (sqlite3_step(s) == SQLITE_ROW) out.push_back(column_string(s, 0));
  return out;
}

std::map<std::string, int64_t> Store::count_by_state() const {
  std::map<std::string, int64_t> out;
  sqlite3_stmt* s = impl_->select_count_by_state;
  StmtScope scope(s);
  while (sqlite3_step(s) == SQLITE_ROW) out[column_string(s, 0)] = sqlite3_column_int64(s, 1);
  return out;
}

int64_t Store::event_count() const {
  sqlite3_stmt* s = impl_->select_event_count;
  StmtScope scope(s);
  return sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
}

std::optional<SnapshotRecord> Store::snapshot(const std::string& payment_id) const {
  sqlite3_stmt* s = impl_->select_snapshot;
  StmtScope scope(s);
  bind_text(s, 1, payment_id);
  if (sqlite3_step(s) != SQLITE_ROW) return std::nullopt;
  SnapshotRecord out;
  out.payment_id = column_string(s, 0);
  out.seq = sqlite3_column_int64(s, 1);
  out.at_ms = sqlite3_column_int64(s, 2);
  out.blob = column_string(s, 3);
  return out;
}

std::optional<Store::IdempotencyEntry> Store::idempotency(const std::string& tenant,
                                                          const std::string& key) const {
  sqlite3_stmt* s = impl_->select_idempotency;
  StmtScope scope(s);
  bind_text(s, 1, tenant);
  bind_text(s, 2, key);
  if (sqlite3_step(s) != SQLITE_ROW) return std::nullopt;
  IdempotencyEntry out;
  out.payment_id = column_string(s, 0);
  out.request_hash = column_string(s, 1);
  out.created_ms = sqlite3_column_int64(s, 2);
  return out;
}

// Returns -1 if SQLite fails.
int64_t Store::purge_idempotency(int64_t now_ms) {
  int64_t cutoff_ms = 0;
  if (__builtin_sub_overflow(now_ms, impl_->options.idempotency_ttl_ms, &cutoff_ms))
    cutoff_ms = std::numeric_limits<int64_t>::min();
  sqlite3_stmt* s = impl_->purge_idempotency;
  bind_int(s, 1, cutoff_ms);
  if (!impl_->run(s, "purge idempotency")) return -1;
  return sqlite3_changes(impl_->db);
}

// Returns -1 if SQLite fails.
int64_t Store::purge_idempotency(int64_t now_ms, size_t max_rows) {
  if (max_rows == 0) return 0;
  int64_t cutoff_ms = 0;
  if (__builtin_sub_overflow(now_ms, impl_->options.idempotency_ttl_ms, &cutoff_ms))
    cutoff_ms = std::numeric_limits<int64_t>::min();
  sqlite3_stmt* s = impl_->purge_idempotency_bounded;
  bind_int(s, 1, cutoff_ms);
  bind_int(s, 2, static_cast<int64_t>(
                     std::min<size_t>(max_rows, std::numeric_limits<int64_t>::max())));
  if (!impl_->run(s, "purge idempotency")) return -1;
  return sqlite3_changes(impl_->db);
}

// Published events with seq in (after, through]. Rows wholly inside add
// their `publish` count; a row straddling an end is decoded.
bool Store::Impl::count_published(int64_t after, int64_t through, int64_t* out) {
  *out = 0;
  if (through <= after) return true;
  sqlite3_stmt* c = count_published_range;
  StmtScope scope(c);
  bind_int(c, 1, after);
  bind_int(c, 2, through);
  int rc;
  while ((rc = sqlite3_step(c)) == SQLITE_ROW) {
    int64_t seq = sqlite3_column_int64(c, 0);
    int64_t count = sqlite3_column_int64(c, 1);
    if (seq > after && seq + count - 1 <= through) {
      *out += sqlite3_column_int64(c, 2);
      continue;
    }
    std::string_view in = column_view(c, 3);
    sqlite_rows::ChainEvent e;
    for (; sqlite_rows::next_chain_event(in, &e); ++seq)
      if (e.publish && seq > after && seq <= through) ++*out;
  }
  if (rc != SQLITE_DONE) return fail("outbox count");
  return true;
}

std::vector<OutboxRow> Store::outbox_peek(size_t limit, int64_t after_seq) const {
  std::vector<OutboxRow> out;
  if (limit == 0) return out;
  Impl& m = *impl_;
  int64_t after = after_seq;
  {
    StmtScope scope(m.select_outbox_cursor);
    if (sqlite3_step(m.select_outbox_cursor) == SQLITE_ROW)
      after = std::max<int64_t>(after, sqlite3_column_int64(m.select_outbox_cursor, 0));
  }
  sqlite3_stmt* s = m.select_outbox;
  StmtScope scope(s);
  // Every row but the first holds a published event past `after`: limit + 1
  // rows hold at least `limit` of them (when there are that many).
  bind_int(s, 1, static_cast<int64_t>(
                     std::min<size_t>(limit, std::numeric_limits<int64_t>::max() - 1)) + 1);
  bind_int(s, 2, after);
  while (out.size() < limit && sqlite3_step(s) == SQLITE_ROW) {
    int64_t seq = sqlite3_column_int64(s, 0);
    std::string payment_id = column_string(s, 1);
    std::string tenant = column_string(s, 2);
    std::string_view in = column_view(s, 3);
    sqlite_rows::ChainEvent c;
    for (; out.size() < limit && sqlite_rows::next_chain_event(in, &c); ++seq) {
      if (!c.publish || seq <= after) continue;
      StoredEvent e = sqlite_rows::to_stored(c, seq, payment_id, tenant);
      OutboxRow r;
      r.seq = seq;
      r.event_seq = seq;
      r.payment_id = payment_id;
      r.tenant = tenant;
      r.payload = outbox_payload(seq, e);
      out.push_back(std::move(r));
    }
  }
  return out;
}

Result<Unit> Store::outbox_delete_through(int64_t seq) {
  Impl& m = *impl_;
  int64_t confirmed = 0;  // published events the cursor moves past
  if (m.outbox_count >= 0) {
    int64_t cursor = 0;
    {
      StmtScope scope(m.select_outbox_cursor);
      if (sqlite3_step(m.select_outbox_cursor) == SQLITE_ROW)
        cursor = sqlite3_column_int64(m.select_outbox_cursor, 0);
    }
    if (seq > cursor && !m.count_published(cursor, seq, &confirmed))
      return Error{"sqlite", m.error};
  }
  sqlite3_stmt* s = m.delete_outbox;
  bind_int(s, 1, seq);
  if (!m.run(s, "outbox delete")) return Error{"sqlite", m.error};
  if (m.outbox_count >= 0) m.outbox_count = std::max<int64_t>(0, m.outbox_count - confirmed);
  return Unit{};
}

int64_t Store::outbox_size() const {
  Impl& m = *impl_;
  if (m.outbox_count < 0) {
    int64_t cursor = 0;
    {
      StmtScope scope(m.select_outbox_cursor);
      if (sqlite3_step(m.select_outbox_cursor) != SQLITE_ROW) return 0;
      cursor = sqlite3_column_int64(m.select_outbox_cursor, 0);
    }
    int64_t n = 0;
    if (!m.count_published(cursor, std::numeric_limits<int64_t>::max(), &n)) return 0;
    m.outbox_count = n;
  }
  return m.outbox_count;
}

}  // namespace payengine::sagas
