// `vantagectl accounts` through the built binary, on a real SQLite file:
// add (PEM), rotate-key (JWK), deactivate, show, and the exit codes.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/test_process.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "policy/jwk.h"

namespace vantage::cli {
namespace {

using ::testing::HasSubstr;

constexpr char kBinary[] = "cli/vantagectl";
constexpr char kRfcJwk[] =
    R"({"e":"AQAB","kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"})";
constexpr char kRfcThumbprint[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
constexpr char kUrl[] = "--account-url=https://ca.example/acct/123";

std::string TempFile(const std::string& name, const std::string& contents) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

std::string NewEd25519PublicKeyPem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &s).ok()) << text;
  return s;
}

const google::protobuf::Value& Get(const google::protobuf::Struct& s, const std::string& key) {
  static const auto* const kNull = new google::protobuf::Value();
  auto it = s.fields().find(key);
  return it == s.fields().end() ? *kNull : it->second;
}

TEST(VantagectlAccounts, ManagesAnAccountThroughItsLifecycle) {
  const std::string accounts =
      "--accounts=sqlite:" + absl::StrCat(std::getenv("TEST_TMPDIR"), "/accounts.db");
  const std::string pem_text = NewEd25519PublicKeyPem();
  absl::StatusOr<std::string> pem_thumbprint = policy::PemPublicKeyThumbprint(pem_text);
  ASSERT_TRUE(pem_thumbprint.ok()) << pem_thumbprint.status();
  const std::string pem = "--public-key=" + TempFile("account.pem", pem_text);
  const std::string jwk = "--jwk=" + TempFile("account.jwk", kRfcJwk);

  ProcessResult r = RunProcess(kBinary, {"accounts", "add", accounts, kUrl, pem});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(*pem_thumbprint));

  r = RunProcess(kBinary, {"accounts", "rotate-key", accounts, kUrl, jwk});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(kRfcThumbprint));

  r = RunProcess(kBinary, {"accounts", "deactivate", accounts, kUrl});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = RunProcess(kBinary, {"accounts", "show", accounts, kUrl});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const google::protobuf::Struct shown = Json(r.out);
  EXPECT_EQ(Get(shown, "url").string_value(), "https://ca.example/acct/123");
  EXPECT_EQ(Get(shown, "status").string_value(), "deactivated");
  const auto& keys = Get(shown, "keys").list_value();
  ASSERT_EQ(keys.values_size(), 2);
  EXPECT_EQ(Get(keys.values(0).struct_value(), "thumbprint").string_value(), kRfcThumbprint);
  EXPECT_TRUE(Get(keys.values(0).struct_value(), "current").bool_value());
  EXPECT_EQ(Get(keys.values(1).struct_value(), "thumbprint").string_value(), *pem_thumbprint);
  EXPECT_FALSE(Get(keys.values(1).struct_value(), "current").bool_value());
  EXPECT_EQ(Get(Get(keys.values(1).struct_value(), "jwk").struct_value(), "crv").string_value(),
            "Ed25519");

  // Exit codes: 1 when the store refuses, 2 for a usage error.
  r = RunProcess(kBinary, {"accounts", "rotate-key", accounts, kUrl, pem});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("is deactivated"));
  r = RunProcess(kBinary,
                 {"accounts", "show", accounts, "--account-url=https://ca.example/acct/9"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("no account with URL https://ca.example/acct/9"));
  r = RunProcess(kBinary, {"accounts", "show", kUrl});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--accounts is required"));
}

TEST(VantagectlAccounts, IsListedInHelp) {
  ProcessResult r = RunProcess(kBinary, {"help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: vantagectl accounts add"));
  r = RunProcess(kBinary, {"help", "accounts"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--public-key=PEM_FILE"));
}

}  // namespace
}  // namespace vantage::cli
