// Helpers for tests that drive an Observer (the libunbound observer's tests,
// the perspective end-to-end tests).
#ifndef VANTAGE_PERSPECTIVE_OBSERVER_TESTING_H_
#define VANTAGE_PERSPECTIVE_OBSERVER_TESTING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "perspective/observer.h"
#include "proto/perspective.pb.h"

namespace vantage::perspective::testing {

// TxtSet: an RRset as lists of character-strings, for gmock matchers.
using TxtSet = std::vector<std::vector<std::string>>;

// Strings returns the character-strings of every TXT record, in order.
TxtSet Strings(const v1::TxtObservation& txt);

// Request builds an ObserveRequest.
v1::ObserveRequest Request(const std::string& fqdn, std::vector<v1::LookupKind> kinds = {},
                           const std::string& request_id = "req-1");

// ObserveSync calls Observe with deadline now + `timeout` and waits for
// `done`, which the Observer contract says comes by about the deadline: a
// test failure is recorded when it takes more than the deadline + 1 s.
absl::StatusOr<v1::Observation> ObserveSync(Observer& observer,
                                            const v1::ObserveRequest& request,
                                            absl::Duration timeout = absl::Seconds(10));

}  // namespace vantage::perspective::testing

#endif  // VANTAGE_PERSPECTIVE_OBSERVER_TESTING_H_
