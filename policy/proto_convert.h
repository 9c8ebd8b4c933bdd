// ProtoConvert: conversions between policy/ results and the proto messages of
// proto/validation.proto and proto/perspective.proto. Kept apart from the
// policy core, which stays free of protobuf-generated types.
#ifndef VANTAGE_POLICY_PROTO_CONVERT_H_
#define VANTAGE_POLICY_PROTO_CONVERT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "policy/caa.h"
#include "policy/quorum.h"
#include "policy/record.h"
#include "proto/config.pb.h"
#include "proto/perspective.pb.h"
#include "proto/validation.pb.h"

namespace vantage::policy {

v1::Outcome OutcomeToProto(Outcome outcome);
v1::RecordVerdict RecordVerdictToProto(RecordVerdict verdict);
v1::Problem ProblemToProto(const Problem& problem);
v1::KeyMatch KeyMatchToProto(const KeyMatch& key);
v1::RecordResult RecordResultToProto(const RecordResult& record);

// AccountUriModeFromProto: UNSPECIFIED means HASHED (config.proto).
AccountUriMode AccountUriModeFromProto(v1::AccountUriMode mode);

// RrsetFromProto copies the TXT RRset of an observation (one TxtRr per
// TxtRecord, its strings in order).
std::vector<TxtRr> RrsetFromProto(const v1::TxtObservation& txt);

// VerdictToEvidence fills the policy part of a perspective's evidence:
// outcome, problem (when not valid), matched_accounturi (when valid) and the
// per-record results. Other fields are left alone.
void VerdictToEvidence(const RrsetVerdict& verdict, v1::PerspectiveEvidence* evidence);

// VerdictToResult fills outcome, problem, matched_record, matched_key and
// valid_until of a ValidationResult from the primary's verdict.
void VerdictToResult(const RrsetVerdict& verdict, v1::ValidationResult* result);

// The same from a decision (AccountBinding::Decide), its texts rendered by
// `binding` straight into the messages: the messages are equal to those
// built from binding.Explain(decision). `decision` must come from
// binding.Decide, and its RRset must still be alive.
//
// RecordDecisionToProto is RecordResultToProto(binding.ExplainRecord(record)).
v1::RecordResult RecordDecisionToProto(const AccountBinding& binding,
                                       const RecordDecision& record);
// DecisionToEvidence is VerdictToEvidence(binding.Explain(decision), ...).
void DecisionToEvidence(const AccountBinding& binding, const RrsetDecision& decision,
                        v1::PerspectiveEvidence* evidence);
// DecisionToResult is VerdictToResult(binding.Explain(decision), ...).
void DecisionToResult(const AccountBinding& binding, const RrsetDecision& decision,
                      v1::ValidationResult* result);
// KeyMatchViewToProto is KeyMatchToProto(key.ToKeyMatch()).
v1::KeyMatch KeyMatchViewToProto(const KeyMatchView& key);

// RirToProto / RirFromProto; RIR_UNSPECIFIED (or an unknown value) is
// INVALID_ARGUMENT: a perspective without a known RIR never counts.
v1::Rir RirToProto(Rir rir);
absl::StatusOr<Rir> RirFromProto(v1::Rir rir);

// QuorumToProto fills a v1::Quorum (corroborated, remotes, required, rirs,
// met, summary).
v1::Quorum QuorumToProto(const QuorumDecision& decision);

// MinRemotesRulesFromProto converts MpicConfig.min_remotes (empty = the
// default table, which DecideQuorum applies for an empty list).
std::vector<MinRemotesRule> MinRemotesRulesFromProto(const v1::MpicConfig& mpic);

// EvaluateCaaObservation decides CAA from a perspective's CaaObservation
// (SPEC.md 7): an incomplete climb (a step not answered, SERVFAIL, BOGUS or
// INDETERMINATE) is never permission; relevant_step -1 (no CAA anywhere) is
// permission; otherwise EvaluateCaa on the relevant step's records. A flags
// value above 255 or a relevant_step out of range forbids.
CaaResult EvaluateCaaObservation(const v1::CaaObservation& caa, const CaaRequest& request);

// TimeToProto converts a finite absl::Time to a Timestamp (clamped to the
// Timestamp range, 0001-01-01 .. 9999-12-31).
google::protobuf::Timestamp TimeToProto(absl::Time t);

}  // namespace vantage::policy

#endif  // VANTAGE_POLICY_PROTO_CONVERT_H_
