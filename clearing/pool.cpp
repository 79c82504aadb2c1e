#include "clearing/pool.hpp"

#include <caf/all.hpp>

#include <cassert>
#include <deque>
#include <thread>
#include <map>
#include <set>
#include <unordered_map>

#include "clearing/transport.hpp"
#include "sagas/reason.hpp"

namespace payengine::clearing {
namespace {

using job_atom = caf::atom_constant<caf::atom("job")>;
using outcome_atom = caf::atom_constant<caf::atom("outcome")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using link_atom = caf::atom_constant<caf::atom("linkstate")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

// A submission or a status query on its way through a pool.
struct Job {
  enum class Kind : uint8_t { submit, query };
  Kind kind = Kind::submit;
  std::string payment_id;
  uint32_t attempt = 1;
  PaymentInstruction instruction;  // submit only
};

// What a worker tells its dispatcher when a job is done with.
struct Outcome {
  size_t worker = 0;
  Permit permit;
  Verdict verdict = Verdict::success;
  int64_t duration_ms = 0;
};

}  // namespace
}  // namespace payengine::clearing

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::clearing::Job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::clearing::Permit)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(payengine::clearing::Outcome)

namespace payengine::clearing {
namespace {

RailResponse error_response(Rail rail, const std::string& payment_id, uint32_t attempt,
                            std::string_view reason, std::string detail) {
  RailResponse r;
  r.payment_id = payment_id;
  r.rail = rail;
  r.kind = RailResponse::Kind::error;
  r.attempt = attempt;
  r.reason_code = std::string(reason);
  r.detail = std::move(detail);
  return r;
}

// ---------------------------------------------------------------------------
// Worker: one connection, one protocol codec, the jobs it sent and their
// answer deadlines.

struct WorkerState {
  struct Sent {
    Permit permit;
    uint32_t attempt = 1;
    int64_t sent_ms = 0;
    int64_t deadline_ms = 0;
    uint64_t frame = 0;  // the frame that carried it (several payments may share one)
  };
  size_t index = 0;
  PoolConfig config;
  const Clock* clock = nullptr;
  ResponseSink sink;
  std::shared_ptr<PoolStats> stats;
  caf::actor dispatcher;
  std::unique_ptr<RailProtocol> protocol;
  std::unique_ptr<net::Connection> connection;
  std::unordered_map<std::string, Sent> sent;        // by payment id
  std::multimap<int64_t, std::string> deadlines;     // deadline -> payment id
  uint64_t frames_sent = 0;
  static inline const char* name = "rail_worker";
};
using Worker = caf::stateful_actor<WorkerState>;

void finish(Worker* self, const std::string& payment_id, Verdict verdict, int64_t now_ms) {
  auto& s = self->state;
  auto it = s.sent.find(payment_id);
  if (it == s.sent.end()) return;
  Outcome o;
  o.worker = s.index;
  o.permit = it->second.permit;
  o.verdict = verdict;
  o.duration_ms = now_ms - it->second.sent_ms;
  auto range = s.deadlines.equal_range(it->second.deadline_ms);
  for (auto d = range.first; d != range.second; ++d) {
    if (d->second == payment_id) {
      s.deadlines.erase(d);
      break;
    }
  }
  s.sent.erase(it);
  self->send(s.dispatcher, outcome_atom::value, o);
}

// Moves a sent job's deadline.
void rearm(WorkerState& s, const std::string& id, WorkerState::Sent& sent, int64_t deadline_ms) {
  auto range = s.deadlines.equal_range(sent.deadline_ms);
  for (auto d = range.first; d != range.second; ++d) {
    if (d->second == id) {
      s.deadlines.erase(d);
      break;
    }
  }
  sent.deadline_ms = deadline_ms;
  s.deadlines.emplace(deadline_ms, id);
}

void send_frames(Worker* self, std::vector<Outbound> frames, uint32_t attempt, int64_t now_ms) {
  auto& s = self->state;
  for (auto& out : frames) {
    bool ok = s.connection->send(std::move(out.body));
    if (ok) {
      s.stats->submitted.fetch_add(1, std::memory_order_relaxed);
      // The rail's time starts now (a held job waited for its cycle first),
      // and the payments of one frame share its deadline.
      ++s.frames_sent;
      for (auto& id : out.payment_ids) {
        auto it = s.sent.find(id);
        if (it == s.sent.end()) continue;
        it->second.sent_ms = now_ms;
        it->second.frame = s.frames_sent;
        rearm(s, id, it->second, now_ms + s.config.answer_timeout_ms);
      }
      continue;
    }
    s.stats->send_failures.fetch_add(1, std::memory_order_relaxed);
    // One frame is one call for the breaker, however many payments it carries.
    bool first = true;
    for (auto& id : out.payment_ids) {
      auto it = s.sent.find(id);
      uint32_t a = it == s.sent.end() ? attempt : it->second.attempt;
      finish(self, id, first ? Verdict::failure : Verdict::ignored, now_ms);
      first = false;
      s.sink(error_response(s.config.rail, id, a, reason::AB08, "rail connection down"));
    }
  }
}

caf::behavior worker_actor(Worker* self, size_t index, PoolConfig config, const Clock* clock,
                           ResponseSink sink, std::shared_ptr<PoolStats> stats,
                           caf::actor dispatcher, std::shared_ptr<ProtocolFactory> factory,
                           net::IoThread* io) {
  auto& s = self->state;
  s.index = index;
  s.config = config;
  s.clock = clock;
  s.sink = std::move(sink);
  s.stats = std::move(stats);
  s.dispatcher = std::move(dispatcher);
  s.protocol = (*factory)();
  net::ConnectionOptions options;
  options.host = config.host;
  options.port = config.port;
  options.header = s.protocol->header();
  caf::actor_addr me = self->address();
  auto stats_ptr = s.stats;
  net::Connection::Callbacks callbacks;
  callbacks.on_frame = [me](std::string f) {
    if (auto w = caf::actor_cast<caf::actor>(me)) caf::anon_send(w, frame_atom::value, std::move(f));
  };
  callbacks.on_state = [stats_ptr](bool up) { stats_ptr->connections_up.fetch_add(up ? 1 : -1); };
  s.connection = std::make_unique<net::Connection>(io->context(), options, std::move(callbacks));
  self->delayed_send(self, std::chrono::milliseconds(config.tick_ms), tick_atom::value);
  return {
      [=](job_atom, const Job& job, const Permit& permit) {
        auto& st = self->state;
        int64_t now = st.clock->now_ms();
        if (st.sent.count(job.payment_id)) {
          // The same payment is already on the wire from this worker: its
          // answer will serve. Release this job's slot at once.
          Outcome o{st.index, permit, Verdict::ignored, 0};
          self->send(st.dispatcher, outcome_atom::value, o);
          return;
        }
        SubmitRequest req;
        req.payment_id = job.payment_id;
        req.attempt = job.attempt;
        req.rail = st.config.rail;
        req.instruction = &job.instruction;
        auto frames = job.kind == Job::Kind::submit ? st.protocol->submit(req, now)
                                                    : st.protocol->query(req, now);
        if (!frames && job.kind == Job::Kind::query) {
          // Nothing to ask with: the status stays unknown (the saga decides).
          Outcome o{st.index, permit, Verdict::ignored, 0};
          self->send(st.dispatcher, outcome_atom::value, o);
          RailResponse r;
          r.payment_id = job.payment_id;
          r.rail = st.config.rail;
          r.kind = RailResponse::Kind::unknown;
          r.attempt = job.attempt;
          r.detail = frames.error().message;
          st.sink(std::move(r));
          return;
        }
        if (!frames) {
          // The rail cannot carry it: a final business rejection.
          Outcome o{st.index, permit, Verdict::ignored, 0};
          self->send(st.dispatcher, outcome_atom::value, o);
          RailResponse r;
          r.payment_id = job.payment_id;
          r.rail = st.config.rail;
          r.kind = RailResponse::Kind::final;
          r.attempt = job.attempt;
          r.accepted = false;
          r.reason_code = frames.error().code;
          r.detail = frames.error().message;
          st.sink(std::move(r));
          return;
        }
        int64_t hold = st.protocol->hold_ms(now);
        int64_t deadline = now + st.config.answer_timeout_ms + hold;
        st.sent[job.payment_id] = WorkerState::Sent{permit, job.attempt, now, deadline};
        st.deadlines.emplace(deadline, job.payment_id);
        if (frames->empty() && job.kind == Job::Kind::submit) {
          // Held for a cycle or a settlement window: the adapter has it; the
          // rail's own acknowledgement follows when it goes out.
          RailResponse r;
          r.payment_id = job.payment_id;
          r.rail = st.config.rail;
          r.kind = RailResponse::Kind::ack;
          r.attempt = job.attempt;
          r.detail = "held " + std::to_string(hold) + " ms for the rail's next cycle";
          st.sink(std::move(r));
        }
        send_frames(self, std::move(*frames), job.attempt, now);
      },
      [=](frame_atom, const std::string& f) {
        auto& st = self->state;
        int64_t now = st.clock->now_ms();
        std::vector<Outbound> follow_ups;
        auto decoded = st.protocol->decode(f, now, follow_ups);
        if (!decoded) {
          st.stats->malformed.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        if (!follow_ups.empty()) send_frames(self, std::move(follow_ups), 1, now);
        for (auto& in : *decoded) {
          if (st.sent.count(in.response.payment_id)) {
            st.stats->answered.fetch_add(1, std::memory_order_relaxed);
            finish(self, in.response.payment_id, in.verdict, now);
          }
          st.sink(std::move(in.response));
        }
      },
      [=](tick_atom) {
        auto& st = self->state;
        int64_t now = st.clock->now_ms();
        auto due = st.protocol->tick(now);
        if (!due.empty()) send_frames(self, std::move(due), 1, now);
        std::set<uint64_t> counted;  // one breaker failure per unanswered frame
        while (!st.deadlines.empty() && st.deadlines.begin()->first <= now) {
          std::string id = st.deadlines.begin()->second;
          auto it = st.sent.find(id);
          uint32_t attempt = it == st.sent.end() ? 1 : it->second.attempt;
          uint64_t frame = it == st.sent.end() ? 0 : it->second.frame;
          bool first = frame == 0 || counted.insert(frame).second;
          if (first) st.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
          finish(self, id, first ? Verdict::failure : Verdict::ignored, now);
          st.sink(error_response(st.config.rail, id, attempt, reason::AB06,
                                 "no answer from the rail within " +
                                     std::to_string(st.config.answer_timeout_ms) + " ms"));
        }
        self->delayed_send(self, std::chrono::milliseconds(st.config.tick_ms), tick_atom::value);
      },
  };
}

// ---------------------------------------------------------------------------
// Dispatcher: the bounded queue, the in-flight bound and the breaker.

struct DispatcherState {
  PoolConfig config;
  const Clock* clock = nullptr;
  ResponseSink sink;
  std::shared_ptr<PoolStats> stats;
  std::optional<CircuitBreaker> breaker;
  std::deque<Job> queue;
  std::vector<caf::actor> workers;
  std::vector<uint32_t> worker_in_flight;
  uint32_t in_flight = 0;
  bool stopping = false;
  size_t workers_down = 0;
  static inline const char* name = "rail_dispatcher";
};
using Dispatcher = caf::stateful_actor<DispatcherState>;

void publish(DispatcherState& s) {
  s.stats->queue_depth.store(static_cast<int64_t>(s.queue.size()), std::memory_order_relaxed);
  s.stats->in_flight.store(s.in_flight, std::memory_order_relaxed);
  s.stats->breaker_state.store(static_cast<int>(s.breaker->state()), std::memory_order_relaxed);
}

void pump(Dispatcher* self) {
  auto& s = self->state;
  if (s.stopping) return;
  int64_t now = s.clock->now_ms();
  while (!s.queue.empty() && s.in_flight < s.config.max_in_flight) {
    Job job = std::move(s.queue.front());
    s.queue.pop_front();
    auto permit = s.breaker->try_acquire(now);
    if (!permit) {
      s.stats->breaker_rejected.fetch_add(1, std::memory_order_relaxed);
      s.stats->admitted.fetch_sub(1);
      s.sink(error_response(s.config.rail, job.payment_id, job.attempt, reason::AB08,
                            "circuit breaker open"));
      continue;
    }
    size_t best = 0;
    for (size_t i = 1; i < s.workers.size(); ++i)
      if (s.worker_in_flight[i] < s.worker_in_flight[best]) best = i;
    ++s.worker_in_flight[best];
    ++s.in_flight;
    self->send(s.workers[best], job_atom::value, std::move(job), *permit);
  }
  publish(s);
}

caf::behavior dispatcher_actor(Dispatcher* self, PoolConfig config, const Clock* clock,
                               ResponseSink sink, std::shared_ptr<PoolStats> stats,
                               std::shared_ptr<ProtocolFactory> factory, net::IoThread* io) {
  auto& s = self->state;
  s.config = config;
  s.clock = clock;
  s.sink = sink;
  s.stats = stats;
  auto made = CircuitBreaker::make(config.breaker, [stats](BreakerState, BreakerState to, int64_t,
                                                           std::string_view) {
    stats->transitions.fetch_add(1, std::memory_order_relaxed);
    switch (to) {
      case BreakerState::open: stats->opened.fetch_add(1); break;
      case BreakerState::half_open: stats->half_opened.fetch_add(1); break;
      case BreakerState::closed: stats->closed.fetch_add(1); break;
    }
    stats->breaker_state.store(static_cast<int>(to));
  });
  s.breaker.emplace(std::move(*made));  // validated by RailPools
  uint32_t n = std::max<uint32_t>(1, config.workers);
  for (uint32_t i = 0; i < n; ++i) {
    s.workers.push_back(self->spawn(worker_actor, size_t{i}, config, clock, sink, stats,
                                    caf::actor_cast<caf::actor>(self), factory, io));
    self->monitor(s.workers.back());
  }
  s.worker_in_flight.assign(n, 0);
  // A worker that crashed took its jobs' outcomes with it: free their slots
  // (the sagas time out and resubmit; probe permits expire in the breaker)
  // and start a fresh worker in its place.
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.stopping) {  // shutting down: quit once the last worker is gone
      if (++st.workers_down == st.workers.size()) self->quit(caf::exit_reason::user_shutdown);
      return;
    }
    for (size_t i = 0; i < st.workers.size(); ++i) {
      if (st.workers[i].address() != msg.source) continue;
      st.in_flight -= st.worker_in_flight[i];
      st.stats->admitted.fetch_sub(st.worker_in_flight[i]);
      st.worker_in_flight[i] = 0;
      st.workers[i] = self->spawn(worker_actor, i, st.config, st.clock, st.sink, st.stats,
                                  caf::actor_cast<caf::actor>(self), factory, io);
      self->monitor(st.workers[i]);
    }
    pump(self);
  });
  // Shutting down, the dispatcher outlives its workers, so whoever waits
  // for it (RailPools::stop) knows no worker can call the sink any more.
  self->set_exit_handler([self](const caf::exit_msg&) {
    auto& st = self->state;
    if (st.stopping) return;
    st.stopping = true;
    for (auto& w : st.workers) self->send_exit(w, caf::exit_reason::user_shutdown);
  });
  self->delayed_send(self, std::chrono::milliseconds(config.tick_ms), tick_atom::value);
  publish(s);
  return {
      [=](job_atom, Job& job) {
        auto& st = self->state;
        if (st.stopping) return;  // the engine is stopping: its sagas resume on the next start
        if (st.queue.size() >= st.config.max_queue) {
          // RailPools admission keeps this from happening; the bound holds anyway.
          st.stats->overloaded.fetch_add(1, std::memory_order_relaxed);
          st.stats->admitted.fetch_sub(1);
          st.sink(error_response(st.config.rail, job.payment_id, job.attempt, reason::AB08, "overloaded"));
          return;
        }
        st.queue.push_back(std::move(job));
        pump(self);
      },
      [=](outcome_atom, const Outcome& o) {
        auto& st = self->state;
        int64_t now = st.clock->now_ms();
        assert(st.in_flight > 0 && st.worker_in_flight[o.worker] > 0);
        --st.in_flight;
        --st.worker_in_flight[o.worker];
        st.stats->admitted.fetch_sub(1);
        switch (o.verdict) {
          case Verdict::success: st.breaker->on_success(o.permit, o.duration_ms, now); break;
          case Verdict::failure: st.breaker->on_failure(o.permit, now); break;
          case Verdict::ignored: st.breaker->on_ignored(o.permit, now); break;
        }
        pump(self);
      },
      [=](tick_atom) {
        auto& st = self->state;
        st.breaker->tick(st.clock->now_ms());
        pump(self);
        self->delayed_send(self, std::chrono::milliseconds(st.config.tick_ms), tick_atom::value);
      },
  };
}

}  // namespace

// ---------------------------------------------------------------------------

struct RailPools::Impl {
  struct Pool {
    PoolConfig config;
    std::shared_ptr<PoolStats> stats;
    caf::actor dispatcher;
  };
  net::IoThread io;  // declared first: destroyed last
  ResponseSink sink;
  std::atomic<bool> stopped{false};
  std::array<std::optional<Pool>, 5> pools;

  // Takes one admission slot, or answers overloaded at once.
  bool admit(Rail rail, const std::string& payment_id, uint32_t attempt) {
    auto& p = pools[static_cast<size_t>(rail)];
    if (!p) {
      sink(error_response(rail, payment_id, attempt, reason::AB08, "rail not configured"));
      return false;
    }
    const int64_t cap = static_cast<int64_t>(p->config.max_queue) + p->config.max_in_flight;
    int64_t now = p->stats->admitted.load();
    do {
      if (now >= cap) {
        p->stats->overloaded.fetch_add(1, std::memory_order_relaxed);
        sink(error_response(rail, payment_id, attempt, reason::AB08, "overloaded"));
        return false;
      }
    } while (!p->stats->admitted.compare_exchange_weak(now, now + 1));
    return true;
  }

  // Admits and hands a job to the rail's dispatcher.
  void enqueue(Job::Kind kind, const SubmitRequest& request) {
    if (!admit(request.rail, request.payment_id, request.attempt)) return;
    Job job;
    job.kind = kind;
    job.payment_id = request.payment_id;
    job.attempt = request.attempt;
    if (request.instruction) job.instruction = *request.instruction;
    caf::anon_send(pools[static_cast<size_t>(request.rail)]->dispatcher, job_atom::value, std::move(job));
  }
};

RailPools::RailPools(caf::actor_system& system, std::vector<RailSetup> rails, const Clock& clock,
                     ResponseSink sink)
    : impl_(std::make_unique<Impl>()) {
  impl_->sink = sink;
  for (auto& r : rails) {
    if (auto valid = validate(r.pool.breaker); !valid)
      throw std::invalid_argument("rail " + std::string(to_string(r.pool.rail)) + ": " +
                                  valid.error().message);
    if (r.pool.max_in_flight == 0 || r.pool.workers == 0 || r.pool.answer_timeout_ms <= 0 ||
        r.pool.tick_ms <= 0)
      throw std::invalid_argument("rail " + std::string(to_string(r.pool.rail)) +
                                  ": workers, max_in_flight, answer_timeout_ms and tick_ms must be > 0");
  }
  for (auto& r : rails) {
    auto& slot = impl_->pools[static_cast<size_t>(r.pool.rail)];
    slot.emplace();
    slot->config = r.pool;
    slot->stats = std::make_shared<PoolStats>();
    auto factory = std::make_shared<ProtocolFactory>(std::move(r.protocol));
    slot->dispatcher = system.spawn(dispatcher_actor, r.pool, &clock, sink, slot->stats, factory, &impl_->io);
  }
}

RailPools::~RailPools() { stop(); }

void RailPools::stop() {
  if (impl_->stopped.exchange(true)) return;
  for (auto& p : impl_->pools) {
    if (!p) continue;
    caf::scoped_actor self{p->dispatcher->home_system()};
    self->monitor(p->dispatcher);
    self->send_exit(p->dispatcher, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }
}

bool RailPools::wait_connected(std::chrono::milliseconds timeout) const {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (auto& p : impl_->pools)
      if (p && p->stats->connections_up.load() < static_cast<int>(std::max<uint32_t>(1, p->config.workers)))
        all = false;
    if (all) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool RailPools::has(Rail rail) const { return impl_->pools[static_cast<size_t>(rail)].has_value(); }

const PoolStats& RailPools::stats(Rail rail) const {
  return *impl_->pools[static_cast<size_t>(rail)]->stats;
}

BreakerState RailPools::breaker_state(Rail rail) const {
  auto& p = impl_->pools[static_cast<size_t>(rail)];
  if (!p) return BreakerState::open;
  return static_cast<BreakerState>(p->stats->breaker_state.load(std::memory_order_relaxed));
}

void RailPools::submit(const SubmitRequest& request) { impl_->enqueue(Job::Kind::submit, request); }

void RailPools::query(const SubmitRequest& request) { impl_->enqueue(Job::Kind::query, request); }

}  // namespace payengine::clearing
