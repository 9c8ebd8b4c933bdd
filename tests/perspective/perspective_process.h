// PerspectiveProcess: a real `vantage-perspective` process for end-to-end
// tests and benchmarks (and, later, the VA's multi-perspective tests).
//
//   PerspectiveProcess::Options options;
//   options.config = ...;           // listen_address "127.0.0.1:0" is fine
//   ASSIGN_OR_RETURN(auto p, PerspectiveProcess::Start(options));
//   p->address();                   // "127.0.0.1:<bound port>"
//
// The config is written to a file, the binary (a data dependency:
// //perspective:vantage-perspective) is started with --config, and Start()
// returns once it printed "vantage-perspective listening on HOST:PORT".
#ifndef VANTAGE_TESTS_PERSPECTIVE_PERSPECTIVE_PROCESS_H_
#define VANTAGE_TESTS_PERSPECTIVE_PERSPECTIVE_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"
#include "tests/harness/subprocess.h"

namespace vantage::tests {

class PerspectiveProcess {
 public:
  struct Options {
    v1::PerspectiveConfig config;
    // Extra command-line flags ("--insecure", "--log_requests").
    std::vector<std::string> extra_args;
    // Network namespace to run in; empty: the caller's.
    std::string netns;
    // Where the config file goes; default: a fresh file in TestTempDir().
    std::string config_path;
    absl::Duration start_timeout = absl::Seconds(30);
    // Grace for SIGTERM before SIGKILL when stopping.
    absl::Duration stop_grace = absl::Seconds(15);
  };

  static absl::StatusOr<std::unique_ptr<PerspectiveProcess>> Start(const Options& options);

  // address is "<host of listen_address>:<bound port>".
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  // metrics_port is the bound /metrics port (0 without metrics_address).
  int metrics_port() const { return metrics_port_; }
  // health_port is the bound plaintext health port (0 without health_address).
  int health_port() const { return health_port_; }
  const std::string& config_path() const { return config_path_; }
  harness::Subprocess& process() { return *process_; }

 private:
  PerspectiveProcess() = default;
  std::unique_ptr<harness::Subprocess> process_;
  std::string address_;
  int port_ = 0;
  int metrics_port_ = 0;
  int health_port_ = 0;
  std::string config_path_;
};

// PerspectiveBinary is the path of //perspective:vantage-perspective in the
// runfiles.
absl::StatusOr<std::string> PerspectiveBinary();

// WritePerspectiveConfig writes `config` as textproto to `path`.
absl::Status WritePerspectiveConfig(const v1::PerspectiveConfig& config,
                                    const std::string& path);

// HttpGet fetches http://host:port/path (HTTP/1.0) and returns the body; an
// error unless the status is 200.
absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& path);

// MetricValue finds `series` (e.g. `vantage_x_total{a="b"}`, labels in the
// exposition order) in a Prometheus text exposition; -1 when absent.
double MetricValue(absl::string_view exposition, absl::string_view series);

}  // namespace vantage::tests

#endif  // VANTAGE_TESTS_PERSPECTIVE_PERSPECTIVE_PROCESS_H_
