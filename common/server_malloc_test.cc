// The servers' allocator is TCMalloc (common/BUILD.bazel, server_malloc),
// except under the sanitizers, which bring their own.
#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace {

std::string MallocProvider() {
  // The `malloc` this binary calls: the first definition in link order.
  void* (*const fn)(size_t) = &std::malloc;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(fn), &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

TEST(ServerMallocTest, MallocComesFromTheConfiguredAllocator) {
  const std::string provider = MallocProvider();
#ifdef VANTAGE_SANITIZER
  EXPECT_EQ(provider.find("tcmalloc"), std::string::npos) << provider;
#else
  EXPECT_NE(provider.find("libtcmalloc_minimal.so"), std::string::npos) << provider;
#endif
  // And it works.
  void* p = std::malloc(100);
  ASSERT_NE(p, nullptr);
  std::free(p);
}

}  // namespace
