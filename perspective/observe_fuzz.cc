// Fuzz target: ObserveRequest bytes -> parse -> validation -> the service's
// request handling (PerspectiveService::Handle) with an observer that
// answers at once. Invariants checked on every input:
//  - the handler always answers, exactly once;
//  - it answers OK exactly when ValidateObserveRequest accepts the request,
//    and INVALID_ARGUMENT otherwise (never a lookup of garbage);
//  - an accepted fqdn is a plausible normalized name (no '*', no uppercase,
//    no trailing dot, at most 253 octets), and the answer echoes request_id.
// The same checks run with the raw input as the fqdn of a TXT request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "perspective/observe_request.h"
#include "perspective/observer.h"
#include "perspective/service.h"
#include "prometheus/registry.h"
#include "proto/perspective.pb.h"

namespace vantage::perspective {
namespace {

// Answers every request with an empty Observation, inline; records nothing
// (a fuzzer runs millions of inputs).
class InstantObserver final : public Observer {
 public:
  void Observe(const v1::ObserveRequest& request, absl::Time, Done done) override {
    if (!ValidateObserveRequest(request).ok()) std::abort();  // garbage reached DNS
    v1::Observation o;
    o.mutable_txt()->mutable_lookup()->set_status(v1::LOOKUP_STATUS_ANSWERED);
    std::move(done)(std::move(o));
  }
};

PerspectiveService* Service() {
  static InstantObserver* observer = new InstantObserver;
  static prometheus::Registry* registry = new prometheus::Registry;
  static PerspectiveService* service = [] {
    PerspectiveService::Options options;
    options.id = "fuzz";
    options.rir = v1::RIR_ARIN;
    options.tls.set_insecure_plaintext(true);  // no peer identity in this harness
    options.log = [](absl::string_view) {};
    return PerspectiveService::Create(options, observer, registry)->release();
  }();
  return service;
}

void Check(const v1::ObserveRequest& request) {
  const absl::Status valid = ValidateObserveRequest(request);
  int calls = 0;
  absl::StatusOr<v1::Observation> got;
  Service()->Handle(request, nullptr, absl::InfiniteFuture(), "fuzz",
                    [&](absl::StatusOr<v1::Observation> r) {
                      ++calls;
                      got = std::move(r);
                    });
  if (calls != 1) std::abort();
  if (valid.ok() != got.ok()) std::abort();
  if (!valid.ok() && got.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
  if (!valid.ok()) return;
  if (got->request_id() != request.request_id() || got->perspective_id() != "fuzz") std::abort();
  const std::string& fqdn = request.fqdn();
  if (fqdn.empty() || fqdn.size() > 253 || fqdn.back() == '.') std::abort();
  for (char c : fqdn) {
    if (c == '*' || absl::ascii_isupper(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80) {
      std::abort();
    }
  }
}

}  // namespace
}  // namespace vantage::perspective

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vantage::v1::ObserveRequest request;
  if (request.ParseFromArray(data, static_cast<int>(size))) {
    vantage::perspective::Check(request);
  }
  vantage::v1::ObserveRequest as_name;
  as_name.set_fqdn(std::string(reinterpret_cast<const char*>(data), size));
  as_name.set_request_id("fuzz-name");
  vantage::perspective::Check(as_name);
  return 0;
}
