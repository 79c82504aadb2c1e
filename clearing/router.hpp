// Routing: which rail a payment goes over. Pure: the same payment and
// configuration always give the same rail.
#pragma once

#include <cstdint>

#include "clearing/clearing.hpp"
#include "sagas/result.hpp"

namespace payengine::clearing {

struct RoutingConfig {
  int64_t samos_threshold_minor = 500'000'000;  // ZAR credit transfers above R5m must use SAMOS
  int64_t payshap_cap_minor = 5'000'000;        // R50,000 scheme cap
  int64_t rtc_limit_minor = 500'000'000;        // R5m
  int64_t eft_limit_minor = 500'000'000;        // EFT refuses credits from R5m
};

// Picks the rail: non-ZAR -> SWIFT; ZAR above the SAMOS threshold -> SAMOS;
// a proxy-only creditor or an instant payment within the PayShap cap ->
// PAYSHAP; urgent -> RTC; otherwise EFT. A requested rail is honoured when
// the payment is within its limits, else refused with AM02 (amount) or AM03
// (currency). Errors carry the reason code in `code`.
Result<Rail> route(const PaymentInstruction& p, const RoutingConfig& config);

}  // namespace payengine::clearing
