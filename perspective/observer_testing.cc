#include "perspective/observer_testing.h"

#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace vantage::perspective::testing {

TxtSet Strings(const v1::TxtObservation& txt) {
  TxtSet out;
  for (const v1::TxtRecord& r : txt.records()) {
    out.emplace_back(r.strings().begin(), r.strings().end());
  }
  return out;
}

v1::ObserveRequest Request(const std::string& fqdn, std::vector<v1::LookupKind> kinds,
                           const std::string& request_id) {
  v1::ObserveRequest r;
  r.set_fqdn(fqdn);
  for (v1::LookupKind k : kinds) r.add_kinds(k);
  r.set_request_id(request_id);
  return r;
}

absl::StatusOr<v1::Observation> ObserveSync(Observer& observer,
                                            const v1::ObserveRequest& request,
                                            absl::Duration timeout) {
  absl::Notification finished;
  absl::StatusOr<v1::Observation> result;
  observer.Observe(request, absl::Now() + timeout, [&](absl::StatusOr<v1::Observation> o) {
    result = std::move(o);
    finished.Notify();
  });
  if (!finished.WaitForNotificationWithTimeout(timeout + absl::Seconds(1))) {
    ADD_FAILURE() << "done not called within the deadline + 1 s";
    finished.WaitForNotification();
  }
  return result;
}

}  // namespace vantage::perspective::testing
