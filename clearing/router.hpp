// Routing: which rail a payment goes over, from its currency, amount,
// urgency, the rails' limits and operating hours, the breakers' state and
// the tenant's own settings. Pure: the same payment, configuration, time
// and rail availability always give the same rail (the saga journals it).
//
// The order of preference, before fallbacks:
//   non-ZAR                              SWIFT
//   ZAR above R5m                        SAMOS (mandatory; no fallback)
//   creditor given only as a ShapID      PAYSHAP (no fallback: no account)
//   instant, within the tenant's PayShap cap   PAYSHAP
//   urgent                               RTC (its limit at this hour), else SAMOS
//                                        (while open), else EFT
//   otherwise                            EFT
// then the declared fallbacks of that rail, in order (default: PAYSHAP ->
// RTC, RTC -> SAMOS -> EFT, EFT -> RTC). The first candidate whose breaker
// is not open and whose limits and hours allow the payment wins.
//
// A payment may name a rail (`requested_rail`): it is honoured only within
// that rail's limits (AM02 amount, AM03 currency), and with no fallback.
// When every candidate's breaker is open the answer is AB08 (the saga fails
// the payment with compensation; ingress may refuse it up front instead).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "clearing/clearing.hpp"
#include "clearing/hours.hpp"
#include "sagas/result.hpp"

namespace payengine::clearing {

struct TenantRouting {
  int64_t payshap_cap_minor = 0;                  // 0: the scheme cap; lower caps only
  std::map<Rail, std::vector<Rail>> fallbacks;    // replaces the defaults for the rails given
};

struct RoutingConfig {
  int64_t samos_threshold_minor = 500'000'000;    // ZAR credit transfers above R5m must use SAMOS
  int64_t payshap_scheme_cap_minor = 5'000'000;   // R50,000
  int64_t eft_limit_minor = 500'000'000;          // EFT refuses credits from R5m
  RtcLimits rtc;                                  // R5m business hours, R250k otherwise
  SamosSchedule samos;
  Calendar calendar = Calendar::south_africa();
  std::map<Rail, std::vector<Rail>> fallbacks = {
      {Rail::payshap, {Rail::rtc}}, {Rail::rtc, {Rail::samos, Rail::eft}}, {Rail::eft, {Rail::rtc}}};
  std::map<std::string, TenantRouting> tenants;   // by tenant id
};

// Whether a rail takes submissions now (its breaker is not open). Empty:
// every rail does.
using RailAvailable = std::function<bool(Rail)>;

// Picks the rail (see the file comment). Errors carry the ISO 20022 reason
// in `code` and name the rule in `message`.
Result<Rail> route(const PaymentInstruction& p, const RoutingConfig& config, int64_t now_ms,
                   const RailAvailable& available = {});

}  // namespace payengine::clearing
