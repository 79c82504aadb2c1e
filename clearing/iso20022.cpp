#include "clearing/iso20022.hpp"

#include <libxml/tree.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>

namespace payengine::clearing::iso20022 {
namespace {

using Check = std::optional<Error>;

#define ISO_CHECK(expr)                           \
  do {                                            \
    if (auto iso_err_ = (expr)) return *iso_err_; \
  } while (0)

// An element path as a base and a suffix, joined only when a message needs
// it: the checks run on every encode and must not allocate when they pass.
struct Path {
  Path(const char* b) : base(b) {}  // NOLINT: implicit from a literal
  Path(std::string_view b, std::string_view s) : base(b), suffix(s) {}
  std::string str() const { return std::string(base).append(suffix); }
  std::string_view base;
  std::string_view suffix;
};

Check fail(const Path& path, const std::string& what, const char* code = "FF01") {
  return Error{code, path.str() + ": " + what};
}

// ---------------------------------------------------------------------------
// Code lists

constexpr std::array<std::string_view, 4> kChargeBearer = {"DEBT", "CRED", "SHAR", "SLEV"};
constexpr std::array<std::string_view, 4> kSettlementMethod = {"INDA", "INGA", "COVE", "CLRG"};
constexpr std::array<std::string_view, 7> kTxStatus = {"ACTC", "ACCP", "ACSP", "ACSC",
                                                       "ACWC", "PDNG", "RJCT"};

template <class E, size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

template <size_t N>
std::string join(const std::array<std::string_view, N>& names) {
  std::string out;
  for (auto n : names) {
    if (!out.empty()) out += ' ';
    out += n;
  }
  return out;
}

struct MessageInfo {
  const char* name_id;
  const char* ns;
  const char* root;  // the message element under Document
};

constexpr MessageInfo kMessages[] = {
    {"pacs.008.001.08", "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08", "FIToFICstmrCdtTrf"},
    {"pacs.009.001.08", "urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08", "FICdtTrf"},
    {"pacs.028.001.03", "urn:iso:std:iso:20022:tech:xsd:pacs.028.001.03", "FIToFIPmtStsReq"},
    {"pacs.002.001.10", "urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10", "FIToFIPmtStsRpt"},
};

const MessageInfo& info(MessageType t) { return kMessages[static_cast<size_t>(t)]; }

// ---------------------------------------------------------------------------
// Field formats (the XSD facets of every element this codec writes, so that
// whatever passes these checks encodes to a schema-valid document)

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_upper_or_digit(char c) { return is_upper(c) || is_digit(c); }
bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Decodes the code point at s[i], advancing i. Returns false on malformed
// UTF-8 (overlong, surrogate, above U+10FFFF, truncated).
bool next_code_point(std::string_view s, size_t& i, uint32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t min;
  if (c < 0x80) {
    cp = c;
    ++i;
    return true;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return false;
  }
  if (s.size() - i < len) return false;
  for (size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += len;
  return true;
}

bool is_xml_char(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// MaxNText: 1..max_chars characters of UTF-8 that XML 1.0 can carry.
Check check_text(const Path& path, std::string_view s, size_t max_chars) {
  if (s.empty()) return fail(path, "missing");
  size_t chars = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t at = i;
    uint32_t cp = 0;
    if (!next_code_point(s, i, cp))
      return fail(path, "invalid UTF-8 at byte " + std::to_string(at));
    if (!is_xml_char(cp))
      return fail(
          path, "character U+" +
                    [&] {
                      char buf[16];
                      std::snprintf(buf, sizeof buf, "%04X", static_cast<unsigned>(cp));
                      return std::string(buf);
                    }() +
                    " at byte " + std::to_string(at) + " cannot appear in XML");
    ++chars;
  }
  if (chars > max_chars)
    return fail(path,
                std::to_string(chars) + " characters (at most " + std::to_string(max_chars) + ")");
  return std::nullopt;
}

Check check_opt_text(const Path& path, std::string_view s, size_t max_chars) {
  return s.empty() ? std::nullopt : check_text(path, s, max_chars);
}

// Quotes a value for an error message, shortened and with control bytes
// shown as '?', so that messages stay readable whatever the input.
std::string quoted(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7F) ? '?' : static_cast<char>(c);
  }
  if (s.size() > kMax) out += "...";
  return out + "'";
}

// BICFIDec2014Identifier: [A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?
bool is_bic(std::string_view s) {
  if (s.size() != 8 && s.size() != 11) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool ok = (i == 4 || i == 5) ? is_upper(s[i]) : is_upper_or_digit(s[i]);
    if (!ok) return false;
  }
  return true;
}

// IBAN2007Identifier: [A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}
bool is_iban(std::string_view s) {
  if (s.size() < 5 || s.size() > 34) return false;
  if (!is_upper(s[0]) || !is_upper(s[1]) || !is_digit(s[2]) || !is_digit(s[3])) return false;
  for (size_t i = 4; i < s.size(); ++i) {
    char c = s[i];
    if (!(is_upper_or_digit(c) || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

// UUIDv4Identifier: [a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}
bool is_uuid_v4(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!(is_digit(c) || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

bool all_digits(std::string_view s) {
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// "YYYY-MM-DD", a real calendar date in years 0001..9999.
bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  std::string_view y = s.substr(0, 4), m = s.substr(5, 2), d = s.substr(8, 2);
  if (!all_digits(y) || !all_digits(m) || !all_digits(d)) return false;
  int year = to_int(y), month = to_int(m), day = to_int(d);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int max_day = kDays[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
  return day <= max_day;
}

// "YYYY-MM-DDThh:mm:ss[.f{1,9}][Z|(+|-)hh:mm]" (a subset of xs:dateTime).
bool is_date_time(std::string_view s) {
  if (s.size() < 19 || !is_date(s.substr(0, 10)) || s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return false;
  std::string_view hh = s.substr(11, 2), mm = s.substr(14, 2), ss = s.substr(17, 2);
  if (!all_digits(hh) || !all_digits(mm) || !all_digits(ss)) return false;
  if (to_int(hh) > 23 || to_int(mm) > 59 || to_int(ss) > 59) return false;
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t n = 1;
    while (n < rest.size() && is_digit(rest[n])) ++n;
    if (n == 1 || n > 10) return false;
    rest = rest.substr(n);
  }
  if (rest.empty() || rest == "Z") return true;
  if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':') return false;
  std::string_view th = rest.substr(1, 2), tm = rest.substr(4, 2);
  if (!all_digits(th) || !all_digits(tm)) return false;
  int h = to_int(th), m = to_int(tm);
  return m <= 59 && (h < 14 || (h == 14 && m == 0));
}

Check check_date(const Path& path, std::string_view s) {
  if (s.empty()) return fail(path, "missing");
  if (!is_date(s)) return fail(path, quoted(s) + " is not a date YYYY-MM-DD");
  return std::nullopt;
}

Check check_date_time(const Path& path, std::string_view s) {
  if (s.empty()) return fail(path, "missing");
  if (!is_date_time(s))
    return fail(path, quoted(s) + " is not a date-time YYYY-MM-DDThh:mm:ss[.fff][zone]");
  return std::nullopt;
}

Check check_uuid(const Path& path, std::string_view s) {
  if (!is_uuid_v4(s)) return fail(path, quoted(s) + " is not a lower-case UUID v4");
  return std::nullopt;
}

Check check_bic(const Path& path, std::string_view s) {
  if (!is_bic(s)) return fail(path, quoted(s) + " is not a BIC (8 or 11 characters, ISO 9362)");
  return std::nullopt;
}

Check check_agent(std::string_view path, const Agent& a) {
  if (a.bic.empty() && a.member_id.empty())
    return fail({path, "/FinInstnId"}, "BICFI or ClrSysMmbId/MmbId required");
  if (!a.bic.empty()) ISO_CHECK(check_bic({path, "/FinInstnId/BICFI"}, a.bic));
  if (!a.clearing_system.empty()) {
    if (a.member_id.empty())
      return fail({path, "/FinInstnId/ClrSysMmbId/MmbId"}, "missing (ClrSysId/Cd is given)");
    ISO_CHECK(check_text({path, "/FinInstnId/ClrSysMmbId/ClrSysId/Cd"}, a.clearing_system, 5));
  }
  return check_opt_text({path, "/FinInstnId/ClrSysMmbId/MmbId"}, a.member_id, 35);
}

Check check_account(std::string_view path, const Account& a) {
  if (a.is_iban) {
    if (a.id.empty()) return fail({path, "/Id/IBAN"}, "missing");
    if (!is_iban(a.id)) return fail({path, "/Id/IBAN"}, quoted(a.id) + " is not an IBAN");
    return std::nullopt;
  }
  return check_text({path, "/Id/Othr/Id"}, a.id, 34);
}

constexpr int64_t kMaxAmountMinor = 999'999'999'999'999'999;  // totalDigits 18

Check check_currency(std::string_view path, std::string_view ccy, Profile profile) {
  if (ccy.size() != 3 || !is_upper(ccy[0]) || !is_upper(ccy[1]) || !is_upper(ccy[2]))
    return fail({path, "/@Ccy"}, quoted(ccy) + " is not a currency code [A-Z]{3}");
  if (!currency_decimals(ccy))
    return fail({path, "/@Ccy"}, quoted(ccy) + " is not an active ISO 4217 currency", "AM03");
  if (profile != Profile::cbpr_plus && ccy != "ZAR")
    return fail(
        {path, "/@Ccy"},
        std::string(ccy) + " not allowed under " + std::string(to_string(profile)) + " (ZAR only)",
        "AM03");
  return std::nullopt;
}

Check check_amount(std::string_view path, const Money& m, Profile profile) {
  ISO_CHECK(check_currency(path, m.currency, profile));
  if (m.amount_minor == 0) return fail({path, ""}, "zero amount", "AM01");
  if (m.amount_minor < 0) return fail({path, ""}, "negative amount");
  if (m.amount_minor > kMaxAmountMinor) return fail({path, ""}, "more than 18 digits");
  return std::nullopt;
}

// ExternalStatusReason1Code as this codec carries it: four of [A-Z0-9].
bool is_reason_code(std::string_view s) {
  if (s.size() != 4) return false;
  for (char c : s)
    if (!is_upper_or_digit(c)) return false;
  return true;
}

Check require_cbpr_agent(std::string_view path, const std::optional<Agent>& a) {
  if (!a) return fail({path, ""}, "missing (mandatory under CBPR+)");
  if (a->bic.empty()) return fail({path, "/FinInstnId/BICFI"}, "missing (mandatory under CBPR+)");
  return std::nullopt;
}

Check check_opt_agent(std::string_view path, const std::optional<Agent>& a) {
  return a ? check_agent(path, *a) : std::nullopt;
}

// The group header and payment identification fields common to pacs.008
// and pacs.009.
template <class M>
Check check_transfer_common(const M& m, Profile profile) {
  ISO_CHECK(check_text("GrpHdr/MsgId", m.msg_id, 35));
  ISO_CHECK(check_date_time("GrpHdr/CreDtTm", m.creation_date_time));
  if (static_cast<size_t>(m.settlement_method) >= kSettlementMethod.size())
    return fail("GrpHdr/SttlmInf/SttlmMtd", "unknown settlement method");
  if (!m.settlement_date.empty())
    ISO_CHECK(check_date("CdtTrfTxInf/IntrBkSttlmDt", m.settlement_date));
  ISO_CHECK(check_opt_text("CdtTrfTxInf/PmtId/InstrId", m.instr_id, 35));
  ISO_CHECK(check_text("CdtTrfTxInf/PmtId/EndToEndId", m.end_to_end_id, 35));
  ISO_CHECK(check_opt_text("CdtTrfTxInf/PmtId/TxId", m.tx_id, 35));
  if (!m.uetr.empty()) ISO_CHECK(check_uuid("CdtTrfTxInf/PmtId/UETR", m.uetr));
  ISO_CHECK(check_amount("CdtTrfTxInf/IntrBkSttlmAmt", m.amount, profile));
  ISO_CHECK(check_opt_agent("CdtTrfTxInf/InstgAgt", m.instructing_agent));
  ISO_CHECK(check_opt_agent("CdtTrfTxInf/InstdAgt", m.instructed_agent));
  ISO_CHECK(check_opt_text("CdtTrfTxInf/RmtInf/Ustrd", m.remittance, 140));
  if (profile == Profile::cbpr_plus) {
    if (m.uetr.empty()) return fail("CdtTrfTxInf/PmtId/UETR", "missing (mandatory under CBPR+)");
    if (m.settlement_date.empty())
      return fail("CdtTrfTxInf/IntrBkSttlmDt", "missing (mandatory under CBPR+)");
    ISO_CHECK(require_cbpr_agent("CdtTrfTxInf/InstgAgt", m.instructing_agent));
    ISO_CHECK(require_cbpr_agent("CdtTrfTxInf/InstdAgt", m.instructed_agent));
  }
  return std::nullopt;
}

Check check(const CreditTransfer& m, Profile profile) {
  ISO_CHECK(check_transfer_common(m, profile));
  if (static_cast<size_t>(m.charge_bearer) >= kChargeBearer.size())
    return fail("CdtTrfTxInf/ChrgBr", "unknown charge bearer");
  if (profile == Profile::cbpr_plus && m.charge_bearer == ChargeBearer::slev)
    return fail("CdtTrfTxInf/ChrgBr", "SLEV not allowed under CBPR+ (DEBT, CRED or SHAR)");
  ISO_CHECK(check_text("CdtTrfTxInf/Dbtr/Nm", m.debtor_name, 140));
  ISO_CHECK(check_account("CdtTrfTxInf/DbtrAcct", m.debtor_account));
  ISO_CHECK(check_agent("CdtTrfTxInf/DbtrAgt", m.debtor_agent));
  ISO_CHECK(check_agent("CdtTrfTxInf/CdtrAgt", m.creditor_agent));
  ISO_CHECK(check_text("CdtTrfTxInf/Cdtr/Nm", m.creditor_name, 140));
  ISO_CHECK(check_account("CdtTrfTxInf/CdtrAcct", m.creditor_account));
  return std::nullopt;
}

Check check(const FiCreditTransfer& m, Profile profile) {
  ISO_CHECK(check_transfer_common(m, profile));
  ISO_CHECK(check_agent("CdtTrfTxInf/Dbtr", m.debtor));
  ISO_CHECK(check_opt_agent("CdtTrfTxInf/DbtrAgt", m.debtor_agent));
  ISO_CHECK(check_opt_agent("CdtTrfTxInf/CdtrAgt", m.creditor_agent));
  ISO_CHECK(check_agent("CdtTrfTxInf/Cdtr", m.creditor));
  return std::nullopt;
}

// Fields common to pacs.028 and pacs.002. `tx` is the transaction element
// ("TxInf" or "TxInfAndSts"), `grp` where the original group info goes.
template <class M>
Check check_status_common(const M& m, Profile profile, std::string_view tx, std::string_view grp) {
  ISO_CHECK(check_text("GrpHdr/MsgId", m.msg_id, 35));
  ISO_CHECK(check_date_time("GrpHdr/CreDtTm", m.creation_date_time));
  ISO_CHECK(check_opt_agent("GrpHdr/InstgAgt", m.instructing_agent));
  ISO_CHECK(check_opt_agent("GrpHdr/InstdAgt", m.instructed_agent));
  ISO_CHECK(check_text({grp, "/OrgnlMsgId"}, m.original_msg_id, 35));
  ISO_CHECK(check_text({grp, "/OrgnlMsgNmId"}, m.original_msg_name_id, 35));
  ISO_CHECK(check_opt_text({tx, "/OrgnlInstrId"}, m.original_instr_id, 35));
  ISO_CHECK(check_text({tx, "/OrgnlEndToEndId"}, m.original_end_to_end_id, 35));
  ISO_CHECK(check_opt_text({tx, "/OrgnlTxId"}, m.original_tx_id, 35));
  if (!m.original_uetr.empty()) ISO_CHECK(check_uuid({tx, "/OrgnlUETR"}, m.original_uetr));
  if (profile == Profile::cbpr_plus && m.original_uetr.empty())
    return fail({tx, "/OrgnlUETR"}, "missing (mandatory under CBPR+)");
  return std::nullopt;
}

// Where the original group information goes (see Profile).
std::string_view group_path(Profile profile, std::string_view top, std::string_view in_tx) {
  return profile == Profile::cbpr_plus ? in_tx : top;
}

Check check(const StatusRequest& m, Profile profile) {
  return check_status_common(m, profile, "TxInf",
                             group_path(profile, "OrgnlGrpInf", "TxInf/OrgnlGrpInf"));
}

Check check(const StatusReport& m, Profile profile) {
  ISO_CHECK(
      check_status_common(m, profile, "TxInfAndSts",
                          group_path(profile, "OrgnlGrpInfAndSts", "TxInfAndSts/OrgnlGrpInf")));
  if (static_cast<size_t>(m.status) >= kTxStatus.size())
    return fail("TxInfAndSts/TxSts", "unknown status");
  if (!m.reason_code.empty() && !is_reason_code(m.reason_code))
    return fail("TxInfAndSts/StsRsnInf/Rsn/Cd",
                quoted(m.reason_code) + " is not a reason code (4 of A-Z, 0-9)");
  if (m.status == TxStatus::rjct && m.reason_code.empty())
    return fail("TxInfAndSts/StsRsnInf/Rsn/Cd", "missing (required with TxSts RJCT)");
  return check_opt_text("TxInfAndSts/StsRsnInf/AddtlInf", m.additional_info, 105);
}

#undef ISO_CHECK

// ---------------------------------------------------------------------------
// Writer: indented XML built in one string.

class Writer {
 public:
  explicit Writer(const MessageInfo& mi) {
    out_.reserve(3072);
    out_ += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"";
    out_ += mi.ns;
    out_ += "\">\n";
    depth_ = 1;
    open(mi.root);
  }

  void open(std::string_view tag) {
    indent();
    out_ += '<';
    out_ += tag;
    out_ += ">\n";
    ++depth_;
  }

  void close(std::string_view tag) {
    --depth_;
    indent();
    out_ += "</";
    out_ += tag;
    out_ += ">\n";
  }

  void leaf(std::string_view tag, std::string_view text) {
    indent();
    out_ += '<';
    out_ += tag;
    out_ += '>';
    escape(text);
    out_ += "</";
    out_ += tag;
    out_ += ">\n";
  }

  void opt_leaf(std::string_view tag, std::string_view text) {
    if (!text.empty()) leaf(tag, text);
  }

  void amount(std::string_view tag, const Money& m) {
    indent();
    out_ += '<';
    out_ += tag;
    out_ += " Ccy=\"";
    out_ += m.currency;  // checked: [A-Z]{3}
    out_ += "\">";
    out_ += format_decimal(m.amount_minor, *currency_decimals(m.currency));
    out_ += "</";
    out_ += tag;
    out_ += ">\n";
  }

  void agent(std::string_view tag, const Agent& a) {
    open(tag);
    open("FinInstnId");
    opt_leaf("BICFI", a.bic);
    if (!a.member_id.empty()) {
      open("ClrSysMmbId");
      if (!a.clearing_system.empty()) {
        open("ClrSysId");
        leaf("Cd", a.clearing_system);
        close("ClrSysId");
      }
      leaf("MmbId", a.member_id);
      close("ClrSysMmbId");
    }
    close("FinInstnId");
    close(tag);
  }

  void opt_agent(std::string_view tag, const std::optional<Agent>& a) {
    if (a) agent(tag, *a);
  }

  void account(std::string_view tag, const Account& a) {
    open(tag);
    open("Id");
    if (a.is_iban) {
      leaf("IBAN", a.id);
    } else {
      open("Othr");
      leaf("Id", a.id);
      close("Othr");
    }
    close("Id");
    close(tag);
  }

  std::string finish(const MessageInfo& mi) {
    close(mi.root);
    out_ += "</Document>\n";
    return std::move(out_);
  }

 private:
  void indent() { out_.append(static_cast<size_t>(depth_) * 2, ' '); }

  // Text content: & < > escaped; CR as a character reference so that it
  // survives the parser's line-end normalisation.
  void escape(std::string_view s) {
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const char* rep = nullptr;
      switch (s[i]) {
        case '&':
          rep = "&amp;";
          break;
        case '<':
          rep = "&lt;";
          break;
        case '>':
          rep = "&gt;";
          break;
        case '\r':
          rep = "&#13;";
          break;
        default:
          continue;
      }
      out_.append(s.data() + start, i - start);
      out_ += rep;
      start = i + 1;
    }
    out_.append(s.data() + start, s.size() - start);
  }

  std::string out_;
  int depth_ = 0;
};

void write_group_header(Writer& w, const std::string& msg_id, const std::string& cre_dt_tm,
                        SettlementMethod method) {
  w.open("GrpHdr");
  w.leaf("MsgId", msg_id);
  w.leaf("CreDtTm", cre_dt_tm);
  w.leaf("NbOfTxs", "1");
  w.open("SttlmInf");
  w.leaf("SttlmMtd", to_string(method));
  w.close("SttlmInf");
  w.close("GrpHdr");
}

template <class M>
void write_payment_id_to_agents(Writer& w, const M& m) {
  w.open("PmtId");
  w.opt_leaf("InstrId", m.instr_id);
  w.leaf("EndToEndId", m.end_to_end_id);
  w.opt_leaf("TxId", m.tx_id);
  w.opt_leaf("UETR", m.uetr);
  w.close("PmtId");
  w.amount("IntrBkSttlmAmt", m.amount);
  w.opt_leaf("IntrBkSttlmDt", m.settlement_date);
}

void write_remittance(Writer& w, const std::string& ustrd) {
  if (ustrd.empty()) return;
  w.open("RmtInf");
  w.leaf("Ustrd", ustrd);
  w.close("RmtInf");
}

void write_status_header(Writer& w, const std::string& msg_id, const std::string& cre_dt_tm,
                         const std::optional<Agent>& instg, const std::optional<Agent>& instd) {
  w.open("GrpHdr");
  w.leaf("MsgId", msg_id);
  w.leaf("CreDtTm", cre_dt_tm);
  w.opt_agent("InstgAgt", instg);
  w.opt_agent("InstdAgt", instd);
  w.close("GrpHdr");
}

void write_original_group(Writer& w, const char* tag, const std::string& msg_id,
                          const std::string& name_id) {
  w.open(tag);
  w.leaf("OrgnlMsgId", msg_id);
  w.leaf("OrgnlMsgNmId", name_id);
  w.close(tag);
}

template <class M>
void write_original_tx_ids(Writer& w, const M& m) {
  w.opt_leaf("OrgnlInstrId", m.original_instr_id);
  w.leaf("OrgnlEndToEndId", m.original_end_to_end_id);
  w.opt_leaf("OrgnlTxId", m.original_tx_id);
  w.opt_leaf("OrgnlUETR", m.original_uetr);
}

// The head both status messages (pacs.028, pacs.002) share: the header,
// the original group (`group_tag`, beside the transaction; inside it, as
// OrgnlGrpInf, under CBPR+), then the transaction element `tx_tag` opened
// with the original ids. The caller adds its own fields and closes `tx_tag`.
template <class M>
void open_status_tx(Writer& w, const M& m, Profile profile, const char* group_tag,
                    const char* tx_tag) {
  write_status_header(w, m.msg_id, m.creation_date_time, m.instructing_agent, m.instructed_agent);
  const bool group_in_tx = profile == Profile::cbpr_plus;
  if (!group_in_tx) write_original_group(w, group_tag, m.original_msg_id, m.original_msg_name_id);
  w.open(tx_tag);
  if (group_in_tx)
    write_original_group(w, "OrgnlGrpInf", m.original_msg_id, m.original_msg_name_id);
  write_original_tx_ids(w, m);
}

// ---------------------------------------------------------------------------
// Reader: walks a parsed document. The first problem sticks; later calls
// then return nothing, so decoders read straight through and check once.

std::string_view name_of(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }

std::string_view ns_of(const xmlNode* n) {
  return (n->ns != nullptr && n->ns->href != nullptr)
             ? std::string_view(reinterpret_cast<const char*>(n->ns->href))
             : std::string_view();
}

class Reader {
 public:
  Reader(const xmlNode* message, std::string_view ns) : message_(message), ns_(ns) {}

  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }

  void fail(const std::string& path, const std::string& what, const char* code = "FF01") {
    if (!error_) error_ = Error{code, path + ": " + what};
  }
  void fail(Check e) {
    if (!error_ && e) error_ = std::move(e);
  }

  // The path of `n` relative to the message element ("CdtTrfTxInf/PmtId").
  std::string path(const xmlNode* n) const {
    std::string out;
    for (; n != nullptr && n != message_ && n->type == XML_ELEMENT_NODE; n = n->parent) {
      std::string seg(name_of(n));
      out = out.empty() ? seg : seg + "/" + out;
    }
    return out;
  }

  std::string child_path(const xmlNode* parent, std::string_view name) const {
    std::string p = path(parent);
    return p.empty() ? std::string(name) : p + "/" + std::string(name);
  }

  // Number of element children of `parent` named `name` (in the message
  // namespace). Fails on a child element in another namespace.
  size_t count(const xmlNode* parent, std::string_view name) {
    if (failed() || parent == nullptr) return 0;
    size_t n = 0;
    for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (ns_of(c) != ns_) {
        fail(child_path(parent, name_of(c)),
             "element in namespace " + quoted(ns_of(c)) + " (expected " + quoted(ns_) + ")");
        return 0;
      }
      if (name_of(c) == name) ++n;
    }
    return n;
  }

  // The child element `name`, or null if absent. Fails if there are several.
  const xmlNode* opt(const xmlNode* parent, std::string_view name) {
    size_t n = count(parent, name);
    if (n == 0) return nullptr;
    if (n > 1) {
      fail(child_path(parent, name), std::to_string(n) + " occurrences (this codec reads one)");
      return nullptr;
    }
    for (const xmlNode* c = parent->children; c != nullptr; c = c->next)
      if (c->type == XML_ELEMENT_NODE && name_of(c) == name) return c;
    return nullptr;
  }

  // The child element `name`. Fails if absent or repeated.
  const xmlNode* req(const xmlNode* parent, std::string_view name) {
    if (failed() || parent == nullptr) return nullptr;
    const xmlNode* c = opt(parent, name);
    if (c == nullptr && !failed()) fail(child_path(parent, name), "missing");
    return c;
  }

  // The text content of a simple element. Fails if it is empty or has
  // element children.
  std::string text(const xmlNode* n) {
    if (failed() || n == nullptr) return {};
    std::string out;
    for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
      if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
        if (c->content != nullptr) out += reinterpret_cast<const char*>(c->content);
      } else if (c->type == XML_ELEMENT_NODE) {
        fail(path(n), "unexpected element " + quoted(name_of(c)) + " in a text field");
        return {};
      }
    }
    if (out.empty()) fail(path(n), "empty");
    return out;
  }

  // As text(), with leading and trailing XML white space removed (for the
  // types whose schema white-space facet is "collapse": dates, decimals).
  std::string collapsed(const xmlNode* n) {
    std::string s = text(n);
    size_t b = 0, e = s.size();
    while (b < e && is_xml_space(s[b])) ++b;
    while (e > b && is_xml_space(s[e - 1])) --e;
    if (b == e && !failed()) fail(path(n), "empty");
    return s.substr(b, e - b);
  }

  std::string opt_text(const xmlNode* parent, std::string_view name) {
    return text(opt(parent, name));
  }
  std::string req_text(const xmlNode* parent, std::string_view name) {
    return text(req(parent, name));
  }

  std::optional<Agent> agent(const xmlNode* parent, std::string_view name, bool required) {
    const xmlNode* n = required ? req(parent, name) : opt(parent, name);
    if (n == nullptr) return std::nullopt;
    Agent a;
    const xmlNode* fin = req(n, "FinInstnId");
    a.bic = opt_text(fin, "BICFI");
    if (const xmlNode* mmb = opt(fin, "ClrSysMmbId")) {
      if (const xmlNode* sys = opt(mmb, "ClrSysId")) {
        if (opt(sys, "Prtry") != nullptr) fail(path(sys) + "/Prtry", "not supported (only Cd)");
        a.clearing_system = req_text(sys, "Cd");
      }
      a.member_id = req_text(mmb, "MmbId");
    }
    if (failed()) return std::nullopt;
    return a;
  }

  Account account(const xmlNode* parent, std::string_view name) {
    Account a;
    const xmlNode* id = req(req(parent, name), "Id");
    const xmlNode* iban = opt(id, "IBAN");
    const xmlNode* othr = opt(id, "Othr");
    if (failed()) return a;
    if (iban != nullptr && othr != nullptr) {
      fail(path(id), "both IBAN and Othr (a choice of one)");
    } else if (iban != nullptr) {
      a.is_iban = true;
      a.id = text(iban);
    } else if (othr != nullptr) {
      a.id = req_text(othr, "Id");
    } else {
      fail(path(id), "IBAN or Othr/Id required");
    }
    return a;
  }

  // An amount with its Ccy attribute, with the currency's decimals.
  Money amount(const xmlNode* n, Profile profile) {
    Money m;
    if (failed() || n == nullptr) return m;
    const std::string p = path(n);
    xmlChar* ccy = xmlGetNoNsProp(n, reinterpret_cast<const xmlChar*>("Ccy"));
    if (ccy == nullptr) {
      fail(p + "/@Ccy", "missing");
      return m;
    }
    m.currency = reinterpret_cast<const char*>(ccy);
    xmlFree(ccy);
    if (auto e = check_currency(p, m.currency, profile)) {
      fail(std::move(e));
      return m;
    }
    int decimals = *currency_decimals(m.currency);
    std::string t = collapsed(n);
    if (failed()) return m;
    size_t dot = t.find('.');
    std::string_view whole = std::string_view(t).substr(0, dot);
    std::string_view frac =
        dot == std::string::npos ? std::string_view() : std::string_view(t).substr(dot + 1);
    if (whole.empty() || !all_digits(whole) || !all_digits(frac) ||
        (dot != std::string::npos && frac.empty())) {
      fail(p, quoted(t) + " is not a decimal amount");
      return m;
    }
    if (frac.size() > static_cast<size_t>(decimals)) {
      fail(p, std::to_string(frac.size()) + " decimals for " + m.currency + " (at most " +
                  std::to_string(decimals) + ")");
      return m;
    }
    auto minor = parse_decimal(t, decimals);
    if (!minor || *minor > kMaxAmountMinor) {
      fail(p, quoted(t) + ": more than 18 digits");
      return m;
    }
    m.amount_minor = *minor;
    return m;
  }

 private:
  const xmlNode* message_;
  std::string_view ns_;
  std::optional<Error> error_;
};

// Parses `xml` and finds the message element of type `t` under Document.
struct Parsed {
  xsd::DocPtr doc;
  const xmlNode* message = nullptr;
};

Result<Parsed> open_message(std::string_view xml, MessageType t, const xsd::ParseLimits& limits) {
  auto doc = xsd::parse_untrusted(xml, limits);
  if (!doc) return doc.error();
  const MessageInfo& mi = info(t);
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  if (name_of(root) != "Document")
    return Error{"FF01", "root element " + quoted(name_of(root)) + " (expected Document)"};
  if (ns_of(root) != mi.ns)
    return Error{"FF01", "Document: namespace " + quoted(ns_of(root)) + " is not " + mi.name_id +
                             " (expected " + quoted(mi.ns) + ")"};
  const xmlNode* message = nullptr;
  for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (message != nullptr) return Error{"FF01", "Document: more than one message element"};
    message = c;
  }
  if (message == nullptr) return Error{"FF01", std::string("Document: missing ") + mi.root};
  if (name_of(message) != mi.root || ns_of(message) != mi.ns)
    return Error{"FF01",
                 "Document: " + quoted(name_of(message)) + " where " + mi.root + " was expected"};
  Parsed p;
  p.doc = std::move(doc.value());
  p.message = message;
  return p;
}

std::string enum_error(std::string_view what, const std::string& value, const std::string& known) {
  return "unknown " + std::string(what) + " " + quoted(value) + " (known: " + known + ")";
}

// The parts of pacs.008 and pacs.009 that are alike: the group header with
// its cross-checks, payment identification, amount, date, agents.
template <class M>
const xmlNode* read_transfer_common(Reader& r, const xmlNode* msg, M& m, Profile profile) {
  const xmlNode* grp = r.req(msg, "GrpHdr");
  m.msg_id = r.req_text(grp, "MsgId");
  m.creation_date_time = r.collapsed(r.req(grp, "CreDtTm"));
  std::string nb = r.req_text(grp, "NbOfTxs");
  size_t txs = r.count(msg, "CdtTrfTxInf");
  if (r.failed()) return nullptr;
  if (nb.size() > 15 || !all_digits(nb)) {
    r.fail("GrpHdr/NbOfTxs", quoted(nb) + " is not a number [0-9]{1,15}");
    return nullptr;
  }
  size_t first = nb.find_first_not_of('0');
  std::string nb_value = first == std::string::npos ? "0" : nb.substr(first);
  if (nb_value != std::to_string(txs)) {
    r.fail("GrpHdr/NbOfTxs",
           nb_value + " but the message has " + std::to_string(txs) + " CdtTrfTxInf");
    return nullptr;
  }
  if (txs != 1) {
    r.fail("CdtTrfTxInf", txs == 0 ? std::string("missing")
                                   : std::to_string(txs) + " transactions (exactly 1 supported)");
    return nullptr;
  }
  const xmlNode* tx = r.req(msg, "CdtTrfTxInf");

  std::string mtd = r.req_text(r.req(grp, "SttlmInf"), "SttlmMtd");
  if (r.failed()) return nullptr;
  auto method = settlement_method_from_string(mtd);
  if (!method) {
    r.fail("GrpHdr/SttlmInf/SttlmMtd",
           enum_error("settlement method", mtd, join(kSettlementMethod)));
    return nullptr;
  }
  m.settlement_method = *method;

  const xmlNode* pmt = r.req(tx, "PmtId");
  m.instr_id = r.opt_text(pmt, "InstrId");
  m.end_to_end_id = r.req_text(pmt, "EndToEndId");
  m.tx_id = r.opt_text(pmt, "TxId");
  m.uetr = r.opt_text(pmt, "UETR");
  m.amount = r.amount(r.req(tx, "IntrBkSttlmAmt"), profile);
  if (r.failed()) return nullptr;

  // Group-level totals, when given, must equal the one transaction.
  if (const xmlNode* total = r.opt(grp, "TtlIntrBkSttlmAmt")) {
    Money t = r.amount(total, profile);
    if (r.failed()) return nullptr;
    if (!(t == m.amount)) {
      int d = *currency_decimals(m.amount.currency);
      r.fail("GrpHdr/TtlIntrBkSttlmAmt",
             format_decimal(t.amount_minor, *currency_decimals(t.currency)) + " " + t.currency +
                 " but the transactions sum to " + format_decimal(m.amount.amount_minor, d) + " " +
                 m.amount.currency);
      return nullptr;
    }
  }
  if (const xmlNode* ctrl = r.opt(grp, "CtrlSum")) {
    std::string s = r.collapsed(ctrl);
    if (r.failed()) return nullptr;
    int d = *currency_decimals(m.amount.currency);
    auto v = parse_decimal(s, d);
    if (!v || *v != m.amount.amount_minor) {
      r.fail("GrpHdr/CtrlSum", quoted(s) + " but the transactions sum to " +
                                   format_decimal(m.amount.amount_minor, d));
      return nullptr;
    }
  }

  // Date and agents: transaction level, else group level; not both differing.
  const xmlNode* tx_date = r.opt(tx, "IntrBkSttlmDt");
  const xmlNode* grp_date = r.opt(grp, "IntrBkSttlmDt");
  std::string td = tx_date ? r.collapsed(tx_date) : std::string();
  std::string gd = grp_date ? r.collapsed(grp_date) : std::string();
  if (tx_date && grp_date && td != gd)
    r.fail("CdtTrfTxInf/IntrBkSttlmDt",
           quoted(td) + " differs from GrpHdr/IntrBkSttlmDt " + quoted(gd));
  m.settlement_date = tx_date ? td : gd;

  for (const char* name : {"InstgAgt", "InstdAgt"}) {
    auto at_tx = r.agent(tx, name, false);
    auto at_grp = r.agent(grp, name, false);
    if (at_tx && at_grp && !(*at_tx == *at_grp))
      r.fail(std::string("CdtTrfTxInf/") + name, std::string("differs from GrpHdr/") + name);
    auto& slot = std::string_view(name) == "InstgAgt" ? m.instructing_agent : m.instructed_agent;
    slot = at_tx ? at_tx : at_grp;
  }

  if (const xmlNode* rmt = r.opt(tx, "RmtInf")) {
    size_t n = r.count(rmt, "Ustrd");
    if (n > 1)
      r.fail(r.path(rmt) + "/Ustrd", std::to_string(n) + " occurrences (this codec reads one)");
    m.remittance = r.opt_text(rmt, "Ustrd");
  }
  return r.failed() ? nullptr : tx;
}

template <class M>
Result<M> finish(Reader& r, M m, Profile profile) {
  if (r.failed()) return r.error();
  if (auto e = check(m, profile)) return *e;
  return m;
}

// pacs.028 / pacs.002: original group information at the top level or in
// the transaction.
template <class M>
void read_original_group(Reader& r, const xmlNode* msg, const char* top_name, const xmlNode* tx,
                         M& m) {
  const xmlNode* top = r.opt(msg, top_name);
  const xmlNode* in_tx = r.opt(tx, "OrgnlGrpInf");
  if (r.failed()) return;
  if (top == nullptr && in_tx == nullptr) {
    r.fail(r.path(tx) + "/OrgnlGrpInf", std::string("missing (and no ") + top_name + ")");
    return;
  }
  std::string id, name_id;
  if (top != nullptr) {
    m.original_msg_id = r.req_text(top, "OrgnlMsgId");
    m.original_msg_name_id = r.req_text(top, "OrgnlMsgNmId");
  }
  if (in_tx != nullptr) {
    id = r.req_text(in_tx, "OrgnlMsgId");
    name_id = r.req_text(in_tx, "OrgnlMsgNmId");
    if (top != nullptr && (id != m.original_msg_id || name_id != m.original_msg_name_id))
      r.fail(r.path(in_tx), std::string("differs from ") + top_name);
    m.original_msg_id = id;
    m.original_msg_name_id = name_id;
  }
}

template <class M>
void read_status_header(Reader& r, const xmlNode* msg, M& m) {
  const xmlNode* grp = r.req(msg, "GrpHdr");
  m.msg_id = r.req_text(grp, "MsgId");
  m.creation_date_time = r.collapsed(r.req(grp, "CreDtTm"));
  m.instructing_agent = r.agent(grp, "InstgAgt", false);
  m.instructed_agent = r.agent(grp, "InstdAgt", false);
}

template <class M>
void read_original_tx_ids(Reader& r, const xmlNode* tx, M& m) {
  m.original_instr_id = r.opt_text(tx, "OrgnlInstrId");
  m.original_end_to_end_id = r.req_text(tx, "OrgnlEndToEndId");
  m.original_tx_id = r.opt_text(tx, "OrgnlTxId");
  m.original_uetr = r.opt_text(tx, "OrgnlUETR");
}

// Exactly one `name` under the message element.
const xmlNode* only_transaction(Reader& r, const xmlNode* msg, const char* name) {
  size_t n = r.count(msg, name);
  if (n > 1) r.fail(name, std::to_string(n) + " transactions (exactly 1 supported)");
  return r.req(msg, name);
}

// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
}

constexpr int64_t kSastOffsetMs = 2 * 3600 * 1000;
constexpr int64_t kDayMs = 86'400'000;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

// ---------------------------------------------------------------------------
// Public functions

std::string_view to_string(Profile p) {
  switch (p) {
    case Profile::samos:
      return "samos";
    case Profile::payshap:
      return "payshap";
    case Profile::cbpr_plus:
      return "cbpr_plus";
  }
  return "unknown";
}

std::string_view to_string(ChargeBearer c) { return kChargeBearer[static_cast<size_t>(c) % 4]; }
std::string_view to_string(SettlementMethod m) {
  return kSettlementMethod[static_cast<size_t>(m) % 4];
}
std::string_view to_string(TxStatus s) { return kTxStatus[static_cast<size_t>(s) % 7]; }

std::optional<ChargeBearer> charge_bearer_from_string(std::string_view s) {
  return lookup<ChargeBearer>(kChargeBearer, s);
}
std::optional<SettlementMethod> settlement_method_from_string(std::string_view s) {
  return lookup<SettlementMethod>(kSettlementMethod, s);
}
std::optional<TxStatus> tx_status_from_string(std::string_view s) {
  return lookup<TxStatus>(kTxStatus, s);
}

std::string_view message_name_id(MessageType t) { return info(t).name_id; }
std::string_view namespace_uri(MessageType t) { return info(t).ns; }

bool operator==(const Agent& a, const Agent& b) {
  return a.bic == b.bic && a.clearing_system == b.clearing_system && a.member_id == b.member_id;
}
bool operator==(const Account& a, const Account& b) {
  return a.id == b.id && a.is_iban == b.is_iban;
}
bool operator==(const CreditTransfer& a, const CreditTransfer& b) {
  return a.msg_id == b.msg_id && a.creation_date_time == b.creation_date_time &&
         a.settlement_method == b.settlement_method && a.settlement_date == b.settlement_date &&
         a.instr_id == b.instr_id && a.end_to_end_id == b.end_to_end_id && a.tx_id == b.tx_id &&
         a.uetr == b.uetr && a.amount == b.amount && a.charge_bearer == b.charge_bearer &&
         a.instructing_agent == b.instructing_agent && a.instructed_agent == b.instructed_agent &&
         a.debtor_name == b.debtor_name && a.debtor_account == b.debtor_account &&
         a.debtor_agent == b.debtor_agent && a.creditor_agent == b.creditor_agent &&
         a.creditor_name == b.creditor_name && a.creditor_account == b.creditor_account &&
         a.remittance == b.remittance;
}
bool operator==(const FiCreditTransfer& a, const FiCreditTransfer& b) {
  return a.msg_id == b.msg_id && a.creation_date_time == b.creation_date_time &&
         a.settlement_method == b.settlement_method && a.settlement_date == b.settlement_date &&
         a.instr_id == b.instr_id && a.end_to_end_id == b.end_to_end_id && a.tx_id == b.tx_id &&
         a.uetr == b.uetr && a.amount == b.amount && a.instructing_agent == b.instructing_agent &&
         a.instructed_agent == b.instructed_agent && a.debtor == b.debtor &&
         a.debtor_agent == b.debtor_agent && a.creditor_agent == b.creditor_agent &&
         a.creditor == b.creditor && a.remittance == b.remittance;
}
bool operator==(const StatusRequest& a, const StatusRequest& b) {
  return a.msg_id == b.msg_id && a.creation_date_time == b.creation_date_time &&
         a.instructing_agent == b.instructing_agent && a.instructed_agent == b.instructed_agent &&
         a.original_msg_id == b.original_msg_id &&
         a.original_msg_name_id == b.original_msg_name_id &&
         a.original_instr_id == b.original_instr_id &&
         a.original_end_to_end_id == b.original_end_to_end_id &&
         a.original_tx_id == b.original_tx_id && a.original_uetr == b.original_uetr;
}
bool operator==(const StatusReport& a, const StatusReport& b) {
  return a.msg_id == b.msg_id && a.creation_date_time == b.creation_date_time &&
         a.instructing_agent == b.instructing_agent && a.instructed_agent == b.instructed_agent &&
         a.original_msg_id == b.original_msg_id &&
         a.original_msg_name_id == b.original_msg_name_id &&
         a.original_instr_id == b.original_instr_id &&
         a.original_end_to_end_id == b.original_end_to_end_id &&
         a.original_tx_id == b.original_tx_id && a.original_uetr == b.original_uetr &&
         a.status == b.status && a.reason_code == b.reason_code &&
         a.additional_info == b.additional_info;
}

std::string format_sast_date_time(int64_t epoch_ms) {
  int64_t local = epoch_ms + kSastOffsetMs;
  int64_t days = floor_div(local, kDayMs);
  int64_t ms_of_day = local - days * kDayMs;
  int64_t y;
  unsigned mo, d;
  civil_from_days(days, y, mo, d);
  auto sec = ms_of_day / 1000;
  auto ms = ms_of_day % 1000;
  char buf[64];
  if (ms == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld+02:00",
                  static_cast<long long>(y), mo, d, static_cast<long long>(sec / 3600),
                  static_cast<long long>(sec / 60 % 60), static_cast<long long>(sec % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lld+02:00",
                  static_cast<long long>(y), mo, d, static_cast<long long>(sec / 3600),
                  static_cast<long long>(sec / 60 % 60), static_cast<long long>(sec % 60),
                  static_cast<long long>(ms));
  }
  return buf;
}

std::string format_sast_date(int64_t epoch_ms) {
  return format_sast_date_time(epoch_ms).substr(0, 10);
}

Result<std::string> encode(const CreditTransfer& m, Profile profile) {
  if (auto e = check(m, profile)) return *e;
  const MessageInfo& mi = info(MessageType::pacs008);
  Writer w(mi);
  write_group_header(w, m.msg_id, m.creation_date_time, m.settlement_method);
  w.open("CdtTrfTxInf");
  write_payment_id_to_agents(w, m);
  w.leaf("ChrgBr", to_string(m.charge_bearer));
  w.opt_agent("InstgAgt", m.instructing_agent);
  w.opt_agent("InstdAgt", m.instructed_agent);
  w.open("Dbtr");
  w.leaf("Nm", m.debtor_name);
  w.close("Dbtr");
  w.account("DbtrAcct", m.debtor_account);
  w.agent("DbtrAgt", m.debtor_agent);
  w.agent("CdtrAgt", m.creditor_agent);
  w.open("Cdtr");
  w.leaf("Nm", m.creditor_name);
  w.close("Cdtr");
  w.account("CdtrAcct", m.creditor_account);
  write_remittance(w, m.remittance);
  w.close("CdtTrfTxInf");
  return w.finish(mi);
}

Result<std::string> encode(const FiCreditTransfer& m, Profile profile) {
  if (auto e = check(m, profile)) return *e;
  const MessageInfo& mi = info(MessageType::pacs009);
  Writer w(mi);
  write_group_header(w, m.msg_id, m.creation_date_time, m.settlement_method);
  w.open("CdtTrfTxInf");
  write_payment_id_to_agents(w, m);
  w.opt_agent("InstgAgt", m.instructing_agent);
  w.opt_agent("InstdAgt", m.instructed_agent);
  w.agent("Dbtr", m.debtor);
  w.opt_agent("DbtrAgt", m.debtor_agent);
  w.opt_agent("CdtrAgt", m.creditor_agent);
  w.agent("Cdtr", m.creditor);
  write_remittance(w, m.remittance);
  w.close("CdtTrfTxInf");
  return w.finish(mi);
}

Result<std::string> encode(const StatusRequest& m, Profile profile) {
  if (auto e = check(m, profile)) return *e;
  const MessageInfo& mi = info(MessageType::pacs028);
  Writer w(mi);
  open_status_tx(w, m, profile, "OrgnlGrpInf", "TxInf");
  w.close("TxInf");
  return w.finish(mi);
}

Result<std::string> encode(const StatusReport& m, Profile profile) {
  if (auto e = check(m, profile)) return *e;
  const MessageInfo& mi = info(MessageType::pacs002);
  Writer w(mi);
  open_status_tx(w, m, profile, "OrgnlGrpInfAndSts", "TxInfAndSts");
  w.leaf("TxSts", to_string(m.status));
  if (!m.reason_code.empty() || !m.additional_info.empty()) {
    w.open("StsRsnInf");
    if (!m.reason_code.empty()) {
      w.open("Rsn");
      w.leaf("Cd", m.reason_code);
      w.close("Rsn");
    }
    w.opt_leaf("AddtlInf", m.additional_info);
    w.close("StsRsnInf");
  }
  w.close("TxInfAndSts");
  return w.finish(mi);
}

Result<CreditTransfer> decode_credit_transfer(std::string_view xml, Profile profile,
                                              const xsd::ParseLimits& limits) {
  auto parsed = open_message(xml, MessageType::pacs008, limits);
  if (!parsed) return parsed.error();
  const xmlNode* msg = parsed->message;
  Reader r(msg, info(MessageType::pacs008).ns);
  CreditTransfer m;
  const xmlNode* tx = read_transfer_common(r, msg, m, profile);
  std::string chrg = r.req_text(tx, "ChrgBr");
  if (!r.failed()) {
    auto cb = charge_bearer_from_string(chrg);
    if (!cb)
      r.fail("CdtTrfTxInf/ChrgBr", enum_error("charge bearer", chrg, join(kChargeBearer)));
    else
      m.charge_bearer = *cb;
  }
  m.debtor_name = r.opt_text(r.req(tx, "Dbtr"), "Nm");
  m.debtor_account = r.account(tx, "DbtrAcct");
  if (auto a = r.agent(tx, "DbtrAgt", true)) m.debtor_agent = *a;
  if (auto a = r.agent(tx, "CdtrAgt", true)) m.creditor_agent = *a;
  m.creditor_name = r.opt_text(r.req(tx, "Cdtr"), "Nm");
  m.creditor_account = r.account(tx, "CdtrAcct");
  return finish(r, std::move(m), profile);
}

Result<FiCreditTransfer> decode_fi_credit_transfer(std::string_view xml, Profile profile,
                                                   const xsd::ParseLimits& limits) {
  auto parsed = open_message(xml, MessageType::pacs009, limits);
  if (!parsed) return parsed.error();
  const xmlNode* msg = parsed->message;
  Reader r(msg, info(MessageType::pacs009).ns);
  FiCreditTransfer m;
  const xmlNode* tx = read_transfer_common(r, msg, m, profile);
  if (auto a = r.agent(tx, "Dbtr", true)) m.debtor = *a;
  m.debtor_agent = r.agent(tx, "DbtrAgt", false);
  m.creditor_agent = r.agent(tx, "CdtrAgt", false);
  if (auto a = r.agent(tx, "Cdtr", true)) m.creditor = *a;
  return finish(r, std::move(m), profile);
}

Result<StatusRequest> decode_status_request(std::string_view xml, Profile profile,
                                            const xsd::ParseLimits& limits) {
  auto parsed = open_message(xml, MessageType::pacs028, limits);
  if (!parsed) return parsed.error();
  const xmlNode* msg = parsed->message;
  Reader r(msg, info(MessageType::pacs028).ns);
  StatusRequest m;
  read_status_header(r, msg, m);
  if (r.count(msg, "OrgnlGrpInf") > 1)
    r.fail("OrgnlGrpInf", "more than one (this codec reads one)");
  const xmlNode* tx = only_transaction(r, msg, "TxInf");
  read_original_group(r, msg, "OrgnlGrpInf", tx, m);
  read_original_tx_ids(r, tx, m);
  return finish(r, std::move(m), profile);
}

Result<StatusReport> decode_status_report(std::string_view xml, Profile profile,
                                          const xsd::ParseLimits& limits) {
  auto parsed = open_message(xml, MessageType::pacs002, limits);
  if (!parsed) return parsed.error();
  const xmlNode* msg = parsed->message;
  Reader r(msg, info(MessageType::pacs002).ns);
  StatusReport m;
  read_status_header(r, msg, m);
  if (r.count(msg, "OrgnlGrpInfAndSts") > 1)
    r.fail("OrgnlGrpInfAndSts", "more than one (this codec reads one)");
  const xmlNode* tx = only_transaction(r, msg, "TxInfAndSts");
  read_original_group(r, msg, "OrgnlGrpInfAndSts", tx, m);
  read_original_tx_ids(r, tx, m);
  std::string sts = r.req_text(tx, "TxSts");
  if (!r.failed()) {
    auto s = tx_status_from_string(sts);
    if (!s)
      r.fail("TxInfAndSts/TxSts", enum_error("status", sts, join(kTxStatus)));
    else
      m.status = *s;
  }
  if (const xmlNode* rsn_inf = r.opt(tx, "StsRsnInf")) {
    if (const xmlNode* rsn = r.opt(rsn_inf, "Rsn")) {
      if (r.opt(rsn, "Prtry") != nullptr)
        r.fail("TxInfAndSts/StsRsnInf/Rsn/Prtry", "not supported (only Cd)");
      m.reason_code = r.req_text(rsn, "Cd");
    }
    m.additional_info = r.opt_text(rsn_inf, "AddtlInf");
  }
  return finish(r, std::move(m), profile);
}

Result<MessageType> peek_message_type(std::string_view xml, const xsd::ParseLimits& limits) {
  auto doc = xsd::parse_untrusted(xml, limits);
  if (!doc) return doc.error();
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  if (name_of(root) != "Document")
    return Error{"FF01", "root element " + quoted(name_of(root)) + " (expected Document)"};
  for (size_t i = 0; i < std::size(kMessages); ++i)
    if (ns_of(root) == kMessages[i].ns) return static_cast<MessageType>(i);
  return Error{"FF01", "Document: namespace " + quoted(ns_of(root)) +
                           " is none of pacs.008.001.08, pacs.009.001.08, pacs.028.001.03, "
                           "pacs.002.001.10"};
}

}  // namespace payengine::clearing::iso20022
