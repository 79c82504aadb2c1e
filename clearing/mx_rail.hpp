// The ISO 20022 ("MX") rails: SAMOS, PayShap and SWIFT CBPR+ share one
// adapter protocol and one railsim counterpart, configured per rail:
//
//   engine --pacs.008 (or pacs.009)--> rail --pacs.002--> engine
//   engine --pacs.028 (status query)-> rail --pacs.002--> engine
//   PayShap, creditor given as a ShapID: first a proxy lookup (JSON, a
//   stand-in for the scheme's proxy directory; the shared XSDs have no
//   acmt.023/024), then the pacs.008 to the resolved account.
//
// Frames carry 4-byte lengths. A payment's TxId is its payment id without
// "pay_", its UETR is derived from it (clearing/rail_common.hpp), so answers
// match payments without the adapter remembering anything, across restarts.
//
// pacs.002 statuses, as the adapter reads them:
//   ACTC ACCP ACSP PDNG  -> ack (PDNG after a query: status unknown)
//   ACSC ACWC            -> final, settled
//   RJCT AB01..AB11      -> error: the rail or an agent was unavailable (a
//                           breaker failure, retried by the saga)
//   RJCT other           -> final, rejected with that reason
// A SAMOS credit transfer between two institutions (both parties given by
// BIC only, no accounts) travels as pacs.009, every other as pacs.008.
#pragma once

#include <memory>
#include <string>

#include "clearing/hours.hpp"
#include "clearing/iso20022.hpp"
#include "clearing/protocol.hpp"
#include "clearing/railsim.hpp"

namespace payengine::clearing {

struct MxRailConfig {
  Rail rail = Rail::samos;
  iso20022::Profile profile = iso20022::Profile::samos;
  std::string engine_bic = "PAYEZAJJXXX";    // instructing agent: this engine's participant
  std::string rail_bic = "SARBZAJPXXX";      // instructed agent: the rail operator or correspondent
  iso20022::ChargeBearer charge_bearer = iso20022::ChargeBearer::slev;
  bool proxy_lookup = false;                 // PayShap
  size_t memory = 200'000;                   // payments remembered (queries, proxy lookups)
  // SAMOS: submissions made while the settlement window is closed wait in
  // the worker until it opens. Empty: always open (railsim, tests).
  std::optional<SamosSchedule> settlement_window;
  size_t max_held = 10'000;                  // submissions waiting for the window
};

MxRailConfig samos_config();
MxRailConfig payshap_config();
MxRailConfig swift_mx_config();

std::unique_ptr<RailProtocol> make_mx_protocol(MxRailConfig config);

struct MxCounterpartConfig {
  Rail rail = Rail::samos;
  iso20022::Profile profile = iso20022::Profile::samos;
  bool ack_then_final = false;       // PayShap: ACTC at once, then the final status
  int64_t amount_cap_minor = 0;      // 0: none; PayShap R50,000 scheme cap
  bool proxy_directory = false;      // PayShap: answers proxy lookups
  std::string bic = "SARBZAJPXXX";
};

std::unique_ptr<Counterpart> make_mx_counterpart(MxCounterpartConfig config, uint64_t seed, size_t memory);

// For SWIFT, which also speaks MT: whether a frame from a counterpart is
// ISO 20022 XML (starts with '<' after optional whitespace).
bool looks_like_xml(std::string_view frame);

}  // namespace payengine::clearing
