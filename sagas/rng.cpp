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

}  // namespace payengine
