#include "actors/serve_config.hpp"

#include "sagas/money.hpp"

#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>

#include <fstream>
#include <set>
#include <sstream>

namespace payengine {

namespace {

Error bad(const std::string& key, const std::string& what) { return Error{"config", key + ": " + what}; }

// Refuses keys of `node` outside `known` (a typo must not fall back silently).
Result<Unit> only(const YAML::Node& node, const std::string& where, const std::set<std::string>& known) {
  if (!node.IsMap()) return bad(where.empty() ? "(top level)" : where, "a mapping is required");
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = it->first.as<std::string>();
    if (!known.count(key)) return bad(where.empty() ? key : where + "." + key, "unknown key");
  }
  return Unit{};
}

template <class T>
Result<T> scalar(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) return bad(key, "a single value is required");
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    return bad(key, "'" + node.Scalar() + "' has the wrong type");
  }
}

Result<clearing::Rail> rail_named(const std::string& name, const std::string& key) {
  auto r = clearing::rail_from_string(name);
  if (!r) return bad(key, "unknown rail '" + name + "' (SAMOS, EFT, RTC, PAYSHAP, SWIFT)");
  return *r;
}

}  // namespace

Result<ServeConfig> parse_serve_config(const std::string& yaml_text) {
  ServeConfig c;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return bad("(yaml)", e.what());
  }
  if (root.IsNull()) return c;
  if (auto ok = only(root, "", {"db", "sync", "http", "kafka", "rails", "admission", "tenants", "accounts"}); !ok)
    return ok.error();
  if (root["db"]) {
    auto v = scalar<std::string>(root["db"], "db");
    if (!v) return v.error();
    c.db = *v;
  }
  if (root["sync"]) {
    auto v = scalar<std::string>(root["sync"], "sync");
    if (!v) return v.error();
    if (*v != "full" && *v != "normal") return bad("sync", "full or normal");
    c.sync = *v;
  }
  if (auto http = root["http"]) {
    if (auto ok = only(http, "http", {"bind", "port", "threads"}); !ok) return ok.error();
    if (http["bind"]) {
      auto v = scalar<std::string>(http["bind"], "http.bind");
      if (!v) return v.error();
      unsigned char addr[16];
      if (inet_pton(AF_INET, v->c_str(), addr) != 1 && inet_pton(AF_INET6, v->c_str(), addr) != 1)
        return bad("http.bind", "'" + *v + "' is not an IP address");
      c.http_bind = *v;
    }
    if (http["port"]) {
      auto v = scalar<int64_t>(http["port"], "http.port");
      if (!v) return v.error();
      if (*v < 0 || *v > 65535) return bad("http.port", "0..65535");
      c.http_port = static_cast<uint16_t>(*v);
    }
    if (http["threads"]) {
      auto v = scalar<int64_t>(http["threads"], "http.threads");
      if (!v) return v.error();
      if (*v < 1 || *v > 64) return bad("http.threads", "1..64");
      c.http_threads = static_cast<uint32_t>(*v);
    }
  }
  if (auto kafka = root["kafka"]) {
    if (auto ok = only(kafka, "kafka", {"brokers", "settings"}); !ok) return ok.error();
    if (kafka["brokers"]) {
      auto v = scalar<std::string>(kafka["brokers"], "kafka.brokers");
      if (!v) return v.error();
      if (v->empty()) return bad("kafka.brokers", "'embedded' or host:port[,host:port...]");
      c.kafka_brokers = *v;
    }
    if (auto s = kafka["settings"]) {
      if (!s.IsMap()) return bad("kafka.settings", "a mapping of librdkafka settings is required");
      for (auto it = s.begin(); it != s.end(); ++it) {
        std::string key = it->first.as<std::string>();
        const YAML::Node value = it->second;
        auto v = scalar<std::string>(value, "kafka.settings." + key);
        if (!v) return v.error();
        c.kafka_settings[key] = *v;
      }
    }
  }
  if (auto rails = root["rails"]) {
    if (auto ok = only(rails, "rails", {"mode", "addresses"}); !ok) return ok.error();
    if (rails["mode"]) {
      auto v = scalar<std::string>(rails["mode"], "rails.mode");
      if (!v) return v.error();
      if (*v != "railsim" && *v != "remote" && *v != "sim") return bad("rails.mode", "railsim, remote or sim");
      c.rails_mode = *v;
    }
    if (auto a = rails["addresses"]) {
      if (!a.IsMap()) return bad("rails.addresses", "a mapping of rail to host:port is required");
      for (auto it = a.begin(); it != a.end(); ++it) {
        std::string name = it->first.as<std::string>();
        auto rail = rail_named(name, "rails.addresses." + name);
        if (!rail) return rail.error();
        const YAML::Node value = it->second;
        auto v = scalar<std::string>(value, "rails.addresses." + name);
        if (!v) return v.error();
        auto colon = v->rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == v->size())
          return bad("rails.addresses." + name, "host:port is required");
        c.rail_addresses[*rail] = *v;
      }
    }
    if (c.rails_mode == "remote" && c.rail_addresses.size() != 5)
      return bad("rails.addresses", "mode remote needs the address of all five rails");
  }
  if (auto adm = root["admission"]) {
    if (auto ok = only(adm, "admission", {"shards", "max_active_per_shard"}); !ok) return ok.error();
    if (adm["shards"]) {
      auto v = scalar<int64_t>(adm["shards"], "admission.shards");
      if (!v) return v.error();
      if (*v < 1 || *v > 256) return bad("admission.shards", "1..256");
      c.shards = static_cast<size_t>(*v);
    }
    if (adm["max_active_per_shard"]) {
      auto v = scalar<int64_t>(adm["max_active_per_shard"], "admission.max_active_per_shard");
      if (!v) return v.error();
      if (*v < 1) return bad("admission.max_active_per_shard", "at least 1");
      c.max_active_per_shard = static_cast<uint64_t>(*v);
    }
  }
  if (auto tenants = root["tenants"]) {
    if (!tenants.IsMap()) return bad("tenants", "a mapping of tenant id to settings is required");
    for (auto it = tenants.begin(); it != tenants.end(); ++it) {
      std::string tenant = it->first.as<std::string>();
      std::string where = "tenants." + tenant;
      // A copy of the node (the iterator's value is a temporary), read through
      // const lookups only (non-const operator[] makes placeholder nodes).
      const YAML::Node settings = it->second;
      if (auto ok = only(settings, where, {"payshap_cap_minor", "fallbacks"}); !ok) return ok.error();
      clearing::TenantRouting t;
      if (settings["payshap_cap_minor"]) {
        auto v = scalar<int64_t>(settings["payshap_cap_minor"], where + ".payshap_cap_minor");
        if (!v) return v.error();
        if (*v < 1) return bad(where + ".payshap_cap_minor", "a positive amount in cents");
        t.payshap_cap_minor = *v;
      }
      if (const YAML::Node f = settings["fallbacks"]) {
        if (!f.IsMap()) return bad(where + ".fallbacks", "a mapping of rail to a list of rails is required");
        for (auto fit = f.begin(); fit != f.end(); ++fit) {
          std::string from_name = fit->first.as<std::string>();
          auto from = rail_named(from_name, where + ".fallbacks." + from_name);
          if (!from) return from.error();
          const YAML::Node list = fit->second;
          if (!list.IsSequence()) return bad(where + ".fallbacks." + from_name, "a list of rails is required");
          std::vector<clearing::Rail> to;
          for (const auto& r : list) {
            auto name = scalar<std::string>(r, where + ".fallbacks." + from_name);
            if (!name) return name.error();
            auto rail = rail_named(*name, where + ".fallbacks." + from_name);
            if (!rail) return rail.error();
            to.push_back(*rail);
          }
          t.fallbacks[*from] = to;
        }
      }
      c.tenants[tenant] = t;
    }
  }
  if (const YAML::Node accounts = root["accounts"]) {
    if (!accounts.IsSequence()) return bad("accounts", "a list of {id, currency, balance_minor} is required");
    std::set<std::string> seen;
    size_t i = 0;
    for (const auto& item : accounts) {
      const YAML::Node a = item;
      std::string where = "accounts[" + std::to_string(i++) + "]";
      if (auto ok = only(a, where, {"id", "currency", "balance_minor"}); !ok) return ok.error();
      if (!a["id"] || !a["currency"] || !a["balance_minor"])
        return bad(where, "id, currency and balance_minor are required");
      SeedAccount s;
      auto id = scalar<std::string>(a["id"], where + ".id");
      if (!id) return id.error();
      auto slash = id->find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == id->size())
        return bad(where + ".id", "'" + *id + "' is not <tenant>/<account>");
      if (!seen.insert(*id).second) return bad(where + ".id", "'" + *id + "' is listed twice");
      auto ccy = scalar<std::string>(a["currency"], where + ".currency");
      if (!ccy) return ccy.error();
      if (!currency_decimals(*ccy)) return bad(where + ".currency", "unknown currency '" + *ccy + "'");
      auto bal = scalar<int64_t>(a["balance_minor"], where + ".balance_minor");
      if (!bal) return bal.error();
      if (*bal < 0) return bad(where + ".balance_minor", "must not be negative");
      s.id = *id;
      s.currency = *ccy;
      s.balance_minor = *bal;
      c.accounts.push_back(std::move(s));
    }
  }
  return c;
}

Result<ServeConfig> load_serve_config(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Error{"config", path + ": cannot be read"};
  std::stringstream text;
  text << f.rdbuf();
  auto c = parse_serve_config(text.str());
  if (!c) return Error{"config", path + ": " + c.error().message};
  return c;
}

}  // namespace payengine
