#include "actors/problem.hpp"

#include <nlohmann/json.hpp>

namespace payengine::gateway {
namespace {

struct KindInfo {
  ProblemKind kind;
  std::string_view slug;
  unsigned status;
  std::string_view title;
};

// Indexed by ProblemKind.
constexpr KindInfo kKinds[] = {
    {ProblemKind::bad_request, "bad-request", 400, "Malformed HTTP request"},
    {ProblemKind::malformed_json, "malformed-json", 400, "Request body is not valid JSON"},
    {ProblemKind::json_too_deep, "json-too-deep", 400, "JSON nested too deeply"},
    {ProblemKind::wrong_type, "wrong-type", 400, "Field has the wrong JSON type"},
    {ProblemKind::unknown_field, "unknown-field", 400, "Unknown field"},
    {ProblemKind::field_too_long, "field-too-long", 400, "Field value too long"},
    {ProblemKind::missing_tenant, "missing-tenant", 400, "X-Tenant-Id header missing"},
    {ProblemKind::invalid_tenant, "invalid-tenant", 400, "X-Tenant-Id header invalid"},
    {ProblemKind::missing_idempotency_key, "missing-idempotency-key", 400,
     "Idempotency-Key header missing"},
    {ProblemKind::invalid_idempotency_key, "invalid-idempotency-key", 400,
     "Idempotency-Key header invalid"},
    {ProblemKind::invalid_query, "invalid-query", 400, "Invalid query parameter"},
    {ProblemKind::payment_not_found, "payment-not-found", 404, "Payment not found"},
    {ProblemKind::not_found, "not-found", 404, "No such resource"},
    {ProblemKind::method_not_allowed, "method-not-allowed", 405, "Method not allowed"},
    {ProblemKind::request_timeout, "request-timeout", 408, "Request not received in time"},
    {ProblemKind::cancel_too_late, "cancel-too-late", 409,
     "Too late to cancel: the payment was submitted to its rail"},
    {ProblemKind::already_final, "already-final", 409, "The payment has already ended"},
    {ProblemKind::body_too_large, "body-too-large", 413, "Request body too large"},
    {ProblemKind::uri_too_long, "uri-too-long", 414, "Request target too long"},
    {ProblemKind::unsupported_media_type, "unsupported-media-type", 415, "Unsupported media type"},
    {ProblemKind::validation_failed, "validation-failed", 422,
     "The payment instruction is not valid"},
    {ProblemKind::idempotency_key_reused, "idempotency-key-reused", 422,
     "Idempotency-Key reused with a different request"},
    {ProblemKind::overloaded, "overloaded", 429, "Too many payments in flight"},
    {ProblemKind::headers_too_large, "headers-too-large", 431, "Request headers too large"},
    {ProblemKind::internal_error, "internal-error", 500, "Internal error"},
    {ProblemKind::engine_unavailable, "engine-unavailable", 503,
     "The payment engine could not answer"},
    {ProblemKind::rail_unavailable, "rail-unavailable", 503, "The requested rail is unavailable"},
    {ProblemKind::too_many_connections, "too-many-connections", 503, "Too many connections"},
    {ProblemKind::not_ready, "not-ready", 503, "Not ready: recovery has not finished"},
};

const KindInfo& info(ProblemKind k) {
  static_assert(sizeof kKinds / sizeof kKinds[0] == static_cast<size_t>(ProblemKind::not_ready) + 1,
                "one entry per ProblemKind");
  return kKinds[static_cast<size_t>(k)];
}

}  // namespace

std::string problem_type(ProblemKind kind) {
  return std::string(kProblemTypeBase) + std::string(info(kind).slug);
}
std::string_view problem_slug(ProblemKind kind) { return info(kind).slug; }
std::string_view problem_title(ProblemKind kind) { return info(kind).title; }
unsigned problem_status(ProblemKind kind) { return info(kind).status; }

std::string problem_json(const Problem& p, std::string_view instance) {
  nlohmann::json j;
  j["type"] = problem_type(p.kind);
  j["title"] = std::string(problem_title(p.kind));
  j["status"] = problem_status(p.kind);
  j["detail"] = p.detail.empty() ? std::string(problem_title(p.kind)) : p.detail;
  if (!instance.empty()) j["instance"] = std::string(instance);
  if (!p.field.empty()) j["field"] = p.field;
  if (!p.reason_code.empty()) j["reason_code"] = p.reason_code;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<ProblemKind> all_problem_kinds() {
  std::vector<ProblemKind> out;
  for (const KindInfo& k : kKinds) out.push_back(k.kind);
  return out;
}

}  // namespace payengine::gateway
