// SqliteAccountStore: the default AccountStore, one SQLite file (DESIGN.md
// "Account store": zero set-up). The schema is created on first use; the file
// runs in WAL mode so that Lookups (readers) never wait for vantagectl
// (a writer), and every Lookup reads the committed state afresh (no cache:
// a deactivation is seen by the very next validation, SPEC.md 3).
#ifndef VANTAGE_VA_SQLITE_ACCOUNT_STORE_H_
#define VANTAGE_VA_SQLITE_ACCOUNT_STORE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "va/account_store.h"
#include "va/account_store_pool.h"

namespace vantage::va {

class SqliteAccountStore final : public AccountStore {
 public:
  struct Options {
    // The database file. Created, with the schema, when missing (unless
    // create_if_missing is false: then a missing file is NOT_FOUND).
    std::string path;
    bool create_if_missing = true;
    // How long a statement waits for a lock another connection (or process)
    // holds before it fails with UNAVAILABLE (sqlite3_busy_timeout). Also the
    // longest a call waits for a free pooled connection.
    absl::Duration busy_timeout = absl::Seconds(2);
    // Connections (each with its own prepared statements) shared by
    // concurrent calls. 1 is one connection behind a mutex; more let
    // Lookups run in parallel (WAL readers do not block each other).
    int max_connections = 4;
  };

  // Create opens (or creates) the file, switches it to WAL mode, creates the
  // schema if it is missing and checks its version. INVALID_ARGUMENT for bad
  // options; UNAVAILABLE when the file cannot be opened or stays locked;
  // PERMISSION_DENIED when it cannot be written; DATA_LOSS when it is not a
  // SQLite database (or is corrupt); FAILED_PRECONDITION for a newer schema.
  // Every message names the path.
  static absl::StatusOr<std::unique_ptr<SqliteAccountStore>> Create(
      const Options& options);

  ~SqliteAccountStore() override;

  absl::StatusOr<Account> Lookup(absl::string_view url) override;
  absl::Status Add(absl::string_view url, const AccountKey& key) override;
  absl::Status RotateKey(absl::string_view url, const AccountKey& key) override;
  absl::Status SetStatus(absl::string_view url, AccountStatus status) override;

  // Connection is one sqlite3 handle with its prepared statements (defined
  // in the .cc file).
  class Connection;

 private:
  explicit SqliteAccountStore(const Options& options);

  const Options options_;
  std::unique_ptr<AccountStorePool<Connection>> pool_;
};

}  // namespace vantage::va

#endif  // VANTAGE_VA_SQLITE_ACCOUNT_STORE_H_
