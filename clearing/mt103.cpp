#include "clearing/mt103.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "sagas/validation.hpp"

namespace payengine::clearing::mt {
namespace {

using Problem = std::optional<Error>;

Error fail(std::string_view code, std::string message) {
  return Error{std::string(code), std::move(message)};
}

constexpr std::string_view kCrlf = "\r\n";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper_alnum(char c) { return is_upper(c) || is_digit(c); }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

template <class Pred>
bool all_of(std::string_view s, Pred pred) {
  return std::all_of(s.begin(), s.end(), pred);
}
bool all_digits(std::string_view s) { return !s.empty() && all_of(s, is_digit); }

// clang-format off
bool is_x_char(char c) {
  if (is_digit(c) || is_upper(c) || is_lower(c)) return true;
  switch (c) {
    case '/': case '-': case '?': case ':': case '(': case ')':
    case '.': case ',': case '\'': case '+': case ' ':
      return true;
    default:
      return false;
  }
}
// clang-format on

std::string hex_byte(unsigned char u) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(u));
  return buf;
}

// One byte for a message: 'a', or \xNN when it is not printable.
std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7F) return std::string("'") + c + "'";
  return hex_byte(u);
}

// A value excerpt for a message: quoted, printable, at most 40 bytes.
std::string show(std::string_view s) {
  std::string out = "\"";
  size_t n = std::min<size_t>(s.size(), 40);
  for (size_t i = 0; i < n; ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u < 0x7F && s[i] != '"' && s[i] != '\\')
      out += s[i];
    else
      out += hex_byte(u);
  }
  if (s.size() > n) out += "...";
  return out + "\"";
}

std::string num(uint64_t v) { return std::to_string(v); }

// `v` in decimal, left-padded with zeros to `width` digits.
std::string padded(uint64_t v, size_t width) {
  std::string s = std::to_string(v);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

// The value of at most 9 decimal digits (callers check the digits).
uint32_t parse_uint(std::string_view s) {
  uint32_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint32_t>(c - '0');
  return v;
}

// ---------------------------------------------------------------- dates

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

bool valid_date(const FinDate& d) {
  return d.year >= 2000 && d.year <= 2099 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
         d.day <= days_in_month(d.year, d.month);
}
bool valid_time(const FinTime& t) {
  return t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59;
}

std::string yymmdd(const FinDate& d) {
  return padded(static_cast<uint64_t>(d.year % 100), 2) +
         padded(static_cast<uint64_t>(d.month), 2) + padded(static_cast<uint64_t>(d.day), 2);
}
std::string hhmm(const FinTime& t) {
  return padded(static_cast<uint64_t>(t.hour), 2) + padded(static_cast<uint64_t>(t.minute), 2);
}
std::string show_date(const FinDate& d) {
  return std::to_string(d.year) + "-" + std::to_string(d.month) + "-" + std::to_string(d.day);
}
std::string show_time(const FinTime& t) {
  return std::to_string(t.hour) + ":" + std::to_string(t.minute);
}

std::optional<FinDate> parse_yymmdd(std::string_view s) {
  if (s.size() != 6 || !all_digits(s)) return std::nullopt;
  FinDate d{2000 + static_cast<int>(parse_uint(s.substr(0, 2))),
            static_cast<int>(parse_uint(s.substr(2, 2))),
            static_cast<int>(parse_uint(s.substr(4, 2)))};
  if (!valid_date(d)) return std::nullopt;
  return d;
}
std::optional<FinTime> parse_hhmm(std::string_view s) {
  if (s.size() != 4 || !all_digits(s)) return std::nullopt;
  FinTime t{static_cast<int>(parse_uint(s.substr(0, 2))),
            static_cast<int>(parse_uint(s.substr(2, 2)))};
  if (!valid_time(t)) return std::nullopt;
  return t;
}

// ---------------------------------------------------------------- identifiers

// Why `bic` is not an ISO 9362 BIC (8 or 11 chars), or empty when it is.
std::string bic_problem(std::string_view bic) {
  if (bic.size() != 8 && bic.size() != 11)
    return "must be 8 or 11 characters, got " + num(bic.size());
  if (!all_of(bic.substr(0, 4), is_upper)) return "bank code (characters 1-4) must be letters A-Z";
  if (!all_of(bic.substr(4, 2), is_upper))
    return "country code (characters 5-6) must be letters A-Z";
  if (!all_of(bic.substr(6, 2), is_upper_alnum))
    return "location code (characters 7-8) must be A-Z or 0-9";
  if (!all_of(bic.substr(8), is_upper_alnum))
    return "branch code (characters 9-11) must be A-Z or 0-9";
  if (!payengine::is_valid_bic(bic))
    return "country code " + std::string(bic.substr(4, 2)) + " is not an ISO 3166 country";
  return {};
}

// Why `lt` is not a 12-char logical terminal address (BIC8, terminal code,
// branch), or empty when it is.
std::string lt_problem(std::string_view lt) {
  if (lt.size() != 12)
    return "must be 12 characters (BIC8, terminal code, branch), got " + num(lt.size());
  std::string bic = std::string(lt.substr(0, 8)) + std::string(lt.substr(9, 3));
  if (std::string p = bic_problem(bic); !p.empty()) return "BIC " + show(bic) + ": " + p;
  if (!is_upper(lt[8])) return "terminal code (character 9) must be a letter A-Z";
  return {};
}

// The 12-char block 2 address of a receiver BIC: BIC8 + 'X' + branch.
std::string receiver_address(std::string_view bic) {
  return std::string(bic.substr(0, 8)) + "X" +
         (bic.size() == 11 ? std::string(bic.substr(8)) : "XXX");
}

// ---------------------------------------------------------------- field rules

// One line of field content: 1..max_chars X characters, not starting with
// ':' (FIN would read a field tag) or '-' (the end of text).
Problem check_line(std::string_view line, size_t max_chars, const std::string& where) {
  if (line.empty()) return fail("T34", where + " is empty");
  for (size_t i = 0; i < line.size(); ++i)
    if (!is_x_char(line[i]))
      return fail("T34", where + ": character " + describe_char(line[i]) + " at position " +
                             num(i + 1) + " is not in the SWIFT X character set");
  if (line[0] == ':')
    return fail("T13", where + " starts with ':', which FIN would read as a field tag");
  if (line[0] == '-')
    return fail("T13", where + " starts with '-', which FIN would read as the end of text");
  if (line.size() > max_chars)
    return fail(kFormatError,
                where + " is " + num(line.size()) + " characters, at most " + num(max_chars));
  return std::nullopt;
}

// Fields 20 and 21: 16x, no leading or trailing '/', no "//".
Problem check_reference(std::string_view ref, const std::string& where) {
  if (auto p = check_line(ref, 16, where)) return p;
  if (ref.front() == '/' || ref.back() == '/')
    return fail("T26", where + " " + show(ref) + " must not start or end with '/'");
  if (ref.find("//") != std::string_view::npos)
    return fail("T26", where + " " + show(ref) + " must not contain \"//\"");
  return std::nullopt;
}

Problem check_multiline(const std::vector<std::string>& lines, size_t max_lines, size_t max_chars,
                        const std::string& field) {
  if (lines.size() > max_lines)
    return fail(kFormatError,
                field + " has " + num(lines.size()) + " lines, at most " + num(max_lines));
  for (size_t i = 0; i < lines.size(); ++i)
    if (auto p = check_line(lines[i], max_chars, field + " line " + num(i + 1))) return p;
  return std::nullopt;
}

// 50K / 59: optional "/account" line, then 1-4 lines of 35x.
Problem check_party(const Party& party, std::string_view tag, std::string_view role) {
  const std::string field = "block 4 field " + std::string(tag);
  if (party.account.empty() && party.lines.empty())
    return fail("T13", field + " (" + std::string(role) + ") is missing; it is mandatory");
  size_t line_no = 1;
  if (!party.account.empty()) {
    if (auto p = check_line("/" + party.account, 35, field + " line 1 (account)")) return p;
    ++line_no;
  }
  if (party.lines.empty())
    return fail(kFormatError, field + " has an account but no name and address (1 to 4 lines)");
  if (party.lines.size() > 4)
    return fail(kFormatError, field + " has " + num(party.lines.size()) +
                                  " name and address lines, at most 4 (after the account line)");
  for (size_t i = 0; i < party.lines.size(); ++i)
    if (auto p = check_line(party.lines[i], 35, field + " line " + num(line_no + i))) return p;
  if (party.account.empty() && party.lines[0][0] == '/')
    return fail(kFormatError, field +
                                  " line 1 starts with '/' but there is no account: it would "
                                  "read as the account line");
  return std::nullopt;
}

Problem check_session(uint32_t session, uint32_t sequence, const std::string& where) {
  if (session > 9999)
    return fail(kFormatError,
                where + ": session number " + num(session) + " is more than 4 digits");
  if (sequence > 999999)
    return fail(kFormatError,
                where + ": sequence number " + num(sequence) + " is more than 6 digits");
  return std::nullopt;
}

Problem check_block1(std::string_view lt, uint32_t session, uint32_t sequence) {
  if (std::string p = lt_problem(lt); !p.empty())
    return fail("T27", "block 1: logical terminal address " + show(lt) + ": " + p);
  return check_session(session, sequence, "block 1");
}

Problem check_receiver(std::string_view bic) {
  if (std::string p = bic_problem(bic); !p.empty())
    return fail("T27", "block 2: receiver BIC " + show(bic) + ": " + p);
  return std::nullopt;
}

Problem check_priority(char priority) {
  if (priority != 'N' && priority != 'U')
    return fail(kFormatError,
                "block 2: priority " + describe_char(priority) + " must be 'N' or 'U'");
  return std::nullopt;
}

Problem check_mur(std::string_view mur, const std::string& where) {
  if (mur.empty()) return std::nullopt;
  if (auto p = check_line(mur, 16, where)) return fail("U02", p->message);
  return std::nullopt;
}

Problem check_uetr(std::string_view uetr) {
  if (uetr.empty())
    return fail(kFormatError, "block 3: field {121:} (UETR) is missing; it is mandatory");
  if (!is_valid_uetr(uetr))
    return fail(kFormatError,
                "block 3: {121:} " + show(uetr) + " is not a lower-case RFC 4122 version 4 UUID");
  return std::nullopt;
}

// The canonical 32A amount text of `amount` ("1234,56", "1500,"), or why
// it has none.
Result<std::string> amount_text(const Money& amount) {
  const std::string where = "block 4 field 32A: ";
  auto decimals = currency_decimals(amount.currency);
  if (!decimals)
    return fail("T52",
                where + "currency " + show(amount.currency) + " is not an active ISO 4217 code");
  if (amount.amount_minor == 0) return fail("AM01", where + "amount is zero");
  if (amount.amount_minor < 0)
    return fail("AM12", where + "amount " + std::to_string(amount.amount_minor) + " is negative");
  std::string text = format_decimal(amount.amount_minor, *decimals);
  std::replace(text.begin(), text.end(), '.', ',');
  if (*decimals == 0) text += ',';
  if (text.size() > 15)
    return fail(kFormatError, where + "amount " + text + " is " + num(text.size()) +
                                  " characters, at most 15 including the decimal comma");
  return text;
}

// Parses the 32A amount subfield for a currency with `decimals` decimals.
Result<int64_t> parse_amount(std::string_view text, std::string_view currency, int decimals) {
  const std::string where = "block 4 field 32A: amount " + show(text);
  for (char c : text)
    if (!is_digit(c) && c != ',')
      return fail("T43", where + " may hold only digits and one decimal comma");
  size_t comma = text.find(',');
  if (comma == std::string_view::npos)
    return fail("T43", where + " has no decimal comma (it is mandatory)");
  if (text.find(',', comma + 1) != std::string_view::npos)
    return fail("T43", where + " has more than one decimal comma");
  if (comma == 0) return fail("T40", where + " has no integer part");
  if (text.size() > 15)
    return fail(kFormatError, where + " is " + num(text.size()) +
                                  " characters, at most 15 including the decimal comma");
  size_t fraction = text.size() - comma - 1;
  if (fraction > static_cast<size_t>(decimals))
    return fail("C03", where + " has " + num(fraction) + " decimal digits, " +
                           std::string(currency) + " allows " +
                           num(static_cast<uint64_t>(decimals)));
  std::string dotted(text.substr(0, comma));
  if (fraction > 0) dotted += "." + std::string(text.substr(comma + 1));
  auto minor = parse_decimal(dotted, decimals);
  if (!minor) return fail(kFormatError, where + " is out of range");
  return *minor;
}

constexpr std::string_view kBankOperations[] = {"CRED", "SPRI", "SSTD", "SPAY"};
constexpr std::string_view kCharges[] = {"OUR", "SHA", "BEN"};
constexpr std::string_view kStatuses[] = {"ACSC", "ACSP", "RJCT"};

template <class Enum, size_t N>
std::optional<Enum> lookup(const std::string_view (&names)[N], std::string_view text) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == text) return static_cast<Enum>(i);
  return std::nullopt;
}

// ---------------------------------------------------------------- MT 103 rules

Problem check_mt103(const Mt103& m) {
  if (auto p = check_block1(m.sender_lt, m.session_number, m.sequence_number)) return p;
  if (auto p = check_receiver(m.receiver_bic)) return p;
  if (auto p = check_priority(m.priority)) return p;
  if (auto p = check_mur(m.mur, "block 3 {108:}")) return p;
  if (auto p = check_uetr(m.uetr)) return p;
  if (auto p = check_reference(m.reference, "block 4 field 20")) return p;
  if (static_cast<size_t>(m.bank_operation) >= std::size(kBankOperations))
    return fail("T36", "block 4 field 23B: unknown bank operation code (value " +
                           num(static_cast<unsigned>(m.bank_operation)) + ")");
  if (!valid_date(m.value_date))
    return fail("T50", "block 4 field 32A: value date " + show_date(m.value_date) +
                           " is not a valid date in 2000-2099");
  if (auto text = amount_text(m.amount); !text) return text.error();
  if (auto p = check_party(m.ordering_customer, "50K", "ordering customer")) return p;
  if (auto p = check_party(m.beneficiary, "59", "beneficiary customer")) return p;
  if (auto p = check_multiline(m.remittance, 4, 35, "block 4 field 70")) return p;
  if (static_cast<size_t>(m.charges) >= std::size(kCharges))
    return fail("T08", "block 4 field 71A: unknown details of charges code (value " +
                           num(static_cast<unsigned>(m.charges)) + ")");
  return std::nullopt;
}

void put_field(std::string& out, std::string_view tag, const std::vector<std::string>& lines) {
  out += ':';
  out += tag;
  out += ':';
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    out += kCrlf;
  }
}

std::vector<std::string> party_lines(const Party& p) {
  std::vector<std::string> lines;
  if (!p.account.empty()) lines.push_back("/" + p.account);
  lines.insert(lines.end(), p.lines.begin(), p.lines.end());
  return lines;
}

// ---------------------------------------------------------------- reading

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  size_t pos() const { return pos_; }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }  // only when !at_end()
  std::string_view rest() const { return s_.substr(pos_); }
  bool starts_with(std::string_view lit) const { return rest().substr(0, lit.size()) == lit; }
  bool consume(std::string_view lit) {
    if (!starts_with(lit)) return false;
    pos_ += lit.size();
    return true;
  }
  void advance(size_t n) { pos_ = std::min(s_.size(), pos_ + n); }
  // What the reader is looking at, for a message.
  std::string found() const { return at_end() ? "end of input" : show(rest().substr(0, 12)); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

std::string block_name(char id) { return std::string("block ") + id; }

// Reads "{<id>:content}" where content holds no braces; returns content.
Result<std::string_view> read_block(Reader& r, char id) {
  const std::string open = std::string("{") + id + ":";
  size_t at = r.pos();
  if (!r.consume(open))
    return fail(kFormatError, block_name(id) + ": expected \"" + open + "\" at offset " + num(at) +
                                  ", found " + r.found());
  std::string_view rest = r.rest();
  size_t close = rest.find('}');
  size_t brace = rest.find('{');
  if (close == std::string_view::npos)
    return fail(kFormatError,
                block_name(id) + " opened at offset " + num(at) + " has no closing '}'");
  if (brace < close)
    return fail(kFormatError,
                block_name(id) + ": unexpected '{' at offset " + num(r.pos() + brace));
  r.advance(close + 1);
  return rest.substr(0, close);
}

struct TagValue {
  std::string_view tag;
  std::string_view value;
  size_t offset = 0;  // of the sub-block's '{'
};

// Reads "{<id>:" followed by sub-blocks "{tag:value}" and a closing '}'.
// Errors carry `code`.
Result<std::vector<TagValue>> read_tag_block(Reader& r, char id, std::string_view code) {
  const std::string open = std::string("{") + id + ":";
  size_t at = r.pos();
  if (!r.consume(open))
    return fail(kFormatError, block_name(id) + ": expected \"" + open + "\" at offset " + num(at) +
                                  ", found " + r.found());
  std::vector<TagValue> out;
  while (true) {
    if (r.at_end())
      return fail(code, block_name(id) + " opened at offset " + num(at) + " has no closing '}'");
    if (r.peek() == '}') {
      r.advance(1);
      return out;
    }
    size_t sub = r.pos();
    if (r.peek() != '{')
      return fail(code, block_name(id) + ": expected '{' or '}' at offset " + num(sub) +
                            ", found " + r.found());
    r.advance(1);
    std::string_view rest = r.rest();
    size_t close = rest.find('}');
    if (close == std::string_view::npos)
      return fail(code, block_name(id) + ": field at offset " + num(sub) + " has no closing '}'");
    size_t brace = rest.find('{');
    if (brace < close)
      return fail(code, block_name(id) + ": unexpected '{' at offset " + num(r.pos() + brace));
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos || colon > close)
      return fail(code, block_name(id) + ": field at offset " + num(sub) + " has no \"tag:\"");
    out.push_back({rest.substr(0, colon), rest.substr(colon + 1, close - colon - 1), sub});
    r.advance(close + 1);
  }
}

struct RawField {
  std::string_view tag;
  std::vector<std::string_view> lines;
  size_t line_no = 0;  // block 4 line of the tag, from 1
};

// Reads block 4 "{4:CRLF ... CRLF-}" and splits it into fields.
Result<std::vector<RawField>> read_text_block(Reader& r) {
  size_t at = r.pos();
  if (!r.consume("{4:"))
    return fail(kFormatError,
                "block 4: expected \"{4:\" at offset " + num(at) + ", found " + r.found());
  if (!r.consume(kCrlf))
    return fail(kFormatError,
                "block 4: \"{4:\" must be followed by CRLF (offset " + num(r.pos()) + ")");
  std::vector<RawField> fields;
  if (r.consume("-}")) return fields;  // empty text: the caller reports the missing fields
  std::string_view rest = r.rest();
  size_t end = rest.find("\r\n-}");
  if (end == std::string_view::npos)
    return fail(kFormatError, "block 4: end of text \"CRLF-}\" is missing");
  std::string_view body = rest.substr(0, end);
  r.advance(end + 4);

  size_t line_no = 0;
  size_t start = 0;
  while (start <= body.size()) {
    size_t stop = body.find(kCrlf, start);
    if (stop == std::string_view::npos) stop = body.size();
    std::string_view line = body.substr(start, stop - start);
    start = stop + 2;
    ++line_no;
    const std::string where = "block 4 line " + num(line_no);
    for (char c : line)
      if (c == '\r' || c == '\n')
        return fail("T34",
                    where + ": bare " + (c == '\r' ? "CR" : "LF") + " (lines end with CRLF)");
    if (!line.empty() && line[0] == ':') {
      // ":" + 2 digits + optional upper-case letter + ":"
      size_t k = 3;
      if (line.size() > 3 && is_upper(line[3])) k = 4;
      if (line.size() <= k || !is_digit(line[1]) || !is_digit(line[2]) || line[k] != ':')
        return fail("T13", where + ": ':' does not start a valid field tag: " + show(line));
      fields.push_back({line.substr(1, k - 1), {line.substr(k + 1)}, line_no});
    } else if (!line.empty() && line[0] == '-') {
      return fail("T13", where + ": '-' (end of text) where a field line is expected");
    } else {
      if (fields.empty()) return fail("T13", where + ": text must start with a field tag");
      fields.back().lines.push_back(line);
    }
  }
  return fields;
}

struct Slot {
  std::string_view tag;
  bool optional;
};

// Checks that `fields` follow `slots` in order; returns the field for each
// slot (nullptr for an absent optional one).
template <size_t N>
Result<std::vector<const RawField*>> match_fields(const std::vector<RawField>& fields,
                                                  const Slot (&slots)[N], std::string_view order) {
  std::vector<const RawField*> out(N, nullptr);
  size_t slot = 0;
  for (const RawField& f : fields) {
    while (slot < N && slots[slot].tag != f.tag && slots[slot].optional) ++slot;
    const std::string where = "block 4 line " + num(f.line_no) + ": field " + std::string(f.tag);
    if (slot == N)
      return fail("T13",
                  where + " is not expected after the last field (" + std::string(order) + ")");
    if (slots[slot].tag != f.tag)
      return fail("T13", where + " found where field " + std::string(slots[slot].tag) +
                             " is expected (" + std::string(order) + ")");
    out[slot++] = &f;
  }
  for (; slot < N; ++slot)
    if (!slots[slot].optional)
      return fail("T13", "block 4: mandatory field " + std::string(slots[slot].tag) +
                             " is missing (" + std::string(order) + ")");
  return out;
}

Result<std::string_view> single_line(const RawField& f) {
  if (f.lines.size() != 1)
    return fail(kFormatError, "block 4 field " + std::string(f.tag) + " has " +
                                  num(f.lines.size()) + " lines, expected 1");
  return f.lines[0];
}

std::vector<std::string> to_strings(const std::vector<std::string_view>& lines, size_t from = 0) {
  std::vector<std::string> out;
  for (size_t i = from; i < lines.size(); ++i) out.emplace_back(lines[i]);
  return out;
}

Party to_party(const RawField& f) {
  Party p;
  size_t from = 0;
  if (!f.lines.empty() && !f.lines[0].empty() && f.lines[0][0] == '/') {
    p.account = std::string(f.lines[0].substr(1));
    from = 1;
    // "/" alone: keep the line as a (then invalid) name line, never lose it.
    if (p.account.empty()) from = 0;
  }
  p.lines = to_strings(f.lines, from);
  return p;
}

// Block 1 "F01" (or F21 for an ACK): LT address, session, sequence.
Problem parse_basic_header(std::string_view content, std::string_view service, std::string& lt,
                           uint16_t& session, uint32_t& sequence) {
  if (content.substr(0, 3) != service)
    return fail(kFormatError, "block 1: expected application and service \"" +
                                  std::string(service) + "\", found " + show(content.substr(0, 3)));
  if (content.size() != 25)
    return fail(kFormatError,
                "block 1: must be 25 characters (" + std::string(service) +
                    ", 12-character address, 4-digit session, 6-digit sequence), got " +
                    num(content.size()));
  std::string_view digits = content.substr(15);
  if (!all_digits(digits))
    return fail(kFormatError,
                "block 1: session and sequence numbers " + show(digits) + " must be 10 digits");
  lt = std::string(content.substr(3, 12));
  session = static_cast<uint16_t>(parse_uint(digits.substr(0, 4)));
  sequence = parse_uint(digits.substr(4));
  return check_block1(lt, session, sequence);
}

// Block 2 input form "I" + type + receiver address (BIC8 'X' branch) + priority.
Problem parse_input_header(std::string_view content, std::string_view type,
                           std::string& receiver_bic, char& priority) {
  if (content.size() < 4 || !all_digits(content.substr(1, 3)))
    return fail(kFormatError,
                "block 2: expected 'I' and a 3-digit message type, found " + show(content));
  if (content.substr(1, 3) != type)
    return fail(kFormatError, "block 2: message type " + std::string(content.substr(1, 3)) +
                                  ", expected " + std::string(type));
  if (content.size() != 17)
    return fail(kFormatError,
                "block 2: input header must be 17 characters (I, type, 12-character "
                "receiver address, priority), got " +
                    num(content.size()) +
                    "; delivery monitoring and obsolescence period are not supported");
  std::string_view address = content.substr(4, 12);
  if (address[8] != 'X')
    return fail("T27", "block 2: receiver address " + show(address) +
                           ": character 9 (terminal code) must be 'X'");
  receiver_bic = std::string(address.substr(0, 8)) + std::string(address.substr(9));
  if (auto p = check_receiver(receiver_bic)) return p;
  priority = content[16];
  return check_priority(priority);
}

// Block 3 of a payment message: [{108:mur}]{121:uetr}, nothing else.
Problem parse_user_header(Reader& r, bool allow_mur, std::string& mur, std::string& uetr) {
  if (!r.starts_with("{3:"))
    return fail(kFormatError, "block 3: expected \"{3:\" at offset " + num(r.pos()) + ", found " +
                                  r.found() + "; the UETR {121:} is mandatory");
  auto tags = read_tag_block(r, '3', "U00");
  if (!tags) return tags.error();
  size_t i = 0;
  if (allow_mur && i < tags->size() && (*tags)[i].tag == "108") {
    if ((*tags)[i].value.empty()) return fail("U02", "block 3 {108:} is empty");
    mur = std::string((*tags)[i].value);
    if (auto p = check_mur(mur, "block 3 {108:}")) return p;
    ++i;
  }
  if (i < tags->size() && (*tags)[i].tag == "121") {
    uetr = std::string((*tags)[i].value);
    ++i;
  }
  if (i < tags->size())
    return fail("U00", "block 3: {" + std::string((*tags)[i].tag) + ":} at offset " +
                           num((*tags)[i].offset) + " is not expected here (" +
                           (allow_mur ? "{108:} then {121:}" : "{121:} only") + ")");
  return check_uetr(uetr);
}

// Block 5: "{5:" {TAG:value}... "}", tags of 3 upper-case chars, values of
// printable ASCII.
Problem check_trailer(std::string_view trailer) {
  Reader r(trailer);
  auto tags = read_tag_block(r, '5', kFormatError);
  if (!tags) return tags.error();
  if (tags->empty()) return fail(kFormatError, "block 5 is empty");
  for (const TagValue& t : *tags) {
    if (t.tag.size() != 3 || !all_of(t.tag, is_upper_alnum))
      return fail(kFormatError, "block 5: tag " + show(t.tag) + " at offset " + num(t.offset) +
                                    " must be 3 upper-case letters or digits");
    for (char c : t.value)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F)
        return fail(kFormatError,
                    "block 5: {" + std::string(t.tag) + ":} holds " + describe_char(c));
  }
  if (!r.at_end())
    return fail(kFormatError, "unexpected content after block 5 at offset " + num(r.pos()));
  return std::nullopt;
}

Problem check_length(std::string_view fin) {
  if (fin.size() > kMaxMessageChars)
    return fail("M50", "message is " + num(fin.size()) + " characters, FIN allows at most " +
                           num(kMaxMessageChars));
  return std::nullopt;
}

// ---------------------------------------------------------------- MT 199

constexpr Slot kMt199Fields[] = {{"20", false}, {"21", false}, {"79", false}};
constexpr std::string_view kMt199Order = "20, 21, 79";

std::string output_header_text(const FinOutputHeader& h, char priority) {
  return "O199" + hhmm(h.input_time) + yymmdd(h.input_date) + h.sender_lt +
         padded(h.input_session, 4) + padded(h.input_sequence, 6) + yymmdd(h.output_date) +
         hhmm(h.output_time) + priority;
}

Problem check_output_header(const FinOutputHeader& h) {
  if (!valid_time(h.input_time))
    return fail(kFormatError, "block 2: input time " + show_time(h.input_time) + " is not valid");
  if (!valid_date(h.input_date))
    return fail(kFormatError, "block 2: input date " + show_date(h.input_date) + " is not valid");
  if (std::string p = lt_problem(h.sender_lt); !p.empty())
    return fail("T27", "block 2: sender's logical terminal " + show(h.sender_lt) + ": " + p);
  if (auto p = check_session(h.input_session, h.input_sequence, "block 2 (input reference)"))
    return p;
  if (!valid_date(h.output_date))
    return fail(kFormatError, "block 2: output date " + show_date(h.output_date) + " is not valid");
  if (!valid_time(h.output_time))
    return fail(kFormatError, "block 2: output time " + show_time(h.output_time) + " is not valid");
  return std::nullopt;
}

std::string status_line_1(const Mt199Status& s) {
  int offset = s.utc_offset_minutes;
  char sign = offset < 0 ? '-' : '+';
  int magnitude = offset < 0 ? -offset : offset;
  return "//" + yymmdd(s.status_date) + hhmm(s.status_time) + sign +
         padded(static_cast<uint64_t>(magnitude / 60), 2) +
         padded(static_cast<uint64_t>(magnitude % 60), 2);
}

std::string status_line_2(const Mt199Status& s) {
  std::string line = "//" + std::string(to_string(s.status));
  if (!s.reason.empty()) line += "/" + s.reason;
  return line;
}

Problem check_mt199(const Mt199Status& s) {
  if (auto p = check_block1(s.lt_address, s.session_number, s.sequence_number)) return p;
  if (s.output) {
    if (!s.receiver_bic.empty())
      return fail(kFormatError,
                  "block 2: output form names no receiver (receiver_bic must be empty)");
    if (auto p = check_output_header(*s.output)) return p;
  } else if (auto p = check_receiver(s.receiver_bic)) {
    return p;
  }
  if (auto p = check_priority(s.priority)) return p;
  if (auto p = check_uetr(s.uetr)) return p;
  if (auto p = check_reference(s.reference, "block 4 field 20")) return p;
  if (auto p = check_reference(s.related_reference, "block 4 field 21")) return p;
  const std::string field = "block 4 field 79";
  if (!valid_date(s.status_date))
    return fail(kFormatError,
                field + " line 1: status date " + show_date(s.status_date) + " is not valid");
  if (!valid_time(s.status_time))
    return fail(kFormatError,
                field + " line 1: status time " + show_time(s.status_time) + " is not valid");
  if (s.utc_offset_minutes < -14 * 60 || s.utc_offset_minutes > 14 * 60)
    return fail(kFormatError, field + " line 1: UTC offset of " +
                                  std::to_string(s.utc_offset_minutes) +
                                  " minutes is beyond 14 hours");
  if (static_cast<size_t>(s.status) >= std::size(kStatuses))
    return fail(kFormatError, field + " line 2: unknown gpi status (value " +
                                  num(static_cast<unsigned>(s.status)) + ")");
  if (!s.reason.empty() && (s.reason.size() != 4 || !all_of(s.reason, is_upper_alnum)))
    return fail(kFormatError, field + " line 2: reason " + show(s.reason) +
                                  " must be 4 upper-case letters or digits");
  if (s.status == GpiStatus::rjct && s.reason.empty())
    return fail(kFormatError, field + " line 2: RJCT needs a reason code (e.g. //RJCT/AC01)");
  if (s.more_lines.size() > 33)
    return fail(kFormatError,
                field + " has " + num(s.more_lines.size() + 2) + " lines, at most 35");
  for (size_t i = 0; i < s.more_lines.size(); ++i)
    if (auto p = check_line(s.more_lines[i], 50, field + " line " + num(i + 3))) return p;
  if (!s.trailer.empty())
    if (auto p = check_trailer(s.trailer)) return p;
  return std::nullopt;
}

// Field 79 lines 1 and 2 into `s`.
Problem parse_status_lines(const RawField& f, Mt199Status& s) {
  const std::string field = "block 4 field 79";
  if (f.lines.size() > 35)
    return fail(kFormatError, field + " has " + num(f.lines.size()) + " lines, at most 35");
  for (size_t i = 0; i < f.lines.size(); ++i)
    if (auto p = check_line(f.lines[i], 50, field + " line " + num(i + 1))) return p;
  std::string_view l1 = f.lines[0];
  const std::string l1_error =
      field + " line 1 must be //YYMMDDHHMM+HHMM (status date, time, UTC offset), got " + show(l1);
  if (l1.size() != 17 || l1.substr(0, 2) != "//" || (l1[12] != '+' && l1[12] != '-') ||
      !all_digits(l1.substr(13, 4)))
    return fail(kFormatError, l1_error);
  auto date = parse_yymmdd(l1.substr(2, 6));
  auto time = parse_hhmm(l1.substr(8, 4));
  if (!date || !time)
    return fail(kFormatError,
                field + " line 1: date and time " + show(l1.substr(2, 10)) + " are not valid");
  int offset_h = static_cast<int>(parse_uint(l1.substr(13, 2)));
  int offset_m = static_cast<int>(parse_uint(l1.substr(15, 2)));
  int offset = offset_h * 60 + offset_m;
  if (offset_m > 59 || offset > 14 * 60)
    return fail(kFormatError,
                field + " line 1: UTC offset " + show(l1.substr(12)) + " is not valid");
  if (offset == 0 && l1[12] == '-')
    return fail(kFormatError, field + " line 1: a zero UTC offset is written +0000");
  s.status_date = *date;
  s.status_time = *time;
  s.utc_offset_minutes = l1[12] == '-' ? -offset : offset;

  if (f.lines.size() < 2)
    return fail(kFormatError, field + " line 2 (//STATUS[/REASON]) is missing");
  std::string_view l2 = f.lines[1];
  if (l2.substr(0, 2) != "//")
    return fail(kFormatError, field + " line 2 must be //STATUS[/REASON], got " + show(l2));
  std::string_view code = l2.substr(2, 4);
  auto status = lookup<GpiStatus>(kStatuses, code);
  if (!status || (l2.size() > 6 && l2[6] != '/'))
    return fail(kFormatError, field + " line 2: unknown gpi status code " + show(l2.substr(2)) +
                                  " (expected ACSC, ACSP or RJCT)");
  s.status = *status;
  if (l2.size() > 6) {
    s.reason = std::string(l2.substr(7));
    if (s.reason.size() != 4 || !all_of(s.reason, is_upper_alnum))
      return fail(kFormatError, field + " line 2: reason " + show(s.reason) +
                                    " must be 4 upper-case letters or digits");
  }
  s.more_lines = to_strings(f.lines, 2);
  return std::nullopt;
}

// ---------------------------------------------------------------- ACK/NAK

bool is_error_code(std::string_view code) {
  return code.size() == 3 && is_upper(code[0]) && is_digit(code[1]) && is_digit(code[2]);
}

Problem check_original(std::string_view original) {
  if (original.empty()) return std::nullopt;
  if (original.substr(0, 3) != "{1:")
    return fail(kFormatError,
                "after the ACK/NAK: the appended message must start with \"{1:\", found " +
                    show(original.substr(0, 12)));
  if (original.size() > kMaxMessageChars)
    return fail("M50", "the appended message is " + num(original.size()) + " characters, at most " +
                           num(kMaxMessageChars));
  for (size_t i = 0; i < original.size(); ++i) {
    auto u = static_cast<unsigned char>(original[i]);
    if ((u < 0x20 || u >= 0x7F) && u != '\r' && u != '\n')
      return fail(kFormatError, "the appended message holds " + describe_char(original[i]) +
                                    " at its offset " + num(i));
  }
  return std::nullopt;
}

Problem check_ack(const FinAck& a) {
  if (auto p = check_block1(a.lt_address, a.session_number, a.sequence_number)) return p;
  if (!valid_date(a.date))
    return fail(kFormatError, "block 4 {177:}: date " + show_date(a.date) + " is not valid");
  if (!valid_time(a.time))
    return fail(kFormatError, "block 4 {177:}: time " + show_time(a.time) + " is not valid");
  if (a.accepted) {
    if (!a.error_code.empty() || a.error_line)
      return fail(kFormatError, "block 4: an ACK ({451:0}) carries no {405:} error");
  } else {
    if (a.error_code.empty())
      return fail(kFormatError, "block 4: a NAK ({451:1}) needs the {405:} error code");
    if (!is_error_code(a.error_code))
      return fail(kFormatError, "block 4 {405:}: error code " + show(a.error_code) +
                                    " must be a letter and 2 digits (e.g. T26)");
    if (a.error_line && *a.error_line > 999)
      return fail(kFormatError,
                  "block 4 {405:}: line " + num(*a.error_line) + " is more than 3 digits");
  }
  if (auto p = check_mur(a.mur, "block 4 {108:}")) return p;
  return check_original(a.original);
}

// ---------------------------------------------------------------- transliteration

// Decodes the UTF-8 sequence at s[i] into a code point and its length in
// bytes; an invalid sequence gives -1 and length 1.
int32_t decode_utf8(std::string_view s, size_t i, size_t& len) {
  auto b0 = static_cast<unsigned char>(s[i]);
  len = 1;
  if (b0 < 0x80) return b0;
  size_t n;
  int32_t cp;
  int32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 1, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 2, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 3, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (s.size() - i <= n) return -1;
  for (size_t k = 1; k <= n; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  len = n + 1;
  return cp;
}

// clang-format off
// U+00C0..U+00FF.
constexpr const char* kLatin1Letters[64] = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",   // C0-CF
    "D", "N", "O", "O", "O", "O", "O", "x", "O", "U", "U", "U", "U", "Y", "TH", "ss",  // D0-DF
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // E0-EF
    "d", "n", "o", "o", "o", "o", "o", "/", "o", "u", "u", "u", "u", "y", "th", "y",   // F0-FF
};

// U+0100..U+017F, one base letter each (IJ and OE ligatures handled apart).
constexpr char kLatinExtA[] =
    "AaAaAa" "CcCcCcCc" "DdDd" "EeEeEeEeEe" "GgGgGgGg" "HhHh" "IiIiIiIiIi" "Jj" "Jj" "Kkk"
    "LlLlLlLlLl" "NnNnNnn" "Nn" "OoOoOo" "Oo" "RrRrRr" "SsSsSsSs" "TtTtTt" "UuUuUuUuUuUu" "Ww"
    "YyY" "ZzZzZz" "s";
static_assert(sizeof(kLatinExtA) - 1 == 128, "one entry per code point U+0100..U+017F");
// clang-format on

// clang-format off
void append_x(std::string& out, int32_t cp) {
  if (cp < 0) {
    out += '.';
    return;
  }
  if (cp < 0x80) {
    char c = static_cast<char>(cp);
    if (is_x_char(c)) {
      out += c;
      return;
    }
    switch (c) {
      case '\t': case '\n': case '\r': case '\v': case '\f': out += ' '; return;
      case '&': out += '+'; return;
      case '@': out += "(at)"; return;
      case '_': out += '-'; return;
      case '"': case '`': out += '\''; return;
      case ';': out += ','; return;
      case '!': out += '.'; return;
      case '[': case '{': case '<': out += '('; return;
      case ']': case '}': case '>': out += ')'; return;
      case '\\': case '|': out += '/'; return;
      default: break;
    }
    if (cp < 0x20 || cp == 0x7F) return;  // control characters: dropped
    out += '.';                            // # $ % * = ^ ~
    return;
  }
  if (cp < 0xA0) return;  // C1 controls: dropped
  if (cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F || cp == 0x3000) {
    out += ' ';
    return;
  }
  if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x200D) || cp == 0xFEFF || cp == 0xAD)
    return;  // combining marks, zero-width characters, soft hyphen: dropped
  if (cp >= 0xC0 && cp <= 0xFF) {
    out += kLatin1Letters[cp - 0xC0];
    return;
  }
  if (cp >= 0x100 && cp <= 0x17F) {
    switch (cp) {
      case 0x132: out += "IJ"; return;
      case 0x133: out += "ij"; return;
      case 0x152: out += "OE"; return;
      case 0x153: out += "oe"; return;
      default: out += kLatinExtA[cp - 0x100]; return;
    }
  }
  switch (cp) {
    case 0x218: out += 'S'; return;  // Ș
    case 0x219: out += 's'; return;
    case 0x21A: out += 'T'; return;  // Ț
    case 0x21B: out += 't'; return;
    case 0xB4: case 0xAB: case 0xBB: case 0x2018: case 0x2019: case 0x201A: case 0x201B:
    case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0x2032: case 0x2033:
      out += '\'';
      return;
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015: case 0x2212:
      out += '-';
      return;
    case 0x2026: out += "..."; return;
    case 0x20AC: out += "EUR"; return;
    default: out += '.'; return;
  }
}
// clang-format on

}  // namespace

// ---------------------------------------------------------------- public

bool operator==(const FinDate& a, const FinDate& b) {
  return a.year == b.year && a.month == b.month && a.day == b.day;
}
bool operator==(const FinTime& a, const FinTime& b) {
  return a.hour == b.hour && a.minute == b.minute;
}
bool operator==(const Party& a, const Party& b) {
  return a.account == b.account && a.lines == b.lines;
}
bool operator==(const Mt103& a, const Mt103& b) {
  return a.sender_lt == b.sender_lt && a.session_number == b.session_number &&
         a.sequence_number == b.sequence_number && a.receiver_bic == b.receiver_bic &&
         a.priority == b.priority && a.mur == b.mur && a.uetr == b.uetr &&
         a.reference == b.reference && a.bank_operation == b.bank_operation &&
         a.value_date == b.value_date && a.amount == b.amount &&
         a.ordering_customer == b.ordering_customer && a.beneficiary == b.beneficiary &&
         a.remittance == b.remittance && a.charges == b.charges;
}
bool operator==(const FinAck& a, const FinAck& b) {
  return a.lt_address == b.lt_address && a.session_number == b.session_number &&
         a.sequence_number == b.sequence_number && a.date == b.date && a.time == b.time &&
         a.accepted == b.accepted && a.error_code == b.error_code && a.error_line == b.error_line &&
         a.mur == b.mur && a.original == b.original;
}
bool operator==(const FinOutputHeader& a, const FinOutputHeader& b) {
  return a.input_time == b.input_time && a.input_date == b.input_date &&
         a.sender_lt == b.sender_lt && a.input_session == b.input_session &&
         a.input_sequence == b.input_sequence && a.output_date == b.output_date &&
         a.output_time == b.output_time;
}
bool operator==(const Mt199Status& a, const Mt199Status& b) {
  return a.lt_address == b.lt_address && a.session_number == b.session_number &&
         a.sequence_number == b.sequence_number && a.priority == b.priority &&
         a.receiver_bic == b.receiver_bic && a.output == b.output && a.uetr == b.uetr &&
         a.reference == b.reference && a.related_reference == b.related_reference &&
         a.status_date == b.status_date && a.status_time == b.status_time &&
         a.utc_offset_minutes == b.utc_offset_minutes && a.status == b.status &&
         a.reason == b.reason && a.more_lines == b.more_lines && a.trailer == b.trailer;
}

std::string_view to_string(BankOperation op) {
  auto i = static_cast<size_t>(op);
  return i < std::size(kBankOperations) ? kBankOperations[i] : "?";
}
std::string_view to_string(Charges c) {
  auto i = static_cast<size_t>(c);
  return i < std::size(kCharges) ? kCharges[i] : "?";
}
std::string_view to_string(GpiStatus s) {
  auto i = static_cast<size_t>(s);
  return i < std::size(kStatuses) ? kStatuses[i] : "?";
}

bool is_swift_x(std::string_view text) { return all_of(text, is_x_char); }

bool is_valid_uetr(std::string_view u) {
  if (u.size() != 36) return false;
  for (size_t i = 0; i < u.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? u[i] != '-' : !is_lower_hex(u[i])) return false;
  }
  return u[14] == '4' && (u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
}

// ---- MT 103

Result<std::string> encode_mt103(const Mt103& m) {
  if (auto p = check_mt103(m)) return *p;
  Result<std::string> amount = amount_text(m.amount);
  std::string out;
  out += "{1:F01" + m.sender_lt + padded(m.session_number, 4) + padded(m.sequence_number, 6) + "}";
  out += "{2:I103" + receiver_address(m.receiver_bic) + m.priority + "}";
  out += "{3:";
  if (!m.mur.empty()) out += "{108:" + m.mur + "}";
  out += "{121:" + m.uetr + "}}";
  out += "{4:";
  out += kCrlf;
  put_field(out, "20", {m.reference});
  put_field(out, "23B", {std::string(to_string(m.bank_operation))});
  put_field(out, "32A", {yymmdd(m.value_date) + m.amount.currency + amount.value()});
  put_field(out, "50K", party_lines(m.ordering_customer));
  put_field(out, "59", party_lines(m.beneficiary));
  if (!m.remittance.empty()) put_field(out, "70", m.remittance);
  put_field(out, "71A", {std::string(to_string(m.charges))});
  out += "-}";
  if (auto p = check_length(out)) return *p;
  return out;
}

Result<Mt103> decode_mt103(std::string_view fin) {
  if (auto p = check_length(fin)) return *p;
  Reader r(fin);
  Mt103 m;
  auto b1 = read_block(r, '1');
  if (!b1) return b1.error();
  if (auto p = parse_basic_header(*b1, "F01", m.sender_lt, m.session_number, m.sequence_number))
    return *p;
  auto b2 = read_block(r, '2');
  if (!b2) return b2.error();
  if (!b2->empty() && (*b2)[0] != 'I')
    return fail(kFormatError,
                "block 2: expected the input form 'I', found " + show(b2->substr(0, 1)));
  if (auto p = parse_input_header(*b2, "103", m.receiver_bic, m.priority)) return *p;
  if (auto p = parse_user_header(r, true, m.mur, m.uetr)) return *p;
  auto text = read_text_block(r);
  if (!text) return text.error();
  if (!r.at_end())
    return fail(kFormatError,
                "unexpected content after block 4 at offset " + num(r.pos()) + ": " + r.found());

  static constexpr Slot kSlots[] = {{"20", false}, {"23B", false}, {"32A", false}, {"50K", false},
                                    {"59", false}, {"70", true},   {"71A", false}};
  auto slots = match_fields(*text, kSlots, "20, 23B, 32A, 50K, 59, optional 70, 71A");
  if (!slots) return slots.error();
  const std::vector<const RawField*>& f = *slots;

  auto ref = single_line(*f[0]);
  if (!ref) return ref.error();
  m.reference = std::string(*ref);
  if (auto p = check_reference(m.reference, "block 4 field 20")) return *p;

  auto op_text = single_line(*f[1]);
  if (!op_text) return op_text.error();
  auto op = lookup<BankOperation>(kBankOperations, *op_text);
  if (!op)
    return fail("T36",
                "block 4 field 23B: " + show(*op_text) + " is not one of CRED, SPRI, SSTD, SPAY");
  m.bank_operation = *op;

  auto a = single_line(*f[2]);
  if (!a) return a.error();
  if (a->size() < 10)
    return fail(kFormatError,
                "block 4 field 32A: " + show(*a) + " is too short for YYMMDD, currency and amount");
  auto date = parse_yymmdd(a->substr(0, 6));
  if (!date)
    return fail("T50", "block 4 field 32A: value date " + show(a->substr(0, 6)) +
                           " is not a valid YYMMDD date");
  m.value_date = *date;
  std::string_view currency = a->substr(6, 3);
  auto decimals = currency_decimals(currency);
  if (!all_of(currency, is_upper) || !decimals)
    return fail(
        "T52", "block 4 field 32A: currency " + show(currency) + " is not an active ISO 4217 code");
  std::string_view amount_field = a->substr(9);
  auto minor = parse_amount(amount_field, currency, *decimals);
  if (!minor) return minor.error();
  m.amount = Money{*minor, std::string(currency)};
  auto canonical = amount_text(m.amount);
  if (!canonical) return canonical.error();
  if (*canonical != amount_field)
    return fail(kFormatError, "block 4 field 32A: amount " + show(amount_field) +
                                  " is not in canonical form " + show(*canonical) +
                                  " (no leading zeros, all " +
                                  num(static_cast<uint64_t>(*decimals)) + " decimals)");

  m.ordering_customer = to_party(*f[3]);
  if (auto p = check_party(m.ordering_customer, "50K", "ordering customer")) return *p;
  m.beneficiary = to_party(*f[4]);
  if (auto p = check_party(m.beneficiary, "59", "beneficiary customer")) return *p;
  if (f[5] != nullptr) {
    m.remittance = to_strings(f[5]->lines);
    if (auto p = check_multiline(m.remittance, 4, 35, "block 4 field 70")) return *p;
  }

  auto charges_text = single_line(*f[6]);
  if (!charges_text) return charges_text.error();
  auto charges = lookup<Charges>(kCharges, *charges_text);
  if (!charges)
    return fail("T08",
                "block 4 field 71A: " + show(*charges_text) + " is not one of OUR, SHA, BEN");
  m.charges = *charges;

  if (auto p = check_mt103(m)) return *p;  // every rule the encoder applies
  return m;
}

// ---- ACK / NAK

Result<std::string> encode_fin_ack(const FinAck& a) {
  if (auto p = check_ack(a)) return *p;
  std::string out =
      "{1:F21" + a.lt_address + padded(a.session_number, 4) + padded(a.sequence_number, 6) + "}";
  out += "{4:{177:" + yymmdd(a.date) + hhmm(a.time) + "}";
  out += a.accepted ? "{451:0}" : "{451:1}";
  if (!a.accepted)
    out += "{405:" + a.error_code + (a.error_line ? padded(*a.error_line, 3) : "") + "}";
  if (!a.mur.empty()) out += "{108:" + a.mur + "}";
  out += "}";
  out += a.original;
  return out;
}

Result<FinAck> decode_fin_ack(std::string_view fin) {
  if (fin.size() > kMaxMessageChars + 256)
    return fail("M50", "ACK/NAK is " + num(fin.size()) + " characters, far beyond FIN's limit");
  Reader r(fin);
  FinAck a;
  auto b1 = read_block(r, '1');
  if (!b1) return b1.error();
  if (auto p = parse_basic_header(*b1, "F21", a.lt_address, a.session_number, a.sequence_number))
    return *p;
  auto tags = read_tag_block(r, '4', kFormatError);
  if (!tags) return tags.error();
  const std::vector<TagValue>& t = *tags;
  size_t i = 0;
  auto next_is = [&](std::string_view tag) { return i < t.size() && t[i].tag == tag; };

  if (!next_is("177")) return fail(kFormatError, "block 4: {177:} (date and time) must come first");
  std::string_view stamp = t[i].value;
  auto date = parse_yymmdd(stamp.substr(0, 6));
  auto time = stamp.size() == 10 ? parse_hhmm(stamp.substr(6)) : std::nullopt;
  if (!date || !time)
    return fail(kFormatError, "block 4 {177:}: " + show(stamp) + " is not a valid YYMMDDHHMM");
  a.date = *date;
  a.time = *time;
  ++i;

  if (!next_is("451"))
    return fail(kFormatError, "block 4: {451:} (accepted or rejected) must follow {177:}");
  if (t[i].value != "0" && t[i].value != "1")
    return fail(kFormatError,
                "block 4 {451:}: " + show(t[i].value) + " must be 0 (ACK) or 1 (NAK)");
  a.accepted = t[i].value == "0";
  ++i;

  if (next_is("405")) {
    if (a.accepted) return fail(kFormatError, "block 4: an ACK ({451:0}) carries no {405:} error");
    std::string_view reason = t[i].value;
    if ((reason.size() != 3 && reason.size() != 6) || !is_error_code(reason.substr(0, 3)) ||
        (reason.size() == 6 && !all_digits(reason.substr(3))))
      return fail(kFormatError,
                  "block 4 {405:}: " + show(reason) +
                      " must be an error code (letter, 2 digits) and an optional 3-digit line");
    a.error_code = std::string(reason.substr(0, 3));
    if (reason.size() == 6) a.error_line = static_cast<uint16_t>(parse_uint(reason.substr(3)));
    ++i;
  } else if (!a.accepted) {
    return fail(kFormatError, "block 4: a NAK ({451:1}) needs the {405:} error code");
  }
  if (next_is("108")) {
    if (t[i].value.empty()) return fail("U02", "block 4 {108:} is empty");
    a.mur = std::string(t[i].value);
    ++i;
  }
  if (i < t.size())
    return fail(kFormatError, "block 4: {" + std::string(t[i].tag) + ":} at offset " +
                                  num(t[i].offset) +
                                  " is not expected (177, 451, 405 for a NAK, optional 108)");
  a.original = std::string(r.rest());
  if (auto p = check_ack(a)) return *p;
  return a;
}

// ---- MT 199

Result<std::string> encode_mt199(const Mt199Status& s) {
  if (auto p = check_mt199(s)) return *p;
  std::string out =
      "{1:F01" + s.lt_address + padded(s.session_number, 4) + padded(s.sequence_number, 6) + "}";
  if (s.output)
    out += "{2:" + output_header_text(*s.output, s.priority) + "}";
  else
    out += "{2:I199" + receiver_address(s.receiver_bic) + s.priority + "}";
  out += "{3:{121:" + s.uetr + "}}";
  out += "{4:";
  out += kCrlf;
  put_field(out, "20", {s.reference});
  put_field(out, "21", {s.related_reference});
  std::vector<std::string> lines = {status_line_1(s), status_line_2(s)};
  lines.insert(lines.end(), s.more_lines.begin(), s.more_lines.end());
  put_field(out, "79", lines);
  out += "-}";
  out += s.trailer;
  if (auto p = check_length(out)) return *p;
  return out;
}

Result<Mt199Status> decode_mt199(std::string_view fin) {
  if (auto p = check_length(fin)) return *p;
  Reader r(fin);
  Mt199Status s;
  auto b1 = read_block(r, '1');
  if (!b1) return b1.error();
  if (auto p = parse_basic_header(*b1, "F01", s.lt_address, s.session_number, s.sequence_number))
    return *p;
  auto b2 = read_block(r, '2');
  if (!b2) return b2.error();
  std::string_view c = *b2;
  if (!c.empty() && c[0] == 'O') {
    if (c.size() < 4 || c.substr(1, 3) != "199")
      return fail(kFormatError, "block 2: message type " + show(c.substr(1, 3)) + ", expected 199");
    if (c.size() != 47)
      return fail(kFormatError,
                  "block 2: output header must be 47 characters (O, type, input time, "
                  "input reference, output date and time, priority), got " +
                      num(c.size()));
    FinOutputHeader h;
    auto in_time = parse_hhmm(c.substr(4, 4));
    auto in_date = parse_yymmdd(c.substr(8, 6));
    std::string_view mir_numbers = c.substr(26, 10);
    auto out_date = parse_yymmdd(c.substr(36, 6));
    auto out_time = parse_hhmm(c.substr(42, 4));
    if (!in_time || !in_date || !out_date || !out_time || !all_digits(mir_numbers))
      return fail(kFormatError, "block 2: " + show(c) + " has an invalid date, time or number");
    h.input_time = *in_time;
    h.input_date = *in_date;
    h.sender_lt = std::string(c.substr(14, 12));
    h.input_session = static_cast<uint16_t>(parse_uint(mir_numbers.substr(0, 4)));
    h.input_sequence = parse_uint(mir_numbers.substr(4));
    h.output_date = *out_date;
    h.output_time = *out_time;
    if (auto p = check_output_header(h)) return *p;
    s.output = h;
    s.priority = c[46];
    if (auto p = check_priority(s.priority)) return *p;
  } else if (!c.empty() && c[0] == 'I') {
    if (auto p = parse_input_header(c, "199", s.receiver_bic, s.priority)) return *p;
  } else {
    return fail(kFormatError,
                "block 2: expected 'I' (input) or 'O' (output), found " + show(c.substr(0, 1)));
  }
  std::string no_mur;  // an MT 199 status carries no {108:}
  if (auto p = parse_user_header(r, false, no_mur, s.uetr)) return *p;
  auto text = read_text_block(r);
  if (!text) return text.error();
  if (!r.at_end()) {
    if (!r.starts_with("{5:"))
      return fail(kFormatError,
                  "unexpected content after block 4 at offset " + num(r.pos()) + ": " + r.found());
    s.trailer = std::string(r.rest());
    if (auto p = check_trailer(s.trailer)) return *p;
  }
  auto slots = match_fields(*text, kMt199Fields, kMt199Order);
  if (!slots) return slots.error();
  const std::vector<const RawField*>& f = *slots;
  auto ref = single_line(*f[0]);
  if (!ref) return ref.error();
  s.reference = std::string(*ref);
  if (auto p = check_reference(s.reference, "block 4 field 20")) return *p;
  auto related = single_line(*f[1]);
  if (!related) return related.error();
  s.related_reference = std::string(*related);
  if (auto p = check_reference(s.related_reference, "block 4 field 21")) return *p;
  if (auto p = parse_status_lines(*f[2], s)) return *p;
  if (auto p = check_mt199(s)) return *p;
  return s;
}

// ---- transliteration

std::string to_swift_x(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    size_t len = 1;
    int32_t cp = decode_utf8(utf8, i, len);
    append_x(out, cp);
    i += len;
  }
  return out;
}

Result<std::vector<std::string>> wrap_swift_x(std::string_view utf8, size_t max_lines,
                                              size_t width) {
  if (width == 0) return fail(kFormatError, "wrap width must be at least 1");
  const std::string x = to_swift_x(utf8);
  std::vector<std::string> lines;
  std::string current;
  size_t i = 0;
  while (i < x.size()) {
    if (x[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = x.find(' ', i);
    if (end == std::string::npos) end = x.size();
    std::string_view word = std::string_view(x).substr(i, end - i);
    i = end;
    if (!current.empty() && current.size() + 1 + word.size() <= width) {
      current += ' ';
      current += word;
      continue;
    }
    if (!current.empty()) lines.push_back(std::move(current));
    current.clear();
    while (word.size() > width) {
      lines.emplace_back(word.substr(0, width));
      word.remove_prefix(width);
    }
    current = std::string(word);
  }
  if (!current.empty()) lines.push_back(std::move(current));
  for (std::string& line : lines)
    if (line[0] == ':' || line[0] == '-') line[0] = '.';
  if (lines.size() > max_lines)
    return fail(kFormatError, "text needs " + num(lines.size()) + " lines of " + num(width) +
                                  " characters, at most " + num(max_lines));
  return lines;
}

}  // namespace payengine::clearing::mt
