#include "actors/fast_json.hpp"

#include <cstdint>
#include <limits>

namespace payengine {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// Each key of an object once, and only the known ones.
class Seen {
 public:
  bool first(unsigned bit) {
    if (mask_ & (1u << bit)) return false;
    mask_ |= 1u << bit;
    return true;
  }
  bool has(unsigned bit) const { return (mask_ & (1u << bit)) != 0; }

 private:
  unsigned mask_ = 0;
};

// How the two doors differ in what they take.
struct Rules {
  size_t max_string_bytes = std::numeric_limits<size_t>::max();
  bool payload_tenant = false;  // Kafka: the payload may repeat the tenant
  bool strict_urgency = false;  // HTTP: an unknown urgency is an error, not `normal`
};

bool read_string(element v, const Rules& rules, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s) || s.size() > rules.max_string_bytes) return false;
  out.assign(s.data(), s.size());
  return true;
}

bool read_party(element v, const Rules& rules, PartyAccount& a) {
  object o;
  if (v.get_object().get(o)) return false;
  Seen seen;
  for (auto [key, fv] : o) {
    std::string* out = nullptr;
    unsigned bit = 0;
    if (key == "name") out = &a.name, bit = 0;
    else if (key == "account_number") out = &a.account_number, bit = 1;
    else if (key == "branch_code") out = &a.branch_code, bit = 2;
    else if (key == "iban") out = &a.iban, bit = 3;
    else if (key == "bic") out = &a.bic, bit = 4;
    else if (key == "proxy") out = &a.proxy, bit = 5;
    else return false;
    if (!seen.first(bit) || !read_string(fv, rules, *out)) return false;
  }
  return true;
}

// The instruction's fields of one object; `tenant` gets a payload tenant
// when the rules allow one.
bool read_instruction(element v, const Rules& rules, PaymentInstruction& p, std::string* tenant) {
  object o;
  if (v.get_object().get(o)) return false;
  Seen seen;
  for (auto [key, fv] : o) {
    bool ok = false;
    if (key == "end_to_end_id") {
      ok = seen.first(0) && read_string(fv, rules, p.end_to_end_id);
    } else if (key == "amount_minor") {
      int64_t n = 0;
      ok = seen.first(1) && !fv.get_int64().get(n);
      p.amount.amount_minor = n;
    } else if (key == "currency") {
      ok = seen.first(2) && read_string(fv, rules, p.amount.currency);
    } else if (key == "debtor") {
      ok = seen.first(3) && read_party(fv, rules, p.debtor);
    } else if (key == "creditor") {
      ok = seen.first(4) && read_party(fv, rules, p.creditor);
    } else if (key == "remittance") {
      ok = seen.first(5) && read_string(fv, rules, p.remittance);
    } else if (key == "urgency") {
      std::string u;
      ok = seen.first(6) && read_string(fv, rules, u);
      auto parsed = urgency_from_string(u);
      if (rules.strict_urgency && !u.empty() && !parsed) ok = false;
      p.urgency = parsed.value_or(Urgency::normal);
    } else if (key == "requested_rail") {
      ok = seen.first(7) && read_string(fv, rules, p.requested_rail);
    } else if (key == "tenant" && rules.payload_tenant) {
      ok = seen.first(8) && read_string(fv, rules, *tenant);
    }
    if (!ok) return false;
  }
  return seen.has(1);  // amount_minor: the full path reports it missing
}

// The full readers decode \u escapes (surrogates included) by their own
// rules; a text with one is theirs.
bool has_unicode_escape(std::string_view json) {
  for (size_t at = json.find('\\'); at != std::string_view::npos; at = json.find('\\', at + 2))
    if (at + 1 < json.size() && json[at + 1] == 'u') return true;
  return false;
}

}  // namespace

size_t padded_capacity(size_t size) { return size + simdjson::SIMDJSON_PADDING; }

namespace kafka {

std::optional<FastInitiate> parse_initiate_fast(simdjson::dom::parser& parser,
                                                std::string_view json, size_t capacity) {
  if (capacity < padded_capacity(json.size()) || has_unicode_escape(json)) return std::nullopt;
  element doc;
  // The whole text is validated: one JSON value, nothing after it.
  if (parser.parse(json.data(), json.size(), /*realloc_if_needed=*/false).get(doc))
    return std::nullopt;
  object env;
  if (doc.get_object().get(env)) return std::nullopt;
  FastInitiate f;
  Rules rules;
  rules.payload_tenant = true;
  Seen seen;
  for (auto [key, v] : env) {
    bool ok = false;
    if (key == "type") {
      std::string type;
      ok = seen.first(0) && read_string(v, rules, type) && type == "payment.initiate";
    } else if (key == "version") {
      int64_t version = 0;
      ok = seen.first(1) && !v.get_int64().get(version) && version == 1;
    } else if (key == "id") {
      ok = seen.first(2) && read_string(v, rules, f.id);
    } else if (key == "tenant") {
      ok = seen.first(3) && read_string(v, rules, f.tenant);
    } else if (key == "payload") {
      ok = seen.first(4) && read_instruction(v, rules, f.instruction, &f.payload_tenant);
    }
    if (!ok) return std::nullopt;
  }
  for (unsigned bit = 0; bit < 5; ++bit)
    if (!seen.has(bit)) return std::nullopt;
  f.instruction.tenant = f.tenant;
  return f;
}

}  // namespace kafka

namespace gateway {

std::optional<PaymentInstruction> parse_payment_body_fast(std::string_view body,
                                                          const std::string& tenant,
                                                          size_t max_field_bytes) {
  if (has_unicode_escape(body)) return std::nullopt;
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;
  padded.reserve(padded_capacity(body.size()));
  padded.assign(body.data(), body.size());
  element doc;
  if (parser.parse(padded.data(), padded.size(), /*realloc_if_needed=*/false).get(doc))
    return std::nullopt;
  Rules rules;
  rules.max_string_bytes = max_field_bytes;
  rules.strict_urgency = true;
  PaymentInstruction p;
  if (!read_instruction(doc, rules, p, nullptr)) return std::nullopt;
  p.tenant = tenant;
  return p;
}

}  // namespace gateway
}  // namespace payengine
