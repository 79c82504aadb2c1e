#include "clearing/rtc.hpp"

#include "clearing/bounded_map.hpp"
#include "clearing/iso8583.hpp"
#include "clearing/rail_common.hpp"
#include "sagas/reason.hpp"
#include "sagas/rng.hpp"

namespace payengine::clearing {

namespace i8583 = iso8583;

RtcIds rtc_ids(const std::string& payment_id) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  uint64_t h = fnv1a(payment_id);
  uint64_t g = fnv1a(payment_id, h ^ 0x9e3779b97f4a7c15ull);
  RtcIds ids;
  ids.stan = static_cast<uint32_t>(h % 1'000'000);
  ids.rrn.resize(12);
  for (int i = 0; i < 12; ++i) {
    ids.rrn[i] = kAlphabet[g % 36];
    g /= 36;
    if (i == 5) g ^= h;  // 12 base-36 digits need more than 62 bits
  }
  return ids;
}

namespace {

std::string key_string(uint32_t stan, const std::string& rrn) { return std::to_string(stan) + "/" + rrn; }

// ---------------------------------------------------------------------------

class RtcProtocol final : public RailProtocol {
 public:
  explicit RtcProtocol(RtcProtocolConfig config) : config_(std::move(config)), sent_(config_.memory) {}

  Rail rail() const override { return Rail::rtc; }
  net::FrameHeader header() const override { return net::FrameHeader::u16; }

  Result<std::vector<Outbound>> submit(const SubmitRequest& request, int64_t now_ms) override {
    return send(request, request.attempt > 1, now_ms);
  }
  Result<std::vector<Outbound>> query(const SubmitRequest& request, int64_t now_ms) override {
    return send(request, true, now_ms);
  }

  Result<std::vector<Inbound>> decode(std::string_view frame, int64_t now_ms,
                                      std::vector<Outbound>& follow_ups) override {
    auto response = i8583::decode_credit_response(frame);
    if (!response) return response.error();
    auto outcome = i8583::map_response_code(response->response_code);
    if (!outcome) return outcome.error();
    const Sent* sent = sent_.find(key_string(response->stan, response->rrn));
    if (!sent) return std::vector<Inbound>{};  // not ours, or forgotten: the saga will ask again
    Inbound in;
    in.response.payment_id = sent->payment_id;
    in.response.rail = Rail::rtc;
    in.response.attempt = sent->attempt;
    switch (outcome->kind) {
      case i8583::RtcOutcome::Kind::approved:
        in.response.kind = RailResponse::Kind::final;
        in.response.accepted = true;
        in.response.detail = "approved, authorisation " + response->auth_id;
        in.verdict = Verdict::success;
        break;
      case i8583::RtcOutcome::Kind::rejected:
        in.response.kind = RailResponse::Kind::final;
        in.response.accepted = false;
        in.response.reason_code = outcome->reason_code;
        in.response.detail = "RTC response code " + response->response_code;
        in.verdict = Verdict::ignored;
        break;
      case i8583::RtcOutcome::Kind::transient:
        in.response.kind = RailResponse::Kind::error;
        in.response.reason_code = outcome->reason_code;
        in.response.detail = "RTC response code " + response->response_code;
        in.verdict = Verdict::failure;
        break;
      case i8583::RtcOutcome::Kind::duplicate: {
        // The rail has this STAN/RRN already: ask for its outcome.
        auto repeat = i8583::encode_credit_request(with_time(sent->credit, now_ms), true);
        if (repeat) follow_ups.push_back(Outbound{std::move(*repeat), {sent->payment_id}});
        return std::vector<Inbound>{};
      }
    }
    return std::vector<Inbound>{std::move(in)};
  }

 private:
  struct Sent {
    std::string payment_id;
    uint32_t attempt = 1;
    i8583::RtcCredit credit;
  };

  static i8583::RtcCredit with_time(i8583::RtcCredit c, int64_t now_ms) {
    c.transmission_time_ms = now_ms;
    return c;
  }

  Result<std::vector<Outbound>> send(const SubmitRequest& request, bool repeat, int64_t now_ms) {
    if (!request.instruction) return Error{std::string(reason::FF01), "RTC: no instruction"};
    const PaymentInstruction& p = *request.instruction;
    if (p.amount.currency != "ZAR")
      return Error{std::string(reason::AM03), "RTC clears ZAR only, not " + p.amount.currency};
    if (p.creditor.account_number.empty() || p.creditor.branch_code.empty())
      return Error{std::string(reason::AC03), "RTC needs the creditor's account number and branch code"};
    if (p.debtor.account_number.empty() || p.debtor.branch_code.empty())
      return Error{std::string(reason::AC02), "RTC needs the debtor's account number and branch code"};
    RtcIds ids = rtc_ids(request.payment_id);
    i8583::RtcCredit c;
    c.stan = ids.stan;
    c.rrn = ids.rrn;
    c.amount = p.amount;
    c.debtor_institution = p.debtor.branch_code;
    c.creditor_institution = p.creditor.branch_code;
    c.debtor_account = p.debtor.account_number;
    c.creditor_account = p.creditor.account_number;
    c.terminal_id = config_.terminal_id;
    c.transmission_time_ms = now_ms;
    auto body = i8583::encode_credit_request(c, repeat);
    if (!body) return Error{map_codec_error(body.error().code), "RTC: " + body.error().message};
    sent_.put(key_string(c.stan, c.rrn), Sent{request.payment_id, request.attempt, c});
    return std::vector<Outbound>{Outbound{std::move(*body), {request.payment_id}}};
  }

  // An ISO 8583 refusal of our own request, as an ISO 20022 reason.
  static std::string map_codec_error(const std::string& code) {
    auto mapped = i8583::map_response_code(code);
    return mapped && !mapped->reason_code.empty() ? mapped->reason_code : std::string(reason::FF01);
  }

  RtcProtocolConfig config_;
  BoundedMap<std::string, Sent> sent_;
};

// ---------------------------------------------------------------------------

class RtcCounterpart final : public Counterpart {
 public:
  RtcCounterpart(uint64_t seed, size_t memory) : seed_(seed), decided_(memory) {}

  net::FrameHeader header() const override { return net::FrameHeader::u16; }

  Handled handle(std::string_view frame, int64_t now_ms, const RailsimFaults& faults) override {
    Handled h;
    auto request = i8583::decode_credit_request(frame, now_ms);
    if (!request) {
      h.malformed = true;
      h.answers = answer_for(frame, request.error().code);
      return h;
    }
    const auto& c = request->credit;
    std::string key = key_string(c.stan, c.rrn);
    if (const std::string* known = decided_.find(key)) {
      // A repeat gets the original outcome; a second original is a duplicate.
      h.answers = respond(c.stan, c.rrn, request->repeat ? *known : "94");
      return h;
    }
    std::string code = "00";
    if (c.amount.amount_minor > 500'000'000) {
      code = "61";  // above the RTC limit at any hour
    } else if (fate_rejects(seed_, c.rrn, faults.reject_ppm)) {
      static constexpr const char* kCodes[] = {"14", "51", "62", "78"};
      code = kCodes[fate_pick(seed_, c.rrn, 4)];
    }
    decided_.put(key, code);
    h.answers = respond(c.stan, c.rrn, code);
    return h;
  }

  std::vector<Answer> system_error(std::string_view frame, int64_t) override {
    return answer_for(frame, "96");
  }

 private:
  // A 0210 with `code` for a request whose STAN and RRN can be read; nothing
  // for bytes that do not even say who sent them.
  std::vector<Answer> answer_for(std::string_view frame, const std::string& code) {
    auto generic = i8583::decode(frame);
    if (!generic) return {};
    auto stan = generic->fields.find(11);
    auto rrn = generic->fields.find(37);
    if (stan == generic->fields.end() || rrn == generic->fields.end()) return {};
    return respond(static_cast<uint32_t>(std::stoul(stan->second)), rrn->second, code);
  }

  std::vector<Answer> respond(uint32_t stan, const std::string& rrn, const std::string& code) {
    i8583::RtcResponse r;
    r.stan = stan;
    r.rrn = rrn;
    r.response_code = code;
    if (code == "00") r.auth_id = auth_id(rrn);
    auto body = i8583::encode_credit_response(r);
    if (!body) return {};
    return {Answer{std::move(*body), true, 0}};
  }

  std::string auth_id(const std::string& rrn) const {
    uint64_t h = fnv1a(rrn, seed_);
    std::string id(6, '0');
    for (int i = 0; i < 6; ++i) {
      id[i] = static_cast<char>('0' + h % 10);
      h /= 10;
    }
    return id;
  }

  uint64_t seed_;
  BoundedMap<std::string, std::string> decided_;  // STAN/RRN -> response code
};

}  // namespace

std::unique_ptr<RailProtocol> make_rtc_protocol(RtcProtocolConfig config) {
  return std::make_unique<RtcProtocol>(std::move(config));
}

std::unique_ptr<Counterpart> make_rtc_counterpart(uint64_t seed, size_t memory) {
  return std::make_unique<RtcCounterpart>(seed, memory);
}

}  // namespace payengine::clearing
