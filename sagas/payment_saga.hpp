// The payment saga: validate -> screen -> reserve -> route -> submit ->
// await -> post -> notify, as a SagaDefinition over PaymentContext.
//
// Step by step:
//   validate  shape and identifiers (sagas/validation.hpp)      -> validated
//   screen    blocklist and velocity (sagas/screening.hpp)      -> screened
//   reserve   ledger hold on the debtor account; undone by a release -> reserved
//   route     picks the rail (clearing/router.hpp); journals it
//   submit    hands the payment to the rail; waits for its ack   -> submitted
//             (not cancellable from here on; timeouts exhausted -> in_doubt)
//   await     waits for the rail's final status; on timeout it queries
//             the rail; still unknown when retries run out -> in_doubt  -> accepted
//   post      moves the held money to the rail's settlement account -> settled
//             (past the point of no return: failures end in_doubt)
//   notify    the final public event                            -> completed
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "clearing/clearing.hpp"
#include "clearing/router.hpp"
#include "sagas/clock.hpp"
#include "sagas/payment.hpp"
#include "sagas/saga.hpp"
#include "sagas/screening.hpp"

namespace payengine::sagas {

struct PaymentSagaConfig {
  int64_t submit_timeout_ms = 2'000;
  uint32_t submit_attempts = 3;
  int64_t await_timeout_ms = 10'000;
  uint32_t await_attempts = 3;  // the first waits, later ones query the rail first
  int64_t backoff_initial_ms = 50;
  int64_t backoff_max_ms = 2'000;
  // Per rail, replacing the timeouts above when set (> 0): how long a rail
  // may take to acknowledge, and to give its final status. EFT finals come
  // with the next cycle's unpaids, SWIFT's from a correspondent abroad.
  std::array<int64_t, 5> submit_timeout_ms_by_rail{};
  std::array<int64_t, 5> await_timeout_ms_by_rail{};
  clearing::RoutingConfig routing;
};

// One payment's working state. Everything here is either the instruction
// (journaled in "received"), folded from journaled step outputs, or a rail
// response not yet consumed by a step.
struct PaymentContext {
  std::string payment_id;
  PaymentInstruction instruction;
  std::optional<clearing::Rail> rail;  // set by route

  // Rail responses waiting to be consumed by submit/await.
  std::optional<clearing::RailResponse> rail_ack;
  std::optional<clearing::RailResponse> rail_final;
  std::optional<clearing::RailResponse> rail_error;    // latest bounce

  // Collaborators, owned elsewhere and outliving the context.
  Screener* screener = nullptr;
  std::mutex* screener_lock = nullptr;  // set when the screener is shared across threads
  clearing::Clearing* clearing = nullptr;
  clearing::RailAvailable rail_available;  // breaker states; empty: every rail is up
  const Clock* clock = nullptr;

  // Test hook: when set and it returns an outcome for (step, attempt), that
  // outcome replaces the step's action. Production leaves it empty.
  std::function<std::optional<StepOutcome>(const std::string& step, uint32_t attempt)> fault;

  // Records a rail response; returns true when a pending step may now complete.
  bool accept_rail_response(clearing::RailResponse r);
};

// The ledger account a payment's debtor is held on: "<tenant>/<account>".
std::string debtor_ledger_account(const PaymentInstruction& p);
// The rail's settlement account for a currency: "rail/<RAIL>/<CCY>".
std::string settlement_account(clearing::Rail rail, const std::string& currency);

// Builds the definition; the returned object must outlive every run using it.
SagaDefinition<PaymentContext> make_payment_saga(const PaymentSagaConfig& config);

// The instruction as the JSON object journaled in "received", and back.
std::string instruction_to_json(const PaymentInstruction& p);
// The same text built through a nlohmann::json tree (the reference the
// direct encoder is tested against).
std::string instruction_to_json_reference(const PaymentInstruction& p);
Result<PaymentInstruction> instruction_from_json(const std::string& json);
// The same, from a JSON value already parsed (no second parse of its text).
Result<PaymentInstruction> instruction_from_json(const nlohmann::json& value);

}  // namespace payengine::sagas
