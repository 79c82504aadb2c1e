// BankservAfrica (PayInc) EFT: the ACB credit file of fixed-width 180-byte
// records, and the unpaids file that comes back for credits the homing
// (beneficiary's) bank could not apply. A pure codec: no I/O, no clock, no
// global state. Errors are values (Result<T>); nothing is returned partially.
//
// ---------------------------------------------------------------------------
// File framing
// ---------------------------------------------------------------------------
// Every record is exactly 180 bytes of printable ASCII followed by CR LF
// ("\r\n"), the last record too. A file in any other framing (LF only, CR
// only, a missing final CRLF, bytes after the last CRLF) is refused: code
// ACB_EOL for a wrong line ending, ACB_LENGTH for a record that is not 180
// bytes. Numeric fields (N) are right-aligned and zero-padded; text fields
// (A) are left-aligned and space-padded; fillers are spaces unless noted.
// Dates are YYMMDD and read as 20YY (years 2000-2099). Offsets below are
// 0-based byte offsets inside the 180-byte record.
//
// A batch file holds one installation (02 ... 94) with one user set
// (04 ... 92) of one or more credits (10) balanced by one contra (12):
//   02 installation header, 04 user header, 10 x n, 12 contra,
//   92 user trailer, 94 installation trailer.
//
// 02 installation header                94 installation trailer
//   off len      field                    off len      field
//     0   2 N    record id "02"             0   2 N    record id "94"
//     2   4 N    volume number              2..55      as in the 02 record,
//     6   8 N    tape serial number                    byte for byte
//    14   4 N    installation id from      56   6 N    block count
//    18   4 N    installation id to        62   6 N    record count
//    22   6 N    creation date             68   6 N    user header/trailer count
//    28   6 N    purge date                74 106      filler
//    34   4 N    installation generation number
//    38   4 N    block length, "1800"
//    42   4 N    record length, "0180"
//    46  10 A    service (e.g. "MAGTAPE")
//    56 124      filler
//
// 04 user header                        92 user trailer
//   off len      field                    off len      field
//     0   2 N    record id "04"             0   2 N    record id "92"
//     2   4 A    user code                  2   4 A    user code
//     6   6 N    creation date              6   6 N    first sequence number
//    12   6 N    purge date                12   6 N    last sequence number
//    18   6 N    first action date         18   6 N    first action date
//    24   6 N    last action date          24   6 N    last action date
//    30   6 N    first sequence number     30   6 N    no. of debit records
//    36   4 N    user generation number    36   6 N    no. of credit records
//    40  10 A    type of service           42   6 N    no. of contra records
//    50   1 A    accepted report, Y/space  48  12 N    total debit value, cents
//    51   1 A    account type correct, Y/space
//    52 128      filler                    60  12 N    total credit value, cents
//                                          72  12 N    hash total of homing
//                                                      account numbers
//                                          84  96      filler
//
// 10 standard transaction (credit)      12 contra (debit to the user's account)
//   off len      field                    off len      field
//     0   2 N    record id "10"             0   2 N    record id "12"
//     2   6 N    user branch                2   6 N    user branch
//     8  11 N    user nominated account     8  11 N    user nominated account
//    19   4 A    user code                 19   4 A    user code
//    23   6 N    user sequence number      23   6 N    user sequence number
//    29   6 N    homing branch             29   6 N    homing branch = user branch
//    35  11 N    homing account number     35  11 N    homing account = nominated account
//    46   1 N    account type              46   1 N    account type, "1"
//    47  11 N    amount, cents             47  11 N    amount = sum of the credits
//    58   6 N    action date               58   6 N    action date
//    64   2 N    entry class               64   2 N    entry class, "10"
//    66   1 N    tax code                  66   4 N    filler, "0000"
//    67   3      filler                    70  30 A    user reference: abbreviated
//    70  30 A    user reference: 10-byte               name (10) + contra reference (20)
//                abbreviated name + 20-byte
//                reference                100  80      filler
//   100  30 A    homing account name
//   130  20 N    non-standard homing account number (zeros if unused)
//   150  16      filler
//   166   2 N    homing institution, "21"
//   168  12      filler
//
// Rules the decoder checks (and the encoder produces):
// - user code and user branch/nominated account are the same on every 10, 12
//   and 92 record of the set; every 10 and 12 carries the header's action date.
// - sequence numbers: the credits carry first, first+1, ...; the contra the
//   next one; the 92 carries the first and the last (the contra's). No wrap:
//   a set whose last number would pass 999999 is refused.
// - the 92 record counts the contra as a debit record (a credit set balances:
//   no. of debit records = no. of contra records = 1, total debit value =
//   total credit value = the contra's amount = the sum of the credits).
// - hash total: the sum, over every 10 and 12 record, of the homing account
//   number (11 digits) plus the non-standard homing account number (20
//   digits), keeping the rightmost 12 digits.
// - 94: record count counts every record of the file including 02 and 94;
//   block count = ceil(record count / 10) (10 records per 1800-byte block);
//   user header/trailer count = number of 04 + 92 records (2).
//
// Details decided here (not taken from a spec in hand; revisit against the
// current BankservAfrica/PayInc ACB user manual):
// - One user set and one contra per file, one action date per set (the
//   header's first and last action dates are equal to it). Real files may
//   carry several user sets and several contras (one per action date).
// - The installation header's creation and purge dates are the user header's;
//   creation date <= action date <= purge date.
// - The 94 record carries counts only: the real layout has no value totals
//   there (the value totals and hash are on the 92 record).
// - Account types accepted: 1 current/cheque, 2 savings, 3 transmission,
//   4 bond, 6 subscription share.
// - Account numbers are numbers: leading zeros are not significant and the
//   decoder returns them without. An account of up to 11 significant digits
//   goes in the homing account field (non-standard field all zeros); 12 to 20
//   significant digits go in the non-standard field (homing field all zeros).
// - Text fields are printable ASCII (0x20-0x7E), stored as given (no case
//   change), must not end in a space (the padding would swallow it).
// - Record ids 50/52 (debit sets) are not supported and read as unknown types.
//
// ---------------------------------------------------------------------------
// Unpaids
// ---------------------------------------------------------------------------
// The unpaids file is this engine's own layout (record ids 80, 81, 89 chosen
// here), modelled on the ACB records: it names the original credit by user
// code, sequence number, action date and user reference.
//
// 80 unpaids header                     89 unpaids trailer
//   off len      field                    off len      field
//     0   2 N    record id "80"             0   2 N    record id "89"
//     2   4 A    user code                  2   4 A    user code
//     6   6 N    creation date              6   6 N    no. of unpaid records
//    12   4 N    generation number         12  12 N    total value, cents
//    16  10 A    user abbreviated name     24  12 N    hash total of homing
//    26 154      filler                                account numbers (as in 92)
//                                          36 144      filler
//
// 81 unpaid record
//   off len      field
//     0   2 N    record id "81"
//     2   4 A    user code
//     6   6 N    original user sequence number
//    12   6 N    homing branch
//    18  11 N    homing account number
//    29   1 N    account type
//    30  11 N    amount, cents
//    41   6 N    original action date
//    47   2 N    entry class
//    49   2 N    unpaid reason code (ACB code, see map_unpaid_code)
//    51  30 A    user reference: abbreviated name (10) + reference (20)
//    81  30 A    homing account name
//   111  20 N    non-standard homing account number
//   131   6 N    returned date (>= original action date)
//   137  43      filler
//
// There is no "accepted" output: a credit for which no unpaid has arrived by
// the unpaid deadline (a rail configuration, not this codec's business)
// counts as paid. Therefore an unpaids file that cannot be decoded, or an
// unpaid whose reason code map_unpaid_code does not know, must stop that
// deadline from passing silently: the codec reports the error, the caller
// raises it. decode_unpaids accepts any two-digit reason code so that one
// unknown code does not hide the other unpaids of the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sagas/result.hpp"

namespace payengine::clearing::acb {

inline constexpr size_t kRecordLength = 180;                 // bytes, without CRLF
inline constexpr int64_t kMaxCreditExclusiveMinor = 500'000'000;  // credits from R5m are refused
inline constexpr int64_t kMaxContraMinor = 99'999'999'999;   // what the 11-digit contra amount holds

// A calendar date; ACB writes it as YYMMDD, years 2000-2099.
struct AcbDate {
  int year = 2000;
  int month = 1;
  int day = 1;
};
bool operator==(const AcbDate& a, const AcbDate& b);
bool operator!=(const AcbDate& a, const AcbDate& b);
bool operator<(const AcbDate& a, const AcbDate& b);

// One credit to a beneficiary (the "homing" account).
struct AcbCredit {
  std::string homing_branch;        // 6 digits (universal or branch code)
  std::string homing_account;       // 1..20 digits, not all zeros
  uint8_t account_type = 1;         // 1, 2, 3, 4 or 6
  int64_t amount_minor = 0;         // cents, 0 < amount < kMaxCreditExclusiveMinor
  std::string user_reference;       // 0..20 characters, after the abbreviated name
  std::string homing_account_name;  // 1..30 characters
  uint8_t entry_class = 88;         // 2 digits
  uint8_t tax_code = 0;             // 1 digit
};

// One credit batch: an installation with one user set and one contra.
struct AcbBatch {
  // Installation (02/94).
  uint32_t volume_number = 1;                   // 0..9999
  uint32_t tape_serial_number = 0;              // 0..99999999
  uint32_t installation_id_from = 0;            // 0..9999
  uint32_t installation_id_to = 21;             // 0..9999
  uint32_t installation_generation_number = 1;  // 1..9999
  std::string service = "MAGTAPE";              // 1..10 characters
  // User set (04/92).
  std::string user_code;                        // 4 characters A-Z or 0-9
  uint32_t user_generation_number = 1;          // 1..9999
  std::string type_of_service = "ONE DAY";      // 1..10 characters
  bool accepted_report = false;
  bool account_type_correct = false;
  AcbDate creation_date;
  AcbDate purge_date;                           // >= action_date
  AcbDate action_date;                          // >= creation_date
  uint32_t first_sequence_number = 1;           // 1..999999
  std::string user_abbreviated_name;            // 1..10 characters
  // Contra: the user's account the credits are debited from.
  std::string user_branch;                      // 6 digits
  std::string user_nominated_account;           // 1..11 digits, not all zeros
  std::string contra_reference;                 // 0..20 characters
  std::vector<AcbCredit> credits;               // 1..AcbLimits::max_credits_per_batch
};

struct AcbLimits {
  size_t max_credits_per_batch = 100'000;
  size_t max_unpaids_per_file = 100'000;
};

// Encodes a batch as an ACB file: 180-byte records, each followed by CRLF.
// Refuses (nothing is produced) with Error.code:
//   AM01 an amount of zero, AM12 a negative amount, AM02 an amount from R5m;
//   RC04 / AC03 a homing branch / account that is not 6 / 1..20 digits;
//   RC03 / AC02 a user branch / nominated account that is not 6 / 1..11 digits;
//   RR03 an empty homing account name;
//   ACB_LIMIT more credits than limits.max_credits_per_batch, sequence numbers
//            past 999999, or a total above kMaxContraMinor;
//   FF01 any other field out of its range or format (too long, non-printable,
//        trailing space, bad date, dates out of order, no credits).
// Error.message names the field, and the credit's index where there is one.
Result<std::string> encode_batch(const AcbBatch& batch, const AcbLimits& limits = {});

// Decodes an ACB file and verifies every record: length and framing, record
// order, every field's format, constants and fillers, sequence numbers,
// counts, value totals and hash total. encode_batch(decode_batch(f)) == f for
// every file it accepts. Error.code is one of ACB_EOL, ACB_LENGTH,
// ACB_RECORD_TYPE (unknown record id), ACB_ORDER (a known record where
// another is due, or records after the 94), ACB_MISSING (the file ends where
// a record is due; also the empty file), ACB_FIELD, ACB_SEQUENCE, ACB_COUNT,
// ACB_TOTAL, ACB_HASH, ACB_LIMIT. Error.message starts with "record <n>"
// (1-based), followed by "(<id> <name>)" once the record's id is known, and
// names the field at fault with its offset and length.
Result<AcbBatch> decode_batch(std::string_view file, const AcbLimits& limits = {});

// The hash total of a batch as the 92 record carries it (see above); the
// batch's accounts must be digit strings.
uint64_t hash_total(const AcbBatch& batch);

// One unpaid: a credit the homing bank returned.
struct AcbUnpaid {
  uint32_t user_sequence_number = 1;  // of the original credit, 1..999999
  std::string homing_branch;          // as in AcbCredit
  std::string homing_account;
  uint8_t account_type = 1;
  int64_t amount_minor = 0;           // 0 < amount < kMaxCreditExclusiveMinor
  AcbDate action_date;                // the original credit's action date
  uint8_t entry_class = 88;
  std::string reason_code;            // 2 digits, see map_unpaid_code
  std::string user_reference;         // 0..20, after the abbreviated name
  std::string homing_account_name;    // 1..30
  AcbDate returned_date;              // >= action_date
};

struct AcbUnpaidFile {
  std::string user_code;              // 4 characters A-Z or 0-9
  AcbDate creation_date;
  uint32_t generation_number = 1;     // 1..9999
  std::string user_abbreviated_name;  // 1..10
  std::vector<AcbUnpaid> unpaids;     // 0..AcbLimits::max_unpaids_per_file
};

// Encodes an unpaids file (80, 81 x n, 89). Refuses like encode_batch, and
// with FF01 a reason code that is not two digits.
Result<std::string> encode_unpaids(const AcbUnpaidFile& file, const AcbLimits& limits = {});

// Decodes an unpaids file with the same strictness and error codes as
// decode_batch (count, total and hash on the 89 record).
// encode_unpaids(decode_unpaids(f)) == f for every file it accepts.
Result<AcbUnpaidFile> decode_unpaids(std::string_view file, const AcbLimits& limits = {});

// An ACB unpaid reason with its ISO 20022 ExternalStatusReason1Code.
struct UnpaidReason {
  std::string_view acb_code;         // "02"
  std::string_view acb_description;  // "Not provided for"
  std::string_view iso_code;         // "AM04"
  std::string_view iso_name;         // "InsufficientFunds"
};

// Maps an ACB unpaid code to its ISO 20022 reason. An unknown code is an
// error (code ACB_UNPAID_CODE), never a default.
Result<UnpaidReason> map_unpaid_code(std::string_view code);

// Every ACB unpaid code map_unpaid_code knows, in ascending order.
std::vector<std::string_view> known_unpaid_codes();

}  // namespace payengine::clearing::acb
