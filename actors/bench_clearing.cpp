#include "actors/bench_clearing.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "clearing/rails.hpp"
#include "sagas/clock.hpp"

namespace payengine {

using namespace clearing;

namespace {

PaymentInstruction bench_payment(Rail rail, uint64_t i) {
  PaymentInstruction p;
  p.tenant = "bank1";
  p.end_to_end_id = "BENCH-" + std::to_string(i);
  p.amount = Money{10'000 + static_cast<int64_t>(i % 1000), "ZAR"};
  p.debtor.name = "Bench Debtor";
  p.debtor.account_number = "1234567890";
  p.debtor.branch_code = "250655";
  p.creditor.name = "Bench Creditor " + std::to_string(i % 97);
  p.creditor.account_number = std::to_string(6'000'000'000ull + i % 1'000'000);
  p.creditor.branch_code = "632005";
  p.remittance = "Invoice " + std::to_string(i);
  switch (rail) {
    case Rail::samos: p.amount.amount_minor = 600'000'000 + static_cast<int64_t>(i % 1000); break;
    case Rail::swift:
      p.amount.currency = "USD";
      p.creditor.account_number.clear();
      p.creditor.branch_code.clear();
      p.creditor.iban = "DE89370400440532013000";
      p.creditor.bic = "COBADEFFXXX";
      break;
    default: break;
  }
  return p;
}

struct RailResult {
  uint64_t completed = 0;  // final answers
  uint64_t rejected = 0;   // of which rejected
  uint64_t resubmitted = 0;
  uint64_t gave_up = 0;
  double seconds = 0;
  int64_t p50_us = 0, p99_us = 0;
};

// Pushes `payments` through one rail's pool with at most `window` in flight,
// resubmitting an error answer (a transient failure) up to 5 times.
RailResult drive(Rail rail, const BenchClearingOptions& o, uint32_t error_ppm) {
  RailsimOptions sim;
  sim.seed = o.seed;
  sim.faults.error_ppm = error_ppm;
  sim.admin = false;
  auto sims = EmbeddedRailsims::start(sim);
  if (!sims) {
    std::cerr << "railsim: " << sims.error().message << "\n";
    return {};
  }
  RailsConfig rails = default_rails_config();
  (*sims)->apply_ports(rails);
  rails.eft.cycle_interval_ms = 20;
  PoolConfig pool = rails.pool(rail);
  pool.workers = o.workers;
  pool.max_in_flight = static_cast<uint32_t>(o.window);
  pool.max_queue = static_cast<uint32_t>(o.window);
  pool.tick_ms = 5;
  pool.breaker.failure_rate_threshold_pct = 90;  // a bench of 10% failures must not trip it
  pool.breaker.consecutive_failures_to_open = 0;
  pool.breaker.slow_call_rate_threshold_pct = 0;
  rails.pool(rail) = pool;
  RailPools::RailSetup setup;
  for (auto& s : rail_setups(rails))
    if (s.pool.rail == rail) setup = s;

  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system system{cfg};
  SystemClock clock;

  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> to_resubmit;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> started;
  std::unordered_map<std::string, uint32_t> attempts;
  std::vector<int64_t> latencies_us;
  RailResult result;
  uint64_t open = 0;

  auto sink = [&](RailResponse r) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = started.find(r.payment_id);
    if (it == started.end()) return;  // a late duplicate
    if (r.kind == RailResponse::Kind::final) {
      latencies_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - it->second)
                                 .count());
      ++result.completed;
      if (!r.accepted) ++result.rejected;
      started.erase(it);
      --open;
      cv.notify_all();
    } else if (r.kind == RailResponse::Kind::error) {
      if (++attempts[r.payment_id] >= 5) {
        ++result.gave_up;
        started.erase(it);
        --open;
      } else {
        to_resubmit.push_back(r.payment_id);
      }
      cv.notify_all();
    }
  };
  RailPools pools(system, {setup}, clock, sink);
  pools.wait_connected(std::chrono::seconds(5));
  std::unordered_map<std::string, PaymentInstruction> instructions;
  instructions.reserve(o.payments);

  auto t0 = std::chrono::steady_clock::now();
  uint64_t next = 0;
  std::unique_lock<std::mutex> lock(mutex);
  while (next < o.payments || open > 0) {
    bool ok = cv.wait_for(lock, std::chrono::seconds(30), [&] {
      return !to_resubmit.empty() || (next < o.payments && open < o.window) || (next >= o.payments && open == 0);
    });
    if (!ok) {
      std::cerr << "bench clearing: " << to_string(rail) << " stalled with " << open << " open\n";
      break;
    }
    std::vector<std::string> again;
    again.swap(to_resubmit);
    std::vector<SubmitRequest> batch;
    for (auto& id : again) {
      ++result.resubmitted;
      SubmitRequest req{id, attempts[id] + 1, rail, &instructions[id]};
      batch.push_back(req);
    }
    while (next < o.payments && open < o.window) {
      std::string id = "pay_" + std::to_string(o.seed) + "b" + std::to_string(next);
      instructions[id] = bench_payment(rail, next);
      started[id] = std::chrono::steady_clock::now();
      attempts[id] = 0;
      batch.push_back(SubmitRequest{id, 1, rail, &instructions[id]});
      ++open;
      ++next;
    }
    lock.unlock();
    for (auto& req : batch) pools.submit(req);
    lock.lock();
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  lock.unlock();
  pools.stop();
  std::sort(latencies_us.begin(), latencies_us.end());
  if (!latencies_us.empty()) {
    result.p50_us = latencies_us[latencies_us.size() / 2];
    result.p99_us = latencies_us[std::min(latencies_us.size() - 1, latencies_us.size() * 99 / 100)];
  }
  return result;
}

// The ceiling: the same transport and window with nothing to decode or
// decide, a loopback echo of 1 KiB frames (the size of a pacs.008).
double echo_ceiling(const BenchClearingOptions& o) {
  net::IoThread io;
  auto server = net::FrameServer::start(io.context(), {}, [](std::string f) {
    return std::vector<net::FrameServer::Outbound>{{0, std::move(f)}};
  });
  if (!server) return 0;
  std::mutex mutex;
  std::condition_variable cv;
  uint64_t answered = 0;
  net::ConnectionOptions co;
  co.port = (*server)->port();
  net::Connection conn(io.context(), co, {[&](std::string) {
                                            std::lock_guard<std::mutex> lock(mutex);
                                            ++answered;
                                            cv.notify_all();
                                          }, {}});
  for (int i = 0; i < 5'000 && !conn.up(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string body(1024, 'x');
  auto t0 = std::chrono::steady_clock::now();
  uint64_t sent = 0;
  std::unique_lock<std::mutex> lock(mutex);
  while (answered < o.payments) {
    while (sent < o.payments && sent - answered < o.window) {
      lock.unlock();
      if (conn.send(body)) ++sent;
      lock.lock();
    }
    if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return sent - answered < o.window || answered >= o.payments; }))
      return 0;
  }
  return o.payments / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int run_bench_clearing(const BenchClearingOptions& o) {
  std::printf("bench clearing: %llu payments per rail, window %llu, %u workers per pool, railsim on loopback, zero latency\n",
              static_cast<unsigned long long>(o.payments), static_cast<unsigned long long>(o.window), o.workers);
  const double ceiling = echo_ceiling(o);
  std::printf("ceiling: framed TCP echo, 1 KiB frames, same window: %.0f round trips/s\n", ceiling);
  std::printf("%-8s %-9s %12s %9s %10s %10s %10s %10s %8s\n", "rail", "failures", "payments/s", "/ceiling", "p50_ms",
              "p99_ms", "rejected", "resubmits", "gave_up");
  int rc = 0;
  for (Rail rail : kAllRails) {
    if (!o.rail.empty() && o.rail != to_string(rail)) continue;
    for (uint32_t ppm : {0u, 100'000u}) {
      RailResult r = drive(rail, o, ppm);
      double rate = r.seconds > 0 ? r.completed / r.seconds : 0;
      std::printf("%-8s %-9s %12.0f %9.2f %10.2f %10.2f %10llu %10llu %8llu\n", std::string(to_string(rail)).c_str(),
                  ppm ? "10%" : "0%", rate, ceiling > 0 ? rate / ceiling : 0.0, r.p50_us / 1000.0, r.p99_us / 1000.0,
                  static_cast<unsigned long long>(r.rejected), static_cast<unsigned long long>(r.resubmitted),
                  static_cast<unsigned long long>(r.gave_up));
      std::fflush(stdout);
      if (r.completed + r.gave_up != o.payments) rc = 1;
    }
  }
  return rc;
}

}  // namespace payengine
