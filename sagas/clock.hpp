// Time as the engine sees it. Production uses the system clock; tests and
// deterministic replay use a manual clock that only moves when told to.
#pragma once

#include <atomic>
#include <cstdint>

namespace payengine {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch. Never goes backwards.
  virtual int64_t now_ms() const = 0;
};

// Wall-clock time (CLOCK_REALTIME, clamped to be monotonic).
class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;

 private:
  mutable std::atomic<int64_t> last_ms_{0};
};

// A clock that moves only by `advance_ms`/`set_ms`. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  void advance_ms(int64_t delta_ms) { now_.fetch_add(delta_ms); }
  void set_ms(int64_t t_ms) { now_.store(t_ms); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace payengine
