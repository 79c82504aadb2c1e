#include "sagas/timer_actor.hpp"

#include <caf/all.hpp>

#include "sagas/messages.hpp"

namespace payengine::sagas {

bool ShardTimers::arm(int64_t at_ms, const std::string& payment_id, caf::actor_id actor,
                      uint64_t timer_id) {
  std::lock_guard<std::mutex> lock(mu_);
  heap_.push(Entry{at_ms, next_seq_++, Due{payment_id, actor, timer_id}});
  ++armed_[actor].entries;
  if (ticking_) return false;
  ticking_ = true;
  return true;
}

std::vector<ShardTimers::Due> ShardTimers::take_due(int64_t now_ms, bool* more) {
  std::vector<Due> out;
  std::lock_guard<std::mutex> lock(mu_);
  while (!heap_.empty() && heap_.top().at_ms <= now_ms) {
    const Due& due = heap_.top().due;
    bool ended = false;
    if (auto it = armed_.find(due.actor); it != armed_.end()) {
      ended = it->second.ended;
      if (--it->second.entries == 0) armed_.erase(it);
    }
    // top() is const: the entry is copied out, then popped.
    if (!ended) out.push_back(due);
    heap_.pop();
  }
  ticking_ = !heap_.empty();
  *more = ticking_;
  return out;
}

void ShardTimers::ended(caf::actor_id actor) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = armed_.find(actor); it != armed_.end()) it->second.ended = true;
}

size_t ShardTimers::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return heap_.size();
}

namespace {

caf::behavior shard_ticker(caf::event_based_actor* self, ShardTimers* timers, const Clock* clock,
                           int64_t tick_ms, caf::actor supervisor) {
  const auto tick = std::chrono::milliseconds(tick_ms > 0 ? tick_ms : 1);
  return {
      [=](run_atom) {
        bool more = false;
        for (auto& d : timers->take_due(clock->now_ms(), &more))
          self->send(supervisor, timer_atom::value, std::move(d.payment_id), d.actor, d.timer_id);
        if (more) self->delayed_send(self, tick, run_atom::value);
      },
  };
}

}  // namespace

caf::actor spawn_shard_ticker(caf::actor_system& system, ShardTimers* timers, const Clock* clock,
                              int64_t tick_ms, caf::actor supervisor) {
  return system.spawn(shard_ticker, timers, clock, tick_ms, std::move(supervisor));
}

}  // namespace payengine::sagas
