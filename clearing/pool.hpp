// Rail adapter pools: each rail is a dispatcher actor in front of a fixed
// set of worker actors, each worker with its own connection to the rail.
//
//   saga --submit/query--> RailPools (admission: queue + in-flight bound)
//        --job--> dispatcher (bounded queue, circuit breaker, in-flight bound)
//        --job+permit--> worker (protocol codec, connection, answer timeouts)
//        --frame--> rail ... rail --frame--> worker --RailResponse--> sink
//                                            worker --outcome--> dispatcher
//
// Promises:
//  - Nothing queues without bound: RailPools refuses a submission at once
//    (an `error` response, detail "overloaded") when the rail already holds
//    `max_queue + max_in_flight` jobs, so neither the dispatcher's queue nor
//    its mailbox can grow past that.
//  - While the rail's breaker is open, submissions are answered at once
//    with an `error` (AB08, detail "circuit breaker open"); nothing is sent.
//  - Every job a worker takes gets exactly one outcome for the breaker:
//    an answer, a transport failure, or a timeout after `answer_timeout_ms`
//    (plus the protocol's hold, e.g. an EFT cycle). The saga gets an `error`
//    response (AB06) for a timeout and may retry; rails deduplicate
//    resubmissions of the same payment.
//  - Business rejections reach the saga as `final` responses and do not
//    count against the breaker.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "clearing/circuit_breaker.hpp"
#include "clearing/clearing.hpp"
#include "clearing/protocol.hpp"
#include "sagas/clock.hpp"

namespace payengine::clearing {

struct PoolConfig {
  Rail rail = Rail::eft;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  uint32_t workers = 2;
  uint32_t max_queue = 1'000;      // jobs waiting for an in-flight slot
  uint32_t max_in_flight = 256;    // jobs sent and not yet answered
  int64_t answer_timeout_ms = 2'000;
  int64_t tick_ms = 10;            // timeout and cycle resolution
  BreakerConfig breaker;
};

// Live figures per rail, readable from any thread (metrics, /v1/rails,
// routing).
struct PoolStats {
  std::atomic<int64_t> admitted{0};     // jobs in the pool (queue + in flight + in the mailbox)
  std::atomic<int64_t> queue_depth{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int> breaker_state{0};    // BreakerState as int
  std::atomic<uint64_t> transitions{0};
  std::atomic<uint64_t> opened{0};       // transitions into open
  std::atomic<uint64_t> half_opened{0};  // into half_open
  std::atomic<uint64_t> closed{0};       // into closed (from open or half_open)
  std::atomic<uint64_t> submitted{0};   // frames sent
  std::atomic<uint64_t> answered{0};    // first answers matched to a job
  std::atomic<uint64_t> overloaded{0};  // refused by admission
  std::atomic<uint64_t> breaker_rejected{0};
  std::atomic<uint64_t> timeouts{0};     // frames the rail did not answer in time
  std::atomic<uint64_t> send_failures{0};
  std::atomic<uint64_t> malformed{0};   // frames from the rail that did not decode
  std::atomic<int> connections_up{0};
};

// Makes one protocol instance per worker.
using ProtocolFactory = std::function<std::unique_ptr<RailProtocol>()>;

// The Clearing port over one pool per configured rail.
class RailPools final : public Clearing {
 public:
  struct RailSetup {
    PoolConfig pool;
    ProtocolFactory protocol;
  };
  // Spawns the pools in `system`. `clock` and `sink` must outlive the pools;
  // the sink is called on CAF worker threads.
  RailPools(caf::actor_system& system, std::vector<RailSetup> rails, const Clock& clock,
            ResponseSink sink);
  ~RailPools() override;  // stop()s
  // Stops the pools' actors and closes their connections; afterwards
  // submissions are dropped. Idempotent.
  void stop();
  RailPools(const RailPools&) = delete;
  RailPools& operator=(const RailPools&) = delete;

  void submit(const SubmitRequest& request) override;
  void query(const SubmitRequest& request) override;

  // Waits until every worker of every pool is connected, or the timeout
  // passes; true when all are. (A pool whose rail is unreachable still
  // works: its submissions fail and its breaker opens.)
  bool wait_connected(std::chrono::milliseconds timeout) const;

  bool has(Rail rail) const;
  // Figures of a configured rail (has(rail) must hold).
  const PoolStats& stats(Rail rail) const;
  BreakerState breaker_state(Rail rail) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace payengine::clearing
