#include "va/sqlite_account_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "va/account_store.h"
#include "va/account_store_internal.h"
#include "va/account_store_pool.h"

namespace vantage::va {
namespace {

using internal::FromStoreMicros;
using internal::ToStoreMicros;

// The tables of DESIGN.md "Account store". STRICT tables keep every column
// the declared type; times are Unix microseconds. The partial unique indexes
// hold the invariants Lookup relies on: one current key per account, and a
// key is the current key of at most one account (RFC 8555 section 7.3.5).
constexpr char kSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS accounts (
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS account_keys (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  thumbprint TEXT NOT NULL CHECK (length(thumbprint) = 43 AND
                                  thumbprint NOT GLOB '*[^A-Za-z0-9_-]*'),
  jwk TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  retired_at INTEGER,
  UNIQUE (account_id, thumbprint)
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS account_keys_one_current
  ON account_keys (account_id) WHERE retired_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS account_keys_current_thumbprint
  ON account_keys (thumbprint) WHERE retired_at IS NULL;
)sql";

constexpr char kSchemaTableExistsSql[] =
    "SELECT count(*) FROM sqlite_schema "
    "WHERE type = 'table' AND name = 'schema_version'";
constexpr char kSchemaVersionSql[] = "SELECT max(version) FROM schema_version";
constexpr char kInsertSchemaVersionSql[] =
    "INSERT INTO schema_version (version) "
    "SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM schema_version)";

// One query per Lookup (the VA's hot path): the account and all its keys,
// current key first, then the most recently retired (SPEC.md 3 order; the
// id breaks ties between keys retired in the same microsecond). The LEFT
// JOIN keeps an account without keys visible so that it is reported as
// DATA_LOSS rather than NOT_FOUND.
constexpr char kLookupSql[] =
    "SELECT a.status, a.created_at, k.thumbprint, k.jwk, k.added_at, "
    "k.retired_at FROM accounts AS a "
    "LEFT JOIN account_keys AS k ON k.account_id = a.id "
    "WHERE a.url = ?1 "
    "ORDER BY k.retired_at IS NULL DESC, k.retired_at DESC, k.id DESC";

constexpr char kAccountByUrlSql[] =
    "SELECT id, status FROM accounts WHERE url = ?1";
constexpr char kKeyOnAccountSql[] =
    "SELECT 1 FROM account_keys WHERE account_id = ?1 AND thumbprint = ?2";
constexpr char kCurrentKeyOwnerSql[] =
    "SELECT a.url FROM account_keys AS k JOIN accounts AS a "
    "ON a.id = k.account_id WHERE k.thumbprint = ?1 AND k.retired_at IS NULL";
constexpr char kInsertAccountSql[] =
    "INSERT INTO accounts (url, status, created_at) VALUES (?1, 'valid', ?2)";
constexpr char kInsertKeySql[] =
    "INSERT INTO account_keys (account_id, thumbprint, jwk, added_at) "
    "VALUES (?1, ?2, ?3, ?4)";
constexpr char kRetireCurrentKeySql[] =
    "UPDATE account_keys SET retired_at = ?2 "
    "WHERE account_id = ?1 AND retired_at IS NULL";
constexpr char kSetStatusSql[] = "UPDATE accounts SET status = ?2 WHERE id = ?1";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// SqliteError maps a SQLite result code to a status whose message names the
// file, the operation and SQLite's own explanation.
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view path,
                         absl::string_view what, absl::Duration busy_timeout) {
  std::string message =
      absl::StrCat("SQLite account store ", path, ": ", what, ": ",
                   db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(
          absl::StrCat(message, " (still locked after the ",
                       absl::FormatDuration(busy_timeout), " busy timeout)"));
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CONSTRAINT:
      // The write paths check uniqueness first inside their transaction, so
      // this is only a backstop (e.g. a second writer outside Vantage).
      if (rc == SQLITE_CONSTRAINT_UNIQUE) return absl::AlreadyExistsError(message);
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

// Statement is a cached prepared statement in use. Destroying it resets the
// statement and clears its bindings, so the cache can hand it out again and
// no bound string_view outlives the call that bound it.
class Statement {
 public:
  Statement(SqliteAccountStore::Connection* conn, sqlite3_stmt* stmt)
      : conn_(conn), stmt_(stmt) {}
  Statement(Statement&& other) noexcept
      : conn_(other.conn_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  // Binds the bytes of `value` without copying: `value` must outlive this
  // Statement (true for the call arguments and locals that use it).
  absl::Status BindText(int index, absl::string_view value);
  absl::Status BindInt(int index, int64_t value);
  // Step returns true for a row, false when done.
  absl::StatusOr<bool> Step();

  bool IsNull(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  absl::string_view Text(int col) const {
    const unsigned char* text = sqlite3_column_text(stmt_, col);
    if (text == nullptr) return absl::string_view();
    return absl::string_view(reinterpret_cast<const char*>(text),
                             static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  SqliteAccountStore::Connection* conn_;
  sqlite3_stmt* stmt_;
};

}  // namespace

class SqliteAccountStore::Connection {
 public:
  // Open opens one handle on options.path with the busy timeout and
  // foreign keys on. Statements are prepared on first use and kept.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const Options& options) {
    sqlite3* raw = nullptr;
    // NOMUTEX: the pool gives each connection to one thread at a time.
    // EXRESCODE: extended result codes (SQLITE_CONSTRAINT_UNIQUE).
    const int rc = sqlite3_open_v2(
        options.path.c_str(), &raw,
        SQLITE_OPEN_READWRITE | (options.create_if_missing ? SQLITE_OPEN_CREATE : 0) |
            SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
        nullptr);
    DbPtr db(raw);
    auto conn = std::unique_ptr<Connection>(new Connection(options, std::move(db)));
    if (rc != SQLITE_OK) return conn->Error(rc, "cannot open the database file");
    sqlite3_busy_timeout(conn->db(), static_cast<int>(absl::ToInt64Milliseconds(
                                         options.busy_timeout)));
    RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys = ON"));
    return conn;
  }

  sqlite3* db() const { return db_.get(); }

  absl::Status Error(int rc, absl::string_view what) const {
    return SqliteError(db_.get(), rc, options_.path, what, options_.busy_timeout);
  }

  // Exec runs SQL without parameters or results (PRAGMAs, BEGIN, DDL).
  absl::Status Exec(const char* sql) {
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Error(rc, absl::StrCat("\"", FirstLine(sql), "\""));
    return absl::OkStatus();
  }

  // Prepare returns the cached prepared statement for `sql` (one of the
  // constants above: the pointer is the cache key), preparing it once.
  absl::StatusOr<Statement> Prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      sqlite3_stmt* raw = nullptr;
      const int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT,
                                        &raw, nullptr);
      StmtPtr stmt(raw);
      if (rc != SQLITE_OK) {
        return Error(rc, absl::StrCat("cannot prepare \"", FirstLine(sql), "\""));
      }
      it = statements_.emplace(sql, std::move(stmt)).first;
    }
    return Statement(this, it->second.get());
  }

  // WriteTransaction runs `body` inside BEGIN IMMEDIATE ... COMMIT (taking
  // the write lock up front, so the checks the body makes stay true until
  // it commits), and rolls back on any error.
  template <typename Body>
  absl::Status WriteTransaction(Body body) {
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    absl::Status status = body();
    if (status.ok()) status = Exec("COMMIT");
    if (!status.ok() && sqlite3_get_autocommit(db_.get()) == 0) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    return status;
  }

 private:
  Connection(const Options& options, DbPtr db) : options_(options), db_(std::move(db)) {}

  static absl::string_view FirstLine(absl::string_view sql) {
    while (!sql.empty() && sql.front() == '\n') sql.remove_prefix(1);
    return sql.substr(0, sql.find('\n'));
  }

  const Options& options_;
  DbPtr db_;
  // Declared after db_ so that statements are finalized before the close.
  absl::flat_hash_map<const char*, StmtPtr> statements_;
};

absl::Status Statement::BindText(int index, absl::string_view value) {
  // A null data pointer would bind SQL NULL; an empty view binds "".
  const char* data = value.data() != nullptr ? value.data() : "";
  const int rc = sqlite3_bind_text64(stmt_, index, data, value.size(),
                                     SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) return conn_->Error(rc, "cannot bind a parameter");
  return absl::OkStatus();
}

absl::Status Statement::BindInt(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) return conn_->Error(rc, "cannot bind a parameter");
  return absl::OkStatus();
}

absl::StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->Error(rc, "query failed");
}

namespace {

// EnsureSchema creates the tables when the file has none (first use) and
// checks the schema version. A store that already has them is only read,
// so a read-only replica or file works as long as it is initialized.
absl::Status EnsureSchema(SqliteAccountStore::Connection& conn,
                          absl::string_view path) {
  // WAL: readers (Lookups) and the single writer do not block each other.
  {
    ASSIGN_OR_RETURN(Statement wal, conn.Prepare("PRAGMA journal_mode = WAL"));
    ASSIGN_OR_RETURN(bool row, wal.Step());
    if (!row || wal.Text(0) != "wal") {
      return absl::FailedPreconditionError(
          absl::StrCat("SQLite account store ", path,
                       ": cannot switch the database to WAL mode (journal_mode "
                       "is ", row ? wal.Text(0) : "unknown", ")"));
    }
  }
  bool has_table = false;
  {
    ASSIGN_OR_RETURN(Statement exists, conn.Prepare(kSchemaTableExistsSql));
    ASSIGN_OR_RETURN(bool row, exists.Step());
    has_table = row && exists.Int(0) > 0;
  }
  bool has_version = false;
  if (has_table) {
    ASSIGN_OR_RETURN(Statement version, conn.Prepare(kSchemaVersionSql));
    ASSIGN_OR_RETURN(bool row, version.Step());
    has_version = row && !version.IsNull(0);
  }
  if (!has_version) {
    RETURN_IF_ERROR(conn.WriteTransaction([&]() -> absl::Status {
      RETURN_IF_ERROR(conn.Exec(kSchemaSql));
      ASSIGN_OR_RETURN(Statement insert, conn.Prepare(kInsertSchemaVersionSql));
      RETURN_IF_ERROR(insert.BindInt(1, internal::kSchemaVersion));
      return insert.Step().status();
    }));
  }
  ASSIGN_OR_RETURN(Statement version, conn.Prepare(kSchemaVersionSql));
  ASSIGN_OR_RETURN(bool row, version.Step());
  if (!row || version.IsNull(0)) {
    return absl::DataLossError(absl::StrCat("SQLite account store ", path,
                                            ": schema_version table is empty"));
  }
  return internal::CheckSchemaVersion(version.Int(0),
                                      absl::StrCat("SQLite account store ", path));
}

struct AccountRow {
  int64_t id = 0;
  AccountStatus status = AccountStatus::kValid;
};

// FindAccount reads the id and status of the account with this URL.
absl::StatusOr<AccountRow> FindAccount(SqliteAccountStore::Connection& conn,
                                       absl::string_view url) {
  ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kAccountByUrlSql));
  RETURN_IF_ERROR(stmt.BindText(1, url));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return internal::AccountNotFound(url);
  AccountRow account;
  account.id = stmt.Int(0);
  absl::StatusOr<AccountStatus> status = ParseAccountStatus(stmt.Text(1));
  if (!status.ok()) {
    return absl::DataLossError(
        absl::StrCat("account ", url, ": ", status.status().message()));
  }
  account.status = *status;
  return account;
}

// CheckKeyIsNew refuses a key the account already had, or that is another
// account's current key (`account_id` 0: no account yet).
absl::Status CheckKeyIsNew(SqliteAccountStore::Connection& conn, int64_t account_id,
                           absl::string_view url, absl::string_view thumbprint) {
  if (account_id != 0) {
    ASSIGN_OR_RETURN(Statement had, conn.Prepare(kKeyOnAccountSql));
    RETURN_IF_ERROR(had.BindInt(1, account_id));
    RETURN_IF_ERROR(had.BindText(2, thumbprint));
    ASSIGN_OR_RETURN(bool row, had.Step());
    if (row) return internal::KeyAlreadyOnAccount(url, thumbprint);
  }
  ASSIGN_OR_RETURN(Statement owner, conn.Prepare(kCurrentKeyOwnerSql));
  RETURN_IF_ERROR(owner.BindText(1, thumbprint));
  ASSIGN_OR_RETURN(bool row, owner.Step());
  if (row) return internal::KeyUsedByOtherAccount(thumbprint, owner.Text(0));
  return absl::OkStatus();
}

absl::Status InsertKey(SqliteAccountStore::Connection& conn, int64_t account_id,
                       const AccountKey& key) {
  ASSIGN_OR_RETURN(Statement insert, conn.Prepare(kInsertKeySql));
  RETURN_IF_ERROR(insert.BindInt(1, account_id));
  RETURN_IF_ERROR(insert.BindText(2, key.thumbprint));
  RETURN_IF_ERROR(insert.BindText(3, key.jwk));
  RETURN_IF_ERROR(insert.BindInt(4, ToStoreMicros(key.added_at)));
  return insert.Step().status();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteAccountStore>> SqliteAccountStore::Create(
    const Options& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("SQLite account store path is empty");
  }
  if (options.path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("SQLite account store path contains a NUL byte");
  }
  if (options.busy_timeout < absl::Milliseconds(1) ||
      options.busy_timeout > absl::Minutes(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SQLite account store busy_timeout ",
                     absl::FormatDuration(options.busy_timeout),
                     " is outside 1ms..10m"));
  }
  if (options.max_connections < 1 || options.max_connections > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("SQLite account store max_connections ",
                     options.max_connections, " is outside 1..64"));
  }
  if (!options.create_if_missing && access(options.path.c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("SQLite account store ", options.path,
                                            " does not exist"));
  }
  // The store is built first so that connections refer to its options_,
  // which lives as long as they do.
  auto store = std::unique_ptr<SqliteAccountStore>(new SqliteAccountStore(options));
  const Options* stored = &store->options_;
  store->pool_ = std::make_unique<AccountStorePool<Connection>>(
      options.max_connections, [stored]() { return Connection::Open(*stored); });
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> first, Connection::Open(*stored));
  RETURN_IF_ERROR(EnsureSchema(*first, options.path));
  store->pool_->Seed(std::move(first));
  return store;
}

SqliteAccountStore::SqliteAccountStore(const Options& options) : options_(options) {}

SqliteAccountStore::~SqliteAccountStore() = default;

absl::StatusOr<Account> SqliteAccountStore::Lookup(absl::string_view url) {
  RETURN_IF_ERROR(ValidateAccountUrl(url));
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire(options_.busy_timeout));
  ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kLookupSql));
  RETURN_IF_ERROR(stmt.BindText(1, url));
  Account account;
  bool found = false;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    if (!found) {
      found = true;
      account.url = std::string(url);
      absl::StatusOr<AccountStatus> status = ParseAccountStatus(stmt.Text(0));
      if (!status.ok()) {
        return absl::DataLossError(
            absl::StrCat("account ", url, ": ", status.status().message()));
      }
      account.status = *status;
      account.created_at = FromStoreMicros(stmt.Int(1));
    }
    if (stmt.IsNull(2)) continue;  // LEFT JOIN: an account without keys.
    AccountKey& key = account.keys.emplace_back();
    key.thumbprint = std::string(stmt.Text(2));
    key.jwk = std::string(stmt.Text(3));
    key.added_at = FromStoreMicros(stmt.Int(4));
    if (!stmt.IsNull(5)) key.retired_at = FromStoreMicros(stmt.Int(5));
  }
  if (!found) return internal::AccountNotFound(url);
  RETURN_IF_ERROR(internal::CheckLoadedAccount(account));
  return account;
}

absl::Status SqliteAccountStore::Add(absl::string_view url, const AccountKey& key) {
  RETURN_IF_ERROR(ValidateAccountUrl(url));
  RETURN_IF_ERROR(ValidateNewKey(key));
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire(options_.busy_timeout));
  return conn->WriteTransaction([&]() -> absl::Status {
    absl::StatusOr<AccountRow> existing = FindAccount(*conn, url);
    if (existing.ok()) return internal::AccountExists(url);
    if (!absl::IsNotFound(existing.status())) return existing.status();
    RETURN_IF_ERROR(CheckKeyIsNew(*conn, /*account_id=*/0, url, key.thumbprint));
    {
      ASSIGN_OR_RETURN(Statement insert, conn->Prepare(kInsertAccountSql));
      RETURN_IF_ERROR(insert.BindText(1, url));
      RETURN_IF_ERROR(insert.BindInt(2, ToStoreMicros(key.added_at)));
      RETURN_IF_ERROR(insert.Step().status());
    }
    return InsertKey(*conn, sqlite3_last_insert_rowid(conn->db()), key);
  });
}

absl::Status SqliteAccountStore::RotateKey(absl::string_view url,
                                           const AccountKey& key) {
  RETURN_IF_ERROR(ValidateAccountUrl(url));
  RETURN_IF_ERROR(ValidateNewKey(key));
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire(options_.busy_timeout));
  return conn->WriteTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(AccountRow account, FindAccount(*conn, url));
    RETURN_IF_ERROR(internal::CheckCanRotate(url, account.status));
    RETURN_IF_ERROR(CheckKeyIsNew(*conn, account.id, url, key.thumbprint));
    {
      ASSIGN_OR_RETURN(Statement retire, conn->Prepare(kRetireCurrentKeySql));
      RETURN_IF_ERROR(retire.BindInt(1, account.id));
      RETURN_IF_ERROR(retire.BindInt(2, ToStoreMicros(key.added_at)));
      RETURN_IF_ERROR(retire.Step().status());
    }
    return InsertKey(*conn, account.id, key);
  });
}

absl::Status SqliteAccountStore::SetStatus(absl::string_view url,
                                           AccountStatus status) {
  RETURN_IF_ERROR(ValidateAccountUrl(url));
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire(options_.busy_timeout));
  return conn->WriteTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(AccountRow account, FindAccount(*conn, url));
    bool no_op = false;
    RETURN_IF_ERROR(internal::CheckStatusChange(url, account.status, status, &no_op));
    if (no_op) return absl::OkStatus();
    ASSIGN_OR_RETURN(Statement update, conn->Prepare(kSetStatusSql));
    RETURN_IF_ERROR(update.BindInt(1, account.id));
    RETURN_IF_ERROR(update.BindText(2, AccountStatusName(status)));
    return update.Step().status();
  });
}

}  // namespace vantage::va
