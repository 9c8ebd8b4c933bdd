// UnboundObserver against the real DNS fixture (knotd, signed zones), in the
// test's own network namespace (netns_gtest_main). Every case runs with both
// engines.
#include "perspective/unbound_observer.h"

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "perspective/observer_testing.h"
#include "tests/dns/fixture.h"

namespace vantage::perspective {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;
using dnstest::AccountRecord;
using dnstest::DnsFixture;
using testing::ObserveSync;
using testing::Request;
using testing::Strings;
using testing::TxtSet;
using Engine = UnboundObserver::Engine;

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Nanoseconds(
      google::protobuf::util::TimeUtil::DurationToNanoseconds(d));
}

class UnboundObserverTest : public ::testing::TestWithParam<Engine> {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<DnsFixture>> f = DnsFixture::Start();
    ASSERT_TRUE(f.ok()) << f.status();
    dns_ = f->release();
  }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(dns_, nullptr) << "fixture did not start"; }

  UnboundObserver::Options DefaultOptions() {
    UnboundObserver::Options o;
    o.perspective_id = "test-1";
    o.rir = v1::RIR_RIPE;
    o.region = "lab-1";
    o.resolver = dns_->resolver_config();
    o.engine = GetParam();
    o.on_lookup = [this](const LookupEvent& e) {
      absl::MutexLock lock(&mu_);
      events_.push_back(e);
    };
    return o;
  }
  std::unique_ptr<UnboundObserver> NewObserver() {
    return NewObserver(DefaultOptions());
  }
  std::unique_ptr<UnboundObserver> NewObserver(
      const UnboundObserver::Options& o) {
    absl::StatusOr<std::unique_ptr<UnboundObserver>> obs =
        UnboundObserver::Create(o);
    EXPECT_TRUE(obs.ok()) << obs.status();
    return obs.ok() ? *std::move(obs) : nullptr;
  }
  size_t EventCount() {
    absl::MutexLock lock(&mu_);
    return events_.size();
  }

  static DnsFixture* dns_;
  absl::Mutex mu_;
  std::vector<LookupEvent> events_ ABSL_GUARDED_BY(mu_);
};
DnsFixture* UnboundObserverTest::dns_ = nullptr;

INSTANTIATE_TEST_SUITE_P(Engines, UnboundObserverTest,
                         ::testing::Values(Engine::kEvent, Engine::kAsyncThread),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return info.param == Engine::kEvent ? "Event"
                                                               : "AsyncThread";
                         });

// ---- TXT: every zone case of the fixture ----

struct TxtCase {
  std::string name;
  std::string fqdn;
  int rcode;
  v1::DnssecState state;
  TxtSet records;
  std::vector<std::string> cname_chain;
  std::string canonical_name;  // empty: the query name
  std::string why_bogus;       // substring, BOGUS only
};

std::vector<TxtCase> TxtCases() {
  const auto kSecure = v1::DNSSEC_STATE_SECURE;
  const auto kInsecure = v1::DNSSEC_STATE_INSECURE;
  const auto kBogus = v1::DNSSEC_STATE_BOGUS;
  TxtSet big;
  for (int i = 0; i < dnstest::kBigTxtRecords; ++i) {
    big.push_back({dnstest::BigTxtString(i)});
  }
  const std::string second = "_validation-persist.target.second.test";
  return {
      {"secure", "example.test", 0, kSecure, {{AccountRecord("1")}}, {}, "", ""},
      {"secure_two_records_multi_string", "multi.example.test", 0, kSecure,
       {{AccountRecord("1")},
        {"other-ca.example; accounturi=https://other.example/a/9",
         "second-string"}},
       {}, "", ""},
      {"secure_raw_bytes", "bytes.example.test", 0, kSecure,
       {{std::string("a\0b", 3), "", "\xff\"\\;x"}}, {}, "", ""},
      {"secure_big_rrset_over_tcp", "big.example.test", 0, kSecure, big, {}, "",
       ""},
      {"secure_nodata", "nodata.example.test", 0, kSecure, {}, {}, "", ""},
      {"secure_nxdomain", "nx.example.test", 3, kSecure, {}, {}, "", ""},
      {"secure_wildcard_synthesized", "any.wc.example.test", 0, kSecure,
       {{"wildcard-synthesized"}}, {}, "", ""},
      {"secure_policy_wildcard_record", "wild.example.test", 0, kSecure,
       {{"ca.example; accounturi=https://ca.example/acct/1; policy=wildcard"}},
       {}, "", ""},
      {"cname_secure_to_secure", "cname.example.test", 0, kSecure,
       {{AccountRecord("second")}},
       {"_validation-persist.cname.example.test"}, second, ""},
      {"cname_chain_two_hops", "chain.example.test", 0, kSecure,
       {{AccountRecord("second")}},
       {"_validation-persist.chain.example.test", "hop.second.test"}, second,
       ""},
      {"dname", "target.dname.example.test", 0, kSecure,
       {{AccountRecord("second")}},
       {"_validation-persist.target.dname.example.test"}, second, ""},
      {"cname_secure_to_bogus", "tobogus.example.test", 0, kBogus, {},
       {"_validation-persist.tobogus.example.test"},
       "_validation-persist.bogus.test", "DS hash mismatches key"},
      {"cname_secure_to_insecure", "toinsecure.example.test", 0, kInsecure,
       {{AccountRecord("2")}}, {"_validation-persist.toinsecure.example.test"},
       "_validation-persist.insecure.test", ""},
      {"insecure_unsigned", "insecure.test", 0, kInsecure, {{AccountRecord("2")}},
       {}, "", ""},
      {"insecure_nxdomain", "nx.insecure.test", 3, kInsecure, {}, {}, "", ""},
      {"insecure_signed_without_ds", "nods.test", 0, kInsecure,
       {{AccountRecord("nods")}}, {}, "", ""},
      // Bogus: the data is never reported (fail closed), the reason is.
      {"bogus_wrong_ds", "bogus.test", 0, kBogus, {}, {}, "",
       "DS hash mismatches key"},
      {"bogus_expired_rrsig", "expired.test", 0, kBogus, {}, {}, "",
       "signature expired"},
      {"bogus_tampered", "tampered.test", 0, kBogus, {}, {}, "",
       "signature verification failed"},
      {"bogus_stripped_rrsig", "nosig.test", 0, kBogus, {}, {}, "",
       "no signatures"},
      {"secure_leaf_name", "t3.leaf.test", 0, kSecure, {{AccountRecord("leaf")}},
       {}, "", ""},
  };
}

TEST_P(UnboundObserverTest, EveryTxtZoneCase) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  for (const TxtCase& c : TxtCases()) {
    SCOPED_TRACE(c.name);
    absl::Time before = absl::Now();
    absl::StatusOr<v1::Observation> o =
        ObserveSync(*observer, Request(c.fqdn, {}, "id-" + c.name));
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(o->perspective_id(), "test-1");
    EXPECT_EQ(o->rir(), v1::RIR_RIPE);
    EXPECT_EQ(o->region(), "lab-1");
    EXPECT_EQ(o->request_id(), "id-" + c.name);
    EXPECT_FALSE(o->has_caa());
    absl::Time resolved_at = absl::FromUnixNanos(
        google::protobuf::util::TimeUtil::TimestampToNanoseconds(o->resolved_at()));
    EXPECT_GE(resolved_at, before);
    EXPECT_GT(FromProto(o->duration()), absl::ZeroDuration());
    const v1::DnsLookup& l = o->txt().lookup();
    const std::string qname = "_validation-persist." + c.fqdn;
    EXPECT_EQ(l.qname(), qname);
    EXPECT_EQ(l.qtype(), 16u);
    EXPECT_EQ(l.status(), v1::LOOKUP_STATUS_ANSWERED) << l.error();
    EXPECT_EQ(l.rcode(), c.rcode);
    EXPECT_EQ(l.dnssec_state(), c.state) << l.why_bogus();
    // RRset order is not fixed; the strings of each RR are, byte for byte.
    EXPECT_THAT(Strings(o->txt()), UnorderedElementsAreArray(c.records));
    EXPECT_THAT(l.cname_chain(), ElementsAreArray(c.cname_chain));
    EXPECT_EQ(l.canonical_name(),
              c.canonical_name.empty() ? qname : c.canonical_name);
    if (c.state == v1::DNSSEC_STATE_BOGUS) {
      EXPECT_THAT(l.why_bogus(), HasSubstr(c.why_bogus));
    } else {
      EXPECT_THAT(l.why_bogus(), IsEmpty());
    }
    if (!c.records.empty()) {
      EXPECT_GT(l.ttl(), 0u);
      EXPECT_LE(l.ttl(), 60u);
    }
  }
}

// ---- CAA: the RFC 8659 climb ----

struct CaaCase {
  std::string name;
  std::string fqdn;
  std::vector<std::string> steps;          // qnames asked, in order
  std::vector<v1::DnssecState> states;     // per step
  int relevant_step;
  bool complete;
  std::vector<std::string> relevant_tags;  // of the relevant RRset
};

std::vector<CaaCase> CaaCases() {
  const auto S = v1::DNSSEC_STATE_SECURE;
  const auto I = v1::DNSSEC_STATE_INSECURE;
  const auto B = v1::DNSSEC_STATE_BOGUS;
  return {
      {"at_apex", "example.test", {"example.test"}, {S}, 0, true,
       {"issue", "issuewild"}},
      {"climb_to_apex", "a.b.sub.example.test",
       {"a.b.sub.example.test", "b.sub.example.test", "sub.example.test",
        "example.test"},
       {S, S, S, S}, 3, true, {"issue", "issuewild"}},
      {"three_records_with_critical_flag", "caa.example.test",
       {"caa.example.test"}, {S}, 0, true, {"iodef", "issue", "tbs"}},
      {"through_cname", "caacname.example.test", {"caacname.example.test"}, {S},
       0, true, {"issue"}},
      {"none_up_to_the_tld", "x.second.test",
       {"x.second.test", "second.test", "test"}, {S, S, S}, -1, true, {}},
      {"insecure_zone", "insecure.test", {"insecure.test"}, {I}, 0, true,
       {"issue"}},
      {"bogus_stops_the_climb", "x.bogus.test", {"x.bogus.test"}, {B}, -1,
       false, {}},
  };
}

TEST_P(UnboundObserverTest, CaaClimb) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  for (const CaaCase& c : CaaCases()) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<v1::Observation> o =
        ObserveSync(*observer, Request(c.fqdn, {v1::LOOKUP_KIND_CAA}));
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_FALSE(o->has_txt());
    const v1::CaaObservation& caa = o->caa();
    std::vector<std::string> steps;
    std::vector<v1::DnssecState> states;
    for (const v1::CaaStep& s : caa.steps()) {
      steps.push_back(s.lookup().qname());
      states.push_back(s.lookup().dnssec_state());
      EXPECT_EQ(s.lookup().qtype(), 257u);
    }
    EXPECT_THAT(steps, ElementsAreArray(c.steps));
    EXPECT_THAT(states, ElementsAreArray(c.states));
    EXPECT_EQ(caa.relevant_step(), c.relevant_step);
    EXPECT_EQ(caa.complete(), c.complete);
    std::vector<std::string> tags;
    if (caa.relevant_step() >= 0) {
      for (const v1::CaaRecord& r : caa.steps(caa.relevant_step()).records()) {
        tags.push_back(r.tag());
      }
    }
    std::sort(tags.begin(), tags.end());
    EXPECT_THAT(tags, ElementsAreArray(c.relevant_tags));
  }
}

TEST_P(UnboundObserverTest, CaaRecordFieldsAndCnameChain) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  absl::StatusOr<v1::Observation> o =
      ObserveSync(*observer, Request("caa.example.test", {v1::LOOKUP_KIND_CAA}));
  ASSERT_TRUE(o.ok()) << o.status();
  bool found_critical = false;
  for (const v1::CaaRecord& r : o->caa().steps(0).records()) {
    if (r.tag() == "issue") {
      EXPECT_EQ(r.flags(), 128u);
      EXPECT_EQ(r.value(),
                "ca.example; accounturi=https://ca.example/acct/1; "
                "validationmethods=dns-persist-01");
      found_critical = true;
    }
  }
  EXPECT_TRUE(found_critical);
  o = ObserveSync(*observer,
                  Request("caacname.example.test", {v1::LOOKUP_KIND_CAA}));
  ASSERT_TRUE(o.ok()) << o.status();
  const v1::DnsLookup& l = o->caa().steps(0).lookup();
  EXPECT_THAT(l.cname_chain(), ElementsAre("caacname.example.test"));
  EXPECT_EQ(l.canonical_name(), "target.second.test");
  ASSERT_EQ(o->caa().steps(0).records_size(), 1);
  EXPECT_EQ(o->caa().steps(0).records(0).value(), "second.example");
}

TEST_P(UnboundObserverTest, TxtAndCaaTogether) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  absl::StatusOr<v1::Observation> o = ObserveSync(
      *observer,
      Request("example.test", {v1::LOOKUP_KIND_CAA, v1::LOOKUP_KIND_TXT_PERSIST,
                               v1::LOOKUP_KIND_CAA}));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->txt().lookup().dnssec_state(), v1::DNSSEC_STATE_SECURE);
  EXPECT_THAT(Strings(o->txt()), ElementsAre(ElementsAre(AccountRecord("1"))));
  EXPECT_EQ(o->caa().relevant_step(), 0);
  EXPECT_TRUE(o->caa().complete());
  EXPECT_EQ(EventCount(), 2u);  // one TXT and one CAA lookup, duplicates ignored
}

// ---- Deadlines and failures ----

TEST_P(UnboundObserverTest, LameZoneAnswersWithinTheDeadline) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  for (absl::Duration timeout : {absl::Milliseconds(300), absl::Seconds(4)}) {
    SCOPED_TRACE(absl::FormatDuration(timeout));
    absl::Time start = absl::Now();
    absl::StatusOr<v1::Observation> o = ObserveSync(
        *observer, Request("lame.test", {v1::LOOKUP_KIND_TXT_PERSIST,
                                         v1::LOOKUP_KIND_CAA}),
        timeout);
    absl::Duration took = absl::Now() - start;
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_LE(took, timeout + absl::Milliseconds(200));
    const v1::DnsLookup& l = o->txt().lookup();
    // Never a hang, never a judgement: timed out, or SERVFAIL.
    EXPECT_EQ(l.dnssec_state(), v1::DNSSEC_STATE_INDETERMINATE);
    if (l.status() == v1::LOOKUP_STATUS_ANSWERED) {
      EXPECT_EQ(l.rcode(), 2);
    } else {
      EXPECT_EQ(l.status(), v1::LOOKUP_STATUS_TIMED_OUT);
      EXPECT_THAT(l.error(), HasSubstr("no answer within"));
    }
    EXPECT_FALSE(o->caa().complete());
    EXPECT_EQ(o->caa().relevant_step(), -1);
    EXPECT_EQ(o->caa().steps_size(), 1);
  }
}

TEST_P(UnboundObserverTest, LookupTimeoutBoundsEachLookup) {
  UnboundObserver::Options options = DefaultOptions();
  options.resolver.mutable_lookup_timeout()->set_nanos(200'000'000);
  std::unique_ptr<UnboundObserver> observer = NewObserver(options);
  ASSERT_NE(observer, nullptr);
  absl::Time start = absl::Now();
  absl::StatusOr<v1::Observation> o = ObserveSync(
      *observer, Request("x.lame.test"), absl::Seconds(10));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(o->txt().lookup().status(), v1::LOOKUP_STATUS_TIMED_OUT);
  EXPECT_EQ(o->txt().lookup().dnssec_state(), v1::DNSSEC_STATE_INDETERMINATE);
  EXPECT_GE(observer->stats().lookups_timed_out, 1u);
  // The libunbound query goes on after the timeout; its late answer must be
  // harmless, and the observer keeps working.
  absl::SleepFor(absl::Seconds(1));
  o = ObserveSync(*observer, Request("example.test"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->txt().lookup().dnssec_state(), v1::DNSSEC_STATE_SECURE);
}

TEST_P(UnboundObserverTest, DeadlineAlreadyPassed) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  absl::StatusOr<v1::Observation> result;
  bool called = false;
  observer->Observe(Request("example.test"), absl::Now() - absl::Seconds(1),
                    [&](absl::StatusOr<v1::Observation> o) {
                      result = std::move(o);
                      called = true;
                    });
  EXPECT_TRUE(called);  // inline
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(observer->stats().lookups_started, 0u);
}

TEST_P(UnboundObserverTest, ConcurrencyLimit) {
  UnboundObserver::Options options = DefaultOptions();
  options.resolver.set_max_concurrent_lookups(2);
  std::unique_ptr<UnboundObserver> observer = NewObserver(options);
  ASSERT_NE(observer, nullptr);
  std::atomic<int> answered{0};
  absl::Time deadline = absl::Now() + absl::Seconds(3);
  for (int i = 0; i < 2; ++i) {
    observer->Observe(Request(absl::StrCat("n", i, ".lame.test")), deadline,
                      [&](absl::StatusOr<v1::Observation> o) {
                        EXPECT_TRUE(o.ok()) << o.status();
                        answered.fetch_add(1);
                      });
  }
  absl::StatusOr<v1::Observation> third = ObserveSync(*observer, Request("example.test"));
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.status().message(), HasSubstr("max_concurrent_lookups"));
  absl::Time limit = absl::Now() + absl::Seconds(10);
  while (answered.load() < 2 && absl::Now() < limit) {
    absl::SleepFor(absl::Milliseconds(20));  // polling interval
  }
  EXPECT_EQ(answered.load(), 2);
  EXPECT_EQ(observer->stats().lookups_in_flight, 0);
  absl::StatusOr<v1::Observation> after =
      ObserveSync(*observer, Request("example.test"));
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST_P(UnboundObserverTest, ShutdownFinishesPendingObserves) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  absl::Notification done;
  absl::StatusOr<v1::Observation> result;
  observer->Observe(Request("s.lame.test"), absl::Now() + absl::Seconds(30),
                    [&](absl::StatusOr<v1::Observation> o) {
                      result = std::move(o);
                      done.Notify();
                    });
  absl::SleepFor(absl::Milliseconds(50));  // let the lookup start
  observer.reset();
  ASSERT_TRUE(done.HasBeenNotified());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
}

// ---- Changes in DNS ----

TEST_P(UnboundObserverTest, RestartedAuthServerIsSeenAgain) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  const std::string name = absl::StrCat(
      "restart-", GetParam() == Engine::kEvent ? "ev" : "as", ".example.test");
  ASSERT_TRUE(dns_->SetTxt("_validation-persist." + name, {{"back"}}, 60).ok());
  ASSERT_TRUE(dns_->StopInstance("auth").ok());
  absl::StatusOr<v1::Observation> down =
      ObserveSync(*observer, Request(name), absl::Seconds(3));
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->txt().lookup().dnssec_state(),
            v1::DNSSEC_STATE_INDETERMINATE);
  EXPECT_THAT(Strings(down->txt()), IsEmpty());
  ASSERT_TRUE(dns_->StartInstance("auth").ok());
  // Seen again once libunbound retries the server (infra_host_ttl, 10 s).
  absl::StatusOr<v1::Observation> up;
  absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Seconds(30)) {
    up = ObserveSync(*observer, Request(name), absl::Seconds(3));
    ASSERT_TRUE(up.ok()) << up.status();
    if (up->txt().lookup().dnssec_state() == v1::DNSSEC_STATE_SECURE) break;
    absl::SleepFor(absl::Milliseconds(250));  // polling interval
  }
  EXPECT_EQ(up->txt().lookup().dnssec_state(), v1::DNSSEC_STATE_SECURE);
  EXPECT_THAT(Strings(up->txt()), ElementsAre(ElementsAre("back")));
  std::cerr << "seen again after " << absl::FormatDuration(absl::Now() - start)
            << "\n";
}

TEST_P(UnboundObserverTest, UpdatedRecordSeenAfterItsTtl) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  const std::string name = absl::StrCat(
      "update-", GetParam() == Engine::kEvent ? "ev" : "as", ".example.test");
  const std::string owner = "_validation-persist." + name;
  ASSERT_TRUE(dns_->SetTxt(owner, {{"v1"}}, 2).ok());
  absl::StatusOr<v1::Observation> o = ObserveSync(*observer, Request(name));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_THAT(Strings(o->txt()), ElementsAre(ElementsAre("v1")));
  EXPECT_LE(o->txt().lookup().ttl(), 2u);
  ASSERT_TRUE(dns_->SetTxt(owner, {{"v2", "part"}}, 2).ok());
  absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Seconds(10)) {
    o = ObserveSync(*observer, Request(name));
    ASSERT_TRUE(o.ok()) << o.status();
    if (Strings(o->txt()) != TxtSet{{"v1"}}) break;
    absl::SleepFor(absl::Milliseconds(100));  // polling interval
  }
  EXPECT_THAT(Strings(o->txt()), ElementsAre(ElementsAre("v2", "part")));
  EXPECT_EQ(o->txt().lookup().dnssec_state(), v1::DNSSEC_STATE_SECURE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));  // ~ the 2 s TTL
}

// ---- Many at once ----

TEST_P(UnboundObserverTest, TwoHundredConcurrentObserves) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  struct Expect {
    std::string fqdn;
    v1::DnssecState state;
    TxtSet records;
  };
  std::vector<Expect> expects;
  for (int i = 0; i < 200; ++i) {
    switch (i % 5) {
      case 0:  // a fresh leaf name: a real cache miss each
        expects.push_back({absl::StrCat("t", i % 100, ".leaf.test"),
                           v1::DNSSEC_STATE_SECURE, {{AccountRecord("leaf")}}});
        break;
      case 1:
        expects.push_back({"multi.example.test", v1::DNSSEC_STATE_SECURE,
                           {{AccountRecord("1")},
                            {"other-ca.example; accounturi=https://other.example/a/9",
                             "second-string"}}});
        break;
      case 2:
        expects.push_back(
            {"insecure.test", v1::DNSSEC_STATE_INSECURE, {{AccountRecord("2")}}});
        break;
      case 3:
        expects.push_back({"expired.test", v1::DNSSEC_STATE_BOGUS, {}});
        break;
      case 4:
        expects.push_back({absl::StrCat("nx", i, ".example.test"),
                           v1::DNSSEC_STATE_SECURE, {}});
        break;
    }
  }
  std::vector<absl::StatusOr<v1::Observation>> results(expects.size());
  std::atomic<int> remaining{static_cast<int>(expects.size())};
  absl::Notification all_done;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  // From 4 threads at once, as gRPC threads would.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < expects.size(); i += 4) {
        observer->Observe(Request(expects[i].fqdn, {}, absl::StrCat("r", i)),
                          deadline, [&, i](absl::StatusOr<v1::Observation> o) {
                            results[i] = std::move(o);
                            if (remaining.fetch_sub(1) == 1) all_done.Notify();
                          });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(12)));
  for (size_t i = 0; i < expects.size(); ++i) {
    SCOPED_TRACE(absl::StrCat(i, " ", expects[i].fqdn));
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    EXPECT_EQ(results[i]->request_id(), absl::StrCat("r", i));
    EXPECT_EQ(results[i]->txt().lookup().status(), v1::LOOKUP_STATUS_ANSWERED);
    EXPECT_EQ(results[i]->txt().lookup().dnssec_state(), expects[i].state);
    EXPECT_THAT(Strings(results[i]->txt()),
                UnorderedElementsAreArray(expects[i].records));
  }
  EXPECT_EQ(observer->stats().lookups_in_flight, 0);
}

// ---- Refusals ----

struct BadRequest {
  std::string name;
  v1::ObserveRequest request;
  std::string message;  // substring
};

std::vector<BadRequest> BadRequests() {
  std::vector<BadRequest> out = {
      {"empty", Request(""), "fqdn"},
      {"uppercase", Request("Example.test"), "fqdn"},
      {"trailing_dot", Request("example.test."), "fqdn"},
      {"wildcard", Request("*.example.test"), "fqdn"},
      {"ip_literal", Request("192.0.2.1"), "fqdn"},
      {"empty_label", Request("a..example.test"), "fqdn"},
      {"single_label", Request("test"), "fqdn"},
      {"underscore", Request("_x.example.test"), "fqdn"},
      {"label_too_long", Request(std::string(64, 'a') + ".test"), "fqdn"},
      {"name_too_long", Request(std::string(60, 'a') + "." +
                                std::string(60, 'b') + "." +
                                std::string(60, 'c') + "." +
                                std::string(60, 'd') + ".test"),
       "fqdn"},
      {"persist_name_too_long",
       Request(std::string(63, 'a') + "." + std::string(63, 'b') + "." +
               std::string(63, 'c') + "." + std::string(40, 'd') + ".test"),
       "_validation-persist"},
      {"request_id_newline", Request("example.test", {}, "a\nb"), "request_id"},
      {"request_id_too_long", Request("example.test", {}, std::string(129, 'r')),
       "request_id"},
  };
  v1::ObserveRequest bad_kind = Request("example.test");
  bad_kind.add_kinds(static_cast<v1::LookupKind>(7));
  out.push_back({"unknown_kind", bad_kind, "kinds"});
  v1::ObserveRequest unspecified = Request("example.test");
  unspecified.add_kinds(v1::LOOKUP_KIND_UNSPECIFIED);
  out.push_back({"unspecified_kind", unspecified, "kinds"});
  return out;
}

TEST_P(UnboundObserverTest, BadRequestsAreRefusedWithoutAnyLookup) {
  std::unique_ptr<UnboundObserver> observer = NewObserver();
  ASSERT_NE(observer, nullptr);
  for (const BadRequest& c : BadRequests()) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<v1::Observation> result;
    bool called = false;
    observer->Observe(c.request, absl::Now() + absl::Seconds(5),
                      [&](absl::StatusOr<v1::Observation> o) {
                        result = std::move(o);
                        called = true;
                      });
    EXPECT_TRUE(called);  // refused inline, before any hand-over
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(result.status().message(), HasSubstr(c.message));
  }
  EXPECT_EQ(observer->stats().lookups_started, 0u);
  EXPECT_EQ(observer->stats().observes_started, 0u);
  EXPECT_EQ(EventCount(), 0u);  // the stats hook saw no lookup
}

// ---- Configuration ----

TEST_P(UnboundObserverTest, RefusesConfigWithoutTrustAnchor) {
  UnboundObserver::Options options = DefaultOptions();
  options.resolver.clear_trust_anchor_file();
  absl::StatusOr<std::unique_ptr<UnboundObserver>> o =
      UnboundObserver::Create(options);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(o.status().message(), HasSubstr("trust_anchor_file: required"));
  EXPECT_THAT(o.status().message(), HasSubstr("SPEC.md 5"));
  EXPECT_THAT(o.status().message(), HasSubstr("insecure"));
}

TEST_P(UnboundObserverTest, RefusesUnreadableOrBrokenFiles) {
  UnboundObserver::Options options = DefaultOptions();
  options.resolver.set_trust_anchor_file("/nonexistent/root.key");
  absl::StatusOr<std::unique_ptr<UnboundObserver>> o =
      UnboundObserver::Create(options);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(o.status().message(), HasSubstr("/nonexistent/root.key"));

  std::string garbage = dns_->dir() + "/garbage.ta";
  std::ofstream(garbage) << "this is not a trust anchor\n";
  options = DefaultOptions();
  options.resolver.set_trust_anchor_file(garbage);
  o = UnboundObserver::Create(options);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(o.status().message(), HasSubstr("trust anchor"));

  options = DefaultOptions();
  options.resolver.set_root_hints_file("/nonexistent/root.hints");
  o = UnboundObserver::Create(options);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(o.status().message(), HasSubstr("root_hints_file"));

  options = DefaultOptions();
  options.resolver.mutable_lookup_timeout()->set_seconds(3600);
  o = UnboundObserver::Create(options);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(o.status().message(), HasSubstr("lookup_timeout"));

  options = DefaultOptions();
  options.resolver.mutable_infra_host_ttl()->set_nanos(500000000);
  o = UnboundObserver::Create(options);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(o.status().message(), HasSubstr("resolver.infra_host_ttl: must be 1s..1h"));

  options = DefaultOptions();
  options.resolver.add_forwarders("not an address");
  o = UnboundObserver::Create(options);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(o.status().message(), HasSubstr("forwarders[0]"));
}

// Without unblock_local_zones, unbound's built-in RFC 6761 zone answers for
// "test." itself: the switch is what lets the fixture be reached at all.
TEST_P(UnboundObserverTest, BuiltInTestZoneWithoutUnblock) {
  UnboundObserver::Options options = DefaultOptions();
  options.resolver.clear_unblock_local_zones();
  std::unique_ptr<UnboundObserver> observer = NewObserver(options);
  ASSERT_NE(observer, nullptr);
  absl::StatusOr<v1::Observation> o =
      ObserveSync(*observer, Request("example.test"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->txt().lookup().rcode(), 3);
  EXPECT_THAT(Strings(o->txt()), IsEmpty());
}

}  // namespace
}  // namespace vantage::perspective
