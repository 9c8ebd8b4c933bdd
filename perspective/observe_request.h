// Validation of an ObserveRequest before anything is looked up: a perspective
// never resolves garbage (proto/perspective.proto, ObserveRequest).
#ifndef VANTAGE_PERSPECTIVE_OBSERVE_REQUEST_H_
#define VANTAGE_PERSPECTIVE_OBSERVE_REQUEST_H_

#include <vector>

#include "absl/status/status.h"
#include "proto/perspective.pb.h"

namespace vantage::perspective {

// kMaxRequestIdLength: ObserveRequest.request_id is at most 128 octets.
inline constexpr size_t kMaxRequestIdLength = 128;
// kMaxKinds bounds ObserveRequest.kinds (duplicates are allowed, but a
// request naming thousands of kinds is not a real one).
inline constexpr int kMaxKinds = 8;

// ValidateObserveRequest returns OK or INVALID_ARGUMENT with a message that
// names the field and the rule:
//  - fqdn: a normalized FQDN per policy::ValidateFqdn (lowercase A-labels,
//    no trailing dot, no wildcard, no IP literal, label and name lengths);
//    when TXT_PERSIST is asked, `_validation-persist.<fqdn>` must itself fit
//    in 253 octets (SPEC.md 1: the record cannot exist otherwise);
//  - kinds: at most kMaxKinds entries, each TXT_PERSIST or CAA;
//  - request_id: printable ASCII (0x20-0x7E), at most 128 octets.
absl::Status ValidateObserveRequest(const v1::ObserveRequest& request);

// RequestedKinds returns the distinct kinds asked for, in the order TXT_PERSIST,
// CAA; {TXT_PERSIST} when `kinds` is empty. Only meaningful for a request
// that passed ValidateObserveRequest.
std::vector<v1::LookupKind> RequestedKinds(const v1::ObserveRequest& request);

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_OBSERVE_REQUEST_H_
