// make_test_pki: writes the test CA and leaf certificates of TestPki
// (tests/pki/test_pki.h) into a directory, for the local demo and for manual
// runs of vantage-perspective / vantage-va / vantagectl over mTLS.
//
// Usage:
//   bazel run //tests/pki:make_test_pki -- --out=/tmp/vantage-pki
//       [--servers=perspective.vantage.test,va.vantage.test]
//       [--clients=va.vantage.test,ra.vantage.test] [--validity=24h]
// (one command line; the defaults are shown)
//
// Writes (all ECDSA P-256, PEM; keys unencrypted, mode 0600):
//   ca.pem/.key, other-ca.pem/.key, server-<name>.pem/.key (SANs <name>,
//   localhost, 127.0.0.1, ::1), client-<name>.pem/.key,
//   client-intruder.vantage.test.pem/.key (right CA, a name nobody allows),
//   rogue-va.vantage.test.pem/.key (the VA's name, signed by other-ca).
// Then e.g. a perspective config's tls block:
//   tls { cert_file: "/tmp/vantage-pki/server-perspective.vantage.test.pem"
//         key_file: "/tmp/vantage-pki/server-perspective.vantage.test.key"
//         client_ca_file: "/tmp/vantage-pki/ca.pem"
//         allowed_client_names: "va.vantage.test" }
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/time.h"
#include "tests/pki/test_pki.h"

ABSL_FLAG(std::string, out, "", "Directory to write the PKI into (required).");
ABSL_FLAG(std::vector<std::string>, servers,
          std::vector<std::string>({vantage::tests::kPerspectiveServerName,
                                    vantage::tests::kVaServerName}),
          "Comma-separated server certificate names.");
ABSL_FLAG(std::vector<std::string>, clients,
          std::vector<std::string>({vantage::tests::kVaClientName,
                                    vantage::tests::kRaClientName}),
          "Comma-separated client certificate names.");
ABSL_FLAG(absl::Duration, validity, absl::Hours(24), "Certificate validity.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  vantage::tests::TestPkiOptions options;
  options.dir = absl::GetFlag(FLAGS_out);
  options.server_names = absl::GetFlag(FLAGS_servers);
  options.client_names = absl::GetFlag(FLAGS_clients);
  options.validity = absl::GetFlag(FLAGS_validity);
  if (options.dir.empty()) {
    std::fprintf(stderr, "make_test_pki: --out=DIR is required\n");
    return 2;
  }
  absl::StatusOr<vantage::tests::TestPki> pki = vantage::tests::TestPki::Create(options);
  if (!pki.ok()) {
    std::fprintf(stderr, "make_test_pki: %s\n", pki.status().ToString().c_str());
    return 1;
  }
  std::printf("test PKI written to %s (CA: %s)\n", pki->dir().c_str(),
              pki->ca_file().c_str());
  return 0;
}
