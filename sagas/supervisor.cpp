#include "sagas/supervisor.hpp"

#include <deque>
#include <unordered_map>

#include "sagas/caf_logging.hpp"
#include "sagas/killpoint.hpp"
#include "sagas/messages.hpp"

namespace payengine::sagas {
namespace {

// Messages for a payment that cannot be active now: it is on its way out
// (passivation handshake: it asked to passivate, was told to stop, and has
// not terminated yet), or the shard is at its cap of active actors and it
// waits for room. They go to its next activation.
struct Passivating {
  caf::actor_addr actor;
  int64_t wake_at_ms = 0;
  std::vector<clearing::RailResponse> rails;
  std::vector<caf::response_promise> cancels;
  bool wake = false;  // reactivate as soon as it is gone
};
constexpr size_t kMaxBufferedPerPayment = 64;

struct SupervisorState {
  const ShardDeps* deps = nullptr;
  SupervisorConfig config;
  std::unordered_map<std::string, caf::actor> active;      // payment id -> actor
  std::unordered_map<std::string, Passivating> passivating;
  // Payments to reactivate once the shard has room, in arrival order: the
  // cap on active actors holds for reactivations and recovery too.
  std::unordered_map<std::string, Passivating> waiting;
  std::deque<std::string> waiting_order;
  std::unordered_map<caf::actor_addr, std::string> ids;    // actor -> payment id (until it is down)
  std::unordered_map<std::string, std::deque<int64_t>> restarts;
  ShardStats stats;
};

using Supervisor = caf::stateful_actor<SupervisorState>;

// Tells the engine how many sagas are active here.
void publish_active(SupervisorState& st) {
  if (st.config.active)
    st.config.active->store(static_cast<int64_t>(st.active.size()), std::memory_order_relaxed);
}

caf::actor spawn_child(Supervisor* self, const std::string& id, SpawnMode mode) {
  auto& st = self->state;
  caf::actor a = spawn_payment_actor(self, st.deps, id, mode);
  self->monitor(a);
  st.active[id] = a;
  publish_active(st);
  st.ids[a.address()] = id;
  ++st.stats.spawned;
  return a;
}

// The actor for `id`, reactivating it from the journal when it is not active.
// Callers first check `passivating`: an id on its way out is not reactivated.
caf::actor ensure_active(Supervisor* self, const std::string& id) {
  auto& st = self->state;
  auto it = st.active.find(id);
  if (it != st.active.end()) return it->second;
  ++st.stats.reactivated;
  return spawn_child(self, id, SpawnMode::recover);
}

bool full(const SupervisorState& st) { return st.active.size() >= st.config.max_active; }

// Where a message for `id` must wait (nullptr: deliver it to the active
// actor, reactivating it if needed): on its way out, or waiting for room.
Passivating* buffer_for(Supervisor* self, const std::string& id) {
  auto& st = self->state;
  // (The maps other than `active` are almost always empty: no hashing then.)
  if (!st.passivating.empty())
    if (auto p = st.passivating.find(id); p != st.passivating.end()) return &p->second;
  if (st.active.count(id)) return nullptr;
  if (!st.waiting.empty())
    if (auto w = st.waiting.find(id); w != st.waiting.end()) return &w->second;
  if (!full(st)) return nullptr;
  st.waiting_order.push_back(id);
  return &st.waiting[id];
}

// Activates `id` and hands it what waited for it.
void activate_with(Supervisor* self, const std::string& id, Passivating& pass) {
  caf::actor a = ensure_active(self, id);
  for (auto& r : pass.rails) self->send(a, rail_atom::value, std::move(r));
  for (auto& rp : pass.cancels) rp.delegate(a, cancel_atom::value);
}

// Activates waiting payments, oldest first, while the shard has room.
void admit_waiting(Supervisor* self) {
  auto& st = self->state;
  while (!full(st) && !st.waiting_order.empty()) {
    std::string id = std::move(st.waiting_order.front());
    st.waiting_order.pop_front();
    auto node = st.waiting.extract(id);
    if (node.empty()) continue;
    activate_with(self, id, node.mapped());
  }
}

// Forgets the actor if `sender` is still the one registered for `id`.
void forget(Supervisor* self, const std::string& id, const caf::actor_addr& sender) {
  auto& st = self->state;
  auto it = st.active.find(id);
  if (it != st.active.end() && it->second.address() == sender) st.active.erase(it);
  publish_active(st);
  st.ids.erase(sender);
}

// Ends a payment that keeps crashing: journal a final in_doubt (MS03), and
// only once that is durable tell the listener.
void give_up(Supervisor* self, const std::string& id, const std::string& why) {
  auto& st = self->state;
  ++st.stats.gave_up;
  ++st.stats.finished;
  const int64_t now = st.deps->common->clock->now_ms();
  StoreTask task = [id, why, now, on_done = st.config.on_done](Store& store) {
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
    auto results = store.commit(b);
    // A failed commit leaves the saga open: the next start recovers it.
    if (results.front().status == AppendStatus::ok && on_done)
      on_done(PaymentDone{id, s->tenant, "in_doubt", "MS03", ""});
  };
  self->send(*st.deps->common->journal, run_atom::value, std::move(task));
}

caf::behavior supervisor(Supervisor* self, const ShardDeps* deps, SupervisorConfig config) {
  unregister_caf_logger_on_this_thread();
  self->state.deps = deps;
  self->state.config = std::move(config);
  // An exit request naming the supervisor itself (anon_send_exit) is the
  // engine shutting the shard down: its payment actors stop with it (their
  // sagas resume from the journal on the next start).
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.source && msg.source != self->address()) return;
    for (auto& [addr, id] : self->state.ids) self->send_exit(addr, msg.reason);
    self->quit(msg.reason);
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto it = st.ids.find(dm.source);
    if (it == st.ids.end()) return;  // said done already
    std::string id = it->second;
    auto p = st.passivating.find(id);
    if (p != st.passivating.end() && p->second.actor == dm.source) {
      // Passivation complete. What arrived meanwhile goes to a new activation.
      st.ids.erase(dm.source);
      Passivating pass = std::move(p->second);
      st.passivating.erase(p);
      ++st.stats.passivated;
      if (pass.wake || !pass.rails.empty() || !pass.cancels.empty()) {
        admit_waiting(self);  // those waiting longer go first
        if (full(st)) {
          st.waiting_order.push_back(id);
          st.waiting[id] = std::move(pass);
        } else {
          activate_with(self, id, pass);
        }
        return;
      }
      int64_t delay = pass.wake_at_ms - st.deps->common->clock->now_ms();
      self->delayed_send(self, std::chrono::milliseconds(delay < 0 ? 0 : delay), wake_atom::value, id);
      return;
    }
    forget(self, id, dm.source);
    // It died without saying it finished: a crash. Restart from the journal
    // unless it has crashed too often lately.
    const int64_t now = st.deps->common->clock->now_ms();
    auto& times = st.restarts[id];
    while (!times.empty() && now - times.front() > st.config.restart_window_ms) times.pop_front();
    if (times.size() >= st.config.max_restarts) {
      st.restarts.erase(id);
      give_up(self, id, caf::to_string(dm.reason));
      admit_waiting(self);
      return;
    }
    times.push_back(now);
    ++st.stats.restarted;
    spawn_child(self, id, SpawnMode::recover);
  });
  return {
      [self](initiate_atom, InitiateCommand& cmd) -> caf::result<InitiateReply> {
        auto& st = self->state;
        auto refuse = [&cmd](InitiateReply r) {
          if (cmd.reply_to) cmd.reply_to(r);
          return r;
        };
        if (st.active.size() >= st.config.max_active) {
          ++st.stats.overloaded;
          return refuse(InitiateReply{InitiateReply::Status::overloaded, "", "too many active sagas"});
        }
        if (st.active.count(cmd.payment_id))
          return refuse(
              InitiateReply{InitiateReply::Status::failed, cmd.payment_id, "duplicate payment id"});
        killpoint("supervisor.initiate");
        caf::actor a = spawn_child(self, cmd.payment_id, SpawnMode::fresh);
        self->delegate(a, initiate_atom::value, std::move(cmd));
        return caf::delegated<InitiateReply>();
      },
      [self](cancel_atom, const std::string& id) -> caf::result<CancelReply> {
        if (Passivating* b = buffer_for(self, id)) {
          if (b->cancels.size() >= kMaxBufferedPerPayment)
            return caf::make_error(caf::sec::request_receiver_down);
          b->cancels.push_back(self->make_response_promise());
          return caf::delegated<CancelReply>();
        }
        self->delegate(ensure_active(self, id), cancel_atom::value);
        return caf::delegated<CancelReply>();
      },
      [self](rail_atom, clearing::RailResponse& r) {
        if (Passivating* b = buffer_for(self, r.payment_id)) {
          // Beyond the bound a response is dropped: the await step's status
          // query asks the rail again.
          if (b->rails.size() < kMaxBufferedPerPayment) b->rails.push_back(std::move(r));
          return;
        }
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
          if (!st.restarts.empty()) st.restarts.erase(id);
          // It finished while on its way out: what waited for it is moot.
          if (!st.passivating.empty()) {
            auto p = st.passivating.find(id);
            if (p != st.passivating.end() && p->second.actor == sender) {
              for (auto& rp : p->second.cancels)
                rp.deliver(CancelReply{CancelReply::Status::already_final, done.state});
              st.passivating.erase(p);
            }
          }
          admit_waiting(self);
        }
        if (already_final || done.payment_id.empty()) return;
        ++st.stats.finished;
        if (st.config.on_done) st.config.on_done(done);
      },
      // Passivation handshake: the actor asks; from here on its messages wait
      // in `passivating`; it is told to stop and processes whatever was
      // forwarded to it before (mailbox order); its down message completes it.
      [self](passivate_atom, const std::string& id, int64_t wake_at_ms) {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto it = st.active.find(id);
        if (it == st.active.end() || it->second.address() != sender) return;
        caf::actor a = it->second;
        st.active.erase(it);
        publish_active(st);
        Passivating pass;
        pass.actor = sender;
        pass.wake_at_ms = wake_at_ms;
        st.passivating[id] = std::move(pass);
        self->send(a, passivate_atom::value);
        admit_waiting(self);
      },
      // A deadline from the shard timer: only for the actor that armed it.
      [self](timer_atom, const std::string& id, caf::actor_id actor, uint64_t timer_id) {
        auto& st = self->state;
        auto it = st.active.find(id);
        if (it != st.active.end() && it->second.id() == actor)
          self->send(it->second, timer_atom::value, timer_id);
      },
      [self](wake_atom, const std::string& id) {
        if (Passivating* b = buffer_for(self, id)) {
          b->wake = true;
          return;
        }
        ensure_active(self, id);
      },
      // Recovery: each id is started now if the shard has room, else it
      // waits for room like a reactivation.
      [self](recover_atom, const std::vector<std::string>& ids) -> uint64_t {
        auto& st = self->state;
        uint64_t n = 0;
        for (const std::string& id : ids) {
          if (st.active.count(id) || st.passivating.count(id) || st.waiting.count(id)) continue;
          if (full(st)) {
            st.waiting_order.push_back(id);
            st.waiting[id].wake = true;
          } else {
            spawn_child(self, id, SpawnMode::recover);
          }
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
