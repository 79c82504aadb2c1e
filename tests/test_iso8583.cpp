// ISO 8583 codec, framing and RTC message layer (clearing/iso8583.hpp).
#define BOOST_TEST_MODULE iso8583
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "clearing/iso8583.hpp"
#include "clearing/transport.hpp"
#include "sagas/reason.hpp"
#include "sagas/rng.hpp"

using namespace payengine;
using namespace payengine::clearing::iso8583;
namespace net = payengine::clearing::net;

namespace {
// RTC frames: 2-byte big-endian length (net::FrameHeader::u16).
Result<std::string> frame(std::string_view body) { return net::frame(body, net::FrameHeader::u16); }
constexpr size_t kDefaultMaxFrameBytes = 8 * 1024;  // a reader's bound in these tests
struct Fed {
  std::vector<std::string> bodies;
  std::optional<Error> error;
};
// One read into an RTC frame reader: the bodies it completed and its error.
Fed feed(net::FrameReader& reader, std::string_view bytes) {
  Fed out;
  auto r = reader.feed(bytes, out.bodies);
  if (!r) out.error = r.error();
  return out;
}
net::FrameReader rtc_reader(size_t max_body_bytes = kDefaultMaxFrameBytes) {
  return net::FrameReader(net::FrameHeader::u16, max_body_bytes);
}
}  // namespace

namespace {

// --- helpers ---------------------------------------------------------------

std::filesystem::path golden_dir() {
  return std::filesystem::path(__FILE__).parent_path() / "golden" / "iso8583";
}

// Reads a golden hex file: '#' starts a comment, whitespace is ignored, the
// rest is pairs of hex digits.
std::string load_hex(const std::string& name) {
  std::ifstream in(golden_dir() / name);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot open golden file " << (golden_dir() / name));
  std::string hex, line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    for (char c : line)
      if (!std::isspace(static_cast<unsigned char>(c))) hex += c;
  }
  BOOST_REQUIRE_MESSAGE(hex.size() % 2 == 0, "odd number of hex digits in " << name);
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string to_hex(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// Bytes from integer values, for binary bitmaps.
std::string raw(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

// The bitmap(s) for a set of fields, computed here independently of the
// encoder: bit n is 0x80 >> ((n-1)%8) of byte (n-1)/8; 16 bytes with bit 1
// when a field above 64 is present.
std::string bitmap_for(const std::set<int>& fields) {
  std::string b(16, '\0');
  bool secondary = false;
  for (int n : fields) {
    b[(n - 1) / 8] =
        static_cast<char>(static_cast<unsigned char>(b[(n - 1) / 8]) | (0x80 >> ((n - 1) % 8)));
    if (n > 64) secondary = true;
  }
  if (secondary) b[0] = static_cast<char>(static_cast<unsigned char>(b[0]) | 0x80);
  return secondary ? b : b.substr(0, 8);
}

// Whether the wire bitmap of `bytes` (starting at offset 4) has bit n.
bool wire_bit(const std::string& bytes, int n) {
  return (static_cast<unsigned char>(bytes[4 + (n - 1) / 8]) & (0x80 >> ((n - 1) % 8))) != 0;
}

template <class T>
std::string error_text(const Result<T>& r) {
  return r.ok() ? std::string("<ok>") : r.error().code + ": " + r.error().message;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

constexpr int64_t kGoldenTimeMs = 1'768'379'415'000;  // 2026-01-14T08:30:15Z

RtcCredit golden_credit() {
  RtcCredit c;
  c.stan = 4711;
  c.rrn = "260114004711";
  c.amount = Money{123'456, "ZAR"};
  c.debtor_institution = "250655";
  c.creditor_institution = "632005";
  c.debtor_account = "1234567890";
  c.creditor_account = "9876543210";
  c.terminal_id = "PAYENG01";
  c.transmission_time_ms = kGoldenTimeMs;
  return c;
}

RtcResponse golden_response() { return RtcResponse{4711, "260114004711", "00", "A1B2C3"}; }

std::string random_of_class(Rng& rng, CharClass k, size_t length) {
  static const std::string kDigits = "0123456789";
  static const std::string kAlnum =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (size_t i = 0; i < length; ++i) {
    switch (k) {
      case CharClass::n:
        out += kDigits[rng.uniform(kDigits.size())];
        break;
      case CharClass::an:
        out += kAlnum[rng.uniform(kAlnum.size())];
        break;
      case CharClass::ans:
        out += static_cast<char>(0x20 + rng.uniform(0x7F - 0x20));
        break;
    }
  }
  return out;
}

const std::vector<int> kRtcFieldNumbers = {2,  3,  4,  7,  11, 12,  13,  32,
                                           37, 38, 39, 41, 49, 100, 102, 103};

}  // namespace

// --- goldens ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(golden_0200_encodes_byte_for_byte_and_decodes_back) {
  const std::string golden = load_hex("rtc_0200_credit.hex");
  BOOST_TEST(golden.size() == 127u);

  auto encoded = encode_credit_request(golden_credit(), false);
  BOOST_REQUIRE_MESSAGE(encoded.ok(), error_text(encoded));
  BOOST_TEST(to_hex(encoded.value()) == to_hex(golden));

  auto decoded = decode_credit_request(golden, kGoldenTimeMs);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), error_text(decoded));
  BOOST_TEST(!decoded->repeat);
  BOOST_TEST((decoded->credit == golden_credit()));

  // The generic decoder sees the individual fields as written in the hex.
  auto message = decode(golden);
  BOOST_REQUIRE_MESSAGE(message.ok(), error_text(message));
  const std::map<int, std::string> expected = {
      {3, "400000"},   {4, "000000123456"}, {7, "0114083015"},    {11, "004711"},   {12, "103015"},
      {13, "0114"},    {32, "250655"},      {37, "260114004711"}, {41, "PAYENG01"}, {49, "710"},
      {100, "632005"}, {102, "1234567890"}, {103, "9876543210"}};
  BOOST_TEST(message->mti == "0200");
  BOOST_TEST((message->fields == expected));

  // Framed: 2-byte big-endian length 127 = 0x007F, then the body.
  auto framed = frame(golden);
  BOOST_REQUIRE(framed.ok());
  BOOST_TEST(to_hex(framed.value()) == "007F" + to_hex(golden));
}

BOOST_AUTO_TEST_CASE(golden_0201_repeat_differs_only_in_mti) {
  const std::string golden = load_hex("rtc_0201_repeat.hex");
  const std::string original = load_hex("rtc_0200_credit.hex");
  auto encoded = encode_credit_request(golden_credit(), true);
  BOOST_REQUIRE_MESSAGE(encoded.ok(), error_text(encoded));
  BOOST_TEST(to_hex(encoded.value()) == to_hex(golden));

  BOOST_REQUIRE(golden.size() == original.size());
  for (size_t i = 0; i < golden.size(); ++i)
    if (i != 3) BOOST_TEST(golden[i] == original[i], "byte " << i);
  BOOST_TEST(golden.substr(0, 4) == "0201");

  auto decoded = decode_credit_request(golden, kGoldenTimeMs);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), error_text(decoded));
  BOOST_TEST(decoded->repeat);
  BOOST_TEST((decoded->credit == golden_credit()));
  BOOST_TEST((key_of(decoded->credit) == key_of(golden_credit())));
}

BOOST_AUTO_TEST_CASE(golden_0210_encodes_byte_for_byte_and_decodes_back) {
  const std::string golden = load_hex("rtc_0210_approved.hex");
  BOOST_TEST(golden.size() == 38u);
  auto encoded = encode_credit_response(golden_response());
  BOOST_REQUIRE_MESSAGE(encoded.ok(), error_text(encoded));
  BOOST_TEST(to_hex(encoded.value()) == to_hex(golden));

  auto decoded = decode_credit_response(golden);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), error_text(decoded));
  BOOST_TEST(decoded->stan == 4711u);
  BOOST_TEST(decoded->rrn == "260114004711");
  BOOST_TEST(decoded->response_code == "00");
  BOOST_TEST(decoded->auth_id == "A1B2C3");

  // The caller matches the response to its outstanding request by STAN+RRN.
  std::map<RtcKey, std::string> outstanding = {{key_of(golden_credit()), "payment-1"},
                                               {RtcKey{4711, "260114004712"}, "payment-2"},
                                               {RtcKey{4712, "260114004711"}, "payment-3"}};
  auto it = outstanding.find(key_of(decoded.value()));
  BOOST_REQUIRE(it != outstanding.end());
  BOOST_TEST(it->second == "payment-1");

  auto outcome = map_response_code(decoded->response_code);
  BOOST_REQUIRE(outcome.ok());
  BOOST_TEST((outcome->kind == RtcOutcome::Kind::approved));
}

BOOST_AUTO_TEST_CASE(messages_of_one_kind_are_refused_by_the_decoder_of_another) {
  auto as_response = decode_credit_response(load_hex("rtc_0200_credit.hex"));
  BOOST_TEST(!as_response.ok());
  BOOST_TEST(as_response.error().code == "30");
  BOOST_TEST(as_response.error().message ==
             "MTI at offset 0: 0200 is not a credit response (0210)");

  auto as_request = decode_credit_request(load_hex("rtc_0210_approved.hex"), kGoldenTimeMs);
  BOOST_TEST(!as_request.ok());
  BOOST_TEST(as_request.error().message ==
             "MTI at offset 0: 0210 is not a credit request (0200 or 0201)");
}

// --- field level -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(rtc_field_table_has_the_documented_specs) {
  const FieldTable& t = rtc_fields();
  struct Row {
    int number;
    CharClass chars;
    LengthKind length;
    size_t max;
  };
  const Row rows[] = {
      {2, CharClass::n, LengthKind::llvar, 19},     {3, CharClass::n, LengthKind::fixed, 6},
      {4, CharClass::n, LengthKind::fixed, 12},     {7, CharClass::n, LengthKind::fixed, 10},
      {11, CharClass::n, LengthKind::fixed, 6},     {12, CharClass::n, LengthKind::fixed, 6},
      {13, CharClass::n, LengthKind::fixed, 4},     {32, CharClass::n, LengthKind::llvar, 11},
      {37, CharClass::an, LengthKind::fixed, 12},   {38, CharClass::an, LengthKind::fixed, 6},
      {39, CharClass::an, LengthKind::fixed, 2},    {41, CharClass::ans, LengthKind::fixed, 8},
      {49, CharClass::n, LengthKind::fixed, 3},     {100, CharClass::n, LengthKind::llvar, 11},
      {102, CharClass::ans, LengthKind::llvar, 28}, {103, CharClass::ans, LengthKind::llvar, 28},
  };
  std::set<int> listed;
  for (const Row& r : rows) {
    BOOST_TEST_CONTEXT("field " << r.number) {
      const FieldSpec* s = t.find(r.number);
      BOOST_REQUIRE(s != nullptr);
      BOOST_TEST(s->number == r.number);
      BOOST_TEST((s->chars == r.chars));
      BOOST_TEST((s->length == r.length));
      BOOST_TEST(s->max_length == r.max);
      BOOST_TEST(!s->name.empty());
    }
    listed.insert(r.number);
  }
  for (int n = -1; n <= 130; ++n)
    if (listed.count(n) == 0) BOOST_TEST(t.find(n) == nullptr, "field " << n);
  BOOST_TEST(t.find(1'000'000) == nullptr);
}

BOOST_AUTO_TEST_CASE(field_table_make_refuses_bad_specs) {
  const std::vector<std::pair<FieldSpec, std::string>> bad = {
      {{1, CharClass::n, LengthKind::fixed, 4, "x"}, "field 1"},
      {{0, CharClass::n, LengthKind::fixed, 4, "x"}, "field 0"},
      {{65, CharClass::n, LengthKind::fixed, 4, "x"}, "field 65"},
      {{129, CharClass::n, LengthKind::fixed, 4, "x"}, "field 129"},
      {{4, CharClass::n, LengthKind::fixed, 0, "x"}, "zero length"},
      {{4, CharClass::n, LengthKind::llvar, 100, "x"}, "LLVAR maximum above 99"},
      {{4, CharClass::n, LengthKind::lllvar, 1000, "x"}, "LLLVAR maximum above 999"},
  };
  for (const auto& [spec, text] : bad) {
    auto t = FieldTable::make({spec});
    BOOST_TEST(!t.ok(), text);
    if (!t.ok()) {
      BOOST_TEST(t.error().code == "30");
      BOOST_TEST(contains(t.error().message, text), t.error().message);
    }
  }
  auto twice = FieldTable::make({{4, CharClass::n, LengthKind::fixed, 12, "a"},
                                 {4, CharClass::n, LengthKind::fixed, 12, "b"}});
  BOOST_TEST(!twice.ok());
  if (!twice.ok()) BOOST_TEST(contains(twice.error().message, "given twice"));
  auto good = FieldTable::make({{64, CharClass::ans, LengthKind::lllvar, 999, "x"},
                                {66, CharClass::an, LengthKind::llvar, 99, "y"},
                                {128, CharClass::n, LengthKind::fixed, 1, "z"}});
  BOOST_TEST(good.ok(), error_text(good));
}

BOOST_AUTO_TEST_CASE(bitmap_has_exactly_the_bits_of_the_present_fields) {
  // Each field alone: exactly its bit (and bit 1 for 65..128), nothing else.
  for (int n : kRtcFieldNumbers) {
    BOOST_TEST_CONTEXT("field " << n) {
      const FieldSpec& spec = *rtc_fields().find(n);
      Iso8583Message m{
          "0200", {{n, std::string(spec.max_length, spec.chars == CharClass::ans ? 'x' : '1')}}};
      auto bytes = encode(m);
      BOOST_REQUIRE_MESSAGE(bytes.ok(), error_text(bytes));
      const bool secondary = n > 64;
      const size_t bitmap_bytes = secondary ? 16 : 8;
      BOOST_TEST(to_hex(bytes->substr(4, bitmap_bytes)) == to_hex(bitmap_for({n})));
      int bits = 0;
      for (int b = 1; b <= static_cast<int>(bitmap_bytes) * 8; ++b)
        bits += wire_bit(bytes.value(), b) ? 1 : 0;
      BOOST_TEST(bits == (secondary ? 2 : 1));
      BOOST_TEST(wire_bit(bytes.value(), n));
      BOOST_TEST(wire_bit(bytes.value(), 1) == secondary);
    }
  }
  // No fields at all: MTI and an all-zero primary bitmap.
  auto empty = encode(Iso8583Message{"0800", {}});
  BOOST_REQUIRE(empty.ok());
  BOOST_TEST(to_hex(empty.value()) ==
             "30383030"
             "0000000000000000");
  auto back = decode(empty.value());
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->fields.empty());
}

BOOST_AUTO_TEST_CASE(secondary_bitmap_appears_only_when_a_field_above_64_is_present) {
  auto primary_only = encode(Iso8583Message{"0200", {{3, "400000"}, {49, "710"}}});
  BOOST_REQUIRE(primary_only.ok());
  // "0200" + 8-byte bitmap (bits 3, 49) + "400000" + "710"
  BOOST_TEST(to_hex(primary_only.value()) ==
             "30323030"
             "2000000000008000"
             "343030303030"
             "373130");

  auto with_secondary = encode(Iso8583Message{"0200", {{3, "400000"}, {100, "632005"}}});
  BOOST_REQUIRE(with_secondary.ok());
  // bit 1 + bit 3 = 0xA0; secondary: bit 100 = 0x10 of byte 4.
  BOOST_TEST(to_hex(with_secondary.value()) ==
             "30323030"
             "A000000000000000"
             "0000000010000000"
             "343030303030"
             "3036363332303035");

  auto only_secondary = encode(Iso8583Message{"0200", {{103, "A"}}});
  BOOST_REQUIRE(only_secondary.ok());
  BOOST_TEST(to_hex(only_secondary.value()) ==
             "30323030"
             "8000000000000000"
             "0000000002000000"
             "303141");
}

BOOST_AUTO_TEST_CASE(llvar_fields_carry_a_two_digit_ascii_length) {
  auto pan = encode(Iso8583Message{"0200", {{2, "4111111111111111"}}});
  BOOST_REQUIRE(pan.ok());
  BOOST_TEST(pan->substr(12) == "164111111111111111");

  auto one = encode(Iso8583Message{"0200", {{32, "7"}}});
  BOOST_REQUIRE(one.ok());
  BOOST_TEST(one->substr(12) == "017");

  const std::string acct28(28, 'Z');
  auto max = encode(Iso8583Message{"0200", {{102, acct28}}});
  BOOST_REQUIRE(max.ok());
  BOOST_TEST(max->substr(20) == "28" + acct28);

  auto pan19 = encode(Iso8583Message{"0200", {{2, std::string(19, '9')}}});
  BOOST_REQUIRE(pan19.ok());
  BOOST_TEST(pan19->substr(12, 2) == "19");
  auto back = decode(pan19.value());
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->fields.at(2) == std::string(19, '9'));
}

BOOST_AUTO_TEST_CASE(lllvar_fields_carry_a_three_digit_ascii_length) {
  auto table = FieldTable::make({{4, CharClass::n, LengthKind::fixed, 12, "amount"},
                                 {48, CharClass::ans, LengthKind::lllvar, 200, "additional data"}});
  BOOST_REQUIRE(table.ok());
  const std::string text150(150, 'r');
  auto long_one = encode(Iso8583Message{"0200", {{48, text150}}}, table.value());
  BOOST_REQUIRE_MESSAGE(long_one.ok(), error_text(long_one));
  BOOST_TEST(long_one->substr(12) == "150" + text150);
  auto short_one = encode(Iso8583Message{"0200", {{48, "hello"}}}, table.value());
  BOOST_REQUIRE(short_one.ok());
  BOOST_TEST(short_one->substr(12) == "005hello");
  auto back = decode(short_one.value(), table.value());
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->fields.at(48) == "hello");

  auto too_long = encode(Iso8583Message{"0200", {{48, std::string(201, 'r')}}}, table.value());
  BOOST_TEST(!too_long.ok());
  if (!too_long.ok())
    BOOST_TEST(too_long.error().message ==
               "field 48 (additional data): 201 characters, maximum 200");

  const std::string header = "0200" + bitmap_for({48});
  auto above = decode(header + "201" + std::string(201, 'r'), table.value());
  BOOST_TEST(!above.ok());
  if (!above.ok())
    BOOST_TEST(above.error().message ==
               "field 48 (additional data) at offset 12: length 201 above maximum 200");
  auto zero = decode(header + "000", table.value());
  BOOST_TEST(!zero.ok());
  if (!zero.ok()) BOOST_TEST(contains(zero.error().message, "length 0"));
  auto short_prefix = decode(header + "01", table.value());
  BOOST_TEST(!short_prefix.ok());
  if (!short_prefix.ok())
    BOOST_TEST(
        short_prefix.error().message ==
        "field 48 (additional data) at offset 12: length prefix truncated, need 3 bytes, have 2");
  // The RTC table does not know field 48: a bitmap bit for it is refused.
  auto unknown = decode(header + "005hello");
  BOOST_TEST(!unknown.ok());
  if (!unknown.ok())
    BOOST_TEST(unknown.error().message ==
               "field 48 at offset 9 (bitmap): bit set for a field not in the spec");
}

BOOST_AUTO_TEST_CASE(numeric_fixed_fields_are_zero_padded_on_the_left) {
  auto m = encode(Iso8583Message{"0200", {{4, "123"}, {11, "7"}, {49, "710"}}});
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(m->substr(12) ==
             "000000000123"
             "000007"
             "710");
  auto back = decode(m.value());
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->fields.at(4) == "000000000123");
  BOOST_TEST(back->fields.at(11) == "000007");

  // an/ans fixed fields are not padded: a short value is refused.
  auto short_an = encode(Iso8583Message{"0210", {{38, "AB"}}});
  BOOST_TEST(!short_an.ok());
  if (!short_an.ok())
    BOOST_TEST(short_an.error().message ==
               "field 38 (authorization identification response): 2 characters, fixed length 6 "
               "(only n fields are padded)");
}

BOOST_AUTO_TEST_CASE(encode_refuses_what_the_wire_cannot_carry) {
  struct Case {
    const char* name;
    Iso8583Message message;
    std::string expected_message;
  };
  const std::vector<Case> cases = {
      {"MTI 3 digits", {"200", {}}, "MTI: MTI must be 4 digits, got 3 characters"},
      {"MTI 5 digits", {"02000", {}}, "MTI: MTI must be 4 digits, got 5 characters"},
      {"MTI letter", {"02a0", {}}, "MTI: MTI character 2 is 'a', not a digit"},
      {"MTI version 1", {"1200", {}}, "MTI: MTI version digit is '1', not '0' (ISO 8583:1987)"},
      {"MTI empty", {"", {}}, "MTI: MTI must be 4 digits, got 0 characters"},
      {"field 1 given",
       {"0200", {{1, "x"}}},
       "field 1: the secondary bitmap is written by the encoder, not given as a field"},
      {"unknown field 5", {"0200", {{5, "1"}}}, "field 5: not in the spec"},
      {"unknown field 0", {"0200", {{0, "1"}}}, "field 0: not in the spec"},
      {"unknown field 129", {"0200", {{129, "1"}}}, "field 129: not in the spec"},
      {"unknown field -3", {"0200", {{-3, "1"}}}, "field -3: not in the spec"},
      {"unknown field 65", {"0200", {{65, "1"}}}, "field 65: not in the spec"},
      {"empty value",
       {"0200", {{11, ""}}},
       "field 11 (systems trace audit number): empty (leave an absent field out)"},
      {"amount 13 digits",
       {"0200", {{4, "1234567890123"}}},
       "field 4 (amount, transaction): 13 characters, fixed length 12"},
      {"amount with letter",
       {"0200", {{4, "12a"}}},
       "field 4 (amount, transaction): character 2 'a' is not n (digits)"},
      {"amount with minus",
       {"0200", {{4, "-5"}}},
       "field 4 (amount, transaction): character 0 '-' is not n (digits)"},
      {"amount with space",
       {"0200", {{4, " 5"}}},
       "field 4 (amount, transaction): character 0 ' ' is not n (digits)"},
      {"PAN 20 digits",
       {"0200", {{2, std::string(20, '4')}}},
       "field 2 (primary account number): 20 characters, maximum 19"},
      {"PAN letter",
       {"0200", {{2, "41x1"}}},
       "field 2 (primary account number): character 2 'x' is not n (digits)"},
      {"institution 12 digits",
       {"0200", {{32, "123456789012"}}},
       "field 32 (acquiring institution identification code): 12 characters, maximum 11"},
      {"RRN 11",
       {"0200", {{37, "26011400471"}}},
       "field 37 (retrieval reference number): 11 characters, fixed length 12 (only n fields are "
       "padded)"},
      {"RRN 13",
       {"0200", {{37, "2601140047111"}}},
       "field 37 (retrieval reference number): 13 characters, fixed length 12"},
      {"RRN space",
       {"0200", {{37, "26011400471 "}}},
       "field 37 (retrieval reference number): character 11 ' ' is not an (letters and digits)"},
      {"terminal control char",
       {"0200", {{41, "PAYEN\x01G1"}}},
       "field 41 (card acceptor terminal identification): character 5 0x01 is not ans (printable "
       "ASCII)"},
      {"account non-ASCII",
       {"0200", {{102, "caf\xC3\xA9"}}},
       "field 102 (account identification 1): character 3 0xC3 is not ans (printable ASCII)"},
      {"account DEL",
       {"0200", {{103, "a\x7F"}}},
       "field 103 (account identification 2): character 1 0x7F is not ans (printable ASCII)"},
      {"account 29",
       {"0200", {{103, std::string(29, 'a')}}},
       "field 103 (account identification 2): 29 characters, maximum 28"},
      {"response code 3",
       {"0210", {{39, "000"}}},
       "field 39 (response code): 3 characters, fixed length 2"},
      {"currency letters",
       {"0200", {{49, "ZAR"}}},
       "field 49 (currency code, transaction): character 0 'Z' is not n (digits)"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto r = encode(c.message);
      BOOST_TEST(!r.ok());
      if (!r.ok()) {
        BOOST_TEST(r.error().code == "30");
        BOOST_TEST(r.error().message == c.expected_message);
      }
    }
  }
}

// --- malformed input ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(decode_refuses_malformed_messages_naming_field_and_offset) {
  const std::string mti = "0200";
  struct Case {
    const char* name;
    std::string bytes;
    std::string expected_message;
  };
  const std::vector<Case> cases = {
      {"empty", "", "MTI at offset 0: truncated, need 4 bytes, have 0"},
      {"MTI truncated", "020", "MTI at offset 0: truncated, need 4 bytes, have 3"},
      {"MTI non-digit", "02X0" + bitmap_for({11}) + "000001",
       "MTI at offset 0: MTI character 2 is 'X', not a digit"},
      {"MTI version", "2200" + bitmap_for({11}) + "000001",
       "MTI at offset 0: MTI version digit is '2', not '0' (ISO 8583:1987)"},
      {"primary bitmap truncated", mti + raw({0x00, 0x20, 0, 0, 0}),
       "primary bitmap at offset 4: truncated, need 8 bytes, have 5"},
      {"secondary flagged, missing", mti + raw({0x80, 0, 0, 0, 0, 0, 0, 0}),
       "secondary bitmap at offset 12: truncated, bit 1 of the primary bitmap is set but only 0 of "
       "its 8 bytes follow"},
      {"secondary flagged, partial", mti + raw({0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
       "secondary bitmap at offset 12: truncated, bit 1 of the primary bitmap is set but only 3 of "
       "its 8 bytes follow"},
      {"secondary with no bit",
       mti + raw({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) + "400000",
       "secondary bitmap at offset 12: present but no field 65..128 is set"},
      {"bit for field 5", mti + bitmap_for({5}) + "1",
       "field 5 at offset 4 (bitmap): bit set for a field not in the spec"},
      {"bit for field 64 (MAC)", mti + bitmap_for({11, 64}) + "000001" + "12345678",
       "field 64 at offset 11 (bitmap): bit set for a field not in the spec"},
      {"bit for field 65", mti + bitmap_for({65, 100}) + "06632005",
       "field 65 at offset 12 (bitmap): bit set for a field not in the spec"},
      {"bit for field 128 (MAC)", mti + bitmap_for({100, 128}) + "06632005" + "12345678",
       "field 128 at offset 19 (bitmap): bit set for a field not in the spec"},
      {"fixed field truncated", mti + bitmap_for({4}) + "00000",
       "field 4 (amount, transaction) at offset 12: data truncated, need 12 bytes at offset 12, "
       "have 5"},
      {"fixed field absent entirely", mti + bitmap_for({3, 4}) + "400000",
       "field 4 (amount, transaction) at offset 18: data truncated, need 12 bytes at offset 18, "
       "have 0"},
      {"LL prefix truncated", mti + bitmap_for({2}) + "1",
       "field 2 (primary account number) at offset 12: length prefix truncated, need 2 bytes, have "
       "1"},
      {"LL prefix non-digit", mti + bitmap_for({2}) + "1A4111111111",
       "field 2 (primary account number) at offset 13: length prefix byte 'A' is not a digit"},
      {"LL prefix binary", mti + bitmap_for({2}) + raw({0x01, 0x06}) + "411111",
       "field 2 (primary account number) at offset 12: length prefix byte 0x01 is not a digit"},
      {"LL above maximum", mti + bitmap_for({2}) + "20" + std::string(20, '4'),
       "field 2 (primary account number) at offset 12: length 20 above maximum 19"},
      {"LL above maximum, secondary field", mti + bitmap_for({100}) + "12" + std::string(12, '6'),
       "field 100 (receiving institution identification code) at offset 20: length 12 above "
       "maximum 11"},
      {"LL zero", mti + bitmap_for({2}) + "00",
       "field 2 (primary account number) at offset 12: length 0 (a present field carries data)"},
      {"LL data short", mti + bitmap_for({2}) + "16" + "4111",
       "field 2 (primary account number) at offset 12: data truncated, need 16 bytes at offset 14, "
       "have 4"},
      {"non-digit in n field", mti + bitmap_for({3, 4}) + "400000" + "00000000012X",
       "field 4 (amount, transaction) at offset 29: byte 'X' is not n (digits)"},
      {"non-digit in LLVAR n field", mti + bitmap_for({32}) + "06" + "25065A",
       "field 32 (acquiring institution identification code) at offset 19: byte 'A' is not n "
       "(digits)"},
      {"space in an field", mti + bitmap_for({37}) + "26011400471 ",
       "field 37 (retrieval reference number) at offset 23: byte ' ' is not an (letters and "
       "digits)"},
      {"control byte in ans field", mti + bitmap_for({41}) + "PAYEN" + raw({0x01}) + "G1",
       "field 41 (card acceptor terminal identification) at offset 17: byte 0x01 is not ans "
       "(printable ASCII)"},
      {"non-ASCII in ans LLVAR field", mti + bitmap_for({102}) + "03" + "a\xC3\xA9",
       "field 102 (account identification 1) at offset 23: byte 0xC3 is not ans (printable ASCII)"},
      {"trailing bytes", mti + bitmap_for({11}) + "004711" + "X",
       "trailing bytes at offset 18: 1 bytes after the last field (field 11)"},
      {"trailing bytes, no fields", mti + bitmap_for({}) + "00",
       "trailing bytes at offset 12: 2 bytes after the last field (the bitmap)"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto r = decode(c.bytes);
      BOOST_TEST(!r.ok());
      if (!r.ok()) {
        BOOST_TEST(r.error().code == "30");
        BOOST_TEST(r.error().message == c.expected_message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(every_truncation_of_the_goldens_is_refused) {
  for (const char* name : {"rtc_0200_credit.hex", "rtc_0201_repeat.hex", "rtc_0210_approved.hex"}) {
    const std::string golden = load_hex(name);
    for (size_t n = 0; n < golden.size(); ++n) {
      BOOST_TEST_CONTEXT(name << " cut to " << n << " bytes") {
        auto r = decode(golden.substr(0, n));
        BOOST_TEST(!r.ok());
        if (!r.ok()) {
          BOOST_TEST(r.error().code == "30");
          BOOST_TEST(contains(r.error().message, "truncated"), r.error().message);
        }
      }
    }
    // And one byte too many.
    auto longer = decode(golden + "0");
    BOOST_TEST(!longer.ok());
    if (!longer.ok())
      BOOST_TEST(contains(longer.error().message,
                          "trailing bytes at offset " + std::to_string(golden.size())),
                 longer.error().message);
  }
}

// --- round trip --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(random_messages_round_trip) {
  Rng rng(8583);
  int with_secondary = 0, padded = 0;
  for (int iteration = 0; iteration < 500; ++iteration) {
    Iso8583Message m;
    m.mti = "0" + random_of_class(rng, CharClass::n, 3);
    Iso8583Message canonical;
    canonical.mti = m.mti;
    for (int n : kRtcFieldNumbers) {
      if (rng.uniform(3) != 0) continue;
      const FieldSpec& spec = *rtc_fields().find(n);
      size_t length = spec.max_length;
      if (spec.length != LengthKind::fixed)
        length = 1 + rng.uniform(spec.max_length);
      else if (spec.chars == CharClass::n && rng.uniform(4) == 0)
        length = 1 + rng.uniform(spec.max_length);
      std::string value = random_of_class(rng, spec.chars, length);
      m.fields[n] = value;
      if (spec.length == LengthKind::fixed && value.size() < spec.max_length) {
        value.insert(0, spec.max_length - value.size(), '0');
        ++padded;
      }
      canonical.fields[n] = value;
    }
    BOOST_TEST_CONTEXT("iteration " << iteration) {
      auto bytes = encode(m);
      BOOST_REQUIRE_MESSAGE(bytes.ok(), error_text(bytes));
      bool secondary = !m.fields.empty() && m.fields.rbegin()->first > 64;
      with_secondary += secondary ? 1 : 0;
      BOOST_TEST(wire_bit(bytes.value(), 1) == secondary);
      for (int n = 2; n <= (secondary ? 128 : 64); ++n)
        BOOST_TEST(wire_bit(bytes.value(), n) == (m.fields.count(n) == 1), "bit " << n);
      auto back = decode(bytes.value());
      BOOST_REQUIRE_MESSAGE(back.ok(), error_text(back));
      BOOST_TEST((back.value() == canonical));
      auto again = encode(back.value());
      BOOST_REQUIRE(again.ok());
      BOOST_TEST(again.value() == bytes.value());
    }
  }
  // The generator exercised both layouts and the padding.
  BOOST_TEST(with_secondary > 50);
  BOOST_TEST(padded > 50);
}

BOOST_AUTO_TEST_CASE(random_credits_round_trip_through_0200_and_0201) {
  Rng rng(710);
  for (int iteration = 0; iteration < 300; ++iteration) {
    RtcCredit c;
    c.stan = static_cast<uint32_t>(rng.uniform(1'000'000));
    c.rrn = random_of_class(rng, CharClass::an, 12);
    c.amount = Money{1 + static_cast<int64_t>(rng.uniform(999'999'999'999)), "ZAR"};
    c.debtor_institution = random_of_class(rng, CharClass::n, 1 + rng.uniform(11));
    c.creditor_institution = random_of_class(rng, CharClass::n, 1 + rng.uniform(11));
    c.debtor_account = random_of_class(rng, CharClass::ans, 1 + rng.uniform(28));
    c.creditor_account = random_of_class(rng, CharClass::ans, 1 + rng.uniform(28));
    c.terminal_id = random_of_class(rng, CharClass::ans, 8);
    c.transmission_time_ms = static_cast<int64_t>(rng.uniform(kMaxTransmissionTimeMs + 1));
    const bool repeat = rng.uniform(2) == 1;
    BOOST_TEST_CONTEXT("iteration " << iteration << " time " << c.transmission_time_ms) {
      auto bytes = encode_credit_request(c, repeat);
      BOOST_REQUIRE_MESSAGE(bytes.ok(), error_text(bytes));
      BOOST_TEST(bytes->substr(0, 4) == (repeat ? "0201" : "0200"));
      // Decoded "now" within a few months of the transmission time.
      int64_t now = c.transmission_time_ms +
                    static_cast<int64_t>(rng.uniform(2 * 90 * 86'400'000LL)) - 90 * 86'400'000LL;
      now = std::max<int64_t>(0, std::min(now, kMaxTransmissionTimeMs));
      auto back = decode_credit_request(bytes.value(), now);
      BOOST_REQUIRE_MESSAGE(back.ok(), error_text(back));
      RtcCredit expected = c;
      expected.transmission_time_ms -=
          expected.transmission_time_ms % 1000;  // whole seconds travel
      BOOST_TEST((back->credit == expected));
      BOOST_TEST(back->repeat == repeat);

      RtcResponse response{c.stan, c.rrn, rng.uniform(2) ? "00" : "51", ""};
      if (response.response_code == "00" || rng.uniform(2))
        response.auth_id = random_of_class(rng, CharClass::an, 6);
      auto rbytes = encode_credit_response(response);
      BOOST_REQUIRE_MESSAGE(rbytes.ok(), error_text(rbytes));
      auto rback = decode_credit_response(rbytes.value());
      BOOST_REQUIRE_MESSAGE(rback.ok(), error_text(rback));
      BOOST_TEST((rback.value() == response));
      BOOST_TEST((key_of(rback.value()) == key_of(c)));
    }
  }
}

// --- RTC layer ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(transmission_time_renders_utc_and_sast) {
  // 2025-12-31T23:30:00Z is 2026-01-01 01:30:00 in SAST.
  RtcCredit c = golden_credit();
  c.transmission_time_ms = 1'767'223'800'000;
  auto bytes = encode_credit_request(c, false);
  BOOST_REQUIRE(bytes.ok());
  auto m = decode(bytes.value());
  BOOST_REQUIRE(m.ok());
  BOOST_TEST(m->fields.at(7) == "1231233000");
  BOOST_TEST(m->fields.at(12) == "013000");
  BOOST_TEST(m->fields.at(13) == "0101");

  // Epoch zero and the last representable second.
  c.transmission_time_ms = 0;
  auto epoch = decode(encode_credit_request(c, false).value());
  BOOST_REQUIRE(epoch.ok());
  BOOST_TEST(epoch->fields.at(7) == "0101000000");
  BOOST_TEST(epoch->fields.at(12) == "020000");
  c.transmission_time_ms = kMaxTransmissionTimeMs;
  auto last = decode(encode_credit_request(c, false).value());
  BOOST_REQUIRE(last.ok());
  BOOST_TEST(last->fields.at(7) == "1231235959");
  BOOST_TEST(last->fields.at(13) == "0101");

  // Sub-second precision does not travel.
  c.transmission_time_ms = kGoldenTimeMs + 999;
  auto rounded = decode_credit_request(encode_credit_request(c, false).value(), kGoldenTimeMs);
  BOOST_REQUIRE(rounded.ok());
  BOOST_TEST(rounded->credit.transmission_time_ms == kGoldenTimeMs);
}

BOOST_AUTO_TEST_CASE(field_7_year_is_the_one_nearest_now) {
  RtcCredit c = golden_credit();
  // Sent 10 s before the new year, received 30 s after it: last year.
  c.transmission_time_ms = 1'767'225'590'000;  // 2025-12-31T23:59:50Z
  auto across = decode_credit_request(encode_credit_request(c, false).value(), 1'767'225'630'000);
  BOOST_REQUIRE_MESSAGE(across.ok(), error_text(across));
  BOOST_TEST(across->credit.transmission_time_ms == 1'767'225'590'000);

  // Sent 10 s after the new year by a clock ahead of the receiver's.
  c.transmission_time_ms = 1'767'225'610'000;  // 2026-01-01T00:00:10Z
  auto ahead = decode_credit_request(encode_credit_request(c, false).value(), 1'767'225'540'000);
  BOOST_REQUIRE_MESSAGE(ahead.ok(), error_text(ahead));
  BOOST_TEST(ahead->credit.transmission_time_ms == 1'767'225'610'000);

  // 29 February exists only in leap years.
  c.transmission_time_ms = 1'835'438'400'000;  // 2028-02-29T12:00:00Z
  auto bytes = encode_credit_request(c, false).value();
  auto leap = decode_credit_request(bytes, 1'835'481'600'000);  // 2028-03-01T00:00:00Z
  BOOST_REQUIRE_MESSAGE(leap.ok(), error_text(leap));
  BOOST_TEST(leap->credit.transmission_time_ms == 1'835'438'400'000);
  auto no_leap =
      decode_credit_request(bytes, 1'780'272'000'000);  // 2026-06-01: 2025..2027 have no 29 Feb
  BOOST_TEST(!no_leap.ok());
  if (!no_leap.ok())
    BOOST_TEST(no_leap.error().message ==
               "field 7 (transmission date and time) at offset 38: 0229120000 is not a valid date "
               "within a year of now");

  auto bad_now = decode_credit_request(load_hex("rtc_0200_credit.hex"), -1);
  BOOST_TEST(!bad_now.ok());
}

BOOST_AUTO_TEST_CASE(encode_credit_request_refuses_out_of_range_values) {
  struct Case {
    const char* name;
    std::function<void(RtcCredit&)> mutate;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"STAN 1000000", [](RtcCredit& c) { c.stan = 1'000'000; }, "30", "field 11 "},
      {"RRN 11", [](RtcCredit& c) { c.rrn = "26011400471"; }, "30", "field 37 "},
      {"RRN dash", [](RtcCredit& c) { c.rrn = "2601-4004711"; }, "30", "field 37 "},
      {"USD", [](RtcCredit& c) { c.amount.currency = "USD"; }, "30", "field 49 "},
      {"currency empty", [](RtcCredit& c) { c.amount.currency = ""; }, "30", "field 49 "},
      {"amount zero", [](RtcCredit& c) { c.amount.amount_minor = 0; }, "13", "field 4 "},
      {"amount negative", [](RtcCredit& c) { c.amount.amount_minor = -100; }, "13", "field 4 "},
      {"amount 13 digits", [](RtcCredit& c) { c.amount.amount_minor = 1'000'000'000'000; }, "13",
       "field 4 "},
      {"debtor institution letters", [](RtcCredit& c) { c.debtor_institution = "25065A"; }, "30",
       "field 32 "},
      {"debtor institution empty", [](RtcCredit& c) { c.debtor_institution = ""; }, "30",
       "field 32 "},
      {"creditor institution 12", [](RtcCredit& c) { c.creditor_institution = "123456789012"; },
       "30", "field 100 "},
      {"debtor account 29", [](RtcCredit& c) { c.debtor_account = std::string(29, '1'); }, "30",
       "field 102 "},
      {"creditor account empty", [](RtcCredit& c) { c.creditor_account = ""; }, "30", "field 103 "},
      {"creditor account newline", [](RtcCredit& c) { c.creditor_account = "98765\n"; }, "30",
       "field 103 "},
      {"terminal 7", [](RtcCredit& c) { c.terminal_id = "PAYENG1"; }, "30", "field 41 "},
      {"time negative", [](RtcCredit& c) { c.transmission_time_ms = -1; }, "30", "field 7 "},
      {"time year 10000", [](RtcCredit& c) { c.transmission_time_ms = kMaxTransmissionTimeMs + 1; },
       "30", "field 7 "},
  };
  for (const Case& k : cases) {
    BOOST_TEST_CONTEXT(k.name) {
      RtcCredit c = golden_credit();
      k.mutate(c);
      auto r = encode_credit_request(c, false);
      BOOST_TEST(!r.ok());
      if (!r.ok()) {
        BOOST_TEST(r.error().code == k.code);
        BOOST_TEST(r.error().message.rfind(k.field, 0) == 0u, r.error().message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(decode_credit_request_is_strict) {
  const Iso8583Message golden = decode(load_hex("rtc_0200_credit.hex")).value();
  struct Case {
    const char* name;
    std::function<void(Iso8583Message&)> mutate;
    std::string code;
    std::string expected_message;
  };
  const std::vector<Case> cases = {
      {"MTI 0400", [](Iso8583Message& m) { m.mti = "0400"; }, "30",
       "MTI at offset 0: 0400 is not a credit request (0200 or 0201)"},
      {"field 103 missing", [](Iso8583Message& m) { m.fields.erase(103); }, "30",
       "field 103 (account identification 2): missing from a credit request"},
      {"field 11 missing", [](Iso8583Message& m) { m.fields.erase(11); }, "30",
       "field 11 (systems trace audit number): missing from a credit request"},
      {"field 39 present", [](Iso8583Message& m) { m.fields[39] = "00"; }, "30",
       "field 39 (response code) at offset 84: not allowed in a credit request"},
      {"field 2 present", [](Iso8583Message& m) { m.fields[2] = "4111"; }, "30",
       "field 2 (primary account number) at offset 20: not allowed in a credit request"},
      {"processing code", [](Iso8583Message& m) { m.fields[3] = "000000"; }, "12",
       "field 3 (processing code) at offset 20: 000000 is not 400000 (credit transfer)"},
      {"currency USD", [](Iso8583Message& m) { m.fields[49] = "840"; }, "12",
       "field 49 (currency code, transaction) at offset 92: 840 is not 710 (ZAR)"},
      {"amount zero", [](Iso8583Message& m) { m.fields[4] = "000000000000"; }, "13",
       "field 4 (amount, transaction) at offset 26: amount is zero"},
      {"month 13", [](Iso8583Message& m) { m.fields[7] = "1314083015"; }, "30",
       "field 7 (transmission date and time) at offset 38: 1314083015 is not a valid MMDDhhmmss"},
      {"month 00", [](Iso8583Message& m) { m.fields[7] = "0014083015"; }, "30",
       "field 7 (transmission date and time) at offset 38: 0014083015 is not a valid MMDDhhmmss"},
      {"day 32", [](Iso8583Message& m) { m.fields[7] = "0132083015"; }, "30",
       "field 7 (transmission date and time) at offset 38: 0132083015 is not a valid MMDDhhmmss"},
      {"31 February", [](Iso8583Message& m) { m.fields[7] = "0231083015"; }, "30",
       "field 7 (transmission date and time) at offset 38: 0231083015 is not a valid date within a "
       "year of now"},
      {"hour 24", [](Iso8583Message& m) { m.fields[7] = "0114243015"; }, "30",
       "field 7 (transmission date and time) at offset 38: 0114243015 is not a valid MMDDhhmmss"},
      {"second 60", [](Iso8583Message& m) { m.fields[7] = "0114083060"; }, "30",
       "field 7 (transmission date and time) at offset 38: 0114083060 is not a valid MMDDhhmmss"},
      {"local time in UTC", [](Iso8583Message& m) { m.fields[12] = "083015"; }, "30",
       "field 12 (time, local transaction) at offset 54: 083015 is not field 7 in SAST (103015)"},
      {"local date off by one", [](Iso8583Message& m) { m.fields[13] = "0115"; }, "30",
       "field 13 (date, local transaction) at offset 60: 0115 is not field 7 in SAST (0114)"},
  };
  for (const Case& k : cases) {
    BOOST_TEST_CONTEXT(k.name) {
      Iso8583Message m = golden;
      k.mutate(m);
      auto bytes = encode(m);
      BOOST_REQUIRE_MESSAGE(bytes.ok(), error_text(bytes));
      auto r = decode_credit_request(bytes.value(), kGoldenTimeMs);
      BOOST_TEST(!r.ok());
      if (!r.ok()) {
        BOOST_TEST(r.error().code == k.code);
        BOOST_TEST(r.error().message == k.expected_message);
      }
    }
  }
  // Generic format errors come through unchanged.
  auto garbage = decode_credit_request("0200", kGoldenTimeMs);
  BOOST_TEST(!garbage.ok());
  if (!garbage.ok())
    BOOST_TEST(garbage.error().message ==
               "primary bitmap at offset 4: truncated, need 8 bytes, have 0");
}

BOOST_AUTO_TEST_CASE(responses_approval_needs_an_auth_id_and_fields_are_checked) {
  // A decline may leave field 38 out; the bitmap then has 11, 37, 39 only.
  RtcResponse decline{4711, "260114004711", "51", ""};
  auto bytes = encode_credit_response(decline);
  BOOST_REQUIRE(bytes.ok());
  BOOST_TEST(to_hex(bytes->substr(0, 12)) ==
             "30323130"
             "002000000A000000");
  auto back = decode_credit_response(bytes.value());
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((back.value() == decline));

  struct Case {
    const char* name;
    RtcResponse response;
    std::string expected_message;
  };
  const std::vector<Case> cases = {
      {"approval without auth id",
       {4711, "260114004711", "00", ""},
       "field 38 (authorization identification response): required with response code 00"},
      {"STAN 1000000",
       {1'000'000, "260114004711", "51", ""},
       "field 11 (systems trace audit number): 1000000 is not below 1000000"},
      {"RRN short",
       {4711, "2601140047", "51", ""},
       "field 37 (retrieval reference number): must be 12 letters/digits"},
      {"response code 1 char",
       {4711, "260114004711", "5", ""},
       "field 39 (response code): must be 2 letters/digits"},
      {"response code space",
       {4711, "260114004711", "5 ", ""},
       "field 39 (response code): must be 2 letters/digits"},
      {"auth id 5",
       {4711, "260114004711", "00", "A1B2C"},
       "field 38 (authorization identification response): must be empty or 6 letters/digits"},
  };
  for (const Case& k : cases) {
    BOOST_TEST_CONTEXT(k.name) {
      auto r = encode_credit_response(k.response);
      BOOST_TEST(!r.ok());
      if (!r.ok()) {
        BOOST_TEST(r.error().code == "30");
        BOOST_TEST(r.error().message == k.expected_message);
      }
    }
  }

  // Decoder side, messages built with the generic encoder.
  struct DecodeCase {
    const char* name;
    Iso8583Message message;
    std::string expected_message;
  };
  const std::vector<DecodeCase> decode_cases = {
      {"approval without 38",
       {"0210", {{11, "004711"}, {37, "260114004711"}, {39, "00"}}},
       "field 39 (response code) at offset 30: approval (00) without field 38 (authorization "
       "identification response)"},
      {"missing RRN",
       {"0210", {{11, "004711"}, {39, "51"}}},
       "field 37 (retrieval reference number): missing from a credit response"},
      {"extra amount",
       {"0210", {{4, "000000123456"}, {11, "004711"}, {37, "260114004711"}, {39, "51"}}},
       "field 4 (amount, transaction) at offset 12: not allowed in a credit response"},
      {"MTI 0110",
       {"0110", {{11, "004711"}, {37, "260114004711"}, {39, "51"}}},
       "MTI at offset 0: 0110 is not a credit response (0210)"},
  };
  for (const DecodeCase& k : decode_cases) {
    BOOST_TEST_CONTEXT(k.name) {
      auto wire = encode(k.message);
      BOOST_REQUIRE(wire.ok());
      auto r = decode_credit_response(wire.value());
      BOOST_TEST(!r.ok());
      if (!r.ok()) {
        BOOST_TEST(r.error().code == "30");
        BOOST_TEST(r.error().message == k.expected_message);
      }
    }
  }

  // An unknown response code decodes (the codec does not interpret it); the
  // mapping refuses it.
  auto odd = decode_credit_response(
      encode(Iso8583Message{"0210", {{11, "000001"}, {37, "ABCDEFGHIJKL"}, {39, "Q7"}}}).value());
  BOOST_REQUIRE(odd.ok());
  BOOST_TEST(odd->response_code == "Q7");
  BOOST_TEST(!map_response_code(odd->response_code).ok());
}

// --- response codes ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_mapped_response_code_and_unknown_ones) {
  using K = RtcOutcome::Kind;
  struct Row {
    const char* code;
    K kind;
    std::string_view reason;
  };
  const Row rows[] = {
      {"00", K::approved, ""},
      {"05", K::rejected, reason::MS03},
      {"12", K::rejected, reason::AG01},
      {"13", K::rejected, reason::AM12},
      {"14", K::rejected, reason::AC01},
      {"30", K::rejected, reason::FF01},
      {"51", K::rejected, reason::AM04},
      {"57", K::rejected, reason::AG01},
      {"58", K::rejected, reason::AG01},
      {"61", K::rejected, reason::AM14},
      {"62", K::rejected, reason::AC06},
      {"65", K::rejected, reason::AM14},
      {"68", K::transient, reason::AB05},
      {"78", K::rejected, reason::AC04},
      {"91", K::transient, reason::AB08},
      {"92", K::rejected, reason::RC04},
      {"94", K::duplicate, reason::DUPL},
      {"96", K::transient, reason::AB09},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT("code " << row.code) {
      auto r = map_response_code(row.code);
      BOOST_REQUIRE_MESSAGE(r.ok(), error_text(r));
      BOOST_TEST(static_cast<int>(r->kind) == static_cast<int>(row.kind));
      BOOST_TEST(r->reason_code == std::string(row.reason));
    }
  }
  // The codec's own error codes map to what they mean.
  const std::pair<std::string_view, std::string> own[] = {
      {kFormatError, "FF01"}, {kInvalidAmount, "AM12"}, {kInvalidTransaction, "AG01"}};
  for (const auto& [code, expected] : own) {
    auto r = map_response_code(code);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->reason_code == expected);
  }

  const std::vector<std::string> unknowns = {
      "01", "06", "99", "1A", "", "0", "000", "00 ", std::string("\x01\x02", 2)};
  for (const std::string& unknown : unknowns) {
    BOOST_TEST_CONTEXT("unknown code '" << unknown << "'") {
      auto r = map_response_code(unknown);
      BOOST_TEST(!r.ok());
      if (!r.ok()) {
        BOOST_TEST(r.error().code == "30");
        BOOST_TEST(contains(r.error().message, "is not a known RTC response code"));
      }
    }
  }
  auto shown = map_response_code("99");
  BOOST_TEST(shown.error().message ==
             "field 39 (response code): '99' is not a known RTC response code");
}

// --- framing -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(frame_prefixes_a_big_endian_length) {
  BOOST_TEST(to_hex(frame("").value()) == "0000");
  BOOST_TEST(to_hex(frame("AB").value()) == "00024142");
  const std::string body300(300, 'x');
  BOOST_TEST(to_hex(frame(body300).value().substr(0, 2)) == "012C");
  BOOST_TEST(frame(std::string(65535, 'x')).ok());
  auto too_big = frame(std::string(65536, 'x'));
  BOOST_TEST(!too_big.ok());
  if (!too_big.ok()) {
    BOOST_TEST(too_big.error().code == "FRAME_TOO_LONG");
    BOOST_TEST(too_big.error().message == "frame: body of 65536 bytes, maximum 65535");
  }
}

BOOST_AUTO_TEST_CASE(frame_reader_one_byte_at_a_time) {
  const std::vector<std::string> bodies = {load_hex("rtc_0200_credit.hex"),
                                           load_hex("rtc_0210_approved.hex"), "",
                                           std::string(300, 'z')};
  std::string stream;
  for (const auto& b : bodies) stream += frame(b).value();
  auto reader = rtc_reader();
  std::vector<std::string> got;
  for (char c : stream) {
    auto out = feed(reader, std::string_view(&c, 1));
    BOOST_REQUIRE(!out.error);
    for (auto& b : out.bodies) got.push_back(std::move(b));
    BOOST_TEST(reader.buffered() <= 2 + kDefaultMaxFrameBytes);
  }
  BOOST_TEST((got == bodies));
  BOOST_TEST(reader.buffered() == 0u);
  auto decoded = decode_credit_request(got[0], kGoldenTimeMs);
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST((decoded->credit == golden_credit()));
}

BOOST_AUTO_TEST_CASE(frame_reader_several_frames_in_one_read_and_split_frames) {
  const std::vector<std::string> bodies = {"first", "second body", "3"};
  std::string stream;
  for (const auto& b : bodies) stream += frame(b).value();

  auto all_at_once = rtc_reader();
  auto out = feed(all_at_once, stream);
  BOOST_TEST(!out.error);
  BOOST_TEST((out.bodies == bodies));

  // Every split point of the stream into two reads gives the same bodies.
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    BOOST_TEST_CONTEXT("cut at " << cut) {
      auto reader = rtc_reader();
      auto a = feed(reader, std::string_view(stream).substr(0, cut));
      auto b = feed(reader, std::string_view(stream).substr(cut));
      BOOST_TEST(!a.error);
      BOOST_TEST(!b.error);
      std::vector<std::string> got = a.bodies;
      got.insert(got.end(), b.bodies.begin(), b.bodies.end());
      BOOST_TEST((got == bodies));
    }
  }

  // A frame split in its header: nothing yet, then the body.
  auto reader = rtc_reader();
  auto half = feed(reader, std::string("\x00", 1));
  BOOST_TEST(half.bodies.empty());
  BOOST_TEST(reader.buffered() == 1u);
  auto rest =
      feed(reader, std::string("\x03"
                              "abc",
                              4));
  BOOST_TEST((rest.bodies == std::vector<std::string>{"abc"}));

  // Random chunking of a longer stream, fixed seed.
  Rng rng(42);
  std::vector<std::string> many;
  std::string long_stream;
  for (int i = 0; i < 60; ++i) {
    many.push_back(random_of_class(rng, CharClass::ans, rng.uniform(700)));
    long_stream += frame(many.back()).value();
  }
  auto chunked = rtc_reader();
  std::vector<std::string> got;
  for (size_t pos = 0; pos < long_stream.size();) {
    size_t n = std::min<size_t>(1 + rng.uniform(900), long_stream.size() - pos);
    auto o = feed(chunked, std::string_view(long_stream).substr(pos, n));
    BOOST_REQUIRE(!o.error);
    got.insert(got.end(), o.bodies.begin(), o.bodies.end());
    pos += n;
  }
  BOOST_TEST((got == many));
}

BOOST_AUTO_TEST_CASE(frame_reader_refuses_an_oversized_frame_and_stays_failed) {
  // Exactly the maximum is fine.
  auto at_max = rtc_reader();
  auto ok = feed(at_max, frame(std::string(kDefaultMaxFrameBytes, 'm')).value());
  BOOST_TEST(!ok.error);
  BOOST_REQUIRE(ok.bodies.size() == 1u);
  BOOST_TEST(ok.bodies[0].size() == kDefaultMaxFrameBytes);

  // One above: refused at the header, before buffering any of the body; the
  // frame completed before it in the same read is still delivered.
  auto reader = rtc_reader();
  std::string stream = frame("good").value() + std::string("\x20\x01", 2) + std::string(100, 'x');
  auto out = feed(reader, stream);
  BOOST_TEST((out.bodies == std::vector<std::string>{"good"}));
  BOOST_REQUIRE(out.error.has_value());
  BOOST_TEST(out.error->code == "FRAME_TOO_LONG");
  BOOST_TEST(out.error->message == "frame at stream offset 6: length 8193 above maximum 8192");
  BOOST_TEST(reader.failed());
  BOOST_TEST(reader.buffered() == 0u);
  auto later = feed(reader, frame("more").value());
  BOOST_TEST(later.bodies.empty());
  BOOST_REQUIRE(later.error.has_value());
  BOOST_TEST(later.error->message == out.error->message);

  // A configured maximum, and the largest header value.
  auto small = rtc_reader(16);
  auto big = feed(small, frame(std::string(17, 'x')).value());
  BOOST_TEST(big.bodies.empty());
  BOOST_REQUIRE(big.error.has_value());
  BOOST_TEST(big.error->message == "frame at stream offset 0: length 17 above maximum 16");
  auto huge = rtc_reader();
  auto ffff = feed(huge, std::string("\xFF\xFF", 2));
  BOOST_REQUIRE(ffff.error.has_value());
  BOOST_TEST(ffff.error->message == "frame at stream offset 0: length 65535 above maximum 8192");
}

// --- mutation ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(mutated_messages_never_crash_and_decode_only_to_what_reencodes) {
  const std::vector<std::string> seeds = {load_hex("rtc_0200_credit.hex"),
                                          load_hex("rtc_0201_repeat.hex"),
                                          load_hex("rtc_0210_approved.hex")};
  Rng rng(20260114);
  int generic_ok = 0, generic_err = 0, request_ok = 0, response_ok = 0;
  auto mutate_once = [&](std::string& s) {
    const size_t size = s.size();
    switch (rng.uniform(7)) {
      case 0:  // flip one bit
        if (size) s[rng.uniform(size)] ^= static_cast<char>(1 << rng.uniform(8));
        break;
      case 1:  // any byte
        if (size) s[rng.uniform(size)] = static_cast<char>(rng.uniform(256));
        break;
      case 2:  // a digit: often still well formed
        if (size) s[rng.uniform(size)] = static_cast<char>('0' + rng.uniform(10));
        break;
      case 3:  // truncate
        s.resize(rng.uniform(size + 1));
        break;
      case 4:  // insert a byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(rng.uniform(size + 1)),
                 static_cast<char>(rng.uniform(256)));
        break;
      case 5:  // delete a byte
        if (size) s.erase(rng.uniform(size), 1);
        break;
      case 6: {  // duplicate a short slice
        if (!size) break;
        size_t from = rng.uniform(size);
        size_t len = 1 + rng.uniform(std::min<size_t>(16, size - from));
        s.insert(rng.uniform(size + 1), s.substr(from, len));
        break;
      }
    }
  };
  for (int i = 0; i < 2000; ++i) {
    std::string s = seeds[rng.uniform(seeds.size())];
    const int rounds = 1 + static_cast<int>(rng.uniform(3));
    for (int k = 0; k < rounds; ++k) mutate_once(s);
    BOOST_TEST_CONTEXT("mutation " << i << " bytes " << to_hex(s)) {
      auto m = decode(s);
      if (m.ok()) {
        ++generic_ok;
        auto again = encode(m.value());
        BOOST_REQUIRE_MESSAGE(again.ok(), error_text(again));
        BOOST_TEST(to_hex(again.value()) == to_hex(s));
      } else {
        ++generic_err;
        BOOST_TEST(m.error().code == "30");
        BOOST_TEST(contains(m.error().message, "offset"), m.error().message);
      }
      auto request = decode_credit_request(s, kGoldenTimeMs);
      if (request.ok()) {
        ++request_ok;
        auto again = encode_credit_request(request->credit, request->repeat);
        BOOST_REQUIRE_MESSAGE(again.ok(), error_text(again));
        BOOST_TEST(to_hex(again.value()) == to_hex(s));
      } else {
        const std::string& code = request.error().code;
        BOOST_TEST((code == "30" || code == "12" || code == "13"), code);
      }
      auto response = decode_credit_response(s);
      if (response.ok()) {
        ++response_ok;
        auto again = encode_credit_response(response.value());
        BOOST_REQUIRE_MESSAGE(again.ok(), error_text(again));
        BOOST_TEST(to_hex(again.value()) == to_hex(s));
      } else {
        BOOST_TEST(response.error().code == "30");
      }
    }
  }
  BOOST_TEST_MESSAGE("mutations: " << generic_ok << " decoded, " << generic_err << " refused, "
                                   << request_ok << " valid requests, " << response_ok
                                   << " valid responses");
  // Both branches were exercised.
  BOOST_TEST(generic_ok > 100);
  BOOST_TEST(generic_err > 500);
  BOOST_TEST(request_ok > 20);
  BOOST_TEST(response_ok > 20);
}
