// Money: integer minor units with an ISO 4217 currency. Never floating point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace payengine {

struct Money {
  int64_t amount_minor = 0;  // e.g. cents for ZAR
  std::string currency;      // ISO 4217 alphabetic code, upper case
};

inline bool operator==(const Money& a, const Money& b) {
  return a.amount_minor == b.amount_minor && a.currency == b.currency;
}

// Returns the number of minor-unit decimals of an active ISO 4217 currency
// (ZAR 2, JPY 0, BHD 3, ...), or nothing for a code that is not one.
std::optional<int> currency_decimals(std::string_view code);

// Formats an amount in minor units as a decimal string with the currency's
// decimals ("12345" ZAR -> "123.45"). The currency must be known.
std::string format_decimal(int64_t amount_minor, int decimals);

// Parses a decimal string ("123.45") into minor units for `decimals`. Fails
// (nothing) on more fraction digits than the currency has, signs, exponents,
// empty parts or overflow.
std::optional<int64_t> parse_decimal(std::string_view text, int decimals);

}  // namespace payengine
