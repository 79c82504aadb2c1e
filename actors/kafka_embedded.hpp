// EmbeddedKafka: librdkafka's mock cluster inside this process, so that
// `payengine serve` works with no Kafka installed (`kafka.brokers: embedded`)
// and tests have a real broker over TCP that kcat can talk to.
//
// Promises:
//  - `start` returns once the cluster listens on 127.0.0.1 (an ephemeral
//    port) and the topics payments.commands, payments.commands.dlq and
//    payments.events exist with the configured partition counts.
//  - `bootstrap()` is the address to give any Kafka client ("127.0.0.1:port").
//  - Destruction stops the cluster; clients still connected see the broker
//    go away (destroy them first for a quiet shutdown).
//
// What the mock cluster is not: it keeps everything in memory and, as
// librdkafka ships it, retains at most 5 MiB and 100,000 message sets per
// partition (the oldest go first). It supports produce, fetch, consumer
// groups with committed offsets and the idempotent producer; it has no
// durability. A demo and test broker, not a store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sagas/result.hpp"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace payengine::kafka {

// Consumer settings for the embedded cluster: when a group's last member
// leaves, librdkafka's mock coordinator holds the next join for the
// session timeout less one second (44 s with the default 45 s), so a
// consumer restarted in-process would wait that long. 6 s is also the
// smallest session timeout a real broker accepts by default.
inline const std::vector<std::pair<std::string, std::string>> kEmbeddedConsumerProperties = {
    {"consumer.session.timeout.ms", "6000"}, {"consumer.heartbeat.interval.ms", "500"}};

struct EmbeddedKafkaOptions {
  int brokers = 1;
  int command_partitions = 4;
  int dlq_partitions = 1;
  // More partitions than commands: events are ~8 per payment and each
  // partition retains at most 5 MiB (see above).
  int event_partitions = 16;
};

class EmbeddedKafka {
 public:
  static Result<std::unique_ptr<EmbeddedKafka>> start(const EmbeddedKafkaOptions& options = {});
  ~EmbeddedKafka();
  EmbeddedKafka(const EmbeddedKafka&) = delete;
  EmbeddedKafka& operator=(const EmbeddedKafka&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  const EmbeddedKafkaOptions& options() const { return options_; }

  // Fault injection for tests: every broker refuses connections (and drops
  // the open ones) until brought up again. Leadership does not move.
  void set_brokers_down();
  void set_brokers_up();

  // The underlying mock cluster, for other librdkafka mock calls.
  rd_kafka_mock_cluster_t* mock() { return cluster_; }

 private:
  EmbeddedKafka() = default;

  EmbeddedKafkaOptions options_;
  rd_kafka_t* handle_ = nullptr;  // the mock cluster's book-keeping client
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace payengine::kafka
