#include "common/config_util.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/tls.h"

namespace vantage::common {

std::string FieldPath(absl::string_view prefix, absl::string_view field) {
  return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
}

std::string Quoted(absl::string_view s) {
  constexpr size_t kMax = 128;
  return absl::StrCat("\"", absl::CHexEscape(s.substr(0, kMax)), s.size() > kMax ? "..." : "",
                      "\"");
}

std::optional<absl::Duration> DurationFromProto(const google::protobuf::Duration& d) {
  if (d.nanos() <= -1000000000 || d.nanos() >= 1000000000) return std::nullopt;
  if ((d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0)) {
    return std::nullopt;
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

google::protobuf::Duration DurationToProto(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

void CheckDuration(bool has, const google::protobuf::Duration& d, absl::string_view field,
                   absl::Duration min, absl::Duration max, std::vector<std::string>* problems) {
  if (!has) return;
  const std::optional<absl::Duration> value = DurationFromProto(d);
  if (!value.has_value()) {
    problems->push_back(absl::StrCat(field, ": not a valid duration (seconds ", d.seconds(),
                                     ", nanos ", d.nanos(), ")"));
    return;
  }
  if (*value < min || *value > max) {
    problems->push_back(absl::StrCat(field, ": must be within ", absl::FormatDuration(min),
                                     " .. ", absl::FormatDuration(max), ", got ",
                                     absl::FormatDuration(*value)));
  }
}

namespace {

bool IsWildcardHost(absl::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

}  // namespace

void HealthAddressProblems(absl::string_view health_address, absl::string_view listen_address,
                           absl::string_view metrics_address, std::vector<std::string>* problems) {
  if (health_address.empty()) return;
  absl::StatusOr<HostPort> health = SplitHostPort(health_address);
  if (!health.ok()) {
    problems->push_back(absl::StrCat("health_address: ", health.status().message()));
    return;
  }
  if (health->port == "0") return;  // any free port: cannot collide
  const std::pair<absl::string_view, absl::string_view> others[] = {
      {"listen_address", listen_address}, {"metrics_address", metrics_address}};
  for (const auto& [field, address] : others) {
    absl::StatusOr<HostPort> other = SplitHostPort(address);
    if (address.empty() || !other.ok() || other->port != health->port) continue;
    if (other->host == health->host || IsWildcardHost(other->host) ||
        IsWildcardHost(health->host)) {
      problems->push_back(absl::StrCat("health_address: ", Quoted(health_address),
                                       " is the port of ", field, " ", Quoted(address),
                                       "; the plaintext health listener needs its own port"));
    }
  }
}

bool IsInstanceId(absl::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (char c : id) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
  }
  return true;
}

}  // namespace vantage::common
