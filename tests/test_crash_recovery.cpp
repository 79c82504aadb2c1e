// Crash recovery for real: a child `payengine run` process is killed with
// SIGKILL at named kill points spread across the saga, the journal and the
// rail (and at random moments), then restarted on the same database. At the
// end every payment sent has exactly one saga, every saga is final, no
// payment settled twice, each final state agrees with the ledger, and the
// ledger total is unchanged.
#define BOOST_TEST_MODULE crash_recovery
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "sagas/rng.hpp"
#include "sagas/store.hpp"
#include "tests/fixtures.hpp"

using namespace payengine;
using namespace payengine::sagas;

namespace {

constexpr int kPayments = 300;
constexpr int kAccounts = 20;          // per tenant, two tenants
constexpr int kPoorAccounts = 2;       // funded with 1'000 minor units (driver defaults)
constexpr int64_t kOpening = 2'000'000'000;

struct Outcome {
  bool killed = false;  // died of SIGKILL
  int exit_code = -1;   // when it exited
};

// Runs `payengine run` on `db`; with `killpoint`, the child kills itself
// there; with `kill_after_ms` > 0 the parent kills it then (if still alive).
Outcome run_child(const std::string& db, uint64_t seed, const std::string& killpoint,
                  int64_t kill_after_ms, const std::string& out_path,
                  int64_t deadline_ms = 180'000) {
  pid_t pid = fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!killpoint.empty()) setenv("PAYENGINE_KILLPOINT", killpoint.c_str(), 1);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    execl(PAYENGINE_BINARY, PAYENGINE_BINARY, "run", "--db", db.c_str(), "--payments",
          std::to_string(kPayments).c_str(), "--seed", std::to_string(seed).c_str(),
          "--print-accepted", "--concurrency", "40",
          "--submit-timeout-ms", "300", "--await-timeout-ms", "400", "--rail-max-latency-ms", "5",
          "--reject-ppm", "60000", "--transient-ppm", "60000", "--silent-ppm", "10000",
          "--wait-timeout-ms", "60000", static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto start = std::chrono::steady_clock::now();
  bool parent_killed = false;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      Outcome o;
      if (WIFSIGNALED(status)) o.killed = WTERMSIG(status) == SIGKILL;
      if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
      return o;
    }
    auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
    if (kill_after_ms > 0 && !parent_killed && elapsed_ms >= kill_after_ms) {
      kill(pid, SIGKILL);
      parent_killed = true;
    }
    if (elapsed_ms > deadline_ms) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      BOOST_FAIL("child did not finish within the deadline (hang)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

// The payment ids a run printed as accepted before it ended or died.
std::vector<std::string> accepted_ids(const std::string& path) {
  std::vector<std::string> ids;
  std::ifstream in(path);
  std::string word, id;
  while (in >> word) {
    if (word == "accepted" && in >> id) ids.push_back(id);
  }
  return ids;
}

BOOST_AUTO_TEST_CASE(sigkill_at_kill_points_then_recover) {
  testing::TempDir dir;
  const std::string db = dir.path() + "/engine.db";
  // Kill points across the saga (each step's action and each kind of
  // durable event), the journal's group commit and the rail.
  const std::vector<std::string> points = {
      "supervisor.initiate",       "journal.before_commit",     "journal.after_commit",
      "journal.mid_ack",           "saga.durable.received",     "saga.action.validate",
      "saga.durable.step_ok.validate", "saga.action.screen",    "saga.durable.step_ok.screen",
      "saga.action.reserve",       "saga.durable.step_ok.reserve", "saga.action.route",
      "saga.durable.step_ok.route", "saga.action.submit",       "rail.submit",
      "rail.acked",                "saga.durable.step_ok.submit", "saga.action.await",
      "saga.durable.step_ok.await", "saga.action.post",         "saga.durable.step_ok.post",
      "saga.action.notify",        "saga.durable.retry.submit", "saga.durable.step_failed.await",
      "saga.durable.compensated.reserve", "saga.durable.final",  "saga.recovered",
  };
  Rng rng(2026);
  std::set<std::string> killed_at;
  std::set<std::string> accepted;  // every id any run was told was accepted
  uint64_t seed = 100;
  auto collect = [&](const std::string& out) {
    for (auto& id : accepted_ids(out)) accepted.insert(id);
  };
  for (const std::string& point : points) {
    // Each run sends a fresh batch (its own seed) and recovers what earlier
    // runs left behind, so every kill point has work to interrupt.
    const long hit = 1 + static_cast<long>(rng.uniform(20));
    const std::string out = dir.path() + "/run-" + std::to_string(seed) + ".out";
    BOOST_TEST_CONTEXT("kill point " << point << ":" << hit) {
      Outcome o = run_child(db, seed++, point + ":" + std::to_string(hit), 0, out);
      collect(out);
      if (o.killed) killed_at.insert(point);
      else BOOST_TEST_MESSAGE("not reached: " << point << ":" << hit << " exit " << o.exit_code);
      // A run that was not killed must have finished every saga.
      if (!o.killed) BOOST_TEST(o.exit_code == 0);
    }
  }
  // Kills at random moments, too.
  for (int i = 0; i < 4; ++i) {
    const std::string out = dir.path() + "/run-" + std::to_string(seed) + ".out";
    run_child(db, seed++, "", 30 + static_cast<int64_t>(rng.uniform(300)), out);
    collect(out);
  }
  BOOST_TEST_MESSAGE("killed at " << killed_at.size() << " distinct kill points");
  BOOST_TEST(killed_at.size() >= 20u);

  // The last run is not killed: it recovers everything and must finish.
  const std::string last_out = dir.path() + "/run-last.out";
  Outcome last = run_child(db, seed++, "", 0, last_out);
  collect(last_out);
  BOOST_TEST(!last.killed);
  BOOST_TEST(last.exit_code == 0);

  StoreOptions so;
  so.path = db;
  auto opened = Store::open(so);
  BOOST_REQUIRE(opened.ok());
  Store& store = *opened.value();

  // Money conserved: the driver funded 2 tenants x 20 accounts once.
  const int64_t expected_total =
      2 * (kPoorAccounts * 1'000 + (kAccounts - kPoorAccounts) * kOpening);
  auto totals = store.total_balance_by_currency();
  BOOST_TEST(totals.size() == 1u);
  BOOST_TEST(totals["ZAR"] == expected_total);

  // Nothing left open.
  BOOST_TEST(store.open_sagas("", 1'000'000).empty());
  // The last run alone accepts kPayments; the killed runs add theirs (how
  // many depends on how fast the children ran before their kill).
  BOOST_TEST_MESSAGE(accepted.size() << " payments accepted across all runs");
  BOOST_TEST(accepted.size() > static_cast<size_t>(kPayments));

  int64_t sagas = 0;
  for (const auto& [state, n] : store.count_by_state()) sagas += n;
  // Every saga any run created, through the driver's idempotency keys: the
  // accepted ones, and those made durable by a run killed before it could
  // print the reply.
  std::set<std::string> all;
  for (uint64_t s = 100; s < seed; ++s)
    for (int i = 0; i < kPayments; ++i)
      for (const char* tenant : {"bank1", "bank2"})
        if (auto key = store.idempotency(tenant, "drv-" + std::to_string(s) + "-" + std::to_string(i)))
          all.insert(key->payment_id);
  BOOST_TEST(static_cast<int64_t>(all.size()) == sagas);
  for (const std::string& id : accepted) BOOST_TEST(all.count(id) == 1u, "accepted " << id << " has no key");

  int64_t held_total = 0;
  for (const auto& a : store.accounts()) held_total += a.held_minor;
  int64_t held_by_holds = 0;
  std::map<std::string, int> states;
  // Every accepted payment has its saga, final, settled at most once, and
  // its final state agrees with the ledger.
  for (const std::string& id : all) {
    auto s = store.saga(id);
    BOOST_TEST_REQUIRE(s.has_value(), "payment " << id << " was lost");
    BOOST_TEST(s->terminal);
    states[s->state]++;
    auto events = store.events_for(id);
    int terminal_events = 0;
    for (const auto& e : events) terminal_events += e.terminal ? 1 : 0;
    BOOST_TEST(terminal_events == 1, id << " has " << terminal_events << " terminal events");
    BOOST_TEST(events.back().terminal, id << " has events after its final one");
    int64_t posts = store.posting_count(id);
    BOOST_TEST(posts <= 1, id << " settled " << posts << " times");
    auto hold = store.hold(id);
    std::string hs = hold ? hold->status : "";
    if (hold && hs == "held") held_by_holds += hold->amount.amount_minor;
    if (s->state == "completed") {
      BOOST_TEST(posts == 1);
    } else if (s->state == "rejected") {
      BOOST_TEST(hs == "");
    } else if (s->state == "failed" || s->state == "cancelled") {
      BOOST_TEST(hs == "released", id << " " << s->state << " with hold " << hs);
    } else {
      BOOST_TEST(s->state == "in_doubt");
    }
  }
  BOOST_TEST(held_total == held_by_holds);
  BOOST_TEST(states["completed"] > static_cast<int>(all.size() / 2));
  for (const auto& [state, n] : states) BOOST_TEST_MESSAGE(state << ": " << n);
}
