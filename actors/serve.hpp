// Server: what `payengine serve` runs — the engine with its two doors (the
// HTTP gateway and the Kafka bridge), its rails and its metrics, built from a
// ServeConfig.
//
//   HTTP  ──► HttpGateway ──┐                          ┌──► rail adapters ──► SAMOS, EFT, RTC, PayShap, SWIFT
//                           ├──► Engine (journal) ─────┤     (railsim in this process by default)
//   Kafka ──► KafkaBridge ──┘         │ outbox          └──► GET /metrics (Prometheus)
//                                     └──► KafkaBridge relay ──► payments.events
//
// Promises:
//  - `start` returns once every part runs: the journal is open (recovery of
//    unfinished sagas continues in the background; GET /readyz says when it
//    has finished), the seed accounts exist, the gateway listens and the
//    Kafka bridge has subscribed. On an error nothing is left running and the
//    error names the part ("config", "engine", "http", "kafka", "railsim").
//  - `stop` (and the destructor) stops the doors first (the consumer commits
//    what is durable; answers in flight are dropped, never half-applied),
//    then the engine, then the embedded railsims. Create and destroy a
//    Server on the same thread (a CAF 0.17 constraint, see engine.hpp).
//  - Metrics: every family of actors/metrics.hpp is served on the gateway's
//    GET /metrics, the Kafka lag and DLQ count included.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "actors/serve_config.hpp"
#include "sagas/result.hpp"

namespace payengine {

class Engine;
class HttpGateway;
class Metrics;
namespace kafka {
class KafkaBridge;
}
namespace clearing {
class EmbeddedRailsims;
}

class Server {
 public:
  // `out` receives the human lines (where HTTP and Kafka are); it must
  // outlive the Server.
  static Result<std::unique_ptr<Server>> start(const ServeConfig& config, std::ostream& out);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void stop();  // idempotent

  uint16_t http_port() const;
  const std::string& kafka_bootstrap() const;
  Engine& engine();

 private:
  Server() = default;

  std::unique_ptr<Metrics> metrics_;  // outlives the engine, which reports to it
  std::unique_ptr<clearing::EmbeddedRailsims> railsims_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HttpGateway> gateway_;
  std::unique_ptr<kafka::KafkaBridge> kafka_;
  std::string bootstrap_;
};

}  // namespace payengine
