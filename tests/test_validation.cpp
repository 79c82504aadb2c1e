#define BOOST_TEST_MODULE validation
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "sagas/money.hpp"
#include "sagas/payment.hpp"
#include "sagas/validation.hpp"

using namespace payengine;

namespace {

// A valid South African domestic credit transfer; every malformed case below
// changes one thing in it.
PaymentInstruction base_instruction() {
  PaymentInstruction p;
  p.tenant = "bank_a";
  p.end_to_end_id = "E2E-0001";
  p.amount = Money{12'345, "ZAR"};
  p.debtor.name = "Thandi Nkosi";
  p.debtor.account_number = "1234567890";
  p.debtor.branch_code = "250655";
  p.creditor.name = "Sipho Dlamini";
  p.creditor.account_number = "62012345678";
  p.creditor.branch_code = "632005";
  p.remittance = "Invoice 42";
  return p;
}

// A valid international payment: IBAN to IBAN in EUR.
PaymentInstruction iban_instruction() {
  PaymentInstruction p = base_instruction();
  p.amount = Money{250'00, "EUR"};
  p.debtor = PartyAccount{"Erika Mustermann", "", "", "DE89370400440532013000", "COBADEFF", ""};
  p.creditor = PartyAccount{"John Smith", "", "", "GB82WEST12345698765432", "", ""};
  return p;
}

// Repeats a UTF-8 string `n` times.
std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// IBAN check digits computed independently of the code under test: the
// remainder of (BBAN + country + "00") modulo 97, as decimal digits.
std::string iban_with_check_digits(const std::string& country, const std::string& bban) {
  std::string digits;
  for (char c : bban + country + "00")
    digits += (c >= 'A' && c <= 'Z') ? std::to_string(c - 'A' + 10) : std::string(1, c);
  int remainder = 0;
  for (char d : digits) remainder = (remainder * 10 + (d - '0')) % 97;
  int check = 98 - remainder;
  return country + (check < 10 ? "0" : "") + std::to_string(check) + bban;
}

struct MalformedCase {
  const char* name;
  std::function<void(PaymentInstruction&)> mutate;
  const char* reason_code;
  const char* field;
};

const std::vector<MalformedCase>& malformed_cases() {
  using P = PaymentInstruction;
  static const std::vector<MalformedCase> cases = {
      // tenant
      {"tenant empty", [](P& p) { p.tenant = ""; }, "FF01", "tenant"},
      {"tenant 65 chars", [](P& p) { p.tenant = std::string(65, 'a'); }, "FF01", "tenant"},
      {"tenant with space", [](P& p) { p.tenant = "bank a"; }, "FF01", "tenant"},
      {"tenant with slash", [](P& p) { p.tenant = "bank/a"; }, "FF01", "tenant"},
      {"tenant non-ASCII", [](P& p) { p.tenant = "bank\xC3\xA9"; }, "FF01", "tenant"},
      // end_to_end_id
      {"e2e empty", [](P& p) { p.end_to_end_id = ""; }, "FF01", "end_to_end_id"},
      {"e2e 36 chars", [](P& p) { p.end_to_end_id = std::string(36, 'E'); }, "FF01",
       "end_to_end_id"},
      {"e2e newline", [](P& p) { p.end_to_end_id = "E2E\n1"; }, "FF01", "end_to_end_id"},
      {"e2e tab", [](P& p) { p.end_to_end_id = "E2E\t1"; }, "FF01", "end_to_end_id"},
      {"e2e DEL", [](P& p) { p.end_to_end_id = "E2E\x7F"; }, "FF01", "end_to_end_id"},
      {"e2e non-ASCII", [](P& p) { p.end_to_end_id = "caf\xC3\xA9"; }, "FF01", "end_to_end_id"},
      // amount
      {"currency lower case", [](P& p) { p.amount.currency = "zar"; }, "AM03", "amount.currency"},
      {"currency 2 letters", [](P& p) { p.amount.currency = "ZA"; }, "AM03", "amount.currency"},
      {"currency 4 letters", [](P& p) { p.amount.currency = "ZARR"; }, "AM03", "amount.currency"},
      {"currency unknown", [](P& p) { p.amount.currency = "XYZ"; }, "AM03", "amount.currency"},
      {"currency empty", [](P& p) { p.amount.currency = ""; }, "AM03", "amount.currency"},
      {"amount zero", [](P& p) { p.amount.amount_minor = 0; }, "AM01", "amount.amount_minor"},
      {"amount negative", [](P& p) { p.amount.amount_minor = -1; }, "AM12", "amount.amount_minor"},
      {"amount INT64_MIN",
       [](P& p) { p.amount.amount_minor = std::numeric_limits<int64_t>::min(); }, "AM12",
       "amount.amount_minor"},
      {"amount above maximum", [](P& p) { p.amount.amount_minor = kMaxAmountMinor + 1; }, "AM02",
       "amount.amount_minor"},
      {"amount INT64_MAX",
       [](P& p) { p.amount.amount_minor = std::numeric_limits<int64_t>::max(); }, "AM02",
       "amount.amount_minor"},
      // debtor
      {"debtor name empty", [](P& p) { p.debtor.name = ""; }, "RR02", "debtor.name"},
      {"debtor name blank", [](P& p) { p.debtor.name = "   "; }, "RR02", "debtor.name"},
      {"debtor name 141 chars", [](P& p) { p.debtor.name = std::string(141, 'n'); }, "RR02",
       "debtor.name"},
      {"debtor name control char", [](P& p) { p.debtor.name = "Thandi\x01Nkosi"; }, "RR02",
       "debtor.name"},
      {"debtor name C1 control", [](P& p) { p.debtor.name = "Thandi\xC2\x85Nkosi"; }, "RR02",
       "debtor.name"},
      {"debtor name invalid UTF-8", [](P& p) { p.debtor.name = "Thandi \xC3"; }, "RR02",
       "debtor.name"},
      {"debtor name overlong UTF-8", [](P& p) { p.debtor.name = "A\xC0\xAF"; }, "RR02",
       "debtor.name"},
      {"debtor account letters", [](P& p) { p.debtor.account_number = "12345X7890"; }, "AC02",
       "debtor.account_number"},
      {"debtor account 6 digits", [](P& p) { p.debtor.account_number = "123456"; }, "AC02",
       "debtor.account_number"},
      {"debtor account 12 digits", [](P& p) { p.debtor.account_number = "123456789012"; }, "AC02",
       "debtor.account_number"},
      {"debtor account all zeros", [](P& p) { p.debtor.account_number = "0000000"; }, "AC02",
       "debtor.account_number"},
      {"debtor account missing, branch given", [](P& p) { p.debtor.account_number = ""; }, "AC02",
       "debtor.account_number"},
      {"debtor branch 5 digits", [](P& p) { p.debtor.branch_code = "25065"; }, "RC03",
       "debtor.branch_code"},
      {"debtor branch letters", [](P& p) { p.debtor.branch_code = "25065A"; }, "RC03",
       "debtor.branch_code"},
      {"debtor branch missing", [](P& p) { p.debtor.branch_code = ""; }, "RC03",
       "debtor.branch_code"},
      {"debtor no account at all",
       [](P& p) { p.debtor.account_number = p.debtor.branch_code = ""; }, "AC02",
       "debtor.account_number"},
      {"debtor proxy only (not an account)",
       [](P& p) {
         p.debtor.account_number = p.debtor.branch_code = "";
         p.debtor.proxy = "0821112222@absa";
       },
       "AC02", "debtor.account_number"},
      {"debtor IBAN bad check digits", [](P& p) { p.debtor.iban = "DE89370400440532013001"; },
       "AC02", "debtor.iban"},
      {"debtor IBAN with spaces", [](P& p) { p.debtor.iban = "DE89 3704 0044 0532 0130 00"; },
       "AC02", "debtor.iban"},
      {"debtor IBAN lower case", [](P& p) { p.debtor.iban = "de89370400440532013000"; }, "AC02",
       "debtor.iban"},
      {"debtor IBAN wrong length", [](P& p) { p.debtor.iban = "DE8937040044053201300"; }, "AC02",
       "debtor.iban"},
      {"debtor BIC 7 chars", [](P& p) { p.debtor.bic = "ABSAZAJ"; }, "RC03", "debtor.bic"},
      {"debtor BIC lower case", [](P& p) { p.debtor.bic = "absazajj"; }, "RC03", "debtor.bic"},
      // creditor
      {"creditor name empty", [](P& p) { p.creditor.name = ""; }, "RR03", "creditor.name"},
      {"creditor name 141 chars", [](P& p) { p.creditor.name = repeat("\xC3\xA9", 141); }, "RR03",
       "creditor.name"},
      {"creditor name newline", [](P& p) { p.creditor.name = "Sipho\nDlamini"; }, "RR03",
       "creditor.name"},
      {"creditor account 6 digits", [](P& p) { p.creditor.account_number = "620123"; }, "AC03",
       "creditor.account_number"},
      {"creditor branch 7 digits", [](P& p) { p.creditor.branch_code = "6320051"; }, "RC04",
       "creditor.branch_code"},
      {"creditor no account at all",
       [](P& p) { p.creditor.account_number = p.creditor.branch_code = ""; }, "AC03",
       "creditor.account_number"},
      {"creditor IBAN transposed digits", [](P& p) { p.creditor.iban = "GB82WEST12345698765423"; },
       "AC03", "creditor.iban"},
      {"creditor IBAN for a non-IBAN country",
       [](P& p) { p.creditor.iban = "ZA1234567890123456789012"; }, "AC03", "creditor.iban"},
      {"creditor BIC unknown country", [](P& p) { p.creditor.bic = "ABSAQQJJ"; }, "RC04",
       "creditor.bic"},
      {"creditor BIC digit in bank code", [](P& p) { p.creditor.bic = "AB5AZAJJ"; }, "RC04",
       "creditor.bic"},
      {"creditor BIC 9 chars", [](P& p) { p.creditor.bic = "ABSAZAJJX"; }, "RC04", "creditor.bic"},
      {"creditor proxy upper-case bank",
       [](P& p) {
         p.creditor.account_number = p.creditor.branch_code = "";
         p.creditor.proxy = "0812345678@ABSA";
       },
       "AC03", "creditor.proxy"},
      {"creditor proxy without @",
       [](P& p) {
         p.creditor.account_number = p.creditor.branch_code = "";
         p.creditor.proxy = "0812345678";
       },
       "AC03", "creditor.proxy"},
      {"creditor proxy empty local part", [](P& p) { p.creditor.proxy = "@absa"; }, "AC03",
       "creditor.proxy"},
      // cross-border, identical accounts
      {"USD to SA account without BIC", [](P& p) { p.amount.currency = "USD"; }, "RC04",
       "creditor.bic"},
      {"proxy creditor in EUR",
       [](P& p) {
         p.amount.currency = "EUR";
         p.creditor.account_number = p.creditor.branch_code = "";
         p.creditor.proxy = "0812345678@absa";
       },
       "RC04", "creditor.bic"},
      {"debtor pays own SA account",
       [](P& p) {
         p.creditor.account_number = p.debtor.account_number;
         p.creditor.branch_code = p.debtor.branch_code;
       },
       "AG01", "creditor"},
      {"debtor pays own IBAN",
       [](P& p) {
         p.debtor.iban = "GB82WEST12345698765432";
         p.creditor.iban = "GB82WEST12345698765432";
       },
       "AG01", "creditor"},
      // remittance, rail, urgency
      {"remittance 141 chars", [](P& p) { p.remittance = std::string(141, 'r'); }, "FF01",
       "remittance"},
      {"remittance 141 multibyte chars", [](P& p) { p.remittance = repeat("\xE2\x82\xAC", 141); },
       "FF01", "remittance"},
      {"remittance invalid UTF-8", [](P& p) { p.remittance = "Invoice \xFF"; }, "FF01",
       "remittance"},
      {"remittance surrogate code point", [](P& p) { p.remittance = "x\xED\xA0\x80"; }, "FF01",
       "remittance"},
      {"remittance control char", [](P& p) { p.remittance = "Invoice\r\n42"; }, "FF01",
       "remittance"},
      {"rail lower case", [](P& p) { p.requested_rail = "samos"; }, "FF01", "requested_rail"},
      {"rail unknown", [](P& p) { p.requested_rail = "ACH"; }, "FF01", "requested_rail"},
      {"urgency out of range", [](P& p) { p.urgency = static_cast<Urgency>(7); }, "FF01",
       "urgency"},
      // fixed order: the first rule broken wins
      {"tenant before amount",
       [](P& p) {
         p.tenant = "";
         p.amount.amount_minor = 0;
       },
       "FF01", "tenant"},
      {"currency before amount",
       [](P& p) {
         p.amount.currency = "zar";
         p.amount.amount_minor = -5;
       },
       "AM03", "amount.currency"},
      {"debtor before creditor",
       [](P& p) {
         p.debtor.name = "";
         p.creditor.account_number = "1";
       },
       "RR02", "debtor.name"},
      {"debtor name before debtor account",
       [](P& p) {
         p.debtor.name = "";
         p.debtor.account_number = "1";
       },
       "RR02", "debtor.name"},
      {"creditor before remittance",
       [](P& p) {
         p.creditor.bic = "XX";
         p.remittance = std::string(200, 'r');
       },
       "RC04", "creditor.bic"},
      {"remittance before rail",
       [](P& p) {
         p.remittance = "\x01";
         p.requested_rail = "FAX";
       },
       "FF01", "remittance"},
  };
  return cases;
}

// An optional number as text ("none" when empty), so that failures print it.
template <typename T>
std::string shown(const std::optional<T>& value) {
  return value ? std::to_string(*value) : "none";
}

void check_valid(const PaymentInstruction& p) {
  auto err = validate(p);
  BOOST_TEST(!err.has_value());
  if (err) BOOST_TEST_MESSAGE(err->reason_code << " " << err->field << ": " << err->message);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(instructions)

BOOST_AUTO_TEST_CASE(base_instruction_is_valid) { check_valid(base_instruction()); }

BOOST_AUTO_TEST_CASE(malformed_table_has_enough_rows) {
  BOOST_TEST(malformed_cases().size() >= 35u);
}

BOOST_AUTO_TEST_CASE(malformed_instructions_give_code_and_field) {
  for (const MalformedCase& row : malformed_cases()) {
    BOOST_TEST_CONTEXT("row: " << row.name) {
      PaymentInstruction p = base_instruction();
      row.mutate(p);
      auto err = validate(p);
      BOOST_TEST(err.has_value());
      if (!err) continue;
      BOOST_TEST(err->reason_code == row.reason_code);
      BOOST_TEST(err->field == row.field);
      BOOST_TEST(!err->message.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(validation_is_deterministic) {
  for (const MalformedCase& row : malformed_cases()) {
    BOOST_TEST_CONTEXT("row: " << row.name) {
      PaymentInstruction p = base_instruction();
      row.mutate(p);
      auto first = validate(p);
      auto second = validate(p);
      BOOST_TEST(first.has_value() == second.has_value());
      if (first && second) BOOST_TEST(first->message == second->message);
    }
  }
}

BOOST_AUTO_TEST_CASE(valid_sa_domestic_variants) {
  PaymentInstruction p = base_instruction();
  p.debtor.bic = "ABSAZAJJ";
  p.creditor.bic = "FIRNZAJJXXX";
  check_valid(p);

  p = base_instruction();
  p.amount.amount_minor = 1;
  check_valid(p);
  p.amount.amount_minor = kMaxAmountMinor;
  check_valid(p);

  p = base_instruction();
  p.tenant = std::string(63, 'a') + "-";
  p.end_to_end_id = std::string(34, 'E') + "~";
  p.debtor.account_number = "1234567";        // shortest
  p.creditor.account_number = "12345678901";  // longest
  check_valid(p);

  p = base_instruction();
  p.debtor.name = repeat("\xC3\xA9", 140);  // 140 code points, 280 bytes
  p.remittance = repeat("\xE2\x82\xAC", 140);
  check_valid(p);

  p = base_instruction();
  p.remittance = "";
  check_valid(p);

  // Same account number at another branch is another account.
  p = base_instruction();
  p.creditor.account_number = p.debtor.account_number;
  check_valid(p);
}

BOOST_AUTO_TEST_CASE(every_known_rail_and_urgency_is_accepted) {
  for (const char* rail : {"", "SAMOS", "EFT", "RTC", "PAYSHAP", "SWIFT"}) {
    BOOST_TEST_CONTEXT("rail " << rail) {
      PaymentInstruction p = base_instruction();
      p.requested_rail = rail;
      check_valid(p);
    }
  }
  for (Urgency u : {Urgency::normal, Urgency::urgent, Urgency::instant}) {
    PaymentInstruction p = base_instruction();
    p.urgency = u;
    check_valid(p);
  }
}

BOOST_AUTO_TEST_CASE(valid_iban_payments) {
  check_valid(iban_instruction());

  // ZAR debtor at home, paying a Dutch IBAN in EUR with a BIC.
  PaymentInstruction p = base_instruction();
  p.amount = Money{1'000'00, "EUR"};
  p.creditor = PartyAccount{"Jan de Vries", "", "", "NL91ABNA0417164300", "ABNANL2A", ""};
  check_valid(p);

  // Non-ZAR payment to an SA account is fine once the creditor agent's BIC is given.
  p = base_instruction();
  p.amount.currency = "USD";
  p.creditor.bic = "SBZAZAJJ";
  check_valid(p);

  // JPY has no decimals; the amount is still in minor units.
  p = iban_instruction();
  p.amount = Money{5000, "JPY"};
  check_valid(p);
}

BOOST_AUTO_TEST_CASE(valid_proxy_creditor) {
  PaymentInstruction p = base_instruction();
  p.creditor = PartyAccount{"Sipho Dlamini", "", "", "", "", "0812345678@absa"};
  p.requested_rail = "PAYSHAP";
  p.urgency = Urgency::instant;
  check_valid(p);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(identifiers)

BOOST_AUTO_TEST_CASE(published_example_ibans_are_valid) {
  for (const char* iban : {
           "GB82WEST12345698765432",
           "GB29NWBK60161331926819",
           "DE89370400440532013000",
           "NL91ABNA0417164300",
           "FR1420041010050500013M02606",
           "BE68539007547034",
           "CH9300762011623852957",
           "NO9386011117947",
           "AT611904300234573201",
           "ES9121000418450200051332",
           "IT60X0542811101000000123456",
           "MT84MALT011000012345MTLCAST001S",
           "SA0380000000608010167519",
           "AE070331234567890123456",
           "PL61109010140000071219812874",
       }) {
    BOOST_TEST_CONTEXT(iban) { BOOST_TEST(is_valid_iban(iban)); }
  }
}

BOOST_AUTO_TEST_CASE(iban_check_digit_failures) {
  for (const char* iban : {
           "GB82WEST12345698765431",  // last digit changed
           "GB83WEST12345698765432",  // check digits changed
           "GB82WEST12345698765423",  // adjacent digits swapped
           "GB82WEST12345968765432",  // adjacent digits swapped
           "DE88370400440532013000",  // check digits changed
           "NL91ABNB0417164300",      // letter changed
       }) {
    BOOST_TEST_CONTEXT(iban) { BOOST_TEST(!is_valid_iban(iban)); }
  }
}

BOOST_AUTO_TEST_CASE(iban_check_digits_outside_02_to_98_are_refused) {
  // Our independent computation agrees with the published example.
  BOOST_TEST(iban_with_check_digits("GB", "WEST12345698765432") == "GB82WEST12345698765432");
  // Find a German BBAN whose check digits are 98, and one whose are 97: "01"
  // and "00" then satisfy mod-97 too, but ISO 13616 allows only 02..98.
  std::string check98, check97;
  for (int n = 0; n < 100'000 && (check98.empty() || check97.empty()); ++n) {
    std::string bban = std::to_string(100'000'000'000'000'000LL + n);
    std::string iban = iban_with_check_digits("DE", bban);
    if (iban.substr(2, 2) == "98" && check98.empty()) check98 = iban;
    if (iban.substr(2, 2) == "97" && check97.empty()) check97 = iban;
  }
  BOOST_TEST_REQUIRE(!check98.empty());
  BOOST_TEST_REQUIRE(!check97.empty());
  BOOST_TEST(is_valid_iban(check98));
  BOOST_TEST(is_valid_iban(check97));
  BOOST_TEST(!is_valid_iban(check98.replace(2, 2, "01")));
  BOOST_TEST(!is_valid_iban(check97.replace(2, 2, "00")));
}

BOOST_AUTO_TEST_CASE(iban_format_failures) {
  for (const char* iban : {
           "", "GB", "GB82",
           "GB82 WEST 1234 5698 7654 32",  // print format
           "gb82west12345698765432",       // lower case
           "GB82WEST1234569876543",        // one short
           "GB82WEST123456987654321",      // one long
           "GB82WEST1234569876543-",       // punctuation
           "XX82WEST12345698765432",       // not a country
           "ZA82WEST12345698765432",       // South Africa has no IBAN
           "US82WEST12345698765432",       // nor the USA
           "GBAAWEST12345698765432",       // check digits not digits
           "1B82WEST12345698765432",       // country not letters
       }) {
    BOOST_TEST_CONTEXT("'" << iban << "'") { BOOST_TEST(!is_valid_iban(iban)); }
  }
}

BOOST_AUTO_TEST_CASE(bic_cases) {
  for (const char* bic : {"ABSAZAJJ", "ABSAZAJJXXX", "FIRNZAJJ", "SBZAZAJJ", "DEUTDEFF",
                          "DEUTDEFF500", "NWBKGB2L", "CHASUS33", "ABNANL2A", "BNPAFRPP0AB"}) {
    BOOST_TEST_CONTEXT(bic) { BOOST_TEST(is_valid_bic(bic)); }
  }
  for (const char* bic : {
           "",              // empty
           "ABSAZAJ",       // 7
           "ABSAZAJJX",     // 9
           "ABSAZAJJXX",    // 10
           "ABSAZAJJXXXX",  // 12
           "absazajj",      // lower case
           "ABSAZAjj",      // lower-case location
           "ABSAZAJJxxx",   // lower-case branch
           "AB1AZAJJ",      // digit in bank code
           "ABSAQQJJ",      // QQ is not an ISO 3166 country
           "ABSAZZJJ",      // nor is ZZ
           "ABSA1AJJ",      // digit in country
           "ABSAZAJ!",      // punctuation in location
           "ABSAZAJJ-01",   // punctuation in branch
       }) {
    BOOST_TEST_CONTEXT("'" << bic << "'") { BOOST_TEST(!is_valid_bic(bic)); }
  }
}

BOOST_AUTO_TEST_CASE(sa_account_and_branch_cases) {
  for (const char* s : {"1234567", "12345678901", "0000001", "62012345678"}) BOOST_TEST_CONTEXT(s) {
      BOOST_TEST(is_valid_sa_account_number(s));
    }
  for (const char* s :
       {"", "123456", "123456789012", "0000000", "00000000000", "12345a7", "1234 567", "-1234567"})
    BOOST_TEST_CONTEXT("'" << s << "'") { BOOST_TEST(!is_valid_sa_account_number(s)); }
  for (const char* s : {"250655", "632005", "000000"}) BOOST_TEST_CONTEXT(s) {
      BOOST_TEST(is_valid_sa_branch_code(s));
    }
  for (const char* s : {"", "25065", "2506555", "25065a", "25 655"})
    BOOST_TEST_CONTEXT("'" << s << "'") { BOOST_TEST(!is_valid_sa_branch_code(s)); }
}

BOOST_AUTO_TEST_CASE(shap_id_cases) {
  std::string local64(64, '1');
  std::string bank32(32, 'b');
  for (const std::string& s : {std::string("0812345678@absa"), std::string("jane.doe+pay@capitec"),
                               std::string("user_1@first-national"), std::string("a@bc"),
                               local64 + "@absa", "0812345678@" + bank32}) {
    BOOST_TEST_CONTEXT(s) { BOOST_TEST(is_valid_shap_id(s)); }
  }
  for (const std::string& s :
       {std::string(""), std::string("0812345678"), std::string("0812345678@"),
        std::string("@absa"), std::string("0812345678@ABSA"), std::string("0812345678@a"),
        std::string("a@b@cc"), std::string("x y@absa"), std::string("0812345678@ab_c"),
        std::string("0812345678@ab.c"), local64 + "1@absa", "0812345678@" + bank32 + "b"}) {
    BOOST_TEST_CONTEXT("'" << s << "'") { BOOST_TEST(!is_valid_shap_id(s)); }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(money)

BOOST_AUTO_TEST_CASE(currency_decimals_of_known_and_unknown_codes) {
  BOOST_TEST(shown(currency_decimals("ZAR")) == "2");
  BOOST_TEST(shown(currency_decimals("JPY")) == "0");
  BOOST_TEST(shown(currency_decimals("BHD")) == "3");
  BOOST_TEST(shown(currency_decimals("USD")) == "2");
  BOOST_TEST(shown(currency_decimals("KWD")) == "3");
  for (const char* code : {"", "zar", "ZA", "ZARR", "XYZ", "ZAR "})
    BOOST_TEST_CONTEXT("'" << code << "'") { BOOST_TEST(!currency_decimals(code).has_value()); }
}

BOOST_AUTO_TEST_CASE(format_decimal_cases) {
  BOOST_TEST(format_decimal(12345, 2) == "123.45");
  BOOST_TEST(format_decimal(5, 2) == "0.05");
  BOOST_TEST(format_decimal(0, 2) == "0.00");
  BOOST_TEST(format_decimal(100, 0) == "100");
  BOOST_TEST(format_decimal(1234, 3) == "1.234");
  BOOST_TEST(format_decimal(-12345, 2) == "-123.45");
  BOOST_TEST(format_decimal(std::numeric_limits<int64_t>::max(), 2) == "92233720368547758.07");
  BOOST_TEST(format_decimal(std::numeric_limits<int64_t>::min(), 2) == "-92233720368547758.08");
}

BOOST_AUTO_TEST_CASE(parse_decimal_accepts) {
  BOOST_TEST(shown(parse_decimal("123.45", 2)) == "12345");
  BOOST_TEST(shown(parse_decimal("1.5", 2)) == "150");
  BOOST_TEST(shown(parse_decimal("7", 2)) == "700");
  BOOST_TEST(shown(parse_decimal("0.01", 2)) == "1");
  BOOST_TEST(shown(parse_decimal("7", 0)) == "7");
  BOOST_TEST(shown(parse_decimal("1.234", 3)) == "1234");
  BOOST_TEST(shown(parse_decimal("92233720368547758.07", 2)) == "9223372036854775807");
}

BOOST_AUTO_TEST_CASE(parse_decimal_refuses) {
  const std::pair<const char*, int> cases[] = {
      {"1.234", 2},                 // more decimals than ZAR has
      {"7.0", 0},                   // JPY has none
      {"-1", 2},                    // sign
      {"+1", 2},                    // sign
      {"1e3", 2},                   // exponent
      {"", 2},                      // empty
      {".5", 2},                    // empty whole part
      {"5.", 2},                    // empty fraction
      {"1,50", 2},                  // comma
      {" 1", 2},                    // space
      {"1.2.3", 2},                 // two points
      {"92233720368547758.08", 2},  // INT64_MAX + 1 minor unit
      {"99999999999999999999", 0},  // overflow
      {"9223372036854775808", 0},   // INT64_MAX + 1
  };
  for (const auto& [text, decimals] : cases)
    BOOST_TEST_CONTEXT("'" << text << "' with " << decimals << " decimals") {
      BOOST_TEST(!parse_decimal(text, decimals).has_value());
    }
}

BOOST_AUTO_TEST_CASE(format_then_parse_round_trips) {
  for (const char* code : {"ZAR", "JPY", "BHD"}) {
    int decimals = *currency_decimals(code);
    for (int64_t minor : {int64_t{0}, int64_t{1}, int64_t{99}, int64_t{12345}, kMaxAmountMinor})
      BOOST_TEST_CONTEXT(code << " " << minor) {
        BOOST_TEST(shown(parse_decimal(format_decimal(minor, decimals), decimals)) ==
                   std::to_string(minor));
      }
  }
}

BOOST_AUTO_TEST_SUITE_END()
