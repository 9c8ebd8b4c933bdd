// The standard services every Vantage server offers besides its own, seen
// from a client: grpc.health.v1 and server reflection (DESIGN.md "APIs").
// Shared by the end-to-end tests of vantage-perspective and vantage-va.
#ifndef VANTAGE_TESTS_PERSPECTIVE_GRPC_PROBES_H_
#define VANTAGE_TESTS_PERSPECTIVE_GRPC_PROBES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "tests/perspective/health_probe.grpc.pb.h"

namespace vantage::tests {

using HealthStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

// HealthOf: grpc.health.v1 Check of `service` ("" = the server as a whole)
// over `channel`, within 2 s; UNKNOWN when the call itself fails (NOT_FOUND
// for an unknown service, a refused handshake, nobody listening).
HealthStatus HealthOf(const std::shared_ptr<grpc::Channel>& channel,
                      const std::string& service = "");

// ListServices: the services server reflection lists over `channel`.
absl::StatusOr<std::vector<std::string>> ListServices(
    const std::shared_ptr<grpc::Channel>& channel);

}  // namespace vantage::tests

#endif  // VANTAGE_TESTS_PERSPECTIVE_GRPC_PROBES_H_
