#include "policy/proto_convert.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "policy/account_hash.h"
#include "policy/txt_presentation.h"

namespace vantage::policy {

v1::Outcome OutcomeToProto(Outcome outcome) {
  switch (outcome) {
    case Outcome::kValid:
      return v1::OUTCOME_VALID;
    case Outcome::kMalformed:
      return v1::OUTCOME_MALFORMED;
    case Outcome::kUnauthorized:
      return v1::OUTCOME_UNAUTHORIZED;
  }
  return v1::OUTCOME_UNSPECIFIED;
}

v1::RecordVerdict RecordVerdictToProto(RecordVerdict verdict) {
  switch (verdict) {
    case RecordVerdict::kIgnored:
      return v1::RECORD_VERDICT_IGNORED;
    case RecordVerdict::kValid:
      return v1::RECORD_VERDICT_VALID;
    case RecordVerdict::kMalformed:
      return v1::RECORD_VERDICT_MALFORMED;
    case RecordVerdict::kUnauthorized:
      return v1::RECORD_VERDICT_UNAUTHORIZED;
  }
  return v1::RECORD_VERDICT_UNSPECIFIED;
}

v1::Problem ProblemToProto(const Problem& problem) {
  v1::Problem p;
  p.set_type(std::string(ProblemTypeUrn(problem.type)));
  p.set_detail(problem.detail);
  return p;
}

v1::KeyMatch KeyMatchToProto(const KeyMatch& key) {
  v1::KeyMatch k;
  k.set_thumbprint(key.thumbprint);
  k.set_key_index(key.key_index);
  k.set_domain_independent(key.domain_independent);
  k.set_hash_alg(std::string(HashAlgToken(key.hash_alg)));
  return k;
}

v1::RecordResult RecordResultToProto(const RecordResult& record) {
  v1::RecordResult r;
  r.set_index(record.index);
  r.set_value(record.value);
  r.set_value_text(EscapeTxtBytes(record.value));
  r.set_verdict(RecordVerdictToProto(record.verdict));
  r.set_reason(record.reason);
  // A parsed accounturi is printable ASCII (RFC 8659 value syntax), so it is
  // valid UTF-8 for the proto string field.
  if (record.accounturi.has_value()) r.set_accounturi(*record.accounturi);
  if (record.persist_until.has_value()) r.set_persist_until(*record.persist_until);
  r.set_policy_wildcard(record.policy_wildcard);
  return r;
}

v1::KeyMatch KeyMatchViewToProto(const KeyMatchView& key) {
  v1::KeyMatch k;
  k.set_thumbprint(key.thumbprint.data(), key.thumbprint.size());
  k.set_key_index(key.key_index);
  k.set_domain_independent(key.domain_independent);
  k.set_hash_alg(std::string(HashAlgToken(key.hash_alg)));
  return k;
}

v1::RecordResult RecordDecisionToProto(const AccountBinding& binding,
                                       const RecordDecision& record) {
  // Field for field what RecordResultToProto(binding.ExplainRecord(record))
  // sets, without the intermediate copies.
  v1::RecordResult r;
  r.set_index(record.index);
  r.set_value(record.value.data(), record.value.size());
  r.set_value_text(EscapeTxtBytes(record.value));
  r.set_verdict(RecordVerdictToProto(record.verdict));
  r.set_reason(binding.Reason(record));
  // A parsed accounturi is printable ASCII (RFC 8659 value syntax), so it is
  // valid UTF-8 for the proto string field.
  if (record.accounturi.has_value()) {
    r.set_accounturi(record.accounturi->data(), record.accounturi->size());
  }
  if (record.persist_until.has_value()) r.set_persist_until(*record.persist_until);
  r.set_policy_wildcard(record.policy_wildcard);
  return r;
}

AccountUriMode AccountUriModeFromProto(v1::AccountUriMode mode) {
  switch (mode) {
    case v1::ACCOUNT_URI_MODE_LEGACY_RAW:
      return AccountUriMode::kLegacyRaw;
    case v1::ACCOUNT_URI_MODE_UNSPECIFIED:
    case v1::ACCOUNT_URI_MODE_HASHED:
    default:  // proto3 open enum: unknown values fail safe to HASHED.
      return AccountUriMode::kHashed;
  }
}

std::vector<TxtRr> RrsetFromProto(const v1::TxtObservation& txt) {
  std::vector<TxtRr> rrset;
  rrset.reserve(txt.records_size());
  for (const v1::TxtRecord& rec : txt.records()) {
    rrset.emplace_back(rec.strings().begin(), rec.strings().end());
  }
  return rrset;
}

google::protobuf::Timestamp TimeToProto(absl::Time t) {
  // Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
  constexpr int64_t kMinSeconds = -62135596800;
  constexpr int64_t kMaxSeconds = 253402300799;
  google::protobuf::Timestamp ts;
  if (t <= absl::FromUnixSeconds(kMinSeconds)) {
    ts.set_seconds(kMinSeconds);
    return ts;
  }
  if (t >= absl::FromUnixSeconds(kMaxSeconds)) {
    ts.set_seconds(kMaxSeconds);
    return ts;
  }
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

v1::Rir RirToProto(Rir rir) {
  switch (rir) {
    case Rir::kArin:
      return v1::RIR_ARIN;
    case Rir::kRipe:
      return v1::RIR_RIPE;
    case Rir::kApnic:
      return v1::RIR_APNIC;
    case Rir::kLacnic:
      return v1::RIR_LACNIC;
    case Rir::kAfrinic:
      return v1::RIR_AFRINIC;
  }
  return v1::RIR_UNSPECIFIED;
}

absl::StatusOr<Rir> RirFromProto(v1::Rir rir) {
  switch (rir) {
    case v1::RIR_ARIN:
      return Rir::kArin;
    case v1::RIR_RIPE:
      return Rir::kRipe;
    case v1::RIR_APNIC:
      return Rir::kApnic;
    case v1::RIR_LACNIC:
      return Rir::kLacnic;
    case v1::RIR_AFRINIC:
      return Rir::kAfrinic;
    default:  // RIR_UNSPECIFIED, and unknown values of the open proto3 enum.
      return absl::InvalidArgumentError(
          absl::StrCat("rir: ", static_cast<int>(rir), " is not a known RIR"));
  }
}

v1::Quorum QuorumToProto(const QuorumDecision& decision) {
  v1::Quorum q;
  q.set_corroborated(decision.corroborated);
  q.set_remotes(decision.remotes);
  q.set_required(decision.required);
  for (Rir r : decision.rirs) q.add_rirs(RirToProto(r));
  q.set_met(decision.met);
  q.set_summary(decision.summary);
  return q;
}

std::vector<MinRemotesRule> MinRemotesRulesFromProto(const v1::MpicConfig& mpic) {
  std::vector<MinRemotesRule> rules;
  for (const v1::MinRemotesRule& r : mpic.min_remotes()) {
    rules.push_back(
        {absl::FromUnixSeconds(r.effective().seconds()) + absl::Nanoseconds(r.effective().nanos()),
         static_cast<int>(std::min<uint32_t>(r.min_remotes(), 1u << 30))});
  }
  return rules;
}

CaaResult EvaluateCaaObservation(const v1::CaaObservation& caa, const CaaRequest& request) {
  CaaResult forbid;
  forbid.decision = CaaDecision::kForbid;
  if (!caa.complete()) {
    forbid.reason =
        "the CAA lookup did not complete (timeout, SERVFAIL, DNSSEC bogus or indeterminate): "
        "never permission (SPEC.md 7, BR 3.2.2.8)";
    return forbid;
  }
  if (caa.relevant_step() == -1) {
    CaaResult permit;
    permit.decision = CaaDecision::kPermit;
    permit.reason = "no CAA records up to the TLD: issuance is not restricted (RFC 8659 section 3)";
    return permit;
  }
  if (caa.relevant_step() < 0 || caa.relevant_step() >= caa.steps_size()) {
    forbid.reason = absl::StrCat("CAA observation: relevant_step ", caa.relevant_step(),
                                 " is out of range (", caa.steps_size(), " steps)");
    return forbid;
  }
  std::vector<CaaProperty> rrset;
  for (const v1::CaaRecord& r : caa.steps(caa.relevant_step()).records()) {
    if (r.flags() > 255) {
      forbid.reason = absl::StrCat("CAA observation: flags ", r.flags(), " do not fit one octet");
      return forbid;
    }
    rrset.push_back({static_cast<uint8_t>(r.flags()), r.tag(), r.value()});
  }
  return EvaluateCaa(rrset, request);
}

void VerdictToEvidence(const RrsetVerdict& verdict, v1::PerspectiveEvidence* evidence) {
  evidence->set_outcome(OutcomeToProto(verdict.outcome));
  if (verdict.problem.has_value()) {
    *evidence->mutable_problem() = ProblemToProto(*verdict.problem);
  } else {
    evidence->clear_problem();
  }
  evidence->set_matched_accounturi(verdict.matched_accounturi);
  evidence->clear_records();
  for (const RecordResult& r : verdict.records) {
    *evidence->add_records() = RecordResultToProto(r);
  }
}

void DecisionToEvidence(const AccountBinding& binding, const RrsetDecision& decision,
                        v1::PerspectiveEvidence* evidence) {
  evidence->set_outcome(OutcomeToProto(decision.outcome));
  if (std::optional<Problem> problem = binding.ExplainProblem(decision); problem.has_value()) {
    *evidence->mutable_problem() = ProblemToProto(*problem);
  } else {
    evidence->clear_problem();
  }
  evidence->set_matched_accounturi(decision.matched_accounturi.data(),
                                   decision.matched_accounturi.size());
  evidence->clear_records();
  for (const RecordDecision& r : decision.records) {
    *evidence->add_records() = RecordDecisionToProto(binding, r);
  }
}

void DecisionToResult(const AccountBinding& binding, const RrsetDecision& decision,
                      v1::ValidationResult* result) {
  result->set_outcome(OutcomeToProto(decision.outcome));
  if (std::optional<Problem> problem = binding.ExplainProblem(decision); problem.has_value()) {
    *result->mutable_problem() = ProblemToProto(*problem);
  } else {
    result->clear_problem();
  }
  result->clear_matched_record();
  result->clear_matched_key();
  result->clear_valid_until();
  if (decision.outcome == Outcome::kValid && decision.matched_index >= 0 &&
      static_cast<size_t>(decision.matched_index) < decision.records.size()) {
    *result->mutable_matched_record() =
        RecordDecisionToProto(binding, decision.records[decision.matched_index]);
    if (decision.matched_key.has_value()) {
      *result->mutable_matched_key() = KeyMatchViewToProto(*decision.matched_key);
    }
    *result->mutable_valid_until() = TimeToProto(decision.valid_until);
  }
}

void VerdictToResult(const RrsetVerdict& verdict, v1::ValidationResult* result) {
  result->set_outcome(OutcomeToProto(verdict.outcome));
  if (verdict.problem.has_value()) {
    *result->mutable_problem() = ProblemToProto(*verdict.problem);
  } else {
    result->clear_problem();
  }
  result->clear_matched_record();
  result->clear_matched_key();
  result->clear_valid_until();
  if (verdict.outcome == Outcome::kValid && verdict.matched_index >= 0 &&
      static_cast<size_t>(verdict.matched_index) < verdict.records.size()) {
    *result->mutable_matched_record() = RecordResultToProto(verdict.records[verdict.matched_index]);
    if (verdict.matched_key.has_value()) {
      *result->mutable_matched_key() = KeyMatchToProto(*verdict.matched_key);
    }
    *result->mutable_valid_until() = TimeToProto(verdict.valid_until);
  }
}

}  // namespace vantage::policy
