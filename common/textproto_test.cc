#include "common/textproto.h"

#include <cstdio>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/config.pb.h"

namespace vantage::common {
namespace {

using ::testing::HasSubstr;

TEST(ParseTextProto, ParsesValidConfig) {
  vantage::v1::PerspectiveConfig config;
  ASSERT_TRUE(ParseTextProto(R"pb(id: "p1" rir: RIR_RIPE
                                  resolver { trust_anchor_file: "/x" })pb",
                             "cfg", &config)
                  .ok());
  EXPECT_EQ(config.id(), "p1");
  EXPECT_EQ(config.rir(), vantage::v1::RIR_RIPE);
  EXPECT_EQ(config.resolver().trust_anchor_file(), "/x");
}

TEST(ParseTextProto, NamesSourceLineAndField) {
  vantage::v1::PerspectiveConfig config;
  absl::Status s = ParseTextProto("id: \"p1\"\nbogus_field: 3\n", "my.textproto", &config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("my.textproto:2:"));
  EXPECT_THAT(s.message(), HasSubstr("bogus_field"));
}

TEST(ParseTextProto, RejectsBadEnumValue) {
  vantage::v1::PerspectiveConfig config;
  absl::Status s = ParseTextProto("rir: RIR_MARS", "c", &config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("RIR_MARS"));
}

TEST(LoadTextProto, MissingFileIsNotFound) {
  auto config = LoadTextProto<vantage::v1::PerspectiveConfig>("/nonexistent/x.textproto");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/x.textproto"));
}

TEST(LoadTextProto, ReadsFile) {
  const std::string path = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
                           "/cfg.textproto";
  std::ofstream(path) << "id: \"from-file\"\n";
  auto config = LoadTextProto<vantage::v1::PerspectiveConfig>(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->id(), "from-file");
}

}  // namespace
}  // namespace vantage::common
