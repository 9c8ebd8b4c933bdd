#include "common/metrics.h"

#include <exception>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/tls.h"

namespace vantage::common {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry) {
  if (registry == nullptr) return absl::InvalidArgumentError("metrics: registry is null");
  absl::StatusOr<HostPort> hp = SplitHostPort(address);
  if (!hp.ok()) return absl::InvalidArgumentError(absl::StrCat("metrics_address: ", hp.status().message()));
  // CivetWeb wants "[v6]:port" for IPv6 and "host:port" otherwise, as given.
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // prometheus-cpp reports bind failures by throwing; nothing else here does.
    exposer = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics_address: cannot listen on ", address, ": ", e.what()));
  }
  exposer->RegisterCollectable(registry);
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("metrics_address: not listening on ", address));
  }
  const bool v6 = hp->host.find(':') != std::string::npos;
  std::string bound = v6 ? absl::StrCat("[", hp->host, "]:", ports.front())
                         : absl::StrCat(hp->host, ":", ports.front());
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(exposer), std::move(registry), ports.front(), std::move(bound)));
}

}  // namespace vantage::common
