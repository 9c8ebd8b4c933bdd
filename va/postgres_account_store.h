// PostgresAccountStore: the production AccountStore, a PostgreSQL database
// reached through libpq (DESIGN.md "Account store": a CA points the VA at a
// read replica of its own account database). Same tables and rules as the
// SQLite store; times are timestamptz.
//
// Every call is bounded: connecting by connect_timeout, each statement by
// query_timeout (server-side statement_timeout and lock_timeout, plus a
// client-side deadline for a server that stops answering altogether). A
// connection that breaks is dropped and the next call opens a new one, so a
// restarted server works again without restarting the VA; a Lookup (or the
// BEGIN of a write) that finds its pooled connection dead retries on another,
// until a freshly opened connection answers or fails. Errors never contain
// the password.
#ifndef VANTAGE_VA_POSTGRES_ACCOUNT_STORE_H_
#define VANTAGE_VA_POSTGRES_ACCOUNT_STORE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "va/account_store.h"
#include "va/account_store_pool.h"

namespace vantage::va {

class PostgresAccountStore final : public AccountStore {
 public:
  struct Options {
    // libpq connection URI: postgresql://user:password@host:port/dbname?...
    // (or postgres://). Parameters in the URI (sslmode, ...) are honoured.
    std::string uri;
    // Deadline for opening one connection (TCP, TLS, authentication).
    absl::Duration connect_timeout = absl::Seconds(2);
    // Deadline for one statement; also the longest a call waits for a free
    // pooled connection.
    absl::Duration query_timeout = absl::Seconds(2);
    // Connections shared by concurrent calls.
    int max_connections = 4;
  };

  // Create checks the options, connects, creates the schema if the database
  // has none (under an advisory lock, so concurrent first starts agree) and
  // checks its version. A replica that already has the schema is only read.
  // INVALID_ARGUMENT for bad options or an unparsable URI; UNAVAILABLE when
  // the server cannot be reached in time; FAILED_PRECONDITION for a newer
  // schema or a read-only database without the schema.
  static absl::StatusOr<std::unique_ptr<PostgresAccountStore>> Create(
      const Options& options);

  ~PostgresAccountStore() override;

  absl::StatusOr<Account> Lookup(absl::string_view url) override;
  absl::Status Add(absl::string_view url, const AccountKey& key) override;
  absl::Status RotateKey(absl::string_view url, const AccountKey& key) override;
  absl::Status SetStatus(absl::string_view url, AccountStatus status) override;

  // Connection is one libpq connection with its prepared statements; Settings
  // what every connection needs (both defined in the .cc file).
  class Connection;
  struct Settings;

 private:
  PostgresAccountStore(std::unique_ptr<Settings> settings,
                       std::unique_ptr<AccountStorePool<Connection>> pool);

  // InTransaction runs `body` between BEGIN and COMMIT on one connection,
  // rolling back on error. Pooled connections found dead at BEGIN are
  // replaced (nothing was written yet).
  template <typename Body>
  absl::Status InTransaction(Body body);

  std::unique_ptr<Settings> settings_;
  std::unique_ptr<AccountStorePool<Connection>> pool_;
};

// RedactPostgresUri returns `uri` with the password (in the user-info part
// and in a `password=` query parameter) replaced by "REDACTED", for logs and
// error messages.
std::string RedactPostgresUri(absl::string_view uri);

}  // namespace vantage::va

#endif  // VANTAGE_VA_POSTGRES_ACCOUNT_STORE_H_
