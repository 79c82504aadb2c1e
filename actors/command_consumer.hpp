// CommandConsumer: payment commands from Kafka into the Engine.
//
// Reads `payments.commands` in a consumer group on its own thread. A
// command is a JSON envelope
//
//   {"type": "payment.initiate" | "payment.cancel", "version": 1,
//    "id": "<command id, 1..128 chars>", "tenant": "<bank>", "payload": {...}}
//
// with the W3C `traceparent` in a message header.
//  - payment.initiate: `payload` is the instruction JSON of
//    sagas::instruction_from_json (`amount_minor` an integer; a decimal
//    string `amount` in the currency's major unit is accepted instead, e.g.
//    "100.25" ZAR). The payload's tenant must equal the envelope's (or is
//    filled from it). The instruction is validated before the Engine sees
//    it, then initiated with the idempotency key "kafka:" + id and a hash
//    of the canonical instruction: a redelivered command (same id, same
//    instruction) is answered `replayed` by the journal and applied once;
//    the same id with another instruction is a conflict.
//  - The message key orders: commands with the same key are applied one
//    at a time in offset order (the first of two initiates with one id
//    wins; a cancel comes after the initiate it follows). Produce an
//    initiate and its cancels with the same key (the command id, say).
//    Commands with different keys run concurrently.
//  - payment.cancel: names its payment by `payload.payment_id`, else by
//    `payload.initiate_id` (the id of the initiate command that created
//    it), else by the message key. A payment of another tenant is "not
//    found". Produced with the key of its initiate, a cancel runs only
//    once that initiate is durable (key order, above); with another key it
//    may run first and find nothing (not_found).
//
// Promises:
//  - An offset is committed only when every command at or below it on its
//    partition is durable in the journal (initiate answered accepted or
//    replayed, cancel answered) or acknowledged by the DLQ (acks=all).
//    Commits are per partition, monotonic, and never skip a command still
//    in flight (contiguous completion), so a crash redelivers at most the
//    uncommitted tail, and redelivered initiates are replayed, not re-applied.
//  - A bad command never stalls the consumer: it goes to
//    `payments.commands.dlq` with its original key, value and headers, plus
//    headers error.code, error.message, error.field (when known),
//    error.reason (ISO 20022 code, when one applies), original.topic,
//    original.partition and original.offset. error.code is one of:
//      malformed           not JSON, not an object, nested too deep, too large
//      missing_field       a required envelope field is absent or empty
//      invalid_field       an envelope field has the wrong type or form
//      unknown_type        type is not payment.initiate / payment.cancel
//      unsupported_version version is not 1
//      tenant_mismatch     payload tenant differs from the envelope's
//      invalid             the instruction fails validation (error.reason, error.field)
//      conflict            the command id was used before with another instruction
//      not_found           cancel: no such payment for this tenant
//      engine_failed       the journal kept failing after `failed_attempts` tries
//  - Admission control (`overloaded`): the refused commands wait, oldest
//    first, and are sent again as soon as the engine has room (so intake
//    under pressure runs at the rate sagas finish); nothing new is read
//    meanwhile. No room for `pause_after_ms` pauses every assigned
//    partition, which resume once no refused command is left.
//  - Bounded: at most `max_in_flight` commands read and not yet complete;
//    a cancel that comes back too_late or already_final is complete (the
//    answer is counted, not dead-lettered: the payment's events tell how it
//    ended).
//  - `stop()` stops reading, waits up to `stop_timeout_ms` for commands in
//    flight, commits what is complete, leaves the group and joins the
//    thread. The Engine must outlive the consumer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/kafka_common.hpp"
#include "sagas/result.hpp"

namespace payengine {
class Engine;
}

namespace payengine::kafka {

struct ConsumerConfig {
  std::string bootstrap;             // "host:port,..."
  std::vector<Property> properties;  // librdkafka pass-through (consumer and DLQ producer)
  std::string group_id = "payengine";
  std::string topic = kCommandsTopic;
  std::string dlq_topic = kDlqTopic;
  size_t max_in_flight = 1'024;           // commands read and not yet complete
  size_t max_command_bytes = 256 * 1024;  // larger values go to the DLQ (malformed)
  size_t max_json_depth = 32;             // deeper nesting goes to the DLQ (malformed)
  int64_t poll_timeout_ms = 50;           // one wait of the poll loop
  int64_t commit_interval_ms = 100;       // how often completed offsets are committed
  int64_t stats_interval_ms = 200;        // how often lag is recomputed
  int64_t backoff_initial_ms = 10;        // retry of failed commands
  int64_t backoff_max_ms = 1'000;
  // Initiates answered overloaded are sent again as the engine has room;
  // reading stops while any waits, and the partitions are paused once the
  // engine has had no room for this long.
  int64_t pause_after_ms = 100;
  uint32_t failed_attempts = 5;        // journal failures before a command is dead-lettered
  int64_t cancel_timeout_ms = 10'000;  // one Engine::cancel
  int64_t stop_timeout_ms = 10'000;    // waiting for commands in flight at stop
  // Filled with payment id -> traceparent as initiates are answered (shared:
  // the Engine may answer after the consumer stopped).
  std::shared_ptr<TraceContexts> traces;
  LogFn log;  // DLQ'd commands, errors (rate-limited); may be called from librdkafka threads;
              // empty: stderr
  size_t max_log_lines_per_s = 20;
};

// Counters a metrics module can read at any time (relaxed atomics).
struct ConsumerStats {
  std::atomic<uint64_t> consumed{0};   // messages read from the topic
  std::atomic<uint64_t> initiated{0};  // initiates answered accepted
  std::atomic<uint64_t> replayed{0};   // initiates answered replayed (redelivery, duplicate id)
  std::atomic<uint64_t> cancels_accepted{0};
  std::atomic<uint64_t> cancels_refused{0};  // too_late or already_final
  std::atomic<uint64_t> dlq{0};              // commands acknowledged by the DLQ
  std::atomic<uint64_t> overloaded{0};       // overloaded answers (each one retried)
  std::atomic<uint64_t> engine_failures{0};  // failed answers (retried, then DLQ)
  std::atomic<uint64_t> pauses{0};           // times the partitions were paused
  std::atomic<uint64_t> resumes{0};
  std::atomic<bool> paused{false};
  std::atomic<uint64_t> in_flight{0};  // commands read and not yet complete
  std::atomic<uint64_t> commits{0};    // offset commits that succeeded
  std::atomic<uint64_t> commit_failures{0};
  std::atomic<int64_t> lag{0};  // sum over assigned partitions of high watermark - committed
  std::atomic<uint64_t> assigned_partitions{0};
};

class CommandConsumer {
 public:
  // Creates the consumer and the DLQ producer, subscribes and starts the
  // poll thread. Errors: "kafka_config" (a refused property), "kafka".
  static Result<std::unique_ptr<CommandConsumer>> start(Engine& engine, ConsumerConfig config);
  ~CommandConsumer();  // stop()
  CommandConsumer(const CommandConsumer&) = delete;
  CommandConsumer& operator=(const CommandConsumer&) = delete;

  void stop();
  const ConsumerStats& stats() const;

  // Next offset committed per partition (what the group will resume from),
  // as confirmed by the broker; -1 when nothing was committed yet.
  std::vector<std::pair<int32_t, int64_t>> committed() const;

  struct Impl;

 private:
  explicit CommandConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace payengine::kafka
