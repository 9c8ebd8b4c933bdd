// vantage-perspective: the remote perspective agent (DESIGN.md "Components").
//
//   vantage-perspective --config=FILE [--insecure] [--log_requests]
//   vantage-perspective --config=FILE [--insecure] --check_config
//
// Loads and validates the PerspectiveConfig textproto (every problem at
// once; exit 2), starts the libunbound observer, serves vantage.v1.Perspective
// with mTLS (plus grpc.health.v1 and server reflection) and /metrics, and
// prints one line per endpoint on stdout once it is ready:
//   vantage-perspective health on HOST:PORT         (when health_address is set)
//   vantage-perspective metrics on HOST:PORT        (when metrics_address is set)
//   vantage-perspective listening on HOST:PORT      (always last)
// On SIGTERM/SIGINT: health NOT_SERVING, new calls refused, in-flight calls
// drained for up to shutdown_grace, then exit 0. Log lines go to stderr.
//
// --insecure turns on tls.insecure_plaintext: plaintext, no client
// authentication, refused unless listen_address is a loopback address
// (DESIGN.md "Security": local demos only).
//
// --check_config loads and validates the config as a start would (the files
// it names included), prints "config OK: <summary>" on stdout and exits 0,
// or prints every problem on stderr and exits 2. It starts nothing: no
// listening, no resolver.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "common/server_util.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"
#include "perspective/config.h"
#include "perspective/service.h"
#include "perspective/unbound_observer.h"
#include "prometheus/registry.h"

ABSL_FLAG(std::string, config, "", "PerspectiveConfig textproto file (required).");
ABSL_FLAG(bool, insecure, false,
          "Serve plaintext without client authentication (loopback listen_address only).");
ABSL_FLAG(bool, log_requests, false, "Log every Observe call, not only refusals and errors.");
ABSL_FLAG(bool, check_config, false,
          "Validate the config and the files it names, print \"config OK: ...\" or every "
          "problem, and exit (0 OK, 2 problems) without starting anything.");

namespace vantage::perspective {
namespace {

// ObservationRequest messages are tiny (fqdn <= 253, request_id <= 128).
constexpr int kMaxRequestBytes = 16 * 1024;

int Run(int argc, char** argv) {
  // Signals are taken synchronously below: block them before any thread
  // (gRPC, libunbound, CivetWeb) exists, so every thread inherits the mask.
  common::BlockStopSignals();

  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (gRPC's
  // included) would record lock-order graphs for deadlock detection on each
  // acquisition: a debugging aid the tests keep, not a production cost.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (config_path.empty()) {
    std::fprintf(stderr, "vantage-perspective: --config=FILE is required\n");
    return 2;
  }
  absl::StatusOr<v1::PerspectiveConfig> config =
      LoadPerspectiveConfig(config_path, absl::GetFlag(FLAGS_insecure));
  if (!config.ok()) {
    std::fprintf(stderr, "vantage-perspective: %s%s\n",
                 absl::GetFlag(FLAGS_check_config) ? "" : "refusing to start: ",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (absl::GetFlag(FLAGS_check_config)) {
    const v1::ResolverConfig& r = config->resolver();
    std::printf(
        "config OK: perspective %s (%s, region %s) on %s (%s); trust anchor %s; %s; "
        "lookup timeout %s, max %u concurrent lookups; metrics %s\n",
        config->id().c_str(), v1::Rir_Name(config->rir()).c_str(),
        config->region().empty() ? "-" : config->region().c_str(),
        config->listen_address().c_str(),
        config->tls().insecure_plaintext()
            ? "PLAINTEXT"
            : absl::StrCat("mTLS, clients ", absl::StrJoin(config->tls().allowed_client_names(),
                                                           ","))
                  .c_str(),
        r.trust_anchor_file().c_str(),
        r.forwarders().empty()
            ? "full recursion"
            : absl::StrCat("forwarders ", absl::StrJoin(r.forwarders(), ",")).c_str(),
        absl::FormatDuration(LookupTimeout(*config)).c_str(), r.max_concurrent_lookups(),
        config->metrics_address().empty() ? "off" : config->metrics_address().c_str());
    return 0;
  }

  UnboundObserver::Options observer_options;
  observer_options.perspective_id = config->id();
  observer_options.rir = config->rir();
  observer_options.region = config->region();
  observer_options.resolver = config->resolver();
  absl::StatusOr<std::unique_ptr<UnboundObserver>> observer =
      UnboundObserver::Create(observer_options);
  if (!observer.ok()) {
    std::fprintf(stderr, "vantage-perspective: resolver: %s\n",
                 observer.status().ToString().c_str());
    return 1;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  PerspectiveService::Options service_options = PerspectiveService::OptionsFromConfig(*config);
  service_options.log_every_request = absl::GetFlag(FLAGS_log_requests);
  service_options.log = common::LogLine;
  absl::StatusOr<std::unique_ptr<PerspectiveService>> service =
      PerspectiveService::Create(service_options, observer->get(), registry.get());
  if (!service.ok()) {
    std::fprintf(stderr, "vantage-perspective: %s\n", service.status().ToString().c_str());
    return 1;
  }

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      common::MakeServerCredentials(config->tls(), config->listen_address());
  if (!credentials.ok()) {
    std::fprintf(stderr, "vantage-perspective: %s\n", credentials.status().ToString().c_str());
    return 2;
  }

  // The VA's client pings idle connections (perspective/remote_observer.cc):
  // StartGrpcServer allows it.
  absl::StatusOr<common::GrpcServer> started_server = common::StartGrpcServer(
      config->listen_address(), *credentials, {service->get()}, kMaxRequestBytes);
  if (!started_server.ok()) {
    std::fprintf(stderr, "vantage-perspective: %s\n",
                 std::string(started_server.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<grpc::Server> server = std::move(started_server->server);
  // grpc.health.v1: "" (the server) and the service by name.
  const std::vector<std::string> service_names = {v1::Perspective::service_full_name()};
  // The kubelet's probes: a plaintext, health-only listener (proto/config.proto).
  std::unique_ptr<grpc::Server> health;
  if (!config->health_address().empty()) {
    absl::StatusOr<common::GrpcServer> started = common::StartHealthServer(config->health_address());
    if (!started.ok()) {
      std::fprintf(stderr, "vantage-perspective: %s\n", started.status().ToString().c_str());
      server->Shutdown();
      return 1;
    }
    health = std::move(started->server);
    std::printf("vantage-perspective health on %s\n", started->address.c_str());
  }
  common::SetHealth({server.get(), health.get()}, service_names, true);

  std::unique_ptr<common::MetricsServer> metrics;
  if (!config->metrics_address().empty()) {
    absl::StatusOr<std::unique_ptr<common::MetricsServer>> started =
        common::MetricsServer::Start(config->metrics_address(), registry);
    if (!started.ok()) {
      std::fprintf(stderr, "vantage-perspective: %s\n", started.status().ToString().c_str());
      server->Shutdown();
      return 1;
    }
    metrics = *std::move(started);
    std::printf("vantage-perspective metrics on %s\n", metrics->address().c_str());
  }
  const std::string& bound = started_server->address;
  common::LogLine(absl::StrCat("perspective ", config->id(), " (", v1::Rir_Name(config->rir()),
                   config->region().empty() ? "" : ", ", config->region(), ") serving on ",
                   bound,
                   config->tls().insecure_plaintext()
                       ? " in PLAINTEXT without client authentication (local demo mode)"
                       : " with mTLS",
                   "; trust anchor ", config->resolver().trust_anchor_file()));
  std::printf("vantage-perspective listening on %s\n", bound.c_str());
  std::fflush(stdout);

  const std::string sig = common::WaitForStopSignal();
  const absl::Duration grace = ShutdownGrace(*config);
  common::LogLine(absl::StrCat("received ", sig, ": draining ",
                   (*service)->InFlight(), " in-flight calls for up to ",
                   absl::FormatDuration(grace)));
  // Load balancers and the VA's health checks see NOT_SERVING at once; new
  // Observe calls fail UNAVAILABLE while running ones finish.
  common::SetHealth({server.get(), health.get()}, service_names, false);
  (*service)->StartDraining();
  if (!(*service)->WaitUntilIdle(absl::Now() + grace)) {
    common::LogLine(absl::StrCat("shutdown grace expired with ", (*service)->InFlight(),
                     " calls in flight: cancelling their lookups"));
    // Finishes every pending lookup with UNAVAILABLE, so every call is
    // answered before the server goes away.
    observer->reset();
  }
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  server->Wait();
  if (health != nullptr) health->Shutdown(absl::ToChronoTime(absl::Now()));
  metrics.reset();
  observer->reset();
  common::LogLine("stopped");
  return 0;
}

}  // namespace
}  // namespace vantage::perspective

int main(int argc, char** argv) { return vantage::perspective::Run(argc, argv); }
