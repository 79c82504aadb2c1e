// The in-process simulated rail: plays a rail's counterpart with configured
// latency and failure rates. It stands behind the Clearing port until the
// real rail adapters replace it.
//
// Its decisions are a pure function of (seed, payment id, attempt), so it
// behaves like a real rail that remembers: a resubmission or a status query
// for the same payment gets the same final answer, also after the engine
// restarted.
#pragma once

#include <atomic>
#include <cstdint>

#include "clearing/clearing.hpp"
#include "sagas/scheduler.hpp"

namespace payengine::clearing {

struct SimRailConfig {
  int64_t ack_latency_ms = 0;    // submit -> ack (none when the final is due no later)
  int64_t min_latency_ms = 0;    // submit -> final, uniform in [min, max]
  int64_t max_latency_ms = 0;
  uint32_t reject_ppm = 0;       // final rejections (business: AC04, AC01, AC06, AG01)
  uint32_t transient_ppm = 0;    // per attempt: the submission bounces (AB08, retryable)
  uint32_t silent_ppm = 0;       // the rail never answers this payment (and queries say unknown)
  uint64_t seed = 1;
};

class SimulatedRail final : public Clearing {
 public:
  // `scheduler` and `sink` must outlive the rail.
  SimulatedRail(SimRailConfig config, Scheduler& scheduler, ResponseSink sink);

  void submit(const SubmitRequest& request) override;
  void query(const SubmitRequest& request) override;

  uint64_t submissions() const { return submissions_.load(); }
  uint64_t queries() const { return queries_.load(); }

  enum class Fate : uint8_t { accept, reject, silent };
  // The rail's final decision for a payment (what a query reveals).
  Fate fate(const std::string& payment_id) const;
  std::string reject_reason(const std::string& payment_id) const;

 private:
  uint64_t mix(const std::string& payment_id, uint64_t salt) const;
  void send_later(int64_t delay_ms, RailResponse response);

  SimRailConfig config_;
  Scheduler& scheduler_;
  ResponseSink sink_;
  std::atomic<uint64_t> submissions_{0};
  std::atomic<uint64_t> queries_{0};
};

}  // namespace payengine::clearing
