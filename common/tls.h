// TLS for every gRPC hop (DESIGN.md "Security": mTLS on every hop; the VA
// accepts only the RA, a perspective accepts only the VA; plaintext only for
// local demos, refused when not on loopback).
//
// One place for: server credentials (client certificate REQUIRED and verified
// against the configured CA), the allow-list check of the client's name
// (ClientAuthorizer, shared by vantage-perspective and vantage-va), client
// channels (client certificate, CA, server-name override), and validation of
// the TLS parts of a config.
#ifndef VANTAGE_COMMON_TLS_H_
#define VANTAGE_COMMON_TLS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/auth_context.h"
#include "proto/config.pb.h"

namespace vantage::common {

// HostPort is an address split into host (brackets removed) and port.
struct HostPort {
  std::string host;
  std::string port;
};

// SplitHostPort parses "host:port", "[v6addr]:port" (port: 0..65535 digits).
// INVALID_ARGUMENT naming `address` otherwise.
absl::StatusOr<HostPort> SplitHostPort(absl::string_view address);

// IsLoopbackHost: "localhost", an IPv4 address in 127.0.0.0/8, "::1", or an
// IPv4-mapped IPv6 loopback address.
bool IsLoopbackHost(absl::string_view host);

// IsLoopbackAddress: SplitHostPort succeeds and the host is loopback.
bool IsLoopbackAddress(absl::string_view address);

// ValidateTlsServerConfig appends one message per problem of `tls` (as used
// by a server listening on `listen_address`) to `problems`, each naming the
// field as "<prefix>.<field>" and the rule. Pure: no file access.
void ValidateTlsServerConfig(const v1::TlsServerConfig& tls,
                             absl::string_view listen_address,
                             absl::string_view prefix,
                             std::vector<std::string>* problems);

// CheckTlsServerFiles reads and parses the files named by `tls` (unless
// plaintext) and appends problems: unreadable, not PEM, key does not match
// the certificate, certificate expired or not yet valid, empty CA bundle.
void CheckTlsServerFiles(const v1::TlsServerConfig& tls, absl::string_view prefix,
                         std::vector<std::string>* problems);

// ValidateTlsClientConfig: the same for a client of `target` (pure).
void ValidateTlsClientConfig(const v1::TlsClientConfig& tls, absl::string_view target,
                             absl::string_view prefix,
                             std::vector<std::string>* problems);

// MakeServerCredentials builds the credentials a server listening on
// `listen_address` uses: TLS with its certificate, a client certificate
// REQUIRED and verified against tls.client_ca_file
// (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY: a client
// without a certificate, or with one from another CA, fails the handshake).
// Plaintext only when tls.insecure_plaintext AND the address is loopback;
// FAILED_PRECONDITION otherwise. Reads the files; errors name the field.
// The files are read again every tls.reload_interval (default 60 s): new
// handshakes use a renewed certificate, key or CA bundle without a restart.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsServerConfig& tls, absl::string_view listen_address);

// CreateChannel opens a channel to `target` ("HOST:PORT") authenticated per
// `tls`: server certificate verified against tls.ca_file and matched to
// tls.server_name (default: the host of `target`), client certificate
// presented when tls.cert_file is set. Plaintext only when
// tls.insecure_plaintext AND the target is loopback. The files are read
// again every tls.reload_interval, as for a server. `args` are extra
// channel arguments. The channel connects lazily; keep it for the life of
// the client (a new mTLS connection costs ~60 unary calls).
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(
    absl::string_view target, const v1::TlsClientConfig& tls,
    grpc::ChannelArguments args = grpc::ChannelArguments());

// PeerNames returns the names the peer's verified certificate asserts, as
// TlsServerConfig.allowed_client_names is matched: its DNS SANs, or its
// subject CN when the certificate has no SAN at all. Empty for a peer
// without a certificate.
std::vector<std::string> PeerNames(const grpc::AuthContext& auth);

// ClientAuthorizer is the allow-list check of the calling client, the one
// piece of code every server uses for it (call it first in each handler).
class ClientAuthorizer {
 public:
  // Create builds the check for `tls` (allowed_client_names; in plaintext
  // mode every caller is let through: there is no identity to check).
  static ClientAuthorizer Create(const v1::TlsServerConfig& tls);

  // Authorize returns OK when the peer's certificate names an allowed
  // client; UNAUTHENTICATED when the peer has no authenticated identity;
  // PERMISSION_DENIED "client <name> is not in tls.allowed_client_names"
  // otherwise.
  absl::Status Authorize(const grpc::AuthContext* auth) const;

  bool plaintext() const { return plaintext_; }

 private:
  ClientAuthorizer(bool plaintext, absl::flat_hash_set<std::string> allowed)
      : plaintext_(plaintext), allowed_(std::move(allowed)) {}
  bool plaintext_;
  absl::flat_hash_set<std::string> allowed_;
};

}  // namespace vantage::common

#endif  // VANTAGE_COMMON_TLS_H_
