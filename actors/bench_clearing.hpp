// `payengine bench clearing`: payments/s and latency through each rail's
// adapter pool (codec, TCP, railsim's decoding and answer) on loopback with
// zero latency, then again with 10% injected rail errors (resubmitted, as the
// saga would).
#pragma once

#include <cstdint>
#include <string>

namespace payengine {

struct BenchClearingOptions {
  uint64_t payments = 20'000;  // per rail and run
  uint64_t window = 512;       // submissions in flight
  uint32_t workers = 2;        // per pool
  uint64_t seed = 1;
  std::string rail;            // empty: every rail
};

int run_bench_clearing(const BenchClearingOptions& options);

}  // namespace payengine
