// JournalReader: read-only queries over the engine's SQLite database, on a
// connection of its own, for ingress (GET /v1/payments...) and admin tools.
//
// Why a second connection: the journal actor owns the write connection and
// group-commits; queuing reads behind its batches would make every status
// read wait for a commit (and a read would delay the next commit). In WAL
// mode a reader sees the last committed state without blocking the writer,
// and the writer never blocks a reader.
//
// Promises:
//  - Never writes: the connection is opened read-only (and `query_only`).
//  - Every query is tenant-scoped: a payment of another tenant is reported
//    exactly like a payment that does not exist (nothing), so ids do not leak.
//  - Every answer is bounded: `list` inspects at most `max_scan` sagas per
//    call and returns at most `limit` items; `payment` returns at most
//    `max_events` events (the oldest ones; `events_truncated` says so).
//  - What it reads was committed: a payment whose InitiateReply was
//    `accepted` is visible to the next read.
//  - Thread-safe: calls are serialized on one internal mutex (each is a few
//    indexed lookups; one connection keeps the page cache warm).
//  - SQLite failures come back as Error{"sqlite", message}.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sagas/result.hpp"
#include "sagas/store.hpp"

namespace payengine::sagas {

// One payment as ingress shows it.
struct PaymentRecord {
  SagaSummary summary;
  std::string rail;                 // journaled by the route step ("EFT", ...); "" before routing
  std::string reason_code;          // the final event's ISO 20022 reason; "" when none
  std::string reason_detail;        // the final event's detail
  std::string instruction;          // the "received" event's data (the instruction JSON)
  std::vector<StoredEvent> events;  // oldest first
  bool events_truncated = false;
};

struct PaymentListItem {
  SagaSummary summary;
  std::string rail;
  std::string reason_code;
};

struct PaymentFilter {
  std::string state;  // "" any; else a payment state name
  std::string rail;   // "" any; else a rail name (payments not routed yet never match)
};

struct PaymentPage {
  std::vector<PaymentListItem> items;  // payment id order
  // Non-empty when there may be more: pass it as `after_id` for the next
  // page. With a filter a page can hold fewer than `limit` items (even none)
  // and still have a next page, because each call inspects at most
  // `max_scan` sagas.
  std::string next_after;
};

class JournalReader {
 public:
  // Opens `path` read-only. The database must exist with the Store's schema
  // (open the Store first).
  static Result<std::unique_ptr<JournalReader>> open(const std::string& path);
  ~JournalReader();
  JournalReader(const JournalReader&) = delete;
  JournalReader& operator=(const JournalReader&) = delete;

  // The payment `payment_id` of `tenant`, or nothing.
  Result<std::optional<PaymentRecord>> payment(const std::string& tenant,
                                               const std::string& payment_id,
                                               size_t max_events = 1000) const;

  // The tenant's payments with ids strictly after `after_id` ("" from the
  // start) that match `filter`, in id order (ids are time-ordered to the
  // millisecond, so this is creation order up to ties within a millisecond).
  Result<PaymentPage> list(const std::string& tenant, const PaymentFilter& filter,
                           const std::string& after_id, size_t limit, size_t max_scan) const;

  // The idempotency key's entry, as Store::idempotency.
  Result<std::optional<Store::IdempotencyEntry>> idempotency(const std::string& tenant,
                                                             const std::string& key) const;

  Result<int64_t> event_count() const;

 private:
  struct Impl;
  explicit JournalReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace payengine::sagas
