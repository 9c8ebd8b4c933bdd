// A GoogleTest main that first moves the test into its own network and mount
// namespaces (tests/harness/netns.h). Tests that start servers link this
// instead of gtest_main.
#include <cstdio>

#include "gtest/gtest.h"
#include "tests/harness/netns.h"

int main(int argc, char** argv) {
  // Before InitGoogleTest: no thread may exist yet.
  absl::Status status = vantage::harness::EnterPrivateNetworkNamespace();
  if (!status.ok()) {
    std::fprintf(stderr, "cannot isolate the test's network: %s\n",
                 status.ToString().c_str());
    return 1;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
