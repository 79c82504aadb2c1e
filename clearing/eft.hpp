// BankservAfrica (PayInc) EFT: the adapter's protocol and railsim's clearing
// house counterpart, over ACB files (clearing/acb.hpp) in 4-byte frames.
//
//   engine: credits queue in the worker until their cycle's cut-off, then
//           go as one ACB batch file per cycle (one user set, one contra)
//   rail:   {"type":"acb.ack", ...}  the file accepted, rejected (a broken
//           file: FF01 for each credit) or not processed (a system error:
//           retried, counted by the breaker)
//   rail:   an unpaids file for the batch, possibly empty: credits listed
//           are final rejections with the mapped reason; every other credit
//           of the batch is paid (the unpaids file is the unpaid deadline)
//
// Cycles: with `cycle_interval_ms` > 0 a batch goes every interval (tests,
// the demo); otherwise at the cut-offs of the EFT schedule (clearing/hours.hpp).
// A credit of R5m or more is refused at once (AM02): EFT does not carry it.
// EFT has no status query: a query answers `unknown`, and a payment whose
// batch outcome was lost (a restart between file and unpaids) ends in_doubt
// for an operator to reconcile against the unpaids report.
#pragma once

#include <memory>
#include <string>

#include "clearing/protocol.hpp"
#include "clearing/railsim.hpp"

namespace payengine::clearing {

struct EftProtocolConfig {
  std::string user_code_prefix = "PE";   // + two digits per worker: "PE01"
  std::string user_abbreviated_name = "PAYENGINE";
  std::string user_branch = "250655";    // the contra (nominated) account
  std::string user_nominated_account = "62000000001";
  int64_t cycle_interval_ms = 0;         // > 0: a batch every interval
  size_t max_credits_per_batch = 10'000;
  size_t memory = 200'000;               // credits remembered until their unpaids
};

// Makes one protocol per call; each gets its own user code (PE01, PE02, ...).
std::function<std::unique_ptr<RailProtocol>()> eft_protocol_factory(EftProtocolConfig config);

std::unique_ptr<Counterpart> make_eft_counterpart(uint64_t seed, size_t memory);

}  // namespace payengine::clearing
