#include "va/account_store_factory.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "va/account_store_testing.h"

namespace vantage::va {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::vantage::va::testing::TestKey;

std::string TempPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/factory_", counter++, "_", name);
}

// ClosedLoopbackPort returns a port on 127.0.0.1 that nothing listens on.
int ClosedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(OpenAccountStoreTest, SqliteLocationsOpenAWorkingStoreAtThatPath) {
  const std::string prefixed = TempPath("prefixed.db");
  const std::string bare = TempPath("bare.db");
  struct Case {
    const char* name;
    std::string location;
    std::string file;
  };
  const Case cases[] = {
      {"sqlite: prefix", "sqlite:" + prefixed, prefixed},
      {"bare path", bare, bare},
  };
  for (const Case& c : cases) {
    auto store = OpenAccountStore(c.location, StoreOptions());
    ASSERT_TRUE(store.ok()) << c.name << ": " << store.status();
    ASSERT_TRUE((*store)->Add("https://ca.example/acct/1", TestKey(1)).ok()) << c.name;
    EXPECT_TRUE((*store)->Lookup("https://ca.example/acct/1").ok()) << c.name;
    struct stat st;
    EXPECT_EQ(stat(c.file.c_str(), &st), 0) << c.name << ": no file at " << c.file;
  }
}

TEST(OpenAccountStoreTest, BadLocationsAreInvalidArgument) {
  struct Case {
    const char* name;
    const char* location;
    const char* message;
  };
  const Case cases[] = {
      {"empty", "", "location is empty"},
      {"sqlite without a path", "sqlite:", "names no file"},
      {"unknown scheme", "mysql://va:Hush123@db/accounts", "unknown scheme"},
  };
  for (const Case& c : cases) {
    absl::Status status = OpenAccountStore(c.location, StoreOptions()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.name;
    EXPECT_THAT(status.message(), Not(HasSubstr("Hush123"))) << c.name;
  }
}

TEST(OpenAccountStoreTest, OptionsReachTheStore) {
  StoreOptions options;
  options.max_connections = 0;
  EXPECT_THAT(OpenAccountStore(TempPath("opts.db"), options).status().message(),
              HasSubstr("max_connections"));
  EXPECT_THAT(OpenAccountStore("postgresql://va@127.0.0.1/db", options).status().message(),
              HasSubstr("max_connections"));
}

TEST(OpenAccountStoreTest, UnreachablePostgresIsUnavailableQuicklyWithThePasswordRedacted) {
  for (const char* scheme : {"postgresql", "postgres"}) {
    const std::string location = absl::StrCat(scheme, "://vantage:TopSecret7@127.0.0.1:",
                                              ClosedLoopbackPort(), "/accounts");
    const absl::Time start = absl::Now();
    absl::Status status = OpenAccountStore(location, StoreOptions()).status();
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << scheme;
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << scheme << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr("vantage:REDACTED@127.0.0.1")) << scheme;
    EXPECT_THAT(status.message(), Not(HasSubstr("TopSecret7"))) << scheme;
  }
}

TEST(RedactAccountStoreLocationTest, OnlyUrisAreRewritten) {
  struct Case {
    const char* name;
    const char* location;
    const char* want;
  };
  const Case cases[] = {
      {"sqlite", "sqlite:/var/lib/vantage/accounts.db", "sqlite:/var/lib/vantage/accounts.db"},
      {"bare path", "accounts.db", "accounts.db"},
      {"postgres", "postgresql://va:pw@db/a", "postgresql://va:REDACTED@db/a"},
      {"unknown scheme", "mysql://va:pw@db/a", "mysql://va:REDACTED@db/a"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RedactAccountStoreLocation(c.location), c.want) << c.name;
  }
}

}  // namespace
}  // namespace vantage::va
