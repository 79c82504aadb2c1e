#include "sagas/rng.hpp"

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
  std::string out = hex_id();
  uint64_t t = static_cast<uint64_t>(now_ms) & 0xFFFFFFFFFFFFull;
  for (int i = 0; i < 12; ++i) out[static_cast<size_t>(i)] = kHex[(t >> ((11 - i) * 4)) & 0xF];
  out[12] = '7';  // version nibble, as in UUIDv7
  return out;
}

}  // namespace payengine
