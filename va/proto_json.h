// ProtoJsonFast: the audit log's JSON line, rendered without protobuf's JSON
// converter when the record allows it - same bytes, ~10x less CPU.
//
// Why not simply the library: protobuf 3.21's MessageToJsonString with
// always_print_primitive_fields serializes the message, parses it back
// through its type-resolver stream and builds a tree of every field
// (DefaultValueObjectWriter) before writing. For an audit record (6
// observations, ~19 KB of JSON) that cost ~385 us per validation - 41% of
// the VA's CPU (va_bench, perf). The rules it follows are few and fixed, so
// this printer walks the message by reflection and writes the same bytes:
//  - fields in declaration order, every primitive field present (its
//    default when unset), repeated fields always ([] when empty), unset
//    singular messages omitted, proto field names, no whitespace;
//  - int64/uint64 as quoted decimals, 32-bit integers and bools bare,
//    enums by name, bytes as standard base64 with padding;
//  - google.protobuf.Timestamp as RFC 3339 UTC and Duration as "<s>[.frac]s"
//    (0, 3, 6 or 9 fractional digits), and - as the library's default-value
//    writer does - placed after the object's other fields, in field-number
//    order;
//  - strings JSON-escaped as the library does for ASCII: \" \\ \b \f \n \r
//    \t, other control characters and DEL as \u00XX, '<' and '>' as \u003c
//    and \u003e (HTML safety).
// Anything outside that subset - a string with a non-ASCII byte, an enum
// number the schema does not name, float/double, oneof/optional, maps, any
// other well-known type, unknown fields, a timestamp or duration out of
// range - returns
// false, and the caller renders with the library instead (audit_log.cc).
// va/proto_json_test.cc compares both on real and randomly filled records.
#ifndef VANTAGE_VA_PROTO_JSON_H_
#define VANTAGE_VA_PROTO_JSON_H_

#include <string>

#include "google/protobuf/message.h"

namespace vantage::va {

// AppendProtoJsonFast appends `message` to `out` exactly as
// google::protobuf::util::MessageToJsonString renders it with
// add_whitespace=false, always_print_primitive_fields=true and
// preserve_proto_field_names=true. False when the message is outside the
// supported subset (see above); `out` is then unspecified.
bool AppendProtoJsonFast(const google::protobuf::Message& message, std::string* out);

}  // namespace vantage::va

#endif  // VANTAGE_VA_PROTO_JSON_H_
