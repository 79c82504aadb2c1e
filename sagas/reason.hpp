// ISO 20022 ExternalStatusReason1Code values the engine produces, with their
// official names. A reason code is always one of these four-character codes.
#pragma once

#include <string_view>

namespace payengine::reason {

inline constexpr std::string_view AB05 = "AB05";  // TimeoutCreditorAgent
inline constexpr std::string_view AB06 = "AB06";  // TimeoutInstructedAgent
inline constexpr std::string_view AB08 = "AB08";  // OfflineCreditorAgent
inline constexpr std::string_view AB09 = "AB09";  // ErrorCreditorAgent
inline constexpr std::string_view AC01 = "AC01";  // IncorrectAccountNumber
inline constexpr std::string_view AC02 = "AC02";  // InvalidDebtorAccountNumber
inline constexpr std::string_view AC03 = "AC03";  // InvalidCreditorAccountNumber
inline constexpr std::string_view AC04 = "AC04";  // ClosedAccountNumber
inline constexpr std::string_view AC06 = "AC06";  // BlockedAccount
inline constexpr std::string_view AG01 = "AG01";  // TransactionForbidden
inline constexpr std::string_view AM01 = "AM01";  // ZeroAmount
inline constexpr std::string_view AM02 = "AM02";  // NotAllowedAmount
inline constexpr std::string_view AM03 = "AM03";  // NotAllowedCurrency
inline constexpr std::string_view AM04 = "AM04";  // InsufficientFunds
inline constexpr std::string_view AM12 = "AM12";  // InvalidAmount
inline constexpr std::string_view AM14 = "AM14";  // AmountExceedsAgreedLimit
inline constexpr std::string_view BE01 = "BE01";  // InconsistenWithEndCustomer
inline constexpr std::string_view DUPL = "DUPL";  // DuplicatePayment
inline constexpr std::string_view FF01 = "FF01";  // InvalidFileFormat
inline constexpr std::string_view MS03 = "MS03";  // NotSpecifiedReasonAgentGenerated
inline constexpr std::string_view CUST = "CUST";  // RequestedByCustomer
inline constexpr std::string_view RC01 = "RC01";  // BankIdentifierIncorrect
inline constexpr std::string_view RC03 = "RC03";  // InvalidDebtorBankIdentifier
inline constexpr std::string_view RC04 = "RC04";  // InvalidCreditorBankIdentifier
inline constexpr std::string_view RR02 = "RR02";  // MissingDebtorNameOrAddress
inline constexpr std::string_view RR03 = "RR03";  // MissingCreditorNameOrAddress
inline constexpr std::string_view RR04 = "RR04";  // RegulatoryReason
inline constexpr std::string_view RR12 = "RR12";  // InvalidPartyIdentification
inline constexpr std::string_view RF01 = "RF01";  // NotUniqueTransactionReference
inline constexpr std::string_view NARR = "NARR";  // Narrative

}  // namespace payengine::reason
