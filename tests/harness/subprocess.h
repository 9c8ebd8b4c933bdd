// Subprocess: start a real binary for a multi-process test, watch it, stop it.
//
//   Subprocess::Options options;
//   options.argv = {perspective_bin, "--config=" + config_path};
//   options.netns = lab.RegionNamespace(2);       // optional
//   ASSIGN_OR_RETURN(auto p, Subprocess::Start(options));
//   ASSIGN_OR_RETURN(std::string line,
//       p->WaitForOutput("listening on", absl::Seconds(10)));
//   ...
//   // ~Subprocess: SIGTERM, up to `stop_grace`, then SIGKILL; always reaped.
//
// stdout and stderr go to files (never pipes, so a chatty child cannot block
// on a full pipe); WaitForOutput polls them. Every wait takes a timeout and
// fails early (with the tail of the output) when the child exits.
// Short commands (ip, nft, knsupdate) use RunCommand().
#ifndef VANTAGE_TESTS_HARNESS_SUBPROCESS_H_
#define VANTAGE_TESTS_HARNESS_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace vantage::harness {

class Subprocess {
 public:
  struct Options {
    // Program and arguments. argv[0] without a '/' is searched in PATH and
    // then /usr/sbin:/sbin (knotd, keymgr and ip live there; Bazel's test
    // PATH lacks them).
    std::vector<std::string> argv;
    // Environment: the parent's environment plus these NAME=VALUE overrides.
    std::vector<std::pair<std::string, std::string>> env;
    // Named network namespace (/run/netns/<name>, or any path to a netns
    // file) the child joins with setns(2) before exec. Empty: the caller's.
    std::string netns;
    // Working directory of the child; empty: the caller's.
    std::string working_dir;
    // Bytes fed to the child's stdin (through a temporary file). Empty: the
    // child reads /dev/null.
    std::string stdin_data;
    // Files receiving stdout/stderr. Empty: fresh files in $TEST_TMPDIR (or
    // $TMPDIR, /tmp) named after argv[0]; stdout_path()/stderr_path() say.
    std::string stdout_path;
    std::string stderr_path;
    // Append instead of truncating the output files (restarts).
    bool append_output = false;
    // The child gets SIGKILL when the THREAD that started it exits
    // (PR_SET_PDEATHSIG), so a crashed test leaves no servers behind. Start
    // long-lived children from a thread that outlives them (the test's main
    // thread), or turn this off.
    bool kill_with_parent = true;
    // Grace between SIGTERM and SIGKILL in Stop() and the destructor.
    absl::Duration stop_grace = absl::Seconds(5);
  };

  // Start forks and execs. INVALID_ARGUMENT for an empty argv, NOT_FOUND
  // when the program is not found, INTERNAL when fork/exec fails (an exec
  // failure in the child is reported here, not as a silent exit 127).
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const Options& options);

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Stops the child (Stop()) if it is still running.
  ~Subprocess();

  pid_t pid() const { return pid_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

  // Running reaps the child if it has exited and says whether it still runs.
  bool Running();

  // WaitForOutput waits until stdout or stderr holds a line containing
  // `needle` and returns that (first) line. DEADLINE_EXCEEDED after
  // `timeout`; FAILED_PRECONDITION if the child exits first. Both errors
  // carry the tail of the output.
  absl::StatusOr<std::string> WaitForOutput(absl::string_view needle,
                                            absl::Duration timeout);

  // WaitForPort waits for the line containing `needle` (WaitForOutput),
  // which ends in "HOST:PORT" (a server announcing where it listens), and
  // returns PORT; INTERNAL when the line has no port after its last ':'.
  absl::StatusOr<int> WaitForPort(absl::string_view needle, absl::Duration timeout);

  // WaitForTcpPort waits until `host:port` accepts a TCP connection, probed
  // from the child's network namespace. Same errors as WaitForOutput.
  absl::Status WaitForTcpPort(absl::string_view host, int port,
                              absl::Duration timeout);

  // Wait waits for the child to exit and returns its exit code (128+N when
  // killed by signal N). DEADLINE_EXCEEDED after `timeout` (the child keeps
  // running).
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // Signal sends `sig` to the child (no-op once it has been reaped).
  void Signal(int sig);

  // Stop sends SIGTERM, waits up to stop_grace, then SIGKILL, and reaps the
  // child. Returns the exit code as Wait does. Idempotent.
  int Stop();

  // Stdout/Stderr return what the child wrote so far; Tail the last `lines`
  // lines of both (for error messages).
  std::string Stdout() const;
  std::string Stderr() const;
  std::string Tail(int lines = 20) const;

 private:
  Subprocess(Options options, pid_t pid, std::string stdout_path,
             std::string stderr_path);

  Options options_;
  pid_t pid_;
  std::optional<int> exit_code_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// RunResult is what Run() saw.
struct RunResult {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
};

// RunCommand starts a short command, waits up to `timeout` for it to exit
// (then kills it: DEADLINE_EXCEEDED) and returns its exit code and output. A
// non-zero exit code is not an error here.
absl::StatusOr<RunResult> RunCommand(const Subprocess::Options& options,
                                     absl::Duration timeout = absl::Seconds(30));
absl::StatusOr<RunResult> RunCommand(std::vector<std::string> argv,
                                     absl::Duration timeout = absl::Seconds(30));

// RunCommandOk is RunCommand that also requires exit code 0; the error names
// the command and carries its stderr.
absl::StatusOr<RunResult> RunCommandOk(
    const Subprocess::Options& options,
    absl::Duration timeout = absl::Seconds(30));
absl::StatusOr<RunResult> RunCommandOk(
    std::vector<std::string> argv, absl::Duration timeout = absl::Seconds(30));

// CommandOptions returns Options running `argv` with every other field at
// its default (designated initializers trip -Wmissing-field-initializers).
Subprocess::Options CommandOptions(std::vector<std::string> argv);

// TestTempDir returns $TEST_TMPDIR, else $TMPDIR, else /tmp.
std::string TestTempDir();

// RunfilePath finds a data file or binary of this workspace at run time, by
// its workspace-relative path (e.g. "tests/dns/fixture.sh",
// "perspective/vantage-perspective"): in the runfiles of `bazel test` /
// `bazel run` ($TEST_SRCDIR, $RUNFILES_DIR, <argv0>.runfiles), else relative
// to $BUILD_WORKSPACE_DIRECTORY or the current directory. NOT_FOUND names
// every place tried.
absl::StatusOr<std::string> RunfilePath(absl::string_view workspace_path);

// FindProgram resolves a program name as Start does.
absl::StatusOr<std::string> FindProgram(absl::string_view name);

}  // namespace vantage::harness

#endif  // VANTAGE_TESTS_HARNESS_SUBPROCESS_H_
