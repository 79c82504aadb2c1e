#include "clearing/swift.hpp"

#include "clearing/bounded_map.hpp"
#include "clearing/mt103.hpp"
#include "clearing/rail_common.hpp"
#include "sagas/reason.hpp"

namespace payengine::clearing {

namespace {

mt::FinDate fin_date(const LocalDate& d) { return mt::FinDate{d.year, d.month, d.day}; }

std::string mt_reference(const std::string& payment_id) { return tx_id_for(payment_id).substr(0, 16); }

// ---------------------------------------------------------------------------

class SwiftProtocol final : public RailProtocol {
 public:
  explicit SwiftProtocol(SwiftConfig config)
      : config_(std::move(config)), mx_(make_mx_protocol(config_.mx)), sent_(config_.memory) {
    calendar_ = Calendar::south_africa();
  }

  Rail rail() const override { return Rail::swift; }
  net::FrameHeader header() const override { return net::FrameHeader::u32; }

  Result<std::vector<Outbound>> submit(const SubmitRequest& request, int64_t now_ms) override {
    if (!request.instruction) return Error{std::string(reason::FF01), "no instruction"};
    if (!mt_only(*request.instruction)) return mx_->submit(request, now_ms);
    const PaymentInstruction& p = *request.instruction;
    mt::Mt103 m;
    m.sender_lt = config_.sender_lt;
    m.receiver_bic = config_.correspondent_bic;
    m.sequence_number = static_cast<uint32_t>(++isn_ % 1'000'000);
    m.uetr = uetr_for(request.payment_id);
    m.reference = mt_reference(request.payment_id);
    m.mur = m.reference;
    m.value_date = fin_date(swift_value_date(config_.cutoffs, calendar_, p.amount.currency, now_ms));
    m.amount = p.amount;
    auto party = [](const PartyAccount& a) -> Result<mt::Party> {
      mt::Party party;
      party.account = mt::to_swift_x(!a.iban.empty() ? a.iban : a.account_number);
      auto lines = mt::wrap_swift_x(a.name, 4);
      if (!lines) return lines.error();
      party.lines = std::move(*lines);
      return party;
    };
    auto ordering = party(p.debtor);
    if (!ordering) return Error{std::string(reason::RR02), "MT103 50K: " + ordering.error().message};
    auto beneficiary = party(p.creditor);
    if (!beneficiary) return Error{std::string(reason::RR03), "MT103 59: " + beneficiary.error().message};
    m.ordering_customer = std::move(*ordering);
    m.beneficiary = std::move(*beneficiary);
    if (!p.remittance.empty()) {
      auto lines = mt::wrap_swift_x(p.remittance, 4);
      if (!lines) return Error{std::string(reason::FF01), "MT103 70: " + lines.error().message};
      m.remittance = std::move(*lines);
    }
    m.charges = mt::Charges::sha;
    auto body = mt::encode_mt103(m);
    if (!body) return Error{std::string(reason::FF01), "MT103: " + body.error().message};
    sent_.put(m.reference, request.payment_id);
    return std::vector<Outbound>{Outbound{std::move(*body), {request.payment_id}}};
  }

  Result<std::vector<Outbound>> query(const SubmitRequest& request, int64_t now_ms) override {
    if (request.instruction && mt_only(*request.instruction))
      return Error{"no_query", "an MT103 counterparty has no status query"};
    return mx_->query(request, now_ms);
  }

  Result<std::vector<Inbound>> decode(std::string_view frame, int64_t now_ms,
                                      std::vector<Outbound>& follow_ups) override {
    if (looks_like_xml(frame)) return mx_->decode(frame, now_ms, follow_ups);
    if (frame.rfind("{1:F21", 0) == 0) {
      auto ack = mt::decode_fin_ack(frame);
      if (!ack) return ack.error();
      const std::string* id = sent_.find(ack->mur);
      if (!id) return std::vector<Inbound>{};
      Inbound in;
      in.response.payment_id = *id;
      in.response.rail = Rail::swift;
      if (ack->accepted) {
        in.response.kind = RailResponse::Kind::ack;
        in.response.detail = "FIN ACK";
      } else {
        in.response.kind = RailResponse::Kind::final;
        in.response.reason_code = std::string(reason::FF01);
        in.response.detail = "FIN NAK " + ack->error_code;
        in.verdict = Verdict::ignored;
      }
      return std::vector<Inbound>{std::move(in)};
    }
    auto status = mt::decode_mt199(frame);
    if (!status) return status.error();
    const std::string* id = sent_.find(status->related_reference);
    if (!id) return std::vector<Inbound>{};
    Inbound in;
    in.response.payment_id = *id;
    in.response.rail = Rail::swift;
    switch (status->status) {
      case mt::GpiStatus::acsp:
        in.response.kind = RailResponse::Kind::ack;
        in.response.detail = "gpi ACSP";
        break;
      case mt::GpiStatus::acsc:
        in.response.kind = RailResponse::Kind::final;
        in.response.accepted = true;
        in.response.detail = "gpi ACSC";
        break;
      case mt::GpiStatus::rjct:
        in.response.kind = RailResponse::Kind::final;
        in.response.reason_code = status->reason;
        in.response.detail = "gpi RJCT";
        in.verdict = Verdict::ignored;
        break;
    }
    return std::vector<Inbound>{std::move(in)};
  }

 private:
  bool mt_only(const PaymentInstruction& p) const {
    return p.creditor.bic.size() >= 8 && config_.mt_only_bic8.count(p.creditor.bic.substr(0, 8)) > 0;
  }

  SwiftConfig config_;
  std::unique_ptr<RailProtocol> mx_;
  Calendar calendar_;
  uint64_t isn_ = 0;
  BoundedMap<std::string, std::string> sent_;  // field 20 -> payment id
};

// ---------------------------------------------------------------------------

class SwiftCounterpart final : public Counterpart {
 public:
  SwiftCounterpart(uint64_t seed, size_t memory)
      : seed_(seed), mx_(make_mx_counterpart(mx_config(), seed, memory)), decided_(memory) {}

  net::FrameHeader header() const override { return net::FrameHeader::u32; }

  Handled handle(std::string_view frame, int64_t now_ms, const RailsimFaults& faults) override {
    if (looks_like_xml(frame)) return mx_->handle(frame, now_ms, faults);
    Handled h;
    auto m = mt::decode_mt103(frame);
    LocalDateTime t = to_sast(now_ms);
    mt::FinAck ack;
    ack.date = mt::FinDate{t.date.year, t.date.month, t.date.day};
    ack.time = mt::FinTime{t.hour, t.minute};
    if (!m) {
      h.malformed = true;
      ack.lt_address = "PAYEZAJJAXXX";
      ack.accepted = false;
      ack.error_code = m.error().code.size() == 3 && m.error().code[0] == 'T' ? m.error().code : "T26";
      auto body = mt::encode_fin_ack(ack);
      if (body) h.answers.push_back(Answer{std::move(*body), true, 0});
      return h;
    }
    ack.lt_address = m->sender_lt;
    ack.session_number = m->session_number;
    ack.sequence_number = m->sequence_number;
    ack.mur = m->mur;
    ack.accepted = true;
    auto ack_body = mt::encode_fin_ack(ack);
    if (ack_body) h.answers.push_back(Answer{std::move(*ack_body), false, 0});

    Decision d;
    if (const Decision* known = decided_.find(m->uetr)) {
      d = *known;
    } else {
      if (fate_rejects(seed_, m->uetr, faults.reject_ppm)) {
        static constexpr const char* kCodes[] = {"AC01", "AC04", "AG01", "BE01"};
        d.rejected = true;
        d.reason = kCodes[fate_pick(seed_, m->uetr, 4)];
      }
      decided_.put(m->uetr, d);
    }
    mt::Mt199Status s;
    s.lt_address = m->sender_lt;
    s.receiver_bic = m->sender_lt.substr(0, 8) + m->sender_lt.substr(9, 3);
    s.uetr = m->uetr;
    s.reference = "GPI" + std::to_string(++references_ % 10'000'000);
    s.related_reference = m->reference;
    s.status_date = mt::FinDate{t.date.year, t.date.month, t.date.day};
    s.status_time = mt::FinTime{t.hour, t.minute};
    s.utc_offset_minutes = 120;
    s.status = d.rejected ? mt::GpiStatus::rjct : mt::GpiStatus::acsc;
    s.reason = d.reason;
    auto status_body = mt::encode_mt199(s);
    if (status_body) h.answers.push_back(Answer{std::move(*status_body), true, 0});
    return h;
  }

  std::vector<Answer> system_error(std::string_view frame, int64_t now_ms) override {
    if (looks_like_xml(frame)) return mx_->system_error(frame, now_ms);
    return {};  // a correspondent in trouble on MT just does not answer
  }

 private:
  struct Decision {
    bool rejected = false;
    std::string reason;
  };
  static MxCounterpartConfig mx_config() {
    MxCounterpartConfig c;
    c.rail = Rail::swift;
    c.profile = iso20022::Profile::cbpr_plus;
    c.bic = "CHASUS33XXX";
    return c;
  }

  uint64_t seed_;
  std::unique_ptr<Counterpart> mx_;
  BoundedMap<std::string, Decision> decided_;  // UETR -> decision
  uint64_t references_ = 0;
};

}  // namespace

std::unique_ptr<RailProtocol> make_swift_protocol(SwiftConfig config) {
  return std::make_unique<SwiftProtocol>(std::move(config));
}

std::unique_ptr<Counterpart> make_swift_counterpart(uint64_t seed, size_t memory) {
  return std::make_unique<SwiftCounterpart>(seed, memory);
}

}  // namespace payengine::clearing
