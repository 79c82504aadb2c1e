// `payengine bench sagas`: payments/s completed end to end in-process with
// the instant simulated rail and the durable journal, p50/p99 latency, peak
// RSS and thread count; and, in the same run, the raw SQLite batched-insert
// ceiling for the same journal rows, reported as a ratio.
#pragma once

#include <cstdint>
#include <string>

namespace payengine {

struct BenchOptions {
  uint64_t payments = 100'000;
  // Payments in flight. 1,000 keeps both engine threads busy on 2 cores:
  // 4,000 gave the same payments/s with a p99 2.6x higher (queueing only).
  uint64_t concurrency = 1'000;
  std::string sync = "full";
  std::string dir;  // empty: a fresh temporary directory
  size_t shards = 4;
  size_t workers = 0;  // CAF scheduler threads; 0: the engine's default (cores - 1)
  bool json = false;   // also print the figures as one JSON line, last
};

int run_bench_sagas(const BenchOptions& options);

}  // namespace payengine
