// HttpGateway: the engine's HTTP/1.1 API (Boost.Beast on Asio), described
// in docs/openapi.yaml.
//
//   POST /v1/payments              202 once the payment's first event is durable
//   GET  /v1/payments/{id}         state, rail, reason code, event history
//   GET  /v1/payments?state=&rail=&limit=&after=   paged, in id (= creation) order
//   POST /v1/payments/{id}/cancel  202 accepted / 409 too late or already final
//   GET  /v1/rails                 per rail: breaker, queue depth, in flight
//   GET  /healthz, GET /readyz     liveness; readiness = recovery finished
//   GET  /metrics                  only when `metrics_text` is set
//
// Promises:
//  - 202 Accepted only after Engine::initiate_async answered `accepted` (the
//    `received` event is durable). The same Idempotency-Key (per tenant)
//    with the same request (same canonical instruction, see
//    payment_json.hpp) answers the same 202 with `Idempotent-Replayed: true`;
//    with another request, 422 idempotency-key-reused.
//  - Bad input never reaches the journal: shape, types, limits and
//    sagas/validation.hpp's rules are checked first, and every refusal is an
//    application/problem+json (RFC 9457) with a stable `type`
//    (actors/problem.hpp), the field at fault and the ISO 20022 reason code
//    where one applies.
//  - Tenants: every /v1 request needs X-Tenant-Id (set by the service mesh
//    from the caller's verified JWT, replacing any copy the caller sent; the
//    gateway trusts it and must only be reachable through the mesh). A payment of another tenant is
//    answered exactly like one that does not exist (404), for reads and cancels.
//  - Limits, each with its own problem type: header bytes (431), request
//    target bytes (414), body bytes (413), JSON depth and string field bytes
//    (400), time to receive a request once its first byte arrived (408),
//    open connections (503, then the connection is closed). Idle keep-alive
//    connections are closed silently after `idle_timeout_ms`. A response the
//    client does not read is abandoned after `write_timeout_ms`. Connections
//    that end in an error are closed after a bounded drain (so the client
//    gets the response rather than a reset).
//  - Backpressure: admission control full -> 429 with Retry-After. A client
//    that names a rail (`requested_rail`) whose breaker is open is refused up
//    front: 503 rail-unavailable (AB08) with Retry-After, nothing journaled.
//    Without `requested_rail`, the payment is accepted and routing falls back
//    to another rail; when every candidate's breaker is open it fails with
//    compensation (AB08), visible through GET. The engine not answering
//    within `engine_timeout_ms` (or failing to journal) -> 503
//    engine-unavailable: the outcome is unknown, retry with the same key.
//  - Threads: `io_threads` threads run one io_context; each connection is
//    served on its own strand, one request at a time. The engine is reached
//    only through Engine::initiate_async / cancel_async (their replies are
//    posted back to the connection's strand; no CAF worker ever blocks) and
//    through the engine's JournalReader (a read-only SQLite connection:
//    GETs never queue behind the journal's writes).
//  - Idempotency keys are kept at least StoreOptions::idempotency_ttl_ms
//    (24 h by default): a purge thread deletes expired keys every
//    `idempotency_purge_interval_ms`, at most `idempotency_purge_batch` per
//    journal task, so keys live between ttl and ttl + interval.
//  - stop() (and the destructor) closes the listener and every connection
//    and joins the threads; engine replies arriving later are dropped. Stop
//    the gateway before destroying its Engine.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/engine.hpp"
#include "sagas/result.hpp"

namespace payengine {

// One served request, for metrics (HTTP requests by route and code).
struct HttpRequestRecord {
  std::string method;  // "GET", "POST", ... ("" when the request line did not parse)
  std::string route;   // the route template, e.g. "/v1/payments/{id}"; "" when none matched
  unsigned status = 0;
  int64_t duration_us = 0;  // first byte of the request to the last byte of the response
};

struct HttpGatewayOptions {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;      // 0: any free port (see HttpGateway::port)
  size_t io_threads = 2;  // threads running the io_context
  size_t max_connections = 1'024;
  size_t max_header_bytes = 8 * 1'024;  // request line + headers
  size_t max_target_bytes = 2'048;      // request target (path + query)
  size_t max_body_bytes = 64 * 1'024;
  size_t max_json_depth = 8;
  size_t max_field_bytes = 1'024;       // any one JSON string or key
  int64_t request_timeout_ms = 10'000;  // first byte of a request to its last
  int64_t idle_timeout_ms = 60'000;     // keep-alive: waiting for the next request
  int64_t write_timeout_ms = 10'000;    // writing one response
  int64_t engine_timeout_ms = 10'000;   // the engine's answer to an initiate or cancel
  int64_t linger_ms = 1'000;            // drain before closing after an error
  size_t list_default_limit = 50;
  size_t list_max_limit = 200;
  size_t list_max_scan = 2'000;  // sagas inspected per list call (filters)
  size_t max_events = 1'000;     // events shown per payment
  int64_t overloaded_retry_after_s = 1;
  int64_t rail_retry_after_s = 5;
  int64_t idempotency_purge_interval_ms = 60'000;
  size_t idempotency_purge_batch = 10'000;
  // When set, GET /metrics answers 200 with its text as
  // "text/plain; version=0.0.4" (Prometheus); unset, /metrics is 404.
  // Called on an I/O thread for each scrape, possibly concurrently: must be
  // thread-safe and quick.
  std::function<std::string()> metrics_text;
  // When set, called on an I/O thread after each response is written
  // (possibly concurrently from several I/O threads).
  std::function<void(const HttpRequestRecord&)> on_request;
};

class HttpGateway {
 public:
  // Listens at once; fails when the address cannot be bound or the engine
  // has no JournalReader (an in-memory database).
  static Result<std::unique_ptr<HttpGateway>> start(Engine& engine, HttpGatewayOptions options);
  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  uint16_t port() const;
  void stop();  // idempotent

  struct Stats {
    uint64_t connections_open = 0;
    uint64_t connections_accepted = 0;
    uint64_t connections_refused = 0;  // over max_connections
    uint64_t requests = 0;             // responses written
    uint64_t idempotency_purged = 0;   // keys deleted by the purge thread
    uint64_t idempotency_purge_runs = 0;
  };
  Stats stats() const;

  struct Impl;  // opaque; public only so that the implementation's helpers can name it

 private:
  explicit HttpGateway(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace payengine
