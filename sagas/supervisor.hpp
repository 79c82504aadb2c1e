// The saga supervisor: one per shard (shard = hash(payment id) % shards).
// Spawns and monitors the shard's payment actors, routes commands and rail
// responses to them, restarts a crashed one from its journal (at most
// `max_restarts` within `restart_window_ms`; past that the payment is ended
// in_doubt with MS03 so nothing sits in silent limbo), reactivates passivated
// ones on the next message or at their deadline, and caps active sagas
// (admission control: an initiate beyond `max_active` is answered
// `overloaded` at once). The cap holds for reactivations and recovery too:
// at the cap, a passivated payment's messages (rail answers, cancels, its
// timer) wait, bounded per payment, and it is reactivated, oldest first, as
// soon as an active one finishes or passivates.
//
// Protocol (sagas/messages.hpp):
//   (initiate_atom, InitiateCommand)   -> InitiateReply (delegated to the new actor; to
//                                      the command's reply_to instead, when it has one)
//   (cancel_atom, payment_id)          -> CancelReply
//   (rail_atom, RailResponse)          routed to the payment, reactivating it if needed
//   (recover_atom, std::vector<std::string> ids) -> uint64_t resumed
//   (stats_atom)                       -> ShardStats
#pragma once

#include <caf/fwd.hpp>

#include <atomic>
#include <cstdint>
#include <functional>

#include "sagas/payment_actor.hpp"

namespace payengine::sagas {

struct PaymentDone;

struct SupervisorConfig {
  uint64_t max_active = 10'000;
  uint32_t max_restarts = 3;
  int64_t restart_window_ms = 60'000;
  // Called on the supervisor's thread for every payment that reached a final
  // state here (not for ones found already final on reactivation). Must be
  // thread-safe and quick.
  std::function<void(const PaymentDone&)> on_done;
  // Kept equal to this shard's active sagas (read by ingress to send no
  // more than admission control can take). May be null.
  std::atomic<int64_t>* active = nullptr;
};

caf::actor spawn_supervisor(caf::actor_system& system, const ShardDeps* deps,
                            SupervisorConfig config);

}  // namespace payengine::sagas
