#include "perspective/service.h"

#include <chrono>
#include <cstdio>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/flush_scope.h"
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

v1::ObserveStreamResponse ErrorResponse(uint64_t id, const absl::Status& status) {
  v1::ObserveStreamResponse response;
  response.set_id(id);
  v1::ObserveError* error = response.mutable_error();
  error->set_code(static_cast<int32_t>(status.code()));
  error->set_message(std::string(status.message()));
  return response;
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
  if (options.stream_max_pending <= 0) {
    return absl::InvalidArgumentError("PerspectiveService: stream_max_pending must be positive");
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
      streams_gauge_(prometheus::BuildGauge()
                         .Name("vantage_perspective_observe_streams")
                         .Help("ObserveStream calls open.")
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
  if (Draining()) {
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
  HandleAuthorized(request, rpc_deadline, peer, std::move(done));
}

void PerspectiveService::HandleAuthorized(const v1::ObserveRequest& request,
                                          absl::Time rpc_deadline, absl::string_view peer,
                                          HandleDone done) {
  const absl::Time start = clock_->Now();
  if (Draining()) {
    const absl::Status status = absl::UnavailableError("perspective is shutting down");
    Refuse(RefusalReason::kShuttingDown, status, request.request_id(), peer);
    std::move(done)(status);
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

// ---------------------------------------------------------------------------
// StreamReactor: one ObserveStream call.
//
// Reads one message (a batch of requests) at a time and hands each request
// to HandleStreamRequest (reading goes on while lookups are pending, until
// stream_max_pending requests are unanswered); answers are queued, and each
// write (one in flight at a time is the callback API's rule) carries every
// answer queued by then, up to kMaxStreamBatch / kStreamBatchBytes: under
// load one write and one wakeup of the client serve many observations.
//
// Lifetime: the reactor is deleted when gRPC is done with it (OnDone) AND
// every request handed to the observer has come back (their callbacks hold
// a reference): a cancelled stream finishes at once, without waiting for
// DNS.
//
// gRPC operations are started only outside mu_: a reaction may run inline
// on the calling thread at the end of an operation and take mu_ itself.
class PerspectiveService::StreamReactor final
    : public grpc::ServerBidiReactor<v1::ObserveStreamRequests, v1::ObserveStreamResponses> {
 public:
  StreamReactor(PerspectiveService* service, std::string peer)
      : service_(service), peer_(std::move(peer)) {}

  // Start authorizes the peer (once for the whole stream) and starts
  // reading, or finishes the stream with the refusal.
  void Start(const grpc::AuthContext* auth) {
    // DESIGN.md "Security": a perspective accepts only the VA.
    if (absl::Status allowed = service_->authorizer_.Authorize(auth); !allowed.ok()) {
      service_->Refuse(allowed.code() == absl::StatusCode::kUnauthenticated
                           ? RefusalReason::kUnauthenticated
                           : RefusalReason::kPermissionDenied,
                       allowed, "", peer_);
      FinishNow(ToGrpc(allowed));
      return;
    }
    if (!service_->AddStream(this)) {
      const absl::Status status = absl::UnavailableError("perspective is shutting down");
      service_->Refuse(RefusalReason::kShuttingDown, status, "", peer_);
      FinishNow(ToGrpc(status));
      return;
    }
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      actions = NextLocked();
    }
    Run(actions);
  }

  // Drain: stop reading; finish UNAVAILABLE once every request read is
  // answered.
  void Drain() {
    Step([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { draining_ = true; });
  }

  void Ref() {
    absl::MutexLock lock(&mu_);
    ++refs_;
  }
  void Unref() {
    bool last;
    {
      absl::MutexLock lock(&mu_);
      last = --refs_ == 0;
    }
    if (last) delete this;
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed, or the call ended.
      Step([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        reading_ = false;
        read_closed_ = true;
      });
      return;
    }
    // The buffer is free again before the next read starts.
    v1::ObserveStreamRequests batch = std::move(request_);
    request_.Clear();
    const int size = batch.requests_size();
    std::vector<int> accepted;  // indices of the requests to handle
    accepted.reserve(static_cast<size_t>(size));
    std::vector<uint64_t> duplicates;
    absl::Status bad_batch;
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      // Read after Finish (draining) or with nobody to answer: dropped; the
      // client fails what the perspective did not answer.
      if (finished_ || broken_) return;
      if (size == 0 || size > kMaxStreamBatch) {
        // proto/perspective.proto, ObserveStreamRequests.requests: a
        // protocol error. Nothing of this message is looked up; what was
        // read before is answered, then the stream finishes with it.
        bad_batch = absl::InvalidArgumentError(
            absl::StrCat("requests: ", size, " in one message; each ObserveStreamRequests "
                         "message must carry at least 1 and at most ",
                         kMaxStreamBatch));
        protocol_error_ = bad_batch;
      } else {
        for (int i = 0; i < size; ++i) {
          const uint64_t id = batch.requests(i).id();
          // Answers are matched by id, so two unanswered requests must not
          // share one (proto/perspective.proto, ObserveStreamRequest.id),
          // within a message or across messages.
          if (id != 0 && !observing_.insert(id).second) {
            duplicates.push_back(id);
            queue_.push_back(ErrorResponse(
                id, absl::InvalidArgumentError(absl::StrCat(
                        "id: ", id,
                        " is already pending on this stream (ids must be unique among the "
                        "stream's unanswered requests)"))));
            continue;
          }
          ++handling_;
          ++refs_;  // released by Answer
          accepted.push_back(i);
        }
      }
      actions = NextLocked();
    }
    if (!bad_batch.ok()) service_->Refuse(RefusalReason::kInvalidArgument, bad_batch, "", peer_);
    for (uint64_t id : duplicates) {
      service_->Refuse(RefusalReason::kInvalidArgument,
                       absl::InvalidArgumentError(absl::StrCat("id: ", id, " is already pending")),
                       "", peer_);
    }
    Run(actions);  // the next read starts before these requests are looked up
    // Answers given inline (refusals, an observer answering at once) leave
    // in one write when the scope ends.
    common::FlushScope scope;
    for (int i : accepted) {
      service_->HandleStreamRequest(
          batch.requests(i), peer_,
          [this](v1::ObserveStreamResponse response) { Answer(std::move(response)); });
    }
  }

  void OnWriteDone(bool ok) override {
    Step([this, ok]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      writing_ = false;
      if (!ok) broken_ = true;  // the call is over: nothing reaches the client
    });
  }

  void OnCancel() override {
    Step([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { broken_ = true; });
  }

  void OnDone() override {
    service_->RemoveStream(this);
    Unref();
  }

 private:
  // Actions: the gRPC operations NextLocked decided on, started by Run
  // after mu_ is released.
  struct Actions {
    bool read = false;
    bool write = false;
    grpc::WriteOptions write_options;
    std::optional<grpc::Status> finish;
  };

  ~StreamReactor() override = default;

  // FinishNow finishes a stream that never read anything.
  void FinishNow(grpc::Status status) {
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
    }
    Finish(std::move(status));
  }

  // Answer takes the answer to one request (from HandleStreamRequest's
  // callback, on any thread). Inside a FlushScope (the resolver thread's
  // event-loop iteration) the write waits for the scope's end, so every
  // answer of the iteration goes in it.
  void Answer(v1::ObserveStreamResponse response) {
    const bool defer = common::FlushScope::Active();
    bool schedule = false;
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      --handling_;
      if (response.id() != 0) observing_.erase(response.id());
      // A broken or finished stream has nobody to answer.
      if (!broken_ && !finished_) queue_.push_back(std::move(response));
      if (!defer) {
        actions = NextLocked();
      } else if (!flush_scheduled_) {
        flush_scheduled_ = true;
        ++refs_;  // released by Flush
        schedule = true;
      }
    }
    if (schedule) common::FlushScope::Defer([this] { Flush(); });
    Run(actions);
    Unref();
  }

  // Flush: the end of the FlushScope an answer was deferred in.
  void Flush() {
    Step([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { flush_scheduled_ = false; });
    Unref();
  }

  size_t PendingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<size_t>(handling_) + queue_.size() +
           (writing_ ? static_cast<size_t>(writing_count_) : 0);
  }

  // NextLocked decides what the stream does next from its state.
  Actions NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Actions actions;
    if (finished_) return actions;
    if (broken_) {
      queue_.clear();
      // Finish is the last operation; a write in flight completes first.
      if (!writing_) {
        finished_ = true;
        actions.finish = grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
      }
      return actions;
    }
    if (!writing_ && !queue_.empty()) {
      // Every answer ready goes in this write (bounded: stream_protocol.h).
      written_.Clear();
      size_t bytes = 0;
      while (!queue_.empty() && written_.responses_size() < kMaxStreamBatch &&
             bytes < kStreamBatchBytes) {
        bytes += queue_.front().ByteSizeLong();
        *written_.add_responses() = std::move(queue_.front());
        queue_.pop_front();
      }
      writing_ = true;
      writing_count_ = written_.responses_size();
      actions.write = true;
      // More answers are queued: the transport may hold this message back
      // and send the next with it.
      if (!queue_.empty()) actions.write_options.set_buffer_hint();
    }
    const size_t pending = PendingLocked();
    if (pending == 0 && (read_closed_ || draining_ || !protocol_error_.ok())) {
      // Every request read is answered: done. A read still outstanding
      // completes (not ok) once the call is finished.
      finished_ = true;
      if (!protocol_error_.ok()) {
        actions.finish = ToGrpc(protocol_error_);
      } else if (read_closed_) {
        actions.finish = grpc::Status::OK;
      } else {
        actions.finish =
            grpc::Status(grpc::StatusCode::UNAVAILABLE, "perspective is shutting down");
      }
      return actions;
    }
    if (!reading_ && !read_closed_ && !draining_ && protocol_error_.ok() &&
        pending < static_cast<size_t>(service_->options_.stream_max_pending)) {
      reading_ = true;
      actions.read = true;
    }
    return actions;
  }

  // Step: `change` the state under mu_, decide with NextLocked, then start
  // what it decided outside mu_.
  template <typename F>
  void Step(F change) {
    Actions actions;
    {
      absl::MutexLock lock(&mu_);
      change();
      actions = NextLocked();
    }
    Run(actions);
  }

  void Run(Actions& actions) {
    if (actions.write) StartWrite(&written_, actions.write_options);
    if (actions.read) StartRead(&request_);
    if (actions.finish.has_value()) Finish(*std::move(actions.finish));
  }

  PerspectiveService* const service_;
  const std::string peer_;
  // The read buffer: touched only by the read flow (one read at a time).
  v1::ObserveStreamRequests request_;
  // The message of the write in flight: filled (under mu_) by whoever set
  // writing_, then read by gRPC until OnWriteDone (one write at a time).
  v1::ObserveStreamResponses written_;

  absl::Mutex mu_;
  // gRPC's reference (released in OnDone), one per request being handled,
  // and StartDraining's while it calls Drain.
  int refs_ ABSL_GUARDED_BY(mu_) = 1;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;      // a read is outstanding
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;  // the client half-closed (or the call ended)
  bool broken_ ABSL_GUARDED_BY(mu_) = false;       // cancelled, or a write failed
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;      // a write is in flight
  int writing_count_ ABSL_GUARDED_BY(mu_) = 0;     // answers in it
  bool finished_ ABSL_GUARDED_BY(mu_) = false;     // Finish was called
  absl::Status protocol_error_ ABSL_GUARDED_BY(mu_);  // a bad message: finish with it
  bool flush_scheduled_ ABSL_GUARDED_BY(mu_) = false;  // a FlushScope will call Flush
  int handling_ ABSL_GUARDED_BY(mu_) = 0;          // requests handed to HandleStreamRequest
  absl::flat_hash_set<uint64_t> observing_ ABSL_GUARDED_BY(mu_);  // their non-zero ids
  std::deque<v1::ObserveStreamResponse> queue_ ABSL_GUARDED_BY(mu_);  // answers to write
};

grpc::ServerBidiReactor<v1::ObserveStreamRequests, v1::ObserveStreamResponses>*
PerspectiveService::ObserveStream(grpc::CallbackServerContext* context) {
  auto* stream = new StreamReactor(this, context->peer());
  const std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  stream->Start(auth.get());
  return stream;
}

absl::StatusOr<absl::Duration> PerspectiveService::StreamRequestTimeout(
    const v1::ObserveStreamRequest& request) {
  std::vector<std::string> problems;
  if (request.id() == 0) {
    problems.push_back(
        "id: required (non-zero, unique among the stream's unanswered requests)");
  }
  if (!request.has_request()) problems.push_back("request: required (the ObserveRequest)");
  absl::Duration timeout;
  if (!request.has_timeout()) {
    problems.push_back(absl::StrCat("timeout: required (the caller's deadline as a duration, "
                                    "at most ",
                                    absl::FormatDuration(kMaxStreamTimeout), ")"));
  } else {
    const int64_t seconds = request.timeout().seconds();
    const int32_t nanos = request.timeout().nanos();
    if (nanos <= -1000000000 || nanos >= 1000000000 || (seconds > 0 && nanos < 0) ||
        (seconds < 0 && nanos > 0)) {
      problems.push_back(absl::StrCat("timeout: not a valid Duration (seconds ", seconds,
                                      ", nanos ", nanos, ")"));
    } else {
      timeout = FromProto(request.timeout());
      if (timeout <= absl::ZeroDuration()) {
        problems.push_back(
            absl::StrCat("timeout: must be positive, got ", absl::FormatDuration(timeout)));
      } else if (timeout > kMaxStreamTimeout) {
        problems.push_back(absl::StrCat("timeout: at most ", absl::FormatDuration(kMaxStreamTimeout),
                                        ", got ", absl::FormatDuration(timeout)));
      }
    }
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  return timeout;
}

void PerspectiveService::HandleStreamRequest(const v1::ObserveStreamRequest& request,
                                             absl::string_view peer, StreamDone done) {
  const uint64_t id = request.id();
  absl::StatusOr<absl::Duration> timeout = StreamRequestTimeout(request);
  if (!timeout.ok()) {
    Refuse(RefusalReason::kInvalidArgument, timeout.status(), request.request().request_id(),
           peer);
    std::move(done)(ErrorResponse(id, timeout.status()));
    return;
  }
  // The caller's deadline, as a unary call would carry it.
  HandleAuthorized(request.request(), clock_->Now() + *timeout, peer,
                   [id, done = std::move(done)](absl::StatusOr<v1::Observation> result) mutable {
                     if (!result.ok()) {
                       std::move(done)(ErrorResponse(id, result.status()));
                       return;
                     }
                     v1::ObserveStreamResponse response;
                     response.set_id(id);
                     *response.mutable_observation() = *std::move(result);
                     std::move(done)(std::move(response));
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
  draining_.store(true, std::memory_order_release);
  // Every stream registered before the flag was set is told; one
  // registering later sees the flag (AddStream).
  std::vector<StreamReactor*> streams;
  {
    absl::MutexLock lock(&streams_mu_);
    for (StreamReactor* stream : streams_) {
      stream->Ref();
      streams.push_back(stream);
    }
  }
  for (StreamReactor* stream : streams) {
    stream->Drain();
    stream->Unref();
  }
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

int PerspectiveService::OpenStreams() const {
  absl::MutexLock lock(&streams_mu_);
  return static_cast<int>(streams_.size());
}

bool PerspectiveService::AddStream(StreamReactor* stream) {
  absl::MutexLock lock(&streams_mu_);
  if (Draining()) return false;
  streams_.insert(stream);
  streams_gauge_.Increment();
  return true;
}

void PerspectiveService::RemoveStream(StreamReactor* stream) {
  absl::MutexLock lock(&streams_mu_);
  if (streams_.erase(stream) > 0) streams_gauge_.Decrement();
}

void PerspectiveService::Log(absl::string_view line) const { options_.log(line); }

}  // namespace vantage::perspective
