#include "sagas/supervisor.hpp"

#include <deque>
#include <unordered_map>

#include "sagas/killpoint.hpp"
#include "sagas/messages.hpp"

namespace payengine::sagas {
namespace {

struct SupervisorState {
  const ShardDeps* deps = nullptr;
  SupervisorConfig config;
  std::unordered_map<std::string, caf::actor> active;      // payment id -> actor
  std::unordered_map<caf::actor_addr, std::string> ids;    // actor -> payment id
  std::unordered_map<std::string, std::deque<int64_t>> restarts;
  ShardStats stats;
};

using Supervisor = caf::stateful_actor<SupervisorState>;

caf::actor spawn_child(Supervisor* self, const std::string& id, SpawnMode mode) {
  auto& st = self->state;
  caf::actor a = spawn_payment_actor(self, st.deps, id, mode);
  self->monitor(a);
  st.active[id] = a;
  st.ids[a.address()] = id;
  ++st.stats.spawned;
  return a;
}

// The actor for `id`, reactivating it from the journal when it is not active.
caf::actor ensure_active(Supervisor* self, const std::string& id) {
  auto& st = self->state;
  auto it = st.active.find(id);
  if (it != st.active.end()) return it->second;
  ++st.stats.reactivated;
  return spawn_child(self, id, SpawnMode::recover);
}

// Forgets the actor if `sender` is still the one registered for `id`.
void forget(Supervisor* self, const std::string& id, const caf::actor_addr& sender) {
  auto& st = self->state;
  auto it = st.active.find(id);
  if (it != st.active.end() && it->second.address() == sender) st.active.erase(it);
  st.ids.erase(sender);
}

// Ends a payment that keeps crashing: journal a final in_doubt (MS03).
void give_up(Supervisor* self, const std::string& id, const std::string& why) {
  auto& st = self->state;
  ++st.stats.gave_up;
  const int64_t now = st.deps->common->clock->now_ms();
  StoreTask task = [id, why, now](Store& store) {
    auto s = store.saga(id);
    if (!s || s->terminal) return;
    EventRecord ev;
    ev.payment_id = id;
    ev.tenant = s->tenant;
    ev.kind = "final";
    ev.state = "in_doubt";
    ev.terminal = true;
    ev.at_ms = now;
    ev.data = "{\"reason\":\"MS03\",\"detail\":\"" + json_escape("restart intensity exceeded: " + why) + "\"}";
    ev.publish = true;
    Batch b;
    b.events.push_back(std::move(ev));
    store.commit(b);
  };
  self->send(*st.deps->common->journal, run_atom::value, std::move(task));
  if (st.config.on_done) st.config.on_done(PaymentDone{id, "", "in_doubt", "MS03"});
}

caf::behavior supervisor(Supervisor* self, const ShardDeps* deps, SupervisorConfig config) {
  self->state.deps = deps;
  self->state.config = std::move(config);
  // Children are linked (so they stop when the supervisor stops); their own
  // exits are handled through monitoring below, not as exit messages. An
  // exit request naming the supervisor itself (anon_send_exit) is the engine
  // shutting the shard down.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (!msg.source || msg.source == self->address()) self->quit(msg.reason);
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto it = st.ids.find(dm.source);
    if (it == st.ids.end()) return;  // said done or passivated already
    std::string id = it->second;
    forget(self, id, dm.source);
    // It died without saying it finished: a crash. Restart from the journal
    // unless it has crashed too often lately.
    const int64_t now = st.deps->common->clock->now_ms();
    auto& times = st.restarts[id];
    while (!times.empty() && now - times.front() > st.config.restart_window_ms) times.pop_front();
    if (times.size() >= st.config.max_restarts) {
      st.restarts.erase(id);
      give_up(self, id, caf::to_string(dm.reason));
      return;
    }
    times.push_back(now);
    ++st.stats.restarted;
    spawn_child(self, id, SpawnMode::recover);
  });
  return {
      [self](initiate_atom, InitiateCommand& cmd) -> caf::result<InitiateReply> {
        auto& st = self->state;
        if (st.active.size() >= st.config.max_active) {
          ++st.stats.overloaded;
          return InitiateReply{InitiateReply::Status::overloaded, "", "too many active sagas"};
        }
        if (st.active.count(cmd.payment_id))
          return InitiateReply{InitiateReply::Status::failed, cmd.payment_id, "duplicate payment id"};
        killpoint("supervisor.initiate");
        caf::actor a = spawn_child(self, cmd.payment_id, SpawnMode::fresh);
        self->delegate(a, initiate_atom::value, std::move(cmd));
        return caf::delegated<InitiateReply>();
      },
      [self](cancel_atom, const std::string& id) -> caf::result<CancelReply> {
        self->delegate(ensure_active(self, id), cancel_atom::value);
        return caf::delegated<CancelReply>();
      },
      [self](rail_atom, clearing::RailResponse& r) {
        caf::actor a = ensure_active(self, r.payment_id);
        self->send(a, rail_atom::value, std::move(r));
      },
      [self](done_atom, const PaymentDone& done, bool already_final) {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto it = st.ids.find(sender);
        if (it != st.ids.end()) {
          std::string id = it->second;
          forget(self, id, sender);
          st.restarts.erase(id);
        }
        if (already_final || done.payment_id.empty()) return;
        ++st.stats.finished;
        if (st.config.on_done) st.config.on_done(done);
      },
      [self](passivate_atom, const std::string& id, int64_t wake_at_ms) {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
        forget(self, id, sender);
        ++st.stats.passivated;
        int64_t delay = wake_at_ms - st.deps->common->clock->now_ms();
        self->delayed_send(self, std::chrono::milliseconds(delay < 0 ? 0 : delay), wake_atom::value, id);
      },
      [self](wake_atom, const std::string& id) { ensure_active(self, id); },
      [self](recover_atom, const std::vector<std::string>& ids) -> uint64_t {
        uint64_t n = 0;
        for (const std::string& id : ids) {
          if (self->state.active.count(id)) continue;
          spawn_child(self, id, SpawnMode::recover);
          ++n;
        }
        self->state.stats.recovered += n;
        return n;
      },
      [self](stats_atom) {
        ShardStats s = self->state.stats;
        s.active = self->state.active.size();
        return s;
      },
  };
}

}  // namespace

caf::actor spawn_supervisor(caf::actor_system& system, const ShardDeps* deps,
                            SupervisorConfig config) {
  return system.spawn(supervisor, deps, std::move(config));
}

}  // namespace payengine::sagas
