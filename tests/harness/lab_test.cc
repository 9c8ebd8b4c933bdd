// The regions lab: real namespaces, the fixture on 10.53.x.y, per-region
// faults, and in-process observers living inside regions.
#include "tests/harness/lab.h"

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "perspective/unbound_observer.h"
#include "tests/harness/subprocess.h"

namespace vantage::harness {
namespace {

using ::testing::HasSubstr;
using perspective::UnboundObserver;

v1::Observation Observe(UnboundObserver& observer, const std::string& fqdn,
                        absl::Duration timeout = absl::Seconds(5)) {
  absl::Notification done;
  absl::StatusOr<v1::Observation> result;
  v1::ObserveRequest request;
  request.set_fqdn(fqdn);
  observer.Observe(request, absl::Now() + timeout,
                   [&](absl::StatusOr<v1::Observation> o) {
                     result = std::move(o);
                     done.Notify();
                   });
  done.WaitForNotification();
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : v1::Observation();
}

std::string FirstRecord(const v1::Observation& o) {
  if (o.txt().records_size() == 0 || o.txt().records(0).strings_size() == 0) {
    return "";
  }
  return o.txt().records(0).strings(0);
}

class LabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Lab::Options options;
    options.regions = 3;
    absl::StatusOr<std::unique_ptr<Lab>> lab = Lab::Create(options);
    ASSERT_TRUE(lab.ok()) << lab.status();
    lab_ = lab->release();
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(lab_, nullptr); }

  // An in-process observer whose loop thread (and sockets) live in region i.
  std::unique_ptr<UnboundObserver> ObserverIn(int region) {
    std::unique_ptr<UnboundObserver> observer;
    UnboundObserver::Options o;
    o.perspective_id = absl::StrCat("r", region + 1);
    o.rir = v1::RIR_ARIN;
    o.resolver = lab_->fixture().resolver_config();
    o.resolver.set_allow_loopback_servers(false);  // 10.53.x.y: not needed
    o.resolver.set_infra_cache_max_rtt_ms(300);
    EXPECT_TRUE(lab_->RunInRegion(region, [&] {
                      absl::StatusOr<std::unique_ptr<UnboundObserver>> obs =
                          UnboundObserver::Create(o);
                      ASSERT_TRUE(obs.ok()) << obs.status();
                      observer = *std::move(obs);
                    }).ok());
    return observer;
  }

  static Lab* lab_;
};
Lab* LabTest::lab_ = nullptr;

TEST_F(LabTest, RegionsHaveTheirAddressesAndReachTheFixture) {
  EXPECT_EQ(lab_->regions(), 3);
  EXPECT_EQ(lab_->RegionAddress(1), "10.99.2.2");
  EXPECT_EQ(lab_->InetAddress(1), "10.99.2.1");
  Subprocess::Options o = CommandOptions({"ip", "-o", "-4", "addr", "show", "eth0"});
  o.netns = lab_->RegionNamespace(1);
  absl::StatusOr<RunResult> r = RunCommandOk(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->stdout_text, HasSubstr("10.99.2.2/24"));
  // kdig from the region to the customer-zone server in inet.
  absl::StatusOr<std::unique_ptr<Subprocess>> kdig = lab_->StartInRegion(
      1, CommandOptions({"kdig", "+short", "+timeout=2", "@10.53.1.1", "TXT",
                         "_validation-persist.example.test"}));
  ASSERT_TRUE(kdig.ok()) << kdig.status();
  ASSERT_EQ((*kdig)->Wait(absl::Seconds(10)).value_or(-1), 0);
  EXPECT_THAT((*kdig)->Stdout(), HasSubstr("acct/1"));
  EXPECT_EQ(lab_->RunInRegion(3, [] {}).code(), absl::StatusCode::kOutOfRange);
  // One lab at a time.
  EXPECT_EQ(Lab::Create().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(LabTest, InProcessObserversResolveFromTheirRegion) {
  for (int i = 0; i < lab_->regions(); ++i) {
    std::unique_ptr<UnboundObserver> observer = ObserverIn(i);
    ASSERT_NE(observer, nullptr);
    v1::Observation o = Observe(*observer, "example.test");
    EXPECT_EQ(o.txt().lookup().dnssec_state(), v1::DNSSEC_STATE_SECURE);
    EXPECT_EQ(FirstRecord(o), dnstest::AccountRecord("1"));
  }
}

TEST_F(LabTest, PartitionTimesOutOneRegionOnly) {
  std::unique_ptr<UnboundObserver> cut = ObserverIn(1);
  std::unique_ptr<UnboundObserver> fine = ObserverIn(2);
  ASSERT_NE(cut, nullptr);
  ASSERT_NE(fine, nullptr);
  ASSERT_TRUE(lab_->Partition(1, true).ok());
  absl::Time start = absl::Now();
  v1::Observation o = Observe(*cut, "multi.example.test", absl::Seconds(1));
  EXPECT_LE(absl::Now() - start, absl::Milliseconds(1300));
  EXPECT_EQ(o.txt().lookup().dnssec_state(), v1::DNSSEC_STATE_INDETERMINATE);
  EXPECT_EQ(Observe(*fine, "multi.example.test").txt().lookup().dnssec_state(),
            v1::DNSSEC_STATE_SECURE);
  ASSERT_TRUE(lab_->Partition(1, false).ok());
  ASSERT_TRUE(lab_->Partition(1, false).ok());  // idempotent
  std::unique_ptr<UnboundObserver> healed = ObserverIn(1);
  EXPECT_EQ(Observe(*healed, "multi.example.test").txt().lookup().dnssec_state(),
            v1::DNSSEC_STATE_SECURE);
}

TEST_F(LabTest, ForgerMakesSignedZoneBogusAndFoolsUnsignedOne) {
  ASSERT_TRUE(lab_->Forge(0, true).ok());
  std::unique_ptr<UnboundObserver> forged = ObserverIn(0);
  std::unique_ptr<UnboundObserver> honest = ObserverIn(1);
  ASSERT_NE(forged, nullptr);
  ASSERT_NE(honest, nullptr);
  v1::Observation signed_zone = Observe(*forged, "example.test");
  EXPECT_EQ(signed_zone.txt().lookup().dnssec_state(), v1::DNSSEC_STATE_BOGUS);
  EXPECT_EQ(signed_zone.txt().records_size(), 0);
  v1::Observation unsigned_zone = Observe(*forged, "insecure.test");
  EXPECT_EQ(unsigned_zone.txt().lookup().dnssec_state(),
            v1::DNSSEC_STATE_INSECURE);
  EXPECT_EQ(FirstRecord(unsigned_zone), dnstest::AccountRecord("ATTACKER"));
  // Another region sees the truth.
  EXPECT_EQ(FirstRecord(Observe(*honest, "insecure.test")),
            dnstest::AccountRecord("2"));
  ASSERT_TRUE(lab_->Forge(0, false).ok());
  std::unique_ptr<UnboundObserver> after = ObserverIn(0);
  EXPECT_EQ(FirstRecord(Observe(*after, "insecure.test")),
            dnstest::AccountRecord("2"));
}

TEST_F(LabTest, IsolateCutsTheVaOffFromARegion) {
  // A listener in region 2, dialed from inet (where the VA runs).
  absl::StatusOr<std::unique_ptr<Subprocess>> server = lab_->StartInRegion(
      2, CommandOptions({"python3", "-c",
                         "import socket, time\n"
                         "s = socket.socket()\n"
                         "s.bind(('0.0.0.0', 0))\n"
                         "s.listen()\n"
                         "print('port', s.getsockname()[1], flush=True)\n"
                         "time.sleep(100)\n"}));
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::string> line =
      (*server)->WaitForOutput("port ", absl::Seconds(10));
  ASSERT_TRUE(line.ok()) << line.status();
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripPrefix(*line, "port "), &port));
  // From inet: a fresh python client, so the probe is not in region 2.
  auto connect = [&](absl::Duration timeout) {
    return RunCommand(
        {"python3", "-c",
         absl::StrCat("import socket\ns = socket.create_connection(('",
                      lab_->RegionAddress(2), "', ", port, "), timeout=",
                      absl::ToDoubleSeconds(timeout), ")\nprint('connected')\n")},
        timeout + absl::Seconds(5));
  };
  absl::StatusOr<RunResult> ok = connect(absl::Seconds(2));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->exit_code, 0) << ok->stderr_text;
  ASSERT_TRUE(lab_->Isolate(2, true).ok());
  absl::StatusOr<RunResult> cut = connect(absl::Milliseconds(500));
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_NE(cut->exit_code, 0);
  EXPECT_THAT(cut->stderr_text, HasSubstr("timed out"));
  ASSERT_TRUE(lab_->Isolate(2, false).ok());
  ok = connect(absl::Seconds(2));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->exit_code, 0) << ok->stderr_text;
}

}  // namespace
}  // namespace vantage::harness
