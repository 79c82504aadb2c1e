// RTC (Real-Time Clearing): the adapter's protocol and railsim's counterpart,
// both over ISO 8583 (clearing/iso8583.hpp) with 2-byte length framing.
//
// A payment's STAN and RRN are derived from its payment id, so a repeat
// (0201, also the status query) after an engine restart still names the
// original request, and the rail answers it with the original outcome.
#pragma once

#include <memory>
#include <string>

#include "clearing/protocol.hpp"
#include "clearing/railsim.hpp"

namespace payengine::clearing {

struct RtcProtocolConfig {
  std::string terminal_id = "PAYENG01";  // field 41: this engine, 8 characters
  size_t memory = 200'000;               // requests remembered to match answers
};

std::unique_ptr<RailProtocol> make_rtc_protocol(RtcProtocolConfig config = {});
std::unique_ptr<Counterpart> make_rtc_counterpart(uint64_t seed, size_t memory);

// The STAN and RRN a payment travels under.
struct RtcIds {
  uint32_t stan = 0;
  std::string rrn;
};
RtcIds rtc_ids(const std::string& payment_id);

}  // namespace payengine::clearing
