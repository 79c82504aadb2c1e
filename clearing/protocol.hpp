// A rail's wire protocol as its adapter workers use it: turns submissions
// and status queries into frames, and the rail's frames back into
// RailResponses. One instance per worker (it may remember what it sent, for
// example which payments an EFT batch or an RTC STAN carried); never shared
// between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clearing/clearing.hpp"
#include "clearing/transport.hpp"
#include "sagas/result.hpp"

namespace payengine::clearing {

// A frame to send and the payments whose answers it will bring.
struct Outbound {
  std::string body;
  std::vector<std::string> payment_ids;
};

// How the breaker should see a response.
enum class Verdict : uint8_t {
  success,  // the rail answered (ack, final accepted, or an unknown status)
  failure,  // transport-like: the rail is unwell (offline, system error)
  ignored,  // a business answer (rejection for a closed account, an unpaid)
};

struct Inbound {
  RailResponse response;
  Verdict verdict = Verdict::success;
};

class RailProtocol {
 public:
  virtual ~RailProtocol() = default;
  virtual Rail rail() const = 0;
  virtual net::FrameHeader header() const = 0;

  // Frames for a submission, sent at once; an empty vector means the
  // protocol holds it for a later tick (an EFT cycle). An error is a
  // payment the rail cannot carry (code: ISO 20022 reason), final.
  virtual Result<std::vector<Outbound>> submit(const SubmitRequest& request, int64_t now_ms) = 0;
  // Frames for a status query of a submitted payment.
  virtual Result<std::vector<Outbound>> query(const SubmitRequest& request, int64_t now_ms) = 0;
  // Frames due by `now_ms` (an EFT batch whose cycle has come).
  virtual std::vector<Outbound> tick(int64_t /*now_ms*/) { return {}; }
  // How much longer than the answer timeout a submission made now may wait
  // before the rail can answer (an EFT payment waits for its cycle).
  virtual int64_t hold_ms(int64_t /*now_ms*/) const { return 0; }
  // Decodes a frame from the rail. Frames the exchange needs next (a
  // PayShap credit after its proxy resolved, an RTC repeat after a
  // duplicate) go to `follow_ups`. An error is a malformed frame: it is
  // counted and dropped, and changes nothing.
  virtual Result<std::vector<Inbound>> decode(std::string_view frame, int64_t now_ms,
                                              std::vector<Outbound>& follow_ups) = 0;
};

}  // namespace payengine::clearing
