// KafkaBridge: the Kafka door of `payengine serve` in one object — the
// embedded broker (when `kafka.brokers: embedded`), the command consumer
// and the outbox relay, started and stopped together.
//
//   kcat ──► payments.commands ──► CommandConsumer ──► Engine (journal)
//                 │ bad commands                           │ published events
//                 ▼                                        ▼
//        payments.commands.dlq                 OutboxRelay ──► payments.events ──► kcat
//
// Promises:
//  - `start` returns once every part runs: the embedded cluster listens on
//    127.0.0.1 with its three topics, the consumer has subscribed, the relay
//    has its producer. An error names the part that failed; nothing is left
//    running.
//  - `stop` (also the destructor) stops the consumer first (it commits
//    what is durable), then the relay (its cursor stays where delivery was
//    confirmed), then the embedded broker. Stop the bridge before the
//    Engine is destroyed.
//  - The metrics module reads `consumer_stats()` and `relay_stats()` at any
//    time (atomics): consumer lag, DLQ count, outbox backlog, ...
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "actors/command_consumer.hpp"
#include "actors/kafka_common.hpp"
#include "actors/kafka_embedded.hpp"
#include "actors/outbox_relay.hpp"
#include "sagas/result.hpp"

namespace payengine {
class Engine;
}

namespace payengine::kafka {

struct KafkaBridgeConfig {
  KafkaSettings settings;         // brokers ("embedded" by default) and pass-through properties
  EmbeddedKafkaOptions embedded;  // used when settings.embedded()
  ConsumerConfig consumer;        // bootstrap, properties and traces are filled in by the bridge
  RelayConfig relay;              // likewise
  bool run_consumer = true;
  bool run_relay = true;
  size_t trace_contexts = 65'536;  // payment id -> traceparent entries kept for the relay
};

// Builds the settings from `kafka.brokers` and "key=value" strings (e.g. a
// serve command's repeated --kafka-property flags). Errors: "kafka_config".
Result<KafkaSettings> kafka_settings(const std::string& brokers,
                                     const std::vector<std::string>& key_values);

class KafkaBridge {
 public:
  static Result<std::unique_ptr<KafkaBridge>> start(Engine& engine, KafkaBridgeConfig config);
  ~KafkaBridge();
  KafkaBridge(const KafkaBridge&) = delete;
  KafkaBridge& operator=(const KafkaBridge&) = delete;

  void stop();

  // The bootstrap address clients use (the embedded cluster's, or the
  // configured brokers).
  const std::string& bootstrap() const { return bootstrap_; }
  bool embedded() const { return embedded_ != nullptr; }
  EmbeddedKafka* embedded_cluster() { return embedded_.get(); }

  // Prints where Kafka is and how to reach it with kcat, e.g.
  //   kafka: embedded broker at 127.0.0.1:40123 (topics payments.commands, ...)
  void print_bootstrap(std::ostream& out) const;

  // nullptr when that part is not running.
  const ConsumerStats* consumer_stats() const;
  const RelayStats* relay_stats() const;

 private:
  KafkaBridge() = default;

  std::unique_ptr<EmbeddedKafka> embedded_;
  std::shared_ptr<TraceContexts> traces_;
  std::unique_ptr<OutboxRelay> relay_;
  std::unique_ptr<CommandConsumer> consumer_;
  std::string bootstrap_;
};

}  // namespace payengine::kafka
