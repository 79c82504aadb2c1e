// The shard timer: the pending deadlines of a shard's payment actors in one
// heap, fired on a fixed tick.
//
// CAF's delayed_send costs a trip through its clock thread per timer; a
// saga arms one per step attempt that waits on the outside world, and
// almost all of them never fire. Here arming is a short locked push by the
// payment actor itself (no message), and a deadline names the payment and
// the actor's id, not the actor: a finished payment's memory is freed at
// once (a weak actor reference in the heap kept every finished payment
// actor allocated until its last deadline had passed: 10 s of payments).
//
// Protocol of the tick actor:
//   (run_atom)  take the due deadlines; for each, send
//               (timer_atom, payment_id, caf::actor_id, timer_id) to the
//               shard's supervisor, which hands (timer_atom, timer_id) to the
//               payment's actor if that same actor is still active, and
//               drops it otherwise (a passivated payment has its own wake-up;
//               a new activation re-arms from the journal).
// Promises: a timer never fires early; it fires at most `tick_ms` late (plus
// scheduling delay); the heap holds one entry per armed timer; the tick
// actor is idle while the heap is empty.
#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <mutex>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "sagas/clock.hpp"

namespace payengine::sagas {

class ShardTimers {
 public:
  struct Due {
    std::string payment_id;
    caf::actor_id actor = 0;
    uint64_t timer_id = 0;
  };

  // Arms `timer_id` of `actor` (the actor of `payment_id`) for `at_ms`.
  // Thread-safe. Returns true when no tick is scheduled: the caller then
  // sends (run_atom) to ticker().
  bool arm(int64_t at_ms, const std::string& payment_id, caf::actor_id actor, uint64_t timer_id);

  // Removes the deadlines at or before `now_ms`, in firing order (deadline,
  // then arming order). `*more` tells whether any remain; when none do, the
  // next arm() returns true. Deadlines of an actor that has `ended` are
  // removed without being returned.
  std::vector<Due> take_due(int64_t now_ms, bool* more);

  // `actor` has terminated: its deadlines stay in the heap until due (size()
  // counts them) but are dropped then instead of going to the supervisor,
  // which would drop them anyway. Thread-safe.
  void ended(caf::actor_id actor);

  size_t size() const;
  void set_ticker(caf::actor ticker) { ticker_ = std::move(ticker); }  // once, before any arm()
  const caf::actor& ticker() const { return ticker_; }

 private:
  struct Entry {
    int64_t at_ms;
    uint64_t seq;  // arming order: equal deadlines fire in that order
    Due due;
    bool operator>(const Entry& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : seq > o.seq; }
  };
  struct Armed {
    uint32_t entries = 0;  // of this actor in the heap
    bool ended = false;
  };
  mutable std::mutex mu_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::unordered_map<caf::actor_id, Armed> armed_;  // actors with entries in the heap
  uint64_t next_seq_ = 0;
  bool ticking_ = false;
  caf::actor ticker_;
};

// The tick actor of `timers`; due deadlines go to `supervisor`.
caf::actor spawn_shard_ticker(caf::actor_system& system, ShardTimers* timers, const Clock* clock,
                              int64_t tick_ms, caf::actor supervisor);

}  // namespace payengine::sagas
