// OutboxRelay: a window of events in flight, in seq order.
//
// The thread reads batches of `batch_rows` events past the last one it
// produced (Store::outbox_peek with after_seq) while fewer than
// `max_in_flight` are unconfirmed, produces them, and serves delivery
// reports. Confirmed events leave the front of the window in order; the
// cursor (Store::outbox_delete_through) follows them, written at most every
// `cursor_interval_ms` or every `batch_rows` events (each write is a SQLite
// transaction on the journal's thread). Several batches overlap: against
// librdkafka's mock cluster one produce round trip over 16 partitions takes
// ~50 ms whatever the batch size, so one batch at a time capped the relay
// at ~20k events/s.
//
// A failed delivery anywhere in the window rewinds: nothing new is
// produced until every report of the window is in, the cursor moves through
// the confirmed prefix, and reading starts again from the cursor, so the
// failed event and everything after it are sent again, in order. A producer
// that reports a fatal error (possible with the idempotent producer) is
// replaced before that.
#include "actors/outbox_relay.hpp"

#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "actors/engine.hpp"
#include "sagas/payment.hpp"

namespace payengine::kafka {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The event's "state" field is a final state (completed, rejected, ...).
bool is_terminal_payload(const std::string& payload) {
  static const std::string marker = "\"state\":\"";
  size_t at = payload.find(marker);
  if (at == std::string::npos) return false;
  at += marker.size();
  size_t end = payload.find('"', at);
  if (end == std::string::npos) return false;
  auto s = payment_state_from_string(std::string_view(payload).substr(at, end - at));
  return s && is_final(*s);
}

enum class Status : uint8_t { pending, ok, failed };

struct Slot {
  int64_t seq = 0;
  std::string payment_id;
  bool terminal = false;
  Status status = Status::pending;
};

}  // namespace

struct OutboxRelay::Impl {
  Engine& engine;
  RelayConfig cfg;
  RelayStats stats;
  rd_kafka_t* producer = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::mutex wake_mu;
  std::condition_variable wake_cv;

  // Produced and not yet behind the cursor, ascending seq. Reports find
  // their slot by seq (the message opaque).
  std::deque<Slot> window;
  size_t unreported = 0;          // slots still pending
  int64_t produced_through = 0;   // seq of the last event produced (0: read from the cursor)
  int64_t confirmed_through = 0;  // every event up to here delivered (window front popped)
  int64_t cursor = 0;             // what the Store's cursor says (as far as we moved it)
  int64_t cursor_written_ms = 0;
  bool rewinding = false;  // a failure: produce nothing new, drain, read again from the cursor

  Impl(Engine& e, RelayConfig c) : engine(e), cfg(std::move(c)) {}
  ~Impl() {
    if (producer) rd_kafka_destroy(producer);
  }

  static void report_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    static_cast<Impl*>(opaque)->on_report(m);
  }

  static void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    auto* self = static_cast<Impl*>(rd_kafka_opaque(rk));
    if (self)
      log_line(self->cfg.log, "librdkafka " + std::to_string(level) + " " + fac + ": " + buf);
  }

  void on_report(const rd_kafka_message_t* m) {
    const int64_t seq = static_cast<int64_t>(reinterpret_cast<intptr_t>(m->_private));
    auto it = std::lower_bound(window.begin(), window.end(), seq,
                               [](const Slot& a, int64_t s) { return a.seq < s; });
    if (it == window.end() || it->seq != seq || it->status != Status::pending) return;
    --unreported;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      it->status = Status::ok;
      stats.delivered.fetch_add(1, std::memory_order_relaxed);
    } else {
      it->status = Status::failed;
      rewinding = true;  // produce nothing new; resend from the cursor once all reports are in
      stats.delivery_failures.fetch_add(1, std::memory_order_relaxed);
      log_line(cfg.log, "outbox relay: delivery of event seq " + std::to_string(seq) +
                            " failed: " + rd_kafka_err2str(m->err));
    }
  }

  Result<Unit> make_producer() {
    auto conf = make_client_conf(ClientRole::producer, cfg.bootstrap,
                                 {{"linger.ms", "5"},
                                  {"message.timeout.ms", "0"},  // retried until delivered
                                  {"compression.type", "lz4"},
                                  {"client.id", "payengine-outbox-relay"}},
                                 cfg.properties);
    if (!conf.ok()) return conf.error();
    rd_kafka_conf_set_opaque(conf.value(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.value(), &Impl::report_cb);
    rd_kafka_conf_set_log_cb(conf.value(), &Impl::log_cb);
    char err[512];
    producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf.value(), err, sizeof err);
    if (!producer) {
      rd_kafka_conf_destroy(conf.value());
      return Error{"kafka", std::string("outbox relay producer: ") + err};
    }
    return Unit{};
  }

  void sleep_ms(int64_t ms) {
    std::unique_lock<std::mutex> lock(wake_mu);
    wake_cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping.load(); });
  }

  void count_backlog() {
    int64_t n = -1;
    engine.with_store([&](sagas::Store& s) { n = s.outbox_size(); });
    stats.backlog.store(n, std::memory_order_relaxed);
  }

  // Produces one event; false when librdkafka refused it (not queue-full)
  // or stopping interrupted a wait for queue space.
  bool produce(const sagas::OutboxRow& row) {
    for (;;) {
      rd_kafka_headers_t* h = nullptr;
      if (cfg.traces) {
        if (auto tp = cfg.traces->get(row.payment_id)) {
          h = rd_kafka_headers_new(1);
          rd_kafka_header_add(h, "traceparent", -1, tp->data(), static_cast<ssize_t>(tp->size()));
        }
      }
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(cfg.topic.c_str()),
          RD_KAFKA_V_KEY(row.payment_id.data(), row.payment_id.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(row.payload.data()), row.payload.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<intptr_t>(row.seq))),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        stats.produced.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
      if (h) rd_kafka_headers_destroy(h);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        log_line(cfg.log, std::string("outbox relay: produce: ") + rd_kafka_err2str(err));
        return false;
      }
      if (stopping.load()) return false;
      rd_kafka_poll(producer, 10);
    }
  }

  // Reads and produces one batch; false when nothing new was waiting.
  bool produce_batch() {
    std::vector<sagas::OutboxRow> rows;
    const int64_t after = produced_through;
    engine.with_store([&](sagas::Store& s) { rows = s.outbox_peek(cfg.batch_rows, after); });
    if (rows.empty()) return false;
    stats.batches.fetch_add(1, std::memory_order_relaxed);
    for (const auto& row : rows) {
      if (row.seq <= produced_through) continue;  // cannot happen: peek reads past `after`
      window.push_back(
          Slot{row.seq, row.payment_id, is_terminal_payload(row.payload), Status::pending});
      ++unreported;
      if (!produce(row)) {
        // Not handed over: treat it as a failed delivery (rewind, resend).
        window.back().status = Status::failed;
        --unreported;
        rewinding = true;
        stats.delivery_failures.fetch_add(1, std::memory_order_relaxed);
        produced_through = row.seq;
        return true;
      }
      produced_through = row.seq;
    }
    return true;
  }

  // Pops the confirmed front of the window; moves the cursor when due.
  void confirm(bool force_cursor) {
    while (!window.empty() && window.front().status == Status::ok) {
      const Slot& f = window.front();
      confirmed_through = f.seq;
      if (f.terminal && cfg.traces) cfg.traces->erase(f.payment_id);
      window.pop_front();
    }
    const int64_t now = now_ms();
    const bool due = force_cursor || now - cursor_written_ms >= cfg.cursor_interval_ms;
    if (confirmed_through > cursor && due) write_cursor(confirmed_through);
  }

  void write_cursor(int64_t through) {
    Result<Unit> moved = Error{"sqlite", "not run"};
    engine.with_store([&](sagas::Store& s) { moved = s.outbox_delete_through(through); });
    cursor_written_ms = now_ms();
    if (moved.ok()) {
      cursor = through;
      stats.relayed_through_seq.store(through, std::memory_order_relaxed);
    } else {
      log_line(cfg.log, "outbox relay: moving the cursor to " + std::to_string(through) +
                            " failed: " + moved.error().message);
    }
  }

  // After a failure: every report is in; resend from the cursor.
  void finish_rewind() {
    confirm(/*force_cursor=*/true);
    stats.resends.fetch_add(1, std::memory_order_relaxed);
    char reason[256];
    if (rd_kafka_fatal_error(producer, reason, sizeof reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log_line(cfg.log,
               std::string("outbox relay: producer failed fatally (") + reason + "); replacing it");
      rd_kafka_destroy(producer);
      producer = nullptr;
      while (!stopping.load() && !make_producer().ok()) sleep_ms(cfg.retry_backoff_ms);
    }
    window.clear();
    unreported = 0;
    produced_through = cursor;
    rewinding = false;
    sleep_ms(cfg.retry_backoff_ms);
  }

  void run() {
    int64_t next_backlog_ms = 0;
    while (!stopping.load()) {
      if (now_ms() >= next_backlog_ms) {
        count_backlog();
        next_backlog_ms = now_ms() + cfg.backlog_interval_ms;
      }
      bool produced = false;
      if (!rewinding && window.size() + cfg.batch_rows <= cfg.max_in_flight)
        produced = produce_batch();
      // Serve reports: wait a little when there is nothing else to do.
      const bool idle =
          !produced &&
          (rewinding || window.size() + cfg.batch_rows > cfg.max_in_flight || window.empty());
      rd_kafka_poll(producer, idle && !window.empty() ? 5 : 0);
      confirm(/*force_cursor=*/window.empty());
      if (rewinding && unreported == 0) {
        finish_rewind();
        continue;
      }
      if (!produced && window.empty()) sleep_ms(cfg.idle_wait_ms);
    }
    // Stop: wait (bounded) for the reports of what is in flight, then move
    // the cursor through what was confirmed. The rest is sent by the next run.
    const int64_t deadline = now_ms() + cfg.stop_timeout_ms;
    while (unreported > 0 && now_ms() < deadline) rd_kafka_poll(producer, 10);
    if (unreported > 0) {
      rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(producer, 0);
    }
    confirm(/*force_cursor=*/true);
    count_backlog();
  }
};

OutboxRelay::OutboxRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<OutboxRelay>> OutboxRelay::start(Engine& engine, RelayConfig config) {
  if (config.batch_rows == 0 || config.max_in_flight < config.batch_rows)
    return Error{"kafka_config", "batch_rows must be at least 1 and at most max_in_flight"};
  auto impl = std::make_unique<Impl>(engine, std::move(config));
  if (auto made = impl->make_producer(); !made.ok()) return made.error();
  Impl* self = impl.get();
  self->thread = std::thread([self] {
    pthread_setname_np(pthread_self(), "pe.outbox");
    self->run();
  });
  return std::unique_ptr<OutboxRelay>(new OutboxRelay(std::move(impl)));
}

OutboxRelay::~OutboxRelay() { stop(); }

void OutboxRelay::stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->wake_mu);
    impl_->stopping.store(true);
  }
  impl_->wake_cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const RelayStats& OutboxRelay::stats() const { return impl_->stats; }

}  // namespace payengine::kafka
