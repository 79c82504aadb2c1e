// Prometheus metrics for the engine (prometheus-cpp), in the text exposition
// format 0.0.4 for GET /metrics. Names follow the Prometheus conventions:
// a `payengine_` prefix, base units (seconds), `_total` on counters.
//
//   payengine_payments_total{tenant,rail,state}          payments that ended, by final state
//   payengine_saga_step_duration_seconds{step}           histogram: a step's start to its outcome
//   payengine_journal_batch_events                       histogram: events per group commit
//   payengine_journal_commit_duration_seconds            histogram: one group commit
//   payengine_active_sagas{shard} / payengine_admission_limit{shard}
//   payengine_admission_refused_total                    initiates refused by admission control
//   payengine_rail_queue_depth{rail} / payengine_rail_in_flight{rail}
//   payengine_rail_breaker_state{rail}                   0 closed, 1 open, 2 half_open
//   payengine_rail_breaker_transitions_total{rail,to}
//   payengine_http_requests_total{route,method,code} / payengine_http_request_duration_seconds{route}
//   payengine_kafka_consumer_lag / payengine_kafka_dlq_total / payengine_outbox_backlog
//   payengine_timer_deadlines{shard}                     deadlines held by a shard's timer
//
// Promises: every method is thread-safe and cheap (no allocation on the hot
// path once a label set exists); label values are bounded by the caller
// (tenants, rails, steps, routes: never a payment id). Gauges mirroring live
// figures are refreshed by samplers when scraped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace payengine {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void payment_finished(const std::string& tenant, const std::string& rail, const std::string& state);
  void saga_step(const std::string& step, int64_t duration_ms);
  void journal_commit(uint64_t events, int64_t duration_us);
  void http_request(const std::string& route, const std::string& method, int code, int64_t duration_us);

  // Live figures, set by samplers (see add_sampler) or by their owners.
  void set_shard(size_t shard, uint64_t active, uint64_t limit);
  void set_admission_refused(uint64_t total);
  void set_rail(const std::string& rail, int64_t queue_depth, int64_t in_flight, int breaker_state,
                uint64_t to_open, uint64_t to_half_open, uint64_t to_closed);
  void set_kafka(int64_t consumer_lag, uint64_t dlq_total);
  void set_outbox_backlog(int64_t rows);
  void set_timer_deadlines(size_t shard, uint64_t deadlines);

  // Called at every scrape, before serializing, to refresh live gauges. The
  // sampler must outlive the Metrics or be removed by destroying the Metrics
  // first.
  void add_sampler(std::function<void(Metrics&)> sampler);

  // The text exposition (format 0.0.4) of every metric.
  std::string scrape();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace payengine
