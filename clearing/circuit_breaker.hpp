// A per-rail circuit breaker: closed, open, half_open, over a sliding window
// of call outcomes. Pure: time is always passed in as epoch milliseconds, so
// tests drive it on an injected clock; there is no clock, thread or timer
// inside.
//
// NOT thread-safe, by design: one rail dispatcher actor owns its breaker and
// is the only caller. Nothing here blocks or allocates per call, except that
// a transition builds its reason string.
//
// Life of a call:
//   auto permit = breaker.try_acquire(now_ms);   // nothing: do not send
//   ... send ...
//   then exactly one of on_success / on_failure / on_ignored with that permit.
//
// Generations. Every transition starts a new generation, and a Permit carries
// the generation it was issued in. The rule: an outcome counts only if its
// permit was issued in the current generation; any other outcome is stale and
// changes nothing (the on_* call returns false). So a call made while closed
// that answers after the breaker opened does not touch the half-open probes,
// and a probe that answers after the breaker left half_open (by a timeout or
// another probe's failure) is dropped. A probe permit also counts at most
// once: a second answer for it is stale too. (Closed-state permits are not
// tracked one by one, so the caller must answer each of those once.)
//
// Probe timeouts. A half-open probe that has not answered probe_timeout_ms
// after it was issued counts as a failure and reopens the breaker. This is
// checked by tick() and also at the start of try_acquire() and every on_*
// call, so a breaker that nobody ticks cannot stay pinned half-open (the
// resilience4j bug), and a probe that answers at or after its deadline is a
// timeout whether or not anyone ticked in between.
//
// Time. The breaker never moves backwards: a now_ms earlier than one it has
// already seen is taken as the latest one seen. Transitions are stamped with
// the now_ms of the call that noticed them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagas/result.hpp"

namespace payengine::clearing {

enum class BreakerState : uint8_t { closed, open, half_open };

// "closed", "open", "half_open".
std::string_view to_string(BreakerState s);

enum class WindowType : uint8_t {
  count,  // the last window_size calls
  time,   // the calls of the last window_size seconds, one bucket per second
};

struct BreakerConfig {
  WindowType window_type = WindowType::count;
  // Calls (count window, 1..100'000) or seconds (time window, 1..86'400).
  // The window's storage is allocated once, at make(), and never grows.
  uint32_t window_size = 100;
  // Rates are evaluated only once the window holds at least this many calls
  // (>= 1; for a count window, at most window_size).
  uint32_t minimum_calls = 20;
  // Opens when failures * 100 >= threshold * calls. 1..100; 0 = off.
  uint32_t failure_rate_threshold_pct = 50;
  // A success taking at least slow_call_duration_ms is slow. Opens when
  // slow * 100 >= threshold * calls. 1..100; 0 = off.
  uint32_t slow_call_rate_threshold_pct = 100;
  int64_t slow_call_duration_ms = 5'000;  // > 0 when the slow-call trigger is on
  // Opens after this many failures in a row, whatever minimum_calls says.
  // 0 = off. A success resets the run; an ignored outcome does not.
  uint32_t consecutive_failures_to_open = 0;
  int64_t wait_in_open_ms = 30'000;    // > 0: open -> half_open after this long
  uint32_t half_open_permitted_calls = 5;  // 1..1'000 probes per half-open period
  int64_t probe_timeout_ms = 10'000;   // > 0: an unanswered probe fails after this long
  // Half-open closes once half_open_permitted_calls probes have succeeded and
  // their slow-call rate is below slow_call_rate_threshold_pct; it reopens on
  // any probe failure or probe timeout, or when that slow-call rate is at or
  // above the threshold. Ignored probe outcomes do not count either way; they
  // only free the probe's slot.
};

// Checks a configuration. Error.code is "config"; Error.message names the
// field and the value at fault. At least one trigger (failure rate, slow-call
// rate, consecutive failures) must be on.
Result<Unit> validate(const BreakerConfig& config);

// What a caller must hold to make a call, and hand back with its outcome.
// Opaque: pass it back unchanged.
struct Permit {
  uint64_t generation = 0;  // the breaker generation it was issued in
  uint64_t id = 0;          // unique within one breaker
  bool probe = false;       // issued in half_open
  int64_t issued_ms = 0;
};

struct BreakerSnapshot {
  BreakerState state = BreakerState::closed;
  uint64_t generation = 0;   // +1 per transition
  uint64_t transitions = 0;  // transitions since make()
  int64_t state_since_ms = 0;
  bool forced_open = false;  // force_open() holds it open until reset()
  // The current state's window: the sliding window when closed, the probe
  // outcomes when half_open (failures are then always 0: one reopens), all
  // zero when open.
  uint64_t calls_in_window = 0;
  uint64_t failures_in_window = 0;
  uint64_t slow_calls_in_window = 0;
  double failure_rate_pct = 0;  // 100 * failures / calls; 0 with no calls (reporting only)
  double slow_call_rate_pct = 0;
  bool rates_evaluated = false;  // calls_in_window >= minimum_calls (closed)
  uint32_t consecutive_failures = 0;
  uint32_t outstanding_probes = 0;  // <= half_open_permitted_calls
  uint32_t successful_probes = 0;
  size_t storage_bytes = 0;  // heap held by the window and probe slots: constant
};

class CircuitBreaker {
 public:
  // Called on every transition, synchronously, after the state changed.
  // `why` starts with a stable code followed by ": " and a human detail:
  //   closed->open:      failure_rate, slow_call_rate, consecutive_failures
  //   open->half_open:   wait_elapsed
  //   half_open->open:   probe_failure, probe_timeout, probe_slow_call_rate
  //   half_open->closed: probes_succeeded
  //   any->open:         forced;  open/half_open->closed: reset
  // The listener must not call back into the breaker.
  using Listener =
      std::function<void(BreakerState from, BreakerState to, int64_t now_ms, std::string_view why)>;

  // A closed breaker with an empty window, or the validate() error.
  static Result<CircuitBreaker> make(const BreakerConfig& config, Listener listener = nullptr);

  void set_listener(Listener listener) { listener_ = std::move(listener); }

  // Asks to make one call now. Closed: always a permit. Open: nothing until
  // wait_in_open_ms has elapsed, then the breaker goes half_open and this
  // returns a probe permit. Half-open: a probe permit while the outstanding
  // probes plus the probes that already succeeded are fewer than
  // half_open_permitted_calls (an ignored probe gives its permission back;
  // a successful one keeps it), else nothing.
  // Expired probes are failed first (see the file comment).
  std::optional<Permit> try_acquire(int64_t now_ms);

  // The call answered: `duration_ms` from send to answer. Returns false when
  // the permit is stale (see the file comment) and nothing was counted.
  bool on_success(const Permit& permit, int64_t duration_ms, int64_t now_ms);
  // Transport error or timeout. Returns false when stale.
  bool on_failure(const Permit& permit, int64_t now_ms);
  // A business answer (pacs.002 RJCT AC04, an EFT unpaid): the rail worked,
  // so it counts neither way; a probe's slot is freed. Returns false when
  // stale.
  bool on_ignored(const Permit& permit, int64_t now_ms);

  // Brings the breaker up to now_ms: fails half-open probes that reached
  // their deadline (which reopens it), moves open -> half_open when the wait
  // has elapsed, and drops time-window buckets older than the window.
  void tick(int64_t now_ms);

  // Operator controls. force_open: open now and stay open (no half_open)
  // until reset(). reset: closed, with an empty window, not forced.
  void force_open(int64_t now_ms, std::string_view why = "operator");
  void reset(int64_t now_ms);

  // The state as of the latest call; tick() first to bring it up to date.
  BreakerState state() const { return state_; }
  BreakerSnapshot snapshot() const;
  const BreakerConfig& config() const { return config_; }

 private:
  struct Bucket {  // one second of a time window
    uint64_t calls = 0;
    uint64_t failures = 0;
    uint64_t slow = 0;
  };
  struct ProbeSlot {
    bool active = false;
    uint64_t id = 0;
    int64_t issued_ms = 0;
  };
  enum class Outcome : uint8_t { success, slow_success, failure, ignored };

  explicit CircuitBreaker(const BreakerConfig& config);
  int64_t clamp(int64_t now_ms);
  void advance(int64_t now_ms);
  void roll_time_window(int64_t now_ms);
  void clear_window();
  void record(Outcome outcome);
  void evaluate_closed(int64_t now_ms);
  bool answer(const Permit& permit, Outcome outcome, int64_t now_ms);
  void transition(BreakerState to, int64_t now_ms, const std::string& why);
  uint32_t outstanding_probes() const;

  BreakerConfig config_;
  Listener listener_;
  BreakerState state_ = BreakerState::closed;
  uint64_t generation_ = 1;
  uint64_t transitions_ = 0;
  uint64_t next_permit_id_ = 1;
  int64_t latest_ms_;  // the latest now_ms seen
  int64_t state_since_ms_ = 0;
  bool forced_open_ = false;

  // Closed window. Count: a ring of outcomes (bit 0 failure, bit 1 slow).
  // Time: window_size buckets, bucket (second mod size); it holds the seconds
  // (rolled_second_ - window_size, rolled_second_].
  std::vector<uint8_t> ring_;
  size_t ring_head_ = 0;
  size_t ring_filled_ = 0;
  std::vector<Bucket> buckets_;
  int64_t rolled_second_;
  uint64_t calls_ = 0;
  uint64_t failures_ = 0;
  uint64_t slow_ = 0;
  uint32_t consecutive_failures_ = 0;

  // Half-open probes.
  std::vector<ProbeSlot> probes_;
  uint32_t probe_successes_ = 0;
  uint32_t probe_slow_ = 0;
};

}  // namespace payengine::clearing
