#include "actors/serve.hpp"

#include <librdkafka/rdkafka.h>

#include <ostream>

#include "actors/engine.hpp"
#include "actors/http_gateway.hpp"
#include "actors/kafka.hpp"
#include "actors/metrics.hpp"
#include "clearing/rails.hpp"
#include "sagas/store.hpp"

namespace payengine {

namespace {

Error part_error(const std::string& part, const Error& e) { return Error{part, e.message}; }

// Where the rails are: railsim in this process, remote addresses, or the
// in-process simulated rail (no adapters).
Result<Unit> configure_rails(const ServeConfig& c, EngineConfig& ec,
                             std::unique_ptr<clearing::EmbeddedRailsims>& railsims, std::ostream& out) {
  if (c.rails_mode == "sim") return Unit{};
  clearing::RailsConfig rails = clearing::default_rails_config();
  if (c.rails_mode == "railsim") {
    clearing::RailsimOptions o;  // no faults; change them at each railsim's admin endpoint
    auto sims = clearing::EmbeddedRailsims::start(o);
    if (!sims) return part_error("railsim", sims.error());
    railsims = std::move(*sims);
    railsims->apply_ports(rails);
    // A test environment: EFT cycles every second, not at the day's cut-offs.
    rails.eft.cycle_interval_ms = 1'000;
    for (clearing::Rail r : clearing::kAllRails) {
      out << "railsim " << clearing::to_string(r) << ": 127.0.0.1:" << railsims->rail(r).port()
          << " (faults: http://127.0.0.1:" << railsims->rail(r).admin_port() << "/faults)\n";
    }
  } else {
    for (const auto& [rail, address] : c.rail_addresses) {
      auto colon = address.rfind(':');
      auto& pool = rails.pool(rail);
      pool.host = address.substr(0, colon);
      try {
        int port = std::stoi(address.substr(colon + 1));
        if (port < 1 || port > 65535) throw std::out_of_range("port");
        pool.port = static_cast<uint16_t>(port);
      } catch (const std::exception&) {
        return Error{"config", "rails.addresses." + std::string(clearing::to_string(rail)) + ": bad port in '" +
                                   address + "'"};
      }
    }
  }
  ec.rails = rails;
  return Unit{};
}

// The pass-through Kafka properties, checked by librdkafka for both client
// roles before anything opens (a typo must not leave a journal behind).
Result<kafka::KafkaSettings> kafka_settings_checked(const ServeConfig& c) {
  std::vector<std::string> props;
  for (const auto& [k, v] : c.kafka_settings) props.push_back(k + "=" + v);
  auto settings = kafka::kafka_settings(c.kafka_brokers, props);
  if (!settings) return part_error("kafka", settings.error());
  for (kafka::ClientRole role : {kafka::ClientRole::consumer, kafka::ClientRole::producer}) {
    auto conf = kafka::make_client_conf(role, "127.0.0.1:9092", {}, settings->properties);
    if (!conf) return part_error("kafka", conf.error());
    rd_kafka_conf_destroy(*conf);
  }
  return settings;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::start(const ServeConfig& c, std::ostream& out) {
  auto settings = kafka_settings_checked(c);
  if (!settings) return settings.error();
  std::unique_ptr<Server> s(new Server());
  s->metrics_ = std::make_unique<Metrics>();

  EngineConfig ec;
  ec.store.path = c.db;
  ec.store.synchronous = c.sync == "normal" ? sagas::Synchronous::normal : sagas::Synchronous::full;
  ec.shards = c.shards;
  ec.max_active_per_shard = c.max_active_per_shard;
  ec.saga.routing.tenants = c.tenants;
  ec.metrics = s->metrics_.get();
  if (auto ok = configure_rails(c, ec, s->railsims_, out); !ok) return ok.error();

  auto engine = Engine::start(ec);
  if (!engine) return Error{"engine", c.db + ": " + engine.error().message};
  s->engine_ = std::move(*engine);

  // Seed accounts: opened when missing, never changed when present (the
  // journal's balances are the truth after the first start).
  Result<Unit> seeded = Unit{};
  s->engine_->with_store([&](sagas::Store& store) {
    for (const SeedAccount& a : c.accounts) {
      if (store.account(a.id)) continue;
      auto r = store.create_account(a.id, a.currency, a.balance_minor);
      if (!r) {
        seeded = Error{"engine", "account " + a.id + ": " + r.error().message};
        return;
      }
    }
  });
  if (!seeded) return seeded.error();

  HttpGatewayOptions ho;
  ho.bind_address = c.http_bind;
  ho.port = c.http_port;
  ho.io_threads = c.http_threads;
  Metrics* m = s->metrics_.get();
  ho.metrics_text = [m] { return m->scrape(); };
  ho.on_request = [m](const HttpRequestRecord& r) {
    m->http_request(r.route.empty() ? "unmatched" : r.route, r.method.empty() ? "unknown" : r.method,
                    static_cast<int>(r.status), r.duration_us);
  };
  auto gateway = HttpGateway::start(*s->engine_, ho);
  if (!gateway) return part_error("http", gateway.error());
  s->gateway_ = std::move(*gateway);

  kafka::KafkaBridgeConfig kc;
  kc.settings = *settings;
  auto bridge = kafka::KafkaBridge::start(*s->engine_, kc);
  if (!bridge) return part_error("kafka", bridge.error());
  s->kafka_ = std::move(*bridge);
  s->bootstrap_ = s->kafka_->bootstrap();

  // Scrapes come only through the gateway, which stop() ends first, so the
  // samplers never see a stopped engine or bridge.
  Engine* e = s->engine_.get();
  kafka::KafkaBridge* k = s->kafka_.get();
  m->add_sampler([e, k](Metrics& metrics) {
    e->sample_metrics(metrics);
    const kafka::ConsumerStats* cs = k->consumer_stats();
    if (cs) metrics.set_kafka(cs->lag.load(), cs->dlq.load());
  });

  out << "http: http://" << c.http_bind << ":" << s->gateway_->port()
      << " (POST /v1/payments, GET /readyz, GET /metrics)\n";
  s->kafka_->print_bootstrap(out);
  out << "journal: " << c.db << " (" << c.accounts.size() << " seed accounts)\n";
  out.flush();
  return s;
}

Server::~Server() { stop(); }

void Server::stop() {
  if (gateway_) gateway_->stop();
  if (kafka_) kafka_->stop();
  kafka_.reset();
  gateway_.reset();
  engine_.reset();
  railsims_.reset();
}

uint16_t Server::http_port() const { return gateway_ ? gateway_->port() : 0; }
const std::string& Server::kafka_bootstrap() const { return bootstrap_; }
Engine& Server::engine() { return *engine_; }

}  // namespace payengine
