#include "clearing/iso8583.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

namespace payengine::clearing::iso8583 {
namespace {

Error error(std::string_view code, std::string message) {
  return Error{std::string(code), std::move(message)};
}
Error format_error(std::string message) { return error(kFormatError, std::move(message)); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_printable(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u <= 0x7E;
}

bool in_class(char c, CharClass k) {
  switch (k) {
    case CharClass::n:
      return is_digit(c);
    case CharClass::an:
      return is_alnum(c);
    case CharClass::ans:
      return is_printable(c);
  }
  return false;
}

const char* class_description(CharClass k) {
  switch (k) {
    case CharClass::n:
      return "n (digits)";
    case CharClass::an:
      return "an (letters and digits)";
    case CharClass::ans:
      return "ans (printable ASCII)";
  }
  return "?";
}

// Index of the first character of `v` outside class `k`, or npos.
size_t first_outside(std::string_view v, CharClass k) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!in_class(v[i], k)) return i;
  return std::string_view::npos;
}

// A byte as it reads in an error message: 'x' when printable, else 0xNN.
std::string show_byte(char c) {
  if (is_printable(c)) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
  return buf;
}

size_t prefix_digits(LengthKind k) {
  switch (k) {
    case LengthKind::fixed:
      return 0;
    case LengthKind::llvar:
      return 2;
    case LengthKind::lllvar:
      return 3;
  }
  return 0;
}

std::string label(const FieldSpec& spec) {
  return "field " + std::to_string(spec.number) + " (" + std::string(spec.name) + ")";
}

// The MTI rule shared by encode and decode, so both accept the same set.
std::optional<std::string> mti_problem(std::string_view mti) {
  if (mti.size() != 4)
    return "MTI must be 4 digits, got " + std::to_string(mti.size()) + " characters";
  for (size_t i = 0; i < 4; ++i)
    if (!is_digit(mti[i]))
      return "MTI character " + std::to_string(i) + " is " + show_byte(mti[i]) + ", not a digit";
  if (mti[0] != '0')
    return "MTI version digit is '" + std::string(1, mti[0]) + "', not '0' (ISO 8583:1987)";
  return std::nullopt;
}

using Bitmap = std::array<uint8_t, 16>;

bool bit(const Bitmap& b, int n) { return (b[(n - 1) / 8] & (0x80u >> ((n - 1) % 8))) != 0; }
void set_bit(Bitmap& b, int n) {
  b[(n - 1) / 8] = static_cast<uint8_t>(b[(n - 1) / 8] | (0x80u >> ((n - 1) % 8)));
}

// A decoded message with the byte offset where each field starts (its length
// prefix, if any), so the RTC layer can name offsets in its errors too.
struct Decoded {
  Iso8583Message message;
  std::map<int, size_t> offsets;
};

Result<Decoded> decode_with_offsets(std::string_view bytes, const FieldTable& table) {
  Decoded out;
  const size_t size = bytes.size();
  if (size < 4)
    return format_error("MTI at offset 0: truncated, need 4 bytes, have " + std::to_string(size));
  if (auto problem = mti_problem(bytes.substr(0, 4)))
    return format_error("MTI at offset 0: " + *problem);
  out.message.mti = std::string(bytes.substr(0, 4));

  Bitmap bitmap{};
  if (size - 4 < 8)
    return format_error("primary bitmap at offset 4: truncated, need 8 bytes, have " +
                        std::to_string(size - 4));
  for (size_t i = 0; i < 8; ++i) bitmap[i] = static_cast<uint8_t>(bytes[4 + i]);
  size_t pos = 12;
  const bool secondary = bit(bitmap, 1);
  if (secondary) {
    if (size - pos < 8)
      return format_error(
          "secondary bitmap at offset 12: truncated, bit 1 of the primary bitmap is set but only " +
          std::to_string(size - pos) + " of its 8 bytes follow");
    bool any = false;
    for (size_t i = 0; i < 8; ++i) {
      bitmap[8 + i] = static_cast<uint8_t>(bytes[12 + i]);
      any = any || bitmap[8 + i] != 0;
    }
    if (!any)
      return format_error("secondary bitmap at offset 12: present but no field 65..128 is set");
    pos = 20;
  }
  const int last_field = secondary ? 128 : 64;

  // Every bit first, so a stray bit is reported at its bitmap byte even when
  // the data before it is also wrong.
  for (int n = 2; n <= last_field; ++n) {
    if (bit(bitmap, n) && table.find(n) == nullptr) {
      size_t at =
          n <= 64 ? 4 + static_cast<size_t>(n - 1) / 8 : 12 + static_cast<size_t>(n - 65) / 8;
      return format_error("field " + std::to_string(n) + " at offset " + std::to_string(at) +
                          " (bitmap): bit set for a field not in the spec");
    }
  }

  std::string after = "the bitmap";
  for (int n = 2; n <= last_field; ++n) {
    if (!bit(bitmap, n)) continue;
    const FieldSpec& spec = *table.find(n);
    const size_t start = pos;
    size_t length = spec.max_length;
    const size_t digits = prefix_digits(spec.length);
    if (digits > 0) {
      if (size - pos < digits)
        return format_error(label(spec) + " at offset " + std::to_string(pos) +
                            ": length prefix truncated, need " + std::to_string(digits) +
                            " bytes, have " + std::to_string(size - pos));
      length = 0;
      for (size_t i = 0; i < digits; ++i) {
        char c = bytes[pos + i];
        if (!is_digit(c))
          return format_error(label(spec) + " at offset " + std::to_string(pos + i) +
                              ": length prefix byte " + show_byte(c) + " is not a digit");
        length = length * 10 + static_cast<size_t>(c - '0');
      }
      if (length == 0)
        return format_error(label(spec) + " at offset " + std::to_string(pos) +
                            ": length 0 (a present field carries data)");
      if (length > spec.max_length)
        return format_error(label(spec) + " at offset " + std::to_string(pos) + ": length " +
                            std::to_string(length) + " above maximum " +
                            std::to_string(spec.max_length));
      pos += digits;
    }
    if (size - pos < length)
      return format_error(label(spec) + " at offset " + std::to_string(start) +
                          ": data truncated, need " + std::to_string(length) + " bytes at offset " +
                          std::to_string(pos) + ", have " + std::to_string(size - pos));
    std::string_view value = bytes.substr(pos, length);
    size_t bad = first_outside(value, spec.chars);
    if (bad != std::string_view::npos)
      return format_error(label(spec) + " at offset " + std::to_string(pos + bad) + ": byte " +
                          show_byte(value[bad]) + " is not " + class_description(spec.chars));
    out.message.fields.emplace(n, std::string(value));
    out.offsets.emplace(n, start);
    pos += length;
    after = "field " + std::to_string(n);
  }
  if (pos != size)
    return format_error("trailing bytes at offset " + std::to_string(pos) + ": " +
                        std::to_string(size - pos) + " bytes after the last field (" + after + ")");
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Field table

Result<FieldTable> FieldTable::make(const std::vector<FieldSpec>& specs) {
  FieldTable table;
  for (const FieldSpec& s : specs) {
    const std::string which = "field table: field " + std::to_string(s.number);
    if (s.number < 2 || s.number > 128 || s.number == 65)
      return format_error(which + ": number outside 2..128 or 65");
    if (table.specs_[static_cast<size_t>(s.number)]) return format_error(which + ": given twice");
    if (s.max_length == 0) return format_error(which + ": zero length");
    if (s.length == LengthKind::llvar && s.max_length > 99)
      return format_error(which + ": LLVAR maximum above 99");
    if (s.length == LengthKind::lllvar && s.max_length > 999)
      return format_error(which + ": LLLVAR maximum above 999");
    table.specs_[static_cast<size_t>(s.number)] = s;
  }
  return table;
}

const FieldSpec* FieldTable::find(int number) const {
  if (number < 0 || number > 128) return nullptr;
  const auto& slot = specs_[static_cast<size_t>(number)];
  return slot ? &*slot : nullptr;
}

const FieldTable& rtc_fields() {
  // Immutable after its thread-safe initialisation; a known-good table (the
  // tests check make() accepts it).
  static const FieldTable table =
      FieldTable::make(
          {
              {2, CharClass::n, LengthKind::llvar, 19, "primary account number"},
              {3, CharClass::n, LengthKind::fixed, 6, "processing code"},
              {4, CharClass::n, LengthKind::fixed, 12, "amount, transaction"},
              {7, CharClass::n, LengthKind::fixed, 10, "transmission date and time"},
              {11, CharClass::n, LengthKind::fixed, 6, "systems trace audit number"},
              {12, CharClass::n, LengthKind::fixed, 6, "time, local transaction"},
              {13, CharClass::n, LengthKind::fixed, 4, "date, local transaction"},
              {32, CharClass::n, LengthKind::llvar, 11,
               "acquiring institution identification code"},
              {37, CharClass::an, LengthKind::fixed, 12, "retrieval reference number"},
              {38, CharClass::an, LengthKind::fixed, 6, "authorization identification response"},
              {39, CharClass::an, LengthKind::fixed, 2, "response code"},
              {41, CharClass::ans, LengthKind::fixed, 8, "card acceptor terminal identification"},
              {49, CharClass::n, LengthKind::fixed, 3, "currency code, transaction"},
              {100, CharClass::n, LengthKind::llvar, 11,
               "receiving institution identification code"},
              {102, CharClass::ans, LengthKind::llvar, 28, "account identification 1"},
              {103, CharClass::ans, LengthKind::llvar, 28, "account identification 2"},
          })
          .value();
  return table;
}

// ---------------------------------------------------------------------------
// Generic message

Result<std::string> encode(const Iso8583Message& message, const FieldTable& table) {
  if (auto problem = mti_problem(message.mti)) return format_error("MTI: " + *problem);
  Bitmap bitmap{};
  bool secondary = false;
  std::string data;
  for (const auto& [number, value] : message.fields) {
    if (number == 1)
      return format_error(
          "field 1: the secondary bitmap is written by the encoder, not given as a field");
    const FieldSpec* spec = table.find(number);
    if (spec == nullptr)
      return format_error("field " + std::to_string(number) + ": not in the spec");
    if (value.empty()) return format_error(label(*spec) + ": empty (leave an absent field out)");
    if (value.size() > spec->max_length)
      return format_error(label(*spec) + ": " + std::to_string(value.size()) + " characters, " +
                          (spec->length == LengthKind::fixed ? "fixed length " : "maximum ") +
                          std::to_string(spec->max_length));
    size_t bad = first_outside(value, spec->chars);
    if (bad != std::string::npos)
      return format_error(label(*spec) + ": character " + std::to_string(bad) + " " +
                          show_byte(value[bad]) + " is not " + class_description(spec->chars));
    switch (spec->length) {
      case LengthKind::fixed:
        if (value.size() < spec->max_length) {
          if (spec->chars != CharClass::n)
            return format_error(label(*spec) + ": " + std::to_string(value.size()) +
                                " characters, fixed length " + std::to_string(spec->max_length) +
                                " (only n fields are padded)");
          data.append(spec->max_length - value.size(), '0');
        }
        break;
      case LengthKind::llvar:
      case LengthKind::lllvar: {
        std::string prefix = std::to_string(value.size());
        data.append(prefix_digits(spec->length) - prefix.size(), '0');
        data += prefix;
        break;
      }
    }
    data += value;
    set_bit(bitmap, number);
    if (number > 64) secondary = true;
  }
  if (secondary) set_bit(bitmap, 1);
  std::string out = message.mti;
  out.reserve(4 + 16 + data.size());
  for (size_t i = 0; i < (secondary ? 16u : 8u); ++i) out += static_cast<char>(bitmap[i]);
  out += data;
  return out;
}

Result<Iso8583Message> decode(std::string_view bytes, const FieldTable& table) {
  auto decoded = decode_with_offsets(bytes, table);
  if (!decoded) return decoded.error();
  return std::move(decoded.value().message);
}

// ---------------------------------------------------------------------------
// RTC messages

namespace {

// Civil calendar <-> days since 1970-01-01 (proleptic Gregorian; H. Hinnant's
// algorithms), so no time zone database or global state is involved.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month, day, hour, minute, second;
};

// `ms` >= 0.
Civil civil_from_ms(int64_t ms) {
  int64_t secs = ms / 1000;
  int64_t z = secs / 86400 + 719468;
  unsigned sod = static_cast<unsigned>(secs % 86400);
  const int64_t era = z / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  return Civil{y, m, d, sod / 3600, sod % 3600 / 60, sod % 60};
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

std::string two(unsigned v) {
  return std::string{static_cast<char>('0' + v / 10 % 10), static_cast<char>('0' + v % 10)};
}

std::string zero_pad(uint64_t v, size_t width) {
  std::string s = std::to_string(v);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

unsigned digits_value(std::string_view s) {
  unsigned v = 0;
  for (char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
  return v;
}

bool all_of_class(std::string_view s, CharClass k) {
  return first_outside(s, k) == std::string_view::npos;
}

// The RTC-layer checks shared by the encoder and the decoder, on a credit's
// values. Error messages name the field.
std::optional<Error> credit_problem(const RtcCredit& c) {
  if (c.stan >= 1'000'000)
    return format_error("field 11 (systems trace audit number): " + std::to_string(c.stan) +
                        " is not below 1000000");
  if (c.rrn.size() != 12 || !all_of_class(c.rrn, CharClass::an))
    return format_error("field 37 (retrieval reference number): must be 12 letters/digits");
  if (c.amount.currency != "ZAR")
    return format_error("field 49 (currency code, transaction): currency '" + c.amount.currency +
                        "' is not ZAR, the only currency RTC clears");
  if (c.amount.amount_minor <= 0 || c.amount.amount_minor > 999'999'999'999)
    return error(kInvalidAmount,
                 "field 4 (amount, transaction): " + std::to_string(c.amount.amount_minor) +
                     " minor units outside 1..999999999999");
  auto check_var = [](const std::string& v, size_t max, CharClass k,
                      const char* what) -> std::optional<Error> {
    if (v.empty() || v.size() > max || !all_of_class(v, k))
      return format_error(std::string(what) + ": must be 1.." + std::to_string(max) + " " +
                          class_description(k));
    return std::nullopt;
  };
  if (auto e = check_var(c.debtor_institution, 11, CharClass::n,
                         "field 32 (acquiring institution identification code)"))
    return e;
  if (auto e = check_var(c.creditor_institution, 11, CharClass::n,
                         "field 100 (receiving institution identification code)"))
    return e;
  if (auto e =
          check_var(c.debtor_account, 28, CharClass::ans, "field 102 (account identification 1)"))
    return e;
  if (auto e =
          check_var(c.creditor_account, 28, CharClass::ans, "field 103 (account identification 2)"))
    return e;
  if (c.terminal_id.size() != 8 || !all_of_class(c.terminal_id, CharClass::ans))
    return format_error(
        "field 41 (card acceptor terminal identification): must be exactly 8 printable ASCII");
  if (c.transmission_time_ms < 0 || c.transmission_time_ms > kMaxTransmissionTimeMs)
    return format_error(
        "field 7 (transmission date and time): " + std::to_string(c.transmission_time_ms) +
        " ms outside 0.." + std::to_string(kMaxTransmissionTimeMs));
  return std::nullopt;
}

std::optional<Error> response_problem(const RtcResponse& r) {
  if (r.stan >= 1'000'000)
    return format_error("field 11 (systems trace audit number): " + std::to_string(r.stan) +
                        " is not below 1000000");
  if (r.rrn.size() != 12 || !all_of_class(r.rrn, CharClass::an))
    return format_error("field 37 (retrieval reference number): must be 12 letters/digits");
  if (r.response_code.size() != 2 || !all_of_class(r.response_code, CharClass::an))
    return format_error("field 39 (response code): must be 2 letters/digits");
  if (!r.auth_id.empty() && (r.auth_id.size() != 6 || !all_of_class(r.auth_id, CharClass::an)))
    return format_error(
        "field 38 (authorization identification response): must be empty or 6 letters/digits");
  if (r.response_code == "00" && r.auth_id.empty())
    return format_error(
        "field 38 (authorization identification response): required with response code 00");
  return std::nullopt;
}

// "at offset N" of field `n` in a decoded message.
std::string at(const Decoded& d, int n) {
  auto it = d.offsets.find(n);
  const FieldSpec* spec = rtc_fields().find(n);
  std::string s = spec ? label(*spec) : "field " + std::to_string(n);
  if (it != d.offsets.end()) s += " at offset " + std::to_string(it->second);
  return s;
}

// Fails unless the decoded message has exactly the `required` fields plus
// any of the `optional` ones.
std::optional<Error> field_set_problem(const Decoded& d, const std::set<int>& required,
                                       const std::set<int>& optional, const std::string& what) {
  for (int n : required)
    if (d.message.fields.count(n) == 0) return format_error(at(d, n) + ": missing from " + what);
  for (const auto& entry : d.message.fields)
    if (required.count(entry.first) == 0 && optional.count(entry.first) == 0)
      return format_error(at(d, entry.first) + ": not allowed in " + what);
  return std::nullopt;
}

}  // namespace

Result<std::string> encode_credit_request(const RtcCredit& credit, bool repeat) {
  if (auto e = credit_problem(credit)) return *e;
  const Civil utc = civil_from_ms(credit.transmission_time_ms);
  const Civil local = civil_from_ms(credit.transmission_time_ms + kSastOffsetMs);
  Iso8583Message m;
  m.mti = repeat ? "0201" : "0200";
  m.fields[3] = std::string(kCreditTransferProcessingCode);
  m.fields[4] = zero_pad(static_cast<uint64_t>(credit.amount.amount_minor), 12);
  m.fields[7] = two(utc.month) + two(utc.day) + two(utc.hour) + two(utc.minute) + two(utc.second);
  m.fields[11] = zero_pad(credit.stan, 6);
  m.fields[12] = two(local.hour) + two(local.minute) + two(local.second);
  m.fields[13] = two(local.month) + two(local.day);
  m.fields[32] = credit.debtor_institution;
  m.fields[37] = credit.rrn;
  m.fields[41] = credit.terminal_id;
  m.fields[49] = std::string(kZarNumeric);
  m.fields[100] = credit.creditor_institution;
  m.fields[102] = credit.debtor_account;
  m.fields[103] = credit.creditor_account;
  return encode(m);
}

Result<RtcCreditRequest> decode_credit_request(std::string_view bytes, int64_t now_ms) {
  if (now_ms < 0 || now_ms > kMaxTransmissionTimeMs)
    return format_error("now_ms " + std::to_string(now_ms) + " outside 0.." +
                        std::to_string(kMaxTransmissionTimeMs));
  auto decoded = decode_with_offsets(bytes, rtc_fields());
  if (!decoded) return decoded.error();
  const Decoded& d = decoded.value();
  const auto& f = d.message.fields;
  RtcCreditRequest out;
  if (d.message.mti == "0200") {
    out.repeat = false;
  } else if (d.message.mti == "0201") {
    out.repeat = true;
  } else {
    return format_error("MTI at offset 0: " + d.message.mti +
                        " is not a credit request (0200 or 0201)");
  }
  if (auto e = field_set_problem(d, {3, 4, 7, 11, 12, 13, 32, 37, 41, 49, 100, 102, 103}, {},
                                 "a credit request"))
    return *e;
  if (f.at(3) != kCreditTransferProcessingCode)
    return error(kInvalidTransaction, at(d, 3) + ": " + f.at(3) + " is not " +
                                          std::string(kCreditTransferProcessingCode) +
                                          " (credit transfer)");
  if (f.at(49) != kZarNumeric)
    return error(kInvalidTransaction, at(d, 49) + ": " + f.at(49) + " is not 710 (ZAR)");
  RtcCredit& c = out.credit;
  c.amount.currency = "ZAR";
  for (char ch : f.at(4)) c.amount.amount_minor = c.amount.amount_minor * 10 + (ch - '0');
  if (c.amount.amount_minor == 0) return error(kInvalidAmount, at(d, 4) + ": amount is zero");
  c.stan = digits_value(f.at(11));
  c.rrn = f.at(37);
  c.debtor_institution = f.at(32);
  c.creditor_institution = f.at(100);
  c.debtor_account = f.at(102);
  c.creditor_account = f.at(103);
  c.terminal_id = f.at(41);

  // Field 7: MMDDhhmmss in UTC; the year nearest now.
  const std::string& dt = f.at(7);
  const unsigned month = digits_value(dt.substr(0, 2)), day = digits_value(dt.substr(2, 2));
  const unsigned hour = digits_value(dt.substr(4, 2)), minute = digits_value(dt.substr(6, 2));
  const unsigned second = digits_value(dt.substr(8, 2));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
    return format_error(at(d, 7) + ": " + dt + " is not a valid MMDDhhmmss");
  const int64_t now_year = civil_from_ms(now_ms).year;
  std::optional<int64_t> best;
  for (int64_t y = now_year - 1; y <= now_year + 1; ++y) {
    if (y < 1970 || day > days_in_month(y, month)) continue;
    int64_t t =
        ((days_from_civil(y, month, day) * 86400) + hour * 3600 + minute * 60 + second) * 1000;
    if (t > kMaxTransmissionTimeMs) continue;
    int64_t distance = t > now_ms ? t - now_ms : now_ms - t;
    if (!best || distance < (*best > now_ms ? *best - now_ms : now_ms - *best)) best = t;
  }
  if (!best)
    return format_error(at(d, 7) + ": " + dt + " is not a valid date within a year of now");
  c.transmission_time_ms = *best;
  const Civil local = civil_from_ms(*best + kSastOffsetMs);
  const std::string local_time = two(local.hour) + two(local.minute) + two(local.second);
  const std::string local_date = two(local.month) + two(local.day);
  if (f.at(12) != local_time)
    return format_error(at(d, 12) + ": " + f.at(12) + " is not field 7 in SAST (" + local_time +
                        ")");
  if (f.at(13) != local_date)
    return format_error(at(d, 13) + ": " + f.at(13) + " is not field 7 in SAST (" + local_date +
                        ")");
  if (auto e = credit_problem(c)) return *e;  // unreachable for decoded values; kept as a guard
  return out;
}

Result<std::string> encode_credit_response(const RtcResponse& response) {
  if (auto e = response_problem(response)) return *e;
  Iso8583Message m;
  m.mti = "0210";
  m.fields[11] = zero_pad(response.stan, 6);
  m.fields[37] = response.rrn;
  if (!response.auth_id.empty()) m.fields[38] = response.auth_id;
  m.fields[39] = response.response_code;
  return encode(m);
}

Result<RtcResponse> decode_credit_response(std::string_view bytes) {
  auto decoded = decode_with_offsets(bytes, rtc_fields());
  if (!decoded) return decoded.error();
  const Decoded& d = decoded.value();
  if (d.message.mti != "0210")
    return format_error("MTI at offset 0: " + d.message.mti + " is not a credit response (0210)");
  if (auto e = field_set_problem(d, {11, 37, 39}, {38}, "a credit response")) return *e;
  const auto& f = d.message.fields;
  RtcResponse r;
  r.stan = digits_value(f.at(11));
  r.rrn = f.at(37);
  r.response_code = f.at(39);
  auto auth = f.find(38);
  if (auth != f.end()) r.auth_id = auth->second;
  if (r.response_code == "00" && r.auth_id.empty())
    return format_error(at(d, 39) +
                        ": approval (00) without field 38 (authorization identification response)");
  return r;
}

// ---------------------------------------------------------------------------
// Response codes

Result<RtcOutcome> map_response_code(std::string_view response_code) {
  using K = RtcOutcome::Kind;
  struct Row {
    std::string_view code;
    K kind;
    std::string_view reason;
  };
  // Why each reason (ISO 20022 ExternalStatusReason1Code, sagas/reason.hpp):
  //  05 "do not honour" is the creditor bank declining without saying why;
  //     MS03 (reason not specified, agent generated) says exactly that, where
  //     AG01 would claim the transaction type is forbidden on the account.
  //  12 "invalid transaction": the transaction is not one this account or
  //     bank accepts -> AG01 (transaction forbidden).
  //  57/58 not permitted to the holder / from this terminal (channel) -> AG01.
  //  61 exceeds the account's amount limit -> AM14 (exceeds agreed limit),
  //     not AM02 (a scheme maximum, which the router enforces before sending).
  //  62 restricted account -> AC06 (blocked account).
  //  65 exceeds the account's frequency limit: an agreed limit again -> AM14.
  //  78 is reserved in ISO 8583:1987; the RTC rail uses it for a closed
  //     account -> AC04.
  //  92 the rail cannot route to the receiving institution (field 100) -> RC04
  //     (creditor bank identifier). Static routing data: not transient.
  //  68/91/96 the creditor bank or the switch did not process it in time or
  //     at all: transient, counted by the breaker. 68 AB05 (timeout at the
  //     creditor agent), 91 AB08 (creditor agent offline), 96 AB09 (error at
  //     the creditor agent).
  //  94 duplicate transmission -> DUPL; the original outcome comes from a
  //     0201 repeat.
  static constexpr Row kRows[] = {
      {"00", K::approved, ""},      {"05", K::rejected, "MS03"},  {"12", K::rejected, "AG01"},
      {"13", K::rejected, "AM12"},  {"14", K::rejected, "AC01"},  {"30", K::rejected, "FF01"},
      {"51", K::rejected, "AM04"},  {"57", K::rejected, "AG01"},  {"58", K::rejected, "AG01"},
      {"61", K::rejected, "AM14"},  {"62", K::rejected, "AC06"},  {"65", K::rejected, "AM14"},
      {"68", K::transient, "AB05"}, {"78", K::rejected, "AC04"},  {"91", K::transient, "AB08"},
      {"92", K::rejected, "RC04"},  {"94", K::duplicate, "DUPL"}, {"96", K::transient, "AB09"},
  };
  for (const Row& row : kRows)
    if (row.code == response_code) return RtcOutcome{row.kind, std::string(row.reason)};
  std::string shown;
  for (char c : response_code.substr(0, 8))
    shown += is_printable(c) ? std::string(1, c) : show_byte(c);
  return format_error("field 39 (response code): '" + shown + "' is not a known RTC response code");
}

}  // namespace payengine::clearing::iso8583
