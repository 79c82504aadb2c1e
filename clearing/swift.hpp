// SWIFT: cross-border, non-ZAR payments through a correspondent. The
// adapter speaks ISO 20022 under CBPR+ (clearing/mx_rail.hpp) by default,
// and MT103 (clearing/mt103.hpp) to counterparties configured as MT-only
// (by the creditor agent's BIC8):
//
//   engine --MT103--> correspondent --FIN ACK/NAK--> engine (ack / NAK: FF01)
//                     correspondent --MT199 gpi status--> engine
//                        ACSP: ack   ACSC: settled   RJCT/<reason>: rejected
//
// Field 20 and {108:} carry the payment's transaction id (16 characters),
// {121:} its UETR; MT has no status query here, so a query of an MT payment
// answers `unknown`.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "clearing/hours.hpp"
#include "clearing/mx_rail.hpp"

namespace payengine::clearing {

struct SwiftConfig {
  MxRailConfig mx = swift_mx_config();
  std::set<std::string> mt_only_bic8;           // creditor agents still on MT
  std::string sender_lt = "PAYEZAJJAXXX";       // our logical terminal
  std::string correspondent_bic = "CHASUS33XXX";
  SwiftCutoffs cutoffs;
  size_t memory = 200'000;
};

std::unique_ptr<RailProtocol> make_swift_protocol(SwiftConfig config);
std::unique_ptr<Counterpart> make_swift_counterpart(uint64_t seed, size_t memory);

}  // namespace payengine::clearing
