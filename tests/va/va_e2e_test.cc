// End to end: a real vantage-va process with its own libunbound primary, five
// real vantage-perspective processes each in its own network namespace, the
// real knotd fixture (signed private root), a real SQLite account store file
// (and a real PostgreSQL server for the store-outage case), mTLS on every hop.
// Everything runs inside the test's private network namespace.
#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/perspective/grpc_probes.h"
#include "tests/pg/postgres_server.h"
#include "tests/va/va_cluster.h"

namespace vantage::tests {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using Health = grpc::health::v1::HealthCheckResponse;

// ValidateOver sends one ValidatePersist over `channel` (whoever it
// authenticates as) and returns the RPC's status.
grpc::Status ValidateOver(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::ValidationAuthority::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::ValidatePersistRequest request;
  request.set_identifier("example.test");
  request.set_account_url("https://ca.example/acct/x");
  v1::ValidationResult result;
  return stub->ValidatePersist(&context, request, &result);
}

// Each test publishes under its own name so that no test sees another's
// cached records.
std::string Owner(absl::string_view fqdn) { return absl::StrCat("_validation-persist.", fqdn); }

class VaE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<VaCluster>> cluster = VaCluster::Start({});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(cluster_, nullptr) << "cluster did not start"; }

  // Publish sets the TXT RRset at _validation-persist.<fqdn>, one RR per value.
  static void Publish(absl::string_view fqdn, const std::vector<std::string>& values) {
    std::vector<std::vector<std::string>> rrs;
    for (const auto& v : values) rrs.push_back({v});
    ASSERT_TRUE(cluster_->dns().SetTxt(Owner(fqdn), rrs).ok());
  }

  static TestAccount Account(absl::string_view name) {
    absl::StatusOr<TestAccount> a =
        cluster_->AddAccount(absl::StrCat("https://ca.example/acct/", name));
    EXPECT_TRUE(a.ok()) << a.status();
    return a.value_or(TestAccount{});
  }

  // AuditFor waits (up to 10 s) for the audit record of `request_id`.
  static absl::StatusOr<v1::AuditRecord> AuditFor(const std::string& request_id) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      auto audit = cluster_->ReadAudit();
      if (!audit.ok()) return audit.status();
      for (const auto& r : *audit) {
        if (r.request_id() == request_id) return r;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::NotFoundError(absl::StrCat("no audit record for ", request_id));
  }

  // WaitAllRemotesAnswer validates `fqdn` until every remote answered (a
  // restarted perspective is reached again once the VA's channel reconnects).
  static bool WaitAllRemotesAnswer(absl::string_view fqdn, const TestAccount& acct) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      auto result = cluster_->Validate(fqdn, acct.url);
      if (!result.ok()) continue;
      auto audit = AuditFor(result->request_id());
      if (!audit.ok()) continue;
      bool all = true;
      for (const auto& p : audit->final_perspectives()) {
        all = all && p.answer() == v1::PERSPECTIVE_ANSWER_ANSWERED;
      }
      if (all) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  static VaCluster* cluster_;
};
VaCluster* VaE2eTest::cluster_ = nullptr;

TEST_F(VaE2eTest, ValidHashedRecord) {
  const TestAccount acct = Account("valid");
  Publish("valid.example.test", {VaCluster::RecordFor(acct, "valid.example.test")});
  const absl::Time before = absl::Now();
  auto result = cluster_->Validate("valid.example.test", acct.url);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome(), v1::OUTCOME_VALID) << result->problem().detail();
  EXPECT_EQ(result->dnssec(), v1::DNSSEC_STATE_SECURE);
  EXPECT_EQ(result->matched_key().thumbprint(), acct.thumbprint);
  EXPECT_EQ(result->matched_key().key_index(), 0);
  EXPECT_GE(result->quorum().corroborated(), 4);
  EXPECT_EQ(result->quorum().remotes(), 5);
  EXPECT_TRUE(result->quorum().met());
  EXPECT_GE(result->quorum().rirs_size(), 2);
  // valid_until = now + 10 days (no persistUntil), SPEC.md 4.
  const int64_t until = result->valid_until().seconds();
  EXPECT_GE(until, absl::ToUnixSeconds(before + absl::Hours(240)));
  EXPECT_LE(until, absl::ToUnixSeconds(absl::Now() + absl::Hours(240)) + 1);
  ASSERT_EQ(result->perspectives_size(), 6);
  EXPECT_TRUE(result->perspectives(0).primary());
  // The audit record (written once every perspective finished).
  auto r = AuditFor(result->request_id());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result().outcome(), v1::OUTCOME_VALID);
  ASSERT_EQ(r->final_perspectives_size(), 6);
  EXPECT_EQ(r->client(), kRaClientName);
  EXPECT_EQ(r->account().thumbprints(0), acct.thumbprint);
  for (int i = 1; i < 6; ++i) {
    EXPECT_EQ(r->final_perspectives(i).answer(), v1::PERSPECTIVE_ANSWER_ANSWERED);
    EXPECT_EQ(r->final_perspectives(i).observation().txt().lookup().dnssec_state(),
              v1::DNSSEC_STATE_SECURE);
  }
}

// The proxy-ACME-server attack (SPEC.md 3; -02 issue #64). A malicious ACME
// server relays the victim's order to the real CA under the ATTACKER's
// account and hands the victim the attacker's account URL. Under -02 the
// victim's client binds the record to its OWN key, so the record it publishes
// cannot validate the attacker's account at the real CA.
TEST_F(VaE2eTest, ProxyServerAttackVictimRecordDoesNotValidateAttackerAccount) {
  const TestAccount victim = Account("victim");
  const TestAccount attacker = Account("attacker");
  const std::string fqdn = "victim.example.test";
  // What the victim's client computes with the URL the proxy gave it.
  Publish(fqdn, {VaCluster::RecordForThumbprint(victim.thumbprint, attacker.url, fqdn)});
  auto result = cluster_->Validate(fqdn, attacker.url);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome(), v1::OUTCOME_UNAUTHORIZED);
  EXPECT_EQ(result->problem().type(), "urn:ietf:params:acme:error:unauthorized");
  EXPECT_FALSE(result->quorum().met());

  // The -01 form the proxy would ask for (a raw account URL) is refused in
  // the default hashed mode: it is malformed, never valid.
  const std::string raw_fqdn = "victim-raw.example.test";
  Publish(raw_fqdn, {absl::StrCat(kIssuer, "; accounturi=", attacker.url)});
  auto raw = cluster_->Validate(raw_fqdn, attacker.url);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->outcome(), v1::OUTCOME_MALFORMED);
}

TEST_F(VaE2eTest, RecordComputedForAnotherDomainIsUnauthorized) {
  const TestAccount acct = Account("other-domain");
  Publish("a.example.test", {VaCluster::RecordFor(acct, "b.example.test")});
  auto result = cluster_->Validate("a.example.test", acct.url);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome(), v1::OUTCOME_UNAUTHORIZED);
}

TEST_F(VaE2eTest, KeyRotationKeepsRetainedKeyThenDeactivationIsImmediate) {
  const TestAccount acct = Account("rotating");
  const std::string fqdn = "rotate.example.test";
  Publish(fqdn, {VaCluster::RecordFor(acct, fqdn)});
  auto before = cluster_->Validate(fqdn, acct.url);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->outcome(), v1::OUTCOME_VALID) << before->problem().detail();
  EXPECT_EQ(before->matched_key().key_index(), 0);

  absl::StatusOr<TestAccount> next = MakeTestAccount(acct.url);
  ASSERT_TRUE(next.ok());
  va::AccountKey key;
  key.thumbprint = next->thumbprint;
  key.jwk = next->jwk;
  key.added_at = absl::Now();
  ASSERT_TRUE(cluster_->store().RotateKey(acct.url, key).ok());
  auto retained = cluster_->Validate(fqdn, acct.url);
  ASSERT_TRUE(retained.ok());
  EXPECT_EQ(retained->outcome(), v1::OUTCOME_VALID) << retained->problem().detail();
  EXPECT_EQ(retained->matched_key().thumbprint(), acct.thumbprint);
  EXPECT_EQ(retained->matched_key().key_index(), 1);  // the retained (old) key
  // The audit record names the retained key, and both keys that counted.
  auto audit = AuditFor(retained->request_id());
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_EQ(audit->result().matched_key().thumbprint(), acct.thumbprint);
  EXPECT_EQ(audit->result().matched_key().key_index(), 1);
  ASSERT_EQ(audit->account().thumbprints_size(), 2);
  EXPECT_EQ(audit->account().thumbprints(0), next->thumbprint);
  EXPECT_EQ(audit->account().thumbprints(1), acct.thumbprint);

  ASSERT_TRUE(cluster_->store().SetStatus(acct.url, va::AccountStatus::kDeactivated).ok());
  auto deactivated = cluster_->Validate(fqdn, acct.url);
  ASSERT_TRUE(deactivated.ok());
  EXPECT_EQ(deactivated->outcome(), v1::OUTCOME_UNAUTHORIZED);
  EXPECT_THAT(deactivated->problem().detail(), HasSubstr("deactivated"));
}

TEST_F(VaE2eTest, WildcardRequiresPolicyWildcard) {
  const TestAccount acct = Account("wildcard");
  Publish("nopolicy.example.test", {VaCluster::RecordFor(acct, "nopolicy.example.test")});
  auto without = cluster_->Validate("*.nopolicy.example.test", acct.url);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->outcome(), v1::OUTCOME_UNAUTHORIZED);
  Publish("wild.example.test",
          {VaCluster::RecordFor(acct, "wild.example.test", "; policy=wildcard")});
  auto with = cluster_->Validate("*.wild.example.test", acct.url);
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(with->outcome(), v1::OUTCOME_VALID) << with->problem().detail();
  EXPECT_TRUE(with->wildcard());
  EXPECT_EQ(with->fqdn(), "wild.example.test");
}

TEST_F(VaE2eTest, PersistUntilBoundsReuseAndExpires) {
  const TestAccount acct = Account("persist");
  const int64_t soon = absl::ToUnixSeconds(absl::Now() + absl::Hours(24));
  Publish("soon.example.test",
          {VaCluster::RecordFor(acct, "soon.example.test", absl::StrCat("; persistUntil=", soon))});
  auto bounded = cluster_->Validate("soon.example.test", acct.url);
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ(bounded->outcome(), v1::OUTCOME_VALID) << bounded->problem().detail();
  EXPECT_EQ(bounded->valid_until().seconds(), soon);  // min(now + 10d, persistUntil)

  const int64_t past = absl::ToUnixSeconds(absl::Now() - absl::Hours(1));
  Publish("expired.example.test", {VaCluster::RecordFor(
                                      acct, "expired.example.test", absl::StrCat("; persistUntil=", past))});
  auto expired = cluster_->Validate("expired.example.test", acct.url);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->outcome(), v1::OUTCOME_UNAUTHORIZED);
}

TEST_F(VaE2eTest, OneRemoteDownStillValidTwoDownFails) {
  const TestAccount acct = Account("down");
  Publish("down.example.test", {VaCluster::RecordFor(acct, "down.example.test")});
  ASSERT_TRUE(cluster_->StopRemote(0).ok());
  auto one = cluster_->Validate("down.example.test", acct.url);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->outcome(), v1::OUTCOME_VALID) << one->problem().detail();
  EXPECT_EQ(one->quorum().corroborated(), 4);
  EXPECT_FALSE(one->perspectives(1).corroborates());
  auto audit = AuditFor(one->request_id());
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_EQ(audit->final_perspectives(1).answer(), v1::PERSPECTIVE_ANSWER_TRANSPORT_ERROR);

  ASSERT_TRUE(cluster_->StopRemote(1).ok());
  auto two = cluster_->Validate("down.example.test", acct.url);
  ASSERT_TRUE(cluster_->StartRemote(0).ok());
  ASSERT_TRUE(cluster_->StartRemote(1).ok());
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->outcome(), v1::OUTCOME_CORROBORATION_FAILED);
  EXPECT_EQ(two->problem().type(), "urn:ietf:params:acme:error:unauthorized");
  EXPECT_THAT(two->problem().detail(), HasSubstr("BR 3.2.2.9"));
  // Restarted perspectives are used again without restarting the VA.
  EXPECT_TRUE(WaitAllRemotesAnswer("down.example.test", acct));
}

// An on-path attacker in one region serves forged DNS (SPEC.md 6: what
// multi-perspective corroboration exists to catch). For the unsigned zone the
// forgery is accepted there, and that perspective sees a different record.
TEST_F(VaE2eTest, ForgedDnsOnOnePathDoesNotCorroborate) {
  const TestAccount acct = Account("forged");
  Publish("insecure.test", {VaCluster::RecordFor(acct, "insecure.test")});
  ASSERT_TRUE(cluster_->lab().Forge(2, true).ok());
  auto one = cluster_->Validate("insecure.test", acct.url);
  // A second forged path: now too few remotes see the real data. (A fresh
  // name: r4 has the apex record cached from the validation above.)
  Publish("two.insecure.test", {VaCluster::RecordFor(acct, "two.insecure.test")});
  ASSERT_TRUE(cluster_->lab().Forge(3, true).ok());
  auto two = cluster_->Validate("two.insecure.test", acct.url);
  ASSERT_TRUE(cluster_->lab().Forge(2, false).ok());
  ASSERT_TRUE(cluster_->lab().Forge(3, false).ok());
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->outcome(), v1::OUTCOME_VALID) << one->problem().detail();
  EXPECT_EQ(one->dnssec(), v1::DNSSEC_STATE_INSECURE);
  // r3 answered, but with the forger's record: no corroboration.
  auto audit = AuditFor(one->request_id());
  ASSERT_TRUE(audit.ok()) << audit.status();
  const v1::PerspectiveEvidence& r3 = audit->final_perspectives(3);
  EXPECT_EQ(r3.answer(), v1::PERSPECTIVE_ANSWER_ANSWERED);
  EXPECT_FALSE(r3.corroborates());
  EXPECT_EQ(r3.outcome(), v1::OUTCOME_MALFORMED);  // ".../acct/ATTACKER" is not hashed
  EXPECT_THAT(r3.records(0).accounturi(), HasSubstr("ATTACKER"));
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->outcome(), v1::OUTCOME_CORROBORATION_FAILED) << two->problem().detail();
}

// The same forger against a signed zone: DNSSEC turns the forgery into BOGUS
// at that perspective, which then does not corroborate.
TEST_F(VaE2eTest, ForgedSignedZoneIsBogusAtThatPerspective) {
  const TestAccount acct = Account("forged-signed");
  Publish("example.test", {VaCluster::RecordFor(acct, "example.test")});
  ASSERT_TRUE(cluster_->lab().Forge(4, true).ok());
  auto result = cluster_->Validate("example.test", acct.url);
  ASSERT_TRUE(cluster_->lab().Forge(4, false).ok());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome(), v1::OUTCOME_VALID) << result->problem().detail();
  auto audit = AuditFor(result->request_id());
  ASSERT_TRUE(audit.ok()) << audit.status();
  const v1::PerspectiveEvidence& r5 = audit->final_perspectives(5);
  EXPECT_EQ(r5.answer(), v1::PERSPECTIVE_ANSWER_ANSWERED);
  EXPECT_EQ(r5.outcome(), v1::OUTCOME_DNS_ERROR);
  EXPECT_THAT(r5.problem().detail(), HasSubstr("DNSSEC: bogus"));
  EXPECT_FALSE(r5.corroborates());
}

TEST_F(VaE2eTest, DnssecBogusIsDnsProblem) {
  const TestAccount acct = Account("bogus");
  auto result = cluster_->Validate("bogus.test", acct.url);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome(), v1::OUTCOME_DNS_ERROR);
  EXPECT_EQ(result->problem().type(), "urn:ietf:params:acme:error:dns");
  EXPECT_THAT(result->problem().detail(), HasSubstr("DNSSEC: bogus"));
  EXPECT_EQ(result->dnssec(), v1::DNSSEC_STATE_BOGUS);
}

// A remote that never answers (its link black-holed) must not delay the
// answer beyond the quorum (SPEC.md 6: answer as soon as decided).
TEST_F(VaE2eTest, BlackHoledRemoteDoesNotDelayTheAnswer) {
  const TestAccount acct = Account("blackhole");
  Publish("blackhole.example.test", {VaCluster::RecordFor(acct, "blackhole.example.test")});
  // Warm every cache first, so the timing below is about the black hole.
  ASSERT_TRUE(cluster_->Validate("blackhole.example.test", acct.url).ok());
  ASSERT_TRUE(cluster_->lab().Isolate(2, true).ok());
  const absl::Time t0 = absl::Now();
  auto result = cluster_->Validate("blackhole.example.test", acct.url);
  const absl::Duration took = absl::Now() - t0;
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome(), v1::OUTCOME_VALID) << result->problem().detail();
  EXPECT_EQ(result->perspectives(3).answer(), v1::PERSPECTIVE_ANSWER_PENDING);
  // The perspective deadline is 2 s; the answer comes at quorum.
  EXPECT_LT(took, absl::Seconds(1)) << "answer waited for the black-holed remote";
  // The audit record is completed when r3's deadline passes.
  auto audit = AuditFor(result->request_id());
  ASSERT_TRUE(cluster_->lab().Isolate(2, false).ok());
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_EQ(audit->final_perspectives(3).answer(), v1::PERSPECTIVE_ANSWER_DEADLINE_EXCEEDED);
}

TEST_F(VaE2eTest, RaWithoutAllowedNameIsRefused) {
  for (const CertFiles& who : {cluster_->pki().intruder(), cluster_->pki().rogue()}) {
    auto channel = common::CreateChannel(
        cluster_->va().address(), cluster_->pki().ClientTls(who, kVaServerName));
    ASSERT_TRUE(channel.ok());
    const grpc::Status status = ValidateOver(*channel);
    EXPECT_THAT(status.error_code(),
                AnyOf(grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::UNAVAILABLE));
    EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
  }
}

TEST_F(VaE2eTest, BadRequestIsInvalidArgument) {
  auto result = cluster_->Validate("bad..name", "https://ca.example/acct/x");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("identifier"));
}

TEST_F(VaE2eTest, MetricsCountOutcomes) {
  const TestAccount acct = Account("metrics");
  Publish("metrics.example.test", {VaCluster::RecordFor(acct, "metrics.example.test")});
  ASSERT_TRUE(cluster_->Validate("metrics.example.test", acct.url).ok());
  auto body = HttpGet("127.0.0.1", cluster_->va().metrics_port(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_GE(MetricValue(*body, "vantage_va_validations_total{outcome=\"valid\"}"), 1);
  EXPECT_GE(MetricValue(*body, "vantage_va_perspective_answers_total{answer=\"answered\","
                               "perspective=\"r1\"}"),
            1);
  EXPECT_GE(MetricValue(*body, "vantage_va_perspective_dnssec_total{dnssec=\"secure\","
                               "perspective=\"primary\"}"),
            1);
  // Counted once the last perspective answered (after the RA got its answer).
  double corroborations = -1;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);
       corroborations < 1 && absl::Now() < deadline; absl::SleepFor(absl::Milliseconds(50))) {
    auto again = HttpGet("127.0.0.1", cluster_->va().metrics_port(), "/metrics");
    ASSERT_TRUE(again.ok());
    corroborations = MetricValue(*again, "vantage_va_quorum_corroborations_count");
  }
  EXPECT_GE(corroborations, 1);
}

TEST_F(VaE2eTest, VantagectlValidateAsTheRa) {
  const TestAccount acct = Account("cli");
  Publish("cli.example.test", {VaCluster::RecordFor(acct, "cli.example.test")});
  auto ctl = VantagectlBinary();
  ASSERT_TRUE(ctl.ok()) << ctl.status();
  const CertFiles ra = cluster_->pki().client(kRaClientName);
  const std::vector<std::string> tls = {
      absl::StrCat("--tls-cert=", ra.cert_file), absl::StrCat("--tls-key=", ra.key_file),
      absl::StrCat("--tls-ca=", cluster_->pki().ca_file()),
      absl::StrCat("--tls-server-name=", kVaServerName)};
  std::vector<std::string> argv = {*ctl, "validate", "--va=" + cluster_->va().address(),
                                   "--domain=cli.example.test", "--account-url=" + acct.url,
                                   "--json-line"};
  argv.insert(argv.end(), tls.begin(), tls.end());
  auto valid = harness::RunCommand(argv, absl::Seconds(30));
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->exit_code, 0) << valid->stderr_text;
  EXPECT_THAT(valid->stdout_text, HasSubstr("\"outcome\":\"OUTCOME_VALID\""));
  EXPECT_EQ(std::count(valid->stdout_text.begin(), valid->stdout_text.end(), '\n'), 1);

  argv[4] = "--account-url=https://ca.example/acct/nobody";
  auto invalid = harness::RunCommand(argv, absl::Seconds(30));
  ASSERT_TRUE(invalid.ok());
  EXPECT_EQ(invalid->exit_code, 1);
  EXPECT_THAT(invalid->stdout_text, HasSubstr("OUTCOME_UNAUTHORIZED"));

  auto usage = harness::RunCommand({*ctl, "validate", "--domain=x.example.test"}, absl::Seconds(30));
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->exit_code, 2);
  EXPECT_THAT(usage->stderr_text, HasSubstr("--va"));
}

// Corroborating remotes in a single RIR do not satisfy BR 3.2.2.9.
TEST(VaE2eSingleRirTest, CorroboratorsInOneRirFail) {
  VaCluster::Options options;
  options.remote_rirs = {v1::RIR_ARIN, v1::RIR_ARIN, v1::RIR_ARIN, v1::RIR_ARIN, v1::RIR_RIPE};
  auto cluster = VaCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto acct = (*cluster)->AddAccount("https://ca.example/acct/one-rir");
  ASSERT_TRUE(acct.ok());
  ASSERT_TRUE((*cluster)
                  ->dns()
                  .SetTxt(Owner("onerir.example.test"),
                          {{VaCluster::RecordFor(*acct, "onerir.example.test")}})
                  .ok());
  ASSERT_TRUE((*cluster)->StopRemote(4).ok());  // the only RIPE remote
  auto result = (*cluster)->Validate("onerir.example.test", acct->url);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome(), v1::OUTCOME_CORROBORATION_FAILED);
  EXPECT_THAT(result->problem().detail(), HasSubstr("RIR"));
}

// PostgreSQL as the account store (production), and an outage of it: the VA
// fails closed, then recovers without a restart.
TEST(VaE2ePostgresTest, StoreOutageFailsClosedThenRecovers) {
  auto pg = pg::PostgresServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  VaCluster::Options options;
  options.account_store = (*pg)->uri();
  auto cluster = VaCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto acct = (*cluster)->AddAccount("https://ca.example/acct/pg");
  ASSERT_TRUE(acct.ok()) << acct.status();
  ASSERT_TRUE((*cluster)
                  ->dns()
                  .SetTxt(Owner("pg.example.test"), {{VaCluster::RecordFor(*acct, "pg.example.test")}})
                  .ok());
  auto valid = (*cluster)->Validate("pg.example.test", acct->url);
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->outcome(), v1::OUTCOME_VALID) << valid->problem().detail();

  ASSERT_TRUE((*pg)->Stop().ok());
  auto down = (*cluster)->Validate("pg.example.test", acct->url);
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->outcome(), v1::OUTCOME_SERVER_INTERNAL);
  EXPECT_EQ(down->problem().type(), "urn:ietf:params:acme:error:serverInternal");

  ASSERT_TRUE((*pg)->Restart().ok());
  auto again = (*cluster)->Validate("pg.example.test", acct->url);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->outcome(), v1::OUTCOME_VALID) << again->problem().detail();
}

// grpc.health.v1 and reflection on the RA port (mTLS), the plaintext
// health-only listener for the kubelet, and a graceful shutdown: SIGTERM
// turns health NOT_SERVING on both, refuses new validations, lets the one in
// flight finish with its answer, and exits 0.
TEST_F(VaE2eTest, HealthReflectionAndGracefulShutdown) {
  v1::VaConfig config = cluster_->VaConfig();
  config.set_health_address("127.0.0.1:0");
  config.mutable_shutdown_grace()->set_seconds(10);
  ASSERT_TRUE(cluster_->StartVa(config).ok());
  ASSERT_NE(cluster_->va().health_port(), 0);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> ra = common::CreateChannel(
      cluster_->va().address(),
      cluster_->pki().ClientTls(cluster_->pki().client(kRaClientName), kVaServerName));
  ASSERT_TRUE(ra.ok()) << ra.status();
  const std::shared_ptr<grpc::Channel> plain = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", cluster_->va().health_port()), grpc::InsecureChannelCredentials());
  for (const std::string& service : {std::string(""), std::string("vantage.v1.ValidationAuthority")}) {
    SCOPED_TRACE(service);
    EXPECT_EQ(HealthOf(*ra, service), Health::SERVING);
    EXPECT_EQ(HealthOf(plain, service), Health::SERVING);
  }
  // The plaintext listener serves health only: no validation there.
  EXPECT_EQ(ValidateOver(plain).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  absl::StatusOr<std::vector<std::string>> services = ListServices(*ra);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, Contains("vantage.v1.ValidationAuthority"));
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));

  // One validation in flight: every remote black-holed, so it lasts until
  // the perspective deadline (2 s) and ends in a quorum failure.
  const TestAccount acct = Account("shutdown");
  Publish("shutdown.example.test", {VaCluster::RecordFor(acct, "shutdown.example.test")});
  for (int i = 0; i < cluster_->remotes(); ++i) ASSERT_TRUE(cluster_->lab().Isolate(i, true).ok());
  absl::StatusOr<v1::ValidationResult> in_flight;
  std::thread validation(
      [&]() { in_flight = cluster_->Validate("shutdown.example.test", acct.url); });
  double running = 0;
  for (absl::Time deadline = absl::Now() + absl::Seconds(5); running < 1 && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(10))) {
    auto body = HttpGet("127.0.0.1", cluster_->va().metrics_port(), "/metrics");
    if (body.ok()) running = MetricValue(*body, "vantage_va_validations_in_flight");
  }
  EXPECT_EQ(running, 1);

  cluster_->va().process().Signal(SIGTERM);
  Health::ServingStatus status = HealthOf(*ra);
  for (absl::Time deadline = absl::Now() + absl::Seconds(5);
       status != Health::NOT_SERVING && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(10))) {
    status = HealthOf(*ra);
  }
  EXPECT_EQ(status, Health::NOT_SERVING);
  EXPECT_EQ(HealthOf(plain), Health::NOT_SERVING);
  EXPECT_EQ(HealthOf(plain, "vantage.v1.ValidationAuthority"), Health::NOT_SERVING);
  auto refused = cluster_->Validate("shutdown.example.test", acct.url);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();

  validation.join();
  for (int i = 0; i < cluster_->remotes(); ++i) ASSERT_TRUE(cluster_->lab().Isolate(i, false).ok());
  ASSERT_TRUE(in_flight.ok()) << in_flight.status();
  EXPECT_NE(in_flight->outcome(), v1::OUTCOME_VALID);
  EXPECT_EQ(in_flight->outcome(), v1::OUTCOME_CORROBORATION_FAILED)
      << in_flight->problem().detail();
  absl::StatusOr<int> exit_code = cluster_->va().process().Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << cluster_->va().process().Tail();
  EXPECT_THAT(cluster_->va().process().Stderr(),
              AllOf(HasSubstr("received SIGTERM: draining 1 validations"), HasSubstr("stopped")));
  // The audit record of the drained validation was written before the exit.
  EXPECT_TRUE(AuditFor(in_flight->request_id()).ok());

  // Back to the suite's VA for the tests after this one.
  ASSERT_TRUE(cluster_->StartVa(cluster_->VaConfig()).ok());
}

}  // namespace
}  // namespace vantage::tests
