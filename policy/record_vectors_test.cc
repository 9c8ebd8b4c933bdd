// Runs every row of testdata/dns_persist_vectors.json (see its README)
// through the library, one named test case per row.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "testdata/vectors.h"
#include "policy/record.h"

namespace vantage::policy {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

using testdata::Field;
using testdata::kExpectedRows;
using testdata::kVectorsPath;
using testdata::LoadRows;
using testdata::Strings;

// RrsetFromRow: a string is one RR with one character-string; a list is one
// RR with several character-strings (README).
std::vector<TxtRr> RrsetFromRow(const Struct& row) {
  std::vector<TxtRr> rrset;
  for (const Value& rr : Field(row, "rrs").list_value().values()) {
    if (rr.kind_case() == Value::kListValue) {
      rrset.push_back(Strings(rr));
    } else {
      rrset.push_back({rr.string_value()});
    }
  }
  return rrset;
}

VerdictContext ContextFromRow(const Struct& row) {
  const Struct& c = Field(row, "ctx").struct_value();
  VerdictContext ctx;
  ctx.issuers = Strings(Field(c, "issuers"));
  ctx.now = absl::FromUnixSeconds(static_cast<int64_t>(Field(c, "now").number_value()));
  ctx.identifier.wildcard = Field(c, "wildcard").bool_value();
  ctx.identifier.fqdn = Field(c, "fqdn").string_value();
  if (ctx.identifier.fqdn.empty()) ctx.identifier.fqdn = "example.com";  // README: raw default
  ctx.account_url = Field(c, "acct").string_value();
  ctx.deactivated = Field(c, "deactivated").bool_value();
  const std::string mode = Field(c, "mode").string_value();
  ctx.mode = mode == "raw" ? AccountUriMode::kLegacyRaw : AccountUriMode::kHashed;
  ctx.thumbprints = Strings(Field(c, "thumbs"));
  ctx.hash_prefix = Field(c, "prefix").string_value();
  ctx.hash_algs = Strings(Field(c, "algs"));
  return ctx;
}

TEST(Vectors, AllRowsLoaded) {
  const std::vector<Struct> rows = LoadRows();
  EXPECT_EQ(rows.size(), static_cast<size_t>(kExpectedRows)) << "could not read " << kVectorsPath;
  for (const Struct& row : rows) {
    const std::string mode = Field(Field(row, "ctx").struct_value(), "mode").string_value();
    EXPECT_TRUE(mode == "raw" || mode == "hashed") << Field(row, "id").string_value();
  }
}

class VectorRow : public ::testing::TestWithParam<Struct> {};

TEST_P(VectorRow, LibraryAgrees) {
  const Struct& row = GetParam();
  SCOPED_TRACE(
      absl::StrCat(Field(row, "src").string_value(), " ", Field(row, "note").string_value()));
  absl::StatusOr<RrsetVerdict> v = EvaluateRrset(ContextFromRow(row), RrsetFromRow(row));
  ASSERT_TRUE(v.ok()) << v.status();
  const std::string expect = Field(row, "expect").string_value();
  EXPECT_EQ(OutcomeName(v->outcome), expect)
      << (v->problem.has_value() ? v->problem->detail : std::string("(no problem)"));
  // The evidence is consistent with the outcome.
  EXPECT_EQ(v->records.size(), RrsetFromRow(row).size());
  if (v->outcome == Outcome::kValid) {
    ASSERT_GE(v->matched_index, 0);
    EXPECT_EQ(v->records[v->matched_index].verdict, RecordVerdict::kValid);
    EXPECT_FALSE(v->problem.has_value());
    EXPECT_FALSE(v->matched_accounturi.empty());
  } else {
    EXPECT_EQ(v->matched_index, -1);
    ASSERT_TRUE(v->problem.has_value());
    EXPECT_EQ(ProblemTypeUrn(v->problem->type),
              absl::StrCat("urn:ietf:params:acme:error:", expect));
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, VectorRow, ::testing::ValuesIn(LoadRows()),
                         [](const ::testing::TestParamInfo<Struct>& info) {
                           return Field(info.param, "id").string_value();
                         });

}  // namespace
}  // namespace vantage::policy
