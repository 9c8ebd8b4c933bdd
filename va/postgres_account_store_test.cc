#include "va/postgres_account_store.h"

#include <netinet/in.h>
#include <postgresql/libpq-fe.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/pg/postgres_server.h"
#include "va/account_store_testing.h"

namespace vantage::va {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::vantage::va::testing::TestKey;

constexpr char kUrl[] = "https://ca.example/acct/1";

TEST(RedactPostgresUriTest, HidesThePasswordEverywhere) {
  struct Case {
    const char* name;
    const char* uri;
    const char* want;
  };
  const Case cases[] = {
      {"user and password", "postgresql://va:s3cret@db.example:5432/accounts",
       "postgresql://va:REDACTED@db.example:5432/accounts"},
      {"postgres scheme", "postgres://va:s3cret@db/accounts",
       "postgres://va:REDACTED@db/accounts"},
      {"no password", "postgresql://va@db/accounts", "postgresql://va@db/accounts"},
      {"no user info", "postgresql://db/accounts?sslmode=verify-full",
       "postgresql://db/accounts?sslmode=verify-full"},
      {"password parameter", "postgresql://db/accounts?sslmode=require&password=s3cret",
       "postgresql://db/accounts?sslmode=require&password=REDACTED"},
      {"password parameter, other case", "postgresql://db/a?PassWord=s3cret",
       "postgresql://db/a?password=REDACTED"},
      {"password with a raw @", "postgresql://va:s3@cret@db/accounts",
       "postgresql://va:REDACTED@db/accounts"},
      {"password with a raw /", "postgresql://va:s3/cret@db/accounts",
       "postgresql://va:REDACTED@db/accounts"},
      {"percent-encoded password", "postgresql://va:s3%40cret@db/accounts",
       "postgresql://va:REDACTED@db/accounts"},
      {"empty password", "postgresql://va:@db/accounts", "postgresql://va:REDACTED@db/accounts"},
      {"not a URI", "host=db password=s3cret", "REDACTED"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RedactPostgresUri(c.uri), c.want) << c.name;
  }
}

struct ConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};

class PostgresAccountStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = pg::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << "cannot start PostgreSQL for the test: " << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    if (!server_->running()) {
      ASSERT_TRUE(server_->Restart().ok()) << server_->Log();
    }
    static std::atomic<int> counter{0};
    database_ = absl::StrCat("case_pg_", counter++);
    auto uri = server_->CreateDatabase(database_);
    ASSERT_TRUE(uri.ok()) << uri.status();
    uri_ = *uri;
  }

  PostgresAccountStore::Options Options() const {
    PostgresAccountStore::Options options;
    options.uri = uri_;
    options.connect_timeout = absl::Seconds(1);
    options.query_timeout = absl::Milliseconds(500);
    return options;
  }

  absl::StatusOr<std::unique_ptr<PostgresAccountStore>> Open() {
    return PostgresAccountStore::Create(Options());
  }

  // ExpectFailsClosed checks a failure status: code, bounded time, and no
  // password in the message.
  void ExpectFails(const char* name, absl::StatusCode code,
                   const std::function<absl::Status()>& call, absl::Duration within) {
    const absl::Time start = absl::Now();
    absl::Status status = call();
    const absl::Duration took = absl::Now() - start;
    EXPECT_EQ(status.code(), code) << name << ": " << status;
    EXPECT_LT(took, within) << name;
    EXPECT_THAT(status.message(), Not(HasSubstr(server_->password()))) << name;
  }

  static pg::PostgresServer* server_;
  std::string database_;
  std::string uri_;
};
pg::PostgresServer* PostgresAccountStoreTest::server_ = nullptr;

TEST_F(PostgresAccountStoreTest, CreatesTheSchemaOnFirstUse) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Add(kUrl, TestKey(1)).ok());
  std::unique_ptr<PGconn, ConnCloser> admin(
      PQconnectdb(server_->AdminConnInfo(database_).c_str()));
  PGresult* result = PQexec(
      admin.get(),
      "SELECT (SELECT string_agg(version::text, ',') FROM schema_version), "
      "(SELECT data_type FROM information_schema.columns WHERE "
      "table_name = 'account_keys' AND column_name = 'added_at')");
  ASSERT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQresultErrorMessage(result);
  EXPECT_STREQ(PQgetvalue(result, 0, 0), "1");
  EXPECT_STREQ(PQgetvalue(result, 0, 1), "timestamp with time zone");
  PQclear(result);
}

TEST_F(PostgresAccountStoreTest, ConcurrentFirstOpensAgreeOnTheSchema) {
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(6);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = Open().status(); });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& status : results) EXPECT_TRUE(status.ok()) << status;
  std::unique_ptr<PGconn, ConnCloser> admin(
      PQconnectdb(server_->AdminConnInfo(database_).c_str()));
  PGresult* result = PQexec(admin.get(), "SELECT count(*) FROM schema_version");
  EXPECT_STREQ(PQgetvalue(result, 0, 0), "1");
  PQclear(result);
}

TEST_F(PostgresAccountStoreTest, StoppedServerIsUnavailableQuicklyAndRestartedServerWorks) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Add(kUrl, TestKey(1)).ok());
  ASSERT_TRUE((*store)->Lookup(kUrl).ok());

  ASSERT_TRUE(server_->Stop().ok());
  auto restart = absl::MakeCleanup([] {
    if (!server_->running()) (void)server_->Restart();
  });
  // Fail closed, fast: the first call finds its pooled connection dead, the
  // retry is refused; later calls are refused at connect.
  for (int i = 0; i < 3; ++i) {
    ExpectFails("lookup while stopped", absl::StatusCode::kUnavailable,
                [&] { return (*store)->Lookup(kUrl).status(); }, absl::Seconds(2));
  }
  ExpectFails("deactivate while stopped", absl::StatusCode::kUnavailable,
              [&] { return (*store)->SetStatus(kUrl, AccountStatus::kDeactivated); },
              absl::Seconds(2));
  absl::Status status = (*store)->Lookup(kUrl).status();
  EXPECT_THAT(status.message(), HasSubstr("REDACTED"));
  EXPECT_THAT(status.message(), HasSubstr("cannot connect"));

  ASSERT_TRUE(server_->Restart().ok()) << server_->Log();
  // The same store object works again: no VA restart.
  absl::StatusOr<Account> account = (*store)->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->status, AccountStatus::kValid);
  ASSERT_TRUE((*store)->SetStatus(kUrl, AccountStatus::kDeactivated).ok());
  account = (*store)->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->status, AccountStatus::kDeactivated);
}

TEST_F(PostgresAccountStoreTest, PooledConnectionsFromBeforeARestartAreReplaced) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Add(kUrl, TestKey(1)).ok());
  // Warm several pooled connections.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) (void)(*store)->Lookup(kUrl);
    });
  }
  for (std::thread& t : threads) t.join();
  // Restart with no call in between: every pooled connection is now dead.
  ASSERT_TRUE(server_->Stop().ok());
  ASSERT_TRUE(server_->Restart().ok()) << server_->Log();
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<Account> account = (*store)->Lookup(kUrl);
    EXPECT_TRUE(account.ok()) << "lookup " << i << ": " << account.status();
  }
  EXPECT_TRUE((*store)->RotateKey(kUrl, TestKey(2)).ok());
}

TEST_F(PostgresAccountStoreTest, AServerThatNeverAnswersTimesOutAtConnect) {
  // A listening socket nobody serves: the kernel completes the TCP handshake,
  // then nothing ever answers libpq's startup packet.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  auto close_fd = absl::MakeCleanup([fd] { close(fd); });
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  PostgresAccountStore::Options options = Options();
  options.uri = absl::StrCat("postgresql://vantage:Hush-", server_->password(),
                             "@127.0.0.1:", ntohs(addr.sin_port), "/vantage");
  options.connect_timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::Status status = PostgresAccountStore::Create(options).status();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("300ms connect timeout"));
  EXPECT_THAT(status.message(), Not(HasSubstr(server_->password())));
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(2));
}

TEST_F(PostgresAccountStoreTest, AWrongPasswordIsUnavailableAndNeverEchoed) {
  PostgresAccountStore::Options options = Options();
  options.uri = absl::StrReplaceAll(uri_, {{server_->password(), "Wrong-Secret-42"}});
  absl::Status status = PostgresAccountStore::Create(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("password authentication failed"));
  EXPECT_THAT(status.message(), HasSubstr("vantage:REDACTED@127.0.0.1"));
  EXPECT_THAT(status.message(), Not(HasSubstr("Wrong-Secret-42")));
}

TEST_F(PostgresAccountStoreTest, BadOptionsAreInvalidArgumentWithoutThePassword) {
  struct Case {
    const char* name;
    std::function<void(PostgresAccountStore::Options&)> edit;
    const char* message;
  };
  const Case cases[] = {
      {"unparsable URI",
       [](auto& o) { o.uri = "postgresql://vantage:Sek%zzRet@127.0.0.1/vantage"; },
       "not a valid libpq connection URI"},
      {"other scheme", [](auto& o) { o.uri = "mysql://vantage:SekRet@127.0.0.1/vantage"; },
       "does not start with postgresql://"},
      {"zero connect timeout", [](auto& o) { o.connect_timeout = absl::ZeroDuration(); },
       "connect_timeout"},
      {"zero query timeout", [](auto& o) { o.query_timeout = absl::ZeroDuration(); },
       "query_timeout"},
      {"no connections", [](auto& o) { o.max_connections = 0; }, "max_connections"},
  };
  for (const Case& c : cases) {
    PostgresAccountStore::Options options = Options();
    c.edit(options);
    absl::Status status = PostgresAccountStore::Create(options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.name;
    EXPECT_THAT(status.message(), Not(HasSubstr("Sek"))) << c.name;
  }
}

TEST_F(PostgresAccountStoreTest, ALockedTableIsUnavailableWithinTheQueryTimeout) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Add(kUrl, TestKey(1)).ok());
  // An administrator (or a migration) holds an exclusive lock on accounts.
  std::unique_ptr<PGconn, ConnCloser> admin(
      PQconnectdb(server_->AdminConnInfo(database_).c_str()));
  PGresult* locked =
      PQexec(admin.get(), "BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
  ASSERT_EQ(PQresultStatus(locked), PGRES_COMMAND_OK) << PQresultErrorMessage(locked);
  PQclear(locked);
  ExpectFails("lookup", absl::StatusCode::kUnavailable,
              [&] { return (*store)->Lookup(kUrl).status(); }, absl::Seconds(2));
  ExpectFails("deactivate", absl::StatusCode::kUnavailable,
              [&] { return (*store)->SetStatus(kUrl, AccountStatus::kDeactivated); },
              absl::Seconds(2));
  PQclear(PQexec(admin.get(), "ROLLBACK"));
  // The connections survived the server-side timeouts and work again.
  absl::StatusOr<Account> account = (*store)->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->status, AccountStatus::kValid);
}

TEST_F(PostgresAccountStoreTest, AReadOnlyReplicaRoleCanLookUpButNotWrite) {
  {
    auto owner = Open();  // Creates the schema as the owning role.
    ASSERT_TRUE(owner.ok()) << owner.status();
    ASSERT_TRUE((*owner)->Add(kUrl, TestKey(1)).ok());
  }
  const std::string role = database_ + "_reader";
  absl::Status granted = server_->ExecAsAdmin(
      database_, absl::StrCat("CREATE ROLE ", role,
                              " LOGIN PASSWORD 'ReaderPw1'; GRANT SELECT ON ALL "
                              "TABLES IN SCHEMA public TO ",
                              role));
  ASSERT_TRUE(granted.ok()) << granted;
  PostgresAccountStore::Options options = Options();
  options.uri = absl::StrCat("postgresql://", role, ":ReaderPw1@127.0.0.1:", server_->port(),
                             "/", database_);
  auto reader = PostgresAccountStore::Create(options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<Account> account = (*reader)->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  absl::Status write = (*reader)->SetStatus(kUrl, AccountStatus::kDeactivated);
  EXPECT_EQ(write.code(), absl::StatusCode::kPermissionDenied) << write;
  EXPECT_THAT(write.message(), Not(HasSubstr("ReaderPw1")));
}

TEST_F(PostgresAccountStoreTest, RefusesANewerSchemaVersion) {
  ASSERT_TRUE(Open().ok());
  ASSERT_TRUE(server_->ExecAsAdmin(database_, "UPDATE schema_version SET version = 2").ok());
  absl::Status status = Open().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("schema version 2"));
}

}  // namespace
}  // namespace vantage::va
