// Validation of a payment instruction's shape and identifiers. Pure functions:
// no I/O, no clock, the same input always gives the same answer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sagas/payment.hpp"

namespace payengine {

struct ValidationError {
  std::string reason_code;  // ISO 20022 ExternalStatusReason code (sagas/reason.hpp)
  std::string field;        // dotted path of the field at fault, e.g. "creditor.iban"
  std::string message;      // precise human-readable detail
};

// Checks every rule in a fixed order and returns the first violation, or
// nothing when the instruction is valid.
std::optional<ValidationError> validate(const PaymentInstruction& p);

// Identifier checks, usable on their own.
bool is_valid_iban(std::string_view iban);            // ISO 13616: country, length, mod-97 == 1
bool is_valid_bic(std::string_view bic);              // ISO 9362: 4 letters bank, 2 letters country, 2 alnum location, optional 3 alnum branch
bool is_valid_sa_account_number(std::string_view s);  // digits only, 7..11 long, not all zeros
bool is_valid_sa_branch_code(std::string_view s);     // exactly 6 digits
bool is_valid_shap_id(std::string_view s);            // PayShap ShapID "<local>@<bank>"

inline constexpr size_t kMaxRemittanceChars = 140;  // ISO 20022 Ustrd Max140Text
inline constexpr size_t kMaxEndToEndIdChars = 35;   // ISO 20022 Max35Text
inline constexpr size_t kMaxNameChars = 140;        // ISO 20022 Nm Max140Text
inline constexpr int64_t kMaxAmountMinor = 999'999'999'999'999;  // 18 digits incl. decimals

}  // namespace payengine
