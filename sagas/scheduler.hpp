// Deferred work: run a function after a delay. Production schedules on the
// actor system's clock; deterministic runs queue it on virtual time.
#pragma once

#include <cstdint>
#include <functional>

namespace payengine {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs `fn` once, no earlier than `delay_ms` from now, never inline.
  // Thread-safe.
  virtual void after_ms(int64_t delay_ms, std::function<void()> fn) = 0;
};

}  // namespace payengine
