#include "cli/flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr FlagSpec kSpec[] = {
    {"name", FlagKind::kValue},
    {"txt", FlagKind::kRepeated},
    {"flag", FlagKind::kBool},
};

TEST(Flags, ParsesAllKinds) {
  absl::StatusOr<Flags> f = Flags::Parse(
      {"--name=a=b", "--txt=\"x\" \"y\"", "--flag", "--txt=", std::string("--txt=\xff\x01", 8)},
      kSpec);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->Value("name"), "a=b");
  EXPECT_THAT(f->Values("txt"), ElementsAre("\"x\" \"y\"", "", "\xff\x01"));
  EXPECT_TRUE(f->Bool("flag"));
  EXPECT_TRUE(f->Has("txt"));
}

TEST(Flags, AbsentOptions) {
  absl::StatusOr<Flags> f = Flags::Parse({}, kSpec);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->Value("name").has_value());
  EXPECT_TRUE(f->Values("txt").empty());
  EXPECT_FALSE(f->Bool("flag"));
  EXPECT_FALSE(f->Has("name"));
}

TEST(Flags, EmptyValueIsAValue) {
  absl::StatusOr<Flags> f = Flags::Parse({"--name="}, kSpec);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->Value("name"), "");
}

struct BadCase {
  std::string name;
  std::vector<std::string> args;
  std::string error;
};

class FlagsRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(FlagsRejects, NamingTheOption) {
  absl::StatusOr<Flags> f = Flags::Parse(GetParam().args, kSpec);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Table, FlagsRejects,
    ::testing::Values(BadCase{"Unknown", {"--nope=1"}, "unknown option --nope"},
                      BadCase{"UnknownBool", {"--verbose"}, "unknown option --verbose"},
                      BadCase{"Positional", {"example.com"}, "unexpected argument 'example.com'"},
                      BadCase{"SingleDash", {"-name=x"}, "unexpected argument '-name=x'"},
                      BadCase{"DoubleDashOnly", {"--"}, "unexpected argument '--'"},
                      BadCase{"ValueMissing", {"--name"}, "--name needs a value"},
                      BadCase{"RepeatedMissingValue", {"--txt"}, "--txt needs a value"},
                      BadCase{"BoolWithValue", {"--flag=true"}, "--flag takes no value"},
                      BadCase{"BoolTwice", {"--flag", "--flag"}, "--flag is given more than once"},
                      BadCase{
                          "ValueTwice", {"--name=a", "--name=b"}, "--name is given more than once"},
                      BadCase{"CaseMatters", {"--Name=a"}, "unknown option --Name"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

}  // namespace
}  // namespace vantage::cli
