#include "va/proto_json.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace vantage::va {
namespace {

using google::protobuf::Descriptor;
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

// AppendDigits writes `value` (>= 0) zero-padded to `width` digits.
void AppendDigits(int64_t value, int width, std::string* out) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < static_cast<int>(sizeof buf));
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(buf[--n]);
}

// Fractional seconds as the library writes them: none, or 3, 6 or 9 digits.
void AppendNanos(int32_t nanos, std::string* out) {
  if (nanos == 0) return;
  out->push_back('.');
  if (nanos % 1000000 == 0) {
    AppendDigits(nanos / 1000000, 3, out);
  } else if (nanos % 1000 == 0) {
    AppendDigits(nanos / 1000, 6, out);
  } else {
    AppendDigits(nanos, 9, out);
  }
}

bool AppendTimestamp(const Message& m, std::string* out) {
  const auto* t = google::protobuf::DynamicCastToGenerated<google::protobuf::Timestamp>(&m);
  if (t == nullptr) return false;
  const int64_t seconds = t->seconds();
  const int32_t nanos = t->nanos();
  if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds || nanos < 0 ||
      nanos > kMaxNanos) {
    return false;  // the library reports these as errors
  }
  const absl::CivilSecond c =
      absl::ToCivilSecond(absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
  out->push_back('"');
  AppendDigits(c.year(), 4, out);
  out->push_back('-');
  AppendDigits(c.month(), 2, out);
  out->push_back('-');
  AppendDigits(c.day(), 2, out);
  out->push_back('T');
  AppendDigits(c.hour(), 2, out);
  out->push_back(':');
  AppendDigits(c.minute(), 2, out);
  out->push_back(':');
  AppendDigits(c.second(), 2, out);
  AppendNanos(nanos, out);
  out->append("Z\"");
  return true;
}

bool AppendDuration(const Message& m, std::string* out) {
  const auto* d = google::protobuf::DynamicCastToGenerated<google::protobuf::Duration>(&m);
  if (d == nullptr) return false;
  const int64_t seconds = d->seconds();
  const int32_t nanos = d->nanos();
  if (seconds < -kMaxDurationSeconds || seconds > kMaxDurationSeconds || nanos < -kMaxNanos ||
      nanos > kMaxNanos || (seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0)) {
    return false;
  }
  out->push_back('"');
  if (seconds < 0 || nanos < 0) out->push_back('-');
  AppendDigits(seconds < 0 ? -seconds : seconds, 1, out);
  AppendNanos(nanos < 0 ? -nanos : nanos, out);
  out->append("s\"");
  return true;
}

// ---- plans: what to write for each message type, worked out once ----

enum class Kind { kInt32, kUInt32, kInt64, kUInt64, kBool, kEnum, kString, kBytes, kMessage };

struct Plan;

struct FieldPlan {
  const FieldDescriptor* field = nullptr;
  Kind kind = Kind::kInt32;
  bool repeated = false;
  bool timestamp = false;  // time fields: Timestamp (else Duration)
  std::string key;         // "\"name\":"
  const Plan* message = nullptr;               // kMessage
  std::vector<const std::string*> enum_names;  // kEnum: by number, dense from 0
};

struct Plan {
  bool supported = false;
  bool building = false;
  const Reflection* reflection = nullptr;
  std::vector<FieldPlan> fields;       // declaration order, time fields excluded
  std::vector<FieldPlan> time_fields;  // by field number
};

bool IsWellKnown(const Descriptor* d) {
  return absl::StartsWith(d->full_name(), "google.protobuf.");
}

class Plans {
 public:
  static Plans& Get() {
    static Plans* plans = new Plans();  // never destroyed: used until exit
    return *plans;
  }

  // For returns the plan of `d`, building it (and every plan it reaches)
  // on first use.
  const Plan* For(const Descriptor* d) {
    absl::MutexLock lock(&mu_);
    return BuildLocked(d);
  }

 private:
  Plan* BuildLocked(const Descriptor* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::unique_ptr<Plan>& slot = plans_[d];
    if (slot != nullptr) return slot.get();
    slot = std::make_unique<Plan>();
    Plan* plan = slot.get();
    plan->building = true;
    plan->supported = Fill(d, plan);
    plan->building = false;
    return plan;
  }

  bool Fill(const Descriptor* d, Plan* plan) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const Message* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(d);
    if (prototype == nullptr || IsWellKnown(d)) return false;
    plan->reflection = prototype->GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->containing_oneof() != nullptr || f->is_map()) return false;
      FieldPlan fp;
      fp.field = f;
      fp.repeated = f->is_repeated();
      fp.key = absl::StrCat("\"", f->name(), "\":");
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32: fp.kind = Kind::kInt32; break;
        case FieldDescriptor::CPPTYPE_UINT32: fp.kind = Kind::kUInt32; break;
        case FieldDescriptor::CPPTYPE_INT64: fp.kind = Kind::kInt64; break;
        case FieldDescriptor::CPPTYPE_UINT64: fp.kind = Kind::kUInt64; break;
        case FieldDescriptor::CPPTYPE_BOOL: fp.kind = Kind::kBool; break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          const google::protobuf::EnumDescriptor* e = f->enum_type();
          if (e->options().allow_alias()) return false;
          fp.kind = Kind::kEnum;
          for (int v = 0; v < e->value_count(); ++v) {
            const int number = e->value(v)->number();
            if (number < 0 || number > 1024) return false;  // sparse: left to the library
            if (static_cast<size_t>(number) >= fp.enum_names.size()) {
              fp.enum_names.resize(static_cast<size_t>(number) + 1, nullptr);
            }
            fp.enum_names[static_cast<size_t>(number)] = &e->value(v)->name();
          }
          break;
        }
        case FieldDescriptor::CPPTYPE_STRING:
          fp.kind = f->type() == FieldDescriptor::TYPE_BYTES ? Kind::kBytes : Kind::kString;
          break;
        case FieldDescriptor::CPPTYPE_MESSAGE: {
          const Descriptor* type = f->message_type();
          if (IsWellKnown(type)) {
            // Timestamp/Duration only, singular, and written last.
            const absl::string_view name = type->full_name();
            if (fp.repeated || (name != kTimestamp && name != kDuration)) return false;
            fp.timestamp = name == kTimestamp;
            plan->time_fields.push_back(std::move(fp));
            continue;
          }
          const Plan* sub = BuildLocked(type);
          if (sub->building || !sub->supported) return false;  // recursive types: library
          fp.kind = Kind::kMessage;
          fp.message = sub;
          break;
        }
        case FieldDescriptor::CPPTYPE_FLOAT:
        case FieldDescriptor::CPPTYPE_DOUBLE:
          return false;  // number formatting left to the library
      }
      plan->fields.push_back(std::move(fp));
    }
    std::sort(plan->time_fields.begin(), plan->time_fields.end(),
              [](const FieldPlan& a, const FieldPlan& b) {
                return a.field->number() < b.field->number();
              });
    return true;
  }

  absl::Mutex mu_;
  absl::flat_hash_map<const Descriptor*, std::unique_ptr<Plan>> plans_ ABSL_GUARDED_BY(mu_);
};

// ---- writing ----

bool AppendEnum(const FieldPlan& fp, int value, std::string* out) {
  if (value < 0 || static_cast<size_t>(value) >= fp.enum_names.size() ||
      fp.enum_names[static_cast<size_t>(value)] == nullptr) {
    return false;  // the library prints the number: left to it
  }
  out->push_back('"');
  out->append(*fp.enum_names[static_cast<size_t>(value)]);
  out->push_back('"');
  return true;
}

bool AppendMessage(const Plan& plan, const Message& m, std::string* out);

// AppendValue writes one value of a field (element `index` when repeated).
bool AppendValue(const Plan& plan, const FieldPlan& fp, const Message& m, int index,
                 std::string* out) {
  const Reflection* r = plan.reflection;
  const FieldDescriptor* f = fp.field;
  const bool rep = fp.repeated;
  switch (fp.kind) {
    case Kind::kInt32:
      absl::StrAppend(out, rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      return true;
    case Kind::kUInt32:
      absl::StrAppend(out, rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      return true;
    case Kind::kInt64:
      absl::StrAppend(out, "\"", rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f),
                      "\"");
      return true;
    case Kind::kUInt64:
      absl::StrAppend(out, "\"", rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f),
                      "\"");
      return true;
    case Kind::kBool:
      out->append((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false");
      return true;
    case Kind::kEnum:
      return AppendEnum(fp, rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f),
                        out);
    case Kind::kString:
    case Kind::kBytes: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                 : r->GetStringReference(m, f, &scratch);
      if (fp.kind == Kind::kString) return AppendJsonString(s, out);
      out->push_back('"');
      out->append(absl::Base64Escape(s));
      out->push_back('"');
      return true;
    }
    case Kind::kMessage:
      return AppendMessage(*fp.message,
                           rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), out);
  }
  return false;
}

bool AppendMessage(const Plan& plan, const Message& m, std::string* out) {
  const Reflection* r = plan.reflection;
  // Unknown fields (e.g. from a newer perspective): left to the library.
  if (r->GetUnknownFields(m).field_count() > 0) return false;
  out->push_back('{');
  bool first = true;
  for (const FieldPlan& fp : plan.fields) {
    if (fp.repeated) {
      if (!first) out->push_back(',');
      first = false;
      out->append(fp.key);
      out->push_back('[');
      const int n = r->FieldSize(m, fp.field);
      for (int j = 0; j < n; ++j) {
        if (j > 0) out->push_back(',');
        if (!AppendValue(plan, fp, m, j, out)) return false;
      }
      out->push_back(']');
      continue;
    }
    // Unset messages are omitted; primitive fields always written.
    if (fp.kind == Kind::kMessage && !r->HasField(m, fp.field)) continue;
    if (!first) out->push_back(',');
    first = false;
    out->append(fp.key);
    if (!AppendValue(plan, fp, m, -1, out)) return false;
  }
  // Timestamp/Duration fields last (see the header), in field-number order:
  // the order the library reads them from the serialized message.
  for (const FieldPlan& fp : plan.time_fields) {
    if (!r->HasField(m, fp.field)) continue;
    if (!first) out->push_back(',');
    first = false;
    out->append(fp.key);
    const Message& value = r->GetMessage(m, fp.field);
    if (!(fp.timestamp ? AppendTimestamp(value, out) : AppendDuration(value, out))) return false;
  }
  out->push_back('}');
  return true;
}

}  // namespace

bool AppendProtoJsonFast(const google::protobuf::Message& message, std::string* out) {
  const Plan* plan = Plans::Get().For(message.GetDescriptor());
  if (!plan->supported || message.GetReflection() != plan->reflection) return false;
  return AppendMessage(*plan, message, out);
}

}  // namespace vantage::va
