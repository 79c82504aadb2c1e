#include "clearing/router.hpp"

#include <array>

namespace payengine::clearing {
namespace {
constexpr std::array<std::string_view, 5> kRailNames = {"SAMOS", "EFT", "RTC", "PAYSHAP", "SWIFT"};

Error refuse(std::string code, std::string message) { return Error{std::move(code), std::move(message)}; }
}  // namespace

std::string_view to_string(Rail r) { return kRailNames[static_cast<size_t>(r)]; }

std::optional<Rail> rail_from_string(std::string_view s) {
  for (size_t i = 0; i < kRailNames.size(); ++i)
    if (kRailNames[i] == s) return static_cast<Rail>(i);
  return std::nullopt;
}

Result<Rail> route(const PaymentInstruction& p, const RoutingConfig& c, int64_t now_ms,
                   const RailAvailable& available) {
  const int64_t amount = p.amount.amount_minor;
  const bool zar = p.amount.currency == "ZAR";
  const bool proxy_only = !p.creditor.proxy.empty() && p.creditor.account_number.empty() &&
                          p.creditor.iban.empty();
  const TenantRouting* tenant = nullptr;
  if (auto it = c.tenants.find(p.tenant); it != c.tenants.end()) tenant = &it->second;
  int64_t payshap_cap = c.payshap_scheme_cap_minor;
  if (tenant && tenant->payshap_cap_minor > 0) payshap_cap = std::min(payshap_cap, tenant->payshap_cap_minor);

  // Whether rail `r` may carry this payment now, limits and hours only.
  auto check = [&](Rail r) -> Result<Rail> {
    switch (r) {
      case Rail::swift:
        if (zar) return refuse("AM03", "SWIFT carries non-ZAR payments only");
        break;
      case Rail::samos:
        if (!zar) return refuse("AM03", "SAMOS settles ZAR only");
        // Above the threshold SAMOS is mandatory and the payment waits for
        // the next settlement window; below it, a closed SAMOS is no choice.
        if (amount <= c.samos_threshold_minor && !samos_open(c.samos, c.calendar, now_ms))
          return refuse("AM02", "SAMOS is closed at this hour");
        break;
      case Rail::eft:
        if (!zar) return refuse("AM03", "EFT carries ZAR only");
        if (amount >= c.eft_limit_minor) return refuse("AM02", "EFT refuses credits from R5m");
        break;
      case Rail::rtc: {
        if (!zar) return refuse("AM03", "RTC carries ZAR only");
        int64_t limit = rtc_limit_minor(c.rtc, c.calendar, now_ms);
        if (amount > limit)
          return refuse("AM02", "amount above the RTC limit at this hour (" + std::to_string(limit) + " cents)");
        break;
      }
      case Rail::payshap:
        if (!zar) return refuse("AM03", "PayShap carries ZAR only");
        if (amount > payshap_cap)
          return refuse("AM02", "amount above the PayShap cap (" + std::to_string(payshap_cap) + " cents)");
        break;
    }
    if (zar && amount > c.samos_threshold_minor && r != Rail::samos)
      return refuse("AM02", "ZAR credit transfers above R5m must clear over SAMOS");
    if (proxy_only && r != Rail::payshap)
      return refuse("AC03", "a proxy-only creditor can be paid over PayShap only");
    return r;
  };
  auto up = [&](Rail r) { return !available || available(r); };

  if (!p.requested_rail.empty()) {
    auto r = rail_from_string(p.requested_rail);
    if (!r) return refuse("FF01", "requested_rail: unknown rail '" + p.requested_rail + "'");
    auto ok = check(*r);
    if (!ok) return ok;
    if (!up(*r)) return refuse("AB08", std::string(to_string(*r)) + " is unavailable (circuit breaker open)");
    return ok;
  }

  Rail primary;
  if (!zar) primary = Rail::swift;
  else if (amount > c.samos_threshold_minor) primary = Rail::samos;
  else if (proxy_only || (p.urgency == Urgency::instant && amount <= payshap_cap)) primary = Rail::payshap;
  else if (p.urgency != Urgency::normal) primary = Rail::rtc;
  else primary = Rail::eft;

  std::vector<Rail> candidates{primary};
  const std::vector<Rail>* fallbacks = nullptr;
  if (tenant) {
    if (auto it = tenant->fallbacks.find(primary); it != tenant->fallbacks.end()) fallbacks = &it->second;
  }
  if (!fallbacks) {
    if (auto it = c.fallbacks.find(primary); it != c.fallbacks.end()) fallbacks = &it->second;
  }
  if (fallbacks) candidates.insert(candidates.end(), fallbacks->begin(), fallbacks->end());

  std::optional<Error> first_refusal;
  std::vector<std::string> down;
  for (Rail r : candidates) {
    auto ok = check(r);
    if (!ok) {
      if (!first_refusal) first_refusal = ok.error();
      continue;
    }
    if (!up(r)) {
      down.emplace_back(to_string(r));
      continue;
    }
    return ok;
  }
  if (!down.empty()) {
    std::string names;
    for (auto& d : down) names += (names.empty() ? "" : ", ") + d;
    return refuse("AB08", "no rail available for this payment: circuit breaker open on " + names);
  }
  return *first_refusal;
}

}  // namespace payengine::clearing
