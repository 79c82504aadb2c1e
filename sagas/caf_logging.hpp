// The CAF logger, kept off the engine's threads.
//
// Debian's CAF 0.17 compiles logging out (CAF_LOG_LEVEL is quiet), yet on a
// thread that has the actor system's logger registered, every actor resume
// still records the running actor's id in that logger: a lock and a hash
// map update, twice per resume (about 6% of the CAF worker's instructions
// per payment). Nothing is ever logged with that id in such a build.
#pragma once

#include <caf/logger.hpp>

namespace payengine::sagas {

// Unregisters CAF's logger from the calling thread when CAF's logging is
// compiled out; does nothing otherwise. Cheap: call it when an actor starts.
inline void unregister_caf_logger_on_this_thread() {
#if CAF_LOG_LEVEL == CAF_LOG_LEVEL_QUIET
  caf::logger::set_current_actor_system(nullptr);
#endif
}

}  // namespace payengine::sagas
