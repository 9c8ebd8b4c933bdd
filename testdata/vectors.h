// Loading testdata/dns_persist_vectors.json (see README.md) for the tests
// that run every row: through the library (//policy:record_vectors_test)
// and through the vantagectl binary (//cli:check_vectors_test).
#ifndef VANTAGE_TESTDATA_VECTORS_H_
#define VANTAGE_TESTDATA_VECTORS_H_

#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"

namespace vantage::testdata {

// kVectorsPath is the file, relative to the runfiles root of the workspace.
inline constexpr char kVectorsPath[] = "testdata/dns_persist_vectors.json";
// kExpectedRows: the file holds 45 rows; a silently empty or truncated load
// must fail the tests that use it.
inline constexpr int kExpectedRows = 45;

// LoadRows parses the file into one Struct per row (empty on any error).
std::vector<google::protobuf::Struct> LoadRows();

// Field returns member `name` of `s`, or a null Value when absent.
const google::protobuf::Value& Field(const google::protobuf::Struct& s, const std::string& name);

// Strings returns the string elements of a list Value.
std::vector<std::string> Strings(const google::protobuf::Value& v);

}  // namespace vantage::testdata

#endif  // VANTAGE_TESTDATA_VECTORS_H_
