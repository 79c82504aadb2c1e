#include "clearing/hours.hpp"

#include <algorithm>
#include <cstdio>

namespace payengine::clearing {
namespace {

constexpr int64_t kDayMs = 86'400'000;

Error config_error(const std::string& field, const std::string& detail) {
  return Error{"config", field + ": " + detail};
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          // [0, 146096]
  return era * 146'097 + doe - 719'468;
}

LocalDate civil_from_days(int64_t z) {
  z += 719'468;
  const int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const int64_t doe = z - era * 146'097;
  const int64_t yoe = (doe - doe / 1'460 + doe / 36'524 - doe / 146'096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return LocalDate{static_cast<int>(y), static_cast<int>(m), static_cast<int>(d)};
}

int64_t day_number(const LocalDate& d) { return days_from_civil(d.year, d.month, d.day); }

Weekday weekday_of_day_number(int64_t days) {
  // 1970-01-01 was a Thursday.
  return static_cast<Weekday>(((days % 7) + 7 + 4) % 7);
}

bool valid_time(const TimeOfDay& t, bool allow_end_of_day) {
  if (allow_end_of_day && t.hour == 24 && t.minute == 0) return true;
  return t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59;
}

std::string show(const TimeOfDay& t) {
  if (t.hour >= 0 && t.hour <= 99 && t.minute >= 0 && t.minute <= 99) return format_time(t);
  return std::to_string(t.hour) + ":" + std::to_string(t.minute);
}

Result<Unit> validate_window(const DailyWindow& w, const std::string& field) {
  if (!valid_time(w.open, false))
    return config_error(field, "open " + show(w.open) + " is not a time of day 00:00..23:59");
  if (!valid_time(w.close, true))
    return config_error(field, "close " + show(w.close) + " is not a time of day 00:00..24:00");
  if (w.close.ms() <= w.open.ms())
    return config_error(field, "close " + show(w.close) + " is not after open " + show(w.open));
  return Unit{};
}

bool inside(const DailyWindow& w, int64_t ms_of_day) {
  return ms_of_day >= w.open.ms() && ms_of_day < w.close.ms();
}

Result<Unit> validate_cycles(const std::optional<DailyWindow>& window,
                             const std::vector<TimeOfDay>& cycles, const std::string& window_field,
                             const std::string& cycles_field) {
  if (!window) {
    if (!cycles.empty()) return config_error(cycles_field, "given without " + window_field);
    return Unit{};
  }
  auto ok = validate_window(*window, window_field);
  if (!ok) return ok;
  if (cycles.empty()) return config_error(cycles_field, "empty while " + window_field + " is set");
  for (size_t i = 0; i < cycles.size(); ++i) {
    const std::string at = cycles_field + "[" + std::to_string(i) + "]";
    if (!valid_time(cycles[i], true))
      return config_error(at, show(cycles[i]) + " is not a time of day");
    if (cycles[i].ms() < window->open.ms() || cycles[i].ms() > window->close.ms())
      return config_error(at, show(cycles[i]) + " is outside " + window_field + " " +
                                  show(window->open) + "-" + show(window->close));
    if (i > 0 && cycles[i].ms() <= cycles[i - 1].ms())
      return config_error(at, show(cycles[i]) + " is not after " + show(cycles[i - 1]));
  }
  return Unit{};
}

// The EFT window and cycles of a date, if it has any.
struct EftDay {
  const DailyWindow* window = nullptr;
  const std::vector<TimeOfDay>* cycles = nullptr;
};

EftDay eft_day(const EftSchedule& s, const Calendar& calendar, const LocalDate& date) {
  if (calendar.is_business_day(date) && s.weekday_window) return {&*s.weekday_window, &s.weekday_cycles};
  if (weekday_of(date) == Weekday::saturday && !calendar.is_public_holiday(date) &&
      s.saturday_window)
    return {&*s.saturday_window, &s.saturday_cycles};
  return {};
}

// A forward search over days ends within this many days: among them there are
// more weekdays (and Saturdays) than holidays.
int64_t search_horizon_days(const Calendar& calendar) {
  return 7 * (static_cast<int64_t>(calendar.holiday_count()) + 2);
}

}  // namespace

bool operator==(const LocalDate& a, const LocalDate& b) {
  return a.year == b.year && a.month == b.month && a.day == b.day;
}
bool operator!=(const LocalDate& a, const LocalDate& b) { return !(a == b); }
bool operator<(const LocalDate& a, const LocalDate& b) {
  if (a.year != b.year) return a.year < b.year;
  if (a.month != b.month) return a.month < b.month;
  return a.day < b.day;
}

LocalDateTime to_sast(int64_t epoch_ms) {
  // Split first, then add the offset to the time of day: no overflow anywhere
  // in the int64 range.
  int64_t days = floor_div(epoch_ms, kDayMs);
  int64_t ms = epoch_ms % kDayMs;
  if (ms < 0) ms += kDayMs;
  ms += kSastOffsetMs;
  if (ms >= kDayMs) {
    ms -= kDayMs;
    ++days;
  }
  LocalDateTime t;
  t.date = civil_from_days(days);
  t.weekday = weekday_of_day_number(days);
  t.ms_of_day = ms;
  t.hour = static_cast<int>(ms / 3'600'000);
  t.minute = static_cast<int>(ms / 60'000 % 60);
  t.second = static_cast<int>(ms / 1'000 % 60);
  return t;
}

int64_t sast_to_epoch_ms(const LocalDate& date, const TimeOfDay& time) {
  return day_number(date) * kDayMs + time.ms() - kSastOffsetMs;
}

Weekday weekday_of(const LocalDate& date) { return weekday_of_day_number(day_number(date)); }

LocalDate add_days(const LocalDate& date, int64_t days) {
  return civil_from_days(day_number(date) + days);
}

std::string format_date(const LocalDate& d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

std::string format_time(const TimeOfDay& t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d", t.hour, t.minute);
  return buf;
}

std::optional<LocalDate> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto digits = [&s](size_t from, size_t n) -> std::optional<int> {
    int v = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
  if (!y || !m || !d || *m < 1 || *m > 12 || *d < 1) return std::nullopt;
  const LocalDate date{*y, *m, *d};
  if (civil_from_days(day_number(date)) != date) return std::nullopt;  // 02-30, 02-29 off leap years
  return date;
}

Result<Calendar> Calendar::make(const std::vector<std::string>& holidays) {
  Calendar c;
  c.days_.reserve(holidays.size() * 2);
  for (size_t i = 0; i < holidays.size(); ++i) {
    auto date = parse_date(holidays[i]);
    if (!date)
      return config_error("holidays[" + std::to_string(i) + "]",
                          "'" + holidays[i] + "' is not a date YYYY-MM-DD");
    const int64_t day = day_number(*date);
    c.days_.push_back(day);
    if (weekday_of_day_number(day) == Weekday::sunday) c.days_.push_back(day + 1);
  }
  std::sort(c.days_.begin(), c.days_.end());
  c.days_.erase(std::unique(c.days_.begin(), c.days_.end()), c.days_.end());
  return c;
}

std::vector<std::string> south_african_holidays_2026_2027() {
  return {
      // 2026 (Easter Sunday 5 April)
      "2026-01-01",  // New Year's Day (Thu)
      "2026-03-21",  // Human Rights Day (Sat)
      "2026-04-03",  // Good Friday
      "2026-04-06",  // Family Day (Mon)
      "2026-04-27",  // Freedom Day (Mon)
      "2026-05-01",  // Workers' Day (Fri)
      "2026-06-16",  // Youth Day (Tue)
      "2026-08-09",  // National Women's Day (Sun): Monday 10 August observed
      "2026-09-24",  // Heritage Day (Thu)
      "2026-12-16",  // Day of Reconciliation (Wed)
      "2026-12-25",  // Christmas Day (Fri)
      "2026-12-26",  // Day of Goodwill (Sat)
      // 2027 (Easter Sunday 28 March)
      "2027-01-01",  // New Year's Day (Fri)
      "2027-03-21",  // Human Rights Day (Sun): Monday 22 March observed
      "2027-03-26",  // Good Friday
      "2027-03-29",  // Family Day (Mon)
      "2027-04-27",  // Freedom Day (Tue)
      "2027-05-01",  // Workers' Day (Sat)
      "2027-06-16",  // Youth Day (Wed)
      "2027-08-09",  // National Women's Day (Mon)
      "2027-09-24",  // Heritage Day (Fri)
      "2027-12-16",  // Day of Reconciliation (Thu)
      "2027-12-25",  // Christmas Day (Sat)
      "2027-12-26",  // Day of Goodwill (Sun): Monday 27 December observed
  };
}

Calendar Calendar::south_africa() {
  auto c = make(south_african_holidays_2026_2027());
  return c.ok() ? std::move(c).value() : Calendar{};  // the list is well-formed: always ok
}

bool Calendar::is_public_holiday(const LocalDate& date) const {
  return std::binary_search(days_.begin(), days_.end(), day_number(date));
}

bool Calendar::is_business_day(const LocalDate& date) const {
  const Weekday w = weekday_of(date);
  return w != Weekday::saturday && w != Weekday::sunday && !is_public_holiday(date);
}

LocalDate Calendar::next_business_day(const LocalDate& date) const {
  LocalDate d = date;
  const int64_t horizon = 7 * (static_cast<int64_t>(days_.size()) + 2);
  for (int64_t i = 0; i < horizon; ++i) {
    d = add_days(d, 1);
    if (is_business_day(d)) return d;
  }
  return d;  // unreachable: the horizon holds more weekdays than there are holidays
}

std::vector<LocalDate> Calendar::holidays() const {
  std::vector<LocalDate> out;
  out.reserve(days_.size());
  for (int64_t d : days_) out.push_back(civil_from_days(d));
  return out;
}

std::vector<TimeOfDay> hourly_cycles(const DailyWindow& w) {
  std::vector<TimeOfDay> out;
  if (!valid_time(w.open, false) || !valid_time(w.close, true)) return out;
  for (int h = w.open.minute == 0 ? w.open.hour : w.open.hour + 1; h <= w.close.hour; ++h) {
    const TimeOfDay t{h, 0};
    if (t.ms() <= w.close.ms()) out.push_back(t);
  }
  if (w.close.minute != 0 && w.close.ms() > w.open.ms()) out.push_back(w.close);
  return out;
}

Result<Unit> validate(const EftSchedule& s) {
  auto ok = validate_cycles(s.weekday_window, s.weekday_cycles, "weekday_window", "weekday_cycles");
  if (!ok) return ok;
  ok = validate_cycles(s.saturday_window, s.saturday_cycles, "saturday_window", "saturday_cycles");
  if (!ok) return ok;
  if (!s.weekday_window && !s.saturday_window)
    return config_error("weekday_window, saturday_window", "both absent: EFT would never run");
  return Unit{};
}

bool eft_window_open(const EftSchedule& s, const Calendar& calendar, int64_t now_ms) {
  const LocalDateTime t = to_sast(now_ms);
  const EftDay day = eft_day(s, calendar, t.date);
  return day.window != nullptr && inside(*day.window, t.ms_of_day);
}

Result<EftCycle> next_eft_cycle(const EftSchedule& s, const Calendar& calendar, int64_t now_ms) {
  auto ok = validate(s);
  if (!ok) return ok.error();
  const LocalDate today = to_sast(now_ms).date;
  const int64_t horizon = search_horizon_days(calendar);
  for (int64_t i = 0; i <= horizon; ++i) {
    const LocalDate date = add_days(today, i);
    const EftDay day = eft_day(s, calendar, date);
    if (day.cycles == nullptr) continue;
    for (const TimeOfDay& c : *day.cycles) {
      const int64_t cutoff_ms = sast_to_epoch_ms(date, c);
      if (cutoff_ms <= now_ms) continue;
      char id[32];
      std::snprintf(id, sizeof id, "%04d%02d%02d-%02d%02d", date.year, date.month, date.day,
                    c.hour, c.minute);
      EftCycle cycle;
      cycle.id = id;
      cycle.cutoff_ms = cutoff_ms;
      cycle.action_date = date;
      cycle.settlement_date =
          calendar.is_business_day(date) ? date : calendar.next_business_day(date);
      return cycle;
    }
  }
  return config_error("weekday_window, saturday_window",
                      "no EFT cycle within " + std::to_string(horizon) + " days of " +
                          format_date(today));
}

Result<Unit> validate(const RtcLimits& l) {
  if (l.business_hours_limit_minor <= 0)
    return config_error("business_hours_limit_minor",
                        std::to_string(l.business_hours_limit_minor) + " is not positive");
  if (l.other_times_limit_minor <= 0)
    return config_error("other_times_limit_minor",
                        std::to_string(l.other_times_limit_minor) + " is not positive");
  return validate_window(l.business_hours, "business_hours");
}

int64_t rtc_limit_minor(const RtcLimits& l, const Calendar& calendar, int64_t now_ms) {
  const LocalDateTime t = to_sast(now_ms);
  const bool high = calendar.is_business_day(t.date) && inside(l.business_hours, t.ms_of_day);
  return high ? l.business_hours_limit_minor : l.other_times_limit_minor;
}

Result<Unit> validate(const SamosSchedule& s) { return validate_window(s.day, "day"); }

bool samos_open(const SamosSchedule& s, const Calendar& calendar, int64_t now_ms) {
  const LocalDateTime t = to_sast(now_ms);
  return calendar.is_business_day(t.date) && inside(s.day, t.ms_of_day);
}

Result<int64_t> next_samos_open(const SamosSchedule& s, const Calendar& calendar, int64_t now_ms) {
  auto ok = validate(s);
  if (!ok) return ok.error();
  if (samos_open(s, calendar, now_ms)) return now_ms;
  const LocalDate today = to_sast(now_ms).date;
  const int64_t horizon = search_horizon_days(calendar);
  for (int64_t i = 0; i <= horizon; ++i) {
    const LocalDate date = add_days(today, i);
    if (!calendar.is_business_day(date)) continue;
    const int64_t open_ms = sast_to_epoch_ms(date, s.day.open);
    if (open_ms >= now_ms) return open_ms;
  }
  return config_error("day", "no SAMOS business day within " + std::to_string(horizon) +
                                 " days of " + format_date(today));
}

Result<Unit> validate(const SwiftCutoffs& c) {
  auto check = [](const TimeOfDay& t, const std::string& field) -> Result<Unit> {
    if (!valid_time(t, true) || t.ms() == 0)
      return config_error(field, show(t) + " is not a cut-off time 00:01..24:00");
    return Unit{};
  };
  for (const auto& [currency, cutoff] : c.by_currency) {
    const bool code_ok = currency.size() == 3 &&
                         std::all_of(currency.begin(), currency.end(),
                                     [](char ch) { return ch >= 'A' && ch <= 'Z'; });
    if (!code_ok)
      return config_error("by_currency", "'" + currency + "' is not an ISO 4217 code");
    auto ok = check(cutoff, "by_currency[" + currency + "]");
    if (!ok) return ok;
  }
  return check(c.default_cutoff, "default_cutoff");
}

TimeOfDay swift_cutoff(const SwiftCutoffs& c, std::string_view currency) {
  auto it = c.by_currency.find(currency);
  return it == c.by_currency.end() ? c.default_cutoff : it->second;
}

bool swift_before_cutoff(const SwiftCutoffs& c, const Calendar& calendar,
                         std::string_view currency, int64_t now_ms) {
  const LocalDateTime t = to_sast(now_ms);
  return calendar.is_business_day(t.date) && t.ms_of_day < swift_cutoff(c, currency).ms();
}

LocalDate swift_value_date(const SwiftCutoffs& c, const Calendar& calendar,
                           std::string_view currency, int64_t now_ms) {
  const LocalDate today = to_sast(now_ms).date;
  if (swift_before_cutoff(c, calendar, currency, now_ms)) return today;
  return calendar.next_business_day(today);
}

}  // namespace payengine::clearing
