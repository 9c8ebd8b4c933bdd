#include "va/account_store.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "policy/account_hash.h"
#include "policy/jwk.h"

namespace vantage::va {

absl::string_view AccountStatusName(AccountStatus status) {
  switch (status) {
    case AccountStatus::kValid:
      return "valid";
    case AccountStatus::kDeactivated:
      return "deactivated";
    case AccountStatus::kRevoked:
      return "revoked";
  }
  return "unknown";
}

absl::StatusOr<AccountStatus> ParseAccountStatus(absl::string_view name) {
  for (AccountStatus status :
       {AccountStatus::kValid, AccountStatus::kDeactivated,
        AccountStatus::kRevoked}) {
    if (name == AccountStatusName(status)) return status;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "account status \"", absl::CHexEscape(name),
      "\" is not one of valid, deactivated, revoked (RFC 8555 section 7.1.2)"));
}

absl::Status ValidateAccountUrl(absl::string_view url) {
  if (url.empty()) {
    return absl::InvalidArgumentError("account URL is empty");
  }
  if (url.size() > policy::kMaxAccountUrlLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("account URL is ", url.size(), " bytes, more than the ",
                     policy::kMaxAccountUrlLength, "-byte limit"));
  }
  for (size_t i = 0; i < url.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(url[i]);
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "account URL has byte 0x", absl::Hex(c, absl::kZeroPad2),
          " at offset ", i,
          "; only visible ASCII (%x21-7E) is allowed (RFC 3986 section 2)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateThumbprint(absl::string_view thumbprint) {
  if (thumbprint.size() != policy::kThumbprintLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key thumbprint is ", thumbprint.size(),
        " characters; an RFC 7638 SHA-256 thumbprint in base64url without "
        "padding has exactly ",
        policy::kThumbprintLength));
  }
  // 43 characters decode to 32 octets; Base64UrlDecode names the offending
  // byte, or the non-canonical last character.
  absl::StatusOr<std::string> raw = policy::Base64UrlDecode(thumbprint);
  if (!raw.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("key thumbprint ", raw.status().message()));
  }
  return absl::OkStatus();
}

absl::Status ValidateNewKey(const AccountKey& key) {
  if (absl::Status status = ValidateThumbprint(key.thumbprint); !status.ok()) {
    return status;
  }
  if (key.jwk.empty()) {
    return absl::InvalidArgumentError("key JWK is empty");
  }
  if (key.jwk.size() > policy::kMaxJwkLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("key JWK is ", key.jwk.size(), " bytes, more than the ",
                     policy::kMaxJwkLength, "-byte limit"));
  }
  for (char ch : key.jwk) {
    const unsigned char c = static_cast<unsigned char>(ch);
    // JSON text (RFC 8259) can carry any character as a \u escape, so
    // requiring ASCII loses nothing and keeps both stores byte-identical.
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat("key JWK has byte 0x", absl::Hex(c, absl::kZeroPad2),
                       "; it must be ASCII JSON text (escape other characters "
                       "as \\u sequences)"));
    }
  }
  const absl::Time earliest = absl::UnixEpoch();
  const absl::Time latest =
      absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  if (key.added_at < earliest || key.added_at >= latest) {
    return absl::InvalidArgumentError(
        absl::StrCat("key added_at ", absl::FormatTime(key.added_at),
                     " is outside the years 1970..9999"));
  }
  if (key.retired_at != absl::InfiniteFuture()) {
    return absl::InvalidArgumentError(
        "key retired_at must be unset (infinite future): a new key is the "
        "current key");
  }
  return absl::OkStatus();
}

}  // namespace vantage::va
