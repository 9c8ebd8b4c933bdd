// Runs under netns_gtest_main: the whole test is in its own namespace.
#include "tests/harness/netns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/subprocess.h"

namespace vantage::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ino_t NetnsInode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(NetnsTest, EnteredOnceOnly) {
  EXPECT_TRUE(InPrivateNetworkNamespace());
  EXPECT_EQ(EnterPrivateNetworkNamespace().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(NetnsTest, LoopbackIsUpAndPort53Bindable) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  struct sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(53);
  inet_pton(AF_INET, "127.53.0.1", &sa.sin_addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0)
      << std::strerror(errno);
  close(fd);
}

TEST(NetnsTest, NothingOutsideIsReachable) {
  // The namespace has only `lo`: there is no route anywhere else. (connect()
  // on a UDP socket sends nothing.)
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  struct sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(53);
  inet_pton(AF_INET, "192.0.2.1", &sa.sin_addr);
  EXPECT_NE(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  EXPECT_EQ(errno, ENETUNREACH);
  close(fd);
  absl::StatusOr<RunResult> links = RunCommandOk({"ip", "-o", "link"});
  ASSERT_TRUE(links.ok()) << links.status();
  EXPECT_THAT(links->stdout_text, HasSubstr("lo:"));
  EXPECT_THAT(links->stdout_text, Not(HasSubstr("eth")));
}

TEST(NetnsTest, NamedNamespacesArePrivateAndUsable) {
  ASSERT_TRUE(RunCommandOk({"ip", "netns", "add", "vt-a"}).ok());
  std::string self = "/proc/self/ns/net";
  ino_t mine = NetnsInode(self);
  ino_t theirs = 0;
  ASSERT_TRUE(RunInNetworkNamespace("vt-a", [&] {
                theirs = NetnsInode("/proc/thread-self/ns/net");
              }).ok());
  EXPECT_NE(theirs, 0u);
  EXPECT_NE(theirs, mine);
  EXPECT_EQ(NetnsInode(self), mine);  // the caller did not move
  // A subprocess joins it too.
  Subprocess::Options o =
      CommandOptions({"sh", "-c", "stat -L -c %i /proc/self/ns/net"});
  o.netns = "vt-a";
  absl::StatusOr<RunResult> r = RunCommandOk(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stdout_text, absl::StrCat(theirs, "\n"));
  EXPECT_TRUE(RunCommandOk({"ip", "netns", "del", "vt-a"}).ok());
  EXPECT_EQ(RunInNetworkNamespace("vt-a", [] {}).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vantage::harness
