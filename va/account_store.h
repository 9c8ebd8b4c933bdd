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

// Input rules shared by every AccountStore implementation, so that the SQLite
// and PostgreSQL stores accept and refuse exactly the same inputs.

// ValidateAccountUrl checks an account URL before it reaches a store:
// non-empty, at most policy::kMaxAccountUrlLength (2048) bytes (the bound on
// U in the hashed accounturi, SPEC.md 3), and only visible ASCII
// (%x21-7E, RFC 3986 section 2: a URI has no spaces, controls or raw
// non-ASCII bytes). The URL is otherwise opaque: it is compared byte for
// byte (SPEC.md 3: U is the account URL, exact bytes as issued by the CA).
// INVALID_ARGUMENT naming "account URL" and the rule otherwise.
absl::Status ValidateAccountUrl(absl::string_view url);

// ValidateThumbprint checks an RFC 7638 SHA-256 thumbprint in base64url
// without padding: exactly 43 characters of [A-Za-z0-9_-] that are the
// canonical encoding of 32 octets (policy::IsThumbprint; SPEC.md 3 "K" is
// this exact string, so a non-canonical spelling could never match what a
// client computes). INVALID_ARGUMENT naming "key thumbprint" otherwise.
absl::Status ValidateThumbprint(absl::string_view thumbprint);

// ValidateNewKey checks a key passed to Add or RotateKey: the thumbprint
// passes ValidateThumbprint; the JWK is non-empty ASCII
// JSON text of at most policy::kMaxJwkLength bytes; added_at lies in years
// 1970..9999; retired_at is absl::InfiniteFuture() (a new key is current).
// INVALID_ARGUMENT naming the field otherwise.
absl::Status ValidateNewKey(const AccountKey& key);

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // Lookup returns the account with this exact URL (byte-exact compare).
  // NOT_FOUND when there is none; INVALID_ARGUMENT when the URL fails
  // ValidateAccountUrl; UNAVAILABLE when the store cannot be reached or stays
  // locked beyond its timeout; DATA_LOSS when the stored account is
  // inconsistent (no current key, unknown status). Callers fail closed on
  // every non-OK status. Never served from a cache (SPEC.md 3).
  virtual absl::StatusOr<Account> Lookup(absl::string_view url) = 0;

  // Add creates an account with status "valid" and its first key; the
  // account's created_at is key.added_at. ALREADY_EXISTS if the URL is taken
  // or the key is another account's current key (RFC 8555 section 7.3: one
  // key, one account); INVALID_ARGUMENT when ValidateAccountUrl or
  // ValidateNewKey fails.
  virtual absl::Status Add(absl::string_view url, const AccountKey& key) = 0;

  // RotateKey makes `key` the current key; the previous current key is
  // retired at key.added_at (kept, so it still counts as a retained key,
  // SPEC.md 3). NOT_FOUND for an unknown account; ALREADY_EXISTS if the
  // account already had this key or it is another account's current key
  // (RFC 8555 section 7.3.5); FAILED_PRECONDITION unless the account is
  // valid (RFC 8555 section 7.1.6: deactivated and revoked are final).
  virtual absl::Status RotateKey(absl::string_view url, const AccountKey& key) = 0;

  // SetStatus changes the account status (deactivate, revoke). RFC 8555
  // section 7.1.6: only a valid account changes status; setting the status an
  // account already has is a no-op, any other change of a deactivated or
  // revoked account is FAILED_PRECONDITION. NOT_FOUND for an unknown account.
  // Takes effect on the very next Lookup.
  virtual absl::Status SetStatus(absl::string_view url, AccountStatus status) = 0;
};

}  // namespace vantage::va

#endif  // VANTAGE_VA_ACCOUNT_STORE_H_
