// The saga engine and the payment saga on virtual time, with the real SQLite
// journal and ledger: every step failing in turn, retries and timeouts on an
// injected clock, recovery of journaled deadlines, cancellation, and a
// randomized property test over thousands of payments.
#define BOOST_TEST_MODULE saga
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <sqlite3.h>
#include <set>

#include "tests/fixtures.hpp"
#include "sagas/virtual_runtime.hpp"

BOOST_TEST_DONT_PRINT_LOG_VALUE(payengine::sagas::CancelResult)

using namespace payengine;
using namespace payengine::sagas;
using payengine::testing::TempDir;
using payengine::testing::valid_instruction;

namespace {

constexpr int64_t kOpening = 1'000'000'000;  // R10m

struct Env {
  TempDir dir;
  std::unique_ptr<VirtualRuntime> rt;
  std::map<std::string, int64_t> totals_before;

  explicit Env(VirtualRuntimeOptions opts = {}, bool fund = true) {
    opts.store.path = dir.path() + "/engine.db";
    opts.store.synchronous = Synchronous::normal;  // process crashes only: WAL survives them
    auto r = VirtualRuntime::open(opts);
    BOOST_REQUIRE_MESSAGE(r.ok(), "open: " + (r.ok() ? "" : r.error().message));
    rt = std::move(r.value());
    if (fund) {
      BOOST_REQUIRE(rt->store().create_account("bank1/1234567890", "ZAR", kOpening).ok());
      BOOST_REQUIRE(rt->store().create_account("bank1/1111111111", "ZAR", 5'000).ok());
    }
    totals_before = rt->store().total_balance_by_currency();
  }

  // Reopens on the same file, as a restarted process would.
  void restart(VirtualRuntimeOptions opts, int64_t now_ms) {
    opts.store.path = dir.path() + "/engine.db";
    opts.store.synchronous = Synchronous::normal;
    rt.reset();
    auto r = VirtualRuntime::open(opts);
    BOOST_REQUIRE(r.ok());
    rt = std::move(r.value());
    rt->clock().set_ms(now_ms);
  }

  std::string final_state(const std::string& id) {
    auto s = rt->store().saga(id);
    BOOST_REQUIRE(s.has_value());
    BOOST_TEST(s->terminal);
    return s->state;
  }

  std::vector<std::string> kinds(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : rt->store().events_for(id)) out.push_back(e.kind + (e.step.empty() ? "" : ":" + e.step));
    return out;
  }

  std::string kinds_str(const std::string& id) {
    std::string out;
    for (const auto& e : rt->store().events_for(id))
      out += e.kind + ":" + e.step + "/" + std::to_string(e.attempt) + "(" + e.data + ") ";
    return out;
  }

  void check_conserved() {
    BOOST_TEST(rt->store().total_balance_by_currency() == totals_before);
  }
};

VirtualRuntime::Fault fail_at(const std::string& step, ErrorKind kind, const std::string& code) {
  return [=](const std::string& s, uint32_t) -> std::optional<StepOutcome> {
    if (s != step) return std::nullopt;
    return StepOutcome::failure(kind, code, "injected");
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(happy_path_completes_and_settles_once) {
  Env env;
  std::string id = env.rt->initiate(valid_instruction());
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "completed");
  std::vector<std::string> expected = {"received",      "step_ok:validate", "step_ok:screen",
                                       "step_ok:reserve", "step_ok:route",  "step_ok:submit",
                                       "step_ok:await", "step_ok:post",     "step_ok:notify"};
  BOOST_TEST(env.kinds(id) == expected, boost::test_tools::per_element());
  BOOST_TEST(env.rt->store().posting_count(id) == 1);
  auto hold = env.rt->store().hold(id);
  BOOST_REQUIRE(hold);
  BOOST_TEST(hold->status == "posted");
  auto debtor = env.rt->store().account("bank1/1234567890");
  BOOST_TEST(debtor->balance_minor == kOpening - 10'000);
  BOOST_TEST(debtor->held_minor == 0);
  BOOST_TEST(env.rt->store().account("rail/EFT/ZAR")->balance_minor == 10'000);
  env.check_conserved();
}

// Every step of the payment saga failing in turn: the compensations of the
// completed steps run in reverse, and the final state and reason code are
// the ones a payments engineer expects.
BOOST_AUTO_TEST_CASE(every_step_failing_in_turn) {
  struct Case {
    std::string step;
    std::string final_state;
    std::string reason;
    bool released;  // a hold existed and was released by the compensation
    std::string hold_status;  // "" none, else the hold's status at the end
  };
  std::vector<Case> cases = {
      {"validate", "rejected", "FF01", false, ""},
      {"screen", "rejected", "RR04", false, ""},
      {"reserve", "rejected", "AM04", false, ""},
      {"route", "failed", "AM02", true, "released"},
      {"submit", "failed", "FF01", true, "released"},
      {"await", "failed", "AC04", true, "released"},
      {"post", "in_doubt", "AG01", false, "held"},
      {"notify", "in_doubt", "MS03", false, "posted"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("failing step " << c.step) {
      Env env;
      std::string id = env.rt->initiate(valid_instruction(), {}, fail_at(c.step, ErrorKind::business, c.reason));
      env.rt->run();
      BOOST_TEST(env.final_state(id) == c.final_state);
      const SagaProgress* p = env.rt->progress(id);
      BOOST_REQUIRE(p);
      BOOST_TEST(p->reason_code == c.reason);
      auto kinds = env.kinds(id);
      bool compensated_reserve =
          std::find(kinds.begin(), kinds.end(), "compensated:reserve") != kinds.end();
      BOOST_TEST(compensated_reserve == c.released);
      auto hold = env.rt->store().hold(id);
      BOOST_TEST((hold ? hold->status : std::string()) == c.hold_status);
      BOOST_TEST(env.rt->store().posting_count(id) == (c.hold_status == "posted" ? 1 : 0));
      BOOST_TEST(env.rt->store().account("bank1/1234567890")->held_minor ==
                 (c.hold_status == "held" ? 10'000 : 0));
      BOOST_TEST(kinds.back() == (c.final_state == "in_doubt" || c.step != "notify" ? "final" : "step_ok:notify"));
      env.check_conserved();
    }
  }
}

BOOST_AUTO_TEST_CASE(real_ledger_refusal_rejects_without_hold) {
  Env env;
  PaymentInstruction p = valid_instruction();
  p.debtor.account_number = "1111111111";  // holds R50.00
  p.amount.amount_minor = 5'001;
  std::string id = env.rt->initiate(p);
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "rejected");
  BOOST_TEST(env.rt->progress(id)->reason_code == "AM04");
  BOOST_TEST(!env.rt->store().hold(id).has_value());
  env.check_conserved();
}

BOOST_AUTO_TEST_CASE(real_validation_and_routing_failures) {
  Env env;
  PaymentInstruction bad = valid_instruction();
  bad.creditor.iban = "GB82WEST12345698765431";  // wrong check digits
  bad.creditor.account_number.clear();
  bad.creditor.branch_code.clear();
  std::string v = env.rt->initiate(bad);
  PaymentInstruction proxy_big = valid_instruction();
  proxy_big.creditor.account_number.clear();
  proxy_big.creditor.branch_code.clear();
  proxy_big.creditor.proxy = "0812345678@bankname";
  proxy_big.amount.amount_minor = 6'000'000;  // above the PayShap cap
  std::string r = env.rt->initiate(proxy_big);
  env.rt->run();
  BOOST_TEST(env.final_state(v) == "rejected");
  BOOST_TEST(env.rt->progress(v)->reason_code == "AC03");
  BOOST_TEST(env.final_state(r) == "failed");
  BOOST_TEST(env.rt->progress(r)->reason_code == "AM02");
  BOOST_TEST(env.rt->store().hold(r)->status == "released");
  env.check_conserved();
}

// Transient failures retry with exponential backoff and jitter on the
// injected clock; the journaled retry times are honoured.
BOOST_AUTO_TEST_CASE(transient_failures_retry_with_backoff) {
  VirtualRuntimeOptions opts;
  opts.saga.backoff_initial_ms = 100;
  opts.saga.backoff_max_ms = 10'000;
  opts.saga.submit_attempts = 3;
  Env env(opts);
  int64_t t0 = env.rt->clock().now_ms();
  std::vector<int64_t> attempt_times;
  auto fault = [&](const std::string& s, uint32_t attempt) -> std::optional<StepOutcome> {
    if (s != "submit") return std::nullopt;
    attempt_times.push_back(env.rt->clock().now_ms());
    if (attempt < 3) return StepOutcome::failure(ErrorKind::transient, "AB08", "bounce");
    return std::nullopt;
  };
  std::string id = env.rt->initiate(valid_instruction(), {}, fault);
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "completed");
  BOOST_REQUIRE(attempt_times.size() == 3u);
  int64_t gap1 = attempt_times[1] - attempt_times[0];
  int64_t gap2 = attempt_times[2] - attempt_times[1];
  BOOST_TEST(gap1 >= 50);  // equal jitter: [d/2, d] with d = 100
  BOOST_TEST(gap1 <= 100);
  BOOST_TEST(gap2 >= 100);  // d = 200
  BOOST_TEST(gap2 <= 200);
  int retries = 0;
  for (const auto& e : env.rt->store().events_for(id))
    if (e.kind == "retry") {
      ++retries;
      BOOST_TEST(json_get_int(e.data, "retry_at_ms") > t0);
      BOOST_TEST(json_get_string(e.data, "reason") == "AB08");
    }
  BOOST_TEST(retries == 2);
}

BOOST_AUTO_TEST_CASE(transient_failures_exhausted_compensate) {
  VirtualRuntimeOptions opts;
  opts.saga.submit_attempts = 2;
  Env env(opts);
  std::string id = env.rt->initiate(valid_instruction(), {}, fail_at("submit", ErrorKind::transient, "AB08"));
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "failed");
  BOOST_TEST(env.rt->progress(id)->reason_code == "AB08");
  BOOST_TEST(env.rt->store().hold(id)->status == "released");
  env.check_conserved();
}

// A rail that never answers: each of 3 submit attempts times out after
// `timeout_ms` on the virtual clock (backoffs of 50..100 and 100..200 ms
// between them); exhausted, the payment goes in_doubt with AB06 and keeps
// its hold.
namespace {
void check_silent_rail_runs_out(VirtualRuntimeOptions opts, int64_t timeout_ms) {
  opts.rail.silent_ppm = 1'000'000;
  opts.saga.submit_attempts = 3;
  opts.saga.backoff_initial_ms = 100;
  Env env(opts);
  int64_t t0 = env.rt->clock().now_ms();
  std::string id = env.rt->initiate(valid_instruction());
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "in_doubt");
  BOOST_TEST(env.rt->progress(id)->reason_code == "AB06");
  BOOST_TEST(env.rt->rail().submissions() == 3u);
  int64_t elapsed = env.rt->clock().now_ms() - t0;
  BOOST_TEST(elapsed >= 3 * timeout_ms + 50 + 100);
  BOOST_TEST(elapsed <= 3 * timeout_ms + 100 + 200);
  BOOST_TEST(env.rt->store().hold(id)->status == "held");
  env.check_conserved();
}
}  // namespace

BOOST_AUTO_TEST_CASE(silent_rail_times_out_to_in_doubt) {
  VirtualRuntimeOptions opts;
  opts.saga.submit_timeout_ms = 2'000;
  check_silent_rail_runs_out(opts, 2'000);
}

// A rail's own submit timeout, when set, replaces the default: the same
// silent rail runs out after 3 x 500 ms instead of 3 x 2 s.
BOOST_AUTO_TEST_CASE(per_rail_submit_timeout_replaces_the_default) {
  VirtualRuntimeOptions opts;
  opts.saga.submit_timeout_ms = 2'000;
  Env probe(opts);  // which rail does this instruction take?
  std::string pid = probe.rt->initiate(valid_instruction());
  probe.rt->run(1'000);
  std::string rail;
  for (const auto& e : probe.rt->store().events_for(pid))
    if (e.kind == "step_ok" && e.step == "route") rail = json_get_string(e.data, "rail");
  auto r = clearing::rail_from_string(rail);
  BOOST_REQUIRE(r);
  opts.saga.submit_timeout_ms_by_rail[static_cast<size_t>(*r)] = 500;
  check_silent_rail_runs_out(opts, 500);
}

// The rail's final status comes later than the await timeout: the second
// attempt queries the rail and learns the outcome.
BOOST_AUTO_TEST_CASE(late_final_status_found_by_query) {
  VirtualRuntimeOptions opts;
  opts.rail.min_latency_ms = opts.rail.max_latency_ms = 60'000;
  opts.saga.await_timeout_ms = 10'000;
  Env env(opts);
  std::string id = env.rt->initiate(valid_instruction());
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "completed");
  BOOST_TEST(env.rt->rail().queries() >= 1u);
  BOOST_TEST(env.rt->store().posting_count(id) == 1);
}

// How a payment's events are grouped into journal appends: one row of
// saga_events per chain, as "count:first-step" in seq order.
std::vector<std::string> chains_of(const std::string& db_path, const std::string& id) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  BOOST_REQUIRE_EQUAL(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  BOOST_REQUIRE_EQUAL(sqlite3_prepare_v2(db, "SELECT count, kind, step FROM saga_events "
                                             "WHERE payment_id = ?1 ORDER BY seq",
                                         -1, &st, nullptr),
                      SQLITE_OK);
  sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string step = reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
    out.push_back(std::to_string(sqlite3_column_int(st, 0)) + ":" +
                  reinterpret_cast<const char*>(sqlite3_column_text(st, 1)) +
                  (step.empty() ? "" : "/" + step));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// A rail that answers a submission with its final status at once (as RTC
// does) leaves nothing to wait for: submit's event, await's and the local
// steps after them are one append. A rail that acknowledges first and
// settles later gets submit journaled on its own before the wait.
BOOST_AUTO_TEST_CASE(an_answer_in_hand_joins_the_chain) {
  {
    Env env;  // the instant rail: the final status is the only answer
    std::string id = env.rt->initiate(valid_instruction());
    env.rt->run();
    BOOST_TEST(env.final_state(id) == "completed");
    std::vector<std::string> expected = {"5:received", "4:step_ok/submit"};
    BOOST_TEST(chains_of(env.dir.path() + "/engine.db", id) == expected,
               boost::test_tools::per_element());
    BOOST_TEST(env.rt->rail().submissions() == 1u);
    BOOST_TEST(env.rt->rail().queries() == 0u);
    env.check_conserved();
  }
  {
    VirtualRuntimeOptions opts;  // acknowledged at once, settled 2 s later
    opts.rail.min_latency_ms = opts.rail.max_latency_ms = 2'000;
    Env env(opts);
    std::string id = env.rt->initiate(valid_instruction());
    env.rt->run();
    BOOST_TEST(env.final_state(id) == "completed");
    std::vector<std::string> expected = {"5:received", "1:step_ok/submit", "3:step_ok/await"};
    BOOST_TEST(chains_of(env.dir.path() + "/engine.db", id) == expected,
               boost::test_tools::per_element());
    BOOST_TEST(env.rt->rail().queries() == 0u);
    env.check_conserved();
  }
  {
    VirtualRuntimeOptions opts;  // rejected at once: the release is journaled after
    opts.rail.reject_ppm = 500'000;
    Env env(opts);
    PaymentInstruction p = valid_instruction();
    std::string id;
    for (int i = 0; i < 200 && id.empty(); ++i) {  // a payment id the rail rejects
      std::string candidate = env.rt->initiate(p);
      env.rt->run();
      if (env.final_state(candidate) == "failed") id = candidate;
    }
    BOOST_REQUIRE_MESSAGE(!id.empty(), "no rejection among 200 payments");
    std::vector<std::string> chains = chains_of(env.dir.path() + "/engine.db", id);
    BOOST_REQUIRE_GE(chains.size(), 3u);
    BOOST_TEST(chains[1] == "2:step_ok/submit");  // submit ok, await failed
    env.check_conserved();
  }
}

// A process that dies while a retry is pending: the restarted engine waits
// out the rest of the journaled backoff rather than starting afresh, and
// finishes the saga.
BOOST_AUTO_TEST_CASE(recovery_rebuilds_journaled_retry_timer) {
  VirtualRuntimeOptions opts;
  opts.saga.backoff_initial_ms = 5'000;
  opts.saga.backoff_max_ms = 5'000;
  Env env(opts);
  std::string id = env.rt->initiate(valid_instruction(), {}, [](const std::string& s, uint32_t a) -> std::optional<StepOutcome> {
    if (s == "submit" && a == 1) return StepOutcome::failure(ErrorKind::transient, "AB08", "bounce");
    return std::nullopt;
  });
  // Run only until the retry is journaled (the backoff is 2.5 s .. 5 s).
  env.rt->run(1'000);
  int64_t retry_at = 0;
  for (const auto& e : env.rt->store().events_for(id))
    if (e.kind == "retry") retry_at = json_get_int(e.data, "retry_at_ms");
  BOOST_REQUIRE(retry_at > 0);
  int64_t crash_time = env.rt->clock().now_ms();
  BOOST_TEST(!env.rt->store().saga(id)->terminal);

  env.restart(opts, crash_time + 1'000);  // restarted 1 s later
  BOOST_TEST(env.rt->recover() == 1u);
  std::vector<int64_t> submit_times;
  // After recovery the instance is new; observe the resubmission time via the journal.
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "completed");
  int64_t submitted_at = 0;
  for (const auto& e : env.rt->store().events_for(id))
    if (e.kind == "step_ok" && e.step == "submit") submitted_at = e.at_ms;
  BOOST_TEST(submitted_at >= retry_at);            // waited for the journaled time
  BOOST_TEST(submitted_at <= retry_at + 10);       // and no longer: not restarted from zero
  BOOST_TEST(env.rt->store().posting_count(id) == 1);
  env.check_conserved();
}

// An await deadline journaled before a crash is rebuilt: if it passed while
// the engine was down, the timeout fires at once on recovery.
BOOST_AUTO_TEST_CASE(recovery_rebuilds_journaled_deadline) {
  VirtualRuntimeOptions opts;
  opts.rail.silent_ppm = 1'000'000;
  opts.saga.submit_timeout_ms = 4'000;
  opts.saga.submit_attempts = 1;
  Env env(opts);
  std::string id = env.rt->initiate(valid_instruction());
  env.rt->run(1'000);  // submitted, waiting for the ack
  int64_t started = 0;
  for (const auto& e : env.rt->store().events_for(id))
    if (e.kind == "step_ok" && e.step == "route") started = e.at_ms;
  BOOST_REQUIRE(started > 0);
  env.restart(opts, started + 60'000);  // down for a minute: deadline passed
  int64_t now = env.rt->clock().now_ms();
  env.rt->recover();
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "in_doubt");
  BOOST_TEST(env.rt->progress(id)->reason_code == "AB06");
  auto events = env.rt->store().events_for(id);
  BOOST_TEST(events.back().at_ms == now);  // fired at once, not after another 4 s
}

// A saga recovered from a snapshot plus the events after it behaves exactly
// like one recovered from every event: same journal, byte for byte.
BOOST_AUTO_TEST_CASE(snapshot_recovery_equals_full_replay) {
  auto journal = [](bool with_snapshot) {
    VirtualRuntimeOptions opts;
    opts.rail.min_latency_ms = opts.rail.max_latency_ms = 60'000;  // final comes late: the query path
    opts.saga.await_timeout_ms = 10'000;
    Env env(opts);
    std::string id = env.rt->initiate(valid_instruction(), {}, [](const std::string& s, uint32_t a) -> std::optional<StepOutcome> {
      if (s == "route" && a == 1) return StepOutcome::failure(ErrorKind::transient, "MS03", "busy once");
      return std::nullopt;
    });
    env.rt->run(3'000);  // retried route, submitted, awaiting
    BOOST_TEST(env.rt->store().saga(id)->state == "submitted");
    if (with_snapshot) {
      BOOST_TEST(env.rt->snapshot(id));
      BOOST_TEST(env.rt->store().snapshot(id).has_value());
    }
    env.restart(opts, env.rt->clock().now_ms() + 4'000);
    BOOST_TEST(env.rt->recover() == 1u);
    env.rt->run();
    BOOST_TEST(env.final_state(id) == "completed");
    BOOST_TEST(env.rt->store().posting_count(id) == 1);
    std::string log;
    for (const auto& e : env.rt->store().events_for(id))
      log += std::to_string(e.seq) + "|" + e.kind + "|" + e.step + "|" + std::to_string(e.attempt) + "|" +
             e.state + "|" + std::to_string(e.at_ms) + "|" + e.data + "\n";
    return log;
  };
  std::string full = journal(false);
  BOOST_TEST(full.find("retry|route") != std::string::npos);
  BOOST_TEST(journal(true) == full);
}

BOOST_AUTO_TEST_CASE(cancel_before_submission_compensates) {
  VirtualRuntimeOptions opts;
  opts.saga.backoff_initial_ms = 1'000;
  Env env(opts);
  // Hold the payment in route's backoff so the cancel finds it cancellable.
  std::string id = env.rt->initiate(valid_instruction(), {}, [](const std::string& s, uint32_t) -> std::optional<StepOutcome> {
    if (s == "route") return StepOutcome::failure(ErrorKind::transient, "MS03", "busy");
    return std::nullopt;
  });
  env.rt->run(100);
  BOOST_TEST(env.rt->cancel(id) == CancelResult::accepted);
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "cancelled");
  BOOST_TEST(env.rt->progress(id)->reason_code == "CUST");
  BOOST_TEST(env.rt->store().hold(id)->status == "released");
  env.check_conserved();
}

BOOST_AUTO_TEST_CASE(cancel_after_submission_is_too_late) {
  VirtualRuntimeOptions opts;
  opts.rail.min_latency_ms = opts.rail.max_latency_ms = 5'000;
  Env env(opts);
  std::string id = env.rt->initiate(valid_instruction());
  env.rt->run(1'000);
  BOOST_TEST(env.rt->store().saga(id)->state == "submitted");
  BOOST_TEST(env.rt->cancel(id) == CancelResult::too_late);
  env.rt->run();
  BOOST_TEST(env.final_state(id) == "completed");
  BOOST_TEST(env.rt->cancel(id) == CancelResult::already_final);
}

BOOST_AUTO_TEST_CASE(idempotency_key_replay_and_conflict) {
  Env env;
  PaymentInstruction p = valid_instruction();
  std::string a = env.rt->initiate(p, IdempotencyClaim{"key-1", "hash-A"});
  env.rt->run();
  std::string b = env.rt->initiate(p, IdempotencyClaim{"key-1", "hash-A"});
  std::string c = env.rt->initiate(p, IdempotencyClaim{"key-1", "hash-B"});
  env.rt->run();
  auto rb = env.rt->replay(b);
  auto rc = env.rt->replay(c);
  BOOST_REQUIRE(rb);
  BOOST_REQUIRE(rc);
  BOOST_TEST(static_cast<int>(rb->status) == static_cast<int>(AppendStatus::idempotent_replay));
  BOOST_TEST(rb->existing_id == a);
  BOOST_TEST(static_cast<int>(rc->status) == static_cast<int>(AppendStatus::idempotency_conflict));
  BOOST_TEST(!env.rt->store().saga(b).has_value());
  BOOST_TEST(!env.rt->store().saga(c).has_value());
  BOOST_TEST(env.rt->store().posting_count(a) == 1);
}

// Thousands of payments with random rail outcomes, injected faults of every
// kind, cancels, small balances and a crash in the middle: every saga ends in
// exactly one final state, money is conserved, nothing settles twice, and
// each final state agrees with the ledger.
BOOST_AUTO_TEST_CASE(property_thousands_of_random_payments) {
  for (uint64_t seed : {11u, 12u, 13u}) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      VirtualRuntimeOptions opts;
      opts.seed = seed;
      opts.rail.seed = seed;
      opts.rail.reject_ppm = 100'000;
      opts.rail.transient_ppm = 100'000;
      opts.rail.silent_ppm = 20'000;
      opts.rail.min_latency_ms = 0;
      opts.rail.max_latency_ms = 15'000;
      opts.saga.await_timeout_ms = 10'000;
      Env env(opts, false);
      Rng rng(seed);
      const int kAccounts = 20;
      for (int i = 0; i < kAccounts; ++i) {
        std::string acct = std::to_string(1000000000 + i);
        int64_t balance = i < 3 ? static_cast<int64_t>(rng.uniform(500'000)) : 2'000'000'000;  // three poor ones
        BOOST_REQUIRE(env.rt->store().create_account("bank1/" + acct, "ZAR", balance).ok());
      }
      env.totals_before = env.rt->store().total_balance_by_currency();
      const char* steps[] = {"validate", "screen", "reserve", "route", "submit", "await", "post", "notify", "release"};
      std::vector<std::string> ids;
      const int kPayments = 2'000;
      for (int i = 0; i < kPayments; ++i) {
        PaymentInstruction p = valid_instruction();
        p.debtor.account_number = std::to_string(1000000000 + static_cast<int>(rng.uniform(kAccounts)));
        p.amount.amount_minor = 1 + static_cast<int64_t>(rng.uniform(400'000));
        p.end_to_end_id = "E2E-" + std::to_string(i);
        if (rng.chance_ppm(30'000)) p.creditor.account_number = "12";  // invalid
        VirtualRuntime::Fault fault;
        if (rng.chance_ppm(150'000)) {
          std::string step = steps[rng.uniform(9)];
          ErrorKind kind = static_cast<ErrorKind>(rng.uniform(3));
          uint32_t upto = 1 + static_cast<uint32_t>(rng.uniform(4));
          fault = [step, kind, upto](const std::string& s, uint32_t a) -> std::optional<StepOutcome> {
            if (s != step || a > upto) return std::nullopt;
            return StepOutcome::failure(kind, "MS03", "injected");
          };
        }
        ids.push_back(env.rt->initiate(p, IdempotencyClaim{"k" + std::to_string(i), "h"}, fault));
        if (rng.chance_ppm(50'000)) env.rt->run(static_cast<int64_t>(rng.uniform(50)));
        if (rng.chance_ppm(20'000)) env.rt->cancel(ids[rng.uniform(ids.size())]);
      }
      // Crash part-way: drop the runtime mid-flight and recover on the same file.
      env.rt->run(5'000);
      int64_t t = env.rt->clock().now_ms();
      env.restart(opts, t + 2'000);
      env.rt->recover();
      env.rt->run();

      std::map<std::string, int> finals;
      for (const std::string& id : ids) {
        auto s = env.rt->store().saga(id);
        BOOST_REQUIRE_MESSAGE(s.has_value(), id + " lost");
        BOOST_REQUIRE_MESSAGE(s->terminal, id + " not final: " + s->state);
        finals[s->state]++;
        int terminal_events = 0;
        for (const auto& e : env.rt->store().events_for(id)) terminal_events += e.terminal ? 1 : 0;
        BOOST_TEST(terminal_events == 1);
        int64_t posts = env.rt->store().posting_count(id);
        BOOST_TEST(posts <= 1);
        auto hold = env.rt->store().hold(id);
        std::string hs = hold ? hold->status : "";
        if (s->state == "completed") {
          BOOST_TEST(posts == 1);
          BOOST_TEST(hs == "posted");
        } else if (s->state == "rejected") {
          BOOST_TEST(hs == "");
        } else if (s->state == "failed") {
          BOOST_TEST_CONTEXT(id << " " << env.kinds_str(id)) BOOST_TEST(hs == "released");
        } else if (s->state == "cancelled") {
          BOOST_TEST((hs == "released" || hs == ""));  // "" when cancelled before the reserve
        } else {
          BOOST_TEST(s->state == "in_doubt");
          BOOST_TEST((hs == "held" || hs == "posted" || hs == "released"));
        }
      }
      env.check_conserved();
      int64_t held = 0;
      for (const auto& a : env.rt->store().accounts()) held += a.held_minor;
      int64_t in_doubt_held = 0;
      for (const std::string& id : ids) {
        auto hold = env.rt->store().hold(id);
        if (hold && hold->status == "held") in_doubt_held += hold->amount.amount_minor;
      }
      BOOST_TEST(held == in_doubt_held);
      BOOST_TEST(finals["completed"] > 500);
      BOOST_TEST(finals["failed"] > 10);
      BOOST_TEST(finals["rejected"] > 10);
      BOOST_TEST(finals["in_doubt"] > 0);
      BOOST_TEST_MESSAGE("seed " << seed << ": completed " << finals["completed"] << ", failed "
                                 << finals["failed"] << ", rejected " << finals["rejected"]
                                 << ", cancelled " << finals["cancelled"] << ", in_doubt "
                                 << finals["in_doubt"]);
    }
  }
}

// The same seed gives the same journal, byte for byte.
BOOST_AUTO_TEST_CASE(same_seed_same_journal) {
  auto journal = [](uint64_t seed) {
    VirtualRuntimeOptions opts;
    opts.seed = seed;
    opts.rail.seed = seed;
    opts.rail.reject_ppm = 200'000;
    opts.rail.transient_ppm = 200'000;
    opts.rail.max_latency_ms = 3'000;
    Env env(opts);
    std::vector<std::string> ids;
    for (int i = 0; i < 200; ++i) {
      PaymentInstruction p = valid_instruction();
      p.amount.amount_minor = 100 + i;
      ids.push_back(env.rt->initiate(p));
    }
    env.rt->run();
    std::string log;
    for (const std::string& id : ids)
      for (const auto& e : env.rt->store().events_for(id))
        log += std::to_string(e.seq) + "|" + e.payment_id + "|" + e.kind + "|" + e.step + "|" +
               std::to_string(e.attempt) + "|" + e.state + "|" + std::to_string(e.at_ms) + "|" +
               e.data + "\n";
    return log;
  };
  std::string a = journal(5);
  BOOST_TEST(a.size() > 10'000u);
  BOOST_TEST(a == journal(5));
  BOOST_TEST(a != journal(6));
}

// The journaled instruction is written directly (no JSON tree); it is also
// what the HTTP and Kafka doors hash for idempotency, so it must be byte for
// byte the tree's text: random strings over escapes, control bytes, UTF-8,
// invalid UTF-8 (the tree's replacement), empty optional members.
BOOST_AUTO_TEST_CASE(instruction_json_equals_the_tree_encoding) {
  Rng rng(20261126);
  const std::vector<std::string> pieces = {
      "a", "Z", "0", " ", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", std::string(1, '\0'),
      "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\x9f\xbf",
      "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf",
      // invalid: lone continuation, overlong, surrogate, above U+10FFFF, truncated
      "\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xf0\x9f\x98", "\xff"};
  const size_t kValidPieces = 22;  // pieces before the invalid ones
  bool allow_invalid = false;
  auto random_string = [&](bool may_be_empty) {
    std::string s;
    size_t n = rng.uniform(may_be_empty ? 6 : 5) + (may_be_empty ? 0 : 1);
    for (size_t i = 0; i < n; ++i)
      s += pieces[rng.uniform(allow_invalid && rng.uniform(8) == 0 ? pieces.size() : kValidPieces)];
    return s;
  };
  auto random_party = [&] {
    PartyAccount a;
    a.name = random_string(true);
    a.account_number = random_string(true);
    a.branch_code = random_string(true);
    a.iban = random_string(true);
    a.bic = random_string(true);
    a.proxy = random_string(true);
    return a;
  };
  BOOST_REQUIRE_EQUAL(pieces[kValidPieces], "\x80");
  for (int i = 0; i < 20000; ++i) {
    PaymentInstruction p = valid_instruction();
    allow_invalid = i % 4 == 2;
    if (i % 2 == 0) {
      p.tenant = random_string(false);
      p.end_to_end_id = random_string(true);
      p.amount.currency = random_string(true);
      p.debtor = random_party();
      p.creditor = random_party();
      p.remittance = random_string(true);
      p.requested_rail = random_string(true);
    }
    p.amount.amount_minor = static_cast<int64_t>(rng.next_u64());
    p.urgency = static_cast<Urgency>(rng.uniform(3));
    const std::string want = instruction_to_json_reference(p);
    const std::string got = instruction_to_json(p);
    BOOST_TEST_REQUIRE(got == want, "instruction " << i);
  }
}

// Payment ids (Rng::time_ordered_id) sort in the order they were made: within
// one millisecond, across the 4,096 ids a millisecond's counter holds, and
// when the clock steps back (so GET /v1/payments pages in creation order).
BOOST_AUTO_TEST_CASE(time_ordered_ids_increase_strictly) {
  payengine::Rng rng(7);
  std::string last;
  auto next = [&](int64_t now_ms) {
    std::string id = rng.time_ordered_id(now_ms);
    BOOST_REQUIRE_EQUAL(id.size(), 32u);
    BOOST_REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    BOOST_REQUIRE_EQUAL(id[12], '7');
    BOOST_REQUIRE_MESSAGE(id > last, id << " does not sort after " << last);
    last = id;
    return id;
  };
  const int64_t t0 = 0x0193F5C2A7E8;
  std::string first = next(t0);
  BOOST_CHECK_EQUAL(first.substr(0, 16), "0193f5c2a7e87000");  // ms, version, counter 0
  for (int i = 1; i < 10'000; ++i) next(t0);  // past the counter: the ms field moves on
  // 10,000 = 2 x 4,096 + 1,808: the last id is t0 + 2 with counter 1,807.
  BOOST_CHECK_EQUAL(last.substr(0, 16), "0193f5c2a7ea770f");
  for (int i = 0; i < 100; ++i) next(t0 - 1'000);  // the clock stepped back
  std::string later = next(t0 + 5);
  BOOST_CHECK_EQUAL(later.substr(0, 16), "0193f5c2a7ed7000");
}
