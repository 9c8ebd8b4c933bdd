#include "va/proto_json.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace vantage::va {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr absl::string_view kTimestamp = "google.protobuf.Timestamp";
constexpr absl::string_view kDuration = "google.protobuf.Duration";

// google/protobuf/timestamp.proto: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// google/protobuf/duration.proto: +-10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;
constexpr int32_t kMaxNanos = 999999999;

// AppendJsonString writes `s` quoted and escaped; false on a non-ASCII byte
// (the library's rules for those are many: left to it).
bool AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x80) return false;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      // HTML safety, as the library does.
      case '<': out->append("\\u003c"); break;
      case '>': out->append("\\u003e"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
  return true;
}

void AppendKey(const FieldDescriptor* f, bool* first, std::string* out) {
  if (!*first) out->push_back(',');
  *first = false;
  // Field names are identifiers ([A-Za-z_][A-Za-z0-9_]*): nothing to escape.
  out->push_back('"');
  out->append(f->name());
  out->append("\":");
}

// Fractional seconds as the library writes them: none, or 3, 6 or 9 digits.
void AppendNanos(int32_t nanos, std::string* out) {
  if (nanos == 0) return;
  if (nanos % 1000000 == 0) {
    absl::StrAppendFormat(out, ".%03d", nanos / 1000000);
  } else if (nanos % 1000 == 0) {
    absl::StrAppendFormat(out, ".%06d", nanos / 1000);
  } else {
    absl::StrAppendFormat(out, ".%09d", nanos);
  }
}

// Seconds (field 1) and nanos (field 2) of a Timestamp or Duration.
bool SecondsNanos(const Message& m, int64_t* seconds, int32_t* nanos) {
  const Descriptor* d = m.GetDescriptor();
  const FieldDescriptor* s = d->FindFieldByNumber(1);
  const FieldDescriptor* n = d->FindFieldByNumber(2);
  if (s == nullptr || n == nullptr || s->cpp_type() != FieldDescriptor::CPPTYPE_INT64 ||
      n->cpp_type() != FieldDescriptor::CPPTYPE_INT32) {
    return false;
  }
  *seconds = m.GetReflection()->GetInt64(m, s);
  *nanos = m.GetReflection()->GetInt32(m, n);
  return true;
}

bool AppendTimestamp(const Message& m, std::string* out) {
  int64_t seconds = 0;
  int32_t nanos = 0;
  if (!SecondsNanos(m, &seconds, &nanos) || seconds < kMinTimestampSeconds ||
      seconds > kMaxTimestampSeconds || nanos < 0 || nanos > kMaxNanos) {
    return false;  // the library reports these as errors
  }
  const absl::CivilSecond c =
      absl::ToCivilSecond(absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
  absl::StrAppendFormat(out, "\"%04d-%02d-%02dT%02d:%02d:%02d", c.year(), c.month(), c.day(),
                        c.hour(), c.minute(), c.second());
  AppendNanos(nanos, out);
  out->append("Z\"");
  return true;
}

bool AppendDuration(const Message& m, std::string* out) {
  int64_t seconds = 0;
  int32_t nanos = 0;
  if (!SecondsNanos(m, &seconds, &nanos) || seconds < -kMaxDurationSeconds ||
      seconds > kMaxDurationSeconds || nanos < -kMaxNanos || nanos > kMaxNanos ||
      (seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0)) {
    return false;
  }
  out->push_back('"');
  if (seconds < 0 || nanos < 0) out->push_back('-');
  absl::StrAppend(out, seconds < 0 ? -seconds : seconds);
  AppendNanos(nanos < 0 ? -nanos : nanos, out);
  out->append("s\"");
  return true;
}

bool AppendEnum(const FieldDescriptor* f, int value, std::string* out) {
  const EnumValueDescriptor* v = f->enum_type()->FindValueByNumber(value);
  if (v == nullptr) return false;  // the library prints the number: left to it
  out->push_back('"');
  out->append(v->name());
  out->push_back('"');
  return true;
}

bool AppendMessage(const Message& m, std::string* out);

// AppendValue writes one value of `f` (element `index` when repeated).
bool AppendValue(const Message& m, const FieldDescriptor* f, int index, std::string* out) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(out, rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(out, rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(out, "\"", rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f),
                      "\"");
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(out, "\"", rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f),
                      "\"");
      return true;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false");
      return true;
    case FieldDescriptor::CPPTYPE_ENUM:
      return AppendEnum(f, rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f),
                        out);
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                 : r->GetStringReference(m, f, &scratch);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        out->push_back('"');
        out->append(absl::Base64Escape(s));
        out->push_back('"');
        return true;
      }
      return AppendJsonString(s, out);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return AppendMessage(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), out);
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return false;  // number formatting left to the library
  }
  return false;
}

bool IsWellKnown(const Descriptor* d) {
  return absl::StartsWith(d->full_name(), "google.protobuf.");
}

bool AppendMessage(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  // Unknown fields (e.g. from a newer perspective): left to the library.
  if (r->GetUnknownFields(m).field_count() > 0) return false;
  out->push_back('{');
  bool first = true;
  // Timestamp/Duration fields go last (see the header), in field-number
  // order: the order the library reads them from the serialized message.
  absl::InlinedVector<const FieldDescriptor*, 4> time_fields;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->containing_oneof() != nullptr || f->is_map()) return false;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM && f->enum_type()->options().allow_alias()) {
      return false;
    }
    const bool is_message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (is_message && IsWellKnown(f->message_type())) {
      const absl::string_view type = f->message_type()->full_name();
      if (f->is_repeated() || (type != kTimestamp && type != kDuration)) return false;
      if (r->HasField(m, f)) time_fields.push_back(f);
      continue;
    }
    if (f->is_repeated()) {
      AppendKey(f, &first, out);
      out->push_back('[');
      const int n = r->FieldSize(m, f);
      for (int j = 0; j < n; ++j) {
        if (j > 0) out->push_back(',');
        if (!AppendValue(m, f, j, out)) return false;
      }
      out->push_back(']');
      continue;
    }
    if (is_message && !r->HasField(m, f)) continue;  // unset messages are omitted
    AppendKey(f, &first, out);
    if (!AppendValue(m, f, -1, out)) return false;
  }
  std::sort(time_fields.begin(), time_fields.end(),
            [](const FieldDescriptor* a, const FieldDescriptor* b) {
              return a->number() < b->number();
            });
  for (const FieldDescriptor* f : time_fields) {
    AppendKey(f, &first, out);
    const Message& value = r->GetMessage(m, f);
    const bool ok = f->message_type()->full_name() == kTimestamp ? AppendTimestamp(value, out)
                                                                  : AppendDuration(value, out);
    if (!ok) return false;
  }
  out->push_back('}');
  return true;
}

}  // namespace

bool AppendProtoJsonFast(const google::protobuf::Message& message, std::string* out) {
  if (IsWellKnown(message.GetDescriptor())) return false;
  return AppendMessage(message, out);
}

}  // namespace vantage::va
