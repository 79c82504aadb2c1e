// A payment instruction as the engine receives it from any ingress, and the
// payment states of DESIGN.md section 3.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sagas/money.hpp"

namespace payengine {

// A party's account. South African domestic accounts give `account_number`
// and `branch_code`; international ones give `iban` and/or `bic`; PayShap
// creditors may give only a `proxy` (ShapID, e.g. "0812345678@bankname").
struct PartyAccount {
  std::string name;
  std::string account_number;  // SA: digits only, 7 to 11 long
  std::string branch_code;     // SA universal or branch code: 6 digits
  std::string iban;            // optional, validated with mod-97
  std::string bic;             // optional, ISO 9362: 8 or 11 characters
  std::string proxy;           // optional PayShap ShapID
};

enum class Urgency : uint8_t { normal, urgent, instant };

std::string_view to_string(Urgency u);
std::optional<Urgency> urgency_from_string(std::string_view s);

struct PaymentInstruction {
  std::string tenant;          // the bank that sent it
  std::string end_to_end_id;   // caller's reference, 1..35 chars
  Money amount;                // amount_minor > 0
  PartyAccount debtor;
  PartyAccount creditor;
  std::string remittance;      // unstructured, at most 140 characters
  Urgency urgency = Urgency::normal;
  std::string requested_rail;  // empty: the router chooses
};

// Payment states. `rejected`, `failed`, `cancelled`, `completed` are final;
// `in_doubt` is final for the engine (an operator resolves it), with evidence.
enum class PaymentState : uint8_t {
  received,
  validated,
  screened,
  reserved,
  submitted,
  accepted,
  settled,
  completed,
  rejected,
  failed,
  cancelled,
  in_doubt,
};

std::string_view to_string(PaymentState s);
std::optional<PaymentState> payment_state_from_string(std::string_view s);
bool is_final(PaymentState s);

}  // namespace payengine
