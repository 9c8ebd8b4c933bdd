#include "va/postgres_account_store.h"

#include <poll.h>
#include <postgresql/libpq-fe.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "va/account_store.h"
#include "va/account_store_internal.h"
#include "va/account_store_pool.h"

namespace vantage::va {
namespace {

using internal::FromStoreMicros;
using internal::ToStoreMicros;

// The tables of DESIGN.md "Account store", as in the SQLite store. URLs and
// thumbprints use the "C" collation: equality is then byte for byte (SPEC.md
// 3: the account URL is compared as the exact bytes the CA issued).
constexpr char kSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url text COLLATE "C" NOT NULL UNIQUE,
  status text NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
  created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS account_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id),
  thumbprint text COLLATE "C" NOT NULL
    CHECK (thumbprint ~ '^[A-Za-z0-9_-]{43}$'),
  jwk text NOT NULL,
  added_at timestamptz NOT NULL,
  retired_at timestamptz,
  UNIQUE (account_id, thumbprint)
);
CREATE UNIQUE INDEX IF NOT EXISTS account_keys_one_current
  ON account_keys (account_id) WHERE retired_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS account_keys_current_thumbprint
  ON account_keys (thumbprint) WHERE retired_at IS NULL;
)sql";

// Serializes concurrent first-time schema creation (CREATE TABLE IF NOT
// EXISTS alone races in PostgreSQL). Any constant shared by all VAs works.
constexpr char kSchemaLockSql[] = "SELECT pg_advisory_xact_lock(7243019573)";
constexpr char kSchemaTableExistsSql[] =
    "SELECT to_regclass('schema_version') IS NOT NULL";
constexpr char kSchemaVersionSql[] = "SELECT max(version) FROM schema_version";
constexpr char kInsertSchemaVersionSql[] =
    "INSERT INTO schema_version (version) "
    "SELECT $1::integer WHERE NOT EXISTS (SELECT 1 FROM schema_version)";

// Times cross the wire as Unix microseconds: written as ISO 8601 text in
// UTC, read back with EXTRACT (numeric since PostgreSQL 14, so exact).
#define VANTAGE_PG_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::int8"

struct PreparedSql {
  const char* name;
  const char* sql;
};

// One query per Lookup (the VA's hot path); see the SQLite store for the
// order and the LEFT JOIN.
constexpr PreparedSql kLookup = {
    "vantage_lookup",
    "SELECT a.status, " VANTAGE_PG_MICROS("a.created_at") ", k.thumbprint, k.jwk, "
    VANTAGE_PG_MICROS("k.added_at") ", " VANTAGE_PG_MICROS("k.retired_at")
    " FROM accounts AS a LEFT JOIN account_keys AS k ON k.account_id = a.id "
    "WHERE a.url = $1::text "
    "ORDER BY k.retired_at IS NULL DESC, k.retired_at DESC NULLS LAST, "
    "k.id DESC"};
// Locks the account row until the transaction ends, so the checks a write
// makes stay true until it commits.
constexpr PreparedSql kAccountForUpdate = {
    "vantage_account_for_update",
    "SELECT id, status FROM accounts WHERE url = $1::text FOR UPDATE"};
constexpr PreparedSql kKeyOnAccount = {
    "vantage_key_on_account",
    "SELECT 1 FROM account_keys WHERE account_id = $1::int8 "
    "AND thumbprint = $2::text"};
constexpr PreparedSql kCurrentKeyOwner = {
    "vantage_current_key_owner",
    "SELECT a.url FROM account_keys AS k JOIN accounts AS a "
    "ON a.id = k.account_id WHERE k.thumbprint = $1::text "
    "AND k.retired_at IS NULL"};
constexpr PreparedSql kInsertAccount = {
    "vantage_insert_account",
    "INSERT INTO accounts (url, status, created_at) "
    "VALUES ($1::text, 'valid', $2::timestamptz) RETURNING id"};
constexpr PreparedSql kInsertKey = {
    "vantage_insert_key",
    "INSERT INTO account_keys (account_id, thumbprint, jwk, added_at) "
    "VALUES ($1::int8, $2::text, $3::text, $4::timestamptz)"};
constexpr PreparedSql kRetireCurrentKey = {
    "vantage_retire_current_key",
    "UPDATE account_keys SET retired_at = $2::timestamptz "
    "WHERE account_id = $1::int8 AND retired_at IS NULL"};
constexpr PreparedSql kSetStatus = {
    "vantage_set_status",
    "UPDATE accounts SET status = $2::text WHERE id = $1::int8"};

// The client waits this much longer than the server-side statement_timeout,
// so that a slow statement ends with the server's clean error (and the
// connection stays usable) rather than with a dropped connection.
constexpr absl::Duration kClientGrace = absl::Milliseconds(250);

struct ConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
struct ConninfoFreer {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

std::string StoreTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                          FromStoreMicros(ToStoreMicros(t)), absl::UTCTimeZone());
}

// WaitSocket waits until `fd` is readable (or writable, when `write`) or the
// deadline passes (DEADLINE_EXCEEDED).
absl::Status WaitSocket(int fd, bool write, absl::Time deadline) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("timed out");
    pollfd pfd{};
    pfd.fd = fd;
    pfd.events = static_cast<short>(write ? POLLOUT : POLLIN);
    // Round up, so that a sub-millisecond remainder does not spin.
    const int64_t ms = absl::ToInt64Milliseconds(left) + 1;
    const int rc = poll(&pfd, 1, static_cast<int>(ms));
    if (rc > 0) return absl::OkStatus();
    if (rc < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("poll: ", std::strerror(errno)));
    }
  }
}

}  // namespace

std::string RedactPostgresUri(absl::string_view uri) {
  const size_t scheme_end = uri.find("://");
  // Only URIs reach the store; anything else is withheld whole.
  if (scheme_end == absl::string_view::npos) return "REDACTED";
  const size_t auth_start = scheme_end + 3;
  size_t query = uri.find_first_of("?#", auth_start);
  if (query == absl::string_view::npos) query = uri.size();
  std::string out(uri.substr(0, auth_start));
  absl::string_view rest = uri.substr(auth_start, query - auth_start);
  // The LAST '@' before the query ends the user info; taking the last one
  // also hides a password that wrongly contains a raw '@' or '/'.
  const size_t at = rest.rfind('@');
  if (at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    if (colon != absl::string_view::npos) {
      absl::StrAppend(&out, userinfo.substr(0, colon), ":REDACTED");
    } else {
      absl::StrAppend(&out, userinfo);
    }
    absl::StrAppend(&out, rest.substr(at));
  } else {
    absl::StrAppend(&out, rest);
  }
  if (query < uri.size()) {
    out.push_back(uri[query]);
    std::vector<std::string> params;
    for (absl::string_view param :
         absl::StrSplit(uri.substr(query + 1), absl::ByAnyChar("&#"))) {
      if (absl::StartsWithIgnoreCase(param, "password=")) {
        params.push_back("password=REDACTED");
      } else {
        params.emplace_back(param);
      }
    }
    absl::StrAppend(&out, absl::StrJoin(params, "&"));
  }
  return out;
}

struct PostgresAccountStore::Settings {
  Options options;
  // The URI with the password replaced, for every message.
  std::string redacted_uri;
  // The password as libpq will use it (decoded), scrubbed from libpq's
  // messages in case one ever quotes it.
  std::string password;
  // `options` connection parameter: server-side timeouts and UTC.
  std::string server_options;

  // Message formats "PostgreSQL account store <uri>: <what>: <detail>" with
  // the password scrubbed.
  std::string Message(absl::string_view what, absl::string_view detail) const {
    std::string text(absl::StripTrailingAsciiWhitespace(detail));
    if (!password.empty()) {
      text = absl::StrReplaceAll(text, {{password, "REDACTED"}});
    }
    absl::StrReplaceAll({{"\n", " "}}, &text);
    return absl::StrCat("PostgreSQL account store ", redacted_uri, ": ", what,
                        text.empty() ? "" : ": ", text);
  }
};

// Result is one PGresult with typed accessors.
class PgResult {
 public:
  explicit PgResult(ResultPtr result) : result_(std::move(result)) {}
  int rows() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int col) const {
    return PQgetisnull(result_.get(), row, col) != 0;
  }
  absl::string_view Text(int row, int col) const {
    return absl::string_view(PQgetvalue(result_.get(), row, col),
                             static_cast<size_t>(PQgetlength(result_.get(), row, col)));
  }
  // Int parses a bigint column (text format); DATA_LOSS if it is not one.
  absl::StatusOr<int64_t> Int(int row, int col) const {
    int64_t value = 0;
    if (!absl::SimpleAtoi(Text(row, col), &value)) {
      return absl::DataLossError(absl::StrCat("column ", col, " holds \"",
                                              Text(row, col), "\", not an integer"));
    }
    return value;
  }

 private:
  ResultPtr result_;
};

class PostgresAccountStore::Connection {
 public:
  // Open connects within connect_timeout (non-blocking libpq, our own
  // deadline: libpq's connect_timeout has whole-second granularity) and
  // prepares every statement once.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const Settings& settings) {
    const char* keywords[] = {"application_name", "options", "dbname", nullptr};
    const char* values[] = {"vantage-va", settings.server_options.c_str(),
                            settings.options.uri.c_str(), nullptr};
    // expand_dbname: the URI is expanded, and its own parameters win.
    ConnPtr conn(PQconnectStartParams(keywords, values, /*expand_dbname=*/1));
    if (conn == nullptr) {
      return absl::ResourceExhaustedError(
          settings.Message("cannot allocate a connection", ""));
    }
    const absl::Time deadline = absl::Now() + settings.options.connect_timeout;
    PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
    while (PQstatus(conn.get()) != CONNECTION_BAD && poll_status != PGRES_POLLING_OK &&
           poll_status != PGRES_POLLING_FAILED) {
      absl::Status waited = WaitSocket(PQsocket(conn.get()),
                                       poll_status == PGRES_POLLING_WRITING, deadline);
      if (absl::IsDeadlineExceeded(waited)) {
        return absl::UnavailableError(settings.Message(
            absl::StrCat("cannot connect within the ",
                         absl::FormatDuration(settings.options.connect_timeout),
                         " connect timeout"),
            ""));
      }
      if (!waited.ok()) {
        return absl::UnavailableError(settings.Message("cannot connect", waited.message()));
      }
      poll_status = PQconnectPoll(conn.get());
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      return absl::UnavailableError(
          settings.Message("cannot connect", PQerrorMessage(conn.get())));
    }
    if (PQsetnonblocking(conn.get(), 1) != 0) {
      return absl::InternalError(
          settings.Message("cannot make the connection non-blocking",
                           PQerrorMessage(conn.get())));
    }
    return std::unique_ptr<Connection>(new Connection(settings, std::move(conn)));
  }

  // broken: the connection is unusable (dropped by the server, timed out);
  // the caller discards it.
  bool broken() const { return broken_ || PQstatus(conn_.get()) != CONNECTION_OK; }

  // Execute runs a prepared statement with text parameters, preparing it on
  // this connection's first use (after the schema exists).
  absl::StatusOr<PgResult> Execute(const PreparedSql& statement,
                                   std::initializer_list<std::string> params) {
    if (!prepared_.contains(statement.name)) {
      RETURN_IF_ERROR(Run(absl::StrCat("cannot prepare ", statement.name),
                          [&](PGconn* c) {
                            return PQsendPrepare(c, statement.name, statement.sql, 0,
                                                 nullptr);
                          })
                          .status());
      prepared_.insert(statement.name);
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    return Run(statement.name, [&](PGconn* c) {
      return PQsendQueryPrepared(c, statement.name, static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, 0);
    });
  }

  // ExecuteSql runs SQL text: several statements without parameters, or one
  // with text parameters.
  absl::StatusOr<PgResult> ExecuteSql(const char* sql,
                                      std::initializer_list<std::string> params = {}) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    absl::string_view first_line = absl::StripLeadingAsciiWhitespace(sql);
    first_line = first_line.substr(0, first_line.find('\n'));
    return Run(absl::StrCat("\"", first_line, "\""), [&](PGconn* c) {
      if (values.empty()) return PQsendQuery(c, sql);
      return PQsendQueryParams(c, sql, static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
    });
  }

 private:
  Connection(const Settings& settings, ConnPtr conn)
      : settings_(settings), conn_(std::move(conn)) {}

  // Run sends with `send`, then waits (bounded) for every result; the first
  // error result, or else the last result, decides.
  template <typename Send>
  absl::StatusOr<PgResult> Run(absl::string_view what, Send send) {
    if (broken()) return absl::UnavailableError(settings_.Message(what, "connection is broken"));
    PGconn* c = conn_.get();
    const absl::Time deadline =
        absl::Now() + settings_.options.query_timeout + kClientGrace;
    if (send(c) != 1) return Failure(what, nullptr);
    // Flush the request (non-blocking mode may leave part of it queued).
    while (true) {
      const int flushed = PQflush(c);
      if (flushed == 0) break;
      if (flushed < 0) return Failure(what, nullptr);
      RETURN_IF_ERROR(Wait(what, /*write=*/true, deadline));
      if (PQconsumeInput(c) != 1) return Failure(what, nullptr);
    }
    ResultPtr kept;
    while (true) {
      while (PQisBusy(c) != 0) {
        RETURN_IF_ERROR(Wait(what, /*write=*/false, deadline));
        if (PQconsumeInput(c) != 1) return Failure(what, nullptr);
      }
      ResultPtr result(PQgetResult(c));
      if (result == nullptr) break;
      // Keep the latest result, but never replace an error.
      if (kept == nullptr || !IsError(kept.get())) kept = std::move(result);
    }
    if (kept == nullptr) return Failure(what, nullptr);
    if (IsError(kept.get())) return Failure(what, kept.get());
    return PgResult(std::move(kept));
  }

  static bool IsError(const PGresult* result) {
    const ExecStatusType status = PQresultStatus(result);
    return status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK;
  }

  absl::Status Wait(absl::string_view what, bool write, absl::Time deadline) {
    absl::Status waited = WaitSocket(PQsocket(conn_.get()), write, deadline);
    if (waited.ok()) return waited;
    // The server did not answer: the connection is in an unknown state.
    broken_ = true;
    if (absl::IsDeadlineExceeded(waited)) {
      return absl::UnavailableError(settings_.Message(
          what, absl::StrCat("no answer within the ",
                             absl::FormatDuration(settings_.options.query_timeout),
                             " query timeout")));
    }
    return absl::UnavailableError(settings_.Message(what, waited.message()));
  }

  // Failure maps an error result (or, without one, the connection's error)
  // to a status by SQLSTATE (PostgreSQL manual, appendix A).
  absl::Status Failure(absl::string_view what, const PGresult* result) {
    const char* state =
        result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const std::string message = settings_.Message(
        what, result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get()));
    if (PQstatus(conn_.get()) != CONNECTION_OK) broken_ = true;
    const absl::string_view code = state != nullptr ? state : "";
    if (code.empty() || broken_) return absl::UnavailableError(message);
    if (code == "23505") return absl::AlreadyExistsError(message);  // unique_violation
    if (code == "57014" ||                                           // query_canceled
        code == "55P03" ||                                           // lock_not_available
        code == "40001" || code == "40P01" ||                        // serialization, deadlock
        absl::StartsWith(code, "08") ||                              // connection exception
        absl::StartsWith(code, "53") ||                              // insufficient resources
        absl::StartsWith(code, "57P")) {                             // shutdown, cannot connect now
      return absl::UnavailableError(message);
    }
    if (code == "42501" || absl::StartsWith(code, "28")) {  // privilege, authorization
      return absl::PermissionDeniedError(message);
    }
    if (code == "25006" ||                    // read_only_sql_transaction
        absl::StartsWith(code, "42") ||       // undefined table/column: schema missing
        absl::StartsWith(code, "23")) {       // other integrity constraint
      return absl::FailedPreconditionError(message);
    }
    return absl::InternalError(message);
  }

  const Settings& settings_;
  ConnPtr conn_;
  bool broken_ = false;
  // Names of the statements prepared on this connection.
  absl::flat_hash_set<const char*> prepared_;
};

namespace {

using Connection = PostgresAccountStore::Connection;
using Settings = PostgresAccountStore::Settings;

absl::Status EnsureSchema(Connection& conn, const Settings& settings) {
  ASSIGN_OR_RETURN(PgResult exists, conn.ExecuteSql(kSchemaTableExistsSql));
  bool has_version = false;
  if (exists.rows() == 1 && exists.Text(0, 0) == "t") {
    ASSIGN_OR_RETURN(PgResult version, conn.ExecuteSql(kSchemaVersionSql));
    has_version = version.rows() == 1 && !version.IsNull(0, 0);
  }
  if (!has_version) {
    RETURN_IF_ERROR(conn.ExecuteSql("BEGIN").status());
    absl::Status created = [&]() -> absl::Status {
      RETURN_IF_ERROR(conn.ExecuteSql(kSchemaLockSql).status());
      RETURN_IF_ERROR(conn.ExecuteSql(kSchemaSql).status());
      RETURN_IF_ERROR(conn.ExecuteSql(kInsertSchemaVersionSql,
                                      {absl::StrCat(internal::kSchemaVersion)})
                          .status());
      return conn.ExecuteSql("COMMIT").status();
    }();
    if (!created.ok()) {
      if (!conn.broken()) (void)conn.ExecuteSql("ROLLBACK");
      return created;
    }
  }
  ASSIGN_OR_RETURN(PgResult version, conn.ExecuteSql(kSchemaVersionSql));
  if (version.rows() != 1 || version.IsNull(0, 0)) {
    return absl::DataLossError(settings.Message("schema_version table is empty", ""));
  }
  ASSIGN_OR_RETURN(int64_t found, version.Int(0, 0));
  return internal::CheckSchemaVersion(
      found, absl::StrCat("PostgreSQL account store ", settings.redacted_uri));
}

struct AccountRow {
  std::string id;
  AccountStatus status = AccountStatus::kValid;
};

absl::StatusOr<AccountRow> LockAccount(Connection& conn, absl::string_view url) {
  ASSIGN_OR_RETURN(PgResult result, conn.Execute(kAccountForUpdate, {std::string(url)}));
  if (result.rows() == 0) return internal::AccountNotFound(url);
  AccountRow row;
  row.id = std::string(result.Text(0, 0));
  absl::StatusOr<AccountStatus> status = ParseAccountStatus(result.Text(0, 1));
  if (!status.ok()) {
    return absl::DataLossError(
        absl::StrCat("account ", url, ": ", status.status().message()));
  }
  row.status = *status;
  return row;
}

// CheckKeyIsNew: as in the SQLite store (`account_id` empty: no account yet).
absl::Status CheckKeyIsNew(Connection& conn, const std::string& account_id,
                           absl::string_view url, const std::string& thumbprint) {
  if (!account_id.empty()) {
    ASSIGN_OR_RETURN(PgResult had, conn.Execute(kKeyOnAccount, {account_id, thumbprint}));
    if (had.rows() > 0) return internal::KeyAlreadyOnAccount(url, thumbprint);
  }
  ASSIGN_OR_RETURN(PgResult owner, conn.Execute(kCurrentKeyOwner, {thumbprint}));
  if (owner.rows() > 0) {
    return internal::KeyUsedByOtherAccount(thumbprint, owner.Text(0, 0));
  }
  return absl::OkStatus();
}

absl::Status InsertKey(Connection& conn, const std::string& account_id,
                       const AccountKey& key) {
  return conn
      .Execute(kInsertKey, {account_id, key.thumbprint, key.jwk, StoreTime(key.added_at)})
      .status();
}

absl::Status CheckOptions(const PostgresAccountStore::Options& options) {
  if (!absl::StartsWith(options.uri, "postgresql://") &&
      !absl::StartsWith(options.uri, "postgres://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PostgreSQL account store URI ", RedactPostgresUri(options.uri),
        " does not start with postgresql:// or postgres://"));
  }
  for (const auto& [name, value] :
       {std::pair<const char*, absl::Duration>{"connect_timeout", options.connect_timeout},
        {"query_timeout", options.query_timeout}}) {
    if (value < absl::Milliseconds(1) || value > absl::Minutes(10)) {
      return absl::InvalidArgumentError(
          absl::StrCat("PostgreSQL account store ", name, " ",
                       absl::FormatDuration(value), " is outside 1ms..10m"));
    }
  }
  if (options.max_connections < 1 || options.max_connections > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("PostgreSQL account store max_connections ",
                     options.max_connections, " is outside 1..64"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresAccountStore>> PostgresAccountStore::Create(
    const Options& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  auto settings = std::make_unique<Settings>();
  settings->options = options;
  settings->redacted_uri = RedactPostgresUri(options.uri);
  {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoFreer> parsed(
        PQconninfoParse(options.uri.c_str(), &error));
    if (parsed == nullptr) {
      // libpq's message may quote the malformed part, which can be the
      // password: name only the redacted URI.
      if (error != nullptr) PQfreemem(error);
      return absl::InvalidArgumentError(absl::StrCat(
          "PostgreSQL account store URI ", settings->redacted_uri,
          " is not a valid libpq connection URI (see the libpq manual, "
          "\"Connection URIs\")"));
    }
    for (const PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr) {
        settings->password = o->val;
      }
    }
  }
  const int64_t timeout_ms = absl::ToInt64Milliseconds(options.query_timeout);
  // Server side: a statement (or a wait for a lock) never outlasts the
  // query timeout; UTC so that timestamps never depend on the server's zone.
  settings->server_options =
      absl::StrCat("-c statement_timeout=", timeout_ms, " -c lock_timeout=", timeout_ms,
                   " -c idle_in_transaction_session_timeout=", 10 * timeout_ms,
                   " -c TimeZone=UTC");
  const Settings* stored = settings.get();
  auto pool = std::make_unique<AccountStorePool<Connection>>(
      options.max_connections, [stored]() { return Connection::Open(*stored); });
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> first, Connection::Open(*stored));
  RETURN_IF_ERROR(EnsureSchema(*first, *stored));
  pool->Seed(std::move(first));
  return std::unique_ptr<PostgresAccountStore>(
      new PostgresAccountStore(std::move(settings), std::move(pool)));
}

PostgresAccountStore::PostgresAccountStore(
    std::unique_ptr<Settings> settings, std::unique_ptr<AccountStorePool<Connection>> pool)
    : settings_(std::move(settings)), pool_(std::move(pool)) {}

PostgresAccountStore::~PostgresAccountStore() {
  // Connections refer to settings_: close them first.
  pool_.reset();
}

absl::StatusOr<Account> PostgresAccountStore::Lookup(absl::string_view url) {
  RETURN_IF_ERROR(ValidateAccountUrl(url));
  const std::string param(url);
  absl::StatusOr<PgResult> result = absl::UnknownError("not run");
  // A pooled connection the server dropped (it restarted, or failed over)
  // is replaced and the read retried; after a restart every pooled
  // connection is stale, so this may take up to max_connections tries. A
  // fresh connection failing is a real outage: fail closed.
  for (int attempt = 0; attempt <= settings_->options.max_connections; ++attempt) {
    ASSIGN_OR_RETURN(auto conn, pool_->Acquire(settings_->options.query_timeout));
    result = conn->Execute(kLookup, {param});
    if (result.ok() || !conn->broken()) break;
    const bool stale = !conn.fresh();
    conn.Discard();
    if (!stale) break;
  }
  if (!result.ok()) return result.status();
  if (result->rows() == 0) return internal::AccountNotFound(url);
  Account account;
  account.url = param;
  absl::StatusOr<AccountStatus> status = ParseAccountStatus(result->Text(0, 0));
  if (!status.ok()) {
    return absl::DataLossError(
        absl::StrCat("account ", url, ": ", status.status().message()));
  }
  account.status = *status;
  ASSIGN_OR_RETURN(int64_t created, result->Int(0, 1));
  account.created_at = FromStoreMicros(created);
  for (int row = 0; row < result->rows(); ++row) {
    if (result->IsNull(row, 2)) continue;  // LEFT JOIN: an account without keys.
    AccountKey& key = account.keys.emplace_back();
    key.thumbprint = std::string(result->Text(row, 2));
    key.jwk = std::string(result->Text(row, 3));
    ASSIGN_OR_RETURN(int64_t added, result->Int(row, 4));
    key.added_at = FromStoreMicros(added);
    if (!result->IsNull(row, 5)) {
      ASSIGN_OR_RETURN(int64_t retired, result->Int(row, 5));
      key.retired_at = FromStoreMicros(retired);
    }
  }
  RETURN_IF_ERROR(internal::CheckLoadedAccount(account));
  return account;
}

template <typename Body>
absl::Status PostgresAccountStore::InTransaction(Body body) {
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto conn, pool_->Acquire(settings_->options.query_timeout));
    absl::Status begun = conn->ExecuteSql("BEGIN").status();
    if (!begun.ok()) {
      // As in Lookup: replace stale pooled connections (nothing was written).
      const bool retry = conn->broken() && !conn.fresh() &&
                         attempt < settings_->options.max_connections;
      if (conn->broken()) conn.Discard();
      if (retry) continue;
      return begun;
    }
    absl::Status status = body(*conn);
    if (status.ok()) status = conn->ExecuteSql("COMMIT").status();
    if (!status.ok()) {
      if (conn->broken() || !conn->ExecuteSql("ROLLBACK").ok()) conn.Discard();
    }
    return status;
  }
}

absl::Status PostgresAccountStore::Add(absl::string_view url, const AccountKey& key) {
  RETURN_IF_ERROR(ValidateAccountUrl(url));
  RETURN_IF_ERROR(ValidateNewKey(key));
  return InTransaction([&](Connection& conn) -> absl::Status {
    absl::StatusOr<AccountRow> existing = LockAccount(conn, url);
    if (existing.ok()) return internal::AccountExists(url);
    if (!absl::IsNotFound(existing.status())) return existing.status();
    RETURN_IF_ERROR(CheckKeyIsNew(conn, "", url, key.thumbprint));
    // A concurrent Add of the same URL or key fails here on the unique
    // constraints (ALREADY_EXISTS).
    ASSIGN_OR_RETURN(PgResult inserted,
                     conn.Execute(kInsertAccount,
                                  {std::string(url), StoreTime(key.added_at)}));
    return InsertKey(conn, std::string(inserted.Text(0, 0)), key);
  });
}

absl::Status PostgresAccountStore::RotateKey(absl::string_view url,
                                             const AccountKey& key) {
  RETURN_IF_ERROR(ValidateAccountUrl(url));
  RETURN_IF_ERROR(ValidateNewKey(key));
  return InTransaction([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(AccountRow account, LockAccount(conn, url));
    RETURN_IF_ERROR(internal::CheckCanRotate(url, account.status));
    RETURN_IF_ERROR(CheckKeyIsNew(conn, account.id, url, key.thumbprint));
    RETURN_IF_ERROR(
        conn.Execute(kRetireCurrentKey, {account.id, StoreTime(key.added_at)}).status());
    return InsertKey(conn, account.id, key);
  });
}

absl::Status PostgresAccountStore::SetStatus(absl::string_view url,
                                             AccountStatus status) {
  RETURN_IF_ERROR(ValidateAccountUrl(url));
  return InTransaction([&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(AccountRow account, LockAccount(conn, url));
    bool no_op = false;
    RETURN_IF_ERROR(internal::CheckStatusChange(url, account.status, status, &no_op));
    if (no_op) return absl::OkStatus();
    return conn
        .Execute(kSetStatus, {account.id, std::string(AccountStatusName(status))})
        .status();
  });
}

}  // namespace vantage::va
