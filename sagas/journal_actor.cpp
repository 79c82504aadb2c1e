#include "sagas/journal_actor.hpp"

#include <chrono>
#include <cstdio>
#include <deque>
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
  // Committed batches whose answers wait for the disk (Synchronous::full),
  // oldest first; at most Store::kMaxUndurableCommits.
  struct Undurable {
    uint64_t commit_no;
    std::vector<Waiter> waiting;
    std::vector<AppendResult> results;
  };
  std::deque<Undurable> undurable;
  std::string sync_failure;  // set once the disk refused a sync
  bool flush_queued = false;
  uint64_t batches = 0;
  uint64_t committed = 0;
  CommitObserver on_commit;
};

using JournalActor = caf::stateful_actor<JournalState>;

void answer(std::vector<JournalState::Waiter>& waiting, std::vector<AppendResult>& results) {
  size_t at = 0;
  for (size_t i = 0; i < waiting.size(); ++i) {
    auto first = results.begin() + static_cast<std::ptrdiff_t>(at);
    at += waiting[i].events;
    waiting[i].promise.deliver(std::vector<AppendResult>(
        std::make_move_iterator(first),
        std::make_move_iterator(results.begin() + static_cast<std::ptrdiff_t>(at))));
    if (i == waiting.size() / 2) killpoint("journal.mid_ack");
  }
}

// Answers every batch the disk now holds.
void answer_durable(JournalActor* self) {
  auto& st = self->state;
  const uint64_t durable = st.store->durable_commit();
  while (!st.undurable.empty() && st.undurable.front().commit_no <= durable) {
    answer(st.undurable.front().waiting, st.undurable.front().results);
    st.undurable.pop_front();
  }
}

// The disk refused a sync: nothing waiting can be said to be durable.
void answer_not_durable(JournalActor* self) {
  auto& st = self->state;
  for (auto& u : st.undurable) {
    for (AppendResult& r : u.results) {
      r = AppendResult{};
      r.detail = "not durable: " + st.sync_failure;
    }
    answer(u.waiting, u.results);
  }
  st.undurable.clear();
}

void flush(JournalActor* self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.batch.events.empty() && st.batch.snapshots.empty()) return;
  killpoint("journal.before_commit");
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t commit_no = 0;
  std::vector<AppendResult> results = st.store->commit_deferred(st.batch, &commit_no);
  if (st.on_commit)
    st.on_commit(st.batch.events.size(), std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::steady_clock::now() - t0)
                                             .count());
  killpoint("journal.after_commit");
  ++st.batches;
  st.committed += st.batch.events.size();
  if ((st.store->durable_commit() >= commit_no && st.undurable.empty()) || !st.sync_failure.empty()) {
    answer(st.waiting, results);
  } else {
    st.undurable.push_back(JournalState::Undurable{commit_no, std::move(st.waiting), std::move(results)});
    st.waiting = {};
    st.waiting.reserve(st.max_batch);
    answer_durable(self);  // the disk may have been quick
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
  // The Store's syncer tells of the disk from its own thread.
  caf::actor_addr addr = self->address();
  self->state.store->on_durable(
      [addr](uint64_t commit_no) {
        if (auto a = caf::actor_cast<caf::actor>(addr)) caf::anon_send(a, durable_atom::value, commit_no);
      },
      [addr](const std::string& error) {
        if (auto a = caf::actor_cast<caf::actor>(addr)) caf::anon_send(a, syncfail_atom::value, error);
      });
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
      [=](durable_atom, uint64_t) { answer_durable(self); },
      [=](syncfail_atom, const std::string& error) {
        self->state.sync_failure = error;
        std::fprintf(stderr, "payengine: journal: %s: nothing more is durable; stop and restart\n",
                     error.c_str());
        answer_not_durable(self);
      },
      [=](load_atom, const std::string& payment_id) {
        flush(self);  // a snapshot still in the batch must be readable
        // A payment acts on what it loads: only what is on disk.
        self->state.store->wait_all_durable();
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
