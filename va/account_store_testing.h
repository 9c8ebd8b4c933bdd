// Test helpers for the account store tests: well-formed keys and fixed times.
#ifndef VANTAGE_VA_ACCOUNT_STORE_TESTING_H_
#define VANTAGE_VA_ACCOUNT_STORE_TESTING_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "policy/jwk.h"
#include "va/account_store.h"

namespace vantage::va::testing {

// TestThumbprint returns a distinct well-formed thumbprint for each n >= 0:
// the canonical base64url of 32 octets ("test" ... n big-endian).
inline std::string TestThumbprint(int n) {
  std::string raw = "test-thumbprint-octets-";
  raw.resize(32, '\0');
  for (int i = 0; i < 4; ++i) raw[31 - i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return policy::Base64UrlNoPad(raw);
}

// TestTime is a fixed instant (2026-11-01 00:00:00 UTC) plus `seconds`.
inline absl::Time TestTime(int64_t seconds) {
  return absl::FromCivil(absl::CivilSecond(2026, 11, 1, 0, 0, 0), absl::UTCTimeZone()) +
         absl::Seconds(seconds);
}

// TestKey is key number n, added at TestTime(n).
inline AccountKey TestKey(int n) {
  AccountKey key;
  key.thumbprint = TestThumbprint(n);
  key.jwk = absl::StrCat(R"({"crv":"P-256","kty":"EC","x":"x)", n, R"(","y":"y)", n, R"("})");
  key.added_at = TestTime(n);
  return key;
}

}  // namespace vantage::va::testing

#endif  // VANTAGE_VA_ACCOUNT_STORE_TESTING_H_
