#include "va/validation_authority.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config_util.h"
#include "common/status_macros.h"
#include "policy/identifier.h"
#include "policy/proto_convert.h"
#include "va/judge.h"
#include "va/metrics.h"

namespace vantage::va {
namespace {

// DESIGN.md "Input limits".
constexpr size_t kMaxIssuerNames = 10;
constexpr size_t kMaxRequestIdLength = 128;

// The RA must get our answer before its own deadline fires: perspectives
// are given the RA's deadline minus this margin.
constexpr absl::Duration kAnswerMargin = absl::Milliseconds(50);

bool IsPrintableAscii(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string NewRequestId() {
  thread_local absl::BitGen gen;
  const uint64_t a = absl::Uniform<uint64_t>(gen);
  const uint64_t b = absl::Uniform<uint64_t>(gen);
  return absl::StrCat("va-", absl::Hex(a, absl::kZeroPad16), absl::Hex(b, absl::kZeroPad16));
}

v1::PerspectiveAnswer AnswerFromStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded: return v1::PERSPECTIVE_ANSWER_DEADLINE_EXCEEDED;
    case absl::StatusCode::kCancelled: return v1::PERSPECTIVE_ANSWER_CANCELLED;
    // RemoteObserver's verdict on an answer from another identity.
    case absl::StatusCode::kFailedPrecondition: return v1::PERSPECTIVE_ANSWER_IDENTITY_MISMATCH;
    default: return v1::PERSPECTIVE_ANSWER_TRANSPORT_ERROR;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// One validation in flight. Shared by the perspective callbacks; the last one
// to finish writes the audit record.
class ValidationAuthority::Validation {
 public:
  // Slot: one perspective's attempt (index 0 is the primary).
  struct Slot {
    const PerspectiveEndpoint* endpoint = nullptr;
    bool done = false;
    absl::Time started;
    v1::PerspectiveEvidence evidence;
    Judgement judgement;  // meaningful when evidence.answer() == ANSWERED
  };

  Validation(ValidationAuthority* va, v1::ValidatePersistRequest request, std::string client,
             absl::Time start, Done done)
      : va_(va), request_(std::move(request)), client_(std::move(client)), start_(start),
        done_(std::move(done)) {}

  // Run does the store lookup and either finishes at once (account problem)
  // or fans out to every perspective.
  static void Run(std::shared_ptr<Validation> self, policy::Identifier identifier,
                  std::vector<std::string> issuers, absl::Time deadline);

 private:
  void FinishWithoutObservations(v1::Outcome outcome, policy::ProblemType type,
                                 std::string detail);
  void OnAnswer(int index, absl::StatusOr<v1::Observation> observation);
  // TryDecide: the answer, when the outcome is certain.
  bool TryDecideLocked(v1::ValidationResult* result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  policy::QuorumDecision QuorumLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool CorroboratesLocked(const Slot& slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // AddEvidenceLocked copies every perspective's evidence into `result`.
  void AddEvidenceLocked(v1::ValidationResult* result) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RememberAnswerLocked marks the validation answered with `result` and
  // keeps what the audit record needs of it (all but the evidence, and
  // which slots were still running). `result` is unchanged.
  void RememberAnswerLocked(v1::ValidationResult& result, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // TakeAuditLocked builds the audit record once every perspective has
  // finished, moving the result and the evidence into it.
  v1::AuditRecord TakeAuditLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Answer(v1::ValidationResult result, absl::Time now);

  ValidationAuthority* const va_;
  const v1::ValidatePersistRequest request_;
  const std::string client_;
  const absl::Time start_;
  policy::Identifier identifier_;
  v1::AccountSnapshot account_;
  v1::PolicySnapshot policy_;
  std::unique_ptr<policy::AccountBinding> binding_;
  std::optional<CaaCheck> caa_;

  mutable absl::Mutex mu_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool answered_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time answered_at_ ABSL_GUARDED_BY(mu_);
  // The answer for the audit record: without its perspectives, plus the
  // slots still running then (proto/audit.proto, AuditRecord.result).
  v1::ValidationResult result_ ABSL_GUARDED_BY(mu_);
  std::vector<int> pending_at_answer_ ABSL_GUARDED_BY(mu_);
  Done done_ ABSL_GUARDED_BY(mu_);
};

void ValidationAuthority::Validation::Run(std::shared_ptr<Validation> self,
                                          policy::Identifier identifier,
                                          std::vector<std::string> issuers, absl::Time deadline) {
  ValidationAuthority* va = self->va_;
  const Options& opt = va->options_;
  self->identifier_ = identifier;
  for (const auto& i : issuers) self->policy_.add_issuer_domain_names(i);
  self->policy_.set_account_hash_prefix(opt.account_hash_prefix);
  for (const auto& a : opt.hash_algorithms) self->policy_.add_hash_algorithms(a);
  self->policy_.set_accounturi_mode(opt.mode == policy::AccountUriMode::kHashed
                                        ? v1::ACCOUNT_URI_MODE_HASHED
                                        : v1::ACCOUNT_URI_MODE_LEGACY_RAW);
  self->policy_.set_min_remotes(
      policy::MinRemotesRequired(self->start_, opt.min_remotes_rules));

  // The account, read live on every validation: deactivation takes effect
  // on the very next one (SPEC.md 3). Any store failure fails closed.
  self->account_.set_url(self->request_.account_url());
  const absl::Time t0 = va->deps_.clock->Now();
  absl::StatusOr<Account> account = va->deps_.store->Lookup(self->request_.account_url());
  const absl::Duration store_latency = va->deps_.clock->Now() - t0;
  *self->account_.mutable_lookup_duration() = common::DurationToProto(store_latency);
  va->metrics_->StoreLookup(store_latency, account.status());
  if (!account.ok()) {
    if (account.status().code() == absl::StatusCode::kNotFound) {
      self->FinishWithoutObservations(
          v1::OUTCOME_UNAUTHORIZED, policy::ProblemType::kUnauthorized,
          absl::StrCat("account ", self->request_.account_url(), " is not known to this CA"));
    } else {
      self->FinishWithoutObservations(
          v1::OUTCOME_SERVER_INTERNAL, policy::ProblemType::kServerInternal,
          absl::StrCat("account store unavailable, failing closed: ",
                       account.status().message()));
    }
    return;
  }
  self->account_.set_status(std::string(AccountStatusName(account->status)));
  if (account->status != AccountStatus::kValid) {
    // SPEC.md 3: a deactivated (or revoked) account is unauthorized for
    // every record, immediately: no lookup is needed to say so.
    self->FinishWithoutObservations(
        v1::OUTCOME_UNAUTHORIZED, policy::ProblemType::kUnauthorized,
        absl::StrCat("account is ", AccountStatusName(account->status),
                     " (SPEC.md 3: no record authorizes it)"));
    return;
  }

  policy::VerdictContext context;
  context.issuers = std::move(issuers);
  context.now = self->start_;
  context.identifier = identifier;
  context.mode = opt.mode;
  context.account_url = self->request_.account_url();
  context.hash_prefix = opt.account_hash_prefix;
  context.hash_algs = opt.hash_algorithms;
  // SPEC.md 3: every retained key counts, current first, unless the CA
  // limits how many (key rollover policy is open at the IETF, #69/#70).
  for (const AccountKey& key : account->keys) {
    if (opt.max_retained_keys != 0 && context.thumbprints.size() >= opt.max_retained_keys) break;
    context.thumbprints.push_back(key.thumbprint);
  }
  for (const auto& t : context.thumbprints) self->account_.add_thumbprints(t);
  if (opt.mode == policy::AccountUriMode::kHashed && context.thumbprints.empty()) {
    self->FinishWithoutObservations(v1::OUTCOME_SERVER_INTERNAL,
                                    policy::ProblemType::kServerInternal,
                                    "account has no key in the store (failing closed)");
    return;
  }
  absl::StatusOr<std::unique_ptr<policy::AccountBinding>> binding =
      policy::AccountBinding::Create(context);
  if (!binding.ok()) {
    // The store handed us something policy/ refuses (e.g. a corrupt
    // thumbprint): never guess, fail closed.
    self->FinishWithoutObservations(
        v1::OUTCOME_SERVER_INTERNAL, policy::ProblemType::kServerInternal,
        absl::StrCat("cannot bind the account keys: ", binding.status().message()));
    return;
  }
  self->binding_ = *std::move(binding);
  if (self->request_.check_caa()) {
    self->caa_ = CaaCheck{self->binding_->context().issuers, self->request_.account_url(),
                          identifier.wildcard};
  }

  // Fan out: the primary and every remote, in parallel.
  v1::ObserveRequest observe;
  observe.set_fqdn(identifier.fqdn);
  observe.add_kinds(v1::LOOKUP_KIND_TXT_PERSIST);
  if (self->request_.check_caa()) observe.add_kinds(v1::LOOKUP_KIND_CAA);
  observe.set_request_id(self->request_.request_id());
  const absl::Time perspective_deadline =
      std::min(deadline - kAnswerMargin, self->start_ + opt.perspective_deadline);
  const int n = 1 + static_cast<int>(va->deps_.remotes.size());
  {
    absl::MutexLock lock(&self->mu_);
    self->slots_.resize(n);
    self->pending_ = n;
    for (int i = 0; i < n; ++i) {
      Slot& slot = self->slots_[i];
      slot.endpoint = i == 0 ? &va->deps_.primary : &va->deps_.remotes[i - 1];
      slot.evidence.set_perspective_id(slot.endpoint->id);
      slot.evidence.set_rir(slot.endpoint->rir);
      slot.evidence.set_primary(i == 0);
      slot.evidence.set_answer(v1::PERSPECTIVE_ANSWER_PENDING);
      slot.started = va->deps_.clock->Now();
    }
  }
  // Observe may answer inline (cache hits), so no lock is held here.
  for (int i = 0; i < n; ++i) {
    perspective::Observer* observer =
        i == 0 ? va->deps_.primary.observer : va->deps_.remotes[i - 1].observer;
    observer->Observe(observe, perspective_deadline,
                      [self, i](absl::StatusOr<v1::Observation> observation) {
                        self->OnAnswer(i, std::move(observation));
                      });
  }
}

void ValidationAuthority::Validation::FinishWithoutObservations(v1::Outcome outcome,
                                                                policy::ProblemType type,
                                                                std::string detail) {
  const absl::Time now = va_->deps_.clock->Now();
  v1::ValidationResult result;
  result.set_outcome(outcome);
  *result.mutable_problem() = MakeProblem(type, std::move(detail));
  result.set_fqdn(identifier_.fqdn);
  result.set_wildcard(identifier_.wildcard);
  result.set_request_id(request_.request_id());
  *result.mutable_decided_at() = policy::TimeToProto(now);
  v1::AuditRecord audit;
  {
    absl::MutexLock lock(&mu_);
    RememberAnswerLocked(result, now);
    audit = TakeAuditLocked(now);
  }
  Answer(std::move(result), now);
  va_->deps_.audit->Write(audit);
  va_->Finished();
}

void ValidationAuthority::Validation::OnAnswer(int index,
                                               absl::StatusOr<v1::Observation> observation) {
  const absl::Time now = va_->deps_.clock->Now();
  bool answer_now = false;
  bool last = false;
  v1::ValidationResult result;
  v1::AuditRecord audit;
  v1::PerspectiveAnswer answer_kind;
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  v1::DnssecState dnssec = v1::DNSSEC_STATE_UNSPECIFIED;
  int final_corroborations = -1;  // set when the last answer arrives and the primary passed
  absl::Duration latency;
  {
    absl::MutexLock lock(&mu_);
    Slot& slot = slots_[index];
    slot.done = true;
    latency = now - slot.started;
    v1::PerspectiveEvidence& ev = slot.evidence;
    *ev.mutable_duration() = common::DurationToProto(latency);
    if (!observation.ok()) {
      ev.set_answer(AnswerFromStatus(observation.status()));
      ev.set_error(observation.status().ToString());
    } else if (observation->perspective_id() != slot.endpoint->id ||
               observation->rir() != slot.endpoint->rir) {
      // SPEC.md 6: an answer whose identity does not match configuration
      // is a non-corroboration.
      ev.set_answer(v1::PERSPECTIVE_ANSWER_IDENTITY_MISMATCH);
      ev.set_error(absl::StrCat("answered as \"", absl::CEscape(observation->perspective_id()),
                                "\"/", v1::Rir_Name(observation->rir()), ", configured \"",
                                slot.endpoint->id, "\"/", v1::Rir_Name(slot.endpoint->rir)));
      *ev.mutable_observation() = *std::move(observation);
    } else {
      ev.set_answer(v1::PERSPECTIVE_ANSWER_ANSWERED);
      slot.judgement = Judge(*observation, *binding_, caa_ ? &*caa_ : nullptr);
      const Judgement& j = slot.judgement;
      ev.set_outcome(j.outcome);
      if (j.outcome != v1::OUTCOME_VALID) *ev.mutable_problem() = j.problem;
      ev.set_matched_accounturi(j.matched_accounturi);
      for (const auto& r : j.records) *ev.add_records() = r;
      *ev.mutable_observation() = *std::move(observation);
    }
    answer_kind = ev.answer();
    outcome = ev.outcome();
    if (answer_kind == v1::PERSPECTIVE_ANSWER_ANSWERED) dnssec = slot.judgement.dnssec;
    --pending_;
    if (!answered_ && TryDecideLocked(&result)) {
      RememberAnswerLocked(result, now);
      answer_now = true;
    }
    if (pending_ == 0) {
      last = true;
      if (slots_[0].judgement.outcome == v1::OUTCOME_VALID) {
        final_corroborations = 0;
        for (size_t i = 1; i < slots_.size(); ++i) {
          if (CorroboratesLocked(slots_[i])) ++final_corroborations;
        }
      }
      audit = TakeAuditLocked(now);
    }
  }
  va_->metrics_->Perspective(index, answer_kind, outcome, dnssec, latency);
  if (final_corroborations >= 0) va_->metrics_->Corroborations(final_corroborations);
  if (answer_now) Answer(std::move(result), now);
  if (last) {
    va_->deps_.audit->Write(audit);
    va_->Finished();
  }
}

bool ValidationAuthority::Validation::CorroboratesLocked(const Slot& slot) const {
  // SPEC.md 6 / BR 3.2.2.4.22: a remote corroborates only with a passing
  // record carrying the SAME accounturi value the primary matched (and CAA
  // permission when checked, which Judge folds into VALID).
  const Slot& primary = slots_[0];
  return slot.done && slot.evidence.answer() == v1::PERSPECTIVE_ANSWER_ANSWERED &&
         slot.judgement.outcome == v1::OUTCOME_VALID && primary.done &&
         primary.judgement.outcome == v1::OUTCOME_VALID &&
         slot.judgement.matched_accounturi == primary.judgement.matched_accounturi;
}

policy::QuorumDecision ValidationAuthority::Validation::QuorumLocked() const {
  std::vector<policy::RemoteStatus> remotes;
  remotes.reserve(slots_.size() - 1);
  for (size_t i = 1; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    policy::RemoteStatus r;
    r.id = s.endpoint->id;
    // Create refused RIR_UNSPECIFIED, so the conversion cannot fail here.
    r.rir = policy::RirFromProto(s.endpoint->rir).value_or(policy::Rir::kArin);
    r.state = !s.done                ? policy::RemoteState::kPending
              : CorroboratesLocked(s) ? policy::RemoteState::kCorroborated
                                      : policy::RemoteState::kNotCorroborated;
    remotes.push_back(std::move(r));
  }
  return policy::DecideQuorum(remotes, start_, va_->options_.min_remotes_rules);
}

void ValidationAuthority::Validation::AddEvidenceLocked(v1::ValidationResult* result) const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    v1::PerspectiveEvidence* ev = result->add_perspectives();
    *ev = slots_[i].evidence;
    if (i > 0) ev->set_corroborates(CorroboratesLocked(slots_[i]));
  }
}

bool ValidationAuthority::Validation::TryDecideLocked(v1::ValidationResult* result) {
  const Slot& primary = slots_[0];
  if (!primary.done) return false;  // the primary decides (SPEC.md 6)
  const policy::QuorumDecision quorum = QuorumLocked();
  const bool primary_valid = primary.evidence.answer() == v1::PERSPECTIVE_ANSWER_ANSWERED &&
                             primary.judgement.outcome == v1::OUTCOME_VALID;
  if (primary_valid && !quorum.decided) return false;

  result->set_fqdn(identifier_.fqdn);
  result->set_wildcard(identifier_.wildcard);
  result->set_request_id(request_.request_id());
  result->set_dnssec(primary.judgement.dnssec);
  *result->mutable_decided_at() = policy::TimeToProto(va_->deps_.clock->Now());
  v1::Quorum* q = result->mutable_quorum();
  q->set_corroborated(quorum.corroborated);
  q->set_remotes(quorum.remotes);
  q->set_required(quorum.required);
  for (policy::Rir rir : quorum.rirs) q->add_rirs(policy::RirToProto(rir));
  q->set_met(primary_valid && quorum.met);
  q->set_summary(quorum.summary);
  AddEvidenceLocked(result);

  if (primary.evidence.answer() != v1::PERSPECTIVE_ANSWER_ANSWERED) {
    // The primary could not observe: never valid on doubt.
    const bool timeout =
        primary.evidence.answer() == v1::PERSPECTIVE_ANSWER_DEADLINE_EXCEEDED;
    result->set_outcome(timeout ? v1::OUTCOME_DNS_ERROR : v1::OUTCOME_SERVER_INTERNAL);
    *result->mutable_problem() = MakeProblem(
        timeout ? policy::ProblemType::kDns : policy::ProblemType::kServerInternal,
        absl::StrCat("primary perspective ", primary.endpoint->id,
                     timeout ? " did not answer in time: " : " failed: ",
                     primary.evidence.error()));
    return true;
  }
  const Judgement& j = primary.judgement;
  if (!primary_valid) {
    result->set_outcome(j.outcome);
    *result->mutable_problem() = j.problem;
    return true;
  }
  if (!quorum.met) {
    // BR 3.2.2.9: the primary passed, the remotes did not corroborate.
    std::vector<std::string> why;
    for (size_t i = 1; i < slots_.size(); ++i) {
      const Slot& s = slots_[i];
      if (!s.done || CorroboratesLocked(s)) continue;
      std::string reason;
      if (s.evidence.answer() != v1::PERSPECTIVE_ANSWER_ANSWERED) {
        reason = absl::StrCat(AnswerLabel(s.evidence.answer()), " (", s.evidence.error(), ")");
      } else if (s.judgement.outcome != v1::OUTCOME_VALID) {
        reason = s.judgement.problem.detail();
      } else {
        reason = "matched a different accounturi than the primary";
      }
      why.push_back(absl::StrCat(s.endpoint->id, ": ", reason));
    }
    result->set_outcome(v1::OUTCOME_CORROBORATION_FAILED);
    *result->mutable_problem() = MakeProblem(
        policy::ProblemType::kUnauthorized,
        absl::StrCat("multi-perspective corroboration failed (BR 3.2.2.9): ", quorum.summary,
                     "; ", quorum.reason, why.empty() ? "" : "; ", absl::StrJoin(why, "; ")));
    va_->metrics_->QuorumFailure();
    return true;
  }
  result->set_outcome(v1::OUTCOME_VALID);
  if (j.matched_index >= 0 && j.matched_index < static_cast<int>(j.records.size())) {
    *result->mutable_matched_record() = j.records[j.matched_index];
  }
  if (j.matched_key) *result->mutable_matched_key() = *j.matched_key;
  // SPEC.md 4: valid_until = min(now + 10 days, persistUntil).
  *result->mutable_valid_until() = policy::TimeToProto(j.valid_until);
  return true;
}

void ValidationAuthority::Validation::RememberAnswerLocked(v1::ValidationResult& result,
                                                          absl::Time now) {
  answered_ = true;
  answered_at_ = now;
  // Everything but the evidence, which the audit record has once, in
  // final_perspectives (the evidence is moved out and back, not copied).
  google::protobuf::RepeatedPtrField<v1::PerspectiveEvidence> evidence;
  evidence.Swap(result.mutable_perspectives());
  result_ = result;
  evidence.Swap(result.mutable_perspectives());
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].done) pending_at_answer_.push_back(static_cast<int>(i));
  }
}

v1::AuditRecord ValidationAuthority::Validation::TakeAuditLocked(absl::Time now) {
  v1::AuditRecord audit;
  *audit.mutable_time() = policy::TimeToProto(start_);
  audit.set_va_id(va_->options_.va_id);
  audit.set_request_id(request_.request_id());
  *audit.mutable_request() = request_;
  audit.set_client(client_);
  // Nothing reads these once the validation is over: moved, not copied
  // (each observation is a few hundred bytes in many small strings).
  *audit.mutable_account() = std::move(account_);
  *audit.mutable_policy() = std::move(policy_);
  *audit.mutable_result() = std::move(result_);
  // Corroboration is judged from every slot's answer, so all of it first.
  std::vector<bool> corroborates(slots_.size(), false);
  for (size_t i = 1; i < slots_.size(); ++i) corroborates[i] = CorroboratesLocked(slots_[i]);
  for (size_t i = 0; i < slots_.size(); ++i) {
    v1::PerspectiveEvidence* ev = audit.add_final_perspectives();
    *ev = std::move(slots_[i].evidence);
    if (i > 0) ev->set_corroborates(corroborates[i]);
    if (!slots_[i].done) ev->set_answer(v1::PERSPECTIVE_ANSWER_PENDING);
  }
  for (int i : pending_at_answer_) audit.add_pending_at_answer(i);
  *audit.mutable_answer_latency() = common::DurationToProto(answered_at_ - start_);
  *audit.mutable_total_latency() = common::DurationToProto(now - start_);
  return audit;
}

void ValidationAuthority::Validation::Answer(v1::ValidationResult result, absl::Time now) {
  Done done;
  {
    absl::MutexLock lock(&mu_);
    done = std::move(done_);
  }
  va_->metrics_->Validation(result.outcome(), now - start_);
  if (done) std::move(done)(std::move(result));
}

// ---------------------------------------------------------------------------

ValidationAuthority::ValidationAuthority(Options options, Deps deps)
    : options_(std::move(options)), deps_(std::move(deps)) {
  std::vector<std::string> ids = {deps_.primary.id};
  for (const auto& r : deps_.remotes) ids.push_back(r.id);
  if (deps_.registry != nullptr) {
    metrics_ = std::make_unique<VaMetrics>(*deps_.registry, ids);
  } else {
    owned_registry_ = std::make_unique<prometheus::Registry>();
    metrics_ = std::make_unique<VaMetrics>(*owned_registry_, ids);
  }
}

ValidationAuthority::~ValidationAuthority() { Drain(absl::InfiniteFuture()); }

absl::StatusOr<std::unique_ptr<ValidationAuthority>> ValidationAuthority::Create(Options options,
                                                                                 Deps deps) {
  std::vector<std::string> problems;
  if (deps.store == nullptr) problems.push_back("account store: required");
  if (deps.audit == nullptr) problems.push_back("audit sink: required");
  if (deps.clock == nullptr) problems.push_back("clock: required");
  if (deps.primary.observer == nullptr) problems.push_back("primary perspective: required");
  absl::flat_hash_set<std::string> ids = {deps.primary.id};
  if (deps.primary.rir == v1::RIR_UNSPECIFIED) problems.push_back("primary_rir: required");
  for (size_t i = 0; i < deps.remotes.size(); ++i) {
    const auto& r = deps.remotes[i];
    if (r.observer == nullptr) problems.push_back(absl::StrCat("remotes[", i, "]: no observer"));
    if (r.rir == v1::RIR_UNSPECIFIED) problems.push_back(absl::StrCat("remotes[", i, "].rir: required"));
    if (!ids.insert(r.id).second) {
      problems.push_back(absl::StrCat("remotes[", i, "].id: \"", r.id,
                                      "\" is used twice (a perspective must never count twice)"));
    }
  }
  std::vector<std::string> normalized;
  for (size_t i = 0; i < options.issuer_domain_names.size(); ++i) {
    std::string n = policy::NormalizeIssuer(options.issuer_domain_names[i]);
    if (absl::Status s = policy::ValidateFqdn(n); !s.ok()) {
      problems.push_back(absl::StrCat("issuer_domain_names[", i, "]: ", s.message()));
    }
    normalized.push_back(std::move(n));
  }
  if (normalized.empty() || normalized.size() > kMaxIssuerNames) {
    problems.push_back("issuer_domain_names: 1 to 10 names required (SPEC.md 2)");
  }
  options.issuer_domain_names = normalized;
  if (options.hash_algorithms.empty()) options.hash_algorithms = {"sha-256"};
  if (absl::Status s = policy::ValidateMinRemotesRules(options.min_remotes_rules); !s.ok()) {
    problems.push_back(absl::StrCat("mpic.min_remotes: ", s.message()));
  }
  if (options.perspective_deadline <= absl::ZeroDuration() ||
      options.default_deadline <= absl::ZeroDuration()) {
    problems.push_back("deadlines must be positive");
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  }
  if (deps.clock != nullptr) {
    // BR 3.2.2.9 phase-in: refuse to run with fewer remotes than required.
    const int required = policy::MinRemotesRequired(deps.clock->Now(), options.min_remotes_rules);
    if (static_cast<int>(deps.remotes.size()) < required) {
      return absl::FailedPreconditionError(absl::StrCat(
          "remotes: ", deps.remotes.size(), " configured, BR 3.2.2.9 requires at least ",
          required, " remote perspectives now"));
    }
  }
  return std::unique_ptr<ValidationAuthority>(
      new ValidationAuthority(std::move(options), std::move(deps)));
}

absl::Status ValidationAuthority::CheckRequest(const v1::ValidatePersistRequest& request,
                                               std::vector<std::string>* issuers) const {
  if (request.account_url().empty() ||
      request.account_url().size() > policy::kMaxAccountUrlLength ||
      !IsPrintableAscii(request.account_url())) {
    return absl::InvalidArgumentError(
        "account_url: must be 1-2048 printable ASCII characters, the URL exactly as issued");
  }
  if (request.issuer_domain_names_size() > static_cast<int>(kMaxIssuerNames)) {
    return absl::InvalidArgumentError("issuer_domain_names: at most 10 names");
  }
  if (request.issuer_domain_names().empty()) {
    *issuers = options_.issuer_domain_names;
  } else {
    for (int i = 0; i < request.issuer_domain_names_size(); ++i) {
      std::string n = policy::NormalizeIssuer(request.issuer_domain_names(i));
      if (std::find(options_.issuer_domain_names.begin(), options_.issuer_domain_names.end(),
                    n) == options_.issuer_domain_names.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "issuer_domain_names[", i, "]: \"", absl::CEscape(request.issuer_domain_names(i)),
            "\" is not an issuer domain name this VA is configured for"));
      }
      if (std::find(issuers->begin(), issuers->end(), n) == issuers->end()) {
        issuers->push_back(std::move(n));
      }
    }
  }
  if (request.request_id().size() > kMaxRequestIdLength ||
      !IsPrintableAscii(request.request_id())) {
    return absl::InvalidArgumentError("request_id: at most 128 printable ASCII characters");
  }
  return absl::OkStatus();
}

void ValidationAuthority::Validate(const v1::ValidatePersistRequest& request,
                                   absl::Time deadline, std::string client, Done done) {
  const absl::Time start = deps_.clock->Now();
  std::vector<std::string> issuers;
  absl::Status status = CheckRequest(request, &issuers);
  absl::StatusOr<policy::Identifier> identifier = policy::ParseIdentifier(request.identifier());
  if (status.ok() && !identifier.ok()) {
    status = absl::InvalidArgumentError(
        absl::StrCat("identifier: ", identifier.status().message()));
  }
  if (!status.ok()) {
    metrics_->Rejected("invalid_argument");
    std::move(done)(status);
    return;
  }
  v1::ValidatePersistRequest copy = request;
  if (copy.request_id().empty()) copy.set_request_id(NewRequestId());
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  metrics_->InFlight(1);
  // The RA's deadline flows in; without one, the configured default.
  if (deadline == absl::InfiniteFuture()) deadline = start + options_.default_deadline;
  auto validation = std::make_shared<Validation>(this, std::move(copy), std::move(client), start,
                                                 std::move(done));
  Validation::Run(std::move(validation), *std::move(identifier), std::move(issuers), deadline);
}

void ValidationAuthority::Finished() {
  metrics_->InFlight(-1);
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

bool ValidationAuthority::Drain(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

void ValidationAuthority::Rejected(absl::string_view reason) { metrics_->Rejected(reason); }

int ValidationAuthority::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

}  // namespace vantage::va
