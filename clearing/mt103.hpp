// SWIFT FIN (MT) codec for the SWIFT rail's counterparties still on MT.
//
// Out: the MT 103 single customer credit transfer, in input form (block 2
// "I103", as our interface hands it to FIN), with the gpi UETR in block 3.
// Back: FIN's ACK/NAK service message (service 21) for it, and the
// counterparty's gpi-style MT 199 status confirmation (ACSC, ACSP, RJCT).
//
// Pure functions from values to bytes and back: no I/O, no clock, no global
// state. Line ends are CRLF exactly as on the wire.
//
// Round trips. Every encoder checks every rule its decoder checks, so for
// any m an encoder accepts, decode(encode(m)) == m; and the decoders accept
// exactly one spelling of each value (the one the encoder writes), so for
// any bytes b a decoder accepts, encode(decode(b)) == b byte for byte. The
// one place this is stricter than FIN is the 32A amount, which must be in
// canonical form (no leading zeros, all the currency's decimals: ZAR
// "1234,50", not "1234,5"; JPY "1500,").
//
// Errors (Error.code). SWIFT network validation codes where their meaning
// is documented in the MT field specifications or the FIN Error Codes guide:
//   T13  block 4: a field missing, out of order or not expected, a line
//        starting with ':' that is not a valid field tag, a line starting
//        with '-' that is not the end of text
//   T26  field 20 or 21 starts or ends with '/' or contains "//"
//   T27  malformed BIC (also used here for the header addresses)
//   T34  a character outside the X set (or a bare CR or LF), an empty line
//   T36  23B not one of CRED, SPRI, SSTD, SPAY
//   T08  71A not one of OUR, SHA, BEN
//   T50  32A value date not a valid YYMMDD date
//   T52  32A currency not an active ISO 4217 code
//   T40  32A amount without an integer digit
//   T43  32A amount with its decimal comma missing or doubled, or a non-digit
//   C03  32A amount with more decimals than the currency has
//   U00  block 3 malformed (braces, tag order, unexpected tag)
//   U02  bad message user reference {108:}
//   M50  message longer than FIN's 10,000 characters
// ISO 20022 reasons where they say it better: AM01 zero amount, AM12
// negative amount. Everything else is "MT_FORMAT": block structure and
// headers, lengths and line counts, the UETR, canonical form, and the
// content of the MT 199 status lines (FIN does not validate field 79).
// Error.message names the block, field and line at fault (lines counted
// within the field, an account line included), or the byte offset for
// block structure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagas/money.hpp"
#include "sagas/result.hpp"

namespace payengine::clearing::mt {

inline constexpr std::string_view kFormatError = "MT_FORMAT";
inline constexpr size_t kMaxMessageChars = 10'000;  // FIN message length limit

// A calendar date as FIN writes it (YYMMDD). This codec reads YY as 20YY,
// so year is 2000..2099.
struct FinDate {
  int year = 2000;
  int month = 1;
  int day = 1;
};
// A time of day as FIN writes it (HHMM).
struct FinTime {
  int hour = 0;
  int minute = 0;
};

enum class BankOperation : uint8_t { cred, spri, sstd, spay };  // 23B
enum class Charges : uint8_t { our, sha, ben };                 // 71A

// An ordering (50K) or beneficiary (59) customer: an optional account line
// "/account" followed by 1 to 4 lines of name and address.
struct Party {
  std::string account;             // without the leading '/'; 1-34 X chars, empty when absent
  std::vector<std::string> lines;  // 1-4 lines of 1-35 X chars; without an account the
                                   // first must not start with '/'
};

struct Mt103 {
  // Block 1: the sender's logical terminal, 12 chars: BIC8 + terminal code
  // (A-Z) + branch ("BANKZAJJAXXX").
  std::string sender_lt;
  uint16_t session_number = 0;   // 0-9999
  uint32_t sequence_number = 0;  // ISN, 0-999999
  // Block 2: the receiver's BIC, 8 or 11 chars; written as BIC8 + 'X' +
  // branch (or "XXX"), so decoding always returns the 11-char form.
  std::string receiver_bic;
  char priority = 'N';  // 'N' normal or 'U' urgent
  // Block 3.
  std::string mur;   // {108:} message user reference, 1-16 X chars; empty when absent
  std::string uetr;  // {121:} mandatory: lower-case RFC 4122 version 4 UUID
  // Block 4, in wire order.
  std::string reference;  // 20: 1-16 X chars, no leading/trailing '/', no "//"
  BankOperation bank_operation = BankOperation::cred;  // 23B
  FinDate value_date;                                  // 32A
  Money amount;                                        // 32A: positive, at most 15 chars
  Party ordering_customer;                             // 50K
  Party beneficiary;                                   // 59 (no letter option)
  std::vector<std::string> remittance;                 // 70: 0-4 lines of 1-35 X chars
  Charges charges = Charges::sha;                      // 71A
};

// FIN's answer to a message we input: ACK (accepted) or NAK (rejected).
struct FinAck {
  std::string lt_address;        // block 1 "F21": our logical terminal, as in the message's block 1
  uint16_t session_number = 0;   // of the acknowledged message
  uint32_t sequence_number = 0;  // its ISN
  FinDate date;                  // {177:} YYMMDDHHMM, when FIN processed it
  FinTime time;
  bool accepted = true;    // {451:0} ACK, {451:1} NAK
  std::string error_code;  // NAK {405:}: a FIN error code such as "T26"; empty for an ACK
  // NAK {405:}: the 3 digits after the code (0-999), when given.
  std::optional<uint16_t> error_line;
  std::string mur;       // {108:} echoed from the message, empty when absent
  std::string original;  // the acknowledged message as some interfaces append it
                         // after the ACK, verbatim; empty when absent
};

enum class GpiStatus : uint8_t { acsc, acsp, rjct };  // settled, in progress, rejected

// Block 2 of a message as FIN delivers it (output form, "O199..."): when
// and by whom it was input (the MIR), and when it was output.
struct FinOutputHeader {
  FinTime input_time;
  FinDate input_date;
  std::string sender_lt;  // 12-char logical terminal of the sender
  uint16_t input_session = 0;
  uint32_t input_sequence = 0;
  FinDate output_date;
  FinTime output_time;
};

// The counterparty's gpi-style status confirmation: an MT 199 whose field
// 79 reads "//YYMMDDHHMM+HHMM", then "//STATUS[/REASON]", then optional
// further "//..." detail lines (e.g. "//EUR1234,56").
struct Mt199Status {
  // Block 1: the sender's logical terminal (input form) or the receiver's,
  // i.e. ours (output form).
  std::string lt_address;
  uint16_t session_number = 0;   // 0-9999
  uint32_t sequence_number = 0;  // 0-999999
  char priority = 'N';           // 'N' or 'U'
  // Block 2: input form ("I199" + receiver) when `output` is empty, then
  // receiver_bic is the 8- or 11-char BIC (decoded as 11); output form
  // ("O199" + MIR + output date and time) when set, then receiver_bic is empty.
  std::string receiver_bic;
  std::optional<FinOutputHeader> output;
  std::string uetr;  // {121:}: the UETR of the payment this is about
  // Block 4.
  std::string reference;  // 20: the counterparty's reference (16x, as field 20 of an MT 103)
  std::string related_reference;  // 21: our MT 103's field 20 (mandatory here)
  FinDate status_date;            // 79 line 1
  FinTime status_time;
  int utc_offset_minutes = 0;  // -14:00..+14:00; a zero offset is written "+0000"
  GpiStatus status = GpiStatus::acsp;
  std::string reason;  // 4 upper-case letters/digits (AC01, G000, ...); mandatory with RJCT
  std::vector<std::string> more_lines;  // further field 79 lines verbatim, each 1-50 X chars
  // Block 5, verbatim (e.g. "{5:{CHK:3A1B5C7D9E0F}}"), empty when absent:
  // a sequence of {TAG:value} with a 3-char upper-case tag.
  std::string trailer;
};

bool operator==(const FinDate& a, const FinDate& b);
bool operator==(const FinTime& a, const FinTime& b);
bool operator==(const Party& a, const Party& b);
bool operator==(const Mt103& a, const Mt103& b);
bool operator==(const FinAck& a, const FinAck& b);
bool operator==(const FinOutputHeader& a, const FinOutputHeader& b);
bool operator==(const Mt199Status& a, const Mt199Status& b);

// The FIN text of an MT 103, blocks 1 to 4, or the first rule it breaks.
Result<std::string> encode_mt103(const Mt103& m);
// Parses and validates an MT 103 in input form (blocks 1 to 4, nothing
// after "-}"), or the first problem found, block by block.
Result<Mt103> decode_mt103(std::string_view fin);

// The FIN text of an ACK/NAK ("{1:F21...}{4:{177:}{451:}[{405:}][{108:}]}"
// followed by `original`), or the first rule it breaks.
Result<std::string> encode_fin_ack(const FinAck& a);
// Parses an ACK/NAK. Whatever follows block 4 is kept verbatim in
// `original`; it must start with "{1:" and hold only printable ASCII, CR and LF.
Result<FinAck> decode_fin_ack(std::string_view fin);

// The FIN text of a gpi status MT 199 (blocks 1 to 4, then the trailer).
Result<std::string> encode_mt199(const Mt199Status& s);
// Parses an MT 199 status confirmation in input or output form. An unknown
// status code, or RJCT without a reason, is an error.
Result<Mt199Status> decode_mt199(std::string_view fin);

// Transliterates UTF-8 text into the SWIFT X character set, one output
// piece per input character, never failing:
//   - X characters (a-z A-Z 0-9 / - ? : ( ) . , ' + space) pass unchanged;
//   - accented Latin letters (Latin-1 Supplement, Latin Extended-A, Romanian
//     comma-below letters) lose their accents: é->e, Ü->U, Ł->L, Ș->S;
//     ligatures and special letters spell out: ß->ss, Æ->AE, Œ->OE, Þ->TH;
//     combining accents (U+0300-U+036F) are dropped;
//   - symbols: & -> +, @ -> (at), _ -> -, " ` and typographic quotes -> ',
//     ; -> ",", ! -> ., [ { < -> (, ] } > -> ), \ | -> /, dashes -> -,
//     the ellipsis -> "...", € -> EUR, × -> x, ÷ -> /;
//   - tab, CR, LF and Unicode spaces -> space; other control characters
//     are dropped;
//   - anything else (other symbols, other scripts, invalid UTF-8 bytes)
//     becomes '.', one per character or invalid byte.
// The result may still need wrapping into lines (see wrap_swift_x).
std::string to_swift_x(std::string_view utf8);

// Transliterates `utf8` (to_swift_x) and word-wraps it into lines of at
// most `width` chars: runs of spaces collapse, words longer than a line are
// split, and a line that would start with ':' or '-' starts with '.'
// instead. Empty or blank text gives no lines. Fails (MT_FORMAT) when more
// than `max_lines` lines are needed or width is 0.
Result<std::vector<std::string>> wrap_swift_x(std::string_view utf8, size_t max_lines,
                                              size_t width = 35);

// True when every char of `text` is in the X character set (CR and LF are
// not: they only separate lines).
bool is_swift_x(std::string_view text);
// True for a lower-case RFC 4122 version 4 UUID (8-4-4-4-12 hex, version
// nibble 4, variant nibble 8, 9, a or b), the form FIN requires in {121:}.
bool is_valid_uetr(std::string_view uetr);

std::string_view to_string(BankOperation op);  // "CRED", ...
std::string_view to_string(Charges c);         // "OUR", ...
std::string_view to_string(GpiStatus s);       // "ACSC", ...

}  // namespace payengine::clearing::mt
