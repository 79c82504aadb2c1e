// railsim: plays a rail's counterpart (SAMOS, the EFT clearing house, the
// RTC switch, the PayShap hub, a SWIFT correspondent) over loopback TCP in
// the rail's own wire format, with faults that can be changed while it runs
// through a small admin HTTP endpoint:
//
//   GET /faults            the current faults as JSON
//   PUT /faults            replaces the fields given (JSON object)
//   GET /stats             frames received, answered, malformed, dropped
//
// Promises:
//  - What it receives is validated; a malformed message gets the rail's own
//    rejection (pacs.002 RJCT FF01, ISO 8583 response 30, a rejected ACB
//    file, a FIN NAK), never a crash.
//  - A rail remembers what it decided: a resubmission or status query of
//    the same payment gets the same final answer (bounded memory).
//  - Business fates are a pure function of (seed, payment reference), so the
//    same seed gives the same rejections in every run.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "clearing/clearing.hpp"
#include "clearing/transport.hpp"
#include "sagas/result.hpp"
#include "sagas/rng.hpp"

namespace payengine::clearing {

struct RailsimFaults {
  int64_t latency_min_ms = 0;  // every answer waits uniform [min, max]
  int64_t latency_max_ms = 0;
  int64_t final_after_ms = 0;  // rails with ack then final: the final's extra wait
  uint32_t reject_ppm = 0;     // business rejections (per payment, deterministic)
  uint32_t error_ppm = 0;      // the rail's system error instead of an answer (per frame)
  uint32_t timeout_ppm = 0;    // no answer at all (per frame)
  uint32_t slow_ppm = 0;       // answer after slow_ms (per frame)
  int64_t slow_ms = 0;
  uint32_t duplicate_ppm = 0;  // every answer sent twice (per frame)
  uint32_t late_ppm = 0;       // answer after late_ms, past any sane timeout (per frame)
  int64_t late_ms = 0;
  bool outage = false;         // the listener is closed: connection refused
  // ISO 20022 rails: payments acknowledged but never decided (per payment,
  // deterministic); status queries answer PDNG.
  uint32_t pending_ppm = 0;
};

std::string to_json(const RailsimFaults& faults);
// Applies the fields present in `json` onto `base`. Unknown fields, wrong
// types, negative values and ppm above 1,000,000 are errors naming the field.
Result<RailsimFaults> faults_from_json(std::string_view json, const RailsimFaults& base);

// One answer a counterpart wants to send.
struct Answer {
  std::string body;
  bool final = false;          // a final status (faults may duplicate or delay it)
  int64_t extra_delay_ms = 0;  // on top of the latency (e.g. PayShap's final after its ack)
};

// The rail-specific part: decodes, validates, decides and encodes answers.
class Counterpart {
 public:
  virtual ~Counterpart() = default;
  virtual net::FrameHeader header() const = 0;
  // Answers to one inbound frame. A malformed frame is answered with the
  // rail's rejection and `malformed` set.
  struct Handled {
    std::vector<Answer> answers;
    bool malformed = false;
  };
  virtual Handled handle(std::string_view frame, int64_t now_ms, const RailsimFaults& faults) = 0;
  // The rail's transient system error for this frame (counted by adapters
  // against the breaker), or nothing if the frame cannot be answered.
  virtual std::vector<Answer> system_error(std::string_view frame, int64_t now_ms) = 0;
};

struct RailsimOptions {
  Rail rail = Rail::samos;
  uint16_t port = 0;        // 0: any free port
  uint16_t admin_port = 0;  // 0: any free port
  bool admin = true;
  uint64_t seed = 1;
  size_t memory = 1'000'000;  // payments remembered for duplicates and queries
  RailsimFaults faults;
  // When set: the directory of the ISO 20022 XSDs (pacs.*.xsd); every XML
  // message received or sent is validated against its schema and counted
  // (Stats::schema_checked / schema_invalid). For tests: it is slow.
  std::string xsd_dir;
};

// Makes a rail's counterpart (clearing/counterparts.cpp).
std::unique_ptr<Counterpart> make_counterpart(Rail rail, uint64_t seed, size_t memory);

class Railsim {
 public:
  // Listens at once on 127.0.0.1 (rail and admin ports), serving on `io`,
  // which must outlive the Railsim.
  static Result<std::unique_ptr<Railsim>> start(boost::asio::io_context& io, RailsimOptions options);
  ~Railsim();

  uint16_t port() const;
  uint16_t admin_port() const;
  RailsimFaults faults() const;
  void set_faults(const RailsimFaults& faults);

  struct Stats {
    uint64_t received = 0;
    uint64_t answered = 0;  // answers sent (duplicates count twice)
    uint64_t malformed = 0;
    uint64_t dropped = 0;   // timeouts injected
    uint64_t errors = 0;    // system errors injected
    uint64_t schema_checked = 0;  // XML messages validated (xsd_dir set)
    uint64_t schema_invalid = 0;  // of which failed their XSD
    std::string last_schema_error;
  };
  Stats stats() const;

 private:
  struct Impl;
  explicit Railsim(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace payengine::clearing
