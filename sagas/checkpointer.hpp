// Checkpointer: copies a WAL database's log back into the database file on
// a thread of its own, so that the writer's commits do not wait for it.
//
// SQLite's default is that the commit which takes the WAL past a mark does
// the checkpoint itself: it reads every frame back, writes the pages into
// the database and syncs it, all on the committing thread. Here the writer
// only reports the WAL's size after each commit (SQLite's WAL hook, see
// `attach`), and a second connection on the checkpointer's thread does the
// copying (a PASSIVE checkpoint: it never blocks the writer or readers).
//
// Promises:
//  - The WAL stays bounded: past `start_pages` the thread is woken; past
//    `writer_pages` (the thread is starved or stuck) the writer checkpoints
//    itself, as SQLite would by default. When that finds the thread in the
//    middle of a checkpoint (a slow disk: SQLite lets one run at a time)
//    and the WAL is past `wait_pages`, the writer waits for the thread's
//    checkpoint to end and then checkpoints itself: the writer slows down
//    (backpressure) rather than the log growing without bound. With no
//    reader holding an old snapshot, the WAL file never grows past
//    `wait_pages` plus one commit's frames.
//  - A checkpoint never loses or reorders a committed transaction (SQLite's
//    own guarantee); a process killed mid-checkpoint recovers from the WAL.
//  - The destructor stops and joins the thread, then closes its connection.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sagas/result.hpp"

namespace payengine::sagas {

struct CheckpointerOptions {
  std::string path;              // the database; already in WAL mode
  bool synchronous_full = true;  // PRAGMA synchronous of the checkpointing connection
  // false: no thread; the writer checkpoints at `start_pages`, as SQLite's
  // automatic checkpoint does.
  bool background = true;
  int start_pages = 10000;       // wake the thread at this WAL size
  int writer_pages = 40000;      // the writer checkpoints itself at this size
  int wait_pages = 50000;        // ... and waits for a checkpoint in progress from this size
};

class Checkpointer {
 public:
  // Opens the second connection and starts the thread (when `background`).
  // Errors: code "sqlite" with SQLite's message.
  static Result<std::unique_ptr<Checkpointer>> start(const CheckpointerOptions& options);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installs the WAL hook on the writer's connection `db` (replacing SQLite's
  // automatic checkpoint). The checkpointer must outlive `db`'s use of it:
  // uninstall with `detach` before destroying either.
  void attach(sqlite3* db);
  void detach(sqlite3* db);

  // Checkpoints completed by the thread, and by the writer past its bound.
  uint64_t background_checkpoints() const { return background_.load(); }
  // Times the writer waited for the thread's checkpoint (past wait_pages).
  uint64_t writer_waits() const { return writer_waits_.load(); }
  uint64_t writer_checkpoints() const { return by_writer_.load(); }

 private:
  explicit Checkpointer(const CheckpointerOptions& options);
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void run();

  CheckpointerOptions options_;
  // The WAL size at which the writer checkpoints itself: writer_pages, or
  // start_pages when there is no thread.
  int writer_bound_pages_;
  sqlite3* db_ = nullptr;  // the thread's own connection
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;  // guarded by mu_
  bool stop_ = false;       // guarded by mu_
  bool running_ = false;    // guarded by mu_: the thread is checkpointing
  uint64_t finished_ = 0;   // guarded by mu_: the thread's checkpoints ended
  std::condition_variable done_cv_;
  std::atomic<uint64_t> writer_waits_{0};
  std::atomic<uint64_t> background_{0};
  std::atomic<uint64_t> by_writer_{0};
  std::thread thread_;
};

}  // namespace payengine::sagas
