// payengine: one binary, subcommands.
//   payengine demo            run a few hundred payments on the embedded defaults and summarise
//   payengine run             drive synthetic payments against a database (crash-recovery harness)
//   payengine bench sagas     end-to-end saga throughput against the raw SQLite ceiling
//   payengine bench clearing  throughput through each rail adapter against railsim
//   payengine bench http      POST /v1/payments through the HTTP gateway against an nginx ceiling
//   payengine bench kafka     commands from Kafka into the journal against a raw consumer ceiling
//   payengine railsim         play one rail's counterpart on a port
//   payengine serve           the engine behind its HTTP and Kafka doors, until SIGTERM
//   payengine broker          librdkafka's mock cluster alone (a Kafka that outlives serve restarts)
#include <CLI/CLI.hpp>

#include <signal.h>
#include <time.h>

#include <filesystem>
#include <iostream>

#include "actors/bench.hpp"
#include "actors/bench_clearing.hpp"
#include "actors/bench_http.hpp"
#include "actors/bench_kafka.hpp"
#include "actors/driver.hpp"
#include "actors/engine.hpp"
#include "actors/kafka_embedded.hpp"
#include "actors/serve.hpp"
#include "clearing/rails.hpp"

using namespace payengine;

namespace {

struct CommonFlags {
  std::string db;
  std::string sync = "full";
  uint64_t seed = 1;
  int64_t submit_timeout_ms = 2'000;
  int64_t await_timeout_ms = 10'000;
  int64_t rail_min_latency_ms = 0;
  int64_t rail_max_latency_ms = 20;
  uint32_t reject_ppm = 30'000;
  uint32_t transient_ppm = 30'000;
  uint32_t silent_ppm = 0;
  size_t shards = 4;
  uint64_t max_active = 10'000;
  std::string rails = "sim";  // sim: the in-process simulated rail; railsim: adapters + railsims
};

void add_engine_flags(CLI::App* cmd, CommonFlags& f) {
  cmd->add_option("--db", f.db, "SQLite database file");
  cmd->add_option("--sync", f.sync, "SQLite synchronous mode: full or normal")
      ->check(CLI::IsMember({"full", "normal"}));
  cmd->add_option("--seed", f.seed, "seed for synthetic payments and the simulated rail");
  cmd->add_option("--submit-timeout-ms", f.submit_timeout_ms, "rail ack timeout per attempt");
  cmd->add_option("--await-timeout-ms", f.await_timeout_ms, "rail final-status timeout per attempt");
  cmd->add_option("--rail-min-latency-ms", f.rail_min_latency_ms, "simulated rail latency, lower bound");
  cmd->add_option("--rail-max-latency-ms", f.rail_max_latency_ms, "simulated rail latency, upper bound");
  cmd->add_option("--reject-ppm", f.reject_ppm, "simulated rail rejections per million");
  cmd->add_option("--transient-ppm", f.transient_ppm, "simulated rail bounces per million attempts");
  cmd->add_option("--silent-ppm", f.silent_ppm, "payments the simulated rail never answers, per million");
  cmd->add_option("--shards", f.shards, "saga supervisors");
  cmd->add_option("--max-active", f.max_active, "admission cap per shard");
  cmd->add_option("--rails", f.rails,
                  "sim: one in-process simulated rail; railsim: the five rail adapters over TCP "
                  "to a railsim per rail started in this process")
      ->check(CLI::IsMember({"sim", "railsim"}));
}

// The five railsims (when --rails railsim), started before the engine.
std::unique_ptr<clearing::EmbeddedRailsims> start_railsims(const CommonFlags& f, EngineConfig& c) {
  if (f.rails != "railsim") return nullptr;
  clearing::RailsimOptions o;
  o.seed = f.seed;
  o.admin = false;
  o.faults.latency_min_ms = f.rail_min_latency_ms;
  o.faults.latency_max_ms = f.rail_max_latency_ms;
  o.faults.reject_ppm = f.reject_ppm;
  o.faults.error_ppm = f.transient_ppm;
  o.faults.timeout_ppm = f.silent_ppm;
  auto sims = clearing::EmbeddedRailsims::start(o);
  if (!sims) {
    std::cerr << "payengine: railsim: " << sims.error().message << "\n";
    std::exit(2);
  }
  clearing::RailsConfig rails = clearing::default_rails_config();
  (*sims)->apply_ports(rails);
  rails.eft.cycle_interval_ms = 200;  // demo cycles: every 200 ms, not at the day's cut-offs
  c.rails = rails;
  return std::move(*sims);
}

EngineConfig engine_config(const CommonFlags& f) {
  EngineConfig c;
  c.store.path = f.db;
  c.store.synchronous = f.sync == "normal" ? sagas::Synchronous::normal : sagas::Synchronous::full;
  c.saga.submit_timeout_ms = f.submit_timeout_ms;
  c.saga.await_timeout_ms = f.await_timeout_ms;
  c.rail.seed = f.seed;
  c.rail.min_latency_ms = f.rail_min_latency_ms;
  c.rail.max_latency_ms = f.rail_max_latency_ms;
  c.rail.reject_ppm = f.reject_ppm;
  c.rail.transient_ppm = f.transient_ppm;
  c.rail.silent_ppm = f.silent_ppm;
  c.shards = f.shards;
  c.max_active_per_shard = f.max_active;
  c.screening.blocked_names = {kDriverBlockedName};
  return c;
}

int run_command(const CommonFlags& f, DriverOptions d, bool human) {
  d.seed = f.seed;
  d.rail_mix = f.rails == "railsim";
  Driver driver(d);
  EngineConfig cfg = engine_config(f);
  cfg.on_done = [&driver](const sagas::PaymentDone& done) { driver.on_done(done); };
  auto railsims = start_railsims(f, cfg);
  auto engine = Engine::start(cfg);
  if (!engine) {
    std::cerr << "payengine: cannot open " << f.db << ": " << engine.error().message << "\n";
    return 2;
  }
  if (!engine.value()->wait_recovered(std::chrono::minutes(10))) {
    std::cerr << "payengine: recovery did not finish\n";
    return 3;
  }
  uint64_t recovered = engine.value()->recovered_count();
  driver.fund_accounts(*engine.value());
  DriverReport r = driver.run(*engine.value());
  auto stats = engine.value()->total_stats();
  std::string rail_summary;
  if (const auto* pools = engine.value()->rail_pools()) {
    for (clearing::Rail rail : clearing::kAllRails) {
      const auto& s = pools->stats(rail);
      rail_summary += "  " + std::string(clearing::to_string(rail)) + ": " + std::to_string(s.submitted.load()) +
                      " frames sent, " + std::to_string(s.answered.load()) + " answered, " +
                      std::to_string(s.timeouts.load()) + " timeouts, breaker " +
                      std::string(clearing::to_string(pools->breaker_state(rail))) + "\n";
    }
  }
  engine.value().reset();
  if (!human) {
    std::cout << report_json(r) << "\n";
    return r.open_sagas == 0 ? 0 : 1;
  }
  std::cout << "payengine demo: " << r.sent << " payment instructions sent in " << r.elapsed_s
            << " s (" << r.accepted << " accepted, " << r.replayed << " idempotent replays, "
            << recovered << " sagas recovered at start)\n\n";
  std::cout << "final states:\n";
  for (const auto& [state, n] : r.by_state) std::cout << "  " << state << ": " << n << "\n";
  std::cout << "\nreasons for payments that did not complete:\n";
  for (const auto& [reason, n] : r.by_reason) std::cout << "  " << reason << ": " << n << "\n";
  const auto funded = funded_by_currency(d);
  std::cout << "\nledger: total balance";
  for (const auto& [ccy, total] : r.balance_by_currency) std::cout << " " << ccy << " " << total;
  std::cout << " minor units (funded with";
  for (const auto& [ccy, total] : funded) std::cout << " " << ccy << " " << total;
  std::cout << ": " << (r.balance_by_currency == funded ? "conserved" : "NOT CONSERVED") << "), "
            << r.held_minor << " still held (in_doubt payments)\n";
  std::cout << "supervisors: " << stats.spawned << " payment actors spawned, " << stats.restarted
            << " restarted, " << stats.passivated << " passivated, " << stats.overloaded
            << " initiates refused by admission control\n";
  if (!rail_summary.empty()) std::cout << "rails (adapters over TCP to railsim):\n" << rail_summary;
  std::cout << "journal: " << f.db << "\n";
  return r.open_sagas == 0 ? 0 : 1;
}

// Blocks SIGINT and SIGTERM in this thread (and every thread started after),
// so that they are taken only by wait_for_stop.
sigset_t block_stop_signals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

// Waits for SIGINT or SIGTERM; every 100 ms calls `tick` (if set).
void wait_for_stop(const sigset_t& stop, const std::function<void()>& tick = {}) {
  for (;;) {
    timespec ts{0, 100'000'000};
    int sig = sigtimedwait(&stop, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) return;
    if (tick) tick();
  }
}

int serve_command(const std::string& config_path, const ServeConfig& overrides, bool db_set, bool port_set,
                  bool brokers_set) {
  ServeConfig config;
  if (!config_path.empty()) {
    auto c = load_serve_config(config_path);
    if (!c) {
      std::cerr << "payengine serve: " << c.error().message << "\n";
      return 2;
    }
    config = *c;
  }
  if (db_set) config.db = overrides.db;
  if (port_set) config.http_port = overrides.http_port;
  if (brokers_set) config.kafka_brokers = overrides.kafka_brokers;
  sigset_t stop = block_stop_signals();
  auto server = Server::start(config, std::cout);
  if (!server) {
    std::cerr << "payengine serve: " << server.error().code << ": " << server.error().message << "\n";
    return 2;
  }
  Engine& engine = (*server)->engine();
  bool announced = false;
  wait_for_stop(stop, [&] {
    if (announced || !engine.recovered()) return;
    announced = true;
    std::cout << "ready: recovery finished (" << engine.recovered_count() << " unfinished sagas resumed)"
              << std::endl;
  });
  std::cout << "payengine serve: stopping" << std::endl;
  (*server)->stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"payengine: actor-model clearing and saga runtime"};
  app.require_subcommand(1);

  CommonFlags demo_flags;
  demo_flags.rails = "railsim";  // the demo shows the real adapters
  DriverOptions demo_opts;
  auto* demo = app.add_subcommand("demo", "run a few hundred payments on the embedded defaults");
  add_engine_flags(demo, demo_flags);
  demo->add_option("--payments", demo_opts.payments, "payments to send");

  CommonFlags run_flags;
  DriverOptions run_opts;
  bool run_json = true;
  auto* run = app.add_subcommand("run", "drive synthetic payments against a database");
  add_engine_flags(run, run_flags);
  run->add_option("--payments", run_opts.payments, "payments to send");
  run->add_option("--concurrency", run_opts.concurrency, "payments in flight at most");
  run->add_option("--accounts", run_opts.accounts, "debtor accounts per tenant");
  run->add_option("--wait-timeout-ms", run_opts.wait_timeout_ms, "how long to wait for all sagas to finish");
  run->add_flag("!--human", run_json, "print a human summary instead of JSON");
  run->add_flag("--print-accepted", run_opts.print_accepted, "print each accepted payment id as it is accepted");

  BenchOptions bench_opts;
  auto* bench = app.add_subcommand("bench", "benchmarks");
  bench->require_subcommand(1);
  auto* bench_sagas = bench->add_subcommand("sagas", "end-to-end saga throughput with the durable journal");
  bench_sagas->add_option("--payments", bench_opts.payments, "payments to complete");
  bench_sagas->add_option("--concurrency", bench_opts.concurrency, "payments in flight");
  bench_sagas->add_option("--sync", bench_opts.sync, "full or normal")->check(CLI::IsMember({"full", "normal"}));
  bench_sagas->add_option("--dir", bench_opts.dir, "directory for the benchmark databases");
  bench_sagas->add_option("--shards", bench_opts.shards, "saga supervisors");
  bench_sagas->add_option("--workers", bench_opts.workers, "CAF scheduler threads (0: cores - 1, at least 1)");
  bench_sagas->add_flag("--json", bench_opts.json, "also print the figures as one JSON line, last");

  BenchClearingOptions clearing_opts;
  auto* bench_clearing = bench->add_subcommand("clearing", "throughput through each rail adapter against railsim");
  bench_clearing->add_option("--payments", clearing_opts.payments, "payments per rail and run");
  bench_clearing->add_option("--window", clearing_opts.window, "submissions in flight");
  bench_clearing->add_option("--workers", clearing_opts.workers, "workers per pool");
  bench_clearing->add_option("--rail", clearing_opts.rail, "one rail only (SAMOS, EFT, RTC, PAYSHAP, SWIFT)");

  BenchHttpOptions http_bench_opts;
  auto* bench_http = bench->add_subcommand("http", "POST /v1/payments through the HTTP gateway against nginx");
  bench_http->add_option("--seconds", http_bench_opts.seconds, "seconds per wrk run")->check(CLI::PositiveNumber);
  bench_http->add_option("--connections", http_bench_opts.connections, "wrk connections")->check(CLI::PositiveNumber);
  bench_http->add_option("--io-threads", http_bench_opts.io_threads, "the gateway's I/O threads")
      ->check(CLI::PositiveNumber);
  bench_http->add_option("--sync", http_bench_opts.sync, "full or normal")->check(CLI::IsMember({"full", "normal"}));
  bench_http->add_flag("--json", http_bench_opts.json, "one JSON line on stdout instead of the table");
  BenchKafkaOptions kafka_bench_opts;
  std::string kafka_bench_relay = "off";
  auto* bench_kafka = bench->add_subcommand("kafka", "commands from Kafka into the journal against a raw consumer");
  bench_kafka->add_option("--commands", kafka_bench_opts.commands, "payment.initiate commands")
      ->check(CLI::PositiveNumber);
  bench_kafka->add_option("--sync", kafka_bench_opts.sync, "full or normal")->check(CLI::IsMember({"full", "normal"}));
  bench_kafka->add_option("--relay", kafka_bench_relay, "on: the outbox relay runs during intake, as in serve")
      ->check(CLI::IsMember({"on", "off"}))
      ->each([&](const std::string& v) { kafka_bench_opts.relay = v == "on"; });
  bench_kafka->add_option("--max-active", kafka_bench_opts.max_active_per_shard,
                          "the engine's admission cap per shard (4 shards)")
      ->check(CLI::PositiveNumber);
  bench_kafka->add_flag("--json", kafka_bench_opts.json, "one JSON line on stdout instead of the table");

  clearing::RailsimOptions sim_opts;
  std::string sim_rail, sim_faults;
  auto* railsim = app.add_subcommand("railsim", "play one rail's counterpart over loopback TCP");
  railsim->add_option("--rail", sim_rail, "SAMOS, EFT, RTC, PAYSHAP or SWIFT")
      ->required()
      ->check(CLI::IsMember({"SAMOS", "EFT", "RTC", "PAYSHAP", "SWIFT"}));
  railsim->add_option("--port", sim_opts.port, "rail port on 127.0.0.1 (0: any)");
  railsim->add_option("--admin-port", sim_opts.admin_port, "admin HTTP port on 127.0.0.1 (0: any)");
  railsim->add_option("--seed", sim_opts.seed, "seed for its decisions");
  railsim->add_option("--faults", sim_faults, "initial faults as JSON (see GET /faults)");
  railsim->add_option("--xsd-dir", sim_opts.xsd_dir, "validate ISO 20022 messages against these XSDs");

  std::string serve_config_path;
  ServeConfig serve_overrides;
  auto* serve = app.add_subcommand("serve", "run the engine behind its HTTP gateway and Kafka bridge");
  serve->add_option("--config", serve_config_path, "YAML configuration (see actors/serve_config.hpp)");
  auto* serve_db = serve->add_option("--db", serve_overrides.db, "SQLite journal (overrides db:)");
  auto* serve_port = serve->add_option("--http-port", serve_overrides.http_port, "HTTP port, 0: any (overrides http.port)");
  auto* serve_brokers = serve->add_option("--kafka-brokers", serve_overrides.kafka_brokers,
                                          "embedded or host:port,... (overrides kafka.brokers)");

  kafka::EmbeddedKafkaOptions broker_opts;
  auto* broker = app.add_subcommand("broker", "run librdkafka's mock cluster with the payments topics");

  CLI11_PARSE(app, argc, argv);

  if (serve->parsed())
    return serve_command(serve_config_path, serve_overrides, serve_db->count() > 0, serve_port->count() > 0,
                         serve_brokers->count() > 0);
  if (broker->parsed()) {
    sigset_t stop = block_stop_signals();
    auto cluster = kafka::EmbeddedKafka::start(broker_opts);
    if (!cluster) {
      std::cerr << "payengine broker: " << cluster.error().message << "\n";
      return 2;
    }
    std::cout << "kafka: mock broker at " << (*cluster)->bootstrap() << std::endl;
    wait_for_stop(stop);
    return 0;
  }

  if (railsim->parsed()) {
    sim_opts.rail = *clearing::rail_from_string(sim_rail);
    if (!sim_faults.empty()) {
      auto f = clearing::faults_from_json(sim_faults, sim_opts.faults);
      if (!f) {
        std::cerr << "payengine railsim: --faults: " << f.error().message << "\n";
        return 2;
      }
      sim_opts.faults = *f;
    }
    // Block the stop signals before any thread starts, then wait for one.
    sigset_t stop = block_stop_signals();
    clearing::net::IoThread io;
    auto sim = clearing::Railsim::start(io.context(), sim_opts);
    if (!sim) {
      std::cerr << "payengine railsim: " << sim.error().message << "\n";
      return 2;
    }
    std::cout << "railsim " << sim_rail << " listening on 127.0.0.1:" << (*sim)->port()
              << " admin http://127.0.0.1:" << (*sim)->admin_port() << "/faults" << std::endl;
    wait_for_stop(stop);
    return 0;
  }
  if (bench_clearing->parsed()) return run_bench_clearing(clearing_opts);
  if (bench_http->parsed()) return run_bench_http(http_bench_opts);
  if (bench_kafka->parsed()) return run_bench_kafka(kafka_bench_opts);

  if (demo->parsed()) {
    if (demo_flags.db.empty()) {
      demo_flags.db = (std::filesystem::temp_directory_path() / "payengine-demo.db").string();
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(demo_flags.db + suffix);
    }
    return run_command(demo_flags, demo_opts, true);  // --rails railsim by default (below)
  }
  if (run->parsed()) {
    if (run_flags.db.empty()) {
      std::cerr << "payengine run: --db is required\n";
      return 2;
    }
    return run_command(run_flags, run_opts, !run_json);
  }
  if (bench_sagas->parsed()) return run_bench_sagas(bench_opts);
  return 0;
}
