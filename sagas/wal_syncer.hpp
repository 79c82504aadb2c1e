// WalSyncer: makes a WAL database's commits durable on a thread of its own,
// so that the writer builds and commits its next batch while the disk
// flushes the last one.
//
// With `PRAGMA synchronous=FULL` SQLite syncs the WAL inside every COMMIT:
// the committing thread waits for the disk, then for its next batch to be
// built. Here the writer's connection runs with synchronous=NORMAL (COMMIT
// writes the WAL; SQLite syncs it only before a checkpoint copies it back),
// tells the syncer the number of each commit once COMMIT has returned, and
// answers the commit's callers only when `on_durable` says so.
//
// Promises:
//  - on_durable(n) is called on the syncer's thread with increasing n, only
//    after an fdatasync of the WAL file that began after committed(n)
//    returned: every commit numbered <= n is on disk (its frames and the
//    WAL header before them; SQLite's checksums make the recovered log a
//    prefix of the commits, so later, unsynced commits cannot damage it).
//  - One fdatasync covers every commit reported before it began (group sync).
//  - A failed fdatasync ends durability for good: on_failure is called once
//    with the error and no on_durable follows (after a failed flush the
//    kernel may have dropped the dirty pages, so a retry proves nothing).
//  - `start` syncs the WAL, the database file and their directory once before
//    returning, so that what a previous process committed but did not sync
//    is durable before anyone reads it.
//  - committed() never blocks; wait_durable() blocks until a number is
//    durable, failed, or the syncer stops (a bound on unsynced commits).
//  - The destructor finishes the sync in progress, syncs once more if a
//    commit is pending, and joins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sagas/result.hpp"

namespace payengine::sagas {

struct WalSyncerOptions {
  std::string database_path;  // the database; its WAL is database_path + "-wal" and must exist
  std::function<void(uint64_t commit)> on_durable;
  std::function<void(const std::string& error)> on_failure;
  // Test seam: runs on the thread before each fdatasync, which follows if
  // it returns 0; any other value is taken as that fdatasync's errno (a
  // test holds the disk back, or makes it refuse).
  std::function<int()> before_sync;
};

class WalSyncer {
 public:
  // Opens the WAL file, syncs it, the database file and their directory,
  // then starts the thread. Errors: code "wal_sync" with the path and errno.
  static Result<std::unique_ptr<WalSyncer>> start(WalSyncerOptions options);
  ~WalSyncer();
  WalSyncer(const WalSyncer&) = delete;
  WalSyncer& operator=(const WalSyncer&) = delete;

  // Commit `n` (greater than any before) is about to be written: a reader
  // on another connection may see it from now on. Never blocks.
  void begin(uint64_t n);
  // Commit `n` returned (committed or rolled back). Never blocks.
  void committed(uint64_t n);
  // Blocks until every commit begun so far is durable (true) or the syncer
  // failed (false). Readers call it after their query.
  bool wait_begun();
  // Blocks until commit `n` is durable (true) or the syncer failed (false).
  bool wait_durable(uint64_t n);
  // The highest commit known durable.
  uint64_t durable() const;
  uint64_t syncs() const;
  // The failed sync's error; "" while none failed.
  std::string failure() const;

 private:
  explicit WalSyncer(WalSyncerOptions options, int wal_fd);
  void run();

  WalSyncerOptions options_;
  int wal_fd_;
  std::atomic<uint64_t> begun_{0};
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the thread waits for commits
  std::condition_variable done_cv_;  // wait_durable waits for syncs
  uint64_t committed_ = 0;           // guarded by mu_
  uint64_t durable_ = 0;             // guarded by mu_
  uint64_t syncs_ = 0;               // guarded by mu_
  bool failed_ = false;              // guarded by mu_
  std::string failure_;              // guarded by mu_
  bool stop_ = false;                // guarded by mu_
  bool ended_ = false;               // guarded by mu_: the thread returned
  std::thread thread_;
};

}  // namespace payengine::sagas
