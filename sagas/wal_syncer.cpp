#include "sagas/wal_syncer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace payengine::sagas {
namespace {

std::string errno_text(const std::string& what, const std::string& path, int err) {
  return what + " " + path + ": " + std::strerror(err);
}

// fsync of an existing file or directory by path (opened read-only).
Result<Unit> sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return Error{"wal_sync", errno_text("open", path, errno)};
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Error{"wal_sync", errno_text("fsync", path, err)};
  return Unit{};
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

WalSyncer::WalSyncer(WalSyncerOptions options, int wal_fd)
    : options_(std::move(options)), wal_fd_(wal_fd) {}

Result<std::unique_ptr<WalSyncer>> WalSyncer::start(WalSyncerOptions options) {
  const std::string wal_path = options.database_path + "-wal";
  const int fd = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{"wal_sync", errno_text("open", wal_path, errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{"wal_sync", wal_path + ": not a regular file"};
  }
  std::unique_ptr<WalSyncer> s(new WalSyncer(std::move(options), fd));
  // What an earlier process committed without a sync (it crashed, the OS
  // did not) is made durable before it is read and acted on.
  if (::fdatasync(fd) != 0) return Error{"wal_sync", errno_text("fdatasync", wal_path, errno)};
  if (auto r = sync_path(s->options_.database_path, 0); !r.ok()) return r.error();
  if (auto r = sync_path(directory_of(s->options_.database_path), O_DIRECTORY); !r.ok())
    return r.error();
  s->thread_ = std::thread([p = s.get()] { p->run(); });
  return s;
}

WalSyncer::~WalSyncer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  ::close(wal_fd_);
}

void WalSyncer::begin(uint64_t n) { begun_.store(n, std::memory_order_seq_cst); }

bool WalSyncer::wait_begun() { return wait_durable(begun_.load(std::memory_order_seq_cst)); }

void WalSyncer::committed(uint64_t n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (n > committed_) committed_ = n;
  }
  work_cv_.notify_one();
}

bool WalSyncer::wait_durable(uint64_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return durable_ >= n || failed_ || ended_; });
  return durable_ >= n;
}

uint64_t WalSyncer::durable() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_;
}

std::string WalSyncer::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

uint64_t WalSyncer::syncs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

void WalSyncer::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || committed_ > durable_; });
    if (committed_ <= durable_) break;  // stopping, nothing pending
    // Every commit up to `target` returned before this sync begins.
    const uint64_t target = committed_;
    lock.unlock();
    const int injected = options_.before_sync ? options_.before_sync() : 0;
    const int rc = injected != 0 ? -1 : ::fdatasync(wal_fd_);
    const int err = injected != 0 ? injected : errno;
    lock.lock();
    ++syncs_;
    if (rc != 0) {
      failed_ = true;
      failure_ = errno_text("fdatasync", options_.database_path + "-wal", err);
      const std::string failure = failure_;
      lock.unlock();
      done_cv_.notify_all();
      if (options_.on_failure) options_.on_failure(failure);
      lock.lock();
      break;
    }
    durable_ = target;
    lock.unlock();
    done_cv_.notify_all();
    if (options_.on_durable) options_.on_durable(target);
    lock.lock();
  }
  ended_ = true;
  lock.unlock();
  done_cv_.notify_all();
}

}  // namespace payengine::sagas
