// VirtualRuntime runs payment sagas in one thread on virtual time, with the
// real journal and ledger (a SQLite Store) and the simulated rail. Same
// saga code as the actor runtime; every source of nondeterminism (time,
// randomness, message order) is under its control, so a seed reproduces a
// run exactly. Used by the saga tests and, later, deterministic replay.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "clearing/sim_rail.hpp"
#include "sagas/clock.hpp"
#include "sagas/payment_saga.hpp"
#include "sagas/rng.hpp"
#include "sagas/scheduler.hpp"
#include "sagas/screening.hpp"
#include "sagas/store.hpp"

namespace payengine::sagas {

struct VirtualRuntimeOptions {
  StoreOptions store;
  PaymentSagaConfig saga;
  ScreeningConfig screening;
  clearing::SimRailConfig rail;
  uint64_t seed = 1;
  size_t max_batch = 1024;  // journal group-commit bound
};

class VirtualRuntime final : public Scheduler {
 public:
  using Fault = std::function<std::optional<StepOutcome>(const std::string& step, uint32_t attempt)>;

  static Result<std::unique_ptr<VirtualRuntime>> open(VirtualRuntimeOptions options);
  ~VirtualRuntime() override;

  // Starts a payment saga; its first event is journaled when the runtime
  // next runs. Returns the assigned payment id.
  std::string initiate(const PaymentInstruction& p, std::optional<IdempotencyClaim> claim = {},
                       Fault fault = {});
  CancelResult cancel(const std::string& payment_id);
  // Writes a snapshot of a live saga at its last durable event (as a
  // passivating actor does). False if the saga is not live here.
  bool snapshot(const std::string& payment_id);
  // Loads every non-terminal saga from the store (from its snapshot and the
  // events after it, when it has one) and resumes it, as after a restart.
  // Returns how many were resumed.
  size_t recover(Fault fault = {});
  // Processes queued work in virtual-time order until nothing is left or the
  // virtual clock would pass `now + horizon_ms`. Returns tasks run.
  size_t run(int64_t horizon_ms = 24LL * 3600 * 1000);

  // Live progress of a saga this runtime ran or recovered, if any.
  const SagaProgress* progress(const std::string& payment_id) const;
  // Ids of sagas started here that finished without running (idempotent
  // replay or conflict), with the status and the id the key belongs to.
  struct Replay {
    AppendStatus status;
    std::string existing_id;
  };
  std::optional<Replay> replay(const std::string& payment_id) const;

  ManualClock& clock() { return clock_; }
  Store& store() { return *store_; }
  clearing::SimulatedRail& rail() { return *rail_; }
  size_t active() const;
  uint64_t journal_batches() const { return batches_; }

  void after_ms(int64_t delay_ms, std::function<void()> fn) override;

 private:
  struct Instance;
  class Host;
  struct Task {
    int64_t at_ms;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Task& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : seq > o.seq; }
  };

  explicit VirtualRuntime(VirtualRuntimeOptions options);
  Instance& make_instance(const std::string& id, const PaymentInstruction& p, Fault fault);
  void enqueue_journal(const std::string& id, std::vector<EventRecord> chain);
  void flush_journal();
  void on_rail_response(clearing::RailResponse r);

  VirtualRuntimeOptions options_;
  ManualClock clock_;
  Rng rng_;
  std::unique_ptr<Store> store_;
  Screener screener_;
  std::unique_ptr<clearing::SimulatedRail> rail_;
  SagaDefinition<PaymentContext> def_;
  std::map<std::string, std::unique_ptr<Instance>> instances_;
  std::priority_queue<Task, std::vector<Task>, std::greater<Task>> tasks_;
  uint64_t next_task_seq_ = 0;
  std::vector<std::pair<std::string, std::vector<EventRecord>>> pending_journal_;
  bool flush_queued_ = false;
  uint64_t batches_ = 0;
};

}  // namespace payengine::sagas
