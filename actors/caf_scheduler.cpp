#include "actors/caf_scheduler.hpp"

#include <caf/detail/set_thread_name.hpp>

namespace payengine {

void TimeoutTrackingClock::track(caf::abstract_actor* self) {
  std::lock_guard<std::mutex> lock(mu_);
  with_timeouts_.insert(self);
}

void TimeoutTrackingClock::set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                                                caf::atom_value type, uint64_t id) {
  track(self);
  super::set_ordinary_timeout(t, self, type, id);
}

void TimeoutTrackingClock::set_request_timeout(time_point t, caf::abstract_actor* self,
                                               caf::message_id id) {
  track(self);
  super::set_request_timeout(t, self, id);
}

void TimeoutTrackingClock::set_multi_timeout(time_point t, caf::abstract_actor* self,
                                             caf::atom_value type, uint64_t id) {
  track(self);
  super::set_multi_timeout(t, self, type, id);
}

void TimeoutTrackingClock::cancel_timeouts(caf::abstract_actor* self) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (with_timeouts_.erase(self) == 0) return;  // it never set one: nothing to cancel
  }
  super::cancel_timeouts(self);
}

size_t TimeoutTrackingClock::tracked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return with_timeouts_.size();
}

void EngineScheduler::start() {
  clock_thread_ = std::thread([this] {
    caf::detail::set_thread_name("caf.clock");
    system().thread_started();
    clock_.run_dispatch_loop();
    system().thread_terminates();
  });
  super::start();
}

void EngineScheduler::stop() {
  super::stop();  // workers first: cleanup may still cancel timeouts here
  clock_.cancel_dispatch_loop();
  clock_thread_.join();
}

}  // namespace payengine

namespace caf::scheduler {

template <>
void worker<payengine::EngineWorkStealing>::run() {
  CAF_SET_LOGGER_SYS(&system());
  for (;;) {
    resumable* job = policy_.dequeue(this);
    policy_.before_resume(this, job);
    auto res = job->resume(this, max_throughput_);
    policy_.after_resume(this, job);
    switch (res) {
      case resumable::resume_later:
        policy_.resume_job_later(this, job);  // it stays in the loop
        break;
      case resumable::done:
        policy_.after_completion(this, job);
        intrusive_ptr_release(job);
        break;
      case resumable::awaiting_message:
        intrusive_ptr_release(job);  // enqueued again by its next message
        break;
      case resumable::shutdown_execution_unit:
        policy_.after_completion(this, job);
        policy_.before_shutdown(this);
        return;
    }
  }
}

}  // namespace caf::scheduler
