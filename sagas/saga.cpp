#include "sagas/saga.hpp"

#include <nlohmann/json.hpp>

namespace payengine::sagas {

StepOutcome StepOutcome::success(std::string output_json, LedgerOp op) {
  StepOutcome o;
  o.ok = true;
  o.output = std::move(output_json);
  o.ledger = std::move(op);
  return o;
}

StepOutcome StepOutcome::failure(ErrorKind kind, std::string reason_code, std::string detail) {
  StepOutcome o;
  o.ok = false;
  o.error = StepError{kind, std::move(reason_code), std::move(detail)};
  return o;
}

bool RetryPolicy::retries(ErrorKind kind) const {
  switch (kind) {
    case ErrorKind::business:
      return false;
    case ErrorKind::transient:
      return retry_transient;
    case ErrorKind::timeout:
      return retry_timeout;
  }
  return false;
}

int64_t RetryPolicy::backoff_ms(uint32_t failed_attempt, Rng& rng) const {
  int64_t d = initial_backoff_ms;
  for (uint32_t i = 1; i < failed_attempt && d < max_backoff_ms; ++i) d *= multiplier;
  if (d > max_backoff_ms) d = max_backoff_ms;
  if (d <= 0) return 0;
  if (!jitter) return d;
  int64_t half = d / 2;
  return half + static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(d - half) + 1));
}

std::string json_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string json_get_string(const std::string& json, const std::string& key) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

int64_t json_get_int(const std::string& json, const std::string& key) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  return it->get<int64_t>();
}

}  // namespace payengine::sagas
