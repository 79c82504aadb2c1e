// `payengine bench kafka`: commands/s from Kafka into the journal against
// the raw consume ceiling, in one run, on the embedded broker
// (EmbeddedKafka: librdkafka's mock cluster over loopback TCP).
//   1. A librdkafka producer (batched, lz4, every delivery report awaited)
//      puts `commands` valid payment.initiate commands on payments.commands
//      (the CommandConsumer's envelope {type, version: 1, id, tenant,
//      payload}, key = id, a W3C traceparent header), for two tenants
//      whose debtor accounts are funded for all of them.
//   2. The ceiling: a plain librdkafka consumer in a new group
//      (auto.offset.reset=earliest) reads every message and does nothing
//      with it: messages/s, from creating the consumer (group join
//      included) to the last message.
//   3. An Engine (simulated rail, a fresh journal in a temporary directory)
//      and a CommandConsumer (plus the OutboxRelay with `relay`, as
//      KafkaBridge would run them), timed from starting the consumer until
//      ConsumerStats counts every command journaled (initiated) and the
//      group's committed offsets reach the end of every partition. Waits
//      poll every 10 ms under a 10 minute deadline.
//
// Promises:
//  - Verifies that the topic holds exactly `commands` messages (the mock
//    broker keeps at most 5 MiB per partition and drops the oldest) and,
//    afterwards, that the journal holds exactly `commands` payments and
//    nothing went to the DLQ; the exit status is 1 when not.
//  - The target (>= 50,000 commands/s) is printed, never asserted; the exit
//    status is 2 only when the benchmark cannot run (broker, producer,
//    engine or consumer failing, a deadline passing), 0 otherwise.
//  - `json`: stdout is one JSON object on one line (progress on stderr).
#pragma once

#include <cstdint>
#include <string>

namespace payengine {

struct BenchKafkaOptions {
  uint64_t commands = 50'000;
  std::string sync = "full";
  bool relay = false;  // also run the outbox relay (events to payments.events) during intake
  // The engine's admission cap per shard (4 shards); a small one shows
  // intake under pressure (overloaded answers, paused partitions).
  uint64_t max_active_per_shard = 10'000;
  bool json = false;
};

int run_bench_kafka(const BenchKafkaOptions& options);

}  // namespace payengine
