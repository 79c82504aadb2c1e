// The saga engine: a saga definition (ordered steps with actions,
// compensations, retry policies and timeouts) and `SagaRun`, which executes
// one instance of a definition.
//
// SagaRun is a single-threaded state machine with no I/O of its own. It asks
// its host to journal events, to set timers and to tell it the time; the host
// calls back `on_durable`, `on_timer`, `deliver` and `poke`. The same engine
// therefore runs inside a CAF actor in production and on virtual time in
// deterministic replay.
//
// Promises:
//  - Every transition is journaled, and nothing leaves the process (a rail
//    submission, a reply) before the host reports it durable (`on_durable`).
//    Consecutive local steps (StepDef::local: synchronous, no effect outside
//    the journal), and steps whose outcome is already in hand
//    (StepDef::answered), run back to back and their events are committed as
//    one chain in one transaction; a chain stops at its first refused event and
//    the run rewinds to it. At most one chain is in flight.
//  - A step's ledger effect (`StepOutcome::ledger`) is committed atomically
//    with the step's event; a refusal by the ledger fails the step.
//  - Business errors are never retried; transient errors and timeouts are
//    retried up to `RetryPolicy::max_attempts` with exponential backoff and
//    jitter. The time a retry is due is journaled, so a recovered saga waits
//    out the rest of its backoff instead of starting afresh; step deadlines
//    are derived from journaled times the same way.
//  - When a step fails for good, compensations of the completed steps run in
//    reverse order, each journaled with its own effect. The saga then ends
//    `rejected` if nothing needed compensating and `failed` otherwise. A step
//    whose timeouts are exhausted and whose policy says so ends the saga
//    `in_doubt` (its effects are kept: nobody knows whether the far side
//    acted). A cancellation accepted before the first non-cancellable step
//    compensates and ends `cancelled`.
//  - Every run ends in exactly one final event, or in in_doubt; the fold of
//    the journaled events (`recover`) rebuilds the same progress.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sagas/rng.hpp"
#include "sagas/store.hpp"

namespace payengine::sagas {

enum class ErrorKind : uint8_t {
  business,   // a definite refusal: never retried
  transient,  // e.g. overloaded, connection refused: retried
  timeout,    // no answer in time: retried; outcome unknown
};

struct StepError {
  ErrorKind kind = ErrorKind::business;
  std::string reason_code;  // ISO 20022 ExternalStatusReason code
  std::string detail;
};

// What one attempt of an action (or compensation) produced.
struct StepOutcome {
  bool ok = true;
  StepError error;
  std::string output = "{}";  // JSON object journaled with the step; folded by `StepDef::apply`
  LedgerOp ledger;            // committed atomically with the step's event

  static StepOutcome success(std::string output_json = "{}", LedgerOp op = {});
  static StepOutcome failure(ErrorKind kind, std::string reason_code, std::string detail);
};

struct RetryPolicy {
  uint32_t max_attempts = 1;  // total attempts including the first; >= 1
  int64_t initial_backoff_ms = 10;
  int64_t max_backoff_ms = 1'000;
  uint32_t multiplier = 2;
  bool jitter = true;         // equal jitter: delay uniform in [d/2, d]
  bool retry_transient = true;
  bool retry_timeout = true;

  bool retries(ErrorKind kind) const;
  // Delay before attempt `failed_attempt + 1`, where failed_attempt >= 1.
  int64_t backoff_ms(uint32_t failed_attempt, Rng& rng) const;
};

enum class OnTimeoutExhausted : uint8_t { compensate, in_doubt };

template <class Ctx>
struct StepDef {
  using Action = std::function<std::optional<StepOutcome>(Ctx&, uint32_t attempt)>;
  using Poll = std::function<std::optional<StepOutcome>(Ctx&)>;
  using Compensation = std::function<std::optional<StepOutcome>(Ctx&)>;
  using Apply = std::function<void(Ctx&, const std::string& output_json)>;

  std::string name;
  // Starts an attempt. Returns the outcome, or nothing when it will arrive
  // later through SagaRun::deliver or be found by `poll`. Must be idempotent
  // per (saga id, step): re-running it after a crash must not repeat an
  // external effect.
  Action action;
  // Optional: re-checks a pending attempt when the host calls SagaRun::poke.
  Poll poll;
  // Optional: undoes the step's effect; returns its outcome (with the ledger
  // effect to commit) now, or nothing when it is delivered later.
  Compensation compensation;
  // Optional: folds the step's journaled output into the context, live and
  // on recovery alike.
  Apply apply;
  RetryPolicy retry;
  int64_t timeout_ms = 0;  // 0: no timeout
  // Optional: the timeout as a function of the context (e.g. per rail). It
  // must depend only on journaled state, so recovery arms the same deadline.
  std::function<int64_t(const Ctx&)> timeout_for;
  std::string timeout_reason = "AB06";
  OnTimeoutExhausted on_timeout_exhausted = OnTimeoutExhausted::compensate;
  std::string state_on_success;  // state journaled when the step succeeds ("" keeps it)
  // Past the point of no return (e.g. the rail has settled): a failure that
  // would otherwise compensate ends the saga in_doubt instead.
  bool no_return = false;
  bool cancellable = true;       // a cancel request is honoured before this step starts
  // Local: the action is synchronous and has no effect outside the journal
  // (its only effect is its event and that event's ledger operation). A
  // local step runs as soon as the event before it is decided, and the
  // events of consecutive local steps are committed together.
  bool local = false;
  // Optional: whether the step's outcome is already in hand (say, the rail
  // answered a submission with its final status, which also completes the
  // wait for that status). When it holds, the action must return that
  // outcome at once and without any effect outside the process; the step
  // then runs like a local one, and its event joins the chain being built
  // instead of waiting for the chain before it to be durable.
  std::function<bool(const Ctx&)> answered;
};

template <class Ctx>
struct SagaDefinition {
  std::string name;
  std::vector<StepDef<Ctx>> steps;
  std::string initial_state = "received";
  std::string completed_state = "completed";
  std::string rejected_state = "rejected";
  std::string failed_state = "failed";
  std::string cancelled_state = "cancelled";
  std::string in_doubt_state = "in_doubt";
};

// Where a run is; rebuilt from the journal by `SagaRun::recover`.
struct SagaProgress {
  enum class Phase : uint8_t { not_started, forward, waiting_retry, compensating, done };
  Phase phase = Phase::not_started;
  size_t step = 0;             // forward: the current step; compensating: steps below it remain
  uint32_t attempt = 1;        // attempt of the current step (or compensation)
  int64_t started_ms = 0;      // when the current attempt began (deadline base)
  int64_t retry_at_ms = 0;     // waiting_retry: when the next attempt is due
  bool cancel_requested = false;
  bool compensated_any = false;
  std::string state;           // last journaled state
  std::string reason_code;     // failure reason, once failed
  std::string reason_detail;
  int64_t last_seq = 0;
  size_t events = 0;
};

// A run's state at a journal position: what a snapshot holds. Restoring it
// and folding the events after `progress.last_seq` gives the same run as
// folding every event.
struct SnapshotState {
  SagaProgress progress;
  size_t comp_step = 0;
  bool retry_is_compensation = false;
  std::map<std::string, std::string> outputs;  // step -> journaled output (non-empty ones)
  std::string input;                            // the received event's data
};
std::string encode_snapshot(const SnapshotState& s);
std::optional<SnapshotState> decode_snapshot(const std::string& blob);
// The saga input held by a snapshot blob ("" if the blob is unreadable).
std::string snapshot_input(const std::string& blob);
// Decides what a recovering run starts from: a snapshot that decodes (the
// events it covers are dropped from `events`), or else every event (the
// snapshot is reset). Returns the saga's input, "" when there is no such
// saga. Then: SagaRun::restore(snapshot->blob) if a snapshot is left, and
// SagaRun::recover(events).
std::string prepare_recovery(std::optional<SnapshotRecord>& snapshot,
                             std::vector<StoredEvent>& events);

// What the engine needs from whoever runs it.
class SagaHost {
 public:
  virtual ~SagaHost() = default;
  // Journals `chain` in one atomic append (events after the first are marked
  // depends_on_previous); the host calls SagaRun::on_durable with one
  // result per event.
  virtual void journal(std::vector<EventRecord> chain) = 0;
  // Calls SagaRun::on_timer(timer_id) at or after `at_ms`. Earlier timers
  // need not be cancelled: the engine ignores stale ids.
  virtual void set_timer(int64_t at_ms, uint64_t timer_id) = 0;
  virtual int64_t now_ms() = 0;
  virtual Rng& rng() = 0;
  // Told once, when the final event is durable (or the run ends for another
  // reason such as an idempotent replay).
  virtual void finished(const SagaProgress& progress) = 0;
  // Told when an accepted cancel request is durable in the journal.
  virtual void cancel_durable() {}
};

// Outcome of `SagaRun::request_cancel`.
enum class CancelResult : uint8_t { accepted, already_final, too_late };

template <class Ctx>
class SagaRun {
 public:
  SagaRun(const SagaDefinition<Ctx>& def, Ctx& ctx, SagaHost& host, std::string saga_id,
          std::string tenant)
      : def_(def), ctx_(ctx), host_(host), id_(std::move(saga_id)), tenant_(std::move(tenant)) {}

  // Starts a new run: journals the initial event (with `data`, the saga's
  // input, and an optional idempotency claim), then the first step.
  void start(std::string data, std::optional<IdempotencyClaim> claim);

  // Rebuilds progress from journaled events (in seq order); call `resume`
  // afterwards. The host rebuilds its context from the initial event's data
  // itself; `recover` folds step outputs into it through StepDef::apply.
  void recover(const std::vector<StoredEvent>& events);
  // A snapshot of the run at its last durable event (SnapshotRecord::blob),
  // and restoring one; after `restore`, `recover` folds the events that
  // follow the snapshot's seq. A blob that does not decode restores nothing
  // (false): fold every event instead.
  std::string snapshot_blob() const;
  bool restore(const std::string& blob);
  // True when nothing runs ahead of the journal (no chain decided or in
  // flight): the only moments a snapshot may be taken.
  bool snapshot_ready() const { return !journaling_ && chain_.empty(); }
  const std::string& input() const { return input_; }

  // Continues a recovered run: re-arms the retry timer or deadline from
  // journaled times and re-invokes the interrupted action (which is
  // idempotent), or continues compensating.
  void resume();

  void on_durable(const std::vector<AppendResult>& results);
  void on_timer(uint64_t timer_id);
  // Delivers the outcome of attempt `attempt` of step `step_name`; stale or
  // mismatched deliveries are ignored. Compensations use `compensating=true`.
  void deliver(const std::string& step_name, uint32_t attempt, StepOutcome outcome,
               bool compensating = false);
  // Re-checks the pending step's `poll` (e.g. after a message arrived).
  void poke();
  CancelResult request_cancel();

  const SagaProgress& progress() const { return p_; }
  bool done() const { return p_.phase == SagaProgress::Phase::done; }
  // The deadline of the pending attempt, or 0.
  int64_t deadline_ms() const;
  // A step's timeout for this saga (timeout_for, else timeout_ms).
  int64_t timeout_of(const StepDef<Ctx>& step) const {
    return step.timeout_for ? step.timeout_for(ctx_) : step.timeout_ms;
  }
  const std::string& id() const { return id_; }
  // Name of the current step (forward or compensating), or "".
  std::string current_step() const;
  // True while an action or compensation is running and nothing is journaling.
  bool awaiting_outcome() const { return pending_ && !journaling_; }
  // The id of the timer the run waits for (the last one set), 0 when none:
  // a host may skip arming any other id.
  uint64_t live_timer() const { return timer_id_; }

 private:
  enum class After : uint8_t {
    none, begin_first, step_ok, retry, step_failed, compensated, comp_retry, cancel, final_event
  };

  size_t index_of(const std::string& step) const;
  // The journaled kind of the event that `after` follows.
  static const char* kind_of(After after);
  // Starts the chain's next event in place, of the kind `after` says; the
  // caller may complete it (ledger, idempotency) before `write` decides it.
  EventRecord& new_event(After after, const std::string& step, uint32_t attempt,
                         std::string state, bool terminal, std::string data);
  struct Pending {  // an event of the chain, as far as the run needs it back
    int64_t at_ms = 0;
    bool terminal = false;
    After after = After::none;  // also says the event's kind (kind_of)
    // Kept only for an event with a ledger operation, the one kind of event
    // the journal refuses (ledger_rejected): the progress before it, which
    // is then restored, and its step for the reason.
    std::optional<SagaProgress> before;
    std::string step;
    std::string output;    // step_ok: the output to fold in
    bool continued = false;  // its continuation already ran (a local step followed)
  };
  static constexpr size_t kMaxChain = 32;

  // Decides the event `new_event` started: it joins the chain and the run
  // goes on, or the chain is flushed to the journal.
  void write();
  bool continues_locally(const Pending& pe) const;
  bool joins_chain(size_t step) const;
  void flush();
  void advance(const Pending& pe);
  void begin_attempt();
  void handle(StepOutcome&& outcome);
  void fail_step(const StepError& err);
  void begin_compensation();
  void next_compensation();
  void handle_compensation(StepOutcome&& outcome);
  void finish(const std::string& state);
  void arm(int64_t at_ms);
  static std::string error_json(const StepError& e, int64_t retry_at_ms = 0);
  static void fold_error(SagaProgress& p, const std::string& data);

  const SagaDefinition<Ctx>& def_;
  Ctx& ctx_;
  SagaHost& host_;
  std::string id_;
  std::string tenant_;
  SagaProgress p_;
  bool journaling_ = false;     // a write is in flight
  bool pending_ = false;        // an action/compensation awaits its outcome
  bool compensating_ = false;   // the pending attempt is a compensation
  size_t comp_step_ = 0;        // compensation in progress: step index
  std::vector<Pending> chain_;      // events decided but not yet sent
  std::vector<EventRecord> chain_events_;  // their records, moved into the append
  std::vector<Pending> in_flight_;  // the chain being journaled
  uint64_t timer_id_ = 0;       // current live timer id (0: none)
  uint64_t next_timer_id_ = 1;
  std::string final_state_;
  bool retry_is_compensation_ = false;
  std::map<std::string, std::string> outputs_;  // folded step outputs, for snapshots
  std::string input_;
  AppendStatus start_result_ = AppendStatus::ok;
  std::string existing_id_;

 public:
  // After `finished` on a run that never started because its idempotency
  // key was seen before: the status (idempotent_replay or
  // idempotency_conflict) and the payment the key belongs to.
  AppendStatus start_status() const { return start_result_; }
  const std::string& existing_id() const { return existing_id_; }
};

// Helpers shared by the engine and its users.
std::string json_escape(const std::string& s);
// Reads a string or integer member of a flat JSON object ("" / 0 if absent).
std::string json_get_string(const std::string& json, const std::string& key);
int64_t json_get_int(const std::string& json, const std::string& key);

}  // namespace payengine::sagas

#include "sagas/saga_impl.hpp"
