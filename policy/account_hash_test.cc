#include "policy/account_hash.h"

#include <openssl/evp.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/jwk.h"

namespace vantage::policy {
namespace {

using ::testing::HasSubstr;

constexpr char kPrefix[] = "https://ca.example/account-hash/";
constexpr char kThumb[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";  // RFC 7638 3.1
constexpr char kAcct[] = "https://ca.example/acct/123";

// SPEC.md 3: the two published -02 vectors, byte for byte.
TEST(HashedAccountUri, PublishedVectorFqdn) {
  absl::StatusOr<std::string> v =
      HashedAccountUri(kPrefix, HashAlg::kSha256, "example.com", kThumb, kAcct);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v,
            "https://ca.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw");
}

TEST(HashedAccountUri, PublishedVectorDomainIndependent) {
  absl::StatusOr<std::string> v =
      HashedAccountUri(kPrefix, HashAlg::kSha256, kDomainIndependent, kThumb, kAcct);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v,
            "https://ca.example/account-hash/sha-256/NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug");
}

// Independent route: one-shot EVP_Digest over the concatenation built here.
std::string OneShot(const EVP_MD* md, const std::string& input) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(input.data(), input.size(), out, &len, md, nullptr), 1);
  return std::string(reinterpret_cast<char*>(out), len);
}

TEST(AccountUriHasher, DigestIsHashOfLengthDomainKeyUrl) {
  auto hasher = AccountUriHasher::Create();
  ASSERT_TRUE(hasher.ok()) << hasher.status();
  const std::string d(255, 'a');  // the longest D: L = 0xFF
  const std::string input = absl::StrCat(std::string(1, '\xff'), d, kThumb, kAcct);
  EXPECT_EQ(*(*hasher)->Digest(HashAlg::kSha256, d, kThumb, kAcct), OneShot(EVP_sha256(), input));
  EXPECT_EQ(*(*hasher)->Digest(HashAlg::kSha384, d, kThumb, kAcct), OneShot(EVP_sha384(), input));
  EXPECT_EQ(*(*hasher)->Digest(HashAlg::kSha512, d, kThumb, kAcct), OneShot(EVP_sha512(), input));
  // Reusing the hasher gives the same answer (the context is re-initialized).
  EXPECT_EQ(*(*hasher)->Digest(HashAlg::kSha256, d, kThumb, kAcct), OneShot(EVP_sha256(), input));
}

TEST(AccountUriHasher, LengthPrefixSeparatesDomainFromKey) {
  // Without L, D="a" + K="b..." and D="ab" + K="..." could collide; with L
  // the inputs differ. Check the L octet is really there: changing only the
  // split point of the same bytes changes the digest.
  auto hasher = *AccountUriHasher::Create();
  const std::string a = *hasher->Digest(HashAlg::kSha256, "example.com", kThumb, kAcct);
  const std::string b = *hasher->Digest(HashAlg::kSha256, "example.co", kThumb, kAcct);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, OneShot(EVP_sha256(), absl::StrCat("\x0b", "example.com", kThumb, kAcct)));
}

TEST(AccountUriHasher, OtherAlgorithmsHaveTheirLengths) {
  auto hasher = *AccountUriHasher::Create();
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}) {
    absl::StatusOr<std::string> v = hasher->AccountUri(kPrefix, alg, "example.com", kThumb, kAcct);
    ASSERT_TRUE(v.ok()) << v.status();
    const std::string head = absl::StrCat(kPrefix, HashAlgToken(alg), "/");
    ASSERT_THAT(*v, ::testing::StartsWith(head));
    EXPECT_EQ(v->size() - head.size(), HashAlgEncodedLength(alg));
  }
  EXPECT_EQ(HashAlgEncodedLength(HashAlg::kSha256), 43u);
  EXPECT_EQ(HashAlgEncodedLength(HashAlg::kSha384), 64u);
  EXPECT_EQ(HashAlgEncodedLength(HashAlg::kSha512), 86u);
}

struct AlgCase {
  std::string token;
  bool ok;
};

class ParseHashAlgTable : public ::testing::TestWithParam<AlgCase> {};

TEST_P(ParseHashAlgTable, ExactLowercaseTokensOnly) {
  absl::StatusOr<HashAlg> alg = ParseHashAlg(GetParam().token);
  EXPECT_EQ(alg.ok(), GetParam().ok) << GetParam().token;
  if (alg.ok()) {
    EXPECT_EQ(HashAlgToken(*alg), GetParam().token);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseHashAlgTable,
    ::testing::Values(AlgCase{"sha-256", true}, AlgCase{"sha-384", true}, AlgCase{"sha-512", true},
                      AlgCase{"SHA-256", false}, AlgCase{"Sha-256", false},
                      AlgCase{"sha256", false}, AlgCase{"sha-256 ", false},
                      AlgCase{" sha-256", false}, AlgCase{"sha-1", false}, AlgCase{"md5", false},
                      AlgCase{"", false}, AlgCase{std::string("sha-256\0", 8), false}),
    [](const ::testing::TestParamInfo<AlgCase>& info) { return absl::StrCat("Row", info.index); });

struct BadInput {
  std::string name;
  std::string prefix, d, thumbprint, url;
  std::string error;
};

class HashedAccountUriRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(HashedAccountUriRejects, NamesTheInput) {
  const BadInput& c = GetParam();
  absl::StatusOr<std::string> v =
      HashedAccountUri(c.prefix, HashAlg::kSha256, c.d, c.thumbprint, c.url);
  ASSERT_FALSE(v.ok()) << *v;
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()), HasSubstr(c.error));
}

INSTANTIATE_TEST_SUITE_P(
    Table, HashedAccountUriRejects,
    ::testing::Values(
        BadInput{"DomainTooLong", kPrefix, std::string(256, 'a'), kThumb, kAcct, "D is 256 octets"},
        BadInput{"DomainEmpty", kPrefix, "", kThumb, kAcct, "D is 0 octets"},
        BadInput{"ThumbprintShort", kPrefix, "example.com", "NzbLsXh8", kAcct, "hash input K"},
        BadInput{"ThumbprintPadded", kPrefix, "example.com",
                 "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=", kAcct, "hash input K"},
        BadInput{"UrlEmpty", kPrefix, "example.com", kThumb, "", "U (account URL) is 0 octets"},
        BadInput{"UrlTooLong", kPrefix, "example.com", kThumb, std::string(2049, 'u'),
                 "2049 octets"},
        BadInput{"PrefixEmpty", "", "example.com", kThumb, kAcct, "accountHashPrefix"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

}  // namespace
}  // namespace vantage::policy
