// ctest-labels: slow
// `payengine bench sagas`, `bench http` and `bench kafka` run, small, as
// child processes (each under `timeout`), and their --json lines hold
// together: every payment completed, something was accepted, the journal
// holds at least every 202 (every command), the ceilings were measured on
// the same rows. Figures are not checked against
// the targets: a smoke test of the benchmarks, not a performance gate.
#define BOOST_TEST_MODULE bench_smoke
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

using nlohmann::json;

namespace {

struct Run {
  int status = -1;  // exit status; 124: timed out (timeout(1))
  std::string out;  // stdout
  json last;        // the last stdout line as JSON (discarded when not JSON)
};

Run run(const std::string& args, int timeout_s) {
  Run r;
  const std::string cmd = "timeout -k 10 " + std::to_string(timeout_s) + " " + PAYENGINE_BINARY + " " + args;
  FILE* f = popen(cmd.c_str(), "r");
  BOOST_REQUIRE_MESSAGE(f, "popen " << cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int status = pclose(f);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::string line = r.out;
  while (!line.empty() && line.back() == '\n') line.pop_back();
  if (auto nl = line.rfind('\n'); nl != std::string::npos) line = line.substr(nl + 1);
  r.last = json::parse(line, nullptr, false);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(bench_sagas_json) {
  Run r = run("bench sagas --payments 2000 --concurrency 200 --json", 120);
  BOOST_TEST_MESSAGE(r.out);
  BOOST_REQUIRE_EQUAL(r.status, 0);
  BOOST_REQUIRE(r.last.is_object());
  const json& j = r.last;
  BOOST_TEST(j.at("bench").get<std::string>() == "sagas");
  BOOST_TEST(j.at("completed").get<uint64_t>() == 2000u);
  // 9 events per completed payment, in 2 chain rows (the instant rail
  // answers with its final status, so submit's event joins the rest of the
  // payment's) plus its saga row, its hold (inserted, and deleted when it
  // was posted) and its ledger entry: the rows the journal inserted.
  BOOST_TEST(j.at("events").get<uint64_t>() == 9u * 2000u);
  BOOST_TEST(j.at("journal_rows").get<uint64_t>() == 5u * 2000u);
  BOOST_TEST(j.at("ceiling_rows_ok").get<bool>());
  BOOST_TEST(j.at("ceiling_rows_per_s").get<double>() > 0.0);
  BOOST_TEST(j.at("ratio").get<double>() > 0.0);
  BOOST_TEST(j.at("multi_row_ceiling_rows_per_s").get<double>() > 0.0);
  BOOST_TEST(j.at("multi_row_ratio").get<double>() > 0.0);
  // Where the machine's CPU went while timed: shares that add up.
  const double shares = j.at("machine_busy_pct").get<double>() + j.at("machine_idle_pct").get<double>() +
                        j.at("machine_steal_pct").get<double>();
  BOOST_TEST(shares == 100.0, boost::test_tools::tolerance(0.01));
  BOOST_TEST(j.at("machine_busy_pct").get<double>() > 0.0);
  BOOST_TEST(j.at("p99_ms").get<double>() >= j.at("p50_ms").get<double>());
}

BOOST_AUTO_TEST_CASE(bench_http_json) {
  Run r = run("bench http --seconds 1 --connections 4 --json", 120);
  BOOST_TEST_MESSAGE(r.out);
  BOOST_REQUIRE_EQUAL(r.status, 0);
  BOOST_REQUIRE(r.last.is_object());
  const json& j = r.last;
  BOOST_TEST(j.at("bench").get<std::string>() == "http");
  BOOST_TEST(j.at("ceiling_per_s").get<double>() > 0.0);
  BOOST_TEST(j.at("ceiling").at("statuses").at("202").get<uint64_t>() > 0u);
  const uint64_t accepted = j.at("engine").at("accepted").get<uint64_t>();
  BOOST_TEST(accepted > 0u);
  BOOST_TEST(j.at("engine").at("accepted_per_s").get<double>() > 0.0);
  BOOST_TEST(j.at("engine").at("journal_payments").get<uint64_t>() >= accepted);
  BOOST_TEST(j.at("ratio").get<double>() > 0.0);
  const json& half = j.at("half_rate");
  BOOST_TEST(half.at("target_per_s").get<double>() > 0.0);
  BOOST_TEST(half.at("achieved_per_s").get<double>() > 0.0);
  BOOST_TEST(half.at("journal_payments").get<uint64_t>() >= half.at("accepted").get<uint64_t>());
  BOOST_TEST(half.at("p99_ms").get<double>() > 0.0);
  BOOST_TEST(j.at("journal_ok").get<bool>());
  // Where the machine's CPU went during each wrk run: shares that add up.
  for (const char* run : {"ceiling", "engine", "half_rate"}) {
    const json& w = j.at(run);
    BOOST_TEST_CONTEXT(run) {
      BOOST_TEST(w.at("machine_busy_pct").get<double>() + w.at("machine_idle_pct").get<double>() +
                     w.at("machine_steal_pct").get<double>() ==
                 100.0, boost::test_tools::tolerance(0.01));
    }
  }
}

BOOST_AUTO_TEST_CASE(bench_kafka_json) {
  // A small admission cap: refused commands wait for room, none is lost.
  Run r = run("bench kafka --commands 2000 --max-active 25 --json", 180);
  BOOST_TEST_MESSAGE(r.out);
  BOOST_REQUIRE_EQUAL(r.status, 0);
  BOOST_REQUIRE(r.last.is_object());
  const json& j = r.last;
  BOOST_TEST(j.at("bench").get<std::string>() == "kafka");
  BOOST_TEST(j.at("commands").get<uint64_t>() == 2000u);
  BOOST_TEST(j.at("ceiling_per_s").get<double>() > 0.0);
  BOOST_TEST(j.at("engine").at("journaled").get<uint64_t>() == 2000u);
  BOOST_TEST(j.at("engine").at("journal_payments").get<uint64_t>() == 2000u);
  BOOST_TEST(j.at("engine").at("dlq").get<uint64_t>() == 0u);
  BOOST_TEST(j.at("engine").at("commands_per_s").get<double>() > 0.0);
  BOOST_TEST(j.at("verified").get<bool>());
  BOOST_TEST(j.at("max_active_per_shard").get<uint64_t>() == 25u);
  const json& e = j.at("engine");
  BOOST_TEST(e.at("machine_busy_pct").get<double>() + e.at("machine_idle_pct").get<double>() +
                 e.at("machine_steal_pct").get<double>() ==
             100.0, boost::test_tools::tolerance(0.01));
}
