// Unit tests for the pieces under both stores: status names, the input
// rules, and the connection pool.
#include <atomic>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "va/account_store.h"
#include "va/account_store_pool.h"

namespace vantage::va {
namespace {

using ::testing::HasSubstr;

TEST(AccountStatusTest, NamesRoundTripAndUnknownNamesAreRejected) {
  for (AccountStatus status :
       {AccountStatus::kValid, AccountStatus::kDeactivated, AccountStatus::kRevoked}) {
    absl::StatusOr<AccountStatus> parsed = ParseAccountStatus(AccountStatusName(status));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, status);
  }
  EXPECT_EQ(AccountStatusName(AccountStatus::kDeactivated), "deactivated");
  for (const char* bad : {"", "Valid", "VALID", "pending", "valid "}) {
    absl::StatusOr<AccountStatus> parsed = ParseAccountStatus(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ValidateThumbprintTest, AcceptsOnlyFortyThreeBase64UrlCharacters) {
  struct Case {
    const char* name;
    const char* thumbprint;
    bool ok;
  };
  const Case cases[] = {
      {"RFC 7638 section 3.1 example", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", true},
      {"42 characters", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X", false},
      {"padded to 44", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=", false},
      {"standard base64 '+'", "NzbLsXh8uDCcd+6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", false},
      {"standard base64 '/'", "NzbLsXh8uDCcd-6MNwXF4W/7noWXFZAfHkxZsRGC9Xs", false},
      {"space", "NzbLsXh8uDCcd-6MNwXF4W 7noWXFZAfHkxZsRGC9Xs", false},
      {"non-canonical last character", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xt", false},
      {"empty", "", false},
  };
  for (const Case& c : cases) {
    absl::Status status = ValidateThumbprint(c.thumbprint);
    EXPECT_EQ(status.ok(), c.ok) << c.name << ": " << status;
    if (!c.ok) {
      EXPECT_THAT(status.message(), HasSubstr("key thumbprint")) << c.name;
    }
  }
}

struct FakeConn {
  int id;
};

TEST(AccountStorePoolTest, ReusesConnectionsAndBoundsTheirNumber) {
  std::atomic<int> opened{0};
  AccountStorePool<FakeConn> pool(2, [&]() -> absl::StatusOr<std::unique_ptr<FakeConn>> {
    return std::make_unique<FakeConn>(FakeConn{opened++});
  });
  {
    auto a = pool.Acquire(absl::Milliseconds(10));
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(a->fresh());
  }
  {
    auto again = pool.Acquire(absl::Milliseconds(10));
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->fresh());  // The idle one, not a new one.
    EXPECT_EQ((*again)->id, 0);
    auto second = pool.Acquire(absl::Milliseconds(10));
    ASSERT_TRUE(second.ok());
    // Both are leased: a third waits, then fails.
    const absl::Time start = absl::Now();
    auto third = pool.Acquire(absl::Milliseconds(100));
    EXPECT_EQ(third.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(third.status().message(), HasSubstr("all 2 connections stayed busy"));
    EXPECT_GE(absl::Now() - start, absl::Milliseconds(90));
  }
  EXPECT_EQ(opened.load(), 2);
}

TEST(AccountStorePoolTest, AWaiterGetsAReturnedConnection) {
  AccountStorePool<FakeConn> pool(1, []() -> absl::StatusOr<std::unique_ptr<FakeConn>> {
    return std::make_unique<FakeConn>(FakeConn{7});
  });
  auto held = pool.Acquire(absl::Milliseconds(10));
  ASSERT_TRUE(held.ok());
  absl::Notification waiting;
  absl::StatusOr<int> got = absl::UnknownError("not run");
  std::thread waiter([&] {
    waiting.Notify();
    auto lease = pool.Acquire(absl::Seconds(10));
    got = lease.ok() ? absl::StatusOr<int>((*lease)->id) : lease.status();
  });
  waiting.WaitForNotification();
  { auto release = std::move(*held); }
  waiter.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 7);
}

TEST(AccountStorePoolTest, DiscardAndFailedConnectsFreeTheirSlot) {
  int attempts = 0;
  AccountStorePool<FakeConn> pool(1, [&]() -> absl::StatusOr<std::unique_ptr<FakeConn>> {
    if (++attempts == 2) return absl::UnavailableError("refused");
    return std::make_unique<FakeConn>(FakeConn{attempts});
  });
  {
    auto first = pool.Acquire(absl::Milliseconds(10));
    ASSERT_TRUE(first.ok());
    first->Discard();  // Broken: dropped, not returned.
  }
  auto refused = pool.Acquire(absl::Milliseconds(10));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("refused"));
  auto third = pool.Acquire(absl::Milliseconds(10));
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE(third->fresh());
  EXPECT_EQ((*third)->id, 3);
}

}  // namespace
}  // namespace vantage::va
