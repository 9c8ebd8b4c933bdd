// Small helpers shared by the config validators of both binaries
// (perspective/config.cc, va/config.cc): field paths, quoting user input in
// messages, google.protobuf.Duration <-> absl::Duration, and the id rule.
#ifndef VANTAGE_COMMON_CONFIG_UTIL_H_
#define VANTAGE_COMMON_CONFIG_UTIL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace vantage::common {

// FieldPath joins a field name to its parent path ("remotes[2]" + "tls").
std::string FieldPath(absl::string_view prefix, absl::string_view field);

// Quoted returns `s` C-hex-escaped and quoted, cut at 128 bytes, for messages.
std::string Quoted(absl::string_view s);

// DurationFromProto converts a google.protobuf.Duration; nullopt when it is
// not a valid one (nanos out of range, or of the other sign than seconds).
std::optional<absl::Duration> DurationFromProto(const google::protobuf::Duration& d);
// DurationToProto is the inverse (absl::Duration within the proto range).
google::protobuf::Duration DurationToProto(absl::Duration d);

// CheckDuration appends a problem when a SET duration field `field` is not
// a valid duration or lies outside [min, max].
void CheckDuration(bool has, const google::protobuf::Duration& d, absl::string_view field,
                   absl::Duration min, absl::Duration max, std::vector<std::string>* problems);

// HealthAddressProblems checks the optional `health_address` field (the
// plaintext health-only listener): a HOST:PORT, and not the address of the
// main server or of /metrics (with a fixed port).
void HealthAddressProblems(absl::string_view health_address, absl::string_view listen_address,
                           absl::string_view metrics_address, std::vector<std::string>* problems);

// IsInstanceId: the rule of perspective and VA ids - 1..63 characters of
// [a-z0-9-] (proto/config.proto).
bool IsInstanceId(absl::string_view id);

}  // namespace vantage::common

#endif  // VANTAGE_COMMON_CONFIG_UTIL_H_
