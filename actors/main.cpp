// payengine: one binary, subcommands.
//   payengine demo            run a few hundred payments on the embedded defaults and summarise
//   payengine run             drive synthetic payments against a database (crash-recovery harness)
//   payengine bench sagas     end-to-end saga throughput against the raw SQLite ceiling
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include "actors/bench.hpp"
#include "actors/driver.hpp"
#include "actors/engine.hpp"

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
  Driver driver(d);
  EngineConfig cfg = engine_config(f);
  cfg.on_done = [&driver](const sagas::PaymentDone& done) { driver.on_done(done); };
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
  const int64_t funded = 2 * (static_cast<int64_t>(d.poor_accounts) * 1'000 +
                              static_cast<int64_t>(d.accounts - d.poor_accounts) * d.opening_balance_minor);
  std::cout << "\nledger: total balance";
  for (const auto& [ccy, total] : r.balance_by_currency) std::cout << " " << ccy << " " << total;
  std::cout << " minor units (funded with ZAR " << funded << ": "
            << (r.balance_by_currency.size() == 1 && r.balance_by_currency.begin()->second == funded
                    ? "conserved"
                    : "NOT CONSERVED")
            << "), " << r.held_minor << " still held (in_doubt payments)\n";
  std::cout << "supervisors: " << stats.spawned << " payment actors spawned, " << stats.restarted
            << " restarted, " << stats.passivated << " passivated, " << stats.overloaded
            << " initiates refused by admission control\n";
  std::cout << "journal: " << f.db << "\n";
  return r.open_sagas == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"payengine: actor-model clearing and saga runtime"};
  app.require_subcommand(1);

  CommonFlags demo_flags;
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

  CLI11_PARSE(app, argc, argv);

  if (demo->parsed()) {
    if (demo_flags.db.empty()) {
      demo_flags.db = (std::filesystem::temp_directory_path() / "payengine-demo.db").string();
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(demo_flags.db + suffix);
    }
    return run_command(demo_flags, demo_opts, true);
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
