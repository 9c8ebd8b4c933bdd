#include "cli/tls_flags.h"

namespace vantage::cli {

absl::StatusOr<v1::TlsClientConfig> TlsClientFromFlags(const Flags& flags) {
  v1::TlsClientConfig tls;
  const bool any_tls = flags.Has("tls-cert") || flags.Has("tls-key") || flags.Has("tls-ca") ||
                       flags.Has("tls-server-name");
  if (flags.Bool("insecure")) {
    if (any_tls) return absl::InvalidArgumentError("--insecure excludes the --tls-* options");
    tls.set_insecure_plaintext(true);
    return tls;
  }
  tls.set_cert_file(flags.Value("tls-cert").value_or(""));
  tls.set_key_file(flags.Value("tls-key").value_or(""));
  tls.set_ca_file(flags.Value("tls-ca").value_or(""));
  tls.set_server_name(flags.Value("tls-server-name").value_or(""));
  if (tls.ca_file().empty()) {
    return absl::InvalidArgumentError("--tls-ca=FILE is required (or --insecure for a local "
                                      "plaintext server)");
  }
  if (tls.cert_file().empty() != tls.key_file().empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  return tls;
}

}  // namespace vantage::cli
