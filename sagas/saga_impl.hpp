// Template implementation of SagaRun; included by sagas/saga.hpp only.
#pragma once

#include <cassert>
#include <stdexcept>

#include "sagas/killpoint.hpp"

namespace payengine::sagas {

template <class Ctx>
size_t SagaRun<Ctx>::index_of(const std::string& step) const {
  for (size_t i = 0; i < def_.steps.size(); ++i)
    if (def_.steps[i].name == step) return i;
  throw std::runtime_error("saga " + id_ + ": journal names unknown step '" + step + "'");
}

template <class Ctx>
std::string SagaRun<Ctx>::current_step() const {
  if (p_.phase == SagaProgress::Phase::compensating && pending_) return def_.steps[comp_step_].name;
  if (p_.step < def_.steps.size()) return def_.steps[p_.step].name;
  return {};
}

template <class Ctx>
int64_t SagaRun<Ctx>::deadline_ms() const {
  if (!pending_ || compensating_ || p_.step >= def_.steps.size()) return 0;
  int64_t t = timeout_of(def_.steps[p_.step]);
  return t > 0 ? p_.started_ms + t : 0;
}

template <class Ctx>
const char* SagaRun<Ctx>::kind_of(After after) {
  switch (after) {
    case After::begin_first:
      return "received";
    case After::step_ok:
      return "step_ok";
    case After::retry:
      return "retry";
    case After::step_failed:
      return "step_failed";
    case After::compensated:
      return "compensated";
    case After::comp_retry:
      return "comp_retry";
    case After::cancel:
      return "cancel";
    case After::final_event:
      return "final";
    case After::none:
      break;
  }
  return "";
}

template <class Ctx>
EventRecord& SagaRun<Ctx>::new_event(After after, const std::string& step, uint32_t attempt,
                                     std::string state, bool terminal, std::string data) {
  assert(!journaling_ && "one journal write in flight per saga");
  if (chain_events_.empty()) {
    // Room for the whole chain this event may start (it and one event per
    // step that can join it), so the chain is not reallocated as it grows.
    size_t longest = 1;
    if (after == After::begin_first || after == After::step_ok) {
      size_t next = after == After::begin_first ? 0 : p_.step + 1;
      while (next < def_.steps.size() && joins_chain(next) && longest < kMaxChain) {
        ++longest;
        ++next;
      }
    }
    chain_events_.reserve(longest);
    chain_.reserve(longest);
  }
  chain_.emplace_back().after = after;
  // Built where it is journaled from: an EventRecord holds a dozen strings.
  EventRecord& ev = chain_events_.emplace_back();
  ev.payment_id = id_;
  ev.tenant = tenant_;
  ev.kind = kind_of(after);
  ev.step = step;
  ev.attempt = attempt;
  ev.publish = !state.empty();
  ev.state = std::move(state);
  ev.terminal = terminal;
  ev.at_ms = host_.now_ms();
  ev.data = std::move(data);
  return ev;
}

template <class Ctx>
std::string SagaRun<Ctx>::error_json(const StepError& e, int64_t retry_at_ms) {
  std::string s = "{\"reason\":\"" + json_escape(e.reason_code) + "\",\"detail\":\"" +
                  json_escape(e.detail) + "\"";
  if (retry_at_ms > 0) s += ",\"retry_at_ms\":" + std::to_string(retry_at_ms);
  return s + "}";
}

template <class Ctx>
void SagaRun<Ctx>::fold_error(SagaProgress& p, const std::string& data) {
  std::string r = json_get_string(data, "reason");
  if (!r.empty()) {
    p.reason_code = r;
    p.reason_detail = json_get_string(data, "detail");
  }
}

template <class Ctx>
void SagaRun<Ctx>::write() {
  const EventRecord& ev = chain_events_.back();
  Pending& pe = chain_.back();
  if (ev.ledger.kind != LedgerOp::Kind::none) {
    pe.before = p_;
    pe.step = ev.step;
  }
  if (pe.after == After::step_ok) pe.output = ev.data;  // the step's output, folded in later
  if (!ev.state.empty()) p_.state = ev.state;
  pe.at_ms = ev.at_ms;
  pe.terminal = ev.terminal;
  // A local step needs nothing but this event to be durable before it acts
  // (its own effects are journal rows), and neither does a step whose
  // outcome is already in hand: it runs now and its event joins the chain;
  // the chain is committed as one atomic append before anything leaves the
  // process.
  if (chain_.size() < kMaxChain && continues_locally(chain_.back())) {
    chain_.back().continued = true;
    advance(chain_.back());
    return;
  }
  flush();
}

template <class Ctx>
bool SagaRun<Ctx>::continues_locally(const Pending& pe) const {
  if (pe.terminal || p_.cancel_requested) return false;
  size_t next;
  if (pe.after == After::begin_first) next = 0;
  else if (pe.after == After::step_ok) next = p_.step + 1;
  else return false;
  return next < def_.steps.size() && joins_chain(next);
}

template <class Ctx>
bool SagaRun<Ctx>::joins_chain(size_t step) const {
  const StepDef<Ctx>& s = def_.steps[step];
  return s.local || (s.answered && s.answered(ctx_));
}

template <class Ctx>
void SagaRun<Ctx>::flush() {
  std::vector<EventRecord> events = std::move(chain_events_);
  chain_events_.clear();
  for (size_t i = 1; i < events.size(); ++i) events[i].depends_on_previous = true;
  in_flight_ = std::move(chain_);
  chain_.clear();
  journaling_ = true;
  host_.journal(std::move(events));
}

template <class Ctx>
void SagaRun<Ctx>::arm(int64_t at_ms) {
  timer_id_ = next_timer_id_++;
  host_.set_timer(at_ms, timer_id_);
}

template <class Ctx>
void SagaRun<Ctx>::start(std::string data, std::optional<IdempotencyClaim> claim) {
  assert(p_.phase == SagaProgress::Phase::not_started);
  input_ = data;
  EventRecord& ev = new_event(After::begin_first, {}, 0, def_.initial_state, false,
                              std::move(data));
  ev.idempotency = std::move(claim);
  write();
}

template <class Ctx>
void SagaRun<Ctx>::recover(const std::vector<StoredEvent>& events) {
  using Phase = SagaProgress::Phase;
  for (const StoredEvent& ev : events) {
    p_.last_seq = ev.seq;
    ++p_.events;
    if (!ev.state.empty()) p_.state = ev.state;
    if (ev.kind == "received") {
      input_ = ev.data;
      p_.phase = Phase::forward;
      p_.step = 0;
      p_.attempt = 1;
      p_.started_ms = ev.at_ms;
    } else if (ev.kind == "step_ok") {
      size_t i = index_of(ev.step);
      if (ev.data != "{}") outputs_[ev.step] = ev.data;
      if (def_.steps[i].apply) def_.steps[i].apply(ctx_, ev.data);
      p_.phase = ev.terminal ? Phase::done : Phase::forward;
      p_.step = i + 1;
      p_.attempt = 1;
      p_.started_ms = ev.at_ms;
    } else if (ev.kind == "retry") {
      p_.phase = Phase::waiting_retry;
      retry_is_compensation_ = false;
      p_.step = index_of(ev.step);
      p_.attempt = ev.attempt + 1;
      p_.retry_at_ms = json_get_int(ev.data, "retry_at_ms");
    } else if (ev.kind == "step_failed") {
      p_.phase = Phase::compensating;
      p_.step = index_of(ev.step);
      fold_error(p_, ev.data);
    } else if (ev.kind == "cancel") {
      p_.phase = Phase::compensating;
      p_.cancel_requested = true;
      fold_error(p_, ev.data);
    } else if (ev.kind == "compensated") {
      p_.phase = Phase::compensating;
      p_.compensated_any = true;
      p_.step = index_of(ev.step);
      p_.attempt = 1;
    } else if (ev.kind == "comp_retry") {
      p_.phase = Phase::waiting_retry;
      retry_is_compensation_ = true;
      comp_step_ = index_of(ev.step);
      p_.step = comp_step_ + 1;
      p_.attempt = ev.attempt + 1;
      p_.retry_at_ms = json_get_int(ev.data, "retry_at_ms");
    } else if (ev.kind == "final") {
      p_.phase = Phase::done;
      fold_error(p_, ev.data);
    } else {
      throw std::runtime_error("saga " + id_ + ": unknown event kind '" + ev.kind + "'");
    }
  }
}

template <class Ctx>
void SagaRun<Ctx>::resume() {
  using Phase = SagaProgress::Phase;
  switch (p_.phase) {
    case Phase::not_started:
      return;
    case Phase::forward:
      if (p_.step >= def_.steps.size()) {  // last step journaled but not terminal: cannot happen
        finish(def_.completed_state);
        return;
      }
      begin_attempt();
      return;
    case Phase::waiting_retry:
      arm(p_.retry_at_ms);
      return;
    case Phase::compensating:
      next_compensation();
      return;
    case Phase::done:
      host_.finished(p_);
      return;
  }
}

template <class Ctx>
void SagaRun<Ctx>::begin_attempt() {
  const StepDef<Ctx>& step = def_.steps[p_.step];
  if (p_.cancel_requested) {  // accepted while a cancellable step ran: honour it now
    p_.reason_code = "CUST";
    p_.reason_detail = "cancelled on request";
    new_event(After::cancel, step.name, p_.attempt, "", false,
              error_json({ErrorKind::business, "CUST", "cancelled on request"}));
    write();
    return;
  }
  p_.phase = SagaProgress::Phase::forward;
  pending_ = true;
  compensating_ = false;
  if (int64_t t = timeout_of(step); t > 0) arm(p_.started_ms + t);
  else timer_id_ = 0;
  if (killpoints_armed()) killpoint(("saga.action." + step.name).c_str());
  std::optional<StepOutcome> out = step.action(ctx_, p_.attempt);
  if (out) {
    handle(std::move(*out));
  } else if (!chain_.empty()) {
    flush();  // a step declared local went asynchronous: commit what ran ahead
  }
}

template <class Ctx>
void SagaRun<Ctx>::handle(StepOutcome&& outcome) {
  const StepDef<Ctx>& step = def_.steps[p_.step];
  pending_ = false;
  timer_id_ = 0;
  if (outcome.ok) {
    bool last = p_.step + 1 == def_.steps.size();
    std::string state = last ? def_.completed_state : step.state_on_success;
    EventRecord& ev = new_event(After::step_ok, step.name, p_.attempt,
                                std::move(state), last, std::move(outcome.output));
    ev.ledger = std::move(outcome.ledger);
    write();
    return;
  }
  const StepError& err = outcome.error;
  if (err.kind != ErrorKind::business && step.retry.retries(err.kind) &&
      p_.attempt < step.retry.max_attempts) {
    int64_t retry_at = host_.now_ms() + step.retry.backoff_ms(p_.attempt, host_.rng());
    p_.retry_at_ms = retry_at;
    new_event(After::retry, step.name, p_.attempt, "", false, error_json(err, retry_at));
    write();
    return;
  }
  if (step.no_return || (err.kind == ErrorKind::timeout &&
                         step.on_timeout_exhausted == OnTimeoutExhausted::in_doubt)) {
    p_.reason_code = err.reason_code;
    p_.reason_detail = err.detail;
    finish(def_.in_doubt_state);
    return;
  }
  fail_step(err);
}

template <class Ctx>
void SagaRun<Ctx>::fail_step(const StepError& err) {
  const StepDef<Ctx>& step = def_.steps[p_.step];
  p_.reason_code = err.reason_code;
  p_.reason_detail = err.detail;
  new_event(After::step_failed, step.name, p_.attempt, "", false, error_json(err));
  write();
}

template <class Ctx>
void SagaRun<Ctx>::next_compensation() {
  p_.phase = SagaProgress::Phase::compensating;
  size_t j = p_.step;
  while (j > 0 && !def_.steps[j - 1].compensation) --j;
  if (j == 0) {
    const std::string& state = p_.cancel_requested ? def_.cancelled_state
                               : p_.compensated_any ? def_.failed_state
                                                    : def_.rejected_state;
    finish(state);
    return;
  }
  if (comp_step_ != j - 1) p_.attempt = 1;
  comp_step_ = j - 1;
  pending_ = true;
  compensating_ = true;
  timer_id_ = 0;
  std::optional<StepOutcome> out = def_.steps[comp_step_].compensation(ctx_);
  if (out) handle_compensation(std::move(*out));
}

template <class Ctx>
void SagaRun<Ctx>::handle_compensation(StepOutcome&& outcome) {
  const StepDef<Ctx>& step = def_.steps[comp_step_];
  pending_ = false;
  compensating_ = false;
  if (outcome.ok) {
    EventRecord& ev = new_event(After::compensated, step.name, p_.attempt, "",
                                false, std::move(outcome.output));
    ev.ledger = std::move(outcome.ledger);
    write();
    return;
  }
  if (outcome.error.kind != ErrorKind::business && p_.attempt < step.retry.max_attempts) {
    int64_t retry_at = host_.now_ms() + step.retry.backoff_ms(p_.attempt, host_.rng());
    p_.retry_at_ms = retry_at;
    new_event(After::comp_retry, step.name, p_.attempt, "", false,
              error_json(outcome.error, retry_at));
    write();
    return;
  }
  // A compensation that cannot complete leaves money where nobody can prove
  // it belongs: that is the definition of in doubt.
  p_.reason_code = outcome.error.reason_code;
  p_.reason_detail = "compensation of " + step.name + " failed: " + outcome.error.detail;
  finish(def_.in_doubt_state);
}

template <class Ctx>
void SagaRun<Ctx>::finish(const std::string& state) {
  final_state_ = state;
  StepError e{ErrorKind::business, p_.reason_code, p_.reason_detail};
  std::string data = p_.reason_code.empty() ? "{}" : error_json(e);
  new_event(After::final_event, {}, 0, state, true, std::move(data));
  write();
}

template <class Ctx>
void SagaRun<Ctx>::on_durable(const std::vector<AppendResult>& results) {
  using Phase = SagaProgress::Phase;
  assert(journaling_);
  assert(results.size() == in_flight_.size());
  journaling_ = false;
  std::vector<Pending> chain = std::move(in_flight_);
  in_flight_.clear();
  if (!results.empty() && results.front().status == AppendStatus::error) {
    // The journal could not write: nothing of the chain exists. The run
    // stops here (the actor crashes); its supervisor restarts it from the
    // journal, which recomputes the chain, within its restart intensity.
    throw std::runtime_error("saga " + id_ + ": journal write failed: " + results.front().detail);
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    const AppendResult& r = results[i];
    const Pending& pe = chain[i];
    switch (r.status) {
      case AppendStatus::ok:
      case AppendStatus::duplicate_event:
        if (r.status == AppendStatus::ok) p_.last_seq = r.seq;
        ++p_.events;
        if (pe.after == After::begin_first) start_result_ = AppendStatus::ok;
        continue;
      case AppendStatus::idempotent_replay:
      case AppendStatus::idempotency_conflict:
        start_result_ = r.status;
        existing_id_ = r.existing_payment_id;
        p_.phase = Phase::done;
        pending_ = false;
        timer_id_ = 0;
        host_.finished(p_);
        return;
      case AppendStatus::ledger_rejected: {
        if (!pe.before)
          throw std::runtime_error("saga " + id_ + ": the ledger refused an event without a ledger operation");
        // Undo what ran ahead of this event; the rest of the chain was skipped.
        const int64_t last_seq = p_.last_seq;
        const size_t events = p_.events;
        p_ = *pe.before;
        p_.last_seq = last_seq;
        p_.events = events;
        pending_ = false;
        timer_id_ = 0;
        if (pe.after == After::step_ok) {
          fail_step({ErrorKind::business, r.reason_code, r.detail});
          return;
        }
        p_.reason_code = r.reason_code;
        p_.reason_detail = "ledger refused " + std::string(kind_of(pe.after)) + " of " + pe.step + ": " + r.detail;
        finish(def_.in_doubt_state);
        return;
      }
      case AppendStatus::skipped:
      case AppendStatus::error:
        throw std::runtime_error("saga " + id_ + ": journal skipped an event of an unrefused chain");
    }
  }
  const Pending& last = chain.back();
  if (!last.continued) advance(last);
}

template <class Ctx>
void SagaRun<Ctx>::advance(const Pending& pe) {
  using Phase = SagaProgress::Phase;
  switch (pe.after) {
    case After::none:
      return;
    case After::begin_first:
      p_.phase = Phase::forward;
      p_.step = 0;
      p_.attempt = 1;
      p_.started_ms = pe.at_ms;
      begin_attempt();
      return;
    case After::step_ok: {
      const StepDef<Ctx>& step = def_.steps[p_.step];
      if (step.apply) step.apply(ctx_, pe.output);
      if (pe.output != "{}") outputs_[step.name] = pe.output;
      ++p_.step;
      p_.attempt = 1;
      p_.started_ms = pe.at_ms;
      if (p_.step == def_.steps.size()) {
        p_.phase = Phase::done;
        host_.finished(p_);
        return;
      }
      begin_attempt();
      return;
    }
    case After::retry:
      p_.phase = Phase::waiting_retry;
      retry_is_compensation_ = false;
      ++p_.attempt;
      if (p_.cancel_requested) {
        begin_attempt();  // journals the cancel instead of waiting
        return;
      }
      arm(p_.retry_at_ms);
      return;
    case After::step_failed:
      next_compensation();
      return;
    case After::cancel:
      host_.cancel_durable();
      next_compensation();
      return;
    case After::compensated:
      p_.compensated_any = true;
      p_.step = comp_step_;
      p_.attempt = 1;
      next_compensation();
      return;
    case After::comp_retry:
      p_.phase = Phase::waiting_retry;
      retry_is_compensation_ = true;
      ++p_.attempt;
      arm(p_.retry_at_ms);
      return;
    case After::final_event:
      p_.phase = Phase::done;
      host_.finished(p_);
      return;
  }
}

template <class Ctx>
void SagaRun<Ctx>::on_timer(uint64_t timer_id) {
  using Phase = SagaProgress::Phase;
  if (timer_id == 0 || timer_id != timer_id_ || journaling_) return;
  timer_id_ = 0;
  if (p_.phase == Phase::waiting_retry) {
    p_.started_ms = p_.retry_at_ms;
    if (retry_is_compensation_) {
      p_.phase = Phase::compensating;
      pending_ = true;
      compensating_ = true;
      std::optional<StepOutcome> out = def_.steps[comp_step_].compensation(ctx_);
      if (out) handle_compensation(std::move(*out));
      return;
    }
    begin_attempt();
    return;
  }
  if (p_.phase == Phase::forward && pending_ && !compensating_) {
    const StepDef<Ctx>& step = def_.steps[p_.step];
    handle(StepOutcome::failure(ErrorKind::timeout, step.timeout_reason,
                                step.name + " had no outcome within " +
                                    std::to_string(timeout_of(step)) + " ms"));
  }
}

template <class Ctx>
void SagaRun<Ctx>::deliver(const std::string& step_name, uint32_t attempt, StepOutcome outcome,
                           bool compensating) {
  if (!pending_ || journaling_ || compensating != compensating_) return;
  if (compensating) {
    if (def_.steps[comp_step_].name != step_name || attempt != p_.attempt) return;
    handle_compensation(std::move(outcome));
    return;
  }
  if (def_.steps[p_.step].name != step_name || attempt != p_.attempt) return;
  handle(std::move(outcome));
}

template <class Ctx>
void SagaRun<Ctx>::poke() {
  if (!pending_ || journaling_ || compensating_) return;
  const StepDef<Ctx>& step = def_.steps[p_.step];
  if (!step.poll) return;
  std::optional<StepOutcome> out = step.poll(ctx_);
  if (out) handle(std::move(*out));
}

template <class Ctx>
CancelResult SagaRun<Ctx>::request_cancel() {
  using Phase = SagaProgress::Phase;
  if (p_.phase == Phase::done || !final_state_.empty()) return CancelResult::already_final;
  if (p_.cancel_requested) return CancelResult::accepted;
  if (p_.phase == Phase::compensating) return CancelResult::too_late;  // already unwinding
  if (p_.step >= def_.steps.size() || !def_.steps[p_.step].cancellable)
    return CancelResult::too_late;
  p_.cancel_requested = true;
  // Waiting out a backoff: cancel now. Otherwise the cancel is journaled at
  // the next step boundary.
  if (p_.phase == Phase::waiting_retry && !journaling_ && !retry_is_compensation_) {
    timer_id_ = 0;
    begin_attempt();
  }
  return CancelResult::accepted;
}

template <class Ctx>
std::string SagaRun<Ctx>::snapshot_blob() const {
  SnapshotState st;
  st.progress = p_;
  st.comp_step = comp_step_;
  st.retry_is_compensation = retry_is_compensation_;
  st.outputs = outputs_;
  st.input = input_;
  return encode_snapshot(st);
}

template <class Ctx>
bool SagaRun<Ctx>::restore(const std::string& blob) {
  auto st = decode_snapshot(blob);
  if (!st) return false;
  p_ = st->progress;
  comp_step_ = st->comp_step;
  retry_is_compensation_ = st->retry_is_compensation;
  input_ = st->input;
  outputs_ = st->outputs;
  for (const auto& [step, output] : outputs_) {
    const StepDef<Ctx>& def = def_.steps[index_of(step)];
    if (def.apply) def.apply(ctx_, output);
  }
  return true;
}

}  // namespace payengine::sagas
