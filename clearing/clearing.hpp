// The clearing port: how a payment saga reaches a rail. The saga submits and
// queries; responses arrive asynchronously through the sink the
// implementation was built with. Implementations: the simulated rail
// (clearing/sim_rail.hpp) until the real adapters exist.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "sagas/payment.hpp"

namespace payengine::clearing {

enum class Rail : uint8_t { samos, eft, rtc, payshap, swift };

std::string_view to_string(Rail r);
std::optional<Rail> rail_from_string(std::string_view s);

struct SubmitRequest {
  std::string payment_id;  // the rail's idempotency key: a resubmission is not a new payment
  uint32_t attempt = 1;
  Rail rail = Rail::eft;
  const PaymentInstruction* instruction = nullptr;  // valid for the duration of the call
};

struct RailResponse {
  enum class Kind : uint8_t {
    ack,      // the rail took the submission; a final status follows
    final,    // the rail's final status: accepted or rejected with a reason
    error,    // the submission did not get through (overloaded, transport): retryable
    unknown,  // a status query found no final status (yet)
  };
  std::string payment_id;
  Rail rail = Rail::eft;
  Kind kind = Kind::ack;
  uint32_t attempt = 1;     // the submit/query attempt this answers
  bool accepted = false;    // final: settled by the rail
  std::string reason_code;  // final rejected / error: ISO 20022 reason
  std::string detail;
};

// Receives rail responses. A sink may be called from inside submit() or
// query(), so it must hand the response over (a message, a queue) and never
// call back into the saga that submitted.
using ResponseSink = std::function<void(RailResponse)>;

class Clearing {
 public:
  virtual ~Clearing() = default;
  // Hands a payment to its rail. Thread-safe. Never blocks.
  virtual void submit(const SubmitRequest& request) = 0;
  // Asks the rail for a payment's status (answers: final or unknown). The
  // request is the submission being asked about (a rail may need its fields
  // to build the query), with the query's attempt number.
  virtual void query(const SubmitRequest& request) = 0;
};

}  // namespace payengine::clearing
