// Prometheus metrics: what the engine reports after real payments over the
// rail adapters, checked by value and by `promtool check metrics`.
#define BOOST_TEST_MODULE metrics
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>

#include "actors/engine.hpp"
#include "actors/metrics.hpp"
#include "clearing/rails.hpp"
#include "fixtures.hpp"

using namespace payengine;
using namespace std::chrono_literals;

namespace {

// The value of the sample `name{labels}` in a text exposition, or -1.
double sample(const std::string& text, const std::string& series) {
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}

// Runs promtool on the exposition; returns its exit status and output.
std::pair<int, std::string> promtool_check(const std::string& text, const std::string& dir) {
  const std::string in = dir + "/metrics.txt";
  std::ofstream(in) << text;
  std::string out;
  FILE* f = popen(("promtool check metrics < " + in + " 2>&1").c_str(), "r");
  BOOST_REQUIRE(f);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = pclose(f);
  return {WEXITSTATUS(status), out};
}

}  // namespace

BOOST_AUTO_TEST_CASE(engine_metrics_after_payments_over_the_rails) {
  testing::TempDir dir;
  clearing::RailsimOptions sim;
  sim.admin = false;
  auto sims = clearing::EmbeddedRailsims::start(sim);
  BOOST_REQUIRE(sims.ok());
  clearing::RailsConfig rails = clearing::default_rails_config();
  (*sims)->apply_ports(rails);
  rails.eft.cycle_interval_ms = 50;

  Metrics metrics;
  std::mutex mutex;
  std::condition_variable cv;
  std::set<std::string> done;
  EngineConfig config;
  config.store.path = dir.path() + "/engine.db";
  config.rails = rails;
  config.metrics = &metrics;
  config.on_done = [&](const sagas::PaymentDone& d) {
    std::lock_guard<std::mutex> lock(mutex);
    done.insert(d.payment_id);
    cv.notify_all();
  };
  auto engine = Engine::start(config);
  BOOST_REQUIRE(engine.ok());
  (*engine)->with_store([](sagas::Store& s) { BOOST_REQUIRE(s.create_account("bank1/1234567890", "ZAR", 1'000'000'000).ok()); });

  const int kUrgent = 7, kNormal = 5;
  std::vector<std::string> ids;
  for (int i = 0; i < kUrgent + kNormal; ++i) {
    PaymentInstruction p = testing::valid_instruction();
    p.end_to_end_id = "M-" + std::to_string(i);
    p.urgency = i < kUrgent ? Urgency::urgent : Urgency::normal;
    auto r = (*engine)->initiate(p);
    BOOST_REQUIRE(r.status == sagas::InitiateReply::Status::accepted);
    ids.push_back(r.payment_id);
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    BOOST_REQUIRE(cv.wait_for(lock, 30s, [&] { return done.size() == ids.size(); }));
  }

  const std::string text = metrics.scrape();
  BOOST_TEST_MESSAGE(text.substr(0, 2000));
  BOOST_CHECK_EQUAL(sample(text, R"(payengine_payments_total{rail="RTC",state="completed",tenant="bank1"})"), kUrgent);
  BOOST_CHECK_EQUAL(sample(text, R"(payengine_payments_total{rail="EFT",state="completed",tenant="bank1"})"), kNormal);
  BOOST_CHECK_EQUAL(sample(text, R"(payengine_saga_step_duration_seconds_count{step="submit"})"), kUrgent + kNormal);
  BOOST_CHECK_GE(sample(text, "payengine_journal_batch_events_count"), 1);
  BOOST_CHECK_GE(sample(text, "payengine_journal_batch_events_sum"), 9.0 * (kUrgent + kNormal));
  BOOST_CHECK_GE(sample(text, "payengine_journal_commit_duration_seconds_count"), 1);
  BOOST_CHECK_EQUAL(sample(text, R"(payengine_rail_breaker_state{rail="SAMOS"})"), 0);
  BOOST_CHECK_EQUAL(sample(text, R"(payengine_rail_in_flight{rail="RTC"})"), 0);
  BOOST_CHECK_EQUAL(sample(text, R"(payengine_active_sagas{shard="0"})"), 0);
  BOOST_CHECK_EQUAL(sample(text, R"(payengine_admission_limit{shard="0"})"), 10'000);
  BOOST_CHECK_EQUAL(sample(text, "payengine_admission_refused_total"), 0);
  BOOST_CHECK_GE(sample(text, "payengine_outbox_backlog"), 1);  // nothing relays to Kafka in this test
  // Every payment armed a submit and an await deadline; the await ones (the
  // RTC and EFT adapters' final timeouts are far longer than this test) are
  // still held, though every payment has finished.
  double deadlines = 0;
  for (int shard = 0; shard < 4; ++shard)
    deadlines += std::max(0.0, sample(text, R"(payengine_timer_deadlines{shard=")" + std::to_string(shard) + R"("})"));
  BOOST_TEST_MESSAGE("timer deadlines held: " << deadlines);
  BOOST_CHECK_GE(deadlines, kUrgent + kNormal);

  // A breaker that opened shows in the state and the transition counter.
  auto faults = (*sims)->rail(clearing::Rail::rtc).faults();
  faults.outage = true;
  (*sims)->rail(clearing::Rail::rtc).set_faults(faults);
  for (int i = 0; i < 60 && (*engine)->rail_pools()->breaker_state(clearing::Rail::rtc) != clearing::BreakerState::open; ++i) {
    PaymentInstruction p = testing::valid_instruction();
    p.end_to_end_id = "DOWN-" + std::to_string(i);
    p.urgency = Urgency::urgent;
    p.requested_rail = "RTC";
    (*engine)->initiate(p);
    std::this_thread::sleep_for(50ms);
  }
  BOOST_REQUIRE((*engine)->rail_pools()->breaker_state(clearing::Rail::rtc) == clearing::BreakerState::open);
  const std::string after = metrics.scrape();
  BOOST_CHECK_EQUAL(sample(after, R"(payengine_rail_breaker_state{rail="RTC"})"), 1);
  BOOST_CHECK_EQUAL(sample(after, R"(payengine_rail_breaker_transitions_total{rail="RTC",to="open"})"), 1);

  // The exposition is valid for Prometheus.
  auto [status, out] = promtool_check(after, dir.path());
  BOOST_CHECK_MESSAGE(status == 0 && out.empty(), "promtool: exit " << status << ": " << out);
  engine->reset();
}

BOOST_AUTO_TEST_CASE(promtool_rejects_a_broken_exposition) {
  // The check above can fail: promtool does complain about bad text.
  testing::TempDir dir;
  auto [status, out] = promtool_check("payengine_bad_metric{le=\"x\" 1\n", dir.path());
  BOOST_CHECK_NE(status, 0);
}

BOOST_AUTO_TEST_CASE(http_and_kafka_figures) {
  Metrics m;
  m.http_request("/v1/payments", "POST", 202, 1'500);
  m.http_request("/v1/payments", "POST", 202, 2'500);
  m.http_request("/v1/payments", "POST", 429, 100);
  m.set_kafka(42, 3);
  m.set_kafka(40, 5);  // a mirrored total only moves forward
  const std::string text = m.scrape();
  BOOST_CHECK_EQUAL(sample(text, R"(payengine_http_requests_total{code="202",method="POST",route="/v1/payments"})"), 2);
  BOOST_CHECK_EQUAL(sample(text, R"(payengine_http_request_duration_seconds_count{route="/v1/payments"})"), 3);
  BOOST_CHECK_EQUAL(sample(text, "payengine_kafka_consumer_lag"), 40);
  BOOST_CHECK_EQUAL(sample(text, "payengine_kafka_dlq_total"), 5);
}
