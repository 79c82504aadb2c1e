// Screening: the sanctions/fraud rules a payment must pass before money is
// reserved. A configurable blocklist and a per-debtor velocity limit.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sagas/payment.hpp"
#include "sagas/validation.hpp"

namespace payengine {

struct ScreeningConfig {
  // Party names matched case-insensitively on whole words after
  // normalisation (punctuation and repeated spaces ignored): an entry matches
  // when all its words appear in the party's name, in any order.
  std::vector<std::string> blocked_names;
  // Account identifiers (account numbers, IBANs, ShapIDs) blocked exactly.
  std::vector<std::string> blocked_accounts;
  // BICs blocked; an 8-character entry blocks all its branches.
  std::vector<std::string> blocked_bics;
  // Velocity: per debtor (tenant + debtor account), within a sliding window.
  int64_t velocity_window_ms = 60'000;
  uint32_t velocity_max_count = 0;         // 0 disables the count limit
  int64_t velocity_max_amount_minor = 0;   // 0 disables the amount limit (per currency)
  size_t max_tracked_debtors = 100'000;    // bound on velocity memory; oldest evicted
  // Bound on the payment ids remembered for idempotent re-screening (kept for
  // one velocity window at most); the oldest are forgotten first.
  size_t max_remembered_decisions = 1'000'000;
};

// Not thread-safe: one Screener per shard (or guarded by its owner).
class Screener {
 public:
  explicit Screener(ScreeningConfig config);

  // Screens one payment at `now_ms`. Blocklist hits give RR04 (field names the
  // party), velocity breaches give AG01 (count) or AM14 (amount). A passed
  // payment counts towards its debtor's velocity; screening the same
  // payment_id again does not count it twice.
  std::optional<ValidationError> screen(const std::string& payment_id,
                                        const PaymentInstruction& p, int64_t now_ms);

 private:
  // implementation detail: the helper that implements this may change these members

  // One passed payment counted towards its debtor's velocity.
  struct Entry {
    int64_t at_ms;
    int64_t amount_minor;
    std::string currency;
  };
  // A debtor's payments inside the window, oldest first, with running totals.
  struct DebtorWindow {
    std::deque<Entry> entries;
    std::vector<std::pair<std::string, int64_t>> total_minor_by_currency;
    std::list<std::string>::iterator lru_position;  // in debtors_by_recency_
    int64_t last_at_ms = 0;
  };
  // The outcome of a velocity-stage screening, replayed on a re-screen.
  struct Decision {
    std::optional<ValidationError> outcome;
    int64_t at_ms;
  };
  // A blocked name: its normalised words, all of which must appear.
  using NameWords = std::vector<std::string>;

  std::optional<ValidationError> screen_blocklist(const PaymentInstruction& p) const;
  std::optional<ValidationError> screen_party(const char* role, const PartyAccount& a) const;
  bool name_is_blocked(const std::string& name) const;
  bool bic_is_blocked(const std::string& bic) const;
  std::optional<ValidationError> screen_velocity(const PaymentInstruction& p, int64_t now_ms);
  void count_payment(const std::string& debtor_key, const Money& amount, int64_t now_ms);
  bool velocity_enabled() const;
  bool in_window(int64_t at_ms, int64_t now_ms) const;
  void prune_window(DebtorWindow& w, int64_t now_ms) const;
  void prune_idle_debtors(int64_t now_ms);
  void evict_oldest_debtor();
  void remember(const std::string& payment_id, std::optional<ValidationError> outcome,
                int64_t now_ms);
  void forget_expired_decisions(int64_t now_ms);

  ScreeningConfig config_;
  std::vector<NameWords> blocked_names_;
  // Index: each blocked name is filed under its first word.
  std::unordered_map<std::string, std::vector<size_t>> blocked_names_by_word_;
  std::unordered_set<std::string> blocked_accounts_;
  std::unordered_set<std::string> blocked_bics_;  // upper case, 8 or 11 characters
  std::unordered_map<std::string, DebtorWindow> velocity_;
  std::list<std::string> debtors_by_recency_;  // front: most recently counted
  std::unordered_map<std::string, Decision> decisions_;
  std::deque<std::string> decision_order_;  // payment ids, oldest first
};

}  // namespace payengine
