#include "va/sqlite_account_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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
using ::vantage::va::testing::TestKey;

constexpr char kUrl[] = "https://ca.example/acct/1";

std::string TempPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", counter++, "_", name);
}

absl::StatusOr<std::unique_ptr<SqliteAccountStore>> Open(const std::string& path) {
  SqliteAccountStore::Options options;
  options.path = path;
  return SqliteAccountStore::Create(options);
}

// RawDb is a plain sqlite3 connection beside the store, as another process
// (sqlite3 CLI, a second vantagectl) would hold.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawDb() { sqlite3_close(db_); }
  // Exec returns "" or SQLite's error message.
  std::string Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK) return "";
    std::string message = error != nullptr ? error : "error";
    sqlite3_free(error);
    return message;
  }
  // Query returns the first column of the first row as text ("" for none).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqliteAccountStoreTest, CreatesTheFileAndSchemaOnFirstUse) {
  const std::string path = TempPath("new.db");
  struct stat st;
  ASSERT_NE(stat(path.c_str(), &st), 0);
  auto store = Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_EQ(stat(path.c_str(), &st), 0) << "file not created";
  RawDb raw(path);
  EXPECT_EQ(raw.Query("SELECT version FROM schema_version"), "1");
  EXPECT_EQ(raw.Query("SELECT count(*) FROM schema_version"), "1");
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
  for (const char* table : {"accounts", "account_keys"}) {
    EXPECT_EQ(raw.Query(absl::StrCat("SELECT count(*) FROM sqlite_schema WHERE "
                                     "type = 'table' AND name = '",
                                     table, "'")),
              "1")
        << table;
  }
  // A second open neither duplicates the version row nor fails.
  auto again = Open(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(raw.Query("SELECT count(*) FROM schema_version"), "1");
}

TEST(SqliteAccountStoreTest, WithoutCreateIfMissingAMissingFileIsNotFound) {
  const std::string path = TempPath("missing.db");
  SqliteAccountStore::Options options;
  options.path = path;
  options.create_if_missing = false;
  auto store = SqliteAccountStore::Create(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0) << "the file was created";
  ASSERT_TRUE(Open(path).ok());  // Created by a store that may create it,
  EXPECT_TRUE(SqliteAccountStore::Create(options).ok());  // then found.
}

TEST(SqliteAccountStoreTest, SchemaChecksRejectBadRowsWrittenBehindTheStore) {
  const std::string path = TempPath("checks.db");
  auto store = Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  RawDb raw(path);
  struct Case {
    const char* name;
    const char* sql;
    const char* error;
  };
  const Case cases[] = {
      {"unknown status",
       "INSERT INTO accounts (url, status, created_at) VALUES ('u1', 'banned', 0)",
       "CHECK constraint failed"},
      {"thumbprint with padding",
       "INSERT INTO accounts (id, url, status, created_at) VALUES (7, 'u2', 'valid', 0);"
       "INSERT INTO account_keys (account_id, thumbprint, jwk, added_at) VALUES "
       "(7, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', '{}', 0)",
       "CHECK constraint failed"},
      {"time as text",
       "INSERT INTO accounts (url, status, created_at) VALUES ('u3', 'valid', 'now')",
       "cannot store TEXT value in INTEGER column"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(raw.Exec(absl::StrCat("BEGIN; ", c.sql, "; COMMIT")), HasSubstr(c.error))
        << c.name;
    raw.Exec("ROLLBACK");
  }
}

TEST(SqliteAccountStoreTest, FilesThatCannotBeOpenedGiveAClearError) {
  const std::string dir = TempPath("a_directory");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  struct Case {
    const char* name;
    std::string path;
    absl::StatusCode want;
  };
  const Case cases[] = {
      {"missing parent directory", TempPath("missing/dir/accounts.db"),
       absl::StatusCode::kUnavailable},
      {"a directory", dir, absl::StatusCode::kUnavailable},
      {"empty path", "", absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    auto store = Open(c.path);
    ASSERT_FALSE(store.ok()) << c.name;
    EXPECT_EQ(store.status().code(), c.want) << c.name << ": " << store.status();
    if (!c.path.empty()) {
      EXPECT_THAT(store.status().message(), HasSubstr(c.path)) << c.name;
    }
  }
}

TEST(SqliteAccountStoreTest, CorruptFilesAreDataLossNamingThePath) {
  // A file that is not a database at all.
  const std::string garbage = TempPath("garbage.db");
  {
    std::ofstream out(garbage, std::ios::binary);
    for (int i = 0; i < 200; ++i) out << "this is not an SQLite database\n";
  }
  auto store = Open(garbage);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(garbage));
  EXPECT_THAT(store.status().message(), HasSubstr("not a database"));

  // A real store whose pages were overwritten after it was written.
  const std::string damaged = TempPath("damaged.db");
  {
    auto good = Open(damaged);
    ASSERT_TRUE(good.ok()) << good.status();
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE((*good)->Add(absl::StrCat(kUrl, "/", i), TestKey(i)).ok());
    }
  }
  {
    RawDb raw(damaged);
    ASSERT_EQ(raw.Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "");
  }
  {
    std::fstream file(damaged, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(4096);  // The start of page 2 (after the header page).
    for (int i = 0; i < 3 * 4096; ++i) file.put('\xff');
  }
  auto reopened = Open(damaged);
  absl::Status status = reopened.ok() ? (*reopened)->Lookup(absl::StrCat(kUrl, "/7")).status()
                                      : reopened.status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr(damaged));
}

TEST(SqliteAccountStoreTest, RefusesANewerSchemaVersion) {
  const std::string path = TempPath("newer.db");
  ASSERT_TRUE(Open(path).ok());
  ASSERT_EQ(RawDb(path).Exec("UPDATE schema_version SET version = 2"), "");
  auto store = Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 2"));
}

// ExpectUnavailableWithinBusyTimeout runs `call` and checks it fails with
// UNAVAILABLE after waiting about `busy_timeout` (not at once, not forever).
void ExpectUnavailableWithinBusyTimeout(const char* name,
                                        const std::function<absl::Status()>& call,
                                        absl::Duration busy_timeout,
                                        const std::string& path) {
  const absl::Time start = absl::Now();
  absl::Status status = call();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << name << ": " << status;
  EXPECT_THAT(status.message(), HasSubstr("busy timeout")) << name;
  EXPECT_THAT(status.message(), HasSubstr(path)) << name;
  EXPECT_GE(took, busy_timeout * 0.8) << name << " did not wait for the lock";
  EXPECT_LT(took, busy_timeout + absl::Seconds(3)) << name << " waited far too long";
}

TEST(SqliteAccountStoreTest, WritesWaitForAnotherWriterOnlyUpToTheBusyTimeout) {
  const std::string path = TempPath("write_locked.db");
  SqliteAccountStore::Options options;
  options.path = path;
  options.busy_timeout = absl::Milliseconds(300);
  auto store = SqliteAccountStore::Create(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Add(kUrl, TestKey(1)).ok());

  // Another process (say a second vantagectl) holds the write lock with an
  // uncommitted deactivation.
  RawDb writer(path);
  ASSERT_EQ(writer.Exec("BEGIN IMMEDIATE; UPDATE accounts SET status = 'deactivated'"), "");
  struct Case {
    const char* name;
    std::function<absl::Status()> call;
  };
  const Case cases[] = {
      {"add", [&] { return (*store)->Add("https://ca.example/acct/2", TestKey(2)); }},
      {"rotate", [&] { return (*store)->RotateKey(kUrl, TestKey(3)); }},
      {"revoke", [&] { return (*store)->SetStatus(kUrl, AccountStatus::kRevoked); }},
  };
  for (const Case& c : cases) {
    ExpectUnavailableWithinBusyTimeout(c.name, c.call, options.busy_timeout, path);
  }
  // WAL: a Lookup does not wait for the writer and sees the committed state.
  const absl::Time start = absl::Now();
  absl::StatusOr<Account> during = (*store)->Lookup(kUrl);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(200));
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->status, AccountStatus::kValid);
  // Once committed, the very next Lookup sees it.
  ASSERT_EQ(writer.Exec("COMMIT"), "");
  absl::StatusOr<Account> after = (*store)->Lookup(kUrl);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->status, AccountStatus::kDeactivated);
}

TEST(SqliteAccountStoreTest, AnExclusivelyLockedFileIsUnavailableWithinTheBusyTimeout) {
  const std::string path = TempPath("exclusive.db");
  ASSERT_TRUE(Open(path).ok());  // Creates the file and schema, then closes.
  // Another process takes the whole file (exclusive locking mode keeps the
  // lock after its write commits).
  RawDb locker(path);
  ASSERT_EQ(locker.Exec("PRAGMA locking_mode = EXCLUSIVE; "
                        "UPDATE schema_version SET version = version"),
            "");
  SqliteAccountStore::Options options;
  options.path = path;
  options.busy_timeout = absl::Milliseconds(300);
  ExpectUnavailableWithinBusyTimeout(
      "open", [&] { return SqliteAccountStore::Create(options).status(); },
      options.busy_timeout, path);
}

TEST(SqliteAccountStoreTest, InvalidOptionsNameTheOption) {
  struct Case {
    const char* name;
    SqliteAccountStore::Options options;
    const char* message;
  };
  SqliteAccountStore::Options base;
  base.path = TempPath("options.db");
  std::vector<Case> cases;
  cases.push_back({"zero busy timeout", base, "busy_timeout"});
  cases.back().options.busy_timeout = absl::ZeroDuration();
  cases.push_back({"zero connections", base, "max_connections"});
  cases.back().options.max_connections = 0;
  cases.push_back({"too many connections", base, "max_connections"});
  cases.back().options.max_connections = 1000;
  for (const Case& c : cases) {
    auto store = SqliteAccountStore::Create(c.options);
    ASSERT_FALSE(store.ok()) << c.name;
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(store.status().message(), HasSubstr(c.message)) << c.name;
  }
}

TEST(SqliteAccountStoreTest, OneConnectionServesManyThreads) {
  SqliteAccountStore::Options options;
  options.path = TempPath("one_connection.db");
  options.max_connections = 1;
  auto store = SqliteAccountStore::Create(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Add(kUrl, TestKey(1)).ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if ((*store)->Lookup(kUrl).ok()) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8 * 200);
}

}  // namespace
}  // namespace vantage::va
