#include "sagas/virtual_runtime.hpp"

#include <algorithm>
#include <stdexcept>

namespace payengine::sagas {

class VirtualRuntime::Host final : public SagaHost {
 public:
  Host(VirtualRuntime& rt, std::string id) : rt_(rt), id_(std::move(id)) {}
  void journal(std::vector<EventRecord> chain) override { rt_.enqueue_journal(id_, std::move(chain)); }
  void set_timer(int64_t at_ms, uint64_t timer_id) override;
  int64_t now_ms() override { return rt_.clock_.now_ms(); }
  Rng& rng() override { return rt_.rng_; }
  void finished(const SagaProgress&) override {}

 private:
  VirtualRuntime& rt_;
  std::string id_;
};

struct VirtualRuntime::Instance {
  PaymentContext ctx;
  Host host;
  SagaRun<PaymentContext> run;
  Instance(VirtualRuntime& rt, const std::string& id, const std::string& tenant)
      : host(rt, id), run(rt.def_, ctx, host, id, tenant) {}
};

void VirtualRuntime::Host::set_timer(int64_t at_ms, uint64_t timer_id) {
  int64_t delay = at_ms - rt_.clock_.now_ms();
  rt_.after_ms(delay < 0 ? 0 : delay, [rt = &rt_, id = id_, timer_id] {
    auto it = rt->instances_.find(id);
    if (it != rt->instances_.end()) it->second->run.on_timer(timer_id);
  });
}

VirtualRuntime::VirtualRuntime(VirtualRuntimeOptions options)
    : options_(std::move(options)),
      rng_(options_.seed),
      screener_(options_.screening),
      def_(make_payment_saga(options_.saga)) {}

VirtualRuntime::~VirtualRuntime() = default;

Result<std::unique_ptr<VirtualRuntime>> VirtualRuntime::open(VirtualRuntimeOptions options) {
  auto store = Store::open(options.store);
  if (!store) return store.error();
  std::unique_ptr<VirtualRuntime> rt(new VirtualRuntime(std::move(options)));
  rt->store_ = std::move(store.value());
  VirtualRuntime* self = rt.get();
  rt->rail_ = std::make_unique<clearing::SimulatedRail>(
      rt->options_.rail, *rt, [self](clearing::RailResponse r) {
        // Queued, never inline: the sink may be called from inside an action.
        self->after_ms(0, [self, r = std::move(r)]() mutable { self->on_rail_response(std::move(r)); });
      });
  return rt;
}

void VirtualRuntime::after_ms(int64_t delay_ms, std::function<void()> fn) {
  tasks_.push(Task{clock_.now_ms() + (delay_ms < 0 ? 0 : delay_ms), next_task_seq_++, std::move(fn)});
}

VirtualRuntime::Instance& VirtualRuntime::make_instance(const std::string& id,
                                                        const PaymentInstruction& p, Fault fault) {
  auto inst = std::make_unique<Instance>(*this, id, p.tenant);
  inst->ctx.payment_id = id;
  inst->ctx.instruction = p;
  inst->ctx.screener = &screener_;
  inst->ctx.clearing = rail_.get();
  inst->ctx.clock = &clock_;
  inst->ctx.fault = std::move(fault);
  Instance& ref = *inst;
  instances_[id] = std::move(inst);
  return ref;
}

std::string VirtualRuntime::initiate(const PaymentInstruction& p,
                                     std::optional<IdempotencyClaim> claim, Fault fault) {
  std::string id = "pay_" + rng_.time_ordered_id(clock_.now_ms());
  Instance& inst = make_instance(id, p, std::move(fault));
  inst.run.start(instruction_to_json(p), std::move(claim));
  return id;
}

CancelResult VirtualRuntime::cancel(const std::string& payment_id) {
  auto it = instances_.find(payment_id);
  if (it == instances_.end()) return CancelResult::already_final;
  return it->second->run.request_cancel();
}

size_t VirtualRuntime::recover(Fault fault) {
  size_t resumed = 0;
  std::string after;
  for (;;) {
    std::vector<std::string> ids = store_->open_sagas(after, 256);
    if (ids.empty()) break;
    after = ids.back();
    for (const std::string& id : ids) {
      std::vector<StoredEvent> events = store_->events_for(id);
      std::optional<SnapshotRecord> snap = store_->snapshot(id);
      std::string input = prepare_recovery(snap, events);
      if (input.empty()) throw std::runtime_error("saga " + id + " has no received event");
      auto instr = instruction_from_json(input);
      if (!instr) throw std::runtime_error("saga " + id + ": " + instr.error().message);
      Instance& inst = make_instance(id, instr.value(), fault);
      if (snap) inst.run.restore(snap->blob);
      inst.run.recover(events);
      inst.run.resume();
      ++resumed;
    }
  }
  return resumed;
}

void VirtualRuntime::enqueue_journal(const std::string& id, std::vector<EventRecord> chain) {
  pending_journal_.emplace_back(id, std::move(chain));
  if (!flush_queued_) {
    flush_queued_ = true;
    after_ms(0, [this] { flush_journal(); });
  }
}

void VirtualRuntime::flush_journal() {
  flush_queued_ = false;
  while (!pending_journal_.empty()) {
    // Whole chains only; at most max_batch events unless one chain is larger.
    size_t n = 0, events = 0;
    while (n < pending_journal_.size() &&
           (n == 0 || events + pending_journal_[n].second.size() <= options_.max_batch))
      events += pending_journal_[n++].second.size();
    std::vector<std::pair<std::string, std::vector<EventRecord>>> taken(
        std::make_move_iterator(pending_journal_.begin()),
        std::make_move_iterator(pending_journal_.begin() + static_cast<std::ptrdiff_t>(n)));
    pending_journal_.erase(pending_journal_.begin(), pending_journal_.begin() + static_cast<std::ptrdiff_t>(n));
    Batch batch;
    batch.events.reserve(events);
    for (auto& [id, chain] : taken)
      for (auto& ev : chain) batch.events.push_back(std::move(ev));
    std::vector<AppendResult> results = store_->commit(batch);
    ++batches_;
    size_t at = 0;
    for (auto& [id, chain] : taken) {
      std::vector<AppendResult> mine(results.begin() + static_cast<std::ptrdiff_t>(at),
                                     results.begin() + static_cast<std::ptrdiff_t>(at + chain.size()));
      at += chain.size();
      auto it = instances_.find(id);
      if (it != instances_.end()) it->second->run.on_durable(mine);
    }
  }
}

void VirtualRuntime::on_rail_response(clearing::RailResponse r) {
  auto it = instances_.find(r.payment_id);
  if (it == instances_.end()) return;
  Instance& inst = *it->second;
  if (inst.ctx.accept_rail_response(std::move(r))) inst.run.poke();
}

size_t VirtualRuntime::run(int64_t horizon_ms) {
  const int64_t limit = clock_.now_ms() + horizon_ms;
  size_t n = 0;
  while (!tasks_.empty()) {
    Task t = tasks_.top();
    if (t.at_ms > limit) break;
    tasks_.pop();
    if (t.at_ms > clock_.now_ms()) clock_.set_ms(t.at_ms);
    t.fn();
    ++n;
  }
  return n;
}

const SagaProgress* VirtualRuntime::progress(const std::string& payment_id) const {
  auto it = instances_.find(payment_id);
  return it == instances_.end() ? nullptr : &it->second->run.progress();
}

std::optional<VirtualRuntime::Replay> VirtualRuntime::replay(const std::string& payment_id) const {
  auto it = instances_.find(payment_id);
  if (it == instances_.end()) return std::nullopt;
  AppendStatus s = it->second->run.start_status();
  if (s != AppendStatus::idempotent_replay && s != AppendStatus::idempotency_conflict)
    return std::nullopt;
  return Replay{s, it->second->run.existing_id()};
}

bool VirtualRuntime::snapshot(const std::string& payment_id) {
  auto it = instances_.find(payment_id);
  if (it == instances_.end() || it->second->run.done() || !it->second->run.snapshot_ready())
    return false;
  Batch b;
  b.snapshots.push_back(SnapshotRecord{payment_id, it->second->run.progress().last_seq,
                                       clock_.now_ms(), it->second->run.snapshot_blob()});
  store_->commit(b);
  return true;
}

size_t VirtualRuntime::active() const {
  size_t n = 0;
  for (const auto& [id, inst] : instances_)
    if (!inst->run.done()) ++n;
  return n;
}

}  // namespace payengine::sagas
