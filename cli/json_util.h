// JsonUtil: helpers for building command output as google.protobuf.Struct
// and printing it with protobuf's JSON printer (never by concatenation).
#ifndef VANTAGE_CLI_JSON_UTIL_H_
#define VANTAGE_CLI_JSON_UTIL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace vantage::cli {

google::protobuf::Value StringValue(absl::string_view s);
google::protobuf::Value NumberValue(double d);
google::protobuf::Value BoolValue(bool b);

// Set* add a member to a Struct.
void SetString(google::protobuf::Struct* s, const std::string& key, absl::string_view value);
void SetNumber(google::protobuf::Struct* s, const std::string& key, double value);
void SetBool(google::protobuf::Struct* s, const std::string& key, bool value);
google::protobuf::Struct* SetStruct(google::protobuf::Struct* s, const std::string& key);
google::protobuf::ListValue* SetList(google::protobuf::Struct* s, const std::string& key);

// ToJson prints `s` as one line of JSON (no trailing newline). String
// values must be valid UTF-8: callers escape raw bytes first.
absl::StatusOr<std::string> ToJson(const google::protobuf::Struct& s);

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_JSON_UTIL_H_
