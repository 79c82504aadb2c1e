// Every message exchanged between the engine's actors, in one place.
//
//   ingress/driver --(initiate)--> supervisor --delegate--> payment actor
//   payment actor  --(append)----> journal actor --AppendResult--> payment actor
//   rail (sink)    --(rail)------> supervisor --forward--> payment actor
//   payment actor  --(done|passivate)--> supervisor --(done)--> listener
//   payment actor  --(append, SnapshotRecord)--> journal actor (on passivation)
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "clearing/clearing.hpp"
#include "sagas/payment.hpp"
#include "sagas/saga.hpp"
#include "sagas/store.hpp"

namespace payengine::sagas {

// Atoms (CAF 0.17: at most 10 characters).
using append_atom = caf::atom_constant<caf::atom("append")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using open_atom = caf::atom_constant<caf::atom("open")>;
using initiate_atom = caf::atom_constant<caf::atom("initiate")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using rail_atom = caf::atom_constant<caf::atom("rail")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using run_atom = caf::atom_constant<caf::atom("run")>;

// A new payment. `payment_id` is assigned by ingress before it is sent.
struct InitiateReply;
// Where an asynchronous initiate's reply goes (Engine::initiate_async).
using InitiateHandler = std::function<void(const InitiateReply&)>;

struct InitiateCommand {
  std::string payment_id;
  PaymentInstruction instruction;
  std::optional<IdempotencyClaim> claim;
  // Set (Engine::initiate_async): whoever answers the command calls it, once,
  // instead of replying to the sender. Unset: the reply goes to the requester.
  InitiateHandler reply_to;
};

struct InitiateReply {
  enum class Status : uint8_t {
    accepted,    // the received event is durable
    replayed,    // the idempotency key was used before with the same request: payment_id is the original
    conflict,    // the idempotency key was used before with another request
    overloaded,  // admission control: too many active sagas; retry later
    failed,      // the journal could not write
  };
  Status status = Status::failed;
  std::string payment_id;
  std::string detail;
};

struct CancelReply {
  enum class Status : uint8_t {
    accepted,       // journaled: the payment will end cancelled
    too_late,       // submitted to its rail already (state says where it is)
    already_final,  // it had ended (state says how)
    not_found,      // no such payment
    failed,         // no answer (timeout, crash): state holds the error; retry
  };
  Status status = Status::not_found;
  std::string state;
};

// A payment reached a final state (sent to the supervisor and its listener).
struct PaymentDone {
  std::string payment_id;
  std::string tenant;
  std::string state;
  std::string reason_code;
  std::string rail;  // the rail it was routed to; empty when it never got that far
};

// A saga as the journal holds it: its snapshot, if any, and all its events.
struct SagaLoad {
  std::optional<SnapshotRecord> snapshot;
  std::vector<StoredEvent> events;
};

struct ShardStats {
  uint64_t active = 0;
  uint64_t spawned = 0;
  uint64_t finished = 0;
  uint64_t passivated = 0;
  uint64_t reactivated = 0;
  uint64_t restarted = 0;
  uint64_t gave_up = 0;       // restart intensity exceeded -> in_doubt
  uint64_t overloaded = 0;    // initiates refused by admission control
  uint64_t recovered = 0;
};

// Work to run on the journal actor's thread against the Store (admin reads,
// tests, benchmarks). Never used on the hot path.
using StoreTask = std::function<void(Store&)>;
// Where an asynchronous cancel's reply goes (Engine::cancel_async).
using CancelHandler = std::function<void(const CancelReply&)>;
using Thunk = std::function<void()>;

}  // namespace payengine::sagas

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::EventRecord)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::AppendResult)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<payengine::sagas::EventRecord>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<payengine::sagas::AppendResult>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::StoredEvent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<payengine::sagas::StoredEvent>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::InitiateCommand)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::SagaLoad)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::SnapshotRecord)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::InitiateReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::CancelReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::PaymentDone)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::ShardStats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::StoreTask)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::InitiateHandler)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::CancelHandler)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::sagas::Thunk)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::clearing::RailResponse)
