// Runs the built vantagectl binary: usage errors (exit 2, naming the
// option), `check` output and exit codes, `record` output, and the
// record -> check round trip.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/test_process.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace vantage::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kBinary[] = "cli/vantagectl";
constexpr char kIssuer[] = "--issuer=authority.example";
constexpr char kUrl[] = "--account-url=https://ca.example/acct/123";
constexpr char kPrefix[] = "--hash-prefix=https://ca.example/account-hash/";
constexpr char kThumb[] = "--thumbprint=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
constexpr char kNow[] = "--now=1790000000";
constexpr char kHashFqdn[] =
    "https://ca.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw";
constexpr char kHashStar[] =
    "https://ca.example/account-hash/sha-256/NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug";

ProcessResult Vantagectl(std::vector<std::string> args) { return RunProcess(kBinary, args); }

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &s).ok()) << text;
  return s;
}

const google::protobuf::Value& Get(const google::protobuf::Struct& s, const std::string& key) {
  static const auto* const kNull = new google::protobuf::Value();
  auto it = s.fields().find(key);
  return it == s.fields().end() ? *kNull : it->second;
}

std::string TempFile(const std::string& name, const std::string& contents) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

// --- dispatch ---

TEST(Vantagectl, HelpListsEveryCommand) {
  const ProcessResult r = Vantagectl({"help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: vantagectl check --domain=NAME"));
  EXPECT_THAT(r.out, HasSubstr("usage: vantagectl record --domain=NAME"));
}

TEST(Vantagectl, HelpForOneCommand) {
  const ProcessResult r = Vantagectl({"help", "record"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, StartsWith("usage: vantagectl record"));
  EXPECT_THAT(r.out, Not(HasSubstr("vantagectl check")));
}

TEST(Vantagectl, NoArgumentsIsAUsageError) {
  const ProcessResult r = Vantagectl({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("usage: vantagectl <command>"));
}

TEST(Vantagectl, UnknownCommand) {
  const ProcessResult r = Vantagectl({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'frobnicate'"));
}

// --- check ---

TEST(Check, ValidHashedRecord) {
  const ProcessResult r =
      Vantagectl({"check", "--domain=Example.COM.", kIssuer, kUrl, kPrefix, kThumb, kNow,
                  "--txt=\"other.example; accounturi=x\"",
                  absl::StrCat("--txt=\"authority.example; accounturi=", kHashFqdn, "\"")});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(r.err, "");
  const auto out = Json(r.out);
  EXPECT_EQ(Get(out, "outcome").string_value(), "valid");
  EXPECT_FALSE(out.fields().contains("problem"));
  EXPECT_EQ(Get(out, "owner").string_value(), "_validation-persist.example.com");
  EXPECT_EQ(Get(out, "mode").string_value(), "hashed");
  EXPECT_EQ(Get(out, "now").string_value(), "2026-09-21T14:13:20Z");
  const auto& records = Get(out, "records").list_value();
  ASSERT_EQ(records.values_size(), 2);
  EXPECT_EQ(Get(records.values(0).struct_value(), "verdict").string_value(), "ignored");
  EXPECT_EQ(Get(records.values(1).struct_value(), "verdict").string_value(), "valid");
  const auto& matched = Get(out, "matched").struct_value();
  EXPECT_EQ(Get(matched, "index").number_value(), 1);
  EXPECT_EQ(Get(matched, "accounturi").string_value(), kHashFqdn);
  EXPECT_EQ(Get(matched, "validUntil").string_value(), "2026-10-01T14:13:20Z");
  const auto& key = Get(matched, "key").struct_value();
  EXPECT_EQ(Get(key, "keyIndex").number_value(), 0);
  EXPECT_EQ(Get(key, "hashAlg").string_value(), "sha-256");
  EXPECT_FALSE(Get(key, "domainIndependent").bool_value());
}

TEST(Check, RetainedKeyMatches) {
  const ProcessResult r =
      Vantagectl({"check", "--domain=example.com", kIssuer, kUrl, kPrefix,
                  "--thumbprint=kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", kThumb, kNow,
                  absl::StrCat("--txt=\"authority.example; accounturi=", kHashStar, "\"")});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto out = Json(r.out);
  const auto& key = Get(Get(out, "matched").struct_value(), "key").struct_value();
  EXPECT_EQ(Get(key, "keyIndex").number_value(), 1);
  EXPECT_TRUE(Get(key, "domainIndependent").bool_value());
}

TEST(Check, NoTxtIsAnEmptyRrset) {
  const ProcessResult r =
      Vantagectl({"check", "--domain=example.com", kIssuer, kUrl, kPrefix, kThumb, kNow});
  EXPECT_EQ(r.exit_code, 1);
  const auto out = Json(r.out);
  EXPECT_EQ(Get(out, "outcome").string_value(), "unauthorized");
  const auto& problem = Get(out, "problem").struct_value();
  EXPECT_EQ(Get(problem, "type").string_value(), "urn:ietf:params:acme:error:unauthorized");
  EXPECT_THAT(Get(problem, "detail").string_value(), HasSubstr("no TXT record"));
  EXPECT_EQ(Get(out, "records").list_value().values_size(), 0);
}

TEST(Check, MalformedRecordAndRawBytesAreEscaped) {
  const ProcessResult r =
      Vantagectl({"check", "--domain=example.com", kIssuer, kUrl, kPrefix, kThumb, kNow,
                  "--txt=\"authority.example; accounturi=a\\000b\""});
  EXPECT_EQ(r.exit_code, 1);
  const auto out = Json(r.out);
  EXPECT_EQ(Get(out, "outcome").string_value(), "malformed");
  const auto& rec = Get(out, "records").list_value().values(0).struct_value();
  EXPECT_EQ(Get(rec, "value").string_value(), "authority.example; accounturi=a\\000b");
  EXPECT_THAT(Get(rec, "reason").string_value(), HasSubstr("0x00"));
}

TEST(Check, RawModeAndWildcard) {
  const ProcessResult r = Vantagectl(
      {"check", "--domain=*.example.com", kIssuer, kUrl, "--accounturi-mode=raw", kNow,
       "--txt=\"authority.example; accounturi=https://ca.example/acct/123; policy=wildcard\""});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto out = Json(r.out);
  EXPECT_EQ(Get(out, "mode").string_value(), "raw");
  EXPECT_TRUE(Get(Get(out, "identifier").struct_value(), "wildcard").bool_value());
  EXPECT_FALSE(Get(out, "matched").struct_value().fields().contains("key"));
}

TEST(Check, DeactivatedAccount) {
  const ProcessResult r = Vantagectl(
      {"check", "--domain=example.com", kIssuer, kUrl, kPrefix, kThumb, kNow, "--deactivated",
       absl::StrCat("--txt=\"authority.example; accounturi=", kHashFqdn, "\"")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("deactivated"));
}

struct UsageCase {
  std::string name;
  std::vector<std::string> args;
  std::string error;
};

void PrintTo(const UsageCase& c, std::ostream* os) { *os << c.name; }

class CheckUsage : public ::testing::TestWithParam<UsageCase> {};

TEST_P(CheckUsage, ExitsTwoNamingTheOption) {
  std::vector<std::string> args = {"check"};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
  const ProcessResult r = Vantagectl(args);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Table, CheckUsage,
    ::testing::Values(
        UsageCase{"NoDomain", {kIssuer, kUrl, kPrefix, kThumb}, "--domain is required"},
        UsageCase{"BadDomain",
                  {"--domain=a_b.example", kIssuer, kUrl, kPrefix, kThumb},
                  "--domain: identifier"},
        UsageCase{"IpDomain",
                  {"--domain=192.0.2.1", kIssuer, kUrl, kPrefix, kThumb},
                  "--domain: identifier \"192.0.2.1\": is an IP address literal"},
        UsageCase{
            "NoIssuer", {"--domain=example.com", kUrl, kPrefix, kThumb}, "--issuer is required"},
        UsageCase{"BadIssuer",
                  {"--domain=example.com", "--issuer=a b", kUrl, kPrefix, kThumb},
                  "--issuer:"},
        UsageCase{"NoUrl",
                  {"--domain=example.com", kIssuer, kPrefix, kThumb},
                  "--account-url is required"},
        UsageCase{"BadMode",
                  {"--domain=example.com", kIssuer, kUrl, "--accounturi-mode=legacy"},
                  "--accounturi-mode: must be hashed or raw"},
        UsageCase{"NoPrefixHashed",
                  {"--domain=example.com", kIssuer, kUrl, kThumb},
                  "--hash-prefix is required in hashed mode"},
        UsageCase{"NoThumbHashed",
                  {"--domain=example.com", kIssuer, kUrl, kPrefix},
                  "--thumbprint is required in hashed mode"},
        UsageCase{"BadThumb",
                  {"--domain=example.com", kIssuer, kUrl, kPrefix, "--thumbprint=abc"},
                  "--thumbprint: not an RFC 7638"},
        UsageCase{"BadAlg",
                  {"--domain=example.com", kIssuer, kUrl, kPrefix, kThumb, "--hash-alg=SHA-256"},
                  "--hash-alg:"},
        UsageCase{"BadNow",
                  {"--domain=example.com", kIssuer, kUrl, kPrefix, kThumb, "--now=-5"},
                  "--now: must be Unix seconds"},
        UsageCase{"BadTxt",
                  {"--domain=example.com", kIssuer, kUrl, kPrefix, kThumb, "--txt=\"abc"},
                  "--txt (RR 0): TXT presentation format, offset 0: unterminated"},
        UsageCase{
            "SecondTxtBad",
            {"--domain=example.com", kIssuer, kUrl, kPrefix, kThumb, "--txt=ok", "--txt=\"\\999\""},
            "--txt (RR 1):"},
        UsageCase{"EmptyTxt",
                  {"--domain=example.com", kIssuer, kUrl, kPrefix, kThumb, "--txt="},
                  "--txt (RR 0):"},
        UsageCase{
            "UnknownOption", {"--domain=example.com", "--verbose"}, "unknown option --verbose"},
        UsageCase{"DomainTwice",
                  {"--domain=a.example", "--domain=b.example"},
                  "--domain is given more than once"},
        UsageCase{"DeactivatedWithValue", {"--deactivated=yes"}, "--deactivated takes no value"}),
    [](const ::testing::TestParamInfo<UsageCase>& info) { return info.param.name; });

// --- record ---

const std::vector<std::string> kRecordBase = {"record", "--domain=example.com", kIssuer, kUrl,
                                              kPrefix};

std::vector<std::string> RecordArgs(std::vector<std::string> extra) {
  std::vector<std::string> args = kRecordBase;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(Record, PublishedVectorZoneLine) {
  const ProcessResult r = Vantagectl(RecordArgs({kThumb}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("_validation-persist.example.com. IN TXT \"authority.example; "
                                "accounturi=",
                                kHashFqdn, "\"\n"));
}

TEST(Record, AnyDomainWildcardAndPersistUntil) {
  const ProcessResult r =
      Vantagectl({"record", "--domain=*.Example.com", "--issuer=AUTHORITY.example.", kUrl, kPrefix,
                  kThumb, "--any-domain", "--persist-until=1800000000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("_validation-persist.example.com. IN TXT \"authority.example; "
                                "accounturi=",
                                kHashStar, "; policy=wildcard; persistUntil=1800000000\"\n"));
}

TEST(Record, JsonOutput) {
  const ProcessResult r = Vantagectl(RecordArgs({kThumb, "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = Json(r.out);
  EXPECT_EQ(Get(out, "owner").string_value(), "_validation-persist.example.com");
  EXPECT_EQ(Get(out, "accounturi").string_value(), kHashFqdn);
  EXPECT_EQ(Get(out, "value").string_value(),
            absl::StrCat("authority.example; accounturi=", kHashFqdn));
  EXPECT_EQ(Get(out, "thumbprint").string_value(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(Get(out, "hashAlg").string_value(), "sha-256");
  EXPECT_EQ(Get(out, "strings").list_value().values_size(), 1);
}

TEST(Record, FromJwkFile) {
  const std::string jwk = TempFile(
      "rfc7638.jwk",
      R"({"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"})");
  const ProcessResult r = Vantagectl(RecordArgs({"--jwk=" + jwk}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(kHashFqdn));
}

TEST(Record, FromPublicKeyPem) {
  const std::string pem = TempFile("ed.pem",
                                   "-----BEGIN PUBLIC KEY-----\n"
                                   "MCowBQYDK2VwAyEAF1OlX1HD0ynCRUuxgArDNkAU+LFaUTS2JIjvzL66j8Y=\n"
                                   "-----END PUBLIC KEY-----\n");
  const ProcessResult r = Vantagectl(RecordArgs({"--public-key=" + pem, "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Get(Json(r.out), "thumbprint").string_value(),
            "L_j090ywHMcVuYmgmlI-vJQwCKKpLBGBSwlI_3NLvEs");
}

// What `record` prints, `check` accepts: for short and long values (a long
// prefix forces several character-strings), every algorithm and both D forms.
TEST(Record, RoundTripThroughCheck) {
  const std::string long_prefix =
      absl::StrCat("--hash-prefix=https://ca.example/", std::string(300, 'p'), "/");
  for (const std::string& prefix : {std::string(kPrefix), long_prefix}) {
    for (const std::string alg : {"sha-256", "sha-384", "sha-512"}) {
      for (bool any : {false, true}) {
        for (const std::string domain : {"www.example.com", "*.example.com"}) {
          SCOPED_TRACE(absl::StrCat(prefix.size(), " ", alg, " ", any, " ", domain));
          std::vector<std::string> args = {"record", "--domain=" + domain, kIssuer, kUrl, prefix,
                                           kThumb,   "--hash-alg=" + alg};
          if (any) args.push_back("--any-domain");
          const ProcessResult rec = Vantagectl(args);
          ASSERT_EQ(rec.exit_code, 0) << rec.err;
          const size_t pos = rec.out.find(" IN TXT ");
          ASSERT_NE(pos, std::string::npos);
          ASSERT_THAT(rec.out,
                      StartsWith(absl::StrCat("_validation-persist.",
                                              absl::StripPrefix(domain, "*."), ". IN TXT \"")));
          const std::string rdata = rec.out.substr(pos + 8, rec.out.size() - pos - 9);
          if (prefix != kPrefix) {
            EXPECT_THAT(rdata, HasSubstr("\" \""));  // split into several strings
          }
          const ProcessResult chk =
              Vantagectl({"check", "--domain=" + domain, kIssuer, kUrl, prefix, kThumb,
                          "--hash-alg=" + alg, kNow, "--txt=" + rdata});
          EXPECT_EQ(chk.exit_code, 0) << chk.err << chk.out;
          // And a CA that does not accept this algorithm calls it malformed.
          if (alg != "sha-256") {
            const ProcessResult strict = Vantagectl({"check", "--domain=" + domain, kIssuer, kUrl,
                                                     prefix, kThumb, kNow, "--txt=" + rdata});
            EXPECT_EQ(strict.exit_code, 1);
            EXPECT_THAT(strict.out, HasSubstr("\"outcome\":\"malformed\""));
          }
        }
      }
    }
  }
}

class RecordUsage : public ::testing::TestWithParam<UsageCase> {};

TEST_P(RecordUsage, ExitsTwoNamingTheOption) {
  const ProcessResult r = Vantagectl(RecordArgs(GetParam().args));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Table, RecordUsage,
    ::testing::Values(
        UsageCase{"NoKey", {}, "give exactly one of --thumbprint, --jwk, --public-key"},
        UsageCase{"TwoKeys", {kThumb, "--jwk=/nonexistent"}, "give exactly one of"},
        UsageCase{"BadThumb",
                  {"--thumbprint=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs="},
                  "--thumbprint: not an RFC 7638"},
        UsageCase{"MissingJwkFile", {"--jwk=/nonexistent/key.jwk"}, "--jwk: "},
        UsageCase{"MissingPemFile", {"--public-key=/nonexistent/key.pem"}, "--public-key: "},
        UsageCase{
            "PrivateJwk",
            {"--jwk=" +
             TempFile(
                 "private.jwk",
                 R"({"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})")},
            "--jwk: JWK member \"d\": is private key material"},
        UsageCase{"NotAPem",
                  {"--public-key=" + TempFile("junk.pem", "hello\n")},
                  "--public-key: PEM input has no"},
        UsageCase{"BadAlg", {kThumb, "--hash-alg=sha-1"}, "--hash-alg:"},
        UsageCase{"AlgTwice",
                  {kThumb, "--hash-alg=sha-256", "--hash-alg=sha-384"},
                  "--hash-alg is given more than once"},
        UsageCase{"BadPersistUntil", {kThumb, "--persist-until=-1"}, "--persist-until: must be"},
        UsageCase{"PersistUntilOverflow",
                  {kThumb, "--persist-until=9223372036854775808"},
                  "--persist-until: must be"},
        UsageCase{"AnyDomainWithValue", {kThumb, "--any-domain=1"}, "--any-domain takes no value"}),
    [](const ::testing::TestParamInfo<UsageCase>& info) { return info.param.name; });

TEST(RecordUsageOther, PrefixWithSpace) {
  const ProcessResult r = Vantagectl({"record", "--domain=example.com", kIssuer, kUrl,
                                      "--hash-prefix=https://ca.example/a b/", kThumb});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--hash-prefix: must be printable ASCII"));
}

TEST(RecordUsageOther, MissingRequired) {
  EXPECT_THAT(Vantagectl({"record", kIssuer, kUrl, kPrefix, kThumb}).err,
              HasSubstr("--domain is required"));
  EXPECT_THAT(Vantagectl({"record", "--domain=example.com", kUrl, kPrefix, kThumb}).err,
              HasSubstr("--issuer is required"));
  EXPECT_THAT(Vantagectl({"record", "--domain=example.com", kIssuer, kPrefix, kThumb}).err,
              HasSubstr("--account-url is required"));
  EXPECT_THAT(Vantagectl({"record", "--domain=example.com", kIssuer, kUrl, kThumb}).err,
              HasSubstr("--hash-prefix is required"));
  EXPECT_THAT(Vantagectl({"record", "--domain=*", kIssuer, kUrl, kPrefix, kThumb}).err,
              HasSubstr("--domain: identifier"));
  EXPECT_THAT(
      Vantagectl({"record", "--domain=example.com", "--issuer=", kUrl, kPrefix, kThumb}).err,
      HasSubstr("--issuer:"));
}

}  // namespace
}  // namespace vantage::cli
