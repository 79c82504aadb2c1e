#include "sagas/payment_saga.hpp"

#include <nlohmann/json.hpp>

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
    c.rail = clearing::rail_from_string(json_get_string(output, "rail"));
  };
  def.steps.push_back(std::move(route));

  StepDef<PaymentContext> submit;
  submit.name = "submit";
  submit.state_on_success = "submitted";
  submit.cancellable = false;
  submit.timeout_ms = cfg.submit_timeout_ms;
  submit.timeout_reason = "AB06";
  submit.on_timeout_exhausted = OnTimeoutExhausted::in_doubt;
  submit.timeout_for = [cfg](const PaymentContext& c) {
    int64_t t = c.rail ? cfg.submit_timeout_ms_by_rail[static_cast<size_t>(*c.rail)] : 0;
    return t > 0 ? t : cfg.submit_timeout_ms;
  };
  submit.retry.max_attempts = cfg.submit_attempts;
  submit.retry.initial_backoff_ms = cfg.backoff_initial_ms;
  submit.retry.max_backoff_ms = cfg.backoff_max_ms;
  submit.poll = [](PaymentContext& c) -> std::optional<StepOutcome> {
    if (c.rail_ack || c.rail_final) return StepOutcome::success();
    if (c.rail_error) {
      RailResponse e = *c.rail_error;
      c.rail_error.reset();
      return StepOutcome::failure(ErrorKind::transient, e.reason_code, e.detail);
    }
    return std::nullopt;
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

  StepDef<PaymentContext> await;
  await.name = "await";
  await.state_on_success = "accepted";
  await.cancellable = false;
  await.timeout_ms = cfg.await_timeout_ms;
  await.timeout_reason = "AB05";
  await.on_timeout_exhausted = OnTimeoutExhausted::in_doubt;
  await.timeout_for = [cfg](const PaymentContext& c) {
    int64_t t = c.rail ? cfg.await_timeout_ms_by_rail[static_cast<size_t>(*c.rail)] : 0;
    return t > 0 ? t : cfg.await_timeout_ms;
  };
  await.retry.max_attempts = cfg.await_attempts;
  await.retry.initial_backoff_ms = cfg.backoff_initial_ms;
  await.retry.max_backoff_ms = cfg.backoff_max_ms;
  await.poll = [](PaymentContext& c) -> std::optional<StepOutcome> {
    if (!c.rail_final) return std::nullopt;
    if (c.rail_final->accepted) return StepOutcome::success();
    return business(c.rail_final->reason_code.empty() ? "NARR" : c.rail_final->reason_code,
                    "rail rejected: " + c.rail_final->detail);
  };
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

std::string instruction_to_json(const PaymentInstruction& p) {
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

Result<PaymentInstruction> instruction_from_json(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
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
