#include "tests/harness/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::harness {
namespace {

using ::testing::HasSubstr;

TEST(SubprocessTest, RunCapturesOutputAndExitCode) {
  absl::StatusOr<RunResult> r =
      RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->stdout_text, "out\n");
  EXPECT_EQ(r->stderr_text, "err\n");
}

TEST(SubprocessTest, RunOkNamesCommandAndStderrOnFailure) {
  absl::StatusOr<RunResult> r =
      RunCommandOk({"sh", "-c", "echo broken-thing >&2; exit 1"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("sh -c"));
  EXPECT_THAT(r.status().message(), HasSubstr("broken-thing"));
}

TEST(SubprocessTest, StdinDataAndEnvironment) {
  Subprocess::Options o = CommandOptions({"sh", "-c", "cat; echo \"$VANTAGE_X\""});
  o.env = {{"VANTAGE_X", "value-x"}};
  o.stdin_data = "from stdin\n";
  absl::StatusOr<RunResult> r = RunCommandOk(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stdout_text, "from stdin\nvalue-x\n");
}

TEST(SubprocessTest, ProgramNotFound) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p =
      Subprocess::Start(CommandOptions({"no-such-program-vantage"}));
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Subprocess::Start(Subprocess::Options()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SubprocessTest, FindsSbinPrograms) {
  // Bazel's test PATH has no /usr/sbin; knotd and ip live there.
  absl::StatusOr<std::string> ip = FindProgram("ip");
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_THAT(*ip, HasSubstr("/ip"));
}

TEST(SubprocessTest, WaitForOutputAndStop) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p =
      Subprocess::Start(CommandOptions(
          {"sh", "-c",
           "echo starting; echo 'ready on port 7' >&2; exec sleep 100"}));
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<std::string> line =
      (*p)->WaitForOutput("ready on", absl::Seconds(10));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "ready on port 7");
  EXPECT_TRUE((*p)->Running());
  EXPECT_EQ((*p)->Stop(), 128 + SIGTERM);
  EXPECT_FALSE((*p)->Running());
  EXPECT_EQ((*p)->Stop(), 128 + SIGTERM);  // idempotent
}

TEST(SubprocessTest, WaitForPortReadsThePortAfterTheLastColon) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(CommandOptions(
      {"sh", "-c",
       "echo 'x listening on [::1]:4242'; echo 'x metrics on 127.0.0.1:'; "
       "echo 'x health on 127.0.0.1:70000'; exec sleep 100"}));
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<int> port = (*p)->WaitForPort("listening on", absl::Seconds(10));
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, 4242);
  EXPECT_EQ((*p)->WaitForPort("metrics on", absl::Seconds(10)).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ((*p)->WaitForPort("health on", absl::Seconds(10)).status().code(),
            absl::StatusCode::kInternal);
  (*p)->Stop();
}

TEST(SubprocessTest, WaitForOutputFailsEarlyWhenChildExits) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(
      CommandOptions({"sh", "-c", "echo 'fatal: bad config' >&2; exit 2"}));
  ASSERT_TRUE(p.ok()) << p.status();
  absl::Time start = absl::Now();
  absl::StatusOr<std::string> line =
      (*p)->WaitForOutput("listening", absl::Seconds(30));
  EXPECT_EQ(line.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(line.status().message(), HasSubstr("exited with code 2"));
  EXPECT_THAT(line.status().message(), HasSubstr("fatal: bad config"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(SubprocessTest, WaitForOutputTimesOut) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p =
      Subprocess::Start(CommandOptions({"sleep", "100"}));
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<std::string> line =
      (*p)->WaitForOutput("never", absl::Milliseconds(100));
  EXPECT_EQ(line.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(SubprocessTest, SigkillAfterGraceWhenTermIsIgnored) {
  Subprocess::Options o = CommandOptions(
      {"sh", "-c", "trap '' TERM; echo ready; exec sleep 100"});
  o.stop_grace = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(o);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE((*p)->WaitForOutput("ready", absl::Seconds(10)).ok());
  EXPECT_EQ((*p)->Stop(), 128 + SIGKILL);
}

TEST(SubprocessTest, WaitReturnsExitCodeAndTimesOut) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p =
      Subprocess::Start(CommandOptions({"sleep", "100"}));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Wait(absl::Milliseconds(50)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  (*p)->Signal(SIGKILL);
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 128 + SIGKILL);
}

TEST(SubprocessTest, NoFileDescriptorsLeakIntoChild) {
  int leaked = open("/dev/null", O_RDONLY);  // deliberately not O_CLOEXEC
  ASSERT_GE(leaked, 0);
  absl::StatusOr<RunResult> r = RunCommandOk({"ls", "/proc/self/fd"});
  close(leaked);
  ASSERT_TRUE(r.ok()) << r.status();
  // 0, 1, 2 and the directory ls itself is reading.
  std::vector<std::string> fds =
      absl::StrSplit(absl::StripSuffix(r->stdout_text, "\n"), '\n');
  EXPECT_EQ(fds.size(), 4u) << r->stdout_text;
}

TEST(SubprocessTest, WaitForTcpPort) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p =
      Subprocess::Start(CommandOptions(
          {"python3", "-c",
           "import socket, time\n"
           "s = socket.socket()\n"
           "s.bind(('127.0.0.1', 0))\n"
           "s.listen()\n"
           "print('port', s.getsockname()[1], flush=True)\n"
           "time.sleep(100)\n"}));
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<std::string> line =
      (*p)->WaitForOutput("port ", absl::Seconds(10));
  ASSERT_TRUE(line.ok()) << line.status();
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripPrefix(*line, "port "), &port));
  EXPECT_TRUE((*p)->WaitForTcpPort("127.0.0.1", port, absl::Seconds(10)).ok());
  (*p)->Stop();
  EXPECT_EQ((*p)->WaitForTcpPort("127.0.0.1", port, absl::Seconds(1)).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vantage::harness
