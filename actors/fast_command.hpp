// The common Kafka command, read without building a JSON tree: a
// payment.initiate whose envelope and payload hold only the keys the
// consumer knows, each once and of its usual type (simdjson DOM, which
// validates the whole text).
//
// Promises:
//  - When it returns a value, the full parser (nlohmann, command_consumer.cpp)
//    reads the same bytes as a valid JSON payment.initiate with the same
//    id, tenant and instruction: every key is known and read, every value
//    fully parsed, and nothing follows the object.
//  - Anything else (another type, a decimal `amount`, a null, an unknown or
//    repeated key, a value of another type, text that is not JSON) returns
//    nullopt, and the caller takes the full path, which says what is wrong.
//  - It checks shape only: the caller applies the same field checks
//    (id, tenant, validate()) as on the full path.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "sagas/payment.hpp"

namespace payengine::kafka {

struct FastInitiate {
  std::string id;
  std::string tenant;           // the envelope's
  std::string payload_tenant;   // "" when absent
  PaymentInstruction instruction;  // instruction.tenant: the envelope's
};

// `json` must be readable up to `capacity` bytes, at least padded_capacity
// of its size (a std::string reserved so). `parser` is reused between calls
// on one thread.
std::optional<FastInitiate> parse_initiate_fast(simdjson::dom::parser& parser,
                                                std::string_view json, size_t capacity);

// The capacity a std::string needs to hold `size` bytes for parse_initiate_fast.
size_t padded_capacity(size_t size);

}  // namespace payengine::kafka
