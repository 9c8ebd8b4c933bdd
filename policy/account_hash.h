// AccountHash: the -02 hashed accounturi that binds a dns-persist-01 record to
// an ACME account KEY (SPEC.md 3; draft-ietf-acme-dns-persist-02, the fix for
// the proxy-ACME-server attack of issue #64):
//
//   accounturi = <prefix> <alg> "/" b64url_nopad( H( L || D || K || U ) )
//
// with L one octet (the length of D), D the FQDN or the single byte "*", K
// the 43-character RFC 7638 thumbprint and U the account URL, exact bytes.
#ifndef VANTAGE_POLICY_ACCOUNT_HASH_H_
#define VANTAGE_POLICY_ACCOUNT_HASH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/openssl_util.h"

namespace vantage::policy {

// HashAlg is a hash algorithm of the accounturi, named by its registry token
// (SPEC.md 3): "sha-256" is required by -02; "sha-384" and "sha-512" are
// optional and only accepted where configured.
enum class HashAlg { kSha256, kSha384, kSha512 };

// HashAlgToken returns the exact lowercase token ("sha-256", ...).
absl::string_view HashAlgToken(HashAlg alg);

// ParseHashAlg accepts only the exact lowercase tokens: "SHA-256", "sha256"
// or "sha-256 " are INVALID_ARGUMENT (SPEC.md 3: other-case alg = malformed).
absl::StatusOr<HashAlg> ParseHashAlg(absl::string_view token);

// HashAlgDigestLength is the digest size in octets (32, 48, 64).
size_t HashAlgDigestLength(HashAlg alg);

// HashAlgEncodedLength is the base64url length of a digest (43, 64, 86).
size_t HashAlgEncodedLength(HashAlg alg);

// kDomainIndependent is D for the domain-independent form (SPEC.md 3).
inline constexpr absl::string_view kDomainIndependent = "*";
// kMaxAccountUrlLength bounds U (ValidatePersistRequest.account_url).
inline constexpr size_t kMaxAccountUrlLength = 2048;
// kMaxHashPrefixLength bounds the accountHashPrefix.
inline constexpr size_t kMaxHashPrefixLength = 1024;

// AccountUriHasher computes hashed accounturi values. It reuses one
// EVP_MD_CTX, and the EVP_MD of each algorithm is fetched once per process
// (perf-floors: a fetched EVP_MD with a reused context costs 0.25 us per
// SHA-256 against 0.63 us for one-shot EVP_Digest). Not thread-safe: use one
// per thread (they are cheap).
class AccountUriHasher {
 public:
  // Create fails (INTERNAL) only when OpenSSL cannot provide the digests.
  static absl::StatusOr<std::unique_ptr<AccountUriHasher>> Create();

  // Digest returns H(L || D || K || U), raw octets. INVALID_ARGUMENT when D
  // is empty or longer than 255 octets (L is one octet), K is not a
  // thumbprint (IsThumbprint), or U is empty or longer than
  // kMaxAccountUrlLength.
  absl::StatusOr<std::string> Digest(HashAlg alg, absl::string_view d, absl::string_view thumbprint,
                                     absl::string_view account_url);

  // AppendDigest is Digest appending the octets to `*out` (no allocation
  // when `out` has room): for callers that keep many digests together.
  absl::Status AppendDigest(HashAlg alg, absl::string_view d, absl::string_view thumbprint,
                            absl::string_view account_url, std::string* out);

  // AccountUri returns prefix + token + "/" + Base64UrlNoPad(Digest(...)).
  // INVALID_ARGUMENT also for an empty or too long prefix.
  absl::StatusOr<std::string> AccountUri(absl::string_view prefix, HashAlg alg, absl::string_view d,
                                         absl::string_view thumbprint,
                                         absl::string_view account_url);

 private:
  explicit AccountUriHasher(internal::EvpMdCtxPtr ctx) : ctx_(std::move(ctx)) {}
  internal::EvpMdCtxPtr ctx_;
};

// HashedAccountUri is AccountUriHasher::AccountUri with a temporary hasher:
// for one-off uses (`vantagectl record`). The verdict precomputes its values
// with one hasher (record.h, AccountBinding).
absl::StatusOr<std::string> HashedAccountUri(absl::string_view prefix, HashAlg alg,
                                             absl::string_view d, absl::string_view thumbprint,
                                             absl::string_view account_url);

namespace internal {

// FetchedMd returns the process-wide EVP_MD for `alg`, fetched on first use
// (thread-safe static initialization); null if OpenSSL has none. EVP_MD
// objects are immutable and shared between threads; they are never freed
// (they live as long as the process, like OpenSSL's own provider data).
// Shared by the hasher and AccountBinding (record.cc).
const EVP_MD* FetchedMd(HashAlg alg);

}  // namespace internal

}  // namespace vantage::policy

#endif  // VANTAGE_POLICY_ACCOUNT_HASH_H_
