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

Result<Rail> route(const PaymentInstruction& p, const RoutingConfig& c) {
  const int64_t amount = p.amount.amount_minor;
  const bool zar = p.amount.currency == "ZAR";
  const bool proxy_only = !p.creditor.proxy.empty() && p.creditor.account_number.empty() &&
                          p.creditor.iban.empty();

  auto check = [&](Rail r) -> Result<Rail> {
    switch (r) {
      case Rail::swift:
        if (zar) return refuse("AM03", "SWIFT carries non-ZAR payments only");
        break;
      case Rail::samos:
        if (!zar) return refuse("AM03", "SAMOS settles ZAR only");
        break;
      case Rail::eft:
        if (!zar) return refuse("AM03", "EFT carries ZAR only");
        if (amount >= c.eft_limit_minor) return refuse("AM02", "EFT refuses credits from R5m");
        break;
      case Rail::rtc:
        if (!zar) return refuse("AM03", "RTC carries ZAR only");
        if (amount > c.rtc_limit_minor) return refuse("AM02", "amount above the RTC limit");
        break;
      case Rail::payshap:
        if (!zar) return refuse("AM03", "PayShap carries ZAR only");
        if (amount > c.payshap_cap_minor) return refuse("AM02", "amount above the PayShap cap");
        break;
    }
    if (zar && amount > c.samos_threshold_minor && r != Rail::samos)
      return refuse("AM02", "ZAR credit transfers above R5m must clear over SAMOS");
    if (proxy_only && r != Rail::payshap)
      return refuse("AC03", "a proxy-only creditor can be paid over PayShap only");
    return r;
  };

  if (!p.requested_rail.empty()) {
    auto r = rail_from_string(p.requested_rail);
    if (!r) return refuse("FF01", "unknown rail '" + p.requested_rail + "'");
    return check(*r);
  }
  if (!zar) return check(Rail::swift);
  if (amount > c.samos_threshold_minor) return check(Rail::samos);
  if (proxy_only || (p.urgency == Urgency::instant && amount <= c.payshap_cap_minor))
    return check(Rail::payshap);
  if (p.urgency != Urgency::normal) return check(Rail::rtc);
  return check(Rail::eft);
}

}  // namespace payengine::clearing
