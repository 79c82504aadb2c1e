#include "sagas/payment.hpp"

#include <array>

namespace payengine {
namespace {
constexpr std::array<std::string_view, 12> kStateNames = {
    "received", "validated", "screened",  "reserved", "submitted", "accepted",
    "settled",  "completed", "rejected",  "failed",   "cancelled", "in_doubt"};
constexpr std::array<std::string_view, 3> kUrgencyNames = {"normal", "urgent", "instant"};
}  // namespace

std::string_view to_string(PaymentState s) { return kStateNames[static_cast<size_t>(s)]; }

std::optional<PaymentState> payment_state_from_string(std::string_view s) {
  for (size_t i = 0; i < kStateNames.size(); ++i)
    if (kStateNames[i] == s) return static_cast<PaymentState>(i);
  return std::nullopt;
}

bool is_final(PaymentState s) {
  switch (s) {
    case PaymentState::completed:
    case PaymentState::rejected:
    case PaymentState::failed:
    case PaymentState::cancelled:
    case PaymentState::in_doubt:
      return true;
    default:
      return false;
  }
}

std::string_view to_string(Urgency u) { return kUrgencyNames[static_cast<size_t>(u)]; }

std::optional<Urgency> urgency_from_string(std::string_view s) {
  for (size_t i = 0; i < kUrgencyNames.size(); ++i)
    if (kUrgencyNames[i] == s) return static_cast<Urgency>(i);
  return std::nullopt;
}

}  // namespace payengine
