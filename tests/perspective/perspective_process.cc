#include "tests/perspective/perspective_process.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/text_format.h"

namespace vantage::tests {

absl::StatusOr<std::string> PerspectiveBinary() {
  return harness::RunfilePath("perspective/vantage-perspective");
}

absl::Status WritePerspectiveConfig(const v1::PerspectiveConfig& config,
                                    const std::string& path) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(config, &text)) {
    return absl::InternalError("cannot print the config");
  }
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PerspectiveProcess>> PerspectiveProcess::Start(
    const Options& options) {
  static std::atomic<int> counter{0};
  absl::StatusOr<std::string> binary = PerspectiveBinary();
  if (!binary.ok()) return binary.status();
  std::unique_ptr<PerspectiveProcess> p(new PerspectiveProcess);
  p->config_path_ = options.config_path.empty()
                        ? absl::StrCat(harness::TestTempDir(), "/perspective-", getpid(), "-",
                                       counter.fetch_add(1), ".textproto")
                        : options.config_path;
  if (absl::Status s = WritePerspectiveConfig(options.config, p->config_path_); !s.ok()) return s;
  harness::Subprocess::Options sub;
  sub.argv = {*binary, absl::StrCat("--config=", p->config_path_)};
  for (const std::string& a : options.extra_args) sub.argv.push_back(a);
  sub.netns = options.netns;
  sub.stop_grace = options.stop_grace;
  absl::StatusOr<std::unique_ptr<harness::Subprocess>> process = harness::Subprocess::Start(sub);
  if (!process.ok()) return process.status();
  p->process_ = *std::move(process);
  absl::StatusOr<int> port =
      p->process_->WaitForPort("vantage-perspective listening on ", options.start_timeout);
  if (!port.ok()) return port.status();
  p->port_ = *port;
  const std::string listen = options.config.listen_address();
  const size_t colon = listen.rfind(':');
  p->address_ = absl::StrCat(listen.substr(0, colon), ":", p->port_);
  // Printed before the "listening" line.
  if (!options.config.metrics_address().empty()) {
    absl::StatusOr<int> metrics_port =
        p->process_->WaitForPort("vantage-perspective metrics on ", absl::Seconds(1));
    if (!metrics_port.ok()) return metrics_port.status();
    p->metrics_port_ = *metrics_port;
  }
  if (!options.config.health_address().empty()) {
    absl::StatusOr<int> health_port =
        p->process_->WaitForPort("vantage-perspective health on ", absl::Seconds(1));
    if (!health_port.ok()) return health_port.status();
    p->health_port_ = *health_port;
  }
  return p;
}

absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& path) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 ||
      res == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  }
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool connected = fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0;
  freeaddrinfo(res);
  if (!connected) {
    if (fd >= 0) ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", host, ":", port));
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", host, "\r\n\r\n");
  std::string response;
  if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (!absl::StartsWith(response, "HTTP/1.") || body == std::string::npos) {
    return absl::UnavailableError(absl::StrCat("no HTTP response from ", host, ":", port));
  }
  const std::string status_line = response.substr(0, response.find("\r\n"));
  if (status_line.find(" 200 ") == std::string::npos) {
    return absl::UnavailableError(absl::StrCat("GET ", path, ": ", status_line));
  }
  return response.substr(body + 4);
}

double MetricValue(absl::string_view exposition, absl::string_view series) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::ConsumePrefix(&line, series)) continue;
    if (!absl::ConsumePrefix(&line, " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(line), &value)) return value;
  }
  return -1;
}

}  // namespace vantage::tests
