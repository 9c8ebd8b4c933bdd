// ValidationAuthority: one dns-persist-01 validation, end to end (DESIGN.md
// "The flow of one validation"):
//
//   request checks -> account from the store (live: SPEC.md 3) ->
//   Observe at the primary and every remote in parallel ->
//   Judge each observation with policy/ -> the primary decides, remotes
//   corroborate with the SAME accounturi value (SPEC.md 6, BR 3.2.2.4.22) ->
//   answer as soon as the quorum outcome is certain (policy::DecideQuorum) ->
//   stragglers finish (or hit their deadline) for the audit record only.
//
// Never "valid" on doubt: a store failure, a resolver failure, a missing or
// mismatched answer all fail closed.
#ifndef VANTAGE_VA_VALIDATION_AUTHORITY_H_
#define VANTAGE_VA_VALIDATION_AUTHORITY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "perspective/observer.h"
#include "policy/quorum.h"
#include "policy/record.h"
#include "prometheus/registry.h"
#include "proto/audit.pb.h"
#include "proto/config.pb.h"
#include "proto/validation.pb.h"
#include "va/account_store.h"
#include "va/audit_log.h"

namespace vantage::va {

// PerspectiveEndpoint: a perspective the VA asks, with the identity its
// answers must carry (SPEC.md 6: a mismatch is a non-corroboration).
struct PerspectiveEndpoint {
  std::string id;
  v1::Rir rir = v1::RIR_UNSPECIFIED;
  perspective::Observer* observer = nullptr;  // not owned; outlives the VA
};

class VaMetrics;

class ValidationAuthority {
 public:
  struct Options {
    // Identity in audit records.
    std::string va_id;
    // The CA's issuer domain names (normalized by Create).
    std::vector<std::string> issuer_domain_names;
    policy::AccountUriMode mode = policy::AccountUriMode::kHashed;
    std::string account_hash_prefix;
    // Empty = {"sha-256"}.
    std::vector<std::string> hash_algorithms;
    // Keys that count, current first; 0 = all (SPEC.md 3, open at the IETF).
    uint32_t max_retained_keys = 0;
    // Validation deadline when the RA sent none, and per perspective.
    absl::Duration default_deadline = absl::Seconds(10);
    absl::Duration perspective_deadline = absl::Seconds(5);
    // BR 3.2.2.9 phase-in of the minimum number of remotes; empty = the
    // BR table (policy::DefaultMinRemotesRules).
    std::vector<policy::MinRemotesRule> min_remotes_rules;
  };

  struct Deps {
    PerspectiveEndpoint primary;
    std::vector<PerspectiveEndpoint> remotes;
    AccountStore* store = nullptr;           // not owned
    AuditSink* audit = nullptr;              // not owned
    const common::Clock* clock = nullptr;    // not owned
    prometheus::Registry* registry = nullptr;  // not owned; may be null
  };

  // Create checks the options (INVALID_ARGUMENT naming the field) and that
  // the remotes satisfy the minimum in force now (FAILED_PRECONDITION).
  static absl::StatusOr<std::unique_ptr<ValidationAuthority>> Create(Options options, Deps deps);
  ~ValidationAuthority();

  // Done receives the answer exactly once, possibly on another thread.
  // An OK status carries the ValidationResult (a failed validation is a
  // result with a problem); INVALID_ARGUMENT is a bad request.
  using Done = absl::AnyInvocable<void(absl::StatusOr<v1::ValidationResult>) &&>;

  // Validate runs one validation bounded by `deadline` (InfiniteFuture: the
  // default deadline). `client` is the caller's identity, for the audit log.
  void Validate(const v1::ValidatePersistRequest& request, absl::Time deadline,
                std::string client, Done done);

  // Drain waits until every validation, stragglers and audit records
  // included, has finished, or `deadline` passes. True when idle.
  bool Drain(absl::Time deadline);

  // In-flight validations (including straggler phase).
  int in_flight() const;

  // Rejected counts a call refused before validating (for the RPC layer:
  // "unauthenticated", "permission_denied", "shutting_down").
  void Rejected(absl::string_view reason);

 private:
  class Validation;
  friend class Validation;

  ValidationAuthority(Options options, Deps deps);
  absl::Status CheckRequest(const v1::ValidatePersistRequest& request,
                            std::vector<std::string>* issuers) const;
  void Finished();

  const Options options_;
  const Deps deps_;
  std::unique_ptr<prometheus::Registry> owned_registry_;  // when deps_.registry is null
  std::unique_ptr<VaMetrics> metrics_;
  mutable absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vantage::va

#endif  // VANTAGE_VA_VALIDATION_AUTHORITY_H_
