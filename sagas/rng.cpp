#include "sagas/rng.hpp"

#include <algorithm>

namespace payengine {

std::string Rng::hex_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t v = next_u64();
    for (int i = 0; i < 16; ++i) out[static_cast<size_t>(half * 16 + i)] = kHex[(v >> (i * 4)) & 0xF];
  }
  return out;
}

std::string Rng::time_ordered_id(int64_t now_ms) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr uint32_t kCounterLimit = 4'096;  // 12 bits
  now_ms = std::max<int64_t>(0, std::min<int64_t>(now_ms, 0xFFFFFFFFFFFFll));
  if (now_ms > last_ms_) {
    last_ms_ = now_ms;
    counter_ = 0;
  } else if (++counter_ == kCounterLimit) {  // the same or an earlier millisecond
    ++last_ms_;
    counter_ = 0;
  }
  std::string out = hex_id();
  const uint64_t t = static_cast<uint64_t>(last_ms_) & 0xFFFFFFFFFFFFull;
  for (int i = 0; i < 12; ++i) out[static_cast<size_t>(i)] = kHex[(t >> ((11 - i) * 4)) & 0xF];
  out[12] = '7';  // version nibble, as in UUIDv7
  for (int i = 0; i < 3; ++i) out[static_cast<size_t>(13 + i)] = kHex[(counter_ >> ((2 - i) * 4)) & 0xF];
  return out;
}

}  // namespace payengine
