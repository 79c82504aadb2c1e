// The engine's CAF scheduler: CAF's work-stealing scheduler with a clock
// that is not woken when an actor exits without ever having set a timeout.
//
// CAF 0.17 calls clock().cancel_timeouts(self) for every actor that exits
// (local_actor::cleanup). Its default clock allocates an event, queues it to
// the clock's own thread and wakes that thread, which looks the actor up and
// usually finds nothing. The engine ends one payment actor per payment, so
// that was about 6 µs of the clock thread and a futex wake on the CAF worker
// per payment (docs/PERFORMANCE.md). This clock remembers which actors set
// an ordinary, multi or request timeout and passes cancel_timeouts on for
// those only. Everything else, delayed messages included, is CAF's own
// clock, run on a thread of its own as CAF runs it.
//
// Its workers run CAF's own scheduling loop but for one line: CAF 0.17's
// loop casts every job it resumes to an actor (a dynamic_cast across
// multiple inheritance, ~1,400 instructions) only to hand its id to the
// logger, and it does so even when logging is compiled out, as in Debian's
// build. Two to three resumes per payment made that ~9% of the CAF
// worker's instructions (docs/PERFORMANCE.md, session 8).
//
// Install with `cfg.load<EngineScheduler>()` before the actor system is
// built; CAF then uses it instead of its default scheduler.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <mutex>
#include <thread>
#include <unordered_set>

namespace payengine {

// CAF's work-stealing policy under a name of our own, so that the worker
// loop specialised below is used by this scheduler only (libcaf_core's
// default scheduler keeps its own).
struct EngineWorkStealing : caf::policy::work_stealing {};

}  // namespace payengine

namespace caf::scheduler {

// The worker loop of the engine's scheduler: CAF 0.17's worker<P>::run()
// without the per-job dynamic_cast for the logger's actor id (see above).
// Declared before anything could instantiate CAF's own.
template <>
void worker<payengine::EngineWorkStealing>::run();

}  // namespace caf::scheduler

namespace payengine {

class TimeoutTrackingClock final : public caf::detail::thread_safe_actor_clock {
 public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override;
  // Passed on (queued to the clock's thread) only for an actor that set a
  // timeout since its last cancel_timeouts.
  void cancel_timeouts(caf::abstract_actor* self) override;

  // Actors with timeouts that have not exited: for tests.
  size_t tracked() const;

 private:
  void track(caf::abstract_actor* self);

  mutable std::mutex mu_;
  std::unordered_set<caf::abstract_actor*> with_timeouts_;  // guarded by mu_
};

class EngineScheduler final : public caf::scheduler::coordinator<EngineWorkStealing> {
 public:
  using super = caf::scheduler::coordinator<EngineWorkStealing>;

  explicit EngineScheduler(caf::actor_system& sys) : super(sys) {}

  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new EngineScheduler(sys);
  }

  // Every actor reaches the clock through here (local_actor::clock()).
  TimeoutTrackingClock& clock() noexcept override { return clock_; }

 protected:
  // CAF's coordinator also starts its own clock's thread; nothing reaches
  // that clock, so its thread sleeps until stop().
  void start() override;
  void stop() override;

 private:
  TimeoutTrackingClock clock_;
  std::thread clock_thread_;
};

}  // namespace payengine
