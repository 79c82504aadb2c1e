#include "actors/bench_kafka.hpp"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <filesystem>

#include "actors/command_consumer.hpp"
#include "actors/bench_format.hpp"
#include "actors/engine.hpp"
#include "actors/kafka_common.hpp"
#include "actors/kafka_embedded.hpp"
#include "actors/outbox_relay.hpp"
#include "sagas/payment_saga.hpp"
#include "sagas/result.hpp"

namespace payengine {
namespace {

using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;
using namespace payengine::kafka;
using nlohmann::json;

constexpr const char* kTenants[] = {"bank1", "bank2"};
constexpr const char* kDebtorAccount = "1234567890";
constexpr int64_t kAmountMinor = 10'000;  // R100.00 per payment
constexpr double kTargetPerS = 50'000;
constexpr auto kPoll = 10ms;
constexpr auto kDeadline = 10min;

double seconds_since(Steady::time_point t0, Steady::time_point t1) {
  return std::chrono::duration<double>(t1 - t0).count();
}

using bench_format::fixed;
using bench_format::grouped;
using bench_format::load_average;

std::string traceparent(uint64_t i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "00-%032llx-%016llx-01", static_cast<unsigned long long>(0xbe4c000000ull + i),
                static_cast<unsigned long long>(0xab0000ull + i));
  return buf;
}

// One valid payment.initiate command (the envelope of command_consumer.hpp).
std::string initiate_command(uint64_t i, const std::string& id) {
  PaymentInstruction p;
  p.tenant = kTenants[i % 2];
  p.end_to_end_id = "BENCH-K-" + std::to_string(i);
  p.amount = Money{kAmountMinor, "ZAR"};
  p.debtor.name = "Thandi Nkosi";
  p.debtor.account_number = kDebtorAccount;
  p.debtor.branch_code = "250655";
  p.creditor.name = "Pieter van der Merwe";
  p.creditor.account_number = "9876543210";
  p.creditor.branch_code = "632005";
  p.remittance = "Invoice " + std::to_string(i);
  return "{\"type\":\"payment.initiate\",\"version\":1,\"id\":\"" + id + "\",\"tenant\":\"" + p.tenant +
         "\",\"payload\":" + sagas::instruction_to_json(p) + "}";
}

// ------------------------------------------------------------ producing --

struct Deliveries {
  uint64_t delivered = 0;
  uint64_t failed = 0;
  std::string first_error;
  std::map<int32_t, int64_t> end;  // partition -> one past the highest delivered offset
};

void delivery_report(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  if (m->err) {
    if (d->failed++ == 0) d->first_error = rd_kafka_err2str(m->err);
    return;
  }
  ++d->delivered;
  int64_t& end = d->end[m->partition];
  if (m->offset + 1 > end) end = m->offset + 1;
}

struct Produced {
  double seconds = 0;
  std::map<int32_t, int64_t> end;  // per partition, what the group must commit up to
};

struct RdKafka {  // destroys a client handle
  rd_kafka_t* rk = nullptr;
  ~RdKafka() {
    if (rk) rd_kafka_destroy(rk);
  }
};

Result<Produced> produce_commands(const std::string& bootstrap, uint64_t n, int partitions) {
  Deliveries d;
  auto conf = make_client_conf(ClientRole::producer, bootstrap,
                               {{"linger.ms", "5"},
                                {"batch.num.messages", "10000"},
                                {"batch.size", "1000000"},
                                {"compression.type", "lz4"},  // the mock broker keeps 5 MiB per partition
                                {"queue.buffering.max.messages", "1000000"},
                                {"queue.buffering.max.kbytes", "1048576"},
                                {"client.id", "payengine-bench-producer"}},
                               {});
  if (!conf) return conf.error();
  rd_kafka_conf_set_opaque(*conf, &d);
  rd_kafka_conf_set_dr_msg_cb(*conf, &delivery_report);
  char err[512];
  RdKafka p;
  p.rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof err);
  if (!p.rk) {
    rd_kafka_conf_destroy(*conf);
    return Error{"kafka", std::string("producer: ") + err};
  }
  const auto t0 = Steady::now();
  const auto deadline = t0 + kDeadline;
  for (uint64_t i = 0; i < n; ++i) {
    const std::string id = "bench-" + std::to_string(i);
    const std::string value = initiate_command(i, id);
    const std::string tp = traceparent(i);
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          p.rk, RD_KAFKA_V_TOPIC(kCommandsTopic), RD_KAFKA_V_KEY(id.data(), id.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_HEADER("traceparent", tp.data(), static_cast<ssize_t>(tp.size())), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) return Error{"kafka", std::string("produce: ") + rd_kafka_err2str(e)};
      if (Steady::now() >= deadline) return Error{"kafka", "produce: the local queue stayed full"};
      rd_kafka_poll(p.rk, 10);  // serve delivery reports, making room
    }
    rd_kafka_poll(p.rk, 0);
  }
  while (rd_kafka_outq_len(p.rk) > 0 && Steady::now() < deadline) rd_kafka_flush(p.rk, 1'000);
  Produced out;
  out.seconds = seconds_since(t0, Steady::now());
  if (rd_kafka_outq_len(p.rk) > 0) return Error{"kafka", "produce: not every delivery report came within the deadline"};
  if (d.failed > 0 || d.delivered != n)
    return Error{"kafka", "produce: " + std::to_string(d.delivered) + " of " + std::to_string(n) + " delivered, " +
                              std::to_string(d.failed) + " failed (" + d.first_error + ")"};
  // The mock broker drops the oldest messages past 5 MiB per partition:
  // every message must still be there.
  uint64_t held = 0;
  for (int32_t part = 0; part < partitions; ++part) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(p.rk, kCommandsTopic, part, &lo, &hi, 5'000);
    if (e) return Error{"kafka", std::string("watermarks: ") + rd_kafka_err2str(e)};
    if (lo != 0)
      return Error{"kafka", "partition " + std::to_string(part) + " starts at offset " + std::to_string(lo) +
                                ": the embedded broker dropped messages (it keeps 5 MiB per partition); use fewer "
                                "--commands"};
    held += static_cast<uint64_t>(hi);
    auto it = d.end.find(part);
    if ((it == d.end.end() ? 0 : it->second) != hi)
      return Error{"kafka", "partition " + std::to_string(part) + " ends at " + std::to_string(hi) +
                                ", not where the delivery reports said"};
  }
  if (held != n) return Error{"kafka", "the topic holds " + std::to_string(held) + " messages, not " + std::to_string(n)};
  out.end = d.end;
  return out;
}

// ------------------------------------------------------------- ceiling --

// Rates are taken from the moment the group assigned the partitions:
// joining a new group on the mock broker takes about 3 s whatever follows
// (its initial rebalance delay), the same for both consumers. The totals,
// join included, are reported too.
struct Ceiling {
  double seconds = 0;      // consumer created to last message
  double join_s = 0;       // consumer created to partitions assigned
  double per_s = 0;        // n / (last message - assignment)
  double per_s_total = 0;  // n / seconds
};

struct Assignment {
  std::optional<Steady::time_point> at;
};

void ceiling_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                       void* opaque) {
  auto* a = static_cast<Assignment*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, parts);
    if (!a->at) a->at = Steady::now();
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

Result<Ceiling> raw_consume(const std::string& bootstrap, uint64_t n) {
  const std::string group = "bench-ceiling-" + std::to_string(getpid()) + "-" +
                            std::to_string(Steady::now().time_since_epoch().count());
  const auto t0 = Steady::now();
  auto conf = make_client_conf(ClientRole::consumer, bootstrap,
                               {{"group.id", group},
                                {"auto.offset.reset", "earliest"},
                                {"enable.partition.eof", "false"},
                                {"client.id", "payengine-bench-ceiling"}},
                               kEmbeddedConsumerProperties);
  if (!conf) return conf.error();
  Assignment assigned;
  rd_kafka_conf_set_opaque(*conf, &assigned);
  rd_kafka_conf_set_rebalance_cb(*conf, &ceiling_rebalance);
  char err[512];
  RdKafka c;
  c.rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, err, sizeof err);
  if (!c.rk) {
    rd_kafka_conf_destroy(*conf);
    return Error{"kafka", std::string("ceiling consumer: ") + err};
  }
  rd_kafka_poll_set_consumer(c.rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, kCommandsTopic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(c.rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) return Error{"kafka", std::string("ceiling subscribe: ") + rd_kafka_err2str(e)};
  const auto deadline = t0 + kDeadline;
  uint64_t got = 0;
  while (got < n) {
    if (Steady::now() >= deadline) {
      rd_kafka_consumer_close(c.rk);
      return Error{"kafka", "ceiling: " + std::to_string(got) + " of " + std::to_string(n) + " messages within the deadline"};
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c.rk, 100);
    if (!m) continue;
    if (!m->err) ++got;
    rd_kafka_message_destroy(m);
  }
  const auto t1 = Steady::now();
  rd_kafka_consumer_close(c.rk);
  Ceiling out;
  out.seconds = seconds_since(t0, t1);
  const auto from = assigned.at ? *assigned.at : t0;
  out.join_s = seconds_since(t0, from);
  out.per_s_total = static_cast<double>(n) / out.seconds;
  out.per_s = static_cast<double>(n) / seconds_since(from, t1);
  return out;
}

// -------------------------------------------------------------- engine --

struct Intake {
  double seconds = 0;  // consumer started to every command journaled and committed
  double join_s = 0;       // consumer started to partitions assigned (10 ms resolution)
  double per_s = 0;        // commands journaled / (done - assignment)
  double per_s_total = 0;  // commands journaled / seconds
  uint64_t initiated = 0, replayed = 0, dlq = 0, overloaded = 0, pauses = 0, commits = 0;
  int64_t journal_payments = 0;
  uint64_t relay_delivered = 0;  // events on payments.events when intake finished (--relay on)
  bench_format::MachineShare cpu;  // the whole machine from assignment to done
  std::vector<std::string> log;
};

bool all_committed(const CommandConsumer& c, const std::map<int32_t, int64_t>& end) {
  std::map<int32_t, int64_t> committed;
  for (auto [p, off] : c.committed()) committed[p] = off;
  for (auto [p, hi] : end) {
    auto it = committed.find(p);
    if (it == committed.end() || it->second < hi) return false;
  }
  return true;
}

Result<Intake> run_intake(const BenchKafkaOptions& o, const std::string& dir, const std::string& bootstrap,
                          const std::map<int32_t, int64_t>& end) {
  EngineConfig cfg;
  cfg.max_active_per_shard = o.max_active_per_shard;
  cfg.store.path = dir + "/engine.db";
  cfg.store.synchronous = o.sync == "normal" ? sagas::Synchronous::normal : sagas::Synchronous::full;
  // cfg.rails empty: every rail is the in-process simulated rail (instant, no failures).
  auto engine = Engine::start(cfg);
  if (!engine) return Error{"engine", "Engine::start: " + engine.error().message};
  if (!(*engine)->wait_recovered(30s)) return Error{"engine", "recovery did not finish"};
  const int64_t opening = kAmountMinor * static_cast<int64_t>(o.commands);  // each tenant funded for all
  std::string fund_error;
  (*engine)->with_store([&](sagas::Store& s) {
    for (const char* t : kTenants) {
      auto r = s.create_account(std::string(t) + "/" + kDebtorAccount, "ZAR", opening);
      if (!r.ok() && fund_error.empty()) fund_error = r.error().message;
    }
  });
  if (!fund_error.empty()) return Error{"engine", "funding the debtors: " + fund_error};

  auto log_mu = std::make_shared<std::mutex>();
  auto log = std::make_shared<std::vector<std::string>>();
  LogFn log_fn = [log_mu, log](const std::string& line) {
    std::lock_guard<std::mutex> lock(*log_mu);
    if (log->size() < 20) log->push_back(line);
  };
  auto traces = std::make_shared<TraceContexts>();

  // As KafkaBridge runs them: the relay first, then the consumer.
  std::unique_ptr<OutboxRelay> relay;
  if (o.relay) {
    RelayConfig rc;
    rc.bootstrap = bootstrap;
    rc.properties = kEmbeddedConsumerProperties;  // consumer.* only: nothing for the relay's producer
    rc.traces = traces;
    rc.log = log_fn;
    auto r = OutboxRelay::start(**engine, rc);
    if (!r) return Error{"kafka", "OutboxRelay::start: " + r.error().message};
    relay = std::move(*r);
  }
  ConsumerConfig cc;
  cc.bootstrap = bootstrap;
  cc.properties = kEmbeddedConsumerProperties;
  cc.group_id = "payengine-bench";
  cc.traces = traces;
  cc.log = log_fn;
  const auto t0 = Steady::now();
  auto consumer_r = CommandConsumer::start(**engine, cc);
  if (!consumer_r) return Error{"kafka", "CommandConsumer::start: " + consumer_r.error().message};
  std::unique_ptr<CommandConsumer> consumer = std::move(*consumer_r);
  const ConsumerStats& st = consumer->stats();

  Intake out;
  bench_format::MachineCpu cpu0;
  const auto deadline = t0 + kDeadline;
  std::optional<Steady::time_point> assigned;
  bool done = false;
  for (;;) {
    const auto now = Steady::now();
    if (!assigned && st.assigned_partitions.load() > 0) {
      assigned = now;
      cpu0 = bench_format::machine_cpu();
    }
    if (st.initiated.load() + st.replayed.load() + st.dlq.load() >= o.commands && st.in_flight.load() == 0 &&
        all_committed(*consumer, end)) {
      done = true;
      break;
    }
    if (now >= deadline) break;
    std::this_thread::sleep_for(kPoll);
  }
  const auto t1 = Steady::now();
  out.cpu = bench_format::machine_share(cpu0, bench_format::machine_cpu());
  if (relay) out.relay_delivered = relay->stats().delivered.load();
  consumer->stop();
  if (relay) relay->stop();
  out.initiated = st.initiated.load();
  out.replayed = st.replayed.load();
  out.dlq = st.dlq.load();
  out.overloaded = st.overloaded.load();
  out.pauses = st.pauses.load();
  out.commits = st.commits.load();
  out.seconds = seconds_since(t0, t1);
  const auto from = assigned ? *assigned : t0;
  out.join_s = seconds_since(t0, from);
  out.per_s_total = static_cast<double>(out.initiated) / out.seconds;
  out.per_s = static_cast<double>(out.initiated) / seconds_since(from, t1);
  (*engine)->with_store([&](sagas::Store& s) {
    for (const auto& [state, n] : s.count_by_state()) out.journal_payments += n;
  });
  {
    std::lock_guard<std::mutex> lock(*log_mu);
    out.log = *log;
  }
  consumer.reset();
  relay.reset();
  engine->reset();
  if (!done)
    return Error{"deadline", "not every command was journaled and committed within 10 minutes (" +
                                 std::to_string(out.initiated) + " of " + std::to_string(o.commands) + " initiated, " +
                                 std::to_string(out.dlq) + " dead-lettered)"};
  return out;
}

}  // namespace

int run_bench_kafka(const BenchKafkaOptions& o) {
  if (o.commands < 1) {
    std::cerr << "bench kafka: --commands must be at least 1\n";
    return 2;
  }
  std::string dir = (std::filesystem::temp_directory_path() / "payengine-bench-kafka-XXXXXX").string();
  if (!mkdtemp(dir.data())) {
    std::cerr << "bench kafka: mkdtemp failed\n";
    return 2;
  }
  struct RemoveDir {
    std::string path;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } cleanup{dir};
  const std::string load_before = load_average();
  const std::string sync_name = o.sync == "normal" ? "NORMAL" : "FULL";

  EmbeddedKafkaOptions ko;
  auto kafka_r = EmbeddedKafka::start(ko);
  if (!kafka_r) {
    std::cerr << "bench kafka: " << kafka_r.error().message << "\n";
    return 2;
  }
  std::unique_ptr<EmbeddedKafka> kafka = std::move(*kafka_r);
  std::cerr << "bench kafka: embedded broker at " << kafka->bootstrap() << "; producing " << o.commands
            << " commands; load average " << load_before << "\n";

  auto produced = produce_commands(kafka->bootstrap(), o.commands, ko.command_partitions);
  if (!produced) {
    std::cerr << "bench kafka: " << produced.error().message << "\n";
    return 2;
  }
  std::cerr << "bench kafka: ceiling: a plain consumer reads them all\n";
  auto ceiling = raw_consume(kafka->bootstrap(), o.commands);
  if (!ceiling) {
    std::cerr << "bench kafka: " << ceiling.error().message << "\n";
    return 2;
  }
  std::cerr << "bench kafka: engine (synchronous=" << sync_name << ", relay " << (o.relay ? "on" : "off")
            << ", admission cap " << o.max_active_per_shard << " per shard) and CommandConsumer\n";
  auto intake = run_intake(o, dir, kafka->bootstrap(), produced->end);
  kafka.reset();
  if (!intake) {
    std::cerr << "bench kafka: " << intake.error().message << "\n";
    return 2;
  }
  for (const auto& line : intake->log) std::cerr << "bench kafka: consumer log: " << line << "\n";
  const std::string load_after = load_average();
  const double ratio = intake->per_s / ceiling->per_s;
  const bool target_met = intake->per_s >= kTargetPerS;
  const bool verified = intake->initiated == o.commands && intake->dlq == 0 &&
                        intake->journal_payments == static_cast<int64_t>(o.commands);

  if (o.json) {
    json j;
    j["bench"] = "kafka";
    j["commands"] = o.commands;
    j["sync"] = o.sync;
    j["relay"] = o.relay;
    j["max_active_per_shard"] = o.max_active_per_shard;
    j["partitions"] = ko.command_partitions;
    j["load_average_before"] = load_before;
    j["load_average_after"] = load_after;
    j["produce_seconds"] = produced->seconds;
    j["produce_per_s"] = static_cast<double>(o.commands) / produced->seconds;
    j["ceiling"] = {{"seconds", ceiling->seconds},
                    {"join_s", ceiling->join_s},
                    {"per_s", ceiling->per_s},
                    {"per_s_with_join", ceiling->per_s_total}};
    j["ceiling_per_s"] = ceiling->per_s;
    j["engine"] = {{"seconds", intake->seconds},
                   {"join_s", intake->join_s},
                   {"commands_per_s", intake->per_s},
                   {"commands_per_s_with_join", intake->per_s_total},
                   {"journaled", intake->initiated},
                   {"replayed", intake->replayed},
                   {"dlq", intake->dlq},
                   {"overloaded", intake->overloaded},
                   {"pauses", intake->pauses},
                   {"commits", intake->commits},
                   {"journal_payments", intake->journal_payments},
                   {"relay_events_delivered", intake->relay_delivered}};
    bench_format::put_machine_share(j["engine"], intake->cpu);
    j["ratio"] = ratio;
    j["target_per_s"] = kTargetPerS;
    j["met"] = target_met;
    j["verified"] = verified;
    std::cout << j.dump() << std::endl;
  } else {
    std::printf("bench kafka: %llu payment.initiate commands on %s (%d partitions, embedded broker), "
                "synchronous=%s, relay %s, admission cap %llu per shard\n",
                static_cast<unsigned long long>(o.commands), kCommandsTopic, ko.command_partitions,
                sync_name.c_str(), o.relay ? "on" : "off",
                static_cast<unsigned long long>(o.max_active_per_shard));
    std::printf("load average before %s, after %s\n\n", load_before.c_str(), load_after.c_str());
    std::printf("%-46s %12s %9s %9s %12s %8s  %s\n", "run", "per s", "join s", "seconds", "per s total", "ratio",
                "target");
    std::printf("%-46s %12s %9s %9s\n", "produce (lz4, batched, all delivery reports)",
                grouped(static_cast<double>(o.commands) / produced->seconds).c_str(), "",
                fixed(produced->seconds, 2).c_str());
    std::printf("%-46s %12s %9s %9s %12s %8s\n", "ceiling: plain consumer, new group",
                grouped(ceiling->per_s).c_str(), fixed(ceiling->join_s, 2).c_str(),
                fixed(ceiling->seconds, 2).c_str(), grouped(ceiling->per_s_total).c_str(), "1.00");
    std::printf("%-46s %12s %9s %9s %12s %8s  >= %s/s: %s\n", "engine: CommandConsumer, journaled + committed",
                grouped(intake->per_s).c_str(), fixed(intake->join_s, 2).c_str(), fixed(intake->seconds, 2).c_str(),
                grouped(intake->per_s_total).c_str(), fixed(ratio, 3).c_str(), grouped(kTargetPerS).c_str(),
                target_met ? "met" : "NOT met");
    std::printf("\n(per s: from the partitions' assignment, after joining the group (join s, about 3 s on the "
                "mock broker);\n seconds, per s total: from creating the consumer, join included, to the last message "
                "(ceiling) or to\n every command journaled and its offset committed (engine))\n");
    std::printf("engine: %llu journaled, %llu replayed, %llu dead-lettered, %llu overloaded answers, %llu pauses, "
                "%llu offset commits; journal holds %lld payments: %s\n",
                static_cast<unsigned long long>(intake->initiated), static_cast<unsigned long long>(intake->replayed),
                static_cast<unsigned long long>(intake->dlq), static_cast<unsigned long long>(intake->overloaded),
                static_cast<unsigned long long>(intake->pauses), static_cast<unsigned long long>(intake->commits),
                static_cast<long long>(intake->journal_payments), verified ? "ok" : "MISMATCH");
    if (intake->cpu.ok)
      std::printf("machine CPU from the engine's assignment to done: %s\n",
                  bench_format::describe(intake->cpu).c_str());
    if (o.relay)
      std::printf("relay: %llu events delivered to %s by the end of intake\n",
                  static_cast<unsigned long long>(intake->relay_delivered), kEventsTopic);
    std::fflush(stdout);
  }
  if (!verified) {
    std::cerr << "bench kafka: expected " << o.commands << " payments journaled, no dead letters\n";
    return 1;
  }
  return 0;
}

}  // namespace payengine
