#define BOOST_TEST_MODULE screening
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sagas/payment.hpp"
#include "sagas/screening.hpp"
#include "sagas/validation.hpp"

using namespace payengine;

namespace {

constexpr int64_t kWindowMs = 60'000;

PaymentInstruction base_instruction() {
  PaymentInstruction p;
  p.tenant = "bank_a";
  p.end_to_end_id = "E2E-0001";
  p.amount = Money{100'00, "ZAR"};
  p.debtor = PartyAccount{"Thandi Nkosi", "1234567890", "250655", "", "ABSAZAJJ", ""};
  p.creditor = PartyAccount{"Sipho Dlamini", "62012345678", "632005", "", "FIRNZAJJ", ""};
  return p;
}

PaymentInstruction from_debtor(const std::string& account_number) {
  PaymentInstruction p = base_instruction();
  p.debtor.account_number = account_number;
  return p;
}

ScreeningConfig velocity_config(uint32_t max_count, int64_t max_amount_minor) {
  ScreeningConfig c;
  c.velocity_window_ms = kWindowMs;
  c.velocity_max_count = max_count;
  c.velocity_max_amount_minor = max_amount_minor;
  return c;
}

// "pass", or "<code> <field>" of the refusal: one comparable, printable value.
std::string outcome(const std::optional<ValidationError>& e) {
  return e ? e->reason_code + " " + e->field : "pass";
}

// Screens with a fresh payment id each time.
struct Harness {
  Screener screener;
  int next_id = 0;
  explicit Harness(ScreeningConfig c) : screener(std::move(c)) {}
  std::string screen(const PaymentInstruction& p, int64_t now_ms) {
    return outcome(screener.screen("pay-" + std::to_string(next_id++), p, now_ms));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(blocklist)

BOOST_AUTO_TEST_CASE(blocked_name_matches_all_words_in_any_order_ignoring_case_and_punctuation) {
  ScreeningConfig c;
  c.blocked_names = {"Ivan Petrov", "ACME Trading Co."};
  Harness h(c);
  struct Row {
    const char* debtor_name;
    const char* creditor_name;
    const char* expected;
  };
  const Row rows[] = {
      {"Ivan Petrov", "Sipho Dlamini", "RR04 debtor.name"},
      {"PETROV, Ivan", "Sipho Dlamini", "RR04 debtor.name"},
      {"Thandi Nkosi", "ivan   petrov-", "RR04 creditor.name"},
      {"Thandi Nkosi", "Mr. Ivan Sergeyevich Petrov", "RR04 creditor.name"},
      {"Thandi Nkosi", "acme trading co", "RR04 creditor.name"},
      {"Thandi Nkosi", "Acme-Trading (Co)", "RR04 creditor.name"},
      {"Thandi Nkosi", "Co. Trading ACME", "RR04 creditor.name"},
      {"Ivan Petrov", "ACME Trading Co", "RR04 debtor.name"},  // debtor screened first
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.debtor_name << " -> " << row.creditor_name) {
      PaymentInstruction p = base_instruction();
      p.debtor.name = row.debtor_name;
      p.creditor.name = row.creditor_name;
      BOOST_TEST(h.screen(p, 0) == row.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(partial_words_and_partial_names_do_not_match) {
  ScreeningConfig c;
  c.blocked_names = {"Ivan Petrov", "ACME Trading Co."};
  Harness h(c);
  for (const char* name : {"Ivan Petrovich", "Ivanov Petrov", "Ivan", "Petrov", "IvanPetrov",
                           "ACME Trading", "ACMETrading Co", "Acme Tradings Co"}) {
    BOOST_TEST_CONTEXT(name) {
      PaymentInstruction p = base_instruction();
      p.creditor.name = name;
      BOOST_TEST(h.screen(p, 0) == "pass");
    }
  }
}

BOOST_AUTO_TEST_CASE(entries_without_words_block_nothing) {
  ScreeningConfig c;
  c.blocked_names = {"", "  ", "--- ..."};
  c.blocked_accounts = {""};
  c.blocked_bics = {""};
  Harness h(c);
  BOOST_TEST(h.screen(base_instruction(), 0) == "pass");
  PaymentInstruction p = base_instruction();
  p.creditor.name = "...";
  BOOST_TEST(h.screen(p, 0) == "pass");
}

BOOST_AUTO_TEST_CASE(accounts_are_blocked_exactly) {
  ScreeningConfig c;
  c.blocked_accounts = {"62012345678", "GB82WEST12345698765432", "0812345678@absa"};
  Harness h(c);

  BOOST_TEST(h.screen(base_instruction(), 0) == "RR04 creditor.account_number");

  PaymentInstruction p = base_instruction();
  p.creditor.account_number = "6201234567";  // a prefix is another account
  BOOST_TEST(h.screen(p, 0) == "pass");

  p = base_instruction();
  p.debtor = PartyAccount{"Jane Doe", "", "", "GB82WEST12345698765432", "", ""};
  BOOST_TEST(h.screen(p, 0) == "RR04 debtor.iban");

  p = base_instruction();
  p.creditor = PartyAccount{"Sipho Dlamini", "", "", "", "", "0812345678@absa"};
  BOOST_TEST(h.screen(p, 0) == "RR04 creditor.proxy");

  p.creditor.proxy = "0812345678@capitec";
  BOOST_TEST(h.screen(p, 0) == "pass");
}

BOOST_AUTO_TEST_CASE(bic_entries_of_8_characters_block_every_branch) {
  ScreeningConfig c;
  c.blocked_bics = {"ABSAZAJJ", "FIRNZAJJ123", "SBZAZAJJXXX"};
  Harness h(c);
  struct Row {
    const char* bic;
    const char* expected;
  };
  const Row rows[] = {
      {"ABSAZAJJ", "RR04 creditor.bic"},
      {"ABSAZAJJXXX", "RR04 creditor.bic"},
      {"ABSAZAJJ456", "RR04 creditor.bic"},
      {"absazajj", "RR04 creditor.bic"},
      {"FIRNZAJJ123", "RR04 creditor.bic"},
      {"FIRNZAJJ", "pass"},
      {"FIRNZAJJ999", "pass"},
      {"FIRNZAJJXXX", "pass"},
      {"SBZAZAJJ", "RR04 creditor.bic"},
      {"SBZAZAJJ001", "RR04 creditor.bic"},
      {"ABSAZAJ1", "pass"},
      {"NEDSZAJJ", "pass"},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.bic) {
      PaymentInstruction p = base_instruction();
      p.debtor.bic = "NEDSZAJJ";
      p.creditor.bic = row.bic;
      BOOST_TEST(h.screen(p, 0) == row.expected);
    }
  }
  PaymentInstruction p = base_instruction();
  p.debtor.bic = "ABSAZAJJ";
  BOOST_TEST(h.screen(p, 0) == "RR04 debtor.bic");
}

BOOST_AUTO_TEST_CASE(blocklist_message_names_the_field_not_the_entry) {
  ScreeningConfig c;
  c.blocked_names = {"Secret Listed Person"};
  Screener s(c);
  PaymentInstruction p = base_instruction();
  p.creditor.name = "Secret Listed Person";
  auto e = s.screen("p1", p, 0);
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST(e->reason_code == "RR04");
  BOOST_TEST(e->message.find("creditor.name") != std::string::npos);
  BOOST_TEST(e->message.find("Secret") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(velocity)

BOOST_AUTO_TEST_CASE(count_limit_over_a_sliding_window) {
  Harness h(velocity_config(3, 0));
  PaymentInstruction p = base_instruction();
  BOOST_TEST(h.screen(p, 0) == "pass");
  BOOST_TEST(h.screen(p, 10) == "pass");
  BOOST_TEST(h.screen(p, 20) == "pass");
  BOOST_TEST(h.screen(p, 30) == "AG01 debtor.account_number");
  BOOST_TEST(h.screen(p, 59'999) == "AG01 debtor.account_number");  // t=0 still inside
  BOOST_TEST(h.screen(p, 60'000) == "pass");                        // t=0 slid out
  BOOST_TEST(h.screen(p, 60'001) == "AG01 debtor.account_number");  // 10, 20, 60000 inside
  BOOST_TEST(h.screen(p, 60'010) == "pass");                        // t=10 slid out
  BOOST_TEST(h.screen(p, 60'020) == "pass");                        // t=20 slid out
  BOOST_TEST(h.screen(p, 60'021) == "AG01 debtor.account_number");
}

BOOST_AUTO_TEST_CASE(refused_payments_do_not_count) {
  Harness h(velocity_config(2, 0));
  PaymentInstruction p = base_instruction();
  BOOST_TEST(h.screen(p, 0) == "pass");
  BOOST_TEST(h.screen(p, 1) == "pass");
  for (int64_t t = 2; t < 100; ++t) BOOST_TEST(h.screen(p, t) == "AG01 debtor.account_number");
  // Only the two passed payments occupied the window.
  BOOST_TEST(h.screen(p, 60'000) == "pass");
  BOOST_TEST(h.screen(p, 60'001) == "pass");
}

BOOST_AUTO_TEST_CASE(blocked_payments_do_not_count) {
  ScreeningConfig c = velocity_config(1, 0);
  c.blocked_names = {"Bad Actor"};
  Harness h(c);
  PaymentInstruction blocked = base_instruction();
  blocked.creditor.name = "Bad Actor";
  BOOST_TEST(h.screen(blocked, 0) == "RR04 creditor.name");
  BOOST_TEST(h.screen(base_instruction(), 1) == "pass");
  BOOST_TEST(h.screen(base_instruction(), 2) == "AG01 debtor.account_number");
}

BOOST_AUTO_TEST_CASE(velocity_is_per_tenant_and_debtor_account) {
  Harness h(velocity_config(1, 0));
  PaymentInstruction p = base_instruction();
  BOOST_TEST(h.screen(p, 0) == "pass");
  BOOST_TEST(h.screen(p, 1) == "AG01 debtor.account_number");
  BOOST_TEST(h.screen(from_debtor("1111111"), 2) == "pass");  // other debtor
  PaymentInstruction other_tenant = p;
  other_tenant.tenant = "bank_b";
  BOOST_TEST(h.screen(other_tenant, 3) == "pass");
  PaymentInstruction by_iban = base_instruction();
  by_iban.debtor = PartyAccount{"Jane Doe", "", "", "GB82WEST12345698765432", "", ""};
  BOOST_TEST(h.screen(by_iban, 4) == "pass");
  BOOST_TEST(h.screen(by_iban, 5) == "AG01 debtor.iban");
}

BOOST_AUTO_TEST_CASE(amount_limit_per_currency_over_a_sliding_window) {
  Harness h(velocity_config(0, 100'00));
  PaymentInstruction p = base_instruction();
  p.amount = Money{60'00, "ZAR"};
  BOOST_TEST(h.screen(p, 0) == "pass");
  p.amount = Money{40'00, "ZAR"};
  BOOST_TEST(h.screen(p, 1) == "pass");  // exactly at the limit
  p.amount = Money{1, "ZAR"};
  BOOST_TEST(h.screen(p, 2) == "AM14 amount.amount_minor");
  p.amount = Money{100'00, "USD"};  // another currency has its own total
  BOOST_TEST(h.screen(p, 3) == "pass");
  p.amount = Money{50'00, "ZAR"};
  BOOST_TEST(h.screen(p, 59'999) == "AM14 amount.amount_minor");
  BOOST_TEST(h.screen(p, 60'000) == "pass");  // the 60.00 slid out: 40 + 50 <= 100
  p.amount = Money{10'01, "ZAR"};
  BOOST_TEST(h.screen(p, 60'000) == "AM14 amount.amount_minor");
}

BOOST_AUTO_TEST_CASE(one_payment_above_the_amount_limit_is_refused) {
  Harness h(velocity_config(0, 100'00));
  PaymentInstruction p = base_instruction();
  p.amount.amount_minor = 100'01;
  BOOST_TEST(h.screen(p, 0) == "AM14 amount.amount_minor");
  p.amount.amount_minor = kMaxAmountMinor;
  BOOST_TEST(h.screen(p, 0) == "AM14 amount.amount_minor");
  p.amount.amount_minor = 100'00;
  BOOST_TEST(h.screen(p, 0) == "pass");
}

BOOST_AUTO_TEST_CASE(count_limit_is_checked_before_amount_limit) {
  Harness h(velocity_config(1, 100'00));
  PaymentInstruction p = base_instruction();
  p.amount.amount_minor = 100'00;
  BOOST_TEST(h.screen(p, 0) == "pass");
  BOOST_TEST(h.screen(p, 1) == "AG01 debtor.account_number");
}

BOOST_AUTO_TEST_CASE(no_limits_means_no_velocity_refusals) {
  ScreeningConfig c;
  c.blocked_names = {"Bad Actor"};
  Harness h(c);
  for (int64_t t = 0; t < 1'000; ++t) BOOST_TEST_REQUIRE(h.screen(base_instruction(), t) == "pass");
  PaymentInstruction blocked = base_instruction();
  blocked.debtor.name = "bad actor";
  BOOST_TEST(h.screen(blocked, 1'000) == "RR04 debtor.name");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(idempotency)

BOOST_AUTO_TEST_CASE(rescreening_a_payment_id_returns_the_same_decision_and_counts_once) {
  Screener s(velocity_config(2, 0));
  PaymentInstruction p = base_instruction();
  BOOST_TEST(outcome(s.screen("p1", p, 0)) == "pass");
  BOOST_TEST(outcome(s.screen("p1", p, 1)) == "pass");  // not counted again
  BOOST_TEST(outcome(s.screen("p1", p, 2)) == "pass");
  BOOST_TEST(outcome(s.screen("p2", p, 3)) == "pass");  // second counted payment
  auto refused = s.screen("p3", p, 4);
  BOOST_TEST(outcome(refused) == "AG01 debtor.account_number");
  // p1 is already counted: it still passes although the window is full.
  BOOST_TEST(outcome(s.screen("p1", p, 5)) == "pass");
  // p3 stays refused, with the same message, even once capacity frees up.
  auto again = s.screen("p3", p, 59'999);
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->message == refused->message);
  // A new payment finds p1 (t=0) expired, p2 (t=3) still in the window.
  BOOST_TEST(outcome(s.screen("p4", p, 60'000)) == "pass");
  BOOST_TEST(outcome(s.screen("p5", p, 60'001)) == "AG01 debtor.account_number");
}

BOOST_AUTO_TEST_CASE(a_rescreen_after_the_window_is_screened_afresh) {
  Screener s(velocity_config(1, 0));
  PaymentInstruction p = base_instruction();
  BOOST_TEST(outcome(s.screen("p1", p, 0)) == "pass");
  BOOST_TEST(outcome(s.screen("p2", p, 1)) == "AG01 debtor.account_number");
  // Both decisions and p1's count have expired: p2 is a new question now.
  BOOST_TEST(outcome(s.screen("p2", p, 60'001)) == "pass");
  BOOST_TEST(outcome(s.screen("p2", p, 60'002)) == "pass");  // and is remembered again
  BOOST_TEST(outcome(s.screen("p3", p, 60'003)) == "AG01 debtor.account_number");
}

BOOST_AUTO_TEST_CASE(idempotent_under_the_amount_limit) {
  Screener s(velocity_config(0, 100'00));
  PaymentInstruction p = base_instruction();
  p.amount.amount_minor = 70'00;
  BOOST_TEST(outcome(s.screen("p1", p, 0)) == "pass");
  BOOST_TEST(outcome(s.screen("p1", p, 1)) == "pass");  // 140.00 if it were counted twice
  p.amount.amount_minor = 30'00;
  BOOST_TEST(outcome(s.screen("p2", p, 2)) == "pass");
  BOOST_TEST(outcome(s.screen("p2", p, 3)) == "pass");
  p.amount.amount_minor = 1;
  BOOST_TEST(outcome(s.screen("p3", p, 4)) == "AM14 amount.amount_minor");
}

BOOST_AUTO_TEST_CASE(remembered_decisions_are_bounded) {
  ScreeningConfig c = velocity_config(4, 0);
  c.max_remembered_decisions = 2;
  Screener s(c);
  PaymentInstruction p = base_instruction();
  BOOST_TEST(outcome(s.screen("p1", p, 0)) == "pass");
  BOOST_TEST(outcome(s.screen("p2", p, 1)) == "pass");
  BOOST_TEST(outcome(s.screen("p3", p, 2)) == "pass");  // p1 forgotten: over the bound
  BOOST_TEST(outcome(s.screen("p3", p, 3)) == "pass");  // remembered: not counted
  BOOST_TEST(outcome(s.screen("p1", p, 4)) == "pass");  // forgotten: counted again (4th)
  BOOST_TEST(outcome(s.screen("p4", p, 5)) == "AG01 debtor.account_number");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(memory)

BOOST_AUTO_TEST_CASE(least_recently_counted_debtor_is_evicted) {
  ScreeningConfig c = velocity_config(1, 0);
  c.max_tracked_debtors = 3;
  Harness h(c);
  const PaymentInstruction a = from_debtor("1000001"), b = from_debtor("1000002"),
                           cc = from_debtor("1000003"), d = from_debtor("1000004");
  BOOST_TEST(h.screen(a, 0) == "pass");
  BOOST_TEST(h.screen(b, 1) == "pass");
  BOOST_TEST(h.screen(cc, 2) == "pass");
  BOOST_TEST(h.screen(a, 3) == "AG01 debtor.account_number");  // tracked: [c, b, a]
  BOOST_TEST(h.screen(d, 4) == "pass");                        // evicts a: [d, c, b]
  BOOST_TEST(h.screen(d, 5) == "AG01 debtor.account_number");
  BOOST_TEST(h.screen(a, 6) == "pass");                         // forgotten; evicts b
  BOOST_TEST(h.screen(cc, 7) == "AG01 debtor.account_number");  // still tracked
  BOOST_TEST(h.screen(b, 8) == "pass");                         // forgotten; evicts c
}

BOOST_AUTO_TEST_CASE(many_more_debtors_than_tracked_still_works) {
  constexpr int kTracked = 100;
  constexpr int kDebtors = 10'000;
  ScreeningConfig c = velocity_config(1, 0);
  c.max_tracked_debtors = kTracked;
  Harness h(c);
  auto debtor = [](int i) { return from_debtor(std::to_string(2'000'000 + i)); };
  for (int i = 0; i < kDebtors; ++i) BOOST_TEST_REQUIRE(h.screen(debtor(i), i) == "pass");
  // The most recent kTracked debtors are remembered ...
  for (int i = kDebtors - kTracked; i < kDebtors; ++i)
    BOOST_TEST_REQUIRE(h.screen(debtor(i), kDebtors) == "AG01 debtor.account_number");
  // ... the earlier ones were evicted and start afresh.
  for (int i = 0; i < 50; ++i) BOOST_TEST_REQUIRE(h.screen(debtor(i), kDebtors + 1) == "pass");
}

BOOST_AUTO_TEST_CASE(idle_debtors_expire_and_start_afresh) {
  ScreeningConfig c = velocity_config(1, 0);
  c.max_tracked_debtors = 2;
  Harness h(c);
  BOOST_TEST(h.screen(from_debtor("1000001"), 0) == "pass");
  BOOST_TEST(h.screen(from_debtor("1000002"), 1) == "pass");
  // Long after the window, both are dropped; new debtors fill the room.
  BOOST_TEST(h.screen(from_debtor("1000003"), 500'000) == "pass");
  BOOST_TEST(h.screen(from_debtor("1000004"), 500'001) == "pass");
  BOOST_TEST(h.screen(from_debtor("1000003"), 500'002) == "AG01 debtor.account_number");
  BOOST_TEST(h.screen(from_debtor("1000004"), 500'003) == "AG01 debtor.account_number");
  BOOST_TEST(h.screen(from_debtor("1000001"), 500'004) == "pass");
}

BOOST_AUTO_TEST_SUITE_END()
