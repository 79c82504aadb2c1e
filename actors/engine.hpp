// Engine: the running payment engine in one object. Owns the actor system,
// the journal actor, one saga supervisor per shard, the clearing port and
// crash recovery. Ingress (HTTP, Kafka, the CLI drivers) talks to it.
//
// Promises:
//  - `start` returns once the database is open; recovery of non-terminal
//    sagas then proceeds in the background at a bounded rate
//    (`recovery_rate_per_s`, and never pushing a shard past half its
//    admission cap); `recovered()` tells when it has finished.
//  - `initiate` answers only after the payment's first event is durable
//    (accepted), or at once with overloaded when admission control is full.
//  - Destruction stops the actors and closes the database cleanly; sagas
//    still running are resumed by the next start on the same database.
//    Destroy an Engine on the thread that started it: CAF 0.17 hangs when an
//    actor system is destroyed on another thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/metrics.hpp"
#include "clearing/rails.hpp"
#include "clearing/sim_rail.hpp"
#include "sagas/journal_reader.hpp"
#include "sagas/messages.hpp"
#include "sagas/payment_saga.hpp"
#include "sagas/screening.hpp"
#include "sagas/store.hpp"
#include "sagas/supervisor.hpp"

namespace payengine {

struct EngineConfig {
  sagas::StoreOptions store;
  sagas::PaymentSagaConfig saga;
  ScreeningConfig screening;
  clearing::SimRailConfig rail;  // the in-process simulated rail, used when `rails` is empty
  // The rail adapters (pools, breakers, codecs) and where their rails are;
  // empty: every rail is the in-process simulated rail.
  std::optional<clearing::RailsConfig> rails;
  size_t shards = 4;
  uint64_t max_active_per_shard = 10'000;
  uint32_t max_restarts = 3;
  int64_t restart_window_ms = 60'000;
  int64_t passivate_idle_ms = 30'000;
  size_t journal_max_batch = 4'096;
  uint64_t recovery_rate_per_s = 5'000;
  size_t worker_threads = 0;  // 0: one per core, less one for the journal thread
  int64_t timer_tick_ms = 5;  // resolution of step timeouts and retry backoffs
  uint64_t seed = 0;          // 0: seeded from the clock and pid
  std::function<void(const sagas::PaymentDone&)> on_done;
  // Where the engine reports its metrics (payments, steps, journal commits,
  // admission, rails, outbox); owned by the caller, outliving the engine.
  Metrics* metrics = nullptr;
  // Test hook: may replace a step's outcome, or throw to crash the payment
  // actor (see sagas::PaymentActorDeps::fault). Empty in production.
  decltype(sagas::PaymentActorDeps::fault) fault;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> start(EngineConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Blocking calls for threads outside the actor system.
  sagas::InitiateReply initiate(const PaymentInstruction& p,
                                std::optional<sagas::IdempotencyClaim> claim = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(30));
  sagas::CancelReply cancel(const std::string& payment_id,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Runs `task` on the journal's thread against the Store and waits for it.
  void with_store(const sagas::StoreTask& task);
  std::vector<sagas::ShardStats> stats();
  // Journal group commit so far: transactions and events committed.
  std::pair<uint64_t, uint64_t> journal_stats();
  sagas::ShardStats total_stats();

  // Sends an initiate from an actor context; the reply goes to `handler`
  // (called on a CAF worker thread).
  void initiate_async(const PaymentInstruction& p, std::optional<sagas::IdempotencyClaim> claim,
                      std::function<void(const sagas::InitiateReply&)> handler);

  // Sends a cancel from an actor context; the reply goes to `handler`
  // (called on a CAF worker thread; `failed` after `timeout`).
  void cancel_async(const std::string& payment_id, sagas::CancelHandler handler,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Read-only queries on a connection of their own (WAL: they neither wait
  // for nor delay the journal's commits); thread-safe. nullptr when the
  // database is in memory (a second connection cannot see it).
  sagas::JournalReader* reader() const { return reader_.get(); }

  // How many more new payments admission control would take now: the room
  // of the fullest shard times the number of shards (the payment id's hash
  // picks the shard, so more could find theirs full).
  uint64_t admission_room() const;

  bool recovered() const { return recovered_.load(); }
  bool wait_recovered(std::chrono::milliseconds timeout);
  uint64_t recovered_count() const { return recovered_count_.load(); }

  std::string new_payment_id();
  const caf::actor& shard_for(const std::string& payment_id) const;
  caf::actor_system& system();
  const Clock& clock() const { return clock_; }
  // The rail adapters, or nullptr when the simulated rail stands in.
  const clearing::RailPools* rail_pools() const { return pools_; }

  // Refreshes the live gauges of `m` (shards, admission, rails, outbox).
  // Blocking: call from a thread outside the actor system (a scrape).
  void sample_metrics(Metrics& m);

 private:
  explicit Engine(EngineConfig config);
  void recover_all();

  EngineConfig config_;
  SystemClock clock_;
  std::unique_ptr<caf::actor_system_config> caf_config_;
  std::unique_ptr<caf::actor_system> system_;
  caf::actor journal_;
  caf::actor ingress_;  // forwards cancel_async requests and calls their handlers
  std::vector<caf::actor> shards_;
  std::vector<std::unique_ptr<sagas::ShardTimers>> timers_;  // one per shard: its deadlines
  std::vector<caf::actor> tickers_;                          // one per shard: fires them
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<sagas::JournalReader> reader_;
  std::unique_ptr<clearing::Clearing> rail_;
  clearing::RailPools* pools_ = nullptr;  // rail_ when the adapters are in use
  sagas::SagaDefinition<sagas::PaymentContext> definition_;
  sagas::PaymentActorDeps common_;
  std::vector<std::unique_ptr<Screener>> screeners_;
  std::vector<std::unique_ptr<std::mutex>> screener_locks_;
  std::vector<sagas::ShardDeps> shard_deps_;
  std::mutex id_mutex_;
  Rng id_rng_;
  std::atomic<bool> recovered_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> recovered_count_{0};
  std::atomic<int64_t> async_in_flight_{0};  // initiate_async / cancel_async sent, not yet answered
  // Active sagas per shard (SupervisorConfig::active), for admission_room.
  std::unique_ptr<std::atomic<int64_t>[]> shard_active_;
  std::thread recovery_thread_;
};

}  // namespace payengine
