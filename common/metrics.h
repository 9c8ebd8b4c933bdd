// MetricsServer: the Prometheus /metrics endpoint of a binary (DESIGN.md
// "Observability"), serving one shared Registry that each component
// registers its metrics on (STYLE.md: metrics on an injected registry).
#ifndef VANTAGE_COMMON_METRICS_H_
#define VANTAGE_COMMON_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace vantage::common {

class MetricsServer {
 public:
  // Start serves `registry` at http://<address>/metrics. `address` is
  // "HOST:PORT" ("0.0.0.0:9090", "[::1]:0"; port 0 picks a free port).
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address, std::shared_ptr<prometheus::Registry> registry);

  // port is the bound port; address the HOST:PORT it listens on.
  int port() const { return port_; }
  const std::string& address() const { return address_; }

 private:
  MetricsServer(std::unique_ptr<prometheus::Exposer> exposer,
                std::shared_ptr<prometheus::Registry> registry, int port, std::string address)
      : exposer_(std::move(exposer)),
        registry_(std::move(registry)),
        port_(port),
        address_(std::move(address)) {}

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  int port_;
  std::string address_;
};

}  // namespace vantage::common

#endif  // VANTAGE_COMMON_METRICS_H_
