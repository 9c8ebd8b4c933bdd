// TLS options shared by the vantagectl commands that call a server
// (`observe`, `validate`):
//   --tls-cert=FILE --tls-key=FILE   client certificate and key (mTLS)
//   --tls-ca=FILE                    CA bundle the server certificate must chain to
//   --tls-server-name=NAME           name expected in the server certificate
//   --insecure                       plaintext (loopback servers only)
#ifndef VANTAGE_CLI_TLS_FLAGS_H_
#define VANTAGE_CLI_TLS_FLAGS_H_

#include "absl/status/statusor.h"
#include "cli/flags.h"
#include "proto/config.pb.h"

namespace vantage::cli {

// kTlsFlagSpecs are the FlagSpecs of the options above, to append to a
// command's own spec.
inline constexpr FlagSpec kTlsFlagSpecs[] = {
    {"tls-cert", FlagKind::kValue},        {"tls-key", FlagKind::kValue},
    {"tls-ca", FlagKind::kValue},          {"tls-server-name", FlagKind::kValue},
    {"insecure", FlagKind::kBool},
};

// kTlsFlagsUsage documents them for a usage text.
inline constexpr char kTlsFlagsUsage[] =
    "  --tls-cert=FILE --tls-key=FILE  client certificate and key (mTLS)\n"
    "  --tls-ca=FILE          CA bundle the server's certificate must chain to (required\n"
    "                         unless --insecure)\n"
    "  --tls-server-name=NAME name expected in the server certificate (default: the host)\n"
    "  --insecure             plaintext, no authentication (loopback servers only)\n";

// TlsClientFromFlags builds the client TLS settings; INVALID_ARGUMENT naming
// the option for a missing CA, a certificate without its key, or --insecure
// combined with --tls-* options.
absl::StatusOr<v1::TlsClientConfig> TlsClientFromFlags(const Flags& flags);

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_TLS_FLAGS_H_
