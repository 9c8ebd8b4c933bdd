#include "va/account_store_internal.h"

#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "va/account_store.h"

namespace vantage::va::internal {

absl::Status CheckSchemaVersion(int64_t found, absl::string_view store) {
  if (found == kSchemaVersion) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      store, " has account schema version ", found, "; this build reads version ",
      kSchemaVersion, " (upgrade Vantage, or restore a matching database)"));
}

absl::Status CheckStatusChange(absl::string_view url, AccountStatus from,
                               AccountStatus to, bool* no_op) {
  *no_op = from == to;
  if (*no_op) return absl::OkStatus();
  switch (from) {
    case AccountStatus::kValid:
      return absl::OkStatus();
    case AccountStatus::kDeactivated:
    case AccountStatus::kRevoked:
      break;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "account ", url, " is ", AccountStatusName(from), ", which is final; it ",
      "cannot become ", AccountStatusName(to), " (RFC 8555 section 7.1.6)"));
}

absl::Status CheckCanRotate(absl::string_view url, AccountStatus status) {
  switch (status) {
    case AccountStatus::kValid:
      return absl::OkStatus();
    case AccountStatus::kDeactivated:
    case AccountStatus::kRevoked:
      break;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "account ", url, " is ", AccountStatusName(status),
      "; only a valid account can change its key (RFC 8555 section 7.1.6)"));
}

absl::Status AccountNotFound(absl::string_view url) {
  return absl::NotFoundError(absl::StrCat("no account with URL ", url));
}

absl::Status AccountExists(absl::string_view url) {
  return absl::AlreadyExistsError(
      absl::StrCat("an account with URL ", url, " already exists"));
}

absl::Status KeyAlreadyOnAccount(absl::string_view url,
                                 absl::string_view thumbprint) {
  return absl::AlreadyExistsError(absl::StrCat(
      "account ", url, " already had the key with thumbprint ", thumbprint,
      " (a retained key cannot become current again)"));
}

absl::Status KeyUsedByOtherAccount(absl::string_view thumbprint,
                                   absl::string_view other_url) {
  return absl::AlreadyExistsError(absl::StrCat(
      "the key with thumbprint ", thumbprint,
      " is the current key of account ", other_url,
      " (RFC 8555 section 7.3.5: a key belongs to one account)"));
}

absl::Status CheckLoadedAccount(const Account& account) {
  if (account.keys.empty()) {
    return absl::DataLossError(
        absl::StrCat("account ", account.url, " has no keys in the store"));
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (size_t i = 0; i < account.keys.size(); ++i) {
    const AccountKey& key = account.keys[i];
    const bool current = key.retired_at == absl::InfiniteFuture();
    if (i == 0 && !current) {
      return absl::DataLossError(absl::StrCat(
          "account ", account.url, " has no current key in the store"));
    }
    if (i > 0 && current) {
      return absl::DataLossError(absl::StrCat(
          "account ", account.url, " has more than one current key in the store"));
    }
    if (absl::Status status = ValidateThumbprint(key.thumbprint); !status.ok()) {
      return absl::DataLossError(absl::StrCat("account ", account.url,
                                              ": stored key ", i, ": ",
                                              status.message()));
    }
    if (!seen.insert(key.thumbprint).second) {
      return absl::DataLossError(absl::StrCat("account ", account.url,
                                              " lists thumbprint ",
                                              key.thumbprint, " twice"));
    }
  }
  return absl::OkStatus();
}

int64_t ToStoreMicros(absl::Time t) { return absl::ToUnixMicros(t); }

absl::Time FromStoreMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

}  // namespace vantage::va::internal
