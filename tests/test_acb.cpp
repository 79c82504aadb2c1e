#define BOOST_TEST_MODULE acb
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "clearing/acb.hpp"
#include "sagas/rng.hpp"

namespace payengine::clearing::acb {
// Boost.Test prints the operands of a failed comparison.
std::ostream& operator<<(std::ostream& os, const AcbDate& d) {
  return os << d.year << '-' << d.month << '-' << d.day;
}
}  // namespace payengine::clearing::acb

using namespace payengine;
using namespace payengine::clearing::acb;

namespace {

const std::filesystem::path kGolden = std::filesystem::path(__FILE__).parent_path() / "golden" / "acb";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot open " << p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The batch that tests/golden/acb/batch_3_credits.acb holds. That file was
// written field by field from the layout table in clearing/acb.hpp, not by
// the encoder:
//   02 vol 0001, tape 00000001, installation 4321 -> 0021, created 240315,
//      purge 240322, generation 0042, 1800/0180, MAGTAPE
//   04 user PE01, first sequence 000001, generation 0017, "ONE DAY", accepted
//      report Y, action date 240318
//   10 x 3: R123.45 to 632005/62012345678 (cheque); R4,999,999.99 (one cent
//      under the R5m limit) to 198765/1000123456 (savings); R1.00 to
//      470010/123456789012345 (transmission, 15 digits: non-standard field)
//   12 contra from 250655/1234567890: 00500012444 cents, sequence 000004
//   92 debit records 1 (the contra), credit records 3, contra records 1,
//      totals 000500012444, hash 521036049369 (see hash_total_by_hand)
//   94 block count 1, record count 8, user header/trailer count 2
AcbBatch golden_batch() {
  AcbBatch b;
  b.volume_number = 1;
  b.tape_serial_number = 1;
  b.installation_id_from = 4321;
  b.installation_id_to = 21;
  b.installation_generation_number = 42;
  b.service = "MAGTAPE";
  b.user_code = "PE01";
  b.user_generation_number = 17;
  b.type_of_service = "ONE DAY";
  b.accepted_report = true;
  b.account_type_correct = false;
  b.creation_date = {2024, 3, 15};
  b.purge_date = {2024, 3, 22};
  b.action_date = {2024, 3, 18};
  b.first_sequence_number = 1;
  b.user_abbreviated_name = "PAYENGINE";
  b.user_branch = "250655";
  b.user_nominated_account = "1234567890";
  b.contra_reference = "CONTRA 240318";
  b.credits = {
      {"632005", "62012345678", 1, 12'345, "INV-0001", "SIPHO DLAMINI", 88, 0},
      {"198765", "1000123456", 2, 499'999'999, "SALARY MARCH", "THANDI NKOSI", 88, 0},
      {"470010", "123456789012345", 3, 100, "REFUND 42", "NALEDI MOKOENA PTY LTD", 88, 0},
  };
  return b;
}

// tests/golden/acb/unpaids_2.acb: credits 1 and 3 of the golden batch come
// back, 26 (no such account) returned 240319 and 12 (account closed) 240320;
// total 12445 cents; hash 62012345678 + 456789012345 = 518801358023.
AcbUnpaidFile golden_unpaids() {
  AcbUnpaidFile f;
  f.user_code = "PE01";
  f.creation_date = {2024, 3, 20};
  f.generation_number = 5;
  f.user_abbreviated_name = "PAYENGINE";
  f.unpaids = {
      {1, "632005", "62012345678", 1, 12'345, {2024, 3, 18}, 88, "26", "INV-0001", "SIPHO DLAMINI", {2024, 3, 19}},
      {3, "470010", "123456789012345", 3, 100, {2024, 3, 18}, 88, "12", "REFUND 42", "NALEDI MOKOENA PTY LTD",
       {2024, 3, 20}},
  };
  return f;
}

void check_same(const AcbBatch& a, const AcbBatch& b) {
  BOOST_TEST(a.volume_number == b.volume_number);
  BOOST_TEST(a.tape_serial_number == b.tape_serial_number);
  BOOST_TEST(a.installation_id_from == b.installation_id_from);
  BOOST_TEST(a.installation_id_to == b.installation_id_to);
  BOOST_TEST(a.installation_generation_number == b.installation_generation_number);
  BOOST_TEST(a.service == b.service);
  BOOST_TEST(a.user_code == b.user_code);
  BOOST_TEST(a.user_generation_number == b.user_generation_number);
  BOOST_TEST(a.type_of_service == b.type_of_service);
  BOOST_TEST(a.accepted_report == b.accepted_report);
  BOOST_TEST(a.account_type_correct == b.account_type_correct);
  BOOST_TEST(a.creation_date == b.creation_date);
  BOOST_TEST(a.purge_date == b.purge_date);
  BOOST_TEST(a.action_date == b.action_date);
  BOOST_TEST(a.first_sequence_number == b.first_sequence_number);
  BOOST_TEST(a.user_abbreviated_name == b.user_abbreviated_name);
  BOOST_TEST(a.user_branch == b.user_branch);
  BOOST_TEST(a.user_nominated_account == b.user_nominated_account);
  BOOST_TEST(a.contra_reference == b.contra_reference);
  BOOST_REQUIRE_EQUAL(a.credits.size(), b.credits.size());
  for (size_t i = 0; i < a.credits.size(); ++i) {
    BOOST_TEST_CONTEXT("credit " << i) {
      const AcbCredit& x = a.credits[i];
      const AcbCredit& y = b.credits[i];
      BOOST_TEST(x.homing_branch == y.homing_branch);
      BOOST_TEST(x.homing_account == y.homing_account);
      BOOST_TEST(int(x.account_type) == int(y.account_type));
      BOOST_TEST(x.amount_minor == y.amount_minor);
      BOOST_TEST(x.user_reference == y.user_reference);
      BOOST_TEST(x.homing_account_name == y.homing_account_name);
      BOOST_TEST(int(x.entry_class) == int(y.entry_class));
      BOOST_TEST(int(x.tax_code) == int(y.tax_code));
    }
  }
}

void check_same(const AcbUnpaidFile& a, const AcbUnpaidFile& b) {
  BOOST_TEST(a.user_code == b.user_code);
  BOOST_TEST(a.creation_date == b.creation_date);
  BOOST_TEST(a.generation_number == b.generation_number);
  BOOST_TEST(a.user_abbreviated_name == b.user_abbreviated_name);
  BOOST_REQUIRE_EQUAL(a.unpaids.size(), b.unpaids.size());
  for (size_t i = 0; i < a.unpaids.size(); ++i) {
    BOOST_TEST_CONTEXT("unpaid " << i) {
      const AcbUnpaid& x = a.unpaids[i];
      const AcbUnpaid& y = b.unpaids[i];
      BOOST_TEST(x.user_sequence_number == y.user_sequence_number);
      BOOST_TEST(x.homing_branch == y.homing_branch);
      BOOST_TEST(x.homing_account == y.homing_account);
      BOOST_TEST(int(x.account_type) == int(y.account_type));
      BOOST_TEST(x.amount_minor == y.amount_minor);
      BOOST_TEST(x.action_date == y.action_date);
      BOOST_TEST(int(x.entry_class) == int(y.entry_class));
      BOOST_TEST(x.reason_code == y.reason_code);
      BOOST_TEST(x.user_reference == y.user_reference);
      BOOST_TEST(x.homing_account_name == y.homing_account_name);
      BOOST_TEST(x.returned_date == y.returned_date);
    }
  }
}

// Splits a CRLF file into its records (without the CRLF); REQUIREs the framing.
std::vector<std::string> records_of(const std::string& file) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < file.size()) {
    size_t end = file.find("\r\n", pos);
    BOOST_REQUIRE(end != std::string::npos);
    out.push_back(file.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

std::string join_records(const std::vector<std::string>& records) {
  std::string out;
  for (const std::string& r : records) out += r + "\r\n";
  return out;
}

// ---------------------------------------------------------------------------
// Random valid inputs (fixed seeds; bounded sizes).

std::string random_digits(Rng& rng, size_t n, bool nonzero_first) {
  std::string s;
  for (size_t i = 0; i < n; ++i)
    s += static_cast<char>('0' + ((i == 0 && nonzero_first) ? 1 + rng.uniform(9) : rng.uniform(10)));
  return s;
}

// Printable ASCII, not ending in a space; may be empty when min_len is 0.
std::string random_text(Rng& rng, size_t min_len, size_t max_len) {
  size_t n = min_len + rng.uniform(max_len - min_len + 1);
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>(0x20 + rng.uniform(95));
  if (!s.empty() && s.back() == ' ') s.back() = 'X';
  return s;
}

AcbDate random_date(Rng& rng) {
  return AcbDate{2000 + static_cast<int>(rng.uniform(100)), 1 + static_cast<int>(rng.uniform(12)),
                 1 + static_cast<int>(rng.uniform(28))};
}

std::string random_user_code(Rng& rng) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s;
  for (int i = 0; i < 4; ++i) s += kChars[rng.uniform(36)];
  return s;
}

uint8_t random_account_type(Rng& rng) {
  static const uint8_t kTypes[] = {1, 2, 3, 4, 6};
  return kTypes[rng.uniform(5)];
}

AcbBatch random_batch(Rng& rng, size_t max_credits) {
  AcbBatch b;
  b.volume_number = static_cast<uint32_t>(rng.uniform(10'000));
  b.tape_serial_number = static_cast<uint32_t>(rng.uniform(100'000'000));
  b.installation_id_from = static_cast<uint32_t>(rng.uniform(10'000));
  b.installation_id_to = static_cast<uint32_t>(rng.uniform(10'000));
  b.installation_generation_number = 1 + static_cast<uint32_t>(rng.uniform(9'999));
  b.service = random_text(rng, 1, 10);
  b.user_code = random_user_code(rng);
  b.user_generation_number = 1 + static_cast<uint32_t>(rng.uniform(9'999));
  b.type_of_service = random_text(rng, 1, 10);
  b.accepted_report = rng.uniform(2) == 1;
  b.account_type_correct = rng.uniform(2) == 1;
  AcbDate d[3] = {random_date(rng), random_date(rng), random_date(rng)};
  std::sort(std::begin(d), std::end(d));
  b.creation_date = d[0];
  b.action_date = d[1];
  b.purge_date = d[2];
  size_t n = 1 + rng.uniform(max_credits);
  b.first_sequence_number = 1 + static_cast<uint32_t>(rng.uniform(999'999 - n));
  b.user_abbreviated_name = random_text(rng, 1, 10);
  b.user_branch = random_digits(rng, 6, false);
  b.user_nominated_account = random_digits(rng, 1 + rng.uniform(11), true);
  b.contra_reference = random_text(rng, 0, 20);
  for (size_t i = 0; i < n; ++i) {
    AcbCredit c;
    c.homing_branch = random_digits(rng, 6, false);
    c.homing_account = random_digits(rng, 1 + rng.uniform(20), true);  // up to 20: non-standard too
    c.account_type = random_account_type(rng);
    c.amount_minor = 1 + static_cast<int64_t>(rng.uniform(499'999'999));
    c.user_reference = random_text(rng, 0, 20);
    c.homing_account_name = random_text(rng, 1, 30);
    c.entry_class = static_cast<uint8_t>(rng.uniform(100));
    c.tax_code = static_cast<uint8_t>(rng.uniform(10));
    b.credits.push_back(c);
  }
  return b;
}

AcbUnpaidFile random_unpaids(Rng& rng, size_t max_unpaids) {
  AcbUnpaidFile f;
  f.user_code = random_user_code(rng);
  f.creation_date = random_date(rng);
  f.generation_number = 1 + static_cast<uint32_t>(rng.uniform(9'999));
  f.user_abbreviated_name = random_text(rng, 1, 10);
  size_t n = rng.uniform(max_unpaids + 1);  // zero unpaids is a valid file
  for (size_t i = 0; i < n; ++i) {
    AcbUnpaid u;
    u.user_sequence_number = 1 + static_cast<uint32_t>(rng.uniform(999'999));
    u.homing_branch = random_digits(rng, 6, false);
    u.homing_account = random_digits(rng, 1 + rng.uniform(20), true);
    u.account_type = random_account_type(rng);
    u.amount_minor = 1 + static_cast<int64_t>(rng.uniform(499'999'999));
    AcbDate d[2] = {random_date(rng), random_date(rng)};
    std::sort(std::begin(d), std::end(d));
    u.action_date = d[0];
    u.returned_date = d[1];
    u.entry_class = static_cast<uint8_t>(rng.uniform(100));
    u.reason_code = random_digits(rng, 2, false);
    u.user_reference = random_text(rng, 0, 20);
    u.homing_account_name = random_text(rng, 1, 30);
    f.unpaids.push_back(u);
  }
  return f;
}

// The error message of a failed result, for test logs.
template <class T>
std::string error_of(const Result<T>& r) {
  return r.ok() ? std::string() : r.error().code + ": " + r.error().message;
}

// Checks an error's code and that its message contains each of `parts`.
template <class T>
void check_error(const Result<T>& r, const std::string& code, const std::vector<std::string>& parts) {
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == code, "code " << r.error().code << " (" << r.error().message << "), expected "
                                             << code);
  for (const std::string& p : parts)
    BOOST_TEST(r.error().message.find(p) != std::string::npos,
               "message \"" << r.error().message << "\" lacks \"" << p << "\"");
}

struct Malformed {
  const char* name;
  std::function<std::string(std::vector<std::string>)> make;  // from the golden records
  const char* code;
  std::vector<std::string> message_parts;
};

// Replaces bytes of one record (0-based index) at an offset.
std::function<std::string(std::vector<std::string>)> patch(size_t record, size_t off, std::string bytes) {
  return [=](std::vector<std::string> recs) {
    recs[record].replace(off, bytes.size(), bytes);
    return join_records(recs);
  };
}

}  // namespace

// ===========================================================================
BOOST_AUTO_TEST_SUITE(batch_golden)

BOOST_AUTO_TEST_CASE(golden_batch_encodes_byte_for_byte) {
  const std::string golden = read_file(kGolden / "batch_3_credits.acb");
  BOOST_REQUIRE_EQUAL(golden.size(), 8u * 182u);
  Result<std::string> encoded = encode_batch(golden_batch());
  BOOST_REQUIRE_MESSAGE(encoded.ok(), error_of(encoded));
  BOOST_TEST(encoded.value().size() == golden.size());
  // Record by record first, so a difference names its record.
  std::vector<std::string> got = records_of(encoded.value());
  std::vector<std::string> want = records_of(golden);
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) BOOST_TEST(got[i] == want[i], "record " << i + 1);
  BOOST_TEST(encoded.value() == golden);
}

BOOST_AUTO_TEST_CASE(golden_batch_record_ids_in_order) {
  std::vector<std::string> recs = records_of(read_file(kGolden / "batch_3_credits.acb"));
  std::vector<std::string> ids;
  for (const std::string& r : recs) ids.push_back(r.substr(0, 2));
  BOOST_TEST(ids == (std::vector<std::string>{"02", "04", "10", "10", "10", "12", "92", "94"}),
             boost::test_tools::per_element());
  for (const std::string& r : recs) BOOST_TEST(r.size() == kRecordLength);
}

BOOST_AUTO_TEST_CASE(golden_batch_decodes_to_its_fields) {
  Result<AcbBatch> decoded = decode_batch(read_file(kGolden / "batch_3_credits.acb"));
  BOOST_REQUIRE_MESSAGE(decoded.ok(), error_of(decoded));
  check_same(decoded.value(), golden_batch());
  // Spot checks with literal values, independent of golden_batch().
  BOOST_TEST(decoded->credits[1].amount_minor == 499'999'999);
  BOOST_TEST(decoded->credits[2].homing_account == "123456789012345");  // from the non-standard field
  BOOST_TEST(decoded->user_nominated_account == "1234567890");         // leading zero not significant
  BOOST_TEST(decoded->accepted_report);
  BOOST_TEST(!decoded->account_type_correct);
}

BOOST_AUTO_TEST_CASE(hash_total_by_hand) {
  // Homing accounts of the 10 records plus the contra's (nominated) account;
  // the 15-digit account sits in the non-standard field and only its
  // rightmost 12 digits survive in a 12-digit total:
  //     62012345678  credit 1
  //      1000123456  credit 2
  //    456789012345  credit 3 (123456789012345, rightmost 12 digits)
  //      1234567890  contra
  //   = 521036049369
  BOOST_TEST(hash_total(golden_batch()) == 521'036'049'369ull);
  std::vector<std::string> recs = records_of(read_file(kGolden / "batch_3_credits.acb"));
  const std::string& trailer = recs[6];
  BOOST_TEST(trailer.substr(72, 12) == "521036049369");
  // Totals: 12345 + 499999999 + 100 = 500012444 cents, on the contra and both 92 totals.
  BOOST_TEST(recs[5].substr(47, 11) == "00500012444");
  BOOST_TEST(trailer.substr(48, 12) == "000500012444");
  BOOST_TEST(trailer.substr(60, 12) == "000500012444");
  BOOST_TEST(trailer.substr(30, 18) == "000001000003000001");  // debit, credit, contra records
}

BOOST_AUTO_TEST_CASE(hash_total_wraps_at_12_digits) {
  AcbBatch b = golden_batch();
  b.user_nominated_account = "99999999999";
  b.credits = {{"632005", "99999999999999999999", 1, 1, "", "A", 88, 0},
               {"632005", "99999999999", 1, 1, "", "B", 88, 0}};
  // 99999999999 + 999999999999 + 99999999999 = 1199999999997 -> 199999999997
  BOOST_TEST(hash_total(b) == 199'999'999'997ull);
  Result<std::string> encoded = encode_batch(b);
  BOOST_REQUIRE(encoded.ok());
  BOOST_TEST(records_of(encoded.value())[5].substr(72, 12) == "199999999997");
  BOOST_TEST(decode_batch(encoded.value()).ok());
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(batch_round_trip)

BOOST_AUTO_TEST_CASE(random_batches_round_trip) {
  Rng rng(20240318);
  size_t non_standard = 0;
  for (int i = 0; i < 300; ++i) {
    BOOST_TEST_CONTEXT("batch " << i) {
      AcbBatch b = random_batch(rng, 25);
      Result<std::string> encoded = encode_batch(b);
      BOOST_REQUIRE_MESSAGE(encoded.ok(), error_of(encoded));
      Result<AcbBatch> decoded = decode_batch(encoded.value());
      BOOST_REQUIRE_MESSAGE(decoded.ok(), error_of(decoded));
      check_same(decoded.value(), b);
      Result<std::string> again = encode_batch(decoded.value());
      BOOST_REQUIRE(again.ok());
      BOOST_TEST(again.value() == encoded.value());
      for (const AcbCredit& c : b.credits) non_standard += c.homing_account.size() > 11;
    }
  }
  BOOST_TEST(non_standard > 0u);  // the non-standard account path was exercised
}

BOOST_AUTO_TEST_CASE(every_record_is_180_bytes_and_crlf_terminated) {
  Rng rng(7);
  for (int i = 0; i < 50; ++i) {
    AcbBatch b = random_batch(rng, 40);
    Result<std::string> encoded = encode_batch(b);
    BOOST_REQUIRE(encoded.ok());
    const std::string& f = encoded.value();
    const size_t records = b.credits.size() + 5;  // 02, 04, 10 x n, 12, 92, 94
    BOOST_TEST(f.size() == records * 182);
    for (size_t r = 0; r < records && r * 182 + 182 <= f.size(); ++r) {
      BOOST_TEST(f.substr(r * 182 + 180, 2) == "\r\n", "record " << r + 1);
      BOOST_TEST(f.substr(r * 182, 180).find_first_of("\r\n") == std::string::npos, "record " << r + 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(block_count_rounds_up_to_ten_records) {
  // 5 credits: 10 records -> 1 block; 6 credits: 11 records -> 2 blocks.
  AcbBatch b = golden_batch();
  b.credits.push_back(b.credits[0]);
  b.credits.push_back(b.credits[0]);
  Result<std::string> five = encode_batch(b);
  BOOST_REQUIRE(five.ok());
  BOOST_TEST(records_of(five.value()).back().substr(56, 18) == "000001000010000002");
  b.credits.push_back(b.credits[0]);
  Result<std::string> six = encode_batch(b);
  BOOST_REQUIRE(six.ok());
  BOOST_TEST(records_of(six.value()).back().substr(56, 18) == "000002000011000002");
  BOOST_TEST(decode_batch(six.value()).ok());
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(batch_malformed)

BOOST_AUTO_TEST_CASE(malformed_files_give_precise_errors) {
  using V = std::vector<std::string>;
  const std::vector<Malformed> cases = {
      {"empty file", [](V) { return std::string(); }, "ACB_MISSING", {"record 1", "empty file", "02"}},
      {"truncated last record",
       [](V r) { return join_records(r).substr(0, 7 * 182 + 100); }, "ACB_LENGTH",
       {"record 8", "100 bytes", "truncated"}},
      {"truncated inside the CRLF", [](V r) { return join_records(r).substr(0, 8 * 182 - 1); }, "ACB_EOL",
       {"record 8", "CR not followed by LF"}},
      {"179-byte record",
       [](V r) {
         r[2].erase(120, 1);
         return join_records(r);
       },
       "ACB_LENGTH", {"record 3", "179 bytes", "expected 180"}},
      {"181-byte record",
       [](V r) {
         r[3].insert(120, "X");
         return join_records(r);
       },
       "ACB_LENGTH", {"record 4", "181 bytes"}},
      {"92 before the 10s",
       [](V r) { return join_records({r[0], r[1], r[6], r[2], r[3], r[4], r[5], r[7]}); }, "ACB_ORDER",
       {"record 3", "found 92 user trailer", "expected 10 standard transaction"}},
      {"04 before 02", [](V r) { return join_records({r[1], r[0], r[2], r[3], r[4], r[5], r[6], r[7]}); },
       "ACB_ORDER", {"record 1", "found 04", "expected 02"}},
      {"no credits: contra straight after 04",
       [](V r) { return join_records({r[0], r[1], r[5], r[6], r[7]}); }, "ACB_ORDER",
       {"record 3", "found 12 contra", "expected 10 standard transaction"}},
      {"contra missing", [](V r) { return join_records({r[0], r[1], r[2], r[3], r[4], r[6], r[7]}); },
       "ACB_ORDER", {"record 6", "found 92", "expected 10 standard transaction or 12 contra"}},
      {"installation trailer missing", [](V r) { return join_records({r[0], r[1], r[2], r[3], r[4], r[5], r[6]}); },
       "ACB_MISSING", {"record 8", "94 installation trailer"}},
      {"user trailer missing", [](V r) { return join_records({r[0], r[1], r[2], r[3], r[4], r[5], r[7]}); },
       "ACB_ORDER", {"record 7", "found 94", "expected 92 user trailer"}},
      {"file ends after the credits", [](V r) { return join_records({r[0], r[1], r[2], r[3], r[4]}); },
       "ACB_MISSING", {"record 6"}},
      {"a record after the 94", [](V r) { return join_records(r) + r[2] + "\r\n"; }, "ACB_ORDER",
       {"record 9", "after the 94"}},
      {"second installation", [](V r) { return join_records(r) + join_records(r); }, "ACB_ORDER",
       {"record 9"}},
      {"credit count in the 92", patch(6, 36, "000004"), "ACB_COUNT",
       {"record 7 (92 user trailer)", "no. of credit records", "offset 36", "4, expected 3"}},
      {"debit count in the 92", patch(6, 30, "000000"), "ACB_COUNT", {"record 7", "no. of debit records"}},
      {"contra count in the 92", patch(6, 42, "000002"), "ACB_COUNT", {"record 7", "no. of contra records"}},
      {"record count in the 94", patch(7, 62, "000009"), "ACB_COUNT",
       {"record 8 (94 installation trailer)", "record count", "9, expected 8"}},
      {"block count in the 94", patch(7, 56, "000002"), "ACB_COUNT", {"record 8", "block count"}},
      {"header/trailer count in the 94", patch(7, 68, "000004"), "ACB_COUNT", {"record 8", "user header/trailer"}},
      {"credit value total in the 92", patch(6, 60, "000500012445"), "ACB_TOTAL",
       {"record 7", "total credit value", "offset 60", "500012445, expected 500012444"}},
      {"debit value total in the 92", patch(6, 48, "000500012443"), "ACB_TOTAL",
       {"record 7", "total debit value"}},
      {"contra amount", patch(5, 47, "00500012443"), "ACB_TOTAL",
       {"record 6 (12 contra)", "amount", "500012443, expected 500012444"}},
      {"a credit amount changed (caught by the contra)", patch(2, 47, "00000012346"), "ACB_TOTAL",
       {"record 6 (12 contra)", "amount", "expected 500012445"}},
      {"hash total", patch(6, 72, "521036049368"), "ACB_HASH",
       {"record 7", "hash total", "offset 72", "521036049368, expected 521036049369"}},
      {"a homing account changed (caught by the hash)", patch(2, 35, "62012345679"), "ACB_HASH",
       {"record 7", "expected 521036049370"}},
      {"letters in an amount", patch(2, 47, "000000123A5"), "ACB_FIELD",
       {"record 3 (10 standard transaction)", "field amount", "offset 47, length 11", "not numeric",
        "000000123A5"}},
      {"unknown record type", patch(3, 0, "55"), "ACB_RECORD_TYPE", {"record 4", "unknown record id", "\"55\""}},
      {"debit record id 50 (not supported)", patch(2, 0, "50"), "ACB_RECORD_TYPE", {"record 3", "\"50\""}},
      {"unknown record type in the header position", patch(0, 0, "01"), "ACB_RECORD_TYPE", {"record 1"}},
      {"LF-only line endings",
       [](V r) {
         std::string f;
         for (auto& x : r) f += x + "\n";
         return f;
       },
       "ACB_EOL", {"record 1", "LF alone"}},
      {"CR-only line endings",
       [](V r) {
         std::string f;
         for (auto& x : r) f += x + "\r";
         return f;
       },
       "ACB_EOL", {"record 1", "CR not followed by LF"}},
      {"no CRLF after the last record", [](V r) { return join_records(r).substr(0, 8 * 182 - 2); }, "ACB_EOL",
       {"record 8", "not terminated by CRLF"}},
      {"sequence gap", patch(3, 23, "000003"), "ACB_SEQUENCE",
       {"record 4", "user sequence number", "3, expected 2"}},
      {"contra sequence", patch(5, 23, "000005"), "ACB_SEQUENCE", {"record 6", "user sequence number"}},
      {"last sequence in the 92", patch(6, 12, "000003"), "ACB_SEQUENCE", {"record 7", "last sequence number"}},
      {"filler not blank", patch(2, 170, "X"), "ACB_FIELD", {"record 3", "filler", "offset 168"}},
      {"homing institution not 21", patch(4, 166, "22"), "ACB_FIELD", {"record 5", "homing institution"}},
      {"block length not 1800", patch(0, 38, "1900"), "ACB_FIELD", {"record 1", "block length"}},
      {"30 February", patch(0, 22, "240230"), "ACB_FIELD", {"record 1", "creation date", "not a YYMMDD date"}},
      {"user header creation date differs", patch(1, 6, "240316"), "ACB_FIELD",
       {"record 2", "creation date", "installation header"}},
      {"two action dates", patch(1, 24, "240319"), "ACB_FIELD", {"record 2", "last action date"}},
      {"credit action date differs", patch(3, 58, "240319"), "ACB_FIELD", {"record 4", "action date"}},
      {"action date after the purge date",
       [](V r) {
         for (size_t i : {1u, 2u, 3u, 4u, 5u}) r[i].replace(58, 6, "240323");
         r[1].replace(18, 12, "240323240323");
         r[6].replace(18, 12, "240323240323");
         return join_records(r);
       },
       "ACB_FIELD", {"record 2", "after the purge date"}},
      {"user code differs on a credit", patch(4, 19, "PE02"), "ACB_FIELD", {"record 5", "user code"}},
      {"user code lower case", patch(1, 2, "pe01"), "ACB_FIELD", {"record 2", "user code"}},
      {"user branch differs on a credit", patch(3, 2, "250656"), "ACB_FIELD", {"record 4", "user branch"}},
      {"abbreviated name differs", patch(3, 70, "PAYENGINF"), "ACB_FIELD", {"record 4", "abbreviated name"}},
      {"control byte in a name", patch(2, 105, "\x01"), "ACB_FIELD",
       {"record 3", "homing account name", "not printable", "\\x01"}},
      {"blank name", patch(2, 100, std::string(30, ' ')), "ACB_FIELD", {"record 3", "homing account name", "blank"}},
      {"account type 5", patch(2, 46, "5"), "ACB_FIELD", {"record 3", "account type"}},
      {"amount of zero", patch(2, 47, "00000000000"), "ACB_FIELD", {"record 3", "amount", "zero"}},
      {"amount of R5m", patch(2, 47, "00500000000"), "ACB_FIELD", {"record 3", "amount", "R5m"}},
      {"both homing and non-standard account", patch(2, 130, "00000000000000000001"), "ACB_FIELD",
       {"record 3", "non-standard homing account number", "as well as"}},
      {"short account in the non-standard field",
       [](V r) {
         r[2].replace(35, 11, "00000000000");
         r[2].replace(130, 20, "00000000062012345678");
         return join_records(r);
       },
       "ACB_FIELD", {"record 3", "belongs in the homing account number field"}},
      {"no homing account at all", patch(2, 35, "00000000000"), "ACB_FIELD",
       {"record 3", "homing account number", "all zeros"}},
      {"contra entry class", patch(5, 64, "88"), "ACB_FIELD", {"record 6", "entry class"}},
      {"accepted report flag", patch(1, 50, "N"), "ACB_FIELD", {"record 2", "accepted report"}},
      {"94 installation fields differ from the 02", patch(7, 34, "0043"), "ACB_FIELD",
       {"record 8", "installation generation number", "installation header"}},
  };
  const V golden = records_of(read_file(kGolden / "batch_3_credits.acb"));
  BOOST_TEST(cases.size() >= 50u);
  for (const Malformed& c : cases) {
    BOOST_TEST_CONTEXT("case: " << c.name) {
      Result<AcbBatch> r = decode_batch(c.make(golden));
      check_error(r, c.code, c.message_parts);
    }
  }
}

BOOST_AUTO_TEST_CASE(decode_limit_on_credits) {
  AcbLimits limits;
  limits.max_credits_per_batch = 2;
  check_error(decode_batch(read_file(kGolden / "batch_3_credits.acb"), limits), "ACB_LIMIT",
              {"record 5", "more than 2 credits"});
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(batch_refusals)

struct Refusal {
  const char* name;
  std::function<void(AcbBatch&)> mutate;
  const char* code;
  const char* field;
};

BOOST_AUTO_TEST_CASE(encode_refuses_bad_batches) {
  using B = AcbBatch;
  const std::vector<Refusal> cases = {
      {"credit of R5m", [](B& b) { b.credits[0].amount_minor = 500'000'000; }, "AM02", "credits[0].amount_minor"},
      {"credit above R5m", [](B& b) { b.credits[2].amount_minor = 700'000'000; }, "AM02", "credits[2].amount_minor"},
      {"zero amount", [](B& b) { b.credits[1].amount_minor = 0; }, "AM01", "credits[1].amount_minor"},
      {"negative amount", [](B& b) { b.credits[0].amount_minor = -5; }, "AM12", "credits[0].amount_minor"},
      {"letters in a homing account", [](B& b) { b.credits[0].homing_account = "6201234567X"; }, "AC03",
       "credits[0].homing_account"},
      {"21-digit homing account", [](B& b) { b.credits[0].homing_account = std::string(21, '1'); }, "AC03",
       "credits[0].homing_account"},
      {"all-zero homing account", [](B& b) { b.credits[0].homing_account = "0000"; }, "AC03",
       "credits[0].homing_account"},
      {"empty homing account", [](B& b) { b.credits[0].homing_account = ""; }, "AC03", "credits[0].homing_account"},
      {"5-digit homing branch", [](B& b) { b.credits[1].homing_branch = "63200"; }, "RC04",
       "credits[1].homing_branch"},
      {"letters in a homing branch", [](B& b) { b.credits[1].homing_branch = "63200A"; }, "RC04",
       "credits[1].homing_branch"},
      {"user branch", [](B& b) { b.user_branch = "2506555"; }, "RC03", "user_branch"},
      {"12-digit nominated account", [](B& b) { b.user_nominated_account = "123456789012"; }, "AC02",
       "user_nominated_account"},
      {"31-character name", [](B& b) { b.credits[0].homing_account_name = std::string(31, 'N'); }, "FF01",
       "credits[0].homing_account_name"},
      {"empty name", [](B& b) { b.credits[0].homing_account_name = ""; }, "RR03",
       "credits[0].homing_account_name"},
      {"name with a newline", [](B& b) { b.credits[0].homing_account_name = "SIPHO\nDLAMINI"; }, "FF01",
       "credits[0].homing_account_name"},
      {"name with a trailing space", [](B& b) { b.credits[0].homing_account_name = "SIPHO "; }, "FF01",
       "credits[0].homing_account_name"},
      {"21-character reference", [](B& b) { b.credits[0].user_reference = std::string(21, 'R'); }, "FF01",
       "credits[0].user_reference"},
      {"11-character abbreviated name", [](B& b) { b.user_abbreviated_name = "PAYENGINE01"; }, "FF01",
       "user_abbreviated_name"},
      {"account type 5", [](B& b) { b.credits[0].account_type = 5; }, "FF01", "credits[0].account_type"},
      {"entry class 100", [](B& b) { b.credits[0].entry_class = 100; }, "FF01", "credits[0].entry_class"},
      {"tax code 10", [](B& b) { b.credits[0].tax_code = 10; }, "FF01", "credits[0].tax_code"},
      {"user code lower case", [](B& b) { b.user_code = "pe01"; }, "FF01", "user_code"},
      {"user code 5 characters", [](B& b) { b.user_code = "PE012"; }, "FF01", "user_code"},
      {"generation number 0", [](B& b) { b.user_generation_number = 0; }, "FF01", "user_generation_number"},
      {"installation generation 10000", [](B& b) { b.installation_generation_number = 10'000; }, "FF01",
       "installation_generation_number"},
      {"29 February 2023", [](B& b) { b.action_date = {2023, 2, 29}; }, "FF01", "action_date"},
      {"year 2100", [](B& b) { b.purge_date = {2100, 1, 1}; }, "FF01", "purge_date"},
      {"action date before creation", [](B& b) { b.action_date = {2024, 3, 14}; }, "FF01", "action_date"},
      {"purge date before action", [](B& b) { b.purge_date = {2024, 3, 17}; }, "FF01", "purge_date"},
      {"sequence number 0", [](B& b) { b.first_sequence_number = 0; }, "FF01", "first_sequence_number"},
      {"sequence numbers past 999999", [](B& b) { b.first_sequence_number = 999'997; }, "ACB_LIMIT", "credits"},
      {"no credits", [](B& b) { b.credits.clear(); }, "FF01", "credits"},
      {"total above the contra's 11 digits",
       [](B& b) { b.credits.assign(201, {"632005", "62012345678", 1, 499'999'999, "", "X", 88, 0}); },
       "ACB_LIMIT", "credits"},
      {"empty service", [](B& b) { b.service = ""; }, "FF01", "service"},
  };
  for (const Refusal& c : cases) {
    BOOST_TEST_CONTEXT("case: " << c.name) {
      AcbBatch b = golden_batch();
      c.mutate(b);
      Result<std::string> r = encode_batch(b);
      check_error(r, c.code, {std::string(c.field) + ":"});
    }
  }
}

BOOST_AUTO_TEST_CASE(one_cent_under_r5m_is_accepted) {
  AcbBatch b = golden_batch();
  b.credits[0].amount_minor = kMaxCreditExclusiveMinor - 1;
  BOOST_TEST(encode_batch(b).ok());
}

BOOST_AUTO_TEST_CASE(max_credits_per_batch_is_configurable) {
  AcbLimits limits;
  limits.max_credits_per_batch = 3;
  BOOST_TEST(encode_batch(golden_batch(), limits).ok());
  limits.max_credits_per_batch = 2;
  check_error(encode_batch(golden_batch(), limits), "ACB_LIMIT", {"3 credits, at most 2"});
}

BOOST_AUTO_TEST_CASE(leading_zeros_of_accounts_are_not_significant) {
  AcbBatch b = golden_batch();
  b.credits[0].homing_account = "0062012345678";  // 13 characters, 11 significant digits
  Result<std::string> with_zeros = encode_batch(b);
  Result<std::string> plain = encode_batch(golden_batch());
  BOOST_REQUIRE(with_zeros.ok() && plain.ok());
  BOOST_TEST(with_zeros.value() == plain.value());
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(unpaids)

BOOST_AUTO_TEST_CASE(golden_unpaids_encode_byte_for_byte) {
  const std::string golden = read_file(kGolden / "unpaids_2.acb");
  BOOST_REQUIRE_EQUAL(golden.size(), 4u * 182u);
  Result<std::string> encoded = encode_unpaids(golden_unpaids());
  BOOST_REQUIRE_MESSAGE(encoded.ok(), error_of(encoded));
  std::vector<std::string> got = records_of(encoded.value());
  std::vector<std::string> want = records_of(golden);
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) BOOST_TEST(got[i] == want[i], "record " << i + 1);
  BOOST_TEST(encoded.value() == golden);
  BOOST_TEST(want[3].substr(6, 30) == "000002000000012445518801358023");  // count, total, hash by hand
}

BOOST_AUTO_TEST_CASE(golden_unpaids_decode_to_their_fields) {
  Result<AcbUnpaidFile> decoded = decode_unpaids(read_file(kGolden / "unpaids_2.acb"));
  BOOST_REQUIRE_MESSAGE(decoded.ok(), error_of(decoded));
  check_same(decoded.value(), golden_unpaids());
  BOOST_TEST(decoded->unpaids[0].reason_code == "26");
  BOOST_TEST(map_unpaid_code(decoded->unpaids[0].reason_code)->iso_code == "AC01");
  BOOST_TEST(decoded->unpaids[1].homing_account == "123456789012345");
}

BOOST_AUTO_TEST_CASE(random_unpaids_round_trip) {
  Rng rng(56);
  size_t empty_files = 0;
  for (int i = 0; i < 200; ++i) {
    BOOST_TEST_CONTEXT("file " << i) {
      AcbUnpaidFile f = random_unpaids(rng, 12);
      empty_files += f.unpaids.empty();
      Result<std::string> encoded = encode_unpaids(f);
      BOOST_REQUIRE_MESSAGE(encoded.ok(), error_of(encoded));
      BOOST_TEST(encoded.value().size() == (f.unpaids.size() + 2) * 182);
      Result<AcbUnpaidFile> decoded = decode_unpaids(encoded.value());
      BOOST_REQUIRE_MESSAGE(decoded.ok(), error_of(decoded));
      check_same(decoded.value(), f);
      Result<std::string> again = encode_unpaids(decoded.value());
      BOOST_REQUIRE(again.ok());
      BOOST_TEST(again.value() == encoded.value());
    }
  }
  BOOST_TEST(empty_files > 0u);  // a file without unpaids was exercised
}

BOOST_AUTO_TEST_CASE(malformed_unpaids_give_precise_errors) {
  using V = std::vector<std::string>;
  const std::vector<Malformed> cases = {
      {"empty file", [](V) { return std::string(); }, "ACB_MISSING", {"record 1", "empty file", "80"}},
      {"trailer missing", [](V r) { return join_records({r[0], r[1], r[2]}); }, "ACB_MISSING", {"record 4"}},
      {"count", patch(3, 6, "000003"), "ACB_COUNT", {"record 4 (89 unpaids trailer)", "3, expected 2"}},
      {"total", patch(3, 12, "000000012446"), "ACB_TOTAL", {"record 4", "total value"}},
      {"hash", patch(3, 24, "518801358024"), "ACB_HASH", {"record 4", "hash total"}},
      {"letters in an amount", patch(1, 30, "0000001234X"), "ACB_FIELD", {"record 2 (81 unpaid)", "amount"}},
      {"batch record in an unpaids file", patch(1, 0, "10"), "ACB_RECORD_TYPE", {"record 2", "\"10\""}},
      {"second header", [](V r) { return join_records({r[0], r[0], r[1], r[2], r[3]}); }, "ACB_ORDER",
       {"record 2", "found 80"}},
      {"trailer first", [](V r) { return join_records({r[3], r[0], r[1], r[2]}); }, "ACB_ORDER",
       {"record 1", "found 89", "expected 80"}},
      {"letters in a reason code", patch(2, 49, "1A"), "ACB_FIELD", {"record 3", "unpaid reason code"}},
      {"returned before the action date", patch(1, 131, "240317"), "ACB_FIELD", {"record 2", "returned date"}},
      {"LF-only", [](V r) { return r[0] + "\n" + r[1] + "\n" + r[2] + "\n" + r[3] + "\n"; }, "ACB_EOL",
       {"record 1"}},
      {"181-byte record",
       [](V r) {
         r[2] += " ";
         return join_records(r);
       },
       "ACB_LENGTH", {"record 3", "181 bytes"}},
      {"data after the trailer", [](V r) { return join_records(r) + "X"; }, "ACB_ORDER",
       {"record 5", "after the 89"}},
      {"user code differs", patch(2, 2, "PE02"), "ACB_FIELD", {"record 3", "user code"}},
  };
  const V golden = records_of(read_file(kGolden / "unpaids_2.acb"));
  for (const Malformed& c : cases) {
    BOOST_TEST_CONTEXT("case: " << c.name) { check_error(decode_unpaids(c.make(golden)), c.code, c.message_parts); }
  }
}

BOOST_AUTO_TEST_CASE(encode_unpaids_refusals) {
  AcbUnpaidFile f = golden_unpaids();
  f.unpaids[0].reason_code = "2";
  check_error(encode_unpaids(f), "FF01", {"unpaids[0].reason_code:"});
  f = golden_unpaids();
  f.unpaids[1].amount_minor = 500'000'000;
  check_error(encode_unpaids(f), "AM02", {"unpaids[1].amount_minor:"});
  f = golden_unpaids();
  f.unpaids[1].returned_date = {2024, 3, 17};
  check_error(encode_unpaids(f), "FF01", {"unpaids[1].returned_date:"});
  AcbLimits limits;
  limits.max_unpaids_per_file = 1;
  check_error(encode_unpaids(golden_unpaids(), limits), "ACB_LIMIT", {"2 unpaids, at most 1"});
  check_error(decode_unpaids(read_file(kGolden / "unpaids_2.acb"), limits), "ACB_LIMIT", {"record 3"});
}

BOOST_AUTO_TEST_CASE(unknown_reason_code_still_decodes) {
  // One unknown code must not hide the file's other unpaids; the caller maps
  // each code and raises the unknown one.
  AcbUnpaidFile f = golden_unpaids();
  f.unpaids[0].reason_code = "99";
  Result<std::string> encoded = encode_unpaids(f);
  BOOST_REQUIRE(encoded.ok());
  Result<AcbUnpaidFile> decoded = decode_unpaids(encoded.value());
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST(decoded->unpaids[0].reason_code == "99");
  BOOST_TEST(!map_unpaid_code(decoded->unpaids[0].reason_code).ok());
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(unpaid_codes)

BOOST_AUTO_TEST_CASE(every_mapped_code) {
  // ACB code -> ISO 20022 ExternalStatusReason1Code, as decided in acb.cpp.
  const std::map<std::string, std::string> expected = {
      {"02", "AM04"}, {"03", "AG01"}, {"04", "MS02"}, {"06", "AC06"}, {"08", "AC06"}, {"10", "AC06"},
      {"12", "AC04"}, {"14", "AC04"}, {"16", "AC04"}, {"18", "MD07"}, {"22", "AM04"}, {"26", "AC01"},
      {"28", "CUST"}, {"30", "MD01"}, {"32", "MD01"}, {"34", "MD01"}, {"36", "MS02"}, {"56", "RR04"},
  };
  for (const auto& [acb, iso] : expected) {
    BOOST_TEST_CONTEXT("code " << acb) {
      Result<UnpaidReason> r = map_unpaid_code(acb);
      BOOST_REQUIRE(r.ok());
      BOOST_TEST(r->acb_code == acb);
      BOOST_TEST(r->iso_code == iso);
      BOOST_TEST(r->iso_code.size() == 4u);
      BOOST_TEST(!r->acb_description.empty());
      BOOST_TEST(!r->iso_name.empty());
    }
  }
  // The implementation knows exactly these codes, in ascending order.
  std::vector<std::string> known;
  for (std::string_view c : known_unpaid_codes()) known.emplace_back(c);
  std::vector<std::string> want;
  for (const auto& kv : expected) want.push_back(kv.first);
  BOOST_TEST(known == want, boost::test_tools::per_element());
  BOOST_TEST(map_unpaid_code("18")->iso_name == "EndCustomerDeceased");
  BOOST_TEST(map_unpaid_code("12")->acb_description == "Account closed");
}

BOOST_AUTO_TEST_CASE(unknown_codes_are_errors) {
  for (const char* code : {"99", "00", "01", "05", "2", "002", "", "ab", "26 "}) {
    BOOST_TEST_CONTEXT("code \"" << code << "\"") {
      Result<UnpaidReason> r = map_unpaid_code(code);
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.error().code == "ACB_UNPAID_CODE");
      BOOST_TEST(r.error().message.find("unknown") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ===========================================================================
BOOST_AUTO_TEST_SUITE(mutations)

// One random change to a file: a byte replaced (by anything, a digit, a
// space or a letter), deleted or inserted; a truncation; a record duplicated,
// dropped or swapped with another.
std::string mutate(Rng& rng, const std::string& f) {
  std::string m = f;
  const size_t records = m.size() / 182;
  switch (rng.uniform(8)) {
    case 0:
      m[rng.uniform(m.size())] = static_cast<char>(rng.uniform(256));
      break;
    case 1: {
      static const char kPick[] = "0123456789 AZ";
      m[rng.uniform(m.size())] = kPick[rng.uniform(sizeof kPick - 1)];
      break;
    }
    case 2:
      m.erase(rng.uniform(m.size()), 1);
      break;
    case 3:
      m.insert(rng.uniform(m.size() + 1), 1, static_cast<char>(rng.uniform(256)));
      break;
    case 4:
      m.resize(rng.uniform(m.size()));
      break;
    case 5: {
      size_t r = rng.uniform(records);
      m.insert(rng.uniform(records + 1) * 182, m.substr(r * 182, 182));
      break;
    }
    case 6:
      m.erase(rng.uniform(records) * 182, 182);
      break;
    default: {
      size_t a = rng.uniform(records), b = rng.uniform(records);
      std::string ra = m.substr(a * 182, 182), rb = m.substr(b * 182, 182);
      m.replace(a * 182, 182, rb);
      m.replace(b * 182, 182, ra);
      break;
    }
  }
  return m;
}

BOOST_AUTO_TEST_CASE(batch_decode_never_crashes_and_accepts_only_canonical_files) {
  Rng rng(0xACB180);
  const std::string golden = read_file(kGolden / "batch_3_credits.acb");
  size_t accepted = 0, rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string m = mutate(rng, golden);
    // Sometimes a second change, so that two faults meet.
    if (rng.uniform(4) == 0 && !m.empty() && m.size() % 182 == 0) m = mutate(rng, m);
    Result<AcbBatch> r = decode_batch(m);
    if (!r.ok()) {
      ++rejected;
      BOOST_TEST(r.error().code.rfind("ACB_", 0) == 0u, "code " << r.error().code);
      BOOST_TEST(!r.error().message.empty());
      continue;
    }
    ++accepted;
    Result<std::string> again = encode_batch(r.value());
    BOOST_TEST(again.ok(), "mutation " << i << " decoded but does not re-encode: "
                                       << (again.ok() ? "" : again.error().message));
    if (again.ok()) BOOST_TEST(again.value() == m, "mutation " << i << " decoded but re-encodes differently");
  }
  BOOST_TEST_MESSAGE("batch mutations: " << accepted << " accepted, " << rejected << " rejected");
  // Both outcomes occur (text fields such as names accept most changes).
  BOOST_TEST(accepted > 20u);
  BOOST_TEST(rejected > 1000u);
}

BOOST_AUTO_TEST_CASE(unpaids_decode_never_crashes_and_accepts_only_canonical_files) {
  Rng rng(0x89);
  const std::string golden = read_file(kGolden / "unpaids_2.acb");
  size_t accepted = 0, rejected = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string m = mutate(rng, golden);
    Result<AcbUnpaidFile> r = decode_unpaids(m);
    if (!r.ok()) {
      ++rejected;
      BOOST_TEST(r.error().code.rfind("ACB_", 0) == 0u, "code " << r.error().code);
      continue;
    }
    ++accepted;
    Result<std::string> again = encode_unpaids(r.value());
    BOOST_TEST(again.ok(), "mutation " << i << ": " << (again.ok() ? "" : again.error().message));
    if (again.ok()) BOOST_TEST(again.value() == m, "mutation " << i << " re-encodes differently");
  }
  BOOST_TEST_MESSAGE("unpaids mutations: " << accepted << " accepted, " << rejected << " rejected");
  BOOST_TEST(accepted > 10u);
  BOOST_TEST(rejected > 400u);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_refused) {
  // Every proper prefix of a valid file is an error, never a batch.
  const std::string golden = read_file(kGolden / "batch_3_credits.acb");
  for (size_t n = 0; n < golden.size(); ++n) {
    Result<AcbBatch> r = decode_batch(std::string_view(golden).substr(0, n));
    BOOST_TEST(!r.ok(), "prefix of " << n << " bytes accepted");
  }
}

BOOST_AUTO_TEST_SUITE_END()
