// Routing: currency, amount, urgency, limits, hours, breaker state, tenant
// caps and declared fallbacks. A table of cases at fixed SAST times.
#define BOOST_TEST_MODULE router
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>

#include "clearing/router.hpp"
#include "fixtures.hpp"

using namespace payengine;
using namespace payengine::clearing;

namespace {

// Thursday 2026-11-26 10:00 SAST: a business day inside every window.
const int64_t kThursdayMorning = sast_to_epoch_ms(LocalDate{2026, 11, 26}, TimeOfDay{10, 0});
// Thursday 2026-11-26 16:15 SAST: after the RTC business-hours window,
// before the SAMOS cut-off (16:30).
const int64_t kThursdayLate = sast_to_epoch_ms(LocalDate{2026, 11, 26}, TimeOfDay{16, 15});
// Thursday 2026-11-26 17:00 SAST: SAMOS closed too.
const int64_t kThursdayEvening = sast_to_epoch_ms(LocalDate{2026, 11, 26}, TimeOfDay{17, 0});
// Saturday 2026-11-28 10:00 SAST.
const int64_t kSaturday = sast_to_epoch_ms(LocalDate{2026, 11, 28}, TimeOfDay{10, 0});
// Wednesday 2026-12-16 10:00 SAST: Day of Reconciliation, a public holiday.
const int64_t kHoliday = sast_to_epoch_ms(LocalDate{2026, 12, 16}, TimeOfDay{10, 0});

PaymentInstruction zar(int64_t amount_minor, Urgency urgency = Urgency::normal) {
  PaymentInstruction p = testing::valid_instruction();
  p.amount = Money{amount_minor, "ZAR"};
  p.urgency = urgency;
  return p;
}

RailAvailable down(std::set<Rail> rails) {
  return [rails](Rail r) { return rails.count(r) == 0; };
}

struct Case {
  const char* name;
  PaymentInstruction payment;
  int64_t now_ms;
  RailAvailable available;
  std::string expect;  // a rail name, or "!CODE" for a refusal
};

std::string outcome(const Result<Rail>& r) {
  return r ? std::string(to_string(r.value())) : "!" + r.error().code;
}

}  // namespace

BOOST_AUTO_TEST_CASE(routing_table) {
  RoutingConfig config;
  PaymentInstruction usd = zar(100'000);
  usd.amount.currency = "USD";
  PaymentInstruction proxy = zar(20'000, Urgency::instant);
  proxy.creditor.account_number.clear();
  proxy.creditor.branch_code.clear();
  proxy.creditor.proxy = "0812345678@fnb";
  PaymentInstruction big_proxy = proxy;
  big_proxy.amount.amount_minor = 6'000'000;
  PaymentInstruction asks_eft = zar(600'000'000);
  asks_eft.requested_rail = "EFT";
  PaymentInstruction asks_rtc = zar(100'000);
  asks_rtc.requested_rail = "RTC";
  PaymentInstruction asks_nonsense = zar(100'000);
  asks_nonsense.requested_rail = "CARRIER_PIGEON";
  PaymentInstruction eur_on_samos = usd;
  eur_on_samos.requested_rail = "SAMOS";

  const Case cases[] = {
      {"non-ZAR goes to SWIFT", usd, kThursdayMorning, {}, "SWIFT"},
      {"SWIFT down: no fallback for non-ZAR", usd, kThursdayMorning, down({Rail::swift}), "!AB08"},
      {"above R5m must use SAMOS", zar(500'000'001), kThursdayMorning, {}, "SAMOS"},
      {"exactly R5m is not above the threshold", zar(500'000'000, Urgency::urgent), kThursdayMorning, {}, "RTC"},
      {"SAMOS down: no fallback above R5m", zar(600'000'000), kThursdayMorning, down({Rail::samos}), "!AB08"},
      {"normal ZAR goes to EFT", zar(100'000), kThursdayMorning, {}, "EFT"},
      {"EFT down falls back to RTC", zar(100'000), kThursdayMorning, down({Rail::eft}), "RTC"},
      {"EFT and RTC down", zar(100'000), kThursdayMorning, down({Rail::eft, Rail::rtc}), "!AB08"},
      {"urgent goes to RTC", zar(100'000, Urgency::urgent), kThursdayMorning, {}, "RTC"},
      {"urgent R1m in business hours: RTC", zar(100'000'000, Urgency::urgent), kThursdayMorning, {}, "RTC"},
      {"urgent R1m at 16:15: above R250k, SAMOS", zar(100'000'000, Urgency::urgent), kThursdayLate, {}, "SAMOS"},
      {"urgent R1m at 17:00: SAMOS closed too, EFT", zar(100'000'000, Urgency::urgent), kThursdayEvening, {}, "EFT"},
      {"urgent R1m on Saturday: EFT", zar(100'000'000, Urgency::urgent), kSaturday, {}, "EFT"},
      {"urgent R1m on a public holiday: EFT", zar(100'000'000, Urgency::urgent), kHoliday, {}, "EFT"},
      {"above R5m after the SAMOS cut-off still SAMOS", zar(600'000'000), kThursdayEvening, {}, "SAMOS"},
      {"urgent R200k after 16:00 is within R250k: RTC", zar(20'000'000, Urgency::urgent), kThursdayEvening, {}, "RTC"},
      {"urgent, RTC down: SAMOS", zar(100'000, Urgency::urgent), kThursdayMorning, down({Rail::rtc}), "SAMOS"},
      {"urgent, RTC and SAMOS down: EFT", zar(100'000, Urgency::urgent), kThursdayMorning, down({Rail::rtc, Rail::samos}), "EFT"},
      {"instant within the PayShap cap", zar(5'000'000, Urgency::instant), kThursdayMorning, {}, "PAYSHAP"},
      {"instant above the PayShap cap: RTC", zar(5'000'001, Urgency::instant), kThursdayMorning, {}, "RTC"},
      {"PayShap down falls back to RTC", zar(100'000, Urgency::instant), kThursdayMorning, down({Rail::payshap}), "RTC"},
      {"a proxy creditor goes to PayShap", proxy, kThursdayMorning, {}, "PAYSHAP"},
      {"a proxy creditor cannot fall back", proxy, kThursdayMorning, down({Rail::payshap}), "!AB08"},
      {"a proxy creditor above the cap", big_proxy, kThursdayMorning, {}, "!AM02"},
      {"requested EFT above R5m is refused", asks_eft, kThursdayMorning, {}, "!AM02"},
      {"requested RTC is honoured", asks_rtc, kThursdayMorning, {}, "RTC"},
      {"requested RTC while down: no fallback", asks_rtc, kThursdayMorning, down({Rail::rtc}), "!AB08"},
      {"an unknown requested rail", asks_nonsense, kThursdayMorning, {}, "!FF01"},
      {"requested SAMOS for USD", eur_on_samos, kThursdayMorning, {}, "!AM03"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_CHECK_EQUAL(outcome(route(c.payment, config, c.now_ms, c.available)), c.expect);
    }
  }
}

BOOST_AUTO_TEST_CASE(tenant_caps_and_fallbacks) {
  RoutingConfig config;
  config.tenants["cautious"].payshap_cap_minor = 1'000'000;  // R10,000
  config.tenants["cautious"].fallbacks[Rail::payshap] = {Rail::eft};
  PaymentInstruction p = zar(2'000'000, Urgency::instant);  // R20,000
  p.tenant = "bank1";
  BOOST_CHECK_EQUAL(outcome(route(p, config, kThursdayMorning)), "PAYSHAP");
  p.tenant = "cautious";
  // Above this tenant's lower cap, so PayShap is not even the primary.
  BOOST_CHECK_EQUAL(outcome(route(p, config, kThursdayMorning)), "RTC");
  p.amount.amount_minor = 500'000;
  BOOST_CHECK_EQUAL(outcome(route(p, config, kThursdayMorning)), "PAYSHAP");
  // The tenant's own fallback list replaces the default (RTC).
  BOOST_CHECK_EQUAL(outcome(route(p, config, kThursdayMorning, down({Rail::payshap}))), "EFT");
  // A tenant cannot raise the scheme cap.
  config.tenants["greedy"].payshap_cap_minor = 100'000'000;
  p.tenant = "greedy";
  p.amount.amount_minor = 5'000'001;
  BOOST_CHECK_EQUAL(outcome(route(p, config, kThursdayMorning)), "RTC");
}

BOOST_AUTO_TEST_CASE(routing_is_a_pure_function) {
  RoutingConfig config;
  auto p = zar(100'000'000, Urgency::urgent);
  for (int64_t t = kThursdayMorning; t < kThursdayMorning + 48 * 3'600'000; t += 15 * 60'000) {
    auto a = route(p, config, t);
    auto b = route(p, config, t);
    BOOST_REQUIRE_EQUAL(outcome(a), outcome(b));
    BOOST_REQUIRE(outcome(a) == "RTC" || outcome(a) == "SAMOS" || outcome(a) == "EFT");
  }
}
