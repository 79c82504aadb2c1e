#include "actors/fast_command.hpp"

#include <simdjson.h>

#include <cstdint>

#include "sagas/payment.hpp"

namespace payengine::kafka {
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

bool read_string(element v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s)) return false;
  out.assign(s.data(), s.size());
  return true;
}

bool read_party(element v, PartyAccount& a) {
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
    if (!seen.first(bit) || !read_string(fv, *out)) return false;
  }
  return true;
}

bool read_payload(element v, FastInitiate& f) {
  object o;
  if (v.get_object().get(o)) return false;
  PaymentInstruction& p = f.instruction;
  Seen seen;
  for (auto [key, fv] : o) {
    bool ok = false;
    if (key == "end_to_end_id") {
      ok = seen.first(0) && read_string(fv, p.end_to_end_id);
    } else if (key == "amount_minor") {
      int64_t n = 0;
      ok = seen.first(1) && !fv.get_int64().get(n);
      p.amount.amount_minor = n;
    } else if (key == "currency") {
      ok = seen.first(2) && read_string(fv, p.amount.currency);
    } else if (key == "debtor") {
      ok = seen.first(3) && read_party(fv, p.debtor);
    } else if (key == "creditor") {
      ok = seen.first(4) && read_party(fv, p.creditor);
    } else if (key == "remittance") {
      ok = seen.first(5) && read_string(fv, p.remittance);
    } else if (key == "urgency") {
      std::string u;
      ok = seen.first(6) && read_string(fv, u);
      p.urgency = urgency_from_string(u).value_or(Urgency::normal);
    } else if (key == "requested_rail") {
      ok = seen.first(7) && read_string(fv, p.requested_rail);
    } else if (key == "tenant") {
      ok = seen.first(8) && read_string(fv, f.payload_tenant);
    }
    if (!ok) return false;
  }
  return seen.has(1);  // amount_minor: the full path reports it missing
}

}  // namespace

size_t padded_capacity(size_t size) { return size + simdjson::SIMDJSON_PADDING; }

std::optional<FastInitiate> parse_initiate_fast(simdjson::dom::parser& parser,
                                                std::string_view json, size_t capacity) {
  if (capacity < padded_capacity(json.size())) return std::nullopt;
  element doc;
  // The whole text is validated: one JSON value, nothing after it.
  if (parser.parse(json.data(), json.size(), /*realloc_if_needed=*/false).get(doc))
    return std::nullopt;
  object env;
  if (doc.get_object().get(env)) return std::nullopt;
  FastInitiate f;
  Seen seen;
  for (auto [key, v] : env) {
    bool ok = false;
    if (key == "type") {
      std::string type;
      ok = seen.first(0) && read_string(v, type) && type == "payment.initiate";
    } else if (key == "version") {
      int64_t version = 0;
      ok = seen.first(1) && !v.get_int64().get(version) && version == 1;
    } else if (key == "id") {
      ok = seen.first(2) && read_string(v, f.id);
    } else if (key == "tenant") {
      ok = seen.first(3) && read_string(v, f.tenant);
    } else if (key == "payload") {
      ok = seen.first(4) && read_payload(v, f);
    }
    if (!ok) return std::nullopt;
  }
  for (unsigned bit = 0; bit < 5; ++bit)
    if (!seen.has(bit)) return std::nullopt;
  f.instruction.tenant = f.tenant;
  return f;
}

}  // namespace payengine::kafka
