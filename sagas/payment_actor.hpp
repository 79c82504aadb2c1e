// The payment actor: one CAF actor per payment, running the payment saga
// (sagas/payment_saga.hpp) through SagaRun. Spawned and monitored by its
// shard's supervisor (sagas/supervisor.hpp).
//
// Protocol (messages in sagas/messages.hpp):
//   (initiate_atom, InitiateCommand) -> InitiateReply   first message of a fresh actor;
//                                       answered once the received event is durable (to
//                                       the command's reply_to instead, when it has one;
//                                       answered `failed` if the actor ends first)
//   (rail_atom, RailResponse)        rail responses routed by the supervisor
//   (cancel_atom)                    -> CancelReply      accepted only once journaled
//   to the supervisor: (done_atom, PaymentDone) when final, (passivate_atom, id, wake_at_ms)
//   when it goes idle with a far deadline; it then quits and holds no memory.
// A recovering actor first loads its journal (nothing else is processed
// until then) and resumes; a journal with no events means no such payment.
#pragma once

#include <caf/fwd.hpp>

#include <cstdint>
#include <mutex>
#include <string>

#include "clearing/clearing.hpp"
#include "sagas/clock.hpp"
#include "sagas/payment_saga.hpp"
#include "sagas/screening.hpp"

namespace payengine::sagas {

class ShardTimers;

// What every payment actor of an engine shares; owned by the engine and
// outliving all of its actors.
struct PaymentActorDeps {
  const SagaDefinition<PaymentContext>* definition = nullptr;
  caf::actor* journal = nullptr;
  clearing::Clearing* clearing = nullptr;
  clearing::RailAvailable rail_available;  // breaker states for routing; empty: all up
  // Told each step outcome journaled live (not on recovery): the step and the
  // time since the payment's previous event (metrics). Thread-safe, quick.
  std::function<void(const std::string& step, int64_t duration_ms)> on_step;
  const Clock* clock = nullptr;
  uint64_t seed = 1;
  int64_t passivate_idle_ms = 30'000;  // idle this long with a deadline further away: passivate
  // Test hook copied into every PaymentContext (see PaymentContext::fault),
  // called with the payment id first. Empty in production.
  std::function<std::optional<StepOutcome>(const std::string& payment_id, const std::string& step,
                                           uint32_t attempt)>
      fault;
};

// Per shard: the screener is shared by the shard's actors under the lock.
struct ShardDeps {
  const PaymentActorDeps* common = nullptr;
  ShardTimers* timers = nullptr;  // the shard's deadlines (sagas/timer_actor.hpp)
  Screener* screener = nullptr;
  std::mutex* screener_lock = nullptr;
};

enum class SpawnMode : uint8_t { fresh, recover };

caf::actor spawn_payment_actor(caf::local_actor* parent, const ShardDeps* deps,
                               const std::string& payment_id, SpawnMode mode);

}  // namespace payengine::sagas
