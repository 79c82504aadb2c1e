// The adapters' side of each wire format, without sockets: what a rail's
// answer becomes (a RailResponse and a verdict for the breaker), and that a
// malformed answer is a precise error that changes nothing: the next good
// answer for the same payment is still matched.
#define BOOST_TEST_MODULE protocols
#include <boost/test/unit_test.hpp>

#include "clearing/acb.hpp"
#include "clearing/eft.hpp"
#include "clearing/iso20022.hpp"
#include "clearing/iso8583.hpp"
#include "clearing/mt103.hpp"
#include "clearing/mx_rail.hpp"
#include "clearing/rail_common.hpp"
#include "clearing/rtc.hpp"
#include "clearing/swift.hpp"
#include "clearing/xsd.hpp"
#include "fixtures.hpp"

#include <map>

using namespace payengine;
using namespace payengine::clearing;

namespace {

const std::string kPayment = "pay_0190f1b2c3d4e5f60718293a4b5c6d7e";
const int64_t kNow = sast_to_epoch_ms(LocalDate{2026, 11, 26}, TimeOfDay{10, 0});

// Every ISO 20022 message these tests make an adapter produce is validated
// against its XSD from ../shared/iso20022.
void check_xsd(const std::string& xml) {
  static std::map<iso20022::MessageType, xsd::Validator> validators = [] {
    std::map<iso20022::MessageType, xsd::Validator> v;
    const std::string dir = std::string(PAYENGINE_SHARED_DIR) + "/iso20022/";
    v.emplace(iso20022::MessageType::pacs008, std::move(xsd::Validator::load(dir + "pacs.008.001.08.xsd").value()));
    v.emplace(iso20022::MessageType::pacs009, std::move(xsd::Validator::load(dir + "pacs.009.001.08.xsd").value()));
    v.emplace(iso20022::MessageType::pacs028, std::move(xsd::Validator::load(dir + "pacs.028.001.03.xsd").value()));
    v.emplace(iso20022::MessageType::pacs002, std::move(xsd::Validator::load(dir + "pacs.002.001.10.xsd").value()));
    return v;
  }();
  auto type = iso20022::peek_message_type(xml);
  BOOST_REQUIRE_MESSAGE(type.ok(), (type.ok() ? std::string() : type.error().message));
  auto valid = validators.at(*type).validate(xml);
  BOOST_CHECK_MESSAGE(valid.ok(), (valid.ok() ? std::string() : valid.error().message));
}

// The frames an adapter produced; the XML ones checked against their XSD.
std::vector<Outbound> checked(Result<std::vector<Outbound>> frames) {
  BOOST_REQUIRE_MESSAGE(frames.ok(), (frames.ok() ? std::string() : frames.error().message));
  for (auto& f : *frames)
    if (looks_like_xml(f.body)) check_xsd(f.body);
  return *frames;
}

SubmitRequest request(const PaymentInstruction& p, Rail rail, uint32_t attempt = 1) {
  return SubmitRequest{kPayment, attempt, rail, &p};
}

iso20022::StatusReport report(iso20022::TxStatus status, const std::string& reason = "") {
  iso20022::StatusReport r;
  r.msg_id = "R1";
  r.creation_date_time = "2026-11-26T10:00:00+02:00";
  r.original_msg_id = tx_id_for(kPayment) + "S1";
  r.original_msg_name_id = "pacs.008.001.08";
  r.original_end_to_end_id = "E2E-0001";
  r.original_tx_id = tx_id_for(kPayment);
  r.original_uetr = uetr_for(kPayment);
  r.status = status;
  r.reason_code = reason;
  return r;
}

std::vector<Inbound> decode_ok(RailProtocol& p, const std::string& frame) {
  std::vector<Outbound> follow;
  auto in = p.decode(frame, kNow, follow);
  BOOST_REQUIRE_MESSAGE(in.ok(), (in.ok() ? std::string() : in.error().message));
  return *in;
}

// The frame is refused with a code starting with `code`, a message naming
// `words`, and no frame to send.
void decode_fails(RailProtocol& p, const std::string& frame, const std::string& code, const std::string& words) {
  std::vector<Outbound> follow;
  auto in = p.decode(frame, kNow, follow);
  BOOST_REQUIRE(!in.ok());
  BOOST_CHECK_MESSAGE(in.error().code.rfind(code, 0) == 0, in.error().code << " is not " << code);
  BOOST_CHECK_MESSAGE(in.error().message.find(words) != std::string::npos,
                      "'" << in.error().message << "' does not mention '" << words << "'");
  BOOST_CHECK(follow.empty());
}

}  // namespace

BOOST_AUTO_TEST_CASE(samos_pacs002_statuses_and_malformed_answers) {
  auto p = make_mx_protocol(samos_config());
  PaymentInstruction pi = testing::valid_instruction();
  pi.amount.amount_minor = 600'000'000;
  auto sent = checked(p->submit(request(pi, Rail::samos), kNow));
  BOOST_REQUIRE_EQUAL(sent.size(), 1u);
  BOOST_CHECK_NE(sent.at(0).body.find("<TxId>" + tx_id_for(kPayment) + "</TxId>"), std::string::npos);
  BOOST_CHECK_NE(sent.at(0).body.find("<UETR>" + uetr_for(kPayment) + "</UETR>"), std::string::npos);

  auto settled = *iso20022::encode(report(iso20022::TxStatus::acsc), iso20022::Profile::samos);
  // Malformed answers: each a precise error, nothing produced.
  std::string wrong_ns = settled;
  wrong_ns.replace(wrong_ns.find("pacs.002.001.10"), 15, "pacs.002.001.12");
  std::string unknown_status = settled;
  unknown_status.replace(unknown_status.find("<TxSts>ACSC</TxSts>"), 19, "<TxSts>WHAT</TxSts>");
  decode_fails(*p, settled.substr(0, settled.size() / 2), "FF01", "not well-formed");
  decode_fails(*p, wrong_ns, "FF01", "pacs.002.001.12");
  decode_fails(*p, unknown_status, "FF01", "WHAT");
  // Then the good answer still settles the payment.
  auto in = decode_ok(*p, settled);
  BOOST_REQUIRE_EQUAL(in.size(), 1u);
  BOOST_CHECK_EQUAL(in[0].response.payment_id, kPayment);
  BOOST_CHECK(in[0].response.kind == RailResponse::Kind::final);
  BOOST_CHECK(in[0].response.accepted);
  BOOST_CHECK(in[0].verdict == Verdict::success);

  // A business rejection does not count against the breaker; an agent
  // being offline does, and is retryable.
  auto closed = decode_ok(*p, *iso20022::encode(report(iso20022::TxStatus::rjct, "AC04"), iso20022::Profile::samos));
  BOOST_CHECK(closed[0].response.kind == RailResponse::Kind::final);
  BOOST_CHECK_EQUAL(closed[0].response.reason_code, "AC04");
  BOOST_CHECK(closed[0].verdict == Verdict::ignored);
  auto offline = decode_ok(*p, *iso20022::encode(report(iso20022::TxStatus::rjct, "AB08"), iso20022::Profile::samos));
  BOOST_CHECK(offline[0].response.kind == RailResponse::Kind::error);
  BOOST_CHECK(offline[0].verdict == Verdict::failure);
  // PDNG after a query: unknown, not an ack.
  BOOST_CHECK_EQUAL(checked(p->query(request(pi, Rail::samos, 2), kNow)).size(), 1u);
  auto pending = decode_ok(*p, *iso20022::encode(report(iso20022::TxStatus::pdng), iso20022::Profile::samos));
  BOOST_CHECK(pending[0].response.kind == RailResponse::Kind::unknown);
}

BOOST_AUTO_TEST_CASE(samos_between_institutions_is_pacs009) {
  auto p = make_mx_protocol(samos_config());
  PaymentInstruction pi = testing::valid_instruction();
  pi.amount.amount_minor = 900'000'000;
  pi.debtor = PartyAccount{"Bank One", "", "", "", "FIRNZAJJXXX", ""};
  pi.creditor = PartyAccount{"Bank Two", "", "", "", "ABSAZAJJXXX", ""};
  auto sent = checked(p->submit(request(pi, Rail::samos), kNow));
  BOOST_CHECK_NE(sent.at(0).body.find("pacs.009.001.08"), std::string::npos);
  BOOST_CHECK(iso20022::decode_fi_credit_transfer(sent.at(0).body, iso20022::Profile::samos).ok());
}

BOOST_AUTO_TEST_CASE(payshap_resolves_then_sends_and_refuses_bad_lookups) {
  auto p = make_mx_protocol(payshap_config());
  PaymentInstruction pi = testing::valid_instruction();
  pi.urgency = Urgency::instant;
  pi.creditor.account_number.clear();
  pi.creditor.branch_code.clear();
  pi.creditor.proxy = "0812345678@fnb";
  auto sent = p->submit(request(pi, Rail::payshap), kNow);
  BOOST_REQUIRE(sent.ok());
  BOOST_CHECK_NE(sent->at(0).body.find("proxy.lookup"), std::string::npos);
  std::string msg_id = tx_id_for(kPayment) + "P1";
  decode_fails(*p, R"({"type":"proxy.result","msg_id":")" + msg_id + R"(","status":"MAYBE"})", "FF01", "FOUND|NOTF");
  decode_fails(*p, R"({"type":"proxy.result","msg_id":")" + msg_id + R"(","status":"FOUND"})", "FF01",
               "account and branch_code");
  std::vector<Outbound> follow;
  auto in = p->decode(R"({"type":"proxy.result","msg_id":")" + msg_id +
                          R"(","status":"FOUND","account":"0812345678","branch_code":"250655","name":"X"})",
                      kNow, follow);
  BOOST_REQUIRE(in.ok());
  BOOST_CHECK(in->empty());  // no answer for the saga yet: the credit goes out
  BOOST_REQUIRE_EQUAL(follow.size(), 1u);
  check_xsd(follow[0].body);
  auto credit = iso20022::decode_credit_transfer(follow[0].body, iso20022::Profile::payshap);
  BOOST_REQUIRE(credit.ok());
  BOOST_CHECK_EQUAL(credit->creditor_account.id, "0812345678");
  BOOST_CHECK_EQUAL(credit->creditor_agent.member_id, "250655");
}

BOOST_AUTO_TEST_CASE(rtc_0210_codes_and_malformed_answers) {
  auto p = make_rtc_protocol();
  PaymentInstruction pi = testing::valid_instruction();
  BOOST_REQUIRE(p->submit(request(pi, Rail::rtc), kNow).ok());
  RtcIds ids = rtc_ids(kPayment);
  auto answer = [&](const std::string& code) {
    iso8583::RtcResponse r{ids.stan, ids.rrn, code, code == "00" ? "123456" : ""};
    return *iso8583::encode_credit_response(r);
  };
  std::string approved = answer("00");
  std::string wrong_bitmap = approved;
  wrong_bitmap[4] = static_cast<char>(wrong_bitmap[4] | 0x01);  // bit 8: a field RTC does not define here
  decode_fails(*p, approved.substr(0, 10), "30", "");
  decode_fails(*p, wrong_bitmap, "30", "field");
  decode_fails(*p, answer("77"), "30", "77");  // a response code nobody mapped
  auto in = decode_ok(*p, approved);
  BOOST_REQUIRE_EQUAL(in.size(), 1u);
  BOOST_CHECK_EQUAL(in[0].response.payment_id, kPayment);
  BOOST_CHECK(in[0].response.accepted);
  auto nsf = decode_ok(*p, answer("51"));
  BOOST_CHECK_EQUAL(nsf[0].response.reason_code, "AM04");
  BOOST_CHECK(nsf[0].verdict == Verdict::ignored);
  auto down = decode_ok(*p, answer("91"));
  BOOST_CHECK(down[0].response.kind == RailResponse::Kind::error);
  BOOST_CHECK(down[0].verdict == Verdict::failure);
  // 94: the rail already has it; the adapter asks again with a 0201 repeat.
  std::vector<Outbound> follow;
  auto dup = p->decode(answer("94"), kNow, follow);
  BOOST_REQUIRE(dup.ok());
  BOOST_CHECK(dup->empty());
  BOOST_REQUIRE_EQUAL(follow.size(), 1u);
  BOOST_CHECK_EQUAL(follow[0].body.substr(0, 4), "0201");
  // Not RTC's currency: refused before anything is sent.
  pi.amount.currency = "USD";
  auto usd = p->submit(request(pi, Rail::rtc), kNow);
  BOOST_REQUIRE(!usd.ok());
  BOOST_CHECK_EQUAL(usd.error().code, "AM03");
}

BOOST_AUTO_TEST_CASE(eft_batches_per_cycle_and_reads_unpaids) {
  EftProtocolConfig cfg;
  cfg.cycle_interval_ms = 1'000;
  auto p = eft_protocol_factory(cfg)();
  PaymentInstruction pi = testing::valid_instruction();
  auto held = p->submit(request(pi, Rail::eft), kNow);
  BOOST_REQUIRE(held.ok());
  BOOST_CHECK(held->empty());  // waits for its cycle
  BOOST_CHECK_GT(p->hold_ms(kNow), 0);
  BOOST_CHECK(p->tick(kNow).empty());
  auto files = p->tick(kNow + 1'000);
  BOOST_REQUIRE_EQUAL(files.size(), 1u);
  auto batch = acb::decode_batch(files[0].body);
  BOOST_REQUIRE(batch.ok());
  BOOST_REQUIRE_EQUAL(batch->credits.size(), 1u);
  BOOST_CHECK_EQUAL(batch->credits[0].amount_minor, pi.amount.amount_minor);
  // A credit of R5m is refused at once: EFT does not carry it.
  PaymentInstruction big = pi;
  big.amount.amount_minor = 500'000'000;
  auto refused = p->submit(SubmitRequest{"pay_big", 1, Rail::eft, &big}, kNow);
  BOOST_REQUIRE(!refused.ok());
  BOOST_CHECK_EQUAL(refused.error().code, "AM02");
  // Malformed unpaids: precise errors, nothing settled.
  acb::AcbUnpaidFile u;
  u.user_code = batch->user_code;
  u.creation_date = batch->creation_date;
  u.generation_number = batch->user_generation_number;
  u.user_abbreviated_name = batch->user_abbreviated_name;
  acb::AcbUnpaid one;
  one.homing_branch = batch->credits[0].homing_branch;
  one.homing_account = batch->credits[0].homing_account;
  one.amount_minor = batch->credits[0].amount_minor;
  one.action_date = batch->action_date;
  one.returned_date = batch->action_date;
  one.reason_code = "12";
  one.user_reference = batch->credits[0].user_reference;
  one.homing_account_name = batch->credits[0].homing_account_name;
  u.unpaids.push_back(one);
  std::string unpaids = *acb::encode_unpaids(u);
  std::string bad_total = unpaids;
  size_t trailer = bad_total.size() - 182;
  size_t digit = bad_total.find_first_of("123456789", trailer + 2);
  bad_total[digit] = bad_total[digit] == '9' ? '8' : '9';
  decode_fails(*p, bad_total, "ACB_", "record");
  decode_fails(*p, unpaids.substr(0, 100), "ACB_LENGTH", "record");
  acb::AcbUnpaidFile strange = u;
  strange.unpaids[0].reason_code = "97";
  decode_fails(*p, *acb::encode_unpaids(strange), "ACB_UNPAID_CODE", "97");
  auto in = decode_ok(*p, unpaids);
  BOOST_REQUIRE_EQUAL(in.size(), 1u);
  BOOST_CHECK(in[0].response.kind == RailResponse::Kind::final);
  BOOST_CHECK(!in[0].response.accepted);
  BOOST_CHECK_EQUAL(in[0].response.reason_code, "AC04");
}

BOOST_AUTO_TEST_CASE(swift_mt_counterparties_get_an_mt103) {
  SwiftConfig cfg;
  cfg.mt_only_bic8 = {"MTONDEFF"};
  auto p = make_swift_protocol(cfg);
  PaymentInstruction pi = testing::valid_instruction();
  pi.amount = Money{123'456, "USD"};
  pi.creditor.account_number.clear();
  pi.creditor.branch_code.clear();
  pi.creditor.iban = "DE89370400440532013000";
  pi.creditor.name = "Müller & Söhne";
  pi.creditor.bic = "MTONDEFFXXX";
  auto sent = p->submit(request(pi, Rail::swift), kNow);
  BOOST_REQUIRE(sent.ok());
  auto m = mt::decode_mt103(sent->at(0).body);
  BOOST_REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message));
  BOOST_CHECK_EQUAL(m->uetr, uetr_for(kPayment));
  BOOST_CHECK_EQUAL(m->beneficiary.lines.at(0), "Muller + Sohne");
  BOOST_CHECK(m->amount == pi.amount);
  // An MX counterparty gets CBPR+ pacs.008 instead.
  pi.creditor.bic = "COBADEFFXXX";
  auto mx = checked(p->submit(request(pi, Rail::swift), kNow));
  BOOST_CHECK(iso20022::decode_credit_transfer(mx.at(0).body, iso20022::Profile::cbpr_plus).ok());
  BOOST_CHECK_EQUAL(checked(p->query(request(pi, Rail::swift, 2), kNow)).size(), 1u);
  decode_fails(*p, "{1:F21PAYEZAJJAXXX}{4:{177:2611261000}{451:7}}", "", "");
}
