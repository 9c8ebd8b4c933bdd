// UnboundObserver: the in-process Observer (perspective/observer.h) - one
// DNSSEC-validating libunbound context per perspective (SPEC.md 6: no
// sharing of resolvers or caches between perspectives), driven
// asynchronously by one dedicated event-loop thread so that one process
// serves many concurrent Observe calls. It is the VA's primary perspective
// and the engine of `vantage-perspective`.
//
//   UnboundObserver::Options options;
//   options.perspective_id = "eu-1";
//   options.rir = v1::RIR_RIPE;
//   options.resolver = config.resolver();      // trust anchor required
//   ASSIGN_OR_RETURN(auto observer, UnboundObserver::Create(options));
//   observer->Observe(request, absl::Now() + absl::Seconds(5),
//                     [](absl::StatusOr<v1::Observation> o) { ... });
//
// Threading: Observe() may be called from any thread. It validates the
// request, then hands it to the loop thread (a mutex-protected queue and an
// eventfd wakeup); every libunbound call, timer and callback runs on that
// thread, and `done` is called there (or inside Observe() for requests that
// are refused at once). `done` must not block for long: it holds up every
// other lookup.
#ifndef VANTAGE_PERSPECTIVE_UNBOUND_OBSERVER_H_
#define VANTAGE_PERSPECTIVE_UNBOUND_OBSERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "perspective/observer.h"
#include "proto/config.pb.h"
#include "proto/perspective.pb.h"

namespace vantage::perspective {

// Defaults of ResolverConfig fields left unset (proto/config.proto).
inline constexpr absl::Duration kObserverDefaultLookupTimeout = absl::Seconds(5);
inline constexpr uint32_t kObserverDefaultMaxConcurrentLookups = 1024;
inline constexpr uint32_t kObserverDefaultInfraCacheMaxRttMs = 2000;

// LookupEvent describes one finished DNS lookup, for metrics (the service
// publishes them; the observer itself registers none).
struct LookupEvent {
  v1::LookupKind kind = v1::LOOKUP_KIND_UNSPECIFIED;
  uint32_t qtype = 0;
  v1::LookupStatus status = v1::LOOKUP_STATUS_UNSPECIFIED;
  int rcode = 0;
  v1::DnssecState dnssec_state = v1::DNSSEC_STATE_UNSPECIFIED;
  absl::Duration duration;
};

class UnboundObserver final : public Observer {
 public:
  // Engine: which libunbound API runs the lookups. Both are driven by the
  // observer's own libevent loop thread. See unbound_observer.cc for the
  // measurements behind the default.
  enum class Engine {
    // ub_ctx_create_event + ub_resolve_event: libunbound works inside our
    // event loop; cache hits are answered inline, without any thread hop.
    kEvent,
    // ub_ctx_async(thread) + ub_resolve_async: libunbound's own worker
    // thread resolves; answers come back through a pipe (ub_fd/ub_process).
    kAsyncThread,
  };

  struct Options {
    // Identity stamped on every Observation.
    std::string perspective_id;
    v1::Rir rir = v1::RIR_UNSPECIFIED;
    std::string region;
    // The resolver: trust_anchor_file is required (SPEC.md 5); unset
    // numeric fields take the documented defaults.
    v1::ResolverConfig resolver;
    // Time source for resolved_at, durations and deadlines. Default: the
    // real clock. (Timers run on real time: use a real clock outside unit
    // tests of code around the observer.)
    const common::Clock* clock = nullptr;
    Engine engine = Engine::kEvent;
    // How long libunbound keeps a server it found unresponsive marked as
    // down (unbound `infra-host-ttl`, default there 900 s). A VA must see a
    // recovered customer server soon, or a short outage would fail the
    // domain's validations for 15 minutes. resolver.infra_host_ttl, when
    // set, overrides it.
    absl::Duration infra_host_ttl = absl::Seconds(10);
    // Called on the loop thread after every lookup (including timed-out
    // ones). Must be quick and must not call back into the observer.
    std::function<void(const LookupEvent&)> on_lookup;
  };

  // Create checks the options (trust anchor present and readable, root
  // hints readable, numbers in range), sets up the libunbound context and
  // starts the loop thread. INVALID_ARGUMENT/NOT_FOUND/PERMISSION_DENIED
  // name the field and the rule; INTERNAL for libunbound/libevent failures.
  static absl::StatusOr<std::unique_ptr<UnboundObserver>> Create(
      const Options& options);

  // Stops accepting (Observe answers UNAVAILABLE), finishes every pending
  // Observe with UNAVAILABLE ("shutting down"), stops the loop thread and
  // frees the context. Must not be called from `done` or on_lookup.
  ~UnboundObserver() override;

  // Observe implements Observer (see observer.h and proto/perspective.proto):
  // TXT at `_validation-persist.<fqdn>` and/or the RFC 8659 CAA climb, run
  // in parallel, each lookup bounded by min(deadline, lookup_timeout).
  void Observe(const v1::ObserveRequest& request, absl::Time deadline,
               Done done) override;

  // Counters for tests and diagnostics.
  struct Stats {
    uint64_t observes_started = 0;   // admitted Observe calls
    uint64_t observes_refused = 0;   // INVALID_ARGUMENT/RESOURCE_EXHAUSTED/...
    uint64_t lookups_started = 0;    // DNS lookups handed to libunbound
    uint64_t lookups_timed_out = 0;  // of which hit their deadline
    int64_t lookups_in_flight = 0;   // reserved by admitted Observe calls
  };
  Stats stats() const;

  class Loop;  // implementation (unbound_observer.cc)

 private:
  explicit UnboundObserver(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

// DnssecStateOf decides the DNSSEC state of one answered lookup from
// libunbound's verdict (`bogus`/`secure` flags), never from the rcode
// (SPEC.md 5); see the definition for the table.
v1::DnssecState DnssecStateOf(bool secure, bool bogus, int rcode);

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_UNBOUND_OBSERVER_H_
