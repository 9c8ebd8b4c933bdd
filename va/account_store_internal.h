// Pieces shared by the SQLite and PostgreSQL account stores so that both
// enforce the same rules with the same messages. Not a public API.
#ifndef VANTAGE_VA_ACCOUNT_STORE_INTERNAL_H_
#define VANTAGE_VA_ACCOUNT_STORE_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "va/account_store.h"

namespace vantage::va::internal {

// kSchemaVersion is the version of the tables described in DESIGN.md
// "Account store" that this code reads and writes. A store whose
// schema_version table holds a larger number was migrated by newer code and
// is refused (FAILED_PRECONDITION) rather than misread.
inline constexpr int64_t kSchemaVersion = 1;

// CheckSchemaVersion accepts kSchemaVersion; anything else is
// FAILED_PRECONDITION naming both versions.
absl::Status CheckSchemaVersion(int64_t found, absl::string_view store);

// CheckStatusChange decides whether an account in status `from` may move to
// `to` (RFC 8555 section 7.1.6: valid -> deactivated and valid -> revoked;
// both are final). Returns OK for an allowed change, and sets *no_op when
// from == to (nothing to write).
absl::Status CheckStatusChange(absl::string_view url, AccountStatus from,
                               AccountStatus to, bool* no_op);

// CheckCanRotate: only a valid account gets a new key (RFC 8555 sections
// 7.1.6 and 7.3.5: a deactivated or revoked account's requests are refused).
absl::Status CheckCanRotate(absl::string_view url, AccountStatus status);

// Errors with the same wording in both stores.
absl::Status AccountNotFound(absl::string_view url);
absl::Status AccountExists(absl::string_view url);
absl::Status KeyAlreadyOnAccount(absl::string_view url,
                                 absl::string_view thumbprint);
// `other_url` is the account that has the key as its current key.
absl::Status KeyUsedByOtherAccount(absl::string_view thumbprint,
                                   absl::string_view other_url);

// CheckLoadedAccount verifies what a Lookup read before it is handed to the
// VA: at least one key, the first key current, no other key current, every
// thumbprint well-formed and listed once. A store edited by hand (or a
// replica of a CA's own database) could break these; the VA must then fail
// closed (DATA_LOSS naming the account) instead of validating against a
// partial key list.
absl::Status CheckLoadedAccount(const Account& account);

// Unix microseconds, the unit the stores keep (SQLite INTEGER; PostgreSQL
// timestamptz has microsecond resolution). Sub-microsecond parts are
// truncated towards the past.
int64_t ToStoreMicros(absl::Time t);
absl::Time FromStoreMicros(int64_t micros);

}  // namespace vantage::va::internal

#endif  // VANTAGE_VA_ACCOUNT_STORE_INTERNAL_H_
