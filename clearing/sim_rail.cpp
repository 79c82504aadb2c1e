#include "clearing/sim_rail.hpp"

#include <array>

#include "sagas/killpoint.hpp"

#include "sagas/rng.hpp"

namespace payengine::clearing {
namespace {
uint64_t avalanche(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
constexpr std::array<const char*, 4> kRejectReasons = {"AC04", "AC01", "AC06", "AG01"};
}  // namespace

SimulatedRail::SimulatedRail(SimRailConfig config, Scheduler& scheduler, ResponseSink sink)
    : config_(config), scheduler_(scheduler), sink_(std::move(sink)) {}

uint64_t SimulatedRail::mix(const std::string& payment_id, uint64_t salt) const {
  return avalanche(fnv1a(payment_id) ^ (config_.seed * 0x9E3779B97F4A7C15ull) ^ (salt << 32));
}

SimulatedRail::Fate SimulatedRail::fate(const std::string& payment_id) const {
  uint64_t roll = mix(payment_id, 1) % 1'000'000;
  if (roll < config_.silent_ppm) return Fate::silent;
  if (roll < static_cast<uint64_t>(config_.silent_ppm) + config_.reject_ppm) return Fate::reject;
  return Fate::accept;
}

std::string SimulatedRail::reject_reason(const std::string& payment_id) const {
  return kRejectReasons[mix(payment_id, 2) % kRejectReasons.size()];
}

void SimulatedRail::send_later(int64_t delay_ms, RailResponse response) {
  if (delay_ms <= 0) {  // the sink never calls back into the caller (see clearing.hpp)
    sink_(std::move(response));
    return;
  }
  scheduler_.after_ms(delay_ms, [this, r = std::move(response)]() mutable { sink_(std::move(r)); });
}

void SimulatedRail::submit(const SubmitRequest& request) {
  submissions_.fetch_add(1, std::memory_order_relaxed);
  killpoint("rail.submit");
  RailResponse r;
  r.payment_id = request.payment_id;
  r.rail = request.rail;
  r.attempt = request.attempt;
  if (mix(request.payment_id, 100 + request.attempt) % 1'000'000 < config_.transient_ppm) {
    r.kind = RailResponse::Kind::error;
    r.reason_code = "AB08";
    r.detail = "simulated rail bounced the submission";
    send_later(config_.ack_latency_ms, std::move(r));
    return;
  }
  Fate f = fate(request.payment_id);
  if (f == Fate::silent) return;
  int64_t span = config_.max_latency_ms - config_.min_latency_ms;
  int64_t latency = config_.min_latency_ms +
                    (span > 0 ? static_cast<int64_t>(mix(request.payment_id, 3) %
                                                     static_cast<uint64_t>(span + 1))
                              : 0);
  // A final status due no later than the acknowledgement is the only answer,
  // as from RTC (0210) or a pacs.002 ACSC without an ACTC first.
  if (latency > config_.ack_latency_ms) {
    r.kind = RailResponse::Kind::ack;
    send_later(config_.ack_latency_ms, r);
  }
  killpoint("rail.acked");
  r.kind = RailResponse::Kind::final;
  r.accepted = f == Fate::accept;
  if (!r.accepted) {
    r.reason_code = reject_reason(request.payment_id);
    r.detail = "simulated rail rejected the payment";
  }
  send_later(latency, std::move(r));
}

void SimulatedRail::query(const SubmitRequest& request) {
  const std::string& payment_id = request.payment_id;
  const Rail rail = request.rail;
  const uint32_t attempt = request.attempt;
  queries_.fetch_add(1, std::memory_order_relaxed);
  RailResponse r;
  r.payment_id = payment_id;
  r.rail = rail;
  r.attempt = attempt;
  Fate f = fate(payment_id);
  if (f == Fate::silent) {
    r.kind = RailResponse::Kind::unknown;
  } else {
    r.kind = RailResponse::Kind::final;
    r.accepted = f == Fate::accept;
    if (!r.accepted) r.reason_code = reject_reason(payment_id);
  }
  send_later(config_.ack_latency_ms, std::move(r));
}

}  // namespace payengine::clearing
