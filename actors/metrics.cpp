#include "actors/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <mutex>
#include <sstream>
#include <vector>

namespace payengine {

namespace pm = prometheus;

namespace {

const pm::Histogram::BucketBoundaries kSecondsBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const pm::Histogram::BucketBoundaries kBatchBuckets{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<pm::Registry> registry = std::make_shared<pm::Registry>();
  pm::Family<pm::Counter>& payments = pm::BuildCounter()
                                          .Name("payengine_payments_total")
                                          .Help("Payments that reached a final state, by tenant, rail and state")
                                          .Register(*registry);
  pm::Family<pm::Histogram>& step = pm::BuildHistogram()
                                        .Name("payengine_saga_step_duration_seconds")
                                        .Help("Time from a saga step's start to its outcome")
                                        .Register(*registry);
  pm::Family<pm::Histogram>& batch = pm::BuildHistogram()
                                         .Name("payengine_journal_batch_events")
                                         .Help("Events written per journal group commit")
                                         .Register(*registry);
  pm::Family<pm::Histogram>& commit = pm::BuildHistogram()
                                          .Name("payengine_journal_commit_duration_seconds")
                                          .Help("Duration of one journal group commit")
                                          .Register(*registry);
  pm::Family<pm::Gauge>& active = pm::BuildGauge()
                                      .Name("payengine_active_sagas")
                                      .Help("Sagas active in a shard (admission control counts these)")
                                      .Register(*registry);
  pm::Family<pm::Gauge>& limit = pm::BuildGauge()
                                     .Name("payengine_admission_limit")
                                     .Help("Most sagas a shard admits at once")
                                     .Register(*registry);
  pm::Family<pm::Counter>& refused = pm::BuildCounter()
                                         .Name("payengine_admission_refused_total")
                                         .Help("Initiates refused by admission control")
                                         .Register(*registry);
  pm::Family<pm::Gauge>& queue = pm::BuildGauge()
                                     .Name("payengine_rail_queue_depth")
                                     .Help("Submissions waiting in a rail pool's queue")
                                     .Register(*registry);
  pm::Family<pm::Gauge>& in_flight = pm::BuildGauge()
                                         .Name("payengine_rail_in_flight")
                                         .Help("Submissions sent to a rail and not yet answered")
                                         .Register(*registry);
  pm::Family<pm::Gauge>& breaker = pm::BuildGauge()
                                       .Name("payengine_rail_breaker_state")
                                       .Help("A rail's circuit breaker: 0 closed, 1 open, 2 half_open")
                                       .Register(*registry);
  pm::Family<pm::Counter>& transitions = pm::BuildCounter()
                                             .Name("payengine_rail_breaker_transitions_total")
                                             .Help("Circuit breaker transitions, by the state entered")
                                             .Register(*registry);
  pm::Family<pm::Counter>& http = pm::BuildCounter()
                                      .Name("payengine_http_requests_total")
                                      .Help("HTTP requests by route, method and status code")
                                      .Register(*registry);
  pm::Family<pm::Histogram>& http_duration = pm::BuildHistogram()
                                                 .Name("payengine_http_request_duration_seconds")
                                                 .Help("HTTP request duration, by route")
                                                 .Register(*registry);
  pm::Family<pm::Gauge>& lag = pm::BuildGauge()
                                   .Name("payengine_kafka_consumer_lag")
                                   .Help("Commands on payments.commands not yet committed, summed over partitions")
                                   .Register(*registry);
  pm::Family<pm::Counter>& dlq = pm::BuildCounter()
                                     .Name("payengine_kafka_dlq_total")
                                     .Help("Commands sent to payments.commands.dlq")
                                     .Register(*registry);
  pm::Family<pm::Gauge>& outbox = pm::BuildGauge()
                                      .Name("payengine_outbox_backlog")
                                      .Help("Published journal events not yet confirmed by Kafka")
                                      .Register(*registry);
  pm::Family<pm::Gauge>& deadlines =
      pm::BuildGauge()
          .Name("payengine_timer_deadlines")
          .Help("Step deadlines and retry times held by a shard's timer (a finished payment's stay until due)")
          .Register(*registry);

  std::mutex mutex;  // guards the maps below and the samplers
  std::map<std::string, pm::Histogram*> steps;
  std::map<std::string, pm::Histogram*> routes;
  std::map<std::string, uint64_t> seen_totals;  // mirrored counters: the last total seen
  std::vector<std::function<void(Metrics&)>> samplers;
  pm::Histogram& batch_h = batch.Add({}, kBatchBuckets);
  pm::Histogram& commit_h = commit.Add({}, kSecondsBuckets);

  // Brings a counter mirroring an external monotonic total up to `total`.
  void mirror(pm::Counter& c, const std::string& key, uint64_t total) {
    std::lock_guard<std::mutex> lock(mutex);
    uint64_t& last = seen_totals[key];
    if (total > last) c.Increment(static_cast<double>(total - last));
    last = std::max(last, total);
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::payment_finished(const std::string& tenant, const std::string& rail, const std::string& state) {
  impl_->payments.Add({{"tenant", tenant}, {"rail", rail.empty() ? "none" : rail}, {"state", state}}).Increment();
}

void Metrics::saga_step(const std::string& step, int64_t duration_ms) {
  pm::Histogram* h;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto& slot = impl_->steps[step];
    if (!slot) slot = &impl_->step.Add({{"step", step}}, kSecondsBuckets);
    h = slot;
  }
  h->Observe(static_cast<double>(duration_ms) / 1000.0);
}

void Metrics::journal_commit(uint64_t events, int64_t duration_us) {
  impl_->batch_h.Observe(static_cast<double>(events));
  impl_->commit_h.Observe(static_cast<double>(duration_us) / 1e6);
}

void Metrics::http_request(const std::string& route, const std::string& method, int code, int64_t duration_us) {
  impl_->http.Add({{"route", route}, {"method", method}, {"code", std::to_string(code)}}).Increment();
  pm::Histogram* h;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto& slot = impl_->routes[route];
    if (!slot) slot = &impl_->http_duration.Add({{"route", route}}, kSecondsBuckets);
    h = slot;
  }
  h->Observe(static_cast<double>(duration_us) / 1e6);
}

void Metrics::set_shard(size_t shard, uint64_t active, uint64_t limit) {
  impl_->active.Add({{"shard", std::to_string(shard)}}).Set(static_cast<double>(active));
  impl_->limit.Add({{"shard", std::to_string(shard)}}).Set(static_cast<double>(limit));
}

void Metrics::set_admission_refused(uint64_t total) {
  impl_->mirror(impl_->refused.Add({}), "refused", total);
}

void Metrics::set_rail(const std::string& rail, int64_t queue_depth, int64_t in_flight, int breaker_state,
                       uint64_t to_open, uint64_t to_half_open, uint64_t to_closed) {
  impl_->queue.Add({{"rail", rail}}).Set(static_cast<double>(queue_depth));
  impl_->in_flight.Add({{"rail", rail}}).Set(static_cast<double>(in_flight));
  impl_->breaker.Add({{"rail", rail}}).Set(breaker_state);
  impl_->mirror(impl_->transitions.Add({{"rail", rail}, {"to", "open"}}), rail + "/open", to_open);
  impl_->mirror(impl_->transitions.Add({{"rail", rail}, {"to", "half_open"}}), rail + "/half_open", to_half_open);
  impl_->mirror(impl_->transitions.Add({{"rail", rail}, {"to", "closed"}}), rail + "/closed", to_closed);
}

void Metrics::set_kafka(int64_t consumer_lag, uint64_t dlq_total) {
  impl_->lag.Add({}).Set(static_cast<double>(consumer_lag));
  impl_->mirror(impl_->dlq.Add({}), "dlq", dlq_total);
}

void Metrics::set_outbox_backlog(int64_t rows) { impl_->outbox.Add({}).Set(static_cast<double>(rows)); }

void Metrics::set_timer_deadlines(size_t shard, uint64_t deadlines) {
  impl_->deadlines.Add({{"shard", std::to_string(shard)}}).Set(static_cast<double>(deadlines));
}

void Metrics::add_sampler(std::function<void(Metrics&)> sampler) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->samplers.push_back(std::move(sampler));
}

std::string Metrics::scrape() {
  std::vector<std::function<void(Metrics&)>> samplers;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    samplers = impl_->samplers;
  }
  for (auto& s : samplers) s(*this);
  pm::TextSerializer serializer;
  std::ostringstream out;
  serializer.Serialize(out, impl_->registry->Collect());
  return out.str();
}

}  // namespace payengine
