// VaMetrics: the VA's Prometheus metrics (STYLE.md naming:
// vantage_va_<what>_<unit>, counters end in _total, bounded labels only:
// perspective ids from config, enum names - never domains or account URLs).
#ifndef VANTAGE_VA_METRICS_H_
#define VANTAGE_VA_METRICS_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/validation.pb.h"

namespace vantage::va {

class VaMetrics {
 public:
  // Registers every family on `registry` and pre-creates the label sets of
  // the hot path (outcomes; answers per perspective id). `perspective_ids`
  // are the primary's and the remotes' ids.
  VaMetrics(prometheus::Registry& registry, const std::vector<std::string>& perspective_ids);

  void Validation(v1::Outcome outcome, absl::Duration latency);
  // Perspective counts one attempt; `outcome` and `dnssec` count only when
  // it answered.
  void Perspective(int index, v1::PerspectiveAnswer answer, v1::Outcome outcome,
                   v1::DnssecState dnssec, absl::Duration latency);
  // Corroborations observes how many remotes corroborated (final state, all
  // answers in) a validation the primary passed.
  void Corroborations(int count) { corroborations_->Observe(count); }
  void QuorumFailure() { quorum_failures_->Increment(); }
  void StoreLookup(absl::Duration latency, const absl::Status& status);
  void Rejected(absl::string_view reason);
  void InFlight(double delta) { in_flight_->Increment(delta); }

 private:
  struct PerPerspective {
    absl::flat_hash_map<int, prometheus::Counter*> answers;   // PerspectiveAnswer
    absl::flat_hash_map<int, prometheus::Counter*> outcomes;  // Outcome
    absl::flat_hash_map<int, prometheus::Counter*> dnssec;    // DnssecState
    prometheus::Histogram* latency;
  };
  prometheus::Family<prometheus::Counter>& validations_family_;
  prometheus::Family<prometheus::Counter>& perspective_answers_family_;
  prometheus::Family<prometheus::Counter>& perspective_outcomes_family_;
  prometheus::Family<prometheus::Histogram>& perspective_latency_family_;
  prometheus::Family<prometheus::Counter>& perspective_dnssec_family_;
  prometheus::Family<prometheus::Counter>& store_errors_family_;
  prometheus::Family<prometheus::Counter>& rejected_family_;
  absl::flat_hash_map<int, prometheus::Counter*> validations_;  // by Outcome
  prometheus::Histogram* validation_latency_;
  prometheus::Counter* quorum_failures_;
  prometheus::Histogram* corroborations_;
  prometheus::Histogram* store_latency_;
  prometheus::Gauge* in_flight_;
  std::vector<PerPerspective> perspectives_;
};

// OutcomeLabel: "valid", "malformed", "unauthorized", "dns", "caa",
// "corroboration_failed", "server_internal".
std::string OutcomeLabel(v1::Outcome outcome);
// DnssecLabel: "secure", "insecure", "bogus", "indeterminate".
std::string DnssecLabel(v1::DnssecState state);
// AnswerLabel: "answered", "deadline_exceeded", ...
std::string AnswerLabel(v1::PerspectiveAnswer answer);

}  // namespace vantage::va

#endif  // VANTAGE_VA_METRICS_H_
