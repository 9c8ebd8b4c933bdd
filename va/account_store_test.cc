// The same cases against both AccountStore implementations: SQLite (a real
// file in TEST_TMPDIR) and PostgreSQL (a real server from //tests/pg), both
// opened through OpenAccountStore as the VA and vantagectl open them.
#include "va/account_store.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/account_hash.h"
#include "tests/pg/postgres_server.h"
#include "va/account_store_factory.h"
#include "va/account_store_testing.h"

namespace vantage::va {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::vantage::va::testing::TestKey;
using ::vantage::va::testing::TestThumbprint;
using ::vantage::va::testing::TestTime;

constexpr char kUrl[] = "https://ca.example/acct/123";

enum class Backend { kSqlite, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kSqlite:
      return "Sqlite";
    case Backend::kPostgres:
      return "Postgres";
  }
  return "Unknown";
}

// PostgresEnvironment starts one PostgreSQL server for the whole test binary,
// on first use, and stops it (removing its files) after the last test.
class PostgresEnvironment : public ::testing::Environment {
 public:
  absl::StatusOr<pg::PostgresServer*> Get() {
    if (!server_.has_value()) server_ = pg::PostgresServer::Start();
    if (!server_->ok()) return server_->status();
    return server_->value().get();
  }
  void TearDown() override { server_.reset(); }

 private:
  std::optional<absl::StatusOr<std::unique_ptr<pg::PostgresServer>>> server_;
};

PostgresEnvironment* const postgres_environment = static_cast<PostgresEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment()));

absl::StatusOr<pg::PostgresServer*> SharedPostgres() { return postgres_environment->Get(); }

std::vector<std::string> Thumbprints(const Account& account) {
  std::vector<std::string> out;
  for (const AccountKey& key : account.keys) out.push_back(key.thumbprint);
  return out;
}

class AccountStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    const int n = counter++;
    switch (GetParam()) {
      case Backend::kSqlite:
        sqlite_path_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/case_", n, ".db");
        location_ = "sqlite:" + sqlite_path_;
        break;
      case Backend::kPostgres: {
        absl::StatusOr<pg::PostgresServer*> server = SharedPostgres();
        ASSERT_TRUE(server.ok()) << "cannot start PostgreSQL for the test: "
                                 << server.status();
        pg_ = *server;
        database_ = absl::StrCat("case_", n);
        absl::StatusOr<std::string> uri = pg_->CreateDatabase(database_);
        ASSERT_TRUE(uri.ok()) << uri.status();
        location_ = *uri;
        break;
      }
    }
    absl::StatusOr<std::unique_ptr<AccountStore>> store = Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  absl::StatusOr<std::unique_ptr<AccountStore>> Open() {
    return OpenAccountStore(location_, StoreOptions());
  }

  // ExecRaw runs SQL on the database behind the store, bypassing it (to
  // break invariants the store itself never breaks).
  absl::Status ExecRaw(const std::string& sql) {
    switch (GetParam()) {
      case Backend::kSqlite: {
        sqlite3* db = nullptr;
        int rc = sqlite3_open(sqlite_path_.c_str(), &db);
        if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
        std::string message = sqlite3_errmsg(db);
        sqlite3_close(db);
        return rc == SQLITE_OK ? absl::OkStatus() : absl::InternalError(message);
      }
      case Backend::kPostgres:
        return pg_->ExecAsAdmin(database_, sql);
    }
    return absl::InternalError("unknown backend");
  }

  std::string location_;
  std::string sqlite_path_;
  pg::PostgresServer* pg_ = nullptr;
  std::string database_;
  std::unique_ptr<AccountStore> store_;
};

TEST_P(AccountStoreTest, AddThenLookupReturnsTheAccountAndItsKey) {
  ASSERT_TRUE(store_->Add(kUrl, TestKey(1)).ok());
  absl::StatusOr<Account> account = store_->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->url, kUrl);
  EXPECT_EQ(account->status, AccountStatus::kValid);
  EXPECT_EQ(account->created_at, TestTime(1));
  ASSERT_EQ(account->keys.size(), 1u);
  EXPECT_EQ(account->keys[0].thumbprint, TestThumbprint(1));
  EXPECT_EQ(account->keys[0].jwk, TestKey(1).jwk);
  EXPECT_EQ(account->keys[0].added_at, TestTime(1));
  EXPECT_EQ(account->keys[0].retired_at, absl::InfiniteFuture());
}

TEST_P(AccountStoreTest, KeysComeCurrentFirstThenMostRecentlyRetired) {
  ASSERT_TRUE(store_->Add(kUrl, TestKey(1)).ok());
  ASSERT_TRUE(store_->RotateKey(kUrl, TestKey(2)).ok());
  ASSERT_TRUE(store_->RotateKey(kUrl, TestKey(3)).ok());
  absl::StatusOr<Account> account = store_->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_THAT(Thumbprints(*account),
              ElementsAre(TestThumbprint(3), TestThumbprint(2), TestThumbprint(1)));
  // Each key is retired when the next one is added.
  EXPECT_EQ(account->keys[0].retired_at, absl::InfiniteFuture());
  EXPECT_EQ(account->keys[1].retired_at, TestTime(3));
  EXPECT_EQ(account->keys[2].retired_at, TestTime(2));
  EXPECT_EQ(account->keys[2].added_at, TestTime(1));
  EXPECT_EQ(account->created_at, TestTime(1));
}

TEST_P(AccountStoreTest, TimesKeepMicrosecondsAndDropNanoseconds) {
  AccountKey key = TestKey(1);
  key.added_at = TestTime(1) + absl::Microseconds(123456) + absl::Nanoseconds(789);
  ASSERT_TRUE(store_->Add(kUrl, key).ok());
  absl::StatusOr<Account> account = store_->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->keys[0].added_at, TestTime(1) + absl::Microseconds(123456));
}

TEST_P(AccountStoreTest, KeyConflictsAreAlreadyExists) {
  constexpr char kOther[] = "https://ca.example/acct/456";
  ASSERT_TRUE(store_->Add(kUrl, TestKey(1)).ok());
  ASSERT_TRUE(store_->RotateKey(kUrl, TestKey(2)).ok());
  ASSERT_TRUE(store_->Add(kOther, TestKey(10)).ok());
  struct Case {
    const char* name;
    std::function<absl::Status()> call;
    const char* message;
  };
  const Case cases[] = {
      {"rotate to the retired key", [&] { return store_->RotateKey(kUrl, TestKey(1)); },
       "already had the key"},
      {"rotate to the current key", [&] { return store_->RotateKey(kUrl, TestKey(2)); },
       "already had the key"},
      {"rotate to another account's current key",
       [&] { return store_->RotateKey(kUrl, TestKey(10)); }, "current key of account"},
      {"add with another account's current key",
       [&] { return store_->Add("https://ca.example/acct/789", TestKey(2)); },
       "current key of account"},
      {"add an existing URL", [&] { return store_->Add(kUrl, TestKey(20)); },
       "already exists"},
  };
  for (const Case& c : cases) {
    absl::Status status = c.call();
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << c.name << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.name;
  }
  // Nothing changed.
  absl::StatusOr<Account> account = store_->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_THAT(Thumbprints(*account), ElementsAre(TestThumbprint(2), TestThumbprint(1)));
  EXPECT_EQ(store_->Lookup("https://ca.example/acct/789").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(AccountStoreTest, UnknownAccountIsNotFound) {
  ASSERT_TRUE(store_->Add(kUrl, TestKey(1)).ok());
  constexpr char kUnknown[] = "https://ca.example/acct/999";
  EXPECT_EQ(store_->Lookup(kUnknown).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(store_->Lookup(kUnknown).status().message(), HasSubstr(kUnknown));
  EXPECT_EQ(store_->RotateKey(kUnknown, TestKey(2)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->SetStatus(kUnknown, AccountStatus::kDeactivated).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(AccountStoreTest, UrlsCompareByteForByte) {
  ASSERT_TRUE(store_->Add(kUrl, TestKey(1)).ok());
  struct Case {
    const char* name;
    const char* url;
    absl::StatusCode want;
  };
  const Case cases[] = {
      {"exact", "https://ca.example/acct/123", absl::StatusCode::kOk},
      {"trailing slash", "https://ca.example/acct/123/", absl::StatusCode::kNotFound},
      {"upper-case host", "https://CA.example/acct/123", absl::StatusCode::kNotFound},
      {"upper-case scheme", "HTTPS://ca.example/acct/123", absl::StatusCode::kNotFound},
      {"prefix", "https://ca.example/acct/12", absl::StatusCode::kNotFound},
      {"percent-encoded digit", "https://ca.example/acct/%3123", absl::StatusCode::kNotFound},
      {"default port spelled out", "https://ca.example:443/acct/123",
       absl::StatusCode::kNotFound},
      {"SQL LIKE wildcard", "https://ca.example/acct/12_", absl::StatusCode::kNotFound},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(store_->Lookup(c.url).status().code(), c.want) << c.name;
  }
}

TEST_P(AccountStoreTest, DeactivationIsSeenByTheVeryNextLookup) {
  ASSERT_TRUE(store_->Add(kUrl, TestKey(1)).ok());
  // The VA's store (connections open and warm) and vantagectl's store (a
  // separate opener) are different objects, as in production.
  absl::StatusOr<std::unique_ptr<AccountStore>> va = Open();
  ASSERT_TRUE(va.ok()) << va.status();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Account> before = (*va)->Lookup(kUrl);
    ASSERT_TRUE(before.ok()) << before.status();
    EXPECT_EQ(before->status, AccountStatus::kValid);
  }
  ASSERT_TRUE(store_->SetStatus(kUrl, AccountStatus::kDeactivated).ok());
  absl::StatusOr<Account> after = (*va)->Lookup(kUrl);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->status, AccountStatus::kDeactivated);
  // The keys are still there (an auditor can see which key the account had).
  EXPECT_THAT(Thumbprints(*after), ElementsAre(TestThumbprint(1)));
}

TEST_P(AccountStoreTest, DeactivatedAndRevokedAreFinal) {
  constexpr char kRevoked[] = "https://ca.example/acct/revoked";
  ASSERT_TRUE(store_->Add(kUrl, TestKey(1)).ok());
  ASSERT_TRUE(store_->Add(kRevoked, TestKey(2)).ok());
  ASSERT_TRUE(store_->SetStatus(kUrl, AccountStatus::kDeactivated).ok());
  ASSERT_TRUE(store_->SetStatus(kRevoked, AccountStatus::kRevoked).ok());
  struct Case {
    const char* name;
    std::function<absl::Status()> call;
    absl::StatusCode want;
  };
  const Case cases[] = {
      {"deactivated -> valid",
       [&] { return store_->SetStatus(kUrl, AccountStatus::kValid); },
       absl::StatusCode::kFailedPrecondition},
      {"deactivated -> revoked",
       [&] { return store_->SetStatus(kUrl, AccountStatus::kRevoked); },
       absl::StatusCode::kFailedPrecondition},
      {"deactivated -> deactivated (no-op)",
       [&] { return store_->SetStatus(kUrl, AccountStatus::kDeactivated); },
       absl::StatusCode::kOk},
      {"revoked -> valid",
       [&] { return store_->SetStatus(kRevoked, AccountStatus::kValid); },
       absl::StatusCode::kFailedPrecondition},
      {"rotate a deactivated account", [&] { return store_->RotateKey(kUrl, TestKey(3)); },
       absl::StatusCode::kFailedPrecondition},
      {"rotate a revoked account", [&] { return store_->RotateKey(kRevoked, TestKey(3)); },
       absl::StatusCode::kFailedPrecondition},
  };
  for (const Case& c : cases) {
    absl::Status status = c.call();
    EXPECT_EQ(status.code(), c.want) << c.name << ": " << status;
  }
  absl::StatusOr<Account> account = store_->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->status, AccountStatus::kDeactivated);
  EXPECT_THAT(Thumbprints(*account), ElementsAre(TestThumbprint(1)));
  absl::StatusOr<Account> revoked = store_->Lookup(kRevoked);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->status, AccountStatus::kRevoked);
}

TEST_P(AccountStoreTest, BadInputsAreInvalidArgumentNamingTheField) {
  ASSERT_TRUE(store_->Add(kUrl, TestKey(1)).ok());
  auto with = [](std::function<void(AccountKey&)> edit) {
    AccountKey key = TestKey(50);
    edit(key);
    return key;
  };
  struct Case {
    const char* name;
    std::function<absl::Status()> call;
    const char* field;
  };
  const Case cases[] = {
      {"lookup empty URL", [&] { return store_->Lookup("").status(); }, "account URL is empty"},
      {"add empty URL", [&] { return store_->Add("", TestKey(50)); }, "account URL is empty"},
      {"rotate empty URL", [&] { return store_->RotateKey("", TestKey(50)); },
       "account URL is empty"},
      {"set status empty URL",
       [&] { return store_->SetStatus("", AccountStatus::kDeactivated); },
       "account URL is empty"},
      {"URL with a space",
       [&] { return store_->Lookup("https://ca.example/acct /1").status(); },
       "account URL has byte 0x20"},
      {"URL with a NUL byte",
       [&] { return store_->Lookup(std::string("https://ca.example/\0x", 21)).status(); },
       "account URL has byte 0x00"},
      {"URL with non-ASCII",
       [&] { return store_->Add("https://ca.example/\xc3\xa9", TestKey(50)); },
       "account URL has byte 0xc3"},
      {"URL too long",
       [&] { return store_->Add(std::string(policy::kMaxAccountUrlLength + 1, 'a'), TestKey(50)); },
       "account URL is 2049 bytes"},
      {"thumbprint too short",
       [&] { return store_->Add("https://ca.example/a/2", with([](AccountKey& k) {
                                  k.thumbprint.pop_back();
                                })); },
       "key thumbprint is 42 characters"},
      {"thumbprint too long",
       [&] { return store_->RotateKey(kUrl, with([](AccountKey& k) {
                                        k.thumbprint += "A";
                                      })); },
       "key thumbprint is 44 characters"},
      {"thumbprint with padding",
       [&] { return store_->RotateKey(kUrl, with([](AccountKey& k) {
                                        k.thumbprint.back() = '=';
                                      })); },
       "key thumbprint is not base64url: byte 0x3D at offset 42"},
      {"thumbprint in base64 (not base64url)",
       [&] { return store_->RotateKey(kUrl, with([](AccountKey& k) {
                                        k.thumbprint[0] = '+';
                                      })); },
       "key thumbprint is not base64url: byte 0x2B at offset 0"},
      {"empty JWK",
       [&] { return store_->RotateKey(kUrl, with([](AccountKey& k) { k.jwk.clear(); })); },
       "key JWK is empty"},
      {"non-ASCII JWK",
       [&] { return store_->RotateKey(kUrl, with([](AccountKey& k) {
                                        k.jwk = "{\"kid\":\"\xc3\xa9\"}";
                                      })); },
       "key JWK has byte 0xc3"},
      {"added before 1970",
       [&] { return store_->RotateKey(kUrl, with([](AccountKey& k) {
                                        k.added_at = absl::UnixEpoch() - absl::Seconds(1);
                                      })); },
       "key added_at"},
      {"added at infinity",
       [&] { return store_->RotateKey(kUrl, with([](AccountKey& k) {
                                        k.added_at = absl::InfiniteFuture();
                                      })); },
       "key added_at"},
      {"thumbprint not canonical (last character's unused bits set)",
       [&] { return store_->RotateKey(kUrl, with([](AccountKey& k) {
                                        k.thumbprint.back() = 'B';
                                      })); },
       "key thumbprint is not canonical base64url"},
      {"new key already retired",
       [&] { return store_->RotateKey(kUrl, with([](AccountKey& k) {
                                        k.retired_at = TestTime(60);
                                      })); },
       "key retired_at"},
  };
  for (const Case& c : cases) {
    absl::Status status = c.call();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(c.field)) << c.name;
  }
  absl::StatusOr<Account> account = store_->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_THAT(Thumbprints(*account), ElementsAre(TestThumbprint(1)));
}

TEST_P(AccountStoreTest, ReopeningKeepsTheData) {
  ASSERT_TRUE(store_->Add(kUrl, TestKey(1)).ok());
  ASSERT_TRUE(store_->RotateKey(kUrl, TestKey(2)).ok());
  store_.reset();
  absl::StatusOr<std::unique_ptr<AccountStore>> reopened = Open();
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  absl::StatusOr<Account> account = (*reopened)->Lookup(kUrl);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_THAT(Thumbprints(*account), ElementsAre(TestThumbprint(2), TestThumbprint(1)));
}

TEST_P(AccountStoreTest, InconsistentStoredAccountsFailClosed) {
  struct Case {
    const char* name;
    const char* sql;
    const char* message;
  };
  const Case cases[] = {
      {"no keys at all", "DELETE FROM account_keys", "has no keys"},
      {"no current key", "UPDATE account_keys SET retired_at = added_at", "no current key"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string url = absl::StrCat(kUrl, "/", n);
    ASSERT_TRUE(store_->Add(url, TestKey(100 + n)).ok());
    ASSERT_TRUE(ExecRaw(c.sql).ok()) << c.name;
    absl::StatusOr<Account> account = store_->Lookup(url);
    EXPECT_EQ(account.status().code(), absl::StatusCode::kDataLoss)
        << c.name << ": " << account.status();
    EXPECT_THAT(account.status().message(), HasSubstr(c.message)) << c.name;
    ++n;
  }
}

TEST_P(AccountStoreTest, ConcurrentLookupsSeeConsistentKeysWhileAnotherThreadRotates) {
  constexpr int kReaders = 8;
  constexpr int kRotations = 25;
  ASSERT_TRUE(store_->Add(kUrl, TestKey(0)).ok());
  std::atomic<bool> done{false};
  std::atomic<int> lookups{0};
  absl::Mutex mu;
  std::vector<std::string> problems;
  auto note = [&](std::string problem) {
    absl::MutexLock lock(&mu);
    if (problems.size() < 10) problems.push_back(std::move(problem));
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      size_t last = 0;
      // At least one lookup after the last rotation: the loop checks `done`
      // only after a lookup.
      while (true) {
        const bool finished = done.load();
        absl::StatusOr<Account> account = store_->Lookup(kUrl);
        ++lookups;
        if (!account.ok()) {
          note(account.status().ToString());
        } else {
          const size_t n = account->keys.size();
          if (n < last) note(absl::StrCat("key count went back from ", last, " to ", n));
          last = n;
          // A consistent snapshot: keys n-1, n-2, ..., 0; only the first current.
          for (size_t i = 0; i < n; ++i) {
            const AccountKey& key = account->keys[i];
            if (key.thumbprint != TestThumbprint(static_cast<int>(n - 1 - i))) {
              note(absl::StrCat("key ", i, " of ", n, " is ", key.thumbprint));
            }
            if ((key.retired_at == absl::InfiniteFuture()) != (i == 0)) {
              note(absl::StrCat("key ", i, " of ", n, " has the wrong retired_at"));
            }
          }
        }
        if (finished) break;
      }
      if (last != kRotations + 1) note(absl::StrCat("last lookup saw ", last, " keys"));
    });
  }
  for (int i = 1; i <= kRotations; ++i) {
    absl::Status status = store_->RotateKey(kUrl, TestKey(i));
    ASSERT_TRUE(status.ok()) << "rotation " << i << ": " << status;
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_THAT(problems, ::testing::IsEmpty());
  EXPECT_GE(lookups.load(), kReaders);
}

INSTANTIATE_TEST_SUITE_P(BothStores, AccountStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace vantage::va
