#define BOOST_TEST_MODULE mt103
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "clearing/mt103.hpp"

using namespace payengine;
using namespace payengine::clearing::mt;

namespace {

std::string read_golden(const std::string& name) {
  auto path = std::filesystem::path(__FILE__).parent_path() / "golden" / "mt103" / name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open golden file " + path.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

template <class T>
std::string describe(const Result<T>& r) {
  return r.ok() ? std::string("ok") : r.error().code + ": " + r.error().message;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// `s` with the one occurrence of `from` replaced by `to`; throws when
// `from` is not there exactly once (a test that changes nothing proves nothing).
std::string replace_once(std::string s, std::string_view from, std::string_view to) {
  size_t at = s.find(from);
  if (at == std::string::npos || s.find(from, at + 1) != std::string::npos)
    throw std::logic_error("test text must contain exactly one \"" + std::string(from) + "\"");
  return s.replace(at, from.size(), to);
}

// ---- the messages in the golden files, written out field by field

// mt103_with_70.fin: EUR 1,234.56 from a South African customer to a German IBAN.
Mt103 golden_with_70() {
  Mt103 m;
  m.sender_lt = "BANKZAJJAXXX";
  m.session_number = 123;
  m.sequence_number = 456789;
  m.receiver_bic = "BANKDEFFXXX";
  m.priority = 'N';
  m.mur = "PAY0001";
  m.uetr = "eb6305c9-1f7f-49de-aed0-16487c27b42d";
  m.reference = "PAY-2026-000042";
  m.bank_operation = BankOperation::cred;
  m.value_date = FinDate{2026, 11, 27};
  m.amount = Money{123'456, "EUR"};
  m.ordering_customer =
      Party{"1234567890", {"THANDI NKOSI", "12 LOOP STREET", "CAPE TOWN 8001", "SOUTH AFRICA"}};
  m.beneficiary =
      Party{"DE89370400440532013000", {"ERIKA MUSTERMANN", "MUSTERSTRASSE 1", "10115 BERLIN"}};
  m.remittance = {"/INV/2026-114", "ORDER 7781 (PART 2)"};
  m.charges = Charges::sha;
  return m;
}

// mt103_without_70.fin: JPY 1,500,000, urgent, to a branch BIC, no MUR, no 70.
Mt103 golden_without_70() {
  Mt103 m;
  m.sender_lt = "BANKZAJJAXXX";
  m.session_number = 123;
  m.sequence_number = 456790;
  m.receiver_bic = "BANKJPJTOSA";
  m.priority = 'U';
  m.uetr = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b";
  m.reference = "PAY-2026-000043";
  m.bank_operation = BankOperation::spri;
  m.value_date = FinDate{2026, 11, 30};
  m.amount = Money{1'500'000, "JPY"};
  m.ordering_customer = Party{"", {"THANDI NKOSI", "CAPE TOWN"}};
  m.beneficiary = Party{"0012345678", {"YAMADA TARO", "TOKYO"}};
  m.charges = Charges::our;
  return m;
}

FinAck golden_ack() {
  FinAck a;
  a.lt_address = "BANKZAJJAXXX";
  a.session_number = 123;
  a.sequence_number = 456789;
  a.date = FinDate{2026, 11, 27};
  a.time = FinTime{14, 32};
  a.accepted = true;
  a.mur = "PAY0001";
  return a;
}

FinAck golden_nak() {
  FinAck a;
  a.lt_address = "BANKZAJJAXXX";
  a.session_number = 123;
  a.sequence_number = 456790;
  a.date = FinDate{2026, 11, 27};
  a.time = FinTime{14, 33};
  a.accepted = false;
  a.error_code = "T52";
  a.error_line = 3;
  return a;
}

// mt199_acsc.fin: output form, as FIN delivers it to us, with a trailer.
Mt199Status golden_acsc() {
  Mt199Status s;
  s.lt_address = "BANKZAJJAXXX";
  s.session_number = 42;
  s.sequence_number = 117;
  s.priority = 'N';
  FinOutputHeader h;
  h.input_time = FinTime{14, 35};
  h.input_date = FinDate{2026, 11, 27};
  h.sender_lt = "BANKDEFFAXXX";
  h.input_session = 1234;
  h.input_sequence = 654321;
  h.output_date = FinDate{2026, 11, 27};
  h.output_time = FinTime{14, 36};
  s.output = h;
  s.uetr = "eb6305c9-1f7f-49de-aed0-16487c27b42d";
  s.reference = "DEFF261127A1";
  s.related_reference = "PAY-2026-000042";
  s.status_date = FinDate{2026, 11, 27};
  s.status_time = FinTime{14, 34};
  s.utc_offset_minutes = 60;
  s.status = GpiStatus::acsc;
  s.more_lines = {"//EUR1234,56"};
  s.trailer = "{5:{CHK:3A1B5C7D9E0F}}";
  return s;
}

// mt199_rjct.fin: input form, as the counterparty sends it.
Mt199Status golden_rjct() {
  Mt199Status s;
  s.lt_address = "BANKJPJTAOSA";
  s.session_number = 7;
  s.sequence_number = 31;
  s.priority = 'N';
  s.receiver_bic = "BANKZAJJXXX";
  s.uetr = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b";
  s.reference = "JPJT261130R9";
  s.related_reference = "PAY-2026-000043";
  s.status_date = FinDate{2026, 11, 30};
  s.status_time = FinTime{10, 12};
  s.utc_offset_minutes = 9 * 60;
  s.status = GpiStatus::rjct;
  s.reason = "AC01";
  return s;
}

// The error codes the header promises; anything else is a bug.
const std::set<std::string>& documented_codes() {
  static const std::set<std::string> codes = {"T13", "T26", "T27",  "T34",  "T36",      "T08",
                                              "T50", "T52", "T40",  "T43",  "C03",      "U00",
                                              "U02", "M50", "AM01", "AM12", "MT_FORMAT"};
  return codes;
}

}  // namespace

// ---------------------------------------------------------------- golden

BOOST_AUTO_TEST_CASE(golden_mt103_with_remittance_encodes_and_decodes_byte_for_byte) {
  const std::string golden = read_golden("mt103_with_70.fin");
  auto encoded = encode_mt103(golden_with_70());
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(*encoded == golden);

  auto decoded = decode_mt103(golden);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), describe(decoded));
  BOOST_TEST((*decoded == golden_with_70()));
  BOOST_TEST(decoded->amount.amount_minor == 123'456);
  BOOST_TEST(decoded->amount.currency == "EUR");
  BOOST_TEST(decoded->beneficiary.account == "DE89370400440532013000");
  BOOST_TEST(decoded->ordering_customer.lines.size() == 4u);
  BOOST_TEST(decoded->remittance.size() == 2u);
  BOOST_TEST(decoded->uetr == "eb6305c9-1f7f-49de-aed0-16487c27b42d");
  BOOST_TEST(decoded->mur == "PAY0001");
}

BOOST_AUTO_TEST_CASE(golden_mt103_without_remittance_encodes_and_decodes_byte_for_byte) {
  const std::string golden = read_golden("mt103_without_70.fin");
  auto encoded = encode_mt103(golden_without_70());
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(*encoded == golden);
  BOOST_TEST(!contains(*encoded, ":70:"));
  BOOST_TEST(!contains(*encoded, "{108:"));

  auto decoded = decode_mt103(golden);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), describe(decoded));
  BOOST_TEST((*decoded == golden_without_70()));
  BOOST_TEST(decoded->receiver_bic == "BANKJPJTOSA");
  BOOST_TEST(decoded->priority == 'U');
  BOOST_TEST(decoded->amount.amount_minor == 1'500'000);
  BOOST_TEST(decoded->remittance.empty());
  BOOST_TEST(decoded->ordering_customer.account.empty());
}

BOOST_AUTO_TEST_CASE(golden_ack_and_nak) {
  const std::string ack = read_golden("ack.fin");
  auto encoded = encode_fin_ack(golden_ack());
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(*encoded == ack);
  auto decoded = decode_fin_ack(ack);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), describe(decoded));
  BOOST_TEST((*decoded == golden_ack()));
  BOOST_TEST(decoded->accepted);
  BOOST_TEST(decoded->sequence_number == 456789u);

  const std::string nak = read_golden("nak.fin");
  encoded = encode_fin_ack(golden_nak());
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(*encoded == nak);
  decoded = decode_fin_ack(nak);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), describe(decoded));
  BOOST_TEST((*decoded == golden_nak()));
  BOOST_TEST(!decoded->accepted);
  BOOST_TEST(decoded->error_code == "T52");
  BOOST_TEST(decoded->error_line.value_or(0) == 3);
}

BOOST_AUTO_TEST_CASE(golden_mt199_acsc_output_form_and_rjct_input_form) {
  const std::string acsc = read_golden("mt199_acsc.fin");
  auto encoded = encode_mt199(golden_acsc());
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(*encoded == acsc);
  auto decoded = decode_mt199(acsc);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), describe(decoded));
  BOOST_TEST((*decoded == golden_acsc()));
  BOOST_TEST((decoded->status == GpiStatus::acsc));
  BOOST_TEST(decoded->reason.empty());
  BOOST_TEST(decoded->related_reference == "PAY-2026-000042");
  BOOST_TEST(decoded->uetr == "eb6305c9-1f7f-49de-aed0-16487c27b42d");
  BOOST_REQUIRE(decoded->output.has_value());
  BOOST_TEST(decoded->output->sender_lt == "BANKDEFFAXXX");
  BOOST_TEST(decoded->output->input_sequence == 654321u);

  const std::string rjct = read_golden("mt199_rjct.fin");
  encoded = encode_mt199(golden_rjct());
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(*encoded == rjct);
  decoded = decode_mt199(rjct);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), describe(decoded));
  BOOST_TEST((*decoded == golden_rjct()));
  BOOST_TEST((decoded->status == GpiStatus::rjct));
  BOOST_TEST(decoded->reason == "AC01");
  BOOST_TEST(decoded->utc_offset_minutes == 540);
  BOOST_TEST(!decoded->output.has_value());
  BOOST_TEST(decoded->receiver_bic == "BANKZAJJXXX");
}

BOOST_AUTO_TEST_CASE(decoders_refuse_each_others_messages) {
  BOOST_TEST(decode_mt103(read_golden("mt199_rjct.fin")).error().message ==
             "block 2: message type 199, expected 103");
  BOOST_TEST(!decode_mt199(read_golden("mt103_with_70.fin")).ok());
  BOOST_TEST(!decode_fin_ack(read_golden("mt103_with_70.fin")).ok());
  BOOST_TEST(!decode_mt103(read_golden("ack.fin")).ok());
}

// ---------------------------------------------------------------- MT 103 rules

namespace {

struct EncodeCase {
  const char* name;
  std::function<void(Mt103&)> mutate;
  const char* code;
  const char* message_part;
};

const std::vector<EncodeCase>& encode_cases() {
  static const std::vector<EncodeCase> cases = {
      // X character set
      {"accented letter in 50K",
       [](Mt103& m) { m.ordering_customer.lines[0] = "THANDI NKOS\xC3\x89"; }, "T34",
       "block 4 field 50K line 2: character \\xC3 at position 12 is not in the SWIFT X character "
       "set"},
      {"ampersand in 70", [](Mt103& m) { m.remittance[0] = "A & B"; }, "T34",
       "block 4 field 70 line 1: character '&' at position 3"},
      {"CRLF inside field 20", [](Mt103& m) { m.reference = "PAY\r\n:71A:OUR"; }, "T34",
       "block 4 field 20: character \\x0D at position 4"},
      {"brace in 59", [](Mt103& m) { m.beneficiary.lines[2] = "BERLIN}"; }, "T34",
       "block 4 field 59 line 4: character '}'"},
      {"empty 70 line", [](Mt103& m) { m.remittance[1] = ""; }, "T34",
       "block 4 field 70 line 2 is empty"},
      {"line starting with ':'", [](Mt103& m) { m.remittance[1] = ":71A:OUR"; }, "T13",
       "block 4 field 70 line 2 starts with ':'"},
      {"line starting with '-'", [](Mt103& m) { m.beneficiary.lines[2] = "-X"; }, "T13",
       "block 4 field 59 line 4 starts with '-'"},
      // 35x lines, 4 lines
      {"36-char name line", [](Mt103& m) { m.beneficiary.lines[0] = std::string(36, 'A'); },
       "MT_FORMAT", "block 4 field 59 line 2 is 36 characters, at most 35"},
      {"35-char account", [](Mt103& m) { m.beneficiary.account = std::string(35, '1'); },
       "MT_FORMAT", "block 4 field 59 line 1 (account) is 36 characters, at most 35"},
      {"5 name lines in 50K", [](Mt103& m) { m.ordering_customer.lines.push_back("EXTRA"); },
       "MT_FORMAT", "block 4 field 50K has 5 name and address lines, at most 4"},
      {"5 lines in 70", [](Mt103& m) { m.remittance.assign(5, "X"); }, "MT_FORMAT",
       "block 4 field 70 has 5 lines, at most 4"},
      {"36-char 70 line", [](Mt103& m) { m.remittance[0] = std::string(36, 'R'); }, "MT_FORMAT",
       "block 4 field 70 line 1 is 36 characters, at most 35"},
      {"account only", [](Mt103& m) { m.ordering_customer.lines.clear(); }, "MT_FORMAT",
       "block 4 field 50K has an account but no name and address"},
      {"name starting with '/' and no account",
       [](Mt103& m) {
         m.ordering_customer = Party{"", {"/NOT AN ACCOUNT", "X"}};
       },
       "MT_FORMAT", "would read as the account line"},
      {"missing 50K", [](Mt103& m) { m.ordering_customer = Party{}; }, "T13",
       "block 4 field 50K (ordering customer) is missing"},
      {"missing 59", [](Mt103& m) { m.beneficiary = Party{}; }, "T13",
       "block 4 field 59 (beneficiary customer) is missing"},
      // field 20
      {"reference with //", [](Mt103& m) { m.reference = "PAY//42"; }, "T26",
       "must not contain \"//\""},
      {"reference starting with /", [](Mt103& m) { m.reference = "/PAY42"; }, "T26",
       "must not start or end with '/'"},
      {"reference ending with /", [](Mt103& m) { m.reference = "PAY42/"; }, "T26",
       "must not start or end with '/'"},
      {"reference 17 chars", [](Mt103& m) { m.reference = std::string(17, 'R'); }, "MT_FORMAT",
       "block 4 field 20 is 17 characters, at most 16"},
      {"reference empty", [](Mt103& m) { m.reference = ""; }, "T34", "block 4 field 20 is empty"},
      // BICs and header
      {"receiver BIC 7 chars", [](Mt103& m) { m.receiver_bic = "BANKDEF"; }, "T27",
       "block 2: receiver BIC \"BANKDEF\": must be 8 or 11 characters, got 7"},
      {"receiver BIC digit in bank code", [](Mt103& m) { m.receiver_bic = "BAN1DEFF"; }, "T27",
       "bank code (characters 1-4) must be letters A-Z"},
      {"receiver BIC lower case", [](Mt103& m) { m.receiver_bic = "bankdeff"; }, "T27",
       "bank code"},
      {"receiver BIC unknown country", [](Mt103& m) { m.receiver_bic = "BANKQQFF"; }, "T27",
       "country code QQ is not an ISO 3166 country"},
      {"receiver BIC bad branch", [](Mt103& m) { m.receiver_bic = "BANKDEFFX-X"; }, "T27",
       "branch code (characters 9-11)"},
      {"sender LT 11 chars", [](Mt103& m) { m.sender_lt = "BANKZAJJXXX"; }, "T27",
       "block 1: logical terminal address \"BANKZAJJXXX\": must be 12 characters"},
      {"sender LT bad terminal code", [](Mt103& m) { m.sender_lt = "BANKZAJJ1XXX"; }, "T27",
       "terminal code (character 9) must be a letter A-Z"},
      {"session too big", [](Mt103& m) { m.session_number = 10000; }, "MT_FORMAT",
       "block 1: session number 10000 is more than 4 digits"},
      {"sequence too big", [](Mt103& m) { m.sequence_number = 1'000'000; }, "MT_FORMAT",
       "block 1: sequence number 1000000 is more than 6 digits"},
      {"priority S", [](Mt103& m) { m.priority = 'S'; }, "MT_FORMAT",
       "block 2: priority 'S' must be 'N' or 'U'"},
      // block 3
      {"missing UETR", [](Mt103& m) { m.uetr = ""; }, "MT_FORMAT",
       "block 3: field {121:} (UETR) is missing; it is mandatory"},
      {"UETR upper case", [](Mt103& m) { m.uetr = "EB6305C9-1F7F-49DE-AED0-16487C27B42D"; },
       "MT_FORMAT", "is not a lower-case RFC 4122 version 4 UUID"},
      {"UETR version 1", [](Mt103& m) { m.uetr = "eb6305c9-1f7f-19de-aed0-16487c27b42d"; },
       "MT_FORMAT", "is not a lower-case RFC 4122 version 4 UUID"},
      {"UETR bad variant", [](Mt103& m) { m.uetr = "eb6305c9-1f7f-49de-ced0-16487c27b42d"; },
       "MT_FORMAT", "is not a lower-case RFC 4122 version 4 UUID"},
      {"MUR with brace", [](Mt103& m) { m.mur = "PAY{1}"; }, "U02",
       "block 3 {108:}: character '{'"},
      {"MUR 17 chars", [](Mt103& m) { m.mur = std::string(17, 'M'); }, "U02",
       "block 3 {108:} is 17 characters, at most 16"},
      // 23B, 32A, 71A
      {"unknown 23B", [](Mt103& m) { m.bank_operation = static_cast<BankOperation>(9); }, "T36",
       "block 4 field 23B: unknown bank operation code"},
      {"value date 30 February",
       [](Mt103& m) {
         m.value_date = FinDate{2026, 2, 30};
       },
       "T50", "block 4 field 32A: value date 2026-2-30 is not a valid date"},
      {"value date 2100",
       [](Mt103& m) {
         m.value_date = FinDate{2100, 1, 1};
       },
       "T50", "value date 2100-1-1"},
      {"unknown currency", [](Mt103& m) { m.amount.currency = "XYZ"; }, "T52",
       "block 4 field 32A: currency \"XYZ\" is not an active ISO 4217 code"},
      {"lower-case currency", [](Mt103& m) { m.amount.currency = "eur"; }, "T52",
       "currency \"eur\""},
      {"zero amount", [](Mt103& m) { m.amount.amount_minor = 0; }, "AM01",
       "block 4 field 32A: amount is zero"},
      {"negative amount", [](Mt103& m) { m.amount.amount_minor = -5; }, "AM12",
       "amount -5 is negative"},
      {"ZAR amount of 16 chars",
       [](Mt103& m) {
         m.amount = Money{123'456'789'012'345, "ZAR"};
       },
       "MT_FORMAT",
       "amount 1234567890123,45 is 16 characters, at most 15 including the decimal comma"},
      {"JPY amount of 16 chars",
       [](Mt103& m) {
         m.amount = Money{123'456'789'012'345, "JPY"};
       },
       "MT_FORMAT", "amount 123456789012345, is 16 characters"},
      {"BHD amount of 16 chars",
       [](Mt103& m) {
         m.amount = Money{123'456'789'012'345, "BHD"};
       },
       "MT_FORMAT", "amount 123456789012,345 is 16 characters"},
      {"unknown 71A", [](Mt103& m) { m.charges = static_cast<Charges>(7); }, "T08",
       "block 4 field 71A: unknown details of charges code"},
  };
  return cases;
}

struct DecodeCase {
  const char* name;
  std::function<std::string(std::string)> mutate;
  const char* code;
  const char* message_part;
};

constexpr std::string_view kUetrBlock =
    "{3:{108:PAY0001}{121:eb6305c9-1f7f-49de-aed0-16487c27b42d}}";

const std::vector<DecodeCase>& decode_cases() {
  using S = std::string;
  static const std::vector<DecodeCase> cases = {
      // X character set, lines
      {"underscore in 59",
       [](S s) { return replace_once(s, "ERIKA MUSTERMANN", "ERIKA_MUSTERMANN"); }, "T34",
       "block 4 field 59 line 2: character '_' at position 6 is not in the SWIFT X character set"},
      {"UTF-8 in 70", [](S s) { return replace_once(s, "(PART 2)", "(P\xC3\x84RT 2)"); }, "T34",
       "block 4 field 70 line 2: character \\xC3 at position 14"},
      {"bare LF", [](S s) { return replace_once(s, "THANDI NKOSI", "THANDI\nNKOSI"); }, "T34",
       "block 4 line 5: bare LF"},
      {"36-char line in 59",
       [](S s) {
         return replace_once(s, "MUSTERSTRASSE 1\r", "MUSTERSTRASSE 1 AND A VERY LONG NAME\r");
       },
       "MT_FORMAT", "block 4 field 59 line 3 is 36 characters, at most 35"},
      {"5 name lines in 50K",
       [](S s) { return replace_once(s, "SOUTH AFRICA\r\n", "SOUTH AFRICA\r\nEXTRA\r\n"); },
       "MT_FORMAT", "block 4 field 50K has 5 name and address lines, at most 4"},
      {"5 lines in 70",
       [](S s) { return replace_once(s, "(PART 2)\r\n", "(PART 2)\r\nA\r\nB\r\nC\r\n"); },
       "MT_FORMAT", "block 4 field 70 has 5 lines, at most 4"},
      {"line starting with '-'",
       [](S s) { return replace_once(s, "12 LOOP STREET", "-12 LOOP STREET"); }, "T13",
       "block 4 line 6: '-' (end of text) where a field line is expected"},
      // field 20
      {"reference with //",
       [](S s) { return replace_once(s, ":20:PAY-2026-000042", ":20:PAY//2026"); }, "T26",
       "block 4 field 20 \"PAY//2026\" must not contain \"//\""},
      {"reference ending with /",
       [](S s) { return replace_once(s, ":20:PAY-2026-000042", ":20:PAY-2026/"); }, "T26",
       "must not start or end with '/'"},
      {"reference 17 chars",
       [](S s) { return replace_once(s, ":20:PAY-2026-000042", ":20:PAY-2026-00004200"); },
       "MT_FORMAT", "block 4 field 20 is 17 characters, at most 16"},
      // 32A
      {"ZAR with 3 decimals", [](S s) { return replace_once(s, "EUR1234,56", "ZAR1234,567"); },
       "C03", "amount \"1234,567\" has 3 decimal digits, ZAR allows 2"},
      {"JPY with decimals", [](S s) { return replace_once(s, "EUR1234,56", "JPY1234,5"); }, "C03",
       "has 1 decimal digits, JPY allows 0"},
      {"BHD with 4 decimals", [](S s) { return replace_once(s, "EUR1234,56", "BHD1,2345"); }, "C03",
       "has 4 decimal digits, BHD allows 3"},
      {"ZAR not canonical", [](S s) { return replace_once(s, "EUR1234,56", "ZAR1234,5"); },
       "MT_FORMAT", "amount \"1234,5\" is not in canonical form \"1234,50\""},
      {"leading zero", [](S s) { return replace_once(s, "EUR1234,56", "EUR01234,56"); },
       "MT_FORMAT", "is not in canonical form \"1234,56\""},
      {"16-char amount", [](S s) { return replace_once(s, "EUR1234,56", "EUR1234567890123,45"); },
       "MT_FORMAT",
       "amount \"1234567890123,45\" is 16 characters, at most 15 including the decimal comma"},
      {"no decimal comma", [](S s) { return replace_once(s, "EUR1234,56", "EUR123456"); }, "T43",
       "has no decimal comma"},
      {"decimal point", [](S s) { return replace_once(s, "EUR1234,56", "EUR1234.56"); }, "T43",
       "may hold only digits and one decimal comma"},
      {"two commas", [](S s) { return replace_once(s, "EUR1234,56", "EUR1,234,56"); }, "T43",
       "has more than one decimal comma"},
      {"no integer part", [](S s) { return replace_once(s, "EUR1234,56", "EUR,56"); }, "T40",
       "has no integer part"},
      {"zero amount", [](S s) { return replace_once(s, "EUR1234,56", "EUR0,00"); }, "AM01",
       "amount is zero"},
      {"value date month 13", [](S s) { return replace_once(s, ":32A:261127", ":32A:261327"); },
       "T50", "block 4 field 32A: value date \"261327\" is not a valid YYMMDD date"},
      {"value date 29 Feb 2026", [](S s) { return replace_once(s, ":32A:261127", ":32A:260229"); },
       "T50", "\"260229\""},
      {"unknown currency", [](S s) { return replace_once(s, "EUR1234,56", "EUX1234,56"); }, "T52",
       "currency \"EUX\" is not an active ISO 4217 code"},
      {"32A too short",
       [](S s) { return replace_once(s, ":32A:261127EUR1234,56", ":32A:261127EUR"); }, "MT_FORMAT",
       "block 4 field 32A: \"261127EUR\" is too short"},
      {"32A on two lines",
       [](S s) { return replace_once(s, "EUR1234,56\r\n", "EUR1234,56\r\nX\r\n"); }, "MT_FORMAT",
       "block 4 field 32A has 2 lines, expected 1"},
      // BICs
      {"receiver BIC digit in bank code",
       [](S s) { return replace_once(s, "I103BANKDEFF", "I103BAN1DEFF"); }, "T27",
       "block 2: receiver BIC \"BAN1DEFFXXX\": bank code (characters 1-4) must be letters A-Z"},
      {"receiver terminal code not X",
       [](S s) { return replace_once(s, "I103BANKDEFFXXXXN", "I103BANKDEFFAXXXN"); }, "T27",
       "block 2: receiver address \"BANKDEFFAXXX\": character 9 (terminal code) must be 'X'"},
      {"sender unknown country", [](S s) { return replace_once(s, "F01BANKZAJJ", "F01BANKQQJJ"); },
       "T27",
       "block 1: logical terminal address \"BANKQQJJAXXX\": BIC \"BANKQQJJXXX\": country code QQ"},
      // block 3
      {"missing UETR", [](S s) { return replace_once(s, kUetrBlock, "{3:{108:PAY0001}}"); },
       "MT_FORMAT", "block 3: field {121:} (UETR) is missing; it is mandatory"},
      {"no block 3", [](S s) { return replace_once(s, kUetrBlock, ""); }, "MT_FORMAT",
       "block 3: expected \"{3:\" at offset 50, found \"{4:"},
      {"UETR upper case",
       [](S s) { return replace_once(s, "eb6305c9-1f7f-49de-aed0", "EB6305C9-1F7F-49DE-AED0"); },
       "MT_FORMAT",
       "block 3: {121:} \"EB6305C9-1F7F-49DE-AED0-16487c27b42d\" is not a lower-case RFC 4122 "
       "version 4 UUID"},
      {"UETR after 108 swapped",
       [](S s) {
         return replace_once(s, kUetrBlock,
                             "{3:{121:eb6305c9-1f7f-49de-aed0-16487c27b42d}{108:PAY0001}}");
       },
       "U00", "block 3: {108:} at offset 95 is not expected here ({108:} then {121:})"},
      {"unsupported block 3 tag",
       [](S s) { return replace_once(s, "{3:{108:", "{3:{113:XXXX}{108:"); }, "U00",
       "block 3: {113:} at offset 53 is not expected here"},
      {"block 3 missing colon",
       [](S s) { return replace_once(s, "{108:PAY0001}", "{108PAY0001}"); }, "U00",
       "block 3: field at offset 53 has no \"tag:\""},
      {"empty MUR", [](S s) { return replace_once(s, "{108:PAY0001}", "{108:}"); }, "U02",
       "block 3 {108:} is empty"},
      // field order, codes
      {"23B before 20",
       [](S s) {
         return replace_once(s, ":20:PAY-2026-000042\r\n:23B:CRED",
                             ":23B:CRED\r\n:20:PAY-2026-000042");
       },
       "T13", "block 4 line 1: field 23B found where field 20 is expected"},
      {"70 after 71A",
       [](S s) {
         s = replace_once(s, ":70:/INV/2026-114\r\nORDER 7781 (PART 2)\r\n", "");
         return replace_once(s, ":71A:SHA\r\n", ":71A:SHA\r\n:70:/INV/2026-114\r\n");
       },
       "T13", "block 4 line 14: field 70 is not expected after the last field"},
      {"missing 71A", [](S s) { return replace_once(s, ":71A:SHA\r\n", ""); }, "T13",
       "block 4: mandatory field 71A is missing"},
      {"missing 50K",
       [](S s) {
         return replace_once(s,
                             ":50K:/1234567890\r\nTHANDI NKOSI\r\n12 LOOP STREET\r\nCAPE TOWN "
                             "8001\r\nSOUTH AFRICA\r\n",
                             "");
       },
       "T13", "block 4 line 4: field 59 found where field 50K is expected"},
      {"50A instead of 50K", [](S s) { return replace_once(s, ":50K:", ":50A:"); }, "T13",
       "field 50A found where field 50K is expected"},
      {"field 72 not expected",
       [](S s) { return replace_once(s, ":71A:SHA", ":72:/ACC/X\r\n:71A:SHA"); }, "T13",
       "block 4 line 15: field 72 found where field 71A is expected"},
      {"invalid tag", [](S s) { return replace_once(s, ":23B:", ":2B:"); }, "T13",
       "block 4 line 2: ':' does not start a valid field tag"},
      {"unknown 23B", [](S s) { return replace_once(s, ":23B:CRED", ":23B:CRTS"); }, "T36",
       "block 4 field 23B: \"CRTS\" is not one of CRED, SPRI, SSTD, SPAY"},
      {"unknown 71A", [](S s) { return replace_once(s, ":71A:SHA", ":71A:SHR"); }, "T08",
       "block 4 field 71A: \"SHR\" is not one of OUR, SHA, BEN"},
      // block structure
      {"missing -}", [](S s) { return s.substr(0, s.size() - 2); }, "MT_FORMAT",
       "block 4: end of text \"CRLF-}\" is missing"},
      {"-} without CRLF", [](S s) { return replace_once(s, "SHA\r\n-}", "SHA-}"); }, "MT_FORMAT",
       "block 4: end of text \"CRLF-}\" is missing"},
      {"content after -}", [](S s) { return s + "{5:{CHK:0123456789AB}}"; }, "MT_FORMAT",
       "unexpected content after block 4 at offset"},
      {"block 2 type 202", [](S s) { return replace_once(s, "{2:I103", "{2:I202"); }, "MT_FORMAT",
       "block 2: message type 202, expected 103"},
      {"block 2 output form", [](S s) { return replace_once(s, "{2:I103", "{2:O103"); },
       "MT_FORMAT", "block 2: expected the input form 'I'"},
      {"block 2 with delivery monitoring", [](S s) { return replace_once(s, "XXXXN}", "XXXXN2}"); },
       "MT_FORMAT", "block 2: input header must be 17 characters"},
      {"blocks 1 and 2 swapped",
       [](S s) {
         s = replace_once(s, "{1:F01BANKZAJJAXXX0123456789}", "");
         return replace_once(s, "{2:I103BANKDEFFXXXXN}",
                             "{2:I103BANKDEFFXXXXN}{1:F01BANKZAJJAXXX0123456789}");
       },
       "MT_FORMAT", "block 1: expected \"{1:\" at offset 0, found \"{2:I103BANKD\""},
      {"block 1 unclosed", [](S s) { return replace_once(s, "0123456789}{2:", "0123456789{2:"); },
       "MT_FORMAT", "block 1: unexpected '{' at offset 28"},
      {"block 1 F21", [](S s) { return replace_once(s, "{1:F01", "{1:F21"); }, "MT_FORMAT",
       "block 1: expected application and service \"F01\""},
      {"block 1 letters in sequence",
       [](S s) { return replace_once(s, "0123456789}", "01234567A9}"); }, "MT_FORMAT",
       "block 1: session and sequence numbers \"01234567A9\" must be 10 digits"},
      {"block 4 without CRLF", [](S s) { return replace_once(s, "{4:\r\n", "{4:"); }, "MT_FORMAT",
       "block 4: \"{4:\" must be followed by CRLF"},
      {"empty text", [](S s) { return s.substr(0, s.find("{4:") + 5) + "-}"; }, "T13",
       "block 4: mandatory field 20 is missing"},
      {"too long", [](S s) { return replace_once(s, "ORDER 7781", std::string(10'000, 'A')); },
       "M50", "FIN allows at most 10000"},
  };
  return cases;
}

}  // namespace

BOOST_AUTO_TEST_CASE(encoder_refuses_each_broken_rule_with_its_code) {
  BOOST_TEST(encode_cases().size() >= 40u);
  for (const EncodeCase& c : encode_cases()) {
    Mt103 m = golden_with_70();
    c.mutate(m);
    auto r = encode_mt103(m);
    BOOST_TEST(!r.ok(), c.name);
    if (r.ok()) continue;
    BOOST_TEST(r.error().code == c.code, c.name << ": " << describe(r));
    BOOST_TEST(contains(r.error().message, c.message_part), c.name << ": " << describe(r));
  }
}

BOOST_AUTO_TEST_CASE(decoder_refuses_each_broken_rule_with_its_code) {
  const std::string golden = read_golden("mt103_with_70.fin");
  BOOST_REQUIRE(decode_mt103(golden).ok());
  for (const DecodeCase& c : decode_cases()) {
    auto r = decode_mt103(c.mutate(golden));
    BOOST_TEST(!r.ok(), c.name);
    if (r.ok()) continue;
    BOOST_TEST(r.error().code == c.code, c.name << ": " << describe(r));
    BOOST_TEST(contains(r.error().message, c.message_part), c.name << ": " << describe(r));
  }
}

BOOST_AUTO_TEST_CASE(amounts_are_swift_decimals_with_the_currency_decimals) {
  struct Case {
    Money amount;
    const char* text;
  };
  const Case cases[] = {
      {{123'456, "ZAR"}, "1234,56"},
      {{5, "ZAR"}, "0,05"},
      {{1'500'000, "JPY"}, "1500000,"},
      {{12'345, "BHD"}, "12,345"},
      {{1, "KWD"}, "0,001"},
      {{99'999'999'999'999, "BHD"}, "99999999999,999"},
      {{99'999'999'999'999, "ZAR"}, "999999999999,99"},
      {{99'999'999'999'999, "JPY"}, "99999999999999,"},
  };
  for (const Case& c : cases) {
    Mt103 m = golden_with_70();
    m.amount = c.amount;
    auto encoded = encode_mt103(m);
    BOOST_REQUIRE_MESSAGE(encoded.ok(), c.text << ": " << describe(encoded));
    const std::string field = ":32A:261127" + c.amount.currency + c.text + "\r\n";
    BOOST_TEST(contains(*encoded, field), c.text);
    auto decoded = decode_mt103(*encoded);
    BOOST_REQUIRE_MESSAGE(decoded.ok(), c.text << ": " << describe(decoded));
    BOOST_TEST((decoded->amount == c.amount), c.text);
  }
}

BOOST_AUTO_TEST_CASE(receiver_bic8_is_written_with_xxx_and_read_back_as_bic11) {
  Mt103 m = golden_with_70();
  m.receiver_bic = "BANKDEFF";
  auto encoded = encode_mt103(m);
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(*encoded == read_golden("mt103_with_70.fin"));
  auto decoded = decode_mt103(*encoded);
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST(decoded->receiver_bic == "BANKDEFFXXX");
}

// ---------------------------------------------------------------- random round trip

namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  size_t pick(size_t n) { return static_cast<size_t>(gen_() % n); }
  bool coin() { return pick(2) == 0; }
  uint64_t between(uint64_t lo, uint64_t hi) { return lo + gen_() % (hi - lo + 1); }

 private:
  std::mt19937_64 gen_;
};

const std::string kXChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ";
const std::string kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const std::string kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

std::string random_of(Rng& rng, const std::string& alphabet, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += alphabet[rng.pick(alphabet.size())];
  return s;
}

// 1..max X chars that may start a line (not ':' or '-'), and not '/' when
// `no_slash_start`.
std::string random_line(Rng& rng, size_t max, bool no_slash_start) {
  std::string s = random_of(rng, kXChars, 1 + rng.pick(max));
  if (s[0] == ':' || s[0] == '-' || (no_slash_start && s[0] == '/')) s[0] = 'Q';
  return s;
}

std::string random_reference(Rng& rng) {
  std::string s = random_line(rng, 16, true);
  if (s.back() == '/') s.back() = 'R';
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i] == '/' && s[i - 1] == '/') s[i] = 'S';
  return s;
}

std::string random_bic8(Rng& rng) {
  static const char* kCountries[] = {"ZA", "DE", "GB", "US", "FR", "JP", "BH", "CH", "NA", "KE"};
  return random_of(rng, kUpper, 4) + kCountries[rng.pick(std::size(kCountries))] +
         random_of(rng, kUpperAlnum, 2);
}

std::string random_branch(Rng& rng) { return rng.coin() ? "XXX" : random_of(rng, kUpperAlnum, 3); }

std::string random_uetr(Rng& rng) {
  const std::string hex = "0123456789abcdef";
  std::string u = random_of(rng, hex, 8) + "-" + random_of(rng, hex, 4) + "-4" +
                  random_of(rng, hex, 3) + "-" + random_of(rng, "89ab", 1) +
                  random_of(rng, hex, 3) + "-" + random_of(rng, hex, 12);
  return u;
}

Party random_party(Rng& rng) {
  Party p;
  if (rng.coin()) p.account = random_of(rng, kXChars, 1 + rng.pick(34));
  size_t lines = 1 + rng.pick(4);
  for (size_t i = 0; i < lines; ++i)
    p.lines.push_back(random_line(rng, 35, i == 0 && p.account.empty()));
  return p;
}

Mt103 random_mt103(Rng& rng) {
  static const char* kCurrencies[] = {"ZAR", "EUR", "USD", "GBP", "JPY",
                                      "BHD", "KWD", "CLP", "CHF"};
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  Mt103 m;
  m.sender_lt = random_bic8(rng) + random_of(rng, kUpper, 1) + random_branch(rng);
  m.session_number = static_cast<uint16_t>(rng.pick(10'000));
  m.sequence_number = static_cast<uint32_t>(rng.pick(1'000'000));
  m.receiver_bic = random_bic8(rng);
  if (rng.coin()) m.receiver_bic += random_branch(rng);
  m.priority = rng.coin() ? 'N' : 'U';
  if (rng.coin()) m.mur = random_line(rng, 16, false);
  m.uetr = random_uetr(rng);
  m.reference = random_reference(rng);
  m.bank_operation = static_cast<BankOperation>(rng.pick(4));
  int year = static_cast<int>(rng.between(2000, 2099));
  int month = static_cast<int>(rng.between(1, 12));
  bool leap = year % 4 == 0;  // exact for 2000-2099
  int days = month == 2 && leap ? 29 : kDays[month - 1];
  m.value_date =
      FinDate{year, month, static_cast<int>(rng.between(1, static_cast<uint64_t>(days)))};
  uint64_t digits = rng.between(1, 14);  // 14 digits always fit 15 chars with the comma
  uint64_t low = 1;
  for (uint64_t i = 1; i < digits; ++i) low *= 10;
  m.amount = Money{static_cast<int64_t>(rng.between(low, low * 10 - 1)),
                   kCurrencies[rng.pick(std::size(kCurrencies))]};
  m.ordering_customer = random_party(rng);
  m.beneficiary = random_party(rng);
  size_t remittance_lines = rng.pick(5);
  for (size_t i = 0; i < remittance_lines; ++i) m.remittance.push_back(random_line(rng, 35, false));
  m.charges = static_cast<Charges>(rng.pick(3));
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_valid_mt103s_round_trip) {
  Rng rng(20261127);
  constexpr int kMessages = 500;
  int with_remittance = 0;
  for (int i = 0; i < kMessages; ++i) {
    Mt103 m = random_mt103(rng);
    auto encoded = encode_mt103(m);
    BOOST_REQUIRE_MESSAGE(encoded.ok(), "message " << i << ": " << describe(encoded));
    auto decoded = decode_mt103(*encoded);
    BOOST_REQUIRE_MESSAGE(decoded.ok(), "message " << i << ": " << describe(decoded) << "\n"
                                                   << *encoded);
    Mt103 expected = m;
    if (expected.receiver_bic.size() == 8) expected.receiver_bic += "XXX";
    BOOST_TEST((*decoded == expected), "message " << i << "\n" << *encoded);
    auto again = encode_mt103(*decoded);
    BOOST_REQUIRE(again.ok());
    BOOST_TEST(*again == *encoded, "message " << i);
    with_remittance += m.remittance.empty() ? 0 : 1;
  }
  BOOST_TEST(with_remittance > 0);
  BOOST_TEST(with_remittance < kMessages);
}

// ---------------------------------------------------------------- ACK / NAK rules

BOOST_AUTO_TEST_CASE(ack_keeps_an_appended_original_message_verbatim) {
  FinAck a = golden_ack();
  a.original = read_golden("mt103_with_70.fin");
  auto encoded = encode_fin_ack(a);
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(*encoded == read_golden("ack.fin") + a.original);
  auto decoded = decode_fin_ack(*encoded);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), describe(decoded));
  BOOST_TEST((*decoded == a));
  auto original = decode_mt103(decoded->original);
  BOOST_REQUIRE(original.ok());
  BOOST_TEST(original->sequence_number == decoded->sequence_number);
}

BOOST_AUTO_TEST_CASE(nak_without_line_number_round_trips) {
  const std::string nak = "{1:F21BANKZAJJAXXX0123456790}{4:{177:2611271433}{451:1}{405:T13}}";
  auto decoded = decode_fin_ack(nak);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), describe(decoded));
  BOOST_TEST(decoded->error_code == "T13");
  BOOST_TEST(!decoded->error_line.has_value());
  auto encoded = encode_fin_ack(*decoded);
  BOOST_REQUIRE(encoded.ok());
  BOOST_TEST(*encoded == nak);
}

BOOST_AUTO_TEST_CASE(ack_nak_rules) {
  const std::string ack = read_golden("ack.fin");
  const std::string nak = read_golden("nak.fin");
  struct Case {
    const char* name;
    std::string text;
    const char* message_part;
  };
  const Case cases[] = {
      {"NAK without 405", replace_once(nak, "{405:T52003}", ""),
       "a NAK ({451:1}) needs the {405:} error code"},
      {"ACK with 405", replace_once(ack, "{451:0}", "{451:0}{405:T26}"),
       "an ACK ({451:0}) carries no {405:}"},
      {"451 is 2", replace_once(ack, "{451:0}", "{451:2}"),
       "block 4 {451:}: \"2\" must be 0 (ACK) or 1 (NAK)"},
      {"177 month 13", replace_once(ack, "2611271432", "2613271432"),
       "\"2613271432\" is not a valid YYMMDDHHMM"},
      {"177 hour 24", replace_once(ack, "2611271432", "2611272432"), "is not a valid YYMMDDHHMM"},
      {"177 missing", replace_once(ack, "{177:2611271432}", ""),
       "{177:} (date and time) must come first"},
      {"405 malformed", replace_once(nak, "T52003", "TXX"),
       "must be an error code (letter, 2 digits)"},
      {"block 1 F01", replace_once(ack, "{1:F21", "{1:F01"),
       "expected application and service \"F21\""},
      {"unknown tag", replace_once(ack, "{108:PAY0001}", "{108:PAY0001}{999:X}"),
       "{999:} at offset"},
      {"block 4 unclosed", ack.substr(0, ack.size() - 1),
       "block 4 opened at offset 29 has no closing '}'"},
      {"trailing garbage", ack + "garbage", "the appended message must start with \"{1:\""},
  };
  for (const Case& c : cases) {
    auto r = decode_fin_ack(c.text);
    BOOST_TEST(!r.ok(), c.name);
    if (r.ok()) continue;
    BOOST_TEST(r.error().code == "MT_FORMAT", c.name << ": " << describe(r));
    BOOST_TEST(contains(r.error().message, c.message_part), c.name << ": " << describe(r));
  }
  FinAck bad = golden_nak();
  bad.error_code = "t52";
  BOOST_TEST(encode_fin_ack(bad).error().message ==
             "block 4 {405:}: error code \"t52\" must be a letter and 2 digits (e.g. T26)");
  bad = golden_ack();
  bad.error_code = "T26";
  BOOST_TEST(!encode_fin_ack(bad).ok());
  bad = golden_ack();
  bad.mur = "A}";
  BOOST_TEST(encode_fin_ack(bad).error().code == "U02");
}

// ---------------------------------------------------------------- MT 199 rules

BOOST_AUTO_TEST_CASE(mt199_acsp_with_reason_and_negative_offset_round_trips) {
  Mt199Status s = golden_rjct();
  s.status = GpiStatus::acsp;
  s.reason = "G000";
  s.utc_offset_minutes = -(5 * 60 + 30);
  s.more_lines = {"//BANKDEFFXXX", "//EUR1234,56"};
  auto encoded = encode_mt199(s);
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(contains(
      *encoded, ":79://2611301012-0530\r\n//ACSP/G000\r\n//BANKDEFFXXX\r\n//EUR1234,56\r\n-}"));
  auto decoded = decode_mt199(*encoded);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), describe(decoded));
  BOOST_TEST((*decoded == s));
}

BOOST_AUTO_TEST_CASE(mt199_rules) {
  const std::string rjct = read_golden("mt199_rjct.fin");
  const std::string acsc = read_golden("mt199_acsc.fin");
  struct Case {
    const char* name;
    std::string text;
    const char* code;
    const char* message_part;
  };
  const Case cases[] = {
      {"unknown status", replace_once(rjct, "//RJCT/AC01", "//ACCP"), "MT_FORMAT",
       "block 4 field 79 line 2: unknown gpi status code \"ACCP\" (expected ACSC, ACSP or RJCT)"},
      {"status with suffix", replace_once(acsc, "//ACSC\r", "//ACSCX\r"), "MT_FORMAT",
       "unknown gpi status code \"ACSCX\""},
      {"lower-case status", replace_once(acsc, "//ACSC\r", "//acsc\r"), "MT_FORMAT",
       "unknown gpi status code"},
      {"RJCT without reason", replace_once(rjct, "//RJCT/AC01", "//RJCT"), "MT_FORMAT",
       "block 4 field 79 line 2: RJCT needs a reason code"},
      {"lower-case reason", replace_once(rjct, "/AC01", "/ac01"), "MT_FORMAT",
       "reason \"ac01\" must be 4 upper-case letters or digits"},
      {"empty reason", replace_once(rjct, "/AC01", "/"), "MT_FORMAT", "reason \"\" must be 4"},
      {"no status line", replace_once(rjct, "\r\n//RJCT/AC01", ""), "MT_FORMAT",
       "block 4 field 79 line 2 (//STATUS[/REASON]) is missing"},
      {"status line without //", replace_once(rjct, "//RJCT/AC01", "RJCT/AC01"), "MT_FORMAT",
       "line 2 must be //STATUS[/REASON]"},
      {"no UTC offset", replace_once(rjct, "//2611301012+0900", "//2611301012"), "MT_FORMAT",
       "block 4 field 79 line 1 must be //YYMMDDHHMM+HHMM"},
      {"bad status date", replace_once(rjct, "//2611301012", "//2611311012"), "MT_FORMAT",
       "line 1: date and time \"2611311012\" are not valid"},
      {"offset beyond 14h", replace_once(rjct, "+0900", "+1500"), "MT_FORMAT",
       "UTC offset \"+1500\" is not valid"},
      {"negative zero offset", replace_once(rjct, "+0900", "-0000"), "MT_FORMAT",
       "a zero UTC offset is written +0000"},
      {"79 line of 51 chars", replace_once(acsc, "//EUR1234,56", "//" + std::string(49, 'E')),
       "MT_FORMAT", "block 4 field 79 line 3 is 51 characters, at most 50"},
      {"21 before 20",
       replace_once(rjct, ":20:JPJT261130R9\r\n:21:PAY-2026-000043",
                    ":21:PAY-2026-000043\r\n:20:JPJT261130R9"),
       "T13", "block 4 line 1: field 21 found where field 20 is expected"},
      {"missing 21", replace_once(rjct, ":21:PAY-2026-000043\r\n", ""), "T13",
       "block 4 line 2: field 79 found where field 21 is expected"},
      {"21 with //", replace_once(rjct, ":21:PAY-2026-000043", ":21:PAY//43"), "T26",
       "block 4 field 21 \"PAY//43\" must not contain \"//\""},
      {"type 103 input", replace_once(rjct, "{2:I199", "{2:I103"), "MT_FORMAT",
       "block 2: message type 103, expected 199"},
      {"type 103 output", replace_once(acsc, "{2:O199", "{2:O103"), "MT_FORMAT",
       "block 2: message type \"103\", expected 199"},
      {"output header short", replace_once(acsc, "1436N}", "1436}"), "MT_FORMAT",
       "block 2: output header must be 47 characters"},
      {"output header bad time", replace_once(acsc, "O1991435", "O1991475"), "MT_FORMAT",
       "has an invalid date, time or number"},
      {"output header bad sender", replace_once(acsc, "BANKDEFFAXXX", "BANKQQFFAXXX"), "T27",
       "block 2: sender's logical terminal \"BANKQQFFAXXX\""},
      {"missing UETR", replace_once(rjct, "{121:3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b}", ""),
       "MT_FORMAT", "block 3: field {121:} (UETR) is missing"},
      {"MUR not allowed", replace_once(rjct, "{3:{121:", "{3:{108:X}{121:"), "U00",
       "block 3: {108:} at offset"},
      {"lower-case trailer tag", replace_once(acsc, "{CHK:", "{chk:"), "MT_FORMAT",
       "block 5: tag \"chk\" at offset"},
      {"unclosed trailer", acsc.substr(0, acsc.size() - 1), "MT_FORMAT",
       "block 5 opened at offset"},
      {"garbage after text", rjct + "X", "MT_FORMAT", "unexpected content after block 4"},
      {"missing -}", rjct.substr(0, rjct.size() - 2), "MT_FORMAT",
       "end of text \"CRLF-}\" is missing"},
  };
  for (const Case& c : cases) {
    auto r = decode_mt199(c.text);
    BOOST_TEST(!r.ok(), c.name);
    if (r.ok()) continue;
    BOOST_TEST(r.error().code == c.code, c.name << ": " << describe(r));
    BOOST_TEST(contains(r.error().message, c.message_part), c.name << ": " << describe(r));
  }

  Mt199Status s = golden_acsc();
  s.receiver_bic = "BANKZAJJ";
  BOOST_TEST(encode_mt199(s).error().message ==
             "block 2: output form names no receiver (receiver_bic must be empty)");
  s = golden_rjct();
  s.reason.clear();
  BOOST_TEST(contains(encode_mt199(s).error().message, "RJCT needs a reason code"));
  s = golden_rjct();
  s.status = static_cast<GpiStatus>(5);
  BOOST_TEST(contains(encode_mt199(s).error().message, "unknown gpi status"));
  s = golden_rjct();
  s.utc_offset_minutes = 15 * 60;
  BOOST_TEST(contains(encode_mt199(s).error().message, "beyond 14 hours"));
  s = golden_rjct();
  s.more_lines.assign(34, "//X");
  BOOST_TEST(encode_mt199(s).error().message == "block 4 field 79 has 36 lines, at most 35");
  s = golden_rjct();
  s.trailer = "{5:}";
  BOOST_TEST(encode_mt199(s).error().message == "block 5 is empty");
  s = golden_rjct();
  s.trailer = "{5:{PDM:" + std::string(10'000, 'X') + "}}";
  BOOST_TEST(encode_mt199(s).error().code == "M50");
}

// ---------------------------------------------------------------- transliteration

BOOST_AUTO_TEST_CASE(transliteration_into_the_x_set) {
  struct Case {
    const char* in;
    const char* out;
  };
  // clang-format off
  const Case cases[] = {
      // Zoë Müller-Lüdenscheidt & Søn
      {"Zo\xC3\xAB M\xC3\xBCller-L\xC3\xBC" "denscheidt & S\xC3\xB8n", "Zoe Muller-Ludenscheidt + Son"},
      {"Jos\xC3\xA9 \xC3\x91\xC3\xBA\xC3\xB1" "ez", "Jose Nunez"},           // José Ñúñez
      {"Stra\xC3\x9F" "e 5", "Strasse 5"},                                // Straße 5
      {"\xC5\x81\xC3\xB3" "d\xC5\xBA", "Lodz"},                           // Łódź
      {"\xC8\x98tefan \xC8\x9A" "ar\xC4\x83", "Stefan Tara"},               // Ștefan Țară
      {"\xC3\x86sir \xC5\x92uvre \xC3\x9E" "or", "AEsir OEuvre THor"},      // Æsir Œuvre Þor
      {"info@bank.co.za", "info(at)bank.co.za"},
      {"Smith_&_Sons \"Ltd\"; Cape Town!", "Smith-+-Sons 'Ltd', Cape Town."},
      {"[A] {B} <C> a\\b|c", "(A) (B) (C) a/b/c"},
      {"50% off #1 *now*", "50. off .1 .now."},
      {"\xE2\x82\xAC" "100 \xE2\x80\x93 \xE2\x80\x9Cquoted\xE2\x80\x9D \xE2\x80\xA6",  // €100 – “quoted” …
       "EUR100 - 'quoted' ..."},
      {"e\xCC\x81t\xC3\xA9", "ete"},                       // combining acute dropped, precomposed stripped
      {"a\tb\nc\r\nd", "a b c  d"},                         // whitespace becomes spaces
      {"a\xC2\xA0" "b\xE2\x80\x8B" "c", "a bc"},            // no-break space, zero-width space
      {"bell\x07", "bell"},                                 // control character dropped
      {"\xE6\x97\xA5\xE6\x9C\xAC Bank", ".. Bank"},         // other scripts: one '.' per character
      {"\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0", "......"},  // Москва
      {"bad \xFF\xFE utf8 \xC3", "bad .. utf8 ."},          // invalid bytes: one '.' each
      {"\xED\xA0\x80", "..."},                              // encoded surrogate: invalid, 3 bytes
      {"\xC0\xAF", ".."},                                   // overlong: invalid
      {"ABC abc 123 /-?:().,'+", "ABC abc 123 /-?:().,'+"},  // X set unchanged
  };
  // clang-format on
  for (const Case& c : cases) {
    std::string out = to_swift_x(c.in);
    BOOST_TEST(out == c.out, "input " << c.in);
    BOOST_TEST(is_swift_x(out), "output " << out);
  }
  BOOST_TEST(!is_swift_x("a&b"));
  BOOST_TEST(!is_swift_x("a\r\nb"));
  BOOST_TEST(is_swift_x(""));
}

BOOST_AUTO_TEST_CASE(wrapping_real_names_into_35x_lines) {
  auto lines = wrap_swift_x("Thandiwe Nomvula Nkosi-Dlamini of 12 Loop Street, Cape Town", 4);
  BOOST_REQUIRE_MESSAGE(lines.ok(), describe(lines));
  const std::vector<std::string> expected = {"Thandiwe Nomvula Nkosi-Dlamini of",
                                             "12 Loop Street, Cape Town"};
  BOOST_TEST(*lines == expected, boost::test_tools::per_element());

  lines = wrap_swift_x("Bj\xC3\xB6rk   Gu\xC3\xB0mundsd\xC3\xB3ttir & Co", 4);
  BOOST_REQUIRE(lines.ok());
  BOOST_TEST(lines->size() == 1u);
  BOOST_TEST(lines->at(0) == "Bjork Gudmundsdottir + Co");

  lines = wrap_swift_x(std::string(40, 'A') + " B", 4);
  BOOST_REQUIRE(lines.ok());
  const std::vector<std::string> split = {std::string(35, 'A'), "AAAAA B"};
  BOOST_TEST(*lines == split, boost::test_tools::per_element());

  lines = wrap_swift_x("- dash first: -also", 4, 10);
  BOOST_REQUIRE(lines.ok());
  const std::vector<std::string> guarded = {". dash", "first:", ".also"};
  BOOST_TEST(*lines == guarded, boost::test_tools::per_element());
  lines = wrap_swift_x(":colon", 1);
  BOOST_REQUIRE(lines.ok());
  BOOST_TEST(lines->at(0) == ".colon");

  lines = wrap_swift_x("   ", 4);
  BOOST_REQUIRE(lines.ok());
  BOOST_TEST(lines->empty());

  auto overflow = wrap_swift_x(std::string(200, 'x'), 4);
  BOOST_REQUIRE(!overflow.ok());
  BOOST_TEST(overflow.error().code == "MT_FORMAT");
  BOOST_TEST(overflow.error().message == "text needs 6 lines of 35 characters, at most 4");

  // Wrapped lines are accepted as they are by the encoder.
  Mt103 m = golden_with_70();
  auto name = wrap_swift_x(
      "Sipho \xE2\x80\x9CSpeedy\xE2\x80\x9D Dlamini-Zuma @ Umhlanga Rocks Drive 1, Durban", 4);
  BOOST_REQUIRE(name.ok());
  m.ordering_customer.lines = *name;
  auto encoded = encode_mt103(m);
  BOOST_REQUIRE_MESSAGE(encoded.ok(), describe(encoded));
  BOOST_TEST(
      contains(*encoded, "Sipho 'Speedy' Dlamini-Zuma (at)\r\nUmhlanga Rocks Drive 1, Durban\r\n"));
}

BOOST_AUTO_TEST_CASE(uetr_check) {
  BOOST_TEST(is_valid_uetr("eb6305c9-1f7f-49de-aed0-16487c27b42d"));
  BOOST_TEST(is_valid_uetr("00000000-0000-4000-8000-000000000000"));
  BOOST_TEST(!is_valid_uetr("eb6305c9-1f7f-49de-aed0-16487c27b42"));   // 35 chars
  BOOST_TEST(!is_valid_uetr("eb6305c91f7f49deaed016487c27b42d"));      // no dashes
  BOOST_TEST(!is_valid_uetr("eb6305c9-1f7f-49de-7ed0-16487c27b42d"));  // variant 7
  BOOST_TEST(!is_valid_uetr("eb6305c9-1f7f-59de-aed0-16487c27b42d"));  // version 5
  BOOST_TEST(!is_valid_uetr("eb6305c9-1f7f-49de-aed0-16487c27b42g"));  // not hex
  BOOST_TEST(!is_valid_uetr("eb6305c9_1f7f-49de-aed0-16487c27b42d"));  // wrong separator
}

// ---------------------------------------------------------------- robustness

namespace {

// Feeds `bytes` to one decoder: it must either fail with a documented code
// and a message, or return a value that re-encodes to exactly `bytes`.
template <class Decode, class Encode>
void check_decoder(const std::string& bytes, Decode decode, Encode encode, int& accepted,
                   int& rejected) {
  auto decoded = decode(bytes);
  if (!decoded.ok()) {
    ++rejected;
    BOOST_TEST(documented_codes().count(decoded.error().code) == 1u,
               "undocumented code " << describe(decoded));
    BOOST_TEST(!decoded.error().message.empty());
    return;
  }
  ++accepted;
  auto encoded = encode(*decoded);
  BOOST_TEST(encoded.ok(), describe(encoded));
  if (encoded.ok()) BOOST_TEST(*encoded == bytes);
}

const std::vector<std::string>& golden_files() {
  static const std::vector<std::string> files = {
      read_golden("mt103_with_70.fin"), read_golden("mt103_without_70.fin"),
      read_golden("ack.fin"),           read_golden("nak.fin"),
      read_golden("mt199_acsc.fin"),    read_golden("mt199_rjct.fin"),
  };
  return files;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_proper_prefix_is_rejected) {
  for (const char* name : {"mt103_with_70.fin", "mt103_without_70.fin"}) {
    const std::string golden = read_golden(name);
    for (size_t n = 0; n < golden.size(); ++n) {
      auto r = decode_mt103(std::string_view(golden).substr(0, n));
      BOOST_TEST(!r.ok(), name << " prefix of " << n);
    }
  }
  for (const char* name : {"ack.fin", "nak.fin"}) {
    const std::string golden = read_golden(name);
    for (size_t n = 0; n < golden.size(); ++n)
      BOOST_TEST(!decode_fin_ack(std::string_view(golden).substr(0, n)).ok(),
                 name << " prefix of " << n);
  }
  const std::string rjct = read_golden("mt199_rjct.fin");
  for (size_t n = 0; n < rjct.size(); ++n)
    BOOST_TEST(!decode_mt199(std::string_view(rjct).substr(0, n)).ok(),
               "mt199_rjct prefix of " << n);
}

BOOST_AUTO_TEST_CASE(mutated_messages_never_crash_and_never_decode_to_something_else) {
  Rng rng(0x5EED103);
  const std::string kInteresting = "{}:-/\r\n0129AZaz ,'+?().X&_\x80\xFF";
  constexpr int kMutations = 2000;
  int accepted = 0;
  int rejected = 0;
  for (int i = 0; i < kMutations; ++i) {
    std::string s = golden_files()[rng.pick(golden_files().size())];
    int edits = 1 + static_cast<int>(rng.pick(3));
    for (int e = 0; e < edits; ++e) {
      size_t at = rng.pick(s.size() + 1);
      switch (rng.pick(7)) {
        case 0:  // overwrite with a character that means something to FIN
          if (at < s.size()) s[at] = kInteresting[rng.pick(kInteresting.size())];
          break;
        case 1:  // overwrite with any byte
          if (at < s.size()) s[at] = static_cast<char>(rng.pick(256));
          break;
        case 2:  // delete a run
          if (at < s.size()) s.erase(at, 1 + rng.pick(8));
          break;
        case 3:  // insert
          s.insert(at, 1, kInteresting[rng.pick(kInteresting.size())]);
          break;
        case 4:  // truncate
          s.resize(at);
          break;
        case 5:  // duplicate a slice
          if (at < s.size()) s.insert(at, s.substr(at, 1 + rng.pick(20)));
          break;
        case 6:  // overwrite a letter or digit with another: often still valid
          if (at < s.size() && std::isalnum(static_cast<unsigned char>(s[at])))
            s[at] = kUpperAlnum[rng.pick(kUpperAlnum.size())];
          break;
      }
    }
    check_decoder(s, decode_mt103, encode_mt103, accepted, rejected);
    check_decoder(s, decode_fin_ack, encode_fin_ack, accepted, rejected);
    check_decoder(s, decode_mt199, encode_mt199, accepted, rejected);
  }
  BOOST_TEST_MESSAGE("mutations: " << accepted << " decodes accepted, " << rejected << " rejected");
  BOOST_TEST(accepted > 0);  // the property was exercised on real values...
  BOOST_TEST(rejected > 0);  // ...and on broken ones
  BOOST_TEST(accepted + rejected == 3 * kMutations);
}
