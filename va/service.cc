#include "va/service.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server_util.h"

namespace vantage::va {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

VaService::VaService(ValidationAuthority* va, const v1::TlsServerConfig& tls)
    : va_(va), authorizer_(common::ClientAuthorizer::Create(tls)) {}

void VaService::StartDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

grpc::ServerUnaryReactor* VaService::ValidatePersist(grpc::CallbackServerContext* context,
                                                     const v1::ValidatePersistRequest* request,
                                                     v1::ValidationResult* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // DESIGN.md "Security": only the RAs named in tls.allowed_client_names.
  const std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (absl::Status s = authorizer_.Authorize(auth.get()); !s.ok()) {
    va_->Rejected(s.code() == absl::StatusCode::kPermissionDenied ? "permission_denied"
                                                                   : "unauthenticated");
    // Who knocked matters to an operator (DESIGN.md "Security"); the request
    // itself is not logged: it was never accepted.
    common::LogLine(absl::StrCat("refused ValidatePersist from ", context->peer(), ": ",
                                 s.ToString()));
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      va_->Rejected("shutting_down");
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "VA is shutting down"));
      return reactor;
    }
  }
  std::string client = context->peer();
  if (auth != nullptr) {
    const std::vector<std::string> names = common::PeerNames(*auth);
    if (!names.empty()) client = names.front();
  }
  // The RA's deadline flows into the validation (STYLE.md).
  absl::Time deadline = absl::InfiniteFuture();
  const auto rpc_deadline = context->deadline();
  if (rpc_deadline != std::chrono::system_clock::time_point::max()) {
    deadline = absl::FromChrono(rpc_deadline);
  }
  va_->Validate(*request, deadline, std::move(client),
                [reactor, response](absl::StatusOr<v1::ValidationResult> result) {
                  if (!result.ok()) {
                    reactor->Finish(ToGrpcStatus(result.status()));
                    return;
                  }
                  *response = *std::move(result);
                  reactor->Finish(grpc::Status::OK);
                });
  return reactor;
}

}  // namespace vantage::va
