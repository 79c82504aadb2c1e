// Store: the engine's durable state in one SQLite database (WAL mode).
//
// One Store object owns one write connection and is used by one thread at a
// time (the journal actor's). It holds the saga journal (append-only events),
// the saga index, snapshots, the outbox, idempotency keys and the ledger
// (accounts with two-phase holds).
//
// Promises:
//  - `commit` writes a whole batch in one transaction, or nothing. A record
//    whose own check fails (ledger refusal, idempotency conflict, duplicate
//    event) writes nothing of its own and does not affect the others.
//  - A record's ledger operation commits atomically with its event: money
//    never moves without its journal event, and no event claims a movement
//    that did not happen.
//  - Ledger operations are idempotent per payment: a second reserve of the
//    same payment keeps the first hold, a second post or release of the same
//    hold changes nothing. A hold is posted at most once, so a payment
//    settles at most once. The sum of all account balances per currency never
//    changes through reserve, post or release.
//  - Events are unique per (payment_id, kind, step, attempt): re-appending
//    one is reported as `duplicate_event` and changes nothing, whether it is
//    re-sent with its chain or on its own.
//  - A record marked `depends_on_previous` is written only if the record
//    before it is in the journal, so a chain of events stops at its first
//    refusal.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sagas/money.hpp"
#include "sagas/result.hpp"

namespace payengine::sagas {

enum class Synchronous : uint8_t { full, normal };

struct StoreOptions {
  std::string path;                           // SQLite file; created if missing
  Synchronous synchronous = Synchronous::full;
  int64_t idempotency_ttl_ms = 24LL * 3600 * 1000;  // keys are kept at least this long
  // Payments (not final) whose event keys the duplicate check keeps in
  // memory between chains, about 200 bytes each; the others' are read back
  // from the table. Only speed depends on it.
  size_t cached_open_payments = 64 * 1024;
  // Copy the WAL back into the database file on a thread of its own
  // (sagas/checkpointer.hpp) rather than in the commit that crosses the
  // mark. Either way the WAL is checkpointed from `checkpoint_pages` on.
  bool checkpoint_in_background = true;
  int checkpoint_pages = 10000;
};

struct LedgerOp {
  enum class Kind : uint8_t { none, reserve, post, release };
  Kind kind = Kind::none;
  std::string account;             // the debtor's ledger account id
  std::string settlement_account;  // post: the account credited (a rail's settlement account)
  Money amount;                    // reserve: amount to hold (post/release use the hold's)
};

struct IdempotencyClaim {
  std::string key;           // caller's Idempotency-Key, unique per tenant
  std::string request_hash;  // hash of the canonical request body
};

// One journal event to append.
struct EventRecord {
  std::string payment_id;
  std::string tenant;
  std::string kind;       // "received", "step_ok", "step_failed", "retry", "compensated", "final", ...
  std::string step;       // the saga step it concerns ("" for none)
  uint32_t attempt = 0;
  std::string state;      // payment state after this event; "" when unchanged
  bool terminal = false;  // true when `state` is final
  int64_t at_ms = 0;
  std::string data;       // JSON object text, opaque to the store
  LedgerOp ledger;        // applied atomically with the event
  std::optional<IdempotencyClaim> idempotency;  // only on "received"
  bool publish = false;   // also add an outbox row (a public state change)
  // Part of a chain: written only if the record before it in the batch is
  // in the journal (ok or duplicate_event); otherwise `skipped`.
  bool depends_on_previous = false;
};

struct SnapshotRecord {
  std::string payment_id;
  int64_t seq = 0;   // last event seq folded into the snapshot
  int64_t at_ms = 0;
  std::string blob;  // serialized saga state
};

enum class AppendStatus : uint8_t {
  ok,
  duplicate_event,       // already journaled; nothing written
  idempotent_replay,     // idempotency key seen with the same hash; nothing written
  idempotency_conflict,  // idempotency key seen with another hash; nothing written
  ledger_rejected,       // the ledger refused (reason_code says why); nothing written
  skipped,               // depends_on_previous and the previous record was not written
  error,                 // the transaction failed; nothing in the batch was written
};

struct AppendResult {
  AppendStatus status = AppendStatus::error;
  int64_t seq = 0;                  // ok: the event's sequence number
  std::string reason_code;          // ledger_rejected: AM04, AC02, AM03, ...
  std::string existing_payment_id;  // idempotent_replay / idempotency_conflict
  std::string detail;
};

struct Batch {
  std::vector<EventRecord> events;
  std::vector<SnapshotRecord> snapshots;
};

struct StoredEvent {
  int64_t seq = 0;
  std::string payment_id;
  std::string tenant;
  std::string kind;
  std::string step;
  uint32_t attempt = 0;
  std::string state;
  bool terminal = false;
  int64_t at_ms = 0;
  std::string data;
};

struct SagaSummary {
  std::string payment_id;
  std::string tenant;
  std::string state;
  bool terminal = false;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct AccountView {
  std::string id;
  std::string currency;
  int64_t balance_minor = 0;  // booked balance
  int64_t held_minor = 0;     // sum of open holds; available = balance - held
};

struct HoldView {
  std::string payment_id;
  std::string account;
  std::string settlement_account;
  Money amount;
  std::string status;  // "held", "posted", "released"
};

struct OutboxRow {
  int64_t seq = 0;
  int64_t event_seq = 0;
  std::string payment_id;
  std::string tenant;
  std::string payload;  // JSON
};

class Store {
 public:
  // Opens (creating if needed) the database, applies the schema and pragmas
  // and loads the ledger. Errors: code "sqlite" with SQLite's message.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes the batch in one transaction; one result per event, in order.
  std::vector<AppendResult> commit(const Batch& batch);

  // Ledger administration (each its own transaction). Creating an account
  // that exists fails with code "exists".
  Result<Unit> create_account(const std::string& id, const std::string& currency,
                              int64_t opening_balance_minor);
  std::optional<AccountView> account(const std::string& id) const;
  std::vector<AccountView> accounts() const;
  std::map<std::string, int64_t> total_balance_by_currency() const;
  std::optional<HoldView> hold(const std::string& payment_id) const;
  // Number of ledger postings (money moved to settlement) for a payment: 0 or 1.
  int64_t posting_count(const std::string& payment_id) const;

  // Journal reads.
  std::vector<StoredEvent> events_for(const std::string& payment_id) const;
  std::optional<SagaSummary> saga(const std::string& payment_id) const;
  // Non-terminal saga ids in id order, strictly after `after_id`, at most `limit`.
  std::vector<std::string> open_sagas(const std::string& after_id, size_t limit) const;
  std::map<std::string, int64_t> count_by_state() const;
  int64_t event_count() const;
  std::optional<SnapshotRecord> snapshot(const std::string& payment_id) const;

  // Idempotency: the payment an (tenant, key) maps to, with its request hash.
  struct IdempotencyEntry {
    std::string payment_id;
    std::string request_hash;
    int64_t created_ms = 0;
  };
  std::optional<IdempotencyEntry> idempotency(const std::string& tenant, const std::string& key) const;
  // Deletes keys created before now_ms - ttl. Returns how many went.
  int64_t purge_idempotency(int64_t now_ms);
  // The same, deleting at most `max_rows` keys (oldest first), so that one
  // call keeps the journal's thread busy for a bounded time. Returns how
  // many went (== max_rows: call again), or -1 when SQLite failed.
  int64_t purge_idempotency(int64_t now_ms, size_t max_rows);

  // Outbox (relayed to Kafka by the outbox relay): the published events not
  // yet confirmed, oldest first; with `after_seq`, only those past it too
  // (a relay with events in flight reads on from the last one it sent).
  // Deleting through a seq confirms every published event up to it; they
  // are never returned again.
  std::vector<OutboxRow> outbox_peek(size_t limit, int64_t after_seq = 0) const;
  Result<Unit> outbox_delete_through(int64_t seq);
  // Published events not yet confirmed. Counted once, then kept as a
  // running count: a metrics scrape or the relay never scans the backlog.
  int64_t outbox_size() const;

  // Checkpoints completed so far (the WAL copied back into the database):
  // by the background thread, and by the writer itself (when nothing runs
  // in the background, or past its bound when the thread falls behind).
  struct CheckpointCounts {
    uint64_t background = 0;
    uint64_t writer = 0;
    uint64_t writer_waits = 0;  // the writer waited for the thread's checkpoint (a slow disk)
  };
  CheckpointCounts checkpoints() const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace payengine::sagas
