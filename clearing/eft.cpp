#include "clearing/eft.hpp"

#include <nlohmann/json.hpp>

#include <atomic>

#include "clearing/acb.hpp"
#include "clearing/bounded_map.hpp"
#include "clearing/hours.hpp"
#include "clearing/rail_common.hpp"
#include "sagas/reason.hpp"

namespace payengine::clearing {

namespace {

acb::AcbDate acb_date(const LocalDate& d) { return acb::AcbDate{d.year, d.month, d.day}; }

// ACB text fields take printable ASCII; anything else becomes '?'.
std::string printable(std::string_view s, size_t max_len) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() == max_len) break;
    out.push_back(c >= 0x20 && c <= 0x7e ? static_cast<char>(c) : '?');
  }
  return out;
}

std::string batch_key(const std::string& user_code, uint32_t generation) {
  return user_code + "/" + std::to_string(generation);
}

struct Ack {
  std::string user_code;
  uint32_t generation = 0;
  std::string status;  // ACCEPTED, REJECTED, ERROR
  std::string code;
  std::string message;
};

std::string encode_ack(const Ack& a) {
  nlohmann::json j{{"type", "acb.ack"}, {"user_code", a.user_code}, {"generation", a.generation},
                   {"status", a.status}};
  if (!a.code.empty()) j["error"] = {{"code", a.code}, {"message", a.message}};
  return j.dump();
}

Result<Ack> decode_ack(std::string_view frame) {
  auto j = nlohmann::json::parse(frame, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("type", "") != "acb.ack")
    return Error{std::string(reason::FF01), "acb.ack: not an acknowledgement"};
  Ack a;
  if (!j.contains("user_code") || !j["user_code"].is_string() || !j.contains("generation") ||
      !j["generation"].is_number_unsigned() || !j.contains("status") || !j["status"].is_string())
    return Error{std::string(reason::FF01), "acb.ack: user_code, generation and status are required"};
  a.user_code = j["user_code"].get<std::string>();
  a.generation = j["generation"].get<uint32_t>();
  a.status = j["status"].get<std::string>();
  if (a.status != "ACCEPTED" && a.status != "REJECTED" && a.status != "ERROR")
    return Error{std::string(reason::FF01), "acb.ack: unknown status " + a.status};
  if (j.contains("error") && j["error"].is_object()) {
    a.code = j["error"].value("code", "");
    a.message = j["error"].value("message", "");
  }
  return a;
}

// ---------------------------------------------------------------------------

class EftProtocol final : public RailProtocol {
 public:
  EftProtocol(EftProtocolConfig config, std::string user_code)
      : config_(std::move(config)), user_code_(std::move(user_code)), batches_(config_.memory / 16 + 16) {
    calendar_ = Calendar::south_africa();
  }

  Rail rail() const override { return Rail::eft; }
  net::FrameHeader header() const override { return net::FrameHeader::u32; }

  Result<std::vector<Outbound>> submit(const SubmitRequest& request, int64_t now_ms) override {
    if (!request.instruction) return Error{std::string(reason::FF01), "no instruction"};
    const PaymentInstruction& p = *request.instruction;
    if (p.amount.currency != "ZAR") return Error{std::string(reason::AM03), "EFT clears ZAR only"};
    if (p.amount.amount_minor >= acb::kMaxCreditExclusiveMinor)
      return Error{std::string(reason::AM02), "EFT refuses credits from R5,000,000.00"};
    acb::AcbCredit c;
    c.homing_branch = p.creditor.branch_code;
    c.homing_account = p.creditor.account_number;
    c.amount_minor = p.amount.amount_minor;
    c.user_reference = tx_id_for(request.payment_id).substr(0, 20);
    c.homing_account_name = printable(p.creditor.name, 30);
    // Checked now, alone, so one bad credit cannot break a cycle's file.
    acb::AcbBatch probe = base_batch(now_ms);
    probe.credits.push_back(c);
    if (auto encoded = acb::encode_batch(probe); !encoded) {
      // The codec's refusals are ISO 20022 reasons (AM02, AC03, RC04, ...)
      // except its own ACB_* codes, which are format problems.
      const std::string& code = encoded.error().code;
      return Error{code.rfind("ACB_", 0) == 0 ? std::string(reason::FF01) : code, "EFT: " + encoded.error().message};
    }
    if (pending_.empty()) cycle_due_ms_ = next_cutoff(now_ms);
    pending_.push_back(Pending{request.payment_id, c});
    return std::vector<Outbound>{};
  }

  Result<std::vector<Outbound>> query(const SubmitRequest&, int64_t) override {
    return Error{"no_query", "EFT has no status query; the unpaids report is the answer"};
  }

  std::vector<Outbound> tick(int64_t now_ms) override {
    std::vector<Outbound> out;
    while (!pending_.empty() && now_ms >= cycle_due_ms_) {
      acb::AcbBatch batch = base_batch(now_ms);
      batch.user_generation_number = generation_;
      batch.first_sequence_number = next_sequence_;
      std::vector<std::string> ids;
      size_t n = std::min(pending_.size(), config_.max_credits_per_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.credits.push_back(pending_[i].credit);
        ids.push_back(pending_[i].payment_id);
      }
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(n));
      auto file = acb::encode_batch(batch);
      if (!file) continue;  // each credit was checked alone; a batch cannot fail
      batches_.put(batch_key(user_code_, generation_), ids);
      generation_ = generation_ % 9999 + 1;
      next_sequence_ = static_cast<uint32_t>((next_sequence_ - 1 + n + 1) % 999'999 + 1);
      out.push_back(Outbound{std::move(*file), std::move(ids)});
    }
    return out;
  }

  int64_t hold_ms(int64_t now_ms) const override {
    int64_t due = pending_.empty() ? next_cutoff(now_ms) : cycle_due_ms_;
    return std::max<int64_t>(0, due - now_ms);
  }

  Result<std::vector<Inbound>> decode(std::string_view frame, int64_t,
                                      std::vector<Outbound>&) override {
    if (!frame.empty() && frame.front() == '{') {
      auto ack = decode_ack(frame);
      if (!ack) return ack.error();
      const auto* ids = batches_.find(batch_key(ack->user_code, ack->generation));
      if (!ids) return std::vector<Inbound>{};
      // The batch file is one call to the rail: the breaker counts its
      // outcome once (the first credit's), not once per credit.
      std::vector<Inbound> out;
      for (const auto& id : *ids) {
        Inbound in;
        in.response.payment_id = id;
        in.response.rail = Rail::eft;
        if (!out.empty()) in.verdict = Verdict::ignored;
        if (ack->status == "ACCEPTED") {
          in.response.kind = RailResponse::Kind::ack;
          in.response.detail = "in batch " + ack->user_code + "/" + std::to_string(ack->generation);
        } else if (ack->status == "REJECTED") {
          in.response.kind = RailResponse::Kind::final;
          in.response.reason_code = std::string(reason::FF01);
          in.response.detail = "batch file rejected: " + ack->code + " " + ack->message;
          in.verdict = Verdict::ignored;  // our file was wrong, the rail is fine
        } else {
          in.response.kind = RailResponse::Kind::error;
          in.response.reason_code = std::string(reason::AB09);
          in.response.detail = "clearing house could not process the batch";
          if (out.empty()) in.verdict = Verdict::failure;
        }
        out.push_back(std::move(in));
      }
      return out;
    }
    auto file = acb::decode_unpaids(frame);
    if (!file) return file.error();
    const auto* ids = batches_.find(batch_key(file->user_code, file->generation_number));
    if (!ids) return std::vector<Inbound>{};
    // Validate every code first: an unknown one must not let the others pass as paid.
    std::unordered_map<std::string, acb::UnpaidReason> unpaid;  // user reference -> reason
    for (const auto& u : file->unpaids) {
      auto reason = acb::map_unpaid_code(u.reason_code);
      if (!reason) return reason.error();
      unpaid.emplace(u.user_reference, *reason);
    }
    std::vector<Inbound> out;
    for (const auto& id : *ids) {
      Inbound in;
      in.response.payment_id = id;
      in.response.rail = Rail::eft;
      in.response.kind = RailResponse::Kind::final;
      auto it = unpaid.find(tx_id_for(id).substr(0, 20));
      if (it == unpaid.end()) {
        in.response.accepted = true;
        in.response.detail = "paid (no unpaid)";
      } else {
        in.response.accepted = false;
        in.response.reason_code = std::string(it->second.iso_code);
        in.response.detail = "unpaid " + std::string(it->second.acb_code) + " " +
                             std::string(it->second.acb_description);
        in.verdict = Verdict::ignored;
      }
      out.push_back(std::move(in));
    }
    return out;
  }

 private:
  struct Pending {
    std::string payment_id;
    acb::AcbCredit credit;
  };

  int64_t next_cutoff(int64_t now_ms) const {
    if (config_.cycle_interval_ms > 0) return (now_ms / config_.cycle_interval_ms + 1) * config_.cycle_interval_ms;
    auto cycle = next_eft_cycle(EftSchedule{}, calendar_, now_ms);
    return cycle ? cycle->cutoff_ms : now_ms + 3'600'000;
  }

  acb::AcbBatch base_batch(int64_t now_ms) const {
    acb::AcbBatch b;
    LocalDate today = to_sast(now_ms).date;
    b.user_code = user_code_;
    b.creation_date = acb_date(today);
    b.action_date = acb_date(today);
    b.purge_date = acb_date(add_days(today, 7));
    b.user_abbreviated_name = config_.user_abbreviated_name;
    b.user_branch = config_.user_branch;
    b.user_nominated_account = config_.user_nominated_account;
    b.contra_reference = "PAYENGINE CONTRA";
    return b;
  }

  EftProtocolConfig config_;
  std::string user_code_;
  Calendar calendar_;
  std::vector<Pending> pending_;
  int64_t cycle_due_ms_ = 0;
  uint32_t generation_ = 1;
  uint32_t next_sequence_ = 1;
  BoundedMap<std::string, std::vector<std::string>> batches_;  // user code/generation -> payment ids
};

// ---------------------------------------------------------------------------

class EftCounterpart final : public Counterpart {
 public:
  EftCounterpart(uint64_t seed, size_t memory) : seed_(seed), seen_(memory / 16 + 16) {}

  net::FrameHeader header() const override { return net::FrameHeader::u32; }

  Handled handle(std::string_view frame, int64_t now_ms, const RailsimFaults& faults) override {
    Handled h;
    auto batch = acb::decode_batch(frame);
    if (!batch) {
      h.malformed = true;
      // Name the file if its user header can be read at all.
      Ack a{"????", 0, "REJECTED", batch.error().code, batch.error().message};
      if (frame.size() >= 184 + 40 && frame.substr(182, 2) == "04") {
        a.user_code = std::string(frame.substr(184, 4));
        try {
          a.generation = static_cast<uint32_t>(std::stoul(std::string(frame.substr(182 + 36, 4))));
        } catch (...) {
          a.generation = 0;
        }
      }
      h.answers.push_back(Answer{encode_ack(a), true, 0});
      return h;
    }
    std::string key = batch_key(batch->user_code, batch->user_generation_number);
    const std::string* known = seen_.find(key);
    std::string unpaids;
    if (known) {
      unpaids = *known;  // the same file again: the same outcome
    } else {
      acb::AcbUnpaidFile file;
      file.user_code = batch->user_code;
      LocalDate today = to_sast(now_ms).date;
      file.creation_date = acb::AcbDate{today.year, today.month, today.day};
      file.generation_number = batch->user_generation_number;
      file.user_abbreviated_name = batch->user_abbreviated_name;
      uint32_t seq = batch->first_sequence_number;
      for (const auto& c : batch->credits) {
        std::string ref = c.user_reference;
        if (fate_rejects(seed_, ref, faults.reject_ppm)) {
          static constexpr const char* kCodes[] = {"02", "12", "22", "26"};
          acb::AcbUnpaid u;
          u.user_sequence_number = seq;
          u.homing_branch = c.homing_branch;
          u.homing_account = c.homing_account;
          u.account_type = c.account_type;
          u.amount_minor = c.amount_minor;
          u.action_date = batch->action_date;
          u.entry_class = c.entry_class;
          u.reason_code = kCodes[fate_pick(seed_, ref, 4)];
          u.user_reference = c.user_reference;
          u.homing_account_name = c.homing_account_name;
          u.returned_date = file.creation_date < batch->action_date ? batch->action_date : file.creation_date;
          file.unpaids.push_back(std::move(u));
        }
        seq = seq % 999'999 + 1;
      }
      auto encoded = acb::encode_unpaids(file);
      unpaids = encoded ? *encoded : std::string();
      seen_.put(key, unpaids);
    }
    h.answers.push_back(Answer{encode_ack(Ack{batch->user_code, batch->user_generation_number, "ACCEPTED", "", ""}),
                               false, 0});
    if (!unpaids.empty()) h.answers.push_back(Answer{unpaids, true, 0});
    return h;
  }

  std::vector<Answer> system_error(std::string_view frame, int64_t) override {
    auto batch = acb::decode_batch(frame);
    if (!batch) return {};
    return {Answer{encode_ack(Ack{batch->user_code, batch->user_generation_number, "ERROR", "SYSTEM",
                                  "clearing house system error"}),
                   true, 0}};
  }

 private:
  uint64_t seed_;
  BoundedMap<std::string, std::string> seen_;  // batch -> its unpaids file
};

}  // namespace

std::function<std::unique_ptr<RailProtocol>()> eft_protocol_factory(EftProtocolConfig config) {
  auto counter = std::make_shared<std::atomic<int>>(0);
  return [config, counter]() -> std::unique_ptr<RailProtocol> {
    int n = ++*counter;
    char code[8];
    std::snprintf(code, sizeof code, "%s%02d", config.user_code_prefix.substr(0, 2).c_str(), n % 100);
    return std::make_unique<EftProtocol>(config, code);
  };
}

std::unique_ptr<Counterpart> make_eft_counterpart(uint64_t seed, size_t memory) {
  return std::make_unique<EftCounterpart>(seed, memory);
}

}  // namespace payengine::clearing
