#include "sagas/payment_actor.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <utility>

#include "sagas/caf_logging.hpp"
#include "sagas/killpoint.hpp"
#include "sagas/messages.hpp"

#include "sagas/rng.hpp"
#include "sagas/timer_actor.hpp"

namespace payengine::sagas {
namespace {

class PaymentActor final : public caf::event_based_actor, private SagaHost {
 public:
  PaymentActor(caf::actor_config& cfg, const ShardDeps* deps, caf::actor supervisor,
               std::string id, SpawnMode mode)
      : caf::event_based_actor(cfg),
        deps_(*deps),
        common_(*deps->common),
        supervisor_(std::move(supervisor)),
        id_(std::move(id)),
        mode_(mode),
        rng_(common_.seed ^ fnv1a(id_)) {
    ctx_.payment_id = id_;
    ctx_.screener = deps_.screener;
    ctx_.screener_lock = deps_.screener_lock;
    ctx_.clearing = common_.clearing;
    ctx_.rail_available = common_.rail_available;
    ctx_.clock = common_.clock;
    if (common_.fault)
      ctx_.fault = [f = &common_.fault, id = id_](const std::string& step, uint32_t attempt) {
        return (*f)(id, step, attempt);
      };
  }

  caf::behavior make_behavior() override {
    unregister_caf_logger_on_this_thread();
    // A crash (an exception from an action, a corrupt journal) ends the
    // actor with an error, and its supervisor restarts it from the journal.
    // Whoever waits on it is answered first: a payment that crashed before
    // its first chain was durable was never accepted.
    set_exception_handler([this](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(eptr);
      } catch (const std::exception& ex) {
        what = ex.what();
      } catch (...) {
      }
      if (initiate_pending_)
        answer_initiate(InitiateReply{InitiateReply::Status::failed, id_,
                                      "payment actor crashed before the payment was durable: " + what});
      for (auto& rp : cancel_rps_) rp.deliver(caf::make_error(caf::sec::runtime_error, what));
      cancel_rps_.clear();
      return caf::make_error(caf::sec::runtime_error, what);
    });
    if (mode_ == SpawnMode::recover) {
      // Nothing else is processed until the journal is loaded.
      request(*common_.journal, caf::infinite, load_atom::value, id_)
          .await([this](SagaLoad& l) { load(l); },
                 [this](caf::error& err) { quit(err); });
    }
    return {
        [this](initiate_atom, InitiateCommand& cmd) -> caf::result<InitiateReply> {
          if (run_) {
            InitiateReply r{InitiateReply::Status::failed, id_, "payment exists"};
            if (cmd.reply_to) cmd.reply_to(r);
            return r;
          }
          ctx_.instruction = std::move(cmd.instruction);
          make_run(ctx_.instruction.tenant);
          if (cmd.reply_to) initiate_reply_to_ = std::move(cmd.reply_to);
          else initiate_rp_ = make_response_promise();
          initiate_pending_ = true;
          run_->start(instruction_to_json(ctx_.instruction), std::move(cmd.claim));
          arm_timer();
          return caf::delegated<InitiateReply>();
        },
        [this](rail_atom, clearing::RailResponse& r) {
          busy_since_passivate_request_ = passivating_;
          if (!run_ || run_->done()) return;
          if (ctx_.accept_rail_response(std::move(r))) run_->poke();
          after_transition();
        },
        [this](timer_atom, uint64_t timer_id) {
          busy_since_passivate_request_ = passivating_;
          if (!run_) return;
          run_->on_timer(timer_id);
          after_transition();
        },
        [this](done_atom) {
          if (missing_) {
            send(supervisor_, done_atom::value, PaymentDone{id_, "", "", "", ""}, true);
            quit();
          } else if (run_ && run_->done()) {
            finished(run_->progress());
          }
        },
        [this](passivate_atom) { stop_for_passivation(); },
        [this](idle_atom, uint64_t generation) {
          if (generation == idle_generation_ && run_ && !run_->done()) passivate();
        },
        [this](cancel_atom) -> caf::result<CancelReply> {
          busy_since_passivate_request_ = passivating_;
          if (!run_) return CancelReply{CancelReply::Status::not_found, ""};
          const CancelResult cancel = run_->request_cancel();
          arm_timer();
          switch (cancel) {
            case CancelResult::accepted:
              cancel_rps_.push_back(make_response_promise());
              return caf::delegated<CancelReply>();
            case CancelResult::too_late:
              return CancelReply{CancelReply::Status::too_late, run_->progress().state};
            case CancelResult::already_final:
              break;
          }
          return CancelReply{CancelReply::Status::already_final, run_->progress().state};
        },
    };
  }

 private:
  void make_run(const std::string& tenant) {
    run_ = std::make_unique<SagaRun<PaymentContext>>(*common_.definition, ctx_,
                                                     static_cast<SagaHost&>(*this), id_, tenant);
  }

  void load(SagaLoad& l) {
    std::vector<StoredEvent>& events = l.events;
    std::string input = prepare_recovery(l.snapshot, events);
    if (input.empty()) {
      // No such payment. Messages already queued for it (a cancel) are
      // answered first: the stop request goes behind them.
      missing_ = true;
      send(this, done_atom::value);
      return;
    }
    auto instr = instruction_from_json(input);
    if (!instr) throw std::runtime_error("payment " + id_ + ": " + instr.error().message);
    ctx_.instruction = std::move(instr.value());
    make_run(ctx_.instruction.tenant);
    if (l.snapshot) run_->restore(l.snapshot->blob);
    run_->recover(events);
    if (run_->done()) {  // already final: answer what is queued, then stop
      recovered_final_ = true;
      send(this, done_atom::value);
      return;
    }
    killpoint("saga.recovered");
    run_->resume();
    after_transition();
  }

  // SagaHost
  void journal(std::vector<EventRecord> chain) override {
    const bool first = initiate_pending_;
    if (common_.on_step) {
      for (const auto& ev : chain) {
        if (last_event_ms_ > 0 && (ev.kind == "step_ok" || ev.kind == "retry"))
          common_.on_step(ev.step, ev.at_ms - last_event_ms_);
        last_event_ms_ = ev.at_ms;
      }
    }
    std::vector<std::string> points;
    if (killpoints_armed())
      for (const auto& ev : chain)
        points.push_back("saga.durable." + ev.kind + (ev.step.empty() ? "" : "." + ev.step));
    request(*common_.journal, caf::infinite, append_atom::value, std::move(chain))
        .then(
            [this, first, points = std::move(points)](std::vector<AppendResult>& results) {
              for (const auto& p : points) killpoint(p.c_str());
              run_->on_durable(results);
              if (first && initiate_pending_ && (run_->progress().events > 0 || run_->done()))
                reply_initiate();
              after_transition();
            },
            [this](caf::error& err) { quit(err); });
  }

  // A timer is armed when the message that set it has been handled
  // (arm_timer): by then a step whose outcome came at once (await finding
  // the rail's final status already in) no longer waits for it, and the
  // shard's heap is spared a deadline nobody waits for.
  void set_timer(int64_t at_ms, uint64_t timer_id) override {
    timer_at_ms_ = at_ms;
    timer_to_arm_ = timer_id;
  }

  void arm_timer() {
    if (timer_to_arm_ == 0) return;
    const uint64_t timer_id = std::exchange(timer_to_arm_, 0);
    if (!run_ || run_->live_timer() != timer_id) return;  // superseded or no longer awaited
    if (timer_at_ms_ <= common_.clock->now_ms()) {  // already due (e.g. a deadline passed while down)
      send(this, timer_atom::value, timer_id);
      return;
    }
    armed_any_ = true;
    if (deps_.timers->arm(timer_at_ms_, id_, id(), timer_id))
      send(deps_.timers->ticker(), run_atom::value);
  }

  // Its deadlines still in the shard's heap are dropped when due. A caller
  // still waiting is answered (a requester gets a broken promise from CAF).
  void on_exit() override {
    if (armed_any_) deps_.timers->ended(id());
    if (initiate_pending_ && initiate_reply_to_)
      answer_initiate(InitiateReply{InitiateReply::Status::failed, id_,
                                    "payment actor stopped before it confirmed the payment durable"});
  }

  int64_t now_ms() override { return common_.clock->now_ms(); }
  Rng& rng() override { return rng_; }

  void finished(const SagaProgress& p) override {
    if (initiate_pending_) reply_initiate();
    for (auto& rp : cancel_rps_) rp.deliver(CancelReply{CancelReply::Status::already_final, p.state});
    cancel_rps_.clear();
    bool replay = run_->start_status() == AppendStatus::idempotent_replay ||
                  run_->start_status() == AppendStatus::idempotency_conflict;
    send(supervisor_, done_atom::value,
         PaymentDone{replay ? "" : id_, ctx_.instruction.tenant, p.state, p.reason_code,
                     ctx_.rail ? std::string(clearing::to_string(*ctx_.rail)) : std::string()},
         replay || recovered_final_);
    quit();
  }

  void cancel_durable() override {
    for (auto& rp : cancel_rps_) rp.deliver(CancelReply{CancelReply::Status::accepted, "cancelling"});
    cancel_rps_.clear();
  }

  void reply_initiate() {
    initiate_pending_ = false;
    InitiateReply reply;
    switch (run_->start_status()) {
      case AppendStatus::idempotent_replay:
        reply.status = InitiateReply::Status::replayed;
        reply.payment_id = run_->existing_id();
        break;
      case AppendStatus::idempotency_conflict:
        reply.status = InitiateReply::Status::conflict;
        reply.payment_id = run_->existing_id();
        break;
      default:
        reply.status = InitiateReply::Status::accepted;
        reply.payment_id = id_;
    }
    answer_initiate(std::move(reply));
  }

  // To the handler the command carried, or else to the requester.
  void answer_initiate(InitiateReply reply) {
    initiate_pending_ = false;
    if (initiate_reply_to_) {
      InitiateHandler to = std::move(initiate_reply_to_);
      initiate_reply_to_ = nullptr;
      to(reply);
    } else {
      initiate_rp_.deliver(std::move(reply));
    }
  }

  // An actor waiting for something far away (an EFT cycle, a long backoff)
  // passivates after `passivate_idle_ms` of idleness; its supervisor wakes
  // it at the deadline or on the next message.
  void after_transition() {
    arm_timer();
    if (!run_ || run_->done()) return;
    int64_t wake_at = wake_at_ms();
    if (wake_at == 0) return;
    if (wake_at - common_.clock->now_ms() <= common_.passivate_idle_ms) return;
    ++idle_generation_;
    delayed_send(this, std::chrono::milliseconds(common_.passivate_idle_ms), idle_atom::value,
                 idle_generation_);
  }

  int64_t wake_at_ms() const {
    const SagaProgress& p = run_->progress();
    if (p.phase == SagaProgress::Phase::waiting_retry) return p.retry_at_ms;
    if (run_->awaiting_outcome()) return run_->deadline_ms();
    return 0;
  }

  // Asks the supervisor; it answers (passivate_atom) after routing stops,
  // and `stop_for_passivation` ends the actor.
  void passivate() {
    int64_t wake_at = wake_at_ms();
    if (passivating_ || wake_at == 0 || !cancel_rps_.empty()) return;
    passivating_ = true;
    send(supervisor_, passivate_atom::value, id_, wake_at);
  }

  void stop_for_passivation() {
    if (run_ && !run_->done() && (busy_since_passivate_request_ || !run_->snapshot_ready())) {
      // Something happened after it asked to passivate (messages the
      // supervisor forwarded before it stopped routing): hand back the rail
      // responses it holds and ask for an immediate new activation, which
      // resumes from the journal (a chain still in flight is committed
      // before the journal answers the new activation's load).
      for (const auto* r : {&ctx_.rail_ack, &ctx_.rail_final, &ctx_.rail_error})
        if (*r) send(supervisor_, rail_atom::value, **r);
      send(supervisor_, wake_atom::value, id_);
      quit();
      return;
    }
    if (run_ && !run_->done() && run_->snapshot_ready()) {
      // The snapshot lets the next activation skip folding the events it covers.
      send(*common_.journal, append_atom::value,
           SnapshotRecord{id_, run_->progress().last_seq, common_.clock->now_ms(),
                          run_->snapshot_blob()});
    }
    quit();
  }

  const ShardDeps& deps_;
  const PaymentActorDeps& common_;
  caf::actor supervisor_;
  std::string id_;
  SpawnMode mode_;
  Rng rng_;
  PaymentContext ctx_;
  std::unique_ptr<SagaRun<PaymentContext>> run_;
  caf::response_promise initiate_rp_;
  InitiateHandler initiate_reply_to_;  // the command's handler, if it had one
  bool initiate_pending_ = false;
  bool recovered_final_ = false;
  int64_t last_event_ms_ = 0;  // the previous journaled event of this run (step timing)
  bool missing_ = false;  // recovered, but the journal has no such payment
  bool passivating_ = false;  // asked the supervisor to passivate
  bool busy_since_passivate_request_ = false;
  std::vector<caf::response_promise> cancel_rps_;
  uint64_t idle_generation_ = 0;
  uint64_t timer_to_arm_ = 0;  // set_timer's, armed by arm_timer (0: none)
  int64_t timer_at_ms_ = 0;
  bool armed_any_ = false;     // a deadline of this actor went into the shard's heap
};

}  // namespace

caf::actor spawn_payment_actor(caf::local_actor* parent, const ShardDeps* deps,
                               const std::string& payment_id, SpawnMode mode) {
  // Not linked: CAF keeps links in a list that is scanned on every unlink,
  // which made each payment's exit cost O(active payments) in the
  // supervisor. The supervisor stops its children itself on shutdown.
  return parent->spawn<PaymentActor>(deps, caf::actor_cast<caf::actor>(parent), payment_id, mode);
}

}  // namespace payengine::sagas
