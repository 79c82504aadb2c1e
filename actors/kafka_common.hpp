// What the Kafka pieces (actors/kafka_embedded.hpp, actors/command_consumer.hpp,
// actors/outbox_relay.hpp, actors/kafka.hpp) share: topic names, the broker
// setting with its librdkafka pass-through properties, building a client's
// configuration, and the bounded map of W3C trace contexts by payment.
//
// Promises:
//  - `make_client_conf` applies the defaults a role needs, then the
//    caller's pass-through properties; a property librdkafka refuses, or one
//    that would weaken a guarantee (see `kProtectedProperties`), is an
//    error naming it, never silently dropped.
//  - `TraceContexts` never holds more than its capacity: the oldest entry
//    goes first. It is a best-effort, in-memory hint (lost on restart).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sagas/result.hpp"

typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace payengine::kafka {

inline constexpr const char* kCommandsTopic = "payments.commands";
inline constexpr const char* kDlqTopic = "payments.commands.dlq";
inline constexpr const char* kEventsTopic = "payments.events";

// `kafka.brokers`: "embedded" (the default) starts librdkafka's mock cluster
// in-process; anything else is a bootstrap list ("host:port,host:port").
inline constexpr const char* kEmbeddedBrokers = "embedded";

using Property = std::pair<std::string, std::string>;

struct KafkaSettings {
  std::string brokers = kEmbeddedBrokers;
  // librdkafka settings passed through to the clients (consumer, DLQ
  // producer, relay producer), e.g. {"security.protocol", "SASL_SSL"};
  // "consumer.<key>" / "producer.<key>" reach only that role.
  std::vector<Property> properties;

  bool embedded() const { return brokers == kEmbeddedBrokers; }
};

// "key=value" -> {key, value}; the value may contain '=' and may be empty.
// Errors (code "kafka_config"): no '=', or an empty key.
Result<Property> parse_property(std::string_view key_value);

// Where log lines go (one line each, no trailing newline). Empty: stderr.
using LogFn = std::function<void(const std::string&)>;
void log_line(const LogFn& log, const std::string& line);

// The role a client plays; decides its defaults and protected settings.
enum class ClientRole : uint8_t { consumer, producer };

// Settings the pieces depend on for their guarantees. A pass-through
// property may repeat them with the same value; another value is an error.
//   consumer: enable.auto.commit=false, enable.auto.offset.store=false
//   producer: enable.idempotence=true, acks=all
std::vector<Property> protected_properties(ClientRole role);

// The pass-through properties a role gets: "consumer.<key>" only the
// consumer, "producer.<key>" only the producers (prefix removed), any other
// key every client. (No librdkafka property starts with either prefix.)
std::vector<Property> properties_for(ClientRole role, const std::vector<Property>& properties);

// A new rd_kafka_conf_t with bootstrap.servers, `defaults` (role-specific
// tuning the caller chose), then the role's pass-through `properties`
// (properties_for), then the protected settings. The caller owns the result
// (pass it to rd_kafka_new, or rd_kafka_conf_destroy it). Errors: code
// "kafka_config".
Result<rd_kafka_conf_t*> make_client_conf(ClientRole role, const std::string& bootstrap,
                                          const std::vector<Property>& defaults,
                                          const std::vector<Property>& properties);

// True for a W3C trace-context `traceparent` value of version 00:
// "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", ids not all zero.
bool is_valid_traceparent(std::string_view value);

// payment id -> the traceparent of the command that created it. Filled by
// the command consumer when an initiate is accepted, read by the outbox
// relay to put the same traceparent on the payment's events. Thread-safe.
class TraceContexts {
 public:
  explicit TraceContexts(size_t capacity = 65'536) : capacity_(capacity) {}
  void put(const std::string& payment_id, const std::string& traceparent);
  // Keeps an existing entry (a replayed command must not replace the trace
  // of the command that created the payment).
  void put_if_absent(const std::string& payment_id, const std::string& traceparent);
  std::optional<std::string> get(const std::string& payment_id) const;
  void erase(const std::string& payment_id);
  size_t size() const;

 private:
  void insert(const std::string& payment_id, const std::string& traceparent, bool replace);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> map_;
  std::deque<std::string> order_;  // insertion order, for eviction (may hold erased ids)
};

}  // namespace payengine::kafka
