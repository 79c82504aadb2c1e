// ISO 20022 XML codec for the SAMOS, PayShap and SWIFT (CBPR+) rails:
//   pacs.008.001.08 FIToFICstmrCdtTrf  customer credit transfer (one transaction)
//   pacs.009.001.08 FICdtTrf           bank-to-bank credit transfer (one transaction)
//   pacs.028.001.03 FIToFIPmtStsReq    status request for one original transaction
//   pacs.002.001.10 FIToFIPmtStsRpt    status report for one original transaction
//
// Encoders build the XML as a string (no DOM): UTF-8, text XML-escaped,
// deterministic (same input, same bytes), two-space indented. Every encoded
// message validates against the ISO 20022 base XSD of its type.
//
// Decoders parse untrusted input with xsd::parse_untrusted (no network, no
// entities, no DOCTYPE, byte limit, UTF-8 only), check the namespace and the
// root exactly, and read the elements this codec models; other elements the
// schema allows are ignored (run xsd::Validator for full schema conformance).
// A value that decodes always re-encodes to a schema-valid message.
//
// Both directions enforce the rules an XSD cannot express:
//   - amount: a known ISO 4217 currency, at most that currency's decimals
//     (ZAR 2, JPY 0, BHD 3), greater than zero, at most 18 digits;
//   - exactly one transaction: NbOfTxs is 1 and equals the number of
//     transactions; TtlIntrBkSttlmAmt and CtrlSum, if present, equal it;
//   - code lists: ChrgBr, SttlmMtd, TxSts are known values; a reason code is
//     four upper-case letters or digits and RJCT requires one;
//   - profile rules (see Profile).
// Errors: Error.code "FF01" (InvalidFileFormat) for format and rule
// problems, "AM01" for a zero amount, "AM03" for an unknown currency or one
// the profile does not allow. Error.message starts with the element path at
// fault, relative to the message element, e.g.
// "CdtTrfTxInf/IntrBkSttlmAmt: 3 decimals for ZAR (at most 2)".
//
// All functions are pure and reentrant (see xsd.hpp about xmlInitParser).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "clearing/xsd.hpp"
#include "sagas/money.hpp"
#include "sagas/result.hpp"

namespace payengine::clearing::iso20022 {

// Scheme rules on top of the base XSD.
//   samos:     currency ZAR.
//   payshap:   currency ZAR.
//   cbpr_plus: UETR mandatory (pacs.008/009/028/002); instructing and
//              instructed agents mandatory and identified by BIC
//              (pacs.008/009); interbank settlement date mandatory
//              (pacs.008/009); charge bearer DEBT, CRED or SHAR (not SLEV).
// The original group information of pacs.028 and pacs.002 is carried at the
// top level (OrgnlGrpInf / OrgnlGrpInfAndSts) for samos and payshap and
// inside the transaction (TxInf/OrgnlGrpInf, TxInfAndSts/OrgnlGrpInf) for
// cbpr_plus; decoders accept either place.
enum class Profile : uint8_t { samos, payshap, cbpr_plus };

enum class MessageType : uint8_t { pacs008, pacs009, pacs028, pacs002 };

enum class ChargeBearer : uint8_t { debt, cred, shar, slev };
enum class SettlementMethod : uint8_t { inda, inga, cove, clrg };
// ExternalPaymentTransactionStatus1Code values this codec knows.
enum class TxStatus : uint8_t { actc, accp, acsp, acsc, acwc, pdng, rjct };

std::string_view to_string(Profile p);
std::string_view to_string(ChargeBearer c);      // "DEBT", ...
std::string_view to_string(SettlementMethod m);  // "CLRG", ...
std::string_view to_string(TxStatus s);          // "ACSC", ...
std::optional<ChargeBearer> charge_bearer_from_string(std::string_view s);
std::optional<SettlementMethod> settlement_method_from_string(std::string_view s);
std::optional<TxStatus> tx_status_from_string(std::string_view s);

// "pacs.008.001.08", ... (the OrgnlMsgNmId of a message of this type).
std::string_view message_name_id(MessageType t);
// "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08", ...
std::string_view namespace_uri(MessageType t);

// A financial institution (BranchAndFinancialInstitutionIdentification6/
// FinInstnId): a BIC, a clearing-system member id (a South African branch
// code under ClrSysId/Cd "ZANCC"), or both. At least one is required.
struct Agent {
  std::string bic;              // BICFI, 8 or 11 characters; empty: none
  std::string clearing_system;  // ClrSysMmbId/ClrSysId/Cd, 1..5 chars, e.g. "ZANCC"; empty: none
  std::string member_id;        // ClrSysMmbId/MmbId, e.g. "250655"; empty: no ClrSysMmbId
};

// An account (CashAccount38/Id): an IBAN or a proprietary number (Othr/Id).
struct Account {
  std::string id;
  bool is_iban = false;
};

// pacs.008.001.08 with one CdtTrfTxInf. Empty strings are absent optional
// elements.
struct CreditTransfer {
  std::string msg_id;              // GrpHdr/MsgId, 1..35
  std::string creation_date_time;  // GrpHdr/CreDtTm, e.g. "2025-01-01T10:00:00+02:00"
  SettlementMethod settlement_method = SettlementMethod::clrg;
  std::string settlement_date;  // CdtTrfTxInf/IntrBkSttlmDt "YYYY-MM-DD"; optional
  std::string instr_id;         // PmtId/InstrId; optional
  std::string end_to_end_id;    // PmtId/EndToEndId, 1..35
  std::string tx_id;            // PmtId/TxId; optional
  std::string uetr;             // PmtId/UETR, lower-case UUID v4; optional
  Money amount;                 // IntrBkSttlmAmt
  ChargeBearer charge_bearer = ChargeBearer::slev;
  std::optional<Agent> instructing_agent;  // CdtTrfTxInf/InstgAgt
  std::optional<Agent> instructed_agent;   // CdtTrfTxInf/InstdAgt
  std::string debtor_name;                 // Dbtr/Nm, 1..140
  Account debtor_account;                  // DbtrAcct
  Agent debtor_agent;                      // DbtrAgt
  Agent creditor_agent;                    // CdtrAgt
  std::string creditor_name;               // Cdtr/Nm, 1..140
  Account creditor_account;                // CdtrAcct
  std::string remittance;                  // RmtInf/Ustrd, 1..140; optional
};

// pacs.009.001.08 with one CdtTrfTxInf: debtor and creditor are institutions.
struct FiCreditTransfer {
  std::string msg_id;
  std::string creation_date_time;
  SettlementMethod settlement_method = SettlementMethod::clrg;
  std::string settlement_date;  // optional
  std::string instr_id;         // optional
  std::string end_to_end_id;
  std::string tx_id;  // optional
  std::string uetr;   // optional
  Money amount;
  std::optional<Agent> instructing_agent;
  std::optional<Agent> instructed_agent;
  Agent debtor;                         // Dbtr
  std::optional<Agent> debtor_agent;    // DbtrAgt
  std::optional<Agent> creditor_agent;  // CdtrAgt
  Agent creditor;                       // Cdtr
  std::string remittance;               // RmtInf/Ustrd; optional
};

// pacs.028.001.03 asking for the status of one original transaction.
struct StatusRequest {
  std::string msg_id;
  std::string creation_date_time;
  std::optional<Agent> instructing_agent;  // GrpHdr/InstgAgt
  std::optional<Agent> instructed_agent;   // GrpHdr/InstdAgt
  std::string original_msg_id;             // OrgnlGrpInf/OrgnlMsgId
  std::string original_msg_name_id;        // OrgnlGrpInf/OrgnlMsgNmId, e.g. "pacs.008.001.08"
  std::string original_instr_id;           // TxInf/OrgnlInstrId; optional
  std::string original_end_to_end_id;      // TxInf/OrgnlEndToEndId
  std::string original_tx_id;              // TxInf/OrgnlTxId; optional
  std::string original_uetr;               // TxInf/OrgnlUETR; optional
};

// pacs.002.001.10 with one TxInfAndSts.
struct StatusReport {
  std::string msg_id;
  std::string creation_date_time;
  std::optional<Agent> instructing_agent;  // GrpHdr/InstgAgt
  std::optional<Agent> instructed_agent;   // GrpHdr/InstdAgt
  std::string original_msg_id;
  std::string original_msg_name_id;
  std::string original_instr_id;  // optional
  std::string original_end_to_end_id;
  std::string original_tx_id;  // optional
  std::string original_uetr;   // optional
  TxStatus status = TxStatus::pdng;
  std::string reason_code;      // StsRsnInf/Rsn/Cd, 4 chars; required for RJCT
  std::string additional_info;  // StsRsnInf/AddtlInf, 1..105; optional
};

bool operator==(const Agent& a, const Agent& b);
bool operator==(const Account& a, const Account& b);
bool operator==(const CreditTransfer& a, const CreditTransfer& b);
bool operator==(const FiCreditTransfer& a, const FiCreditTransfer& b);
bool operator==(const StatusRequest& a, const StatusRequest& b);
bool operator==(const StatusReport& a, const StatusReport& b);

// Renders an instant as ISO 8601 in South African Standard Time (UTC+02:00,
// no daylight saving): "2025-01-01T10:00:00+02:00", with ".mmm" milliseconds
// only when they are not zero. For years 1..9999.
std::string format_sast_date_time(int64_t epoch_ms);
// The SAST calendar date of an instant: "2025-01-01".
std::string format_sast_date(int64_t epoch_ms);

// Encoders: the message as UTF-8 XML, or the first rule it breaks.
Result<std::string> encode(const CreditTransfer& m, Profile profile);
Result<std::string> encode(const FiCreditTransfer& m, Profile profile);
Result<std::string> encode(const StatusRequest& m, Profile profile);
Result<std::string> encode(const StatusReport& m, Profile profile);

// Decoders: the message, or the first problem found (see the top comment).
Result<CreditTransfer> decode_credit_transfer(std::string_view xml, Profile profile,
                                              const xsd::ParseLimits& limits = {});
Result<FiCreditTransfer> decode_fi_credit_transfer(std::string_view xml, Profile profile,
                                                   const xsd::ParseLimits& limits = {});
Result<StatusRequest> decode_status_request(std::string_view xml, Profile profile,
                                            const xsd::ParseLimits& limits = {});
Result<StatusReport> decode_status_report(std::string_view xml, Profile profile,
                                          const xsd::ParseLimits& limits = {});

// Which of the four messages `xml` is, from the namespace of its Document
// root. The whole document is parsed (it must be well-formed) but only the
// root is checked: decode it for the rest. Fails
// (FF01) on input parse_untrusted refuses, a root that is not Document, or a
// namespace that is none of the four (the message names it).
Result<MessageType> peek_message_type(std::string_view xml, const xsd::ParseLimits& limits = {});

}  // namespace payengine::clearing::iso20022
