#define BOOST_TEST_MODULE hours
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <ctime>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "clearing/hours.hpp"

using namespace payengine;
using namespace payengine::clearing;

namespace payengine::clearing {
// For Boost.Test messages.
std::ostream& operator<<(std::ostream& os, const LocalDate& d) { return os << format_date(d); }
std::ostream& operator<<(std::ostream& os, Weekday w) { return os << static_cast<int>(w); }
}  // namespace payengine::clearing

namespace {

// Epoch milliseconds of a UTC date and time, computed by the C library
// (timegm), independently of the code under test. SAST = UTC + 2 h.
int64_t utc_ms(int year, int month, int day, int hour, int minute, int second = 0, int ms = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

LocalDate date(int y, int m, int d) { return LocalDate{y, m, d}; }

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

const Calendar& za() {
  static const Calendar calendar = Calendar::south_africa();
  return calendar;
}

// Reference week: Thu 26 .. Mon 30 November 2026, no holidays.
const int64_t kFri0000 = utc_ms(2026, 11, 26, 22, 0);      // Fri 27 Nov 2026 00:00 SAST
const int64_t kFri0659 = utc_ms(2026, 11, 27, 4, 59);      // Fri 06:59 SAST
const int64_t kFri0700 = utc_ms(2026, 11, 27, 5, 0);       // Fri 07:00 SAST
const int64_t kFri0759_59 = utc_ms(2026, 11, 27, 5, 59, 59, 999);  // Fri 07:59:59.999 SAST
const int64_t kFri0800 = utc_ms(2026, 11, 27, 6, 0);       // Fri 08:00 SAST
const int64_t kFri1015 = utc_ms(2026, 11, 27, 8, 15);      // Fri 10:15 SAST
const int64_t kFri1259 = utc_ms(2026, 11, 27, 10, 59);     // Fri 12:59 SAST
const int64_t kFri1359 = utc_ms(2026, 11, 27, 11, 59);     // Fri 13:59 SAST
const int64_t kFri1400 = utc_ms(2026, 11, 27, 12, 0);      // Fri 14:00 SAST
const int64_t kFri1459 = utc_ms(2026, 11, 27, 12, 59);     // Fri 14:59 SAST
const int64_t kFri1500 = utc_ms(2026, 11, 27, 13, 0);      // Fri 15:00 SAST
const int64_t kFri1529 = utc_ms(2026, 11, 27, 13, 29);     // Fri 15:29 SAST
const int64_t kFri1530 = utc_ms(2026, 11, 27, 13, 30);     // Fri 15:30 SAST
const int64_t kFri1559 = utc_ms(2026, 11, 27, 13, 59);     // Fri 15:59 SAST
const int64_t kFri1600 = utc_ms(2026, 11, 27, 14, 0);      // Fri 16:00 SAST
const int64_t kFri1629 = utc_ms(2026, 11, 27, 14, 29);     // Fri 16:29 SAST
const int64_t kFri1630 = utc_ms(2026, 11, 27, 14, 30);     // Fri 16:30 SAST
const int64_t kFri1659 = utc_ms(2026, 11, 27, 14, 59);     // Fri 16:59 SAST
const int64_t kFri1659_59 = utc_ms(2026, 11, 27, 14, 59, 59, 999);  // Fri 16:59:59.999 SAST
const int64_t kFri1700 = utc_ms(2026, 11, 27, 15, 0);      // Fri 17:00 SAST
const int64_t kFri1701 = utc_ms(2026, 11, 27, 15, 1);      // Fri 17:01 SAST
const int64_t kFri2359 = utc_ms(2026, 11, 27, 21, 59);     // Fri 23:59 SAST
const int64_t kThu2359 = utc_ms(2026, 11, 26, 21, 59);     // Thu 26 Nov 23:59 SAST
const int64_t kSat0600 = utc_ms(2026, 11, 28, 4, 0);       // Sat 28 Nov 06:00 SAST
const int64_t kSat1000 = utc_ms(2026, 11, 28, 8, 0);       // Sat 10:00 SAST
const int64_t kSat1129 = utc_ms(2026, 11, 28, 9, 29);      // Sat 11:29 SAST
const int64_t kSat1130 = utc_ms(2026, 11, 28, 9, 30);      // Sat 11:30 SAST
const int64_t kSat1131 = utc_ms(2026, 11, 28, 9, 31);      // Sat 11:31 SAST
const int64_t kSat1559 = utc_ms(2026, 11, 28, 13, 59);     // Sat 15:59 SAST
const int64_t kSun1000 = utc_ms(2026, 11, 29, 8, 0);       // Sun 29 Nov 10:00 SAST
const int64_t kMon0700 = utc_ms(2026, 11, 30, 5, 0);       // Mon 30 Nov 07:00 SAST
const int64_t kMon0800 = utc_ms(2026, 11, 30, 6, 0);       // Mon 30 Nov 08:00 SAST

// Holidays.
const int64_t kHeritage1000 = utc_ms(2026, 9, 24, 8, 0);      // Thu 24 Sep 2026 10:00 SAST, Heritage Day
const int64_t kWomenObs1000 = utc_ms(2026, 8, 10, 8, 0);      // Mon 10 Aug 2026 10:00 SAST, Women's Day (Sun 9th) observed
const int64_t kGoodwillObs1000 = utc_ms(2027, 12, 27, 8, 0);  // Mon 27 Dec 2027 10:00 SAST, Day of Goodwill (Sun 26th) observed

}  // namespace

BOOST_AUTO_TEST_CASE(sast_breakdown_is_utc_plus_two) {
  // A literal instant: 1'795'791'540'000 ms = Fri 27 Nov 2026 14:59:00 UTC.
  BOOST_TEST(kFri1659 == int64_t{1'795'791'540'000});
  LocalDateTime t = to_sast(kFri1659);
  BOOST_TEST(t.date == date(2026, 11, 27));
  BOOST_TEST(t.weekday == Weekday::friday);
  BOOST_TEST(t.hour == 16);
  BOOST_TEST(t.minute == 59);
  BOOST_TEST(t.second == 0);
  BOOST_TEST(t.ms_of_day == int64_t{(16 * 60 + 59) * 60'000});

  // 22:30 UTC on Friday is already Saturday 00:30 in Johannesburg.
  t = to_sast(utc_ms(2026, 11, 27, 22, 30));  // Sat 28 Nov 00:30 SAST
  BOOST_TEST(t.date == date(2026, 11, 28));
  BOOST_TEST(t.weekday == Weekday::saturday);
  BOOST_TEST(t.hour == 0);
  BOOST_TEST(t.minute == 30);

  t = to_sast(0);  // 1970-01-01 00:00 UTC = 02:00 SAST, a Thursday
  BOOST_TEST(t.date == date(1970, 1, 1));
  BOOST_TEST(t.weekday == Weekday::thursday);
  BOOST_TEST(t.hour == 2);
  t = to_sast(-7'200'001);  // 1969-12-31 21:59:59.999 UTC = 23:59:59.999 SAST
  BOOST_TEST(t.date == date(1969, 12, 31));
  BOOST_TEST(t.ms_of_day == int64_t{86'399'999});
  to_sast(INT64_MAX);  // no overflow (UBSan would say)
  to_sast(INT64_MIN);

  BOOST_TEST(sast_to_epoch_ms(date(2026, 11, 27), TimeOfDay{16, 59}) == kFri1659);
  BOOST_TEST(sast_to_epoch_ms(date(2026, 11, 27), TimeOfDay{0, 0}) == kFri0000);

  // Every hour of 2026 and 2027 against the C library's gmtime of t + 2 h.
  for (int64_t ms = utc_ms(2026, 1, 1, 0, 0); ms < utc_ms(2028, 1, 1, 0, 0); ms += 3'600'000) {
    const time_t shifted = static_cast<time_t>((ms + 7'200'000) / 1000);
    std::tm ref{};
    gmtime_r(&shifted, &ref);
    const LocalDateTime got = to_sast(ms);
    BOOST_REQUIRE_EQUAL(got.date, date(ref.tm_year + 1900, ref.tm_mon + 1, ref.tm_mday));
    BOOST_REQUIRE_EQUAL(static_cast<int>(got.weekday), ref.tm_wday);
    BOOST_REQUIRE_EQUAL(got.hour, ref.tm_hour);
    BOOST_REQUIRE_EQUAL(weekday_of(got.date), got.weekday);
    BOOST_REQUIRE_EQUAL(sast_to_epoch_ms(got.date, TimeOfDay{got.hour, got.minute}), ms);
  }
}

BOOST_AUTO_TEST_CASE(dates_parse_format_and_add) {
  BOOST_TEST(parse_date("2026-11-26").value() == date(2026, 11, 26));
  BOOST_TEST(parse_date("2028-02-29").value() == date(2028, 2, 29));  // leap year
  for (const char* bad : {"2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-01-00",
                          "2026-1-01", "2026/01/01", "", "2026-01-011", "2026-01-0a", "+026-01-01",
                          "2026-04-31"})
    BOOST_TEST(!parse_date(bad).has_value(), bad);
  BOOST_TEST(format_date(date(2026, 3, 1)) == "2026-03-01");
  BOOST_TEST(format_time(TimeOfDay{7, 5}) == "07:05");
  BOOST_TEST(add_days(date(2026, 12, 31), 1) == date(2027, 1, 1));
  BOOST_TEST(add_days(date(2028, 3, 1), -1) == date(2028, 2, 29));
  BOOST_TEST(add_days(date(2026, 11, 27), 3) == date(2026, 11, 30));
  BOOST_TEST(weekday_of(date(2026, 11, 29)) == Weekday::sunday);
}

BOOST_AUTO_TEST_CASE(calendar_has_the_2026_2027_holidays_with_the_sunday_rule) {
  const Calendar& c = za();
  BOOST_TEST(c.is_business_day(date(2026, 11, 27)));   // Friday
  BOOST_TEST(!c.is_business_day(date(2026, 11, 28)));  // Saturday
  BOOST_TEST(!c.is_business_day(date(2026, 11, 29)));  // Sunday
  BOOST_TEST(!c.is_public_holiday(date(2026, 11, 28)));
  BOOST_TEST(c.is_public_holiday(date(2026, 9, 24)));  // Heritage Day (Thursday)
  BOOST_TEST(!c.is_business_day(date(2026, 9, 24)));
  BOOST_TEST(c.is_business_day(date(2026, 9, 25)));
  // Sunday holidays are observed on the Monday.
  BOOST_TEST(c.is_public_holiday(date(2026, 8, 9)));    // Women's Day, Sunday
  BOOST_TEST(c.is_public_holiday(date(2026, 8, 10)));   // observed Monday
  BOOST_TEST(!c.is_business_day(date(2026, 8, 10)));
  BOOST_TEST(c.is_business_day(date(2026, 8, 11)));
  BOOST_TEST(!c.is_business_day(date(2027, 3, 22)));   // Human Rights Day (Sun 21st) observed
  BOOST_TEST(!c.is_business_day(date(2027, 12, 27)));  // Day of Goodwill (Sun 26th) observed
  // A Saturday holiday is not moved.
  BOOST_TEST(c.is_public_holiday(date(2026, 12, 26)));
  BOOST_TEST(c.is_business_day(date(2026, 12, 28)));
  BOOST_TEST(c.is_business_day(date(2027, 5, 3)));  // Workers' Day on Sat 1 May 2027: no Monday off
  // Easter.
  BOOST_TEST(!c.is_business_day(date(2026, 4, 3)));   // Good Friday
  BOOST_TEST(!c.is_business_day(date(2026, 4, 6)));   // Family Day
  BOOST_TEST(!c.is_business_day(date(2027, 3, 26)));  // Good Friday
  BOOST_TEST(!c.is_business_day(date(2027, 3, 29)));  // Family Day
  // 24 gazetted days + 3 observed Mondays.
  BOOST_TEST(south_african_holidays_2026_2027().size() == 24u);
  BOOST_TEST(c.holidays().size() == 27u);
  BOOST_TEST(c.holiday_count() == 27u);
  BOOST_TEST(c.holidays().front() == date(2026, 1, 1));
  BOOST_TEST(c.holidays().back() == date(2027, 12, 27));

  BOOST_TEST(c.next_business_day(date(2026, 11, 27)) == date(2026, 11, 30));  // Fri -> Mon
  BOOST_TEST(c.next_business_day(date(2026, 12, 24)) == date(2026, 12, 28));  // over Christmas
  BOOST_TEST(c.next_business_day(date(2026, 4, 2)) == date(2026, 4, 7));      // over Easter
  BOOST_TEST(c.next_business_day(date(2026, 8, 7)) == date(2026, 8, 11));     // over Women's Day

  // A calendar of the caller's own: the rule applies to it too.
  auto own = Calendar::make({"2026-11-29", "2026-11-29", "2026-11-26"});
  BOOST_REQUIRE(own.ok());
  BOOST_TEST(own->holiday_count() == 3u);
  BOOST_TEST(!own->is_business_day(date(2026, 11, 30)));
  BOOST_TEST(!own->is_business_day(date(2026, 11, 26)));
  BOOST_TEST(Calendar{}.is_business_day(date(2026, 9, 24)));  // no holidays at all

  auto bad = Calendar::make({"2026-01-01", "2026-02-30"});
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().code == "config");
  BOOST_TEST(bad.error().message == "holidays[1]: '2026-02-30' is not a date YYYY-MM-DD");
}

BOOST_AUTO_TEST_CASE(eft_window_open_at_the_edges) {
  const EftSchedule s;
  const Calendar& c = za();
  BOOST_TEST(!eft_window_open(s, c, kFri0759_59));
  BOOST_TEST(eft_window_open(s, c, kFri0800));
  BOOST_TEST(eft_window_open(s, c, kFri1659_59));
  BOOST_TEST(!eft_window_open(s, c, kFri1700));
  BOOST_TEST(eft_window_open(s, c, kSat1129));
  BOOST_TEST(!eft_window_open(s, c, kSat1130));
  BOOST_TEST(!eft_window_open(s, c, kSat1131));
  BOOST_TEST(!eft_window_open(s, c, kSun1000));
  BOOST_TEST(!eft_window_open(s, c, kHeritage1000));
  BOOST_TEST(!eft_window_open(s, c, kWomenObs1000));
  BOOST_TEST(!eft_window_open(s, c, utc_ms(2026, 12, 26, 8, 0)));  // Sat 26 Dec 10:00 SAST, a holiday
  BOOST_TEST(eft_window_open(s, Calendar{}, kHeritage1000));       // without the holiday
}

BOOST_AUTO_TEST_CASE(hourly_cycles_fill_the_window) {
  auto hm = [](const std::vector<TimeOfDay>& v) {
    std::string out;
    for (const TimeOfDay& t : v) out += format_time(t) + " ";
    return out;
  };
  BOOST_TEST(hm(hourly_cycles({{8, 0}, {11, 30}})) == "08:00 09:00 10:00 11:00 11:30 ");
  BOOST_TEST(hm(hourly_cycles({{8, 0}, {17, 0}})) ==
             "08:00 09:00 10:00 11:00 12:00 13:00 14:00 15:00 16:00 17:00 ");
  BOOST_TEST(hm(hourly_cycles({{8, 15}, {10, 0}})) == "09:00 10:00 ");
  BOOST_TEST(hm(hourly_cycles({{8, 15}, {8, 45}})) == "08:45 ");
  BOOST_TEST(hm(EftSchedule{}.saturday_cycles) == "08:00 09:00 10:00 11:00 11:30 ");
  BOOST_TEST(EftSchedule{}.weekday_cycles.size() == 10u);
}

BOOST_AUTO_TEST_CASE(eft_next_cycle_rolls_over_evenings_weekends_and_holidays) {
  const EftSchedule s;
  const Calendar& c = za();
  auto cycle = [&](int64_t now_ms) {
    auto r = next_eft_cycle(s, c, now_ms);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
    return std::move(r).value();
  };

  EftCycle e = cycle(kFri1659);
  BOOST_TEST(e.id == "20261127-1700");
  BOOST_TEST(e.cutoff_ms == kFri1700);
  BOOST_TEST(e.action_date == date(2026, 11, 27));
  BOOST_TEST(e.settlement_date == date(2026, 11, 27));

  // At 17:00:00.000 the 17:00 cut-off has passed: Saturday's first cycle.
  BOOST_TEST(cycle(kFri1700).id == "20261128-0800");
  e = cycle(kFri1701);
  BOOST_TEST(e.id == "20261128-0800");
  BOOST_TEST(e.cutoff_ms == utc_ms(2026, 11, 28, 6, 0));  // Sat 08:00 SAST
  BOOST_TEST(e.action_date == date(2026, 11, 28));
  BOOST_TEST(e.settlement_date == date(2026, 11, 30));  // settles Monday

  BOOST_TEST(cycle(kSat1129).id == "20261128-1130");
  e = cycle(kSat1131);
  BOOST_TEST(e.id == "20261130-0800");
  BOOST_TEST(e.cutoff_ms == kMon0800);
  BOOST_TEST(e.settlement_date == date(2026, 11, 30));
  BOOST_TEST(cycle(kSun1000).id == "20261130-0800");

  BOOST_TEST(cycle(kFri1015).id == "20261127-1100");
  BOOST_TEST(cycle(kFri0700).id == "20261127-0800");
  BOOST_TEST(cycle(kFri0800).id == "20261127-0900");
  BOOST_TEST(cycle(kSat0600).id == "20261128-0800");
  BOOST_TEST(cycle(kHeritage1000).id == "20260925-0800");
  // Thu 24 Dec 17:30 SAST: Christmas (Fri), Day of Goodwill (Sat), Sunday -> Monday.
  BOOST_TEST(cycle(utc_ms(2026, 12, 24, 15, 30)).id == "20261228-0800");
  // Sat 8 Aug 2026 12:00 SAST: Sunday Women's Day, Monday observed -> Tuesday.
  BOOST_TEST(cycle(utc_ms(2026, 8, 8, 10, 0)).id == "20260811-0800");

  // A schedule of the caller's own: three cycles, no Saturdays.
  EftSchedule own;
  own.weekday_cycles = {{10, 0}, {14, 0}, {16, 30}};
  own.saturday_window.reset();
  own.saturday_cycles.clear();
  BOOST_REQUIRE(validate(own).ok());
  BOOST_TEST(next_eft_cycle(own, c, kFri1359)->id == "20261127-1400");
  BOOST_TEST(next_eft_cycle(own, c, kFri1400)->id == "20261127-1630");
  BOOST_TEST(next_eft_cycle(own, c, kFri1630)->id == "20261130-1000");
  BOOST_TEST(!eft_window_open(own, c, kSat1000));

  EftSchedule broken;
  broken.weekday_window = DailyWindow{{17, 0}, {8, 0}};
  auto r = next_eft_cycle(broken, c, kFri1015);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "config");
}

BOOST_AUTO_TEST_CASE(eft_schedule_validation) {
  struct Case {
    const char* name;
    std::function<void(EftSchedule&)> mutate;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"close before open", [](EftSchedule& s) { s.weekday_window = DailyWindow{{8, 0}, {7, 0}}; },
       "weekday_window: close 07:00 is not after open 08:00"},
      {"close equals open",
       [](EftSchedule& s) { s.saturday_window = DailyWindow{{8, 0}, {8, 0}}; },
       "saturday_window: close 08:00 is not after open 08:00"},
      {"open 24:00", [](EftSchedule& s) { s.weekday_window = DailyWindow{{24, 0}, {24, 0}}; },
       "weekday_window: open 24:00 is not a time of day"},
      {"minute 60", [](EftSchedule& s) { s.weekday_window = DailyWindow{{8, 0}, {16, 60}}; },
       "weekday_window: close 16:60 is not a time of day"},
      {"cycle outside window", [](EftSchedule& s) { s.weekday_cycles.push_back({18, 0}); },
       "weekday_cycles[10]: 18:00 is outside weekday_window 08:00-17:00"},
      {"cycle before open", [](EftSchedule& s) { s.saturday_cycles[0] = {7, 0}; },
       "saturday_cycles[0]: 07:00 is outside saturday_window 08:00-11:30"},
      {"cycles not increasing", [](EftSchedule& s) { s.weekday_cycles[3] = s.weekday_cycles[2]; },
       "weekday_cycles[3]: 10:00 is not after 10:00"},
      {"cycles without window", [](EftSchedule& s) { s.saturday_window.reset(); },
       "saturday_cycles: given without saturday_window"},
      {"window without cycles", [](EftSchedule& s) { s.weekday_cycles.clear(); },
       "weekday_cycles: empty while weekday_window is set"},
      {"no windows",
       [](EftSchedule& s) {
         s = EftSchedule{};
         s.weekday_window.reset();
         s.weekday_cycles.clear();
         s.saturday_window.reset();
         s.saturday_cycles.clear();
       },
       "weekday_window, saturday_window: both absent"},
  };
  BOOST_TEST(validate(EftSchedule{}).ok());
  for (const Case& k : cases) {
    BOOST_TEST_CONTEXT(k.name) {
      EftSchedule s;
      k.mutate(s);
      auto v = validate(s);
      BOOST_REQUIRE(!v.ok());
      BOOST_TEST(v.error().code == "config");
      BOOST_TEST(starts_with(v.error().message, k.message), v.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(rtc_limit_by_day_and_time) {
  const RtcLimits l;
  const Calendar& c = za();
  constexpr int64_t high = 500'000'000;  // R5,000,000.00
  constexpr int64_t low = 25'000'000;    // R250,000.00
  BOOST_TEST(rtc_limit_minor(l, c, kFri0000) == high);
  BOOST_TEST(rtc_limit_minor(l, c, kFri1559) == high);
  BOOST_TEST(rtc_limit_minor(l, c, kFri1600) == low);
  BOOST_TEST(rtc_limit_minor(l, c, kFri2359) == low);
  BOOST_TEST(rtc_limit_minor(l, c, kThu2359) == low);
  BOOST_TEST(rtc_limit_minor(l, c, kSat1559) == low);
  BOOST_TEST(rtc_limit_minor(l, c, utc_ms(2026, 11, 28, 14, 0)) == low);  // Sat 16:00 SAST
  BOOST_TEST(rtc_limit_minor(l, c, kSat1000) == low);
  BOOST_TEST(rtc_limit_minor(l, c, kSun1000) == low);
  BOOST_TEST(rtc_limit_minor(l, c, kHeritage1000) == low);     // a weekday holiday: low
  BOOST_TEST(rtc_limit_minor(l, c, kWomenObs1000) == low);     // observed Monday: low
  BOOST_TEST(rtc_limit_minor(l, c, kGoodwillObs1000) == low);
  BOOST_TEST(rtc_limit_minor(l, Calendar{}, kHeritage1000) == high);

  RtcLimits own;
  own.business_hours_limit_minor = 100'000'000;
  own.business_hours = {{6, 0}, {18, 0}};
  BOOST_REQUIRE(validate(own).ok());
  BOOST_TEST(rtc_limit_minor(own, c, kFri1600) == 100'000'000);
  BOOST_TEST(rtc_limit_minor(own, c, kFri0000) == low);

  BOOST_TEST(validate(RtcLimits{}).ok());
  RtcLimits bad;
  bad.other_times_limit_minor = 0;
  BOOST_TEST(validate(bad).error().message == "other_times_limit_minor: 0 is not positive");
  bad = RtcLimits{};
  bad.business_hours_limit_minor = -1;
  BOOST_TEST(validate(bad).error().message == "business_hours_limit_minor: -1 is not positive");
  bad = RtcLimits{};
  bad.business_hours = {{16, 0}, {0, 0}};
  BOOST_TEST(validate(bad).error().message ==
             "business_hours: close 00:00 is not after open 16:00");
}

BOOST_AUTO_TEST_CASE(samos_open_and_next_open) {
  const SamosSchedule s;  // business days 07:00-16:30
  const Calendar& c = za();
  BOOST_TEST(!samos_open(s, c, kFri0659));
  BOOST_TEST(samos_open(s, c, kFri0700));
  BOOST_TEST(samos_open(s, c, kFri1629));
  BOOST_TEST(!samos_open(s, c, kFri1630));
  BOOST_TEST(!samos_open(s, c, kSat1000));
  BOOST_TEST(!samos_open(s, c, kSun1000));
  BOOST_TEST(!samos_open(s, c, kHeritage1000));
  BOOST_TEST(!samos_open(s, c, kWomenObs1000));

  BOOST_TEST(next_samos_open(s, c, kFri0659).value() == kFri0700);
  BOOST_TEST(next_samos_open(s, c, kFri1015).value() == kFri1015);  // open now
  BOOST_TEST(next_samos_open(s, c, kFri1630).value() == kMon0700);
  BOOST_TEST(next_samos_open(s, c, kSat1000).value() == kMon0700);
  BOOST_TEST(next_samos_open(s, c, kHeritage1000).value() ==
             utc_ms(2026, 9, 25, 5, 0));  // Fri 25 Sep 07:00 SAST
  BOOST_TEST(next_samos_open(s, c, utc_ms(2026, 8, 9, 8, 0)).value() ==  // Sun 9 Aug 10:00 SAST
             utc_ms(2026, 8, 11, 5, 0));                                  // Tue 11 Aug 07:00 SAST
  BOOST_TEST(next_samos_open(s, c, utc_ms(2026, 12, 24, 15, 0)).value() ==  // Thu 24 Dec 17:00
             utc_ms(2026, 12, 28, 5, 0));                                    // Mon 28 Dec 07:00

  SamosSchedule bad;
  bad.day = {{16, 30}, {7, 0}};
  BOOST_TEST(validate(bad).error().message == "day: close 07:00 is not after open 16:30");
  BOOST_TEST(!next_samos_open(bad, c, kFri1015).ok());
  BOOST_TEST(validate(SamosSchedule{}).ok());
}

BOOST_AUTO_TEST_CASE(swift_cutoffs_and_value_dates) {
  const SwiftCutoffs s;
  const Calendar& c = za();
  const LocalDate fri = date(2026, 11, 27), mon = date(2026, 11, 30);
  // USD 17:00
  BOOST_TEST(swift_before_cutoff(s, c, "USD", kFri1659));
  BOOST_TEST(!swift_before_cutoff(s, c, "USD", kFri1700));
  BOOST_TEST(swift_value_date(s, c, "USD", kFri1659) == fri);
  BOOST_TEST(swift_value_date(s, c, "USD", kFri1700) == mon);
  // EUR 15:00
  BOOST_TEST(swift_before_cutoff(s, c, "EUR", kFri1459));
  BOOST_TEST(!swift_before_cutoff(s, c, "EUR", kFri1500));
  BOOST_TEST(swift_value_date(s, c, "EUR", kFri1459) == fri);
  BOOST_TEST(swift_value_date(s, c, "EUR", kFri1500) == mon);
  // GBP 15:30
  BOOST_TEST(swift_before_cutoff(s, c, "GBP", kFri1529));
  BOOST_TEST(!swift_before_cutoff(s, c, "GBP", kFri1530));
  // Any other currency: the 14:00 default.
  BOOST_TEST(swift_cutoff(s, "JPY").hour == 14);
  BOOST_TEST(swift_before_cutoff(s, c, "JPY", kFri1359));
  BOOST_TEST(!swift_before_cutoff(s, c, "JPY", kFri1400));
  BOOST_TEST(swift_value_date(s, c, "JPY", kFri1400) == mon);
  // Early morning counts as before the cut-off.
  BOOST_TEST(swift_value_date(s, c, "USD", kFri0000) == fri);
  // Weekends and holidays.
  BOOST_TEST(!swift_before_cutoff(s, c, "USD", kSat1000));
  BOOST_TEST(swift_value_date(s, c, "USD", kSat1000) == mon);
  BOOST_TEST(swift_value_date(s, c, "USD", kSun1000) == mon);
  BOOST_TEST(swift_value_date(s, c, "USD", kHeritage1000) == date(2026, 9, 25));
  BOOST_TEST(swift_value_date(s, c, "EUR", kWomenObs1000) == date(2026, 8, 11));
  BOOST_TEST(swift_value_date(s, c, "USD", utc_ms(2026, 4, 2, 15, 0)) ==  // Thu 2 Apr 17:00 SAST
             date(2026, 4, 7));                                           // after Easter Monday

  SwiftCutoffs own;
  own.by_currency["CHF"] = {12, 0};
  own.default_cutoff = {24, 0};
  BOOST_REQUIRE(validate(own).ok());
  BOOST_TEST(!swift_before_cutoff(own, c, "CHF", kFri1259));
  BOOST_TEST(swift_before_cutoff(own, c, "CAD", kFri2359));

  struct Case {
    const char* name;
    std::function<void(SwiftCutoffs&)> mutate;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"lower case", [](SwiftCutoffs& x) { x.by_currency["usd"] = {16, 0}; },
       "by_currency: 'usd' is not an ISO 4217 code"},
      {"two letters", [](SwiftCutoffs& x) { x.by_currency["US"] = {16, 0}; },
       "by_currency: 'US' is not an ISO 4217 code"},
      {"midnight", [](SwiftCutoffs& x) { x.by_currency["USD"] = {0, 0}; },
       "by_currency[USD]: 00:00 is not a cut-off time 00:01..24:00"},
      {"hour 25", [](SwiftCutoffs& x) { x.default_cutoff = {25, 0}; },
       "default_cutoff: 25:00 is not a cut-off time"},
      {"24:01", [](SwiftCutoffs& x) { x.default_cutoff = {24, 1}; },
       "default_cutoff: 24:01 is not a cut-off time"},
  };
  BOOST_TEST(validate(SwiftCutoffs{}).ok());
  for (const Case& k : cases) {
    BOOST_TEST_CONTEXT(k.name) {
      SwiftCutoffs x;
      k.mutate(x);
      auto v = validate(x);
      BOOST_REQUIRE(!v.ok());
      BOOST_TEST(v.error().code == "config");
      BOOST_TEST(starts_with(v.error().message, k.message), v.error().message);
    }
  }
}
