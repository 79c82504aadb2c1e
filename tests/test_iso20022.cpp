#define BOOST_TEST_MODULE iso20022
#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "clearing/iso20022.hpp"
#include "clearing/xsd.hpp"

using namespace payengine;
using namespace payengine::clearing;
using namespace payengine::clearing::iso20022;

namespace {

namespace fs = std::filesystem;

const fs::path kShared = fs::path(PAYENGINE_SHARED_DIR) / "iso20022";
const fs::path kGolden = fs::path(__FILE__).parent_path() / "golden" / "iso20022";

// The error message of a failed result, for test diagnostics.
template <class T>
std::string why(const Result<T>& r) {
  return r.ok() ? std::string() : r.error().message;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces the one occurrence of `from` in `s` (which must be there).
std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, "'" << from << "' not in the document");
  BOOST_REQUIRE_MESSAGE(s.find(from, at + 1) == std::string::npos, "'" << from << "' twice");
  return s.replace(at, from.size(), to);
}

// Removes the text between `from` (inclusive) and `to` (inclusive).
std::string cut(std::string s, const std::string& from, const std::string& to) {
  auto a = s.find(from);
  BOOST_REQUIRE(a != std::string::npos);
  auto b = s.find(to, a);
  BOOST_REQUIRE(b != std::string::npos);
  return s.erase(a, b + to.size() - a);
}

const char* xsd_name(MessageType t) {
  switch (t) {
    case MessageType::pacs008:
      return "pacs.008.001.08.xsd";
    case MessageType::pacs009:
      return "pacs.009.001.08.xsd";
    case MessageType::pacs028:
      return "pacs.028.001.03.xsd";
    case MessageType::pacs002:
      return "pacs.002.001.10.xsd";
  }
  return "";
}

// One validator per message type, loaded once for the whole run.
xsd::Validator& validator(MessageType t) {
  static std::array<std::unique_ptr<xsd::Validator>, 4> cache;
  auto& slot = cache[static_cast<size_t>(t)];
  if (!slot) {
    auto v = xsd::Validator::load((kShared / xsd_name(t)).string());
    BOOST_REQUIRE_MESSAGE(v.ok(), why(v));
    slot = std::make_unique<xsd::Validator>(std::move(v.value()));
  }
  return *slot;
}

void require_valid(const std::string& xml, MessageType t) {
  auto r = validator(t).validate(xml);
  BOOST_REQUIRE_MESSAGE(r.ok(), "not valid against " << xsd_name(t) << ": " << (why(r)) << "\n"
                                                     << xml);
}

MessageType type_of(const CreditTransfer&) { return MessageType::pacs008; }
MessageType type_of(const FiCreditTransfer&) { return MessageType::pacs009; }
MessageType type_of(const StatusRequest&) { return MessageType::pacs028; }
MessageType type_of(const StatusReport&) { return MessageType::pacs002; }

// Encodes (must succeed) and checks the result against the matching XSD.
template <class M>
std::string encode_valid(const M& m, Profile p) {
  auto r = encode(m, p);
  BOOST_REQUIRE_MESSAGE(r.ok(), "encode failed: " << (why(r)));
  require_valid(r.value(), type_of(m));
  return r.value();
}

// Encoding must fail with exactly this code and message.
template <class M>
void require_encode_error(const M& m, Profile p, const std::string& code,
                          const std::string& message) {
  auto r = encode(m, p);
  BOOST_REQUIRE_MESSAGE(!r.ok(), "encode succeeded, expected: " << message);
  BOOST_TEST(r.error().code == code);
  BOOST_TEST(r.error().message == message);
}

template <class T>
void require_error(const Result<T>& r, const std::string& code, const std::string& message) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "succeeded, expected: " << message);
  BOOST_TEST(r.error().code == code);
  BOOST_TEST(r.error().message == message);
}

template <class T>
void require_error_prefix(const Result<T>& r, const std::string& code, const std::string& prefix) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "succeeded, expected: " << prefix << "...");
  BOOST_TEST(r.error().code == code);
  BOOST_TEST(r.error().message.rfind(prefix, 0) == 0, "message: " << r.error().message);
}

Result<CreditTransfer> decode008(const std::string& xml, Profile p) {
  return decode_credit_transfer(xml, p);
}
Result<FiCreditTransfer> decode009(const std::string& xml, Profile p) {
  return decode_fi_credit_transfer(xml, p);
}
Result<StatusRequest> decode028(const std::string& xml, Profile p) {
  return decode_status_request(xml, p);
}
Result<StatusReport> decode002(const std::string& xml, Profile p) {
  return decode_status_report(xml, p);
}

Agent bic(const std::string& b) { return Agent{b, "", ""}; }
Agent branch(const std::string& b, const std::string& code) { return Agent{b, "ZANCC", code}; }

constexpr int64_t k20250101Utc = 1'735'689'600'000;  // 2025-01-01T00:00:00Z in ms
constexpr int64_t kHourMs = 3'600'000;

// --- The fixtures behind the golden files ---------------------------------

CreditTransfer samos_008() {
  CreditTransfer m;
  m.msg_id = "SAMOS-20250101-0001";
  m.creation_date_time = format_sast_date_time(k20250101Utc + 8 * kHourMs);
  m.settlement_method = SettlementMethod::clrg;
  m.settlement_date = "2025-01-01";
  m.instr_id = "INSTR-0001";
  m.end_to_end_id = "E2E-0001";
  m.tx_id = "TX-0001";
  m.uetr = "8a562c67-ca16-48ba-b074-65581be6f011";
  m.amount = Money{750'000'000, "ZAR"};
  m.charge_bearer = ChargeBearer::slev;
  m.instructing_agent = bic("ABSAZAJJXXX");
  m.instructed_agent = bic("SARBZAJPXXX");
  m.debtor_name = "Thandi Nkosi & Co <Pty> Ltd";
  m.debtor_account = Account{"1234567890", false};
  m.debtor_agent = branch("ABSAZAJJ", "632005");
  m.creditor_agent = branch("FIRNZAJJ", "250655");
  m.creditor_name = "Sipho Dlamini";
  m.creditor_account = Account{"62012345678", false};
  m.remittance = "Invoice 2025-114";
  return m;
}

CreditTransfer payshap_008() {
  CreditTransfer m;
  m.msg_id = "PSH-20250101-0042";
  m.creation_date_time = format_sast_date_time(k20250101Utc + 22 * kHourMs - 750);
  m.end_to_end_id = "PSH-E2E-42";
  m.uetr = "3f1c2b7a-9d4e-4c1b-8a6f-0e2d5c7b9a13";
  m.amount = Money{125'050, "ZAR"};
  m.charge_bearer = ChargeBearer::slev;
  m.debtor_name = "Zo\xC3\xAB Naidoo";
  m.debtor_account = Account{"1052347781", false};
  m.debtor_agent = branch("", "470010");
  m.creditor_agent = bic("FIRNZAJJ");
  m.creditor_name = "Lerato Mokoena";
  m.creditor_account = Account{"62098765432", false};
  m.remittance = "Braai contribution \xE2\x80\x93 Saturday";
  return m;
}

CreditTransfer cbpr_008() {
  CreditTransfer m;
  m.msg_id = "SWIFT-20250101-0007";
  m.creation_date_time = format_sast_date_time(k20250101Utc + 8 * kHourMs + 123);
  m.settlement_method = SettlementMethod::inda;
  m.settlement_date = "2025-01-02";
  m.instr_id = "SW-INSTR-7";
  m.end_to_end_id = "INV-2025-0007";
  m.tx_id = "SW-TX-7";
  m.uetr = "e9b1b1d4-3c2e-4b8e-9f53-1a2b3c4d5e6f";
  m.amount = Money{1'234'567, "USD"};
  m.charge_bearer = ChargeBearer::shar;
  m.instructing_agent = bic("ABSAZAJJXXX");
  m.instructed_agent = bic("CITIUS33XXX");
  m.debtor_name = "Karoo Exports (Pty) Ltd";
  m.debtor_account = Account{"4098765432", false};
  m.debtor_agent = bic("ABSAZAJJ");
  m.creditor_agent = bic("COBADEFFXXX");
  m.creditor_name = "M\xC3\xBCller Maschinenbau GmbH";
  m.creditor_account = Account{"DE89370400440532013000", true};
  m.remittance = "/INV/2025-0007 machine parts";
  return m;
}

FiCreditTransfer samos_009() {
  FiCreditTransfer m;
  m.msg_id = "SAMOS-FI-20250101-0003";
  m.creation_date_time = format_sast_date_time(k20250101Utc + 7 * kHourMs + 15 * 60'000);
  m.settlement_date = "2025-01-01";
  m.instr_id = "FI-INSTR-3";
  m.end_to_end_id = "FI-E2E-3";
  m.tx_id = "FI-TX-3";
  m.uetr = "0b7f3c2e-5a1d-4e8f-a2c4-6d9e1f3b5a70";
  m.amount = Money{25'000'000'000, "ZAR"};
  m.instructing_agent = bic("ABSAZAJJXXX");
  m.instructed_agent = bic("SARBZAJPXXX");
  m.debtor = bic("ABSAZAJJ");
  m.creditor = bic("FIRNZAJJ");
  m.remittance = "Interbank liquidity transfer";
  return m;
}

FiCreditTransfer payshap_009() {
  FiCreditTransfer m;
  m.msg_id = "PSH-FI-0001";
  m.creation_date_time = format_sast_date_time(k20250101Utc - 2 * kHourMs);
  m.end_to_end_id = "PSH-FI-E2E-1";
  m.amount = Money{10'000, "ZAR"};
  m.debtor = branch("", "470010");
  m.creditor = bic("SBZAZAJJ");
  return m;
}

FiCreditTransfer cbpr_009() {
  FiCreditTransfer m;
  m.msg_id = "SWIFT-FI-20250101-0002";
  m.creation_date_time = format_sast_date_time(k20250101Utc + 12 * kHourMs + 30 * 60'000);
  m.settlement_method = SettlementMethod::inda;
  m.settlement_date = "2025-01-02";
  m.instr_id = "SW-FI-INSTR-2";
  m.end_to_end_id = "SW-FI-E2E-2";
  m.uetr = "c2d4e6f8-1a3b-4c5d-9e7f-2b4d6f8a0c1e";
  m.amount = Money{1'234, "BHD"};
  m.instructing_agent = bic("ABSAZAJJXXX");
  m.instructed_agent = bic("NBOBBHBMXXX");
  m.debtor = bic("ABSAZAJJ");
  m.debtor_agent = bic("CITIUS33");
  m.creditor_agent = bic("NBOBBHBM");
  m.creditor = bic("NBOBBHBMXXX");
  m.remittance = "Cover > nostro top-up";
  return m;
}

StatusRequest samos_028() {
  StatusRequest m;
  m.msg_id = "SAMOS-SR-0001";
  m.creation_date_time = "2025-01-01T10:05:00+02:00";
  m.original_msg_id = "SAMOS-20250101-0001";
  m.original_msg_name_id = "pacs.008.001.08";
  m.original_instr_id = "INSTR-0001";
  m.original_end_to_end_id = "E2E-0001";
  m.original_tx_id = "TX-0001";
  m.original_uetr = "8a562c67-ca16-48ba-b074-65581be6f011";
  return m;
}

StatusRequest payshap_028() {
  StatusRequest m;
  m.msg_id = "PSH-SR-0042";
  m.creation_date_time = "2025-01-02T00:00:09+02:00";
  m.instructing_agent = branch("", "470010");
  m.original_msg_id = "PSH-20250101-0042";
  m.original_msg_name_id = "pacs.008.001.08";
  m.original_end_to_end_id = "PSH-E2E-42";
  return m;
}

StatusRequest cbpr_028() {
  StatusRequest m;
  m.msg_id = "SWIFT-SR-0007";
  m.creation_date_time = "2025-01-01T12:00:00+02:00";
  m.instructing_agent = bic("ABSAZAJJXXX");
  m.instructed_agent = bic("CITIUS33XXX");
  m.original_msg_id = "SWIFT-20250101-0007";
  m.original_msg_name_id = "pacs.008.001.08";
  m.original_instr_id = "SW-INSTR-7";
  m.original_end_to_end_id = "INV-2025-0007";
  m.original_tx_id = "SW-TX-7";
  m.original_uetr = "e9b1b1d4-3c2e-4b8e-9f53-1a2b3c4d5e6f";
  return m;
}

StatusReport samos_002() {
  StatusReport m;
  m.msg_id = "SAMOS-STS-0001";
  m.creation_date_time = "2025-01-01T10:00:02+02:00";
  m.instructing_agent = bic("SARBZAJPXXX");
  m.instructed_agent = bic("ABSAZAJJXXX");
  m.original_msg_id = "SAMOS-20250101-0001";
  m.original_msg_name_id = "pacs.008.001.08";
  m.original_instr_id = "INSTR-0001";
  m.original_end_to_end_id = "E2E-0001";
  m.original_tx_id = "TX-0001";
  m.original_uetr = "8a562c67-ca16-48ba-b074-65581be6f011";
  m.status = TxStatus::acsc;
  return m;
}

StatusReport payshap_002() {
  StatusReport m;
  m.msg_id = "PSH-STS-0042";
  m.creation_date_time = "2025-01-02T00:00:01+02:00";
  m.original_msg_id = "PSH-20250101-0042";
  m.original_msg_name_id = "pacs.008.001.08";
  m.original_end_to_end_id = "PSH-E2E-42";
  m.original_uetr = "3f1c2b7a-9d4e-4c1b-8a6f-0e2d5c7b9a13";
  m.status = TxStatus::rjct;
  m.reason_code = "AC04";
  m.additional_info = "Creditor account closed";
  return m;
}

StatusReport cbpr_002() {
  StatusReport m;
  m.msg_id = "SWIFT-STS-0007";
  m.creation_date_time = "2025-01-01T12:00:05+02:00";
  m.instructing_agent = bic("CITIUS33XXX");
  m.instructed_agent = bic("ABSAZAJJXXX");
  m.original_msg_id = "SWIFT-20250101-0007";
  m.original_msg_name_id = "pacs.008.001.08";
  m.original_end_to_end_id = "INV-2025-0007";
  m.original_uetr = "e9b1b1d4-3c2e-4b8e-9f53-1a2b3c4d5e6f";
  m.status = TxStatus::acsp;
  m.additional_info = "Credited to nostro, pending beneficiary credit";
  return m;
}

std::string golden(Profile p, MessageType t) {
  return read_file(kGolden /
                   (std::string(to_string(p)) + "-" + std::string(message_name_id(t)) + ".xml"));
}

constexpr std::array<Profile, 3> kProfiles = {Profile::samos, Profile::payshap, Profile::cbpr_plus};

CreditTransfer fixture_008(Profile p) {
  return p == Profile::samos ? samos_008() : p == Profile::payshap ? payshap_008() : cbpr_008();
}
FiCreditTransfer fixture_009(Profile p) {
  return p == Profile::samos ? samos_009() : p == Profile::payshap ? payshap_009() : cbpr_009();
}
StatusRequest fixture_028(Profile p) {
  return p == Profile::samos ? samos_028() : p == Profile::payshap ? payshap_028() : cbpr_028();
}
StatusReport fixture_002(Profile p) {
  return p == Profile::samos ? samos_002() : p == Profile::payshap ? payshap_002() : cbpr_002();
}

// Encodes, validates, compares with the golden file byte for byte, decodes
// the golden file and compares the value, and round-trips.
template <class M, class Decode>
void check_golden(const M& m, Profile p, Decode decode) {
  BOOST_TEST_CONTEXT("profile " << to_string(p) << ", " << message_name_id(type_of(m))) {
    std::string expected = golden(p, type_of(m));
    require_valid(expected, type_of(m));
    std::string xml = encode_valid(m, p);
    BOOST_TEST(xml == expected);
    auto from_golden = decode(expected, p);
    BOOST_REQUIRE_MESSAGE(from_golden.ok(), why(from_golden));
    BOOST_TEST((from_golden.value() == m));
    auto back = decode(xml, p);
    BOOST_REQUIRE(back.ok());
    BOOST_TEST((back.value() == m));
    auto peeked = peek_message_type(xml);
    BOOST_REQUIRE(peeked.ok());
    BOOST_TEST((peeked.value() == type_of(m)));
  }
}

}  // namespace

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(xsd_validator)

BOOST_AUTO_TEST_CASE(load_fails_for_a_missing_file_and_a_non_schema) {
  auto missing = xsd::Validator::load((kShared / "pacs.999.001.01.xsd").string());
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == "FF01");
  BOOST_TEST(missing.error().message.find("no such file") != std::string::npos);

  auto not_schema =
      xsd::Validator::load((kShared / "examples" / "pacs.008.001.08-minimal.xml").string());
  BOOST_REQUIRE(!not_schema.ok());
  BOOST_TEST(not_schema.error().code == "FF01");
  BOOST_TEST(not_schema.error().message.find("does not compile") != std::string::npos);
  BOOST_TEST(not_schema.error().message.find("not a schema document") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rejects_a_document_missing_a_mandatory_element) {
  std::string xml = read_file(kShared / "examples" / "pacs.008.001.08-minimal.xml");
  require_valid(xml, MessageType::pacs008);
  std::string no_charge_bearer = replace_once(xml, "      <ChrgBr>SLEV</ChrgBr>\n", "");
  auto r = validator(MessageType::pacs008).validate(no_charge_bearer);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == "FF01");
  // The element after the gap is reported, with its line.
  BOOST_TEST(r.error().message.rfind("line 22: Element '{urn:iso:std:iso:20022:tech:xsd:"
                                     "pacs.008.001.08}Dbtr': This element is not expected.",
                                     0) == 0,
             r.error().message);
  BOOST_TEST(r.error().message.find("ChrgBr") != std::string::npos);

  // Upper-case UETR breaks the schema's UUID pattern.
  auto upper = validator(MessageType::pacs008)
                   .validate(replace_once(xml, "8a562c67-ca16-48ba-b074-65581be6f011",
                                          "8A562C67-CA16-48BA-B074-65581BE6F011"));
  BOOST_REQUIRE(!upper.ok());
  BOOST_TEST(upper.error().message.find("UETR") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rejects_another_version_and_another_message) {
  // pacs.002.001.10 against the 001.12 schema: no matching root declaration.
  auto v12 = xsd::Validator::load((kShared / "pacs.002.001.12.xsd").string());
  BOOST_REQUIRE(v12.ok());
  auto r = v12->validate(read_file(kShared / "examples" / "pacs.002.001.10-minimal.xml"));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find("No matching global declaration") != std::string::npos);

  auto r2 = validator(MessageType::pacs008).validate(golden(Profile::samos, MessageType::pacs002));
  BOOST_REQUIRE(!r2.ok());
  BOOST_TEST(r2.error().message.find("No matching global declaration") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(refuses_unsafe_or_malformed_input) {
  auto& v = validator(MessageType::pacs008);
  require_error(v.validate(""), "FF01", "empty input: not an XML document");
  require_error_prefix(v.validate("<Document"), "FF01", "not well-formed XML: line 1: ");
  require_error(v.validate("<!DOCTYPE Document [<!ENTITY a \"aaaa\">]>\n<Document/>"), "FF01",
                "line 1: DOCTYPE not allowed (no DTDs or entity declarations in ISO 20022 "
                "messages)");

  auto small = xsd::Validator::load((kShared / "pacs.008.001.08.xsd").string(), {100});
  BOOST_REQUIRE(small.ok());
  std::string xml = read_file(kShared / "examples" / "pacs.008.001.08-minimal.xml");
  require_error(small->validate(xml), "FF01",
                "input is " + std::to_string(xml.size()) + " bytes, over the limit of 100");
}

BOOST_AUTO_TEST_CASE(moves_keep_the_schema) {
  auto loaded = xsd::Validator::load((kShared / "pacs.028.001.03.xsd").string());
  BOOST_REQUIRE(loaded.ok());
  xsd::Validator a = std::move(loaded.value());
  xsd::Validator b = std::move(a);
  BOOST_TEST(b.path() == (kShared / "pacs.028.001.03.xsd").string());
  std::string xml = golden(Profile::samos, MessageType::pacs028);
  BOOST_TEST(b.validate(xml).ok());
  // Errors from one call do not leak into the next.
  BOOST_TEST(!b.validate(replace_once(xml, "<MsgId>SAMOS-SR-0001</MsgId>", "")).ok());
  BOOST_TEST(b.validate(xml).ok());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(goldens)

BOOST_AUTO_TEST_CASE(pacs008_per_profile) {
  for (Profile p : kProfiles) check_golden(fixture_008(p), p, decode008);
}

BOOST_AUTO_TEST_CASE(pacs009_per_profile) {
  for (Profile p : kProfiles) check_golden(fixture_009(p), p, decode009);
}

BOOST_AUTO_TEST_CASE(pacs028_per_profile) {
  for (Profile p : kProfiles) check_golden(fixture_028(p), p, decode028);
}

BOOST_AUTO_TEST_CASE(pacs002_per_profile) {
  for (Profile p : kProfiles) check_golden(fixture_002(p), p, decode002);
}

BOOST_AUTO_TEST_CASE(original_group_info_is_read_from_either_place) {
  // CBPR+ puts it in the transaction, SAMOS at the top: both decode either way.
  auto cbpr_as_samos = decode002(golden(Profile::cbpr_plus, MessageType::pacs002), Profile::samos);
  BOOST_REQUIRE(cbpr_as_samos.ok());
  BOOST_TEST((cbpr_as_samos.value() == cbpr_002()));
  auto samos_as_cbpr = decode028(golden(Profile::samos, MessageType::pacs028), Profile::cbpr_plus);
  BOOST_REQUIRE(samos_as_cbpr.ok());
  BOOST_TEST((samos_as_cbpr.value() == samos_028()));

  // Both places, disagreeing.
  std::string both = replace_once(
      golden(Profile::samos, MessageType::pacs002), "    <TxInfAndSts>\n",
      "    <TxInfAndSts>\n      <OrgnlGrpInf>\n        <OrgnlMsgId>OTHER</OrgnlMsgId>\n"
      "        <OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId>\n      </OrgnlGrpInf>\n");
  require_valid(both, MessageType::pacs002);
  require_error(decode002(both, Profile::samos), "FF01",
                "TxInfAndSts/OrgnlGrpInf: differs from OrgnlGrpInfAndSts");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(shared_examples)

BOOST_AUTO_TEST_CASE(minimal_pacs008_validates_and_decodes) {
  std::string xml = read_file(kShared / "examples" / "pacs.008.001.08-minimal.xml");
  require_valid(xml, MessageType::pacs008);
  auto r = decode008(xml, Profile::samos);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  const CreditTransfer& m = r.value();
  BOOST_TEST(m.msg_id == "MSG-20250101-0001");
  BOOST_TEST(m.creation_date_time == "2025-01-01T10:00:00+02:00");
  BOOST_TEST((m.settlement_method == SettlementMethod::clrg));
  BOOST_TEST(m.settlement_date == "");
  BOOST_TEST(m.instr_id == "INSTR-0001");
  BOOST_TEST(m.end_to_end_id == "E2E-0001");
  BOOST_TEST(m.tx_id == "");
  BOOST_TEST(m.uetr == "8a562c67-ca16-48ba-b074-65581be6f011");
  BOOST_TEST(m.amount.amount_minor == 150'000);
  BOOST_TEST(m.amount.currency == "ZAR");
  BOOST_TEST((m.charge_bearer == ChargeBearer::slev));
  BOOST_TEST(!m.instructing_agent.has_value());
  BOOST_TEST(m.debtor_name == "Debtor Name");
  BOOST_TEST((m.debtor_account == Account{"1234567890", false}));
  BOOST_TEST((m.debtor_agent == bic("AAAAZAJJXXX")));
  BOOST_TEST((m.creditor_agent == bic("BBBBZAJJXXX")));
  BOOST_TEST(m.creditor_name == "Creditor Name");
  BOOST_TEST((m.creditor_account == Account{"0987654321", false}));
  BOOST_TEST(m.remittance == "");

  // Re-encoded: valid, and decodes to the same value.
  std::string again = encode_valid(m, Profile::samos);
  auto back = decode008(again, Profile::samos);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((back.value() == m));

  // Under CBPR+ it lacks what CBPR+ requires.
  require_error(decode008(xml, Profile::cbpr_plus), "FF01",
                "CdtTrfTxInf/IntrBkSttlmDt: missing (mandatory under CBPR+)");
}

BOOST_AUTO_TEST_CASE(minimal_pacs002_validates_and_decodes) {
  std::string xml = read_file(kShared / "examples" / "pacs.002.001.10-minimal.xml");
  require_valid(xml, MessageType::pacs002);
  for (Profile p : kProfiles) {
    auto r = decode002(xml, p);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    const StatusReport& m = r.value();
    BOOST_TEST(m.msg_id == "STS-20250101-0001");
    BOOST_TEST(m.creation_date_time == "2025-01-01T10:00:05+02:00");
    BOOST_TEST(m.original_msg_id == "MSG-20250101-0001");
    BOOST_TEST(m.original_msg_name_id == "pacs.008.001.08");
    BOOST_TEST(m.original_instr_id == "INSTR-0001");
    BOOST_TEST(m.original_end_to_end_id == "E2E-0001");
    BOOST_TEST(m.original_uetr == "8a562c67-ca16-48ba-b074-65581be6f011");
    BOOST_TEST((m.status == TxStatus::acsc));
    BOOST_TEST(m.reason_code == "");
    auto back = decode002(encode_valid(m, p), p);
    BOOST_REQUIRE(back.ok());
    BOOST_TEST((back.value() == m));
  }
  auto peeked = peek_message_type(xml);
  BOOST_REQUIRE(peeked.ok());
  BOOST_TEST((peeked.value() == MessageType::pacs002));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(round_trips)

BOOST_AUTO_TEST_CASE(currencies_and_decimals) {
  struct Case {
    Money amount;
    const char* text;
  };
  const Case cases[] = {
      {{1, "ZAR"}, ">0.01<"},
      {{100, "ZAR"}, ">1.00<"},
      {{999'999'999'999'999'999, "ZAR"}, ">9999999999999999.99<"},
      {{12'345, "JPY"}, ">12345<"},
      {{1, "BHD"}, ">0.001<"},
      {{1'234'500, "KWD"}, ">1234.500<"},
  };
  for (const auto& c : cases) {
    CreditTransfer m = cbpr_008();
    m.amount = c.amount;
    std::string xml = encode_valid(m, Profile::cbpr_plus);
    BOOST_TEST(
        xml.find(std::string("Ccy=\"") + c.amount.currency + "\"" + c.text) != std::string::npos,
        c.text);
    auto back = decode008(xml, Profile::cbpr_plus);
    BOOST_REQUIRE(back.ok());
    BOOST_TEST((back.value() == m));
  }
}

BOOST_AUTO_TEST_CASE(optional_fields_and_escaping) {
  CreditTransfer m = samos_008();
  m.instr_id.clear();
  m.tx_id.clear();
  m.uetr.clear();
  m.settlement_date.clear();
  m.instructing_agent.reset();
  m.instructed_agent.reset();
  m.remittance = "a]]>b & <c> \"d\" 'e'\r\nline\ttab";
  m.debtor_account = Account{"GB82WEST12345698765432", true};
  m.creditor_agent = Agent{"", "", "250655"};  // member id without a clearing system code
  m.settlement_method = SettlementMethod::inga;
  m.charge_bearer = ChargeBearer::cred;
  std::string xml = encode_valid(m, Profile::samos);
  BOOST_TEST(xml.find("<Ustrd>a]]&gt;b &amp; &lt;c&gt; \"d\" 'e'&#13;\nline\ttab</Ustrd>") !=
             std::string::npos);
  BOOST_TEST(xml.find("<InstrId>") == std::string::npos);
  BOOST_TEST(xml.find("<ClrSysMmbId>\n            <MmbId>250655</MmbId>") != std::string::npos);
  auto back = decode008(xml, Profile::samos);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((back.value() == m));
}

BOOST_AUTO_TEST_CASE(text_length_counts_characters_not_bytes) {
  CreditTransfer m = payshap_008();
  std::string e_acute;
  for (int i = 0; i < 140; ++i) e_acute += "\xC3\xA9";  // 140 characters, 280 bytes
  m.remittance = e_acute;
  std::string xml = encode_valid(m, Profile::payshap);
  auto back = decode008(xml, Profile::payshap);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->remittance == e_acute);
  m.remittance += "\xC3\xA9";
  require_encode_error(m, Profile::payshap, "FF01",
                       "CdtTrfTxInf/RmtInf/Ustrd: 141 characters (at most 140)");
}

BOOST_AUTO_TEST_CASE(fi_transfer_and_status_variants) {
  FiCreditTransfer fi = samos_009();
  fi.debtor_agent = branch("", "632005");
  fi.creditor_agent = bic("SARBZAJP");
  fi.remittance.clear();
  auto fi_back = decode009(encode_valid(fi, Profile::samos), Profile::samos);
  BOOST_REQUIRE(fi_back.ok());
  BOOST_TEST((fi_back.value() == fi));

  for (TxStatus s : {TxStatus::actc, TxStatus::accp, TxStatus::acsp, TxStatus::acsc, TxStatus::acwc,
                     TxStatus::pdng, TxStatus::rjct}) {
    StatusReport r = samos_002();
    r.status = s;
    if (s == TxStatus::rjct) r.reason_code = "AM04";
    if (s == TxStatus::acwc) r.reason_code = "NARR";
    std::string xml = encode_valid(r, Profile::samos);
    BOOST_TEST(xml.find("<TxSts>" + std::string(to_string(s)) + "</TxSts>") != std::string::npos);
    auto back = decode002(xml, Profile::samos);
    BOOST_REQUIRE(back.ok());
    BOOST_TEST((back.value() == r));
  }

  StatusRequest q = samos_028();
  q.original_msg_name_id = std::string(message_name_id(MessageType::pacs009));
  auto q_back = decode028(encode_valid(q, Profile::payshap), Profile::payshap);
  BOOST_REQUIRE(q_back.ok());
  BOOST_TEST((q_back.value() == q));
}

BOOST_AUTO_TEST_CASE(sast_rendering) {
  BOOST_TEST(format_sast_date_time(0) == "1970-01-01T02:00:00+02:00");
  BOOST_TEST(format_sast_date_time(k20250101Utc + 8 * kHourMs) == "2025-01-01T10:00:00+02:00");
  BOOST_TEST(format_sast_date_time(k20250101Utc + 8 * kHourMs + 7) ==
             "2025-01-01T10:00:00.007+02:00");
  // 22:30 UTC on 31 December is already 1 January in Johannesburg.
  BOOST_TEST(format_sast_date_time(k20250101Utc - 90 * 60'000) == "2025-01-01T00:30:00+02:00");
  BOOST_TEST(format_sast_date(k20250101Utc - 90 * 60'000) == "2025-01-01");
  BOOST_TEST(format_sast_date(k20250101Utc - 2 * kHourMs - 1) == "2024-12-31");
  // Leap day and before the epoch.
  BOOST_TEST(format_sast_date_time(951'782'400'000) == "2000-02-29T02:00:00+02:00");
  BOOST_TEST(format_sast_date_time(-1) == "1970-01-01T01:59:59.999+02:00");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(rules_the_xsd_cannot_check)

BOOST_AUTO_TEST_CASE(three_decimals_for_zar) {
  std::string xml =
      replace_once(golden(Profile::samos, MessageType::pacs008), ">7500000.00<", ">7500000.001<");
  require_valid(xml, MessageType::pacs008);  // the schema allows 5 decimals
  require_error(decode008(xml, Profile::samos), "FF01",
                "CdtTrfTxInf/IntrBkSttlmAmt: 3 decimals for ZAR (at most 2)");
}

BOOST_AUTO_TEST_CASE(decimals_for_jpy) {
  std::string xml =
      replace_once(golden(Profile::cbpr_plus, MessageType::pacs008), "Ccy=\"USD\"", "Ccy=\"JPY\"");
  require_valid(xml, MessageType::pacs008);
  require_error(decode008(xml, Profile::cbpr_plus), "FF01",
                "CdtTrfTxInf/IntrBkSttlmAmt: 2 decimals for JPY (at most 0)");
  // Whole yen decode.
  auto whole = decode008(replace_once(xml, ">12345.67<", ">12345<"), Profile::cbpr_plus);
  BOOST_REQUIRE(whole.ok());
  BOOST_TEST((whole->amount == Money{12'345, "JPY"}));
}

BOOST_AUTO_TEST_CASE(bad_amounts) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  auto with_amount = [&](const std::string& a) {
    return decode008(replace_once(xml, ">7500000.00<", ">" + a + "<"), Profile::samos);
  };
  require_error(with_amount("0.00"), "AM01", "CdtTrfTxInf/IntrBkSttlmAmt: zero amount");
  require_error(with_amount("-5.00"), "FF01",
                "CdtTrfTxInf/IntrBkSttlmAmt: '-5.00' is not a decimal amount");
  require_error(with_amount("1e3"), "FF01",
                "CdtTrfTxInf/IntrBkSttlmAmt: '1e3' is not a decimal amount");
  require_error(with_amount("99999999999999999999"), "FF01",
                "CdtTrfTxInf/IntrBkSttlmAmt: '99999999999999999999': more than 18 digits");
  // Surrounding white space is allowed by xs:decimal.
  auto spaced = with_amount(" 7500000.00\n");
  BOOST_REQUIRE(spaced.ok());
  BOOST_TEST(spaced->amount.amount_minor == 750'000'000);

  require_error(decode008(replace_once(xml, "Ccy=\"ZAR\"", "Ccy=\"USD\""), Profile::samos), "AM03",
                "CdtTrfTxInf/IntrBkSttlmAmt/@Ccy: USD not allowed under samos (ZAR only)");
  require_error(decode008(replace_once(xml, "Ccy=\"ZAR\"", "Ccy=\"XYZ\""), Profile::samos), "AM03",
                "CdtTrfTxInf/IntrBkSttlmAmt/@Ccy: 'XYZ' is not an active ISO 4217 currency");
  require_error(decode008(replace_once(xml, " Ccy=\"ZAR\"", ""), Profile::samos), "FF01",
                "CdtTrfTxInf/IntrBkSttlmAmt/@Ccy: missing");

  CreditTransfer m = samos_008();
  m.amount.amount_minor = 0;
  require_encode_error(m, Profile::samos, "AM01", "CdtTrfTxInf/IntrBkSttlmAmt: zero amount");
  m.amount = Money{100, "USD"};
  require_encode_error(m, Profile::payshap, "AM03",
                       "CdtTrfTxInf/IntrBkSttlmAmt/@Ccy: USD not allowed under payshap (ZAR only)");
  m.amount = Money{-100, "ZAR"};
  require_encode_error(m, Profile::samos, "FF01", "CdtTrfTxInf/IntrBkSttlmAmt: negative amount");
  m.amount = Money{1'000'000'000'000'000'000, "ZAR"};
  require_encode_error(m, Profile::samos, "FF01",
                       "CdtTrfTxInf/IntrBkSttlmAmt: more than 18 digits");
  m.amount = Money{100, "zar"};
  require_encode_error(m, Profile::samos, "FF01",
                       "CdtTrfTxInf/IntrBkSttlmAmt/@Ccy: 'zar' is not a currency code [A-Z]{3}");
}

BOOST_AUTO_TEST_CASE(number_of_transactions) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  std::string two = replace_once(xml, "<NbOfTxs>1</NbOfTxs>", "<NbOfTxs>2</NbOfTxs>");
  require_valid(two, MessageType::pacs008);
  require_error(decode008(two, Profile::samos), "FF01",
                "GrpHdr/NbOfTxs: 2 but the message has 1 CdtTrfTxInf");

  // Two transactions, NbOfTxs 2: consistent, but this codec carries one.
  auto a = xml.find("    <CdtTrfTxInf>");
  auto b = xml.find("    </CdtTrfTxInf>\n") + std::string("    </CdtTrfTxInf>\n").size();
  std::string tx = xml.substr(a, b - a);
  std::string doubled = two;
  doubled.insert(doubled.find("  </FIToFICstmrCdtTrf>"), tx);
  require_valid(doubled, MessageType::pacs008);
  require_error(decode008(doubled, Profile::samos), "FF01",
                "CdtTrfTxInf: 2 transactions (exactly 1 supported)");

  require_error(decode008(replace_once(xml, "<NbOfTxs>1</NbOfTxs>", "<NbOfTxs>one</NbOfTxs>"),
                          Profile::samos),
                "FF01", "GrpHdr/NbOfTxs: 'one' is not a number [0-9]{1,15}");
  auto leading_zero = decode008(replace_once(xml, "<NbOfTxs>1</NbOfTxs>", "<NbOfTxs>001</NbOfTxs>"),
                                Profile::samos);
  BOOST_TEST(leading_zero.ok());

  // pacs.002 and pacs.028: one transaction.
  std::string sts = golden(Profile::samos, MessageType::pacs002);
  auto s = sts.find("    <TxInfAndSts>");
  auto e = sts.find("    </TxInfAndSts>\n") + std::string("    </TxInfAndSts>\n").size();
  std::string sts2 = sts;
  sts2.insert(e, sts.substr(s, e - s));
  require_valid(sts2, MessageType::pacs002);
  require_error(decode002(sts2, Profile::samos), "FF01",
                "TxInfAndSts: 2 transactions (exactly 1 supported)");
}

BOOST_AUTO_TEST_CASE(group_totals_must_equal_the_transaction) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  auto with = [&](const std::string& extra) {
    return replace_once(xml, "      <NbOfTxs>1</NbOfTxs>\n",
                        "      <NbOfTxs>1</NbOfTxs>\n" + extra);
  };
  std::string wrong = with("      <TtlIntrBkSttlmAmt Ccy=\"ZAR\">7500000.01</TtlIntrBkSttlmAmt>\n");
  require_valid(wrong, MessageType::pacs008);
  require_error(decode008(wrong, Profile::samos), "FF01",
                "GrpHdr/TtlIntrBkSttlmAmt: 7500000.01 ZAR but the transactions sum to "
                "7500000.00 ZAR");
  auto right =
      decode008(with("      <TtlIntrBkSttlmAmt Ccy=\"ZAR\">7500000.00</TtlIntrBkSttlmAmt>\n"),
                Profile::samos);
  BOOST_REQUIRE(right.ok());
  BOOST_TEST((right.value() == samos_008()));

  std::string ctrl = with("      <CtrlSum>7500000.5</CtrlSum>\n");
  require_valid(ctrl, MessageType::pacs008);
  require_error(decode008(ctrl, Profile::samos), "FF01",
                "GrpHdr/CtrlSum: '7500000.5' but the transactions sum to 7500000.00");
  BOOST_TEST(decode008(with("      <CtrlSum>7500000</CtrlSum>\n"), Profile::samos).ok());
}

BOOST_AUTO_TEST_CASE(cbpr_plus_requirements) {
  CreditTransfer m = cbpr_008();
  m.uetr.clear();
  require_encode_error(m, Profile::cbpr_plus, "FF01",
                       "CdtTrfTxInf/PmtId/UETR: missing (mandatory under CBPR+)");
  BOOST_TEST(encode(m, Profile::payshap).ok() == false);  // USD is not PayShap's either
  std::string no_uetr =
      replace_once(golden(Profile::cbpr_plus, MessageType::pacs008),
                   "        <UETR>e9b1b1d4-3c2e-4b8e-9f53-1a2b3c4d5e6f</UETR>\n", "");
  require_valid(no_uetr, MessageType::pacs008);
  require_error(decode008(no_uetr, Profile::cbpr_plus), "FF01",
                "CdtTrfTxInf/PmtId/UETR: missing (mandatory under CBPR+)");

  m = cbpr_008();
  m.charge_bearer = ChargeBearer::slev;
  require_encode_error(m, Profile::cbpr_plus, "FF01",
                       "CdtTrfTxInf/ChrgBr: SLEV not allowed under CBPR+ (DEBT, CRED or SHAR)");
  std::string slev = replace_once(golden(Profile::cbpr_plus, MessageType::pacs008),
                                  "<ChrgBr>SHAR</ChrgBr>", "<ChrgBr>SLEV</ChrgBr>");
  require_valid(slev, MessageType::pacs008);
  require_error(decode008(slev, Profile::cbpr_plus), "FF01",
                "CdtTrfTxInf/ChrgBr: SLEV not allowed under CBPR+ (DEBT, CRED or SHAR)");
  for (ChargeBearer c : {ChargeBearer::debt, ChargeBearer::cred, ChargeBearer::shar}) {
    m.charge_bearer = c;
    encode_valid(m, Profile::cbpr_plus);
  }

  m = cbpr_008();
  m.instructing_agent.reset();
  require_encode_error(m, Profile::cbpr_plus, "FF01",
                       "CdtTrfTxInf/InstgAgt: missing (mandatory under CBPR+)");
  m = cbpr_008();
  m.instructed_agent = branch("", "250655");
  require_encode_error(m, Profile::cbpr_plus, "FF01",
                       "CdtTrfTxInf/InstdAgt/FinInstnId/BICFI: missing (mandatory under CBPR+)");
  m = cbpr_008();
  m.settlement_date.clear();
  require_encode_error(m, Profile::cbpr_plus, "FF01",
                       "CdtTrfTxInf/IntrBkSttlmDt: missing (mandatory under CBPR+)");

  FiCreditTransfer fi = cbpr_009();
  fi.uetr.clear();
  require_encode_error(fi, Profile::cbpr_plus, "FF01",
                       "CdtTrfTxInf/PmtId/UETR: missing (mandatory under CBPR+)");
  StatusRequest q = cbpr_028();
  q.original_uetr.clear();
  require_encode_error(q, Profile::cbpr_plus, "FF01",
                       "TxInf/OrgnlUETR: missing (mandatory under CBPR+)");
  StatusReport r = cbpr_002();
  r.original_uetr.clear();
  require_encode_error(r, Profile::cbpr_plus, "FF01",
                       "TxInfAndSts/OrgnlUETR: missing (mandatory under CBPR+)");
  // The same without CBPR+ is fine.
  encode_valid(r, Profile::samos);

  // Group-level agents are read when the transaction has none.
  std::string xml = golden(Profile::cbpr_plus, MessageType::pacs008);
  std::string instg =
      "      <InstgAgt>\n        <FinInstnId>\n          <BICFI>ABSAZAJJXXX</BICFI>\n"
      "        </FinInstnId>\n      </InstgAgt>\n";
  std::string moved = replace_once(xml, instg, "");
  moved = replace_once(moved, "      </SttlmInf>\n", "      </SttlmInf>\n" + instg);
  require_valid(moved, MessageType::pacs008);
  auto from_group = decode008(moved, Profile::cbpr_plus);
  BOOST_REQUIRE_MESSAGE(from_group.ok(), why(from_group));
  BOOST_TEST((from_group.value() == cbpr_008()));
}

BOOST_AUTO_TEST_CASE(status_codes_and_reasons) {
  std::string xml = golden(Profile::samos, MessageType::pacs002);
  std::string unknown = replace_once(xml, "<TxSts>ACSC</TxSts>", "<TxSts>XXXX</TxSts>");
  require_valid(unknown, MessageType::pacs002);  // any 1..4 characters pass the schema
  require_error(decode002(unknown, Profile::samos), "FF01",
                "TxInfAndSts/TxSts: unknown status 'XXXX' (known: ACTC ACCP ACSP ACSC ACWC PDNG "
                "RJCT)");
  require_error(decode002(replace_once(xml, "      <TxSts>ACSC</TxSts>\n", ""), Profile::samos),
                "FF01", "TxInfAndSts/TxSts: missing");

  StatusReport r = samos_002();
  r.status = TxStatus::rjct;
  require_encode_error(r, Profile::samos, "FF01",
                       "TxInfAndSts/StsRsnInf/Rsn/Cd: missing (required with TxSts RJCT)");
  r.reason_code = "ac04";
  require_encode_error(r, Profile::samos, "FF01",
                       "TxInfAndSts/StsRsnInf/Rsn/Cd: 'ac04' is not a reason code (4 of A-Z, 0-9)");
  r.reason_code = "AC4";
  require_encode_error(r, Profile::samos, "FF01",
                       "TxInfAndSts/StsRsnInf/Rsn/Cd: 'AC4' is not a reason code (4 of A-Z, 0-9)");
  r.reason_code = "AC04";
  r.additional_info = std::string(106, 'x');
  require_encode_error(r, Profile::samos, "FF01",
                       "TxInfAndSts/StsRsnInf/AddtlInf: 106 characters (at most 105)");

  std::string rjct = golden(Profile::payshap, MessageType::pacs002);
  std::string no_reason = cut(rjct, "        <Rsn>", "</Rsn>\n");
  require_valid(no_reason, MessageType::pacs002);
  require_error(decode002(no_reason, Profile::payshap), "FF01",
                "TxInfAndSts/StsRsnInf/Rsn/Cd: missing (required with TxSts RJCT)");
  std::string proprietary = replace_once(rjct, "<Cd>AC04</Cd>", "<Prtry>CLOSED</Prtry>");
  require_valid(proprietary, MessageType::pacs002);
  require_error(decode002(proprietary, Profile::payshap), "FF01",
                "TxInfAndSts/StsRsnInf/Rsn/Prtry: not supported (only Cd)");
}

BOOST_AUTO_TEST_CASE(other_code_lists) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  require_error(decode008(replace_once(xml, "<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>BOTH</ChrgBr>"),
                          Profile::samos),
                "FF01",
                "CdtTrfTxInf/ChrgBr: unknown charge bearer 'BOTH' (known: DEBT CRED SHAR SLEV)");
  require_error(
      decode008(replace_once(xml, "<SttlmMtd>CLRG</SttlmMtd>", "<SttlmMtd>RTGS</SttlmMtd>"),
                Profile::samos),
      "FF01",
      "GrpHdr/SttlmInf/SttlmMtd: unknown settlement method 'RTGS' (known: INDA INGA COVE "
      "CLRG)");
}

BOOST_AUTO_TEST_CASE(field_formats_on_encode) {
  struct Case {
    const char* name;
    void (*mutate)(CreditTransfer&);
    const char* message;
  };
  const Case cases[] = {
      {"msg id 36", [](CreditTransfer& m) { m.msg_id = std::string(36, 'M'); },
       "GrpHdr/MsgId: 36 characters (at most 35)"},
      {"msg id empty", [](CreditTransfer& m) { m.msg_id.clear(); }, "GrpHdr/MsgId: missing"},
      {"date-time", [](CreditTransfer& m) { m.creation_date_time = "2025-01-01 10:00:00"; },
       "GrpHdr/CreDtTm: '2025-01-01 10:00:00' is not a date-time "
       "YYYY-MM-DDThh:mm:ss[.fff][zone]"},
      {"date-time hour 24",
       [](CreditTransfer& m) { m.creation_date_time = "2025-01-01T24:00:00+02:00"; },
       "GrpHdr/CreDtTm: '2025-01-01T24:00:00+02:00' is not a date-time "
       "YYYY-MM-DDThh:mm:ss[.fff][zone]"},
      {"date 30 Feb", [](CreditTransfer& m) { m.settlement_date = "2025-02-30"; },
       "CdtTrfTxInf/IntrBkSttlmDt: '2025-02-30' is not a date YYYY-MM-DD"},
      {"e2e missing", [](CreditTransfer& m) { m.end_to_end_id.clear(); },
       "CdtTrfTxInf/PmtId/EndToEndId: missing"},
      {"upper-case UETR",
       [](CreditTransfer& m) { m.uetr = "8A562C67-CA16-48BA-B074-65581BE6F011"; },
       "CdtTrfTxInf/PmtId/UETR: '8A562C67-CA16-48BA-B074-65581BE6F011' is not a lower-case UUID "
       "v4"},
      {"UUID v1", [](CreditTransfer& m) { m.uetr = "8a562c67-ca16-18ba-b074-65581be6f011"; },
       "CdtTrfTxInf/PmtId/UETR: '8a562c67-ca16-18ba-b074-65581be6f011' is not a lower-case UUID "
       "v4"},
      {"lower-case BIC", [](CreditTransfer& m) { m.debtor_agent.bic = "absazajj"; },
       "CdtTrfTxInf/DbtrAgt/FinInstnId/BICFI: 'absazajj' is not a BIC (8 or 11 characters, ISO "
       "9362)"},
      {"BIC 9", [](CreditTransfer& m) { m.instructed_agent->bic = "SARBZAJPX"; },
       "CdtTrfTxInf/InstdAgt/FinInstnId/BICFI: 'SARBZAJPX' is not a BIC (8 or 11 characters, ISO "
       "9362)"},
      {"agent without id", [](CreditTransfer& m) { m.creditor_agent = Agent{}; },
       "CdtTrfTxInf/CdtrAgt/FinInstnId: BICFI or ClrSysMmbId/MmbId required"},
      {"clearing code without member",
       [](CreditTransfer& m) {
         m.creditor_agent = Agent{"FIRNZAJJ", "ZANCC", ""};
       },
       "CdtTrfTxInf/CdtrAgt/FinInstnId/ClrSysMmbId/MmbId: missing (ClrSysId/Cd is given)"},
      {"clearing code 6", [](CreditTransfer& m) { m.creditor_agent.clearing_system = "ZANCCX"; },
       "CdtTrfTxInf/CdtrAgt/FinInstnId/ClrSysMmbId/ClrSysId/Cd: 6 characters (at most 5)"},
      {"bad IBAN",
       [](CreditTransfer& m) {
         m.creditor_account = Account{"DE89 3704", true};
       },
       "CdtTrfTxInf/CdtrAcct/Id/IBAN: 'DE89 3704' is not an IBAN"},
      {"account 35", [](CreditTransfer& m) { m.debtor_account.id = std::string(35, '1'); },
       "CdtTrfTxInf/DbtrAcct/Id/Othr/Id: 35 characters (at most 34)"},
      {"no debtor name", [](CreditTransfer& m) { m.debtor_name.clear(); },
       "CdtTrfTxInf/Dbtr/Nm: missing"},
      {"control char", [](CreditTransfer& m) { m.creditor_name = "Sipho\x01"; },
       "CdtTrfTxInf/Cdtr/Nm: character U+0001 at byte 5 cannot appear in XML"},
      {"invalid UTF-8", [](CreditTransfer& m) { m.creditor_name = "Sipho \xE9"; },
       "CdtTrfTxInf/Cdtr/Nm: invalid UTF-8 at byte 6"},
      {"remittance 141", [](CreditTransfer& m) { m.remittance = std::string(141, 'r'); },
       "CdtTrfTxInf/RmtInf/Ustrd: 141 characters (at most 140)"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      CreditTransfer m = samos_008();
      c.mutate(m);
      require_encode_error(m, Profile::samos, "FF01", c.message);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(malformed_inbound)

BOOST_AUTO_TEST_CASE(truncated_document) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  std::string half = xml.substr(0, xml.find("<Dbtr>") + 3);  // ends inside a tag: "<Db"
  require_error_prefix(decode008(half, Profile::samos), "FF01", "not well-formed XML: line 32: ");
  // Cut after a complete element: the open elements are never closed.
  std::string open = xml.substr(0, xml.find("</GrpHdr>"));
  auto r = decode008(open, Profile::samos);
  require_error_prefix(r, "FF01", "not well-formed XML: line 11: ");
  BOOST_TEST(r.error().message.find("Premature end of data") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(wrong_namespace) {
  std::string xml = replace_once(golden(Profile::samos, MessageType::pacs008), "pacs.008.001.08\"",
                                 "pacs.008.001.10\"");
  require_error(decode008(xml, Profile::samos), "FF01",
                "Document: namespace 'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.10' is not "
                "pacs.008.001.08 (expected 'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08')");
  require_error(peek_message_type(xml), "FF01",
                "Document: namespace 'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.10' is none of "
                "pacs.008.001.08, pacs.009.001.08, pacs.028.001.03, pacs.002.001.10");

  std::string v12 = replace_once(golden(Profile::samos, MessageType::pacs002), "pacs.002.001.10\"",
                                 "pacs.002.001.12\"");
  require_error(decode002(v12, Profile::samos), "FF01",
                "Document: namespace 'urn:iso:std:iso:20022:tech:xsd:pacs.002.001.12' is not "
                "pacs.002.001.10 (expected 'urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10')");

  // No namespace at all.
  std::string none = replace_once(golden(Profile::samos, MessageType::pacs028),
                                  " xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.028.001.03\"", "");
  require_error(decode028(none, Profile::samos), "FF01",
                "Document: namespace '' is not pacs.028.001.03 (expected "
                "'urn:iso:std:iso:20022:tech:xsd:pacs.028.001.03')");

  // A pacs.002 handed to the pacs.008 decoder.
  require_error_prefix(decode008(golden(Profile::samos, MessageType::pacs002), Profile::samos),
                       "FF01",
                       "Document: namespace 'urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10'");

  // An element in a foreign namespace inside the message.
  std::string foreign = replace_once(golden(Profile::samos, MessageType::pacs008),
                                     "<MsgId>SAMOS-20250101-0001</MsgId>",
                                     "<MsgId xmlns=\"urn:other\">SAMOS-20250101-0001</MsgId>");
  require_error(decode008(foreign, Profile::samos), "FF01",
                "GrpHdr/MsgId: element in namespace 'urn:other' (expected "
                "'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08')");
}

BOOST_AUTO_TEST_CASE(wrong_root) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  std::string doc = replace_once(replace_once(xml, "<Document ", "<Doc "), "</Document>", "</Doc>");
  require_error(decode008(doc, Profile::samos), "FF01", "root element 'Doc' (expected Document)");
  require_error(peek_message_type(doc), "FF01", "root element 'Doc' (expected Document)");

  std::string other_msg =
      replace_once(replace_once(xml, "<FIToFICstmrCdtTrf>", "<FIToFIPmtStsRpt>"),
                   "</FIToFICstmrCdtTrf>", "</FIToFIPmtStsRpt>");
  require_error(decode008(other_msg, Profile::samos), "FF01",
                "Document: 'FIToFIPmtStsRpt' where FIToFICstmrCdtTrf was expected");

  require_error(decode008("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\"/>",
                          Profile::samos),
                "FF01", "Document: missing FIToFICstmrCdtTrf");
  require_error(decode008("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\">"
                          "<FIToFICstmrCdtTrf/></Document>",
                          Profile::samos),
                "FF01", "GrpHdr: missing");
}

BOOST_AUTO_TEST_CASE(doctype_with_entities) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  std::string header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  std::string body = xml.substr(header.size());
  const std::string refused =
      "DOCTYPE not allowed (no DTDs or entity declarations in ISO 20022 messages)";

  std::string laughs = header +
                       "<!DOCTYPE Document [\n"
                       " <!ENTITY lol \"lol\">\n"
                       " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                       " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
                       " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                       "]>\n" +
                       replace_once(body, "Sipho Dlamini", "&lol3;");
  require_error(decode008(laughs, Profile::samos), "FF01", "line 2: " + refused);

  std::string xxe = header + "<!DOCTYPE Document [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n" +
                    replace_once(body, "Sipho Dlamini", "&xxe;");
  require_error(decode008(xxe, Profile::samos), "FF01", "line 2: " + refused);
  require_error(peek_message_type(xxe), "FF01", "line 2: " + refused);
  require_error(validator(MessageType::pacs008).validate(xxe), "FF01", "line 2: " + refused);

  // An entity reference without a DOCTYPE is simply undefined.
  require_error(decode008(replace_once(xml, "Sipho Dlamini", "&xxe;"), Profile::samos), "FF01",
                "not well-formed XML: line 65: Entity 'xxe' not defined");
}

BOOST_AUTO_TEST_CASE(oversize_and_empty_input) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  xsd::ParseLimits small{1000};
  BOOST_REQUIRE(xml.size() > 1000);
  require_error(decode_credit_transfer(xml, Profile::samos, small), "FF01",
                "input is " + std::to_string(xml.size()) + " bytes, over the limit of 1000");
  require_error(peek_message_type(xml, small), "FF01",
                "input is " + std::to_string(xml.size()) + " bytes, over the limit of 1000");
  // Default limit 1 MiB: a valid message padded with a comment past it.
  std::string padded = replace_once(xml, "<FIToFICstmrCdtTrf>",
                                    "<!--" + std::string(1 << 20, 'x') + "--><FIToFICstmrCdtTrf>");
  require_error(decode008(padded, Profile::samos), "FF01",
                "input is " + std::to_string(padded.size()) + " bytes, over the limit of 1048576");
  BOOST_TEST(decode_credit_transfer(padded, Profile::samos, {2u << 20}).ok());

  require_error(decode008("", Profile::samos), "FF01", "empty input: not an XML document");
  require_error(decode002("", Profile::samos), "FF01", "empty input: not an XML document");
  require_error(peek_message_type(""), "FF01", "empty input: not an XML document");
  require_error_prefix(decode008("   \n", Profile::samos), "FF01",
                       "not well-formed XML: line 2: Start tag expected");
}

BOOST_AUTO_TEST_CASE(non_utf8_bytes) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  // "Sipho Dlamini" with a Latin-1 e-acute: a lone 0xE9 byte.
  std::string latin1 = replace_once(xml, "Sipho Dlamini", "Sipho D\xE9lamini");
  size_t at = latin1.find('\xE9');
  require_error(decode008(latin1, Profile::samos), "FF01",
                "byte offset " + std::to_string(at) + ": invalid UTF-8");
  // Overlong encoding of '/' and a UTF-16 surrogate encoded in UTF-8.
  std::string overlong = replace_once(xml, "Sipho", "Si\xC0\xAFpho");
  require_error(decode008(overlong, Profile::samos), "FF01",
                "byte offset " + std::to_string(overlong.find('\xC0')) + ": invalid UTF-8");
  std::string surrogate = replace_once(xml, "Sipho", "Si\xED\xA0\x80pho");
  require_error(decode008(surrogate, Profile::samos), "FF01",
                "byte offset " + std::to_string(surrogate.find('\xED')) + ": invalid UTF-8");
  // Declared as another encoding.
  std::string declared = replace_once(xml, "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
  require_error(decode008(declared, Profile::samos), "FF01",
                "encoding declaration 'ISO-8859-1' (only UTF-8 is accepted)");
}

BOOST_AUTO_TEST_CASE(structure_problems) {
  std::string xml = golden(Profile::samos, MessageType::pacs008);
  require_error(decode008(cut(xml, "      <Dbtr>", "</Dbtr>\n"), Profile::samos), "FF01",
                "CdtTrfTxInf/Dbtr: missing");
  require_error(
      decode008(replace_once(xml, "<EndToEndId>E2E-0001</EndToEndId>", "<EndToEndId></EndToEndId>"),
                Profile::samos),
      "FF01", "CdtTrfTxInf/PmtId/EndToEndId: empty");
  require_error(decode008(replace_once(xml, "<InstrId>INSTR-0001</InstrId>",
                                       "<InstrId>INSTR-0001</InstrId><InstrId>X</InstrId>"),
                          Profile::samos),
                "FF01", "CdtTrfTxInf/PmtId/InstrId: 2 occurrences (this codec reads one)");
  require_error(decode008(replace_once(xml, "<MsgId>SAMOS-20250101-0001</MsgId>",
                                       "<MsgId><b>SAMOS</b></MsgId>"),
                          Profile::samos),
                "FF01", "GrpHdr/MsgId: unexpected element 'b' in a text field");
  require_error(
      decode008(replace_once(xml, "<Othr>\n            <Id>62012345678</Id>\n          </Othr>",
                             "<IBAN>DE89370400440532013000</IBAN><Othr><Id>1</Id></Othr>"),
                Profile::samos),
      "FF01", "CdtTrfTxInf/CdtrAcct/Id: both IBAN and Othr (a choice of one)");
  require_error(decode008(replace_once(xml, "<UETR>8a562c67-ca16-48ba-b074-65581be6f011</UETR>",
                                       "<UETR>not-a-uuid</UETR>"),
                          Profile::samos),
                "FF01", "CdtTrfTxInf/PmtId/UETR: 'not-a-uuid' is not a lower-case UUID v4");
  // CDATA and character references are text like any other.
  auto cdata = decode008(
      replace_once(xml, "<Nm>Sipho Dlamini</Nm>", "<Nm><![CDATA[Sipho]]>&#32;Dl&#x61;mini</Nm>"),
      Profile::samos);
  BOOST_REQUIRE(cdata.ok());
  BOOST_TEST(cdata->creditor_name == "Sipho Dlamini");
  // A namespace prefix instead of a default namespace is the same document.
  std::string sts = golden(Profile::samos, MessageType::pacs002);
  std::string prefixed;
  for (size_t i = 0; i < sts.size(); ++i) {
    prefixed += sts[i];
    if (sts[i] == '<' && i + 1 < sts.size() && sts[i + 1] != '?') {
      if (sts[i + 1] == '/') prefixed += sts[++i];
      prefixed += "p:";
    }
  }
  prefixed = replace_once(prefixed, " xmlns=", " xmlns:p=");
  require_valid(prefixed, MessageType::pacs002);
  auto from_prefixed = decode002(prefixed, Profile::samos);
  BOOST_REQUIRE_MESSAGE(from_prefixed.ok(), why(from_prefixed));
  BOOST_TEST((from_prefixed.value() == samos_002()));
  // Elements the codec does not model are ignored (the XSD allows them).
  std::string extra =
      replace_once(xml, "      <ChrgBr>SLEV</ChrgBr>\n",
                   "      <SttlmPrty>HIGH</SttlmPrty>\n      <ChrgBr>SLEV</ChrgBr>\n");
  require_valid(extra, MessageType::pacs008);
  auto with_extra = decode008(extra, Profile::samos);
  BOOST_REQUIRE(with_extra.ok());
  BOOST_TEST((with_extra.value() == samos_008()));
}

BOOST_AUTO_TEST_CASE(peek) {
  for (Profile p : kProfiles) {
    for (MessageType t :
         {MessageType::pacs008, MessageType::pacs009, MessageType::pacs028, MessageType::pacs002}) {
      auto r = peek_message_type(golden(p, t));
      BOOST_REQUIRE(r.ok());
      BOOST_TEST((r.value() == t));
    }
  }
  require_error_prefix(peek_message_type("<Document"), "FF01", "not well-formed XML: line 1: ");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(robustness)

// Re-encodes a decoded value with the same profile: it must encode, be
// valid against the XSD and decode to the same value.
template <class M, class Decode>
void require_reencodes(const M& m, Profile p, Decode decode) {
  std::string xml = encode_valid(m, p);
  auto again = decode(xml, p);
  BOOST_REQUIRE_MESSAGE(again.ok(), why(again));
  BOOST_REQUIRE((again.value() == m));
}

BOOST_AUTO_TEST_CASE(mutated_messages_error_or_reencode) {
  struct Base {
    Profile profile;
    MessageType type;
    std::string xml;
  };
  std::vector<Base> bases;
  for (Profile p : kProfiles)
    for (MessageType t :
         {MessageType::pacs008, MessageType::pacs009, MessageType::pacs028, MessageType::pacs002})
      bases.push_back({p, t, golden(p, t)});

  std::mt19937 rng(20250101);  // fixed seed: the same 2,000 mutations every run
  auto below = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  size_t decoded = 0, rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    const Base& base = bases[below(bases.size())];
    std::string s = base.xml;
    int edits = 1 + static_cast<int>(below(3));
    for (int k = 0; k < edits && !s.empty(); ++k) {
      size_t at = below(s.size());
      switch (below(5)) {
        case 0:
          s.resize(at);
          break;  // truncate
        case 1:
          s[at] = static_cast<char>(s[at] ^ (1u << below(8)));
          break;  // flip a bit
        case 2:
          s[at] = static_cast<char>(rng() & 0xFF);
          break;  // random byte
        case 3:
          s.erase(at, 1 + below(8));
          break;  // delete bytes
        default:
          s.insert(at, 1, "<>&;/\"'=x0\xC3"[below(12)]);
          break;  // insert syntax
      }
    }
    BOOST_TEST_CONTEXT("mutation " << i << " of " << to_string(base.profile) << " "
                                   << message_name_id(base.type)) {
      bool ok = false;
      std::string message;
      switch (base.type) {
        case MessageType::pacs008: {
          auto r = decode008(s, base.profile);
          if ((ok = r.ok()))
            require_reencodes(r.value(), base.profile, decode008);
          else
            message = r.error().message;
          break;
        }
        case MessageType::pacs009: {
          auto r = decode009(s, base.profile);
          if ((ok = r.ok()))
            require_reencodes(r.value(), base.profile, decode009);
          else
            message = r.error().message;
          break;
        }
        case MessageType::pacs028: {
          auto r = decode028(s, base.profile);
          if ((ok = r.ok()))
            require_reencodes(r.value(), base.profile, decode028);
          else
            message = r.error().message;
          break;
        }
        case MessageType::pacs002: {
          auto r = decode002(s, base.profile);
          if ((ok = r.ok()))
            require_reencodes(r.value(), base.profile, decode002);
          else
            message = r.error().message;
          break;
        }
      }
      if (ok) {
        ++decoded;
      } else {
        ++rejected;
        BOOST_REQUIRE(!message.empty());
      }
      // peek never crashes either, and agrees whenever the decoder accepted.
      auto peeked = peek_message_type(s);
      if (ok) BOOST_TEST((peeked.ok() && peeked.value() == base.type));
    }
  }
  BOOST_TEST_MESSAGE("mutations: " << decoded << " decoded, " << rejected << " rejected");
  // Both outcomes occur, so the loop exercises the decoders and the checks.
  BOOST_TEST(decoded > 50u);
  BOOST_TEST(rejected > 500u);
}

BOOST_AUTO_TEST_SUITE_END()
