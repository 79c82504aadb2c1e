#include "sagas/checkpointer.hpp"

#include <utility>

namespace payengine::sagas {

Checkpointer::Checkpointer(const CheckpointerOptions& options)
    : options_(options),
      writer_bound_pages_(options.background ? options.writer_pages : options.start_pages) {}

Result<std::unique_ptr<Checkpointer>> Checkpointer::start(const CheckpointerOptions& options) {
  std::unique_ptr<Checkpointer> c(new Checkpointer(options));
  if (!options.background) return c;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(options.path.c_str(), &c->db_, flags, nullptr) != SQLITE_OK) {
    std::string message = c->db_ ? sqlite3_errmsg(c->db_) : "out of memory";
    return Error{"sqlite", options.path + ": checkpointer: " + message};
  }
  // The connection syncs what it copies as the writer's would. It never
  // checkpoints on commit (it writes nothing) and never waits for a lock: a
  // PASSIVE checkpoint takes what it can and is asked again.
  std::string pragmas = "PRAGMA synchronous=";
  pragmas += options.synchronous_full ? "FULL" : "NORMAL";
  pragmas += "; PRAGMA wal_autocheckpoint=0;";
  char* err = nullptr;
  if (sqlite3_exec(c->db_, pragmas.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "pragmas";
    sqlite3_free(err);
    return Error{"sqlite", options.path + ": checkpointer: " + message};
  }
  c->thread_ = std::thread([p = c.get()] { p->run(); });
  return c;
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (db_) sqlite3_close(db_);
}

void Checkpointer::attach(sqlite3* db) { sqlite3_wal_hook(db, &Checkpointer::on_commit, this); }

void Checkpointer::detach(sqlite3* db) { sqlite3_wal_hook(db, nullptr, nullptr); }

// Runs on the writer's thread after each commit, inside SQLite.
int Checkpointer::on_commit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* c = static_cast<Checkpointer*>(self);
  if (wal_pages >= c->writer_bound_pages_) {
    // No thread, or it has not kept up: bound the WAL as SQLite's own
    // automatic checkpoint would. Busy (the thread is checkpointing) is not
    // an error: the next commit asks again, until wait_pages.
    int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc == SQLITE_BUSY && c->options_.background && wal_pages >= c->options_.wait_pages) {
      // The thread is mid-checkpoint and the log is past its bound: wait
      // for that checkpoint to end, then take what is left.
      {
        std::unique_lock<std::mutex> lock(c->mu_);
        const uint64_t seen = c->finished_;
        c->done_cv_.wait(lock, [&] { return !c->running_ || c->finished_ != seen || c->stop_; });
      }
      c->writer_waits_.fetch_add(1, std::memory_order_relaxed);
      rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    if (rc == SQLITE_OK) c->by_writer_.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  if (wal_pages >= c->options_.start_pages) {
    {
      std::lock_guard<std::mutex> lock(c->mu_);
      c->requested_ = true;
    }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return requested_ || stop_; });
    if (stop_) return;
    requested_ = false;
    running_ = true;
    lock.unlock();
    int rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc == SQLITE_OK) background_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    running_ = false;
    ++finished_;
    done_cv_.notify_all();
  }
}

}  // namespace payengine::sagas
