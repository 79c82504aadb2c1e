// railsim: each rail's counterpart over loopback TCP, what it answers to good
// and malformed messages, its memory of decisions, the admin endpoint (with
// curl as the client) and the `payengine railsim` command.
#define BOOST_TEST_MODULE railsim
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "clearing/acb.hpp"
#include "clearing/iso20022.hpp"
#include "clearing/iso8583.hpp"
#include "clearing/mt103.hpp"
#include "clearing/rails.hpp"
#include "clearing/rtc.hpp"
#include "fixtures.hpp"

using namespace payengine;
using namespace payengine::clearing;
using namespace std::chrono_literals;

namespace {

// A client on one railsim: sends frames, collects the answers.
class Client {
 public:
  Client(net::IoThread& io, uint16_t port, net::FrameHeader header) {
    net::ConnectionOptions o;
    o.port = port;
    o.header = header;
    conn_ = std::make_unique<net::Connection>(io.context(), o, net::Connection::Callbacks{[this](std::string f) {
                                                std::lock_guard<std::mutex> lock(mutex_);
                                                frames_.push_back(std::move(f));
                                              }, {}});
    BOOST_REQUIRE(testing::wait_until([&] { return conn_->up(); }));
  }
  // Sends `body` and waits for `n` answers to arrive.
  std::vector<std::string> ask(const std::string& body, size_t n = 1) {
    size_t before = count();
    BOOST_REQUIRE(conn_->send(body));
    BOOST_REQUIRE_MESSAGE(testing::wait_until([&] { return count() >= before + n; }), "no answer from railsim");
    std::lock_guard<std::mutex> lock(mutex_);
    return std::vector<std::string>(frames_.begin() + static_cast<long>(before), frames_.end());
  }
  void send(const std::string& body) { BOOST_REQUIRE(conn_->send(body)); }
  size_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return frames_.size();
  }
  bool up() const { return conn_->up(); }

 private:
  std::mutex mutex_;
  std::vector<std::string> frames_;
  std::unique_ptr<net::Connection> conn_;
};

std::unique_ptr<Railsim> start(net::IoThread& io, Rail rail, RailsimFaults faults = {}) {
  RailsimOptions o;
  o.rail = rail;
  o.seed = 3;
  o.faults = faults;
  o.xsd_dir = std::string(PAYENGINE_SHARED_DIR) + "/iso20022";
  auto sim = Railsim::start(io.context(), o);
  BOOST_REQUIRE_MESSAGE(sim.ok(), (sim.ok() ? std::string() : sim.error().message));
  return std::move(*sim);
}

// Runs a shell command, returns its stdout.
std::string shell(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  BOOST_REQUIRE(f);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

iso20022::CreditTransfer samos_credit(const std::string& tx) {
  iso20022::CreditTransfer m;
  m.msg_id = tx + "S1";
  m.creation_date_time = "2026-11-26T10:00:00+02:00";
  m.settlement_date = "2026-11-26";
  m.end_to_end_id = "E2E-" + tx;
  m.tx_id = tx;
  m.uetr = "8a562c67-ca16-48ba-b074-65581be6f011";
  m.amount = Money{600'000'000, "ZAR"};
  m.debtor_name = "Thandi Nkosi";
  m.debtor_account = {"1234567890", false};
  m.debtor_agent = {"", "ZANCC", "250655"};
  m.creditor_agent = {"", "ZANCC", "632005"};
  m.creditor_name = "Pieter van der Merwe";
  m.creditor_account = {"9876543210", false};
  return m;
}

iso8583::RtcCredit rtc_credit() {
  iso8583::RtcCredit credit;
  auto ids = rtc_ids("pay_0123456789abcdef0123456789abcdef");
  credit.stan = ids.stan;
  credit.rrn = ids.rrn;
  credit.amount = Money{100'000, "ZAR"};
  credit.debtor_institution = "250655";
  credit.creditor_institution = "632005";
  credit.debtor_account = "1234567890";
  credit.creditor_account = "9876543210";
  credit.terminal_id = "PAYENG01";
  credit.transmission_time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count() / 1000 * 1000;
  return credit;
}

}  // namespace

BOOST_AUTO_TEST_CASE(samos_answers_pacs008_and_remembers_it) {
  net::IoThread io;
  auto sim = start(io, Rail::samos);
  Client c(io, sim->port(), net::FrameHeader::u32);
  auto body = iso20022::encode(samos_credit("TX0001"), iso20022::Profile::samos);
  BOOST_REQUIRE(body.ok());
  auto answers = c.ask(*body);
  auto report = iso20022::decode_status_report(answers.at(0), iso20022::Profile::samos);
  BOOST_REQUIRE(report.ok());
  BOOST_CHECK(report->status == iso20022::TxStatus::acsc);
  BOOST_CHECK_EQUAL(report->original_tx_id, "TX0001");
  BOOST_CHECK_EQUAL(report->original_msg_id, "TX0001S1");
  // A status query now finds it settled.
  iso20022::StatusRequest q;
  q.msg_id = "Q1";
  q.creation_date_time = "2026-11-26T10:00:01+02:00";
  q.original_msg_id = "TX0001S1";
  q.original_msg_name_id = "pacs.008.001.08";
  q.original_end_to_end_id = "E2E-TX0001";
  q.original_tx_id = "TX0001";
  auto qbody = iso20022::encode(q, iso20022::Profile::samos);
  BOOST_REQUIRE(qbody.ok());
  auto qa = iso20022::decode_status_report(c.ask(*qbody).at(0), iso20022::Profile::samos);
  BOOST_REQUIRE(qa.ok());
  BOOST_CHECK(qa->status == iso20022::TxStatus::acsc);
  // A query for a transaction it never received: pending, not invented.
  q.original_tx_id = "NEVERSEEN";
  auto unknown = iso20022::decode_status_report(c.ask(*iso20022::encode(q, iso20022::Profile::samos)).at(0),
                                                iso20022::Profile::samos);
  BOOST_REQUIRE(unknown.ok());
  BOOST_CHECK(unknown->status == iso20022::TxStatus::pdng);
  BOOST_CHECK_EQUAL(sim->stats().schema_invalid, 0u);
  BOOST_CHECK_GE(sim->stats().schema_checked, 6u);
}

BOOST_AUTO_TEST_CASE(samos_rejects_malformed_messages_with_ff01) {
  net::IoThread io;
  auto sim = start(io, Rail::samos);
  Client c(io, sim->port(), net::FrameHeader::u32);
  auto good = *iso20022::encode(samos_credit("TX0002"), iso20022::Profile::samos);
  std::string wrong_ns = good;
  wrong_ns.replace(wrong_ns.find("pacs.008.001.08"), 15, "pacs.008.001.10");
  std::string three_decimals = good;
  three_decimals.replace(three_decimals.find("6000000.00"), 10, "6000000.001");
  const std::pair<const char*, std::string> bad[] = {
      {"truncated", good.substr(0, good.size() / 2)},
      {"wrong namespace", wrong_ns},
      {"three decimals for ZAR", three_decimals},
      {"not XML", "hello"},
      {"a DOCTYPE", "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>"},
  };
  uint64_t malformed = 0;
  for (auto& [what, body] : bad) {
    BOOST_TEST_CONTEXT(what) {
      auto report = iso20022::decode_status_report(c.ask(body).at(0), iso20022::Profile::samos);
      BOOST_REQUIRE(report.ok());
      BOOST_CHECK(report->status == iso20022::TxStatus::rjct);
      BOOST_CHECK_EQUAL(report->reason_code, "FF01");
      BOOST_CHECK_EQUAL(sim->stats().malformed, ++malformed);
    }
  }
}

BOOST_AUTO_TEST_CASE(payshap_resolves_proxies_then_acks_then_settles) {
  net::IoThread io;
  auto sim = start(io, Rail::payshap);
  Client c(io, sim->port(), net::FrameHeader::u32);
  auto found = c.ask(R"({"type":"proxy.lookup","msg_id":"L1","proxy":"0812345678@fnb"})");
  BOOST_CHECK_NE(found.at(0).find(R"("status":"FOUND")"), std::string::npos);
  BOOST_CHECK_NE(found.at(0).find(R"("branch_code":"250655")"), std::string::npos);
  auto missing = c.ask(R"({"type":"proxy.lookup","msg_id":"L2","proxy":"0812345678@nosuchbank"})");
  BOOST_CHECK_NE(missing.at(0).find(R"("status":"NOTF")"), std::string::npos);
  // A credit above the R50,000 scheme cap: acknowledged, then rejected AM02.
  auto m = samos_credit("TX0003");
  m.amount = Money{5'000'001, "ZAR"};
  auto answers = c.ask(*iso20022::encode(m, iso20022::Profile::payshap), 2);
  auto ack = iso20022::decode_status_report(answers.at(0), iso20022::Profile::payshap);
  auto fin = iso20022::decode_status_report(answers.at(1), iso20022::Profile::payshap);
  BOOST_REQUIRE(ack.ok() && fin.ok());
  BOOST_CHECK(ack->status == iso20022::TxStatus::actc);
  BOOST_CHECK(fin->status == iso20022::TxStatus::rjct);
  BOOST_CHECK_EQUAL(fin->reason_code, "AM02");
}

BOOST_AUTO_TEST_CASE(rtc_answers_0210_repeats_and_format_errors) {
  net::IoThread io;
  auto sim = start(io, Rail::rtc);
  Client c(io, sim->port(), net::FrameHeader::u16);
  iso8583::RtcCredit credit = rtc_credit();
  auto ids = rtc_ids("pay_0123456789abcdef0123456789abcdef");
  auto first = iso8583::decode_credit_response(c.ask(*iso8583::encode_credit_request(credit, false)).at(0));
  BOOST_REQUIRE(first.ok());
  BOOST_CHECK_EQUAL(first->response_code, "00");
  BOOST_CHECK_EQUAL(first->rrn, ids.rrn);
  // The same original again is a duplicate; a repeat gets the original outcome.
  auto dup = iso8583::decode_credit_response(c.ask(*iso8583::encode_credit_request(credit, false)).at(0));
  BOOST_REQUIRE(dup.ok());
  BOOST_CHECK_EQUAL(dup->response_code, "94");
  auto repeat = iso8583::decode_credit_response(c.ask(*iso8583::encode_credit_request(credit, true)).at(0));
  BOOST_REQUIRE(repeat.ok());
  BOOST_CHECK_EQUAL(repeat->response_code, "00");
  BOOST_CHECK_EQUAL(repeat->auth_id, first->auth_id);
  // Readable but wrong: a processing code RTC does not clear (12), an
  // impossible transmission date (30).
  auto generic = iso8583::decode(*iso8583::encode_credit_request(credit, false));
  BOOST_REQUIRE(generic.ok());
  auto wrong_code = *generic;
  wrong_code.fields[3] = "000000";
  wrong_code.fields[37] = "WRONGCODE001";
  auto r12 = iso8583::decode_credit_response(c.ask(*iso8583::encode(wrong_code)).at(0));
  BOOST_REQUIRE(r12.ok());
  BOOST_CHECK_EQUAL(r12->response_code, "12");
  BOOST_CHECK_EQUAL(r12->rrn, "WRONGCODE001");
  auto bad_date = *generic;
  bad_date.fields[7] = "1332250000";
  bad_date.fields[37] = "WRONGDATE001";
  auto r30 = iso8583::decode_credit_response(c.ask(*iso8583::encode(bad_date)).at(0));
  BOOST_REQUIRE(r30.ok());
  BOOST_CHECK_EQUAL(r30->response_code, "30");
  // Truncated below what can be read: counted, not answered, no crash.
  std::string broken = *iso8583::encode_credit_request(credit, false);
  broken.resize(broken.size() - 5);
  c.send(broken);
  BOOST_CHECK(testing::wait_until([&] { return sim->stats().malformed == 3; }));
  // Above the RTC limit: 61.
  credit.rrn = "ABCDEF123456";
  credit.amount = Money{500'000'001, "ZAR"};
  auto limit = iso8583::decode_credit_response(c.ask(*iso8583::encode_credit_request(credit, false)).at(0));
  BOOST_REQUIRE(limit.ok());
  BOOST_CHECK_EQUAL(limit->response_code, "61");
  BOOST_CHECK_EQUAL(sim->stats().malformed, 3u);
}

BOOST_AUTO_TEST_CASE(eft_accepts_a_batch_then_sends_its_unpaids) {
  net::IoThread io;
  RailsimFaults faults;
  faults.reject_ppm = 500'000;
  auto sim = start(io, Rail::eft, faults);
  Client c(io, sim->port(), net::FrameHeader::u32);
  acb::AcbBatch b;
  b.user_code = "PE01";
  b.creation_date = b.action_date = {2026, 11, 26};
  b.purge_date = {2026, 12, 3};
  b.user_abbreviated_name = "PAYENGINE";
  b.user_branch = "250655";
  b.user_nominated_account = "62000000001";
  for (int i = 0; i < 20; ++i) {
    acb::AcbCredit cr;
    cr.homing_branch = "632005";
    cr.homing_account = std::to_string(9'000'000'000ll + i);
    cr.amount_minor = 1'000 + i;
    cr.user_reference = "REF" + std::to_string(i);
    cr.homing_account_name = "Creditor " + std::to_string(i);
    b.credits.push_back(cr);
  }
  auto file = acb::encode_batch(b);
  BOOST_REQUIRE(file.ok());
  auto answers = c.ask(*file, 2);
  BOOST_CHECK_NE(answers.at(0).find(R"("status":"ACCEPTED")"), std::string::npos);
  auto unpaids = acb::decode_unpaids(answers.at(1));
  BOOST_REQUIRE_MESSAGE(unpaids.ok(), (unpaids.ok() ? std::string() : unpaids.error().message));
  BOOST_CHECK_EQUAL(unpaids->user_code, "PE01");
  BOOST_CHECK_GT(unpaids->unpaids.size(), 2u);   // about half at 50%
  BOOST_CHECK_LT(unpaids->unpaids.size(), 18u);
  for (auto& u : unpaids->unpaids) BOOST_CHECK(acb::map_unpaid_code(u.reason_code).ok());
  // The same file again: the same unpaids, not a second clearing.
  auto again = c.ask(*file, 2);
  BOOST_CHECK_EQUAL(again.at(1), answers.at(1));
  // A file with a bad total is rejected whole.
  std::string bad = *file;
  size_t trailer = bad.size() - 2 * 182;  // the 92 record
  bad[trailer + 60] = bad[trailer + 60] == '9' ? '8' : '9';
  auto rejected = c.ask(bad);
  BOOST_CHECK_NE(rejected.at(0).find(R"("status":"REJECTED")"), std::string::npos);
  BOOST_CHECK_EQUAL(sim->stats().malformed, 1u);
}

BOOST_AUTO_TEST_CASE(swift_mt103_gets_ack_then_gpi_status_and_bad_mt_a_nak) {
  net::IoThread io;
  auto sim = start(io, Rail::swift);
  Client c(io, sim->port(), net::FrameHeader::u32);
  mt::Mt103 m;
  m.sender_lt = "PAYEZAJJAXXX";
  m.receiver_bic = "CHASUS33XXX";
  m.uetr = "8a562c67-ca16-48ba-b074-65581be6f011";
  m.reference = "REF0000000000001";
  m.mur = m.reference;
  m.value_date = {2026, 11, 26};
  m.amount = Money{250'000, "USD"};
  m.ordering_customer = {"1234567890", {"THANDI NKOSI"}};
  m.beneficiary = {"DE89370400440532013000", {"MUELLER UND SOEHNE GMBH"}};
  auto body = mt::encode_mt103(m);
  BOOST_REQUIRE_MESSAGE(body.ok(), (body.ok() ? std::string() : body.error().message));
  auto answers = c.ask(*body, 2);
  auto ack = mt::decode_fin_ack(answers.at(0));
  BOOST_REQUIRE(ack.ok());
  BOOST_CHECK(ack->accepted);
  BOOST_CHECK_EQUAL(ack->mur, m.reference);
  auto status = mt::decode_mt199(answers.at(1));
  BOOST_REQUIRE(status.ok());
  BOOST_CHECK(status->status == mt::GpiStatus::acsc);
  BOOST_CHECK_EQUAL(status->related_reference, m.reference);
  BOOST_CHECK_EQUAL(status->uetr, m.uetr);
  // Block 4 without its end: NAK.
  std::string broken = body->substr(0, body->size() - 2);
  auto nak = mt::decode_fin_ack(c.ask(broken).at(0));
  BOOST_REQUIRE(nak.ok());
  BOOST_CHECK(!nak->accepted);
  BOOST_CHECK(!nak->error_code.empty());
}

BOOST_AUTO_TEST_CASE(admin_endpoint_changes_faults_while_running) {
  net::IoThread io;
  auto sim = start(io, Rail::samos);
  const std::string base = "http://127.0.0.1:" + std::to_string(sim->admin_port());
  auto got = shell("curl -s " + base + "/faults");
  BOOST_CHECK_NE(got.find(R"("outage":false)"), std::string::npos);
  // Bad input: 400 with the field named, nothing changed.
  auto bad = shell("curl -s -o /dev/stdout -w ' %{http_code}' -X PUT -d '{\"error_ppm\":2000000}' " + base + "/faults");
  BOOST_CHECK_NE(bad.find("error_ppm"), std::string::npos);
  BOOST_CHECK_NE(bad.find(" 400"), std::string::npos);
  auto unknown = shell("curl -s -w ' %{http_code}' -X PUT -d '{\"chaos\":1}' " + base + "/faults");
  BOOST_CHECK_NE(unknown.find(" 400"), std::string::npos);
  BOOST_CHECK_EQUAL(sim->faults().error_ppm, 0u);
  // An outage switched on over HTTP: clients are cut off; then back.
  Client c(io, sim->port(), net::FrameHeader::u32);
  auto on = shell("curl -s -w ' %{http_code}' -X PUT -d '{\"outage\":true}' " + base + "/faults");
  BOOST_CHECK_NE(on.find(" 200"), std::string::npos);
  BOOST_CHECK(sim->faults().outage);
  BOOST_CHECK(testing::wait_until([&] { return !c.up(); }));
  shell("curl -s -X PUT -d '{\"outage\":false,\"latency_min_ms\":5,\"latency_max_ms\":10}' " + base + "/faults");
  BOOST_CHECK(testing::wait_until([&] { return c.up(); }));
  BOOST_CHECK_EQUAL(sim->faults().latency_max_ms, 10);
  auto stats = shell("curl -s " + base + "/stats");
  BOOST_CHECK_NE(stats.find("\"received\""), std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_railsim_command_serves_a_rail) {
  int out[2];
  BOOST_REQUIRE_EQUAL(pipe(out), 0);
  pid_t pid = fork();
  BOOST_REQUIRE_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl(PAYENGINE_BINARY, PAYENGINE_BINARY, "railsim", "--rail", "RTC", "--port", "0", "--admin-port", "0",
          "--faults", R"({"reject_ppm":0})", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[512] = {0};
  BOOST_REQUIRE(fgets(line, sizeof line, f));
  std::string text(line);
  auto at = text.find("127.0.0.1:");
  BOOST_REQUIRE_NE(at, std::string::npos);
  uint16_t port = static_cast<uint16_t>(std::stoi(text.substr(at + 10)));
  {
    net::IoThread io;
    Client c(io, port, net::FrameHeader::u16);
    // Bytes that do not even say who sent them get no answer, and no crash;
    // a real request right after is answered as usual.
    c.send("0200garbage");
    auto answers = c.ask(*iso8583::encode_credit_request(rtc_credit(), false));
    BOOST_REQUIRE_EQUAL(answers.size(), 1u);
    auto r = iso8583::decode_credit_response(answers[0]);
    BOOST_REQUIRE(r.ok());
    BOOST_CHECK_EQUAL(r->response_code, "00");
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  fclose(f);
  BOOST_CHECK(WIFEXITED(status));
  BOOST_CHECK_EQUAL(WEXITSTATUS(status), 0);
}
