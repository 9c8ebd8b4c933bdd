#include "common/server_util.h"

#include <pthread.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace vantage::common {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

std::string WaitForStopSignal() {
  sigset_t set = StopSignals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}

void LogLine(absl::string_view line) {
  const std::string out =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()),
                   " ", line, "\n");
  std::fwrite(out.data(), 1, out.size(), stderr);
}

std::string BoundAddress(absl::string_view listen_address, int port) {
  absl::StatusOr<HostPort> hp = SplitHostPort(listen_address);
  const std::string host = hp.ok() ? hp->host : "?";
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

void AllowClientKeepalive(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
}

absl::StatusOr<GrpcServer> StartGrpcServer(
    const std::string& listen_address, std::shared_ptr<grpc::ServerCredentials> credentials,
    const std::vector<grpc::Service*>& services, int max_request_bytes) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  GrpcServer out;
  builder.AddListeningPort(listen_address, std::move(credentials), &out.port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  builder.SetMaxReceiveMessageSize(max_request_bytes);
  AllowClientKeepalive(builder);
  out.server = builder.BuildAndStart();
  if (out.server == nullptr || out.port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen_address));
  }
  out.address = BoundAddress(listen_address, out.port);
  return out;
}

absl::StatusOr<GrpcServer> StartHealthServer(const std::string& health_address) {
  // No Vantage service here: only what EnableDefaultHealthCheckService adds.
  absl::StatusOr<GrpcServer> started =
      StartGrpcServer(health_address, grpc::InsecureServerCredentials(), {}, 4096);
  if (!started.ok()) {
    return absl::UnavailableError(
        absl::StrCat("health_address: cannot listen on ", health_address));
  }
  return started;
}

void SetHealth(const std::vector<grpc::Server*>& servers,
               const std::vector<std::string>& service_names, bool serving) {
  for (grpc::Server* server : servers) {
    if (server == nullptr) continue;
    grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
    if (health == nullptr) continue;
    for (const std::string& name : service_names) health->SetServingStatus(name, serving);
    health->SetServingStatus(serving);
  }
}

}  // namespace vantage::common
