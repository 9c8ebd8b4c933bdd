// AppendProtoJsonFast must write exactly what protobuf's JSON printer writes
// (the audit log's format), or decline. Compared on randomly filled messages
// of every type an audit record holds, and on the declined cases one by one.
#include "va/proto_json.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/audit.pb.h"
#include "proto/perspective.pb.h"
#include "proto/validation.pb.h"
#include "va/audit_log.h"

namespace vantage::va {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string LibraryJson(const Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(m, &json, options);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return json;
}

// Filler sets fields of any message at random, within what the fast printer
// supports: ASCII strings (every ASCII byte, the escaped ones often), any
// bytes, extreme and ordinary integers, named enum values, timestamps and
// durations in range with 0/3/6/9 significant fractional digits.
class Filler {
 public:
  explicit Filler(uint32_t seed) : rng_(seed) {}

  void Fill(Message* m, int depth) {
    const Descriptor* d = m->GetDescriptor();
    if (d->full_name() == "google.protobuf.Timestamp") {
      SetSecondsNanos(m, Pick<int64_t>(-62135596800, 253402300799), Nanos(false));
      return;
    }
    if (d->full_name() == "google.protobuf.Duration") {
      const int64_t s = Pick<int64_t>(0, 3) == 0 ? 0 : Pick<int64_t>(0, 315576000000);
      const int32_t n = Nanos(false);
      const bool negative = Pick<int>(0, 2) == 0;
      SetSecondsNanos(m, negative ? -s : s, negative ? -n : n);
      return;
    }
    const Reflection* r = m->GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (Pick<int>(0, 3) == 0) continue;  // left unset
      if (f->is_repeated()) {
        const int n = Pick<int>(0, depth > 3 ? 1 : 3);
        for (int j = 0; j < n; ++j) Add(m, r, f, depth);
      } else {
        Set(m, r, f, depth);
      }
    }
  }

 private:
  template <typename T>
  T Pick(T lo, T hi) {
    return std::uniform_int_distribution<T>(lo, hi)(rng_);
  }
  int32_t Nanos(bool) {
    switch (Pick<int>(0, 3)) {
      case 0: return 0;
      case 1: return Pick<int32_t>(0, 999) * 1000000;
      case 2: return Pick<int32_t>(0, 999999) * 1000;
      default: return Pick<int32_t>(0, 999999999);
    }
  }
  void SetSecondsNanos(Message* m, int64_t s, int32_t n) {
    const Reflection* r = m->GetReflection();
    r->SetInt64(m, m->GetDescriptor()->FindFieldByNumber(1), s);
    r->SetInt32(m, m->GetDescriptor()->FindFieldByNumber(2), n);
  }
  std::string AsciiString() {
    static const std::string kSpecial = "\"\\<>/\b\f\n\r\t\x01\x1f\x7f &'=;{}[]:,";
    std::string s;
    const int n = Pick<int>(0, 12);
    for (int i = 0; i < n; ++i) {
      s.push_back(Pick<int>(0, 2) == 0 ? kSpecial[Pick<size_t>(0, kSpecial.size() - 1)]
                                       : static_cast<char>(Pick<int>(0, 0x7f)));
    }
    return s;
  }
  std::string Bytes() {
    std::string s;
    const int n = Pick<int>(0, 12);
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(Pick<int>(0, 255)));
    return s;
  }
  template <typename T>
  T Integer() {
    switch (Pick<int>(0, 3)) {
      case 0: return std::numeric_limits<T>::min();
      case 1: return std::numeric_limits<T>::max();
      case 2: return 0;
      default: return Pick<T>(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    }
  }
  int EnumNumber(const FieldDescriptor* f) {
    const auto* e = f->enum_type();
    return e->value(Pick<int>(0, e->value_count() - 1))->number();
  }
  void Set(Message* m, const Reflection* r, const FieldDescriptor* f, int depth) {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(m, f, Integer<int32_t>()); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(m, f, Integer<uint32_t>()); break;
      case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(m, f, Integer<int64_t>()); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(m, f, Integer<uint64_t>()); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(m, f, Pick<int>(0, 1) == 1); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->SetEnumValue(m, f, EnumNumber(f)); break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(m, f, f->type() == FieldDescriptor::TYPE_BYTES ? Bytes() : AsciiString());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 6) Fill(r->MutableMessage(m, f), depth + 1);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
      case FieldDescriptor::CPPTYPE_DOUBLE:
        break;  // none in our protos
    }
  }
  void Add(Message* m, const Reflection* r, const FieldDescriptor* f, int depth) {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->AddInt32(m, f, Integer<int32_t>()); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->AddUInt32(m, f, Integer<uint32_t>()); break;
      case FieldDescriptor::CPPTYPE_INT64: r->AddInt64(m, f, Integer<int64_t>()); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->AddUInt64(m, f, Integer<uint64_t>()); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->AddBool(m, f, Pick<int>(0, 1) == 1); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->AddEnumValue(m, f, EnumNumber(f)); break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->AddString(m, f, f->type() == FieldDescriptor::TYPE_BYTES ? Bytes() : AsciiString());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 6) {
          Fill(r->AddMessage(m, f), depth + 1);
        }
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
      case FieldDescriptor::CPPTYPE_DOUBLE:
        break;
    }
  }

  std::mt19937_64 rng_;
};

template <typename T>
void CompareRandom(int count, uint32_t seed) {
  Filler filler(seed);
  for (int i = 0; i < count; ++i) {
    T m;
    filler.Fill(&m, 0);
    std::string fast;
    ASSERT_TRUE(AppendProtoJsonFast(m, &fast)) << m.DebugString();
    ASSERT_EQ(fast, LibraryJson(m)) << "message " << i << ":\n" << m.DebugString();
  }
}

TEST(ProtoJsonFast, AuditRecordsLikeTheLibrary) { CompareRandom<v1::AuditRecord>(400, 1); }
TEST(ProtoJsonFast, ValidationResultsLikeTheLibrary) {
  CompareRandom<v1::ValidationResult>(400, 2);
}
TEST(ProtoJsonFast, ObservationsLikeTheLibrary) { CompareRandom<v1::Observation>(1000, 3); }

TEST(ProtoJsonFast, EmptyMessagesLikeTheLibrary) {
  const v1::AuditRecord empty;
  std::string fast;
  ASSERT_TRUE(AppendProtoJsonFast(empty, &fast));
  EXPECT_EQ(fast, LibraryJson(empty));
  v1::AuditRecord nested;
  nested.mutable_result()->add_perspectives()->mutable_observation();
  nested.mutable_time();
  nested.mutable_total_latency();
  fast.clear();
  ASSERT_TRUE(AppendProtoJsonFast(nested, &fast));
  EXPECT_EQ(fast, LibraryJson(nested));
}

// Each case is outside the supported subset: the fast printer declines, and
// AuditRecordToJson still renders it (with the library) or reports its error.
TEST(ProtoJsonFast, DeclinesWhatItDoesNotHandle) {
  struct Case {
    const char* name;
    void (*make)(v1::AuditRecord*);
    bool library_ok;
  };
  const std::vector<Case> cases = {
      {"non_ascii_string", [](v1::AuditRecord* r) { r->set_client("r\xc3\xa9sum\xc3\xa9"); },
       true},
      {"line_separator", [](v1::AuditRecord* r) { r->set_va_id("a\xe2\x80\xa8z"); }, true},
      {"unknown_enum_number",
       [](v1::AuditRecord* r) { r->mutable_result()->set_outcome(static_cast<v1::Outcome>(77)); },
       true},
      {"timestamp_out_of_range",
       [](v1::AuditRecord* r) { r->mutable_time()->set_seconds(253402300800); }, false},
      {"timestamp_negative_nanos", [](v1::AuditRecord* r) { r->mutable_time()->set_nanos(-1); },
       false},
      // The library renders this one ("1.294967295s"); the fast printer
      // leaves it to the library rather than guess.
      {"duration_positive_seconds_negative_nanos",
       [](v1::AuditRecord* r) {
         r->mutable_total_latency()->set_seconds(1);
         r->mutable_total_latency()->set_nanos(-1);
       },
       true},
      {"duration_negative_seconds_positive_nanos",
       [](v1::AuditRecord* r) {
         r->mutable_total_latency()->set_seconds(-1);
         r->mutable_total_latency()->set_nanos(1);
       },
       false},
      {"unknown_field",
       [](v1::AuditRecord* r) { r->GetReflection()->MutableUnknownFields(r)->AddVarint(999, 1); },
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::AuditRecord record;
    record.set_va_id("va-1");
    c.make(&record);
    std::string fast;
    EXPECT_FALSE(AppendProtoJsonFast(record, &fast));
    absl::StatusOr<std::string> json = AuditRecordToJson(record);
    EXPECT_EQ(json.ok(), c.library_ok) << json.status();
    if (json.ok() && c.library_ok) {
      google::protobuf::util::JsonPrintOptions options;
      options.add_whitespace = false;
      options.always_print_primitive_fields = true;
      options.preserve_proto_field_names = true;
      std::string expected;
      ASSERT_TRUE(google::protobuf::util::MessageToJsonString(record, &expected, options).ok());
      EXPECT_EQ(*json, expected);
    }
  }
}

TEST(ProtoJsonFast, AuditRecordToJsonUsesTheSameBytes) {
  Filler filler(4);
  for (int i = 0; i < 50; ++i) {
    v1::AuditRecord record;
    filler.Fill(&record, 0);
    absl::StatusOr<std::string> json = AuditRecordToJson(record);
    ASSERT_TRUE(json.ok()) << json.status();
    EXPECT_EQ(*json, LibraryJson(record));
  }
}

}  // namespace
}  // namespace vantage::va
