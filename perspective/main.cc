// vantage-perspective: the remote perspective agent (DESIGN.md "Components").
//
//   vantage-perspective --config=FILE [--insecure] [--log_requests]
//   vantage-perspective --config=FILE [--insecure] --check_config
//
// Loads and validates the PerspectiveConfig textproto (every problem at
// once; exit 2), starts the libunbound observer, serves vantage.v1.Perspective
// with mTLS (plus grpc.health.v1 and server reflection) and /metrics, and
// prints one line per endpoint on stdout once it is ready:
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
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

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
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
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

void Log(absl::string_view line) {
  const std::string out =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()),
                   " ", line, "\n");
  std::fwrite(out.data(), 1, out.size(), stderr);
}

// BoundAddress is listen_address with the port the server really got.
std::string BoundAddress(const std::string& listen_address, int port) {
  absl::StatusOr<common::HostPort> hp = common::SplitHostPort(listen_address);
  const std::string host = hp.ok() ? hp->host : "?";
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

int Run(int argc, char** argv) {
  // Signals are taken synchronously by sigwait() below: block them before
  // any thread (gRPC, libunbound, CivetWeb) exists, so every thread inherits
  // the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

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
  service_options.log = Log;
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

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->listen_address(), *credentials, &port);
  builder.RegisterService(service->get());
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  // The VA's client pings idle connections (perspective/remote_observer.cc).
  common::AllowClientKeepalive(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "vantage-perspective: cannot listen on %s\n",
                 config->listen_address().c_str());
    return 1;
  }
  // grpc.health.v1: "" (the server) and the service by name.
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(v1::Perspective::service_full_name(), true);
    health->SetServingStatus(true);
  }

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
  const std::string bound = BoundAddress(config->listen_address(), port);
  Log(absl::StrCat("perspective ", config->id(), " (", v1::Rir_Name(config->rir()),
                   config->region().empty() ? "" : ", ", config->region(), ") serving on ",
                   bound,
                   config->tls().insecure_plaintext()
                       ? " in PLAINTEXT without client authentication (local demo mode)"
                       : " with mTLS",
                   "; trust anchor ", config->resolver().trust_anchor_file()));
  std::printf("vantage-perspective listening on %s\n", bound.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  const absl::Duration grace = ShutdownGrace(*config);
  Log(absl::StrCat("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT", ": draining ",
                   (*service)->InFlight(), " in-flight calls for up to ",
                   absl::FormatDuration(grace)));
  // Load balancers and the VA's health checks see NOT_SERVING at once; new
  // Observe calls fail UNAVAILABLE while running ones finish.
  if (health != nullptr) health->SetServingStatus(false);
  (*service)->StartDraining();
  if (!(*service)->WaitUntilIdle(absl::Now() + grace)) {
    Log(absl::StrCat("shutdown grace expired with ", (*service)->InFlight(),
                     " calls in flight: cancelling their lookups"));
    // Finishes every pending lookup with UNAVAILABLE, so every call is
    // answered before the server goes away.
    observer->reset();
  }
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  server->Wait();
  metrics.reset();
  observer->reset();
  Log("stopped");
  return 0;
}

}  // namespace
}  // namespace vantage::perspective

int main(int argc, char** argv) { return vantage::perspective::Run(argc, argv); }
