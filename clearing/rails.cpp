#include "clearing/rails.hpp"

namespace payengine::clearing {

RailsConfig default_rails_config() {
  RailsConfig c;
  for (Rail r : kAllRails) {
    PoolConfig& p = c.pool(r);
    p.rail = r;
    p.workers = 2;
    p.max_queue = 2'000;
    p.max_in_flight = 512;
    p.answer_timeout_ms = 2'000;
    p.breaker.window_type = WindowType::count;
    p.breaker.window_size = 50;
    p.breaker.minimum_calls = 20;
    p.breaker.failure_rate_threshold_pct = 50;
    p.breaker.slow_call_rate_threshold_pct = 100;
    p.breaker.slow_call_duration_ms = 5'000;
    p.breaker.consecutive_failures_to_open = 10;
    p.breaker.wait_in_open_ms = 5'000;
    p.breaker.half_open_permitted_calls = 3;
    p.breaker.probe_timeout_ms = 3'000;
  }
  c.pool(Rail::payshap).answer_timeout_ms = 1'000;
  c.pool(Rail::swift).answer_timeout_ms = 5'000;
  return c;
}

std::vector<RailPools::RailSetup> rail_setups(const RailsConfig& config) {
  std::vector<RailPools::RailSetup> setups;
  for (Rail r : kAllRails) {
    RailPools::RailSetup s;
    s.pool = config.pool(r);
    s.pool.rail = r;
    switch (r) {
      case Rail::samos: s.protocol = [c = config.samos] { return make_mx_protocol(c); }; break;
      case Rail::payshap: s.protocol = [c = config.payshap] { return make_mx_protocol(c); }; break;
      case Rail::rtc: s.protocol = [c = config.rtc] { return make_rtc_protocol(c); }; break;
      case Rail::eft: s.protocol = eft_protocol_factory(config.eft); break;
      case Rail::swift: s.protocol = [c = config.swift] { return make_swift_protocol(c); }; break;
    }
    setups.push_back(std::move(s));
  }
  return setups;
}

Result<std::unique_ptr<EmbeddedRailsims>> EmbeddedRailsims::start(const RailsimOptions& base) {
  std::unique_ptr<EmbeddedRailsims> e(new EmbeddedRailsims());
  for (Rail r : kAllRails) {
    RailsimOptions o = base;
    o.rail = r;
    o.port = 0;
    o.admin_port = 0;
    auto sim = Railsim::start(e->io_.context(), o);
    if (!sim) return sim.error();
    e->sims_[static_cast<size_t>(r)] = std::move(*sim);
  }
  return e;
}

EmbeddedRailsims::~EmbeddedRailsims() {
  for (auto& s : sims_) s.reset();
}

void EmbeddedRailsims::apply_ports(RailsConfig& config) const {
  for (Rail r : kAllRails) {
    config.pool(r).host = "127.0.0.1";
    config.pool(r).port = sims_[static_cast<size_t>(r)]->port();
  }
}

}  // namespace payengine::clearing
