// The configuration of `payengine serve`: a YAML file, every key optional,
// the embedded defaults otherwise. Unknown keys and wrong types are errors
// naming the key, so a typo never silently falls back to a default.
//
//   db: /var/lib/payengine/engine.db     # the SQLite journal
//   sync: full                           # full | normal
//   http:
//     bind: 127.0.0.1                    # 0.0.0.0 in a pod (the mesh's sidecar connects to the pod IP)
//     port: 8080                         # 0: any free port (printed)
//     threads: 2
//   kafka:
//     brokers: embedded                  # embedded (librdkafka's mock cluster) or host:port,...
//     settings: {security.protocol: SASL_SSL, ...}   # passed through to librdkafka
//   rails:
//     mode: railsim                      # railsim: a railsim per rail in this process
//                                        # remote: the addresses below
//                                        # sim: the in-process simulated rail
//     addresses: {SAMOS: 10.0.0.5:9100, EFT: ..., RTC: ..., PAYSHAP: ..., SWIFT: ...}
//   admission:
//     shards: 4
//     max_active_per_shard: 10000
//   tenants:
//     bank1: {payshap_cap_minor: 1000000, fallbacks: {PAYSHAP: [EFT]}}
//   accounts:                            # created at start when missing (never changed when present)
//     - {id: bank1/1234567890, currency: ZAR, balance_minor: 100000000}
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "clearing/clearing.hpp"
#include "clearing/router.hpp"
#include "sagas/result.hpp"

namespace payengine {

// A ledger account that `payengine serve` opens at start if it is missing:
// "<tenant>/<account number or IBAN>" (see sagas/payment_saga.cpp).
struct SeedAccount {
  std::string id;
  std::string currency;
  int64_t balance_minor = 0;
};

struct ServeConfig {
  std::string db = "payengine.db";
  std::string sync = "full";
  std::string http_bind = "127.0.0.1";
  uint16_t http_port = 8080;
  uint32_t http_threads = 2;
  std::string kafka_brokers = "embedded";
  std::map<std::string, std::string> kafka_settings;
  std::string rails_mode = "railsim";
  std::map<clearing::Rail, std::string> rail_addresses;  // host:port, rails_mode == "remote"
  size_t shards = 4;
  uint64_t max_active_per_shard = 10'000;
  std::map<std::string, clearing::TenantRouting> tenants;
  std::vector<SeedAccount> accounts;
};

// Parses the YAML text of a serve configuration onto the defaults.
Result<ServeConfig> parse_serve_config(const std::string& yaml_text);
// Reads and parses a file (error "config" naming the file if unreadable).
Result<ServeConfig> load_serve_config(const std::string& path);

}  // namespace payengine
