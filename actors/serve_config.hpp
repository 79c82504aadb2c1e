// The configuration of `payengine serve`: a YAML file, every key optional,
// the embedded defaults otherwise. Unknown keys and wrong types are errors
// naming the key, so a typo never silently falls back to a default.
//
//   db: /var/lib/payengine/engine.db     # the SQLite journal
//   sync: full                           # full | normal
//   http:
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
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "clearing/clearing.hpp"
#include "clearing/router.hpp"
#include "sagas/result.hpp"

namespace payengine {

struct ServeConfig {
  std::string db = "payengine.db";
  std::string sync = "full";
  uint16_t http_port = 8080;
  uint32_t http_threads = 2;
  std::string kafka_brokers = "embedded";
  std::map<std::string, std::string> kafka_settings;
  std::string rails_mode = "railsim";
  std::map<clearing::Rail, std::string> rail_addresses;  // host:port, rails_mode == "remote"
  size_t shards = 4;
  uint64_t max_active_per_shard = 10'000;
  std::map<std::string, clearing::TenantRouting> tenants;
};

// Parses the YAML text of a serve configuration onto the defaults.
Result<ServeConfig> parse_serve_config(const std::string& yaml_text);
// Reads and parses a file (error "config" naming the file if unreadable).
Result<ServeConfig> load_serve_config(const std::string& path);

}  // namespace payengine
