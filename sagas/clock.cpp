#include "sagas/clock.hpp"

#include <chrono>

namespace payengine {

int64_t SystemClock::now_ms() const {
  int64_t t = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  int64_t prev = last_ms_.load(std::memory_order_relaxed);
  while (t > prev && !last_ms_.compare_exchange_weak(prev, t, std::memory_order_relaxed)) {
  }
  return t > prev ? t : prev;
}

}  // namespace payengine
