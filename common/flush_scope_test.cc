#include "common/flush_scope.h"

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace vantage::common {
namespace {

TEST(FlushScopeTest, WithoutAScopeWorkRunsAtOnce) {
  EXPECT_FALSE(FlushScope::Active());
  std::string log;
  FlushScope::Defer([&log] { log += "a"; });
  EXPECT_EQ(log, "a");
}

TEST(FlushScopeTest, DeferredWorkRunsInOrderWhenTheScopeEnds) {
  std::string log;
  {
    FlushScope scope;
    EXPECT_TRUE(FlushScope::Active());
    FlushScope::Defer([&log] { log += "a"; });
    FlushScope::Defer([&log] { log += "b"; });
    log += "-";
    EXPECT_EQ(log, "-");
  }
  EXPECT_EQ(log, "-ab");
  EXPECT_FALSE(FlushScope::Active());
}

TEST(FlushScopeTest, WorkDeferredWhileFlushingRunsInTheSameScope) {
  std::string log;
  {
    FlushScope scope;
    FlushScope::Defer([&log] {
      log += "a";
      EXPECT_TRUE(FlushScope::Active());
      FlushScope::Defer([&log] { log += "c"; });
      log += "b";
    });
  }
  EXPECT_EQ(log, "abc");
}

TEST(FlushScopeTest, AnInnerScopeLeavesEverythingToTheOuterOne) {
  std::string log;
  {
    FlushScope outer;
    {
      FlushScope inner;
      FlushScope::Defer([&log] { log += "a"; });
    }
    EXPECT_EQ(log, "");
    EXPECT_TRUE(FlushScope::Active());
  }
  EXPECT_EQ(log, "a");
}

TEST(FlushScopeTest, ScopesArePerThread) {
  std::string log;
  FlushScope scope;
  std::thread([&log] {
    EXPECT_FALSE(FlushScope::Active());
    FlushScope::Defer([&log] { log += "other thread, at once"; });
  }).join();
  EXPECT_EQ(log, "other thread, at once");
}

}  // namespace
}  // namespace vantage::common
