#include "va/config.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/textproto.h"
#include "google/protobuf/text_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::va {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Time Date(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

// A complete, valid configuration with five remotes in three RIRs.
v1::VaConfig Valid() {
  v1::VaConfig c;
  const bool ok = common::ParseTextProto(R"pb(
    id: "va-1"
    listen_address: "127.0.0.1:0"
    tls { cert_file: "/x/va.pem" key_file: "/x/va.key" client_ca_file: "/x/ca.pem"
          allowed_client_names: "ra.vantage.test" }
    issuer_domain_names: "ca.example"
    account_hash_prefix: "https://ca.example/account-hash/"
    primary_id: "primary" primary_rir: RIR_ARIN
    primary_resolver { trust_anchor_file: "/usr/share/dns/root.key" }
    remotes { id: "r1" rir: RIR_ARIN address: "10.0.0.1:443" tls { ca_file: "/x/ca.pem" cert_file: "/x/c.pem" key_file: "/x/c.key" } }
    remotes { id: "r2" rir: RIR_RIPE address: "10.0.0.2:443" tls { ca_file: "/x/ca.pem" cert_file: "/x/c.pem" key_file: "/x/c.key" } }
    remotes { id: "r3" rir: RIR_APNIC address: "10.0.0.3:443" tls { ca_file: "/x/ca.pem" cert_file: "/x/c.pem" key_file: "/x/c.key" } }
    remotes { id: "r4" rir: RIR_RIPE address: "10.0.0.4:443" tls { ca_file: "/x/ca.pem" cert_file: "/x/c.pem" key_file: "/x/c.key" } }
    remotes { id: "r5" rir: RIR_ARIN address: "10.0.0.5:443" tls { ca_file: "/x/ca.pem" cert_file: "/x/c.pem" key_file: "/x/c.key" } }
    account_store: "sqlite:/var/lib/vantage/accounts.db"
    audit { path: "/var/log/vantage/audit.jsonl" }
  )pb",
                                         "valid", &c)
                       .ok();
  EXPECT_TRUE(ok);
  return c;
}

TEST(VaConfigProblems, ValidConfigHasNone) {
  EXPECT_THAT(VaConfigProblems(Valid(), Date(2027, 1, 1)), IsEmpty());
}

struct Case {
  std::string name;
  std::function<void(v1::VaConfig*)> mutate;
  std::string expect;  // substring of one problem
};

class VaConfigProblemsTest : public ::testing::TestWithParam<Case> {};

TEST_P(VaConfigProblemsTest, NamesFieldAndRule) {
  v1::VaConfig c = Valid();
  GetParam().mutate(&c);
  const std::vector<std::string> problems = VaConfigProblems(c, Date(2027, 1, 1));
  EXPECT_THAT(absl::StrJoin(problems, "\n"), HasSubstr(GetParam().expect));
}

INSTANTIATE_TEST_SUITE_P(
    Rules, VaConfigProblemsTest,
    ::testing::Values(
        Case{"BadId", [](v1::VaConfig* c) { c->set_id("VA 1"); }, "id: \"VA 1\""},
        Case{"NoListen", [](v1::VaConfig* c) { c->clear_listen_address(); }, "listen_address: required"},
        Case{"NoIssuer", [](v1::VaConfig* c) { c->clear_issuer_domain_names(); },
             "issuer_domain_names: 1..10"},
        Case{"UppercaseIssuer", [](v1::VaConfig* c) { c->set_issuer_domain_names(0, "CA.example."); },
             "issuer_domain_names[0]: \"CA.example.\" must be written lowercase"},
        Case{"IssuerIpLiteral", [](v1::VaConfig* c) { c->set_issuer_domain_names(0, "10.1.2.3"); },
             "issuer_domain_names[0]"},
        Case{"NoPrefix", [](v1::VaConfig* c) { c->clear_account_hash_prefix(); },
             "account_hash_prefix: required in HASHED"},
        Case{"HttpPrefix", [](v1::VaConfig* c) { c->set_account_hash_prefix("http://ca/x/"); },
             "must be an https:// URL"},
        Case{"PrefixWithSemicolon",
             [](v1::VaConfig* c) { c->set_account_hash_prefix("https://ca/x;y/"); },
             "without ';'"},
        Case{"UppercaseAlg", [](v1::VaConfig* c) { c->add_hash_algorithms("SHA-256"); },
             "hash_algorithms[0]"},
        Case{"NoSha256", [](v1::VaConfig* c) { c->add_hash_algorithms("sha-384"); },
             "must include \"sha-256\""},
        Case{"NoTrustAnchor",
             [](v1::VaConfig* c) { c->mutable_primary_resolver()->clear_trust_anchor_file(); },
             "primary_resolver.trust_anchor_file: required"},
        Case{"NoPrimaryRir", [](v1::VaConfig* c) { c->clear_primary_rir(); }, "primary_rir: required"},
        Case{"DuplicateRemote", [](v1::VaConfig* c) { c->mutable_remotes(1)->set_id("r1"); },
             "remotes[1].id: \"r1\" is used twice"},
        Case{"RemoteNamedLikePrimary",
             [](v1::VaConfig* c) { c->mutable_remotes(0)->set_id("primary"); },
             "remotes[0].id: \"primary\" is used twice"},
        Case{"RemoteWithoutRir", [](v1::VaConfig* c) { c->mutable_remotes(2)->clear_rir(); },
             "remotes[2].rir: required"},
        Case{"RemoteBadAddress",
             [](v1::VaConfig* c) { c->mutable_remotes(3)->set_address("nohostport"); },
             "remotes[3].address"},
        Case{"TooFewRemotes", [](v1::VaConfig* c) { c->mutable_remotes()->RemoveLast(); },
             "remotes: 4 configured, BR 3.2.2.9 requires at least 5 remote perspectives as of "
             "2027-01-01"},
        Case{"SingleRir",
             [](v1::VaConfig* c) {
               for (auto& r : *c->mutable_remotes()) r.set_rir(v1::RIR_RIPE);
             },
             "at least 2 distinct RIRs"},
        Case{"LoweringRule",
             [](v1::VaConfig* c) {
               auto* a = c->mutable_mpic()->add_min_remotes();
               a->mutable_effective()->set_seconds(1700000000);
               a->set_min_remotes(3);
               auto* b = c->mutable_mpic()->add_min_remotes();
               b->mutable_effective()->set_seconds(1800000000);
               b->set_min_remotes(2);
             },
             "mpic.min_remotes"},
        Case{"NegativeDeadline",
             [](v1::VaConfig* c) { c->mutable_perspective_deadline()->set_seconds(-1); },
             "perspective_deadline"},
        Case{"NoStore", [](v1::VaConfig* c) { c->clear_account_store(); }, "account_store: required"},
        Case{"NoAudit", [](v1::VaConfig* c) { c->clear_audit(); }, "audit.path: required"},
        Case{"PlaintextOnPublicAddress",
             [](v1::VaConfig* c) {
               c->set_listen_address("0.0.0.0:443");
               c->mutable_tls()->set_insecure_plaintext(true);
             },
             "tls.insecure_plaintext"},
        Case{"HealthNotHostPort", [](v1::VaConfig* c) { c->set_health_address("8081"); },
             "health_address: address \"8081\" is not HOST:PORT"},
        Case{"HealthOnTheMainPort",
             [](v1::VaConfig* c) {
               c->set_listen_address("[::]:8443");
               c->set_health_address("0.0.0.0:8443");
             },
             "health_address: \"0.0.0.0:8443\" is the port of listen_address \"[::]:8443\"; "
             "the plaintext health listener needs its own port"},
        Case{"HealthOnTheMetricsPort",
             [](v1::VaConfig* c) {
               c->set_metrics_address("10.0.0.9:9090");
               c->set_health_address("[::]:9090");
             },
             "is the port of metrics_address \"10.0.0.9:9090\""}),
    [](const auto& info) { return info.param.name; });

TEST(VaConfigProblems, HealthAddressOnItsOwnPortIsFine) {
  v1::VaConfig c = Valid();
  c.set_listen_address("[::]:8443");
  c.set_metrics_address("[::]:9090");
  c.set_health_address("[::]:8081");
  EXPECT_THAT(VaConfigProblems(c, Date(2027, 1, 1)), IsEmpty());
  // The same port on two different specific addresses does not collide.
  c.set_listen_address("10.0.0.1:8443");
  c.set_health_address("10.0.0.2:8443");
  EXPECT_THAT(VaConfigProblems(c, Date(2027, 1, 1)), IsEmpty());
}

TEST(VaConfigProblems, ReportsEveryProblemAtOnce) {
  v1::VaConfig c = Valid();
  c.clear_account_store();
  c.clear_audit();
  c.set_id("");
  EXPECT_EQ(VaConfigProblems(c, Date(2027, 1, 1)).size(), 3u);
}

TEST(VaConfigProblems, PhaseInFollowsTheDate) {
  v1::VaConfig c = Valid();
  while (c.remotes_size() > 3) c.mutable_remotes()->RemoveLast();
  // SPEC.md 6: 3 from 2026-03-15, 4 from 2026-06-15.
  EXPECT_THAT(VaConfigProblems(c, Date(2026, 6, 14)), IsEmpty());
  EXPECT_THAT(absl::StrJoin(VaConfigProblems(c, Date(2026, 6, 15)), "\n"),
              HasSubstr("requires at least 4"));
}

TEST(VaConfigProblems, LegacyRawNeedsNoPrefix) {
  v1::VaConfig c = Valid();
  c.clear_account_hash_prefix();
  c.set_accounturi_mode(v1::ACCOUNT_URI_MODE_LEGACY_RAW);
  EXPECT_THAT(VaConfigProblems(c, Date(2027, 1, 1)), IsEmpty());
}

TEST(ApplyVaDefaults, FillsHashedModeSha256AndDeadlines) {
  v1::VaConfig c = Valid();
  ApplyVaDefaults(&c);
  EXPECT_EQ(c.accounturi_mode(), v1::ACCOUNT_URI_MODE_HASHED);
  ASSERT_EQ(c.hash_algorithms_size(), 1);
  EXPECT_EQ(c.hash_algorithms(0), "sha-256");
  EXPECT_EQ(c.perspective_deadline().seconds(), 5);
  EXPECT_EQ(c.audit().fsync(), v1::AuditConfig::FSYNC_EVERY_RECORD);
  const auto options = VaOptionsFromConfig(c);
  EXPECT_EQ(options.perspective_deadline, absl::Seconds(5));
  EXPECT_EQ(options.mode, policy::AccountUriMode::kHashed);
}

TEST(LoadVaConfig, MissingFilesAreReportedWithTheField) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/va.textproto";
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(Valid(), &text));
  FILE* f = std::fopen(path.c_str(), "w");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  auto loaded = LoadVaConfig(path, Date(2027, 1, 1), {});
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("tls.cert_file"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("remotes[0].tls.ca_file"));
}

}  // namespace
}  // namespace vantage::va
