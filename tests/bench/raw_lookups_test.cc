// RawLookups as a service (Serve/Submit/Shutdown), which the VA benchmark's
// fan-out floor stands on: every submitted lookup is answered exactly once,
// on the serving thread, OK only for a secure non-empty NOERROR answer; and
// Shutdown returns Serve once the lookups in flight have answered. Against
// the real fixture (knotd, signed zones) in the test's own network namespace.
#include "tests/bench/raw_lookups.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/dns/fixture.h"

namespace vantage::bench {
namespace {

using ::testing::HasSubstr;

class RawLookupsServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dnstest::DnsFixture::Options options;
    options.leaf_names = 4;
    absl::StatusOr<std::unique_ptr<dnstest::DnsFixture>> dns = dnstest::DnsFixture::Start(options);
    ASSERT_TRUE(dns.ok()) << dns.status();
    dns_ = *std::move(dns);
    absl::StatusOr<std::unique_ptr<RawLookups>> raw = RawLookups::Create(dns_->resolver_config());
    ASSERT_TRUE(raw.ok()) << raw.status();
    raw_ = *std::move(raw);
    loop_ = std::thread([this] {
      loop_id_ = std::this_thread::get_id();
      serve_status_ = raw_->Serve();
      served_.Notify();
    });
  }

  void TearDown() override {
    if (loop_.joinable()) {
      raw_->Shutdown();
      loop_.join();
    }
  }

  // Lookup submits one lookup and waits (bounded) for its answer.
  absl::Status Lookup(const std::string& fqdn) {
    absl::Notification answered;
    absl::Status status = absl::DeadlineExceededError("no answer within 30 s");
    raw_->Submit(fqdn, [&](absl::Status s) {
      EXPECT_EQ(std::this_thread::get_id(), loop_id_.load());
      status = s;
      answered.Notify();
    });
    answered.WaitForNotificationWithTimeout(absl::Seconds(30));
    return status;
  }

  std::unique_ptr<dnstest::DnsFixture> dns_;
  std::unique_ptr<RawLookups> raw_;
  std::thread loop_;
  std::atomic<std::thread::id> loop_id_;
  absl::Status serve_status_;
  absl::Notification served_;
};

TEST_F(RawLookupsServeTest, SecureRecordIsOkAndMissingNameIsAnError) {
  EXPECT_TRUE(Lookup("t1.leaf.test").ok());
  EXPECT_TRUE(Lookup("t1.leaf.test").ok()) << "the same name again (a cache hit)";
  // Beyond leaf_names: no such name (libunbound's event API reports it as
  // rcode 0 with no answer here, which the length of the packet alone - the
  // first version's check - took for an answer).
  const absl::Status missing = Lookup("t9.leaf.test");
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnavailable) << missing;
  EXPECT_THAT(missing.message(), HasSubstr("answers 0"));
  // A name that exists without a TXT (NODATA): NOERROR, secure, no answer.
  const absl::Status nodata = Lookup("leaf.test");
  EXPECT_EQ(nodata.code(), absl::StatusCode::kUnavailable) << nodata;
  EXPECT_THAT(nodata.message(), HasSubstr("answers 0"));
}

TEST_F(RawLookupsServeTest, EveryLookupFromManyThreadsIsAnsweredOnce) {
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  absl::BlockingCounter all(kThreads * kEach);
  absl::Mutex mu;
  std::vector<int> answers(kThreads * kEach, 0);
  int failures = 0;
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int id = t * kEach + i;
        raw_->Submit(absl::StrCat("t", id % 4, ".leaf.test"), [&, id](absl::Status s) {
          {
            absl::MutexLock lock(&mu);
            ++answers[id];
            if (!s.ok()) ++failures;
          }
          all.DecrementCount();
        });
      }
    });
  }
  for (std::thread& s : submitters) s.join();
  all.Wait();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(failures, 0);
  for (int id = 0; id < kThreads * kEach; ++id) EXPECT_EQ(answers[id], 1) << "lookup " << id;
}

TEST_F(RawLookupsServeTest, ShutdownReturnsServeAfterTheLookupsInFlight) {
  absl::Notification answered;
  bool ok = false;
  // A leaf name nobody asked for yet: a real cache miss still in flight when
  // Shutdown is called right after.
  raw_->Submit("t3.leaf.test", [&](absl::Status s) {
    ok = s.ok();
    answered.Notify();
  });
  raw_->Shutdown();
  ASSERT_TRUE(served_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  loop_.join();
  EXPECT_TRUE(serve_status_.ok()) << serve_status_;
  EXPECT_TRUE(answered.HasBeenNotified());
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace vantage::bench
