// AccountStore: read (and, for vantagectl, manage) ACME accounts and their key
// thumbprints. DESIGN.md "Account store". The VA reads it live on every
// validation (no cache: deactivation must take effect on the very next one,
// SPEC.md 3).
#ifndef VANTAGE_VA_ACCOUNT_STORE_H_
#define VANTAGE_VA_ACCOUNT_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace vantage::va {

// AccountStatus mirrors RFC 8555 section 7.1.2 account status.
enum class AccountStatus { kValid, kDeactivated, kRevoked };

// AccountStatusName returns "valid", "deactivated" or "revoked".
absl::string_view AccountStatusName(AccountStatus status);
// ParseAccountStatus is the inverse; INVALID_ARGUMENT otherwise.
absl::StatusOr<AccountStatus> ParseAccountStatus(absl::string_view name);

// AccountKey is one key an account has had.
struct AccountKey {
  // RFC 7638 SHA-256 thumbprint, base64url without padding (43 chars).
  std::string thumbprint;
  // The public key as a JWK (JSON text), as registered.
  std::string jwk;
  absl::Time added_at;
  // absl::InfiniteFuture() while it is the current key.
  absl::Time retired_at = absl::InfiniteFuture();
};

// Account is what the VA needs to decide the key binding.
struct Account {
  std::string url;
  AccountStatus status = AccountStatus::kValid;
  absl::Time created_at;
  // Every key the account ever had: current key first, then older keys,
  // most recently retired first (SPEC.md 3 order).
  std::vector<AccountKey> keys;
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // Lookup returns the account with this exact URL (byte-exact compare).
  // NOT_FOUND when there is none; UNAVAILABLE (or another non-OK code) when
  // the store cannot be read: callers fail closed.
  virtual absl::StatusOr<Account> Lookup(absl::string_view url) = 0;

  // Add creates an account with its first key. ALREADY_EXISTS if the URL is
  // taken; INVALID_ARGUMENT for an empty URL or a bad thumbprint.
  virtual absl::Status Add(absl::string_view url, const AccountKey& key) = 0;

  // RotateKey makes `key` the current key; the previous current key is
  // retired (kept, so it still counts as a retained key). NOT_FOUND for an
  // unknown account; ALREADY_EXISTS if the account already had this key.
  virtual absl::Status RotateKey(absl::string_view url, const AccountKey& key) = 0;

  // SetStatus changes the account status (deactivate, revoke).
  virtual absl::Status SetStatus(absl::string_view url, AccountStatus status) = 0;
};

}  // namespace vantage::va

#endif  // VANTAGE_VA_ACCOUNT_STORE_H_
