// The Kafka door end to end, with real peers: a real Engine on a temporary
// SQLite file (the in-process simulated rail), librdkafka's mock cluster
// over TCP on 127.0.0.1 (EmbeddedKafka), and kcat as the outside producer
// and consumer.
//
//  - fast_reading_matches_the_full_path: the simdjson reading of a common
//    initiate gives the id, tenant and instruction the full (nlohmann)
//    path gives, and leaves every unusual text to the full path.
//  - mixed_commands_exactly_once: kcat produces 10,000 commands (2,500
//    under the sanitizers): valid initiates, exact duplicates, conflicting
//    re-uses of an id, malformed JSON, unknown types and versions, missing
//    fields, invalid instructions (bad IBAN, three decimals), tenant
//    mismatches, cancels, cancels of unknown or foreign payments.
//    Every valid one ends final exactly once, every bad one is on the DLQ
//    with its original bytes and headers and the right error headers, and
//    kcat reads every published event of every payment, in seq order.
//  - dead_letter_table: one command per rule, each with its code, field and
//    reason; nothing journaled for any of them.
//  - stop_and_restart_consumer: a consumer stopped mid-stream has committed
//    only durable commands; a new one resumes and nothing is lost or doubled.
//  - sigkill_mid_stream: the consumer in a child process is killed with
//    SIGKILL; every offset the group committed has its payment in the
//    journal; a restarted consumer finishes the rest, each exactly once.
//  - pause_on_pressure: a tiny admission cap makes the consumer pause its
//    partitions and resume; every command completes; lag drains to zero.
//  - relay_resends_after_stop_and_outage: the outbox cursor moves only with
//    delivery reports; stopping the relay mid-way and a broker outage leave
//    a backlog that a restarted relay sends, nothing dropped.
//  - consumer_throughput: commands/s consumed and journaled (reported).
//
// Every wait has a deadline; kcat runs under `timeout`.
#define BOOST_TEST_MODULE kafka
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "actors/command_consumer.hpp"
#include "actors/engine.hpp"
#include "actors/fast_json.hpp"
#include "actors/kafka.hpp"
#include "actors/kafka_embedded.hpp"
#include "actors/outbox_relay.hpp"
#include "sagas/payment_saga.hpp"
#include "sagas/rng.hpp"
#include "tests/fixtures.hpp"
#include "tests/kafka_peers.hpp"

using namespace payengine;
using namespace payengine::kafka;
using namespace payengine::sagas;
using payengine::testing::TempDir;
using payengine::testing::valid_instruction;
using namespace payengine::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// Under the sanitizers (several times slower) the volume tests run a
// quarter of their commands; the cases stay the same.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 4;
#else
constexpr int kScale = 1;
#endif
constexpr int64_t kOpening = 1'000'000'000'000;  // R10bn per debtor
const char* const kTenants[] = {"bank1", "bank2"};

// ---- commands ----

std::string traceparent(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "00-%032x-%016x-01", 0x5eed0000 + n, 0xab00 + n);
  return buf;
}

json instruction(const std::string& tenant, int i, int64_t amount_minor = 10'000) {
  PaymentInstruction p = valid_instruction();
  p.tenant = tenant;
  p.end_to_end_id = "E2E-" + std::to_string(i);
  p.amount.amount_minor = amount_minor;
  return json::parse(instruction_to_json(p));
}

std::string envelope(const std::string& type, const json& version, const std::string& id,
                     const std::string& tenant, const json& payload) {
  json e;
  e["type"] = type;
  e["version"] = version;
  e["id"] = id;
  e["tenant"] = tenant;
  e["payload"] = payload;
  return e.dump();
}

std::string initiate(const std::string& id, const std::string& tenant, const json& payload) {
  return envelope("payment.initiate", 1, id, tenant, payload);
}

// What the test expects of one produced command.
struct Sent {
  Msg msg;
  std::string traceparent;
  std::string id;  // command id ("" when none)
  std::string tenant;
  bool valid = false;  // a new payment (first valid initiate of its id)
  bool duplicate = false;
  bool cancel = false;  // a cancel that must not be dead-lettered
  std::string code;     // expected error.code when dead-lettered
  std::string field;    // expected error.field ("" when not checked)
  std::string reason;   // expected error.reason ("" when not checked)
};

struct Plan {
  std::vector<Sent> sent;
  std::vector<std::pair<std::string, std::string>>
      payments;  // (tenant, command id) of each valid initiate

  size_t dead_letters() const {
    return std::count_if(sent.begin(), sent.end(), [](const Sent& s) { return !s.code.empty(); });
  }
};

// A mixed stream of `total` commands, in an order where duplicates, conflicts
// and cancels follow their originals on the same key.
Plan mixed_plan(size_t total, uint64_t seed, const std::string& run_id) {
  Plan plan;
  std::mt19937_64 rng(seed);
  std::vector<size_t> valid_index;  // into plan.sent
  auto pick_valid = [&]() -> const Sent& {
    return plan.sent[valid_index[rng() % valid_index.size()]];
  };
  auto pick_recent = [&]() -> const Sent& {  // one of the last 20 valid initiates
    size_t n = std::min<size_t>(20, valid_index.size());
    return plan.sent[valid_index[valid_index.size() - 1 - rng() % n]];
  };
  int n = 0;
  while (plan.sent.size() < total) {
    ++n;
    Sent s;
    const uint64_t dice = rng() % 100;
    const std::string tenant = kTenants[rng() % 2];
    const std::string id = run_id + "-" + std::to_string(n);
    s.tenant = tenant;
    if (dice < 62 || valid_index.size() < 10) {
      s.id = id;
      s.valid = true;
      s.msg = {id, initiate(id, tenant, instruction(tenant, n))};
      valid_index.push_back(plan.sent.size());
      plan.payments.emplace_back(tenant, id);
    } else if (dice < 72) {  // exact duplicate: same key, same bytes
      s = pick_valid();
      s.valid = false;
      s.duplicate = true;
    } else if (dice < 73) {  // the same id with another instruction
      const Sent& o = pick_valid();
      s.id = o.id;
      s.tenant = o.tenant;
      s.msg = {o.msg.key, initiate(o.id, o.tenant, instruction(o.tenant, n, 77'700))};
      s.code = "conflict";
      s.field = "id";
    } else if (dice < 77) {  // malformed
      const std::string bad[] = {
          "{\"type\":\"payment.initiate\",\"version\":1,\"id\":\"" + id + "\"",  // truncated
          "not json at all " + id,
          "[1,2,3,\"" + id + "\"]",  // not an object
          "\"just a string " + id + "\"",
          "{\"type\": } " + id,
      };
      s.msg = {id, bad[rng() % 5]};
      s.code = "malformed";
      s.reason = "FF01";
    } else if (dice < 79) {
      s.msg = {id, envelope("payment.refund", 1, id, tenant, instruction(tenant, n))};
      s.code = "unknown_type";
      s.field = "type";
    } else if (dice < 81) {
      bool as_string = rng() % 2;
      s.msg = {id, envelope("payment.initiate", as_string ? json("1") : json(2), id, tenant,
                            instruction(tenant, n))};
      s.code = "unsupported_version";
      s.field = "version";
    } else if (dice < 82) {
      json e = json::parse(initiate(id, tenant, instruction(tenant, n)));
      e.erase("id");
      e["note"] = id;
      s.msg = {id, e.dump()};
      s.code = "missing_field";
      s.field = "id";
    } else if (dice < 84) {  // bad IBAN check digits
      json p = instruction(tenant, n);
      p["creditor"]["iban"] = "GB82WEST12345698765423";
      s.msg = {id, initiate(id, tenant, p)};
      s.code = "invalid";
      s.field = "payload.creditor.iban";
      s.reason = "AC03";
    } else if (dice < 86) {  // three decimals on ZAR, as a decimal string or a float
      json p = instruction(tenant, n);
      p.erase("amount_minor");
      bool as_string = rng() % 2;
      if (as_string) {
        p["amount"] = "100.125";
        s.field = "payload.amount";
      } else {
        p["amount_minor"] = 100.125;
        s.field = "payload.amount_minor";
      }
      s.msg = {id, initiate(id, tenant, p)};
      s.code = "invalid";
      s.reason = "AM12";
    } else if (dice < 87) {
      json p = instruction(tenant == "bank1" ? "bank2" : "bank1", n);
      s.msg = {id, initiate(id, tenant, p)};
      s.code = "tenant_mismatch";
      s.field = "payload.tenant";
    } else if (dice < 95) {  // cancel of a recent payment, by its initiate id, same key
      const Sent& o = pick_recent();
      s.id = id;
      s.tenant = o.tenant;
      s.cancel = true;
      s.msg = {o.msg.key, envelope("payment.cancel", 1, id, o.tenant, json{{"initiate_id", o.id}})};
    } else if (dice < 98) {  // cancel of a payment that does not exist
      s.msg = {id, envelope("payment.cancel", 1, id, tenant, json{{"initiate_id", "nope-" + id}})};
      s.code = "not_found";
      s.field = "payload.initiate_id";
    } else {  // cancel of another tenant's payment
      const Sent& o = pick_valid();
      std::string other = o.tenant == "bank1" ? "bank2" : "bank1";
      s.msg = {o.msg.key, envelope("payment.cancel", 1, id, other, json{{"initiate_id", o.id}})};
      s.code = "not_found";
      s.field = "payload.initiate_id";
    }
    plan.sent.push_back(std::move(s));
  }
  return plan;
}

// Produces the plan in `chunks` kcat runs, each with its own traceparent.
void produce_plan(const std::string& bootstrap, const std::string& dir, Plan& plan, size_t chunks) {
  const size_t per = (plan.sent.size() + chunks - 1) / chunks;
  for (size_t c = 0; c * per < plan.sent.size(); ++c) {
    std::vector<Msg> msgs;
    const std::string tp = traceparent(static_cast<int>(c));
    for (size_t i = c * per; i < std::min(plan.sent.size(), (c + 1) * per); ++i) {
      plan.sent[i].traceparent = tp;
      msgs.push_back(plan.sent[i].msg);
    }
    kcat_produce(bootstrap, dir, msgs, tp);
  }
}

// ---- the environment ----

struct Env {
  TempDir dir;
  std::unique_ptr<EmbeddedKafka> kafka;
  std::unique_ptr<Engine> engine;
  std::shared_ptr<TraceContexts> traces = std::make_shared<TraceContexts>();
  std::mutex log_mu;
  std::vector<std::string> log_lines;

  explicit Env(EngineConfig cfg = {}, EmbeddedKafkaOptions ko = {}) {
    auto k = EmbeddedKafka::start(ko);
    BOOST_REQUIRE_MESSAGE(k.ok(), "EmbeddedKafka: " + (k.ok() ? "" : k.error().message));
    kafka = std::move(k.value());
    start_engine(std::move(cfg));
    bool created = true;
    engine->with_store([&](Store& s) {
      for (const char* t : kTenants)
        created = created && s.create_account(std::string(t) + "/1234567890", "ZAR", kOpening).ok();
    });
    BOOST_REQUIRE(created);
  }

  void start_engine(EngineConfig cfg) {
    cfg.store.path = dir.path() + "/engine.db";
    cfg.store.synchronous = Synchronous::normal;
    if (cfg.seed == 0) cfg.seed = 42;
    auto e = Engine::start(std::move(cfg));
    BOOST_REQUIRE_MESSAGE(e.ok(), "Engine::start: " + (e.ok() ? "" : e.error().message));
    engine = std::move(e.value());
    BOOST_REQUIRE(engine->wait_recovered(30s));
  }

  void stop_engine() {
    Watchdog guard(30s, "Engine destruction");
    engine.reset();
  }

  ~Env() {
    if (engine) stop_engine();
  }

  LogFn logger() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu);
      if (log_lines.size() < 10'000) log_lines.push_back(line);
    };
  }

  ConsumerConfig consumer_config(const std::string& group = "payengine") {
    ConsumerConfig c;
    c.bootstrap = kafka->bootstrap();
    c.group_id = group;
    c.properties = kEmbeddedConsumerProperties;
    c.traces = traces;
    c.log = logger();
    return c;
  }

  RelayConfig relay_config() {
    RelayConfig r;
    r.bootstrap = kafka->bootstrap();
    r.traces = traces;
    r.log = logger();
    return r;
  }

  std::unique_ptr<CommandConsumer> start_consumer(ConsumerConfig c) {
    auto r = CommandConsumer::start(*engine, std::move(c));
    BOOST_REQUIRE_MESSAGE(r.ok(), "CommandConsumer::start: " + (r.ok() ? "" : r.error().message));
    return std::move(r.value());
  }

  std::unique_ptr<OutboxRelay> start_relay(RelayConfig c) {
    auto r = OutboxRelay::start(*engine, std::move(c));
    BOOST_REQUIRE_MESSAGE(r.ok(), "OutboxRelay::start: " + (r.ok() ? "" : r.error().message));
    return std::move(r.value());
  }

  // Waits until the group has committed every command on the topic.
  bool wait_all_committed(const CommandConsumer& c, std::chrono::milliseconds timeout) {
    auto hw =
        high_watermarks(kafka->bootstrap(), kCommandsTopic, kafka->options().command_partitions);
    return eventually(
        [&] {
          auto committed = c.committed();
          std::map<int32_t, int64_t> m(committed.begin(), committed.end());
          for (auto [p, hi] : hw) {
            if (hi == 0) continue;
            auto it = m.find(p);
            if (it == m.end() || it->second < hi) return false;
          }
          return c.stats().in_flight.load() == 0;
        },
        timeout, 20ms);
  }

  // (tenant, command id) -> payment id, through the idempotency keys.
  std::map<std::pair<std::string, std::string>, std::string> payment_ids(
      const std::vector<std::pair<std::string, std::string>>& commands) {
    std::map<std::pair<std::string, std::string>, std::string> out;
    engine->with_store([&](Store& s) {
      for (const auto& tc : commands)
        if (auto e = s.idempotency(tc.first, "kafka:" + tc.second)) out[tc] = e->payment_id;
    });
    return out;
  }

  int64_t saga_count() {
    int64_t n = 0;
    engine->with_store([&](Store& s) {
      for (const auto& [state, count] : s.count_by_state()) n += count;
    });
    return n;
  }

  // Waits until every payment's saga is terminal; returns the open ones.
  std::vector<std::string> wait_terminal(const std::vector<std::string>& ids,
                                         std::chrono::milliseconds timeout) {
    std::vector<std::string> open;
    eventually(
        [&] {
          open.clear();
          engine->with_store([&](Store& s) {
            for (const auto& id : ids) {
              auto sg = s.saga(id);
              if (!sg || !sg->terminal) open.push_back(id);
            }
          });
          return open.empty();
        },
        timeout, 50ms);
    return open;
  }

  int64_t outbox_size() {
    int64_t n = -1;
    engine->with_store([&](Store& s) { n = s.outbox_size(); });
    return n;
  }

  // Every published event of each payment: seq -> state (published = has a state).
  std::map<std::string, std::map<int64_t, std::string>> published_events(
      const std::vector<std::string>& ids) {
    std::map<std::string, std::map<int64_t, std::string>> out;
    engine->with_store([&](Store& s) {
      for (const auto& id : ids)
        for (const auto& e : s.events_for(id))
          if (!e.state.empty()) out[id][e.seq] = e.state;
    });
    return out;
  }
};

// The events on payments.events per payment id, in partition order:
// (seq, state, traceparent header or "").
struct EventSeen {
  int64_t seq;
  std::string state;
  std::string traceparent;
};

std::map<std::string, std::vector<EventSeen>> read_events(const std::string& bootstrap) {
  std::map<std::string, std::vector<EventSeen>> out;
  for (const Record& r : kcat_read(bootstrap, kEventsTopic)) {
    json e = json::parse(r.value);
    std::string id = e["payment_id"].get<std::string>();
    BOOST_REQUIRE(r.key && *r.key == id);  // key = payment id
    out[id].push_back({e["seq"].get<int64_t>(), e["state"].get<std::string>(),
                       r.header("traceparent").value_or("")});
  }
  return out;
}

// Checks that Kafka holds every published event of every payment, that the
// first copies come in seq order per payment, and returns how many copies
// were extra (re-sends).
size_t check_events(const std::map<std::string, std::map<int64_t, std::string>>& journal,
                    const std::map<std::string, std::vector<EventSeen>>& kafka_events) {
  size_t extra = 0, missing_payments = 0, order_errors = 0, missing_events = 0;
  for (const auto& [id, events] : journal) {
    auto it = kafka_events.find(id);
    if (it == kafka_events.end()) {
      ++missing_payments;
      continue;
    }
    std::set<int64_t> seen;
    int64_t last_first = 0;
    for (const EventSeen& e : it->second) {
      if (!seen.insert(e.seq).second) {
        ++extra;
        continue;
      }
      if (e.seq <= last_first) ++order_errors;
      last_first = e.seq;
      auto j = events.find(e.seq);
      if (j == events.end() || j->second != e.state) ++order_errors;
    }
    for (const auto& [seq, state] : events)
      if (!seen.count(seq)) ++missing_events;
  }
  BOOST_TEST(missing_payments == 0u);
  BOOST_TEST(missing_events == 0u);
  BOOST_TEST(order_errors == 0u);
  return extra;
}

void report(const std::string& line) {
  std::cout << line << std::endl;
  BOOST_TEST_MESSAGE(line);
}

}  // namespace

// ---------------------------------------------------------------------------

// The fast reading of a command (actors/fast_json.hpp) against the full
// one: whatever it accepts, nlohmann reads as the same initiate; whatever is
// unusual it leaves to the full path. No broker needed.
std::optional<FastInitiate> fast(const std::string& text) {
  static simdjson::dom::parser parser;
  std::string padded;
  padded.reserve(padded_capacity(text.size()));
  padded.assign(text);
  return parse_initiate_fast(parser, padded, padded.capacity());
}

// What the full path reads from a command it accepts (its envelope checks,
// the payload tenant defaulted, instruction_from_json).
PaymentInstruction full(const std::string& text, std::string& id, std::string& tenant) {
  json env = json::parse(text);
  id = env.at("id").get<std::string>();
  tenant = env.at("tenant").get<std::string>();
  json payload = env.at("payload");
  if (!payload.contains("tenant") || payload["tenant"].is_null() || payload["tenant"] == "")
    payload["tenant"] = tenant;
  auto p = instruction_from_json(payload);
  BOOST_REQUIRE(p.ok());
  return p.value();
}

void check_same(const std::string& text) {
  BOOST_TEST_CONTEXT(text) {
    auto f = fast(text);
    BOOST_REQUIRE(f.has_value());
    std::string id, tenant;
    PaymentInstruction expected = full(text, id, tenant);
    BOOST_TEST(f->id == id);
    BOOST_TEST(f->tenant == tenant);
    BOOST_TEST(instruction_to_json(f->instruction) == instruction_to_json(expected));
  }
}

BOOST_AUTO_TEST_CASE(fast_reading_matches_the_full_path) {
  const json base = instruction("bank1", 7);
  check_same(initiate("c-1", "bank1", base));
  // Key order, whitespace, escapes and non-ASCII text read the same.
  json reordered = json::object();
  for (auto it = base.rbegin(); it != base.rend(); ++it) reordered[it.key()] = it.value();
  check_same(initiate("c-2", "bank1", reordered));
  check_same("\n { \"payload\" : " + base.dump(2) +
             " , \"tenant\":\"bank1\",\"id\":\"c-3\",\"version\":1,\"type\":\"payment.initiate\"}  \n");
  json escaped = base;
  escaped["remittance"] = "inv \"42\"\\\t\u00e9\u4e2d";
  escaped["debtor"]["name"] = "Th\u00e9o \\u0041";
  check_same(initiate("c-4", "bank1", escaped));
  // Every party field and the requested rail.
  json every = base;
  for (const char* party : {"debtor", "creditor"}) {
    every[party]["name"] = std::string(party) + " name";
    every[party]["account_number"] = std::string(party) + "-acc";
    every[party]["branch_code"] = std::string(party) + "-branch";
    every[party]["iban"] = std::string(party) + "-iban";
    every[party]["bic"] = std::string(party) + "-bic";
    every[party]["proxy"] = std::string(party) + "-proxy";
  }
  every["requested_rail"] = "SWIFT";
  check_same(initiate("c-7", "bank1", every));
  // Optional fields absent, an empty payload tenant, each urgency.
  json lean = base;
  lean.erase("remittance");
  lean.erase("tenant");
  check_same(initiate("c-6", "bank1", lean));
  for (const char* u : {"normal", "urgent", "instant", "no-such-urgency"}) {
    json v = base;
    v["urgency"] = u;
    v["tenant"] = "";
    check_same(initiate(std::string("c-u-") + u, "bank1", v));
  }

  // Left to the full path: it decides, with its precise errors.
  const std::string good = initiate("c-9", "bank1", base);
  std::vector<std::string> others = {
      initiate("c-9", "bank1", base) + "x",                                // text after the object
      good.substr(0, good.size() - 1),                                     // cut short
      envelope("payment.cancel", 1, "c-9", "bank1", json{{"payment_id", "p"}}),
      envelope("payment.initiate", 2, "c-9", "bank1", base),               // version
      envelope("payment.initiate", 1.0, "c-9", "bank1", base),             // version a float
      envelope("payment.initiate", "1", "c-9", "bank1", base),             // version a string
      R"({"type":"payment.initiate","version":1,"id":"a","id":"b","tenant":"bank1","payload":)" +
          base.dump() + "}",                                               // a key twice
      R"({"type":"payment.initiate","version":1,"id":"c","tenant":"bank1","extra":[1,2],"payload":)" +
          base.dump() + "}",                                               // an unknown key
      R"({"type":"payment.initiate","version":1,"id":"c","tenant":"bank1","payload":)" + base.dump() +
          ",}",                                                            // trailing comma
      R"({"type":"payment.initiate","version":1,"id":null,"tenant":"bank1","payload":)" + base.dump() + "}",
      "[1,2,3]", "", "nul", "{}",
      // A \u escape: the full reader's own decoding decides (surrogates).
      R"({"type":"payment.initiate","version":1,"id":"c\u0041","tenant":"bank1","payload":)" +
          base.dump() + "}",
  };
  auto with = [&](const std::function<void(json&)>& change) {
    json p = base;
    change(p);
    return initiate("c-9", "bank1", p);
  };
  others.push_back(with([](json& p) { p["amount_minor"] = 100.5; }));
  others.push_back(with([](json& p) { p["amount_minor"] = 1e2; }));
  others.push_back(with([](json& p) { p["amount_minor"] = "100"; }));
  others.push_back(with([](json& p) { p["amount_minor"] = 18446744073709551615ull; }));
  others.push_back(with([](json& p) { p.erase("amount_minor"); p["amount"] = "100.25"; }));
  others.push_back(with([](json& p) { p.erase("amount_minor"); }));
  others.push_back(with([](json& p) { p["currency"] = nullptr; }));
  others.push_back(with([](json& p) { p["remittance"] = 5; }));
  others.push_back(with([](json& p) { p["debtor"] = "someone"; }));
  others.push_back(with([](json& p) { p["debtor"]["nickname"] = "x"; }));
  others.push_back(with([](json& p) { p["creditor"]["bic"] = json::array(); }));
  others.push_back(with([](json& p) { p["tenant"] = 3; }));
  for (const std::string& text : others) {
    BOOST_TEST_CONTEXT(text) { BOOST_TEST(!fast(text).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(properties_and_settings) {
  auto p = parse_property("security.protocol=SASL_SSL");
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(p->first == "security.protocol");
  BOOST_TEST(p->second == "SASL_SSL");
  auto q = parse_property("sasl.jaas=a=b");
  BOOST_REQUIRE(q.ok());
  BOOST_TEST(q->second == "a=b");
  BOOST_TEST(!parse_property("no-equals").ok());
  BOOST_TEST(!parse_property("=value").ok());

  auto s = kafka_settings("", {"linger.ms=10"});
  BOOST_REQUIRE(s.ok());
  BOOST_TEST(s->embedded());
  BOOST_TEST(!kafka_settings("broker1:9092", {"oops"}).ok());
  BOOST_TEST(!kafka_settings("broker1:9092", {}).value().embedded());

  // A property that would weaken a guarantee is refused, by name.
  auto bad =
      make_client_conf(ClientRole::producer, "127.0.0.1:1", {}, {{"enable.idempotence", "false"}});
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().message.find("enable.idempotence") != std::string::npos);
  BOOST_TEST(
      !make_client_conf(ClientRole::consumer, "127.0.0.1:1", {}, {{"enable.auto.commit", "true"}})
           .ok());
  BOOST_TEST(
      !make_client_conf(ClientRole::consumer, "127.0.0.1:1", {}, {{"no.such.property", "1"}}).ok());
  auto good = make_client_conf(ClientRole::producer, "127.0.0.1:1", {},
                               {{"acks", "-1"}, {"linger.ms", "1"}});
  BOOST_REQUIRE(good.ok());
  rd_kafka_conf_destroy(good.value());

  BOOST_TEST(is_valid_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  BOOST_TEST(!is_valid_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01"));
  BOOST_TEST(!is_valid_traceparent("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"));
  BOOST_TEST(!is_valid_traceparent("garbage"));

  auto cons = properties_for(
      ClientRole::consumer,
      {{"consumer.session.timeout.ms", "6000"}, {"producer.linger.ms", "1"}, {"client.rack", "a"}});
  BOOST_REQUIRE(cons.size() == 2u);
  BOOST_TEST(cons[0].first == "session.timeout.ms");
  BOOST_TEST(cons[1].first == "client.rack");

  TraceContexts t(2);
  t.put("a", "1");
  t.put("b", "2");
  t.put("c", "3");
  BOOST_TEST(t.size() == 2u);
  BOOST_TEST(!t.get("a"));
  BOOST_TEST(*t.get("c") == "3");
  t.put_if_absent("c", "4");
  BOOST_TEST(*t.get("c") == "3");
}

BOOST_AUTO_TEST_CASE(bridge_starts_embedded_and_prints_bootstrap) {
  TempDir dir;
  EngineConfig cfg;
  cfg.store.path = dir.path() + "/engine.db";
  cfg.store.synchronous = Synchronous::normal;
  auto e = Engine::start(cfg);
  BOOST_REQUIRE(e.ok());
  auto engine = std::move(e.value());
  {
    KafkaBridgeConfig bc;
    auto b = KafkaBridge::start(*engine, bc);
    BOOST_REQUIRE_MESSAGE(b.ok(), (b.ok() ? std::string() : b.error().message));
    BOOST_TEST((*b)->embedded());
    std::ostringstream out;
    (*b)->print_bootstrap(out);
    BOOST_TEST(out.str().find((*b)->bootstrap()) != std::string::npos);
    BOOST_TEST((*b)->bootstrap().rfind("127.0.0.1:", 0) == 0);
    // kcat reaches the embedded broker and sees the three topics.
    auto r = run("kcat -b " + (*b)->bootstrap() + " -L -J 2>&1", 30);
    BOOST_REQUIRE_MESSAGE(r.status == 0, r.out);
    for (const char* t : {kCommandsTopic, kDlqTopic, kEventsTopic})
      BOOST_TEST(r.out.find(std::string("\"") + t + "\"") != std::string::npos);
    BOOST_TEST((*b)->consumer_stats() != nullptr);
    BOOST_TEST((*b)->relay_stats() != nullptr);
    (*b)->stop();
  }
  // A bad pass-through property fails start, naming the property.
  KafkaBridgeConfig bad;
  bad.settings.properties = {{"enable.auto.commit", "true"}};
  auto b2 = KafkaBridge::start(*engine, bad);
  BOOST_REQUIRE(!b2.ok());
  BOOST_TEST(b2.error().message.find("enable.auto.commit") != std::string::npos);
  Watchdog guard(30s, "Engine destruction");
  engine.reset();
}

BOOST_AUTO_TEST_CASE(mixed_commands_exactly_once) {
  EngineConfig cfg;
  cfg.rail.min_latency_ms = 5;
  cfg.rail.max_latency_ms = 60;
  // Half of the payments are held before submission for a while (route
  // fails transiently twice, then retries after a backoff), so that some
  // cancels arrive in time to be honoured.
  cfg.saga.backoff_initial_ms = 200;
  cfg.saga.backoff_max_ms = 400;
  cfg.fault = [](const std::string& id, const std::string& step,
                 uint32_t attempt) -> std::optional<StepOutcome> {
    if (step == "route" && attempt < 3 && fnv1a(id) % 2 == 0)
      return StepOutcome::failure(ErrorKind::transient, "AB08", "held by the test");
    return std::nullopt;
  };
  Env env(cfg);
  const size_t total = 10'000 / kScale;
  Plan plan = mixed_plan(total, 20260101, "mix");
  produce_plan(env.kafka->bootstrap(), env.dir.path(), plan, 8);

  auto relay = env.start_relay(env.relay_config());
  auto consumer = env.start_consumer(env.consumer_config());
  BOOST_REQUIRE_MESSAGE(env.wait_all_committed(*consumer, 180s),
                        "not every command committed; consumed " +
                            std::to_string(consumer->stats().consumed.load()) + ", in flight " +
                            std::to_string(consumer->stats().in_flight.load()));
  const ConsumerStats& st = consumer->stats();

  // Every valid initiate has exactly one saga, found by its idempotency key.
  auto ids = env.payment_ids(plan.payments);
  BOOST_TEST(ids.size() == plan.payments.size());
  std::set<std::string> distinct;
  std::vector<std::string> payment_list;
  for (const auto& [tc, pid] : ids)
    if (distinct.insert(pid).second) payment_list.push_back(pid);
  BOOST_TEST(distinct.size() == plan.payments.size());
  BOOST_TEST(env.saga_count() ==
             static_cast<int64_t>(plan.payments.size()));  // nothing else became a saga
  BOOST_TEST(st.initiated.load() == plan.payments.size());
  const size_t duplicates =
      std::count_if(plan.sent.begin(), plan.sent.end(), [](const Sent& s) { return s.duplicate; });
  BOOST_TEST(st.replayed.load() == duplicates);

  // ... and each reaches a final state.
  auto open = env.wait_terminal(payment_list, 120s);
  BOOST_TEST(open.empty());
  std::map<std::string, int64_t> by_state;
  env.engine->with_store([&](Store& s) { by_state = s.count_by_state(); });
  std::string states;
  for (const auto& [state, n] : by_state) states += state + "=" + std::to_string(n) + " ";

  // Every bad command is on the DLQ: original key, bytes and headers, plus the error.
  auto dlq = kcat_read(env.kafka->bootstrap(), kDlqTopic);
  BOOST_TEST(dlq.size() == plan.dead_letters());
  BOOST_TEST(st.dlq.load() == plan.dead_letters());
  std::map<std::string, const Record*> dlq_by_value;
  for (const Record& r : dlq) dlq_by_value[r.value] = &r;
  size_t dlq_checked = 0;
  std::map<std::string, size_t> by_code;
  for (const Sent& s : plan.sent) {
    if (s.code.empty()) continue;
    auto it = dlq_by_value.find(s.msg.value);
    BOOST_TEST_CONTEXT("dead letter for " << s.msg.value) {
      BOOST_REQUIRE(it != dlq_by_value.end());
      const Record& r = *it->second;
      BOOST_TEST(r.key.value_or("") == s.msg.key);
      BOOST_TEST(r.header("traceparent").value_or("") == s.traceparent);
      BOOST_TEST(r.header("error.code").value_or("") == s.code);
      BOOST_TEST(!r.header("error.message").value_or("").empty());
      if (!s.field.empty()) BOOST_TEST(r.header("error.field").value_or("") == s.field);
      if (!s.reason.empty()) BOOST_TEST(r.header("error.reason").value_or("") == s.reason);
      BOOST_TEST(r.header("original.topic").value_or("") == kCommandsTopic);
      BOOST_TEST(!r.header("original.partition").value_or("").empty());
      BOOST_TEST(!r.header("original.offset").value_or("").empty());
    }
    ++by_code[s.code];
    ++dlq_checked;
  }
  BOOST_TEST(dlq_checked == plan.dead_letters());

  // Cancels: none dead-lettered; each answered.
  const size_t cancels =
      std::count_if(plan.sent.begin(), plan.sent.end(), [](const Sent& s) { return s.cancel; });
  BOOST_TEST(st.cancels_accepted.load() + st.cancels_refused.load() == cancels);
  BOOST_TEST(st.cancels_accepted.load() > 0u);
  const int64_t cancelled = by_state.count("cancelled") ? by_state.at("cancelled") : 0;
  BOOST_TEST(cancelled > 0);
  BOOST_TEST(cancelled <= static_cast<int64_t>(st.cancels_accepted.load()));
  BOOST_TEST(by_state.count("completed") + by_state.count("cancelled") == by_state.size());

  // The DLQ'd commands were logged with their traceparent.
  {
    std::lock_guard<std::mutex> lock(env.log_mu);
    bool logged =
        std::any_of(env.log_lines.begin(), env.log_lines.end(), [&](const std::string& l) {
          return l.find("dead-lettered") != std::string::npos &&
                 l.find("traceparent=00-") != std::string::npos;
        });
    BOOST_TEST(logged);
  }

  // kcat reads every published event of every payment, in seq order, and
  // each payment's final event.
  BOOST_REQUIRE(eventually([&] { return env.outbox_size() == 0; }, 60s, 50ms));
  auto journal = env.published_events(payment_list);
  auto seen = read_events(env.kafka->bootstrap());
  size_t extra = check_events(journal, seen);
  BOOST_TEST(extra == 0u);
  size_t finals = 0, finals_traced = 0, wrong_trace = 0;
  std::map<std::string, std::string> trace_of;  // payment id -> traceparent of its initiate
  for (const Sent& s : plan.sent)
    if (s.valid) trace_of[ids[{s.tenant, s.id}]] = s.traceparent;
  for (const auto& pid : payment_list) {
    const auto& evs = seen[pid];
    if (!evs.empty()) {
      auto st2 = payment_state_from_string(evs.back().state);
      if (st2 && is_final(*st2)) ++finals;
      if (!evs.back().traceparent.empty()) ++finals_traced;
    }
    for (const auto& e : evs)
      if (!e.traceparent.empty() && e.traceparent != trace_of[pid]) ++wrong_trace;
  }
  BOOST_TEST(finals == payment_list.size());
  BOOST_TEST(wrong_trace == 0u);
  BOOST_TEST(finals_traced * 10 >= payment_list.size() * 9);  // best effort, but nearly all

  std::string codes;
  for (const auto& [c, n] : by_code) codes += c + "=" + std::to_string(n) + " ";
  report("mixed: " + std::to_string(total) + " commands: " + std::to_string(plan.payments.size()) +
         " payments, " + std::to_string(duplicates) + " duplicates replayed, " +
         std::to_string(cancels) + " cancels (" + std::to_string(st.cancels_accepted.load()) +
         " honoured), " + std::to_string(plan.dead_letters()) + " dead letters (" + codes +
         "); final states: " + states + "; final events traced: " + std::to_string(finals_traced) +
         "/" + std::to_string(finals));
  BOOST_TEST(st.lag.load() == 0);
  consumer->stop();
  relay->stop();
}

// One command per rule, each with its expected dead-letter code, field and
// reason; the valid ones among them become exactly one payment each.
BOOST_AUTO_TEST_CASE(dead_letter_table) {
  Env env;
  struct Case {
    std::string name;
    std::string key;
    std::string value;
    std::string code;  // "" : valid, must become a payment
    std::string field;
    std::string reason;
  };
  auto inst = [](int i) { return instruction("bank1", i); };
  auto with = [&](int i, const std::function<void(json&)>& f) {
    json p = inst(i);
    f(p);
    return p;
  };
  std::string deep =
      "{\"type\":\"payment.initiate\",\"version\":1,\"id\":\"deep\",\"tenant\":\"bank1\","
      "\"payload\":";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  std::vector<Case> cases = {
      {"valid", "t-ok", initiate("t-ok", "bank1", inst(1)), "", "", ""},
      {"valid, tenant filled from the envelope", "t-fill",
       initiate("t-fill", "bank1", with(2, [](json& p) { p.erase("tenant"); })), "", "", ""},
      {"valid, decimal amount", "t-dec",
       initiate("t-dec", "bank1",
                with(3,
                     [](json& p) {
                       p.erase("amount_minor");
                       p["amount"] = "123.45";
                     })),
       "", "", ""},
      {"too deep", "t-deep", deep, "malformed", "", "FF01"},
      {"too large", "t-big",
       initiate("t-big", "bank1",
                with(4, [](json& p) { p["remittance"] = std::string(3000, 'x'); })),
       "malformed", "", "FF01"},
      {"empty body", "t-empty", "{}", "missing_field", "type", ""},
      {"type not a string", "t-type", "{\"type\":7}", "invalid_field", "type", ""},
      {"id with a space", "t-id", envelope("payment.initiate", 1, "has space", "bank1", inst(5)),
       "invalid_field", "id", ""},
      {"no tenant", "t-notenant",
       [&] {
         json e = json::parse(initiate("t-notenant", "bank1", inst(6)));
         e.erase("tenant");
         return e.dump();
       }(),
       "missing_field", "tenant", ""},
      {"payload a string", "t-pstr",
       envelope("payment.initiate", 1, "t-pstr", "bank1", json("pay me")), "invalid_field",
       "payload", ""},
      {"no payload", "t-nopayload",
       [&] {
         json e = json::parse(initiate("t-nopayload", "bank1", inst(7)));
         e.erase("payload");
         return e.dump();
       }(),
       "missing_field", "payload", ""},
      {"version 1.5", "t-v15", envelope("payment.initiate", 1.5, "t-v15", "bank1", inst(8)),
       "unsupported_version", "version", ""},
      {"amount and amount_minor", "t-both",
       initiate("t-both", "bank1", with(9, [](json& p) { p["amount"] = "1.00"; })), "invalid",
       "payload.amount", "AM12"},
      {"decimal amount, unknown currency", "t-ccy",
       initiate("t-ccy", "bank1",
                with(10,
                     [](json& p) {
                       p.erase("amount_minor");
                       p["amount"] = "1.00";
                       p["currency"] = "XXY";
                     })),
       "invalid", "payload.currency", "AM03"},
      {"amount_minor a string", "t-amtstr",
       initiate("t-amtstr", "bank1", with(11, [](json& p) { p["amount_minor"] = "100"; })),
       "invalid", "payload.amount_minor", "AM12"},
      {"zero amount", "t-zero",
       initiate("t-zero", "bank1", with(12, [](json& p) { p["amount_minor"] = 0; })), "invalid",
       "payload.amount.amount_minor", "AM01"},
      {"bad debtor branch code", "t-branch",
       initiate("t-branch", "bank1", with(13, [](json& p) { p["debtor"]["branch_code"] = "12"; })),
       "invalid", "", ""},
      {"cancel naming nothing, empty key", "",
       envelope("payment.cancel", 1, "t-cnone", "bank1", json::object()), "missing_field",
       "payload.payment_id", ""},
      {"cancel of an unknown payment id", "pay_nope",
       envelope("payment.cancel", 1, "t-cunk", "bank1", json::object()), "not_found", "key", ""},
      {"cancel with payment_id a number", "t-cnum",
       envelope("payment.cancel", 1, "t-cnum", "bank1", json{{"payment_id", 5}}), "invalid_field",
       "payload.payment_id", ""},
  };
  std::vector<Msg> msgs;
  for (const auto& c : cases) msgs.push_back({c.key, c.value});
  kcat_produce(env.kafka->bootstrap(), env.dir.path(), msgs, traceparent(3));
  ConsumerConfig cc = env.consumer_config("table");
  cc.max_command_bytes = 2'048;
  auto consumer = env.start_consumer(cc);
  BOOST_REQUIRE(env.wait_all_committed(*consumer, 60s));
  auto dlq = kcat_read(env.kafka->bootstrap(), kDlqTopic);
  std::map<std::string, const Record*> by_value;
  for (const Record& r : dlq) by_value[r.value] = &r;
  size_t valid = 0;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto it = by_value.find(c.value);
      if (c.code.empty()) {
        ++valid;
        BOOST_TEST((it == by_value.end()));
        continue;
      }
      BOOST_REQUIRE(it != by_value.end());
      const Record& r = *it->second;
      BOOST_TEST(r.header("error.code").value_or("") == c.code);
      if (!c.field.empty()) BOOST_TEST(r.header("error.field").value_or("") == c.field);
      if (!c.reason.empty()) BOOST_TEST(r.header("error.reason").value_or("") == c.reason);
      BOOST_TEST(r.header("traceparent").value_or("") == traceparent(3));
      BOOST_TEST_MESSAGE(c.name << ": " << r.header("error.message").value_or(""));
    }
  }
  BOOST_TEST(dlq.size() == cases.size() - valid);
  // Nothing was journaled for a bad command: only the valid ones are sagas.
  BOOST_TEST(env.saga_count() == static_cast<int64_t>(valid));
  auto ids = env.payment_ids({{"bank1", "t-ok"}, {"bank1", "t-fill"}, {"bank1", "t-dec"}});
  BOOST_TEST(ids.size() == 3u);
  std::optional<Store::IdempotencyEntry> dec;
  std::vector<StoredEvent> events;
  env.engine->with_store([&](Store& s) { events = s.events_for(ids[{"bank1", "t-dec"}]); });
  BOOST_REQUIRE(!events.empty());
  BOOST_TEST(events.front().data.find("\"amount_minor\":12345") != std::string::npos);
  consumer->stop();
}

BOOST_AUTO_TEST_CASE(stop_and_restart_consumer) {
  Env env;
  const int total = 3'000;
  std::vector<Msg> msgs;
  std::vector<std::pair<std::string, std::string>> commands;
  for (int i = 0; i < total; ++i) {
    std::string id = "rs-" + std::to_string(i);
    const std::string tenant = kTenants[i % 2];
    msgs.push_back({id, initiate(id, tenant, instruction(tenant, i))});
    commands.emplace_back(tenant, id);
  }
  kcat_produce(env.kafka->bootstrap(), env.dir.path(), msgs, traceparent(99));
  // Map (partition, offset) -> command, from the topic itself.
  std::map<std::pair<int32_t, int64_t>, std::pair<std::string, std::string>> at;
  for (const Record& r : kcat_read(env.kafka->bootstrap(), kCommandsTopic)) {
    json e = json::parse(r.value);
    at[{r.partition, r.offset}] = {e["tenant"].get<std::string>(), e["id"].get<std::string>()};
  }
  BOOST_REQUIRE(at.size() == static_cast<size_t>(total));

  // First consumer: stopped mid-stream without waiting for what is in flight.
  ConsumerConfig c1 = env.consumer_config("restart");
  c1.stop_timeout_ms = 0;
  auto first = env.start_consumer(c1);
  BOOST_REQUIRE(eventually([&] { return first->stats().initiated.load() >= 800; }, 60s, 1ms));
  first->stop();
  const uint64_t first_initiated = first->stats().initiated.load();
  auto committed =
      group_committed(env.kafka->bootstrap(), "restart", env.kafka->options().command_partitions);
  int64_t committed_total = 0;
  for (auto [p, off] : committed) committed_total += std::max<int64_t>(0, off);
  BOOST_TEST_MESSAGE("first consumer: " << first_initiated << " accepted, " << committed_total
                                        << " committed");
  BOOST_TEST(committed_total > 0);
  BOOST_TEST(committed_total < total);  // stopped mid-stream

  // Every command below a committed offset is durable in the journal.
  size_t below = 0, not_durable = 0;
  env.engine->with_store([&](Store& s) {
    for (const auto& [po, tc] : at) {
      auto c = committed.find(po.first);
      if (c == committed.end() || po.second >= c->second) continue;
      ++below;
      if (!s.idempotency(tc.first, "kafka:" + tc.second)) ++not_durable;
    }
  });
  BOOST_TEST(below == static_cast<size_t>(committed_total));
  BOOST_TEST(not_durable == 0u);

  // A new consumer in the group resumes from the committed offsets.
  auto second = env.start_consumer(env.consumer_config("restart"));
  BOOST_REQUIRE(env.wait_all_committed(*second, 120s));
  const uint64_t second_initiated = second->stats().initiated.load();
  const uint64_t replayed = second->stats().replayed.load();
  BOOST_TEST_MESSAGE("second consumer: " << second_initiated << " accepted, " << replayed
                                         << " replayed");
  // The second consumer read exactly what was not committed, and every one
  // of those got a definite answer: new (accepted) or already there (replayed).
  BOOST_TEST(second->stats().consumed.load() == static_cast<uint64_t>(total - committed_total));
  BOOST_TEST(second_initiated + replayed == static_cast<uint64_t>(total - committed_total));
  BOOST_TEST(first_initiated + second_initiated <= static_cast<uint64_t>(total));
  auto ids = env.payment_ids(commands);
  BOOST_TEST(ids.size() == static_cast<size_t>(total));
  BOOST_TEST(env.saga_count() == total);
  std::vector<std::string> pids;
  for (const auto& [tc, pid] : ids) pids.push_back(pid);
  BOOST_TEST(env.wait_terminal(pids, 120s).empty());
  second->stop();
}

BOOST_AUTO_TEST_CASE(pause_on_pressure) {
  EngineConfig cfg;
  cfg.shards = 2;
  cfg.max_active_per_shard = 3;   // at most 6 payments in flight
  cfg.rail.min_latency_ms = 150;  // each holds its slot for a while
  cfg.rail.max_latency_ms = 250;
  Env env(cfg);
  const int total = 120;
  std::vector<Msg> msgs;
  std::vector<std::pair<std::string, std::string>> commands;
  for (int i = 0; i < total; ++i) {
    std::string id = "pr-" + std::to_string(i);
    msgs.push_back({id, initiate(id, "bank1", instruction("bank1", i))});
    commands.emplace_back("bank1", id);
  }
  kcat_produce(env.kafka->bootstrap(), env.dir.path(), msgs, traceparent(7));
  ConsumerConfig cc = env.consumer_config("pressure");
  cc.backoff_initial_ms = 20;
  cc.backoff_max_ms = 200;
  cc.stats_interval_ms = 20;
  cc.max_in_flight = 16;  // so that pausing holds messages back on the broker
  auto consumer = env.start_consumer(cc);
  const ConsumerStats& st = consumer->stats();
  int64_t max_lag_while_paused = 0;
  BOOST_REQUIRE(eventually(
      [&] {
        if (st.paused.load()) max_lag_while_paused = std::max(max_lag_while_paused, st.lag.load());
        return st.pauses.load() >= 1 && st.initiated.load() >= static_cast<uint64_t>(total);
      },
      120s, 1ms));
  BOOST_REQUIRE(env.wait_all_committed(*consumer, 120s));
  BOOST_TEST(st.overloaded.load() > 0u);
  BOOST_TEST(st.resumes.load() >= 1u);
  BOOST_TEST(st.pauses.load() == st.resumes.load());
  BOOST_TEST(!st.paused.load());
  BOOST_TEST(st.initiated.load() == static_cast<uint64_t>(total));
  BOOST_TEST(st.dlq.load() == 0u);
  BOOST_TEST(max_lag_while_paused > 0);
  BOOST_TEST(eventually([&] { return st.lag.load() == 0; }, 5s));
  auto ids = env.payment_ids(commands);
  BOOST_TEST(ids.size() == static_cast<size_t>(total));
  BOOST_TEST(env.saga_count() == total);
  std::vector<std::string> pids;
  for (const auto& [tc, pid] : ids) pids.push_back(pid);
  BOOST_TEST(env.wait_terminal(pids, 120s).empty());
  report("pressure: " + std::to_string(st.overloaded.load()) + " overloaded answers, " +
         std::to_string(st.pauses.load()) + " pauses, lag while paused up to " +
         std::to_string(max_lag_while_paused));
  consumer->stop();
}

BOOST_AUTO_TEST_CASE(relay_resends_after_stop_and_outage) {
  Env env;
  // Payments straight through the engine; the relay is not running yet.
  const int total = 400;
  std::vector<std::string> pids;
  for (int i = 0; i < total; ++i) {
    PaymentInstruction p = valid_instruction();
    p.end_to_end_id = "RL-" + std::to_string(i);
    auto r = env.engine->initiate(p);
    BOOST_REQUIRE(r.status == InitiateReply::Status::accepted);
    pids.push_back(r.payment_id);
  }
  BOOST_REQUIRE(env.wait_terminal(pids, 60s).empty());
  const int64_t backlog = env.outbox_size();
  auto journal = env.published_events(pids);
  int64_t published = 0;
  for (const auto& [id, evs] : journal) published += static_cast<int64_t>(evs.size());
  BOOST_REQUIRE(backlog == published);
  BOOST_REQUIRE(backlog >= 8 * total);  // received .. completed: 8 published events each

  // 1. Stopped mid-way: the cursor is exactly where deliveries were confirmed.
  RelayConfig rc = env.relay_config();
  rc.batch_rows = 64;
  rc.max_in_flight = 64;  // one batch at a time: the stop lands mid-way
  auto relay = env.start_relay(rc);
  BOOST_REQUIRE(
      eventually([&] { return relay->stats().relayed_through_seq.load() > 0; }, 30s, 1ms));
  relay->stop();
  const int64_t through = relay->stats().relayed_through_seq.load();
  const int64_t left = env.outbox_size();
  BOOST_TEST(left > 0);
  BOOST_TEST(left < backlog);
  int64_t at_or_below = 0;
  for (const auto& [id, evs] : journal)
    for (const auto& [seq, state] : evs)
      if (seq <= through) ++at_or_below;
  BOOST_TEST(left == backlog - at_or_below);  // exactly the unconfirmed events remain
  {
    // Everything through the cursor is on Kafka.
    auto seen = read_events(env.kafka->bootstrap());
    int64_t on_kafka_below = 0;
    for (const auto& [id, evs] : seen)
      for (const auto& e : evs)
        if (e.seq <= through) ++on_kafka_below;
    BOOST_TEST(on_kafka_below >= at_or_below);
  }

  // 2. Broker outage: nothing is confirmed, so the cursor does not move.
  env.kafka->set_brokers_down();
  rc.stop_timeout_ms = 300;
  auto relay2 = env.start_relay(rc);
  BOOST_REQUIRE(eventually([&] { return relay2->stats().produced.load() > 0; }, 30s, 1ms));
  std::this_thread::sleep_for(300ms);  // deliveries are stuck; the cursor must stay
  BOOST_TEST(relay2->stats().delivered.load() == 0u);
  relay2->stop();
  BOOST_TEST(env.outbox_size() == left);
  env.kafka->set_brokers_up();

  // 3. A restarted relay sends the rest, through a produce request the
  // broker refuses: the failed delivery is sent again, nothing is missing.
  rd_kafka_mock_push_request_errors(env.kafka->mock(), 0 /* Produce */, 1,
                                    RD_KAFKA_RESP_ERR_INVALID_RECORD);
  rc.retry_backoff_ms = 50;
  auto relay3 = env.start_relay(rc);
  BOOST_REQUIRE(eventually([&] { return env.outbox_size() == 0; }, 60s, 20ms));
  relay3->stop();
  BOOST_TEST(relay3->stats().delivery_failures.load() >= 1u);
  BOOST_TEST(relay3->stats().resends.load() >= 1u);
  auto seen = read_events(env.kafka->bootstrap());
  size_t extra = check_events(journal, seen);
  report("relay: backlog " + std::to_string(backlog) + ", stopped at seq " +
         std::to_string(through) + " with " + std::to_string(left) +
         " left; after the outage everything arrived, " + std::to_string(extra) + " extra copies");
}

namespace {

// The child of sigkill_mid_stream: an engine and a consumer until killed.
// PAYENGINE_KAFKA_CHILD = "<db path>|<bootstrap>|<group>".
int run_child(const std::string& spec) {
  size_t a = spec.find('|'), b = spec.find('|', a + 1);
  EngineConfig cfg;
  cfg.store.path = spec.substr(0, a);
  cfg.store.synchronous = Synchronous::normal;
  cfg.seed = 7;
  auto e = Engine::start(cfg);
  if (!e.ok()) return 3;
  auto engine = std::move(e.value());
  engine->wait_recovered(30s);
  ConsumerConfig cc;
  cc.bootstrap = spec.substr(a + 1, b - a - 1);
  cc.group_id = spec.substr(b + 1);
  cc.properties = kEmbeddedConsumerProperties;
  cc.commit_interval_ms = 20;
  cc.max_in_flight = 256;
  auto c = CommandConsumer::start(*engine, cc);
  if (!c.ok()) return 4;
  for (;;) std::this_thread::sleep_for(1s);
}

}  // namespace

BOOST_AUTO_TEST_CASE(sigkill_mid_stream) {
  Env env;
  const int total = 10'000 / kScale;
  std::vector<Msg> msgs;
  std::vector<std::pair<std::string, std::string>> commands;
  for (int i = 0; i < total; ++i) {
    std::string id = "kill-" + std::to_string(i);
    const std::string tenant = kTenants[i % 2];
    msgs.push_back({id, initiate(id, tenant, instruction(tenant, i))});
    commands.emplace_back(tenant, id);
  }
  kcat_produce(env.kafka->bootstrap(), env.dir.path(), msgs, traceparent(5));
  std::map<std::pair<int32_t, int64_t>, std::pair<std::string, std::string>> at;
  for (const Record& r : kcat_read(env.kafka->bootstrap(), kCommandsTopic)) {
    json e = json::parse(r.value);
    at[{r.partition, r.offset}] = {e["tenant"].get<std::string>(), e["id"].get<std::string>()};
  }
  BOOST_REQUIRE(at.size() == static_cast<size_t>(total));

  // The child shares the database: this process lets go of it meanwhile.
  const std::string db = env.dir.path() + "/engine.db";
  env.stop_engine();
  const std::string group = "crash";
  std::string spec_env = "PAYENGINE_KAFKA_CHILD=" + db + "|" + env.kafka->bootstrap() + "|" + group;
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(spec_env.data());
  envp.push_back(nullptr);
  char self[] = "/proc/self/exe";
  char* argv[] = {self, nullptr};
  const pid_t child = fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    execve(self, argv, envp.data());
    _exit(127);
  }
  const int partitions = env.kafka->options().command_partitions;
  auto committed_sum = [&](const std::map<int32_t, int64_t>& m) {
    int64_t s = 0;
    for (auto [p, off] : m) s += std::max<int64_t>(0, off);
    return s;
  };
  bool reached = eventually(
      [&] {
        return committed_sum(group_committed(env.kafka->bootstrap(), group, partitions)) >=
               1'000 / kScale;
      },
      60s, 5ms);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  BOOST_REQUIRE_MESSAGE(reached, "the child committed too little before the deadline");
  BOOST_TEST(WIFSIGNALED(status));
  auto committed = group_committed(env.kafka->bootstrap(), group, partitions);
  const int64_t committed_total = committed_sum(committed);
  BOOST_TEST_MESSAGE("killed the child with " << committed_total << " of " << total
                                              << " committed");
  BOOST_TEST(committed_total < total);  // killed mid-stream

  // Every committed offset has its payment in the journal.
  env.start_engine(EngineConfig{});
  size_t below = 0, not_durable = 0;
  env.engine->with_store([&](Store& s) {
    for (const auto& [po, tc] : at) {
      auto c = committed.find(po.first);
      if (c == committed.end() || po.second >= c->second) continue;
      ++below;
      if (!s.idempotency(tc.first, "kafka:" + tc.second)) ++not_durable;
    }
  });
  BOOST_TEST(below == static_cast<size_t>(committed_total));
  BOOST_TEST(not_durable == 0u);

  // A consumer in the same group finishes the rest; each payment once.
  ConsumerConfig cc = env.consumer_config(group);
  auto consumer = env.start_consumer(cc);
  BOOST_REQUIRE(env.wait_all_committed(*consumer, 180s));
  auto ids = env.payment_ids(commands);
  BOOST_TEST(ids.size() == static_cast<size_t>(total));
  BOOST_TEST(env.saga_count() == total);
  std::vector<std::string> pids;
  for (const auto& [tc, pid] : ids) pids.push_back(pid);
  BOOST_TEST(env.wait_terminal(pids, 120s).empty());
  report("sigkill: child killed at " + std::to_string(committed_total) + " committed of " +
         std::to_string(total) + "; the restarted consumer accepted " +
         std::to_string(consumer->stats().initiated.load()) + " and replayed " +
         std::to_string(consumer->stats().replayed.load()));
  consumer->stop();
}

BOOST_AUTO_TEST_CASE(consumer_throughput) {
  Env env;
  const int total = 20'000 / kScale;
  std::vector<Msg> msgs;
  for (int i = 0; i < total; ++i) {
    std::string id = "tp-" + std::to_string(i);
    const std::string tenant = kTenants[i % 2];
    msgs.push_back({id, initiate(id, tenant, instruction(tenant, i))});
  }
  kcat_produce(env.kafka->bootstrap(), env.dir.path(), msgs, traceparent(1));
  auto consumer = env.start_consumer(env.consumer_config("throughput"));
  const ConsumerStats& st = consumer->stats();
  BOOST_REQUIRE(eventually([&] { return st.consumed.load() > 0; }, 30s, 1ms));
  const auto t0 = Steady::now();
  const uint64_t at_start = st.initiated.load();
  BOOST_REQUIRE(
      eventually([&] { return st.initiated.load() >= static_cast<uint64_t>(total); }, 120s, 1ms));
  const double s = std::chrono::duration<double>(Steady::now() - t0).count();
  const double rate = static_cast<double>(total - at_start) / s;
  char line[200];
  std::snprintf(line, sizeof line,
                "throughput: %d commands consumed and journaled in %.2f s: %.0f commands/s "
                "(embedded broker, simulated rail, synchronous=normal)",
                total, s, rate);
  report(line);
  BOOST_TEST(rate > 0.0);
  consumer->stop();

  // The relay, started on the whole backlog once every saga has ended.
  BOOST_REQUIRE(eventually([&] { return env.engine->total_stats().active == 0; }, 120s, 20ms));
  const int64_t backlog = env.outbox_size();
  RelayConfig rcfg = env.relay_config();
  if (const char* v = std::getenv("KPROPS")) {
    std::string all = v;
    size_t at = 0;
    while (at < all.size()) {
      size_t c = all.find(',', at);
      if (c == std::string::npos) c = all.size();
      rcfg.properties.push_back(parse_property(all.substr(at, c - at)).value());
      at = c + 1;
    }
  }
  if (const char* v = std::getenv("KBATCH")) rcfg.batch_rows = std::stoul(v);
  auto relay = env.start_relay(rcfg);
  const auto r0 = Steady::now();
  // Watch the relay's own counters: polling the outbox itself would load the journal thread.
  BOOST_REQUIRE(
      eventually([&] { return relay->stats().delivered.load() >= static_cast<uint64_t>(backlog); },
                 120s, 2ms));
  const double rs = std::chrono::duration<double>(Steady::now() - r0).count();
  BOOST_REQUIRE(eventually([&] { return env.outbox_size() == 0; }, 10s, 20ms));
  std::snprintf(line, sizeof line,
                "relay: %lld events delivered to payments.events in %.2f s: %.0f events/s",
                static_cast<long long>(backlog), rs, static_cast<double>(backlog) / rs);
  report(line);
  relay->stop();
}

int main(int argc, char* argv[]) {
  if (const char* child = std::getenv("PAYENGINE_KAFKA_CHILD")) return run_child(child);
  return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
