#include "perspective/service.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "perspective/config.h"
#include "perspective/observe_request.h"

namespace vantage::perspective {
namespace {

constexpr int kRcodeOther = 11;
constexpr int kRcodeTimedOut = 12;
constexpr int kRcodeResolverError = 13;
constexpr int kRcodeUnspecified = 14;

// RcodeLabel: the bounded `rcode` label of vantage_perspective_lookups_total.
// RFC 1035 4.1.1 and RFC 2136 2.2 names for 0..10, "other" beyond; lookups
// without an answer are labelled by why.
const char* RcodeLabel(int index) {
  static constexpr const char* kNames[] = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",        "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",        "other",
      "timed_out", "resolver_error", "unspecified", "unspecified"};
  return kNames[index];
}

int RcodeIndex(const v1::DnsLookup& lookup) {
  switch (lookup.status()) {
    case v1::LOOKUP_STATUS_ANSWERED:
      return lookup.rcode() >= 0 && lookup.rcode() <= 10 ? lookup.rcode() : kRcodeOther;
    case v1::LOOKUP_STATUS_TIMED_OUT:
      return kRcodeTimedOut;
    case v1::LOOKUP_STATUS_RESOLVER_ERROR:
      return kRcodeResolverError;
    case v1::LOOKUP_STATUS_UNSPECIFIED:
      return kRcodeUnspecified;
    case v1::LookupStatus_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::LookupStatus_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return kRcodeUnspecified;
}

const char* DnssecLabel(int index) {
  static constexpr const char* kNames[] = {"unspecified", "secure", "insecure", "bogus",
                                           "indeterminate"};
  return kNames[index];
}

int DnssecIndex(v1::DnssecState state) {
  switch (state) {
    case v1::DNSSEC_STATE_UNSPECIFIED:
      return 0;
    case v1::DNSSEC_STATE_SECURE:
      return 1;
    case v1::DNSSEC_STATE_INSECURE:
      return 2;
    case v1::DNSSEC_STATE_BOGUS:
      return 3;
    case v1::DNSSEC_STATE_INDETERMINATE:
      return 4;
    case v1::DnssecState_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::DnssecState_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return 0;
}

const char* ReasonLabel(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kInvalidArgument:
      return "invalid_argument";
    case RefusalReason::kUnauthenticated:
      return "unauthenticated";
    case RefusalReason::kPermissionDenied:
      return "permission_denied";
    case RefusalReason::kResourceExhausted:
      return "resource_exhausted";
    case RefusalReason::kShuttingDown:
      return "shutting_down";
    case RefusalReason::kDeadlineExceeded:
      return "deadline_exceeded";
    case RefusalReason::kObserverError:
      return "observer_error";
  }
  return "observer_error";
}

constexpr RefusalReason kAllReasons[kNumRefusalReasons] = {
    RefusalReason::kInvalidArgument,   RefusalReason::kUnauthenticated,
    RefusalReason::kPermissionDenied,  RefusalReason::kResourceExhausted,
    RefusalReason::kShuttingDown,      RefusalReason::kDeadlineExceeded,
    RefusalReason::kObserverError};

// Lookup latencies: from a cache hit (~100 us) to the longest lookup timeout.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// Printable renders client-supplied text for a log line.
std::string Printable(absl::string_view s) {
  return s.empty() ? "-" : absl::CHexEscape(s.substr(0, 128));
}

void LogToStderr(absl::string_view line) {
  const std::string out =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()),
                   " ", line, "\n");
  std::fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace

PerspectiveService::Options PerspectiveService::OptionsFromConfig(
    const v1::PerspectiveConfig& config) {
  Options options;
  options.id = config.id();
  options.rir = config.rir();
  options.region = config.region();
  options.tls = config.tls();
  options.lookup_timeout = LookupTimeout(config);
  options.max_in_flight = static_cast<int>(config.resolver().max_concurrent_lookups());
  return options;
}

absl::StatusOr<std::unique_ptr<PerspectiveService>> PerspectiveService::Create(
    Options options, Observer* observer, prometheus::Registry* registry) {
  if (observer == nullptr) return absl::InvalidArgumentError("PerspectiveService: observer is null");
  if (registry == nullptr) return absl::InvalidArgumentError("PerspectiveService: registry is null");
  if (options.id.empty()) return absl::InvalidArgumentError("PerspectiveService: id is required");
  if (options.lookup_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("PerspectiveService: lookup_timeout must be positive");
  }
  if (options.deadline_margin < absl::ZeroDuration() || options.max_in_flight < 0) {
    return absl::InvalidArgumentError(
        "PerspectiveService: deadline_margin and max_in_flight must not be negative");
  }
  if (!options.log) options.log = LogToStderr;
  return std::unique_ptr<PerspectiveService>(
      new PerspectiveService(std::move(options), observer, registry));
}

PerspectiveService::PerspectiveService(Options options, Observer* observer,
                                       prometheus::Registry* registry)
    : options_(std::move(options)),
      authorizer_(common::ClientAuthorizer::Create(options_.tls)),
      observer_(observer),
      clock_(options_.clock != nullptr ? options_.clock : &real_clock_),
      lookups_family_(prometheus::BuildCounter()
                          .Name("vantage_perspective_lookups_total")
                          .Help("DNS lookups made for Observe, by kind, rcode (or why there "
                                "was no answer) and DNSSEC state.")
                          .Register(*registry)),
      lookup_duration_family_(prometheus::BuildHistogram()
                                  .Name("vantage_perspective_lookup_duration_seconds")
                                  .Help("Time one DNS lookup took, by kind.")
                                  .Register(*registry)),
      in_flight_gauge_(prometheus::BuildGauge()
                           .Name("vantage_perspective_observe_in_flight")
                           .Help("Observe calls being answered.")
                           .Register(*registry)
                           .Add({})),
      observe_duration_(prometheus::BuildHistogram()
                            .Name("vantage_perspective_observe_duration_seconds")
                            .Help("Time from accepting an Observe call to its answer.")
                            .Register(*registry)
                            .Add({}, LatencyBuckets())) {
  auto& refused = prometheus::BuildCounter()
                      .Name("vantage_perspective_rpcs_refused_total")
                      .Help("Observe calls answered with an error instead of an "
                            "Observation, by reason.")
                      .Register(*registry);
  for (RefusalReason reason : kAllReasons) {
    refused_[static_cast<int>(reason)] = &refused.Add({{"reason", ReasonLabel(reason)}});
  }
  lookup_duration_[0] =
      &lookup_duration_family_.Add({{"kind", "txt_persist"}}, LatencyBuckets());
  lookup_duration_[1] = &lookup_duration_family_.Add({{"kind", "caa"}}, LatencyBuckets());
}

PerspectiveService::~PerspectiveService() = default;

grpc::ServerUnaryReactor* PerspectiveService::Observe(grpc::CallbackServerContext* context,
                                                      const v1::ObserveRequest* request,
                                                      v1::Observation* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  const auto chrono_deadline = context->deadline();
  absl::Time deadline = absl::InfiniteFuture();
  if (chrono_deadline < std::chrono::system_clock::time_point::max()) {
    deadline = absl::FromChrono(chrono_deadline);
  }
  Handle(*request, auth.get(), deadline, context->peer(),
         [reactor, response](absl::StatusOr<v1::Observation> result) {
           if (!result.ok()) {
             reactor->Finish(ToGrpc(result.status()));
             return;
           }
           *response = *std::move(result);
           reactor->Finish(grpc::Status::OK);
         });
  return reactor;
}

void PerspectiveService::Handle(const v1::ObserveRequest& request, const grpc::AuthContext* auth,
                                absl::Time rpc_deadline, absl::string_view peer,
                                HandleDone done) {
  const absl::Time start = clock_->Now();
  bool draining;
  {
    absl::MutexLock lock(&mu_);
    draining = draining_;
  }
  if (draining) {
    const absl::Status status = absl::UnavailableError("perspective is shutting down");
    Refuse(RefusalReason::kShuttingDown, status, request.request_id(), peer);
    std::move(done)(status);
    return;
  }
  // DESIGN.md "Security": a perspective accepts only the VA.
  if (absl::Status allowed = authorizer_.Authorize(auth); !allowed.ok()) {
    Refuse(allowed.code() == absl::StatusCode::kUnauthenticated
               ? RefusalReason::kUnauthenticated
               : RefusalReason::kPermissionDenied,
           allowed, request.request_id(), peer);
    std::move(done)(allowed);
    return;
  }
  if (absl::Status valid = ValidateObserveRequest(request); !valid.ok()) {
    Refuse(RefusalReason::kInvalidArgument, valid, request.request_id(), peer);
    std::move(done)(valid);
    return;
  }
  // The lookups must end early enough for the answer to reach the caller:
  // min(caller's deadline - margin, now + lookup_timeout).
  absl::Time deadline = start + options_.lookup_timeout;
  if (rpc_deadline != absl::InfiniteFuture()) {
    const absl::Duration remaining = rpc_deadline - start;
    const absl::Duration margin = std::min(options_.deadline_margin, remaining / 2);
    deadline = std::min(deadline, rpc_deadline - margin);
  }
  if (deadline <= start) {
    const absl::Status status =
        absl::DeadlineExceededError("the caller's deadline has already passed");
    Refuse(RefusalReason::kDeadlineExceeded, status, request.request_id(), peer);
    std::move(done)(status);
    return;
  }
  bool at_limit = false;
  {
    absl::MutexLock lock(&mu_);
    at_limit = options_.max_in_flight > 0 && in_flight_ >= options_.max_in_flight;
    if (!at_limit) ++in_flight_;
  }
  if (at_limit) {
    const absl::Status status = absl::ResourceExhaustedError(absl::StrCat(
        "perspective is answering ", options_.max_in_flight,
        " Observe calls, its limit (resolver.max_concurrent_lookups)"));
    Refuse(RefusalReason::kResourceExhausted, status, request.request_id(), peer);
    std::move(done)(status);
    return;
  }
  in_flight_gauge_.Increment();

  observer_->Observe(
      request, deadline,
      [this, start, request_id = request.request_id(), peer = std::string(peer),
       done = std::move(done)](absl::StatusOr<v1::Observation> result) mutable {
        observe_duration_.Observe(absl::ToDoubleSeconds(clock_->Now() - start));
        if (result.ok()) {
          // The service is the authority on who this perspective is.
          result->set_perspective_id(options_.id);
          result->set_rir(options_.rir);
          result->set_region(options_.region);
          result->set_request_id(request_id);
          RecordObservation(*result);
          if (options_.log_every_request) {
            Log(absl::StrCat("request_id=", Printable(request_id), " peer=", peer,
                             " observe ok in ", absl::FormatDuration(clock_->Now() - start)));
          }
        } else {
          const RefusalReason reason =
              result.status().code() == absl::StatusCode::kResourceExhausted
                  ? RefusalReason::kResourceExhausted
              : result.status().code() == absl::StatusCode::kDeadlineExceeded
                  ? RefusalReason::kDeadlineExceeded
              : result.status().code() == absl::StatusCode::kInvalidArgument
                  ? RefusalReason::kInvalidArgument
                  : RefusalReason::kObserverError;
          Refuse(reason, result.status(), request_id, peer);
        }
        std::move(done)(std::move(result));
        in_flight_gauge_.Decrement();
        absl::MutexLock lock(&mu_);
        --in_flight_;
      });
}

void PerspectiveService::Refuse(RefusalReason reason, const absl::Status& status,
                                absl::string_view request_id, absl::string_view peer) {
  refused_[static_cast<int>(reason)]->Increment();
  Log(absl::StrCat("request_id=", Printable(request_id), " peer=", peer, " refused ",
                   ReasonLabel(reason), ": ", status.ToString()));
}

void PerspectiveService::RecordObservation(const v1::Observation& observation) {
  if (observation.has_txt()) RecordLookup(0, observation.txt().lookup());
  if (observation.has_caa()) {
    for (const v1::CaaStep& step : observation.caa().steps()) RecordLookup(1, step.lookup());
  }
}

void PerspectiveService::RecordLookup(int kind_index, const v1::DnsLookup& lookup) {
  const int rcode = RcodeIndex(lookup);
  const int dnssec = DnssecIndex(lookup.dnssec_state());
  std::atomic<prometheus::Counter*>& slot =
      lookup_counters_[(kind_index * kRcodeLabels + rcode) * kDnssecLabels + dnssec];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    absl::MutexLock lock(&metrics_mu_);
    counter = &lookups_family_.Add({{"kind", kind_index == 0 ? "txt_persist" : "caa"},
                                    {"rcode", RcodeLabel(rcode)},
                                    {"dnssec", DnssecLabel(dnssec)}});
    slot.store(counter, std::memory_order_release);
  }
  counter->Increment();
  lookup_duration_[kind_index]->Observe(absl::ToDoubleSeconds(FromProto(lookup.duration())));
}

void PerspectiveService::StartDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool PerspectiveService::WaitUntilIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(
      absl::Condition(+[](int* in_flight) { return *in_flight == 0; }, &in_flight_), deadline);
}

int PerspectiveService::InFlight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

void PerspectiveService::Log(absl::string_view line) const { options_.log(line); }

}  // namespace vantage::perspective
