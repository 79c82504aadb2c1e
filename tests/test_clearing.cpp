// ctest-labels: slow
// The five rail adapters end to end: the engine (real CAF actors, a real
// SQLite journal) submits through the adapter pools over loopback TCP to a
// railsim per rail speaking the rail's wire format. Every ISO 20022 message
// railsim receives or sends is validated against the shared XSDs.
#define BOOST_TEST_MODULE clearing
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "actors/engine.hpp"
#include "clearing/rails.hpp"
#include "fixtures.hpp"

using namespace payengine;
using namespace payengine::clearing;
using namespace std::chrono_literals;

namespace payengine::clearing {
std::ostream& operator<<(std::ostream& os, BreakerState s) { return os << to_string(s); }
}  // namespace payengine::clearing

namespace {

const char* const kMtOnlyBank = "MTONDEFF";  // a correspondent still on MT

// The engine on the adapters, against five railsims in this process.
class World {
 public:
  explicit World(RailsimFaults faults = {}, uint64_t seed = 7) {
    RailsimOptions base;
    base.seed = seed;
    base.faults = faults;
    base.xsd_dir = std::string(PAYENGINE_SHARED_DIR) + "/iso20022";
    auto sims = EmbeddedRailsims::start(base);
    BOOST_REQUIRE_MESSAGE(sims.ok(), (sims.ok() ? std::string() : sims.error().message));
    sims_ = std::move(*sims);

    RailsConfig rails = default_rails_config();
    sims_->apply_ports(rails);
    rails.eft.cycle_interval_ms = 100;
    rails.ack_timeout_ms.fill(1'500);   // the rails' timeouts, scaled down for tests
    rails.final_timeout_ms.fill(2'000);
    rails.swift.mt_only_bic8 = {kMtOnlyBank};
    for (Rail r : kAllRails) {
      PoolConfig& p = rails.pool(r);
      p.answer_timeout_ms = 400;
      p.tick_ms = 5;
      p.breaker.minimum_calls = 5;
      p.breaker.consecutive_failures_to_open = 3;
      p.breaker.wait_in_open_ms = 300;
      p.breaker.half_open_permitted_calls = 2;
      p.breaker.probe_timeout_ms = 1'000;
    }
    EngineConfig config;
    config.store.path = dir_.path() + "/engine.db";
    config.rails = rails;
    config.saga.submit_timeout_ms = 1'500;
    config.saga.await_timeout_ms = 2'000;
    config.saga.backoff_initial_ms = 20;
    config.saga.backoff_max_ms = 200;
    config.seed = seed;
    config.on_done = [this](const sagas::PaymentDone& d) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_[d.payment_id] = d;
      ++done_count_;
      cv_.notify_all();
    };
    auto engine = Engine::start(config);
    BOOST_REQUIRE_MESSAGE(engine.ok(), (engine.ok() ? std::string() : engine.error().message));
    engine_ = std::move(*engine);
    BOOST_REQUIRE(engine_->wait_recovered(10s));
  }
  ~World() {
    engine_.reset();
    sims_.reset();
  }

  void fund(const std::string& account_id, const std::string& currency, int64_t balance_minor) {
    engine_->with_store([&](sagas::Store& s) {
      if (!s.account(account_id)) BOOST_REQUIRE(s.create_account(account_id, currency, balance_minor).ok());
    });
  }

  std::string pay(const PaymentInstruction& p) {
    auto reply = engine_->initiate(p);
    BOOST_REQUIRE_MESSAGE(reply.status == sagas::InitiateReply::Status::accepted, reply.detail);
    return reply.payment_id;
  }

  // Waits until every id is final; returns their outcomes.
  std::map<std::string, sagas::PaymentDone> await(const std::vector<std::string>& ids,
                                                  std::chrono::milliseconds deadline = 60s) {
    std::unique_lock<std::mutex> lock(mutex_);
    bool all = cv_.wait_for(lock, deadline, [&] {
      for (auto& id : ids)
        if (!done_.count(id)) return false;
      return true;
    });
    BOOST_REQUIRE_MESSAGE(all, "payments still open after the deadline");
    std::map<std::string, sagas::PaymentDone> out;
    for (auto& id : ids) out[id] = done_[id];
    return out;
  }

  // The rail the route step journaled for a payment.
  std::string rail_of(const std::string& id) {
    std::string rail;
    engine_->with_store([&](sagas::Store& s) {
      for (auto& e : s.events_for(id))
        if (e.step == "route" && e.data.find("\"rail\"") != std::string::npos) {
          auto at = e.data.find("\"rail\":\"");
          if (at != std::string::npos) rail = e.data.substr(at + 8, e.data.find('"', at + 8) - at - 8);
        }
    });
    return rail;
  }

  int64_t postings(const std::string& id) {
    int64_t n = 0;
    engine_->with_store([&](sagas::Store& s) { n = s.posting_count(id); });
    return n;
  }

  std::map<std::string, int64_t> totals() {
    std::map<std::string, int64_t> t;
    engine_->with_store([&](sagas::Store& s) { t = s.total_balance_by_currency(); });
    return t;
  }

  std::optional<sagas::HoldView> hold(const std::string& id) {
    std::optional<sagas::HoldView> h;
    engine_->with_store([&](sagas::Store& s) { h = s.hold(id); });
    return h;
  }

  // Every XML message railsim saw or sent so far validated against its XSD
  // (and, when `some_xml`, there were such messages).
  void check_schemas(bool some_xml = true) {
    uint64_t checked = 0;
    for (Rail r : kAllRails) {
      auto st = sims_->rail(r).stats();
      checked += st.schema_checked;
      BOOST_CHECK_MESSAGE(st.schema_invalid == 0, to_string(r) << ": " << st.schema_invalid
                                                                << " messages failed their XSD: "
                                                                << st.last_schema_error);
    }
    if (some_xml) BOOST_CHECK_GT(checked, 0u);
  }

  Engine& engine() { return *engine_; }
  EmbeddedRailsims& sims() { return *sims_; }
  const RailPools& pools() { return *engine_->rail_pools(); }

 private:
  testing::TempDir dir_;
  std::unique_ptr<EmbeddedRailsims> sims_;
  std::unique_ptr<Engine> engine_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, sagas::PaymentDone> done_;
  uint64_t done_count_ = 0;
};

PaymentInstruction payment(int64_t amount_minor, Urgency urgency, const std::string& e2e) {
  PaymentInstruction p = testing::valid_instruction();
  p.amount = Money{amount_minor, "ZAR"};
  p.urgency = urgency;
  p.end_to_end_id = e2e;
  return p;
}

PaymentInstruction usd_payment(const std::string& e2e, const std::string& creditor_bic) {
  PaymentInstruction p = testing::valid_instruction();
  p.amount = Money{250'000, "USD"};
  p.end_to_end_id = e2e;
  p.debtor.account_number = "4000000001";
  p.creditor.account_number.clear();
  p.creditor.branch_code.clear();
  p.creditor.name = "Müller & Söhne GmbH";
  p.creditor.iban = "DE89370400440532013000";
  p.creditor.bic = creditor_bic;
  return p;
}

// Amounts that route the same at every hour of every day (RTC's R250k
// after-hours limit, SAMOS closed at night): normal -> EFT, urgent R1,000 ->
// RTC, instant R500 -> PAYSHAP, R6m -> SAMOS, USD -> SWIFT.
struct Mix {
  std::vector<std::pair<std::string, std::string>> expected;  // id -> rail
};

}  // namespace

BOOST_AUTO_TEST_CASE(every_rail_clears_over_its_wire_format) {
  World w;
  w.fund("bank1/1234567890", "ZAR", 10'000'000'000);
  w.fund("bank1/4000000001", "USD", 100'000'000);
  const auto before = w.totals();

  std::vector<std::pair<PaymentInstruction, std::string>> plan;
  plan.push_back({payment(10'000, Urgency::normal, "EFT-1"), "EFT"});
  plan.push_back({payment(25'000, Urgency::normal, "EFT-2"), "EFT"});
  plan.push_back({payment(100'000, Urgency::urgent, "RTC-1"), "RTC"});
  plan.push_back({payment(50'000, Urgency::instant, "PSH-1"), "PAYSHAP"});
  PaymentInstruction proxy = payment(20'000, Urgency::instant, "PSH-PROXY");
  proxy.creditor.account_number.clear();
  proxy.creditor.branch_code.clear();
  proxy.creditor.proxy = "0821234567@capitec";
  plan.push_back({proxy, "PAYSHAP"});
  plan.push_back({payment(600'000'000, Urgency::urgent, "SAMOS-1"), "SAMOS"});
  plan.push_back({usd_payment("SWIFT-MX", "COBADEFFXXX"), "SWIFT"});
  plan.push_back({usd_payment("SWIFT-MT", std::string(kMtOnlyBank) + "XXX"), "SWIFT"});

  std::vector<std::string> ids;
  for (auto& [p, rail] : plan) ids.push_back(w.pay(p));
  auto outcomes = w.await(ids);
  for (size_t i = 0; i < ids.size(); ++i) {
    BOOST_TEST_CONTEXT(plan[i].first.end_to_end_id) {
      BOOST_CHECK_EQUAL(outcomes[ids[i]].state, "completed");
      BOOST_CHECK_EQUAL(outcomes[ids[i]].reason_code, "");
      BOOST_CHECK_EQUAL(w.rail_of(ids[i]), plan[i].second);
      BOOST_CHECK_EQUAL(w.postings(ids[i]), 1);
    }
  }
  for (Rail r : kAllRails) {
    BOOST_TEST_CONTEXT(to_string(r)) {
      BOOST_CHECK_GT(w.sims().rail(r).stats().received, 0u);
      BOOST_CHECK_EQUAL(w.sims().rail(r).stats().malformed, 0u);
      BOOST_CHECK_EQUAL(w.pools().stats(r).malformed.load(), 0u);
    }
  }
  BOOST_CHECK(w.totals() == before);  // money moved, none created or lost
  w.check_schemas();
}

BOOST_AUTO_TEST_CASE(business_rejections_map_to_reasons_and_compensate) {
  RailsimFaults faults;
  faults.reject_ppm = 300'000;  // 30% of payments rejected by the rail
  World w(faults);
  w.fund("bank1/1234567890", "ZAR", 10'000'000'000);
  const auto before = w.totals();
  std::vector<std::string> ids;
  const Urgency kinds[] = {Urgency::normal, Urgency::urgent, Urgency::instant};
  for (int i = 0; i < 120; ++i) ids.push_back(w.pay(payment(1'000 + i, kinds[i % 3], "REJ-" + std::to_string(i))));
  auto outcomes = w.await(ids);
  std::map<std::string, int> by_state;
  std::set<std::string> reasons;
  for (auto& id : ids) {
    const auto& d = outcomes[id];
    by_state[d.state]++;
    auto hold = w.hold(id);
    BOOST_REQUIRE(hold);
    if (d.state == "completed") {
      BOOST_CHECK_EQUAL(hold->status, "posted");
      BOOST_CHECK_EQUAL(w.postings(id), 1);
    } else {
      // Rejected by the rail after the hold: compensated, so "failed".
      BOOST_CHECK_EQUAL(d.state, "failed");
      BOOST_CHECK_EQUAL(hold->status, "released");
      BOOST_CHECK_EQUAL(w.postings(id), 0);
      reasons.insert(d.reason_code);
    }
  }
  BOOST_TEST_MESSAGE("states: completed " << by_state["completed"] << ", failed " << by_state["failed"]);
  BOOST_CHECK_GT(by_state["failed"], 10);
  BOOST_CHECK_GT(by_state["completed"], 40);
  // Every rejection reason is an ISO 20022 code the rails map to.
  for (auto& r : reasons) {
    BOOST_TEST_CONTEXT(r) {
      BOOST_CHECK(r == "AC01" || r == "AC04" || r == "AC06" || r == "AM04" || r == "MS03");
    }
  }
  for (Rail r : kAllRails) BOOST_CHECK_EQUAL(w.pools().breaker_state(r), BreakerState::closed);
  BOOST_CHECK(w.totals() == before);
  w.check_schemas();
}

namespace {

// One rail goes down and comes back while payments keep arriving.
struct OutageCase {
  Rail rail;
  PaymentInstruction (*make)(int i);
  const char* fallback;  // the rail payments move to, "*" any other, "" when they fail
};

PaymentInstruction eft_payment(int i) { return payment(1'000 + i, Urgency::normal, "OUT-EFT-" + std::to_string(i)); }
PaymentInstruction rtc_payment(int i) { return payment(1'000 + i, Urgency::urgent, "OUT-RTC-" + std::to_string(i)); }
PaymentInstruction payshap_payment(int i) {
  return payment(1'000 + i, Urgency::instant, "OUT-PSH-" + std::to_string(i));
}
PaymentInstruction samos_payment(int i) {
  return payment(600'000'000 + i, Urgency::urgent, "OUT-SAMOS-" + std::to_string(i));
}
PaymentInstruction swift_payment(int i) { return usd_payment("OUT-SWIFT-" + std::to_string(i), "COBADEFFXXX"); }

void outage(const OutageCase& c) {
  World w;
  w.fund("bank1/1234567890", "ZAR", 1'000'000'000'000);
  w.fund("bank1/4000000001", "USD", 1'000'000'000);
  const auto before = w.totals();
  const PoolStats& stats = w.pools().stats(c.rail);

  // Healthy first.
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(w.pay(c.make(i)));
  w.await(ids);

  // Down: the breaker opens within its window (3 failures in a row here).
  auto faults = w.sims().rail(c.rail).faults();
  faults.outage = true;
  w.sims().rail(c.rail).set_faults(faults);
  int sent = 5;
  BOOST_REQUIRE_MESSAGE(testing::wait_until([&] {
                          ids.push_back(w.pay(c.make(sent++)));
                          return w.pools().breaker_state(c.rail) == BreakerState::open;
                        }, 30s),
                        "breaker did not open");
  BOOST_TEST_MESSAGE(to_string(c.rail) << ": breaker open after " << sent - 5 << " payments in the outage");
  // It opened on the failures it saw (3 in a row here), not on anything else.
  BOOST_CHECK_GE(stats.send_failures.load() + stats.timeouts.load(), 3u);
  BOOST_CHECK_EQUAL(stats.opened.load(), 1u);
  // While open: new payments fall back, or fail with compensation.
  std::vector<std::string> during;
  for (int i = 0; i < 5; ++i) during.push_back(w.pay(c.make(sent++)));
  auto outcomes = w.await(during);
  for (auto& id : during) {
    if (std::string(c.fallback) == "*") {
      BOOST_CHECK_EQUAL(outcomes[id].state, "completed");
      BOOST_CHECK_NE(w.rail_of(id), to_string(c.rail));
    } else if (*c.fallback) {
      BOOST_CHECK_EQUAL(outcomes[id].state, "completed");
      BOOST_CHECK_EQUAL(w.rail_of(id), c.fallback);
    } else {
      BOOST_CHECK_EQUAL(outcomes[id].state, "failed");
      BOOST_CHECK_EQUAL(outcomes[id].reason_code, "AB08");
      auto hold = w.hold(id);
      BOOST_CHECK(!hold || hold->status == "released");
    }
  }
  ids.insert(ids.end(), during.begin(), during.end());

  // Back: after wait_in_open the breaker lets probes through and closes.
  faults.outage = false;
  w.sims().rail(c.rail).set_faults(faults);
  BOOST_REQUIRE_MESSAGE(testing::wait_until([&] {
                          if (w.pools().breaker_state(c.rail) == BreakerState::closed) return true;
                          ids.push_back(w.pay(c.make(sent++)));
                          std::this_thread::sleep_for(50ms);
                          return false;
                        }, 30s),
                        "breaker did not close");
  BOOST_CHECK_GE(stats.opened.load(), 1u);
  BOOST_CHECK_GE(stats.half_opened.load(), 1u);
  BOOST_CHECK_GE(stats.closed.load(), 1u);
  // And payments use the rail again.
  std::vector<std::string> after;
  for (int i = 0; i < 3; ++i) after.push_back(w.pay(c.make(sent++)));
  auto after_outcomes = w.await(after);
  for (auto& id : after) {
    BOOST_CHECK_EQUAL(after_outcomes[id].state, "completed");
    BOOST_CHECK_EQUAL(w.rail_of(id), to_string(c.rail));
  }
  ids.insert(ids.end(), after.begin(), after.end());

  // Nothing lost, nothing settled twice, money conserved.
  auto all = w.await(ids);
  BOOST_CHECK_EQUAL(all.size(), ids.size());
  for (auto& [id, d] : all) {
    BOOST_CHECK(d.state == "completed" || d.state == "failed" || d.state == "in_doubt");
    BOOST_CHECK_LE(w.postings(id), 1);
    if (d.state == "completed") BOOST_CHECK_EQUAL(w.postings(id), 1);
    if (d.state == "failed") BOOST_CHECK_EQUAL(w.postings(id), 0);
  }
  BOOST_CHECK(w.totals() == before);
  w.check_schemas(c.rail != Rail::eft && c.rail != Rail::rtc);
}

}  // namespace

BOOST_AUTO_TEST_CASE(outage_payshap_falls_back_to_rtc) { outage({Rail::payshap, payshap_payment, "RTC"}); }
BOOST_AUTO_TEST_CASE(outage_eft_falls_back_to_rtc) { outage({Rail::eft, eft_payment, "RTC"}); }
BOOST_AUTO_TEST_CASE(outage_rtc_falls_back) {
  // RTC's fallbacks are SAMOS (in its hours), then EFT: which one depends on
  // the hour the test runs at.
  outage({Rail::rtc, rtc_payment, "*"});
}
BOOST_AUTO_TEST_CASE(outage_samos_fails_with_compensation) { outage({Rail::samos, samos_payment, ""}); }
BOOST_AUTO_TEST_CASE(outage_swift_fails_with_compensation) { outage({Rail::swift, swift_payment, ""}); }

namespace {

// The highest attempt journaled for a step (a retry event names the attempt
// that failed).
int max_attempt(World& w, const std::string& id, const std::string& step) {
  int n = 0;
  w.engine().with_store([&](sagas::Store& s) {
    for (auto& e : s.events_for(id))
      if (e.step == step) n = std::max<int>(n, static_cast<int>(e.attempt));
  });
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(payshap_late_final_is_found_by_a_status_query) {
  RailsimFaults faults;
  faults.final_after_ms = 4'000;  // after the await timeout (2 s here)
  World w(faults);
  w.fund("bank1/1234567890", "ZAR", 1'000'000'000);
  std::string id = w.pay(payment(30'000, Urgency::instant, "PSH-LATE"));
  auto done = w.await({id}, 30s);
  BOOST_CHECK_EQUAL(w.rail_of(id), "PAYSHAP");
  BOOST_CHECK_EQUAL(done[id].state, "completed");
  BOOST_CHECK_GE(max_attempt(w, id, "await"), 1);  // at least one retry, which asked with pacs.028
  BOOST_CHECK_EQUAL(w.postings(id), 1);
  w.check_schemas();
}

BOOST_AUTO_TEST_CASE(payshap_never_decided_ends_in_doubt_with_the_hold_kept) {
  RailsimFaults faults;
  faults.pending_ppm = 1'000'000;  // acknowledged, never decided; queries say PDNG
  World w(faults);
  w.fund("bank1/1234567890", "ZAR", 1'000'000'000);
  std::string id = w.pay(payment(30'000, Urgency::instant, "PSH-LIMBO"));
  auto done = w.await({id}, 60s);
  BOOST_CHECK_EQUAL(w.rail_of(id), "PAYSHAP");
  BOOST_CHECK_EQUAL(done[id].state, "in_doubt");
  BOOST_CHECK_EQUAL(done[id].reason_code, "AB05");
  // Three attempts: two timed out into a retry (each retry queries with
  // pacs.028 and gets PDNG), the third into in_doubt.
  BOOST_CHECK_EQUAL(max_attempt(w, id, "await"), 2);
  auto hold = w.hold(id);
  BOOST_REQUIRE(hold);
  BOOST_CHECK_EQUAL(hold->status, "held");  // money neither sent nor released: an operator decides
  BOOST_CHECK_EQUAL(w.postings(id), 0);
  w.check_schemas();
}

BOOST_AUTO_TEST_CASE(duplicate_late_and_failing_answers_settle_nothing_twice) {
  RailsimFaults faults;
  faults.duplicate_ppm = 300'000;  // every answer of 30% of frames sent twice
  faults.late_ppm = 50'000;        // 5% answered after the adapter gave up on them
  faults.late_ms = 2'500;
  faults.error_ppm = 50'000;       // 5% get the rail's system error
  faults.reject_ppm = 100'000;
  faults.latency_max_ms = 20;
  World w(faults);
  w.fund("bank1/1234567890", "ZAR", 1'000'000'000'000);
  w.fund("bank1/4000000001", "USD", 1'000'000'000);
  const auto before = w.totals();
  std::vector<std::string> ids;
  for (int i = 0; i < 150; ++i) {
    switch (i % 5) {
      case 0: ids.push_back(w.pay(payment(1'000 + i, Urgency::normal, "CHAOS-" + std::to_string(i)))); break;
      case 1: ids.push_back(w.pay(payment(1'000 + i, Urgency::urgent, "CHAOS-" + std::to_string(i)))); break;
      case 2: ids.push_back(w.pay(payment(1'000 + i, Urgency::instant, "CHAOS-" + std::to_string(i)))); break;
      case 3: ids.push_back(w.pay(payment(600'000'000 + i, Urgency::urgent, "CHAOS-" + std::to_string(i)))); break;
      case 4: ids.push_back(w.pay(usd_payment("CHAOS-" + std::to_string(i), "COBADEFFXXX"))); break;
    }
  }
  auto outcomes = w.await(ids, 120s);
  std::map<std::string, int> states;
  for (auto& id : ids) {
    const auto& d = outcomes[id];
    states[d.state]++;
    BOOST_CHECK(d.state == "completed" || d.state == "failed" || d.state == "in_doubt");
    auto hold = w.hold(id);
    BOOST_REQUIRE(hold);
    if (d.state == "completed") {
      BOOST_CHECK_EQUAL(hold->status, "posted");
      BOOST_CHECK_EQUAL(w.postings(id), 1);
    } else if (d.state == "failed") {
      BOOST_CHECK_EQUAL(hold->status, "released");
      BOOST_CHECK_EQUAL(w.postings(id), 0);
    } else {
      BOOST_CHECK_EQUAL(hold->status, "held");
    }
  }
  BOOST_TEST_MESSAGE("completed " << states["completed"] << ", failed " << states["failed"] << ", in_doubt "
                                  << states["in_doubt"]);
  BOOST_CHECK_GT(states["completed"], 75);
  BOOST_CHECK(w.totals() == before);
  w.check_schemas();
}
