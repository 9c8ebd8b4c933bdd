// The pieces every Vantage server binary's main() shares: signal handling,
// timestamped log lines, and building a gRPC server with the standard
// services (grpc.health.v1 and server reflection, DESIGN.md "APIs").
#ifndef VANTAGE_COMMON_SERVER_UTIL_H_
#define VANTAGE_COMMON_SERVER_UTIL_H_

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace vantage::common {

// BlockStopSignals blocks SIGTERM and SIGINT in the calling thread (call it
// first in main(), before any thread exists, so every thread inherits the
// mask) and ignores SIGPIPE. WaitForStopSignal then takes them
// synchronously and returns "SIGTERM" or "SIGINT".
void BlockStopSignals();
std::string WaitForStopSignal();

// LogLine writes "<RFC 3339 UTC time> <line>\n" to stderr (thread-safe).
void LogLine(absl::string_view line);

// BoundAddress is `listen_address` with the port the server really got
// ("[::1]:4433" for IPv6 hosts).
std::string BoundAddress(absl::string_view listen_address, int port);

// GrpcServer is a started server and the port it listens on.
struct GrpcServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string address;  // BoundAddress(listen_address, port)
};

// AllowClientKeepalive lets clients probe idle connections with HTTP/2
// pings (the VA's remote-perspective client pings every 10 s, with or
// without calls, so a silently dead connection is noticed): pings are
// accepted every 5 s or slower, also on a connection without calls. gRPC's
// server default (one ping per 5 minutes without data, none without calls)
// would answer such a client with GOAWAY "too_many_pings".
void AllowClientKeepalive(grpc::ServerBuilder& builder);

// StartGrpcServer listens on `listen_address` with `credentials`, serves
// `services` plus grpc.health.v1 (every service SERVING) and reflection,
// allows client keepalive pings (AllowClientKeepalive), and bounds request
// size. UNAVAILABLE when the address cannot be bound.
absl::StatusOr<GrpcServer> StartGrpcServer(
    const std::string& listen_address, std::shared_ptr<grpc::ServerCredentials> credentials,
    const std::vector<grpc::Service*>& services, int max_request_bytes);

// StartHealthServer listens on `health_address` in PLAINTEXT and serves
// grpc.health.v1 only (plus reflection, which then lists just that): the
// kubelet's native gRPC probes present no client certificate, so they
// cannot use the mTLS port. Mirror the main server's status onto it with
// SetHealth. UNAVAILABLE when the address cannot be bound.
absl::StatusOr<GrpcServer> StartHealthServer(const std::string& health_address);

// SetHealth marks each server that is not null (and each service named on
// it) SERVING or NOT_SERVING: the main server and its health listener.
void SetHealth(const std::vector<grpc::Server*>& servers,
               const std::vector<std::string>& service_names, bool serving);

}  // namespace vantage::common

#endif  // VANTAGE_COMMON_SERVER_UTIL_H_
