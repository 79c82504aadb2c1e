// Shared Kafka helpers: properties, client configuration, trace contexts.
#include "actors/kafka_common.hpp"

#include <librdkafka/rdkafka.h>

#include <iostream>

namespace payengine::kafka {

Result<Property> parse_property(std::string_view key_value) {
  size_t eq = key_value.find('=');
  if (eq == std::string_view::npos)
    return Error{"kafka_config", "expected key=value, got \"" + std::string(key_value) + "\""};
  std::string key(key_value.substr(0, eq));
  while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
  while (!key.empty() && (key.front() == ' ' || key.front() == '\t')) key.erase(0, 1);
  if (key.empty()) return Error{"kafka_config", "empty key in \"" + std::string(key_value) + "\""};
  return Property{key, std::string(key_value.substr(eq + 1))};
}

void log_line(const LogFn& log, const std::string& line) {
  if (log) {
    log(line);
  } else {
    std::cerr << line << '\n';
  }
}

std::vector<Property> protected_properties(ClientRole role) {
  if (role == ClientRole::consumer)
    return {{"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"}};
  return {{"enable.idempotence", "true"}, {"acks", "all"}};
}

namespace {

bool same_setting(const std::string& key, const std::string& a, const std::string& b) {
  if (a == b) return true;
  // librdkafka spells acks=all also as -1.
  if (key == "acks" || key == "request.required.acks")
    return (a == "all" || a == "-1") && (b == "all" || b == "-1");
  return false;
}

}  // namespace

std::vector<Property> properties_for(ClientRole role, const std::vector<Property>& properties) {
  const std::string mine = role == ClientRole::consumer ? "consumer." : "producer.";
  const std::string other = role == ClientRole::consumer ? "producer." : "consumer.";
  std::vector<Property> out;
  for (const auto& [k, v] : properties) {
    if (k.rfind(other, 0) == 0) continue;
    out.emplace_back(k.rfind(mine, 0) == 0 ? k.substr(mine.size()) : k, v);
  }
  return out;
}

Result<rd_kafka_conf_t*> make_client_conf(ClientRole role, const std::string& bootstrap,
                                          const std::vector<Property>& defaults,
                                          const std::vector<Property>& all_properties) {
  const std::vector<Property> properties = properties_for(role, all_properties);
  const std::vector<Property> guarded = protected_properties(role);
  for (const auto& [k, v] : properties) {
    for (const auto& [gk, gv] : guarded) {
      bool alias = (gk == "acks" && k == "request.required.acks");
      if ((k == gk || alias) && !same_setting(gk, v, gv))
        return Error{"kafka_config", "property " + k + "=" + v +
                                         " would weaken a delivery guarantee; it must be " + gv};
    }
    if (k == "bootstrap.servers" || k == "metadata.broker.list")
      return Error{"kafka_config", "property " + k + " is set by kafka.brokers"};
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) -> std::optional<Error> {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      return Error{"kafka_config", "property " + k + "=" + v + ": " + err};
    return std::nullopt;
  };
  std::optional<Error> bad = set("bootstrap.servers", bootstrap);
  for (const auto& [k, v] : defaults)
    if (!bad) bad = set(k, v);
  for (const auto& [k, v] : properties)
    if (!bad) bad = set(k, v);
  for (const auto& [k, v] : guarded)
    if (!bad) bad = set(k, v);
  if (bad) {
    rd_kafka_conf_destroy(conf);
    return *bad;
  }
  return conf;
}

bool is_valid_traceparent(std::string_view v) {
  // 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  auto hex = [&](size_t from, size_t n, bool& all_zero) {
    all_zero = true;
    for (size_t i = from; i < from + n; ++i) {
      char c = v[i];
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      if (!ok) return false;
      if (c != '0') all_zero = false;
    }
    return true;
  };
  bool zero = false;
  if (!hex(0, 2, zero) || v.substr(0, 2) != "00") return false;
  if (!hex(3, 32, zero) || zero) return false;
  if (!hex(36, 16, zero) || zero) return false;
  return hex(53, 2, zero);
}

void TraceContexts::put(const std::string& payment_id, const std::string& traceparent) {
  insert(payment_id, traceparent, true);
}

void TraceContexts::put_if_absent(const std::string& payment_id, const std::string& traceparent) {
  insert(payment_id, traceparent, false);
}

void TraceContexts::insert(const std::string& payment_id, const std::string& traceparent,
                           bool replace) {
  if (capacity_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(payment_id);
  if (it != map_.end()) {
    if (replace) it->second = traceparent;
    return;
  }
  while (order_.size() >= capacity_) {
    map_.erase(order_.front());
    order_.pop_front();
  }
  map_.emplace(payment_id, traceparent);
  order_.push_back(payment_id);
}

std::optional<std::string> TraceContexts::get(const std::string& payment_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(payment_id);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

void TraceContexts::erase(const std::string& payment_id) {
  std::lock_guard<std::mutex> lock(mu_);
  map_.erase(payment_id);
}

size_t TraceContexts::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

}  // namespace payengine::kafka
