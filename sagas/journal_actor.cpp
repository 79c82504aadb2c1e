#include "sagas/journal_actor.hpp"

#include <chrono>
#include <iterator>
#include <utility>
#include <vector>

#include "sagas/caf_logging.hpp"
#include "sagas/killpoint.hpp"
#include "sagas/messages.hpp"

namespace payengine::sagas {
namespace {

struct JournalState {
  std::shared_ptr<Store> store;
  size_t max_batch = 4096;
  Batch batch;
  struct Waiter {
    caf::response_promise promise;
    size_t events;  // consecutive events of the batch that belong to it
  };
  std::vector<Waiter> waiting;
  bool flush_queued = false;
  uint64_t batches = 0;
  uint64_t committed = 0;
  CommitObserver on_commit;
};

using JournalActor = caf::stateful_actor<JournalState>;

void flush(JournalActor* self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.batch.events.empty() && st.batch.snapshots.empty()) return;
  killpoint("journal.before_commit");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<AppendResult> results = st.store->commit(st.batch);
  if (st.on_commit)
    st.on_commit(st.batch.events.size(), std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::steady_clock::now() - t0)
                                             .count());
  killpoint("journal.after_commit");
  ++st.batches;
  st.committed += st.batch.events.size();
  size_t at = 0;
  for (size_t i = 0; i < st.waiting.size(); ++i) {
    auto first = results.begin() + static_cast<std::ptrdiff_t>(at);
    at += st.waiting[i].events;
    st.waiting[i].promise.deliver(std::vector<AppendResult>(
        std::make_move_iterator(first),
        std::make_move_iterator(results.begin() + static_cast<std::ptrdiff_t>(at))));
    if (i == st.waiting.size() / 2) killpoint("journal.mid_ack");
  }
  st.batch.events.clear();
  st.batch.snapshots.clear();
  st.waiting.clear();
}

caf::behavior journal(JournalActor* self, std::shared_ptr<Store> store, size_t max_batch,
                      CommitObserver on_commit) {
  unregister_caf_logger_on_this_thread();  // its own thread (detached)
  self->state.store = std::move(store);
  self->state.on_commit = std::move(on_commit);
  self->state.max_batch = max_batch;
  self->state.batch.events.reserve(max_batch);
  self->state.waiting.reserve(max_batch);
  return {
      [=](append_atom, std::vector<EventRecord>& chain) -> caf::result<std::vector<AppendResult>> {
        auto& st = self->state;
        st.waiting.push_back(JournalState::Waiter{self->make_response_promise(), chain.size()});
        for (auto& ev : chain) st.batch.events.push_back(std::move(ev));
        if (st.batch.events.size() >= st.max_batch) {
          flush(self);
        } else if (!st.flush_queued) {
          // Goes behind every append already queued: they join this batch.
          st.flush_queued = true;
          self->send(self, flush_atom::value);
        }
        return caf::delegated<std::vector<AppendResult>>();
      },
      [=](append_atom, SnapshotRecord& snap) {
        auto& st = self->state;
        st.batch.snapshots.push_back(std::move(snap));
        if (!st.flush_queued) {
          st.flush_queued = true;
          self->send(self, flush_atom::value);
        }
      },
      [=](flush_atom) { flush(self); },
      [=](load_atom, const std::string& payment_id) {
        flush(self);  // a snapshot still in the batch must be readable
        SagaLoad load;
        load.snapshot = self->state.store->snapshot(payment_id);
        load.events = self->state.store->events_for(payment_id);
        return load;
      },
      [=](open_atom, const std::string& after, uint64_t limit) {
        return self->state.store->open_sagas(after, static_cast<size_t>(limit));
      },
      [=](run_atom, const StoreTask& task) {
        flush(self);
        task(*self->state.store);
        return caf::unit;
      },
      [=](stats_atom) { return caf::make_message(self->state.batches, self->state.committed); },
  };
}

}  // namespace

caf::actor spawn_journal(caf::actor_system& system, std::unique_ptr<Store> store,
                         size_t max_batch, CommitObserver on_commit) {
  return system.spawn<caf::detached>(journal, std::shared_ptr<Store>(std::move(store)), max_batch,
                                     std::move(on_commit));
}

}  // namespace payengine::sagas
