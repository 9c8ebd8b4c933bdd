#include "tests/pki/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::tests {
namespace {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr LoadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  return cert;
}

std::unique_ptr<EVP_PKEY, PkeyFree> LoadKey(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  return key;
}

// Verify checks `leaf` against `ca_file` for an SSL purpose, as a TLS peer would.
bool Verify(const std::string& ca_file, X509* leaf, int purpose) {
  X509Ptr ca = LoadCert(ca_file);
  if (ca == nullptr) return false;
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  return X509_verify_cert(ctx.get()) == 1;
}

class TestPkiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    TestPkiOptions options;
    options.dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/pki";
    absl::StatusOr<TestPki> pki = TestPki::Create(options);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new TestPki(*pki);
  }
  static TestPki* pki_;
};
TestPki* TestPkiTest::pki_ = nullptr;

struct LeafCase {
  std::string name;
  CertFiles (*files)(const TestPki&);
  int purpose;
  const char* host;  // a name the certificate must match (nullptr: skip)
  bool trusted_by_test_ca;
  bool trusted_by_other_ca;
};

TEST_F(TestPkiTest, EveryLeafChainsToItsCaAndMatchesItsKey) {
  const LeafCase cases[] = {
      {"perspective_server", [](const TestPki& p) { return p.server(kPerspectiveServerName); },
       X509_PURPOSE_SSL_SERVER, kPerspectiveServerName, true, false},
      {"va_server", [](const TestPki& p) { return p.server(kVaServerName); },
       X509_PURPOSE_SSL_SERVER, "localhost", true, false},
      {"va_client", [](const TestPki& p) { return p.client(kVaClientName); },
       X509_PURPOSE_SSL_CLIENT, kVaClientName, true, false},
      {"ra_client", [](const TestPki& p) { return p.client(kRaClientName); },
       X509_PURPOSE_SSL_CLIENT, kRaClientName, true, false},
      {"intruder", [](const TestPki& p) { return p.intruder(); }, X509_PURPOSE_SSL_CLIENT,
       kIntruderClientName, true, false},
      {"rogue", [](const TestPki& p) { return p.rogue(); }, X509_PURPOSE_SSL_CLIENT,
       kVaClientName, false, true},
  };
  for (const LeafCase& c : cases) {
    SCOPED_TRACE(c.name);
    const CertFiles files = c.files(*pki_);
    X509Ptr cert = LoadCert(files.cert_file);
    ASSERT_NE(cert, nullptr);
    auto key = LoadKey(files.key_file);
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
    EXPECT_EQ(Verify(pki_->ca_file(), cert.get(), c.purpose), c.trusted_by_test_ca);
    EXPECT_EQ(Verify(pki_->other_ca_file(), cert.get(), c.purpose), c.trusted_by_other_ca);
    if (c.host != nullptr) {
      EXPECT_EQ(X509_check_host(cert.get(), c.host, 0, 0, nullptr), 1);
    }
    EXPECT_EQ(X509_check_host(cert.get(), "elsewhere.example", 0, 0, nullptr), 0);
    struct stat st;
    ASSERT_EQ(::stat(files.key_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << "private key readable by others";
  }
}

TEST_F(TestPkiTest, ServerCertsAreNotClientCertsAndViceVersa) {
  X509Ptr server = LoadCert(pki_->server(kPerspectiveServerName).cert_file);
  X509Ptr client = LoadCert(pki_->client(kVaClientName).cert_file);
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  EXPECT_FALSE(Verify(pki_->ca_file(), server.get(), X509_PURPOSE_SSL_CLIENT));
  EXPECT_FALSE(Verify(pki_->ca_file(), client.get(), X509_PURPOSE_SSL_SERVER));
}

TEST_F(TestPkiTest, ServerCertsCoverLoopbackAddresses) {
  X509Ptr server = LoadCert(pki_->server(kPerspectiveServerName).cert_file);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "10.0.0.1", 0), 0);
}

TEST_F(TestPkiTest, ConfigHelpersPointAtTheFiles) {
  const v1::TlsServerConfig server = pki_->ServerTls(kPerspectiveServerName, {kVaClientName});
  EXPECT_EQ(server.cert_file(), pki_->server(kPerspectiveServerName).cert_file);
  EXPECT_EQ(server.client_ca_file(), pki_->ca_file());
  EXPECT_THAT(server.allowed_client_names(), ::testing::ElementsAre(kVaClientName));
  const v1::TlsClientConfig client =
      pki_->ClientTls(pki_->client(kVaClientName), kPerspectiveServerName);
  EXPECT_EQ(client.key_file(), pki_->client(kVaClientName).key_file);
  EXPECT_EQ(client.ca_file(), pki_->ca_file());
  EXPECT_EQ(client.server_name(), kPerspectiveServerName);
}

TEST(TestPkiOptionsTest, BadOptionsAreRefused) {
  struct Case {
    std::string name;
    TestPkiOptions options;
  };
  TestPkiOptions no_dir;
  TestPkiOptions bad_name;
  bad_name.dir = "/tmp/unused";
  bad_name.server_names = {"Not A Name"};
  TestPkiOptions bad_validity;
  bad_validity.dir = "/tmp/unused";
  bad_validity.validity = absl::ZeroDuration();
  for (const Case& c : {Case{"no_dir", no_dir}, Case{"bad_name", bad_name},
                        Case{"bad_validity", bad_validity}}) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(TestPki::Create(c.options).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace vantage::tests
