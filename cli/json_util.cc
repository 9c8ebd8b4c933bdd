#include "cli/json_util.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"

namespace vantage::cli {

google::protobuf::Value StringValue(absl::string_view s) {
  google::protobuf::Value v;
  v.set_string_value(std::string(s));
  return v;
}

google::protobuf::Value NumberValue(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}

google::protobuf::Value BoolValue(bool b) {
  google::protobuf::Value v;
  v.set_bool_value(b);
  return v;
}

void SetString(google::protobuf::Struct* s, const std::string& key, absl::string_view value) {
  (*s->mutable_fields())[key] = StringValue(value);
}

void SetNumber(google::protobuf::Struct* s, const std::string& key, double value) {
  (*s->mutable_fields())[key] = NumberValue(value);
}

void SetBool(google::protobuf::Struct* s, const std::string& key, bool value) {
  (*s->mutable_fields())[key] = BoolValue(value);
}

google::protobuf::Struct* SetStruct(google::protobuf::Struct* s, const std::string& key) {
  return (*s->mutable_fields())[key].mutable_struct_value();
}

google::protobuf::ListValue* SetList(google::protobuf::Struct* s, const std::string& key) {
  return (*s->mutable_fields())[key].mutable_list_value();
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Struct& s) {
  // MessageToJsonString would print the Struct's map in hash order. Serialize
  // deterministically (map entries sorted by key) and convert those bytes, so
  // members come out in a stable, sorted order (like `jq -S`).
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!s.SerializeToCodedStream(&coded)) return absl::InternalError("JSON output: serialize");
  }
  static constexpr char kUrlPrefix[] = "type.googleapis.com";
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver(
      google::protobuf::util::NewTypeResolverForDescriptorPool(kUrlPrefix,
                                                               s.GetDescriptor()->file()->pool()));
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  const auto status = google::protobuf::util::BinaryToJsonString(
      resolver.get(), absl::StrCat(kUrlPrefix, "/", s.GetDescriptor()->full_name()), binary, &out,
      options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("JSON output: ", std::string(status.message())));
  }
  return out;
}

}  // namespace vantage::cli
