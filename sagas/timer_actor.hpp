// The shard timer: one actor per shard that keeps every payment actor's
// pending deadlines in a heap and wakes them on a fixed tick.
//
// CAF's delayed_send costs a trip through its clock thread per timer; a
// saga arms one per step attempt that waits on the outside world and almost
// all of them never fire. Here arming is one plain message, and a deadline
// whose actor has since finished costs nothing but its heap entry.
//
// Protocol:
//   (timer_atom, caf::actor_addr target, int64_t at_ms, uint64_t timer_id)
//       -> at the first tick at or after at_ms, sends (timer_atom, timer_id)
//          to target if it is still alive.
// Promises: a timer never fires early; it fires at most `tick_ms` late (plus
// scheduling delay); the heap holds at most one entry per armed timer.
#pragma once

#include <caf/fwd.hpp>

#include <cstdint>

#include "sagas/clock.hpp"

namespace payengine::sagas {

caf::actor spawn_shard_timer(caf::actor_system& system, const Clock* clock, int64_t tick_ms);

}  // namespace payengine::sagas
