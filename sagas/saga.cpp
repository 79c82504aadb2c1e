#include "sagas/saga.hpp"

#include <algorithm>

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

std::string encode_snapshot(const SnapshotState& s) {
  const SagaProgress& p = s.progress;
  nlohmann::json j;
  j["v"] = 1;
  j["phase"] = static_cast<int>(p.phase);
  j["step"] = p.step;
  j["attempt"] = p.attempt;
  j["started_ms"] = p.started_ms;
  j["retry_at_ms"] = p.retry_at_ms;
  j["cancel_requested"] = p.cancel_requested;
  j["compensated_any"] = p.compensated_any;
  j["state"] = p.state;
  j["reason_code"] = p.reason_code;
  j["reason_detail"] = p.reason_detail;
  j["last_seq"] = p.last_seq;
  j["events"] = p.events;
  j["comp_step"] = s.comp_step;
  j["retry_is_compensation"] = s.retry_is_compensation;
  j["outputs"] = s.outputs;
  j["input"] = s.input;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<SnapshotState> decode_snapshot(const std::string& blob) {
  auto j = nlohmann::json::parse(blob, nullptr, false);
  if (!j.is_object() || j.value("v", 0) != 1) return std::nullopt;
  try {
    SnapshotState s;
    SagaProgress& p = s.progress;
    int phase = j.at("phase").get<int>();
    if (phase < 0 || phase > static_cast<int>(SagaProgress::Phase::done)) return std::nullopt;
    p.phase = static_cast<SagaProgress::Phase>(phase);
    p.step = j.at("step").get<size_t>();
    p.attempt = j.at("attempt").get<uint32_t>();
    p.started_ms = j.at("started_ms").get<int64_t>();
    p.retry_at_ms = j.at("retry_at_ms").get<int64_t>();
    p.cancel_requested = j.at("cancel_requested").get<bool>();
    p.compensated_any = j.at("compensated_any").get<bool>();
    p.state = j.at("state").get<std::string>();
    p.reason_code = j.at("reason_code").get<std::string>();
    p.reason_detail = j.at("reason_detail").get<std::string>();
    p.last_seq = j.at("last_seq").get<int64_t>();
    p.events = j.at("events").get<size_t>();
    s.comp_step = j.at("comp_step").get<size_t>();
    s.retry_is_compensation = j.at("retry_is_compensation").get<bool>();
    s.outputs = j.at("outputs").get<std::map<std::string, std::string>>();
    s.input = j.at("input").get<std::string>();
    return s;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::string snapshot_input(const std::string& blob) {
  auto s = decode_snapshot(blob);
  return s ? s->input : std::string();
}

std::string prepare_recovery(std::optional<SnapshotRecord>& snapshot,
                             std::vector<StoredEvent>& events) {
  std::string input = snapshot ? snapshot_input(snapshot->blob) : std::string();
  if (!input.empty()) {
    const int64_t covered = snapshot->seq;
    events.erase(std::remove_if(events.begin(), events.end(),
                                [covered](const StoredEvent& e) { return e.seq <= covered; }),
                 events.end());
    return input;
  }
  snapshot.reset();
  if (events.empty() || events.front().kind != "received") return {};
  return events.front().data;
}

}  // namespace payengine::sagas
