// KafkaBridge: wiring of the embedded broker, the consumer and the relay.
#include "actors/kafka.hpp"

#include <ostream>

namespace payengine::kafka {

Result<KafkaSettings> kafka_settings(const std::string& brokers,
                                     const std::vector<std::string>& key_values) {
  KafkaSettings s;
  s.brokers = brokers.empty() ? std::string(kEmbeddedBrokers) : brokers;
  for (const auto& kv : key_values) {
    auto p = parse_property(kv);
    if (!p.ok()) return p.error();
    s.properties.push_back(std::move(p.value()));
  }
  return s;
}

Result<std::unique_ptr<KafkaBridge>> KafkaBridge::start(Engine& engine, KafkaBridgeConfig config) {
  std::unique_ptr<KafkaBridge> b(new KafkaBridge());
  if (config.settings.embedded()) {
    auto k = EmbeddedKafka::start(config.embedded);
    if (!k.ok()) return k.error();
    b->embedded_ = std::move(k.value());
    b->bootstrap_ = b->embedded_->bootstrap();
    // Defaults for the embedded cluster, before (so below) the user's own.
    std::vector<Property> props = kEmbeddedConsumerProperties;
    props.insert(props.end(), config.settings.properties.begin(), config.settings.properties.end());
    config.settings.properties = std::move(props);
  } else {
    b->bootstrap_ = config.settings.brokers;
  }
  b->traces_ = std::make_shared<TraceContexts>(config.trace_contexts);

  if (config.run_relay) {
    config.relay.bootstrap = b->bootstrap_;
    config.relay.properties = config.settings.properties;
    config.relay.traces = b->traces_;
    auto r = OutboxRelay::start(engine, std::move(config.relay));
    if (!r.ok()) return Error{r.error().code, "outbox relay: " + r.error().message};
    b->relay_ = std::move(r.value());
  }
  if (config.run_consumer) {
    config.consumer.bootstrap = b->bootstrap_;
    config.consumer.properties = config.settings.properties;
    config.consumer.traces = b->traces_;
    auto c = CommandConsumer::start(engine, std::move(config.consumer));
    if (!c.ok()) return Error{c.error().code, "command consumer: " + c.error().message};
    b->consumer_ = std::move(c.value());
  }
  return b;
}

KafkaBridge::~KafkaBridge() { stop(); }

void KafkaBridge::stop() {
  if (consumer_) consumer_->stop();
  if (relay_) relay_->stop();
  consumer_.reset();
  relay_.reset();
  embedded_.reset();
}

void KafkaBridge::print_bootstrap(std::ostream& out) const {
  out << "kafka: " << (embedded_ ? "embedded broker at " : "brokers ") << bootstrap_ << " (topics "
      << kCommandsTopic << ", " << kDlqTopic << ", " << kEventsTopic << ")\n"
      << "  produce: kcat -b " << bootstrap_ << " -P -t " << kCommandsTopic
      << " -k <payment key> -H traceparent=<w3c>\n"
      << "  events:  kcat -b " << bootstrap_ << " -C -t " << kEventsTopic << " -o beginning\n";
}

const ConsumerStats* KafkaBridge::consumer_stats() const {
  return consumer_ ? &consumer_->stats() : nullptr;
}

const RelayStats* KafkaBridge::relay_stats() const { return relay_ ? &relay_->stats() : nullptr; }

}  // namespace payengine::kafka
