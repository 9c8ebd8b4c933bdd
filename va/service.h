// VaService: the vantage.v1.ValidationAuthority gRPC service (RA-facing), a
// thin layer over ValidationAuthority: who calls (mTLS allow-list, shared
// with the perspective agent through common::ClientAuthorizer), the RA's
// deadline, and the mapping of results to RPC status. A failed validation is
// an OK RPC with a problem; only bad requests and real faults are RPC errors.
// Callback API: no thread waits while perspectives are asked.
#ifndef VANTAGE_VA_SERVICE_H_
#define VANTAGE_VA_SERVICE_H_

#include <memory>

#include "absl/synchronization/mutex.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"
#include "proto/config.pb.h"
#include "proto/validation.grpc.pb.h"
#include "va/validation_authority.h"

namespace vantage::va {

class VaService final : public v1::ValidationAuthority::CallbackService {
 public:
  // `va` must outlive the service. `tls` gives the allowed RA names.
  VaService(ValidationAuthority* va, const v1::TlsServerConfig& tls);

  grpc::ServerUnaryReactor* ValidatePersist(grpc::CallbackServerContext* context,
                                            const v1::ValidatePersistRequest* request,
                                            v1::ValidationResult* response) override;

  // StartDraining makes new calls fail UNAVAILABLE while running ones finish.
  void StartDraining();

 private:
  ValidationAuthority* const va_;
  const common::ClientAuthorizer authorizer_;
  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

// ToGrpcStatus maps an absl::Status to a grpc::Status (same code, message).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace vantage::va

#endif  // VANTAGE_VA_SERVICE_H_
