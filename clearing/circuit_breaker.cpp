#include "clearing/circuit_breaker.hpp"

#include <limits>

namespace payengine::clearing {
namespace {

constexpr uint32_t kMaxCountWindow = 100'000;
constexpr uint32_t kMaxTimeWindowSeconds = 86'400;
constexpr uint32_t kMaxProbes = 1'000;
constexpr int64_t kNoSecond = std::numeric_limits<int64_t>::min();

constexpr uint8_t kFailureBit = 1;
constexpr uint8_t kSlowBit = 2;

Error config_error(const std::string& field, const std::string& detail) {
  return Error{"config", field + ": " + detail};
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// "6 of 10 calls (60%)" with an integer percentage rounded down.
std::string ratio(uint64_t part, uint64_t whole, const char* noun) {
  return std::to_string(part) + " of " + std::to_string(whole) + " " + noun + " (" +
         std::to_string(whole ? part * 100 / whole : 0) + "%)";
}

}  // namespace

std::string_view to_string(BreakerState s) {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "?";
}

Result<Unit> validate(const BreakerConfig& c) {
  if (c.window_type != WindowType::count && c.window_type != WindowType::time)
    return config_error("window_type", "not count or time");
  const bool count = c.window_type == WindowType::count;
  const uint32_t max_window = count ? kMaxCountWindow : kMaxTimeWindowSeconds;
  if (c.window_size == 0 || c.window_size > max_window)
    return config_error("window_size", std::to_string(c.window_size) + " is outside 1.." +
                                           std::to_string(max_window) +
                                           (count ? " calls" : " seconds"));
  if (c.minimum_calls == 0) return config_error("minimum_calls", "0; must be at least 1");
  if (count && c.minimum_calls > c.window_size)
    return config_error("minimum_calls", std::to_string(c.minimum_calls) +
                                             " is above window_size " +
                                             std::to_string(c.window_size) +
                                             ": rates would never be evaluated");
  if (c.failure_rate_threshold_pct > 100)
    return config_error("failure_rate_threshold_pct",
                        std::to_string(c.failure_rate_threshold_pct) + " is above 100");
  if (c.slow_call_rate_threshold_pct > 100)
    return config_error("slow_call_rate_threshold_pct",
                        std::to_string(c.slow_call_rate_threshold_pct) + " is above 100");
  if (c.slow_call_duration_ms < 0)
    return config_error("slow_call_duration_ms",
                        std::to_string(c.slow_call_duration_ms) + " is negative");
  if (c.slow_call_rate_threshold_pct > 0 && c.slow_call_duration_ms == 0)
    return config_error("slow_call_duration_ms",
                        "0 with the slow-call trigger on: every call would be slow");
  if (c.failure_rate_threshold_pct == 0 && c.slow_call_rate_threshold_pct == 0 &&
      c.consecutive_failures_to_open == 0)
    return config_error(
        "failure_rate_threshold_pct, slow_call_rate_threshold_pct, consecutive_failures_to_open",
        "all 0: every trigger is off, the breaker could never open");
  if (c.wait_in_open_ms <= 0)
    return config_error("wait_in_open_ms", std::to_string(c.wait_in_open_ms) + " is not positive");
  if (c.half_open_permitted_calls == 0 || c.half_open_permitted_calls > kMaxProbes)
    return config_error("half_open_permitted_calls",
                        std::to_string(c.half_open_permitted_calls) + " is outside 1.." +
                            std::to_string(kMaxProbes));
  if (c.probe_timeout_ms <= 0)
    return config_error("probe_timeout_ms",
                        std::to_string(c.probe_timeout_ms) + " is not positive");
  return Unit{};
}

Result<CircuitBreaker> CircuitBreaker::make(const BreakerConfig& config, Listener listener) {
  auto ok = validate(config);
  if (!ok) return ok.error();
  CircuitBreaker b(config);
  b.listener_ = std::move(listener);
  return b;
}

CircuitBreaker::CircuitBreaker(const BreakerConfig& config)
    : config_(config),
      latest_ms_(std::numeric_limits<int64_t>::min()),
      rolled_second_(kNoSecond) {
  if (config_.window_type == WindowType::count)
    ring_.assign(config_.window_size, 0);
  else
    buckets_.assign(config_.window_size, Bucket{});
  probes_.assign(config_.half_open_permitted_calls, ProbeSlot{});
}

int64_t CircuitBreaker::clamp(int64_t now_ms) {
  if (now_ms > latest_ms_) latest_ms_ = now_ms;
  return latest_ms_;
}

void CircuitBreaker::roll_time_window(int64_t now_ms) {
  if (config_.window_type != WindowType::time) return;
  const int64_t second = floor_div(now_ms, 1000);
  if (rolled_second_ != kNoSecond && second <= rolled_second_) return;
  const int64_t size = config_.window_size;
  if (rolled_second_ == kNoSecond || second - rolled_second_ >= size) {
    for (Bucket& b : buckets_) b = Bucket{};
    calls_ = failures_ = slow_ = 0;
  } else {
    // At most window_size - 1 buckets to clear: bounded by the window.
    for (int64_t s = rolled_second_ + 1; s <= second; ++s) {
      Bucket& b = buckets_[static_cast<size_t>(((s % size) + size) % size)];
      calls_ -= b.calls;
      failures_ -= b.failures;
      slow_ -= b.slow;
      b = Bucket{};
    }
  }
  rolled_second_ = second;
}

void CircuitBreaker::clear_window() {
  for (uint8_t& o : ring_) o = 0;
  ring_head_ = ring_filled_ = 0;
  for (Bucket& b : buckets_) b = Bucket{};
  calls_ = failures_ = slow_ = 0;
  consecutive_failures_ = 0;
  for (ProbeSlot& p : probes_) p = ProbeSlot{};
  probe_successes_ = probe_slow_ = 0;
}

void CircuitBreaker::transition(BreakerState to, int64_t now_ms, const std::string& why) {
  const BreakerState from = state_;
  state_ = to;
  ++generation_;
  ++transitions_;
  state_since_ms_ = now_ms;
  clear_window();
  if (listener_) listener_(from, to, now_ms, why);
}

uint32_t CircuitBreaker::outstanding_probes() const {
  uint32_t n = 0;
  for (const ProbeSlot& p : probes_) n += p.active ? 1 : 0;
  return n;
}

void CircuitBreaker::advance(int64_t now_ms) {
  roll_time_window(now_ms);
  if (state_ == BreakerState::half_open) {
    for (const ProbeSlot& p : probes_) {
      if (p.active && now_ms - p.issued_ms >= config_.probe_timeout_ms) {
        transition(BreakerState::open, now_ms,
                   "probe_timeout: probe " + std::to_string(p.id) + " issued at " +
                       std::to_string(p.issued_ms) + " did not answer within " +
                       std::to_string(config_.probe_timeout_ms) + " ms");
        break;
      }
    }
  }
  if (state_ == BreakerState::open && !forced_open_ &&
      now_ms - state_since_ms_ >= config_.wait_in_open_ms) {
    transition(BreakerState::half_open, now_ms,
               "wait_elapsed: open for " + std::to_string(now_ms - state_since_ms_) + " ms");
  }
}

void CircuitBreaker::tick(int64_t now_ms) { advance(clamp(now_ms)); }

std::optional<Permit> CircuitBreaker::try_acquire(int64_t now_ms) {
  now_ms = clamp(now_ms);
  advance(now_ms);
  switch (state_) {
    case BreakerState::closed:
      return Permit{generation_, next_permit_id_++, false, now_ms};
    case BreakerState::open:
      return std::nullopt;
    case BreakerState::half_open:
      // A successful probe uses its permission up; an ignored one returns it.
      if (outstanding_probes() + probe_successes_ >= config_.half_open_permitted_calls)
        return std::nullopt;
      for (ProbeSlot& p : probes_) {
        if (!p.active) {
          p = ProbeSlot{true, next_permit_id_++, now_ms};
          return Permit{generation_, p.id, true, now_ms};
        }
      }
      return std::nullopt;
  }
  return std::nullopt;
}

void CircuitBreaker::record(Outcome outcome) {
  if (outcome == Outcome::ignored) return;
  const uint8_t bits = outcome == Outcome::failure ? kFailureBit
                       : outcome == Outcome::slow_success ? kSlowBit
                                                           : uint8_t{0};
  if (config_.window_type == WindowType::count) {
    if (ring_filled_ == ring_.size()) {
      const uint8_t old = ring_[ring_head_];
      --calls_;
      failures_ -= (old & kFailureBit) ? 1 : 0;
      slow_ -= (old & kSlowBit) ? 1 : 0;
    } else {
      ++ring_filled_;
    }
    ring_[ring_head_] = bits;
    ring_head_ = (ring_head_ + 1) % ring_.size();
  } else {
    const int64_t size = config_.window_size;
    Bucket& b = buckets_[static_cast<size_t>(((rolled_second_ % size) + size) % size)];
    ++b.calls;
    b.failures += (bits & kFailureBit) ? 1 : 0;
    b.slow += (bits & kSlowBit) ? 1 : 0;
  }
  ++calls_;
  failures_ += (bits & kFailureBit) ? 1 : 0;
  slow_ += (bits & kSlowBit) ? 1 : 0;
  if (outcome == Outcome::failure)
    ++consecutive_failures_;
  else
    consecutive_failures_ = 0;
}

void CircuitBreaker::evaluate_closed(int64_t now_ms) {
  const BreakerConfig& c = config_;
  if (c.consecutive_failures_to_open > 0 && consecutive_failures_ >= c.consecutive_failures_to_open) {
    transition(BreakerState::open, now_ms,
               "consecutive_failures: " + std::to_string(consecutive_failures_) +
                   " failures in a row, threshold " +
                   std::to_string(c.consecutive_failures_to_open));
    return;
  }
  if (calls_ < c.minimum_calls) return;
  if (c.failure_rate_threshold_pct > 0 &&
      failures_ * 100 >= uint64_t{c.failure_rate_threshold_pct} * calls_) {
    transition(BreakerState::open, now_ms,
               "failure_rate: " + ratio(failures_, calls_, "calls failed") + ", threshold " +
                   std::to_string(c.failure_rate_threshold_pct) + "%");
    return;
  }
  if (c.slow_call_rate_threshold_pct > 0 &&
      slow_ * 100 >= uint64_t{c.slow_call_rate_threshold_pct} * calls_) {
    transition(BreakerState::open, now_ms,
               "slow_call_rate: " + ratio(slow_, calls_, "calls slow") + ", threshold " +
                   std::to_string(c.slow_call_rate_threshold_pct) + "%");
  }
}

bool CircuitBreaker::answer(const Permit& permit, Outcome outcome, int64_t now_ms) {
  now_ms = clamp(now_ms);
  advance(now_ms);
  if (permit.generation != generation_) return false;
  if (!permit.probe) {
    if (state_ != BreakerState::closed) return false;  // cannot happen: generations differ
    record(outcome);
    if (outcome != Outcome::ignored) evaluate_closed(now_ms);
    return true;
  }
  if (state_ != BreakerState::half_open) return false;
  ProbeSlot* slot = nullptr;
  for (ProbeSlot& p : probes_)
    if (p.active && p.id == permit.id) slot = &p;
  if (slot == nullptr) return false;  // answered already
  *slot = ProbeSlot{};
  switch (outcome) {
    case Outcome::ignored:
      return true;
    case Outcome::failure:
      transition(BreakerState::open, now_ms,
                 "probe_failure: probe " + std::to_string(permit.id) + " failed after " +
                     std::to_string(probe_successes_) + " successful probes");
      return true;
    case Outcome::success:
    case Outcome::slow_success:
      ++probe_successes_;
      probe_slow_ += outcome == Outcome::slow_success ? 1 : 0;
      break;
  }
  const BreakerConfig& c = config_;
  if (probe_successes_ < c.half_open_permitted_calls) return true;
  if (c.slow_call_rate_threshold_pct > 0 &&
      uint64_t{probe_slow_} * 100 >=
          uint64_t{c.slow_call_rate_threshold_pct} * probe_successes_) {
    transition(BreakerState::open, now_ms,
               "probe_slow_call_rate: " + ratio(probe_slow_, probe_successes_, "probes slow") +
                   ", threshold " + std::to_string(c.slow_call_rate_threshold_pct) + "%");
    return true;
  }
  transition(BreakerState::closed, now_ms,
             "probes_succeeded: " + std::to_string(probe_successes_) + " probes succeeded, " +
                 std::to_string(probe_slow_) + " slow");
  return true;
}

bool CircuitBreaker::on_success(const Permit& permit, int64_t duration_ms, int64_t now_ms) {
  const bool slow = config_.slow_call_rate_threshold_pct > 0 &&
                    duration_ms >= config_.slow_call_duration_ms;
  return answer(permit, slow ? Outcome::slow_success : Outcome::success, now_ms);
}

bool CircuitBreaker::on_failure(const Permit& permit, int64_t now_ms) {
  return answer(permit, Outcome::failure, now_ms);
}

bool CircuitBreaker::on_ignored(const Permit& permit, int64_t now_ms) {
  return answer(permit, Outcome::ignored, now_ms);
}

void CircuitBreaker::force_open(int64_t now_ms, std::string_view why) {
  now_ms = clamp(now_ms);
  forced_open_ = true;
  if (state_ != BreakerState::open)
    transition(BreakerState::open, now_ms, "forced: " + std::string(why));
}

void CircuitBreaker::reset(int64_t now_ms) {
  now_ms = clamp(now_ms);
  forced_open_ = false;
  if (state_ != BreakerState::closed) {
    transition(BreakerState::closed, now_ms, "reset: by operator");
  } else {
    clear_window();
    roll_time_window(now_ms);
  }
}

BreakerSnapshot CircuitBreaker::snapshot() const {
  BreakerSnapshot s;
  s.state = state_;
  s.generation = generation_;
  s.transitions = transitions_;
  s.state_since_ms = state_since_ms_;
  s.forced_open = forced_open_;
  if (state_ == BreakerState::closed) {
    s.calls_in_window = calls_;
    s.failures_in_window = failures_;
    s.slow_calls_in_window = slow_;
    s.rates_evaluated = calls_ >= config_.minimum_calls;
  } else if (state_ == BreakerState::half_open) {
    s.calls_in_window = probe_successes_;
    s.slow_calls_in_window = probe_slow_;
  }
  if (s.calls_in_window > 0) {
    s.failure_rate_pct = 100.0 * static_cast<double>(s.failures_in_window) /
                         static_cast<double>(s.calls_in_window);
    s.slow_call_rate_pct = 100.0 * static_cast<double>(s.slow_calls_in_window) /
                           static_cast<double>(s.calls_in_window);
  }
  s.consecutive_failures = consecutive_failures_;
  s.outstanding_probes = outstanding_probes();
  s.successful_probes = probe_successes_;
  s.storage_bytes = ring_.capacity() * sizeof(uint8_t) + buckets_.capacity() * sizeof(Bucket) +
                    probes_.capacity() * sizeof(ProbeSlot);
  return s;
}

}  // namespace payengine::clearing
