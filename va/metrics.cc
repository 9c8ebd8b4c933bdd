#include "va/metrics.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vantage::va {
namespace {

// Latency buckets from 100 us to 30 s: a warm validation on loopback takes
// about a millisecond, a cold one across regions hundreds of milliseconds.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
}

constexpr v1::Outcome kOutcomes[] = {
    v1::OUTCOME_UNSPECIFIED,     v1::OUTCOME_VALID,        v1::OUTCOME_MALFORMED,
    v1::OUTCOME_UNAUTHORIZED,    v1::OUTCOME_DNS_ERROR,    v1::OUTCOME_CAA_FORBIDDEN,
    v1::OUTCOME_CORROBORATION_FAILED, v1::OUTCOME_SERVER_INTERNAL};
constexpr v1::PerspectiveAnswer kAnswers[] = {
    v1::PERSPECTIVE_ANSWER_ANSWERED, v1::PERSPECTIVE_ANSWER_DEADLINE_EXCEEDED,
    v1::PERSPECTIVE_ANSWER_TRANSPORT_ERROR, v1::PERSPECTIVE_ANSWER_IDENTITY_MISMATCH,
    v1::PERSPECTIVE_ANSWER_CANCELLED};

}  // namespace

std::string OutcomeLabel(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_VALID: return "valid";
    case v1::OUTCOME_MALFORMED: return "malformed";
    case v1::OUTCOME_UNAUTHORIZED: return "unauthorized";
    case v1::OUTCOME_DNS_ERROR: return "dns";
    case v1::OUTCOME_CAA_FORBIDDEN: return "caa";
    case v1::OUTCOME_CORROBORATION_FAILED: return "corroboration_failed";
    case v1::OUTCOME_SERVER_INTERNAL: return "server_internal";
    case v1::OUTCOME_UNSPECIFIED: return "none";
    default: return "unknown";
  }
}

std::string DnssecLabel(v1::DnssecState state) {
  switch (state) {
    case v1::DNSSEC_STATE_SECURE: return "secure";
    case v1::DNSSEC_STATE_INSECURE: return "insecure";
    case v1::DNSSEC_STATE_BOGUS: return "bogus";
    case v1::DNSSEC_STATE_INDETERMINATE: return "indeterminate";
    default: return "unspecified";
  }
}

std::string AnswerLabel(v1::PerspectiveAnswer answer) {
  std::string name = v1::PerspectiveAnswer_Name(answer);
  constexpr absl::string_view kPrefix = "PERSPECTIVE_ANSWER_";
  if (absl::StartsWith(name, kPrefix)) name = name.substr(kPrefix.size());
  return absl::AsciiStrToLower(name);
}

VaMetrics::VaMetrics(prometheus::Registry& registry,
                     const std::vector<std::string>& perspective_ids)
    : validations_family_(prometheus::BuildCounter()
                              .Name("vantage_va_validations_total")
                              .Help("Validations answered, by outcome.")
                              .Register(registry)),
      perspective_answers_family_(
          prometheus::BuildCounter()
              .Name("vantage_va_perspective_answers_total")
              .Help("Perspective attempts by perspective and answer "
                    "(answered, deadline_exceeded, transport_error, identity_mismatch, cancelled).")
              .Register(registry)),
      perspective_outcomes_family_(
          prometheus::BuildCounter()
              .Name("vantage_va_perspective_outcomes_total")
              .Help("Verdicts of answered perspective observations, by perspective and outcome.")
              .Register(registry)),
      perspective_latency_family_(prometheus::BuildHistogram()
                                      .Name("vantage_va_perspective_duration_seconds")
                                      .Help("Time from asking a perspective to its answer.")
                                      .Register(registry)),
      perspective_dnssec_family_(
          prometheus::BuildCounter()
              .Name("vantage_va_perspective_dnssec_total")
              .Help("DNSSEC state of the TXT answer of every answered perspective observation, "
                    "primary included (SPEC.md 5).")
              .Register(registry)),
      store_errors_family_(prometheus::BuildCounter()
                               .Name("vantage_va_account_store_errors_total")
                               .Help("Account store lookups that failed, by status code.")
                               .Register(registry)),
      rejected_family_(prometheus::BuildCounter()
                           .Name("vantage_va_requests_rejected_total")
                           .Help("ValidatePersist calls refused before validating, by reason.")
                           .Register(registry)) {
  for (v1::Outcome o : kOutcomes) {
    validations_[o] = &validations_family_.Add({{"outcome", OutcomeLabel(o)}});
  }
  validation_latency_ = &prometheus::BuildHistogram()
                             .Name("vantage_va_validation_duration_seconds")
                             .Help("Time from request to answer of a validation.")
                             .Register(registry)
                             .Add({}, LatencyBuckets());
  quorum_failures_ = &prometheus::BuildCounter()
                          .Name("vantage_va_quorum_failures_total")
                          .Help("Validations the primary passed but remotes did not corroborate "
                                "(BR 3.2.2.9).")
                          .Register(registry)
                          .Add({});
  corroborations_ = &prometheus::BuildHistogram()
                         .Name("vantage_va_quorum_corroborations")
                         .Help("Remote perspectives that corroborated a validation the primary "
                               "passed, counted once every perspective answered (BR 3.2.2.9).")
                         .Register(registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{0, 1, 2, 3, 4, 5, 6, 7,
                                                                          8, 9, 10});
  store_latency_ = &prometheus::BuildHistogram()
                        .Name("vantage_va_account_store_duration_seconds")
                        .Help("Account store lookup latency.")
                        .Register(registry)
                        .Add({}, LatencyBuckets());
  in_flight_ = &prometheus::BuildGauge()
                    .Name("vantage_va_validations_in_flight")
                    .Help("Validations in progress, stragglers included.")
                    .Register(registry)
                    .Add({});
  for (const std::string& id : perspective_ids) {
    PerPerspective p;
    for (v1::PerspectiveAnswer a : kAnswers) {
      p.answers[a] =
          &perspective_answers_family_.Add({{"perspective", id}, {"answer", AnswerLabel(a)}});
    }
    for (v1::Outcome o : kOutcomes) {
      p.outcomes[o] =
          &perspective_outcomes_family_.Add({{"perspective", id}, {"outcome", OutcomeLabel(o)}});
    }
    for (v1::DnssecState d : {v1::DNSSEC_STATE_SECURE, v1::DNSSEC_STATE_INSECURE,
                              v1::DNSSEC_STATE_BOGUS, v1::DNSSEC_STATE_INDETERMINATE}) {
      p.dnssec[d] =
          &perspective_dnssec_family_.Add({{"perspective", id}, {"dnssec", DnssecLabel(d)}});
    }
    p.latency = &perspective_latency_family_.Add({{"perspective", id}}, LatencyBuckets());
    perspectives_.push_back(std::move(p));
  }
}

void VaMetrics::Validation(v1::Outcome outcome, absl::Duration latency) {
  auto it = validations_.find(outcome);
  if (it != validations_.end()) it->second->Increment();
  validation_latency_->Observe(absl::ToDoubleSeconds(latency));
}

void VaMetrics::Perspective(int index, v1::PerspectiveAnswer answer, v1::Outcome outcome,
                            v1::DnssecState dnssec, absl::Duration latency) {
  if (index < 0 || index >= static_cast<int>(perspectives_.size())) return;
  PerPerspective& p = perspectives_[index];
  if (auto it = p.answers.find(answer); it != p.answers.end()) it->second->Increment();
  if (answer == v1::PERSPECTIVE_ANSWER_ANSWERED) {
    if (auto it = p.outcomes.find(outcome); it != p.outcomes.end()) it->second->Increment();
    if (auto it = p.dnssec.find(dnssec); it != p.dnssec.end()) it->second->Increment();
  }
  p.latency->Observe(absl::ToDoubleSeconds(latency));
}

void VaMetrics::StoreLookup(absl::Duration latency, const absl::Status& status) {
  store_latency_->Observe(absl::ToDoubleSeconds(latency));
  if (!status.ok() && status.code() != absl::StatusCode::kNotFound) {
    store_errors_family_.Add({{"code", absl::AsciiStrToLower(absl::StatusCodeToString(status.code()))}})
        .Increment();
  }
}

void VaMetrics::Rejected(absl::string_view reason) {
  rejected_family_.Add({{"reason", std::string(reason)}}).Increment();
}

}  // namespace vantage::va
