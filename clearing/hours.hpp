// Operating hours of the clearing rails, as pure functions of an instant in
// epoch milliseconds. South African Standard Time (SAST) is UTC+2 all year,
// with no daylight saving, so local time is a fixed offset from UTC.
//
// Local times of day are half-open windows [open, close): a window 08:00-17:00
// contains 16:59:59.999 and not 17:00:00.000. A "business day" is a Monday to
// Friday that is not a public holiday. Saturdays, Sundays and public holidays
// are never business days; only the EFT schedule has Saturday hours.
//
// Configuration structs come with the documented defaults. Functions that
// search forward (next_eft_cycle, next_samos_open) validate their
// configuration and return an Error for a bad one; the others take a
// configuration that passed validate() and, given a bad one, still terminate
// and return some value. Error.code is "config"; Error.message names the
// field and the value at fault.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagas/result.hpp"

namespace payengine::clearing {

inline constexpr int64_t kSastOffsetMs = 2 * 60 * 60 * 1000;  // UTC+2, all year

// A civil (proleptic Gregorian) date in SAST.
struct LocalDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
};
bool operator==(const LocalDate& a, const LocalDate& b);
bool operator!=(const LocalDate& a, const LocalDate& b);
bool operator<(const LocalDate& a, const LocalDate& b);

enum class Weekday : uint8_t { sunday, monday, tuesday, wednesday, thursday, friday, saturday };

// A local time of day. hour 0..23 and minute 0..59, or exactly 24:00 (the end
// of the day) where a field says so.
struct TimeOfDay {
  int hour = 0;
  int minute = 0;
  int64_t ms() const { return (int64_t{hour} * 60 + minute) * 60'000; }  // since midnight
};

// An instant broken down in SAST.
struct LocalDateTime {
  LocalDate date;
  Weekday weekday = Weekday::thursday;
  int64_t ms_of_day = 0;  // 0..86'399'999
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// The SAST breakdown of an instant (any int64 epoch ms whose year fits an int).
LocalDateTime to_sast(int64_t epoch_ms);
// The instant at `time` on `date`, SAST.
int64_t sast_to_epoch_ms(const LocalDate& date, const TimeOfDay& time);
// The day of the week of a date.
Weekday weekday_of(const LocalDate& date);
// The date `days` days after (before, if negative) `date`.
LocalDate add_days(const LocalDate& date, int64_t days);
// "2026-11-26".
std::string format_date(const LocalDate& date);
// Parses exactly "YYYY-MM-DD" (four, two and two digits) naming a real date
// (no 2026-02-29); nothing otherwise.
std::optional<LocalDate> parse_date(std::string_view text);
// "16:30".
std::string format_time(const TimeOfDay& time);

// Public holidays and business days.
class Calendar {
 public:
  // A calendar without public holidays.
  Calendar() = default;
  // The calendar of the given public holidays ("YYYY-MM-DD", in any order,
  // duplicates allowed), with the Public Holidays Act rule applied: a holiday
  // falling on a Sunday makes the following Monday a holiday too. Fails on a
  // string that is not a date, naming its index.
  static Result<Calendar> make(const std::vector<std::string>& holidays);
  // The South African calendar for 2026 and 2027 (the gazetted holidays of
  // south_african_holidays_2026_2027(), Sunday rule applied). Ad hoc holidays
  // (an election day, a declared day) must be added by the caller.
  static Calendar south_africa();

  bool is_public_holiday(const LocalDate& date) const;
  // Monday to Friday and not a public holiday.
  bool is_business_day(const LocalDate& date) const;
  // The first business day strictly after `date`.
  LocalDate next_business_day(const LocalDate& date) const;
  // Every holiday, observed Mondays included, in date order.
  std::vector<LocalDate> holidays() const;
  size_t holiday_count() const { return days_.size(); }

 private:
  std::vector<int64_t> days_;  // days since 1970-01-01, sorted, unique
};

// The fixed-date and Easter-dependent South African public holidays of 2026
// and 2027 as gazetted (before the Sunday rule), "YYYY-MM-DD".
std::vector<std::string> south_african_holidays_2026_2027();

// A daily window [open, close). open 00:00..23:59, close 00:01..24:00.
struct DailyWindow {
  TimeOfDay open;
  TimeOfDay close;
};

// ---------------------------------------------------------------- EFT ----

// Every whole hour from `window.open` to `window.close` inclusive, plus the
// close itself when it is not on the hour: 08:00-11:30 gives 08:00, 09:00,
// 10:00, 11:00, 11:30.
std::vector<TimeOfDay> hourly_cycles(const DailyWindow& window);

// BankservAfrica EFT processing. A cycle is named by its cut-off: a payment
// joins the first cycle whose cut-off is strictly after the moment it is
// submitted. Business days use the weekday window and cycles; non-holiday
// Saturdays the Saturday ones; Sundays and public holidays have none.
// Defaults: weekdays 08:00-17:00 with a cycle every hour on the hour from
// 08:00 to 17:00 (10 cycles), Saturdays 08:00-11:30 with cycles at 08:00,
// 09:00, 10:00, 11:00 and 11:30. The 08:00 cycle collects what arrived since
// the previous day's last cut-off.
struct EftSchedule {
  std::optional<DailyWindow> weekday_window = DailyWindow{{8, 0}, {17, 0}};
  std::optional<DailyWindow> saturday_window = DailyWindow{{8, 0}, {11, 30}};
  // Strictly increasing, each within its window's [open, close].
  std::vector<TimeOfDay> weekday_cycles = hourly_cycles(DailyWindow{{8, 0}, {17, 0}});
  std::vector<TimeOfDay> saturday_cycles = hourly_cycles(DailyWindow{{8, 0}, {11, 30}});
};

// Checks windows (close after open), cycles (inside their window, strictly
// increasing, present exactly when the window is) and that some day has one.
Result<Unit> validate(const EftSchedule& schedule);

// Whether `now_ms` lies inside today's EFT window.
bool eft_window_open(const EftSchedule& schedule, const Calendar& calendar, int64_t now_ms);

struct EftCycle {
  std::string id;       // local date and cut-off, "20261126-1400"
  int64_t cutoff_ms = 0;  // the cut-off instant: submissions strictly before it join
  LocalDate action_date;      // the day the cycle runs (a Saturday for a Saturday cycle)
  LocalDate settlement_date;  // the action date if a business day, else the next one
};

// The cycle a payment submitted at `now_ms` joins. After the day's last
// cut-off it rolls to the first cycle of the next day that has a window.
Result<EftCycle> next_eft_cycle(const EftSchedule& schedule, const Calendar& calendar,
                                int64_t now_ms);

// ---------------------------------------------------------------- RTC ----

// RTC per-transaction limits. Defaults: R5,000,000.00 on business days
// 00:00-16:00, R250,000.00 at all other times. A public holiday on a weekday
// gets the other-times limit (decided: the high limit follows the business
// day, as settlement does).
struct RtcLimits {
  int64_t business_hours_limit_minor = 500'000'000;
  int64_t other_times_limit_minor = 25'000'000;
  DailyWindow business_hours = {{0, 0}, {16, 0}};
};

// Limits positive, window valid.
Result<Unit> validate(const RtcLimits& limits);

// The largest amount, in ZAR cents, an RTC credit may carry at `now_ms`.
int64_t rtc_limit_minor(const RtcLimits& limits, const Calendar& calendar, int64_t now_ms);

// -------------------------------------------------------------- SAMOS ----

// SAMOS settlement hours. Default: business days 07:00-16:30.
struct SamosSchedule {
  DailyWindow day = {{7, 0}, {16, 30}};
};

Result<Unit> validate(const SamosSchedule& schedule);

// Whether SAMOS settles at `now_ms`: a business day, inside the window.
bool samos_open(const SamosSchedule& schedule, const Calendar& calendar, int64_t now_ms);

// The earliest instant at or after `now_ms` at which SAMOS is open: `now_ms`
// itself when it is open now, else the next opening time.
Result<int64_t> next_samos_open(const SamosSchedule& schedule, const Calendar& calendar,
                                int64_t now_ms);

// -------------------------------------------------------------- SWIFT ----

// Correspondent cut-offs by currency, local SAST time. A payment is sent for
// same-day value when it is submitted on a business day before its currency's
// cut-off. Defaults: USD 17:00, EUR 15:00, GBP 15:30, any other currency
// 14:00. Business days follow the South African calendar only; the
// currency's own holidays are not modelled.
struct SwiftCutoffs {
  std::map<std::string, TimeOfDay, std::less<>> by_currency = {
      {"USD", {17, 0}}, {"EUR", {15, 0}}, {"GBP", {15, 30}}};
  TimeOfDay default_cutoff = {14, 0};
};

// Currency codes of three upper-case letters; cut-offs 00:01..24:00.
Result<Unit> validate(const SwiftCutoffs& cutoffs);

// The cut-off that applies to `currency`.
TimeOfDay swift_cutoff(const SwiftCutoffs& cutoffs, std::string_view currency);

// Whether `now_ms` is on a business day, before the currency's cut-off.
bool swift_before_cutoff(const SwiftCutoffs& cutoffs, const Calendar& calendar,
                         std::string_view currency, int64_t now_ms);

// The value date a payment submitted at `now_ms` gets: today when before the
// cut-off on a business day, else the next business day.
LocalDate swift_value_date(const SwiftCutoffs& cutoffs, const Calendar& calendar,
                           std::string_view currency, int64_t now_ms);

}  // namespace payengine::clearing
