// End to end: a real vantage-perspective process, over mTLS, in front of the
// real knotd fixture (signed private root), asked by the VA's own client
// (RemoteObserver). Runs in the test's private network namespace.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "common/tls.h"
#include "perspective/observer_testing.h"
#include "perspective/remote_observer.h"
#include "tests/dns/fixture.h"
#include "tests/harness/subprocess.h"
#include "tests/perspective/grpc_probes.h"
#include "tests/perspective/perspective_process.h"
#include "tests/pki/test_pki.h"

namespace vantage::tests {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;
using perspective::RemoteObserver;
using perspective::testing::ObserveSync;
using perspective::testing::Request;
using perspective::testing::Strings;
using perspective::testing::TxtSet;

constexpr char kId[] = "e2e-ripe-1";
constexpr v1::Rir kRir = v1::RIR_RIPE;

class PerspectiveE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<dnstest::DnsFixture>> dns = dnstest::DnsFixture::Start();
    ASSERT_TRUE(dns.ok()) << dns.status();
    dns_ = dns->release();
    TestPkiOptions pki_options;
    pki_options.dir = harness::TestTempDir() + "/pki";
    absl::StatusOr<TestPki> pki = TestPki::Create(pki_options);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new TestPki(*pki);
    PerspectiveProcess::Options options;
    options.config = BaseConfig();
    absl::StatusOr<std::unique_ptr<PerspectiveProcess>> p = PerspectiveProcess::Start(options);
    ASSERT_TRUE(p.ok()) << p.status();
    perspective_ = p->release();
  }
  static void TearDownTestSuite() {
    delete perspective_;
    perspective_ = nullptr;
    delete pki_;
    delete dns_;
  }
  void SetUp() override { ASSERT_NE(perspective_, nullptr) << "perspective did not start"; }

  // The perspective's config: the fixture's resolver, mTLS allowing the VA.
  static v1::PerspectiveConfig BaseConfig() {
    v1::PerspectiveConfig config;
    config.set_id(kId);
    config.set_rir(kRir);
    config.set_region("lab-1");
    config.set_listen_address("127.0.0.1:0");
    config.set_metrics_address("127.0.0.1:0");
    *config.mutable_resolver() = dns_->resolver_config();
    config.mutable_resolver()->mutable_lookup_timeout()->set_seconds(3);
    *config.mutable_tls() = pki_->ServerTls(kPerspectiveServerName, {kVaClientName});
    return config;
  }

  // Client: the VA's RemoteObserver presenting `client`'s certificate.
  static std::unique_ptr<RemoteObserver> Client(const PerspectiveProcess& p,
                                                const CertFiles& client = {}) {
    RemoteObserver::Options options;
    options.address = p.address();
    options.tls = pki_->ClientTls(client.cert_file.empty() ? pki_->client(kVaClientName) : client,
                                  kPerspectiveServerName);
    options.expected_id = kId;
    options.expected_rir = kRir;
    absl::StatusOr<std::unique_ptr<RemoteObserver>> remote = RemoteObserver::Create(options);
    EXPECT_TRUE(remote.ok()) << remote.status();
    return remote.ok() ? *std::move(remote) : nullptr;
  }

  static std::shared_ptr<grpc::Channel> VaChannel(const PerspectiveProcess& p) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = common::CreateChannel(
        p.address(), pki_->ClientTls(pki_->client(kVaClientName), kPerspectiveServerName));
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? *channel : nullptr;
  }

  // HealthChannel: plaintext, to the health-only listener (health_address).
  static std::shared_ptr<grpc::Channel> HealthChannel(const PerspectiveProcess& p) {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", p.health_port()),
                               grpc::InsecureChannelCredentials());
  }

  static absl::StatusOr<std::string> Scrape(const PerspectiveProcess& p) {
    return HttpGet("127.0.0.1", p.metrics_port(), "/metrics");
  }

  static dnstest::DnsFixture* dns_;
  static TestPki* pki_;
  static PerspectiveProcess* perspective_;
};
dnstest::DnsFixture* PerspectiveE2eTest::dns_ = nullptr;
TestPki* PerspectiveE2eTest::pki_ = nullptr;
PerspectiveProcess* PerspectiveE2eTest::perspective_ = nullptr;

// ---- What the perspective reports for every zone case of the fixture ----

struct TxtCase {
  std::string name;
  std::string fqdn;
  int rcode;
  v1::DnssecState state;
  TxtSet records;
  std::vector<std::string> cname_chain;
  std::string why_bogus;  // substring, BOGUS only
};

std::vector<TxtCase> TxtCases() {
  const auto kSecure = v1::DNSSEC_STATE_SECURE;
  const auto kInsecure = v1::DNSSEC_STATE_INSECURE;
  const auto kBogus = v1::DNSSEC_STATE_BOGUS;
  TxtSet big;
  for (int i = 0; i < dnstest::kBigTxtRecords; ++i) big.push_back({dnstest::BigTxtString(i)});
  using dnstest::AccountRecord;
  return {
      {"secure", "example.test", 0, kSecure, {{AccountRecord("1")}}, {}, ""},
      {"secure_two_records_multi_string", "multi.example.test", 0, kSecure,
       {{AccountRecord("1")},
        {"other-ca.example; accounturi=https://other.example/a/9", "second-string"}},
       {}, ""},
      {"secure_raw_bytes", "bytes.example.test", 0, kSecure,
       {{std::string("a\0b", 3), "", "\xff\"\\;x"}}, {}, ""},
      {"secure_big_rrset_over_tcp", "big.example.test", 0, kSecure, big, {}, ""},
      {"secure_nodata", "nodata.example.test", 0, kSecure, {}, {}, ""},
      {"secure_nxdomain", "nx.example.test", 3, kSecure, {}, {}, ""},
      {"secure_wildcard_synthesized", "any.wc.example.test", 0, kSecure,
       {{"wildcard-synthesized"}}, {}, ""},
      {"cname_secure_to_secure", "cname.example.test", 0, kSecure,
       {{AccountRecord("second")}}, {"_validation-persist.cname.example.test"}, ""},
      {"cname_chain_two_hops", "chain.example.test", 0, kSecure, {{AccountRecord("second")}},
       {"_validation-persist.chain.example.test", "hop.second.test"}, ""},
      {"dname", "target.dname.example.test", 0, kSecure, {{AccountRecord("second")}},
       {"_validation-persist.target.dname.example.test"}, ""},
      {"cname_secure_to_bogus", "tobogus.example.test", 0, kBogus, {},
       {"_validation-persist.tobogus.example.test"}, "DS hash mismatches key"},
      {"cname_secure_to_insecure", "toinsecure.example.test", 0, kInsecure,
       {{AccountRecord("2")}}, {"_validation-persist.toinsecure.example.test"}, ""},
      {"insecure_unsigned", "insecure.test", 0, kInsecure, {{AccountRecord("2")}}, {}, ""},
      {"insecure_nxdomain", "nx.insecure.test", 3, kInsecure, {}, {}, ""},
      {"insecure_signed_without_ds", "nods.test", 0, kInsecure, {{AccountRecord("nods")}}, {},
       ""},
      // Bogus: the data is never reported (fail closed), the reason is.
      {"bogus_wrong_ds", "bogus.test", 0, kBogus, {}, {}, "DS hash mismatches key"},
      {"bogus_expired_rrsig", "expired.test", 0, kBogus, {}, {}, "signature expired"},
      {"bogus_tampered", "tampered.test", 0, kBogus, {}, {}, "signature verification failed"},
      {"bogus_stripped_rrsig", "nosig.test", 0, kBogus, {}, {}, "no signatures"},
      {"secure_leaf_name", "t3.leaf.test", 0, kSecure, {{AccountRecord("leaf")}}, {}, ""},
  };
}

TEST_F(PerspectiveE2eTest, EveryTxtZoneCaseOverMutualTls) {
  std::unique_ptr<RemoteObserver> va = Client(*perspective_);
  ASSERT_NE(va, nullptr);
  for (const TxtCase& c : TxtCases()) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<v1::Observation> o =
        ObserveSync(*va, Request(c.fqdn, {v1::LOOKUP_KIND_TXT_PERSIST}, "id-" + c.name));
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(o->perspective_id(), kId);
    EXPECT_EQ(o->rir(), kRir);
    EXPECT_EQ(o->region(), "lab-1");
    EXPECT_EQ(o->request_id(), "id-" + c.name);
    const v1::DnsLookup& l = o->txt().lookup();
    EXPECT_EQ(l.qname(), "_validation-persist." + c.fqdn);
    EXPECT_EQ(l.status(), v1::LOOKUP_STATUS_ANSWERED) << l.error();
    EXPECT_EQ(l.rcode(), c.rcode);
    EXPECT_EQ(l.dnssec_state(), c.state) << l.why_bogus();
    EXPECT_THAT(Strings(o->txt()), UnorderedElementsAreArray(c.records));
    EXPECT_THAT(l.cname_chain(), ElementsAreArray(c.cname_chain));
    if (c.state == v1::DNSSEC_STATE_BOGUS) {
      EXPECT_THAT(l.why_bogus(), HasSubstr(c.why_bogus));
    } else {
      EXPECT_THAT(l.why_bogus(), IsEmpty());
    }
  }
}

TEST_F(PerspectiveE2eTest, CaaClimbOverMutualTls) {
  struct Case {
    std::string name;
    std::string fqdn;
    std::vector<std::string> steps;
    int relevant_step;
    bool complete;
    v1::DnssecState last_state;
  };
  const Case cases[] = {
      {"at_apex", "example.test", {"example.test"}, 0, true, v1::DNSSEC_STATE_SECURE},
      {"climb_to_apex", "b.sub.example.test",
       {"b.sub.example.test", "sub.example.test", "example.test"}, 2, true,
       v1::DNSSEC_STATE_SECURE},
      {"none_up_to_the_tld", "x.second.test", {"x.second.test", "second.test", "test"}, -1,
       true, v1::DNSSEC_STATE_SECURE},
      {"insecure_zone", "insecure.test", {"insecure.test"}, 0, true, v1::DNSSEC_STATE_INSECURE},
      {"bogus_stops_the_climb", "x.bogus.test", {"x.bogus.test"}, -1, false,
       v1::DNSSEC_STATE_BOGUS},
  };
  std::unique_ptr<RemoteObserver> va = Client(*perspective_);
  ASSERT_NE(va, nullptr);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<v1::Observation> o = ObserveSync(*va, Request(c.fqdn, {v1::LOOKUP_KIND_CAA}));
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_FALSE(o->has_txt());
    std::vector<std::string> steps;
    for (const v1::CaaStep& s : o->caa().steps()) steps.push_back(s.lookup().qname());
    EXPECT_THAT(steps, ElementsAreArray(c.steps));
    EXPECT_EQ(o->caa().relevant_step(), c.relevant_step);
    EXPECT_EQ(o->caa().complete(), c.complete);
    ASSERT_FALSE(o->caa().steps().empty());
    EXPECT_EQ(o->caa().steps().rbegin()->lookup().dnssec_state(), c.last_state);
    if (c.relevant_step >= 0) {
      EXPECT_FALSE(o->caa().steps(c.relevant_step).records().empty());
    }
  }
}

TEST_F(PerspectiveE2eTest, TxtAndCaaInOneCall) {
  std::unique_ptr<RemoteObserver> va = Client(*perspective_);
  ASSERT_NE(va, nullptr);
  absl::StatusOr<v1::Observation> o = ObserveSync(
      *va, Request("example.test", {v1::LOOKUP_KIND_TXT_PERSIST, v1::LOOKUP_KIND_CAA}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->txt().lookup().dnssec_state(), v1::DNSSEC_STATE_SECURE);
  EXPECT_THAT(Strings(o->txt()), ElementsAre(ElementsAre(dnstest::AccountRecord("1"))));
  EXPECT_EQ(o->caa().relevant_step(), 0);
}

// ---- Faults: lame zone, dead and restarted server, updates ----

TEST_F(PerspectiveE2eTest, LameZoneAnswersWithinTheDeadline) {
  // A perspective that believes a dead server may take 2 s to answer, so a
  // lame delegation outlasts the caller's 1 s deadline: the perspective must
  // still answer in time, reporting the lookup as not answered.
  PerspectiveProcess::Options options;
  options.config = BaseConfig();
  options.config.mutable_resolver()->set_infra_cache_max_rtt_ms(2000);
  absl::StatusOr<std::unique_ptr<PerspectiveProcess>> slow = PerspectiveProcess::Start(options);
  ASSERT_TRUE(slow.ok()) << slow.status();
  std::unique_ptr<RemoteObserver> va = Client(**slow);
  ASSERT_NE(va, nullptr);
  ASSERT_TRUE(va->WaitForConnected(absl::Now() + absl::Seconds(5)));

  const absl::Time start = absl::Now();
  absl::StatusOr<v1::Observation> o =
      ObserveSync(*va, Request("lame.test"), /*timeout=*/absl::Seconds(1));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(o.ok()) << o.status();  // an Observation, not DEADLINE_EXCEEDED
  EXPECT_LT(took, absl::Seconds(1));
  const v1::DnsLookup& l = o->txt().lookup();
  EXPECT_EQ(l.status(), v1::LOOKUP_STATUS_TIMED_OUT);
  EXPECT_EQ(l.dnssec_state(), v1::DNSSEC_STATE_INDETERMINATE);
  EXPECT_TRUE(o->txt().records().empty());

  // With time to spare (the suite's perspective: dead servers given up after
  // 500 ms) the lame zone is a SERVFAIL answer, still never data.
  std::unique_ptr<RemoteObserver> patient = Client(*perspective_);
  absl::StatusOr<v1::Observation> servfail =
      ObserveSync(*patient, Request("lame.test"), absl::Seconds(5));
  ASSERT_TRUE(servfail.ok()) << servfail.status();
  const v1::DnsLookup& s = servfail->txt().lookup();
  EXPECT_TRUE(s.status() == v1::LOOKUP_STATUS_TIMED_OUT ||
              (s.status() == v1::LOOKUP_STATUS_ANSWERED && s.rcode() == 2))
      << s.DebugString();
  EXPECT_EQ(s.dnssec_state(), v1::DNSSEC_STATE_INDETERMINATE);
}

TEST_F(PerspectiveE2eTest, RestartedAuthServerIsSeenAgain) {
  std::unique_ptr<RemoteObserver> va = Client(*perspective_);
  ASSERT_NE(va, nullptr);
  // A pre-populated name nobody has asked for yet, in a zone no negative
  // answer was ever asked of: neither the name nor an NSEC covering it can be
  // cached (RFC 8198 would answer from the cache while the server is down).
  const std::string fqdn = "t98.leaf.test";
  ASSERT_TRUE(dns_->StopInstance("auth", /*crash=*/true).ok());
  absl::StatusOr<v1::Observation> down = ObserveSync(*va, Request(fqdn), absl::Seconds(5));
  ASSERT_TRUE(down.ok()) << down.status();
  const v1::DnsLookup& d = down->txt().lookup();
  EXPECT_TRUE(d.status() == v1::LOOKUP_STATUS_TIMED_OUT ||
              (d.status() == v1::LOOKUP_STATUS_ANSWERED && d.rcode() == 2))
      << d.DebugString();
  EXPECT_EQ(d.dnssec_state(), v1::DNSSEC_STATE_INDETERMINATE);
  EXPECT_TRUE(down->txt().records().empty());

  ASSERT_TRUE(dns_->StartInstance("auth").ok());
  absl::StatusOr<v1::Observation> up;
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  while (absl::Now() < deadline) {
    up = ObserveSync(*va, Request(fqdn), absl::Seconds(5));
    ASSERT_TRUE(up.ok()) << up.status();
    if (!up->txt().records().empty()) break;
    absl::SleepFor(absl::Milliseconds(250));  // polling interval
  }
  EXPECT_EQ(up->txt().lookup().dnssec_state(), v1::DNSSEC_STATE_SECURE);
  EXPECT_THAT(Strings(up->txt()), ElementsAre(ElementsAre(dnstest::AccountRecord("leaf"))))
      << up->DebugString();
}

TEST_F(PerspectiveE2eTest, UpdatedRecordIsSeenAfterItsTtl) {
  std::unique_ptr<RemoteObserver> va = Client(*perspective_);
  ASSERT_NE(va, nullptr);
  const std::string owner = "_validation-persist.upd.example.test";
  ASSERT_TRUE(dns_->SetTxt(owner, {{"version", "1"}}, /*ttl=*/1).ok());
  absl::StatusOr<v1::Observation> o = ObserveSync(*va, Request("upd.example.test"));
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_THAT(Strings(o->txt()), ElementsAre(ElementsAre("version", "1")));
  const absl::Time changed = absl::Now();
  ASSERT_TRUE(dns_->SetTxt(owner, {{"version", "2"}}, 1).ok());
  const absl::Time deadline = changed + absl::Seconds(15);
  while (absl::Now() < deadline) {
    o = ObserveSync(*va, Request("upd.example.test"));
    ASSERT_TRUE(o.ok()) << o.status();
    if (Strings(o->txt()) != TxtSet{{"version", "1"}}) break;
    absl::SleepFor(absl::Milliseconds(100));  // polling interval
  }
  EXPECT_EQ(o->txt().lookup().dnssec_state(), v1::DNSSEC_STATE_SECURE);
  EXPECT_THAT(Strings(o->txt()), ElementsAre(ElementsAre("version", "2")));
}

TEST_F(PerspectiveE2eTest, TwoHundredConcurrentCallsAllAnswerCorrectly) {
  struct Expect {
    std::string fqdn;
    v1::DnssecState state;
    TxtSet records;
  };
  const std::vector<Expect> kinds = {
      {"example.test", v1::DNSSEC_STATE_SECURE, {{dnstest::AccountRecord("1")}}},
      {"insecure.test", v1::DNSSEC_STATE_INSECURE, {{dnstest::AccountRecord("2")}}},
      {"expired.test", v1::DNSSEC_STATE_BOGUS, {}},
      {"", v1::DNSSEC_STATE_SECURE, {{dnstest::AccountRecord("leaf")}}},  // t<N>.leaf.test
  };
  std::unique_ptr<RemoteObserver> va = Client(*perspective_);
  ASSERT_NE(va, nullptr);
  constexpr int kCalls = 200;
  struct Pending {
    Expect expect;
    absl::Notification done;
    absl::StatusOr<v1::Observation> result;
  };
  std::vector<std::unique_ptr<Pending>> calls;
  for (int i = 0; i < kCalls; ++i) {
    auto p = std::make_unique<Pending>();
    p->expect = kinds[i % kinds.size()];
    if (p->expect.fqdn.empty()) p->expect.fqdn = absl::StrCat("t", i % 100, ".leaf.test");
    calls.push_back(std::move(p));
  }
  for (int i = 0; i < kCalls; ++i) {
    Pending* p = calls[i].get();
    va->Observe(Request(p->expect.fqdn, {}, absl::StrCat("c-", i)),
                absl::Now() + absl::Seconds(30), [p](absl::StatusOr<v1::Observation> r) {
                  p->result = std::move(r);
                  p->done.Notify();
                });
  }
  for (int i = 0; i < kCalls; ++i) {
    SCOPED_TRACE(i);
    Pending& p = *calls[i];
    ASSERT_TRUE(p.done.WaitForNotificationWithTimeout(absl::Seconds(60)));
    ASSERT_TRUE(p.result.ok()) << p.result.status();
    EXPECT_EQ(p.result->request_id(), absl::StrCat("c-", i));
    EXPECT_EQ(p.result->txt().lookup().qname(), "_validation-persist." + p.expect.fqdn);
    EXPECT_EQ(p.result->txt().lookup().dnssec_state(), p.expect.state);
    EXPECT_THAT(Strings(p.result->txt()), UnorderedElementsAreArray(p.expect.records));
  }
}

TEST_F(PerspectiveE2eTest, VantagectlObserve) {
  absl::StatusOr<std::string> vantagectl = harness::RunfilePath("cli/vantagectl");
  ASSERT_TRUE(vantagectl.ok()) << vantagectl.status();
  const CertFiles va = pki_->client(kVaClientName);
  absl::StatusOr<harness::RunResult> run = harness::RunCommand(
      {*vantagectl, "observe", "--perspective=" + perspective_->address(),
       "--domain=Multi.Example.TEST.", "--caa", "--request-id=cli-e2e",
       "--tls-ca=" + pki_->ca_file(), "--tls-cert=" + va.cert_file, "--tls-key=" + va.key_file,
       std::string("--tls-server-name=") + kPerspectiveServerName},
      absl::Seconds(20));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 0) << run->stderr_text;
  EXPECT_THAT(run->stdout_text,
              AllOf(HasSubstr("\"perspective_id\": \"e2e-ripe-1\""),
                    HasSubstr("\"qname\": \"_validation-persist.multi.example.test\""),
                    HasSubstr("\"dnssec_state\": \"DNSSEC_STATE_SECURE\""),
                    HasSubstr("\"caa\""), HasSubstr("\"request_id\": \"cli-e2e\"")));

  // The RA's certificate is not allowed: exit 1 with the reason.
  const CertFiles ra = pki_->client(kRaClientName);
  run = harness::RunCommand(
      {*vantagectl, "observe", "--perspective=" + perspective_->address(),
       "--domain=example.test", "--tls-ca=" + pki_->ca_file(), "--tls-cert=" + ra.cert_file,
       "--tls-key=" + ra.key_file, std::string("--tls-server-name=") + kPerspectiveServerName},
      absl::Seconds(20));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1);
  EXPECT_THAT(run->stderr_text,
              HasSubstr("client ra.vantage.test is not in tls.allowed_client_names"));
}

// ---- Who may call ----

TEST_F(PerspectiveE2eTest, OnlyTheVaMayCall) {
  struct Case {
    std::string name;
    CertFiles client;
    absl::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {"va", pki_->client(kVaClientName), absl::StatusCode::kOk, ""},
      {"intruder_same_ca", pki_->intruder(), absl::StatusCode::kPermissionDenied,
       "client intruder.vantage.test is not in tls.allowed_client_names"},
      {"ra_is_not_a_va", pki_->client(kRaClientName), absl::StatusCode::kPermissionDenied,
       "client ra.vantage.test is not in tls.allowed_client_names"},
      // Refused in the TLS handshake: the client sees UNAVAILABLE.
      {"other_ca_with_the_va_name", pki_->rogue(), absl::StatusCode::kUnavailable, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::unique_ptr<RemoteObserver> client = Client(*perspective_, c.client);
    ASSERT_NE(client, nullptr);
    absl::StatusOr<v1::Observation> o = ObserveSync(*client, Request("example.test"));
    EXPECT_EQ(o.status().code(), c.code) << o.status();
    EXPECT_THAT(std::string(o.status().message()), HasSubstr(c.message));
  }
  // No client certificate at all.
  RemoteObserver::Options options;
  options.address = perspective_->address();
  options.tls = pki_->ClientTls({}, kPerspectiveServerName);
  options.verify_identity = false;
  absl::StatusOr<std::unique_ptr<RemoteObserver>> anonymous = RemoteObserver::Create(options);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(ObserveSync(**anonymous, Request("example.test")).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(PerspectiveE2eTest, BadNamesAreRefusedNotLookedUp) {
  std::unique_ptr<RemoteObserver> va = Client(*perspective_);
  ASSERT_NE(va, nullptr);
  for (const std::string& fqdn : {std::string("*.example.test"), std::string("192.0.2.1"),
                                  std::string("Example.test"), std::string("a..test"),
                                  std::string(64, 'a') + ".test"}) {
    SCOPED_TRACE(fqdn);
    absl::StatusOr<v1::Observation> o = ObserveSync(*va, Request(fqdn));
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(o.status().message()), HasSubstr("fqdn: "));
  }
}

// ---- Refusing to start ----

TEST_F(PerspectiveE2eTest, RefusesToStartWithoutATrustAnchor) {
  v1::PerspectiveConfig config = BaseConfig();
  config.mutable_resolver()->clear_trust_anchor_file();
  const std::string path = harness::TestTempDir() + "/no-anchor.textproto";
  ASSERT_TRUE(WritePerspectiveConfig(config, path).ok());
  absl::StatusOr<std::string> binary = PerspectiveBinary();
  ASSERT_TRUE(binary.ok()) << binary.status();
  absl::StatusOr<harness::RunResult> run =
      harness::RunCommand({*binary, "--config=" + path}, absl::Seconds(20));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 2);
  EXPECT_THAT(run->stderr_text,
              HasSubstr("resolver.trust_anchor_file: required (SPEC.md 5: without a trust "
                        "anchor every answer looks insecure"));
  EXPECT_THAT(run->stdout_text, Not(HasSubstr("listening on")));
}

TEST_F(PerspectiveE2eTest, PlaintextOnlyOnLoopback) {
  absl::StatusOr<std::string> binary = PerspectiveBinary();
  ASSERT_TRUE(binary.ok()) << binary.status();
  v1::PerspectiveConfig config = BaseConfig();
  config.set_listen_address("0.0.0.0:0");
  const std::string path = harness::TestTempDir() + "/plaintext-any.textproto";
  ASSERT_TRUE(WritePerspectiveConfig(config, path).ok());
  absl::StatusOr<harness::RunResult> run =
      harness::RunCommand({*binary, "--config=" + path, "--insecure"}, absl::Seconds(20));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 2);
  EXPECT_THAT(run->stderr_text,
              HasSubstr("tls.insecure_plaintext: only allowed on a loopback listen_address "
                        "(127.0.0.0/8, [::1], localhost), got 0.0.0.0:0"));

  // On loopback, --insecure serves plaintext (local demos).
  PerspectiveProcess::Options options;
  options.config = BaseConfig();
  options.extra_args = {"--insecure"};
  absl::StatusOr<std::unique_ptr<PerspectiveProcess>> plain = PerspectiveProcess::Start(options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  RemoteObserver::Options client;
  client.address = (*plain)->address();
  client.tls.set_insecure_plaintext(true);
  client.expected_id = kId;
  client.expected_rir = kRir;
  absl::StatusOr<std::unique_ptr<RemoteObserver>> remote = RemoteObserver::Create(client);
  ASSERT_TRUE(remote.ok()) << remote.status();
  absl::StatusOr<v1::Observation> o = ObserveSync(**remote, Request("example.test"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->txt().lookup().dnssec_state(), v1::DNSSEC_STATE_SECURE);
  EXPECT_THAT((*plain)->process().Stderr(), HasSubstr("PLAINTEXT"));
}

// ---- Health, reflection, metrics, shutdown ----

TEST_F(PerspectiveE2eTest, HealthAndReflection) {
  std::shared_ptr<grpc::Channel> channel = VaChannel(*perspective_);
  ASSERT_NE(channel, nullptr);
  for (const std::string& service : {std::string(""), std::string("vantage.v1.Perspective")}) {
    SCOPED_TRACE(service);
    EXPECT_EQ(HealthOf(channel, service), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  absl::StatusOr<std::vector<std::string>> services = ListServices(channel);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, Contains("vantage.v1.Perspective"));
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));
}

// The kubelet's native gRPC probes present no client certificate: the
// health_address listener answers them in plaintext, and serves nothing else.
TEST_F(PerspectiveE2eTest, PlaintextHealthListenerServesOnlyHealth) {
  PerspectiveProcess::Options options;
  options.config = BaseConfig();
  options.config.set_health_address("127.0.0.1:0");
  absl::StatusOr<std::unique_ptr<PerspectiveProcess>> started = PerspectiveProcess::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  PerspectiveProcess& p = **started;
  ASSERT_NE(p.health_port(), 0);
  ASSERT_NE(p.health_port(), p.port());
  const std::shared_ptr<grpc::Channel> plain = HealthChannel(p);
  for (const std::string& service : {std::string(""), std::string("vantage.v1.Perspective")}) {
    SCOPED_TRACE(service);
    EXPECT_EQ(HealthOf(plain, service), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  // An unknown service name is NOT_FOUND (UNKNOWN here), as on the main port.
  EXPECT_EQ(HealthOf(plain, "vantage.v1.Nothing"), grpc::health::v1::HealthCheckResponse::UNKNOWN);
  // Observe is not served there, not even to a caller the main port allows.
  auto stub = v1::Perspective::NewStub(plain);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::Observation observation;
  const grpc::Status observe = stub->Observe(&ctx, Request("example.test"), &observation);
  EXPECT_EQ(observe.error_code(), grpc::StatusCode::UNIMPLEMENTED) << observe.error_message();
  // The main port still wants mTLS: a plaintext health check there fails.
  EXPECT_EQ(HealthOf(grpc::CreateChannel(p.address(), grpc::InsecureChannelCredentials())),
            grpc::health::v1::HealthCheckResponse::UNKNOWN);
}

TEST_F(PerspectiveE2eTest, MetricsCountersMove) {
  const std::string lookups =
      "vantage_perspective_lookups_total{dnssec=\"secure\",kind=\"txt_persist\",rcode=\"NOERROR\"}";
  const std::string bogus =
      "vantage_perspective_lookups_total{dnssec=\"bogus\",kind=\"txt_persist\",rcode=\"NOERROR\"}";
  const std::string denied = "vantage_perspective_rpcs_refused_total{reason=\"permission_denied\"}";
  const std::string invalid = "vantage_perspective_rpcs_refused_total{reason=\"invalid_argument\"}";
  const std::string durations = "vantage_perspective_lookup_duration_seconds_count{kind=\"txt_persist\"}";
  absl::StatusOr<std::string> before = Scrape(*perspective_);
  ASSERT_TRUE(before.ok()) << before.status();

  std::unique_ptr<RemoteObserver> va = Client(*perspective_);
  ASSERT_TRUE(ObserveSync(*va, Request("t42.leaf.test")).ok());
  ASSERT_TRUE(ObserveSync(*va, Request("nosig.test")).ok());
  EXPECT_FALSE(ObserveSync(*va, Request("*.example.test")).ok());
  std::unique_ptr<RemoteObserver> intruder = Client(*perspective_, pki_->intruder());
  EXPECT_FALSE(ObserveSync(*intruder, Request("example.test")).ok());

  absl::StatusOr<std::string> after = Scrape(*perspective_);
  ASSERT_TRUE(after.ok()) << after.status();
  auto delta = [&](const std::string& series) {
    const double b = MetricValue(*before, series);
    return MetricValue(*after, series) - (b < 0 ? 0 : b);
  };
  EXPECT_GE(delta(lookups), 1) << *after;
  EXPECT_GE(delta(bogus), 1) << *after;
  EXPECT_EQ(delta(denied), 1) << *after;
  EXPECT_EQ(delta(invalid), 1) << *after;
  EXPECT_GE(delta(durations), 2) << *after;
  EXPECT_EQ(MetricValue(*after, "vantage_perspective_observe_in_flight"), 0);
}

TEST_F(PerspectiveE2eTest, GracefulShutdownDrainsInFlightCalls) {
  // A perspective whose lame-zone lookups take the whole 2 s lookup timeout:
  // one such call is in flight when SIGTERM arrives.
  PerspectiveProcess::Options options;
  options.config = BaseConfig();
  options.config.mutable_resolver()->set_infra_cache_max_rtt_ms(5000);
  options.config.mutable_resolver()->mutable_lookup_timeout()->set_seconds(2);
  options.config.mutable_shutdown_grace()->set_seconds(10);
  options.config.set_health_address("127.0.0.1:0");
  absl::StatusOr<std::unique_ptr<PerspectiveProcess>> started = PerspectiveProcess::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  PerspectiveProcess& p = **started;
  std::unique_ptr<RemoteObserver> va = Client(p);
  ASSERT_NE(va, nullptr);
  const std::shared_ptr<grpc::Channel> main_channel = VaChannel(p);
  const std::shared_ptr<grpc::Channel> health_channel = HealthChannel(p);
  auto check = [&]() { return HealthOf(main_channel); };
  ASSERT_EQ(check(), grpc::health::v1::HealthCheckResponse::SERVING);
  ASSERT_EQ(HealthOf(health_channel), grpc::health::v1::HealthCheckResponse::SERVING);

  absl::Notification done;
  absl::StatusOr<v1::Observation> in_flight;
  va->Observe(Request("lame.test", {}, "in-flight"), absl::Now() + absl::Seconds(20),
              [&](absl::StatusOr<v1::Observation> r) {
                in_flight = std::move(r);
                done.Notify();
              });
  // Wait until the perspective is working on it (its own gauge says so).
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> m = Scrape(p);
    if (m.ok() && MetricValue(*m, "vantage_perspective_observe_in_flight") == 1) break;
    absl::SleepFor(absl::Milliseconds(20));  // polling interval
  }
  ASSERT_FALSE(done.HasBeenNotified());

  p.process().Signal(SIGTERM);
  // While draining: NOT_SERVING, and new calls are turned away.
  grpc::health::v1::HealthCheckResponse::ServingStatus status = check();
  deadline = absl::Now() + absl::Seconds(5);
  while (status != grpc::health::v1::HealthCheckResponse::NOT_SERVING && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));  // polling interval
    status = check();
  }
  EXPECT_EQ(status, grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // The kubelet sees it too (on the plaintext health listener).
  EXPECT_EQ(HealthOf(health_channel), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(health_channel, "vantage.v1.Perspective"),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  ASSERT_FALSE(done.HasBeenNotified()) << "the in-flight call ended before the drain was seen";
  absl::StatusOr<v1::Observation> refused = ObserveSync(*va, Request("example.test"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("shutting down"));

  // The in-flight call still gets its answer, and the process exits 0.
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(15)));
  ASSERT_TRUE(in_flight.ok()) << in_flight.status();
  EXPECT_EQ(in_flight->request_id(), "in-flight");
  EXPECT_EQ(in_flight->txt().lookup().status(), v1::LOOKUP_STATUS_TIMED_OUT);
  absl::StatusOr<int> exit_code = p.process().Wait(absl::Seconds(15));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << p.process().Tail();
  EXPECT_THAT(p.process().Stderr(),
              AllOf(HasSubstr("received SIGTERM: draining 1 in-flight calls"),
                    HasSubstr("refused shutting_down"), HasSubstr("stopped")));
}

}  // namespace
}  // namespace vantage::tests
