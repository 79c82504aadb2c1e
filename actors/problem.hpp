// Problem details (RFC 9457) for the HTTP gateway: one stable `type` URI,
// status and title per kind of error.
//
// Promises:
//  - A kind's type URI, status and title never change once released
//    (clients switch on `type`); new kinds are added, never renamed.
//  - The JSON has `type`, `title`, `status`, `detail`, and `field` (the
//    field at fault, dotted, e.g. "creditor.iban"; a header name such as
//    "Idempotency-Key"; or a query parameter) and `reason_code` (ISO 20022
//    ExternalStatusReason) only when they apply. Every string is JSON-escaped
//    and invalid UTF-8 is replaced, so a hostile input never breaks the
//    document.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace payengine::gateway {

// The prefix of every problem type URI. `.example` is reserved for
// documentation (RFC 2606): the URIs identify, they are not meant to resolve.
inline constexpr std::string_view kProblemTypeBase = "https://payengine.example/problems/";

enum class ProblemKind : uint8_t {
  bad_request,     // 400 the HTTP message itself is malformed
  malformed_json,  // 400 body is not one JSON document (or is empty, or has duplicate keys)
  json_too_deep,   // 400 nesting deeper than the limit
  wrong_type,      // 400 a field has the wrong JSON type
  unknown_field,   // 400 a field the API does not define
  field_too_long,  // 400 a string field longer than the gateway's hard limit
  missing_tenant,  // 400 no X-Tenant-Id
  invalid_tenant,  // 400 X-Tenant-Id not a tenant id
  missing_idempotency_key,  // 400 POST /v1/payments without Idempotency-Key
  invalid_idempotency_key,  // 400 key empty, too long or not printable ASCII
  invalid_query,            // 400 unknown or bad query parameter
  payment_not_found,        // 404 no such payment for this tenant
  not_found,                // 404 no such route
  method_not_allowed,       // 405 (Allow header lists the methods)
  request_timeout,          // 408 the request did not arrive in time
  cancel_too_late,          // 409 already submitted to its rail
  already_final,            // 409 the payment has ended
  body_too_large,           // 413
  uri_too_long,             // 414
  unsupported_media_type,   // 415 not application/json (or a content coding)
  validation_failed,        // 422 the instruction breaks a rule (reason_code says which)
  idempotency_key_reused,   // 422 same key, another request body
  overloaded,               // 429 admission control is full (Retry-After)
  headers_too_large,        // 431
  internal_error,           // 500 a bug; nothing was written for this request
  engine_unavailable,       // 503 the journal failed or did not answer in time (Retry-After)
  rail_unavailable,         // 503 the requested rail's breaker is open (Retry-After)
  too_many_connections,     // 503 connection limit reached (Retry-After)
  not_ready,                // 503 recovery has not finished (Retry-After)
};

struct Problem {
  ProblemKind kind = ProblemKind::internal_error;
  std::string detail;
  std::string field;               // "" when no single field is at fault
  std::string reason_code;         // "" when no ISO 20022 code applies
  int64_t retry_after_s = 0;       // > 0: sent as Retry-After
  std::vector<std::string> allow;  // method_not_allowed: the Allow header
};

// "https://payengine.example/problems/<slug>".
std::string problem_type(ProblemKind kind);
std::string_view problem_slug(ProblemKind kind);
std::string_view problem_title(ProblemKind kind);
unsigned problem_status(ProblemKind kind);

// The application/problem+json body. `instance` is the request target's
// path (without the query), or "".
std::string problem_json(const Problem& p, std::string_view instance);

// Every kind, for documentation checks.
std::vector<ProblemKind> all_problem_kinds();

}  // namespace payengine::gateway
