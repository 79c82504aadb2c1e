// The journal actor: owns the Store's write connection on its own thread
// (a detached actor: SQLite blocks, CAF workers must not) and group-commits.
//
// Protocol:
//   (append_atom, std::vector<EventRecord> chain) -> std::vector<AppendResult>, after the
//                                       transaction holding the whole chain committed
//   (append_atom, SnapshotRecord)     writes the snapshot with the next batch (no reply)
//   (load_atom, payment_id)           -> SagaLoad: its snapshot if any, all its events (seq order)
//   (open_atom, after_id, limit)      -> std::vector<std::string> non-terminal saga ids
//   (run_atom, StoreTask)             -> runs the task on the journal thread; replies unit
//   (stats_atom)                      -> batches, events committed (two uint64_t)
//
// Promises: appends are acknowledged only after the transaction holding them
// committed; a chain is never split across transactions; a batch holds at
// most `max_batch` events (or one larger chain) and every append that
// arrived before a flush is in that flush.
#pragma once

#include <caf/fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace payengine::sagas {

class Store;

// Told about every group commit: its events and how long it took (metrics).
// Called on the journal's thread; must be quick and thread-safe.
using CommitObserver = std::function<void(uint64_t events, int64_t duration_us)>;

caf::actor spawn_journal(caf::actor_system& system, std::unique_ptr<Store> store,
                         size_t max_batch, CommitObserver on_commit = {});

}  // namespace payengine::sagas
