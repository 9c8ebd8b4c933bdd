// PerspectiveService: the vantage.v1.Perspective gRPC service of
// `vantage-perspective`, a thin layer around an Observer (DESIGN.md
// "Components"): it checks who calls (mTLS allow-list), what is asked
// (never a lookup of garbage), bounds the work (concurrency, deadline), and
// reports what the observer saw, stamped with this perspective's identity.
//
// Callback API (grpc::CallbackServerContext + ServerUnaryReactor /
// ServerBidiReactor): no thread is held while DNS is being asked; answers
// are sent from the observer's callback thread.
//
// Two ways to ask, with the same checks, limits and metrics per
// observation: the unary Observe, and ObserveStream (many observations over
// one long-lived call, in batches each way; the VA's way, see
// proto/perspective.proto).
#ifndef VANTAGE_PERSPECTIVE_SERVICE_H_
#define VANTAGE_PERSPECTIVE_SERVICE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"
#include "perspective/observer.h"
#include "perspective/stream_protocol.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"
#include "proto/perspective.grpc.pb.h"

namespace vantage::perspective {

// RefusalReason: why an Observe RPC got no Observation. The label values of
// vantage_perspective_rpcs_refused_total{reason} (a fixed, bounded set).
enum class RefusalReason {
  kInvalidArgument,
  kUnauthenticated,
  kPermissionDenied,
  kResourceExhausted,
  kShuttingDown,
  kDeadlineExceeded,
  kObserverError,
};
inline constexpr int kNumRefusalReasons = 7;

class PerspectiveService final : public v1::Perspective::CallbackService {
 public:
  struct Options {
    // Identity stamped on every Observation (PerspectiveConfig id/rir/region).
    std::string id;
    v1::Rir rir = v1::RIR_UNSPECIFIED;
    std::string region;
    // Who may call: allowed_client_names / insecure_plaintext.
    v1::TlsServerConfig tls;
    // Upper bound of one Observe's lookups (ResolverConfig.lookup_timeout).
    absl::Duration lookup_timeout = absl::Seconds(5);
    // Time kept back from the caller's deadline so the Observation (with
    // TIMED_OUT lookups) reaches the caller before its deadline does.
    absl::Duration deadline_margin = absl::Milliseconds(50);
    // Observe calls served at once before RESOURCE_EXHAUSTED; 0 = no limit.
    // Observations asked over streams count alike.
    int max_in_flight = 1024;
    // Requests of one ObserveStream read but not answered yet (being looked
    // up, or their answers waiting to be written) at which the stream stops
    // reading until some are answered: bounds a stream's memory (to this
    // plus one message of kMaxStreamBatch) whatever the client sends or
    // fails to read. Must be positive.
    int stream_max_pending = 1024;
    // Log one line per Observe (request id, peer, outcome, duration), not
    // only refusals and errors.
    bool log_every_request = false;
    // Receives log lines (no trailing newline); default: stderr with a
    // timestamp. Must be thread-safe.
    std::function<void(absl::string_view)> log;
    // Time source; default: the real clock.
    const common::Clock* clock = nullptr;
  };

  // Options derived from a (defaulted, validated) PerspectiveConfig.
  static Options OptionsFromConfig(const v1::PerspectiveConfig& config);

  // Create checks `options` and registers the metrics on `registry`.
  // `observer` and `registry` must outlive the service.
  static absl::StatusOr<std::unique_ptr<PerspectiveService>> Create(
      Options options, Observer* observer, prometheus::Registry* registry);

  ~PerspectiveService() override;

  // Observe is the gRPC handler (callback API).
  grpc::ServerUnaryReactor* Observe(grpc::CallbackServerContext* context,
                                    const v1::ObserveRequest* request,
                                    v1::Observation* response) override;

  // ObserveStream is the streaming gRPC handler: authorizes the peer once,
  // then answers every request read with HandleStreamRequest, one write in
  // flight at a time, each write carrying every answer ready by then
  // (proto/perspective.proto has the contract).
  grpc::ServerBidiReactor<v1::ObserveStreamRequests, v1::ObserveStreamResponses>* ObserveStream(
      grpc::CallbackServerContext* context) override;

  // Result of Handle: an Observation, or the status to finish the RPC with.
  using HandleDone = absl::AnyInvocable<void(absl::StatusOr<v1::Observation>) &&>;

  // Handle is Observe without gRPC: authorization (`auth` may be null:
  // no peer identity), validation, limits, the observer call and metrics.
  // `rpc_deadline` is the caller's deadline (InfiniteFuture: none); `peer`
  // is for logs only. `done` is called exactly once, possibly inline.
  void Handle(const v1::ObserveRequest& request, const grpc::AuthContext* auth,
              absl::Time rpc_deadline, absl::string_view peer, HandleDone done);

  // StreamRequestTimeout checks the stream fields of `request` (id,
  // request, timeout; not the ObserveRequest inside) and returns its
  // timeout, or INVALID_ARGUMENT naming the field and the rule.
  static absl::StatusOr<absl::Duration> StreamRequestTimeout(
      const v1::ObserveStreamRequest& request);

  using StreamDone = absl::AnyInvocable<void(v1::ObserveStreamResponse) &&>;

  // HandleStreamRequest is one request of ObserveStream without gRPC, for a
  // stream whose peer is already authorized: the stream fields are checked
  // (StreamRequestTimeout), then Handle's work runs with the deadline now +
  // timeout, and `done` gets the answer (same id; the Observation or the
  // error) exactly once, possibly inline. Whether `id` is already pending is
  // the stream's business (ObserveStream checks it).
  void HandleStreamRequest(const v1::ObserveStreamRequest& request, absl::string_view peer,
                           StreamDone done);

  // StartDraining makes every new Observe fail UNAVAILABLE ("shutting
  // down") while calls already running continue. Open streams stop reading,
  // answer what they read (new requests with UNAVAILABLE) and then finish
  // with UNAVAILABLE; new streams are finished with UNAVAILABLE at once.
  void StartDraining();
  // WaitUntilIdle waits until no Observe is running or `deadline` passes;
  // true when idle.
  bool WaitUntilIdle(absl::Time deadline);
  // InFlight is the number of Observe calls being answered.
  int InFlight() const;
  // OpenStreams is the number of ObserveStream calls not finished yet.
  int OpenStreams() const;

 private:
  class StreamReactor;
  PerspectiveService(Options options, Observer* observer, prometheus::Registry* registry);

  // HandleAuthorized is Handle after the peer check.
  void HandleAuthorized(const v1::ObserveRequest& request, absl::Time rpc_deadline,
                        absl::string_view peer, HandleDone done);
  bool Draining() const { return draining_.load(std::memory_order_acquire); }
  // AddStream registers an open stream; false when draining (then the
  // stream must finish at once).
  bool AddStream(StreamReactor* stream);
  void RemoveStream(StreamReactor* stream);

  void Refuse(RefusalReason reason, const absl::Status& status, absl::string_view request_id,
              absl::string_view peer);
  void RecordObservation(const v1::Observation& observation);
  void RecordLookup(int kind_index, const v1::DnsLookup& lookup);
  void Log(absl::string_view line) const;

  const Options options_;
  const common::ClientAuthorizer authorizer_;
  Observer* const observer_;
  const common::Clock* clock_;
  common::RealClock real_clock_;

  mutable absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> draining_{false};
  // Open ObserveStream calls, told when draining starts.
  mutable absl::Mutex streams_mu_;
  absl::flat_hash_set<StreamReactor*> streams_ ABSL_GUARDED_BY(streams_mu_);

  // Metrics (STYLE.md naming; bounded labels only).
  prometheus::Family<prometheus::Counter>& lookups_family_;
  prometheus::Family<prometheus::Histogram>& lookup_duration_family_;
  prometheus::Gauge& in_flight_gauge_;
  prometheus::Gauge& streams_gauge_;
  prometheus::Histogram& observe_duration_;
  std::array<prometheus::Counter*, kNumRefusalReasons> refused_{};
  // Lazily created lookups_total series, [kind][rcode label][dnssec state].
  static constexpr int kKinds = 2, kRcodeLabels = 16, kDnssecLabels = 5;
  std::array<std::atomic<prometheus::Counter*>, kKinds * kRcodeLabels * kDnssecLabels>
      lookup_counters_{};
  absl::Mutex metrics_mu_;
  std::array<prometheus::Histogram*, kKinds> lookup_duration_{};
};

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_SERVICE_H_
