#include "actors/driver.hpp"

#include <cstdio>
#include <deque>
#include <sstream>
#include <thread>

#include "sagas/payment_saga.hpp"

#include "sagas/rng.hpp"

namespace payengine {
namespace {

using namespace sagas;

std::string account_number(uint32_t i) { return std::to_string(4000000000u + i); }
std::string usd_account_number(uint32_t i) { return std::to_string(9000000000u + i); }

}  // namespace

PaymentInstruction driver_payment(const DriverOptions& o, uint64_t i) {
  Rng rng(o.seed * 1'000'003u + i);
  PaymentInstruction p;
  p.tenant = "bank" + std::to_string(1 + rng.uniform(2));
  p.end_to_end_id = "E2E-" + std::to_string(o.seed) + "-" + std::to_string(i);
  p.amount = Money{1 + static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(o.max_amount_minor))), "ZAR"};
  p.debtor.name = "Debtor " + std::to_string(i % 97);
  p.debtor.account_number = account_number(static_cast<uint32_t>(rng.uniform(o.accounts)));
  p.debtor.branch_code = "250655";
  p.creditor.name = "Creditor " + std::to_string(i % 89);
  p.creditor.account_number = std::to_string(6000000000ull + rng.uniform(1'000'000));
  p.creditor.branch_code = "632005";
  p.remittance = "Invoice " + std::to_string(i);
  uint64_t u = rng.uniform(10);
  p.urgency = u < 6 ? Urgency::normal : u < 8 ? Urgency::urgent : Urgency::instant;
  if (o.rail_mix) {
    uint64_t k = rng.uniform(100);
    if (k < 3) {
      p.amount.amount_minor = 500'000'001 + static_cast<int64_t>(rng.uniform(1'000'000));
    } else if (k < 6) {
      p.urgency = Urgency::instant;
      p.amount.amount_minor = 1 + static_cast<int64_t>(rng.uniform(5'000'000));
      p.creditor.account_number.clear();
      p.creditor.branch_code.clear();
      p.creditor.proxy = "08" + std::to_string(10'000'000 + rng.uniform(89'999'999)) + "@fnb";
    } else if (k < 9) {
      p.amount.currency = "USD";
      p.debtor.account_number = usd_account_number(static_cast<uint32_t>(rng.uniform(o.accounts)));
      p.creditor.account_number.clear();
      p.creditor.branch_code.clear();
      p.creditor.iban = "DE89370400440532013000";
      p.creditor.bic = "COBADEFFXXX";
    }
  }
  if (rng.chance_ppm(o.invalid_ppm)) p.creditor.account_number = "12AB";
  if (rng.chance_ppm(o.blocked_ppm)) p.creditor.name = kDriverBlockedName;
  return p;
}

void Driver::on_done(const PaymentDone& done) {
  std::lock_guard<std::mutex> lock(mu_);
  if (in_flight_ > 0) --in_flight_;
  if (!done.reason_code.empty()) reasons_[done.state + ":" + done.reason_code]++;
  cv_.notify_all();
}

std::map<std::string, int64_t> funded_by_currency(const DriverOptions& o) {
  std::map<std::string, int64_t> f;
  f["ZAR"] = 2 * (static_cast<int64_t>(o.poor_accounts) * 1'000 +
                  static_cast<int64_t>(o.accounts - o.poor_accounts) * o.opening_balance_minor);
  if (o.rail_mix) f["USD"] = 2 * static_cast<int64_t>(o.accounts) * o.opening_balance_minor;
  return f;
}

void Driver::fund_accounts(Engine& engine) {
  const DriverOptions& o = options_;
  engine.with_store([&o](Store& store) {
    for (const char* tenant : {"bank1", "bank2"})
      for (uint32_t i = 0; i < o.accounts; ++i) {
        std::string id = std::string(tenant) + "/" + account_number(i);
        if (store.account(id)) continue;
        int64_t balance = i < o.poor_accounts ? 1'000 : o.opening_balance_minor;
        store.create_account(id, "ZAR", balance);
        if (o.rail_mix) {
          std::string usd = std::string(tenant) + "/" + usd_account_number(i);
          if (!store.account(usd)) store.create_account(usd, "USD", o.opening_balance_minor);
        }
      }
  });
}

DriverReport Driver::run(Engine& engine) {
  const DriverOptions& o = options_;
  DriverReport report;
  const auto t0 = std::chrono::steady_clock::now();
  std::deque<uint64_t> todo;
  for (uint64_t i = 0; i < o.payments; ++i) todo.push_back(i);
  uint64_t awaiting_replies = 0;

  std::unique_lock<std::mutex> lock(mu_);
  while (!todo.empty() || awaiting_replies > 0) {
    if (todo.empty()) {  // only overload retries may still come back
      cv_.wait(lock, [&] { return !todo.empty() || awaiting_replies == 0; });
      continue;
    }
    cv_.wait(lock, [&] { return in_flight_ < o.concurrency; });
    uint64_t i = todo.front();
    todo.pop_front();
    ++in_flight_;
    ++awaiting_replies;
    ++report.sent;
    lock.unlock();
    PaymentInstruction p = driver_payment(o, i);
    IdempotencyClaim claim{"drv-" + std::to_string(o.seed) + "-" + std::to_string(i),
                           std::to_string(fnv1a(instruction_to_json(p)))};
    engine.initiate_async(p, claim, [this, i, &report, &todo, &awaiting_replies](const InitiateReply& r) {
      std::lock_guard<std::mutex> guard(mu_);
      --awaiting_replies;
      switch (r.status) {
        case InitiateReply::Status::accepted:
          ++report.accepted;
          if (options_.print_accepted) {
            std::printf("accepted %s\n", r.payment_id.c_str());
            std::fflush(stdout);
          }
          break;  // in flight until on_done
        case InitiateReply::Status::overloaded:
          ++report.overloaded_retries;
          --in_flight_;
          todo.push_back(i);
          break;
        default:
          if (r.status == InitiateReply::Status::replayed) ++report.replayed;
          --in_flight_;
      }
      cv_.notify_all();
    });
    lock.lock();
  }
  lock.unlock();

  // Every saga final: poll the journal's index of open sagas until empty.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.wait_timeout_ms);
  for (;;) {
    size_t open = 0;
    engine.with_store([&](Store& s) { open = s.open_sagas("", 1'000'000).size(); });
    report.open_sagas = open;
    if (open == 0 && engine.recovered()) break;
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  report.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  engine.with_store([&](Store& s) {
    report.by_state = s.count_by_state();
    report.balance_by_currency = s.total_balance_by_currency();
    for (const auto& a : s.accounts()) report.held_minor += a.held_minor;
  });
  std::lock_guard<std::mutex> guard(mu_);
  report.by_reason = reasons_;
  return report;
}

std::string report_json(const DriverReport& r) {
  std::ostringstream o;
  auto map = [&](const std::map<std::string, int64_t>& m) {
    o << "{";
    bool first = true;
    for (const auto& [k, v] : m) {
      o << (first ? "" : ",") << "\"" << k << "\":" << v;
      first = false;
    }
    o << "}";
  };
  o << "{\"sent\":" << r.sent << ",\"accepted\":" << r.accepted << ",\"replayed\":" << r.replayed
    << ",\"overloaded_retries\":" << r.overloaded_retries << ",\"open_sagas\":" << r.open_sagas
    << ",\"by_state\":";
  map(r.by_state);
  o << ",\"by_reason\":";
  map(r.by_reason);
  o << ",\"balance_by_currency\":";
  map(r.balance_by_currency);
  o << ",\"held_minor\":" << r.held_minor << ",\"elapsed_s\":" << r.elapsed_s << "}";
  return o.str();
}

}  // namespace payengine
