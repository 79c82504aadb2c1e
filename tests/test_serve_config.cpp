// The serve configuration: defaults, a full file, and every kind of mistake
// refused with the key at fault.
#define BOOST_TEST_MODULE serve_config
#include <boost/test/unit_test.hpp>

#include "actors/serve_config.hpp"

using namespace payengine;

BOOST_AUTO_TEST_CASE(empty_is_the_embedded_defaults) {
  auto c = parse_serve_config("");
  BOOST_REQUIRE(c.ok());
  BOOST_CHECK_EQUAL(c->kafka_brokers, "embedded");
  BOOST_CHECK_EQUAL(c->rails_mode, "railsim");
  BOOST_CHECK_EQUAL(c->http_port, 8080);
  BOOST_CHECK_EQUAL(c->sync, "full");
}

BOOST_AUTO_TEST_CASE(a_full_file) {
  auto c = parse_serve_config(R"(
db: /tmp/x.db
sync: normal
http: {bind: 0.0.0.0, port: 0, threads: 4}
kafka:
  brokers: k1:9092,k2:9092
  settings: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}
rails:
  mode: remote
  addresses: {SAMOS: 10.0.0.1:9100, EFT: 10.0.0.2:9100, RTC: 10.0.0.3:9100, PAYSHAP: 10.0.0.4:9100, SWIFT: 10.0.0.5:9100}
admission: {shards: 8, max_active_per_shard: 500}
tenants:
  bank1: {payshap_cap_minor: 1000000, fallbacks: {PAYSHAP: [EFT, RTC]}}
)");
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().message));
  BOOST_CHECK_EQUAL(c->db, "/tmp/x.db");
  BOOST_CHECK_EQUAL(c->http_bind, "0.0.0.0");
  BOOST_CHECK_EQUAL(c->http_port, 0);
  BOOST_CHECK_EQUAL(c->http_threads, 4u);
  BOOST_CHECK_EQUAL(c->kafka_settings.at("sasl.mechanism"), "PLAIN");
  BOOST_CHECK_EQUAL(c->rail_addresses.at(clearing::Rail::swift), "10.0.0.5:9100");
  BOOST_CHECK_EQUAL(c->shards, 8u);
  BOOST_CHECK_EQUAL(c->tenants.at("bank1").payshap_cap_minor, 1'000'000);
  BOOST_REQUIRE_EQUAL(c->tenants.at("bank1").fallbacks.at(clearing::Rail::payshap).size(), 2u);
}

BOOST_AUTO_TEST_CASE(mistakes_name_their_key) {
  const std::pair<const char*, const char*> cases[] = {
      {"dbb: x", "dbb: unknown key"},
      {"sync: sometimes", "sync: full or normal"},
      {"http: {port: 70000}", "http.port: 0..65535"},
      {"http: {port: eighty}", "http.port: 'eighty' has the wrong type"},
      {"http: {prot: 1}", "http.prot: unknown key"},
      {"http: 8080", "http: a mapping is required"},
      {"kafka: {brokers: ''}", "kafka.brokers:"},
      {"rails: {mode: carrier_pigeon}", "rails.mode: railsim, remote or sim"},
      {"rails: {mode: remote}", "rails.addresses: mode remote needs the address of all five rails"},
      {"rails: {addresses: {ZIPZAP: a:1}}", "rails.addresses.ZIPZAP: unknown rail"},
      {"rails: {addresses: {RTC: nohost}}", "rails.addresses.RTC: host:port is required"},
      {"admission: {shards: 0}", "admission.shards: 1..256"},
      {"tenants: {bank1: {payshap_cap_minor: -5}}", "tenants.bank1.payshap_cap_minor: a positive amount"},
      {"tenants: {bank1: {fallbacks: {PAYSHAP: EFT}}}", "tenants.bank1.fallbacks.PAYSHAP: a list of rails"},
      {"tenants: {bank1: {fallbacks: {PAYSHAP: [MOON]}}}", "tenants.bank1.fallbacks.PAYSHAP: unknown rail 'MOON'"},
      {"db: [a, b]", "db: a single value is required"},
      {"http: {bind: localhost}", "http.bind: 'localhost' is not an IP address"},
      {"accounts: {id: x}", "accounts: a list"},
      {"accounts: [{id: bank1/1, currency: ZAR}]", "accounts[0]: id, currency and balance_minor are required"},
      {"accounts: [{id: nobank, currency: ZAR, balance_minor: 1}]", "accounts[0].id: 'nobank' is not <tenant>/<account>"},
      {"accounts: [{id: b/1, currency: ZZZ, balance_minor: 1}]", "accounts[0].currency: unknown currency 'ZZZ'"},
      {"accounts: [{id: b/1, currency: ZAR, balance_minor: -1}]", "accounts[0].balance_minor: must not be negative"},
      {"accounts: [{id: b/1, currency: ZAR, balance_minor: 1.5}]", "accounts[0].balance_minor: '1.5' has the wrong type"},
      {"accounts: [{id: b/1, currency: ZAR, balance_minor: 1}, {id: b/1, currency: ZAR, balance_minor: 2}]",
       "accounts[1].id: 'b/1' is listed twice"},
      {"accounts: [{id: b/1, currency: ZAR, balance_minor: 1, colour: red}]", "accounts[0].colour: unknown key"},
      {"{unclosed", "(yaml)"},
  };
  for (auto& [yaml, expected] : cases) {
    BOOST_TEST_CONTEXT(yaml) {
      auto c = parse_serve_config(yaml);
      BOOST_REQUIRE(!c.ok());
      BOOST_CHECK_EQUAL(c.error().code, "config");
      BOOST_CHECK_MESSAGE(c.error().message.find(expected) == 0, c.error().message);
    }
  }
  auto missing = load_serve_config("/nonexistent/payengine.yaml");
  BOOST_REQUIRE(!missing.ok());
  BOOST_CHECK_NE(missing.error().message.find("cannot be read"), std::string::npos);
}

// The ready-made file the README points at parses, with its seed accounts.
BOOST_AUTO_TEST_CASE(the_local_deploy_file) {
  auto c = load_serve_config(std::string(PAYENGINE_SOURCE_DIR) + "/deploy/local/serve.yaml");
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().message));
  BOOST_CHECK_EQUAL(c->http_bind, "127.0.0.1");
  BOOST_CHECK_EQUAL(c->http_port, 8080);
  BOOST_CHECK_EQUAL(c->kafka_brokers, "embedded");
  BOOST_REQUIRE_EQUAL(c->accounts.size(), 3u);
  BOOST_CHECK_EQUAL(c->accounts[0].id, "bank1/1234567890");
  BOOST_CHECK_EQUAL(c->accounts[0].currency, "ZAR");
  BOOST_CHECK_EQUAL(c->accounts[0].balance_minor, 100'000'000'000);
}
