// `payengine bench http`: HTTP intake of POST /v1/payments against a
// ceiling, in one run, on one machine, with the same wrk settings
// (`wrk -t1 -c<connections> -d<seconds>s --latency`, keep-alive, one Lua
// script: every request its own Idempotency-Key, X-Tenant-Id, a valid
// payment body; its response() hook counts statuses):
//   a. the ceiling: nginx (/usr/sbin/nginx) as a child process answering
//      every POST /v1/payments with a fixed 202 JSON body;
//   b. the engine: an in-process Engine (simulated rail, a fresh journal in
//      a temporary directory) behind HttpGateway; accepted = 202 responses;
//   c. the engine again (a fresh journal) rate-limited by wrk's delay() hook
//      to half the accepted rate of (b): achieved rate and p50/p99.
//
// Promises:
//  - After (b) and (c) the journal holds at least as many payments as wrk
//    counted 202s (a 202 means durable); printed, and the exit status is 1
//    when it does not.
//  - The targets (intake >= 0.4x the nginx ceiling, p99 < 10 ms at half
//    that rate) are printed beside the figures, never asserted: the exit
//    status is 2 only when the benchmark cannot run (nginx or wrk missing,
//    a server not answering, wrk failing), 0 otherwise.
//  - nginx is killed and reaped on every path out (and dies with this
//    process: PR_SET_PDEATHSIG); wrk runs under a deadline; the temporary
//    directory is removed.
//  - `json`: the human table goes away and stdout is one JSON object on one
//    line (progress goes to stderr either way).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace payengine {

struct BenchHttpOptions {
  int64_t seconds = 10;     // per wrk run
  size_t connections = 32;  // wrk -c
  size_t io_threads = 2;    // the gateway's I/O threads
  std::string sync = "full";
  bool json = false;
};

int run_bench_http(const BenchHttpOptions& options);

}  // namespace payengine
