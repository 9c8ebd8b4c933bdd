#include "policy/identifier.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::policy {
namespace {

using ::testing::HasSubstr;

struct GoodCase {
  std::string name;
  std::string input;
  std::string fqdn;
  bool wildcard;
};

class ParseIdentifierGood : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ParseIdentifierGood, Normalizes) {
  const GoodCase& c = GetParam();
  absl::StatusOr<Identifier> id = ParseIdentifier(c.input);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->fqdn, c.fqdn);
  EXPECT_EQ(id->wildcard, c.wildcard);
  // The result is normalized: it validates, and parsing it again is a no-op.
  EXPECT_TRUE(ValidateFqdn(id->fqdn).ok()) << ValidateFqdn(id->fqdn);
  absl::StatusOr<Identifier> again = ParseIdentifier(id->fqdn);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->fqdn, id->fqdn);
  EXPECT_FALSE(again->wildcard);
}

const std::string k63(63, 'a');
// 4 labels of 63 + 3 dots = 255; trim to exactly 253 octets.
const std::string k253 = k63 + "." + k63 + "." + k63 + "." + std::string(61, 'b');

INSTANTIATE_TEST_SUITE_P(
    Table, ParseIdentifierGood,
    ::testing::Values(
        GoodCase{"Plain", "example.com", "example.com", false},
        GoodCase{"Uppercase", "ExAmPlE.CoM", "example.com", false},
        GoodCase{"TrailingDot", "example.com.", "example.com", false},
        GoodCase{"Wildcard", "*.example.com", "example.com", true},
        GoodCase{"WildcardTrailingDot", "*.Example.COM.", "example.com", true},
        GoodCase{"Subdomain", "a-b.c0.example.com", "a-b.c0.example.com", false},
        GoodCase{"DigitsInsideLabels", "1.2.3.example", "1.2.3.example", false},
        GoodCase{"ULabel",
                 "B\xC3\xBC"
                 "cher.example",
                 "xn--bcher-kva.example", false},
        GoodCase{"ULabelUppercase",
                 "B\xC3\x9C"
                 "CHER.EXAMPLE",
                 "xn--bcher-kva.example", false},
        // NFC: "u" + COMBINING DIAERESIS (U+0308) is the same name as U+00FC.
        GoodCase{"ULabelDecomposed",
                 "bu\xCC\x88"
                 "cher.example",
                 "xn--bcher-kva.example", false},
        // Non-transitional: sharp s keeps its IDNA2008 meaning (not "ss").
        GoodCase{"SharpSNonTransitional", "fa\xC3\x9F.de", "xn--fa-hia.de", false},
        GoodCase{"ALabelKept", "xn--bcher-kva.example", "xn--bcher-kva.example", false},
        GoodCase{"ALabelUppercase", "XN--BCHER-KVA.example", "xn--bcher-kva.example", false},
        GoodCase{"IdeographicFullStop",
                 "\xC3\xBC\xE3\x80\x82"
                 "com",
                 "xn--tda.com", false},
        GoodCase{"IdeographicTrailingDot", "\xC3\xBC.com\xE3\x80\x82", "xn--tda.com", false},
        GoodCase{"WildcardULabel", "*.\xC3\xBC.com", "xn--tda.com", true},
        GoodCase{"MaxLabel", k63 + ".com", k63 + ".com", false},
        GoodCase{"Max253", k253, k253, false}, GoodCase{"WildcardMax253", "*." + k253, k253, true}),
    [](const ::testing::TestParamInfo<GoodCase>& info) { return info.param.name; });

struct BadCase {
  std::string name;
  std::string input;
  std::string error;  // substring the message must contain
};

class ParseIdentifierBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseIdentifierBad, RejectedWithRule) {
  const BadCase& c = GetParam();
  absl::StatusOr<Identifier> id = ParseIdentifier(c.input);
  ASSERT_FALSE(id.ok()) << "accepted as " << id->fqdn;
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr(c.error));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseIdentifierBad,
    ::testing::Values(
        BadCase{"Empty", "", "empty"}, BadCase{"OnlyDot", ".", "only a dot"},
        BadCase{"TwoTrailingDots", "example.com..", "ends with '.'"},
        BadCase{"LeadingDot", ".example.com", "empty label"},
        BadCase{"EmptyLabel", "a..example.com", "empty label"},
        BadCase{"SingleLabel", "localhost", "single label"},
        BadCase{"SingleLabelWildcard", "*.com", "single label"},
        BadCase{"WildcardNoName", "*.", "must be followed"}, BadCase{"BareStar", "*", "'*'"},
        BadCase{"StarInside", "a.*.example.com", "'*'"},
        BadCase{"StarPartial", "*a.example.com", "'*'"},
        BadCase{"DoubleWildcard", "*.*.example.com", "'*'"},
        BadCase{"Underscore", "_acme.example.com", "contains '_'"},
        BadCase{"UnderscoreWithULabel", "a_b.\xC3\xBC.com", "contains '_'"},
        BadCase{"Space", "exa mple.com", "0x20"},
        BadCase{"Tab", "exa\tmple.com", "control byte 0x09"},
        BadCase{"Nul", std::string("exa\0mple.com", 12), "control byte 0x00"},
        BadCase{"Newline", "example.com\n", "control byte 0x0A"},
        BadCase{"Slash", "example.com/path", "0x2F"}, BadCase{"Colon", "example.com:443", "0x3A"},
        BadCase{"LeadingHyphen", "-a.example.com", "starts or ends with '-'"},
        BadCase{"TrailingHyphen", "a-.example.com", "starts or ends with '-'"},
        BadCase{"ReservedHyphens", "ab--cd.example.com", "reserved for \"xn--\""},
        BadCase{"BadALabel", "xn--abc.example", "not a valid A-label"},
        BadCase{"BadPunycode", "xn--99999999999.example", "not a valid A-label"},
        BadCase{"EmojiALabel", "xn--ls8h.la", "not a valid A-label"},
        BadCase{"EmojiULabel", "\xF0\x9F\x92\xA9.la", "IDNA2008"},
        BadCase{"Label64", std::string(64, 'a') + ".com", "64 octets; the maximum is 63"},
        BadCase{"Fqdn254", k253 + "b", "254 octets; the maximum is 253"},
        BadCase{"IPv4", "192.0.2.1", "IP address literal"},
        BadCase{"IPv4TrailingDot", "192.0.2.1.", "IP address literal"},
        BadCase{"IPv4Wildcard", "*.192.0.2.1", "IP address literal"},
        BadCase{"IPv6", "2001:db8::1", "IP address literal"},
        BadCase{"IPv6Brackets", "[2001:db8::1]", "IP address literal"},
        BadCase{"ShortIPv4", "10.1", "all-numeric last label"},
        BadCase{"NumericTld", "example.123", "all-numeric last label"},
        BadCase{"DisallowedCodePoint", "\xE2\x92\x88.com", "IDNA2008"},
        BadCase{"InvalidUtf8", "\xC3(.com", "IDNA2008"},
        BadCase{"TooLongInput", std::string(1025, 'a'), "at most 1024"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

struct FqdnCase {
  std::string name;
  std::string fqdn;
  std::string error;  // empty = valid
};

class ValidateFqdnTable : public ::testing::TestWithParam<FqdnCase> {};

TEST_P(ValidateFqdnTable, Checks) {
  const FqdnCase& c = GetParam();
  absl::Status s = ValidateFqdn(c.fqdn);
  if (c.error.empty()) {
    EXPECT_TRUE(s.ok()) << s;
  } else {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.error));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateFqdnTable,
    ::testing::Values(FqdnCase{"Normalized", "example.com", ""},
                      FqdnCase{"ALabel", "xn--bcher-kva.example", ""}, FqdnCase{"Max253", k253, ""},
                      // Unlike ParseIdentifier, ValidateFqdn normalizes nothing.
                      FqdnCase{"Uppercase", "Example.com", "uppercase"},
                      FqdnCase{"TrailingDot", "example.com.", "trailing dot"},
                      FqdnCase{"Wildcard", "*.example.com", "'*' label"},
                      FqdnCase{"ULabel",
                               "b\xC3\xBC"
                               "cher.example",
                               "0xC3"},
                      FqdnCase{"Underscore", "_validation-persist.example.com", "contains '_'"},
                      FqdnCase{"Empty", "", "empty"},
                      FqdnCase{"SingleLabel", "com", "single label"},
                      FqdnCase{"EmptyLabel", "a..com", "empty label"},
                      FqdnCase{"Too long", k253 + "b", "the maximum is 253"},
                      FqdnCase{"Ip", "127.0.0.1", "IP address literal"},
                      FqdnCase{"BadALabel", "xn--abc.example", "not a valid A-label"},
                      FqdnCase{"ALabelUppercaseInside", "xn--Bcher-kva.example", "uppercase"}),
    [](const ::testing::TestParamInfo<FqdnCase>& info) {
      std::string n = info.param.name;
      for (char& ch : n) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });

TEST(ParseIdentifier, ErrorQuotesInputSafely) {
  absl::StatusOr<Identifier> id = ParseIdentifier("bad\"na_me.example");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("identifier \"bad\\\"na_me.example\""));
}

TEST(PersistOwnerName, PrefixesTheLabel) {
  EXPECT_EQ(PersistOwnerName("example.com"), "_validation-persist.example.com");
  EXPECT_EQ(PersistOwnerName("xn--bcher-kva.example"), "_validation-persist.xn--bcher-kva.example");
}

}  // namespace
}  // namespace vantage::policy
