#include "policy/account_hash.h"

#include <openssl/evp.h>

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "policy/jwk.h"
#include "policy/text_util.h"

namespace vantage::policy {
namespace {

using internal::DrainOpenSslErrors;
using internal::EvpMdCtxPtr;
using internal::FetchedMd;

}  // namespace

namespace internal {

const EVP_MD* FetchedMd(HashAlg alg) {
  static const std::array<EVP_MD*, 3> mds = [] {
    std::array<EVP_MD*, 3> fetched = {
        EVP_MD_fetch(nullptr, "SHA2-256", nullptr),
        EVP_MD_fetch(nullptr, "SHA2-384", nullptr),
        EVP_MD_fetch(nullptr, "SHA2-512", nullptr),
    };
    DrainOpenSslErrors();
    return fetched;
  }();
  switch (alg) {
    case HashAlg::kSha256:
      return mds[0];
    case HashAlg::kSha384:
      return mds[1];
    case HashAlg::kSha512:
      return mds[2];
  }
  return nullptr;
}

}  // namespace internal

absl::string_view HashAlgToken(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256:
      return "sha-256";
    case HashAlg::kSha384:
      return "sha-384";
    case HashAlg::kSha512:
      return "sha-512";
  }
  return "";
}

absl::StatusOr<HashAlg> ParseHashAlg(absl::string_view token) {
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}) {
    if (token == HashAlgToken(alg)) return alg;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "hash algorithm ", internal::Quote(token),
      " is not one of the exact lowercase tokens sha-256, sha-384, sha-512 (SPEC.md 3)"));
}

size_t HashAlgDigestLength(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256:
      return 32;
    case HashAlg::kSha384:
      return 48;
    case HashAlg::kSha512:
      return 64;
  }
  return 0;
}

size_t HashAlgEncodedLength(HashAlg alg) { return (HashAlgDigestLength(alg) * 8 + 5) / 6; }

absl::StatusOr<std::unique_ptr<AccountUriHasher>> AccountUriHasher::Create() {
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}) {
    if (FetchedMd(alg) == nullptr) {
      return absl::InternalError(absl::StrCat("OpenSSL cannot provide ", HashAlgToken(alg)));
    }
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("EVP_MD_CTX_new: ", DrainOpenSslErrors()));
  }
  return std::unique_ptr<AccountUriHasher>(new AccountUriHasher(std::move(ctx)));
}

absl::StatusOr<std::string> AccountUriHasher::Digest(HashAlg alg, absl::string_view d,
                                                     absl::string_view thumbprint,
                                                     absl::string_view account_url) {
  std::string out;
  absl::Status s = AppendDigest(alg, d, thumbprint, account_url, &out);
  if (!s.ok()) return s;
  return out;
}

absl::Status AccountUriHasher::AppendDigest(HashAlg alg, absl::string_view d,
                                            absl::string_view thumbprint,
                                            absl::string_view account_url, std::string* out) {
  // SPEC.md 3: L is ONE octet, so D is 1..255 octets.
  if (d.empty() || d.size() > 255) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "hash input D is %d octets; it must be 1..255 (L is one octet, SPEC.md 3)", d.size()));
  }
  if (!IsThumbprint(thumbprint)) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash input K ", internal::Quote(thumbprint),
                     " is not an RFC 7638 SHA-256 thumbprint (43 base64url characters)"));
  }
  if (account_url.empty() || account_url.size() > kMaxAccountUrlLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("hash input U (account URL) is %d octets; it must be 1..%d",
                        account_url.size(), kMaxAccountUrlLength));
  }
  const unsigned char l = static_cast<unsigned char>(d.size());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx_.get(), FetchedMd(alg), nullptr) != 1 ||
      EVP_DigestUpdate(ctx_.get(), &l, 1) != 1 ||
      EVP_DigestUpdate(ctx_.get(), d.data(), d.size()) != 1 ||
      EVP_DigestUpdate(ctx_.get(), thumbprint.data(), thumbprint.size()) != 1 ||
      EVP_DigestUpdate(ctx_.get(), account_url.data(), account_url.size()) != 1 ||
      EVP_DigestFinal_ex(ctx_.get(), digest, &len) != 1) {
    return absl::InternalError(absl::StrCat(HashAlgToken(alg), ": ", DrainOpenSslErrors()));
  }
  out->append(reinterpret_cast<const char*>(digest), len);
  return absl::OkStatus();
}

absl::StatusOr<std::string> AccountUriHasher::AccountUri(absl::string_view prefix, HashAlg alg,
                                                         absl::string_view d,
                                                         absl::string_view thumbprint,
                                                         absl::string_view account_url) {
  if (prefix.empty() || prefix.size() > kMaxHashPrefixLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "accountHashPrefix is %d octets; it must be 1..%d", prefix.size(), kMaxHashPrefixLength));
  }
  absl::StatusOr<std::string> digest = Digest(alg, d, thumbprint, account_url);
  if (!digest.ok()) return digest.status();
  return absl::StrCat(prefix, HashAlgToken(alg), "/", Base64UrlNoPad(*digest));
}

absl::StatusOr<std::string> HashedAccountUri(absl::string_view prefix, HashAlg alg,
                                             absl::string_view d, absl::string_view thumbprint,
                                             absl::string_view account_url) {
  absl::StatusOr<std::unique_ptr<AccountUriHasher>> hasher = AccountUriHasher::Create();
  if (!hasher.ok()) return hasher.status();
  return (*hasher)->AccountUri(prefix, alg, d, thumbprint, account_url);
}

}  // namespace vantage::policy
