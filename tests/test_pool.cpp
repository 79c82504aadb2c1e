// Rail pools under pressure: a flood of ten times a pool's capacity is
// refused at once beyond the bound, queue depth and memory stay bounded, and
// every admitted submission still gets exactly one answer.
#define BOOST_TEST_MODULE pool
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "clearing/rails.hpp"
#include "fixtures.hpp"
#include "sagas/clock.hpp"

using namespace payengine;
using namespace payengine::clearing;
using namespace std::chrono_literals;

namespace {

int64_t rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return 0;
}

struct Answers {
  std::mutex mutex;
  std::map<std::string, std::vector<RailResponse>> by_payment;
  uint64_t overloaded = 0;
  uint64_t overloaded_elsewhere = 0;  // refusals not delivered inside submit()
  std::thread::id submitter = std::this_thread::get_id();
  void add(RailResponse r) {
    std::lock_guard<std::mutex> lock(mutex);
    if (r.kind == RailResponse::Kind::error && r.detail == "overloaded") {
      ++overloaded;
      if (std::this_thread::get_id() != submitter) ++overloaded_elsewhere;
    }
    by_payment[r.payment_id].push_back(std::move(r));
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_flood_of_ten_times_capacity_stays_bounded) {
  RailsimOptions sim;
  sim.admin = false;
  sim.faults.latency_min_ms = 50;  // answers take a while: the pool fills up
  sim.faults.latency_max_ms = 100;
  auto sims = EmbeddedRailsims::start(sim);
  BOOST_REQUIRE(sims.ok());
  RailsConfig rails = default_rails_config();
  (*sims)->apply_ports(rails);
  PoolConfig& pool = rails.pool(Rail::rtc);
  pool.workers = 2;
  pool.max_queue = 400;
  pool.max_in_flight = 100;
  pool.answer_timeout_ms = 5'000;
  RailPools::RailSetup setup;
  for (auto& s : rail_setups(rails))
    if (s.pool.rail == Rail::rtc) setup = s;

  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system system{cfg};
  SystemClock clock;
  Answers answers;
  RailPools pools(system, {setup}, clock, [&](RailResponse r) { answers.add(std::move(r)); });
  BOOST_REQUIRE(pools.wait_connected(10s));
  const PoolStats& stats = pools.stats(Rail::rtc);

  const int capacity = 500;  // queue + in flight
  const int flood = 10 * capacity;
  PaymentInstruction p = testing::valid_instruction();
  p.urgency = Urgency::urgent;
  const int64_t rss_before = rss_kib();
  std::atomic<bool> sampling{true};
  std::atomic<int64_t> max_queue{0}, max_in_flight{0}, max_admitted{0};
  std::thread sampler([&] {
    while (sampling) {
      max_queue = std::max(max_queue.load(), stats.queue_depth.load());
      max_in_flight = std::max(max_in_flight.load(), stats.in_flight.load());
      max_admitted = std::max(max_admitted.load(), stats.admitted.load());
      std::this_thread::sleep_for(1ms);
    }
  });
  for (int i = 0; i < flood; ++i) {
    char id[48];
    std::snprintf(id, sizeof id, "pay_%032d", i);
    pools.submit(SubmitRequest{id, 1, Rail::rtc, &p});
  }
  // Refusals are immediate: answered inside submit(), on the submitting
  // thread, and most of the flood was refused (answers freeing slots during
  // the flood let a few more in).
  {
    std::lock_guard<std::mutex> lock(answers.mutex);
    BOOST_CHECK_GE(answers.overloaded, static_cast<uint64_t>(flood / 2));
    BOOST_CHECK_EQUAL(answers.overloaded_elsewhere, 0u);
  }
  const int64_t rss_peak = rss_kib();
  // Every admitted one gets its final answer.
  BOOST_REQUIRE(testing::wait_until([&] {
    std::lock_guard<std::mutex> lock(answers.mutex);
    return answers.by_payment.size() == static_cast<size_t>(flood) && stats.admitted.load() == 0;
  }, 60s));
  sampling = false;
  sampler.join();
  BOOST_TEST_MESSAGE("overloaded " << answers.overloaded << ", max queue " << max_queue << ", max in flight "
                                   << max_in_flight << ", RSS +" << (rss_peak - rss_before) << " KiB");
  BOOST_CHECK_LE(max_queue.load(), 400);
  BOOST_CHECK_LE(max_in_flight.load(), 100);
  BOOST_CHECK_LE(max_admitted.load(), capacity);
  BOOST_CHECK_GT(max_in_flight.load(), 0);
  BOOST_CHECK_LT(rss_peak - rss_before, 64 * 1024);  // far below what 5,000 queued jobs would not fit in
  uint64_t finals = 0;
  for (auto& [id, rs] : answers.by_payment) {
    // Exactly one answer each: the refusal, or the rail's final status.
    BOOST_REQUIRE_EQUAL(rs.size(), 1u);
    if (rs[0].kind == RailResponse::Kind::final) ++finals;
  }
  BOOST_CHECK_EQUAL(finals + answers.overloaded, static_cast<uint64_t>(flood));
  BOOST_CHECK_GE(finals, static_cast<uint64_t>(capacity));
  BOOST_CHECK_EQUAL(stats.queue_depth.load(), 0);
  BOOST_CHECK_EQUAL(stats.in_flight.load(), 0);
  pools.stop();
}

BOOST_AUTO_TEST_CASE(unanswered_submissions_time_out_and_count_against_the_breaker) {
  RailsimOptions sim;
  sim.admin = false;
  sim.faults.timeout_ppm = 1'000'000;  // the rail swallows everything
  auto sims = EmbeddedRailsims::start(sim);
  BOOST_REQUIRE(sims.ok());
  RailsConfig rails = default_rails_config();
  (*sims)->apply_ports(rails);
  PoolConfig& pool = rails.pool(Rail::samos);
  pool.answer_timeout_ms = 100;
  pool.tick_ms = 5;
  pool.breaker.consecutive_failures_to_open = 3;
  pool.breaker.wait_in_open_ms = 60'000;
  RailPools::RailSetup setup;
  for (auto& s : rail_setups(rails))
    if (s.pool.rail == Rail::samos) setup = s;
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system system{cfg};
  SystemClock clock;
  Answers answers;
  RailPools pools(system, {setup}, clock, [&](RailResponse r) { answers.add(std::move(r)); });
  BOOST_REQUIRE(pools.wait_connected(10s));
  PaymentInstruction p = testing::valid_instruction();
  p.amount.amount_minor = 600'000'000;
  for (int i = 0; i < 3; ++i) {
    char id[48];
    std::snprintf(id, sizeof id, "pay_%032d", i);
    pools.submit(SubmitRequest{id, 1, Rail::samos, &p});
  }
  BOOST_REQUIRE(testing::wait_until([&] { return pools.breaker_state(Rail::samos) == BreakerState::open; }, 10s));
  BOOST_CHECK_EQUAL(pools.stats(Rail::samos).timeouts.load(), 3u);
  {
    std::lock_guard<std::mutex> lock(answers.mutex);
    for (auto& [id, rs] : answers.by_payment) {
      BOOST_REQUIRE_EQUAL(rs.size(), 1u);
      BOOST_CHECK(rs[0].kind == RailResponse::Kind::error);
      BOOST_CHECK_EQUAL(rs[0].reason_code, "AB06");
    }
  }
  // Open: the next submission is refused at once, without a frame sent.
  uint64_t sent = pools.stats(Rail::samos).submitted.load();
  pools.submit(SubmitRequest{"pay_open", 1, Rail::samos, &p});
  BOOST_REQUIRE(testing::wait_until([&] {
    std::lock_guard<std::mutex> lock(answers.mutex);
    return answers.by_payment.count("pay_open") == 1;
  }, 5s));
  {
    std::lock_guard<std::mutex> lock(answers.mutex);
    BOOST_CHECK_EQUAL(answers.by_payment["pay_open"][0].detail, "circuit breaker open");
    BOOST_CHECK_EQUAL(answers.by_payment["pay_open"][0].reason_code, "AB08");
  }
  BOOST_CHECK_EQUAL(pools.stats(Rail::samos).submitted.load(), sent);
  pools.stop();
}
