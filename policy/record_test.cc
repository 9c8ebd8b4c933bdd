// Table tests for every rule of SPEC.md 2-4 (record syntax, key binding,
// RRset verdict), including the negative space: case, whitespace,
// duplicates, truncation, empty input, maximum sizes, non-ASCII bytes.
#include "policy/record.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::policy {
namespace {

using ::testing::HasSubstr;

std::string Sanitize(std::string name) {
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// ---------------------------------------------------------------------------
// ParseRecordValue

struct ParseCase {
  std::string name;
  std::string value;
  std::string issuer;
  std::string error;  // empty = parses
  std::string accounturi = "";
  std::optional<int64_t> persist_until = std::nullopt;
  bool wildcard = false;
};

class ParseTable : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseTable, Parses) {
  const ParseCase& c = GetParam();
  ParsedRecord r = ParseRecordValue(c.value);
  EXPECT_EQ(r.issuer, c.issuer);
  if (c.error.empty()) {
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_TRUE(r.accounturi.has_value());
    EXPECT_EQ(*r.accounturi, c.accounturi);
    EXPECT_EQ(r.persist_until, c.persist_until);
    EXPECT_EQ(r.policy_wildcard, c.wildcard);
  } else {
    ASSERT_FALSE(r.status.ok()) << "parsed: " << c.value;
    EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status.message()), HasSubstr(c.error));
  }
}

const std::string kA = "https://ca.example/acct/123";

INSTANTIATE_TEST_SUITE_P(
    Syntax, ParseTable,
    ::testing::Values(
        ParseCase{"Minimal", "ca.example;accounturi=x", "ca.example", "", "x"},
        ParseCase{"AllParams",
                  "ca.example; accounturi=" + kA + "; policy=wildcard; persistUntil=17",
                  "ca.example", "", kA, 17, true},
        // Whitespace: SP and HTAB only, around issuer, ';', tags, values.
        ParseCase{"SpacesAndTabs",
                  " \t ca.example \t; \taccounturi \t= \t" + kA + " \t; policy = wildcard \t",
                  "ca.example", "", kA, std::nullopt, true},
        ParseCase{"LfBeforeIssuerIsData", "\nca.example;accounturi=x", "\nca.example", "", "x"},
        ParseCase{"CrInValue", "ca.example;accounturi=x\r", "ca.example", "byte 0x0D"},
        ParseCase{"LfInValue", "ca.example;accounturi=x\n", "ca.example", "byte 0x0A"},
        ParseCase{"NulInValue", std::string("ca.example;accounturi=x\0y", 25), "ca.example",
                  "byte 0x00"},
        ParseCase{"NonAsciiInValue", "ca.example;accounturi=h\xC3\xA9", "ca.example", "byte 0xC3"},
        ParseCase{"SpaceInsideValue", "ca.example;accounturi=a b", "ca.example", "byte 0x20"},
        ParseCase{"SpaceInsideKnownPolicy", "ca.example;accounturi=x;policy=wild card",
                  "ca.example", "byte 0x20"},
        ParseCase{"SpaceInsideUnknownValue", "ca.example;accounturi=x;foo=a b", "ca.example",
                  "byte 0x20"},
        ParseCase{"DelInValue", "ca.example;accounturi=x\x7f", "ca.example", "byte 0x7F"},
        ParseCase{"EqualsInValueIsData", "ca.example;accounturi==x=", "ca.example", "", "=x="},
        // Issuer normalization (SPEC.md 2 and 8).
        ParseCase{"IssuerUppercaseTrailingDot", "CA.Example.;accounturi=x", "ca.example", "", "x"},
        ParseCase{"IssuerTwoDots", "ca.example..;accounturi=x", "ca.example.", "", "x"},
        ParseCase{"IssuerQuoted", "\"ca.example\";accounturi=x", "\"ca.example\"", "", "x"},
        ParseCase{"IssuerEmpty", ";accounturi=x", "", "", "x"},
        ParseCase{"IssuerNonAscii", "c\xC3\xA4.example;accounturi=x", "c\xC3\xA4.example", "", "x"},
        // Segments.
        ParseCase{"NoParameters", "ca.example", "ca.example", "accounturi is required"},
        ParseCase{"TrailingSemicolon", "ca.example;accounturi=x;", "ca.example",
                  "parameter 2 is empty"},
        ParseCase{"TrailingSemicolonSpace", "ca.example;accounturi=x; \t", "ca.example",
                  "parameter 2 is empty"},
        ParseCase{"DoubleSemicolon", "ca.example;;accounturi=x", "ca.example",
                  "parameter 1 is empty"},
        ParseCase{"OnlySemicolon", "ca.example;", "ca.example", "parameter 1 is empty"},
        ParseCase{"NoEquals", "ca.example;accounturi=x;invalidparam", "ca.example", "has no '='"},
        ParseCase{"EmptyTag", "ca.example;accounturi=x;=abc", "ca.example", "empty tag"},
        ParseCase{"EmptyTagSpaces", "ca.example;accounturi=x; \t=abc", "ca.example", "empty tag"},
        // Tags: case-insensitive, duplicates, unknown.
        ParseCase{"TagsAnyCase", "ca.example;ACCOUNTURI=x;PoLiCy=WildCard;PERSISTUNTIL=5",
                  "ca.example", "", "x", 5, true},
        ParseCase{"DuplicateAccountUri", "ca.example;accounturi=x;accounturi=y", "ca.example",
                  "appears more than once"},
        ParseCase{"DuplicateAccountUriCase", "ca.example;ACCOUNTURI=x;accounturi=x", "ca.example",
                  "appears more than once"},
        ParseCase{"DuplicatePolicy", "ca.example;accounturi=x;policy=wildcard;Policy=wildcard",
                  "ca.example", "appears more than once"},
        ParseCase{"DuplicatePersistUntil", "ca.example;accounturi=x;persistUntil=1;persistuntil=2",
                  "ca.example", "appears more than once"},
        ParseCase{"DuplicateUnknown", "ca.example;accounturi=x;foo=1;FOO=2", "ca.example",
                  "appears more than once"},
        ParseCase{"UnknownTagOddSyntax", "ca.example;accounturi=x;bad tag=v;\nweird=1;\xff=2",
                  "ca.example", "", "x"},
        ParseCase{"UnknownEmptyValue", "ca.example;accounturi=x;foo=", "ca.example", "", "x"},
        // accounturi.
        ParseCase{"AccountUriMissing", "ca.example;policy=wildcard", "ca.example",
                  "accounturi is missing"},
        ParseCase{"AccountUriEmpty", "ca.example;accounturi=", "ca.example", "accounturi is empty"},
        ParseCase{"AccountUriSpaces", "ca.example;accounturi=  \t ", "ca.example",
                  "accounturi is empty"},
        // policy.
        ParseCase{"PolicyEmptyIsAbsent", "ca.example;accounturi=x;policy=", "ca.example", "", "x"},
        ParseCase{"PolicyOtherIsAbsent", "ca.example;accounturi=x;policy=notwildcard", "ca.example",
                  "", "x"},
        ParseCase{"PolicyUppercase", "ca.example;accounturi=x;policy=WILDCARD", "ca.example", "",
                  "x", std::nullopt, true},
        // persistUntil: digits only, <= INT64_MAX.
        ParseCase{"PersistUntilZero", "ca.example;accounturi=x;persistUntil=0", "ca.example", "",
                  "x", 0},
        ParseCase{"PersistUntilLeadingZeros", "ca.example;accounturi=x;persistUntil=0001767225600",
                  "ca.example", "", "x", 1767225600},
        ParseCase{"PersistUntilMax", "ca.example;accounturi=x;persistUntil=9223372036854775807",
                  "ca.example", "", "x", INT64_MAX},
        ParseCase{"PersistUntilOverflow",
                  "ca.example;accounturi=x;persistUntil=9223372036854775808", "ca.example",
                  "not a Unix time"},
        ParseCase{"PersistUntilHuge",
                  "ca.example;accounturi=x;persistUntil=" + std::string(400, '9'), "ca.example",
                  "not a Unix time"},
        ParseCase{"PersistUntilPlus", "ca.example;accounturi=x;persistUntil=+5", "ca.example",
                  "not a Unix time"},
        ParseCase{"PersistUntilMinus", "ca.example;accounturi=x;persistUntil=-1", "ca.example",
                  "not a Unix time"},
        ParseCase{"PersistUntilFraction", "ca.example;accounturi=x;persistUntil=1.5", "ca.example",
                  "not a Unix time"},
        ParseCase{"PersistUntilHex", "ca.example;accounturi=x;persistUntil=0x10", "ca.example",
                  "not a Unix time"},
        ParseCase{"PersistUntilInnerSpace", "ca.example;accounturi=x;persistUntil=1 2",
                  "ca.example", "byte 0x20"},
        ParseCase{"PersistUntilEmpty", "ca.example;accounturi=x;persistUntil=", "ca.example",
                  "not a Unix time"},
        ParseCase{"PersistUntilUnicodeDigit", "ca.example;accounturi=x;persistUntil=\xD9\xA1",
                  "ca.example", "byte 0xD9"},
        // Empty and truncated input.
        ParseCase{"Empty", "", "", "accounturi is required"},
        ParseCase{"TruncatedAfterTag", "ca.example;accounturi", "ca.example", "has no '='"}),
    [](const ::testing::TestParamInfo<ParseCase>& info) { return Sanitize(info.param.name); });

TEST(ParseRecordValue, MalformedStillReportsWhatItRead) {
  ParsedRecord r = ParseRecordValue("ca.example;accounturi=x;persistUntil=5;policy=wildcard;;");
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.accounturi, "x");
  EXPECT_EQ(r.persist_until, 5);
  EXPECT_TRUE(r.policy_wildcard);
}

TEST(ParseRecordValue, EveryTruncationOfAValidRecordIsHandled) {
  const std::string full =
      "authority.example; accounturi=" + kA + "; policy=wildcard; persistUntil=99";
  for (size_t n = 0; n <= full.size(); ++n) {
    ParsedRecord r = ParseRecordValue(full.substr(0, n));
    // Either it parses with an accounturi that is a prefix of the real one,
    // or it reports an error; never anything else.
    if (r.status.ok()) {
      ASSERT_TRUE(r.accounturi.has_value());
      EXPECT_EQ(full.substr(0, n).find(*r.accounturi) != std::string::npos, true);
    }
  }
}

TEST(JoinCharacterStrings, NoSeparator) {
  EXPECT_EQ(JoinCharacterStrings({"a;", " b", "", "c"}), "a; bc");
  EXPECT_EQ(JoinCharacterStrings({}), "");
}

// ---------------------------------------------------------------------------
// The verdict.

constexpr char kIssuer[] = "authority.example";
constexpr char kPrefix[] = "https://ca.example/account-hash/";
constexpr char kCurrent[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";   // RFC 7638 3.1
constexpr char kRetained[] = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";  // RFC 8037 A.3
// The published -02 vectors (SPEC.md 3) for kCurrent, kA, example.com.
constexpr char kHashFqdn[] =
    "https://ca.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw";
constexpr char kHashStar[] =
    "https://ca.example/account-hash/sha-256/NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug";
const absl::Time kNow = absl::FromUnixSeconds(1790000000);

VerdictContext Hashed() {
  VerdictContext c;
  c.issuers = {kIssuer};
  c.now = kNow;
  c.identifier = {"example.com", false};
  c.mode = AccountUriMode::kHashed;
  c.account_url = kA;
  c.thumbprints = {kCurrent, kRetained};
  c.hash_prefix = kPrefix;
  return c;
}

VerdictContext Raw() {
  VerdictContext c = Hashed();
  c.mode = AccountUriMode::kLegacyRaw;
  c.thumbprints.clear();
  c.hash_prefix.clear();
  return c;
}

std::string Uri(const std::string& d, const std::string& thumb = kCurrent,
                HashAlg alg = HashAlg::kSha256, const std::string& url = kA) {
  return *HashedAccountUri(kPrefix, alg, d, thumb, url);
}

std::string Rec(const std::string& accounturi, const std::string& extra = "") {
  return absl::StrCat(kIssuer, "; accounturi=", accounturi, extra);
}

struct VerdictCase {
  std::string name;
  VerdictContext ctx;
  std::vector<TxtRr> rrset;
  Outcome outcome;
  std::vector<RecordVerdict> verdicts;
  std::string reason = "";  // substring of the problem detail (or of the match reason)
  int matched = -1;
};

using V = RecordVerdict;

VerdictContext With(VerdictContext c, void (*f)(VerdictContext*)) {
  f(&c);
  return c;
}

std::string Canonicalize43(std::string s) {
  // Replace the last hash character with one that has non-zero unused bits.
  s.back() = s.back() == 'x' ? 'y' : 'x';
  return s;
}

const std::vector<VerdictCase>& VerdictCases() {
  static const auto* const cases = new std::vector<VerdictCase>{
      // SPEC.md 3: the published vectors and the key set.
      {"HashedFqdn", Hashed(), {{Rec(kHashFqdn)}}, Outcome::kValid, {V::kValid}, "current key", 0},
      {"HashedStar", Hashed(), {{Rec(kHashStar)}}, Outcome::kValid, {V::kValid}, "any domain", 0},
      {"RetainedKey", Hashed(), {{Rec(Uri("example.com", kRetained))}}, Outcome::kValid,
       {V::kValid}, "retained key 1", 0},
      {"RetainedKeyStar", Hashed(), {{Rec(Uri("*", kRetained))}}, Outcome::kValid, {V::kValid},
       "retained key 1", 0},
      {"KeyNotRetained",
       With(Hashed(), [](VerdictContext* c) { c->thumbprints = {kCurrent}; }),
       {{Rec(Uri("example.com", kRetained))}}, Outcome::kUnauthorized, {V::kUnauthorized},
       "matches none of the 1 key(s)"},
      {"OtherAccountUrl", Hashed(),
       {{Rec(Uri("example.com", kCurrent, HashAlg::kSha256, kA + "4"))}}, Outcome::kUnauthorized,
       {V::kUnauthorized}, "matches none"},
      {"OtherDomain", Hashed(), {{Rec(Uri("other.example"))}}, Outcome::kUnauthorized,
       {V::kUnauthorized}, "matches none"},
      {"ParentDomainHashDoesNotCount",
       With(Hashed(), [](VerdictContext* c) { c->identifier.fqdn = "www.example.com"; }),
       {{Rec(kHashFqdn)}}, Outcome::kUnauthorized, {V::kUnauthorized}, "matches none"},
      {"RawUrlInHashedMode", Hashed(), {{Rec(kA)}}, Outcome::kMalformed, {V::kMalformed},
       "raw account URL"},
      {"OtherPrefix", Hashed(),
       {{Rec("https://ca.example/other/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw")}},
       Outcome::kMalformed, {V::kMalformed}, "not under the accountHashPrefix"},
      {"PrefixCaseDiffers", Hashed(),
       {{Rec("https://CA.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw")}},
       Outcome::kMalformed, {V::kMalformed}, "not under the accountHashPrefix"},
      {"AlgUppercase", Hashed(),
       {{Rec("https://ca.example/account-hash/SHA-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw")}},
       Outcome::kMalformed, {V::kMalformed}, "\"SHA-256\" is not one of the exact lowercase"},
      {"AlgUnknown", Hashed(),
       {{Rec("https://ca.example/account-hash/sha-1/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw")}},
       Outcome::kMalformed, {V::kMalformed}, "exact lowercase tokens"},
      {"NoAlg", Hashed(), {{Rec("https://ca.example/account-hash/5SQm7n6tPh2")}},
       Outcome::kMalformed, {V::kMalformed}, "no \"<alg>/\""},
      {"AlgNotAccepted", Hashed(), {{Rec(Uri("example.com", kCurrent, HashAlg::kSha384))}},
       Outcome::kMalformed, {V::kMalformed}, "sha-384 is not accepted here"},
      {"Sha384Accepted",
       With(Hashed(), [](VerdictContext* c) { c->hash_algs = {"sha-256", "sha-384"}; }),
       {{Rec(Uri("example.com", kCurrent, HashAlg::kSha384))}}, Outcome::kValid, {V::kValid},
       "with sha-384", 0},
      {"Sha512Accepted", With(Hashed(), [](VerdictContext* c) { c->hash_algs = {"sha-512"}; }),
       {{Rec(Uri("*", kRetained, HashAlg::kSha512))}}, Outcome::kValid, {V::kValid}, "sha-512", 0},
      {"Sha256NotAcceptedWhenOnlySha512",
       With(Hashed(), [](VerdictContext* c) { c->hash_algs = {"sha-512"}; }), {{Rec(kHashFqdn)}},
       Outcome::kMalformed, {V::kMalformed}, "sha-256 is not accepted here"},
      {"HashPadded", Hashed(), {{Rec(std::string(kHashFqdn) + "=")}}, Outcome::kMalformed,
       {V::kMalformed}, "padding '='"},
      {"Hash42", Hashed(), {{Rec(std::string(kHashFqdn).substr(0, strlen(kHashFqdn) - 1))}},
       Outcome::kMalformed, {V::kMalformed}, "hash is 42 characters; exactly 43"},
      {"Hash44", Hashed(), {{Rec(std::string(kHashFqdn) + "A")}}, Outcome::kMalformed,
       {V::kMalformed}, "hash is 44 characters"},
      {"HashEmpty", Hashed(), {{Rec(std::string(kPrefix) + "sha-256/")}}, Outcome::kMalformed,
       {V::kMalformed}, "hash is 0 characters"},
      {"HashStandardAlphabet", Hashed(),
       {{Rec("https://ca.example/account-hash/sha-256/5SQm7n6tPh2+PlLbCKGnViTXX5z19SCN4cPGQHSk+kw")}},
       Outcome::kMalformed, {V::kMalformed}, "byte 0x2B"},
      {"HashNonCanonical", Hashed(), {{Rec(Canonicalize43(kHashFqdn))}}, Outcome::kMalformed,
       {V::kMalformed}, "not canonical"},
      {"HashOneCharFlipped", Hashed(),
       {{Rec("https://ca.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kA")}},
       Outcome::kUnauthorized, {V::kUnauthorized}, "matches none"},
      {"HashCaseFlipped", Hashed(),
       {{Rec("https://ca.example/account-hash/sha-256/5sqm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw")}},
       Outcome::kUnauthorized, {V::kUnauthorized}, "matches none"},
      // SPEC.md 3: deactivated accounts, immediately.
      {"Deactivated", With(Hashed(), [](VerdictContext* c) { c->deactivated = true; }),
       {{Rec(kHashFqdn)}}, Outcome::kUnauthorized, {V::kUnauthorized}, "deactivated"},
      {"DeactivatedAndMalformed", With(Hashed(), [](VerdictContext* c) { c->deactivated = true; }),
       {{Rec(kHashFqdn, ";;")}, {Rec(kHashStar)}}, Outcome::kUnauthorized,
       {V::kUnauthorized, V::kUnauthorized}, "deactivated"},
      {"DeactivatedIgnoresOtherCas",
       With(Hashed(), [](VerdictContext* c) { c->deactivated = true; }),
       {{"other.example; accounturi=x"}}, Outcome::kUnauthorized, {V::kIgnored}, "deactivated"},
      // SPEC.md 2: persistUntil (equality is still usable).
      {"PersistUntilEqualsNow", Hashed(), {{Rec(kHashFqdn, "; persistUntil=1790000000")}},
       Outcome::kValid, {V::kValid}, "until persistUntil 1790000000", 0},
      {"PersistUntilPast", Hashed(), {{Rec(kHashFqdn, "; persistUntil=1789999999")}},
       Outcome::kUnauthorized, {V::kUnauthorized}, "is before the validation time"},
      {"PersistUntilLowercaseTagPast", Hashed(), {{Rec(kHashFqdn, "; persistuntil=1")}},
       Outcome::kUnauthorized, {V::kUnauthorized}, "persistUntil 1 (1970-01-01T00:00:01Z)"},
      {"PersistUntilMax", Hashed(), {{Rec(kHashFqdn, "; persistUntil=9223372036854775807")}},
       Outcome::kValid, {V::kValid}, "", 0},
      {"PersistUntilPlusSign", Hashed(), {{Rec(kHashFqdn, "; persistUntil=+1790000001")}},
       Outcome::kMalformed, {V::kMalformed}, "not a Unix time"},
      // SPEC.md 2: wildcard identifiers.
      {"WildcardWithPolicy", With(Hashed(), [](VerdictContext* c) { c->identifier.wildcard = true; }),
       {{Rec(kHashFqdn, "; policy=wildcard")}}, Outcome::kValid, {V::kValid}, "policy=wildcard",
       0},
      {"WildcardDomainIndependent",
       With(Hashed(), [](VerdictContext* c) { c->identifier.wildcard = true; }),
       {{Rec(kHashStar, "; Policy=WILDCARD")}}, Outcome::kValid, {V::kValid}, "", 0},
      {"WildcardWithoutPolicy",
       With(Hashed(), [](VerdictContext* c) { c->identifier.wildcard = true; }),
       {{Rec(kHashFqdn)}}, Outcome::kUnauthorized, {V::kUnauthorized}, "no policy=wildcard"},
      {"WildcardOtherPolicyValue",
       With(Hashed(), [](VerdictContext* c) { c->identifier.wildcard = true; }),
       {{Rec(kHashFqdn, "; policy=wildcards")}}, Outcome::kUnauthorized, {V::kUnauthorized},
       "no policy=wildcard"},
      {"WildcardExpiredAndNoPolicyBothNamed",
       With(Hashed(), [](VerdictContext* c) { c->identifier.wildcard = true; }),
       {{Rec(kHashFqdn, "; persistUntil=5")}}, Outcome::kUnauthorized, {V::kUnauthorized},
       "(SPEC.md 2); the identifier is the wildcard *.example.com"},
      {"NonWildcardWithPolicy", Hashed(), {{Rec(kHashFqdn, "; policy=wildcard")}}, Outcome::kValid,
       {V::kValid}, "", 0},
      // SPEC.md 4: the RRset.
      {"EmptyRrset", Hashed(), {}, Outcome::kUnauthorized, {}, "no TXT record at _validation-persist.example.com"},
      {"OnlyOtherCas", Hashed(),
       {{"other.example; accounturi=" + std::string(kHashFqdn)}, {"letsencrypt.org;;;"}},
       Outcome::kUnauthorized, {V::kIgnored, V::kIgnored}, "none of the 2 TXT record(s)"},
      {"EmptyRr", Hashed(), {{}}, Outcome::kUnauthorized, {V::kIgnored}, "names this CA"},
      {"EmptyStrings", Hashed(), {{"", "", ""}}, Outcome::kUnauthorized, {V::kIgnored}, ""},
      {"MalformedThenValid", Hashed(), {{Rec(kHashFqdn, ";")}, {Rec(kHashStar)}}, Outcome::kValid,
       {V::kMalformed, V::kValid}, "", 1},
      {"ValidThenValidFirstWins", Hashed(), {{Rec(kHashStar)}, {Rec(kHashFqdn)}}, Outcome::kValid,
       {V::kValid, V::kValid}, "any domain", 0},
      {"MalformedAndUnauthorized", Hashed(),
       {{Rec(Uri("other.example"))}, {Rec(kHashFqdn, ";foo")}}, Outcome::kMalformed,
       {V::kUnauthorized, V::kMalformed}, "record 1 is malformed"},
      {"TwoUnauthorized", Hashed(),
       {{Rec(Uri("other.example"))}, {Rec(kHashFqdn, ";persistUntil=0")}}, Outcome::kUnauthorized,
       {V::kUnauthorized, V::kUnauthorized}, "record 0 is unauthorized"},
      {"OtherCaMalformedIsIgnored", Hashed(),
       {{"other.example;;accounturi=a;accounturi=b"}, {Rec(Uri("other.example"))}},
       Outcome::kUnauthorized, {V::kIgnored, V::kUnauthorized}, ""},
      {"SecondIssuerMatches",
       With(Hashed(), [](VerdictContext* c) { c->issuers = {"ca.example.net", kIssuer}; }),
       {{"CA.EXAMPLE.NET.; accounturi=" + std::string(kHashFqdn)}}, Outcome::kValid, {V::kValid},
       "", 0},
      {"SplitAcrossStrings", Hashed(),
       {{"authority.example; accounturi=https://ca.example/acc", "ount-hash/sha-256/",
         "5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw"}},
       Outcome::kValid, {V::kValid}, "", 0},
      {"SeparateRrsAreNotJoined", Hashed(),
       {{"authority.example; accounturi=https://ca.example/account-hash/"},
        {"sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw"}},
       Outcome::kMalformed, {V::kMalformed, V::kIgnored}, "no \"<alg>/\""},
      {"StringLongerThan255", Hashed(), {{Rec(kHashFqdn, ";x=" + std::string(300, 'y'))}},
       Outcome::kMalformed, {V::kMalformed}, "character-string 0 is 416 octets"},
      {"MaxSizeRecord", Hashed(),
       {[] {
         // 64 KiB of 255-octet strings: the record, then unknown parameters.
         TxtRr rr = {Rec(kHashFqdn)};
         for (int i = 0; i < 256; ++i) rr.push_back(absl::StrCat(";p", i, "=", std::string(240, 'v')));
         return rr;
       }()},
       Outcome::kValid, {V::kValid}, "", 0},
      {"NulAndHighBytesInOtherCaRecord", Hashed(),
       {{std::string("\0\xff\xfe;\0", 5)}, {Rec(kHashFqdn)}}, Outcome::kValid,
       {V::kIgnored, V::kValid}, "", 1},
      {"IssuerInQuotesIgnored", Hashed(), {{"\"authority.example\"; accounturi=" + std::string(kHashFqdn)}},
       Outcome::kUnauthorized, {V::kIgnored}, "names this CA"},
      // Legacy raw mode (SPEC.md 3): byte-exact.
      {"RawExact", Raw(), {{Rec(kA)}}, Outcome::kValid, {V::kValid}, "legacy raw mode", 0},
      {"RawCaseDiffers", Raw(), {{Rec("https://CA.example/acct/123")}}, Outcome::kUnauthorized,
       {V::kUnauthorized}, "byte-exact"},
      {"RawTrailingSlash", Raw(), {{Rec(kA + "/")}}, Outcome::kUnauthorized, {V::kUnauthorized},
       "not this account's URL"},
      {"RawHashedValueIsNotAccepted", Raw(), {{Rec(kHashFqdn)}}, Outcome::kUnauthorized,
       {V::kUnauthorized}, ""},
      {"RawDeactivated", With(Raw(), [](VerdictContext* c) { c->deactivated = true; }),
       {{Rec(kA)}}, Outcome::kUnauthorized, {V::kUnauthorized}, "deactivated"},
  };
  return *cases;
}

void PrintTo(const VerdictCase& c, std::ostream* os) { *os << c.name; }
void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class VerdictTable : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(VerdictTable, Decides) {
  const VerdictCase& c = GetParam();
  absl::StatusOr<RrsetVerdict> v = EvaluateRrset(c.ctx, c.rrset);
  ASSERT_TRUE(v.ok()) << v.status();
  std::string all;
  for (const RecordResult& r : v->records) {
    absl::StrAppend(&all, "\n  [", r.index, "] ", RecordVerdictName(r.verdict), ": ", r.reason);
  }
  EXPECT_EQ(OutcomeName(v->outcome), OutcomeName(c.outcome)) << all;
  ASSERT_EQ(v->records.size(), c.verdicts.size());
  for (size_t i = 0; i < c.verdicts.size(); ++i) {
    EXPECT_EQ(RecordVerdictName(v->records[i].verdict), RecordVerdictName(c.verdicts[i]))
        << "record " << i << all;
    EXPECT_FALSE(v->records[i].reason.empty());
  }
  EXPECT_EQ(v->matched_index, c.matched);
  if (c.outcome == Outcome::kValid) {
    EXPECT_FALSE(v->problem.has_value());
    EXPECT_THAT(v->records[c.matched].reason, HasSubstr(c.reason));
    EXPECT_EQ(v->matched_accounturi, *v->records[c.matched].accounturi);
  } else {
    ASSERT_TRUE(v->problem.has_value());
    EXPECT_EQ(v->problem->type, c.outcome == Outcome::kMalformed ? ProblemType::kMalformed
                                                                 : ProblemType::kUnauthorized);
    EXPECT_THAT(v->problem->detail, HasSubstr(c.reason));
    EXPECT_FALSE(v->matched_key.has_value());
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, VerdictTable, ::testing::ValuesIn(VerdictCases()),
                         [](const ::testing::TestParamInfo<VerdictCase>& info) {
                           return Sanitize(info.param.name);
                         });

TEST(Verdict, KeyMatchEvidence) {
  absl::StatusOr<RrsetVerdict> v =
      EvaluateRrset(Hashed(), {{"x.example; accounturi=1"}, {Rec(Uri("*", kRetained))}});
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->outcome, Outcome::kValid);
  ASSERT_TRUE(v->matched_key.has_value());
  EXPECT_EQ(v->matched_key->thumbprint, kRetained);
  EXPECT_EQ(v->matched_key->key_index, 1);
  EXPECT_TRUE(v->matched_key->domain_independent);
  EXPECT_EQ(v->matched_key->hash_alg, HashAlg::kSha256);
  EXPECT_EQ(v->matched_index, 1);
  EXPECT_EQ(v->matched_accounturi, Uri("*", kRetained));
}

TEST(Verdict, RawModeHasNoKeyMatch) {
  absl::StatusOr<RrsetVerdict> v = EvaluateRrset(Raw(), {{Rec(kA)}});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->outcome, Outcome::kValid);
  EXPECT_FALSE(v->matched_key.has_value());
  EXPECT_EQ(v->matched_accounturi, kA);
}

TEST(Verdict, ValidUntilIsCappedAtTenDaysAndPersistUntil) {
  absl::StatusOr<RrsetVerdict> no_limit = EvaluateRrset(Hashed(), {{Rec(kHashFqdn)}});
  ASSERT_TRUE(no_limit.ok());
  EXPECT_EQ(no_limit->valid_until, kNow + absl::Hours(240));
  EXPECT_FALSE(no_limit->persist_until.has_value());

  absl::StatusOr<RrsetVerdict> soon =
      EvaluateRrset(Hashed(), {{Rec(kHashFqdn, "; persistUntil=1790000100")}});
  ASSERT_TRUE(soon.ok());
  EXPECT_EQ(soon->valid_until, absl::FromUnixSeconds(1790000100));

  absl::StatusOr<RrsetVerdict> late =
      EvaluateRrset(Hashed(), {{Rec(kHashFqdn, "; persistUntil=1890000000")}});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->valid_until, kNow + absl::Hours(240));
  EXPECT_EQ(late->persist_until, absl::FromUnixSeconds(1890000000));

  EXPECT_EQ(ValidUntil(kNow, kNow), kNow);
  EXPECT_EQ(ValidUntil(kNow, std::nullopt), kNow + kMaxReuse);
}

TEST(Verdict, SubsecondAfterPersistUntilIsExpired) {
  VerdictContext c = Hashed();
  c.now = absl::FromUnixSeconds(1790000000) + absl::Milliseconds(1);
  absl::StatusOr<RrsetVerdict> v =
      EvaluateRrset(c, {{Rec(kHashFqdn, "; persistUntil=1790000000")}});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->outcome, Outcome::kUnauthorized);
}

TEST(Verdict, ManyRecordsMatchIsLast) {
  std::vector<TxtRr> rrset;
  for (int i = 0; i < 200; ++i) rrset.push_back({Rec(Uri(absl::StrCat("d", i, ".example")))});
  rrset.push_back({Rec(kHashFqdn)});
  absl::StatusOr<RrsetVerdict> v = EvaluateRrset(Hashed(), rrset);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->outcome, Outcome::kValid);
  EXPECT_EQ(v->matched_index, 200);
}

TEST(Verdict, ManyUnauthorizedDetailIsBounded) {
  std::vector<TxtRr> rrset(50, TxtRr{Rec(Uri("other.example"))});
  absl::StatusOr<RrsetVerdict> v = EvaluateRrset(Hashed(), rrset);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->outcome, Outcome::kUnauthorized);
  EXPECT_THAT(v->problem->detail, HasSubstr("and 46 more"));
  EXPECT_LT(v->problem->detail.size(), 2000u);
}

TEST(AccountBinding, PrecomputesKeysTimesDomainsTimesAlgs) {
  VerdictContext c = Hashed();
  c.hash_algs = {"sha-256", "sha-512", "sha-256"};
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(c);
  ASSERT_TRUE(b.ok()) << b.status();
  const auto& e = (*b)->expected();
  ASSERT_EQ(e.size(), 2u * 2u * 2u);
  EXPECT_EQ(e[0].accounturi, kHashFqdn);
  EXPECT_EQ(e[0].key.key_index, 0);
  EXPECT_FALSE(e[0].key.domain_independent);
  EXPECT_EQ(e[2].accounturi, kHashStar);
  EXPECT_TRUE(e[2].key.domain_independent);
  EXPECT_EQ(e[4].key.thumbprint, kRetained);
  EXPECT_EQ((*b)->owner(), "_validation-persist.example.com");
  EXPECT_EQ((*b)->owner(), PersistOwnerName("example.com"));
  // The binding can be reused for many RRsets.
  EXPECT_EQ((*b)->Evaluate({{Rec(kHashFqdn)}}).outcome, Outcome::kValid);
  EXPECT_EQ((*b)->Evaluate({{Rec(kA)}}).outcome, Outcome::kMalformed);
  EXPECT_EQ((*b)->Evaluate({}).outcome, Outcome::kUnauthorized);
}

TEST(AccountBinding, NormalizesIssuers) {
  VerdictContext c = Hashed();
  c.issuers = {"Authority.Example."};
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(c);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->context().issuers[0], kIssuer);
  EXPECT_EQ((*b)->Evaluate({{Rec(kHashFqdn)}}).outcome, Outcome::kValid);
}

struct BadContext {
  std::string name;
  VerdictContext ctx;
  std::string error;
};

class BadContextTable : public ::testing::TestWithParam<BadContext> {};

TEST_P(BadContextTable, RejectedNamingTheField) {
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(GetParam().ctx);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(b.status().message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadContextTable,
    ::testing::Values(
        BadContext{"NoIssuers", With(Hashed(), [](VerdictContext* c) { c->issuers.clear(); }),
                   "issuers: 0 given"},
        BadContext{"ElevenIssuers",
                   With(Hashed(), [](VerdictContext* c) { c->issuers.assign(11, kIssuer); }),
                   "issuers: 11 given"},
        BadContext{"BadIssuer",
                   With(Hashed(),
                        [](VerdictContext* c) {
                          c->issuers = {kIssuer, "a b"};
                        }),
                   "issuers[1]"},
        BadContext{"EmptyIssuer", With(Hashed(), [](VerdictContext* c) { c->issuers = {""}; }),
                   "issuers[0]"},
        BadContext{"WildcardInFqdn",
                   With(Hashed(), [](VerdictContext* c) { c->identifier.fqdn = "*.example.com"; }),
                   "identifier:"},
        BadContext{"UppercaseFqdn",
                   With(Hashed(), [](VerdictContext* c) { c->identifier.fqdn = "Example.com"; }),
                   "identifier:"},
        BadContext{"EmptyAccountUrl",
                   With(Hashed(), [](VerdictContext* c) { c->account_url.clear(); }),
                   "account_url: is 0 octets"},
        BadContext{"LongAccountUrl",
                   With(Hashed(), [](VerdictContext* c) { c->account_url.assign(2049, 'u'); }),
                   "account_url: is 2049 octets"},
        BadContext{"NoPrefix", With(Hashed(), [](VerdictContext* c) { c->hash_prefix.clear(); }),
                   "hash_prefix"},
        BadContext{"NoThumbprints",
                   With(Hashed(), [](VerdictContext* c) { c->thumbprints.clear(); }),
                   "thumbprints: 0 given"},
        BadContext{"BadThumbprint",
                   With(Hashed(), [](VerdictContext* c) { c->thumbprints.push_back("abc"); }),
                   "thumbprints[2]"},
        BadContext{"BadAlg", With(Hashed(), [](VerdictContext* c) { c->hash_algs = {"SHA-256"}; }),
                   "hash_algs[0]"}),
    [](const ::testing::TestParamInfo<BadContext>& info) { return info.param.name; });

// The base64url check reads 16 characters at a time (the last block
// overlapping): a byte that is not base64url is found at EVERY position of a
// thumbprint and of a record's hash, whatever its byte class (RFC 4648
// section 5; SPEC.md 3).
TEST(AccountBinding, NonBase64UrlByteIsFoundAtEveryPosition) {
  const std::string bad_bytes = std::string("+/=.@[`{:\x20\x7f\x80\xc1\xe1\xff", 15) + '\0';
  const std::string hash = std::string(kHashFqdn).substr(std::string(kHashFqdn).size() - 43);
  const std::string uri_head = std::string(kHashFqdn).substr(0, std::string(kHashFqdn).size() - 43);
  absl::StatusOr<std::unique_ptr<AccountBinding>> good = AccountBinding::Create(Hashed());
  ASSERT_TRUE(good.ok()) << good.status();
  for (size_t pos = 0; pos < 43; ++pos) {
    for (char c : bad_bytes) {
      SCOPED_TRACE(absl::StrCat("position ", pos, " byte ", static_cast<int>(c)));
      VerdictContext ctx = Hashed();
      ctx.thumbprints[0][pos] = c;
      absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(ctx);
      ASSERT_FALSE(b.ok());
      EXPECT_THAT(std::string(b.status().message()), HasSubstr("thumbprints[0]"));
      std::string h = hash;
      h[pos] = c;
      EXPECT_NE((*good)->Evaluate({{Rec(uri_head + h)}}).outcome, Outcome::kValid);
    }
    // A base64url byte there is fine (the thumbprint is another key; the
    // tail's unused bits aside).
    if (pos < 42) {
      VerdictContext ctx = Hashed();
      ctx.thumbprints[0][pos] = ctx.thumbprints[0][pos] == '_' ? '-' : '_';
      EXPECT_TRUE(AccountBinding::Create(ctx).ok()) << pos;
    }
  }
}

TEST(AccountBinding, RawModeNeedsNoKeys) {
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(Raw());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE((*b)->expected().empty());
}

TEST(Names, ProblemUrnsAndWords) {
  EXPECT_EQ(ProblemTypeUrn(ProblemType::kMalformed), "urn:ietf:params:acme:error:malformed");
  EXPECT_EQ(ProblemTypeUrn(ProblemType::kUnauthorized), "urn:ietf:params:acme:error:unauthorized");
  EXPECT_EQ(ProblemTypeUrn(ProblemType::kDns), "urn:ietf:params:acme:error:dns");
  EXPECT_EQ(ProblemTypeUrn(ProblemType::kCaa), "urn:ietf:params:acme:error:caa");
  EXPECT_EQ(ProblemTypeUrn(ProblemType::kServerInternal),
            "urn:ietf:params:acme:error:serverInternal");
  EXPECT_EQ(OutcomeName(Outcome::kValid), "valid");
  EXPECT_EQ(RecordVerdictName(RecordVerdict::kIgnored), "ignored");
  EXPECT_EQ(AccountUriModeName(AccountUriMode::kLegacyRaw), "raw");
}

// ---------------------------------------------------------------------------
// The decision (Decide) and its explanation (Reason, ExplainRecord,
// ExplainProblem, Explain).

VerdictContext Wildcard() {
  return With(Hashed(), [](VerdictContext* c) { c->identifier.wildcard = true; });
}
VerdictContext Deactivated() {
  return With(Hashed(), [](VerdictContext* c) { c->deactivated = true; });
}
VerdictContext Sha256And512() {
  return With(Hashed(), [](VerdictContext* c) { c->hash_algs = {"sha-256", "sha-512"}; });
}

// GoldenCase: the exact texts users see (evidence, audit, `vantagectl
// check`). The expected strings are the texts of the implementation that
// built them while deciding, before the decision and its explanation were
// split; rendering must reproduce them byte for byte.
struct GoldenCase {
  std::string name;
  VerdictContext ctx;
  std::vector<TxtRr> rrset;
  std::vector<std::string> reasons;  // every record's reason
  std::string detail;                // the problem detail ("" when valid)
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

class GoldenTexts : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTexts, RenderingReproducesTheTexts) {
  const GoldenCase& c = GetParam();
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(c.ctx);
  ASSERT_TRUE(b.ok()) << b.status();
  const RrsetDecision d = (*b)->Decide(c.rrset);
  ASSERT_EQ(d.records.size(), c.reasons.size());
  for (size_t i = 0; i < c.reasons.size(); ++i) {
    EXPECT_EQ((*b)->Reason(d.records[i]), c.reasons[i]) << "record " << i;
    EXPECT_EQ((*b)->ExplainRecord(d.records[i]).reason, c.reasons[i]) << "record " << i;
  }
  const std::optional<Problem> problem = (*b)->ExplainProblem(d);
  EXPECT_EQ(problem.has_value() ? problem->detail : "", c.detail);
  EXPECT_EQ(problem.has_value(), d.outcome != Outcome::kValid);
  // Evaluate (Decide + Explain) gives the same texts.
  const RrsetVerdict v = (*b)->Evaluate(c.rrset);
  ASSERT_EQ(v.records.size(), c.reasons.size());
  for (size_t i = 0; i < c.reasons.size(); ++i) EXPECT_EQ(v.records[i].reason, c.reasons[i]);
  EXPECT_EQ(v.problem.has_value() ? v.problem->detail : "", c.detail);
}

INSTANTIATE_TEST_SUITE_P(
    Reasons, GoldenTexts,
    ::testing::ValuesIn(std::vector<GoldenCase>{
      {"NoIssuer", Hashed(), {{";accounturi=x"}},
       {"no issuer-domain-name: not a record for this CA (SPEC.md 2)"},
       "none of the 1 TXT record(s) at _validation-persist.example.com names this CA "
       "(authority.example); records for other CAs are ignored (SPEC.md 2)"},
      {"OtherIssuer", Hashed(), {{" Other.Example. ; accounturi=x"}},
       {"issuer \"other.example\" is not one of this CA's issuer domain names (SPEC.md 2)"},
       "none of the 1 TXT record(s) at _validation-persist.example.com names this CA "
       "(authority.example); records for other CAs are ignored (SPEC.md 2)"},
      {"NoParameters", Hashed(), {{"authority.example"}},
       {"no parameters: accounturi is required (SPEC.md 2)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: no "
       "parameters: accounturi is required (SPEC.md 2)"},
      {"EmptyParameter", Hashed(), {{"authority.example; accounturi=x;;"}},
       {"parameter 2 is empty (\";;\" or a trailing \";\"; SPEC.md 2, RFC 8659 section 4.2)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "parameter 2 is empty (\";;\" or a trailing \";\"; SPEC.md 2, RFC 8659 section 4.2)"},
      {"NoEquals", Hashed(), {{"authority.example; accounturi=x; no value"}},
       {"parameter \"no value\" has no '=': each parameter is tag=value (SPEC.md 2)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "parameter \"no value\" has no '=': each parameter is tag=value (SPEC.md 2)"},
      {"EmptyTag", Hashed(), {{"authority.example; accounturi=x; =v"}},
       {"parameter \"=v\" has an empty tag (SPEC.md 2)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "parameter \"=v\" has an empty tag (SPEC.md 2)"},
      {"BadValueByte", Hashed(), {{"authority.example; accounturi=x; Foo=a\x01" "b"}},
       {"the value of \"Foo\" contains the byte 0x01: values are printable ASCII without "
        "space or ';' (%x21-3A / %x3C-7E, RFC 8659 section 4.2)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: the "
       "value of \"Foo\" contains the byte 0x01: values are printable ASCII without space "
       "or ';' (%x21-3A / %x3C-7E, RFC 8659 section 4.2)"},
      {"DuplicateTag", Hashed(), {{"authority.example; accounturi=x; ACCOUNTURI=y"}},
       {"tag \"ACCOUNTURI\" appears more than once (tags are case-insensitive; SPEC.md 2 and "
        "8, -02 section 9.3.1)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: tag "
       "\"ACCOUNTURI\" appears more than once (tags are case-insensitive; SPEC.md 2 and 8, "
       "-02 section 9.3.1)"},
      {"EmptyAccountUri", Hashed(), {{"authority.example; accounturi="}},
       {"accounturi is empty (SPEC.md 2)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi is empty (SPEC.md 2)"},
      {"BadPersistUntil", Hashed(), {{"authority.example; accounturi=x; persistUntil=-1"}},
       {"persistUntil \"-1\" is not a Unix time: 1 or more ASCII digits, at most "
        "9223372036854775807 (SPEC.md 2)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "persistUntil \"-1\" is not a Unix time: 1 or more ASCII digits, at most "
       "9223372036854775807 (SPEC.md 2)"},
      {"MissingAccountUri", Hashed(), {{"authority.example; policy=wildcard"}},
       {"accounturi is missing: it is required (SPEC.md 2)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi is missing: it is required (SPEC.md 2)"},
      {"LongCharacterString", Hashed(), {{Rec(kHashFqdn, "; x="), std::string(300, 'y')}},
       {"character-string 1 is 300 octets; DNS allows at most 255 (RFC 1035 section 3.3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "character-string 1 is 300 octets; DNS allows at most 255 (RFC 1035 section 3.3)"},
      {"RawAccountUrl", Hashed(), {{Rec(kA)}},
       {"accounturi is the raw account URL (the -00/-01 form, open to the proxy-server "
        "attack): refused in hashed mode, a key-bound value under "
        "\"https://ca.example/account-hash/\" is required (SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi is the raw account URL (the -00/-01 form, open to the proxy-server "
       "attack): refused in hashed mode, a key-bound value under "
       "\"https://ca.example/account-hash/\" is required (SPEC.md 3)"},
      {"NotUnderPrefix", Hashed(), {{Rec("https://ca.example/other/sha-256/abc")}},
       {"accounturi \"https://ca.example/other/sha-256/abc\" is not under the "
        "accountHashPrefix \"https://ca.example/account-hash/\" (byte-exact; SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi \"https://ca.example/other/sha-256/abc\" is not under the "
       "accountHashPrefix \"https://ca.example/account-hash/\" (byte-exact; SPEC.md 3)"},
      {"NoAlgorithm", Hashed(), {{Rec(std::string(kPrefix) + "abc")}},
       {"accounturi \"https://ca.example/account-hash/abc\" has no \"<alg>/\" after the "
        "accountHashPrefix (SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi \"https://ca.example/account-hash/abc\" has no \"<alg>/\" after the "
       "accountHashPrefix (SPEC.md 3)"},
      {"UnknownAlgorithm", Hashed(), {{Rec(std::string(kPrefix) + "SHA-256/abc")}},
       {"accounturi: hash algorithm \"SHA-256\" is not one of the exact lowercase tokens "
        "sha-256, sha-384, sha-512 (SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi: hash algorithm \"SHA-256\" is not one of the exact lowercase tokens "
       "sha-256, sha-384, sha-512 (SPEC.md 3)"},
      {"AlgorithmNotAccepted", Sha256And512(),
       {{Rec(Uri("example.com", kCurrent, HashAlg::kSha384))}},
       {"accounturi: hash algorithm sha-384 is not accepted here (accepted: sha-256, "
        "sha-512; SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi: hash algorithm sha-384 is not accepted here (accepted: sha-256, "
       "sha-512; SPEC.md 3)"},
      {"PaddedHash", Hashed(), {{Rec(std::string(kHashFqdn) + "=")}},
       {"accounturi: the hash contains padding '=' at offset 43: base64url without padding "
        "is required (SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi: the hash contains padding '=' at offset 43: base64url without padding "
       "is required (SPEC.md 3)"},
      {"BadHashCharacter", Hashed(), {{Rec(std::string(kPrefix) + "sha-256/ab+c")}},
       {"accounturi: the hash contains the byte 0x2B at offset 2: base64url without padding "
        "is required (SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi: the hash contains the byte 0x2B at offset 2: base64url without padding "
       "is required (SPEC.md 3)"},
      {"BadHashLength", Sha256And512(), {{Rec(std::string(kPrefix) + "sha-512/abc")}},
       {"accounturi: the sha-512 hash is 3 characters; exactly 86 base64url characters are "
        "required (SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi: the sha-512 hash is 3 characters; exactly 86 base64url characters are "
       "required (SPEC.md 3)"},
      {"NonCanonicalHash", Hashed(), {{Rec(Canonicalize43(kHashFqdn))}},
       {"accounturi: the hash is not canonical base64url: the unused low bits of the last "
        "character must be zero (SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "accounturi: the hash is not canonical base64url: the unused low bits of the last "
       "character must be zero (SPEC.md 3)"},
      {"Deactivated", Deactivated(), {{Rec(kHashFqdn)}, {"authority.example; accounturi=x;;"}},
       {"the account is deactivated: no record can authorize it (SPEC.md 3)",
        "the account is deactivated: no record can authorize it (SPEC.md 3); the record is "
        "also malformed: parameter 2 is empty (\";;\" or a trailing \";\"; SPEC.md 2, RFC "
        "8659 section 4.2)"},
       "the account is deactivated: no record can authorize it (SPEC.md 3)"},
      {"FailedChecks", Wildcard(), {{Rec(Uri("other.example"), "; persistUntil=5")}},
       {"accounturi matches none of the 2 key(s) of this account for example.com or \"*\" "
        "with sha-256: it was computed for another account, key, domain or account URL "
        "(SPEC.md 3); persistUntil 5 (1970-01-01T00:00:05Z) is before the validation time "
        "2026-09-21T14:13:20Z (SPEC.md 2); the identifier is the wildcard *.example.com and "
        "the record has no policy=wildcard (SPEC.md 2)"},
       "no valid record at _validation-persist.example.com: record 0 is unauthorized: "
       "accounturi matches none of the 2 key(s) of this account for example.com or \"*\" "
       "with sha-256: it was computed for another account, key, domain or account URL "
       "(SPEC.md 3); persistUntil 5 (1970-01-01T00:00:05Z) is before the validation time "
       "2026-09-21T14:13:20Z (SPEC.md 2); the identifier is the wildcard *.example.com and "
       "the record has no policy=wildcard (SPEC.md 2)"},
      {"RawMismatch", Raw(), {{Rec(kA + "/")}},
       {"accounturi \"https://ca.example/acct/123/\" is not this account's URL (legacy raw "
        "mode, byte-exact compare; SPEC.md 3)"},
       "no valid record at _validation-persist.example.com: record 0 is unauthorized: "
       "accounturi \"https://ca.example/acct/123/\" is not this account's URL (legacy raw "
       "mode, byte-exact compare; SPEC.md 3)"},
      {"RawValid", Raw(), {{Rec(kA, "; persistUntil=1800000000")}},
       {"accounturi is this account's URL (legacy raw mode); usable until persistUntil 1800000000"},
       ""},
      {"KeyBoundRetainedStar", Wildcard(),
       {{Rec(Uri("*", kRetained), "; policy=wildcard; persistUntil=1800000000")}},
       {"accounturi is bound to retained key 1 for any domain (D=\"*\") with sha-256; "
        "policy=wildcard; usable until persistUntil 1800000000"},
       ""},
      {"KeyBoundCurrentFqdn", Hashed(), {{Rec(kHashFqdn)}},
       {"accounturi is bound to the current key (key 0) for example.com with sha-256"},
       ""},
      {"EmptyRrset", Hashed(), {},
       {},
       "no TXT record at _validation-persist.example.com (SPEC.md 4)"},
      {"NoneOurs", Hashed(), {{"other.example; accounturi=x"}, {""}},
       {"issuer \"other.example\" is not one of this CA's issuer domain names (SPEC.md 2)",
        "no issuer-domain-name: not a record for this CA (SPEC.md 2)"},
       "none of the 2 TXT record(s) at _validation-persist.example.com names this CA "
       "(authority.example); records for other CAs are ignored (SPEC.md 2)"},
      {"ManyListed", Hashed(),
       {{Rec(kHashFqdn, ";")}, {"other.example; a=b"}, {Rec(Uri("a.example"))}, {Rec(kA)},
        {Rec(kHashFqdn, "; persistUntil=1")}, {"authority.example; accounturi"}},
       {"parameter 2 is empty (\";;\" or a trailing \";\"; SPEC.md 2, RFC 8659 section 4.2)",
        "issuer \"other.example\" is not one of this CA's issuer domain names (SPEC.md 2)",
        "accounturi matches none of the 2 key(s) of this account for example.com or \"*\" "
        "with sha-256: it was computed for another account, key, domain or account URL "
        "(SPEC.md 3)",
        "accounturi is the raw account URL (the -00/-01 form, open to the proxy-server "
        "attack): refused in hashed mode, a key-bound value under "
        "\"https://ca.example/account-hash/\" is required (SPEC.md 3)",
        "persistUntil 1 (1970-01-01T00:00:01Z) is before the validation time "
        "2026-09-21T14:13:20Z (SPEC.md 2)",
        "parameter \"accounturi\" has no '=': each parameter is tag=value (SPEC.md 2)"},
       "no valid record at _validation-persist.example.com: record 0 is malformed: "
       "parameter 2 is empty (\";;\" or a trailing \";\"; SPEC.md 2, RFC 8659 section 4.2); "
       "record 2 is unauthorized: accounturi matches none of the 2 key(s) of this account "
       "for example.com or \"*\" with sha-256: it was computed for another account, key, "
       "domain or account URL (SPEC.md 3); record 3 is malformed: accounturi is the raw "
       "account URL (the -00/-01 form, open to the proxy-server attack): refused in hashed "
       "mode, a key-bound value under \"https://ca.example/account-hash/\" is required "
       "(SPEC.md 3); record 4 is unauthorized: persistUntil 1 (1970-01-01T00:00:01Z) is "
       "before the validation time 2026-09-21T14:13:20Z (SPEC.md 2); and 1 more"},

    }),
    [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

// The decision agrees with the explained verdict on everything the VA needs
// to decide, for every row of the rule table.
TEST_P(VerdictTable, DecisionAgreesWithTheVerdict) {
  const VerdictCase& c = GetParam();
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(c.ctx);
  ASSERT_TRUE(b.ok()) << b.status();
  const RrsetDecision d = (*b)->Decide(c.rrset);
  const RrsetVerdict v = (*b)->Evaluate(c.rrset);
  EXPECT_EQ(d.outcome, v.outcome);
  EXPECT_EQ(d.problem_type.has_value(), v.problem.has_value());
  if (v.problem.has_value()) {
    EXPECT_EQ(*d.problem_type, v.problem->type);
  }
  EXPECT_EQ(d.matched_index, v.matched_index);
  EXPECT_EQ(d.matched_accounturi, v.matched_accounturi);
  ASSERT_EQ(d.matched_key.has_value(), v.matched_key.has_value());
  if (v.matched_key.has_value()) {
    EXPECT_EQ(d.matched_key->thumbprint, v.matched_key->thumbprint);
    EXPECT_EQ(d.matched_key->key_index, v.matched_key->key_index);
    EXPECT_EQ(d.matched_key->domain_independent, v.matched_key->domain_independent);
    EXPECT_EQ(d.matched_key->hash_alg, v.matched_key->hash_alg);
  }
  EXPECT_EQ(d.persist_until, v.persist_until);
  EXPECT_EQ(d.valid_until, v.valid_until);
  ASSERT_EQ(d.records.size(), v.records.size());
  for (size_t i = 0; i < d.records.size(); ++i) {
    EXPECT_EQ(d.records[i].index, v.records[i].index);
    EXPECT_EQ(d.records[i].verdict, v.records[i].verdict);
    EXPECT_EQ(d.records[i].value, v.records[i].value);
    EXPECT_EQ(d.records[i].accounturi.has_value(), v.records[i].accounturi.has_value());
    if (d.records[i].accounturi.has_value()) {
      EXPECT_EQ(*d.records[i].accounturi, *v.records[i].accounturi);
    }
    EXPECT_EQ(d.records[i].persist_until, v.records[i].persist_until);
    EXPECT_EQ(d.records[i].policy_wildcard, v.records[i].policy_wildcard);
  }
}

TEST(Decision, ReasonCodesNameTheRules) {
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(Wildcard());
  ASSERT_TRUE(b.ok()) << b.status();
  const std::vector<TxtRr> rrset = {
      {Rec(Uri("other.example"), "; persistUntil=5")},
      {"authority.example; accounturi=x; Foo=a\tb"},
      {Rec(Uri("*", kRetained), "; policy=wildcard")},
      {"other.example"},
  };
  const RrsetDecision d = (*b)->Decide(rrset);
  ASSERT_EQ(d.records.size(), 4u);
  EXPECT_EQ(d.records[0].reason, RecordReason::kFailedChecks);
  EXPECT_EQ(d.records[0].failed, RecordDecision::kAccountUriMismatch | RecordDecision::kExpired |
                                     RecordDecision::kNoWildcardPolicy);
  EXPECT_EQ(d.records[0].key, -1);
  EXPECT_EQ(d.records[1].reason, RecordReason::kBadValueByte);
  EXPECT_EQ(d.records[1].syntax, RecordReason::kBadValueByte);
  EXPECT_EQ(d.records[1].text, "Foo");
  EXPECT_EQ(d.records[1].byte, '\t');
  EXPECT_EQ(d.records[2].reason, RecordReason::kKeyBound);
  ASSERT_GE(d.records[2].key, 0);
  const std::vector<ExpectedAccountUri> expected = (*b)->expected();
  EXPECT_EQ(expected[d.records[2].key].accounturi, *d.records[2].accounturi);
  EXPECT_EQ(d.records[3].reason, RecordReason::kOtherIssuer);
  EXPECT_EQ(d.outcome, Outcome::kValid);
  EXPECT_FALSE(d.problem_type.has_value());
}

TEST(Decision, ViewsIntoTheRrsetSurviveAMove) {
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(Hashed());
  ASSERT_TRUE(b.ok()) << b.status();
  const std::vector<TxtRr> rrset = {
      {Rec(kHashStar)},
      // SPEC.md 2: the strings of one RR are joined with no separator.
      {"authority.example; accounturi=https://ca.example/acc", "", "ount-hash/sha-256/",
       "5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw"},
      {"a", "b"},
  };
  RrsetDecision first = (*b)->Decide(rrset);
  // One string: the value is the input itself, not a copy.
  EXPECT_EQ(first.records[0].value.data(), rrset[0][0].data());
  ASSERT_TRUE(first.records[0].accounturi.has_value());
  EXPECT_GE(first.records[0].accounturi->data(), rrset[0][0].data());
  EXPECT_LE(first.records[0].accounturi->data() + first.records[0].accounturi->size(),
            rrset[0][0].data() + rrset[0][0].size());
  const RrsetDecision d = std::move(first);
  EXPECT_EQ(d.records[1].value, Rec(kHashFqdn));
  EXPECT_EQ(d.records[1].verdict, RecordVerdict::kValid);
  EXPECT_EQ(d.records[2].value, "ab");
  EXPECT_EQ(d.matched_index, 0);
  EXPECT_EQ(d.matched_accounturi, kHashStar);
  const RecordResult r = (*b)->ExplainRecord(d.records[1]);
  EXPECT_EQ(r.value, Rec(kHashFqdn));
  EXPECT_EQ(r.accounturi, std::string(kHashFqdn));
  ASSERT_TRUE(r.key.has_value());
  EXPECT_EQ(r.key->thumbprint, kCurrent);
  EXPECT_FALSE(r.key->domain_independent);
}

TEST(AccountBinding, PrecomputedValuesMatchTheHasher) {
  // Create lays out L || D || K || U itself; AccountUriHasher is the
  // reference (SPEC.md 3 vectors in account_hash_test).
  VerdictContext c = Hashed();
  c.thumbprints = {kCurrent, kRetained, "L_j090ywHMcVuYmgmlI-vJQwCKKpLBGBSwlI_3NLvEs"};
  c.hash_algs = {"sha-512", "sha-256", "sha-384"};
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(c);
  ASSERT_TRUE(b.ok()) << b.status();
  const std::vector<ExpectedAccountUri> e = (*b)->expected();
  ASSERT_EQ(e.size(), 3u * 2u * 3u);
  size_t i = 0;
  for (size_t k = 0; k < c.thumbprints.size(); ++k) {
    for (const std::string d : {"example.com", "*"}) {
      for (HashAlg alg : {HashAlg::kSha512, HashAlg::kSha256, HashAlg::kSha384}) {
        EXPECT_EQ(e[i].accounturi, Uri(d, c.thumbprints[k], alg)) << i;
        EXPECT_EQ(e[i].key.thumbprint, c.thumbprints[k]);
        EXPECT_EQ(e[i].key.key_index, static_cast<int>(k));
        EXPECT_EQ(e[i].key.domain_independent, d == "*");
        EXPECT_EQ(e[i].key.hash_alg, alg);
        // And a record carrying it is bound to exactly that value.
        const RrsetDecision dec = (*b)->Decide({{Rec(e[i].accounturi)}});
        EXPECT_EQ(dec.records[0].key, static_cast<int>(i));
        ++i;
      }
    }
  }
}

TEST(AccountBinding, LargestContext) {
  // DESIGN.md input limits: 64 keys, a 2048-octet account URL, a 1024-octet
  // prefix, 10 issuers; all three algorithms (384 values).
  VerdictContext c = Hashed();
  c.account_url = "https://ca.example/" + std::string(2048 - 19, 'u');
  c.hash_prefix = "https://ca.example/" + std::string(1024 - 20, 'p') + "/";
  c.issuers.assign(10, "other.example");
  c.issuers[9] = kIssuer;
  c.thumbprints.clear();
  for (int i = 0; i < 64; ++i) {
    c.thumbprints.push_back(i % 2 == 0 ? kCurrent : kRetained);
  }
  c.thumbprints[63] = "L_j090ywHMcVuYmgmlI-vJQwCKKpLBGBSwlI_3NLvEs";
  c.hash_algs = {"sha-256", "sha-384", "sha-512"};
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(c);
  ASSERT_TRUE(b.ok()) << b.status();
  const std::string last = *HashedAccountUri(c.hash_prefix, HashAlg::kSha512, "*",
                                             c.thumbprints[63], c.account_url);
  // RFC 1035 section 3.3: a long record comes as several character-strings.
  TxtRr rr;
  const std::string value = Rec(last);
  for (size_t at = 0; at < value.size(); at += 255) rr.push_back(value.substr(at, 255));
  const RrsetDecision d = (*b)->Decide({rr});
  EXPECT_EQ(d.outcome, Outcome::kValid);
  ASSERT_TRUE(d.matched_key.has_value());
  EXPECT_EQ(d.matched_key->key_index, 63);
  EXPECT_EQ(d.matched_key->hash_alg, HashAlg::kSha512);
  EXPECT_TRUE(d.matched_key->domain_independent);
  EXPECT_EQ((*b)->expected().size(), 64u * 2u * 3u);
}

TEST(AccountBinding, ContextIsTheNormalizedInput) {
  VerdictContext in = Wildcard();
  in.issuers = {" \tAuthority.Example. ", "CA.example.NET"};
  in.deactivated = true;
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(in);
  ASSERT_TRUE(b.ok()) << b.status();
  const VerdictContext& c = (*b)->context();
  EXPECT_EQ(c.issuers, (std::vector<std::string>{kIssuer, "ca.example.net"}));
  EXPECT_EQ(c.now, in.now);
  EXPECT_EQ(c.identifier.fqdn, in.identifier.fqdn);
  EXPECT_TRUE(c.identifier.wildcard);
  EXPECT_EQ(c.mode, AccountUriMode::kHashed);
  EXPECT_EQ(c.account_url, in.account_url);
  EXPECT_EQ(c.thumbprints, in.thumbprints);
  EXPECT_EQ(c.hash_prefix, in.hash_prefix);
  EXPECT_EQ(c.hash_algs, std::vector<std::string>{"sha-256"});  // the default, made explicit
  EXPECT_TRUE(c.deactivated);
  EXPECT_EQ(&(*b)->context(), &c);  // built once

  absl::StatusOr<std::unique_ptr<AccountBinding>> raw = AccountBinding::Create(Raw());
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ((*raw)->context().mode, AccountUriMode::kLegacyRaw);
  EXPECT_TRUE((*raw)->context().hash_algs.empty());
  EXPECT_TRUE((*raw)->context().thumbprints.empty());
}

TEST(AccountBinding, ConstMethodsRunConcurrently) {
  // One binding serves every perspective's observation, possibly at once.
  absl::StatusOr<std::unique_ptr<AccountBinding>> b = AccountBinding::Create(Hashed());
  ASSERT_TRUE(b.ok()) << b.status();
  const AccountBinding& binding = **b;
  const std::vector<TxtRr> rrset = {{Rec(Uri("other.example"))}, {Rec(kHashStar)}};
  const RrsetVerdict want = binding.Evaluate(rrset);
  std::vector<std::thread> threads;
  std::vector<int> agreed(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&binding, &rrset, &want, &agreed, t] {
      for (int i = 0; i < 200; ++i) {
        const RrsetVerdict v = binding.Evaluate(rrset);
        const bool same = binding.context().issuers[0] == kIssuer && v.outcome == want.outcome &&
                          v.records[0].reason == want.records[0].reason &&
                          v.records[1].reason == want.records[1].reason;
        agreed[t] += same ? 1 : 0;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(agreed, std::vector<int>(4, 200));
}

}  // namespace
}  // namespace vantage::policy
