// CommandConsumer: one poll thread owns every piece of state below; the
// Engine's reply handlers (CAF worker threads) only push into `Inbox`.
//
// Per assigned partition the thread keeps the offsets it has read, in order,
// each marked done once its command is complete (durable in the journal, or
// acknowledged by the DLQ). The committed offset is one past the longest
// done prefix, so nothing still in flight is ever committed past.
//
// A partition's state carries a generation: after a revoke and a new
// assignment, answers for commands of the old generation are ignored (the
// new owner reads them again; a redelivered initiate is replayed).
#include "actors/command_consumer.hpp"

#include <librdkafka/rdkafka.h>
#include <simdjson.h>
#include <pthread.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include "actors/engine.hpp"
#include "actors/fast_json.hpp"
#include "sagas/money.hpp"
#include "sagas/payment_saga.hpp"
#include "sagas/rng.hpp"
#include "sagas/validation.hpp"

namespace payengine::kafka {

namespace {

using sagas::CancelReply;
using sagas::IdempotencyClaim;
using sagas::InitiateReply;
using SteadyClock = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

constexpr size_t kMaxCommandIdChars = 128;
constexpr size_t kReadBurst = 512;  // messages read per loop turn at most
constexpr int64_t kDlqRetryMs = 200;

struct Header {
  std::string name;
  std::optional<std::string> value;  // Kafka headers may have null values
};

struct Rejection {
  std::string code;  // see command_consumer.hpp
  std::string message;
  std::string field;   // dotted path in the envelope, "" when none
  std::string reason;  // ISO 20022 reason code, "" when none
};

enum class Kind : uint8_t { initiate, cancel };
enum class Stage : uint8_t { engine, dlq };

struct Command {
  int32_t partition = 0;
  int64_t offset = 0;
  uint64_t generation = 0;
  // The message as read.
  std::optional<std::string> key;
  std::string value;
  std::vector<Header> headers;
  std::string traceparent;  // a valid W3C traceparent header, or ""
  // Parsed.
  Kind kind = Kind::initiate;
  std::string id;
  std::string tenant;
  PaymentInstruction instruction;
  IdempotencyClaim claim;
  std::string cancel_payment_id;
  std::string cancel_initiate_id;
  std::string cancel_field;  // where the payment was named
  // Progress.
  Stage stage = Stage::engine;
  Rejection rejection;      // stage dlq
  uint32_t retries = 0;     // for backoff
  uint32_t failures = 0;    // failed answers from the engine
  bool overloaded = false;  // the latest engine answer was overloaded
  bool keyed = false;       // holds a place in its partition's by_key queue
};

struct Entry {
  int64_t offset;
  bool done;
};

struct PartitionState {
  uint64_t generation = 0;
  std::deque<Entry> entries;  // offsets read and not yet committed past, ascending
  int64_t last_read = -1;     // highest offset read in this generation
  int64_t commit_pos = -1;    // next offset after the done prefix (-1: none yet)
  int64_t commit_sent = -1;   // last offset handed to rd_kafka_commit
  // Commands with the same key run one at a time, in offset order: the
  // front of each queue is the one running.
  std::unordered_map<std::string, std::deque<uint64_t>> by_key;
};

// Where the Engine's answers land: filled on CAF worker threads, drained by
// the poll thread. Shared with the handlers so a late answer after stop()
// finds it alive.
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<uint64_t, InitiateReply>> replies;

  // Wakes the poll thread only when the inbox was empty: a waiting poll
  // thread saw it empty (cv predicate), and it takes everything there when
  // it wakes. A wake per reply cost a futex call and a context switch each.
  void push(uint64_t token, const InitiateReply& r) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(mu);
      was_empty = replies.empty();
      replies.emplace_back(token, r);
    }
    if (was_empty) cv.notify_one();
  }
};

// At most `per_s` lines a second; the rest are counted and summarised.
class RateLimitedLog {
 public:
  RateLimitedLog(LogFn fn, size_t per_s) : fn_(std::move(fn)), per_s_(per_s) {}
  void operator()(const std::string& line) {
    int64_t t = now_ms();
    if (t - window_start_ms_ >= 1000) {
      if (suppressed_ > 0)
        log_line(fn_, "kafka consumer: " + std::to_string(suppressed_) + " log lines suppressed");
      window_start_ms_ = t;
      in_window_ = 0;
      suppressed_ = 0;
    }
    if (in_window_ < per_s_) {
      ++in_window_;
      log_line(fn_, line);
    } else {
      ++suppressed_;
    }
  }

 private:
  LogFn fn_;
  size_t per_s_;
  int64_t window_start_ms_ = 0;
  size_t in_window_ = 0;
  uint64_t suppressed_ = 0;
};

// Nesting depth of JSON text, counted outside strings; stops early past `limit`.
size_t json_depth(const std::string& s, size_t limit) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > limit) return max_depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string type_name(const nlohmann::json& j) {
  if (j.is_number_integer()) return "integer";
  if (j.is_number_float()) return "number";
  return j.type_name();
}

// A short, printable rendering of a JSON value for error messages.
std::string show(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 64) s = s.substr(0, 61) + "...";
  return s;
}

// Reads a required non-empty string field of the envelope.
std::optional<Rejection> required_string(const nlohmann::json& o, const char* name,
                                         const std::string& path, std::string& out) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null())
    return Rejection{"missing_field", path + " is missing", path, ""};
  if (!it->is_string())
    return Rejection{"invalid_field", path + " must be a string, got " + type_name(*it), path, ""};
  out = it->get<std::string>();
  if (out.empty()) return Rejection{"missing_field", path + " is empty", path, ""};
  return std::nullopt;
}

bool printable_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Turns an optional decimal `amount` (major units) into `amount_minor`.
std::optional<Rejection> normalise_amount(nlohmann::json& payload) {
  auto amount = payload.find("amount");
  auto minor = payload.find("amount_minor");
  if (amount != payload.end() && minor != payload.end())
    return Rejection{"invalid", "give payload.amount_minor or payload.amount, not both",
                     "payload.amount", "AM12"};
  if (amount != payload.end()) {
    if (!amount->is_string())
      return Rejection{
          "invalid",
          "payload.amount must be a decimal string such as \"100.25\", got " + show(*amount),
          "payload.amount", "AM12"};
    auto cur = payload.find("currency");
    std::optional<int> decimals;
    if (cur != payload.end() && cur->is_string())
      decimals = currency_decimals(cur->get<std::string>());
    if (!decimals)
      return Rejection{"invalid", "payload.currency is not an ISO 4217 currency",
                       "payload.currency", "AM03"};
    std::string text = amount->get<std::string>();
    auto value = parse_decimal(text, *decimals);
    if (!value)
      return Rejection{"invalid",
                       "payload.amount \"" + text + "\" is not a positive decimal with at most " +
                           std::to_string(*decimals) + " decimals for " + cur->get<std::string>(),
                       "payload.amount", "AM12"};
    payload.erase("amount");
    payload["amount_minor"] = *value;
    return std::nullopt;
  }
  if (minor == payload.end() || minor->is_null())
    return Rejection{"invalid", "payload.amount_minor is missing", "payload.amount_minor", "AM12"};
  if (!minor->is_number_integer())
    return Rejection{
        "invalid",
        "payload.amount_minor must be an integer number of minor units, got " + show(*minor),
        "payload.amount_minor", "AM12"};
  return std::nullopt;
}

// At most kMaxCommandIdChars printable ASCII characters, no spaces.
bool valid_command_id(const std::string& id) {
  return id.size() <= kMaxCommandIdChars && printable_ascii(id);
}

// The initiate's idempotency claim: its command id, and a hash of the
// canonical instruction (a redelivery replays, another instruction conflicts).
void set_claim(Command& c) {
  c.claim.key = "kafka:" + c.id;
  c.claim.request_hash = "fnv1a64:" + hex64(fnv1a(sagas::instruction_to_json(c.instruction)));
}

// The common case read fast (actors/fast_json.hpp): a well-formed
// payment.initiate that passes every check the full path below makes.
// False: take the full path, which accepts nothing this refused and says
// precisely what is wrong.
bool accept_fast(Command& c, simdjson::dom::parser& parser) {
  auto f = parse_initiate_fast(parser, c.value, c.value.capacity());
  if (!f) return false;
  if (f->id.empty() || !valid_command_id(f->id)) return false;
  if (f->tenant.empty()) return false;
  if (!f->payload_tenant.empty() && f->payload_tenant != f->tenant) return false;
  if (validate(f->instruction)) return false;
  c.kind = Kind::initiate;
  c.id = std::move(f->id);
  c.tenant = std::move(f->tenant);
  c.instruction = std::move(f->instruction);
  set_claim(c);
  return true;
}

// Parses and validates a command; fills `c` or says why it is rejected.
std::optional<Rejection> parse_command(Command& c, const ConsumerConfig& cfg,
                                       simdjson::dom::parser& fast) {
  if (c.value.size() > cfg.max_command_bytes)
    return Rejection{"malformed",
                     "command is " + std::to_string(c.value.size()) +
                         " bytes, more than the limit of " + std::to_string(cfg.max_command_bytes),
                     "", "FF01"};
  if (json_depth(c.value, cfg.max_json_depth) > cfg.max_json_depth)
    return Rejection{"malformed", "JSON nested deeper than " + std::to_string(cfg.max_json_depth),
                     "", "FF01"};
  if (accept_fast(c, fast)) return std::nullopt;
  nlohmann::json env;
  try {
    env = nlohmann::json::parse(c.value);
  } catch (const nlohmann::json::parse_error& e) {
    return Rejection{"malformed", std::string("not valid JSON: ") + e.what(), "", "FF01"};
  }
  if (!env.is_object())
    return Rejection{"malformed", "command must be a JSON object, got " + type_name(env), "",
                     "FF01"};

  std::string type;
  if (auto r = required_string(env, "type", "type", type)) return r;
  if (type == "payment.initiate") {
    c.kind = Kind::initiate;
  } else if (type == "payment.cancel") {
    c.kind = Kind::cancel;
  } else {
    return Rejection{"unknown_type",
                     "type \"" + type + "\" is not payment.initiate or payment.cancel", "type", ""};
  }
  auto version = env.find("version");
  if (version == env.end() || version->is_null())
    return Rejection{"missing_field", "version is missing", "version", ""};
  if (!version->is_number_integer() || version->get<int64_t>() != 1)
    return Rejection{"unsupported_version",
                     "version " + show(*version) + " is not supported (supported: 1)", "version",
                     ""};
  if (auto r = required_string(env, "id", "id", c.id)) return r;
  if (!valid_command_id(c.id))
    return Rejection{"invalid_field",
                     "id must be 1.." + std::to_string(kMaxCommandIdChars) +
                         " printable ASCII characters without spaces",
                     "id", ""};
  if (auto r = required_string(env, "tenant", "tenant", c.tenant)) return r;
  auto payload = env.find("payload");
  if (payload == env.end() || payload->is_null())
    return Rejection{"missing_field", "payload is missing", "payload", ""};
  if (!payload->is_object())
    return Rejection{"invalid_field", "payload must be an object, got " + type_name(*payload),
                     "payload", ""};

  if (c.kind == Kind::cancel) {
    for (const char* name : {"payment_id", "initiate_id"}) {
      auto it = payload->find(name);
      if (it == payload->end() || it->is_null()) continue;
      std::string path = std::string("payload.") + name;
      if (!it->is_string() || it->get<std::string>().empty())
        return Rejection{"invalid_field", path + " must be a non-empty string", path, ""};
      (name[0] == 'p' ? c.cancel_payment_id : c.cancel_initiate_id) = it->get<std::string>();
      c.cancel_field = path;
      break;
    }
    if (c.cancel_field.empty()) {
      if (!c.key || c.key->empty())
        return Rejection{"missing_field",
                         "a cancel names its payment by payload.payment_id, payload.initiate_id "
                         "or the message key",
                         "payload.payment_id", ""};
      c.cancel_payment_id = *c.key;
      c.cancel_field = "key";
    }
    return std::nullopt;
  }

  // payment.initiate
  auto ptenant = payload->find("tenant");
  if (ptenant == payload->end() || ptenant->is_null() ||
      (ptenant->is_string() && ptenant->get<std::string>().empty())) {
    (*payload)["tenant"] = c.tenant;
  } else if (!ptenant->is_string() || ptenant->get<std::string>() != c.tenant) {
    return Rejection{"tenant_mismatch",
                     "payload.tenant " + show(*ptenant) + " differs from the envelope tenant \"" +
                         c.tenant + "\"",
                     "payload.tenant", ""};
  }
  if (auto r = normalise_amount(*payload)) return r;
  auto parsed = sagas::instruction_from_json(*payload);
  if (!parsed.ok())
    return Rejection{"invalid", parsed.error().message, "payload", parsed.error().code};
  c.instruction = std::move(parsed.value());
  if (auto v = validate(c.instruction))
    return Rejection{"invalid", v->message, "payload." + v->field, v->reason_code};
  set_claim(c);
  return std::nullopt;
}

}  // namespace

struct CommandConsumer::Impl {
  Engine& engine;
  ConsumerConfig cfg;
  ConsumerStats stats;
  RateLimitedLog log;
  std::shared_ptr<Inbox> inbox = std::make_shared<Inbox>();
  simdjson::dom::parser fast_parser;  // the poll thread's

  rd_kafka_t* consumer = nullptr;
  rd_kafka_t* dlq = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};

  // Poll-thread state.
  std::map<int32_t, PartitionState> parts;
  std::unordered_map<uint64_t, Command> pending;  // token -> command
  std::multimap<int64_t, uint64_t> retries;       // due (steady ms) -> token
  // Initiates answered overloaded, oldest first: sent again as soon as the
  // engine has room (Engine::admission_room), not after a growing backoff,
  // so that intake under pressure runs at the rate sagas finish.
  std::deque<uint64_t> awaiting_room;
  int64_t no_room_since_ms = 0;  // since then nothing waiting could be sent
  uint64_t next_token = 1;
  uint64_t next_generation = 1;
  size_t overloaded_waiting = 0;  // commands whose latest answer was overloaded
  size_t dlq_outstanding = 0;     // DLQ records produced, report not yet served
  bool pressure_paused = false;
  bool fetch_committed = false;  // new assignment: read the group's committed offsets
  int64_t next_commit_ms = 0;
  int64_t next_stats_ms = 0;

  // Confirmed commits, readable from other threads.
  mutable std::mutex committed_mu;
  std::map<int32_t, int64_t> committed_confirmed;

  Impl(Engine& e, ConsumerConfig c)
      : engine(e), cfg(std::move(c)), log(cfg.log, cfg.max_log_lines_per_s) {}

  ~Impl() {
    if (consumer) rd_kafka_destroy(consumer);
    if (dlq) rd_kafka_destroy(dlq);
  }

  // ---- librdkafka callbacks (served on the poll thread) ----

  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* list, void* opaque) {
    static_cast<Impl*>(opaque)->on_rebalance(rk, err, list);
  }

  static void commit_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list,
                        void* opaque) {
    static_cast<Impl*>(opaque)->on_committed(err, list);
  }

  static void dlq_report_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    static_cast<Impl*>(opaque)->on_dlq_report(m);
  }

  static void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    auto* self = static_cast<Impl*>(rd_kafka_opaque(rk));
    if (self)
      log_line(self->cfg.log, "librdkafka " + std::to_string(level) + " " + fac + ": " + buf);
  }

  void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                    rd_kafka_topic_partition_list_t* list) {
    const bool cooperative = std::string(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < list->cnt; ++i) {
        PartitionState ps;
        ps.generation = next_generation++;
        parts[list->elems[i].partition] = std::move(ps);
      }
      if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, list)) {
          log("kafka consumer: incremental assign: " + std::string(rd_kafka_error_string(e)));
          rd_kafka_error_destroy(e);
        }
      } else {
        rd_kafka_assign(rk, list);
      }
      if (pressure_paused) rd_kafka_pause_partitions(rk, list);
      fetch_committed = true;
    } else {
      // Revoked (or an error): commit what is complete, forget the rest.
      commit(/*sync=*/true);
      for (int i = 0; i < list->cnt; ++i) drop_partition(list->elems[i].partition);
      if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        log(std::string("kafka consumer: rebalance error: ") + rd_kafka_err2str(err));
      if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, list))
          rd_kafka_error_destroy(e);
      } else {
        rd_kafka_assign(rk, nullptr);
      }
    }
    stats.assigned_partitions.store(parts.size(), std::memory_order_relaxed);
  }

  void drop_partition(int32_t partition) {
    parts.erase(partition);
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->second.partition == partition) {
        if (it->second.overloaded) --overloaded_waiting;
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    stats.in_flight.store(pending.size(), std::memory_order_relaxed);
  }

  void on_committed(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list) {
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing to commit
    bool any_failed = err != RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; list && i < list->cnt; ++i) {
      const auto& tp = list->elems[i];
      auto ps = parts.find(tp.partition);
      if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR || err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        any_failed = true;
        if (ps != parts.end()) ps->second.commit_sent = -1;  // send again next round
        continue;
      }
      if (ps == parts.end()) continue;
      std::lock_guard<std::mutex> lock(committed_mu);
      auto& c = committed_confirmed[tp.partition];
      c = std::max(c, tp.offset);
    }
    if (any_failed) {
      stats.commit_failures.fetch_add(1, std::memory_order_relaxed);
      log(std::string("kafka consumer: offset commit failed: ") + rd_kafka_err2str(err));
    } else {
      stats.commits.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // ---- commands ----

  void complete(uint64_t token) {
    auto it = pending.find(token);
    if (it == pending.end()) return;
    Command& c = it->second;
    auto ps = parts.find(c.partition);
    if (ps != parts.end() && ps->second.generation == c.generation) {
      auto& entries = ps->second.entries;
      auto e = std::lower_bound(entries.begin(), entries.end(), c.offset,
                                [](const Entry& a, int64_t off) { return a.offset < off; });
      if (e != entries.end() && e->offset == c.offset) e->done = true;
      while (!entries.empty() && entries.front().done) {
        ps->second.commit_pos = entries.front().offset + 1;
        entries.pop_front();
      }
      if (c.keyed) release_key(ps->second, *c.key, token);
    }
    if (c.overloaded) --overloaded_waiting;
    pending.erase(it);
    stats.in_flight.store(pending.size(), std::memory_order_relaxed);
  }

  // The next command with this key may start (through the retry queue, so
  // that completing never recurses into starting).
  void release_key(PartitionState& ps, const std::string& key, uint64_t token) {
    auto kq = ps.by_key.find(key);
    if (kq == ps.by_key.end()) return;
    auto& q = kq->second;
    auto pos = std::find(q.begin(), q.end(), token);
    if (pos == q.end()) return;
    const bool was_running = pos == q.begin();
    q.erase(pos);
    if (q.empty()) {
      ps.by_key.erase(kq);
    } else if (was_running) {
      retry_later(q.front(), 0);
    }
  }

  void start_command(uint64_t token) {
    Command& c = pending.at(token);
    if (c.kind == Kind::initiate) {
      dispatch_initiate(token, c);
    } else {
      run_cancel(token);
    }
  }

  int64_t backoff_ms(uint32_t retries) const {
    int64_t b = cfg.backoff_initial_ms;
    for (uint32_t i = 0; i < retries && b < cfg.backoff_max_ms; ++i) b *= 2;
    return std::min(b, cfg.backoff_max_ms);
  }

  void retry_later(uint64_t token, int64_t delay_ms) {
    retries.emplace(now_ms() + delay_ms, token);
  }

  void set_overloaded(Command& c, bool overloaded) {
    if (c.overloaded == overloaded) return;
    c.overloaded = overloaded;
    overloaded ? ++overloaded_waiting : --overloaded_waiting;
  }

  // The reply handler runs on a CAF worker: it records the trace context at
  // once (before the saga's later events reach the relay) and queues the
  // answer for the poll thread.
  void dispatch_initiate(uint64_t token, const Command& c) {
    std::shared_ptr<Inbox> box = inbox;
    std::shared_ptr<TraceContexts> traces = c.traceparent.empty() ? nullptr : cfg.traces;
    engine.initiate_async(
        c.instruction, c.claim, [box, token, traces, tp = c.traceparent](const InitiateReply& r) {
          if (traces && !r.payment_id.empty()) {
            if (r.status == InitiateReply::Status::accepted) {
              traces->put(r.payment_id, tp);
            } else if (r.status == InitiateReply::Status::replayed) {
              traces->put_if_absent(r.payment_id, tp);  // a redelivery after a restart
            }
          }
          box->push(token, r);
        });
  }

  void on_initiate_reply(uint64_t token, const InitiateReply& r) {
    auto it = pending.find(token);
    if (it == pending.end()) return;  // revoked meanwhile
    Command& c = it->second;
    switch (r.status) {
      case InitiateReply::Status::accepted:
      case InitiateReply::Status::replayed:
        (r.status == InitiateReply::Status::accepted ? stats.initiated : stats.replayed)
            .fetch_add(1, std::memory_order_relaxed);
        complete(token);
        return;
      case InitiateReply::Status::conflict:
        set_overloaded(c, false);
        send_to_dlq(token, Rejection{"conflict",
                                     "command id \"" + c.id +
                                         "\" was used before with another instruction (payment " +
                                         r.payment_id + ")",
                                     "id", ""});
        return;
      case InitiateReply::Status::overloaded:
        stats.overloaded.fetch_add(1, std::memory_order_relaxed);
        set_overloaded(c, true);
        if (awaiting_room.empty()) no_room_since_ms = now_ms();
        awaiting_room.push_back(token);
        return;
      case InitiateReply::Status::failed:
        set_overloaded(c, false);
        engine_failed(token, c, r.detail);
        return;
    }
  }

  void engine_failed(uint64_t token, Command& c, const std::string& detail) {
    stats.engine_failures.fetch_add(1, std::memory_order_relaxed);
    if (++c.failures >= cfg.failed_attempts) {
      send_to_dlq(token,
                  Rejection{"engine_failed",
                            "the engine failed " + std::to_string(c.failures) + " times: " + detail,
                            "", ""});
      return;
    }
    log("kafka consumer: command " + c.id + " failed (" + detail + "), retrying");
    retry_later(token, backoff_ms(c.retries++));
  }

  void run_cancel(uint64_t token) {
    Command& c = pending.at(token);
    std::string payment_id = c.cancel_payment_id;
    bool found = false;
    engine.with_store([&](sagas::Store& s) {
      if (payment_id.empty()) {
        auto e = s.idempotency(c.tenant, "kafka:" + c.cancel_initiate_id);
        if (!e) return;
        payment_id = e->payment_id;
      }
      auto sg = s.saga(payment_id);
      found = sg && sg->tenant == c.tenant;
    });
    if (!found) {
      std::string named = c.cancel_initiate_id.empty()
                              ? "payment \"" + c.cancel_payment_id + "\""
                              : "initiate command \"" + c.cancel_initiate_id + "\"";
      send_to_dlq(token, Rejection{"not_found", "no " + named + " for tenant \"" + c.tenant + "\"",
                                   c.cancel_field, ""});
      return;
    }
    CancelReply r = engine.cancel(payment_id, std::chrono::milliseconds(cfg.cancel_timeout_ms));
    switch (r.status) {
      case CancelReply::Status::accepted:
        stats.cancels_accepted.fetch_add(1, std::memory_order_relaxed);
        complete(token);
        return;
      case CancelReply::Status::too_late:
      case CancelReply::Status::already_final:
        stats.cancels_refused.fetch_add(1, std::memory_order_relaxed);
        complete(token);
        return;
      case CancelReply::Status::not_found:
        send_to_dlq(
            token, Rejection{"not_found", "no payment \"" + payment_id + "\"", c.cancel_field, ""});
        return;
      case CancelReply::Status::failed:
        engine_failed(token, c, r.state);
        return;
    }
  }

  void send_to_dlq(uint64_t token, Rejection why) {
    Command& c = pending.at(token);
    c.stage = Stage::dlq;
    c.rejection = std::move(why);
    produce_dlq(token);
  }

  void produce_dlq(uint64_t token) {
    const Command& c = pending.at(token);
    rd_kafka_headers_t* h = rd_kafka_headers_new(c.headers.size() + 8);
    for (const Header& hd : c.headers)
      rd_kafka_header_add(h, hd.name.data(), static_cast<ssize_t>(hd.name.size()),
                          hd.value ? hd.value->data() : nullptr,
                          hd.value ? static_cast<ssize_t>(hd.value->size()) : 0);
    auto add = [&](const char* name, const std::string& v) {
      rd_kafka_header_add(h, name, -1, v.data(), static_cast<ssize_t>(v.size()));
    };
    add("error.code", c.rejection.code);
    add("error.message", c.rejection.message);
    if (!c.rejection.field.empty()) add("error.field", c.rejection.field);
    if (!c.rejection.reason.empty()) add("error.reason", c.rejection.reason);
    add("original.topic", cfg.topic);
    add("original.partition", std::to_string(c.partition));
    add("original.offset", std::to_string(c.offset));
    const char* key_data = c.key ? c.key->data() : nullptr;
    const size_t key_size = c.key ? c.key->size() : 0;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        dlq, RD_KAFKA_V_TOPIC(cfg.dlq_topic.c_str()), RD_KAFKA_V_KEY(key_data, key_size),
        RD_KAFKA_V_VALUE(const_cast<char*>(c.value.data()), c.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(token))), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(h);
      log(std::string("kafka consumer: DLQ produce: ") + rd_kafka_err2str(err) + "; retrying");
      retry_later(token, kDlqRetryMs);
      return;
    }
    ++dlq_outstanding;
  }

  void on_dlq_report(const rd_kafka_message_t* m) {
    --dlq_outstanding;
    uint64_t token = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
    auto it = pending.find(token);
    if (it == pending.end()) return;  // revoked meanwhile
    const Command& c = it->second;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log(std::string("kafka consumer: DLQ delivery failed: ") + rd_kafka_err2str(m->err) +
          "; retrying");
      retry_later(token, kDlqRetryMs);
      return;
    }
    stats.dlq.fetch_add(1, std::memory_order_relaxed);
    log("kafka consumer: dead-lettered " + cfg.topic + "/" + std::to_string(c.partition) + "@" +
        std::to_string(c.offset) + " id=" + (c.id.empty() ? "-" : c.id) + " code=" +
        c.rejection.code + (c.rejection.field.empty() ? "" : " field=" + c.rejection.field) +
        " traceparent=" + (c.traceparent.empty() ? "-" : c.traceparent) + ": " +
        c.rejection.message);
    complete(token);
  }

  void on_message(rd_kafka_message_t* m) {
    auto ps = parts.find(m->partition);
    if (ps == parts.end() || m->offset <= ps->second.last_read) return;  // not ours / read already
    stats.consumed.fetch_add(1, std::memory_order_relaxed);
    PartitionState& p = ps->second;
    p.last_read = m->offset;
    p.entries.push_back(Entry{m->offset, false});

    const uint64_t token = next_token++;
    Command& c = pending[token];
    c.partition = m->partition;
    c.offset = m->offset;
    c.generation = p.generation;
    if (m->key) c.key = std::string(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) {
      c.value.reserve(padded_capacity(m->len));  // read in place by parse_initiate_fast
      c.value.assign(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* val;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        Header h{name, std::nullopt};
        if (val) h.value = std::string(static_cast<const char*>(val), size);
        if (h.value && strcasecmp(name, "traceparent") == 0 && is_valid_traceparent(*h.value))
          c.traceparent = *h.value;
        c.headers.push_back(std::move(h));
      }
    }
    stats.in_flight.store(pending.size(), std::memory_order_relaxed);

    if (auto why = parse_command(c, cfg, fast_parser)) {
      send_to_dlq(token, std::move(*why));
      return;
    }
    if (c.key && !c.key->empty()) {
      auto& q = p.by_key[*c.key];
      q.push_back(token);
      c.keyed = true;
      if (q.size() > 1) return;  // starts when the earlier command with its key is complete
    }
    start_command(token);
  }

  void run_due_retries() {
    const int64_t t = now_ms();
    while (!retries.empty() && retries.begin()->first <= t) {
      uint64_t token = retries.begin()->second;
      retries.erase(retries.begin());
      auto it = pending.find(token);
      if (it == pending.end()) continue;
      Command& c = it->second;
      if (c.stage == Stage::dlq) {
        produce_dlq(token);
      } else {
        start_command(token);
      }
    }
  }

  // Sends parked initiates again while the engine has room (counted down
  // locally: the engine's count moves only as its shards admit them).
  void admit_parked() {
    if (awaiting_room.empty()) return;
    uint64_t room = engine.admission_room();
    while (room > 0 && !awaiting_room.empty()) {
      uint64_t token = awaiting_room.front();
      awaiting_room.pop_front();
      auto it = pending.find(token);
      if (it == pending.end() || it->second.stage == Stage::dlq) continue;  // revoked meanwhile
      --room;
      dispatch_initiate(token, it->second);
      no_room_since_ms = now_ms();
    }
  }

  void drain_inbox() {
    std::vector<std::pair<uint64_t, InitiateReply>> replies;
    {
      std::lock_guard<std::mutex> lock(inbox->mu);
      replies.swap(inbox->replies);
    }
    for (auto& [token, r] : replies) on_initiate_reply(token, r);
  }

  // ---- pause / resume ----

  void set_paused(bool pause) {
    rd_kafka_topic_partition_list_t* list = nullptr;
    if (rd_kafka_assignment(consumer, &list) != RD_KAFKA_RESP_ERR_NO_ERROR || !list) return;
    if (pause) {
      rd_kafka_pause_partitions(consumer, list);
    } else {
      rd_kafka_resume_partitions(consumer, list);
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  void pause_for_pressure() {
    if (pressure_paused) return;
    pressure_paused = true;
    set_paused(true);
    stats.pauses.fetch_add(1, std::memory_order_relaxed);
    stats.paused.store(true, std::memory_order_relaxed);
  }

  void maybe_resume() {
    if (!pressure_paused || overloaded_waiting > 0 || stopping.load()) return;
    pressure_paused = false;
    set_paused(false);
    stats.resumes.fetch_add(1, std::memory_order_relaxed);
    stats.paused.store(false, std::memory_order_relaxed);
  }

  // ---- commits and lag ----

  void commit(bool sync) {
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
    for (auto& [id, ps] : parts) {
      if (ps.commit_pos < 0 || ps.commit_pos == ps.commit_sent) continue;
      {
        std::lock_guard<std::mutex> lock(committed_mu);
        auto c = committed_confirmed.find(id);
        if (c != committed_confirmed.end() && c->second >= ps.commit_pos) continue;
      }
      rd_kafka_topic_partition_list_add(list, cfg.topic.c_str(), id)->offset = ps.commit_pos;
      ps.commit_sent = ps.commit_pos;
    }
    if (list->cnt > 0) {
      rd_kafka_resp_err_t err = rd_kafka_commit(consumer, list, sync ? 0 : 1);
      if (sync || err != RD_KAFKA_RESP_ERR_NO_ERROR) on_committed(err, list);
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  void read_committed_offsets() {
    fetch_committed = false;
    if (parts.empty()) return;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
    for (auto& [id, ps] : parts) rd_kafka_topic_partition_list_add(list, cfg.topic.c_str(), id);
    if (rd_kafka_committed(consumer, list, 5'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::lock_guard<std::mutex> lock(committed_mu);
      for (int i = 0; i < list->cnt; ++i)
        if (list->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && list->elems[i].offset >= 0) {
          auto& c = committed_confirmed[list->elems[i].partition];
          c = std::max(c, list->elems[i].offset);
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  void update_lag() {
    int64_t lag = 0;
    for (auto& [id, ps] : parts) {
      int64_t lo = -1, hi = -1;
      if (rd_kafka_get_watermark_offsets(consumer, cfg.topic.c_str(), id, &lo, &hi) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          hi < 0)
        continue;
      int64_t base = lo >= 0 ? lo : 0;
      {
        std::lock_guard<std::mutex> lock(committed_mu);
        auto c = committed_confirmed.find(id);
        if (c != committed_confirmed.end() && c->second >= 0) base = c->second;
      }
      lag += std::max<int64_t>(0, hi - base);
    }
    stats.lag.store(lag, std::memory_order_relaxed);
  }

  void periodic() {
    int64_t t = now_ms();
    if (fetch_committed) read_committed_offsets();
    if (t >= next_commit_ms) {
      commit(false);
      next_commit_ms = t + cfg.commit_interval_ms;
    }
    if (t >= next_stats_ms) {
      update_lag();
      next_stats_ms = t + cfg.stats_interval_ms;
    }
  }

  // ---- the loop ----

  // How long the next wait may last: less when a retry is due sooner.
  int64_t wait_ms() const {
    int64_t w = cfg.poll_timeout_ms;
    if (dlq_outstanding > 0) w = std::min<int64_t>(w, 2);
    if (!awaiting_room.empty()) w = std::min<int64_t>(w, 1);  // room is polled, not signalled
    if (!retries.empty()) w = std::min(w, std::max<int64_t>(0, retries.begin()->first - now_ms()));
    return w;
  }

  void wait_inbox(int64_t ms) {
    std::unique_lock<std::mutex> lock(inbox->mu);
    inbox->cv.wait_for(lock, std::chrono::milliseconds(ms),
                       [&] { return !inbox->replies.empty(); });
  }

  void turn(bool reading) {
    drain_inbox();
    admit_parked();
    // No room for a while: pause the partitions, so that the broker holds the
    // commands (and lag shows them). While the engine admits at its pace,
    // reading only waits: a paused partition resumes fetching only after
    // hundreds of milliseconds.
    if (!awaiting_room.empty() && now_ms() - no_room_since_ms >= cfg.pause_after_ms)
      pause_for_pressure();
    run_due_retries();
    rd_kafka_poll(dlq, 0);
    maybe_resume();
    if (reading) {
      size_t n = 0;
      // Nothing new is read while initiates wait for room.
      while (n < kReadBurst && pending.size() < cfg.max_in_flight && awaiting_room.empty()) {
        bool has_replies;
        {
          std::lock_guard<std::mutex> lock(inbox->mu);
          has_replies = !inbox->replies.empty();
        }
        int timeout = (n == 0 && !has_replies) ? static_cast<int>(wait_ms()) : 0;
        rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, timeout);
        if (!m) break;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          on_message(m);
          ++n;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          log(std::string("kafka consumer: ") + rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
      }
      if (pending.size() >= cfg.max_in_flight || !awaiting_room.empty()) wait_inbox(wait_ms());
    } else {
      // Draining: serve callbacks, read nothing (a message read now is not
      // processed and stays uncommitted, so it is read again later).
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 0)) rd_kafka_message_destroy(m);
      wait_inbox(wait_ms());
    }
    periodic();
  }

  void run() {
    while (!stopping.load()) turn(true);
    // Stop reading: pause everything, finish what is in flight (bounded).
    set_paused(true);
    const int64_t deadline = now_ms() + cfg.stop_timeout_ms;
    while (!pending.empty() && now_ms() < deadline) turn(false);
    if (!pending.empty())
      log("kafka consumer: stopping with " + std::to_string(pending.size()) +
          " commands not complete; they stay uncommitted and are read again");
    commit(true);
    rd_kafka_consumer_close(consumer);
    rd_kafka_flush(dlq, 2'000);
  }
};

CommandConsumer::CommandConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<CommandConsumer>> CommandConsumer::start(Engine& engine,
                                                                ConsumerConfig config) {
  if (config.max_in_flight == 0) return Error{"kafka_config", "max_in_flight must be at least 1"};
  auto impl = std::make_unique<Impl>(engine, std::move(config));
  Impl* self = impl.get();
  const ConsumerConfig& cfg = self->cfg;
  char err[512];

  auto cconf = make_client_conf(ClientRole::consumer, cfg.bootstrap,
                                {{"group.id", cfg.group_id},
                                 {"auto.offset.reset", "earliest"},
                                 {"enable.partition.eof", "false"},
                                 {"client.id", "payengine-commands"}},
                                cfg.properties);
  if (!cconf.ok()) return cconf.error();
  rd_kafka_conf_set_opaque(cconf.value(), self);
  rd_kafka_conf_set_rebalance_cb(cconf.value(), &Impl::rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(cconf.value(), &Impl::commit_cb);
  rd_kafka_conf_set_log_cb(cconf.value(), &Impl::log_cb);
  self->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf.value(), err, sizeof err);
  if (!self->consumer) {
    rd_kafka_conf_destroy(cconf.value());
    return Error{"kafka", std::string("consumer: ") + err};
  }
  rd_kafka_poll_set_consumer(self->consumer);

  auto pconf =
      make_client_conf(ClientRole::producer, cfg.bootstrap,
                       {{"linger.ms", "5"},
                        {"message.timeout.ms", "0"},  // never give up: retried until delivered
                        {"client.id", "payengine-commands-dlq"}},
                       cfg.properties);
  if (!pconf.ok()) return pconf.error();
  rd_kafka_conf_set_opaque(pconf.value(), self);
  rd_kafka_conf_set_dr_msg_cb(pconf.value(), &Impl::dlq_report_cb);
  rd_kafka_conf_set_log_cb(pconf.value(), &Impl::log_cb);
  self->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, pconf.value(), err, sizeof err);
  if (!self->dlq) {
    rd_kafka_conf_destroy(pconf.value());
    return Error{"kafka", std::string("DLQ producer: ") + err};
  }

  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, cfg.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(self->consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error{"kafka", std::string("subscribe ") + cfg.topic + ": " + rd_kafka_err2str(e)};

  self->thread = std::thread([self] {
    pthread_setname_np(pthread_self(), "pe.kafka.cmds");
    self->run();
  });
  return std::unique_ptr<CommandConsumer>(new CommandConsumer(std::move(impl)));
}

CommandConsumer::~CommandConsumer() { stop(); }

void CommandConsumer::stop() {
  if (!impl_) return;
  impl_->stopping.store(true);
  if (impl_->thread.joinable()) impl_->thread.join();
}

const ConsumerStats& CommandConsumer::stats() const { return impl_->stats; }

std::vector<std::pair<int32_t, int64_t>> CommandConsumer::committed() const {
  std::lock_guard<std::mutex> lock(impl_->committed_mu);
  return {impl_->committed_confirmed.begin(), impl_->committed_confirmed.end()};
}

}  // namespace payengine::kafka
