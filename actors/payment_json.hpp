// The HTTP API's JSON: the POST /v1/payments request body to a validated
// PaymentInstruction, and payments, lists and events to response bodies.
//
// The request body is the instruction as sagas::instruction_from_json reads
// it, minus `tenant` (which comes from the X-Tenant-Id header):
//   {"end_to_end_id": "...", "amount_minor": 10000, "currency": "ZAR",
//    "debtor": {"name", "account_number", "branch_code", "iban", "bic", "proxy"},
//    "creditor": {...}, "remittance": "...", "urgency": "normal|urgent|instant",
//    "requested_rail": "SAMOS|EFT|RTC|PAYSHAP|SWIFT"}
//
// Promises of parse_payment_request:
//  - Strict: the body must be one JSON object (UTF-8, no duplicate keys,
//    nesting at most `max_depth`); unknown fields (including `tenant`) and
//    wrong JSON types are refused naming the field; `null` means "absent".
//    A string longer than `max_field_bytes` is refused before any rule runs.
//    `amount_minor` must be a JSON integer (100.5 and "100" are wrong types).
//  - Then the same rules as the saga's validate step (sagas/validation.hpp):
//    a violation is `validation_failed` with its ISO 20022 reason code and
//    the field named as in the body ("amount_minor", "creditor.iban").
//  - On success `request_hash` is the SHA-256 (hex) of the canonical
//    instruction (sagas::instruction_to_json, which includes the tenant):
//    two bodies that differ only in key order, whitespace, escapes or fields
//    given as their defaults hash the same; any change of meaning does not.
//  - Never throws; any input gives a result or a problem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actors/problem.hpp"
#include "sagas/journal_reader.hpp"
#include "sagas/payment.hpp"

namespace payengine::gateway {

struct BodyLimits {
  size_t max_depth = 8;           // objects/arrays nested; the API needs 2
  size_t max_field_bytes = 1024;  // any one string value or key
};

struct ParsedPayment {
  std::optional<Problem> problem;  // set: the request is refused
  PaymentInstruction instruction;
  std::string request_hash;
};

ParsedPayment parse_payment_request(std::string_view body, const std::string& tenant,
                                    const BodyLimits& limits);

// Response bodies (application/json).
std::string accepted_json(const std::string& payment_id);  // 202 of POST /v1/payments
std::string payment_json(const sagas::PaymentRecord& p);   // GET /v1/payments/{id}
std::string page_json(const sagas::PaymentPage& page);     // GET /v1/payments

// "pay_" followed by 32 lower-case hex digits (Engine::new_payment_id).
bool is_payment_id(std::string_view s);
// A tenant id as validate() accepts it: 1..64 of A-Z a-z 0-9 _ -.
bool is_tenant_id(std::string_view s);
// An Idempotency-Key: 1..255 printable ASCII characters (0x21..0x7e).
bool is_idempotency_key(std::string_view s);

// RFC 3339 UTC with milliseconds: "2026-03-01T09:30:00.125Z".
std::string rfc3339_ms(int64_t unix_ms);
// SHA-256 of `data`, 64 lower-case hex digits (FIPS 180-4).
std::string sha256_hex(std::string_view data);

}  // namespace payengine::gateway
