#include "va/account_store_factory.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "va/account_store.h"
#include "va/postgres_account_store.h"
#include "va/sqlite_account_store.h"

namespace vantage::va {
namespace {

constexpr absl::string_view kSqlitePrefix = "sqlite:";

bool IsPostgres(absl::string_view location) {
  return absl::StartsWith(location, "postgresql://") ||
         absl::StartsWith(location, "postgres://");
}

}  // namespace

std::string RedactAccountStoreLocation(absl::string_view location) {
  if (IsPostgres(location)) return RedactPostgresUri(location);
  // Any other "scheme://" might carry credentials we do not understand.
  if (absl::StrContains(location, "://")) return RedactPostgresUri(location);
  return std::string(location);
}

absl::StatusOr<std::unique_ptr<AccountStore>> OpenAccountStore(
    absl::string_view location, const StoreOptions& options) {
  if (location.empty()) {
    return absl::InvalidArgumentError(
        "account store location is empty (want sqlite:PATH, a file path, or "
        "postgresql://...)");
  }
  if (IsPostgres(location)) {
    PostgresAccountStore::Options pg;
    pg.uri = std::string(location);
    pg.connect_timeout = options.connect_timeout;
    pg.query_timeout = options.timeout;
    pg.max_connections = options.max_connections;
    ASSIGN_OR_RETURN(std::unique_ptr<PostgresAccountStore> store,
                     PostgresAccountStore::Create(pg));
    return std::unique_ptr<AccountStore>(std::move(store));
  }
  absl::string_view path = location;
  if (absl::StartsWith(location, kSqlitePrefix)) {
    path.remove_prefix(kSqlitePrefix.size());
  } else if (absl::StrContains(location, "://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "account store location ", RedactAccountStoreLocation(location),
        " has an unknown scheme (want sqlite:PATH, a file path, or "
        "postgresql://...)"));
  }
  if (path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("account store location ", location, " names no file"));
  }
  SqliteAccountStore::Options sqlite;
  sqlite.path = std::string(path);
  sqlite.busy_timeout = options.timeout;
  sqlite.max_connections = options.max_connections;
  sqlite.create_if_missing = options.create_if_missing;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteAccountStore> store,
                   SqliteAccountStore::Create(sqlite));
  return std::unique_ptr<AccountStore>(std::move(store));
}

}  // namespace vantage::va
