// The five rails wired together: per-rail pool settings and protocol
// settings with the defaults of DESIGN.md section 5, and railsims for all
// five in this process (the demo and the tests).
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "clearing/eft.hpp"
#include "clearing/mx_rail.hpp"
#include "clearing/pool.hpp"
#include "clearing/railsim.hpp"
#include "clearing/rtc.hpp"
#include "clearing/swift.hpp"
#include "clearing/transport.hpp"

namespace payengine::clearing {

inline constexpr std::array<Rail, 5> kAllRails = {Rail::samos, Rail::eft, Rail::rtc, Rail::payshap, Rail::swift};

struct RailsConfig {
  std::array<PoolConfig, 5> pools;  // indexed by Rail
  MxRailConfig samos = samos_config();
  MxRailConfig payshap = payshap_config();
  RtcProtocolConfig rtc;
  EftProtocolConfig eft;
  SwiftConfig swift;
  // What the payment saga waits for, per rail (indexed by Rail): the rail's
  // acknowledgement and its final status, per attempt (the engine uses them
  // where the saga config sets none). PayShap: ack 1 s, final 10 s, then
  // pacs.028 queries; RTC credits within 60 s; EFT finals come with the next
  // cycle's unpaids; SWIFT's from a correspondent abroad.
  std::array<int64_t, 5> ack_timeout_ms{5'000, 5'000, 5'000, 1'000, 10'000};
  std::array<int64_t, 5> final_timeout_ms{60'000, 36 * 3'600'000LL, 60'000, 10'000, 24 * 3'600'000LL};

  PoolConfig& pool(Rail r) { return pools[static_cast<size_t>(r)]; }
  const PoolConfig& pool(Rail r) const { return pools[static_cast<size_t>(r)]; }
};

// Defaults: answer timeouts PayShap 1 s (its ack), SAMOS and RTC 2 s, EFT
// 2 s after its cycle, SWIFT 5 s; breakers over the last 50 calls, open at
// 50% failures or 10 failures in a row, 5 s open, 3 probes.
RailsConfig default_rails_config();

std::vector<RailPools::RailSetup> rail_setups(const RailsConfig& config);

// railsim for every rail, in this process, on its own I/O thread.
class EmbeddedRailsims {
 public:
  // One railsim per rail, each with `base` (its rail and ports set per rail).
  static Result<std::unique_ptr<EmbeddedRailsims>> start(const RailsimOptions& base);
  ~EmbeddedRailsims();
  Railsim& rail(Rail r) { return *sims_[static_cast<size_t>(r)]; }
  // Points every pool of `config` at these railsims.
  void apply_ports(RailsConfig& config) const;

 private:
  EmbeddedRailsims() = default;
  net::IoThread io_;
  std::array<std::unique_ptr<Railsim>, 5> sims_;
};

}  // namespace payengine::clearing
