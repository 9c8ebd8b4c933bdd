// Observer: the one seam between the VA and DNS ("look this name up, report
// what you saw"). Two implementations: the in-process libunbound observer
// (the VA's primary perspective, and the engine of `vantage-perspective`) and
// the gRPC client of a remote perspective agent. The VA treats them alike
// (STYLE.md; Boulder: one package for the primary and the remote VA).
#ifndef VANTAGE_PERSPECTIVE_OBSERVER_H_
#define VANTAGE_PERSPECTIVE_OBSERVER_H_

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/perspective.pb.h"

namespace vantage::perspective {

class Observer {
 public:
  // Done receives the result exactly once. It may run on any thread,
  // including (for cached answers) inside Observe() itself, so it must not
  // take locks the caller holds while calling Observe().
  using Done = absl::AnyInvocable<void(absl::StatusOr<v1::Observation>) &&>;

  virtual ~Observer() = default;

  // Observe looks up what `request` asks and calls `done`.
  //
  // DNS failures are NOT errors: a SERVFAIL, bogus answer or lookup timeout is
  // an OK Observation with the failure recorded (DnsLookup.status/rcode/
  // dnssec_state). Errors are: INVALID_ARGUMENT (bad fqdn/kinds/request_id),
  // RESOURCE_EXHAUSTED (at the concurrency limit), DEADLINE_EXCEEDED (no
  // answer by `deadline`), UNAVAILABLE/other (transport, for remote observers;
  // shutting down, for local ones).
  //
  // `deadline` bounds everything: `done` is called no later than about
  // `deadline` (plus scheduling slack), whatever DNS or the network does.
  virtual void Observe(const v1::ObserveRequest& request, absl::Time deadline,
                       Done done) = 0;
};

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_OBSERVER_H_
