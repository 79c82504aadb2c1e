// Synchronous::full: commits are made durable on the Store's syncer thread
// while the journal writes on. These tests hold the disk back (or make it
// refuse) through StoreOptions::before_wal_sync and check what a caller can
// see meanwhile: no answer, no published event and no read shows a commit
// before the sync that follows it has finished.
#define BOOST_TEST_MODULE durability
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "sagas/journal_actor.hpp"
#include "sagas/journal_reader.hpp"
#include "sagas/messages.hpp"
#include "sagas/store.hpp"

using namespace payengine;
using namespace payengine::sagas;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/test_durability.XXXXXX";
    const char* made = mkdtemp(tmpl);
    BOOST_REQUIRE(made != nullptr);
    path = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// The disk as the syncer's thread sees it: while `held`, every sync waits;
// a sync that goes ahead fails with `refuse` (an errno) unless it is 0.
class Disk {
 public:
  std::function<int()> hook() {
    return [this] {
      std::unique_lock<std::mutex> lock(mu_);
      ++entered_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !held_; });
      return refuse_;
    };
  }
  void hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void release(int refuse = 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = false;
      refuse_ = refuse;
    }
    cv_.notify_all();
  }
  // Waits (bounded) until `n` syncs have reached the disk's door.
  bool wait_entered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return entered_ >= n; });
  }
  // Declared after the Store: a failed check must not leave the Store's
  // destructor waiting for a disk nobody releases.
  struct ReleaseAtExit {
    Disk& disk;
    ~ReleaseAtExit() { disk.release(); }
  };

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int refuse_ = 0;
  int entered_ = 0;
};

std::unique_ptr<Store> open_store(const std::string& path, Disk* disk,
                                  Synchronous sync = Synchronous::full) {
  StoreOptions o;
  o.path = path;
  o.synchronous = sync;
  if (disk) o.before_wal_sync = disk->hook();
  auto r = Store::open(o);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  return std::move(r).value();
}

EventRecord received(const std::string& payment_id) {
  EventRecord e;
  e.payment_id = payment_id;
  e.tenant = "t1";
  e.kind = "received";
  e.state = "received";
  e.at_ms = 1000;
  e.data = "{}";
  e.publish = true;
  return e;
}

Batch batch_of(std::vector<EventRecord> events) {
  Batch b;
  b.events = std::move(events);
  return b;
}

bool wait_durable(const Store& store, uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (store.durable_commit() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_commit_is_read_and_published_only_once_on_disk) {
  TempDir dir;
  Disk disk;
  auto store = open_store(dir.file("db"), &disk);
  Disk::ReleaseAtExit release_at_exit{disk};
  auto reader = JournalReader::open(dir.file("db"), store->durability_gate());
  BOOST_REQUIRE(reader.ok());

  disk.hold();
  uint64_t n = 0;
  auto r = store->commit_deferred(batch_of({received("p1")}), &n);
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK(r[0].status == AppendStatus::ok);
  BOOST_REQUIRE(disk.wait_entered(1));  // the sync covering it waits for the disk
  BOOST_CHECK_LT(store->durable_commit(), n);

  // Committed, so the outbox counts it; not on disk, so the relay gets nothing.
  BOOST_CHECK_EQUAL(store->outbox_size(), 1);
  BOOST_CHECK(store->outbox_peek(10).empty());
  // A reader sees the row in SQLite but answers only once it is durable.
  auto read = std::async(std::launch::async, [&] { return (*reader)->payment("t1", "p1"); });
  BOOST_CHECK(read.wait_for(200ms) == std::future_status::timeout);

  disk.release();
  auto found = read.get();
  BOOST_REQUIRE(found.ok());
  BOOST_REQUIRE(found.value().has_value());
  BOOST_CHECK_EQUAL(found.value()->summary.state, "received");
  BOOST_CHECK_GE(store->durable_commit(), n);
  auto rows = store->outbox_peek(10);
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_CHECK_EQUAL(rows[0].payment_id, "p1");
  BOOST_CHECK_EQUAL(rows[0].event_seq, r[0].seq);
}

BOOST_AUTO_TEST_CASE(the_outbox_stops_at_the_first_commit_not_on_disk) {
  TempDir dir;
  Disk disk;
  auto store = open_store(dir.file("db"), &disk);
  Disk::ReleaseAtExit release_at_exit{disk};
  uint64_t first = 0, second = 0;
  store->commit_deferred(batch_of({received("p1")}), &first);
  BOOST_REQUIRE(wait_durable(*store, first));
  disk.hold();
  auto r = store->commit_deferred(batch_of({received("p2"), received("p3")}), &second);
  BOOST_REQUIRE(disk.wait_entered(2));
  auto rows = store->outbox_peek(10);
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_CHECK_EQUAL(rows[0].payment_id, "p1");
  disk.release();
  BOOST_REQUIRE(wait_durable(*store, second));
  rows = store->outbox_peek(10);
  BOOST_REQUIRE_EQUAL(rows.size(), 3u);
  BOOST_CHECK_EQUAL(rows[2].event_seq, r[1].seq);
}

BOOST_AUTO_TEST_CASE(store_commit_returns_once_on_disk) {
  TempDir dir;
  Disk disk;
  auto store = open_store(dir.file("db"), &disk);
  Disk::ReleaseAtExit release_at_exit{disk};
  disk.hold();
  auto commit = std::async(std::launch::async, [&] { return store->commit(batch_of({received("p1")})); });
  BOOST_REQUIRE(disk.wait_entered(1));
  BOOST_CHECK(commit.wait_for(200ms) == std::future_status::timeout);
  disk.release();
  auto r = commit.get();
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK(r[0].status == AppendStatus::ok);
}

BOOST_AUTO_TEST_CASE(a_refused_sync_fails_what_waits_and_every_later_write) {
  TempDir dir;
  Disk disk;
  auto store = open_store(dir.file("db"), &disk);
  Disk::ReleaseAtExit release_at_exit{disk};
  auto reader = JournalReader::open(dir.file("db"), store->durability_gate());
  BOOST_REQUIRE(reader.ok());
  disk.hold();
  auto commit = std::async(std::launch::async, [&] { return store->commit(batch_of({received("p1")})); });
  BOOST_REQUIRE(disk.wait_entered(1));
  disk.release(EIO);
  auto r = commit.get();
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK(r[0].status == AppendStatus::error);
  BOOST_CHECK_NE(r[0].detail.find("not durable"), std::string::npos);
  BOOST_CHECK_NE(r[0].detail.find(std::strerror(EIO)), std::string::npos);

  auto later = store->commit(batch_of({received("p2")}));
  BOOST_REQUIRE_EQUAL(later.size(), 1u);
  BOOST_CHECK(later[0].status == AppendStatus::error);
  BOOST_CHECK(store->events_for("p2").empty());  // not even written
  auto account = store->create_account("a1", "ZAR", 100);
  BOOST_REQUIRE(!account.ok());
  BOOST_CHECK_EQUAL(account.error().code, "wal_sync");
  auto read = (*reader)->payment("t1", "p1");
  BOOST_REQUIRE(!read.ok());
  BOOST_CHECK_EQUAL(read.error().code, "wal_sync");
  BOOST_CHECK(store->outbox_peek(10).empty());
}

// The inline and normal modes answer at once and read everything committed.
BOOST_AUTO_TEST_CASE(inline_and_normal_modes_have_nothing_to_wait_for) {
  for (Synchronous sync : {Synchronous::full_inline, Synchronous::normal}) {
    BOOST_TEST_CONTEXT(to_string(sync)) {
      TempDir dir;
      auto store = open_store(dir.file("db"), nullptr, sync);
      BOOST_CHECK(!store->durability_gate());
      uint64_t n = 0;
      store->commit_deferred(batch_of({received("p1")}), &n);
      BOOST_CHECK_GE(store->durable_commit(), n);
      BOOST_CHECK_EQUAL(store->outbox_peek(10).size(), 1u);
    }
  }
  BOOST_CHECK(parse_synchronous("full-inline") == Synchronous::full_inline);
  BOOST_CHECK(!parse_synchronous("FULL"));
}

// The journal actor answers an append only once its commit is on disk, and
// answers batches in the order they committed.
BOOST_AUTO_TEST_CASE(the_journal_answers_appends_once_on_disk) {
  TempDir dir;
  Disk disk;
  auto store = open_store(dir.file("db"), &disk);
  Disk::ReleaseAtExit release_at_exit{disk};
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  {
    caf::actor journal = spawn_journal(system, std::move(store), 4096);
    caf::scoped_actor self{system};
    Disk::ReleaseAtExit release_journal_at_exit{disk};
    disk.hold();
    self->send(journal, append_atom::value, std::vector<EventRecord>{received("p1")});
    BOOST_REQUIRE(disk.wait_entered(1));
    self->send(journal, append_atom::value, std::vector<EventRecord>{received("p2")});
    bool early = false;
    self->receive([&](std::vector<AppendResult>&) { early = true; },
                  caf::after(std::chrono::milliseconds(200)) >> [] {});
    BOOST_CHECK_MESSAGE(!early, "an append was answered before its commit reached the disk");

    disk.release();
    std::vector<int64_t> seqs;
    for (int i = 0; i < 2; ++i)
      self->receive(
          [&](std::vector<AppendResult>& r) {
            BOOST_REQUIRE_EQUAL(r.size(), 1u);
            BOOST_CHECK(r[0].status == AppendStatus::ok);
            seqs.push_back(r[0].seq);
          },
          caf::after(std::chrono::seconds(10)) >> [] { BOOST_FAIL("no answer after the disk synced"); });
    BOOST_REQUIRE_EQUAL(seqs.size(), 2u);
    BOOST_CHECK_LT(seqs[0], seqs[1]);

    // The disk refuses: what waits is answered as not durable.
    disk.hold();
    self->send(journal, append_atom::value, std::vector<EventRecord>{received("p3")});
    BOOST_REQUIRE(disk.wait_entered(3));
    disk.release(EIO);
    self->receive(
        [&](std::vector<AppendResult>& r) {
          BOOST_REQUIRE_EQUAL(r.size(), 1u);
          BOOST_CHECK(r[0].status == AppendStatus::error);
          BOOST_CHECK_NE(r[0].detail.find("not durable"), std::string::npos);
        },
        caf::after(std::chrono::seconds(10)) >> [] { BOOST_FAIL("no answer after the disk refused"); });
    self->send_exit(journal, caf::exit_reason::user_shutdown);
  }
}
