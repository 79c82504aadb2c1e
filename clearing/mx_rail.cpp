#include "clearing/mx_rail.hpp"

#include <nlohmann/json.hpp>

#include "clearing/bounded_map.hpp"
#include "clearing/rail_common.hpp"
#include "sagas/reason.hpp"

namespace payengine::clearing {

namespace mx = iso20022;

MxRailConfig samos_config() {
  MxRailConfig c;
  c.rail = Rail::samos;
  c.profile = mx::Profile::samos;
  c.rail_bic = "SARBZAJPXXX";
  return c;
}

MxRailConfig payshap_config() {
  MxRailConfig c;
  c.rail = Rail::payshap;
  c.profile = mx::Profile::payshap;
  c.rail_bic = "PSHPZAJJXXX";
  c.proxy_lookup = true;
  return c;
}

MxRailConfig swift_mx_config() {
  MxRailConfig c;
  c.rail = Rail::swift;
  c.profile = mx::Profile::cbpr_plus;
  c.rail_bic = "CHASUS33XXX";
  c.charge_bearer = mx::ChargeBearer::shar;
  return c;
}

bool looks_like_xml(std::string_view frame) {
  for (char ch : frame) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    return ch == '<';
  }
  return false;
}

namespace {

mx::Agent agent_of(const PartyAccount& a) {
  mx::Agent g;
  if (!a.bic.empty()) g.bic = a.bic;
  if (!a.branch_code.empty()) {
    g.clearing_system = "ZANCC";
    g.member_id = a.branch_code;
  }
  return g;
}

mx::Account account_of(const PartyAccount& a) {
  if (!a.iban.empty()) return mx::Account{a.iban, true};
  return mx::Account{a.account_number, false};
}

bool is_fi_transfer(const PaymentInstruction& p) {
  auto bank_only = [](const PartyAccount& a) {
    return !a.bic.empty() && a.account_number.empty() && a.iban.empty() && a.proxy.empty();
  };
  return bank_only(p.debtor) && bank_only(p.creditor);
}

// AB01..AB11: timeouts and unavailable agents: the rail did not process it.
bool transient_reason(std::string_view code) {
  return code.size() == 4 && code.substr(0, 2) == "AB" && code[2] >= '0' && code[2] <= '1';
}

// Proxy lookups (PayShap): a JSON stand-in for the scheme's proxy directory.
struct ProxyResult {
  std::string msg_id;
  bool found = false;
  std::string account;
  std::string branch_code;
  std::string name;
};

std::string encode_proxy_lookup(const std::string& msg_id, const std::string& proxy) {
  return nlohmann::json{{"type", "proxy.lookup"}, {"msg_id", msg_id}, {"proxy", proxy}}.dump();
}

Result<ProxyResult> decode_proxy_result(std::string_view frame) {
  auto j = nlohmann::json::parse(frame, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{std::string(reason::FF01), "proxy result: not a JSON object"};
  auto str = [&](const char* key) -> std::string {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (str("type") != "proxy.result") return Error{std::string(reason::FF01), "proxy result: type is not proxy.result"};
  ProxyResult r;
  r.msg_id = str("msg_id");
  std::string status = str("status");
  if (r.msg_id.empty() || (status != "FOUND" && status != "NOTF"))
    return Error{std::string(reason::FF01), "proxy result: msg_id and status FOUND|NOTF are required"};
  r.found = status == "FOUND";
  r.account = str("account");
  r.branch_code = str("branch_code");
  r.name = str("name");
  if (r.found && (r.account.empty() || r.branch_code.empty()))
    return Error{std::string(reason::FF01), "proxy result: FOUND needs account and branch_code"};
  return r;
}

// ---------------------------------------------------------------------------

class MxProtocol final : public RailProtocol {
 public:
  explicit MxProtocol(MxRailConfig config)
      : config_(std::move(config)), lookups_(config_.memory), queried_(config_.memory) {}

  Rail rail() const override { return config_.rail; }
  net::FrameHeader header() const override { return net::FrameHeader::u32; }

  Result<std::vector<Outbound>> submit(const SubmitRequest& request, int64_t now_ms) override {
    if (!request.instruction) return Error{std::string(reason::FF01), "no instruction"};
    const PaymentInstruction& p = *request.instruction;
    if (config_.proxy_lookup && p.creditor.account_number.empty() && p.creditor.iban.empty() &&
        !p.creditor.proxy.empty()) {
      std::string msg_id = msg_id_for(request, 'P');
      lookups_.put(msg_id, Lookup{request.payment_id, request.attempt, p});
      return std::vector<Outbound>{Outbound{encode_proxy_lookup(msg_id, p.creditor.proxy), {request.payment_id}}};
    }
    if (config_.settlement_window && !samos_open(*config_.settlement_window, calendar_, now_ms)) {
      if (held_.size() >= config_.max_held)
        return Error{std::string(reason::AM02), "SAMOS is closed and its queue is full"};
      auto body = encode_payment(request.payment_id, request.attempt, p, now_ms);
      if (!body) return body.error();
      held_.push_back(Outbound{std::move(*body), {request.payment_id}});
      return std::vector<Outbound>{};
    }
    auto body = encode_payment(request.payment_id, request.attempt, p, now_ms);
    if (!body) return body.error();
    return std::vector<Outbound>{Outbound{std::move(*body), {request.payment_id}}};
  }

  std::vector<Outbound> tick(int64_t now_ms) override {
    if (held_.empty() || !samos_open(*config_.settlement_window, calendar_, now_ms)) return {};
    std::vector<Outbound> out;
    out.swap(held_);
    return out;
  }

  int64_t hold_ms(int64_t now_ms) const override {
    if (!config_.settlement_window || samos_open(*config_.settlement_window, calendar_, now_ms)) return 0;
    auto open = next_samos_open(*config_.settlement_window, calendar_, now_ms);
    return open ? std::max<int64_t>(0, *open - now_ms) : 0;
  }

  Result<std::vector<Outbound>> query(const SubmitRequest& request, int64_t now_ms) override {
    if (!request.instruction) return Error{std::string(reason::FF01), "no instruction"};
    const PaymentInstruction& p = *request.instruction;
    std::string tx = tx_id_for(request.payment_id);
    mx::StatusRequest q;
    q.msg_id = msg_id_for(request, 'Q');
    q.creation_date_time = mx::format_sast_date_time(now_ms);
    q.instructing_agent = mx::Agent{config_.engine_bic, "", ""};
    q.instructed_agent = mx::Agent{config_.rail_bic, "", ""};
    q.original_msg_id = tx + "S1";
    q.original_msg_name_id = is_fi_transfer(p) && config_.rail == Rail::samos ? "pacs.009.001.08" : "pacs.008.001.08";
    q.original_instr_id = tx;
    q.original_end_to_end_id = p.end_to_end_id;
    q.original_tx_id = tx;
    q.original_uetr = uetr_for(request.payment_id);
    auto body = mx::encode(q, config_.profile);
    if (!body) return body.error();
    queried_.put(request.payment_id, true);
    return std::vector<Outbound>{Outbound{std::move(*body), {request.payment_id}}};
  }

  Result<std::vector<Inbound>> decode(std::string_view frame, int64_t now_ms,
                                      std::vector<Outbound>& follow_ups) override {
    if (config_.proxy_lookup && !looks_like_xml(frame)) return decode_lookup(frame, now_ms, follow_ups);
    auto report = mx::decode_status_report(frame, config_.profile);
    if (!report) return report.error();
    if (report->original_tx_id.empty())
      return Error{std::string(reason::FF01), "TxInfAndSts/OrgnlTxId: required to match the payment"};
    Inbound in;
    in.response.payment_id = payment_id_for_tx(report->original_tx_id);
    in.response.rail = config_.rail;
    in.response.detail = std::string(mx::to_string(report->status));
    switch (report->status) {
      case mx::TxStatus::actc:
      case mx::TxStatus::accp:
      case mx::TxStatus::acsp:
      case mx::TxStatus::pdng:
        if (report->status == mx::TxStatus::pdng && queried_.find(in.response.payment_id))
          in.response.kind = RailResponse::Kind::unknown;
        else
          in.response.kind = RailResponse::Kind::ack;
        in.verdict = Verdict::success;
        break;
      case mx::TxStatus::acsc:
      case mx::TxStatus::acwc:
        in.response.kind = RailResponse::Kind::final;
        in.response.accepted = true;
        in.verdict = Verdict::success;
        break;
      case mx::TxStatus::rjct:
        in.response.reason_code = report->reason_code;
        if (!report->additional_info.empty()) in.response.detail += ": " + report->additional_info;
        if (transient_reason(report->reason_code)) {
          in.response.kind = RailResponse::Kind::error;
          in.verdict = Verdict::failure;
        } else {
          in.response.kind = RailResponse::Kind::final;
          in.response.accepted = false;
          in.verdict = Verdict::ignored;
        }
        break;
    }
    return std::vector<Inbound>{std::move(in)};
  }

 private:
  struct Lookup {
    std::string payment_id;
    uint32_t attempt = 1;
    PaymentInstruction instruction;
  };

  static std::string msg_id_for(const SubmitRequest& r, char kind) {
    return tx_id_for(r.payment_id) + kind + std::to_string(r.attempt % 100);
  }

  Result<std::string> encode_payment(const std::string& payment_id, uint32_t attempt,
                                     const PaymentInstruction& p, int64_t now_ms) {
    std::string tx = tx_id_for(payment_id);
    // The message id stays the same across attempts: a resubmission is the
    // same message to the rail, which answers it as before.
    (void)attempt;
    // The group header and references both messages share.
    auto common = [&](auto& m) {
      m.msg_id = tx + "S1";
      m.creation_date_time = mx::format_sast_date_time(now_ms);
      m.settlement_date = mx::format_sast_date(now_ms);
      m.instr_id = tx;
      m.end_to_end_id = p.end_to_end_id;
      m.tx_id = tx;
      m.uetr = uetr_for(payment_id);
      m.amount = p.amount;
      m.instructing_agent = mx::Agent{config_.engine_bic, "", ""};
      m.instructed_agent = mx::Agent{config_.rail_bic, "", ""};
      m.remittance = p.remittance;
    };
    if (config_.rail == Rail::samos && is_fi_transfer(p)) {
      mx::FiCreditTransfer m;
      common(m);
      m.debtor = agent_of(p.debtor);
      m.creditor = agent_of(p.creditor);
      return mx::encode(m, config_.profile);
    }
    mx::CreditTransfer m;
    common(m);
    m.charge_bearer = config_.charge_bearer;
    m.debtor_name = p.debtor.name;
    m.debtor_account = account_of(p.debtor);
    m.debtor_agent = agent_of(p.debtor);
    m.creditor_agent = agent_of(p.creditor);
    m.creditor_name = p.creditor.name;
    m.creditor_account = account_of(p.creditor);
    return mx::encode(m, config_.profile);
  }

  Result<std::vector<Inbound>> decode_lookup(std::string_view frame, int64_t now_ms,
                                             std::vector<Outbound>& follow_ups) {
    auto result = decode_proxy_result(frame);
    if (!result) return result.error();
    Lookup* lookup = lookups_.find(result->msg_id);
    if (!lookup) return std::vector<Inbound>{};
    if (!result->found) {
      Inbound in;
      in.response.payment_id = lookup->payment_id;
      in.response.rail = config_.rail;
      in.response.kind = RailResponse::Kind::final;
      in.response.accepted = false;
      in.response.reason_code = std::string(reason::AC01);
      in.response.detail = "proxy " + lookup->instruction.creditor.proxy + " is not registered";
      in.verdict = Verdict::ignored;
      return std::vector<Inbound>{std::move(in)};
    }
    PaymentInstruction resolved = lookup->instruction;
    resolved.creditor.account_number = result->account;
    resolved.creditor.branch_code = result->branch_code;
    if (resolved.creditor.name.empty()) resolved.creditor.name = result->name;
    auto body = encode_payment(lookup->payment_id, lookup->attempt, resolved, now_ms);
    if (!body) {
      Inbound in;
      in.response.payment_id = lookup->payment_id;
      in.response.rail = config_.rail;
      in.response.kind = RailResponse::Kind::final;
      in.response.accepted = false;
      in.response.reason_code = body.error().code;
      in.response.detail = body.error().message;
      in.verdict = Verdict::ignored;
      return std::vector<Inbound>{std::move(in)};
    }
    follow_ups.push_back(Outbound{std::move(*body), {lookup->payment_id}});
    return std::vector<Inbound>{};
  }

  MxRailConfig config_;
  Calendar calendar_ = Calendar::south_africa();
  std::vector<Outbound> held_;  // waiting for the settlement window
  BoundedMap<std::string, Lookup> lookups_;  // proxy lookup msg id -> payment
  BoundedMap<std::string, bool> queried_;    // payments asked about
};

// ---------------------------------------------------------------------------

// The banks the PayShap proxy directory knows, by ShapID domain.
struct DirectoryBank {
  const char* domain;
  const char* branch_code;
};
constexpr DirectoryBank kDirectory[] = {
    {"absa", "632005"},      {"fnb", "250655"},     {"standardbank", "051001"},
    {"nedbank", "198765"},   {"capitec", "470010"}, {"investec", "580105"},
    {"tymebank", "678910"},  {"discovery", "679000"}, {"africanbank", "430000"},
    {"bankname", "250655"},
};

class MxCounterpart final : public Counterpart {
 public:
  MxCounterpart(MxCounterpartConfig config, uint64_t seed, size_t memory)
      : config_(std::move(config)), seed_(seed), decided_(memory) {}

  net::FrameHeader header() const override { return net::FrameHeader::u32; }

  Handled handle(std::string_view frame, int64_t now_ms, const RailsimFaults& faults) override {
    Handled h;
    if (config_.proxy_directory && !looks_like_xml(frame)) return lookup(frame);
    // The decoders check the namespace and root themselves: a cheap look at
    // the head picks the decoder, the full peek (a second parse) runs only
    // when the head names none of the four.
    auto type = sniff(frame);
    if (!type) type = mx::peek_message_type(frame);
    if (!type) return malformed(frame, now_ms, type.error().message);
    switch (*type) {
      case mx::MessageType::pacs008: {
        auto m = mx::decode_credit_transfer(frame, config_.profile);
        if (!m) return malformed(frame, now_ms, m.error().message, m.error().code);
        return decide(*m, m->amount, "pacs.008.001.08", m->msg_id, m->end_to_end_id, m->tx_id, m->uetr,
                      now_ms, faults);
      }
      case mx::MessageType::pacs009: {
        auto m = mx::decode_fi_credit_transfer(frame, config_.profile);
        if (!m) return malformed(frame, now_ms, m.error().message, m.error().code);
        return decide(*m, m->amount, "pacs.009.001.08", m->msg_id, m->end_to_end_id, m->tx_id, m->uetr,
                      now_ms, faults);
      }
      case mx::MessageType::pacs028: {
        auto q = mx::decode_status_request(frame, config_.profile);
        if (!q) return malformed(frame, now_ms, q.error().message, q.error().code);
        mx::StatusReport r = report_base(q->original_msg_id, q->original_msg_name_id, q->original_end_to_end_id,
                                         q->original_tx_id, q->original_uetr, now_ms);
        const Decision* d = decided_.find(key_of(q->original_tx_id, q->original_uetr));
        if (d) {
          r.status = d->status;
          r.reason_code = d->reason_code;
        } else {
          r.status = mx::TxStatus::pdng;
          r.additional_info = "no such transaction received";
        }
        h.answers.push_back(Answer{encode_report(r), true, 0});
        return h;
      }
      case mx::MessageType::pacs002:
        return malformed(frame, now_ms, "a pacs.002 is not a request");
    }
    return h;
  }

  std::vector<Answer> system_error(std::string_view frame, int64_t now_ms) override {
    if (!looks_like_xml(frame)) return {};
    auto m = mx::decode_credit_transfer(frame, config_.profile);
    if (!m) return {};
    mx::StatusReport r = report_base(m->msg_id, "pacs.008.001.08", m->end_to_end_id, m->tx_id, m->uetr, now_ms);
    r.status = mx::TxStatus::rjct;
    r.reason_code = "AB09";
    r.additional_info = "system error";
    return {Answer{encode_report(r), true, 0}};
  }

 private:
  struct Decision {
    mx::TxStatus status = mx::TxStatus::acsc;  // pdng: acknowledged, never decided
    std::string reason_code;
  };

  static Result<mx::MessageType> sniff(std::string_view frame) {
    std::string_view head = frame.substr(0, 512);
    for (auto t : {mx::MessageType::pacs008, mx::MessageType::pacs009, mx::MessageType::pacs028,
                   mx::MessageType::pacs002}) {
      std::string quoted = "\"" + std::string(mx::namespace_uri(t)) + "\"";
      if (head.find(quoted) != std::string_view::npos) return t;
    }
    return Error{std::string(reason::FF01), "no ISO 20022 namespace in the document head"};
  }

  static std::string key_of(const std::string& tx_id, const std::string& uetr) {
    return tx_id.empty() ? uetr : tx_id;
  }

  mx::StatusReport report_base(const std::string& msg_id, const std::string& name_id, const std::string& e2e,
                               const std::string& tx_id, const std::string& uetr, int64_t now_ms) {
    mx::StatusReport r;
    r.msg_id = "R" + std::to_string(++reports_) + "-" + std::to_string(now_ms);
    r.creation_date_time = mx::format_sast_date_time(now_ms);
    if (config_.profile == mx::Profile::cbpr_plus) {
      r.instructing_agent = mx::Agent{config_.bic, "", ""};
    }
    r.original_msg_id = msg_id.empty() ? "NOTPROVIDED" : msg_id;
    r.original_msg_name_id = name_id;
    r.original_end_to_end_id = e2e.empty() ? "NOTPROVIDED" : e2e;
    r.original_tx_id = tx_id;
    r.original_uetr = uetr;
    if (config_.profile == mx::Profile::cbpr_plus && r.original_uetr.empty())
      r.original_uetr = "00000000-0000-4000-8000-000000000000";
    return r;
  }

  std::string encode_report(const mx::StatusReport& r) {
    auto body = mx::encode(r, config_.profile);
    return body ? *body : std::string();
  }

  template <class Message>
  Handled decide(const Message&, const Money& amount, const char* name_id, const std::string& msg_id,
                 const std::string& e2e, const std::string& tx_id, const std::string& uetr, int64_t now_ms,
                 const RailsimFaults& faults) {
    Handled h;
    std::string key = key_of(tx_id, uetr);
    Decision d;
    if (const Decision* known = decided_.find(key)) {
      d = *known;  // a resubmission: the same answer, never a second settlement
    } else {
      if (fate_rejects(seed_ ^ 0x9e9du, key, faults.pending_ppm)) {
        d.status = mx::TxStatus::pdng;
      } else if (config_.amount_cap_minor > 0 && amount.amount_minor > config_.amount_cap_minor) {
        d.status = mx::TxStatus::rjct;
        d.reason_code = std::string(reason::AM02);
      } else if (fate_rejects(seed_, key, faults.reject_ppm)) {
        static constexpr const char* kCodes[] = {"AC01", "AC04", "AC06", "AM04"};
        d.status = mx::TxStatus::rjct;
        d.reason_code = kCodes[fate_pick(seed_, key, 4)];
      }
      decided_.put(key, d);
    }
    mx::StatusReport r = report_base(msg_id, name_id, e2e, tx_id, uetr, now_ms);
    if (d.status == mx::TxStatus::pdng) {  // acknowledged; the decision never comes
      r.status = config_.ack_then_final ? mx::TxStatus::actc : mx::TxStatus::pdng;
      h.answers.push_back(Answer{encode_report(r), false, 0});
      return h;
    }
    if (config_.ack_then_final) {
      mx::StatusReport ack = r;
      ack.status = mx::TxStatus::actc;
      h.answers.push_back(Answer{encode_report(ack), false, 0});
      r.msg_id += "F";
    }
    r.status = d.status;
    r.reason_code = d.reason_code;
    h.answers.push_back(Answer{encode_report(r), true, 0});
    return h;
  }

  // A message that failed validation: RJCT FF01 naming the problem.
  Handled malformed(std::string_view frame, int64_t now_ms, const std::string& why,
                    const std::string& code = std::string(reason::FF01)) {
    (void)frame;
    Handled h;
    h.malformed = true;
    mx::StatusReport r = report_base("", "pacs.008.001.08", "", "", "", now_ms);
    r.status = mx::TxStatus::rjct;
    r.reason_code = code.size() == 4 ? code : std::string(reason::FF01);
    r.additional_info = why.substr(0, 105);
    h.answers.push_back(Answer{encode_report(r), true, 0});
    return h;
  }

  Handled lookup(std::string_view frame) {
    Handled h;
    auto j = nlohmann::json::parse(frame, nullptr, false);
    std::string msg_id, proxy;
    if (!j.is_discarded() && j.is_object() && j.value("type", "") == "proxy.lookup") {
      if (j.contains("msg_id") && j["msg_id"].is_string()) msg_id = j["msg_id"].get<std::string>();
      if (j.contains("proxy") && j["proxy"].is_string()) proxy = j["proxy"].get<std::string>();
    }
    if (msg_id.empty() || proxy.empty()) {
      h.malformed = true;
      return h;  // nothing to answer to
    }
    nlohmann::json r{{"type", "proxy.result"}, {"msg_id", msg_id}, {"status", "NOTF"}};
    auto at = proxy.find('@');
    if (at != std::string::npos && at == 10) {
      std::string digits = proxy.substr(0, at);
      std::string domain = proxy.substr(at + 1);
      bool all_digits = std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
      for (const auto& bank : kDirectory) {
        if (all_digits && domain == bank.domain) {
          r["status"] = "FOUND";
          r["account"] = digits;
          r["branch_code"] = bank.branch_code;
          r["name"] = "ShapID holder " + digits.substr(6);
        }
      }
    }
    h.answers.push_back(Answer{r.dump(), false, 0});
    return h;
  }

  MxCounterpartConfig config_;
  uint64_t seed_;
  BoundedMap<std::string, Decision> decided_;
  uint64_t reports_ = 0;
};

}  // namespace

std::unique_ptr<RailProtocol> make_mx_protocol(MxRailConfig config) {
  return std::make_unique<MxProtocol>(std::move(config));
}

std::unique_ptr<Counterpart> make_mx_counterpart(MxCounterpartConfig config, uint64_t seed, size_t memory) {
  return std::make_unique<MxCounterpart>(std::move(config), seed, memory);
}

}  // namespace payengine::clearing
