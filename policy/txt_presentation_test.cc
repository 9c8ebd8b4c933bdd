#include "policy/txt_presentation.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
// After gmock: ldns/ldns.h defines macros that break gmock-matchers.h.
#include <ldns/ldns.h>  // NOLINT(build/include_order)

namespace vantage::policy {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

struct GoodCase {
  std::string name;
  std::string text;
  std::vector<std::string> strings;
};

void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.name; }

// LdnsStrings parses `text` as the RDATA of a TXT RR with ldns: an
// independent reader, used as an oracle for inputs both must accept.
bool LdnsStrings(const std::string& text, std::vector<std::string>* out) {
  ldns_rr* rr = nullptr;
  const std::string line = "x. 0 IN TXT " + text;
  if (ldns_rr_new_frm_str(&rr, line.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) return false;
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    const uint8_t* d = ldns_rdf_data(rdf);
    out->emplace_back(reinterpret_cast<const char*>(d + 1), d[0]);
  }
  ldns_rr_free(rr);
  return true;
}

class ParseGood : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ParseGood, ReadsStrings) {
  absl::StatusOr<std::vector<std::string>> got = ParseTxtPresentation(GetParam().text);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, ElementsAreArray(GetParam().strings));
  // Writing it back and reading again is the identity.
  absl::StatusOr<std::vector<std::string>> again = ParseTxtPresentation(FormatTxtRdata(*got));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *got);
}

TEST_P(ParseGood, AgreesWithLdns) {
  std::vector<std::string> ldns;
  ASSERT_TRUE(LdnsStrings(GetParam().text, &ldns)) << "ldns rejects " << GetParam().text;
  EXPECT_THAT(ldns, ElementsAreArray(GetParam().strings));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseGood,
    ::testing::Values(
        GoodCase{"OneQuoted", R"("abc")", {"abc"}},
        GoodCase{"TwoQuoted", R"("abc" "def")", {"abc", "def"}},
        GoodCase{"TabsAndSpaces", " \t\"a\"\t \"b\" \t", {"a", "b"}},
        GoodCase{"EmptyString", R"("")", {""}},
        GoodCase{"EmptyStrings", R"("" "x" "")", {"", "x", ""}},
        GoodCase{"Unquoted", "abc", {"abc"}}, GoodCase{"UnquotedEscapedSpace", R"(a\ b)", {"a b"}},
        GoodCase{"EscapedQuote", R"("a\"b")", {"a\"b"}},
        GoodCase{"EscapedBackslash", R"("a\\b")", {"a\\b"}},
        GoodCase{"EscapedSemicolon", R"("a\;b")", {"a;b"}},
        GoodCase{"EscapedLetter", R"("\x")", {"x"}},
        GoodCase{"Decimal", R"("\065\066\067")", {"ABC"}},
        GoodCase{"DecimalZeroAnd255", R"("\000\255")", {std::string("\0\xff", 2)}},
        GoodCase{"DecimalThenDigit", R"("\0491")", {"11"}},
        GoodCase{"NewlineEscaped", R"("a\010b")", {"a\nb"}},
        GoodCase{"SemicolonInsideQuotes",
                 R"("authority.example; accounturi=x")",
                 {"authority.example; accounturi=x"}},
        GoodCase{"RawUtf8", "\"\xC3\xA9\"", {"\xC3\xA9"}},
        GoodCase{"Max255", "\"" + std::string(255, 'a') + "\"", {std::string(255, 'a')}},
        GoodCase{"Max255Escaped",
                 "\"" +
                     [] {
                       std::string s;
                       for (int i = 0; i < 255; ++i) s += "\\255";
                       return s;
                     }() +
                     "\"",
                 {std::string(255, '\xff')}},
        GoodCase{
            "DigAnswerSplit",
            R"("authority.example; accounturi=https://ca.example/account-hash/" "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw")",
            {"authority.example; accounturi=https://ca.example/account-hash/",
             "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw"}}),
    [](const ::testing::TestParamInfo<GoodCase>& info) { return info.param.name; });

struct BadCase {
  std::string name;
  std::string text;
  std::string error;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ParseBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseBad, RejectedWithRule) {
  absl::StatusOr<std::vector<std::string>> got = ParseTxtPresentation(GetParam().text);
  ASSERT_FALSE(got.ok()) << "accepted " << got->size() << " strings";
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseBad,
    ::testing::Values(
        BadCase{"Empty", "", "no character-string"},
        BadCase{"Blank", " \t ", "no character-string"},
        BadCase{"Unterminated", R"("abc)", "offset 0: unterminated quoted string"},
        BadCase{"UnterminatedSecond", R"("a" "b)", "offset 4: unterminated"},
        BadCase{"EscapedClosingQuote", R"("abc\")", "unterminated"},
        BadCase{"DanglingBackslashQuoted", "\"abc\\", "backslash at the end"},
        BadCase{"DanglingBackslashUnquoted", "abc\\", "backslash at the end"},
        BadCase{"DecimalOver255", R"("\256")", "\\256 is above 255"},
        BadCase{"Decimal999", R"("\999")", "\\999 is above 255"},
        BadCase{"DecimalTwoDigits", R"("\06")", "exactly three decimal digits"},
        BadCase{"DecimalOneDigitAtEnd", R"(\6)", "exactly three decimal digits"},
        BadCase{"DecimalLetter", R"("\06x")", "exactly three decimal digits"},
        BadCase{"GarbageAfterQuote", R"("a"b)", "right after a closing quote"},
        BadCase{"UnquotedAfterQuoted", R"("a" b)", "only more quoted strings"},
        BadCase{"QuotedAfterUnquoted", R"(a "b")", "data after an unquoted string"},
        BadCase{"TwoUnquoted", "a b", "data after an unquoted string"},
        BadCase{"QuoteInsideUnquoted", R"(a"b)", "'\"' inside an unquoted string"},
        BadCase{"SemicolonUnquoted", "a;b", "unquoted ';'"},
        BadCase{"ParenUnquoted", "(a)", "unquoted '('"},
        BadCase{"RawNewlineQuoted", "\"a\nb\"", "control byte 0x0A must be written as \\010"},
        BadCase{"RawNulQuoted", std::string("\"a\0b\"", 5), "control byte 0x00"},
        BadCase{"RawTabQuoted", "\"a\tb\"", "control byte 0x09"},
        BadCase{"RawDelUnquoted", "a\x7f", "control byte 0x7F"},
        BadCase{"EscapedRawNewline", "\"a\\\nb\"", "control byte 0x0A"},
        BadCase{"TrailingNewline", "\"a\"\n", "right after a closing quote"},
        BadCase{"Over255", "\"" + std::string(256, 'a') + "\"", "256 octets after unescaping"},
        BadCase{"Over255Unquoted", std::string(256, 'a'), "256 octets"},
        BadCase{"Over255Escaped", "\"" + std::string(254, 'a') + "\\065\\066\"",
                "256 octets after unescaping"},
        BadCase{"RdataOver65535",
                [] {
                  std::string s;
                  for (int i = 0; i < 257; ++i) s += "\"" + std::string(255, 'a') + "\" ";
                  return s;
                }(),
                "exceeds 65535"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(EscapeTxtBytes, EscapesEverythingUnsafe) {
  EXPECT_EQ(EscapeTxtBytes("abc"), "abc");
  EXPECT_EQ(EscapeTxtBytes("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(EscapeTxtBytes(std::string("\0\n\x7f\x80\xff", 5)), "\\000\\010\\127\\128\\255");
  EXPECT_EQ(EscapeTxtBytes("a b;c"), "a b;c");
  EXPECT_EQ(QuoteCharacterString(""), "\"\"");
}

// Every byte string of up to 255 octets survives format -> parse, and ldns
// reads the formatted text the same way.
TEST(RoundTrip, RandomBytes) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::string> strings(1 + rng() % 3);
    for (std::string& s : strings) {
      s.resize(rng() % 256);
      for (char& c : s) c = static_cast<char>(rng() % 256);
    }
    const std::string text = FormatTxtRdata(strings);
    absl::StatusOr<std::vector<std::string>> back = ParseTxtPresentation(text);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(*back, strings);
    std::vector<std::string> ldns;
    ASSERT_TRUE(LdnsStrings(text, &ldns)) << text;
    ASSERT_EQ(ldns, strings) << text;
  }
}

TEST(SplitCharacterStrings, CutsAt255AndJoinsBack) {
  EXPECT_EQ(SplitCharacterStrings(""), std::vector<std::string>{""});
  EXPECT_EQ(SplitCharacterStrings("abc"), std::vector<std::string>{"abc"});
  const std::string v(600, 'x');
  const std::vector<std::string> parts = SplitCharacterStrings(v);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].size(), 255u);
  EXPECT_EQ(parts[1].size(), 255u);
  EXPECT_EQ(parts[2].size(), 90u);
  EXPECT_EQ(parts[0] + parts[1] + parts[2], v);
  EXPECT_EQ(SplitCharacterStrings(std::string(510, 'y')).size(), 2u);
}

}  // namespace
}  // namespace vantage::policy
