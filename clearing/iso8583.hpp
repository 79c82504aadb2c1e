// ISO 8583 for the RTC (Real-Time Clearing) rail: a generic message codec
// over a field table (1987 field layout), the 2-byte length-prefixed TCP
// framing, the RTC credit request/response messages on top, and the mapping
// of ISO 8583 response codes to outcomes with ISO 20022 reasons.
//
// Wire format: what encode() writes and the only thing decode() accepts.
//   MTI        4 ASCII digits, version digit '0' (ISO 8583:1987)
//   bitmap     8 bytes, binary; field n is bit (n-1)%8 of byte (n-1)/8
//              counted from the most significant bit, so field 1 is 0x80 of
//              byte 0. Bit 1 set means a secondary bitmap follows.
//   secondary  8 more bytes, present exactly when a field 65..128 is present
//              (a secondary bitmap with no bit set is refused)
//   fields     in ascending field number, ASCII. Fixed-length fields take
//              exactly their length; LLVAR/LLLVAR fields a 2/3-digit ASCII
//              length prefix, then 1..max characters (a present field is
//              never empty: absence is said by the bitmap).
// The format is canonical: for every byte string b that decode() accepts,
// encode(decode(b)) == b.
//
// Errors are values. Error.code is an ISO 8583 response code, so a rail
// simulator can answer a bad request with it and map_response_code() turns
// it into an ISO 20022 reason: "30" format error (everything the codec and
// the framing refuse), "12" invalid transaction (a processing code or
// currency the RTC rail does not clear), "13" invalid amount. Error.message
// names the field number and, when decoding, the byte offset at fault.
//
// Pure library: no I/O, no threads, no mutable global state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagas/money.hpp"
#include "sagas/result.hpp"

namespace payengine::clearing::iso8583 {

inline constexpr std::string_view kFormatError = "30";         // ISO 8583 "format error"
inline constexpr std::string_view kInvalidTransaction = "12";  // ISO 8583 "invalid transaction"
inline constexpr std::string_view kInvalidAmount = "13";       // ISO 8583 "invalid amount"

// ---------------------------------------------------------------------------
// Field table

enum class CharClass : uint8_t {
  n,    // digits 0-9
  an,   // letters A-Z a-z and digits
  ans,  // printable ASCII 0x20..0x7E (letters, digits, space, specials)
};

enum class LengthKind : uint8_t {
  fixed,   // exactly `max_length` characters
  llvar,   // "LL" + 1..max_length characters, max_length <= 99
  lllvar,  // "LLL" + 1..max_length characters, max_length <= 999
};

struct FieldSpec {
  int number = 0;  // 2..128, not 65 (the 1987 layout's tertiary bitmap bit)
  CharClass chars = CharClass::n;
  LengthKind length = LengthKind::fixed;
  size_t max_length = 0;  // fixed: the length; variable: the maximum
  std::string_view name;  // for error messages; must outlive the table (a literal)
};

// The data elements a codec accepts. Binary ("b") elements are not
// supported: no RTC field needs one.
class FieldTable {
 public:
  // Builds a table. Fails (code "30") on a number outside 2..128 or 65, a
  // number given twice, a zero length, or a maximum its prefix cannot say.
  static Result<FieldTable> make(const std::vector<FieldSpec>& specs);

  // Returns the spec of field `number`, or nullptr if the table has none
  // (any int is safe to ask about).
  const FieldSpec* find(int number) const;

 private:
  FieldTable() = default;
  std::array<std::optional<FieldSpec>, 129> specs_{};
};

// The data elements the RTC adapter uses:
//   2 PAN/account LLVAR n..19       3 processing code n6
//   4 amount, minor units n12       7 transmission date-time n10 MMDDhhmmss (UTC)
//  11 STAN n6                      12 local time n6 hhmmss
//  13 local date n4 MMDD           32 acquiring institution id LLVAR n..11
//  37 RRN an12                     38 authorisation id response an6
//  39 response code an2            41 terminal id ans8
//  49 currency code n3 (ISO 4217 numeric)
// 100 receiving institution id LLVAR n..11
// 102 account identification 1 LLVAR ans..28
// 103 account identification 2 LLVAR ans..28
const FieldTable& rtc_fields();

// ---------------------------------------------------------------------------
// Generic message

// A message as a map from field number to its ASCII value. A map rather than
// a flat array of 128 optionals: messages are sparse (4 to 13 fields here),
// iteration is in field number order (the wire order), equality is the
// map's, and a field number the table does not know is representable, so
// encode() can refuse it by name instead of the type hiding it. Field 1 (the
// secondary bitmap) is never in the map: the codec derives it.
struct Iso8583Message {
  std::string mti;                    // e.g. "0200"
  std::map<int, std::string> fields;  // field number -> value, without length prefix
};

inline bool operator==(const Iso8583Message& a, const Iso8583Message& b) {
  return a.mti == b.mti && a.fields == b.fields;
}
inline bool operator!=(const Iso8583Message& a, const Iso8583Message& b) { return !(a == b); }

// Encodes `message` in the wire format above. A fixed-length n field shorter
// than its length is zero padded on the left; every other value must have a
// valid length as given. Fails (code "30", message naming the field) on a bad
// MTI, a field number not in `table` (including 1), an empty value, a value
// too long (or, for fixed an/ans fields, of the wrong length), or a
// character outside the field's class.
Result<std::string> encode(const Iso8583Message& message, const FieldTable& table = rtc_fields());

// Decodes one message occupying all of `bytes`. Fixed fields come back at
// their full width (so a padded n field comes back padded). Fails (code
// "30", message naming the field and byte offset) on a truncated MTI or
// bitmap, a bad MTI, a bitmap bit for a field not in `table`, a secondary
// bitmap flagged but missing or without any bit set, a length prefix that is
// truncated, not digits, zero or above the field's maximum, data shorter
// than its length, a character outside the field's class, or bytes after the
// last field. Reads only within `bytes`; work is linear in its size.
Result<Iso8583Message> decode(std::string_view bytes, const FieldTable& table = rtc_fields());

// ---------------------------------------------------------------------------
// TCP framing: each message is preceded by its length, 2 bytes big endian:
// net::frame and net::FrameReader with FrameHeader::u16 (clearing/transport.hpp).

// ---------------------------------------------------------------------------
// RTC messages
//
//  0200 financial request   engine -> rail: a credit transfer
//  0201 repeat              engine -> rail: the same request again, same STAN
//                           and RRN; it is also the status query: the rail
//                           answers a repeat with the original outcome and
//                           never applies the credit twice
//  0210 response            rail -> engine: the answer to a 0200 or a 0201
// STAN + RRN identify a request; the engine matches a 0210 to its request by
// them (RtcKey).

// Field 3: "40" (cardholder accounts transfer) from the default account type
// "00" to the default account type "00". The RTC rail refuses anything else.
inline constexpr std::string_view kCreditTransferProcessingCode = "400000";
// Field 49: ISO 4217 numeric for ZAR, the only currency RTC clears.
inline constexpr std::string_view kZarNumeric = "710";
// Fields 12/13 carry South African Standard Time: UTC+2, no daylight saving.
inline constexpr int64_t kSastOffsetMs = 2 * 3600 * 1000;
// The largest transmission time: 9999-12-31T23:59:59.999Z.
inline constexpr int64_t kMaxTransmissionTimeMs = 253'402'300'799'999;

struct RtcCredit {
  uint32_t stan = 0;  // field 11: systems trace audit number, below 1'000'000
  std::string rrn;    // field 37: retrieval reference number, 12 letters/digits
  Money amount;       // fields 4 (minor units) and 49: ZAR, 1..999'999'999'999
  std::string
      debtor_institution;  // field 32: the debtor bank's branch/institution id, 1..11 digits
  std::string
      creditor_institution;    // field 100: the creditor bank's branch/institution id, 1..11 digits
  std::string debtor_account;  // field 102: 1..28 printable ASCII
  std::string creditor_account;  // field 103: 1..28 printable ASCII
  std::string terminal_id;       // field 41: the sending channel, exactly 8 printable ASCII
  // Fields 7 (UTC MMDDhhmmss), 12 and 13 (SAST hhmmss and MMDD). Epoch
  // milliseconds in 0..kMaxTransmissionTimeMs; only whole seconds travel.
  int64_t transmission_time_ms = 0;
};

inline bool operator==(const RtcCredit& a, const RtcCredit& b) {
  return a.stan == b.stan && a.rrn == b.rrn && a.amount == b.amount &&
         a.debtor_institution == b.debtor_institution &&
         a.creditor_institution == b.creditor_institution && a.debtor_account == b.debtor_account &&
         a.creditor_account == b.creditor_account && a.terminal_id == b.terminal_id &&
         a.transmission_time_ms == b.transmission_time_ms;
}

struct RtcCreditRequest {
  RtcCredit credit;
  bool repeat = false;  // 0201 rather than 0200
};

struct RtcResponse {
  uint32_t stan = 0;          // field 11, echoed from the request
  std::string rrn;            // field 37, echoed from the request
  std::string response_code;  // field 39: 2 letters/digits, "00" approved
  std::string
      auth_id;  // field 38: 6 letters/digits; required with "00", else optional (empty: absent)
};

inline bool operator==(const RtcResponse& a, const RtcResponse& b) {
  return a.stan == b.stan && a.rrn == b.rrn && a.response_code == b.response_code &&
         a.auth_id == b.auth_id;
}

// What identifies a request and its response; ordered for use as a map key.
struct RtcKey {
  uint32_t stan = 0;
  std::string rrn;
};
inline bool operator==(const RtcKey& a, const RtcKey& b) {
  return a.stan == b.stan && a.rrn == b.rrn;
}
inline bool operator<(const RtcKey& a, const RtcKey& b) {
  return a.stan != b.stan ? a.stan < b.stan : a.rrn < b.rrn;
}
inline RtcKey key_of(const RtcCredit& c) { return RtcKey{c.stan, c.rrn}; }
inline RtcKey key_of(const RtcResponse& r) { return RtcKey{r.stan, r.rrn}; }

// Encodes `credit` as a 0200 (or a 0201 when `repeat`) with fields 3, 4, 7,
// 11, 12, 13, 32, 37, 41, 49, 100, 102, 103. Fails, naming the field, on any
// value outside the ranges documented on RtcCredit: code "13" for the
// amount, "30" otherwise (a non-ZAR currency included).
Result<std::string> encode_credit_request(const RtcCredit& credit, bool repeat);

// Decodes a 0200/0201 strictly (the rail simulator's side): exactly the
// fields encode_credit_request writes, processing code 400000 and currency
// 710 (else code "12"), a non-zero amount (else "13"), a valid field 7 and
// fields 12/13 equal to it in SAST (else "30"). Field 7 has no year: it is
// the year that puts the time nearest `now_ms` (one of now's year, the one
// before, the one after). Whatever it accepts re-encodes to the same bytes.
Result<RtcCreditRequest> decode_credit_request(std::string_view bytes, int64_t now_ms);

// Encodes a 0210 with fields 11, 37, 38 (when auth_id is not empty) and 39.
// Fails (code "30", naming the field) on a STAN from 1'000'000, an RRN that is
// not 12 letters/digits, a response code not 2 letters/digits, an auth_id
// neither empty nor 6 letters/digits, or an approval ("00") without auth_id.
Result<std::string> encode_credit_response(const RtcResponse& response);

// Decodes a 0210: exactly fields 11, 37, 39 and optionally 38, with 38
// present when 39 is "00". The response code is not interpreted here (see
// map_response_code). Match it to its request with key_of(). Whatever it
// accepts re-encodes to the same bytes.
Result<RtcResponse> decode_credit_response(std::string_view bytes);

// ---------------------------------------------------------------------------
// Response codes

struct RtcOutcome {
  enum class Kind : uint8_t {
    approved,   // the credit is final
    rejected,   // a business rejection: final, not retried, not a breaker failure
    transient,  // the rail or the creditor bank could not process it now: a breaker
                // failure; retry as a 0201 repeat (same STAN/RRN), since the
                // creditor bank may already have applied the credit
    duplicate,  // the rail already has this STAN/RRN: send a 0201 repeat for the
                // original outcome; neither a failure nor a rejection
  };
  Kind kind = Kind::rejected;
  std::string reason_code;  // ISO 20022 ExternalStatusReason1Code; empty when approved
};

// Maps an ISO 8583 response code (field 39) to its outcome:
//   00 approved
//   05 do not honour           -> rejected MS03 (a decline with no reason given)
//   12 invalid transaction     -> rejected AG01
//   13 invalid amount          -> rejected AM12
//   14 invalid account number  -> rejected AC01
//   30 format error            -> rejected FF01
//   51 insufficient funds      -> rejected AM04
//   57 not permitted to holder -> rejected AG01
//   58 not permitted to terminal -> rejected AG01
//   61 exceeds amount limit    -> rejected AM14
//   62 restricted account      -> rejected AC06
//   65 exceeds frequency limit -> rejected AM14
//   78 account closed (RTC)    -> rejected AC04
//   92 no route to institution -> rejected RC04
//   68 response received too late      -> transient AB05
//   91 issuer or switch inoperative    -> transient AB08
//   96 system malfunction              -> transient AB09
//   94 duplicate transmission          -> duplicate DUPL
// Any other code fails (code "30", naming it): an unknown code is a protocol
// error, never silently a rejection or an approval.
Result<RtcOutcome> map_response_code(std::string_view response_code);

}  // namespace payengine::clearing::iso8583
