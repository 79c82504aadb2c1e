#define BOOST_TEST_MODULE circuit_breaker
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "clearing/circuit_breaker.hpp"

using namespace payengine;
using namespace payengine::clearing;

namespace payengine::clearing {
// For Boost.Test messages.
std::ostream& operator<<(std::ostream& os, BreakerState s) { return os << to_string(s); }
}  // namespace payengine::clearing

namespace {

constexpr int64_t kT0 = 1'790'000'000'000;  // an arbitrary epoch ms; only differences matter

struct Transition {
  BreakerState from;
  BreakerState to;
  int64_t now_ms;
  std::string why;
};

// Records every transition the breaker reports.
struct Log {
  std::vector<Transition> seen;
  CircuitBreaker::Listener listener() {
    return [this](BreakerState from, BreakerState to, int64_t now_ms, std::string_view why) {
      seen.push_back({from, to, now_ms, std::string(why)});
    };
  }
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// A count-window breaker with only the trigger under test switched on.
BreakerConfig base_config() {
  BreakerConfig c;
  c.window_type = WindowType::count;
  c.window_size = 10;
  c.minimum_calls = 5;
  c.failure_rate_threshold_pct = 50;
  c.slow_call_rate_threshold_pct = 0;
  c.slow_call_duration_ms = 1'000;
  c.consecutive_failures_to_open = 0;
  c.wait_in_open_ms = 30'000;
  c.half_open_permitted_calls = 3;
  c.probe_timeout_ms = 5'000;
  return c;
}

CircuitBreaker make_breaker(const BreakerConfig& c, Log* log = nullptr) {
  auto r = CircuitBreaker::make(c, log ? log->listener() : nullptr);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  return std::move(r).value();
}

Permit acquire(CircuitBreaker& b, int64_t now_ms) {
  auto p = b.try_acquire(now_ms);
  BOOST_REQUIRE_MESSAGE(p.has_value(), "no permit at " << now_ms << " in state "
                                                       << to_string(b.state()));
  return *p;
}

void fail_n(CircuitBreaker& b, int n, int64_t now_ms) {
  for (int i = 0; i < n; ++i) b.on_failure(acquire(b, now_ms), now_ms);
}

void succeed_n(CircuitBreaker& b, int n, int64_t duration_ms, int64_t now_ms) {
  for (int i = 0; i < n; ++i) b.on_success(acquire(b, now_ms), duration_ms, now_ms);
}

// Drives a fresh breaker from closed to open by failures at kT0.
CircuitBreaker opened_breaker(const BreakerConfig& c, Log* log = nullptr) {
  CircuitBreaker b = make_breaker(c, log);
  fail_n(b, static_cast<int>(c.minimum_calls), kT0);
  BOOST_REQUIRE(b.state() == BreakerState::open);
  return b;
}

// Open at kT0, half-open at kT0 + wait.
CircuitBreaker half_open_breaker(const BreakerConfig& c, Log* log = nullptr) {
  CircuitBreaker b = opened_breaker(c, log);
  b.tick(kT0 + c.wait_in_open_ms);
  BOOST_REQUIRE(b.state() == BreakerState::half_open);
  return b;
}

}  // namespace

BOOST_AUTO_TEST_CASE(config_validation_names_the_field) {
  struct Case {
    const char* name;
    std::function<void(BreakerConfig&)> mutate;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"failure threshold 101", [](BreakerConfig& c) { c.failure_rate_threshold_pct = 101; },
       "failure_rate_threshold_pct: 101 is above 100"},
      {"slow threshold 150", [](BreakerConfig& c) { c.slow_call_rate_threshold_pct = 150; },
       "slow_call_rate_threshold_pct: 150 is above 100"},
      {"window 0", [](BreakerConfig& c) { c.window_size = 0; }, "window_size: 0 is outside"},
      {"count window too big", [](BreakerConfig& c) { c.window_size = 100'001; },
       "window_size: 100001 is outside 1..100000 calls"},
      {"time window too big",
       [](BreakerConfig& c) {
         c.window_type = WindowType::time;
         c.window_size = 86'401;
       },
       "window_size: 86401 is outside 1..86400 seconds"},
      {"minimum 0", [](BreakerConfig& c) { c.minimum_calls = 0; }, "minimum_calls: 0"},
      {"minimum above count window", [](BreakerConfig& c) { c.minimum_calls = 11; },
       "minimum_calls: 11 is above window_size 10"},
      {"slow on with zero duration",
       [](BreakerConfig& c) {
         c.slow_call_rate_threshold_pct = 50;
         c.slow_call_duration_ms = 0;
       },
       "slow_call_duration_ms: 0 with the slow-call trigger on"},
      {"negative slow duration", [](BreakerConfig& c) { c.slow_call_duration_ms = -1; },
       "slow_call_duration_ms: -1 is negative"},
      {"no trigger", [](BreakerConfig& c) { c.failure_rate_threshold_pct = 0; },
       "failure_rate_threshold_pct, slow_call_rate_threshold_pct, consecutive_failures_to_open: "
       "all 0"},
      {"wait 0", [](BreakerConfig& c) { c.wait_in_open_ms = 0; },
       "wait_in_open_ms: 0 is not positive"},
      {"no probes", [](BreakerConfig& c) { c.half_open_permitted_calls = 0; },
       "half_open_permitted_calls: 0 is outside 1..1000"},
      {"too many probes", [](BreakerConfig& c) { c.half_open_permitted_calls = 1'001; },
       "half_open_permitted_calls: 1001 is outside"},
      {"probe timeout negative", [](BreakerConfig& c) { c.probe_timeout_ms = -5; },
       "probe_timeout_ms: -5 is not positive"},
  };
  BOOST_TEST(validate(base_config()).ok());
  BOOST_TEST(validate(BreakerConfig{}).ok());
  for (const Case& k : cases) {
    BOOST_TEST_CONTEXT(k.name) {
      BreakerConfig c = base_config();
      k.mutate(c);
      auto v = validate(c);
      BOOST_REQUIRE(!v.ok());
      BOOST_TEST(v.error().code == "config");
      BOOST_TEST(starts_with(v.error().message, k.field), v.error().message);
      auto m = CircuitBreaker::make(c);
      BOOST_REQUIRE(!m.ok());
      BOOST_TEST(m.error().message == v.error().message);
    }
  }
  // A time window may ask for more calls than it has seconds; only consecutive
  // failures may be the only trigger.
  BreakerConfig c = base_config();
  c.window_type = WindowType::time;
  c.minimum_calls = 1'000;
  BOOST_TEST(validate(c).ok());
  c = base_config();
  c.failure_rate_threshold_pct = 0;
  c.consecutive_failures_to_open = 3;
  BOOST_TEST(validate(c).ok());
}

BOOST_AUTO_TEST_CASE(closed_opens_on_failure_rate_only_from_minimum_calls) {
  Log log;
  CircuitBreaker b = make_breaker(base_config(), &log);  // window 10, min 5, 50%
  fail_n(b, 4, kT0);
  BOOST_TEST(b.state() == BreakerState::closed);  // 100% failures, but only 4 calls
  BreakerSnapshot s = b.snapshot();
  BOOST_TEST(s.calls_in_window == 4u);
  BOOST_TEST(s.failures_in_window == 4u);
  BOOST_TEST(!s.rates_evaluated);
  BOOST_TEST(log.seen.empty());
  fail_n(b, 1, kT0 + 1);
  BOOST_TEST(b.state() == BreakerState::open);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 1u);
  BOOST_TEST(log.seen[0].from == BreakerState::closed);
  BOOST_TEST(log.seen[0].to == BreakerState::open);
  BOOST_TEST(log.seen[0].now_ms == kT0 + 1);
  BOOST_TEST(log.seen[0].why == "failure_rate: 5 of 5 calls failed (100%), threshold 50%");

  // Below the threshold it stays closed; at the threshold (>=) it opens.
  Log log2;
  CircuitBreaker c = make_breaker(base_config(), &log2);
  succeed_n(c, 3, 10, kT0);
  fail_n(c, 2, kT0);  // 2 of 5 = 40%
  BOOST_TEST(c.state() == BreakerState::closed);
  BOOST_TEST(c.snapshot().rates_evaluated);
  BOOST_TEST(c.snapshot().failure_rate_pct == 40.0);
  fail_n(c, 1, kT0);  // 3 of 6 = 50%
  BOOST_TEST(c.state() == BreakerState::open);
  BOOST_REQUIRE_EQUAL(log2.seen.size(), 1u);
  BOOST_TEST(log2.seen[0].why == "failure_rate: 3 of 6 calls failed (50%), threshold 50%");
}

BOOST_AUTO_TEST_CASE(closed_opens_on_slow_call_rate) {
  BreakerConfig cfg = base_config();
  cfg.failure_rate_threshold_pct = 0;
  cfg.slow_call_rate_threshold_pct = 60;
  cfg.slow_call_duration_ms = 1'000;
  Log log;
  CircuitBreaker b = make_breaker(cfg, &log);
  succeed_n(b, 2, 999, kT0);    // fast: just under the slow threshold
  succeed_n(b, 2, 1'000, kT0);  // slow: at the threshold
  BOOST_TEST(b.snapshot().slow_calls_in_window == 2u);
  fail_n(b, 1, kT0);  // failures do not count as slow and this trigger ignores them
  BOOST_TEST(b.state() == BreakerState::closed);  // 2 of 5 slow = 40%
  succeed_n(b, 1, 5'000, kT0);                    // 3 of 6 = 50%
  BOOST_TEST(b.state() == BreakerState::closed);
  succeed_n(b, 1, 5'000, kT0);  // 4 of 7 = 57%
  BOOST_TEST(b.state() == BreakerState::closed);
  succeed_n(b, 1, 5'000, kT0);  // 5 of 8 = 62.5%
  BOOST_TEST(b.state() == BreakerState::open);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 1u);
  BOOST_TEST(log.seen[0].why == "slow_call_rate: 5 of 8 calls slow (62%), threshold 60%");
}

BOOST_AUTO_TEST_CASE(closed_opens_on_consecutive_failures) {
  BreakerConfig cfg = base_config();
  cfg.failure_rate_threshold_pct = 100;
  cfg.window_size = 100;
  cfg.minimum_calls = 100;  // the rate trigger cannot fire in this test
  cfg.consecutive_failures_to_open = 3;
  Log log;
  CircuitBreaker b = make_breaker(cfg, &log);
  fail_n(b, 2, kT0);
  succeed_n(b, 1, 1, kT0);  // breaks the run
  fail_n(b, 2, kT0);
  BOOST_TEST(b.snapshot().consecutive_failures == 2u);
  b.on_ignored(acquire(b, kT0), kT0);  // a business rejection neither breaks nor extends it
  BOOST_TEST(b.snapshot().consecutive_failures == 2u);
  BOOST_TEST(b.state() == BreakerState::closed);
  fail_n(b, 1, kT0 + 7);
  BOOST_TEST(b.state() == BreakerState::open);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 1u);
  BOOST_TEST(log.seen[0].why == "consecutive_failures: 3 failures in a row, threshold 3");
  BOOST_TEST(log.seen[0].now_ms == kT0 + 7);
}

BOOST_AUTO_TEST_CASE(open_rejects_until_the_wait_has_elapsed_then_half_opens) {
  const BreakerConfig cfg = base_config();
  Log log;
  CircuitBreaker b = opened_breaker(cfg, &log);
  BOOST_TEST(!b.try_acquire(kT0).has_value());
  BOOST_TEST(!b.try_acquire(kT0 + cfg.wait_in_open_ms - 1).has_value());
  b.tick(kT0 + cfg.wait_in_open_ms - 1);
  BOOST_TEST(b.state() == BreakerState::open);
  BOOST_TEST(b.snapshot().calls_in_window == 0u);
  auto p = b.try_acquire(kT0 + cfg.wait_in_open_ms);
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->probe);
  BOOST_TEST(b.state() == BreakerState::half_open);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 2u);
  BOOST_TEST(log.seen[1].from == BreakerState::open);
  BOOST_TEST(log.seen[1].to == BreakerState::half_open);
  BOOST_TEST(log.seen[1].now_ms == kT0 + cfg.wait_in_open_ms);
  BOOST_TEST(log.seen[1].why == "wait_elapsed: open for 30000 ms");

  // tick alone performs the same transition.
  CircuitBreaker c = opened_breaker(cfg);
  c.tick(kT0 + cfg.wait_in_open_ms);
  BOOST_TEST(c.state() == BreakerState::half_open);
}

BOOST_AUTO_TEST_CASE(half_open_limits_outstanding_probes) {
  const BreakerConfig cfg = base_config();  // 3 probes
  CircuitBreaker b = half_open_breaker(cfg);
  const int64_t t = kT0 + cfg.wait_in_open_ms;
  Permit p1 = acquire(b, t);
  Permit p2 = acquire(b, t);
  Permit p3 = acquire(b, t);
  BOOST_TEST(!b.try_acquire(t).has_value());
  BOOST_TEST(!b.try_acquire(t + 100).has_value());
  BOOST_TEST(b.snapshot().outstanding_probes == 3u);
  BOOST_TEST((p1.probe && p2.probe && p3.probe));
  BOOST_TEST(p1.id != p2.id);
  // A success uses its permission up: still no fourth probe.
  BOOST_TEST(b.on_success(p1, 10, t + 100));
  BOOST_TEST(b.snapshot().outstanding_probes == 2u);
  BOOST_TEST(b.snapshot().successful_probes == 1u);
  BOOST_TEST(!b.try_acquire(t + 100).has_value());
  BOOST_TEST(b.state() == BreakerState::half_open);
}

BOOST_AUTO_TEST_CASE(half_open_closes_after_all_probes_succeed) {
  const BreakerConfig cfg = base_config();
  Log log;
  CircuitBreaker b = half_open_breaker(cfg, &log);
  const int64_t t = kT0 + cfg.wait_in_open_ms;
  Permit p1 = acquire(b, t);
  Permit p2 = acquire(b, t);
  Permit p3 = acquire(b, t);
  BOOST_TEST(b.on_success(p1, 10, t + 10));
  BOOST_TEST(b.on_success(p3, 10, t + 20));
  BOOST_TEST(b.state() == BreakerState::half_open);
  BOOST_TEST(b.on_success(p2, 10, t + 30));
  BOOST_TEST(b.state() == BreakerState::closed);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 3u);
  BOOST_TEST(log.seen[2].from == BreakerState::half_open);
  BOOST_TEST(log.seen[2].to == BreakerState::closed);
  BOOST_TEST(log.seen[2].why == "probes_succeeded: 3 probes succeeded, 0 slow");
  BreakerSnapshot s = b.snapshot();
  BOOST_TEST(s.calls_in_window == 0u);  // a fresh window
  BOOST_TEST(s.outstanding_probes == 0u);
  BOOST_TEST(s.state_since_ms == t + 30);
  Permit closed = acquire(b, t + 40);
  BOOST_TEST(!closed.probe);
}

BOOST_AUTO_TEST_CASE(half_open_reopens_on_a_probe_failure) {
  const BreakerConfig cfg = base_config();
  Log log;
  CircuitBreaker b = half_open_breaker(cfg, &log);
  const int64_t t = kT0 + cfg.wait_in_open_ms;
  Permit p1 = acquire(b, t);
  Permit p2 = acquire(b, t);
  BOOST_TEST(b.on_success(p1, 10, t + 5));
  BOOST_TEST(b.on_failure(p2, t + 6));
  BOOST_TEST(b.state() == BreakerState::open);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 3u);
  BOOST_TEST(log.seen[2].why ==
             "probe_failure: probe " + std::to_string(p2.id) + " failed after 1 successful probes");
  // A full new wait before the next half-open.
  BOOST_TEST(!b.try_acquire(t + 6 + cfg.wait_in_open_ms - 1).has_value());
  BOOST_TEST(b.try_acquire(t + 6 + cfg.wait_in_open_ms).has_value());
}

BOOST_AUTO_TEST_CASE(half_open_reopens_when_probes_are_slow) {
  BreakerConfig cfg = base_config();
  cfg.slow_call_rate_threshold_pct = 50;
  cfg.slow_call_duration_ms = 1'000;
  cfg.half_open_permitted_calls = 2;
  Log log;
  CircuitBreaker b = half_open_breaker(cfg, &log);
  const int64_t t = kT0 + cfg.wait_in_open_ms;
  BOOST_TEST(b.on_success(acquire(b, t), 10, t));
  BOOST_TEST(b.on_success(acquire(b, t), 2'000, t));  // 1 of 2 slow = 50%
  BOOST_TEST(b.state() == BreakerState::open);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 3u);
  BOOST_TEST(log.seen[2].why == "probe_slow_call_rate: 1 of 2 probes slow (50%), threshold 50%");
}

BOOST_AUTO_TEST_CASE(unanswered_probe_expires_on_tick_and_reopens) {
  const BreakerConfig cfg = base_config();  // probe timeout 5 s
  Log log;
  CircuitBreaker b = half_open_breaker(cfg, &log);
  const int64_t t = kT0 + cfg.wait_in_open_ms;
  Permit lost = acquire(b, t);
  Permit answered = acquire(b, t + 1'000);
  BOOST_TEST(b.on_success(answered, 10, t + 1'010));
  b.tick(t + cfg.probe_timeout_ms - 1);
  BOOST_TEST(b.state() == BreakerState::half_open);
  b.tick(t + cfg.probe_timeout_ms);
  BOOST_TEST(b.state() == BreakerState::open);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 3u);
  BOOST_TEST(log.seen[2].from == BreakerState::half_open);
  BOOST_TEST(log.seen[2].to == BreakerState::open);
  BOOST_TEST(log.seen[2].now_ms == t + cfg.probe_timeout_ms);
  BOOST_TEST(starts_with(log.seen[2].why, "probe_timeout: probe " + std::to_string(lost.id)));
  // The answer arrives after all: it is stale and changes nothing.
  BOOST_TEST(!b.on_success(lost, 6'000, t + 6'000));
  BOOST_TEST(b.state() == BreakerState::open);
  // And the breaker is not stuck: the next wait leads to half_open again.
  b.tick(t + cfg.probe_timeout_ms + cfg.wait_in_open_ms);
  BOOST_TEST(b.state() == BreakerState::half_open);
  BOOST_TEST(log.seen.size() == 4u);
}

BOOST_AUTO_TEST_CASE(unanswered_probe_expires_with_only_try_acquire) {
  const BreakerConfig cfg = base_config();
  Log log;
  CircuitBreaker b = half_open_breaker(cfg, &log);
  const int64_t t = kT0 + cfg.wait_in_open_ms;
  // All three probes are lost; nobody ever calls tick().
  acquire(b, t);
  acquire(b, t);
  acquire(b, t);
  BOOST_TEST(!b.try_acquire(t + cfg.probe_timeout_ms - 1).has_value());
  BOOST_TEST(b.state() == BreakerState::half_open);
  BOOST_TEST(!b.try_acquire(t + cfg.probe_timeout_ms).has_value());
  BOOST_TEST(b.state() == BreakerState::open);  // reopened, not pinned half-open
  BOOST_REQUIRE_EQUAL(log.seen.size(), 3u);
  BOOST_TEST(starts_with(log.seen[2].why, "probe_timeout: "));
  auto p = b.try_acquire(t + cfg.probe_timeout_ms + cfg.wait_in_open_ms);
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->probe);
  BOOST_TEST(b.snapshot().outstanding_probes == 1u);
}

BOOST_AUTO_TEST_CASE(probe_answering_at_its_deadline_is_a_timeout) {
  const BreakerConfig cfg = base_config();
  CircuitBreaker b = half_open_breaker(cfg);
  const int64_t t = kT0 + cfg.wait_in_open_ms;
  Permit p = acquire(b, t);
  BOOST_TEST(!b.on_success(p, cfg.probe_timeout_ms, t + cfg.probe_timeout_ms));
  BOOST_TEST(b.state() == BreakerState::open);
  // Just before the deadline it counts.
  CircuitBreaker c = half_open_breaker(cfg);
  Permit q = acquire(c, t);
  BOOST_TEST(c.on_success(q, cfg.probe_timeout_ms - 1, t + cfg.probe_timeout_ms - 1));
  BOOST_TEST(c.snapshot().successful_probes == 1u);
}

BOOST_AUTO_TEST_CASE(ignored_outcomes_do_not_count_but_free_probe_slots) {
  BreakerConfig cfg = base_config();
  cfg.half_open_permitted_calls = 1;
  CircuitBreaker b = make_breaker(cfg);
  for (int i = 0; i < 100; ++i) BOOST_TEST(b.on_ignored(acquire(b, kT0 + i), kT0 + i));
  BreakerSnapshot s = b.snapshot();
  BOOST_TEST(s.calls_in_window == 0u);
  BOOST_TEST(s.failures_in_window == 0u);
  BOOST_TEST(b.state() == BreakerState::closed);

  fail_n(b, 5, kT0 + 200);
  BOOST_REQUIRE(b.state() == BreakerState::open);
  const int64_t t = kT0 + 200 + cfg.wait_in_open_ms;
  Permit p1 = acquire(b, t);
  BOOST_TEST(!b.try_acquire(t).has_value());  // the one slot is taken
  BOOST_TEST(b.on_ignored(p1, t + 10));       // AC04 from the rail: the rail works
  BOOST_TEST(b.state() == BreakerState::half_open);
  BOOST_TEST(b.snapshot().outstanding_probes == 0u);
  BOOST_TEST(b.snapshot().successful_probes == 0u);
  Permit p2 = acquire(b, t + 20);  // the slot is free again
  BOOST_TEST(!b.on_ignored(p1, t + 21));  // a second answer for p1 is stale
  BOOST_TEST(b.snapshot().outstanding_probes == 1u);
  BOOST_TEST(b.on_success(p2, 10, t + 30));
  BOOST_TEST(b.state() == BreakerState::closed);
}

BOOST_AUTO_TEST_CASE(late_answers_from_older_generations_are_ignored) {
  const BreakerConfig cfg = base_config();
  Log log;
  CircuitBreaker b = make_breaker(cfg, &log);
  // Calls made while closed, still in flight when the breaker opens.
  std::vector<Permit> in_flight;
  for (int i = 0; i < 4; ++i) in_flight.push_back(acquire(b, kT0));
  fail_n(b, 5, kT0 + 1);
  BOOST_REQUIRE(b.state() == BreakerState::open);
  const uint64_t open_generation = b.snapshot().generation;
  BOOST_TEST(in_flight[0].generation != open_generation);
  BOOST_TEST(!b.on_failure(in_flight[0], kT0 + 2));
  BOOST_TEST(!b.on_success(in_flight[1], 1, kT0 + 2));
  BOOST_TEST(b.snapshot().generation == open_generation);

  // Half-open: a late closed-state success must not pass for a probe, nor a
  // late closed-state failure reopen the breaker.
  const int64_t t = kT0 + 1 + cfg.wait_in_open_ms;
  Permit probe = acquire(b, t);
  BOOST_TEST(!b.on_success(in_flight[2], 1, t + 1));
  BOOST_TEST(!b.on_failure(in_flight[3], t + 1));
  BreakerSnapshot s = b.snapshot();
  BOOST_TEST(s.state == BreakerState::half_open);
  BOOST_TEST(s.successful_probes == 0u);
  BOOST_TEST(s.outstanding_probes == 1u);

  // Probes succeed and it closes; an old probe answering late (twice) and old
  // closed-state permits do not touch the new window.
  BOOST_TEST(b.on_success(probe, 1, t + 2));
  BOOST_TEST(!b.on_success(probe, 1, t + 2));  // duplicate
  BOOST_TEST(b.snapshot().successful_probes == 1u);
  BOOST_TEST(b.on_success(acquire(b, t + 3), 1, t + 3));
  BOOST_TEST(b.on_success(acquire(b, t + 3), 1, t + 3));
  BOOST_REQUIRE(b.state() == BreakerState::closed);
  BOOST_TEST(!b.on_failure(probe, t + 4));
  for (const Permit& p : in_flight) BOOST_TEST(!b.on_failure(p, t + 4));
  BOOST_TEST(b.snapshot().calls_in_window == 0u);
  BOOST_TEST(log.seen.size() == 3u);
}

BOOST_AUTO_TEST_CASE(time_window_drops_calls_older_than_the_window) {
  BreakerConfig cfg = base_config();
  cfg.window_type = WindowType::time;
  cfg.window_size = 10;  // seconds
  cfg.minimum_calls = 4;
  cfg.failure_rate_threshold_pct = 50;
  CircuitBreaker b = make_breaker(cfg);
  const int64_t s0 = kT0;  // kT0 is a whole second
  fail_n(b, 3, s0 + 500);  // second 0
  succeed_n(b, 1, 1, s0 + 3'000);  // second 3
  BOOST_TEST(b.state() == BreakerState::open);  // control: 3 of 4 inside the window

  CircuitBreaker c = make_breaker(cfg);
  fail_n(c, 3, s0 + 500);  // second 0
  c.tick(s0 + 9'999);      // second 9: still inside
  BOOST_TEST(c.snapshot().calls_in_window == 3u);
  c.tick(s0 + 10'000);  // second 10: second 0 has left the window
  BOOST_TEST(c.snapshot().calls_in_window == 0u);
  succeed_n(c, 3, 1, s0 + 12'000);  // second 12
  fail_n(c, 1, s0 + 12'000);
  // 1 of 4 = 25%; had the old failures counted it would be 4 of 7.
  BOOST_TEST(c.state() == BreakerState::closed);
  BOOST_TEST(c.snapshot().calls_in_window == 4u);
  BOOST_TEST(c.snapshot().failures_in_window == 1u);
  fail_n(c, 1, s0 + 21'999);  // second 21: second 12 is still inside (12..21)
  BOOST_TEST(c.snapshot().calls_in_window == 5u);
  BOOST_TEST(c.state() == BreakerState::closed);  // 2 of 5
  c.tick(s0 + 22'000);  // second 22: second 12 leaves
  BOOST_TEST(c.snapshot().calls_in_window == 1u);
  BOOST_TEST(c.snapshot().failures_in_window == 1u);
  c.tick(s0 + 1'000'000);  // a long silence clears everything
  BOOST_TEST(c.snapshot().calls_in_window == 0u);
}

BOOST_AUTO_TEST_CASE(count_window_keeps_exactly_the_last_n_calls) {
  BreakerConfig cfg = base_config();
  cfg.window_size = 5;
  cfg.minimum_calls = 5;
  cfg.failure_rate_threshold_pct = 60;
  CircuitBreaker b = make_breaker(cfg);
  fail_n(b, 2, kT0);
  succeed_n(b, 3, 1, kT0);  // F F S S S: 40%
  BOOST_TEST(b.snapshot().calls_in_window == 5u);
  BOOST_TEST(b.snapshot().failures_in_window == 2u);
  succeed_n(b, 1, 1, kT0);  // F S S S S
  BOOST_TEST(b.snapshot().calls_in_window == 5u);
  BOOST_TEST(b.snapshot().failures_in_window == 1u);
  succeed_n(b, 1, 1, kT0);  // S S S S S
  BOOST_TEST(b.snapshot().failures_in_window == 0u);
  fail_n(b, 2, kT0);  // S S S F F: 40%
  BOOST_TEST(b.state() == BreakerState::closed);
  fail_n(b, 1, kT0);  // S S F F F: 60%
  BOOST_TEST(b.state() == BreakerState::open);
}

BOOST_AUTO_TEST_CASE(window_memory_is_constant_after_a_million_calls) {
  for (WindowType type : {WindowType::count, WindowType::time}) {
    BOOST_TEST_CONTEXT((type == WindowType::count ? "count" : "time")) {
      BreakerConfig cfg = base_config();
      cfg.window_type = type;
      cfg.window_size = type == WindowType::count ? 100 : 60;
      cfg.minimum_calls = 10;
      CircuitBreaker b = make_breaker(cfg);
      const size_t before = b.snapshot().storage_bytes;
      BOOST_TEST(before > 0u);
      int64_t now = kT0;
      for (int i = 0; i < 1'000'000; ++i) {
        now += 1;  // 1 ms per call: the time window sees 1000 s go by
        Permit p = acquire(b, now);
        if (i % 10 == 0)
          b.on_failure(p, now);
        else
          b.on_success(p, 1, now);
      }
      BreakerSnapshot s = b.snapshot();
      BOOST_TEST(s.state == BreakerState::closed);
      BOOST_TEST(s.storage_bytes == before);
      if (type == WindowType::count) {
        BOOST_TEST(s.calls_in_window == 100u);
        BOOST_TEST(s.failures_in_window == 10u);
      } else {
        // 60 one-second buckets; the current one is partly filled.
        BOOST_TEST(s.calls_in_window <= 60'000u);
        BOOST_TEST(s.calls_in_window > 59'000u);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(listener_sees_each_transition_once_with_its_reason) {
  BreakerConfig cfg = base_config();
  cfg.half_open_permitted_calls = 1;
  Log log;
  CircuitBreaker b = make_breaker(cfg, &log);
  const int64_t w = cfg.wait_in_open_ms;
  fail_n(b, 5, kT0);                       // closed -> open
  b.tick(kT0 + w);                         // open -> half_open
  b.tick(kT0 + w);                         // nothing more
  b.on_failure(acquire(b, kT0 + w), kT0 + w + 1);  // half_open -> open
  b.tick(kT0 + 2 * w + 1);                 // open -> half_open
  b.on_success(acquire(b, kT0 + 2 * w + 1), 1, kT0 + 2 * w + 2);  // half_open -> closed
  b.tick(kT0 + 3 * w);                     // nothing
  struct Expected {
    BreakerState from, to;
    int64_t now_ms;
    const char* why;
  };
  const std::vector<Expected> expected = {
      {BreakerState::closed, BreakerState::open, kT0, "failure_rate: "},
      {BreakerState::open, BreakerState::half_open, kT0 + w, "wait_elapsed: "},
      {BreakerState::half_open, BreakerState::open, kT0 + w + 1, "probe_failure: "},
      {BreakerState::open, BreakerState::half_open, kT0 + 2 * w + 1, "wait_elapsed: "},
      {BreakerState::half_open, BreakerState::closed, kT0 + 2 * w + 2, "probes_succeeded: "},
  };
  BOOST_REQUIRE_EQUAL(log.seen.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST_CONTEXT("transition " << i) {
      BOOST_TEST(log.seen[i].from == expected[i].from);
      BOOST_TEST(log.seen[i].to == expected[i].to);
      BOOST_TEST(log.seen[i].now_ms == expected[i].now_ms);
      BOOST_TEST(starts_with(log.seen[i].why, expected[i].why), log.seen[i].why);
    }
  }
  BOOST_TEST(b.snapshot().transitions == 5u);
  BOOST_TEST(b.snapshot().generation == 6u);
}

BOOST_AUTO_TEST_CASE(force_open_holds_until_reset) {
  const BreakerConfig cfg = base_config();
  Log log;
  CircuitBreaker b = make_breaker(cfg, &log);
  Permit old = acquire(b, kT0);
  b.force_open(kT0 + 1, "rail maintenance");
  BOOST_TEST(b.state() == BreakerState::open);
  BOOST_TEST(b.snapshot().forced_open);
  BOOST_TEST(!b.try_acquire(kT0 + 10 * cfg.wait_in_open_ms).has_value());
  b.tick(kT0 + 10 * cfg.wait_in_open_ms);
  BOOST_TEST(b.state() == BreakerState::open);
  b.reset(kT0 + 10 * cfg.wait_in_open_ms + 1);
  BOOST_TEST(b.state() == BreakerState::closed);
  BOOST_TEST(!b.snapshot().forced_open);
  BOOST_TEST(!b.on_failure(old, kT0 + 10 * cfg.wait_in_open_ms + 2));
  BOOST_TEST(!acquire(b, kT0 + 10 * cfg.wait_in_open_ms + 2).probe);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 2u);
  BOOST_TEST(log.seen[0].why == "forced: rail maintenance");
  BOOST_TEST(log.seen[1].from == BreakerState::open);
  BOOST_TEST(log.seen[1].to == BreakerState::closed);
  BOOST_TEST(starts_with(log.seen[1].why, "reset: "));
}

BOOST_AUTO_TEST_CASE(time_never_moves_backwards) {
  const BreakerConfig cfg = base_config();
  CircuitBreaker b = opened_breaker(cfg);
  b.tick(kT0 + cfg.wait_in_open_ms - 1);
  // An earlier now is taken as the latest seen: still open, and the wait is
  // measured from the real opening, not stretched or shortened.
  BOOST_TEST(!b.try_acquire(kT0 - 1'000'000).has_value());
  BOOST_TEST(b.state() == BreakerState::open);
  BOOST_TEST(b.try_acquire(kT0 + cfg.wait_in_open_ms).has_value());

  // A transition noticed by a call with an earlier now is stamped with the
  // latest time seen, and the wait counts from there.
  Log log;
  CircuitBreaker c = make_breaker(cfg, &log);
  c.tick(kT0 + 5'000);
  fail_n(c, 5, kT0);
  BOOST_REQUIRE_EQUAL(log.seen.size(), 1u);
  BOOST_TEST(log.seen[0].now_ms == kT0 + 5'000);
  BOOST_TEST(c.snapshot().state_since_ms == kT0 + 5'000);
  BOOST_TEST(!c.try_acquire(kT0 + cfg.wait_in_open_ms).has_value());
  BOOST_TEST(c.try_acquire(kT0 + 5'000 + cfg.wait_in_open_ms).has_value());
}

namespace {

// One randomized run over a fixed seed: random acquires, answers in any
// order (some never), ticks and clock jumps. Checks after every step that the
// state is valid, probes stay within their limit, no probe outlives its
// deadline after a tick, and the listener's log is a valid chain.
// Returns the reason codes of the transitions seen.
std::vector<std::string> random_run(uint64_t seed, int steps, bool with_failures) {
  BreakerConfig cfg = base_config();
  cfg.window_type = (seed % 2) ? WindowType::time : WindowType::count;
  cfg.window_size = 20;
  cfg.minimum_calls = 5;
  cfg.slow_call_rate_threshold_pct = 80;
  cfg.slow_call_duration_ms = 500;
  cfg.consecutive_failures_to_open = 4;
  cfg.wait_in_open_ms = 2'000;
  cfg.probe_timeout_ms = 700;
  cfg.half_open_permitted_calls = 3;
  Log log;
  CircuitBreaker b = make_breaker(cfg, &log);
  std::mt19937_64 rng(seed);
  auto below = [&rng](uint64_t n) { return rng() % n; };  // deterministic on every library
  int64_t now = kT0;
  std::vector<Permit> held;
  for (int step = 0; step < steps; ++step) {
    switch (below(6)) {
      case 0:
      case 1:
        if (auto p = b.try_acquire(now)) held.push_back(*p);
        break;
      case 2:
      case 3:
        if (!held.empty()) {
          const size_t i = below(held.size());
          const Permit p = held[i];
          held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
          const uint64_t kind = below(10);
          if (with_failures && kind < 3)
            b.on_failure(p, now);
          else if (kind < 5)
            b.on_ignored(p, now);
          else
            b.on_success(p, with_failures ? static_cast<int64_t>(below(1'000)) : 10, now);
        }
        break;
      case 4:
        now += static_cast<int64_t>(below(400));
        b.tick(now);
        for (const Permit& p : held) {
          if (p.probe && p.generation == b.snapshot().generation)
            BOOST_REQUIRE_MESSAGE(now - p.issued_ms < cfg.probe_timeout_ms,
                                  "a probe outlived its deadline at step " << step);
        }
        break;
      case 5:
        now += static_cast<int64_t>(below(50));
        if (held.size() > 50) held.erase(held.begin(), held.begin() + 25);  // lost answers
        break;
    }
    const BreakerSnapshot s = b.snapshot();
    BOOST_REQUIRE(s.state == BreakerState::closed || s.state == BreakerState::open ||
                  s.state == BreakerState::half_open);
    BOOST_REQUIRE_LE(s.outstanding_probes + s.successful_probes, cfg.half_open_permitted_calls);
    BOOST_REQUIRE_LE(s.calls_in_window, uint64_t{cfg.window_type == WindowType::count ? 20u : 1'000'000u});
    BOOST_REQUIRE_EQUAL(s.transitions, log.seen.size());
    if (s.state != BreakerState::half_open) BOOST_REQUIRE_EQUAL(s.outstanding_probes, 0u);
  }
  BreakerState previous = BreakerState::closed;
  for (const Transition& t : log.seen) {
    BOOST_REQUIRE(t.from == previous);
    const bool valid = (t.from == BreakerState::closed && t.to == BreakerState::open) ||
                       (t.from == BreakerState::open && t.to == BreakerState::half_open) ||
                       (t.from == BreakerState::half_open && t.to == BreakerState::open) ||
                       (t.from == BreakerState::half_open && t.to == BreakerState::closed);
    BOOST_REQUIRE_MESSAGE(valid, to_string(t.from) << " -> " << to_string(t.to));
    previous = t.to;
  }
  std::vector<std::string> codes;
  for (const Transition& t : log.seen) codes.push_back(t.why.substr(0, t.why.find(':')));
  return codes;
}

}  // namespace

BOOST_AUTO_TEST_CASE(randomized_invariants_hold) {
  std::map<std::string, int> codes;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      for (const std::string& c : random_run(seed, 20'000, true)) ++codes[c];
    }
  }
  // The runs went through every kind of transition, not just one corner.
  for (const char* code : {"failure_rate", "slow_call_rate", "consecutive_failures", "wait_elapsed",
                           "probe_failure", "probe_timeout", "probe_slow_call_rate",
                           "probes_succeeded"})
    BOOST_TEST(codes[code] > 0, code << " never happened");
  for (const auto& [code, n] : codes) BOOST_TEST_MESSAGE(code << ": " << n);
}

BOOST_AUTO_TEST_CASE(randomized_breaker_without_failures_never_opens) {
  for (uint64_t seed = 101; seed <= 104; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) { BOOST_TEST(random_run(seed, 20'000, false).empty()); }
  }
}
