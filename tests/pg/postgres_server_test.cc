#include "tests/pg/postgres_server.h"

#include <postgresql/libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::pg {
namespace {

using ::testing::HasSubstr;

struct ConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;

// QueryOne connects to `uri` and returns the single value of `sql`, or the
// connection/query error text prefixed with "error: ".
std::string QueryOne(const std::string& uri, const std::string& sql) {
  Conn conn(PQconnectdb(uri.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::StrCat("error: ", PQerrorMessage(conn.get()));
  }
  PGresult* result = PQexec(conn.get(), sql.c_str());
  std::string out = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1
                        ? PQgetvalue(result, 0, 0)
                        : absl::StrCat("error: ", PQresultErrorMessage(result));
  PQclear(result);
  return out;
}

class PostgresServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static PostgresServer* server_;
};
PostgresServer* PostgresServerTest::server_ = nullptr;

TEST_F(PostgresServerTest, ServesTheVantageDatabaseOverTcpWithThePassword) {
  EXPECT_THAT(server_->uri(), HasSubstr("@127.0.0.1:"));
  EXPECT_EQ(QueryOne(server_->uri(), "SELECT current_user"), "vantage");
  EXPECT_EQ(QueryOne(server_->uri(), "SELECT current_database()"), "vantage");
  EXPECT_EQ(QueryOne(server_->uri(), "SHOW server_version_num").substr(0, 2), "15");
}

TEST_F(PostgresServerTest, RefusesAWrongPassword) {
  const std::string bad = absl::StrReplaceAll(
      server_->uri(), {{server_->password(), "wrong-password"}});
  EXPECT_THAT(QueryOne(bad, "SELECT 1"),
              HasSubstr("password authentication failed"));
}

TEST_F(PostgresServerTest, CreatesDatabasesOwnedByTheRole) {
  auto uri = server_->CreateDatabase("harness_case");
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ(QueryOne(*uri, "SELECT current_database()"), "harness_case");
  EXPECT_EQ(QueryOne(*uri,
                     "SELECT pg_get_userbyid(datdba) FROM pg_database "
                     "WHERE datname = current_database()"),
            "vantage");
  EXPECT_EQ(server_->CreateDatabase("Bad-Name").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PostgresServerTest, StopRefusesConnectionsAndRestartKeepsData) {
  ASSERT_TRUE(server_->ExecAsAdmin("vantage", "CREATE TABLE kept (v int); "
                                              "INSERT INTO kept VALUES (42); "
                                              "GRANT SELECT ON kept TO vantage")
                  .ok());
  ASSERT_TRUE(server_->Stop().ok());
  EXPECT_FALSE(server_->running());
  EXPECT_THAT(QueryOne(server_->uri(), "SELECT 1"), HasSubstr("error: "));
  ASSERT_TRUE(server_->Restart().ok()) << server_->Log();
  EXPECT_EQ(QueryOne(server_->uri(), "SELECT v FROM kept"), "42");
}

TEST(PostgresServerLifetimeTest, DestructorStopsTheServerAndRemovesItsFiles) {
  auto server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string uri = (*server)->uri();
  const std::string conninfo = (*server)->AdminConnInfo();
  EXPECT_EQ(QueryOne(uri, "SELECT 1"), "1");
  const std::string dir = conninfo.substr(5, conninfo.find(' ') - 5);
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0) << dir;
  server->reset();
  EXPECT_THAT(QueryOne(uri, "SELECT 1"), HasSubstr("error: "));
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " still exists";
}

TEST(PostgresServerOptionsTest, ATakenPortIsReplacedByAFreeOne) {
  // Hold a port, as a parallel test might between the harness picking it and
  // postgres binding it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  PostgresServer::Options options;
  options.port = ntohs(addr.sin_port);
  auto server = PostgresServer::Start(options);
  close(fd);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_NE((*server)->port(), options.port);
  EXPECT_EQ(QueryOne((*server)->uri(), "SELECT 1"), "1");
  EXPECT_THAT((*server)->Log(), HasSubstr("Address already in use"));
}

TEST(PostgresServerOptionsTest, MissingBinariesGiveAClearError) {
  PostgresServer::Options options;
  options.bin_dir = "/nonexistent/postgresql/bin";
  auto server = PostgresServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(), HasSubstr("install Debian's postgresql"));
}

}  // namespace
}  // namespace vantage::pg
