// Validation of a payment instruction: the rules of sagas/validation.hpp, in a
// fixed order, each naming the reason code, the field and what is wrong.
#include "sagas/validation.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>

#include "sagas/reason.hpp"

namespace payengine {
namespace {

// ---------------------------------------------------------------------------
// Reference tables.

struct IbanCountry {
  const char* code;
  size_t length_chars;
};

// ISO 13616 countries and their IBAN lengths (SWIFT IBAN Registry, 89 country
// prefixes as of release 98+). Sorted by code for binary search. A country not
// listed (South Africa among them) does not issue IBANs.
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HN", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
    {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20},
    {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
    {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25},
    {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
    {"YE", 30},
};

// ISO 3166-1 alpha-2 officially assigned codes (249), plus XK (Kosovo), a
// user-assigned code that SWIFT uses in BICs and IBANs. Sorted.
constexpr std::string_view kCountryCodes[] = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
};

// The tables are searched with binary search: they must stay sorted.
template <typename T, size_t N, typename Key>
constexpr bool is_strictly_sorted(const T (&table)[N], Key key) {
  for (size_t i = 1; i < N; ++i)
    if (!(key(table[i - 1]) < key(table[i]))) return false;
  return true;
}
static_assert(is_strictly_sorted(kIbanCountries,
                                 [](const IbanCountry& c) { return std::string_view(c.code); }));
static_assert(is_strictly_sorted(kCountryCodes, [](std::string_view c) { return c; }));
static_assert(std::size(kIbanCountries) == 89);
static_assert(std::size(kCountryCodes) == 250);

// Rails a caller may ask for; empty lets the router choose.
constexpr std::string_view kRails[] = {"SAMOS", "EFT", "RTC", "PAYSHAP", "SWIFT"};

constexpr size_t kMaxTenantChars = 64;
constexpr size_t kMinSaAccountDigits = 7;
constexpr size_t kMaxSaAccountDigits = 11;
constexpr size_t kSaBranchCodeDigits = 6;
constexpr size_t kMaxShapLocalChars = 64;
constexpr size_t kMinShapBankChars = 2;
constexpr size_t kMaxShapBankChars = 32;

// ---------------------------------------------------------------------------
// Character classes (ASCII only; never locale dependent).

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper_alnum(char c) { return is_upper(c) || is_digit(c); }
bool is_ascii_alnum(char c) { return is_upper(c) || is_lower(c) || is_digit(c); }
bool is_printable_ascii(char c) { return c >= 0x20 && c <= 0x7E; }
bool is_tenant_char(char c) { return is_ascii_alnum(c) || c == '_' || c == '-'; }
bool is_shap_local_char(char c) {
  return is_ascii_alnum(c) || c == '.' || c == '_' || c == '+' || c == '-';
}
bool is_shap_bank_char(char c) { return is_lower(c) || is_digit(c) || c == '-'; }

template <typename Pred>
bool all_of(std::string_view s, Pred pred) {
  return std::all_of(s.begin(), s.end(), pred);
}

bool is_country_code(std::string_view code) {
  return std::binary_search(std::begin(kCountryCodes), std::end(kCountryCodes), code);
}

const IbanCountry* find_iban_country(std::string_view code) {
  auto it = std::lower_bound(
      std::begin(kIbanCountries), std::end(kIbanCountries), code,
      [](const IbanCountry& c, std::string_view key) { return std::string_view(c.code) < key; });
  if (it == std::end(kIbanCountries) || std::string_view(it->code) != code) return nullptr;
  return it;
}

// ---------------------------------------------------------------------------
// UTF-8 text: code points counted, malformed sequences and control characters
// (C0, DEL, C1) reported.

struct TextScan {
  bool valid_utf8 = true;
  bool has_control = false;
  size_t code_points = 0;
};

// Decodes one code point starting at s[i]; returns its byte length, or 0 when
// the sequence is malformed (truncated, overlong, surrogate, above U+10FFFF).
size_t decode_utf8(std::string_view s, size_t i, uint32_t& code_point) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  size_t length = 0;
  uint32_t min_value = 0;  // smallest code point of that length: anything below is overlong
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    min_value = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    min_value = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    min_value = 0x10000;
  } else {
    return 0;
  }
  code_point = lead & (0x7Fu >> length);  // payload bits of the lead byte
  if (i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3Fu);
  }
  if (code_point < min_value || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return length;
}

bool is_control_code_point(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

TextScan scan_text(std::string_view s) {
  TextScan scan;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t length = decode_utf8(s, i, cp);
    if (length == 0) {
      scan.valid_utf8 = false;
      return scan;
    }
    scan.has_control = scan.has_control || is_control_code_point(cp);
    ++scan.code_points;
    i += length;
  }
  return scan;
}

// A caller's value quoted for a message: at most 16 characters, anything but
// printable ASCII escaped as \xNN, so a message is always safe to log or echo.
std::string quoted(std::string_view value) {
  constexpr size_t kMaxShownChars = 16;
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "'";
  for (char c : value.substr(0, kMaxShownChars)) {
    if (is_printable_ascii(c) && c != '\\' && c != '\'') {
      out.push_back(c);
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  out += value.size() > kMaxShownChars ? "'..." : "'";
  return out;
}

bool is_blank(std::string_view s) {
  return all_of(s, [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

// ---------------------------------------------------------------------------
// Identifier checks. Each `*_problem` returns an empty string when the value is
// valid, otherwise what is wrong with it (used verbatim in messages).

std::string sa_account_problem(std::string_view s) {
  if (s.empty()) return "is missing";
  if (!all_of(s, is_digit)) return "must contain digits only";
  if (s.size() < kMinSaAccountDigits || s.size() > kMaxSaAccountDigits)
    return "must be 7 to 11 digits long, got " + std::to_string(s.size());
  if (all_of(s, [](char c) { return c == '0'; })) return "must not be all zeros";
  return {};
}

std::string sa_branch_code_problem(std::string_view s) {
  if (s.empty()) return "is missing";
  if (s.size() != kSaBranchCodeDigits || !all_of(s, is_digit)) return "must be exactly 6 digits";
  return {};
}

// ISO 7064 MOD 97-10 over the IBAN rearranged (first four characters moved to
// the end, letters as 10..35). Expects upper-case alphanumerics only.
int iban_mod97(std::string_view iban) {
  int remainder = 0;
  auto feed = [&](char c) {
    if (is_digit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else {
      int value = c - 'A' + 10;
      remainder = (remainder * 100 + value) % 97;
    }
  };
  for (char c : iban.substr(4)) feed(c);
  for (char c : iban.substr(0, 4)) feed(c);
  return remainder;
}

std::string iban_problem(std::string_view iban) {
  if (iban.empty()) return "is missing";
  if (iban.find(' ') != std::string_view::npos)
    return "must be in electronic format, without spaces";
  if (std::any_of(iban.begin(), iban.end(), is_lower)) return "must be upper case";
  if (!all_of(iban, is_upper_alnum)) return "may contain only A-Z and 0-9";
  if (iban.size() < 2 || !is_upper(iban[0]) || !is_upper(iban[1]))
    return "must start with a two-letter country code";
  std::string country(iban.substr(0, 2));
  const IbanCountry* spec = find_iban_country(country);
  if (spec == nullptr) return "country " + country + " does not issue IBANs";
  if (iban.size() != spec->length_chars)
    return "must be " + std::to_string(spec->length_chars) + " characters for " + country +
           ", got " + std::to_string(iban.size());
  if (!is_digit(iban[2]) || !is_digit(iban[3])) return "check digits must be two digits";
  int check_digits = (iban[2] - '0') * 10 + (iban[3] - '0');
  if (check_digits < 2 || check_digits > 98) return "check digits must be 02 to 98";
  if (iban_mod97(iban) != 1) return "check digits do not match (mod-97 is not 1)";
  return {};
}

std::string bic_problem(std::string_view bic) {
  if (bic.size() != 8 && bic.size() != 11)
    return "must be 8 or 11 characters, got " + std::to_string(bic.size());
  if (!all_of(bic.substr(0, 4), is_upper))
    return "bank code (characters 1-4) must be upper-case letters A-Z";
  std::string_view country = bic.substr(4, 2);
  if (!all_of(country, is_upper) || !is_country_code(country))
    return "country (characters 5-6) must be an ISO 3166 alpha-2 code";
  if (!all_of(bic.substr(6, 2), is_upper_alnum))
    return "location (characters 7-8) must be A-Z or 0-9";
  if (!all_of(bic.substr(8), is_upper_alnum)) return "branch (characters 9-11) must be A-Z or 0-9";
  return {};
}

std::string shap_id_problem(std::string_view s) {
  size_t at = s.find('@');
  if (at == std::string_view::npos) return "must be <local>@<bank>";
  if (s.find('@', at + 1) != std::string_view::npos) return "must contain exactly one '@'";
  std::string_view local = s.substr(0, at);
  std::string_view bank = s.substr(at + 1);
  if (local.empty() || local.size() > kMaxShapLocalChars)
    return "local part must be 1 to 64 characters";
  if (!all_of(local, is_shap_local_char)) return "local part may contain only A-Z a-z 0-9 . _ + -";
  if (bank.size() < kMinShapBankChars || bank.size() > kMaxShapBankChars)
    return "bank part must be 2 to 32 characters";
  if (!all_of(bank, is_shap_bank_char)) return "bank part may contain only a-z 0-9 -";
  return {};
}

// ---------------------------------------------------------------------------
// Rules. Each returns the first violation it finds in its part of the
// instruction, or nothing.

using Check = std::optional<ValidationError>;

ValidationError violation(std::string_view code, std::string field, std::string message) {
  return ValidationError{std::string(code), std::move(field), std::move(message)};
}

Check check_tenant(const PaymentInstruction& p) {
  const std::string& t = p.tenant;
  if (t.empty()) return violation(reason::FF01, "tenant", "tenant is missing");
  if (t.size() > kMaxTenantChars)
    return violation(reason::FF01, "tenant",
                     "tenant must be at most 64 characters, got " + std::to_string(t.size()));
  if (!all_of(t, is_tenant_char))
    return violation(reason::FF01, "tenant", "tenant may contain only A-Z a-z 0-9 _ -");
  return std::nullopt;
}

Check check_end_to_end_id(const PaymentInstruction& p) {
  const std::string& id = p.end_to_end_id;
  if (id.empty()) return violation(reason::FF01, "end_to_end_id", "end_to_end_id is missing");
  if (id.size() > kMaxEndToEndIdChars)
    return violation(
        reason::FF01, "end_to_end_id",
        "end_to_end_id must be at most 35 characters, got " + std::to_string(id.size()));
  if (!all_of(id, is_printable_ascii))
    return violation(reason::FF01, "end_to_end_id",
                     "end_to_end_id must be printable ASCII (no control characters)");
  return std::nullopt;
}

Check check_amount(const PaymentInstruction& p) {
  const std::string& currency = p.amount.currency;
  if (!currency_decimals(currency))
    return violation(reason::AM03, "amount.currency",
                     "currency " + quoted(currency) + " is not an upper-case ISO 4217 code");
  int64_t minor = p.amount.amount_minor;
  if (minor == 0) return violation(reason::AM01, "amount.amount_minor", "amount is zero");
  if (minor < 0)
    return violation(reason::AM12, "amount.amount_minor",
                     "amount must be positive, got " + std::to_string(minor));
  if (minor > kMaxAmountMinor)
    return violation(reason::AM02, "amount.amount_minor",
                     "amount must be at most " + std::to_string(kMaxAmountMinor) +
                         " minor units, got " + std::to_string(minor));
  return std::nullopt;
}

// The codes and field prefix of one party: the debtor's and the creditor's
// failures use different ExternalStatusReason codes.
struct PartyRole {
  const char* prefix;             // "debtor" or "creditor"
  std::string_view name_code;     // RR02 / RR03
  std::string_view account_code;  // AC02 / AC03
  std::string_view agent_code;    // RC03 / RC04
  bool proxy_is_account;          // a ShapID alone identifies the account
};

constexpr PartyRole kDebtor{"debtor", reason::RR02, reason::AC02, reason::RC03, false};
constexpr PartyRole kCreditor{"creditor", reason::RR03, reason::AC03, reason::RC04, true};

std::string field_of(const PartyRole& role, const char* field) {
  return std::string(role.prefix) + "." + field;
}

Check check_party_name(const PartyRole& role, const std::string& name) {
  // The field's name is built only for a violation (validation runs on
  // every payment).
  const bool blank = is_blank(name);
  TextScan scan;
  if (!blank) {
    scan = scan_text(name);
    if (scan.valid_utf8 && scan.code_points <= kMaxNameChars && !scan.has_control)
      return std::nullopt;
  }
  std::string field = field_of(role, "name");
  if (blank) return violation(role.name_code, field, field + " is missing");
  if (!scan.valid_utf8) return violation(role.name_code, field, field + " is not valid UTF-8");
  if (scan.code_points > kMaxNameChars)
    return violation(
        role.name_code, field,
        field + " must be at most 140 characters, got " + std::to_string(scan.code_points));
  return violation(role.name_code, field, field + " must not contain control characters");
}

Check identifier_violation(std::string_view code, const PartyRole& role, const char* name,
                           const std::string& problem) {
  if (problem.empty()) return std::nullopt;
  std::string field = field_of(role, name);
  std::string message = field + " " + problem;
  return violation(code, std::move(field), std::move(message));
}

// Account identification, in this order: SA account number and branch code
// (both required once either is given), IBAN, ShapID, presence of at least one
// usable account, then the agent's BIC.
Check check_party_account(const PartyRole& role, const PartyAccount& a) {
  bool has_sa_account = !a.account_number.empty() || !a.branch_code.empty();
  if (has_sa_account) {
    if (auto v = identifier_violation(role.account_code, role, "account_number",
                                      sa_account_problem(a.account_number)))
      return v;
    if (auto v = identifier_violation(role.agent_code, role, "branch_code",
                                      sa_branch_code_problem(a.branch_code)))
      return v;
  }
  if (!a.iban.empty())
    if (auto v =
            identifier_violation(role.account_code, role, "iban", iban_problem(a.iban)))
      return v;
  if (!a.proxy.empty())
    if (auto v = identifier_violation(role.account_code, role, "proxy",
                                      shap_id_problem(a.proxy)))
      return v;
  bool has_proxy_account = role.proxy_is_account && !a.proxy.empty();
  if (!has_sa_account && a.iban.empty() && !has_proxy_account)
    return violation(
        role.account_code, field_of(role, "account_number"),
        std::string(role.prefix) +
            (role.proxy_is_account ? " account is missing: give account_number and branch_code, an "
                                     "iban, or a proxy"
                                   : " account is missing: give account_number and branch_code, or "
                                     "an iban (a proxy identifies only a creditor)"));
  if (!a.bic.empty())
    if (auto v = identifier_violation(role.agent_code, role, "bic", bic_problem(a.bic)))
      return v;
  return std::nullopt;
}

Check check_party(const PartyRole& role, const PartyAccount& a) {
  if (auto v = check_party_name(role, a.name)) return v;
  return check_party_account(role, a);
}

Check check_debtor(const PaymentInstruction& p) { return check_party(kDebtor, p.debtor); }
Check check_creditor(const PaymentInstruction& p) { return check_party(kCreditor, p.creditor); }

// A non-ZAR payment leaves the domestic rails: the creditor's agent must be
// identifiable internationally, by BIC or by an IBAN.
Check check_cross_border_agent(const PaymentInstruction& p) {
  if (p.amount.currency == "ZAR") return std::nullopt;
  if (!p.creditor.iban.empty() || !p.creditor.bic.empty()) return std::nullopt;
  return violation(
      reason::RC04, "creditor.bic",
      "a payment in " + p.amount.currency + " needs the creditor agent's BIC (or a creditor IBAN)");
}

bool same_sa_account(const PartyAccount& a, const PartyAccount& b) {
  return !a.account_number.empty() && a.account_number == b.account_number &&
         a.branch_code == b.branch_code;
}

bool same_iban(const PartyAccount& a, const PartyAccount& b) {
  return !a.iban.empty() && a.iban == b.iban;
}

Check check_distinct_accounts(const PaymentInstruction& p) {
  if (same_sa_account(p.debtor, p.creditor) || same_iban(p.debtor, p.creditor))
    return violation(reason::AG01, "creditor",
                     "creditor account is the debtor account: a payment to oneself is not allowed");
  return std::nullopt;
}

Check check_remittance(const PaymentInstruction& p) {
  TextScan scan = scan_text(p.remittance);
  if (!scan.valid_utf8)
    return violation(reason::FF01, "remittance", "remittance is not valid UTF-8");
  if (scan.code_points > kMaxRemittanceChars)
    return violation(
        reason::FF01, "remittance",
        "remittance must be at most 140 characters, got " + std::to_string(scan.code_points));
  if (scan.has_control)
    return violation(reason::FF01, "remittance", "remittance must not contain control characters");
  return std::nullopt;
}

Check check_requested_rail(const PaymentInstruction& p) {
  const std::string& rail = p.requested_rail;
  if (rail.empty() || std::find(std::begin(kRails), std::end(kRails), rail) != std::end(kRails))
    return std::nullopt;
  return violation(
      reason::FF01, "requested_rail",
      "requested_rail " + quoted(rail) + " is not one of SAMOS, EFT, RTC, PAYSHAP, SWIFT");
}

// Guards against an out-of-range enum value from a careless decoder.
Check check_urgency(const PaymentInstruction& p) {
  switch (p.urgency) {
    case Urgency::normal:
    case Urgency::urgent:
    case Urgency::instant:
      return std::nullopt;
  }
  return violation(reason::FF01, "urgency", "urgency must be normal, urgent or instant");
}

// The fixed order in which rules are checked; the first violation wins.
constexpr Check (*kRules[])(const PaymentInstruction&) = {
    check_tenant,
    check_end_to_end_id,
    check_amount,
    check_debtor,
    check_creditor,
    check_cross_border_agent,
    check_distinct_accounts,
    check_remittance,
    check_requested_rail,
    check_urgency,
};

}  // namespace

std::optional<ValidationError> validate(const PaymentInstruction& p) {
  for (auto rule : kRules)
    if (auto v = rule(p)) return v;
  return std::nullopt;
}

bool is_valid_iban(std::string_view iban) { return iban_problem(iban).empty(); }
bool is_valid_bic(std::string_view bic) { return bic_problem(bic).empty(); }
bool is_valid_sa_account_number(std::string_view s) { return sa_account_problem(s).empty(); }
bool is_valid_sa_branch_code(std::string_view s) { return sa_branch_code_problem(s).empty(); }
bool is_valid_shap_id(std::string_view s) { return shap_id_problem(s).empty(); }

}  // namespace payengine
