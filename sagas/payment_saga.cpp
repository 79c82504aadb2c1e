#include "sagas/payment_saga.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sagas/json_text.hpp"
#include "sagas/validation.hpp"

namespace payengine::sagas {
namespace {

using clearing::RailResponse;

std::optional<StepOutcome> injected(PaymentContext& c, const std::string& step, uint32_t attempt) {
  if (!c.fault) return std::nullopt;
  return c.fault(step, attempt);
}

StepOutcome business(const std::string& code, const std::string& detail) {
  return StepOutcome::failure(ErrorKind::business, code, detail);
}

// Local steps may hit transient faults (e.g. injected ones); they retry a few times.
RetryPolicy local_retry(const PaymentSagaConfig& cfg) {
  RetryPolicy r;
  r.max_attempts = 3;
  r.initial_backoff_ms = cfg.backoff_initial_ms;
  r.max_backoff_ms = cfg.backoff_max_ms;
  return r;
}


// A step that waits on the rail (submit, await): not cancellable once it
// runs; its timeout is the rail's own (`by_rail`) when set, else `timeout_ms`;
// a timeout on the last attempt ends the payment in_doubt with
// `timeout_reason`, because nobody knows what the rail did.
StepDef<PaymentContext> rail_wait_step(const PaymentSagaConfig& cfg, const char* name,
                                       const char* state_on_success, int64_t timeout_ms,
                                       std::array<int64_t, 5> PaymentSagaConfig::*by_rail,
                                       const char* timeout_reason, uint32_t attempts) {
  StepDef<PaymentContext> step;
  step.name = name;
  step.state_on_success = state_on_success;
  step.cancellable = false;
  step.timeout_ms = timeout_ms;
  step.timeout_reason = timeout_reason;
  step.on_timeout_exhausted = OnTimeoutExhausted::in_doubt;
  step.timeout_for = [per_rail = cfg.*by_rail, timeout_ms](const PaymentContext& c) {
    int64_t t = c.rail ? per_rail[static_cast<size_t>(*c.rail)] : 0;
    return t > 0 ? t : timeout_ms;
  };
  step.retry.max_attempts = attempts;
  step.retry.initial_backoff_ms = cfg.backoff_initial_ms;
  step.retry.max_backoff_ms = cfg.backoff_max_ms;
  return step;
}

// The "rail" member of route's output. The action writes exactly
// {"rail":"<NAME>"}: that form is read directly; anything else (an older or
// hand-made journal) goes through the JSON parser.
std::string rail_member(const std::string& output) {
  constexpr std::string_view head = "{\"rail\":\"", tail = "\"}";
  std::string_view s(output);
  if (s.size() >= head.size() + tail.size() && s.substr(0, head.size()) == head &&
      s.substr(s.size() - tail.size()) == tail) {
    std::string_view name = s.substr(head.size(), s.size() - head.size() - tail.size());
    bool plain = std::all_of(name.begin(), name.end(), [](char ch) {
      return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '-';
    });
    if (plain) return std::string(name);
  }
  return json_get_string(output, "rail");
}

}  // namespace

bool PaymentContext::accept_rail_response(RailResponse r) {
  switch (r.kind) {
    case RailResponse::Kind::ack:
      rail_ack = std::move(r);
      return true;
    case RailResponse::Kind::final:
      rail_final = std::move(r);
      return true;
    case RailResponse::Kind::error:
      rail_error = std::move(r);
      return true;
    case RailResponse::Kind::unknown:
      return false;  // nothing to complete: the await step's timeout decides
  }
  return false;
}

std::string debtor_ledger_account(const PaymentInstruction& p) {
  const std::string& acct = p.debtor.account_number.empty() ? p.debtor.iban : p.debtor.account_number;
  return p.tenant + "/" + acct;
}

std::string settlement_account(clearing::Rail rail, const std::string& currency) {
  return "rail/" + std::string(clearing::to_string(rail)) + "/" + currency;
}

SagaDefinition<PaymentContext> make_payment_saga(const PaymentSagaConfig& cfg) {
  SagaDefinition<PaymentContext> def;
  def.name = "payment";

  StepDef<PaymentContext> validate;
  validate.name = "validate";
  validate.local = true;
  validate.state_on_success = "validated";
  validate.retry = local_retry(cfg);
  validate.action = [](PaymentContext& c, uint32_t attempt) -> std::optional<StepOutcome> {
    if (auto f = injected(c, "validate", attempt)) return f;
    if (auto err = payengine::validate(c.instruction))
      return business(err->reason_code, err->field + ": " + err->message);
    return StepOutcome::success();
  };
  def.steps.push_back(std::move(validate));

  StepDef<PaymentContext> screen;
  screen.name = "screen";
  screen.local = true;
  screen.state_on_success = "screened";
  screen.retry = local_retry(cfg);
  screen.action = [](PaymentContext& c, uint32_t attempt) -> std::optional<StepOutcome> {
    if (auto f = injected(c, "screen", attempt)) return f;
    if (c.screener) {
      std::unique_lock<std::mutex> lock;
      if (c.screener_lock) lock = std::unique_lock<std::mutex>(*c.screener_lock);
      if (auto err = c.screener->screen(c.payment_id, c.instruction, c.clock->now_ms()))
        return business(err->reason_code, err->field + ": " + err->message);
    }
    return StepOutcome::success();
  };
  def.steps.push_back(std::move(screen));

  StepDef<PaymentContext> reserve;
  reserve.name = "reserve";
  reserve.local = true;
  reserve.state_on_success = "reserved";
  reserve.retry = local_retry(cfg);
  reserve.action = [](PaymentContext& c, uint32_t attempt) -> std::optional<StepOutcome> {
    if (auto f = injected(c, "reserve", attempt)) return f;
    LedgerOp op;
    op.kind = LedgerOp::Kind::reserve;
    op.account = debtor_ledger_account(c.instruction);
    op.amount = c.instruction.amount;
    return StepOutcome::success("{}", std::move(op));
  };
  reserve.compensation = [](PaymentContext& c) -> std::optional<StepOutcome> {
    if (auto f = injected(c, "release", 1)) return f;
    LedgerOp op;
    op.kind = LedgerOp::Kind::release;
    op.account = debtor_ledger_account(c.instruction);
    op.amount = c.instruction.amount;
    return StepOutcome::success("{}", std::move(op));
  };
  def.steps.push_back(std::move(reserve));

  StepDef<PaymentContext> route;
  route.name = "route";
  route.local = true;
  route.retry = local_retry(cfg);
  route.action = [routing = cfg.routing](PaymentContext& c,
                                         uint32_t attempt) -> std::optional<StepOutcome> {
    if (auto f = injected(c, "route", attempt)) return f;
    auto rail = clearing::route(c.instruction, routing, c.clock->now_ms(), c.rail_available);
    if (!rail) return business(rail.error().code, rail.error().message);
    return StepOutcome::success("{\"rail\":\"" + std::string(clearing::to_string(*rail)) + "\"}");
  };
  route.apply = [](PaymentContext& c, const std::string& output) {
    c.rail = clearing::rail_from_string(rail_member(output));
  };
  def.steps.push_back(std::move(route));

  StepDef<PaymentContext> submit =
      rail_wait_step(cfg, "submit", "submitted", cfg.submit_timeout_ms,
                     &PaymentSagaConfig::submit_timeout_ms_by_rail, "AB06", cfg.submit_attempts);
  submit.poll = [](PaymentContext& c) -> std::optional<StepOutcome> {
    if (c.rail_ack || c.rail_final) return StepOutcome::success();
    if (c.rail_error) {
      RailResponse e = *c.rail_error;
      c.rail_error.reset();
      return StepOutcome::failure(ErrorKind::transient, e.reason_code, e.detail);
    }
    return std::nullopt;
  };
  submit.answered = [](const PaymentContext& c) {
    return c.rail_ack || c.rail_final || c.rail_error;
  };
  submit.action = [poll = submit.poll](PaymentContext& c,
                                       uint32_t attempt) -> std::optional<StepOutcome> {
    if (auto f = injected(c, "submit", attempt)) return f;
    if (auto done = poll(c)) return done;  // answered before a crash or a retry
    clearing::SubmitRequest req;
    req.payment_id = c.payment_id;
    req.attempt = attempt;
    req.rail = *c.rail;
    req.instruction = &c.instruction;
    c.clearing->submit(req);
    return std::nullopt;
  };
  def.steps.push_back(std::move(submit));

  StepDef<PaymentContext> await =
      rail_wait_step(cfg, "await", "accepted", cfg.await_timeout_ms,
                     &PaymentSagaConfig::await_timeout_ms_by_rail, "AB05", cfg.await_attempts);
  await.poll = [](PaymentContext& c) -> std::optional<StepOutcome> {
    if (!c.rail_final) return std::nullopt;
    if (c.rail_final->accepted) return StepOutcome::success();
    return business(c.rail_final->reason_code.empty() ? "NARR" : c.rail_final->reason_code,
                    "rail rejected: " + c.rail_final->detail);
  };
  // A rail that answers a submission with its final status at once (RTC's
  // 0210, a pacs.002 ACSC) leaves nothing to wait for: submit's event and
  // the rest of the payment are committed as one chain.
  await.answered = [](const PaymentContext& c) { return c.rail_final.has_value(); };
  await.action = [poll = await.poll](PaymentContext& c,
                                     uint32_t attempt) -> std::optional<StepOutcome> {
    if (auto f = injected(c, "await", attempt)) return f;
    if (auto done = poll(c)) return done;
    if (attempt > 1) {
      clearing::SubmitRequest req;
      req.payment_id = c.payment_id;
      req.attempt = attempt;
      req.rail = *c.rail;
      req.instruction = &c.instruction;
      c.clearing->query(req);
    }
    return std::nullopt;
  };
  def.steps.push_back(std::move(await));

  StepDef<PaymentContext> post;
  post.name = "post";
  post.local = true;
  post.state_on_success = "settled";
  post.cancellable = false;
  post.no_return = true;
  post.retry = local_retry(cfg);
  post.action = [](PaymentContext& c, uint32_t attempt) -> std::optional<StepOutcome> {
    if (auto f = injected(c, "post", attempt)) return f;
    LedgerOp op;
    op.kind = LedgerOp::Kind::post;
    op.account = debtor_ledger_account(c.instruction);
    op.settlement_account = settlement_account(*c.rail, c.instruction.amount.currency);
    op.amount = c.instruction.amount;
    return StepOutcome::success("{}", std::move(op));
  };
  def.steps.push_back(std::move(post));

  StepDef<PaymentContext> notify;
  notify.name = "notify";
  notify.local = true;
  notify.cancellable = false;
  notify.no_return = true;
  notify.retry = local_retry(cfg);
  notify.action = [](PaymentContext& c, uint32_t attempt) -> std::optional<StepOutcome> {
    if (auto f = injected(c, "notify", attempt)) return f;
    return StepOutcome::success("{\"rail\":\"" + std::string(clearing::to_string(*c.rail)) + "\"}");
  };
  def.steps.push_back(std::move(notify));
  return def;
}

namespace {

// The instruction through a nlohmann::json tree: the reference encoding,
// used when a string is not valid UTF-8 (nlohmann replaces bad bytes).
std::string instruction_to_json_tree(const PaymentInstruction& p) {
  auto party = [](const PartyAccount& a) {
    nlohmann::json j = nlohmann::json::object();
    j["name"] = a.name;
    if (!a.account_number.empty()) j["account_number"] = a.account_number;
    if (!a.branch_code.empty()) j["branch_code"] = a.branch_code;
    if (!a.iban.empty()) j["iban"] = a.iban;
    if (!a.bic.empty()) j["bic"] = a.bic;
    if (!a.proxy.empty()) j["proxy"] = a.proxy;
    return j;
  };
  nlohmann::json j;
  j["tenant"] = p.tenant;
  j["end_to_end_id"] = p.end_to_end_id;
  j["amount_minor"] = p.amount.amount_minor;
  j["currency"] = p.amount.currency;
  j["debtor"] = party(p.debtor);
  j["creditor"] = party(p.creditor);
  j["remittance"] = p.remittance;
  j["urgency"] = std::string(to_string(p.urgency));
  if (!p.requested_rail.empty()) j["requested_rail"] = p.requested_rail;
  // Invalid UTF-8 is kept byte for byte (replaced, never thrown on).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF), the same acceptance as nlohmann's decoder.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    auto at = [&](size_t k) { return k < n ? static_cast<unsigned char>(s[k]) : 0u; };
    auto cont = [](unsigned b) { return b >= 0x80 && b <= 0xBF; };
    if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(at(i + 1))) return false;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      unsigned b1 = at(i + 1);
      unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      if (b1 < lo || b1 > hi || !cont(at(i + 2))) return false;
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      unsigned b1 = at(i + 1);
      unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      if (b1 < lo || b1 > hi || !cont(at(i + 2)) || !cont(at(i + 3))) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

bool party_utf8(const PartyAccount& a) {
  return valid_utf8(a.name) && valid_utf8(a.account_number) && valid_utf8(a.branch_code) &&
         valid_utf8(a.iban) && valid_utf8(a.bic) && valid_utf8(a.proxy);
}

// Members in nlohmann's (sorted) key order.
void append_party(std::string& out, const PartyAccount& a) {
  out.push_back('{');
  if (!a.account_number.empty()) {
    out.append("\"account_number\":");
    append_json_string(out, a.account_number);
    out.push_back(',');
  }
  if (!a.bic.empty()) {
    out.append("\"bic\":");
    append_json_string(out, a.bic);
    out.push_back(',');
  }
  if (!a.branch_code.empty()) {
    out.append("\"branch_code\":");
    append_json_string(out, a.branch_code);
    out.push_back(',');
  }
  if (!a.iban.empty()) {
    out.append("\"iban\":");
    append_json_string(out, a.iban);
    out.push_back(',');
  }
  out.append("\"name\":");
  append_json_string(out, a.name);
  if (!a.proxy.empty()) {
    out.append(",\"proxy\":");
    append_json_string(out, a.proxy);
  }
  out.push_back('}');
}

}  // namespace

// Written directly, byte for byte what instruction_to_json_tree gives (keys
// in sorted order, nlohmann's escaping): the text is hashed for idempotency,
// so the two must never differ. Strings that are not valid UTF-8 (which
// nlohmann replaces) take the tree.
std::string instruction_to_json(const PaymentInstruction& p) {
  if (!valid_utf8(p.tenant) || !valid_utf8(p.end_to_end_id) || !valid_utf8(p.amount.currency) ||
      !party_utf8(p.debtor) || !party_utf8(p.creditor) || !valid_utf8(p.remittance) ||
      !valid_utf8(p.requested_rail))
    return instruction_to_json_tree(p);
  std::string out;
  out.reserve(320 + p.remittance.size() + p.debtor.name.size() + p.creditor.name.size());
  out.append("{\"amount_minor\":");
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, p.amount.amount_minor);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
  out.append(",\"creditor\":");
  append_party(out, p.creditor);
  out.append(",\"currency\":");
  append_json_string(out, p.amount.currency);
  out.append(",\"debtor\":");
  append_party(out, p.debtor);
  out.append(",\"end_to_end_id\":");
  append_json_string(out, p.end_to_end_id);
  out.append(",\"remittance\":");
  append_json_string(out, p.remittance);
  if (!p.requested_rail.empty()) {
    out.append(",\"requested_rail\":");
    append_json_string(out, p.requested_rail);
  }
  out.append(",\"tenant\":");
  append_json_string(out, p.tenant);
  out.append(",\"urgency\":");
  append_json_string(out, to_string(p.urgency));
  out.push_back('}');
  return out;
}

std::string instruction_to_json_reference(const PaymentInstruction& p) {
  return instruction_to_json_tree(p);
}

Result<PaymentInstruction> instruction_from_json(const std::string& json) {
  return instruction_from_json(nlohmann::json::parse(json, nullptr, false));
}

Result<PaymentInstruction> instruction_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"FF01", "instruction is not a JSON object"};
  auto str = [](const nlohmann::json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  auto party = [&](const char* k) {
    PartyAccount a;
    auto it = j.find(k);
    if (it == j.end() || !it->is_object()) return a;
    a.name = str(*it, "name");
    a.account_number = str(*it, "account_number");
    a.branch_code = str(*it, "branch_code");
    a.iban = str(*it, "iban");
    a.bic = str(*it, "bic");
    a.proxy = str(*it, "proxy");
    return a;
  };
  PaymentInstruction p;
  p.tenant = str(j, "tenant");
  p.end_to_end_id = str(j, "end_to_end_id");
  auto amt = j.find("amount_minor");
  if (amt == j.end() || !amt->is_number_integer()) return Error{"AM12", "amount_minor missing"};
  p.amount.amount_minor = amt->get<int64_t>();
  p.amount.currency = str(j, "currency");
  p.debtor = party("debtor");
  p.creditor = party("creditor");
  p.remittance = str(j, "remittance");
  p.urgency = urgency_from_string(str(j, "urgency")).value_or(Urgency::normal);
  p.requested_rail = str(j, "requested_rail");
  return p;
}

}  // namespace payengine::sagas
