// Recovery on start through the actor runtime: thousands of sagas left in
// flight by a previous engine are resumed at a bounded rate, without pushing
// any shard past its admission cap, and finish; readiness (`recovered()`)
// comes only after every one was handed back to its shard.
#define BOOST_TEST_MODULE recovery
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

#include "actors/engine.hpp"
#include "tests/fixtures.hpp"

using namespace payengine;
using namespace payengine::sagas;
using Clock_ = std::chrono::steady_clock;

namespace {

constexpr int kPayments = 3'000;

EngineConfig config(const std::string& db) {
  EngineConfig c;
  c.store.path = db;
  c.store.synchronous = Synchronous::normal;
  c.shards = 2;
  c.seed = 99;
  return c;
}

size_t open_sagas(Engine& e) {
  size_t n = 0;
  e.with_store([&](Store& s) { n = s.open_sagas("", 1'000'000).size(); });
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(thousands_of_open_sagas_recover_at_a_bounded_rate) {
  testing::TempDir dir;
  const std::string db = dir.path() + "/engine.db";

  // 1. An engine whose rail never answers and whose submit timeout is long:
  //    every payment stops at submit, open.
  {
    EngineConfig c = config(db);
    c.rail.silent_ppm = 1'000'000;
    c.saga.submit_timeout_ms = 600'000;
    auto e = Engine::start(c);
    BOOST_REQUIRE(e.ok());
    Engine& engine = *e.value();
    BOOST_REQUIRE(engine.wait_recovered(std::chrono::seconds(10)));
    engine.with_store([](Store& s) {
      BOOST_REQUIRE(s.create_account("bank1/1234567890", "ZAR", 1'000'000'000'000).ok());
    });
    std::atomic<int> accepted{0};
    for (int i = 0; i < kPayments; ++i) {
      PaymentInstruction p = testing::valid_instruction();
      p.end_to_end_id = "R" + std::to_string(i);
      engine.initiate_async(p, std::nullopt, [&](const InitiateReply& r) {
        if (r.status == InitiateReply::Status::accepted) ++accepted;
      });
    }
    auto deadline = Clock_::now() + std::chrono::seconds(60);
    while (accepted.load() < kPayments && Clock_::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    BOOST_REQUIRE_EQUAL(accepted.load(), kPayments);
    // Wait until every saga has been submitted (state "reserved" journaled
    // and the submit in flight); they stay open.
    BOOST_REQUIRE_EQUAL(open_sagas(engine), static_cast<size_t>(kPayments));
  }  // clean shutdown with 3,000 sagas in flight

  // 2. A new engine on the same database, with a slow recovery rate and a
  //    small admission cap. The rail now answers; idle sagas passivate.
  EngineConfig c = config(db);
  c.recovery_rate_per_s = 1'000;
  c.max_active_per_shard = 400;
  c.passivate_idle_ms = 50;
  c.saga.submit_timeout_ms = 600'000;
  c.rail.min_latency_ms = 0;
  c.rail.max_latency_ms = 5;
  const auto t0 = Clock_::now();
  auto e = Engine::start(c);
  BOOST_REQUIRE(e.ok());
  Engine& engine = *e.value();
  uint64_t max_active = 0;
  auto deadline = Clock_::now() + std::chrono::seconds(60);
  while (!engine.recovered() && Clock_::now() < deadline) {
    max_active = std::max(max_active, engine.total_stats().active);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double recovery_s = std::chrono::duration<double>(Clock_::now() - t0).count();
  BOOST_REQUIRE(engine.recovered());
  BOOST_TEST(engine.recovered_count() == static_cast<uint64_t>(kPayments));
  // Rate: 3,000 sagas at 1,000/s cannot be handed over in much under 3 s.
  BOOST_TEST(recovery_s >= 2.5, "recovered in " << recovery_s << " s");
  // Admission: never more active than the shards' caps allow.
  BOOST_TEST(max_active <= 2u * 400u, "max active " << max_active);
  BOOST_TEST_MESSAGE("recovered " << kPayments << " sagas in " << recovery_s << " s, max active "
                                  << max_active);

  // Every recovered saga resubmits (idempotently) and completes.
  deadline = Clock_::now() + std::chrono::seconds(60);
  while (open_sagas(engine) > 0 && Clock_::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  BOOST_TEST(open_sagas(engine) == 0u);
  engine.with_store([&](Store& s) {  // on failure, show where the first stuck saga stands
    auto stuck = s.open_sagas("", 1);
    if (stuck.empty()) return;
    std::string log;
    for (const auto& e : s.events_for(stuck[0])) log += e.kind + ":" + e.step + " ";
    BOOST_TEST_MESSAGE("stuck " << stuck[0] << ": " << log << " snapshot " << s.snapshot(stuck[0]).has_value());
  });
  BOOST_TEST_MESSAGE("stats: passivated " << engine.total_stats().passivated << " reactivated "
                                          << engine.total_stats().reactivated << " active "
                                          << engine.total_stats().active);
  std::map<std::string, int64_t> states;
  int64_t posts = 0;
  engine.with_store([&](Store& s) {
    states = s.count_by_state();
    for (const auto& a : s.accounts())
      if (a.id.rfind("rail/", 0) == 0) posts += a.balance_minor;
  });
  BOOST_TEST(states["completed"] == kPayments);
  BOOST_TEST(posts == static_cast<int64_t>(kPayments) * 10'000);  // each settled exactly once
}
