// Randomness as the engine sees it: a seeded generator (splitmix64), so a
// seed reproduces every jitter, id and injected fault.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace payengine {

// FNV-1a, 64 bit: a hash that is the same in every process and on every
// platform (shard choice, per-payment seeds, request hashes).
inline uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound); bound > 0.
  uint64_t uniform(uint64_t bound) { return next_u64() % bound; }
  // True with probability per_million / 1'000'000.
  bool chance_ppm(uint32_t per_million) { return uniform(1'000'000) < per_million; }
  // A 32-hex-digit random id.
  std::string hex_id();
  // A time-ordered 32-hex-digit id (UUIDv7 layout: 48-bit milliseconds, a
  // 12-bit counter, then randomness). Each id this Rng makes sorts after the
  // one before it, also within a millisecond and if the clock steps back
  // (the counter counts on; past 4,095 in a millisecond the millisecond
  // field moves on by one, as RFC 9562 allows). So database indexes keyed by
  // them grow at their right edge, and one engine's payment ids page in the
  // order the payments were made (GET /v1/payments?after=).
  std::string time_ordered_id(int64_t now_ms);

 private:
  uint64_t state_;
  int64_t last_ms_ = -1;      // the millisecond field of the last id
  uint32_t counter_ = 0;      // the counter of the last id, < 4,096
};

}  // namespace payengine
