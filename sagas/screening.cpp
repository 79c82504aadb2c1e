// Screening: blocklist and per-debtor velocity, as promised in
// sagas/screening.hpp.
//
// Promises made here, beyond the header:
// - Names: a name is normalised to upper-case words; every character that is
//   not an ASCII letter or digit separates words, except bytes of non-ASCII
//   UTF-8 characters, which stay part of their word (not case-folded). A
//   blocked entry matches when ALL its words appear as whole words in the
//   party's name, in ANY order ("Smith, John" matches the entry "John
//   Smith"; "Johnson" does not match "John"). Entries with no words are ignored.
// - Accounts: account_number, iban and proxy of either party are compared
//   exactly with the blocked accounts (empty values never match).
// - BICs: compared upper-cased; an 11-character BIC ending in "XXX" (primary
//   office) is the same as its 8-character form, so an entry "ABCDZAJJ" or
//   "ABCDZAJJXXX" blocks "ABCDZAJJ", "ABCDZAJJXXX" and every branch
//   "ABCDZAJJ???"; any other 11-character entry blocks that branch only.
// - Blocklist messages say which field matched, never the list entry (the
//   reason may travel back to the sending bank).
// - Velocity: a payment made at at_ms counts at now_ms while
//   0 <= now_ms - at_ms < velocity_window_ms (a payment from the "future"
//   also counts). A payment is refused with AG01 when it would make the
//   debtor's count within the window exceed velocity_max_count, and with AM14
//   when it would make the debtor's total in that currency exceed
//   velocity_max_amount_minor. Only passed payments count.
// - now_ms is expected not to go backwards. If it does, entries are kept longer
//   than the window, never shorter: limits err on the strict side.
// - Memory: at most max_tracked_debtors debtors are tracked (at least one);
//   beyond that the debtor least recently counted is forgotten, as if its
//   payments had expired. Debtors whose payments have all expired are dropped.
// - Idempotency: when velocity is enabled, the outcome of a payment id that
//   passed the blocklist is remembered for one velocity window (bounded by
//   max_remembered_decisions) and returned unchanged on a re-screen, without
//   counting again. A re-screen after that is screened afresh; the payment is
//   still counted at most once within any window. Blocklist outcomes are not
//   remembered: they depend on the instruction only, so they repeat anyway.
//   With velocity disabled, screening has no state at all.
#include "sagas/screening.hpp"

#include <algorithm>
#include <utility>

#include "sagas/reason.hpp"

namespace payengine {
namespace {

bool is_ascii_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Upper-case words of a name; see the file comment for what separates words.
std::vector<std::string> name_words(std::string_view name) {
  std::vector<std::string> words;
  std::string word;
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (is_ascii_alnum(byte) || byte >= 0x80) {
      word.push_back(ascii_upper(c));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::vector<std::string> sorted_unique(std::vector<std::string> words) {
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

// Upper case, with a primary-office "XXX" branch folded into the 8-character form.
std::string normalise_bic(std::string_view bic) {
  std::string out(bic);
  std::transform(out.begin(), out.end(), out.begin(), ascii_upper);
  if (out.size() == 11 && out.compare(8, 3, "XXX") == 0) out.resize(8);
  return out;
}

ValidationError blocked(const char* role, const char* field) {
  std::string path = std::string(role) + "." + field;
  return ValidationError{std::string(reason::RR04), path,
                         path + " matches a screening blocklist entry"};
}

// The velocity key of a payment's debtor and the field that identifies it.
struct DebtorKey {
  std::string key;    // tenant + "/" + account identifier
  const char* field;  // e.g. "debtor.account_number"
};

DebtorKey debtor_key(const PaymentInstruction& p) {
  const PartyAccount& d = p.debtor;
  if (!d.account_number.empty())
    return {p.tenant + "/" + d.account_number, "debtor.account_number"};
  if (!d.iban.empty()) return {p.tenant + "/" + d.iban, "debtor.iban"};
  return {p.tenant + "/" + d.proxy, "debtor.proxy"};
}

int64_t* find_total(std::vector<std::pair<std::string, int64_t>>& totals,
                    const std::string& currency) {
  for (auto& [code, total] : totals)
    if (code == currency) return &total;
  return nullptr;
}

}  // namespace

Screener::Screener(ScreeningConfig config) : config_(std::move(config)) {
  config_.max_tracked_debtors = std::max<size_t>(config_.max_tracked_debtors, 1);
  config_.max_remembered_decisions = std::max<size_t>(config_.max_remembered_decisions, 1);
  for (const std::string& entry : config_.blocked_names) {
    std::vector<std::string> words = sorted_unique(name_words(entry));
    if (words.empty()) continue;
    blocked_names_by_word_[words.front()].push_back(blocked_names_.size());
    blocked_names_.push_back(std::move(words));
  }
  for (const std::string& account : config_.blocked_accounts)
    if (!account.empty()) blocked_accounts_.insert(account);
  for (const std::string& bic : config_.blocked_bics)
    if (!bic.empty()) blocked_bics_.insert(normalise_bic(bic));
}

std::optional<ValidationError> Screener::screen(const std::string& payment_id,
                                                const PaymentInstruction& p, int64_t now_ms) {
  if (velocity_enabled()) {
    forget_expired_decisions(now_ms);
    auto known = decisions_.find(payment_id);
    if (known != decisions_.end()) return known->second.outcome;
  }
  if (auto hit = screen_blocklist(p)) return hit;
  if (!velocity_enabled()) return std::nullopt;
  std::optional<ValidationError> outcome = screen_velocity(p, now_ms);
  remember(payment_id, outcome, now_ms);
  return outcome;
}

// ---------------------------------------------------------------------------
// Blocklist.

std::optional<ValidationError> Screener::screen_blocklist(const PaymentInstruction& p) const {
  if (auto hit = screen_party("debtor", p.debtor)) return hit;
  return screen_party("creditor", p.creditor);
}

// Checks one party: name, then account_number, iban, proxy, then bic.
std::optional<ValidationError> Screener::screen_party(const char* role,
                                                      const PartyAccount& a) const {
  if (name_is_blocked(a.name)) return blocked(role, "name");
  auto account_blocked = [&](const std::string& id) {
    return !id.empty() && blocked_accounts_.count(id) > 0;
  };
  if (account_blocked(a.account_number)) return blocked(role, "account_number");
  if (account_blocked(a.iban)) return blocked(role, "iban");
  if (account_blocked(a.proxy)) return blocked(role, "proxy");
  if (bic_is_blocked(a.bic)) return blocked(role, "bic");
  return std::nullopt;
}

bool Screener::name_is_blocked(const std::string& name) const {
  if (blocked_names_.empty()) return false;
  std::vector<std::string> words = sorted_unique(name_words(name));
  auto has_word = [&](const std::string& w) {
    return std::binary_search(words.begin(), words.end(), w);
  };
  for (const std::string& word : words) {
    auto candidates = blocked_names_by_word_.find(word);
    if (candidates == blocked_names_by_word_.end()) continue;
    for (size_t index : candidates->second) {
      const NameWords& entry = blocked_names_[index];
      if (std::all_of(entry.begin(), entry.end(), has_word)) return true;
    }
  }
  return false;
}

bool Screener::bic_is_blocked(const std::string& bic) const {
  if (bic.empty() || blocked_bics_.empty()) return false;
  std::string normalised = normalise_bic(bic);
  if (blocked_bics_.count(normalised) > 0) return true;
  return normalised.size() == 11 && blocked_bics_.count(normalised.substr(0, 8)) > 0;
}

// ---------------------------------------------------------------------------
// Velocity.

bool Screener::velocity_enabled() const {
  return config_.velocity_max_count > 0 || config_.velocity_max_amount_minor > 0;
}

bool Screener::in_window(int64_t at_ms, int64_t now_ms) const {
  if (config_.velocity_window_ms <= 0) return false;
  if (at_ms >= now_ms) return true;
  // now_ms > at_ms: the difference fits in uint64_t even when int64_t would overflow.
  uint64_t age_ms = static_cast<uint64_t>(now_ms) - static_cast<uint64_t>(at_ms);
  return age_ms < static_cast<uint64_t>(config_.velocity_window_ms);
}

std::optional<ValidationError> Screener::screen_velocity(const PaymentInstruction& p,
                                                         int64_t now_ms) {
  prune_idle_debtors(now_ms);
  DebtorKey debtor = debtor_key(p);
  DebtorWindow* window = nullptr;
  if (auto it = velocity_.find(debtor.key); it != velocity_.end()) {
    window = &it->second;
    prune_window(*window, now_ms);
  }
  size_t count_in_window = window ? window->entries.size() : 0;
  if (config_.velocity_max_count > 0 && count_in_window >= config_.velocity_max_count)
    return ValidationError{std::string(reason::AG01), debtor.field,
                           "debtor already made " + std::to_string(count_in_window) +
                               " payments within " + std::to_string(config_.velocity_window_ms) +
                               " ms; the limit is " + std::to_string(config_.velocity_max_count)};
  if (config_.velocity_max_amount_minor > 0) {
    int64_t amount_minor = std::max<int64_t>(p.amount.amount_minor, 0);
    const int64_t* total =
        window ? find_total(window->total_minor_by_currency, p.amount.currency) : nullptr;
    int64_t total_minor = total ? *total : 0;
    // total_minor never exceeds the limit, so the subtraction cannot overflow.
    if (amount_minor > config_.velocity_max_amount_minor - total_minor)
      return ValidationError{
          std::string(reason::AM14), "amount.amount_minor",
          "debtor's " + p.amount.currency + " total within " +
              std::to_string(config_.velocity_window_ms) + " ms would exceed the limit of " +
              std::to_string(config_.velocity_max_amount_minor) + " minor units"};
  }
  count_payment(debtor.key, p.amount, now_ms);
  return std::nullopt;
}

void Screener::count_payment(const std::string& debtor_key, const Money& amount, int64_t now_ms) {
  auto [it, inserted] = velocity_.try_emplace(debtor_key);
  DebtorWindow& window = it->second;
  if (inserted) {
    debtors_by_recency_.push_front(debtor_key);
  } else {
    debtors_by_recency_.splice(debtors_by_recency_.begin(), debtors_by_recency_,
                               window.lru_position);
  }
  window.lru_position = debtors_by_recency_.begin();
  window.last_at_ms = inserted ? now_ms : std::max(window.last_at_ms, now_ms);
  int64_t amount_minor = std::max<int64_t>(amount.amount_minor, 0);
  window.entries.push_back(Entry{now_ms, amount_minor, amount.currency});
  // Totals are kept only under an amount limit, where they stay within it.
  if (config_.velocity_max_amount_minor > 0) {
    if (int64_t* total = find_total(window.total_minor_by_currency, amount.currency))
      *total += amount_minor;
    else
      window.total_minor_by_currency.emplace_back(amount.currency, amount_minor);
  }
  if (velocity_.size() > config_.max_tracked_debtors) evict_oldest_debtor();
}

// Drops the debtor's expired payments from the front (oldest first).
void Screener::prune_window(DebtorWindow& window, int64_t now_ms) const {
  auto& totals = window.total_minor_by_currency;
  while (!window.entries.empty() && !in_window(window.entries.front().at_ms, now_ms)) {
    const Entry& oldest = window.entries.front();
    if (int64_t* total = find_total(totals, oldest.currency)) *total -= oldest.amount_minor;
    window.entries.pop_front();
  }
  totals.erase(
      std::remove_if(totals.begin(), totals.end(), [](const auto& t) { return t.second <= 0; }),
      totals.end());
}

// Drops debtors whose newest payment has expired, least recently counted
// first; stops at the first debtor still inside the window.
void Screener::prune_idle_debtors(int64_t now_ms) {
  while (!debtors_by_recency_.empty()) {
    auto it = velocity_.find(debtors_by_recency_.back());
    if (it != velocity_.end() && in_window(it->second.last_at_ms, now_ms)) return;
    if (it != velocity_.end()) velocity_.erase(it);
    debtors_by_recency_.pop_back();
  }
}

void Screener::evict_oldest_debtor() {
  velocity_.erase(debtors_by_recency_.back());
  debtors_by_recency_.pop_back();
}

// ---------------------------------------------------------------------------
// Idempotency memory.

void Screener::remember(const std::string& payment_id, std::optional<ValidationError> outcome,
                        int64_t now_ms) {
  decisions_.insert_or_assign(payment_id, Decision{std::move(outcome), now_ms});
  decision_order_.push_back(payment_id);
  while (decisions_.size() > config_.max_remembered_decisions && !decision_order_.empty()) {
    decisions_.erase(decision_order_.front());
    decision_order_.pop_front();
  }
}

void Screener::forget_expired_decisions(int64_t now_ms) {
  while (!decision_order_.empty()) {
    auto it = decisions_.find(decision_order_.front());
    if (it != decisions_.end() && in_window(it->second.at_ms, now_ms)) return;
    if (it != decisions_.end()) decisions_.erase(it);
    decision_order_.pop_front();
  }
}

}  // namespace payengine
