#include "sagas/timer_actor.hpp"

#include <queue>
#include <vector>

#include "sagas/messages.hpp"

namespace payengine::sagas {
namespace {

struct Deadline {
  int64_t at_ms;
  uint64_t seq;  // arming order: equal deadlines fire in that order
  caf::actor_addr target;
  uint64_t timer_id;
  bool operator>(const Deadline& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : seq > o.seq; }
};

struct TimerState {
  const Clock* clock = nullptr;
  int64_t tick_ms = 5;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> heap;
  uint64_t next_seq = 0;
  bool ticking = false;
};

using TimerActor = caf::stateful_actor<TimerState>;

void arm_tick(TimerActor* self) {
  if (self->state.ticking) return;
  self->state.ticking = true;
  self->delayed_send(self, std::chrono::milliseconds(self->state.tick_ms), run_atom::value);
}

caf::behavior shard_timer(TimerActor* self, const Clock* clock, int64_t tick_ms) {
  self->state.clock = clock;
  self->state.tick_ms = tick_ms > 0 ? tick_ms : 1;
  return {
      [self](timer_atom, const caf::actor_addr& target, int64_t at_ms, uint64_t timer_id) {
        auto& st = self->state;
        st.heap.push(Deadline{at_ms, st.next_seq++, target, timer_id});
        arm_tick(self);
      },
      [self](run_atom) {
        auto& st = self->state;
        st.ticking = false;
        const int64_t now = st.clock->now_ms();
        while (!st.heap.empty() && st.heap.top().at_ms <= now) {
          const Deadline& d = st.heap.top();
          if (auto target = caf::actor_cast<caf::actor>(d.target))
            self->send(target, timer_atom::value, d.timer_id);
          st.heap.pop();
        }
        if (!st.heap.empty()) arm_tick(self);
      },
  };
}

}  // namespace

caf::actor spawn_shard_timer(caf::actor_system& system, const Clock* clock, int64_t tick_ms) {
  return system.spawn(shard_timer, clock, tick_ms);
}

}  // namespace payengine::sagas
