// The two doors' common JSON, read without building a JSON tree (simdjson's
// DOM parser, which validates the whole text): a Kafka payment.initiate
// command and an HTTP POST /v1/payments body, when every key is known, given
// once, of its usual type, and no string holds a \u escape.
//
// Promises:
//  - When a reader returns a value, the full reader of that door (nlohmann:
//    command_consumer.cpp's parse_command, payment_json.hpp's
//    parse_payment_request) reads the same bytes as the same payment.
//  - Anything else (another type, a decimal `amount`, a null, an unknown or
//    repeated key, a value of another type, a \u escape, text that is not
//    JSON) returns nullopt, and the caller takes the full path, which says
//    precisely what is wrong.
//  - Shape only: the caller still applies the field rules (validate()).
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sagas/payment.hpp"

namespace payengine {

// The capacity a std::string needs to hold `size` bytes for these readers.
size_t padded_capacity(size_t size);

namespace kafka {

struct FastInitiate {
  std::string id;
  std::string tenant;              // the envelope's
  std::string payload_tenant;      // "" when absent
  PaymentInstruction instruction;  // instruction.tenant: the envelope's
};

// `json` must be readable up to `capacity` bytes, at least padded_capacity
// of its size (a std::string reserved so). `parser` is reused between calls
// on one thread.
std::optional<FastInitiate> parse_initiate_fast(simdjson::dom::parser& parser,
                                                std::string_view json, size_t capacity);

}  // namespace kafka

namespace gateway {

// The body as parse_payment_request reads it, with `tenant` from the header;
// nullopt also when a string is longer than `max_field_bytes` or the urgency
// is not one of the three. Copies the body into a padded buffer of the
// calling thread's.
std::optional<PaymentInstruction> parse_payment_body_fast(std::string_view body,
                                                          const std::string& tenant,
                                                          size_t max_field_bytes);

}  // namespace gateway
}  // namespace payengine
