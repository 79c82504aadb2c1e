#include "actors/payment_json.hpp"

#include <time.h>

#include <array>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "actors/fast_json.hpp"
#include "sagas/payment_saga.hpp"
#include "sagas/validation.hpp"

namespace payengine::gateway {
namespace {

using nlohmann::json;

// Longest part of a client-supplied string echoed in a problem's detail/field.
constexpr size_t kMaxEchoChars = 64;

std::string echo(std::string_view s) {
  if (s.size() <= kMaxEchoChars) return std::string(s);
  return std::string(s.substr(0, kMaxEchoChars)) + "...";
}

Problem problem(ProblemKind kind, std::string detail, std::string field = {},
                std::string reason_code = {}) {
  Problem p;
  p.kind = kind;
  p.detail = std::move(detail);
  p.field = std::move(field);
  p.reason_code = std::move(reason_code);
  return p;
}

// First pass over the body: syntax, UTF-8, depth and duplicate keys, with
// nothing built. Aborts at the first problem, so a hostile body costs at
// most one linear scan.
class Precheck final : public nlohmann::json_sax<json> {
 public:
  explicit Precheck(size_t max_depth) : max_depth_(max_depth) {}
  std::optional<Problem> problem;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (!enter()) return false;
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!keys_.back().insert(k).second) {
      problem = gateway::problem(ProblemKind::malformed_json,
                                 "duplicate key \"" + echo(k) + "\" in an object");
      return false;
    }
    return true;
  }
  bool end_object() override {
    --depth_;
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    std::string what = ex.what();
    // nlohmann's messages start "[json.exception.parse_error.101] parse error at ...".
    auto at = what.find("] ");
    if (at != std::string::npos) what = what.substr(at + 2);
    problem = gateway::problem(ProblemKind::malformed_json,
                               "not valid JSON at byte " + std::to_string(position) + ": " + what);
    return false;
  }

 private:
  bool enter() {
    if (++depth_ > max_depth_) {
      problem =
          gateway::problem(ProblemKind::json_too_deep,
                           "JSON nested more than " + std::to_string(max_depth_) + " levels deep");
      return false;
    }
    return true;
  }
  size_t max_depth_;
  size_t depth_ = 0;
  std::vector<std::set<std::string>> keys_;
};

const char* json_type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a fractional number";
    default:
      return "something else";
  }
}

// Reads optional string fields of one JSON object into a struct.
class Reader {
 public:
  Reader(const BodyLimits& limits, std::optional<Problem>* out) : limits_(limits), out_(out) {}

  bool str(const json& obj, const char* key, const std::string& path, std::string* dest) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return true;
    if (!it->is_string()) {
      *out_ = problem(ProblemKind::wrong_type,
                      path + " must be a string, got " + json_type_name(*it), path);
      return false;
    }
    const std::string& v = it->get_ref<const std::string&>();
    if (v.size() > limits_.max_field_bytes) {
      *out_ = problem(ProblemKind::field_too_long,
                      path + " is " + std::to_string(v.size()) + " bytes; the limit is " +
                          std::to_string(limits_.max_field_bytes),
                      path);
      return false;
    }
    *dest = v;
    return true;
  }

  // Refuses members not in `known`.
  bool only(const json& obj, std::initializer_list<const char*> known, const std::string& prefix) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool ok = false;
      for (const char* k : known) ok = ok || it.key() == k;
      if (ok) continue;
      std::string path = prefix.empty() ? echo(it.key()) : prefix + "." + echo(it.key());
      std::string detail = "unknown field " + path;
      if (prefix.empty() && it.key() == "tenant")
        detail = "tenant comes from the X-Tenant-Id header and must not be in the body";
      *out_ = problem(ProblemKind::unknown_field, detail, path);
      return false;
    }
    return true;
  }

 private:
  const BodyLimits& limits_;
  std::optional<Problem>* out_;
};

bool read_party(Reader& r, const json& body, const char* role, PartyAccount* a,
                std::optional<Problem>* out) {
  auto it = body.find(role);
  if (it == body.end() || it->is_null()) return true;  // validate() reports it missing
  std::string prefix = role;
  if (!it->is_object()) {
    *out = problem(ProblemKind::wrong_type,
                   prefix + " must be an object, got " + json_type_name(*it), prefix);
    return false;
  }
  const json& o = *it;
  return r.only(o, {"name", "account_number", "branch_code", "iban", "bic", "proxy"}, prefix) &&
         r.str(o, "name", prefix + ".name", &a->name) &&
         r.str(o, "account_number", prefix + ".account_number", &a->account_number) &&
         r.str(o, "branch_code", prefix + ".branch_code", &a->branch_code) &&
         r.str(o, "iban", prefix + ".iban", &a->iban) &&
         r.str(o, "bic", prefix + ".bic", &a->bic) &&
         r.str(o, "proxy", prefix + ".proxy", &a->proxy);
}

// validate() names amount fields after PaymentInstruction; the body has them
// at the top level.
std::string body_field(const std::string& validation_field) {
  if (validation_field == "amount.amount_minor") return "amount_minor";
  if (validation_field == "amount.currency") return "currency";
  return validation_field;
}

// ------------------------------------------------------------- SHA-256 ----

struct Sha256 {
  std::array<uint32_t, 8> h{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  static constexpr std::array<uint32_t, 64> k{
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};

  static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

  void block(const unsigned char* p) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t{p[4 * i]} << 24) | (uint32_t{p[4 * i + 1]} << 16) |
             (uint32_t{p[4 * i + 2]} << 8) | uint32_t{p[4 * i + 3]};
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 =
          hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
};

void append_event(json& out, const sagas::StoredEvent& e) {
  json ev;
  ev["seq"] = e.seq;
  ev["at"] = rfc3339_ms(e.at_ms);
  ev["kind"] = e.kind;
  if (!e.step.empty()) ev["step"] = e.step;
  if (e.attempt > 0) ev["attempt"] = e.attempt;
  if (!e.state.empty()) ev["state"] = e.state;
  if (e.kind != "received") {
    auto data = json::parse(e.data, nullptr, false);
    if (data.is_object()) {
      auto str = [&](const char* from, const char* to) {
        auto it = data.find(from);
        if (it != data.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
          ev[to] = *it;
      };
      str("reason", "reason_code");
      str("detail", "detail");
      str("rail", "rail");
      auto retry = data.find("retry_at_ms");
      if (retry != data.end() && retry->is_number_integer())
        ev["retry_at"] = rfc3339_ms(retry->get<int64_t>());
    }
  }
  out.push_back(std::move(ev));
}

json nullable(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

namespace {
// A request that passed every rule: its hash is that of the canonical
// instruction (tenant included).
ParsedPayment accepted(ParsedPayment out) {
  out.request_hash = sha256_hex(sagas::instruction_to_json(out.instruction));
  return out;
}
}  // namespace

ParsedPayment parse_payment_request(std::string_view body, const std::string& tenant,
                                    const BodyLimits& limits) {
  ParsedPayment out;
  if (body.empty()) {
    out.problem = problem(ProblemKind::malformed_json, "the request body is empty");
    return out;
  }
  // The common body, read fast (actors/fast_json.hpp); anything unusual,
  // and any body breaking a rule, is read below, which says what is wrong.
  if (limits.max_depth >= 2) {
    if (auto fast = parse_payment_body_fast(body, tenant, limits.max_field_bytes);
        fast && !validate(*fast)) {
      out.instruction = std::move(*fast);
      return accepted(std::move(out));
    }
  }
  {
    Precheck check(limits.max_depth);
    bool ok = json::sax_parse(body.begin(), body.end(), &check, json::input_format_t::json, true);
    if (!ok || check.problem) {
      out.problem =
          check.problem ? *check.problem : problem(ProblemKind::malformed_json, "not valid JSON");
      return out;
    }
  }
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (!j.is_object()) {
    out.problem = problem(ProblemKind::wrong_type,
                          std::string("the body must be a JSON object, got ") + json_type_name(j));
    return out;
  }
  Reader r(limits, &out.problem);
  PaymentInstruction& p = out.instruction;
  p.tenant = tenant;
  if (!r.only(j,
              {"end_to_end_id", "amount_minor", "currency", "debtor", "creditor", "remittance",
               "urgency", "requested_rail"},
              ""))
    return out;
  std::string urgency;
  if (!r.str(j, "end_to_end_id", "end_to_end_id", &p.end_to_end_id) ||
      !r.str(j, "currency", "currency", &p.amount.currency) ||
      !r.str(j, "remittance", "remittance", &p.remittance) ||
      !r.str(j, "urgency", "urgency", &urgency) ||
      !r.str(j, "requested_rail", "requested_rail", &p.requested_rail) ||
      !read_party(r, j, "debtor", &p.debtor, &out.problem) ||
      !read_party(r, j, "creditor", &p.creditor, &out.problem))
    return out;

  auto amount = j.find("amount_minor");
  if (amount == j.end() || amount->is_null()) {
    out.problem =
        problem(ProblemKind::validation_failed, "amount_minor is missing", "amount_minor", "AM12");
    return out;
  }
  if (amount->is_number_unsigned()) {
    auto v = amount->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      out.problem = problem(ProblemKind::validation_failed,
                            "amount must be at most " + std::to_string(kMaxAmountMinor) +
                                " minor units, got " + std::to_string(v),
                            "amount_minor", "AM02");
      return out;
    }
    p.amount.amount_minor = static_cast<int64_t>(v);
  } else if (amount->is_number_integer()) {
    p.amount.amount_minor = amount->get<int64_t>();
  } else {
    std::string got = json_type_name(*amount);
    if (amount->is_number_float())
      got = "a number with a fraction or exponent, or out of range (" + echo(amount->dump()) + ")";
    out.problem = problem(ProblemKind::wrong_type,
                          "amount_minor must be an integer number of minor units, got " + got,
                          "amount_minor");
    return out;
  }

  if (!urgency.empty()) {
    auto u = urgency_from_string(urgency);
    if (!u) {
      out.problem =
          problem(ProblemKind::validation_failed,
                  "urgency must be normal, urgent or instant, got \"" + echo(urgency) + "\"",
                  "urgency", "FF01");
      return out;
    }
    p.urgency = *u;
  }

  if (auto v = validate(p)) {
    out.problem =
        problem(ProblemKind::validation_failed, v->message, body_field(v->field), v->reason_code);
    return out;
  }
  return accepted(std::move(out));
}

std::string accepted_json(const std::string& payment_id) {
  json j;
  j["payment_id"] = payment_id;
  j["state"] = "received";
  j["location"] = "/v1/payments/" + payment_id;
  return dump(j);
}

std::string payment_json(const sagas::PaymentRecord& p) {
  json j;
  j["payment_id"] = p.summary.payment_id;
  j["state"] = p.summary.state;
  j["terminal"] = p.summary.terminal;
  j["rail"] = nullable(p.rail);
  j["reason_code"] = nullable(p.reason_code);
  j["reason_detail"] = nullable(p.reason_detail);
  j["created_at"] = rfc3339_ms(p.summary.created_ms);
  j["updated_at"] = rfc3339_ms(p.summary.updated_ms);
  auto instruction = json::parse(p.instruction, nullptr, false);
  if (instruction.is_object()) {
    instruction.erase("tenant");
    j["instruction"] = std::move(instruction);
  } else {
    j["instruction"] = json::object();
  }
  json events = json::array();
  for (const auto& e : p.events) append_event(events, e);
  j["events"] = std::move(events);
  j["events_truncated"] = p.events_truncated;
  return dump(j);
}

std::string page_json(const sagas::PaymentPage& page) {
  json items = json::array();
  for (const auto& it : page.items) {
    json i;
    i["payment_id"] = it.summary.payment_id;
    i["state"] = it.summary.state;
    i["terminal"] = it.summary.terminal;
    i["rail"] = nullable(it.rail);
    i["reason_code"] = nullable(it.reason_code);
    i["created_at"] = rfc3339_ms(it.summary.created_ms);
    i["updated_at"] = rfc3339_ms(it.summary.updated_ms);
    items.push_back(std::move(i));
  }
  json j;
  j["items"] = std::move(items);
  j["next_after"] = nullable(page.next_after);
  return dump(j);
}

bool is_payment_id(std::string_view s) {
  if (s.size() != 36 || s.substr(0, 4) != "pay_") return false;
  for (char c : s.substr(4))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool is_tenant_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

bool is_idempotency_key(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

std::string rfc3339_ms(int64_t unix_ms) {
  int64_t secs = unix_ms / 1000;
  int64_t ms = unix_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  if (!gmtime_r(&t, &tm)) return "1970-01-01T00:00:00.000Z";
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string sha256_hex(std::string_view data) {
  Sha256 s;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  size_t full = n / 64;
  for (size_t i = 0; i < full; ++i) s.block(p + 64 * i);
  unsigned char tail[128] = {};
  size_t rest = n - full * 64;
  if (rest) std::memcpy(tail, p + full * 64, rest);
  tail[rest] = 0x80;
  size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = static_cast<uint64_t>(n) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_len - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  s.block(tail);
  if (tail_len == 128) s.block(tail + 64);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint32_t v : s.h)
    for (int i = 7; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 0xF]);
  return out;
}

}  // namespace payengine::gateway
