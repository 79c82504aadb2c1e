// The load driver behind `payengine demo` and `payengine run`: funds a set
// of debtor accounts, sends a deterministic stream of synthetic payments
// (mostly valid, some malformed, some unfundable) with bounded concurrency
// and idempotency keys, and waits until every saga is final.
//
// Re-running with the same seed on the same database sends the same
// payments with the same idempotency keys: payments already accepted are
// replays, not new payments. This is what makes it a crash-recovery harness.
#pragma once

#include <cstdint>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "actors/engine.hpp"

namespace payengine {

struct DriverOptions {
  uint64_t payments = 300;
  uint64_t seed = 1;
  uint64_t concurrency = 64;
  uint32_t accounts = 20;
  int64_t opening_balance_minor = 2'000'000'000;   // R20m each
  uint32_t poor_accounts = 2;                      // funded with R10 only
  uint32_t invalid_ppm = 30'000;                   // malformed creditor account
  uint32_t blocked_ppm = 10'000;                   // creditor on the blocklist
  int64_t max_amount_minor = 5'000'000;
  int64_t wait_timeout_ms = 120'000;
  bool print_accepted = false;  // print "accepted <payment id>" on stdout as each 202-equivalent arrives
  // Also send payments for every rail: 3% above R5m (SAMOS), 3% to a ShapID
  // (PayShap), 3% in USD from USD accounts (SWIFT).
  bool rail_mix = false;
};

// What the driver funded, per currency (for the conservation check).
std::map<std::string, int64_t> funded_by_currency(const DriverOptions& o);

struct DriverReport {
  uint64_t sent = 0;
  uint64_t accepted = 0;
  uint64_t replayed = 0;
  uint64_t overloaded_retries = 0;
  uint64_t open_sagas = 0;  // still non-terminal at the end (0 when all finished)
  std::map<std::string, int64_t> by_state;
  std::map<std::string, int64_t> by_reason;  // reason codes of non-completed payments
  std::map<std::string, int64_t> balance_by_currency;
  int64_t held_minor = 0;
  int64_t postings = 0;
  double elapsed_s = 0;
};

// Names on the driver's blocklist, for the engine's screening config.
inline const char* kDriverBlockedName = "Blocked Trading Company";

// The driver. Wire `on_done` into EngineConfig::on_done before starting the
// engine, then call `run`.
class Driver {
 public:
  explicit Driver(DriverOptions options) : options_(std::move(options)) {}
  // Thread-safe; called by the engine for every payment that went final.
  void on_done(const sagas::PaymentDone& done);
  // Creates the driver's accounts where missing (idempotent).
  void fund_accounts(Engine& engine);
  DriverReport run(Engine& engine);
  const DriverOptions& options() const { return options_; }

 private:
  DriverOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t in_flight_ = 0;
  std::map<std::string, int64_t> reasons_;
};

std::string report_json(const DriverReport& r);
// The instruction the driver sends as payment `i` (deterministic in seed, i).
PaymentInstruction driver_payment(const DriverOptions& options, uint64_t i);

}  // namespace payengine
