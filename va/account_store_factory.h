// OpenAccountStore: pick the AccountStore implementation from one location
// string, as given on a command line (`--accounts=...`).
#ifndef VANTAGE_VA_ACCOUNT_STORE_FACTORY_H_
#define VANTAGE_VA_ACCOUNT_STORE_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "va/account_store.h"

namespace vantage::va {

// StoreOptions are the settings common to both stores.
struct StoreOptions {
  // SQLite: the busy timeout (how long to wait for a lock). PostgreSQL: the
  // per-statement timeout. Both: the longest wait for a pooled connection.
  absl::Duration timeout = absl::Seconds(2);
  // PostgreSQL: the deadline for opening a connection.
  absl::Duration connect_timeout = absl::Seconds(2);
  // Connections shared by concurrent calls (1..64).
  int max_connections = 4;
  // SQLite: create the file when it does not exist. False makes a missing
  // file NOT_FOUND (a mistyped path must not become a new, empty store).
  bool create_if_missing = true;
};

// OpenAccountStore opens the store named by `location`:
//   "postgresql://..." or "postgres://..."  PostgreSQL (a libpq URI);
//   "sqlite:PATH"                           SQLite file PATH;
//   "PATH" (no "scheme://")                 SQLite file PATH.
// INVALID_ARGUMENT for an empty location or another scheme; otherwise what
// SqliteAccountStore::Create / PostgresAccountStore::Create return. Messages
// never contain a PostgreSQL password (see RedactAccountStoreLocation).
absl::StatusOr<std::unique_ptr<AccountStore>> OpenAccountStore(
    absl::string_view location, const StoreOptions& options);

// RedactAccountStoreLocation returns `location` fit for logs: a PostgreSQL
// URI with its password replaced by "REDACTED"; SQLite paths unchanged.
std::string RedactAccountStoreLocation(absl::string_view location);

}  // namespace vantage::va

#endif  // VANTAGE_VA_ACCOUNT_STORE_FACTORY_H_
