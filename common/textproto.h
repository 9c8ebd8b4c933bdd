// Loading configuration files written in protobuf text format (STYLE.md:
// one config message per binary, parsed by TextFormat).
#ifndef VANTAGE_COMMON_TEXTPROTO_H_
#define VANTAGE_COMMON_TEXTPROTO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace vantage::common {

// ParseTextProto parses `text` into `message`. On error the status is
// INVALID_ARGUMENT and names `source` with the line and column of every
// problem TextFormat found (unknown fields, bad values, syntax).
absl::Status ParseTextProto(absl::string_view text, absl::string_view source,
                            google::protobuf::Message* message);

// LoadTextProtoFile reads `path` and parses it with ParseTextProto. NOT_FOUND
// or PERMISSION_DENIED when the file cannot be read.
absl::Status LoadTextProtoFile(const std::string& path,
                               google::protobuf::Message* message);

// LoadTextProto<T> is LoadTextProtoFile returning the message.
template <typename T>
absl::StatusOr<T> LoadTextProto(const std::string& path) {
  T message;
  absl::Status status = LoadTextProtoFile(path, &message);
  if (!status.ok()) return status;
  return message;
}

// ReadFile reads a whole file (configs, PEM files). The error names the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace vantage::common

#endif  // VANTAGE_COMMON_TEXTPROTO_H_
