// The payment saga on the real CAF actor runtime (payengine::Engine) with a
// real SQLite journal and ledger: the happy path under concurrency, initiate
// answering only once the first event is durable, idempotency keys,
// admission control, supervisor restarts of crashed payment actors and the
// restart-intensity limit (in_doubt MS03), a crash before the first chain is
// durable, passivation and reactivation, cancellation through the actors, and
// destruction with payments in flight followed by a restart that resumes
// them. Every wait has a deadline; engine teardown runs under a watchdog.
#define BOOST_TEST_MODULE actors
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actors/caf_scheduler.hpp"
#include "actors/engine.hpp"
#include "sagas/sqlite_rows.hpp"
#include "sagas/timer_actor.hpp"
#include "tests/fixtures.hpp"

using namespace payengine;
using namespace payengine::sagas;
using payengine::testing::TempDir;
using payengine::testing::valid_instruction;
using payengine::testing::Watchdog;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kOpening = 1'000'000'000;  // R10m
const char* const kDebtor = "bank1/1234567890";

std::string to_str(InitiateReply::Status s) {
  switch (s) {
    case InitiateReply::Status::accepted: return "accepted";
    case InitiateReply::Status::replayed: return "replayed";
    case InitiateReply::Status::conflict: return "conflict";
    case InitiateReply::Status::overloaded: return "overloaded";
    case InitiateReply::Status::failed: return "failed";
  }
  return "?";
}

std::string to_str(CancelReply::Status s) {
  switch (s) {
    case CancelReply::Status::accepted: return "accepted";
    case CancelReply::Status::too_late: return "too_late";
    case CancelReply::Status::already_final: return "already_final";
    case CancelReply::Status::not_found: return "not_found";
    case CancelReply::Status::failed: return "failed";
  }
  return "?";
}

using Steady = std::chrono::steady_clock;

int64_t ms_since(Steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - t0).count();
}

// Polls `pred` until it holds or `timeout` passes; true when it held.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 10ms) {
  const auto deadline = Steady::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Steady::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

PaymentInstruction instruction(int i, int64_t amount_minor = 10'000) {
  PaymentInstruction p = valid_instruction();
  p.end_to_end_id = "E2E-" + std::to_string(i);
  p.amount.amount_minor = amount_minor;
  return p;
}

// One engine on a fresh SQLite file, with accounts and an on_done recorder.
struct Harness {
  TempDir dir;
  std::map<std::string, int64_t> totals_before;

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::vector<PaymentDone>> done;  // payment id -> on_done calls
  size_t done_total = 0;

  std::unique_ptr<Engine> engine;  // last: destroyed first, before what on_done uses

  explicit Harness(EngineConfig cfg) {
    start(std::move(cfg));
    bool created = false;
    engine->with_store([&](Store& s) {
      created = s.create_account(kDebtor, "ZAR", kOpening).ok() &&
                s.create_account("bank1/1111111111", "ZAR", 5'000).ok();
      totals_before = s.total_balance_by_currency();
    });
    BOOST_REQUIRE(created);
  }

  // Starts an engine on this harness's database (again, after `stop`).
  void start(EngineConfig cfg) {
    cfg.store.path = db_path();
    cfg.store.synchronous = Synchronous::normal;
    if (cfg.seed == 0) cfg.seed = 42;
    if (cfg.worker_threads == 0) cfg.worker_threads = 4;
    cfg.on_done = [this](const PaymentDone& d) {
      std::lock_guard<std::mutex> lock(mu);
      done[d.payment_id].push_back(d);
      ++done_total;
      cv.notify_all();
    };
    auto r = Engine::start(std::move(cfg));
    BOOST_REQUIRE_MESSAGE(r.ok(), "Engine::start: " + (r.ok() ? std::string() : r.error().message));
    engine = std::move(r.value());
    BOOST_REQUIRE_MESSAGE(engine->wait_recovered(5s), "recovery did not finish");
  }

  // Destroys the engine (on this thread, under a watchdog); returns how long it took.
  int64_t stop(std::chrono::milliseconds timeout, const std::string& what) {
    const auto t0 = Steady::now();
    Watchdog guard(timeout, what);
    engine.reset();
    return ms_since(t0);
  }

  ~Harness() {
    if (engine) stop(15s, "Engine destruction at the end of a test");
  }

  std::string db_path() const { return dir.path() + "/engine.db"; }

  // Waits until on_done has been called `n` times in total.
  bool wait_done(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return done_total >= n; });
  }
  size_t done_calls(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = done.find(id);
    return it == done.end() ? 0 : it->second.size();
  }
  std::optional<PaymentDone> last_done(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = done.find(id);
    if (it == done.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
  }

  std::optional<SagaSummary> saga(const std::string& id) {
    std::optional<SagaSummary> out;
    engine->with_store([&](Store& s) { out = s.saga(id); });
    return out;
  }
  std::vector<StoredEvent> events(const std::string& id) {
    std::vector<StoredEvent> out;
    engine->with_store([&](Store& s) { out = s.events_for(id); });
    return out;
  }
  std::string state(const std::string& id) {
    auto s = saga(id);
    return s ? s->state + (s->terminal ? "" : " (open)") : "(no saga)";
  }
  std::string journal_str(const std::string& id) {
    std::string out;
    for (const auto& e : events(id))
      out += e.kind + ":" + e.step + "/" + std::to_string(e.attempt) + "[" + e.state + "](" + e.data + ") ";
    return out;
  }

  // Waits until every id's saga row is terminal; on timeout reports the open ones.
  bool wait_terminal(const std::vector<std::string>& ids, std::chrono::milliseconds timeout) {
    std::vector<std::string> open;
    bool ok = eventually(
        [&] {
          open.clear();
          engine->with_store([&](Store& s) {
            for (const auto& id : ids) {
              auto sg = s.saga(id);
              if (!sg || !sg->terminal) open.push_back(id);
            }
          });
          return open.empty();
        },
        timeout, 20ms);
    if (!ok) {
      std::string msg = std::to_string(open.size()) + " of " + std::to_string(ids.size()) +
                        " sagas not terminal before the deadline; first: ";
      msg += open.front() + " " + journal_str(open.front());
      BOOST_TEST_MESSAGE(msg);
      BOOST_ERROR(msg);
    }
    return ok;
  }

  // Waits until no payment actor is active on any shard.
  bool wait_idle(std::chrono::milliseconds timeout) {
    return eventually([&] { return engine->total_stats().active == 0; }, timeout, 20ms);
  }

  void check_conserved() {
    std::map<std::string, int64_t> now;
    engine->with_store([&](Store& s) { now = s.total_balance_by_currency(); });
    BOOST_TEST(now == totals_before);
  }
};

// Sends `n` initiates with initiate_async and waits for all replies. The
// reply state is shared with the handlers: a late reply after a failed wait
// must not touch a dead stack frame.
std::vector<InitiateReply> initiate_many(Engine& engine, int n, int first_index,
                                         std::chrono::milliseconds timeout) {
  struct Replies {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<InitiateReply> v;
  };
  auto st = std::make_shared<Replies>();
  for (int i = 0; i < n; ++i)
    engine.initiate_async(instruction(first_index + i, 100 + i), std::nullopt,
                          [st](const InitiateReply& r) {
                            std::lock_guard<std::mutex> lock(st->mu);
                            st->v.push_back(r);
                            st->cv.notify_all();
                          });
  std::unique_lock<std::mutex> lock(st->mu);
  bool all = st->cv.wait_for(lock, timeout, [&] { return st->v.size() == static_cast<size_t>(n); });
  BOOST_REQUIRE_MESSAGE(all, "only " + std::to_string(st->v.size()) + " of " + std::to_string(n) +
                                 " initiate replies before the deadline");
  return st->v;
}

// Read-only second connection on the engine's database: sees only what is
// committed, and (unlike Engine::with_store) never flushes the journal's
// pending batch first.
class RawReader {
 public:
  explicit RawReader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      throw std::runtime_error("sqlite3_open_v2 failed");
    sqlite3_busy_timeout(db_, 5'000);
    if (sqlite3_prepare_v2(db_, "SELECT events FROM saga_events WHERE payment_id = ?1 ORDER BY seq",
                           -1, &stmt_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db_));
  }
  ~RawReader() {
    sqlite3_finalize(stmt_);
    sqlite3_close(db_);
  }
  RawReader(const RawReader&) = delete;
  RawReader& operator=(const RawReader&) = delete;

  std::vector<std::string> kinds(const std::string& id) {
    std::vector<std::string> out;
    sqlite3_reset(stmt_);
    sqlite3_bind_text(stmt_, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    // Each row is an event chain; its events are in a BLOB.
    while (sqlite3_step(stmt_) == SQLITE_ROW) {
      std::string_view in = payengine::sagas::sqlite_rows::blob_of(sqlite3_column_value(stmt_, 0));
      payengine::sagas::sqlite_rows::ChainEvent e;
      while (payengine::sagas::sqlite_rows::next_chain_event(in, &e)) out.emplace_back(e.kind);
    }
    sqlite3_reset(stmt_);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

// 200 concurrent payments through supervisor, payment actors, journal actor
// and simulated rail: all complete, each settles exactly once, money is
// conserved and the listener hears of each payment exactly once.
// The shard timer's heap: deadlines come out in deadline order (ties in
// arming order), never early, each once; only the arm that finds no tick
// scheduled asks the caller to kick the tick actor.
BOOST_AUTO_TEST_CASE(shard_timers_fire_in_order_and_tick_only_while_armed) {
  ShardTimers t;
  BOOST_TEST(t.arm(300, "p-c", 3, 1));   // idle: kick
  BOOST_TEST(!t.arm(100, "p-a", 1, 7));  // a tick is scheduled already
  BOOST_TEST(!t.arm(100, "p-b", 2, 9));
  BOOST_TEST(!t.arm(200, "p-a", 1, 8));
  BOOST_TEST(t.size() == 4u);
  bool more = false;
  BOOST_TEST(t.take_due(99, &more).empty());
  BOOST_TEST(more);
  auto due = t.take_due(200, &more);
  BOOST_REQUIRE(due.size() == 3u);
  BOOST_TEST(due[0].payment_id == "p-a");
  BOOST_TEST(due[0].timer_id == 7u);
  BOOST_TEST(due[1].payment_id == "p-b");  // same deadline, armed later
  BOOST_TEST(due[1].actor == 2u);
  BOOST_TEST(due[2].timer_id == 8u);
  BOOST_TEST(more);
  BOOST_TEST(!t.arm(250, "p-d", 4, 1));  // still ticking
  due = t.take_due(1'000, &more);
  BOOST_REQUIRE(due.size() == 2u);
  BOOST_TEST(due[0].payment_id == "p-d");
  BOOST_TEST(due[1].payment_id == "p-c");
  BOOST_TEST(!more);
  BOOST_TEST(t.size() == 0u);
  BOOST_TEST(t.arm(2'000, "p-e", 5, 1));  // idle again: kick
}

BOOST_AUTO_TEST_CASE(shard_timers_drop_deadlines_of_ended_actors_when_due) {
  ShardTimers t;
  t.arm(100, "p-a", 1, 1);
  t.arm(200, "p-a", 1, 2);
  t.arm(150, "p-b", 2, 1);
  t.ended(1);
  t.ended(9);                 // an actor that armed nothing: no effect
  BOOST_TEST(t.size() == 3u);  // still held until due
  bool more = false;
  auto due = t.take_due(1'000, &more);
  BOOST_REQUIRE(due.size() == 1u);
  BOOST_TEST(due[0].payment_id == "p-b");
  BOOST_TEST(!more);
  BOOST_TEST(t.size() == 0u);
  // A restarted payment is a new actor: its deadlines fire.
  t.arm(1'100, "p-a", 3, 3);
  due = t.take_due(2'000, &more);
  BOOST_REQUIRE(due.size() == 1u);
  BOOST_TEST(due[0].actor == 3u);
}

BOOST_AUTO_TEST_CASE(happy_path_through_actors) {
  EngineConfig cfg;
  cfg.shards = 4;
  Harness h(cfg);
  const int n = 200;
  auto replies = initiate_many(*h.engine, n, 0, 10s);
  std::vector<std::string> ids;
  int64_t sum = 0;
  for (const auto& r : replies) {
    BOOST_TEST(to_str(r.status) == "accepted", "initiate: " << to_str(r.status) << " " << r.detail);
    if (r.status == InitiateReply::Status::accepted) ids.push_back(r.payment_id);
  }
  BOOST_REQUIRE(ids.size() == static_cast<size_t>(n));
  BOOST_TEST(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());  // distinct ids
  for (int i = 0; i < n; ++i) sum += 100 + i;

  BOOST_REQUIRE_MESSAGE(h.wait_done(n, 15s), "on_done not called for every payment in time");
  BOOST_REQUIRE(h.wait_terminal(ids, 5s));
  // No payment actor left that could still report: then count the reports.
  BOOST_REQUIRE_MESSAGE(h.wait_idle(5s), "payment actors still active after all payments finished");

  std::map<std::string, int64_t> states;
  std::map<std::string, int64_t> postings;
  std::map<std::string, std::string> holds;
  std::optional<AccountView> debtor, settlement;
  h.engine->with_store([&](Store& s) {
    for (const auto& id : ids) {
      auto sg = s.saga(id);
      states[id] = sg && sg->terminal && sg->state == "completed" ? 1 : 0;
      postings[id] = s.posting_count(id);
      auto hold = s.hold(id);
      holds[id] = hold ? hold->status : "";
    }
    debtor = s.account(kDebtor);
    settlement = s.account("rail/EFT/ZAR");
  });
  int completed = 0;
  for (const auto& id : ids) {
    completed += static_cast<int>(states[id]);
    BOOST_TEST_CONTEXT("payment " << id) {
      BOOST_TEST(states[id] == 1);
      BOOST_TEST(postings[id] == 1);
      BOOST_TEST(holds[id] == "posted");
      BOOST_TEST(h.done_calls(id) == 1u);
      auto d = h.last_done(id);
      BOOST_TEST((d && d->state == "completed"));
    }
  }
  BOOST_TEST(completed == n);
  {
    std::lock_guard<std::mutex> lock(h.mu);
    BOOST_TEST(h.done_total == static_cast<size_t>(n));
    BOOST_TEST(h.done.size() == static_cast<size_t>(n));  // no report for an unknown id
  }
  BOOST_REQUIRE(debtor);
  BOOST_TEST(debtor->balance_minor == kOpening - sum);
  BOOST_TEST(debtor->held_minor == 0);
  BOOST_REQUIRE(settlement);
  BOOST_TEST(settlement->balance_minor == sum);
  h.check_conserved();
  ShardStats st = h.engine->total_stats();
  BOOST_TEST(st.finished == static_cast<uint64_t>(n));
  BOOST_TEST(st.restarted == 0u);
  BOOST_TEST(st.gave_up == 0u);
  BOOST_TEST(st.overloaded == 0u);
}

// `initiate` answers accepted only once the "received" event is committed.
// Checked twice: through with_store (the brief's check; note that the journal
// flushes its pending batch before running a store task, so this alone
// cannot tell "durable" from "queued") and through an independent read-only
// SQLite connection, which sees only committed transactions.
BOOST_AUTO_TEST_CASE(initiate_replies_after_first_event_is_durable) {
  EngineConfig cfg;
  cfg.shards = 2;
  cfg.rail.min_latency_ms = cfg.rail.max_latency_ms = 20;
  Harness h(cfg);
  RawReader raw(h.db_path());
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    PaymentInstruction p = instruction(i);
    InitiateReply r = h.engine->initiate(p, std::nullopt, 10s);
    BOOST_REQUIRE_MESSAGE(r.status == InitiateReply::Status::accepted,
                          "initiate: " + to_str(r.status) + " " + r.detail);
    // Immediately, before anything else can flush the journal:
    std::vector<std::string> committed = raw.kinds(r.payment_id);
    BOOST_TEST_CONTEXT("payment " << r.payment_id) {
      BOOST_TEST_REQUIRE(!committed.empty());
      BOOST_TEST(committed.front() == "received");
      std::vector<StoredEvent> evs = h.events(r.payment_id);
      BOOST_TEST_REQUIRE(!evs.empty());
      BOOST_TEST(evs.front().kind == "received");
      BOOST_TEST(evs.front().state == "received");
      BOOST_TEST(evs.front().data.find(p.end_to_end_id) != std::string::npos);
    }
    ids.push_back(r.payment_id);
  }
  BOOST_REQUIRE(h.wait_terminal(ids, 10s));
  BOOST_REQUIRE(h.wait_done(ids.size(), 5s));
  for (const auto& id : ids) BOOST_TEST(h.state(id) == "completed");
  h.check_conserved();
}

// Idempotency keys through the actors: the same key and request hash is a
// replay that names the original payment; the same key with another hash is
// a conflict; neither writes a second saga or moves money twice.
BOOST_AUTO_TEST_CASE(idempotency_through_actors) {
  EngineConfig cfg;
  cfg.shards = 4;
  Harness h(cfg);
  PaymentInstruction p = instruction(1);
  InitiateReply a = h.engine->initiate(p, IdempotencyClaim{"key-1", "hash-A"}, 10s);
  BOOST_REQUIRE_MESSAGE(a.status == InitiateReply::Status::accepted, "first: " + to_str(a.status) + " " + a.detail);
  BOOST_REQUIRE(!a.payment_id.empty());

  // While the original is (probably) still in flight.
  InitiateReply b = h.engine->initiate(p, IdempotencyClaim{"key-1", "hash-A"}, 10s);
  BOOST_TEST(to_str(b.status) == "replayed");
  BOOST_TEST(b.payment_id == a.payment_id);
  InitiateReply c = h.engine->initiate(p, IdempotencyClaim{"key-1", "hash-B"}, 10s);
  BOOST_TEST(to_str(c.status) == "conflict");
  BOOST_TEST(c.payment_id == a.payment_id);

  BOOST_REQUIRE(h.wait_terminal({a.payment_id}, 10s));
  BOOST_TEST(h.state(a.payment_id) == "completed");

  // And after it finished.
  InitiateReply d = h.engine->initiate(p, IdempotencyClaim{"key-1", "hash-A"}, 10s);
  BOOST_TEST(to_str(d.status) == "replayed");
  BOOST_TEST(d.payment_id == a.payment_id);
  InitiateReply e = h.engine->initiate(p, IdempotencyClaim{"key-1", "hash-B"}, 10s);
  BOOST_TEST(to_str(e.status) == "conflict");
  BOOST_TEST(e.payment_id == a.payment_id);

  // A different key is a new payment.
  InitiateReply f = h.engine->initiate(p, IdempotencyClaim{"key-2", "hash-A"}, 10s);
  BOOST_TEST(to_str(f.status) == "accepted");
  BOOST_TEST(f.payment_id != a.payment_id);
  BOOST_REQUIRE(h.wait_terminal({f.payment_id}, 10s));
  BOOST_REQUIRE(h.wait_idle(5s));

  int64_t sagas = 0, events = 0, post_a = -1, post_f = -1;
  std::optional<Store::IdempotencyEntry> key1;
  h.engine->with_store([&](Store& s) {
    for (const auto& [state, n] : s.count_by_state()) sagas += n;
    events = s.event_count();
    post_a = s.posting_count(a.payment_id);
    post_f = s.posting_count(f.payment_id);
    key1 = s.idempotency("bank1", "key-1");
  });
  BOOST_TEST(sagas == 2);  // a and f only: replays and conflicts wrote no saga row
  BOOST_TEST(events == static_cast<int64_t>(h.events(a.payment_id).size() + h.events(f.payment_id).size()));
  BOOST_TEST(post_a == 1);
  BOOST_TEST(post_f == 1);
  BOOST_REQUIRE(key1);
  BOOST_TEST(key1->payment_id == a.payment_id);
  BOOST_TEST(key1->request_hash == "hash-A");
  // The listener heard of the two real payments only, once each.
  std::lock_guard<std::mutex> lock(h.mu);
  BOOST_TEST(h.done_total == 2u);
  BOOST_TEST(h.done[a.payment_id].size() == 1u);
  BOOST_TEST(h.done[f.payment_id].size() == 1u);
  h.check_conserved();
}

// Admission control: one shard capped at 5 active sagas, a slow rail; of 20
// initiates sent at once some are refused `overloaded`, the accepted ones
// complete, the refusals are counted, and room frees up afterwards.
BOOST_AUTO_TEST_CASE(admission_control_overloaded) {
  EngineConfig cfg;
  cfg.shards = 1;
  cfg.max_active_per_shard = 5;
  cfg.rail.min_latency_ms = cfg.rail.max_latency_ms = 2'000;
  cfg.saga.await_timeout_ms = 10'000;
  Harness h(cfg);
  const auto t0 = Steady::now();
  auto replies = initiate_many(*h.engine, 20, 0, 10s);
  std::vector<std::string> accepted;
  uint64_t overloaded = 0;
  for (const auto& r : replies) {
    if (r.status == InitiateReply::Status::accepted) accepted.push_back(r.payment_id);
    else if (r.status == InitiateReply::Status::overloaded) ++overloaded;
    else BOOST_ERROR("unexpected initiate reply " << to_str(r.status) << " " << r.detail);
  }
  BOOST_TEST_MESSAGE("admission: " << accepted.size() << " accepted, " << overloaded << " overloaded");
  BOOST_TEST(overloaded > 0u);
  BOOST_TEST(accepted.size() >= 1u);
  BOOST_TEST(accepted.size() <= 5u);  // never more than the cap in flight (the rail holds them 2 s)
  BOOST_TEST(accepted.size() + overloaded == 20u);
  // Replies came back at once, not after the 2 s the rail takes.
  BOOST_TEST(ms_since(t0) < 1'500);
  BOOST_TEST(h.engine->total_stats().overloaded == overloaded);

  BOOST_REQUIRE(h.wait_terminal(accepted, 10s));
  for (const auto& id : accepted) BOOST_TEST(h.state(id) == "completed");
  BOOST_REQUIRE(h.wait_done(accepted.size(), 5s));
  BOOST_REQUIRE(h.wait_idle(5s));
  ShardStats st = h.engine->total_stats();
  BOOST_TEST(st.overloaded == overloaded);
  BOOST_TEST(st.finished == accepted.size());
  // Room again: a new payment is admitted.
  InitiateReply again = h.engine->initiate(instruction(99), std::nullopt, 10s);
  BOOST_TEST(to_str(again.status) == "accepted");
  BOOST_REQUIRE(h.wait_terminal({again.payment_id}, 10s));
  h.check_conserved();
}

// A payment actor that throws is restarted by its supervisor from the
// journal and completes, settling once.
//
// validate..route are local steps whose events are committed as one chain
// with "received", so a throw at route's first attempt happens before the
// payment is durable (see crash_before_first_chain_is_durable). Here route's
// first attempt fails transiently instead, which makes "received .. reserve,
// retry(route)" durable (with the hold); the first time each payment then
// reaches route (attempt 2) it throws, and the first time it reaches submit
// (the first step with an outside effect) it throws again. Each payment is
// therefore restarted twice, both times from a journal that holds its hold.
BOOST_AUTO_TEST_CASE(supervisor_restarts_crashed_payment) {
  struct Shared {
    std::mutex mu;
    std::set<std::string> crashed_route, crashed_submit;
  };
  auto sh = std::make_shared<Shared>();
  EngineConfig cfg;
  cfg.shards = 2;
  cfg.max_restarts = 3;
  cfg.saga.backoff_initial_ms = 20;
  cfg.fault = [sh](const std::string& id, const std::string& step,
                   uint32_t attempt) -> std::optional<StepOutcome> {
    if (step == "route" && attempt == 1)
      return StepOutcome::failure(ErrorKind::transient, "MS03", "route busy (injected)");
    std::lock_guard<std::mutex> lock(sh->mu);
    if (step == "route" && sh->crashed_route.insert(id).second)
      throw std::runtime_error("injected crash of " + id + " at route");
    if (step == "submit" && sh->crashed_submit.insert(id).second)
      throw std::runtime_error("injected crash of " + id + " at submit");
    return std::nullopt;
  };
  Harness h(cfg);
  const int n = 10;
  auto replies = initiate_many(*h.engine, n, 0, 10s);
  std::vector<std::string> ids;
  for (const auto& r : replies) {
    BOOST_TEST(to_str(r.status) == "accepted", "initiate: " << to_str(r.status) << " " << r.detail);
    if (r.status == InitiateReply::Status::accepted) ids.push_back(r.payment_id);
  }
  BOOST_REQUIRE(ids.size() == static_cast<size_t>(n));
  BOOST_REQUIRE(h.wait_terminal(ids, 10s));
  BOOST_REQUIRE(h.wait_done(ids.size(), 5s));
  BOOST_REQUIRE(h.wait_idle(5s));
  {
    std::lock_guard<std::mutex> lock(sh->mu);
    BOOST_TEST(sh->crashed_route.size() == ids.size());  // every payment crashed at route once
    BOOST_TEST(sh->crashed_submit.size() == ids.size());  // and at submit once
  }
  for (const auto& id : ids) {
    BOOST_TEST_CONTEXT("payment " << id) {
      BOOST_TEST(h.state(id) == "completed", h.journal_str(id));
      int64_t posts = -1;
      std::string hold;
      h.engine->with_store([&](Store& s) {
        posts = s.posting_count(id);
        auto hv = s.hold(id);
        hold = hv ? hv->status : "";
      });
      BOOST_TEST(posts == 1);
      BOOST_TEST(hold == "posted");
      BOOST_TEST(h.done_calls(id) == 1u);
      int routes_ok = 0, submits_ok = 0, terminal = 0, received = 0;
      for (const auto& e : h.events(id)) {
        routes_ok += e.kind == "step_ok" && e.step == "route";
        submits_ok += e.kind == "step_ok" && e.step == "submit";
        received += e.kind == "received";
        terminal += e.terminal;
      }
      BOOST_TEST(received == 1);
      BOOST_TEST(routes_ok == 1);
      BOOST_TEST(submits_ok == 1);
      BOOST_TEST(terminal == 1);
    }
  }
  ShardStats st = h.engine->total_stats();
  BOOST_TEST(st.restarted >= 1u);
  BOOST_TEST(st.restarted == static_cast<uint64_t>(2 * n));
  BOOST_TEST(st.gave_up == 0u);
  BOOST_TEST(st.finished == static_cast<uint64_t>(n));
  h.check_conserved();
}

// A payment actor that throws before its first chain is durable: nothing of
// the payment exists, so the initiate is answered `failed` (not accepted),
// nothing is journaled or held, and nobody is told it finished.
BOOST_AUTO_TEST_CASE(crash_before_first_chain_is_durable) {
  EngineConfig cfg;
  cfg.shards = 1;
  cfg.fault = [](const std::string& id, const std::string& step,
                 uint32_t) -> std::optional<StepOutcome> {
    if (step == "route") throw std::runtime_error("injected crash of " + id + " at route");
    return std::nullopt;
  };
  Harness h(cfg);
  const auto t0 = Steady::now();
  InitiateReply r = h.engine->initiate(instruction(1), std::nullopt, 5s);
  BOOST_TEST(ms_since(t0) < 5'000);  // answered, not timed out
  BOOST_TEST(to_str(r.status) == "failed", "initiate: " << to_str(r.status) << " " << r.detail);
  // The same through initiate_async: the handler the command carries is
  // answered by the crashing actor, once.
  auto replies = initiate_many(*h.engine, 3, 10, 5s);
  for (const auto& a : replies) {
    BOOST_TEST(to_str(a.status) == "failed", "initiate_async: " << to_str(a.status) << " " << a.detail);
    BOOST_TEST(a.detail.find("crashed before the payment was durable") != std::string::npos, a.detail);
  }
  BOOST_REQUIRE(h.wait_idle(5s));
  int64_t sagas = 0, events = 0;
  std::optional<AccountView> debtor;
  h.engine->with_store([&](Store& s) {
    for (const auto& [state, k] : s.count_by_state()) sagas += k;
    events = s.event_count();
    debtor = s.account(kDebtor);
  });
  BOOST_TEST(sagas == 0);
  BOOST_TEST(events == 0);
  BOOST_REQUIRE(debtor);
  BOOST_TEST(debtor->held_minor == 0);
  if (!r.payment_id.empty()) BOOST_TEST(!h.saga(r.payment_id).has_value());
  {
    std::lock_guard<std::mutex> lock(h.mu);
    BOOST_TEST(h.done_total == 0u);
  }
  ShardStats st = h.engine->total_stats();
  BOOST_TEST(st.gave_up == 0u);
  BOOST_TEST(st.finished == 0u);
  h.check_conserved();
}

// A payment that crashes every time it reaches route (from its second
// attempt on: the first fails transiently so that the reserve is durable):
// after max_restarts the supervisor gives up and ends it in_doubt (MS03),
// keeping its hold; other payments in the same engine are unaffected.
BOOST_AUTO_TEST_CASE(restart_intensity_exceeded_ends_in_doubt) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::string victim;  // the first payment to reach route
    int crashes = 0;
  };
  auto sh = std::make_shared<Shared>();
  EngineConfig cfg;
  cfg.shards = 2;
  cfg.max_restarts = 3;
  cfg.saga.backoff_initial_ms = 20;
  cfg.fault = [sh](const std::string& id, const std::string& step,
                   uint32_t attempt) -> std::optional<StepOutcome> {
    if (step != "route") return std::nullopt;
    std::lock_guard<std::mutex> lock(sh->mu);
    if (sh->victim.empty()) {
      sh->victim = id;
      sh->cv.notify_all();
    }
    if (id != sh->victim) return std::nullopt;
    if (attempt == 1) return StepOutcome::failure(ErrorKind::transient, "MS03", "route busy (injected)");
    ++sh->crashes;
    throw std::runtime_error("injected crash of " + id + " at route, always");
  };
  Harness h(cfg);
  InitiateReply v = h.engine->initiate(instruction(0, 7'777), std::nullopt, 10s);
  BOOST_REQUIRE_MESSAGE(v.status == InitiateReply::Status::accepted, to_str(v.status) + " " + v.detail);
  {
    std::unique_lock<std::mutex> lock(sh->mu);
    BOOST_REQUIRE_MESSAGE(sh->cv.wait_for(lock, 5s, [&] { return !sh->victim.empty(); }),
                          "the first payment never reached route");
    BOOST_REQUIRE(sh->victim == v.payment_id);
  }
  // Others, while the victim is crashing and being restarted.
  auto replies = initiate_many(*h.engine, 20, 1, 10s);
  std::vector<std::string> others;
  for (const auto& r : replies) {
    BOOST_TEST(to_str(r.status) == "accepted");
    others.push_back(r.payment_id);
  }
  std::vector<std::string> all = others;
  all.push_back(v.payment_id);
  BOOST_REQUIRE(h.wait_terminal(all, 10s));
  BOOST_REQUIRE(h.wait_done(all.size(), 5s));
  BOOST_REQUIRE(h.wait_idle(5s));

  for (const auto& id : others) BOOST_TEST(h.state(id) == "completed", "payment " << id);

  std::vector<StoredEvent> evs = h.events(v.payment_id);
  BOOST_REQUIRE(!evs.empty());
  const StoredEvent& last = evs.back();
  BOOST_TEST(last.kind == "final", h.journal_str(v.payment_id));
  BOOST_TEST(last.state == "in_doubt");
  BOOST_TEST(last.terminal);
  BOOST_TEST(last.data.find("MS03") != std::string::npos, "final data: " << last.data);
  int terminal = 0;
  for (const auto& e : evs) terminal += e.terminal;
  BOOST_TEST(terminal == 1);
  BOOST_TEST(h.state(v.payment_id) == "in_doubt");

  std::optional<HoldView> hold;
  std::optional<AccountView> debtor;
  int64_t posts = -1;
  h.engine->with_store([&](Store& s) {
    hold = s.hold(v.payment_id);
    debtor = s.account(kDebtor);
    posts = s.posting_count(v.payment_id);
  });
  BOOST_REQUIRE(hold);
  BOOST_TEST(hold->status == "held");
  BOOST_TEST(hold->amount.amount_minor == 7'777);
  BOOST_TEST(posts == 0);
  BOOST_REQUIRE(debtor);
  BOOST_TEST(debtor->held_minor == 7'777);  // the others' holds were all posted

  ShardStats st = h.engine->total_stats();
  BOOST_TEST(st.gave_up == 1u);
  BOOST_TEST(st.restarted == 3u);
  {
    std::lock_guard<std::mutex> lock(sh->mu);
    BOOST_TEST(sh->crashes == 4);  // the first run and three restarts
  }
  BOOST_TEST(h.done_calls(v.payment_id) == 1u);
  auto d = h.last_done(v.payment_id);
  BOOST_REQUIRE(d);
  BOOST_TEST(d->state == "in_doubt");
  BOOST_TEST(d->reason_code == "MS03");
  h.check_conserved();
}

// Payments waiting on a slow rail passivate (their actors quit), are
// reactivated from the journal by the rail's response and complete.
BOOST_AUTO_TEST_CASE(passivation_and_reactivation) {
  EngineConfig cfg;
  cfg.shards = 2;
  cfg.passivate_idle_ms = 50;
  cfg.rail.min_latency_ms = cfg.rail.max_latency_ms = 1'500;
  cfg.saga.await_timeout_ms = 5'000;
  Harness h(cfg);
  const int n = 10;
  const auto t0 = Steady::now();
  auto replies = initiate_many(*h.engine, n, 0, 10s);
  std::vector<std::string> ids;
  for (const auto& r : replies) {
    BOOST_TEST(to_str(r.status) == "accepted");
    ids.push_back(r.payment_id);
  }
  // While the rail holds them, all are passivated: no actor is active.
  bool all_passivated = eventually(
      [&] {
        ShardStats st = h.engine->total_stats();
        return st.passivated >= static_cast<uint64_t>(n) && st.active == 0;
      },
      1'200ms, 10ms);
  BOOST_TEST(all_passivated, "not all payments passivated while awaiting the rail");
  BOOST_TEST(ms_since(t0) < 1'500);  // the check above happened before the rail answered

  BOOST_REQUIRE(h.wait_terminal(ids, 4'500ms));  // well before the 5 s await timeout
  BOOST_REQUIRE(h.wait_done(ids.size(), 2s));
  ShardStats st = h.engine->total_stats();
  BOOST_TEST(st.passivated > 0u);
  BOOST_TEST(st.reactivated > 0u);
  BOOST_TEST(st.passivated >= static_cast<uint64_t>(n));
  BOOST_TEST(st.reactivated >= static_cast<uint64_t>(n));
  BOOST_TEST(st.restarted == 0u);
  for (const auto& id : ids) {
    BOOST_TEST_CONTEXT("payment " << id) {
      BOOST_TEST(h.state(id) == "completed");
      int64_t posts = -1;
      h.engine->with_store([&](Store& s) { posts = s.posting_count(id); });
      BOOST_TEST(posts == 1);
      BOOST_TEST(h.done_calls(id) == 1u);
      // Completed by the rail's answer, not by a timeout and a query.
      for (const auto& e : h.events(id)) BOOST_TEST(e.kind != "retry", "unexpected retry: " << e.step << " " << e.data);
    }
  }
  BOOST_REQUIRE(h.wait_idle(2s));
  h.check_conserved();
}

// Cancellation through the actors: a payment waiting in route's backoff is
// cancellable (accepted, compensated, hold released); a completed one is
// already_final; an unknown id is not_found.
BOOST_AUTO_TEST_CASE(cancel_through_actors) {
  EngineConfig cfg;
  cfg.shards = 2;
  cfg.saga.backoff_initial_ms = 500;
  cfg.saga.backoff_max_ms = 2'000;
  cfg.fault = [](const std::string&, const std::string& step,
                 uint32_t attempt) -> std::optional<StepOutcome> {
    if (step == "route" && attempt <= 2)
      return StepOutcome::failure(ErrorKind::transient, "MS03", "route busy (injected)");
    return std::nullopt;
  };
  Harness h(cfg);
  InitiateReply target = h.engine->initiate(instruction(1, 4'321), std::nullopt, 10s);
  InitiateReply other = h.engine->initiate(instruction(2, 1'234), std::nullopt, 10s);
  BOOST_REQUIRE(target.status == InitiateReply::Status::accepted);
  BOOST_REQUIRE(other.status == InitiateReply::Status::accepted);

  // Wait until the target is waiting out route's first backoff (250..500 ms).
  bool waiting = eventually(
      [&] {
        for (const auto& e : h.events(target.payment_id))
          if (e.kind == "retry" && e.step == "route") return true;
        return false;
      },
      3s, 5ms);
  BOOST_REQUIRE_MESSAGE(waiting, "target never retried route: " + h.journal_str(target.payment_id));
  {
    std::optional<HoldView> hold;
    h.engine->with_store([&](Store& s) { hold = s.hold(target.payment_id); });
    BOOST_REQUIRE(hold);
    BOOST_TEST(hold->status == "held");
  }
  const auto c0 = Steady::now();
  CancelReply c = h.engine->cancel(target.payment_id, 5s);
  BOOST_TEST(to_str(c.status) == "accepted", "cancel: " << to_str(c.status) << " state " << c.state);
  BOOST_TEST(ms_since(c0) < 1'000);

  BOOST_REQUIRE(h.wait_terminal({target.payment_id, other.payment_id}, 10s));
  BOOST_TEST(h.state(target.payment_id) == "cancelled", h.journal_str(target.payment_id));
  BOOST_TEST(h.state(other.payment_id) == "completed", h.journal_str(other.payment_id));
  {
    std::optional<HoldView> hold;
    int64_t posts = -1;
    std::optional<AccountView> debtor;
    h.engine->with_store([&](Store& s) {
      hold = s.hold(target.payment_id);
      posts = s.posting_count(target.payment_id);
      debtor = s.account(kDebtor);
    });
    BOOST_REQUIRE(hold);
    BOOST_TEST(hold->status == "released");
    BOOST_TEST(posts == 0);
    BOOST_REQUIRE(debtor);
    BOOST_TEST(debtor->held_minor == 0);
    BOOST_TEST(debtor->balance_minor == kOpening - 1'234);  // only the other one settled
  }
  auto evs = h.events(target.payment_id);
  BOOST_REQUIRE(!evs.empty());
  BOOST_TEST(evs.back().data.find("CUST") != std::string::npos, "final data: " << evs.back().data);
  BOOST_REQUIRE(h.wait_done(2, 5s));
  auto d = h.last_done(target.payment_id);
  BOOST_REQUIRE(d);
  BOOST_TEST(d->state == "cancelled");
  BOOST_REQUIRE(h.wait_idle(5s));

  // A completed payment: already final.
  const auto c1 = Steady::now();
  CancelReply done_reply = h.engine->cancel(other.payment_id, 5s);
  BOOST_TEST(to_str(done_reply.status) == "already_final",
             "cancel of a completed payment: " << to_str(done_reply.status) << " state '" << done_reply.state << "'");
  BOOST_TEST(ms_since(c1) < 5'000);
  // The cancelled one, cancelled again: already final too.
  CancelReply again = h.engine->cancel(target.payment_id, 5s);
  BOOST_TEST(to_str(again.status) == "already_final",
             "second cancel of a cancelled payment: " << to_str(again.status) << " state '" << again.state << "'");
  BOOST_TEST(h.state(other.payment_id) == "completed");
  BOOST_TEST(h.state(target.payment_id) == "cancelled");

  // Unknown id: not_found, within the timeout.
  const auto c2 = Steady::now();
  CancelReply unknown = h.engine->cancel("pay_no_such_payment", 5s);
  BOOST_TEST(to_str(unknown.status) == "not_found",
             "cancel of an unknown id: " << to_str(unknown.status) << " '" << unknown.state << "'");
  BOOST_TEST(ms_since(c2) < 5'000);
  BOOST_TEST(!h.saga("pay_no_such_payment").has_value());
  BOOST_TEST(h.done_calls(other.payment_id) == 1u);
  BOOST_TEST(h.done_calls(target.payment_id) == 1u);
  h.check_conserved();
}

// Destroying the engine with payments in flight stops it promptly (engine.hpp:
// "Destruction stops the actors and closes the database cleanly; sagas still
// running are resumed by the next start on the same database"), and the next
// start on the same database resumes and completes them, each settling once.
// Kept last: if destruction hangs there is no way to tear the engine down, so
// the watchdog reports it and ends the process.
BOOST_AUTO_TEST_CASE(destruction_mid_flight_then_restart_resumes) {
  EngineConfig cfg;
  cfg.shards = 2;
  cfg.rail.min_latency_ms = cfg.rail.max_latency_ms = 3'000;  // the first engine never sees a final
  cfg.saga.await_timeout_ms = 1'500;
  Harness h(cfg);
  const int n = 20;
  auto replies = initiate_many(*h.engine, n, 0, 10s);
  std::vector<std::string> ids;
  int64_t sum = 0;
  for (int i = 0; i < n; ++i) sum += 100 + i;
  for (const auto& r : replies) {
    BOOST_TEST(to_str(r.status) == "accepted");
    ids.push_back(r.payment_id);
  }
  BOOST_REQUIRE(ids.size() == static_cast<size_t>(n));
  // All handed to the rail and waiting for its final status.
  bool submitted = eventually(
      [&] {
        bool all = true;
        h.engine->with_store([&](Store& s) {
          for (const auto& id : ids) {
            auto sg = s.saga(id);
            all = all && sg && sg->state == "submitted";
          }
        });
        return all;
      },
      3s, 10ms);
  BOOST_REQUIRE_MESSAGE(submitted, "not all payments reached submitted");

  const int64_t took = h.stop(3s, "Engine destruction with " + std::to_string(n) + " payments in flight");
  BOOST_TEST_MESSAGE("engine destroyed with payments in flight in " << took << " ms");
  BOOST_TEST(took < 3'000);
  {
    std::lock_guard<std::mutex> lock(h.mu);
    BOOST_TEST(h.done_total == 0u);  // nothing finished before the stop
  }

  // Restart on the same database: recovery resumes the awaits; their journaled
  // deadlines pass, the second attempt queries the rail and learns the outcome.
  EngineConfig again = cfg;
  again.rail.min_latency_ms = again.rail.max_latency_ms = 50;
  h.start(again);
  BOOST_TEST(h.engine->recovered_count() == static_cast<uint64_t>(n));
  BOOST_REQUIRE(h.wait_terminal(ids, 8s));
  BOOST_REQUIRE(h.wait_done(ids.size(), 3s));
  BOOST_REQUIRE(h.wait_idle(3s));
  std::optional<AccountView> debtor;
  std::map<std::string, int64_t> posts;
  h.engine->with_store([&](Store& s) {
    debtor = s.account(kDebtor);
    for (const auto& id : ids) posts[id] = s.posting_count(id);
  });
  for (const auto& id : ids) {
    BOOST_TEST_CONTEXT("payment " << id) {
      BOOST_TEST(h.state(id) == "completed", h.journal_str(id));
      BOOST_TEST(posts[id] == 1);
      BOOST_TEST(h.done_calls(id) == 1u);
    }
  }
  BOOST_REQUIRE(debtor);
  BOOST_TEST(debtor->balance_minor == kOpening - sum);
  BOOST_TEST(debtor->held_minor == 0);
  ShardStats st = h.engine->total_stats();
  BOOST_TEST(st.recovered == static_cast<uint64_t>(n));
  BOOST_TEST(st.restarted == 0u);
  h.check_conserved();
}

// The engine's CAF scheduler (actors/caf_scheduler.hpp): the clock keeps
// track of the actors that set a timeout, and forgets them when they exit;
// request timeouts and delayed messages still run on it.
BOOST_AUTO_TEST_CASE(engine_scheduler_clock_runs_timeouts_and_tracks_their_actors) {
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.load<EngineScheduler>();
  caf::actor_system system{cfg};
  auto* scheduler = dynamic_cast<EngineScheduler*>(&system.scheduler());
  BOOST_REQUIRE(scheduler != nullptr);
  TimeoutTrackingClock& clock = scheduler->clock();
  BOOST_TEST(&system.clock() == static_cast<caf::actor_clock*>(&clock));

  // Function-based actors get an argument each: spawning one with none
  // trips UBSan in CAF's own init_fun_factory (a null shared_ptr<tuple<>>
  // dereferenced).
  // A peer that never answers (it keeps its promises until it is killed).
  auto silent = system.spawn([](caf::event_based_actor* self, int) -> caf::behavior {
    auto kept = std::make_shared<std::vector<caf::response_promise>>();
    return {[self, kept](int) -> caf::result<int> {
      kept->push_back(self->make_response_promise());
      return caf::delegated<int>();
    }};
  }, 0);
  struct Outcome {
    caf::error error;
    size_t tracked_while_waiting = 0;
  };
  std::promise<Outcome> outcome;
  system.spawn([&outcome, &clock, silent](caf::event_based_actor* self, int) {
    self->request(silent, std::chrono::milliseconds(50), 1)
        .then([&outcome, self](int) { outcome.set_value({}); self->quit(); },
              [&outcome, &clock, self](caf::error& e) {
                outcome.set_value({e, clock.tracked()});
                self->quit();
              });
  }, 0);
  auto done = outcome.get_future();
  BOOST_REQUIRE(done.wait_for(10s) == std::future_status::ready);
  Outcome o = done.get();
  BOOST_TEST((o.error == caf::sec::request_timeout));  // the clock's thread fired it
  BOOST_TEST(o.tracked_while_waiting == 1u);
  // The requester's exit passes cancel_timeouts on, and it is forgotten.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (clock.tracked() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  BOOST_TEST(clock.tracked() == 0u);

  // Actors that set no timeout come and go without being tracked, and a
  // delayed message is delivered.
  std::promise<int> delivered;
  auto receiver = system.spawn([&delivered](caf::event_based_actor* self, int) -> caf::behavior {
    return {[&delivered, self](int x) { delivered.set_value(x); self->quit(); }};
  }, 0);
  for (int i = 0; i < 100; ++i)
    system.spawn([](caf::event_based_actor* self, int) { self->quit(); }, 0);
  caf::delayed_anon_send(receiver, std::chrono::milliseconds(20), 7);
  auto got = delivered.get_future();
  BOOST_REQUIRE(got.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(got.get() == 7);
  BOOST_TEST(clock.tracked() == 0u);
  caf::anon_send_exit(silent, caf::exit_reason::kill);
}
