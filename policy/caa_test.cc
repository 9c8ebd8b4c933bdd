// Table tests for CAA evaluation (SPEC.md 7; RFC 8659, RFC 8657).
#include "policy/caa.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::policy {
namespace {

using ::testing::HasSubstr;

constexpr char kUrl[] = "https://ca.example/acct/123";

CaaProperty Issue(const std::string& v) { return {0, "issue", v}; }
CaaProperty IssueWild(const std::string& v) { return {0, "issuewild", v}; }

struct CaaCase {
  std::string name;
  std::vector<CaaProperty> rrset;
  bool wildcard;
  CaaDecision decision;
  std::string reason;
  int authorizing = -1;
};

void PrintTo(const CaaCase& c, std::ostream* os) { *os << c.name; }

class CaaTable : public ::testing::TestWithParam<CaaCase> {};

TEST_P(CaaTable, Decides) {
  const CaaCase& c = GetParam();
  CaaRequest req;
  req.issuers = {"authority.example", "ca.example.net"};
  req.wildcard = c.wildcard;
  req.account_url = kUrl;
  const CaaResult r = EvaluateCaa(c.rrset, req);
  EXPECT_EQ(r.decision == CaaDecision::kPermit, c.decision == CaaDecision::kPermit) << r.reason;
  EXPECT_THAT(r.reason, HasSubstr(c.reason));
  EXPECT_EQ(r.authorizing_index, c.authorizing);
}

constexpr CaaDecision P = CaaDecision::kPermit;
constexpr CaaDecision F = CaaDecision::kForbid;

INSTANTIATE_TEST_SUITE_P(
    Rules, CaaTable,
    ::testing::Values(
        CaaCase{"EmptyRrset", {}, false, P, "no CAA records"},
        CaaCase{"IssueOurs", {Issue("authority.example")}, false, P, "authorizes this CA", 0},
        CaaCase{"IssueOursCaseAndDot", {Issue("  Authority.EXAMPLE.  ")}, false, P, "", 0},
        CaaCase{"SecondIssuer", {Issue("other.example"), Issue("ca.example.net")}, false, P, "", 1},
        CaaCase{"IssueOther", {Issue("other.example")}, false, F, "is for \"other.example\""},
        CaaCase{"IssueEmptyForbidsAll", {Issue(";")}, false, F, "names no issuer"},
        CaaCase{"IssueEmptyValue", {Issue("")}, false, F, "names no issuer"},
        CaaCase{"IssueTrailingSemicolon", {Issue("authority.example;")}, false, P, "", 0},
        CaaCase{"OnlyIodef", {{0, "iodef", "mailto:x@example.com"}}, false, P, "no issue property"},
        CaaCase{"TagCaseInsensitive", {{0, "ISSUE", "authority.example"}}, false, P, "", 0},
        CaaCase{"UnknownCriticalTag",
                {Issue("authority.example"), {128, "tbs", "x"}},
                false,
                F,
                "critical tag \"tbs\""},
        CaaCase{"UnknownCriticalOtherFlagsToo", {{255, "future", ""}}, false, F, "critical"},
        CaaCase{"UnknownNonCriticalTag",
                {Issue("authority.example"), {0, "tbs", "x"}},
                false,
                P,
                "",
                0},
        CaaCase{"KnownCriticalTag", {{128, "issue", "authority.example"}}, false, P, "", 0},
        CaaCase{"CriticalContactEmail", {{128, "contactemail", "a@b"}}, false, P, "no issue"},
        // RFC 8657 accounturi: the RAW account URL, byte-exact.
        CaaCase{"AccountUriMatches",
                {Issue("authority.example; accounturi=https://ca.example/acct/123")},
                false,
                P,
                "for this account",
                0},
        CaaCase{"AccountUriOther",
                {Issue("authority.example; accounturi=https://ca.example/acct/999")},
                false,
                F,
                "not this account's URL"},
        CaaCase{"AccountUriCaseDiffers",
                {Issue("authority.example; accounturi=https://CA.example/acct/123")},
                false,
                F,
                "not this account's URL"},
        CaaCase{"AccountUriHashedValueIsNotTheRawUrl",
                {Issue("authority.example; accounturi=https://ca.example/account-hash/sha-256/"
                       "5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw")},
                false,
                F,
                "not this account's URL"},
        CaaCase{"AccountUriTwoRecordsOneMatches",
                {Issue("authority.example; accounturi=https://ca.example/acct/999"),
                 Issue("authority.example; accounturi=https://ca.example/acct/123")},
                false,
                P,
                "",
                1},
        // RFC 8657 validationmethods.
        CaaCase{"MethodListed",
                {Issue("authority.example; validationmethods=dns-01,dns-persist-01")},
                false,
                P,
                "",
                0},
        CaaCase{"MethodNotListed",
                {Issue("authority.example; validationmethods=dns-01,http-01")},
                false,
                F,
                "does not list dns-persist-01"},
        CaaCase{"MethodCaseMatters",
                {Issue("authority.example; validationmethods=DNS-PERSIST-01")},
                false,
                F,
                "does not list"},
        CaaCase{"BothParameters",
                {Issue("authority.example; accounturi=https://ca.example/acct/123; "
                       "validationmethods=dns-persist-01")},
                false,
                P,
                "",
                0},
        CaaCase{
            "UnknownParameterIgnored", {Issue("authority.example; policy=ev")}, false, P, "", 0},
        // Malformed values restrict but authorize nobody (fail closed).
        CaaCase{"ParameterWithoutEquals",
                {Issue("authority.example; accounturi")},
                false,
                F,
                "malformed"},
        CaaCase{"DuplicateParameter",
                {Issue("authority.example; accounturi=https://ca.example/acct/123; "
                       "AccountURI=https://ca.example/acct/123")},
                false,
                F,
                "appears more than once"},
        CaaCase{"BadIssuerName", {Issue("authority_example")}, false, F, "not a domain name"},
        CaaCase{"QuotedIssuer", {Issue("\"authority.example\"")}, false, F, "not a domain name"},
        CaaCase{"NonAsciiValue",
                {Issue("authority.example; accounturi=h\xC3\xA9")},
                false,
                F,
                "malformed"},
        CaaCase{"MalformedThenGood",
                {Issue("authority.example; ="), Issue("authority.example")},
                false,
                P,
                "",
                1},
        // Wildcards (RFC 8659 section 4.3).
        CaaCase{"WildcardFallsBackToIssue", {Issue("authority.example")}, true, P, "(issue)", 0},
        CaaCase{"WildcardIssuewildOurs",
                {Issue("other.example"), IssueWild("authority.example")},
                true,
                P,
                "(issuewild)",
                1},
        CaaCase{"WildcardIssuewildOtherOverridesIssue",
                {Issue("authority.example"), IssueWild("other.example")},
                true,
                F,
                "no CAA issuewild property authorizes"},
        CaaCase{"WildcardIssuewildEmpty",
                {Issue("authority.example"), IssueWild(";")},
                true,
                F,
                "names no issuer"},
        CaaCase{"NonWildcardIgnoresIssuewild",
                {Issue("authority.example"), IssueWild("other.example")},
                false,
                P,
                "(issue)",
                0},
        CaaCase{"NonWildcardOnlyIssuewild",
                {IssueWild("other.example")},
                false,
                P,
                "no issue property"}),
    [](const ::testing::TestParamInfo<CaaCase>& info) { return info.param.name; });

TEST(EvaluateCaa, ForbidReasonIsBounded) {
  std::vector<CaaProperty> rrset(40, Issue("other.example"));
  CaaRequest req;
  req.issuers = {"authority.example"};
  req.account_url = kUrl;
  const CaaResult r = EvaluateCaa(rrset, req);
  EXPECT_EQ(r.decision, CaaDecision::kForbid);
  EXPECT_THAT(r.reason, HasSubstr("; ..."));
  EXPECT_LT(r.reason.size(), 1000u);
}

}  // namespace
}  // namespace vantage::policy
