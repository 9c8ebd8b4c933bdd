// Runs every row of testdata/dns_persist_vectors.json through the built
// `vantagectl check` binary: the outcome in its JSON and its exit code.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/test_process.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "testdata/vectors.h"
#include "policy/txt_presentation.h"

namespace vantage::cli {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kBinary[] = "cli/vantagectl";
using testdata::Field;
using testdata::kExpectedRows;
using testdata::kVectorsPath;
using testdata::LoadRows;

// ArgsFromRow builds the command line: one --txt per RR in presentation
// format (each character-string quoted and escaped).
std::vector<std::string> ArgsFromRow(const Struct& row) {
  const Struct& c = Field(row, "ctx").struct_value();
  std::vector<std::string> args = {"check"};
  std::string fqdn = Field(c, "fqdn").string_value();
  if (fqdn.empty()) fqdn = "example.com";
  args.push_back(absl::StrCat("--domain=", Field(c, "wildcard").bool_value() ? "*." : "", fqdn));
  for (const Value& i : Field(c, "issuers").list_value().values()) {
    args.push_back("--issuer=" + i.string_value());
  }
  args.push_back("--account-url=" + Field(c, "acct").string_value());
  args.push_back(absl::StrCat("--now=", static_cast<int64_t>(Field(c, "now").number_value())));
  const bool raw = Field(c, "mode").string_value() == "raw";
  args.push_back(raw ? "--accounturi-mode=raw" : "--accounturi-mode=hashed");
  if (!raw) {
    args.push_back("--hash-prefix=" + Field(c, "prefix").string_value());
    for (const Value& t : Field(c, "thumbs").list_value().values()) {
      args.push_back("--thumbprint=" + t.string_value());
    }
    for (const Value& a : Field(c, "algs").list_value().values()) {
      args.push_back("--hash-alg=" + a.string_value());
    }
  }
  if (Field(c, "deactivated").bool_value()) args.push_back("--deactivated");
  for (const Value& rr : Field(row, "rrs").list_value().values()) {
    std::vector<std::string> strings;
    if (rr.kind_case() == Value::kListValue) {
      for (const Value& s : rr.list_value().values()) strings.push_back(s.string_value());
    } else {
      strings.push_back(rr.string_value());
    }
    args.push_back("--txt=" + policy::FormatTxtRdata(strings));
  }
  return args;
}

TEST(CheckVectors, AllRowsLoaded) {
  EXPECT_EQ(LoadRows().size(), static_cast<size_t>(kExpectedRows));
}

class CheckVectorRow : public ::testing::TestWithParam<Struct> {};

TEST_P(CheckVectorRow, BinaryAgrees) {
  const Struct& row = GetParam();
  const std::vector<std::string> args = ArgsFromRow(row);
  const ProcessResult r = RunProcess(kBinary, args);
  const std::string expect = Field(row, "expect").string_value();
  ASSERT_EQ(r.exit_code, expect == "valid" ? 0 : 1) << r.err << r.out;
  Struct out;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &out).ok()) << r.out;
  EXPECT_EQ(Field(out, "outcome").string_value(), expect) << r.out;
  EXPECT_EQ(static_cast<int>(Field(out, "records").list_value().values_size()),
            Field(row, "rrs").list_value().values_size());
  if (expect == "valid") {
    EXPECT_FALSE(out.fields().contains("problem"));
    EXPECT_TRUE(out.fields().contains("matched"));
  } else {
    EXPECT_EQ(Field(Field(out, "problem").struct_value(), "type").string_value(),
              "urn:ietf:params:acme:error:" + expect);
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, CheckVectorRow, ::testing::ValuesIn(LoadRows()),
                         [](const ::testing::TestParamInfo<Struct>& info) {
                           return Field(info.param, "id").string_value();
                         });

}  // namespace
}  // namespace vantage::cli
