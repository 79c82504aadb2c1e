// Small pieces every rail module shares: deterministic fates for railsim
// counterparts, and the references a payment travels under.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sagas/rng.hpp"

namespace payengine::clearing {

// Whether a counterpart rejects the payment with reference `key`: a pure
// function of (seed, key), true for about reject_ppm in a million keys.
inline bool fate_rejects(uint64_t seed, std::string_view key, uint32_t reject_ppm) {
  return fnv1a(key, seed ^ 0xfa7eull) % 1'000'000 < reject_ppm;
}

// A pure choice in [0, n) for the payment with reference `key`.
inline size_t fate_pick(uint64_t seed, std::string_view key, size_t n) {
  return static_cast<size_t>(fnv1a(key, seed ^ 0x91c4ull) % n);
}

// The transaction id a payment carries on ISO 20022 rails (Max35Text): its
// payment id without the "pay_" prefix.
inline std::string tx_id_for(const std::string& payment_id) {
  return payment_id.rfind("pay_", 0) == 0 ? payment_id.substr(4) : payment_id;
}
inline std::string payment_id_for_tx(const std::string& tx_id) { return "pay_" + tx_id; }

// The UETR a payment carries: a lower-case UUID in version 4 layout derived
// from the payment id (the same id always gives the same UETR).
inline std::string uetr_for(const std::string& payment_id) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t a = fnv1a(payment_id);
  uint64_t b = fnv1a(payment_id, a ^ 0x5bd1e995ull);
  std::string u;
  u.reserve(36);
  auto put = [&](uint64_t& v, int digits) {
    for (int i = 0; i < digits; ++i) {
      u.push_back(kHex[v & 0xf]);
      v >>= 4;
    }
  };
  put(a, 8);
  u.push_back('-');
  put(a, 4);
  u.push_back('-');
  u.push_back('4');
  put(a, 3);
  u.push_back('-');
  u.push_back(kHex[8 + (b & 0x3)]);
  b >>= 2;
  put(b, 3);
  u.push_back('-');
  put(b, 12);
  return u;
}

}  // namespace payengine::clearing
