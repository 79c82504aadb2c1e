// EmbeddedKafka over rd_kafka_mock_cluster_new.
#include "actors/kafka_embedded.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "actors/kafka_common.hpp"

namespace payengine::kafka {

Result<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::start(const EmbeddedKafkaOptions& options) {
  if (options.brokers < 1 || options.command_partitions < 1 || options.dlq_partitions < 1 ||
      options.event_partitions < 1)
    return Error{"kafka_config",
                 "embedded Kafka needs at least one broker and one partition per topic"};
  std::unique_ptr<EmbeddedKafka> k(new EmbeddedKafka());
  k->options_ = options;

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The book-keeping client never connects anywhere; keep it quiet.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_conf_set(conf, "client.id", "payengine-embedded-kafka", err, sizeof err);
  k->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!k->handle_) {
    rd_kafka_conf_destroy(conf);
    return Error{"kafka", std::string("embedded Kafka: rd_kafka_new: ") + err};
  }
  k->cluster_ = rd_kafka_mock_cluster_new(k->handle_, options.brokers);
  if (!k->cluster_) return Error{"kafka", "embedded Kafka: rd_kafka_mock_cluster_new failed"};
  k->bootstrap_ = rd_kafka_mock_cluster_bootstraps(k->cluster_);

  const int replication = options.brokers >= 3 ? 3 : options.brokers;
  struct {
    const char* name;
    int partitions;
  } topics[] = {{kCommandsTopic, options.command_partitions},
                {kDlqTopic, options.dlq_partitions},
                {kEventsTopic, options.event_partitions}};
  for (const auto& t : topics) {
    rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(k->cluster_, t.name, t.partitions, replication);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      return Error{"kafka",
                   std::string("embedded Kafka: creating ") + t.name + ": " + rd_kafka_err2str(e)};
  }
  return k;
}

EmbeddedKafka::~EmbeddedKafka() {
  if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_) rd_kafka_destroy(handle_);
}

void EmbeddedKafka::set_brokers_down() { rd_kafka_mock_broker_set_down(cluster_, -1); }
void EmbeddedKafka::set_brokers_up() { rd_kafka_mock_broker_set_up(cluster_, -1); }

}  // namespace payengine::kafka
