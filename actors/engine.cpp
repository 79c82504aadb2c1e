#include "actors/engine.hpp"

#include <unistd.h>

#include <future>

#include "actors/caf_scheduler.hpp"
#include "sagas/journal_actor.hpp"
#include "sagas/timer_actor.hpp"

#include "sagas/rng.hpp"

namespace payengine {
namespace {

using namespace sagas;

// Runs deferred work on the actor system's clock through a runner actor.
class ActorScheduler final : public Scheduler {
 public:
  explicit ActorScheduler(caf::actor_system& sys)
      // (A dummy argument: CAF 0.17 dereferences a null tuple when a
      // function-based actor takes no arguments, which UBSan reports.)
      : runner_(sys.spawn([](int) -> caf::behavior {
          return {[](const Thunk& fn) { fn(); }};
        }, 0)) {}
  ~ActorScheduler() override { stop(); }
  // Stops running deferred work; what is still queued is dropped.
  void stop() { caf::anon_send_exit(runner_, caf::exit_reason::user_shutdown); }
  void after_ms(int64_t delay_ms, std::function<void()> fn) override {
    if (delay_ms <= 0)
      caf::anon_send(runner_, Thunk(std::move(fn)));
    else
      caf::delayed_anon_send(runner_, std::chrono::milliseconds(delay_ms), Thunk(std::move(fn)));
  }

 private:
  caf::actor runner_;
};

}  // namespace

Engine::Engine(EngineConfig config)
    : config_(std::move(config)),
      definition_(make_payment_saga(config_.saga)),
      id_rng_(config_.seed != 0 ? config_.seed
                                : static_cast<uint64_t>(SystemClock().now_ms()) * 1000003u ^
                                      static_cast<uint64_t>(getpid())) {}

Result<std::unique_ptr<Engine>> Engine::start(EngineConfig config) {
  if (config.rails) {
    for (size_t r = 0; r < 5; ++r) {
      if (config.saga.submit_timeout_ms_by_rail[r] == 0)
        config.saga.submit_timeout_ms_by_rail[r] = config.rails->ack_timeout_ms[r];
      if (config.saga.await_timeout_ms_by_rail[r] == 0)
        config.saga.await_timeout_ms_by_rail[r] = config.rails->final_timeout_ms[r];
    }
  }
  auto store = Store::open(config.store);
  if (!store) return store.error();
  std::unique_ptr<Engine> e(new Engine(std::move(config)));
  {
    const std::string& path = e->config_.store.path;
    bool in_memory = path.empty() || path == ":memory:" || path.rfind("file::memory:", 0) == 0 ||
                     path.find("mode=memory") != std::string::npos;
    if (!in_memory) {
      auto reader = JournalReader::open(path);
      if (!reader) return reader.error();
      e->reader_ = std::move(reader.value());
    }
  }
  e->caf_config_ = std::make_unique<caf::actor_system_config>();
  size_t threads = e->config_.worker_threads;
  // One core is left to the journal's thread, which is busy whenever the
  // engine is (measured: 8.3k vs 7.5k payments/s on 2 cores, docs/PERFORMANCE.md).
  if (threads == 0) threads = std::max(2u, std::thread::hardware_concurrency()) - 1;
  e->caf_config_->set("scheduler.max-threads", threads);
  e->caf_config_->set("logger.verbosity", caf::atom("quiet"));
  // A worker that finds no job spins briefly (CAF's 100 aggressive polls),
  // then waits on its condition variable, which every enqueue from another
  // thread (the journal's answers) signals. CAF's middle phase, 500 sleeps
  // of 50 µs, left the worker asleep when a batch's answers arrived: 8
  // alternating pairs, median 22,907 against 21,481 payments/s, CPU x0.95.
  e->caf_config_->set("work-stealing.moderate-poll-attempts", size_t{0});
  // CAF's work-stealing scheduler, whose clock is not woken by every
  // payment actor's exit (actors/caf_scheduler.hpp).
  e->caf_config_->load<EngineScheduler>();
  e->system_ = std::make_unique<caf::actor_system>(*e->caf_config_);
  CommitObserver on_commit;
  if (Metrics* m = e->config_.metrics)
    on_commit = [m](uint64_t events, int64_t us) { m->journal_commit(events, us); };
  e->journal_ = spawn_journal(*e->system_, std::move(store.value()), e->config_.journal_max_batch,
                              std::move(on_commit));
  e->scheduler_ = std::make_unique<ActorScheduler>(*e->system_);
  Engine* self = e.get();
  clearing::ResponseSink sink = [self](clearing::RailResponse r) {
    caf::anon_send(self->shard_for(r.payment_id), rail_atom::value, std::move(r));
  };
  if (e->config_.rails) {
    try {
      auto pools = std::make_unique<clearing::RailPools>(
          *e->system_, clearing::rail_setups(*e->config_.rails), e->clock_, sink);
      e->pools_ = pools.get();
      e->rail_ = std::move(pools);
      // Give the connections a moment, so the first payments do not meet a
      // rail that is merely still connecting (bounded: an unreachable rail
      // is the breaker's business).
      e->pools_->wait_connected(std::chrono::seconds(2));
    } catch (const std::invalid_argument& bad) {
      return Error{"config", bad.what()};
    }
    e->common_.rail_available = [pools = e->pools_](clearing::Rail r) {
      return pools->has(r) && pools->breaker_state(r) != clearing::BreakerState::open;
    };
  } else {
    e->rail_ = std::make_unique<clearing::SimulatedRail>(e->config_.rail, *e->scheduler_, sink);
  }
  e->common_.definition = &e->definition_;
  e->common_.journal = &e->journal_;
  e->common_.clearing = e->rail_.get();
  e->common_.clock = &e->clock_;
  e->common_.seed = e->id_rng_.next_u64();
  e->common_.passivate_idle_ms = e->config_.passivate_idle_ms;
  e->common_.fault = e->config_.fault;
  if (Metrics* m = e->config_.metrics) {
    e->common_.on_step = [m](const std::string& step, int64_t ms) { m->saga_step(step, ms); };
    auto user_on_done = e->config_.on_done;
    e->config_.on_done = [m, user_on_done](const PaymentDone& d) {
      if (!d.payment_id.empty()) m->payment_finished(d.tenant, d.rail, d.state);
      if (user_on_done) user_on_done(d);
    };
    m->add_sampler([self](Metrics& mm) { self->sample_metrics(mm); });
  }
  const size_t shards = std::max<size_t>(1, e->config_.shards);
  e->shard_deps_.resize(shards);
  e->shard_active_ = std::make_unique<std::atomic<int64_t>[]>(shards);
  for (size_t i = 0; i < shards; ++i) {
    e->screeners_.push_back(std::make_unique<Screener>(e->config_.screening));
    e->screener_locks_.push_back(std::make_unique<std::mutex>());
    e->timers_.push_back(std::make_unique<ShardTimers>());
    e->shard_deps_[i] = ShardDeps{&e->common_, e->timers_[i].get(), e->screeners_[i].get(),
                                  e->screener_locks_[i].get()};
  }
  for (size_t i = 0; i < shards; ++i) {
    SupervisorConfig sc;
    sc.max_active = e->config_.max_active_per_shard;
    sc.max_restarts = e->config_.max_restarts;
    sc.restart_window_ms = e->config_.restart_window_ms;
    sc.on_done = e->config_.on_done;
    sc.active = &e->shard_active_[i];
    e->shards_.push_back(spawn_supervisor(*e->system_, &e->shard_deps_[i], std::move(sc)));
    // Before any payment actor exists (recovery starts below).
    e->tickers_.push_back(spawn_shard_ticker(*e->system_, e->timers_[i].get(), &e->clock_,
                                             e->config_.timer_tick_ms, e->shards_.back()));
    e->timers_[i]->set_ticker(e->tickers_.back());
  }
  e->ingress_ = e->system_->spawn([self](caf::event_based_actor* ingress, int) -> caf::behavior {
    return {[self, ingress](cancel_atom, const std::string& id, int64_t timeout_ms, CancelHandler& handler) {
      ingress->request(self->shard_for(id), std::chrono::milliseconds(timeout_ms), cancel_atom::value, id)
          .then([self, handler](CancelReply& r) { handler(r); --self->async_in_flight_; },
                [self, handler](caf::error& err) {
                  handler(CancelReply{CancelReply::Status::failed, caf::to_string(err)});
                  --self->async_in_flight_;
                });
    }};
  }, 0);  // dummy argument: see ActorScheduler
  e->recovery_thread_ = std::thread([self] { self->recover_all(); });
  return e;
}

Engine::~Engine() {
  stopping_ = true;
  if (recovery_thread_.joinable()) recovery_thread_.join();
  // Let initiates and cancels already sent get their answers (bounded): a
  // payment actor stopped while it still holds a caller's reply promise
  // keeps the ingress actor alive through it (a reference cycle at exit).
  const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (async_in_flight_.load() > 0 && std::chrono::steady_clock::now() < drain_until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Every actor stops before the objects they use (the rail, the scheduler,
  // the shard list) go away: a payment actor may be inside submit() and a
  // queued rail callback may still look up its shard.
  static_cast<ActorScheduler*>(scheduler_.get())->stop();
  caf::anon_send_exit(ingress_, caf::exit_reason::user_shutdown);
  for (auto& s : shards_) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  for (auto& t : tickers_) caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(journal_, caf::exit_reason::user_shutdown);
  if (pools_) pools_->stop();
  system_->await_all_actors_done();
  rail_.reset();
  scheduler_.reset();
  shards_.clear();
  tickers_.clear();
  timers_.clear();  // holds the tickers' handles: before the actor system goes
  journal_ = nullptr;
  ingress_ = nullptr;
  system_.reset();
  reader_.reset();
}

caf::actor_system& Engine::system() { return *system_; }

uint64_t Engine::admission_room() const {
  const auto cap = static_cast<int64_t>(config_.max_active_per_shard);
  int64_t fullest = 0;
  for (size_t i = 0; i < shards_.size(); ++i)
    fullest = std::max(fullest, shard_active_[i].load(std::memory_order_relaxed));
  return fullest >= cap ? 0 : static_cast<uint64_t>(cap - fullest) * shards_.size();
}

void Engine::sample_metrics(Metrics& m) {
  if (stopping_) return;
  uint64_t refused = 0;
  auto shards = stats();
  for (size_t i = 0; i < shards.size(); ++i) {
    m.set_shard(i, shards[i].active, config_.max_active_per_shard);
    m.set_timer_deadlines(i, timers_[i]->size());
    refused += shards[i].overloaded;
  }
  m.set_admission_refused(refused);
  if (pools_) {
    for (clearing::Rail r : clearing::kAllRails) {
      if (!pools_->has(r)) continue;
      const auto& s = pools_->stats(r);
      m.set_rail(std::string(clearing::to_string(r)), s.queue_depth.load(), s.in_flight.load(),
                 s.breaker_state.load(), s.opened.load(), s.half_opened.load(), s.closed.load());
    }
  }
  int64_t backlog = 0;
  with_store([&](Store& s) { backlog = s.outbox_size(); });
  m.set_outbox_backlog(backlog);
}

const caf::actor& Engine::shard_for(const std::string& payment_id) const {
  return shards_[fnv1a(payment_id) % shards_.size()];
}

std::string Engine::new_payment_id() {
  std::lock_guard<std::mutex> lock(id_mutex_);
  return "pay_" + id_rng_.time_ordered_id(clock_.now_ms());
}

InitiateReply Engine::initiate(const PaymentInstruction& p, std::optional<IdempotencyClaim> claim,
                               std::chrono::milliseconds timeout) {
  InitiateCommand cmd{new_payment_id(), p, std::move(claim), nullptr};
  caf::scoped_actor self{*system_};
  InitiateReply out{InitiateReply::Status::failed, "", "no reply"};
  self->request(shard_for(cmd.payment_id), timeout, initiate_atom::value, std::move(cmd))
      .receive([&](InitiateReply& r) { out = std::move(r); },
               [&](caf::error& err) { out.detail = caf::to_string(err); });
  return out;
}

namespace {
// Calls the handler exactly once: with the first reply, or, when every copy
// is gone unanswered (the command was dropped: the engine is stopping), with
// `failed`. Then `after` runs.
class AnswerOnce {
 public:
  AnswerOnce(InitiateHandler handler, std::function<void()> after)
      : state_(std::make_shared<State>(std::move(handler), std::move(after))) {}
  void operator()(const InitiateReply& r) const { state_->answer(r); }

 private:
  struct State {
    State(InitiateHandler h, std::function<void()> a) : handler(std::move(h)), after(std::move(a)) {}
    ~State() {
      answer(InitiateReply{InitiateReply::Status::failed, "", "the engine stopped before answering"});
    }
    void answer(const InitiateReply& r) {
      if (answered.exchange(true)) return;
      handler(r);
      after();
    }
    InitiateHandler handler;
    std::function<void()> after;
    std::atomic<bool> answered{false};
  };
  std::shared_ptr<State> state_;
};
}  // namespace

// Straight to the payment's shard: the payment actor calls the handler when
// the payment's first events are durable (or the shard when it refuses), so
// the answer costs no messages.
void Engine::initiate_async(const PaymentInstruction& p, std::optional<IdempotencyClaim> claim,
                            std::function<void(const InitiateReply&)> handler) {
  ++async_in_flight_;
  InitiateCommand cmd{new_payment_id(), p, std::move(claim),
                      AnswerOnce(std::move(handler), [this] { --async_in_flight_; })};
  const caf::actor& shard = shard_for(cmd.payment_id);
  caf::anon_send(shard, initiate_atom::value, std::move(cmd));
}

void Engine::cancel_async(const std::string& payment_id, CancelHandler handler,
                          std::chrono::milliseconds timeout) {
  ++async_in_flight_;
  caf::anon_send(ingress_, cancel_atom::value, payment_id, static_cast<int64_t>(timeout.count()),
                 std::move(handler));
}

CancelReply Engine::cancel(const std::string& payment_id, std::chrono::milliseconds timeout) {
  caf::scoped_actor self{*system_};
  CancelReply out;
  self->request(shard_for(payment_id), timeout, cancel_atom::value, payment_id)
      .receive([&](CancelReply& r) { out = std::move(r); },
               [&](caf::error& err) {
                 out.status = CancelReply::Status::failed;
                 out.state = caf::to_string(err);
               });
  return out;
}

void Engine::with_store(const StoreTask& task) {
  caf::scoped_actor self{*system_};
  self->request(journal_, caf::infinite, run_atom::value, task)
      .receive([](caf::unit_t) {}, [](caf::error&) {});
}

std::vector<ShardStats> Engine::stats() {
  std::vector<ShardStats> out;
  caf::scoped_actor self{*system_};
  for (auto& s : shards_)
    self->request(s, std::chrono::seconds(10), stats_atom::value)
        .receive([&](ShardStats& st) { out.push_back(st); }, [](caf::error&) {});
  return out;
}

std::pair<uint64_t, uint64_t> Engine::journal_stats() {
  std::pair<uint64_t, uint64_t> out{0, 0};
  caf::scoped_actor self{*system_};
  self->request(journal_, std::chrono::seconds(10), stats_atom::value)
      .receive([&](uint64_t batches, uint64_t events) { out = {batches, events}; },
               [](caf::error&) {});
  return out;
}

ShardStats Engine::total_stats() {
  ShardStats t;
  for (const ShardStats& s : stats()) {
    t.active += s.active;
    t.spawned += s.spawned;
    t.finished += s.finished;
    t.passivated += s.passivated;
    t.reactivated += s.reactivated;
    t.restarted += s.restarted;
    t.gave_up += s.gave_up;
    t.overloaded += s.overloaded;
    t.recovered += s.recovered;
  }
  return t;
}

bool Engine::wait_recovered(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!recovered_.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Pages through non-terminal sagas and hands them to their shards at a
// bounded rate, keeping each shard below half its admission cap, so that a
// restart with 100k sagas in flight does not stampede.
void Engine::recover_all() {
  caf::scoped_actor self{*system_};
  std::string after;
  const uint64_t page = 512;
  const auto start = std::chrono::steady_clock::now();
  uint64_t sent = 0;
  while (!stopping_) {
    std::vector<std::string> ids;
    self->request(journal_, caf::infinite, open_atom::value, after, page)
        .receive([&](std::vector<std::string>& r) { ids = std::move(r); }, [](caf::error&) {});
    if (ids.empty()) break;
    after = ids.back();
    std::vector<std::vector<std::string>> by_shard(shards_.size());
    for (auto& id : ids) by_shard[fnv1a(id) % shards_.size()].push_back(std::move(id));
    for (size_t i = 0; i < shards_.size() && !stopping_; ++i) {
      if (by_shard[i].empty()) continue;
      // Admission: wait until the shard has room.
      for (;;) {
        ShardStats st;
        self->request(shards_[i], caf::infinite, stats_atom::value)
            .receive([&](ShardStats& s) { st = s; }, [](caf::error&) {});
        if (stopping_ || st.active + by_shard[i].size() <= config_.max_active_per_shard / 2 + by_shard[i].size() / 2 ||
            st.active == 0)
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      self->request(shards_[i], caf::infinite, recover_atom::value, by_shard[i])
          .receive([&](uint64_t n) { recovered_count_ += n; }, [](caf::error&) {});
      sent += by_shard[i].size();
    }
    // Rate: no more than recovery_rate_per_s on average.
    auto due = start + std::chrono::microseconds(sent * 1'000'000 / std::max<uint64_t>(1, config_.recovery_rate_per_s));
    std::this_thread::sleep_until(due);
  }
  recovered_ = true;
}

}  // namespace payengine
