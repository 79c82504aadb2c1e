// OutboxRelay: the journal's published events to Kafka `payments.events`.
//
// On its own thread: reads the published events past the outbox cursor in
// journal order (Engine::with_store -> Store::outbox_peek), produces each
// with key = payment id and value = the event JSON
//   {"seq":..,"payment_id":..,"tenant":..,"kind":..,"step":..,"state":..,"at_ms":..,"data":{..}}
// through an idempotent producer (enable.idempotence=true, acks=all,
// message.timeout.ms=0: librdkafka retries until delivered), and moves the
// cursor (Store::outbox_delete_through) only through the longest prefix of
// events whose delivery reports all came back successful.
//
// Promises:
//  - Nothing is dropped: a crash, a stop or a failed delivery leaves the
//    cursor where delivery was confirmed, and the next run re-sends from
//    there (after a crash: what was in flight, and what was confirmed since
//    the last cursor write, at most `cursor_interval_ms` old). Delivery into
//    Kafka is therefore at-least-once; consumers deduplicate by
//    (payment_id, seq), both in every event.
//  - Ordered per payment: one key maps to one partition, and the relay
//    produces in seq order with an idempotent producer whose messages never
//    time out, so retriable errors (a broker down, a leader change) never
//    reorder or drop anything. A permanent refusal (the broker rejects a
//    request) fails that event: the relay stops producing, waits for the
//    reports in flight, and resends everything from the first unconfirmed
//    event, in order. Events of the same payment produced after the failed
//    one may have arrived already, so in that case alone a payment's events
//    can appear once out of order before the in-order resend. Consumers
//    deduplicate by (payment_id, seq) and order a payment's events by seq.
//  - Bounded: reads `batch_rows` events at a time, and keeps at most
//    `max_in_flight` produced and unconfirmed; several batches overlap.
//  - The traceparent of the command that created a payment (TraceContexts,
//    best effort, in memory) is copied onto its events as a header.
//  - `stop()` waits up to `stop_timeout_ms` for the events in flight, moves
//    the cursor through what was confirmed, and joins the thread. The
//    Engine must outlive the relay.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/kafka_common.hpp"
#include "sagas/result.hpp"

namespace payengine {
class Engine;
}

namespace payengine::kafka {

struct RelayConfig {
  std::string bootstrap;
  std::vector<Property> properties;  // librdkafka pass-through
  std::string topic = kEventsTopic;
  size_t batch_rows = 1'024;     // events read from the journal at a time
  size_t max_in_flight = 8'192;  // events produced and not yet confirmed, at most
  int64_t cursor_interval_ms =
      20;                     // the cursor is written at most this often (a SQLite transaction)
  int64_t idle_wait_ms = 20;  // wait when the outbox is empty
  int64_t retry_backoff_ms = 500;         // after a failed delivery, before re-sending
  int64_t stop_timeout_ms = 5'000;        // waiting for the events in flight at stop
  int64_t backlog_interval_ms = 1'000;    // how often the outbox backlog is counted
  std::shared_ptr<TraceContexts> traces;  // read for each event; entries of ended payments erased
  LogFn log;  // failures; may be called from librdkafka threads; empty: stderr
};

struct RelayStats {
  std::atomic<uint64_t> produced{0};            // events handed to the producer (re-sends included)
  std::atomic<uint64_t> delivered{0};           // delivery reports without error
  std::atomic<uint64_t> delivery_failures{0};   // delivery reports with an error
  std::atomic<uint64_t> resends{0};             // batches re-sent after a failure
  std::atomic<uint64_t> batches{0};             // batches read from the journal
  std::atomic<int64_t> relayed_through_seq{0};  // the outbox cursor as this relay moved it
  std::atomic<int64_t> backlog{-1};  // published events past the cursor (-1: not counted yet)
};

class OutboxRelay {
 public:
  // Creates the producer and starts the thread. Errors: "kafka_config", "kafka".
  static Result<std::unique_ptr<OutboxRelay>> start(Engine& engine, RelayConfig config);
  ~OutboxRelay();  // stop()
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  void stop();
  const RelayStats& stats() const;

  struct Impl;

 private:
  explicit OutboxRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace payengine::kafka
