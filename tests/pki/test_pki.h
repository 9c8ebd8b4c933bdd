// TestPki: a throw-away certificate authority and leaf certificates for the
// mTLS tests, the benchmarks and the local demo (DESIGN.md "Security": mTLS on
// every hop). Everything is ECDSA P-256 with a short validity.
//
// Layout written into `dir` (all PEM; keys are unencrypted PKCS#8):
//   ca.pem, ca.key                       the test CA ("Vantage Test CA")
//   other-ca.pem, other-ca.key           an unrelated CA ("Vantage Rogue CA")
//   server-<name>.pem, server-<name>.key for each server name: SANs DNS:<name>,
//                                        DNS:localhost, IP:127.0.0.1, IP:::1;
//                                        EKU serverAuth
//   client-<name>.pem, client-<name>.key for each client name: SAN DNS:<name>;
//                                        EKU clientAuth
//   client-intruder.vantage.test.*       signed by ca.pem, a name nobody allows
//   rogue-va.vantage.test.*              CN/SAN "va.vantage.test" but signed by
//                                        other-ca.pem (a client from another CA
//                                        claiming an allowed name)
//
// The same files are made from the command line by //tests/pki:make_test_pki
// (see make_test_pki.cc for its usage).
#ifndef VANTAGE_TESTS_PKI_TEST_PKI_H_
#define VANTAGE_TESTS_PKI_TEST_PKI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"

namespace vantage::tests {

// Names the default PKI issues certificates for.
inline constexpr char kPerspectiveServerName[] = "perspective.vantage.test";
inline constexpr char kVaServerName[] = "va.vantage.test";
inline constexpr char kVaClientName[] = "va.vantage.test";
inline constexpr char kRaClientName[] = "ra.vantage.test";
inline constexpr char kIntruderClientName[] = "intruder.vantage.test";

struct TestPkiOptions {
  // Directory the files are written to (created if missing). Required.
  std::string dir;
  // Server certificates to issue.
  std::vector<std::string> server_names = {kPerspectiveServerName,
                                           kVaServerName};
  // Client certificates to issue (the intruder and the rogue client are
  // always issued in addition).
  std::vector<std::string> client_names = {kVaClientName, kRaClientName};
  // Every certificate is valid from (now + shift - 1h) to (now + shift +
  // validity): one hour of allowance for clock skew. A negative shift larger
  // than the validity makes expired certificates (for negative tests).
  absl::Duration validity = absl::Hours(24);
  absl::Duration shift = absl::ZeroDuration();
};

// CertFiles names one certificate and its private key.
struct CertFiles {
  std::string cert_file;
  std::string key_file;
};

class TestPki {
 public:
  // Create generates the CAs and every leaf into options.dir.
  static absl::StatusOr<TestPki> Create(const TestPkiOptions& options);

  const std::string& dir() const { return dir_; }
  // ca_file is the CA bundle that signed every certificate except rogue().
  std::string ca_file() const;
  std::string other_ca_file() const;
  // server/client: the files of a leaf issued for `name` (they exist only for
  // names listed in the options).
  CertFiles server(absl::string_view name) const;
  CertFiles client(absl::string_view name) const;
  // intruder: a client certificate from the right CA with a name that is in
  // no allow-list ("intruder.vantage.test").
  CertFiles intruder() const;
  // rogue: a client certificate naming "va.vantage.test", signed by the
  // other CA.
  CertFiles rogue() const;

  // ServerTls is a TlsServerConfig serving `server_name`'s certificate and
  // accepting clients in `allowed_clients` from the test CA.
  v1::TlsServerConfig ServerTls(absl::string_view server_name,
                                const std::vector<std::string>& allowed_clients) const;
  // ClientTls is a TlsClientConfig presenting `client`'s certificate (client
  // auth) and expecting a server certificate for `server_name`. `client` may
  // be empty: no client certificate.
  v1::TlsClientConfig ClientTls(const CertFiles& client,
                                absl::string_view server_name) const;

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace vantage::tests

#endif  // VANTAGE_TESTS_PKI_TEST_PKI_H_
